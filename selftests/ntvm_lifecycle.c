// SPDX-License-Identifier: GPL-2.0
/*
 * Process lifecycle: fork, exit, SIGKILL mid-operation, a closed fd with
 * live views, and module unloading while state is held.
 */
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "inject.h"
#include "ntvm_test.h"
#include "kselftest_harness.h"

static int wait_exit(pid_t pid)
{
	int status;

	if (waitpid(pid, &status, 0) != pid)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) :
	       128 + WTERMSIG(status);
}

TEST(forked_child_sees_nothing)
{
	char *p = VirtualAlloc(NULL, 0x10000, MEM_COMMIT, PAGE_READWRITE);
	pid_t pid;

	ASSERT_NE(NULL, p);
	memset(p, 0x3c, 0x10000);
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		char *own;

		if (can_read((uintptr_t)p, NULL))
			_exit(1);
		if (can_write((uintptr_t)p, 1))
			_exit(2);
		/* The child gets a context of its own. */
		if (query((uintptr_t)p).State != MEM_FREE)
			_exit(3);
		if (VirtualFree(p, 0, MEM_RELEASE) ||
		    GetLastError() != ERROR_INVALID_ADDRESS)
			_exit(4);
		own = VirtualAlloc(NULL, PAGE, MEM_COMMIT, PAGE_READWRITE);
		if (!own || own[0] != 0)
			_exit(5);
		own[0] = 1;
		_exit(0);
	}
	EXPECT_EQ(0, wait_exit(pid));
	EXPECT_EQ(0x3c, p[0]);
	EXPECT_EQ(0x3c, p[0xffff]);
	EXPECT_EQ(MEM_COMMIT, query((uintptr_t)p).State);
	EXPECT_TRUE(VirtualFree(p, 0, MEM_RELEASE));
}

TEST(exit_frees_everything)
{
	struct ntvm_sysinfo_args before = sysinfo_now(), after;
	long shmem = meminfo_kb("Shmem:");
	pid_t pid = fork();

	ASSERT_LE(0, pid);
	if (pid == 0) {
		int i;

		for (i = 0; i < 16; i++) {
			char *p = VirtualAlloc(NULL, 0x100000, MEM_COMMIT,
					       i & 1 ? PAGE_EXECUTE_READWRITE :
						       PAGE_READWRITE);
			if (!p)
				_exit(1);
			memset(p, i, 0x100000);
		}
		if (sysinfo_now().allocations != before.allocations + 16)
			_exit(2);
		_exit(0);
	}
	EXPECT_EQ(0, wait_exit(pid));
	after = sysinfo_now();
	EXPECT_EQ(before.contexts, after.contexts);
	EXPECT_EQ(before.allocations, after.allocations);
	EXPECT_EQ(before.committed, after.committed);
	/* 16 MiB were resident in shmem; all of it is gone. */
	EXPECT_GE(shmem + 256, meminfo_kb("Shmem:"));
}

TEST(killed_mid_operation)
{
	struct ntvm_sysinfo_args before = sysinfo_now(), after;
	int round;

	for (round = 0; round < 4; round++) {
		pid_t pid = fork();

		ASSERT_LE(0, pid);
		if (pid == 0) {
			for (;;) {
				char *p = VirtualAlloc(NULL, 0x40000,
						       MEM_COMMIT,
						       PAGE_READWRITE);
				DWORD old;

				if (!p)
					_exit(1);
				memset(p, 1, 0x40000);
				VirtualProtect(p, 0x20000, PAGE_EXECUTE_READ,
					       &old);
				VirtualFree(p + 0x8000, 0x8000, MEM_DECOMMIT);
				if (round & 1)
					VirtualFree(p, 0, MEM_RELEASE);
			}
		}
		usleep(50000 + round * 30000);
		ASSERT_EQ(0, kill(pid, SIGKILL));
		EXPECT_EQ(128 + SIGKILL, wait_exit(pid));
	}
	after = sysinfo_now();
	EXPECT_EQ(before.contexts, after.contexts);
	EXPECT_EQ(before.allocations, after.allocations);
	EXPECT_EQ(before.committed, after.committed);
}

/* Raw ioctls here: libntvm would keep its own fd open. */
static __u64 raw_commit(int fd, __u64 size)
{
	struct ntvm_alloc_args a = {
		.size = size, .type = NTVM_MEM_COMMIT,
		.protect = NTVM_PAGE_READWRITE,
	};

	if (ioctl(fd, NTVM_IOC_ALLOC, &a) || a.status)
		return 0;
	return a.base;
}

TEST(closed_fd_keeps_views_alive)
{
	struct ntvm_sysinfo_args before = sysinfo_now();
	int fd = open("/dev/ntvm", O_RDWR | O_CLOEXEC);
	__u64 base;

	ASSERT_LE(0, fd);
	base = raw_commit(fd, 0x10000);
	ASSERT_NE(0, base);
	ptr(base)[5] = 5;
	ASSERT_EQ(0, close(fd));
	/* The memory stays usable; the context lives while it is mapped. */
	EXPECT_EQ(5, ptr(base)[5]);
	EXPECT_EQ(1, can_write(base + 0xffff, 1));
	EXPECT_EQ(before.contexts + 1, sysinfo_now().contexts);
	/* Its arena is a view too: the context lives on without the fd... */
	ASSERT_EQ(0, munmap(ptr(base), 0x10000));
	/*
	 * ...but under fault injection the arena may be only the allocation
	 * (the larger one failed): then nothing is left to hold it.
	 */
	if (!inject_active() || count_views()) {
		EXPECT_EQ(before.contexts + 1, sysinfo_now().contexts);
		EXPECT_LE(1, count_views());
	}
	/* ...until the last view goes. */
	ASSERT_EQ(0, unmap_all_views());
	EXPECT_EQ(0, count_views());
	EXPECT_EQ(before.contexts, sysinfo_now().contexts);
	EXPECT_EQ(before.committed, sysinfo_now().committed);
	EXPECT_EQ(before.allocations, sysinfo_now().allocations);
}

static int delete_ntvm(void)
{
	return syscall(SYS_delete_module, "ntvm", O_NONBLOCK);
}

static int load_ntvm(void)
{
	int fd = open("/lib/ntvm.ko", O_RDONLY | O_CLOEXEC);
	int ret;

	if (fd < 0)
		return -1;
	ret = syscall(SYS_finit_module, fd, "", 0);
	close(fd);
	return ret;
}

/* Send @fd over a unix socket; receive it in the child. */
static int send_fd(int sock, int fd)
{
	char cbuf[CMSG_SPACE(sizeof(int))] = { 0 };
	struct iovec iov = { .iov_base = "x", .iov_len = 1 };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1,
			      .msg_control = cbuf,
			      .msg_controllen = sizeof(cbuf) };
	struct cmsghdr *c = CMSG_FIRSTHDR(&msg);

	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &fd, sizeof(int));
	return sendmsg(sock, &msg, 0) == 1 ? 0 : -1;
}

static int recv_fd(int sock)
{
	char cbuf[CMSG_SPACE(sizeof(int))] = { 0 }, x;
	struct iovec iov = { .iov_base = &x, .iov_len = 1 };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1,
			      .msg_control = cbuf,
			      .msg_controllen = sizeof(cbuf) };
	int fd = -1;

	if (recvmsg(sock, &msg, 0) != 1 || !CMSG_FIRSTHDR(&msg))
		return -1;
	memcpy(&fd, CMSG_DATA(CMSG_FIRSTHDR(&msg)), sizeof(int));
	return fd;
}

/*
 * A file passed to another process (SCM_RIGHTS) is the right to its
 * owner's memory: the receiver queries and protects there, never in its
 * own address space; once the owner has exited every call fails with
 * ESRCH.
 */
TEST(fd_passed_to_another_process_acts_on_owner)
{
	struct ntvm_protect_args p = { .size = 0x1000,
				       .protect = NTVM_PAGE_NOACCESS };
	struct ntvm_alloc_args a = { .size = 1UL << 30,
				     .type = NTVM_MEM_RESERVE,
				     .protect = NTVM_PAGE_NOACCESS };
	struct ntvm_query_args q = { 0 };
	__u64 base, base2 = 0;
	int sv[2], got;
	pid_t pid;

	ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		/* The owner. */
		int fd = open("/dev/ntvm", O_RDWR | O_CLOEXEC);

		base = fd < 0 ? 0 : raw_commit(fd, 0x10000);
		if (!base)
			_exit(1);
		ptr(base)[0] = 11;
		ptr(base + 0x1000)[0] = 12;
		if (send_fd(sv[1], fd) ||
		    write(sv[1], &base, sizeof(base)) != sizeof(base))
			_exit(2);
		if (read(sv[1], &base2, sizeof(base2)) != sizeof(base2))
			_exit(3);
		/* Protected by the other process; the rest as it was. */
		if (can_read(base, NULL) || ptr(base + 0x1000)[0] != 12)
			_exit(4);
		/* Allocated by it, in a new arena, executable. */
		q.address = base2;
		if (ioctl(fd, NTVM_IOC_QUERY, &q) || q.status ||
		    q.allocation_base != base2 || q.region_size != 0x1000 ||
		    q.state != NTVM_MEM_COMMIT ||
		    q.protect != NTVM_PAGE_EXECUTE_READWRITE)
			_exit(5);
		ptr(base2)[0] = 13;
		if (ptr(base2)[0] != 13 || ptr(base2)[1])
			_exit(6);
		close(fd);
		_exit(0);
	}
	got = recv_fd(sv[0]);
	ASSERT_LE(0, got);
	ASSERT_EQ(sizeof(base), read(sv[0], &base, sizeof(base)));
	q.address = base;
	ASSERT_EQ(0, ioctl(got, NTVM_IOC_QUERY, &q));
	EXPECT_EQ(NTVM_STATUS_SUCCESS, q.status);
	EXPECT_EQ(NTVM_MEM_COMMIT, q.state);
	EXPECT_EQ(base, q.allocation_base);
	EXPECT_EQ(0x10000, q.region_size);
	EXPECT_EQ(NTVM_PAGE_READWRITE, q.protect);
	p.base = base;
	ASSERT_EQ(0, ioctl(got, NTVM_IOC_PROTECT, &p));
	EXPECT_EQ(NTVM_STATUS_SUCCESS, p.status);
	EXPECT_EQ(NTVM_PAGE_READWRITE, p.old_protect);
	/* Nothing of it in the receiver's own address space. */
	EXPECT_FALSE(can_read(base, NULL));
	/* Room the owner has no arena for yet; then an exec view. */
	ASSERT_EQ(0, ioctl(got, NTVM_IOC_ALLOC, &a));
	ASSERT_EQ(NTVM_STATUS_SUCCESS, a.status);
	base2 = a.base;
	a.size = 0x1000;
	a.type = NTVM_MEM_COMMIT;
	a.protect = NTVM_PAGE_EXECUTE_READWRITE;
	ASSERT_EQ(0, ioctl(got, NTVM_IOC_ALLOC, &a));
	ASSERT_EQ(NTVM_STATUS_SUCCESS, a.status);
	EXPECT_EQ(base2, a.base);
	EXPECT_FALSE(can_read(base2, NULL));
	ASSERT_EQ(sizeof(base2), write(sv[0], &base2, sizeof(base2)));
	EXPECT_EQ(0, wait_exit(pid));
	/* The owner has exited: no memory left to act on. */
	errno = 0;
	EXPECT_EQ(-1, ioctl(got, NTVM_IOC_QUERY, &q));
	EXPECT_EQ(ESRCH, errno);
	errno = 0;
	EXPECT_EQ(-1, ioctl(got, NTVM_IOC_PROTECT, &p));
	EXPECT_EQ(ESRCH, errno);
	close(got);
	close(sv[0]);
	close(sv[1]);
}

/*
 * A call from another process follows the owner's limits: its RLIMIT_AS
 * refuses new space for the caller as for the owner.  NTVM_IOC_CONTEXT
 * still names the owner after its main thread exited alone.
 */
static void *owner_thread(void *arg)
{
	int *sv = arg;
	char x;

	if (read(sv[1], &x, 1) != 1)
		_exit(9);
	_exit(0);
}

TEST(fd_in_another_process_follows_owner_limits)
{
	struct ntvm_alloc_args a = { .size = 1UL << 30,
				     .type = NTVM_MEM_RESERVE,
				     .protect = NTVM_PAGE_READWRITE };
	struct ntvm_context_args c;
	int sv[2], got;
	pid_t pid;

	ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		/* The owner: 64 MiB of address space more than it has. */
		int fd = open("/dev/ntvm", O_RDWR | O_CLOEXEC);
		struct rlimit rl;
		unsigned long vm = 0;
		char line[256];
		pthread_t t;
		FILE *f;

		if (fd < 0 || !raw_commit(fd, 0x10000))
			_exit(1);
		f = fopen("/proc/self/status", "r");
		while (f && fgets(line, sizeof(line), f))
			sscanf(line, "VmSize: %lu kB", &vm);
		if (f)
			fclose(f);
		rl.rlim_cur = rl.rlim_max = (vm << 10) + (64UL << 20);
		if (!vm || setrlimit(RLIMIT_AS, &rl))
			_exit(2);
		/* Its own gigabyte is refused. */
		if (ioctl(fd, NTVM_IOC_ALLOC, &a) ||
		    a.status != NTVM_STATUS_NO_MEMORY)
			_exit(3);
		if (pthread_create(&t, NULL, owner_thread, sv))
			_exit(4);
		if (send_fd(sv[1], fd))
			_exit(5);
		close(fd);
		/* The main thread exits; the other one lives on. */
		pthread_exit(NULL);
	}
	got = recv_fd(sv[0]);
	ASSERT_LE(0, got);
	a.status = 0;
	ASSERT_EQ(0, ioctl(got, NTVM_IOC_ALLOC, &a));
	EXPECT_EQ(NTVM_STATUS_NO_MEMORY, a.status);
	a.size = 1UL << 20;
	a.base = 0;
	ASSERT_EQ(0, ioctl(got, NTVM_IOC_ALLOC, &a));
	EXPECT_EQ(NTVM_STATUS_SUCCESS, a.status);
	ASSERT_EQ(0, ioctl(got, NTVM_IOC_CONTEXT, &c));
	EXPECT_EQ(0, c.flags);
	EXPECT_EQ((__u32)pid, c.owner_pid);
	ASSERT_EQ(1, write(sv[0], "x", 1));
	EXPECT_EQ(0, wait_exit(pid));
	ASSERT_EQ(0, ioctl(got, NTVM_IOC_CONTEXT, &c));
	EXPECT_EQ(0, c.owner_pid);
	close(got);
	close(sv[0]);
	close(sv[1]);
}

/*
 * Thirty unloads (twenty under injection): each waits for RCU callbacks
 * on 6.12 (the reset items' kmem_cache_destroy() runs
 * kvfree_rcu_barrier()), slow on the debug kernel.  A leak or a
 * use-after-free of the unload shows in the first few, to KASAN and
 * kmemleak; more cycles only cost make check's time.
 */
FIXTURE(module) {
};

FIXTURE_SETUP(module)
{
}

/* However the test ended, the module is loaded for the tests after it. */
FIXTURE_TEARDOWN(module)
{
	if (access("/dev/ntvm", F_OK) && !access("/lib/ntvm.ko", R_OK))
		load_ntvm();
}

TEST_F_TIMEOUT(module, rmmod_refused_while_state_is_held, 120)
{
	int fd, i;
	__u64 base;

	if (geteuid() != 0 || access("/lib/ntvm.ko", R_OK))
		SKIP(return, "needs root and /lib/ntvm.ko (the test VM)");

	fd = open("/dev/ntvm", O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, fd);
	EXPECT_EQ(-1, delete_ntvm());
	EXPECT_EQ(EWOULDBLOCK, errno);
	base = raw_commit(fd, 0x10000);
	ASSERT_NE(0, base);
	close(fd);
	/* A view alone holds it too. */
	EXPECT_EQ(-1, delete_ntvm());
	EXPECT_EQ(EWOULDBLOCK, errno);
	ASSERT_EQ(0, munmap(ptr(base), 0x10000));
	/*
	 * Free arena space too.  Under fault injection the arena may be
	 * only the allocation (the first, larger one failed): none left.
	 */
	if (!inject_active() || count_views()) {
		EXPECT_EQ(-1, delete_ntvm());
		EXPECT_EQ(EWOULDBLOCK, errno);
	}
	ASSERT_EQ(0, unmap_all_views());

	/* Unload and load again, with use in between. */
	for (i = 0; i < (inject_active() ? 20 : 30); i++) {
		ASSERT_EQ(0, delete_ntvm());
		EXPECT_EQ(-1, access("/dev/ntvm", F_OK));
		ASSERT_EQ(0, load_ntvm());
		fd = open("/dev/ntvm", O_RDWR | O_CLOEXEC);
		ASSERT_LE(0, fd);
		base = raw_commit(fd, 0x20000);
		ASSERT_NE(0, base);
		ptr(base)[1] = 1;
		close(fd);
		ASSERT_EQ(0, unmap_all_views());
	}
}

TEST_HARNESS_MAIN
