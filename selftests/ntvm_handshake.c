// SPDX-License-Identifier: GPL-2.0
/*
 * The version handshake, seen from a program linked against libntvm.so:
 * this program defines ioctl(), which takes the place of the C library's
 * for libntvm.so too, and answers NTVM_IOC_VERSION with the version (or
 * the error) a test sets, as an older or a newer module would.  Every
 * other request goes to the module.
 *
 * Each test runs in its own process (the harness forks it), so libntvm
 * asks the module anew in each.
 */
#include <pthread.h>
#include <stdarg.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "ntvm_test.h"
#include "kselftest_harness.h"

/* What NTVM_IOC_VERSION answers: the module's unless fake is set. */
static int fake;
static int fake_errno;
static struct ntvm_version fake_version;
/* NTVM_IOC_VERSION requests made, answered or not. */
static int version_asked;

int ioctl(int fd, unsigned long req, ...)
{
	va_list ap;
	void *arg;

	va_start(ap, req);
	arg = va_arg(ap, void *);
	va_end(ap);
	if (req == NTVM_IOC_VERSION) {
		__atomic_add_fetch(&version_asked, 1, __ATOMIC_SEQ_CST);
		if (fake && fake_errno) {
			errno = fake_errno;
			return -1;
		}
		if (fake) {
			memcpy(arg, &fake_version, sizeof(fake_version));
			return 0;
		}
	}
	return syscall(SYS_ioctl, fd, req, arg);
}

static void fake_module(__u32 major, __u32 minor, int err)
{
	fake = 1;
	fake_version.major = major;
	fake_version.minor = minor;
	fake_errno = err;
}

/* stderr into a pipe, from capture_start() to capture_end(). */
struct capture {
	int saved;
	int rd;
	char text[4096];
};

static int capture_start(struct capture *c)
{
	int p[2];

	if (pipe(p))
		return -1;
	c->saved = dup(2);
	c->rd = p[0];
	if (c->saved < 0 || dup2(p[1], 2) < 0)
		return -1;
	close(p[1]);
	return 0;
}

/* Restore stderr; what was written to it, in c->text. */
static void capture_end(struct capture *c)
{
	size_t len = 0;
	ssize_t n;

	fflush(stderr);
	dup2(c->saved, 2);
	close(c->saved);
	while (len < sizeof(c->text) - 1 &&
	       (n = read(c->rd, c->text + len, sizeof(c->text) - 1 - len)) > 0)
		len += n;
	c->text[len] = 0;
	close(c->rd);
}

static void line_too_old(char *buf, size_t len, __u32 major, __u32 minor)
{
	snprintf(buf, len,
		 "libntvm: the ntvm module's ABI is %u.%u, this library needs %u.%u or later: update the module (ntvm-dkms) and load it again\n",
		 major, minor, NTVM_ABI_MAJOR, NTVM_ABI_MINOR);
}

/* A module without NTVM_IOC_VERSION: older than the version that added it. */
static void line_no_version(char *buf, size_t len)
{
	snprintf(buf, len,
		 "libntvm: the ntvm module's ABI is 1.7 or older, this library needs %u.%u or later: update the module (ntvm-dkms) and load it again\n",
		 NTVM_ABI_MAJOR, NTVM_ABI_MINOR);
}

/* Every call that needs the module fails with ERROR_NOT_SUPPORTED. */
static int all_unsupported(void)
{
	MEMORY_BASIC_INFORMATION mbi;
	PVOID base = NULL;
	SIZE_T size = GRAN;
	DWORD old = 0xaa;
	char local = 1;
	int bad = 0;

	SetLastError(0);
	bad |= VirtualAlloc(NULL, GRAN, MEM_RESERVE | MEM_COMMIT,
			    PAGE_READWRITE) != NULL;
	bad |= GetLastError() != 50;
	SetLastError(0);
	bad |= VirtualAlloc((void *)0x10000000, GRAN, MEM_RESERVE,
			    PAGE_NOACCESS) != NULL;
	bad |= GetLastError() != ERROR_NOT_SUPPORTED;
	SetLastError(0);
	bad |= VirtualFree((void *)0x10000000, 0, MEM_RELEASE) != FALSE;
	bad |= GetLastError() != ERROR_NOT_SUPPORTED;
	SetLastError(0);
	bad |= VirtualProtect((void *)0x10000000, PAGE, PAGE_READONLY,
			      &old) != FALSE;
	bad |= GetLastError() != ERROR_NOT_SUPPORTED;
	SetLastError(0);
	bad |= VirtualQuery(&local, &mbi, sizeof(mbi)) != 0;
	bad |= GetLastError() != ERROR_NOT_SUPPORTED;
	bad |= NtAllocateVirtualMemory(NtCurrentProcess(), &base, 0, &size,
				       MEM_RESERVE | MEM_COMMIT,
				       PAGE_READWRITE) != STATUS_NOT_SUPPORTED;
	bad |= base != NULL || size != GRAN;
	return !bad;
}

/* A module of @major.@minor, or one failing NTVM_IOC_VERSION with @err. */
static void check_refused(struct __test_metadata *_metadata, __u32 major,
			  __u32 minor, int err, const char *expected)
{
	struct capture c;

	fake_module(major, minor, err);
	ASSERT_EQ(0, capture_start(&c));
	EXPECT_TRUE(all_unsupported());
	/* Again: still refused, not asked again, nothing more printed. */
	EXPECT_TRUE(all_unsupported());
	capture_end(&c);
	EXPECT_STREQ(expected, c.text);
	EXPECT_EQ(1, version_asked);
}

/* The module's own version: this library's. */
TEST(module_matches)
{
	struct capture c;
	char *p;

	ASSERT_EQ(0, capture_start(&c));
	p = VirtualAlloc(NULL, GRAN, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
	capture_end(&c);
	ASSERT_NE(NULL, p);
	p[0] = 1;
	EXPECT_TRUE(VirtualFree(p, 0, MEM_RELEASE));
	EXPECT_STREQ("", c.text);
	/* Asked once, through this program's ioctl(): the test intercepts. */
	EXPECT_EQ(1, version_asked);
}

TEST(same_version_fake)
{
	struct capture c;
	char *p;

	fake_module(NTVM_ABI_MAJOR, NTVM_ABI_MINOR, 0);
	ASSERT_EQ(0, capture_start(&c));
	p = VirtualAlloc(NULL, GRAN, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
	capture_end(&c);
	ASSERT_NE(NULL, p);
	EXPECT_TRUE(VirtualFree(p, 0, MEM_RELEASE));
	EXPECT_STREQ("", c.text);
	EXPECT_EQ(1, version_asked);
}

/* A newer minor version has only additions: the library works. */
TEST(newer_minor_works)
{
	MEMORY_BASIC_INFORMATION mbi;
	struct capture c;
	DWORD old = 0;
	char *p;

	fake_module(NTVM_ABI_MAJOR, NTVM_ABI_MINOR + 5, 0);
	ASSERT_EQ(0, capture_start(&c));
	p = VirtualAlloc(NULL, GRAN, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
	capture_end(&c);
	ASSERT_NE(NULL, p);
	EXPECT_TRUE(VirtualProtect(p, PAGE, PAGE_READONLY, &old));
	EXPECT_EQ(PAGE_READWRITE, old);
	EXPECT_EQ(sizeof(mbi), VirtualQuery(p, &mbi, sizeof(mbi)));
	EXPECT_EQ(PAGE_READONLY, mbi.Protect);
	EXPECT_TRUE(VirtualFree(p, 0, MEM_RELEASE));
	EXPECT_STREQ("", c.text);
	EXPECT_EQ(1, version_asked);
}

TEST(older_minor_refused)
{
	char line[256];

	line_too_old(line, sizeof(line), NTVM_ABI_MAJOR, NTVM_ABI_MINOR - 1);
	EXPECT_EQ(0, strcmp(line + strlen(line) - 1, "\n"));
	check_refused(_metadata, NTVM_ABI_MAJOR, NTVM_ABI_MINOR - 1, 0, line);
}

TEST(older_major_refused)
{
	char line[256];

	line_too_old(line, sizeof(line), 0, 99);
	check_refused(_metadata, 0, 99, 0, line);
}

/* A module older than NTVM_IOC_VERSION: unknown request, ENOTTY. */
TEST(no_version_ioctl_refused)
{
	char line[256];

	line_no_version(line, sizeof(line));
	check_refused(_metadata, 0, 0, ENOTTY, line);
}

TEST(version_einval_refused)
{
	char line[256];

	line_no_version(line, sizeof(line));
	check_refused(_metadata, 0, 0, EINVAL, line);
}

TEST(newer_major_refused)
{
	char line[256];

	snprintf(line, sizeof(line),
		 "libntvm: the ntvm module's ABI 2.0 is newer than this library's %u.%u: update libntvm\n",
		 NTVM_ABI_MAJOR, NTVM_ABI_MINOR);
	check_refused(_metadata, NTVM_ABI_MAJOR + 1, 0, 0, line);
}

TEST(message_text)
{
	char line[256];

	/* The exact line, for this library's version. */
	ASSERT_EQ(1, NTVM_ABI_MAJOR);
	ASSERT_EQ(10, NTVM_ABI_MINOR);
	line_too_old(line, sizeof(line), 1, 3);
	EXPECT_STREQ("libntvm: the ntvm module's ABI is 1.3, this library needs 1.10 or later: update the module (ntvm-dkms) and load it again\n",
		     line);
}

static void *alloc_thread(void *arg)
{
	*(int *)arg = all_unsupported();
	return NULL;
}

/* Threads racing to the first call: one line, all of them refused. */
TEST(threads_one_line)
{
	pthread_t th[8];
	int ok[8] = { 0 };
	struct capture c;
	char line[256];
	int i;

	fake_module(NTVM_ABI_MAJOR, NTVM_ABI_MINOR - 1, 0);
	line_too_old(line, sizeof(line), NTVM_ABI_MAJOR, NTVM_ABI_MINOR - 1);
	ASSERT_EQ(0, capture_start(&c));
	for (i = 0; i < 8; i++)
		ASSERT_EQ(0, pthread_create(&th[i], NULL, alloc_thread, &ok[i]));
	for (i = 0; i < 8; i++)
		pthread_join(th[i], NULL);
	capture_end(&c);
	for (i = 0; i < 8; i++)
		EXPECT_EQ(1, ok[i]);
	EXPECT_STREQ(line, c.text);
	EXPECT_LE(1, version_asked);
	EXPECT_GE(8, version_asked);
}

/* A forked child: the same module, refused without a second line. */
TEST(fork_keeps_refusal)
{
	struct capture c;
	char line[256];
	int status;
	pid_t pid;

	fake_module(NTVM_ABI_MAJOR, NTVM_ABI_MINOR - 1, 0);
	line_too_old(line, sizeof(line), NTVM_ABI_MAJOR, NTVM_ABI_MINOR - 1);
	ASSERT_EQ(0, capture_start(&c));
	EXPECT_TRUE(all_unsupported());
	pid = fork();
	if (!pid)
		_exit(all_unsupported() && version_asked == 1 ? 0 : 1);
	ASSERT_LT(0, pid);
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	capture_end(&c);
	EXPECT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));
	EXPECT_STREQ(line, c.text);
}

/* What does not need the module is unaffected. */
TEST(calls_without_module_unaffected)
{
	struct capture c;
	SYSTEM_INFO si;

	fake_module(NTVM_ABI_MAJOR, NTVM_ABI_MINOR - 1, 0);
	ASSERT_EQ(0, capture_start(&c));
	GetSystemInfo(&si);
	capture_end(&c);
	EXPECT_EQ(4096, si.dwPageSize);
	EXPECT_EQ(0x10000, si.dwAllocationGranularity);
	EXPECT_EQ(ERROR_NOT_SUPPORTED,
		  RtlNtStatusToDosError(STATUS_NOT_SUPPORTED));
	SetLastError(1234);
	EXPECT_EQ(1234, GetLastError());
	EXPECT_EQ(getpid(), (pid_t)GetCurrentProcessId());
}

/*
 * Another process's context (it opened the device before this process
 * asked): refused as well, the module being the same.
 */
TEST(other_process_refused)
{
	MEMORY_BASIC_INFORMATION mbi;
	int ready[2], done[2];
	uintptr_t at;
	struct capture c;
	char line[256];
	HANDLE h;
	int status;
	pid_t pid;
	char b;

	ASSERT_EQ(0, pipe(ready));
	ASSERT_EQ(0, pipe(done));
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		char *p = VirtualAlloc(NULL, GRAN, MEM_RESERVE | MEM_COMMIT,
				       PAGE_READWRITE);

		at = (uintptr_t)p;
		if (write(ready[1], &at, sizeof(at)) != sizeof(at) ||
		    read(done[0], &b, 1) != 1)
			_exit(2);
		_exit(0);
	}
	ASSERT_EQ(sizeof(at), read(ready[0], &at, sizeof(at)));
	ASSERT_NE(0, at);

	fake_module(NTVM_ABI_MAJOR, NTVM_ABI_MINOR - 1, 0);
	line_too_old(line, sizeof(line), NTVM_ABI_MAJOR, NTVM_ABI_MINOR - 1);
	ASSERT_EQ(0, capture_start(&c));
	h = OpenProcess(PROCESS_ALL_ACCESS, FALSE, pid);
	SetLastError(0);
	EXPECT_EQ(NULL, VirtualAllocEx(h, NULL, GRAN, MEM_RESERVE | MEM_COMMIT,
				       PAGE_READWRITE));
	EXPECT_EQ(ERROR_NOT_SUPPORTED, GetLastError());
	capture_end(&c);
	EXPECT_NE(NULL, h);
	EXPECT_STREQ(line, c.text);
	EXPECT_EQ(1, version_asked);
	/* Its ntvm memory cannot be described without its context. */
	SetLastError(0);
	EXPECT_EQ(0, VirtualQueryEx(h, (void *)at, &mbi, sizeof(mbi)));
	EXPECT_EQ(ERROR_NOT_SUPPORTED, GetLastError());
	CloseHandle(h);
	b = 0;
	EXPECT_EQ(1, write(done[1], &b, 1));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_EQ(0, WEXITSTATUS(status));
}

TEST_HARNESS_MAIN
