// SPDX-License-Identifier: GPL-2.0
/*
 * The commit charge of a process and its commit limit: the charge
 * GetProcessMemoryInfo reports (PagefileUsage, PrivateUsage, the peak),
 * NtvmSetProcessCommitLimit (a job's process memory limit) with its exact
 * errors, the user's limit beside it, fork, exit and the environment.
 */
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "ntvm_test.h"
#include "kselftest_harness.h"

#define LIMIT_PARAM	"/sys/module/ntvm/parameters/commit_limit_pages"

static PROCESS_MEMORY_COUNTERS_EX pmc_now(void)
{
	PROCESS_MEMORY_COUNTERS_EX m;

	memset(&m, 0xaa, sizeof(m));
	if (!GetProcessMemoryInfo(GetCurrentProcess(),
				  (PPROCESS_MEMORY_COUNTERS)&m, sizeof(m)))
		m.cb = 0;
	return m;
}

/* The process's commit charge in bytes (PrivateUsage). */
static SIZE_T charge(void)
{
	PROCESS_MEMORY_COUNTERS_EX m = pmc_now();

	return m.cb == sizeof(m) ? m.PrivateUsage : (SIZE_T)-1;
}

static SIZE_T peak(void)
{
	return pmc_now().PeakPagefileUsage;
}

static SIZE_T limit_now(void)
{
	SIZE_T l = 0xdead;

	if (!NtvmGetProcessCommitLimit(&l))
		return 0xbad;
	return l;
}

/* VirtualAlloc(MEM_COMMIT) of @pages pages at @a: 0, or the last error. */
static DWORD commit(uintptr_t a, unsigned long pages, DWORD protect)
{
	SetLastError(0);
	if (VirtualAlloc(ptr(a), pages * PAGE, MEM_COMMIT, protect) == ptr(a))
		return 0;
	return GetLastError() ? GetLastError() : 0xffff;
}

static long long read_param(void)
{
	FILE *f = fopen(LIMIT_PARAM, "r");
	long long v = -1;

	if (f) {
		if (fscanf(f, "%lld", &v) != 1)
			v = -1;
		fclose(f);
	}
	return v;
}

static int write_param(long long v)
{
	FILE *f = fopen(LIMIT_PARAM, "w");
	int ok;

	if (!f)
		return -1;
	ok = fprintf(f, "%lld\n", v) > 0;
	return fclose(f) == 0 && ok ? 0 : -1;
}

/* Put the users' limit back even if a test dies before its end. */
static long long param_at_start = -1;

__attribute__((constructor)) static void save_param(void)
{
	param_at_start = read_param();
}

__attribute__((destructor)) static void restore_param(void)
{
	if (param_at_start >= 0 && read_param() != param_at_start)
		write_param(param_at_start);
}

/* The exit status of child @pid: its code, or 1000 + signal. */
static int wait_child(pid_t pid)
{
	int status;

	if (waitpid(pid, &status, 0) != pid)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) :
				   1000 + WTERMSIG(status);
}

/* In a child: exit with the line of the first check that fails. */
#define CHILD_CHECK(cond) do { if (!(cond)) _exit(__LINE__ % 250 + 1); } while (0)

TEST(charge_per_process)
{
	struct ntvm_sysinfo_args before, after;
	PROCESS_MEMORY_COUNTERS_EX m;
	uintptr_t b;

	/* A new process's context: nothing charged yet. */
	m = pmc_now();
	ASSERT_EQ(sizeof(m), m.cb);
	EXPECT_EQ(0, m.PagefileUsage);
	EXPECT_EQ(0, m.PrivateUsage);
	EXPECT_EQ(0, m.PeakPagefileUsage);
	EXPECT_EQ(NTVM_NO_COMMIT_LIMIT, limit_now());
	before = sysinfo_now();

	/* Reserving charges nothing. */
	b = (uintptr_t)VirtualAlloc(NULL, 16 * PAGE, MEM_RESERVE,
				    PAGE_READWRITE);
	ASSERT_NE(0, b);
	EXPECT_EQ(0, charge());

	ASSERT_EQ(0, commit(b, 4, PAGE_READWRITE));
	EXPECT_EQ(4 * PAGE, charge());
	EXPECT_EQ(4 * PAGE, peak());
	/* Pages 2..7: two were committed, six are new. */
	ASSERT_EQ(0, commit(b + 2 * PAGE, 6, PAGE_READONLY));
	EXPECT_EQ(8 * PAGE, charge());
	EXPECT_EQ(8 * PAGE, peak());
	after = sysinfo_now();
	EXPECT_EQ(before.committed + 8, after.committed);
	EXPECT_EQ(before.user_committed + 8, after.user_committed);

	ASSERT_TRUE(VirtualFree(ptr(b), PAGE, MEM_DECOMMIT));
	EXPECT_EQ(7 * PAGE, charge());
	EXPECT_EQ(8 * PAGE, peak());
	/* Decommitting it again changes nothing. */
	ASSERT_TRUE(VirtualFree(ptr(b), PAGE, MEM_DECOMMIT));
	EXPECT_EQ(7 * PAGE, charge());
	ASSERT_EQ(0, commit(b, 1, PAGE_READWRITE));
	EXPECT_EQ(8 * PAGE, charge());
	/* Committing committed pages again charges nothing. */
	ASSERT_EQ(0, commit(b, 8, PAGE_READWRITE));
	EXPECT_EQ(8 * PAGE, charge());
	ASSERT_EQ(0, commit(b + 8 * PAGE, 2, PAGE_READWRITE));
	EXPECT_EQ(10 * PAGE, charge());
	EXPECT_EQ(10 * PAGE, peak());

	ASSERT_TRUE(VirtualFree(ptr(b), 0, MEM_RELEASE));
	EXPECT_EQ(0, charge());
	EXPECT_EQ(10 * PAGE, peak());
	EXPECT_EQ(before.committed, sysinfo_now().committed);

	b = (uintptr_t)VirtualAlloc(NULL, 3 * PAGE, MEM_RESERVE | MEM_COMMIT,
				    PAGE_READWRITE);
	ASSERT_NE(0, b);
	m = pmc_now();
	EXPECT_EQ(3 * PAGE, m.PagefileUsage);
	EXPECT_EQ(3 * PAGE, m.PrivateUsage);
	EXPECT_EQ(10 * PAGE, m.PeakPagefileUsage);
	ASSERT_TRUE(VirtualFree(ptr(b), 0, MEM_RELEASE));
	EXPECT_EQ(0, charge());
}

TEST(memory_info_fields_and_errors)
{
	PROCESS_MEMORY_COUNTERS_EX m;
	PROCESS_MEMORY_COUNTERS *p = (PROCESS_MEMORY_COUNTERS *)&m;
	uintptr_t b;

	b = (uintptr_t)VirtualAlloc(NULL, 5 * PAGE, MEM_RESERVE | MEM_COMMIT,
				    PAGE_READWRITE);
	ASSERT_NE(0, b);

	/* The short structure: cb says so, PrivateUsage is not written. */
	memset(&m, 0xaa, sizeof(m));
	ASSERT_TRUE(GetProcessMemoryInfo(GetCurrentProcess(), p,
					 sizeof(PROCESS_MEMORY_COUNTERS)));
	EXPECT_EQ(sizeof(PROCESS_MEMORY_COUNTERS), m.cb);
	EXPECT_EQ(5 * PAGE, m.PagefileUsage);
	EXPECT_EQ(5 * PAGE, m.PeakPagefileUsage);
	EXPECT_EQ((SIZE_T)0xaaaaaaaaaaaaaaaaULL, m.PrivateUsage);
	EXPECT_EQ(0, m.QuotaPeakPagedPoolUsage);
	EXPECT_EQ(0, m.QuotaPagedPoolUsage);
	EXPECT_EQ(0, m.QuotaPeakNonPagedPoolUsage);
	EXPECT_EQ(0, m.QuotaNonPagedPoolUsage);
	EXPECT_LT(0, m.PageFaultCount);
	EXPECT_LT(0, m.WorkingSetSize);
	EXPECT_LE(m.WorkingSetSize, m.PeakWorkingSetSize);
	EXPECT_EQ(0, m.WorkingSetSize % PAGE);

	/* A larger buffer: the _EX structure. */
	memset(&m, 0xaa, sizeof(m));
	ASSERT_TRUE(K32GetProcessMemoryInfo(GetCurrentProcess(), p,
					    sizeof(m) + 16));
	EXPECT_EQ(sizeof(PROCESS_MEMORY_COUNTERS_EX), m.cb);
	EXPECT_EQ(5 * PAGE, m.PrivateUsage);

	SetLastError(0xdeadbeef);
	EXPECT_FALSE(GetProcessMemoryInfo(GetCurrentProcess(), p,
					  sizeof(PROCESS_MEMORY_COUNTERS) - 1));
	EXPECT_EQ(ERROR_INSUFFICIENT_BUFFER, GetLastError());
	SetLastError(0xdeadbeef);
	EXPECT_FALSE(GetProcessMemoryInfo(NULL, p, sizeof(m)));
	EXPECT_EQ(ERROR_INVALID_HANDLE, GetLastError());
	SetLastError(0xdeadbeef);
	EXPECT_FALSE(K32GetProcessMemoryInfo((HANDLE)0x1234, p, sizeof(m)));
	EXPECT_EQ(ERROR_INVALID_HANDLE, GetLastError());
	ASSERT_TRUE(VirtualFree(ptr(b), 0, MEM_RELEASE));
}

TEST(limit_exact)
{
	struct ntvm_sysinfo_args before;
	MEMORY_BASIC_INFORMATION mbi;
	uintptr_t b, nb;
	SIZE_T size;
	unsigned long i;

	/* Bytes are rounded down to whole pages. */
	ASSERT_TRUE(NtvmSetProcessCommitLimit(8 * PAGE + 100));
	EXPECT_EQ(8 * PAGE, limit_now());

	b = (uintptr_t)VirtualAlloc(NULL, 16 * PAGE, MEM_RESERVE,
				    PAGE_READWRITE);
	ASSERT_NE(0, b);
	/* Up to exactly the limit. */
	ASSERT_EQ(0, commit(b, 8, PAGE_READWRITE));
	memset(ptr(b), 0x5a, 8 * PAGE);
	EXPECT_EQ(8 * PAGE, charge());
	before = sysinfo_now();

	/* One page more: Win32 and NT, nothing charged or changed. */
	EXPECT_EQ(ERROR_COMMITMENT_LIMIT, commit(b + 8 * PAGE, 1,
						  PAGE_READWRITE));
	nb = b + 8 * PAGE;
	size = PAGE;
	EXPECT_EQ(STATUS_COMMITMENT_LIMIT,
		  nt_alloc(&nb, &size, MEM_COMMIT, PAGE_READWRITE));
	EXPECT_EQ(b + 8 * PAGE, nb);
	EXPECT_EQ(PAGE, size);
	EXPECT_EQ(8 * PAGE, charge());
	EXPECT_EQ(8 * PAGE, peak());
	EXPECT_EQ(before.committed, sysinfo_now().committed);
	EXPECT_EQ(before.user_committed, sysinfo_now().user_committed);
	mbi = query(b + 8 * PAGE);
	EXPECT_EQ(MEM_RESERVE, mbi.State);
	EXPECT_EQ(8 * PAGE, mbi.RegionSize);

	/* A commit over committed and new pages fails whole. */
	EXPECT_EQ(ERROR_COMMITMENT_LIMIT, commit(b + 7 * PAGE, 2,
						  PAGE_READONLY));
	mbi = query(b);
	EXPECT_EQ(MEM_COMMIT, mbi.State);
	EXPECT_EQ(PAGE_READWRITE, mbi.Protect);
	EXPECT_EQ(8 * PAGE, mbi.RegionSize);
	for (i = 0; i < 8 * PAGE; i += PAGE)
		EXPECT_EQ(0x5a, ptr(b)[i]);
	EXPECT_EQ(8 * PAGE, charge());

	/* Committed pages may be committed again: they charge nothing. */
	EXPECT_EQ(0, commit(b, 8, PAGE_READONLY));
	EXPECT_EQ(PAGE_READONLY, query(b).Protect);
	EXPECT_EQ(0x5a, ptr(b)[7 * PAGE]);
	EXPECT_EQ(8 * PAGE, charge());

	/* Room again after a decommit. */
	ASSERT_TRUE(VirtualFree(ptr(b), PAGE, MEM_DECOMMIT));
	EXPECT_EQ(0, commit(b + 8 * PAGE, 1, PAGE_READWRITE));
	EXPECT_EQ(8 * PAGE, charge());
	EXPECT_EQ(ERROR_COMMITMENT_LIMIT, commit(b, 1, PAGE_READWRITE));
	EXPECT_EQ(MEM_RESERVE, query(b).State);

	/* The users' limit is not the process's. */
	EXPECT_EQ(before.commit_limit, sysinfo_now().commit_limit);
	ASSERT_TRUE(VirtualFree(ptr(b), 0, MEM_RELEASE));
	EXPECT_EQ(0, charge());
}

TEST(reserve_and_commit_over_limit)
{
	struct ntvm_sysinfo_args before;
	uintptr_t a, nb;
	SIZE_T size;

	ASSERT_TRUE(NtvmSetProcessCommitLimit(4 * PAGE));
	a = free_range(GRAN);
	ASSERT_NE(0, a);
	before = sysinfo_now();

	SetLastError(0);
	EXPECT_EQ(NULL, VirtualAlloc(NULL, 5 * PAGE, MEM_RESERVE | MEM_COMMIT,
				     PAGE_READWRITE));
	EXPECT_EQ(ERROR_COMMITMENT_LIMIT, GetLastError());
	SetLastError(0);
	EXPECT_EQ(NULL, VirtualAlloc(ptr(a), 5 * PAGE,
				     MEM_RESERVE | MEM_COMMIT,
				     PAGE_READWRITE));
	EXPECT_EQ(ERROR_COMMITMENT_LIMIT, GetLastError());
	nb = a;
	size = 5 * PAGE;
	EXPECT_EQ(STATUS_COMMITMENT_LIMIT,
		  nt_alloc(&nb, &size, MEM_RESERVE | MEM_COMMIT,
			   PAGE_READWRITE));
	EXPECT_EQ(a, nb);
	EXPECT_EQ(5 * PAGE, size);
	/* Nothing reserved, nothing charged. */
	EXPECT_EQ(MEM_FREE, query(a).State);
	EXPECT_EQ(before.allocations, sysinfo_now().allocations);
	EXPECT_EQ(before.committed, sysinfo_now().committed);
	EXPECT_EQ(0, charge());
	EXPECT_EQ(0, peak());

	/* Exactly the limit. */
	EXPECT_EQ(ptr(a), VirtualAlloc(ptr(a), 4 * PAGE,
				       MEM_RESERVE | MEM_COMMIT,
				       PAGE_READWRITE));
	EXPECT_EQ(4 * PAGE, charge());
	EXPECT_EQ(before.allocations + 1, sysinfo_now().allocations);
	ASSERT_TRUE(VirtualFree(ptr(a), 0, MEM_RELEASE));
}

TEST(lower_raise_remove)
{
	uintptr_t b;

	b = (uintptr_t)VirtualAlloc(NULL, 32 * PAGE, MEM_RESERVE,
				    PAGE_READWRITE);
	ASSERT_NE(0, b);
	ASSERT_EQ(0, commit(b, 8, PAGE_READWRITE));

	/* Below the charge: allowed; what is committed stays. */
	ASSERT_TRUE(NtvmSetProcessCommitLimit(4 * PAGE));
	EXPECT_EQ(4 * PAGE, limit_now());
	EXPECT_EQ(8 * PAGE, charge());
	EXPECT_EQ(MEM_COMMIT, query(b).State);
	EXPECT_EQ(8 * PAGE, query(b).RegionSize);
	EXPECT_EQ(ERROR_COMMITMENT_LIMIT, commit(b + 8 * PAGE, 1,
						  PAGE_READWRITE));
	/* Recommitting committed pages still works. */
	EXPECT_EQ(0, commit(b, 8, PAGE_READONLY));
	ASSERT_TRUE(VirtualFree(ptr(b + 4 * PAGE), 4 * PAGE, MEM_DECOMMIT));
	EXPECT_EQ(4 * PAGE, charge());
	EXPECT_EQ(ERROR_COMMITMENT_LIMIT, commit(b + 4 * PAGE, 1,
						  PAGE_READWRITE));
	ASSERT_TRUE(VirtualFree(ptr(b + 3 * PAGE), PAGE, MEM_DECOMMIT));
	EXPECT_EQ(0, commit(b + 4 * PAGE, 1, PAGE_READWRITE));
	EXPECT_EQ(4 * PAGE, charge());

	/* Raised: room for 12 more. */
	ASSERT_TRUE(NtvmSetProcessCommitLimit(16 * PAGE));
	EXPECT_EQ(0, commit(b + 5 * PAGE, 12, PAGE_READWRITE));
	EXPECT_EQ(16 * PAGE, charge());
	EXPECT_EQ(ERROR_COMMITMENT_LIMIT, commit(b + 17 * PAGE, 1,
						  PAGE_READWRITE));

	/* Zero: no commit at all, and so are fewer bytes than a page. */
	ASSERT_TRUE(NtvmSetProcessCommitLimit(PAGE - 1));
	EXPECT_EQ(0, limit_now());
	EXPECT_EQ(ERROR_COMMITMENT_LIMIT, commit(b + 17 * PAGE, 1,
						  PAGE_READWRITE));

	/* Removed. */
	ASSERT_TRUE(NtvmSetProcessCommitLimit(NTVM_NO_COMMIT_LIMIT));
	EXPECT_EQ(NTVM_NO_COMMIT_LIMIT, limit_now());
	EXPECT_EQ(0, commit(b + 17 * PAGE, 15, PAGE_READWRITE));
	EXPECT_EQ(31 * PAGE, charge());
	EXPECT_EQ(31 * PAGE, peak());
	ASSERT_TRUE(VirtualFree(ptr(b), 0, MEM_RELEASE));
	EXPECT_EQ(0, charge());
}

TEST(user_limit_applies_too)
{
	struct ntvm_sysinfo_args info;
	long long saved;
	uintptr_t b;

	if (getuid() != 0)
		SKIP(return, "needs root (%s)", LIMIT_PARAM);
	saved = read_param();
	ASSERT_LE(0, saved);
	ASSERT_TRUE(NtvmSetProcessCommitLimit(1024 * PAGE));
	b = (uintptr_t)VirtualAlloc(NULL, 64 * PAGE, MEM_RESERVE,
				    PAGE_READWRITE);
	ASSERT_NE(0, b);
	ASSERT_EQ(0, commit(b, 1, PAGE_READWRITE));

	info = sysinfo_now();
	ASSERT_EQ(0, write_param(info.user_committed + 16));
	/* The process's limit is far, the user's is 16 pages away. */
	EXPECT_EQ(ERROR_COMMITMENT_LIMIT, commit(b + PAGE, 17,
						  PAGE_READWRITE));
	EXPECT_EQ(PAGE, charge());
	EXPECT_EQ(info.user_committed, sysinfo_now().user_committed);
	EXPECT_EQ(0, commit(b + PAGE, 16, PAGE_READWRITE));
	EXPECT_EQ(17 * PAGE, charge());
	EXPECT_EQ(0, write_param(saved));
	ASSERT_TRUE(VirtualFree(ptr(b), 0, MEM_RELEASE));
}

TEST(users_limit_is_root_only)
{
	long long v = read_param();
	struct stat st;
	pid_t pid;

	if (getuid() != 0)
		SKIP(return, "needs root (setuid)");
	ASSERT_EQ(0, stat(LIMIT_PARAM, &st));
	EXPECT_EQ(0, st.st_uid);
	EXPECT_EQ(0644, st.st_mode & 07777);

	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		int fd;

		prctl(PR_SET_PDEATHSIG, SIGKILL);
		CHILD_CHECK(!setgid(1000) && !setuid(1000));
		fd = open(LIMIT_PARAM, O_WRONLY);
		CHILD_CHECK(fd < 0 && errno == EACCES);
		_exit(0);
	}
	EXPECT_EQ(0, wait_child(pid));
	EXPECT_EQ(v, read_param());
	/* Root may. */
	EXPECT_EQ(0, write_param(v));
}

TEST(set_by_owner_only)
{
	struct ntvm_commit_limit_args set = { .limit = 3 };
	struct ntvm_commit_args got;
	struct ntvm_alloc_args a = {
		.size = 2 * PAGE, .type = NTVM_MEM_RESERVE | NTVM_MEM_COMMIT,
		.protect = NTVM_PAGE_READWRITE,
	};
	pid_t pid;
	int fd;

	fd = open("/dev/ntvm", O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, fd);
	memset(&got, 0xaa, sizeof(got));
	ASSERT_EQ(0, ioctl(fd, NTVM_IOC_GET_COMMIT, &got));
	EXPECT_EQ(0, got.committed);
	EXPECT_EQ(0, got.peak_committed);
	EXPECT_EQ(NTVM_COMMIT_LIMIT_NONE, got.limit);
	ASSERT_EQ(0, ioctl(fd, NTVM_IOC_ALLOC, &a));
	ASSERT_EQ(0, a.status);

	/* ABI fields. */
	set.pad = 1;
	EXPECT_EQ(-1, ioctl(fd, NTVM_IOC_SET_COMMIT_LIMIT, &set));
	EXPECT_EQ(EINVAL, errno);
	set.pad = 0;
	set.flags = 1;
	EXPECT_EQ(-1, ioctl(fd, NTVM_IOC_SET_COMMIT_LIMIT, &set));
	EXPECT_EQ(EINVAL, errno);
	set.flags = 0;
	EXPECT_EQ(-1, ioctl(fd, NTVM_IOC_SET_COMMIT_LIMIT, NULL));
	EXPECT_EQ(EFAULT, errno);
	ASSERT_EQ(0, ioctl(fd, NTVM_IOC_GET_COMMIT, &got));
	EXPECT_EQ(NTVM_COMMIT_LIMIT_NONE, got.limit);

	/* Another process holding the fd may read, not set. */
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		struct ntvm_commit_args c;

		CHILD_CHECK(ioctl(fd, NTVM_IOC_SET_COMMIT_LIMIT, &set) == -1 &&
			    errno == EPERM);
		CHILD_CHECK(!ioctl(fd, NTVM_IOC_GET_COMMIT, &c));
		CHILD_CHECK(c.committed == 2 && c.peak_committed == 2 &&
			    c.limit == NTVM_COMMIT_LIMIT_NONE);
		_exit(0);
	}
	EXPECT_EQ(0, wait_child(pid));
	ASSERT_EQ(0, ioctl(fd, NTVM_IOC_SET_COMMIT_LIMIT, &set));
	ASSERT_EQ(0, ioctl(fd, NTVM_IOC_GET_COMMIT, &got));
	EXPECT_EQ(2, got.committed);
	EXPECT_EQ(2, got.peak_committed);
	EXPECT_EQ(3, got.limit);
	EXPECT_EQ(NTVM_FEATURE_COMMIT_LIMIT,
		  NTVM_FEATURES_KNOWN & NTVM_FEATURE_COMMIT_LIMIT);
	{
		__u64 features = 0;

		ASSERT_EQ(0, ioctl(fd, NTVM_IOC_FEATURES, &features));
		EXPECT_TRUE(features & NTVM_FEATURE_COMMIT_LIMIT);
	}
	close(fd);
}

TEST(fork_child_and_exit)
{
	struct ntvm_sysinfo_args before, after;
	uintptr_t b;
	pid_t pid;

	b = (uintptr_t)VirtualAlloc(NULL, 4 * PAGE, MEM_RESERVE | MEM_COMMIT,
				    PAGE_READWRITE);
	ASSERT_NE(0, b);
	ASSERT_TRUE(NtvmSetProcessCommitLimit(8 * PAGE));
	before = sysinfo_now();

	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		PROCESS_MEMORY_COUNTERS_EX m;
		struct ntvm_commit_args c;
		uintptr_t cb;
		int fd;

		prctl(PR_SET_PDEATHSIG, SIGKILL);
		/* Its own context: nothing charged, its parent's limit. */
		m = pmc_now();
		CHILD_CHECK(m.cb == sizeof(m));
		CHILD_CHECK(m.PrivateUsage == 0 && m.PeakPagefileUsage == 0);
		CHILD_CHECK(limit_now() == 8 * PAGE);
		cb = (uintptr_t)VirtualAlloc(NULL, 16 * PAGE, MEM_RESERVE,
					     PAGE_READWRITE);
		CHILD_CHECK(cb);
		CHILD_CHECK(commit(cb, 8, PAGE_READWRITE) == 0);
		CHILD_CHECK(commit(cb + 8 * PAGE, 1, PAGE_READWRITE) ==
			    ERROR_COMMITMENT_LIMIT);
		memset(ptr(cb), 1, 8 * PAGE);
		CHILD_CHECK(charge() == 8 * PAGE);
		CHILD_CHECK(sysinfo_now().committed == before.committed + 8);
		/* A context opened without libntvm has no limit. */
		fd = open("/dev/ntvm", O_RDWR | O_CLOEXEC);
		CHILD_CHECK(fd >= 0);
		CHILD_CHECK(!ioctl(fd, NTVM_IOC_GET_COMMIT, &c));
		CHILD_CHECK(c.committed == 0 &&
			    c.limit == NTVM_COMMIT_LIMIT_NONE);
		/* Exit without freeing anything. */
		_exit(0);
	}
	EXPECT_EQ(0, wait_child(pid));
	/* The child's exit gave its charge back; the parent's is intact. */
	after = sysinfo_now();
	EXPECT_EQ(before.committed, after.committed);
	EXPECT_EQ(before.user_committed, after.user_committed);
	EXPECT_EQ(before.allocations, after.allocations);
	EXPECT_EQ(4 * PAGE, charge());
	EXPECT_EQ(8 * PAGE, limit_now());
	ASSERT_TRUE(VirtualFree(ptr(b), 0, MEM_RELEASE));
}

/*
 * The program run again with NTVM_COMMIT_LIMIT in its environment:
 * "--env-child BYTES" expects that limit (or none for "none").
 */
static int env_child(const char *expect)
{
	SIZE_T want = strcmp(expect, "none") ? strtoull(expect, NULL, 0) :
					       NTVM_NO_COMMIT_LIMIT;
	unsigned long pages = want == NTVM_NO_COMMIT_LIMIT ? 9 : want / PAGE;
	uintptr_t b;

	CHILD_CHECK(limit_now() == want);
	b = (uintptr_t)VirtualAlloc(NULL, (pages + 1) * PAGE, MEM_RESERVE,
				    PAGE_READWRITE);
	CHILD_CHECK(b);
	CHILD_CHECK(commit(b, pages, PAGE_READWRITE) == 0);
	if (want != NTVM_NO_COMMIT_LIMIT)
		CHILD_CHECK(commit(b + pages * PAGE, 1, PAGE_READWRITE) ==
			    ERROR_COMMITMENT_LIMIT);
	CHILD_CHECK(charge() == pages * PAGE);
	return 0;
}

static int run_env_child(const char *value, const char *expect)
{
	pid_t pid = fork();

	if (pid == 0) {
		char *argv[] = { "ntvm_commit_limit", "--env-child",
				 (char *)expect, NULL };

		prctl(PR_SET_PDEATHSIG, SIGKILL);
		setenv("NTVM_COMMIT_LIMIT", value, 1);
		execv("/proc/self/exe", argv);
		_exit(254);
	}
	return pid < 0 ? -1 : wait_child(pid);
}

TEST(environment)
{
	EXPECT_EQ(0, run_env_child("32768", "32768"));
	EXPECT_EQ(0, run_env_child("20K", "20480"));
	EXPECT_EQ(0, run_env_child("40000", "36864"));
	EXPECT_EQ(0, run_env_child("1M", "1048576"));
	/* Not a size: a warning, and no limit. */
	EXPECT_EQ(0, run_env_child("lots", "none"));
	EXPECT_EQ(0, run_env_child("0x8000", "none"));
	EXPECT_EQ(0, run_env_child("12Kb", "none"));
}

int main(int argc, char **argv)
{
	if (argc == 3 && !strcmp(argv[1], "--env-child"))
		return env_child(argv[2]);
	return test_harness_run(argc, argv);
}
