// SPDX-License-Identifier: GPL-2.0
/*
 * Another process's memory (spec 2.11): OpenProcess and its rights, the Ex
 * calls and their NT forms with a process handle, ReadProcessMemory and
 * WriteProcessMemory (NtReadVirtualMemory, NtWriteVirtualMemory), who may
 * open whom (Linux's ptrace rules: credentials, dumpable, CAP_SYS_PTRACE,
 * Yama), and the lifetime of a handle (exit, a recycled pid, fork, exec).
 *
 * The other process is an agent: a forked (or exec'd) copy of this
 * program that runs requests sent through a pipe, so that every check can
 * also be made from inside the target (its own VirtualQuery, reads,
 * writes and executes of the memory the Ex calls made).
 */
#include <dirent.h>
#include <grp.h>
#include <pthread.h>
#include <sched.h>
#include <linux/sched.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>

#include "inject.h"
#include "ntvm_test.h"
#include "kselftest_harness.h"

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_pidfd_getfd
#define SYS_pidfd_getfd 438
#endif
#ifndef SYS_clone3
#define SYS_clone3 435
#endif

#define NOBODY		65534
#define NOGROUP		65534

static int pidfd_open_(pid_t pid)
{
	return syscall(SYS_pidfd_open, pid, 0);
}

static int pidfd_getfd_(int pidfd, int fd)
{
	return syscall(SYS_pidfd_getfd, pidfd, fd, 0);
}

/* ------------------------------------------------------------------ */
/* The agent.                                                          */

enum {
	OP_QUIT = 1,
	OP_ALLOC,	/* NtAllocateVirtualMemory: addr, size, type, protect */
	OP_ALLOC_EX,	/* NtAllocateVirtualMemoryEx, no parameters */
	OP_FREE,	/* NtFreeVirtualMemory: addr, size, type */
	OP_PROTECT,	/* NtProtectVirtualMemory: addr, size, protect */
	OP_QUERY,	/* VirtualQuery: addr */
	OP_PEEK,	/* read up to 256 bytes, stopping at a fault */
	OP_POKE,	/* write up to 256 bytes, stopping at a fault */
	OP_FILL,	/* memset(addr, type, size) */
	OP_EXEC,	/* call addr, which returns 42 */
	OP_PROBE,	/* per page of size pages: 1 read, 2 write, 4 guard */
	OP_WALK,	/* VirtualQuery from 0 to the end, one answer each */
	OP_SETUID,	/* become addr (uid and gid), dumpable again */
	OP_DUMPABLE,	/* prctl(PR_SET_DUMPABLE, addr) */
	OP_EXECVE,	/* exec this program again as an agent (addr: ntvm) */
	OP_FORK,	/* fork a child that waits; its pid */
	OP_NTVM_FD,	/* the fd of its /dev/ntvm, or -1 */
	OP_OPEN_PARENT,	/* OpenProcess(getppid()), RPM of addr: outcome */
	OP_COMMIT_LIMIT,	/* NtvmSetProcessCommitLimit(addr) */
	OP_ADDRESS_LIMIT,	/* NtvmSetMaximumApplicationAddress(addr) */
	OP_ALLOC_W32,	/* VirtualAlloc(addr, size, type, protect) */
	OP_MPROTECT,	/* mprotect(addr, size, protect) */
	OP_THREAD_NTVM,	/* its first ntvm call in a thread, which exits */
	OP_RLIMIT_AS,	/* setrlimit(RLIMIT_AS, addr) */
};

struct req {
	uint32_t op, type, protect, pad;
	uint64_t addr, size;
	uint8_t data[256];
};

struct rsp {
	uint64_t ret, base, size;
	uint32_t status, error, old, pad;
	MEMORY_BASIC_INFORMATION mbi;
	uint8_t data[256];
};

struct agent {
	pid_t pid;
	int req, rsp;
	uintptr_t buf;		/* a static page of the agent's, RW */
};

static int xfer(int fd, void *buf, size_t n, int wr)
{
	char *p = buf;

	while (n) {
		ssize_t r = wr ? write(fd, p, n) : read(fd, p, n);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		p += r;
		n -= r;
	}
	return 0;
}

static char agent_buf[2 * PAGE] __attribute__((aligned(4096)));
static int agent_uses_ntvm;	/* else it must not open /dev/ntvm */

static int ntvm_fd_of_self(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	char path[300], target[64];
	int fd = -1;

	while (d && (e = readdir(d))) {
		ssize_t n;

		snprintf(path, sizeof(path), "/proc/self/fd/%s", e->d_name);
		n = readlink(path, target, sizeof(target) - 1);
		if (n > 0) {
			target[n] = 0;
			if (!strcmp(target, "/dev/ntvm")) {
				fd = atoi(e->d_name);
				break;
			}
		}
	}
	if (d)
		closedir(d);
	return fd;
}

static void become(uid_t uid)
{
	if (setgroups(0, NULL) || setresgid(uid, uid, uid) ||
	    setresuid(uid, uid, uid))
		_exit(90);
	/* A change of credentials makes a process non-dumpable. */
	prctl(PR_SET_DUMPABLE, 1);
}

static void *agent_thread_ntvm(void *unused)
{
	MEMORY_BASIC_INFORMATION m;

	VirtualQuery(agent_buf, &m, sizeof(m));
	return NULL;
}

static void agent_do(struct req *q, struct rsp *r, int in, int out)
{
	uintptr_t a = q->addr;
	PVOID base = (PVOID)a;
	SIZE_T size = q->size;
	uint64_t i;

	switch (q->op) {
	case OP_ALLOC:
		r->status = NtAllocateVirtualMemory(NtCurrentProcess(), &base,
						    0, &size, q->type,
						    q->protect);
		break;
	case OP_ALLOC_EX:
		r->status = NtAllocateVirtualMemoryEx(NtCurrentProcess(),
						      &base, &size, q->type,
						      q->protect, NULL, 0);
		break;
	case OP_FREE:
		r->status = NtFreeVirtualMemory(NtCurrentProcess(), &base,
						&size, q->type);
		break;
	case OP_PROTECT:
		r->old = 0xdead;
		r->status = NtProtectVirtualMemory(NtCurrentProcess(), &base,
						   &size, q->protect, &r->old);
		break;
	case OP_QUERY:
		agent_uses_ntvm = 1;
		memset(&r->mbi, 0xaa, sizeof(r->mbi));
		r->ret = VirtualQuery((void *)a, &r->mbi, sizeof(r->mbi));
		r->error = GetLastError();
		break;
	case OP_PEEK:
		for (i = 0; i < q->size && i < 256; i++)
			if (!can_read(a + i, (char *)&r->data[i]))
				break;
		r->ret = i;
		break;
	case OP_POKE:
		for (i = 0; i < q->size && i < 256; i++)
			if (!can_write(a + i, q->data[i]))
				break;
		r->ret = i;
		break;
	case OP_FILL:
		memset((void *)a, (int)q->type, q->size);
		break;
	case OP_EXEC:
		r->ret = can_exec(a);
		break;
	case OP_PROBE:
		for (i = 0; i < q->size && i < 256; i++) {
			uintptr_t pg = a + i * PAGE;
			char v;

			if (agent_uses_ntvm &&
			    query(pg).Protect & PAGE_GUARD) {
				r->data[i] = 4;
				continue;
			}
			r->data[i] = can_read(pg, &v);
			if (r->data[i] && can_write(pg, v))
				r->data[i] |= 2;
		}
		break;
	case OP_WALK: {
		MEMORY_BASIC_INFORMATION m;
		uintptr_t at = 0;

		while (VirtualQuery((void *)at, &m, sizeof(m)) == sizeof(m)) {
			r->ret = 1;
			r->mbi = m;
			if (xfer(out, r, sizeof(*r), 1))
				_exit(1);
			if ((uintptr_t)m.BaseAddress + m.RegionSize <= at)
				break;
			at = (uintptr_t)m.BaseAddress + m.RegionSize;
		}
		r->ret = 0;
		r->error = GetLastError();
		break;
	}
	/*
	 * No ntvm calls of its own after these: under NTVM_FAULTINJ they
	 * would arm injection in /proc/self, which is no longer its to
	 * write.
	 */
	case OP_SETUID:
		become(a);
		agent_uses_ntvm = 0;
		break;
	case OP_DUMPABLE:
		r->ret = prctl(PR_SET_DUMPABLE, a);
		agent_uses_ntvm = 0;
		break;
	case OP_EXECVE: {
		char env[64];
		char *argv[] = { "ntvm_process", NULL };
		char *envp[] = { env, NULL };

		snprintf(env, sizeof(env), "NTVM_PROCESS_AGENT=%d %d %d", in,
			 out, (int)a);
		fcntl(in, F_SETFD, 0);
		fcntl(out, F_SETFD, 0);
		execve("/proc/self/exe", argv, envp);
		r->ret = (uint64_t)-errno;
		break;
	}
	case OP_FORK: {
		pid_t c = fork();

		if (!c) {
			close(in);
			close(out);
			prctl(PR_SET_PDEATHSIG, SIGKILL);
			for (;;)
				pause();
		}
		r->ret = c;
		break;
	}
	case OP_NTVM_FD:
		r->ret = ntvm_fd_of_self();
		break;
	case OP_COMMIT_LIMIT:
		r->ret = NtvmSetProcessCommitLimit(a);
		r->error = GetLastError();
		break;
	case OP_ADDRESS_LIMIT:
		r->ret = NtvmSetMaximumApplicationAddress((LPVOID)a);
		r->error = GetLastError();
		break;
	case OP_THREAD_NTVM: {
		pthread_t t;

		agent_uses_ntvm = 1;
		r->ret = pthread_create(&t, NULL, agent_thread_ntvm, NULL) ||
			 pthread_join(t, NULL);
		break;
	}
	case OP_RLIMIT_AS: {
		struct rlimit rl = { a, a };

		r->ret = setrlimit(RLIMIT_AS, &rl);
		break;
	}
	case OP_MPROTECT:
		r->ret = mprotect((void *)a, size, q->protect);
		break;
	case OP_ALLOC_W32:
		SetLastError(0);
		r->ret = (uintptr_t)VirtualAlloc((LPVOID)a, size, q->type,
						 q->protect);
		r->error = GetLastError();
		break;
	case OP_OPEN_PARENT: {
		HANDLE h = OpenProcess(PROCESS_ALL_ACCESS, FALSE, getppid());
		SIZE_T n = 0;

		r->error = GetLastError();
		r->ret = h != NULL;
		if (h) {
			r->status = ReadProcessMemory(h, (void *)a, r->data, 1,
						      &n);
			r->old = GetLastError();
			r->size = n;
			CloseHandle(h);
		}
		break;
	}
	}
	r->base = (uintptr_t)base;
	r->size = q->op == OP_OPEN_PARENT ? r->size : size;
}

static void agent_loop(int in, int out, int use_ntvm)
{
	struct req q;
	struct rsp r;

	signal(SIGPIPE, SIG_DFL);
	agent_uses_ntvm = use_ntvm;
	if (use_ntvm) {
		/* Opens this process's context on /dev/ntvm. */
		MEMORY_BASIC_INFORMATION m;

		if (!VirtualQuery(&m, &m, sizeof(m)))
			_exit(91);
	}
	memset(&r, 0, sizeof(r));
	r.ret = getpid();
	r.base = (uintptr_t)agent_buf;
	if (xfer(out, &r, sizeof(r), 1))
		_exit(1);
	while (!xfer(in, &q, sizeof(q), 0)) {
		if (q.op == OP_QUIT)
			_exit(0);
		memset(&r, 0, sizeof(r));
		agent_do(&q, &r, in, out);
		if (xfer(out, &r, sizeof(r), 1))
			_exit(1);
	}
	_exit(0);
}

/* The agent after OP_EXECVE: before the harness's main. */
__attribute__((constructor)) static void agent_after_exec(void)
{
	const char *e = getenv("NTVM_PROCESS_AGENT");
	int in, out, use;

	if (e && sscanf(e, "%d %d %d", &in, &out, &use) == 3) {
		fcntl(in, F_SETFD, FD_CLOEXEC);
		fcntl(out, F_SETFD, FD_CLOEXEC);
		agent_loop(in, out, use);
	}
}

static int agent_ready(struct agent *a)
{
	struct rsp r;

	if (xfer(a->rsp, &r, sizeof(r), 0))
		return -1;
	a->buf = r.base;
	return r.ret == (uint64_t)a->pid ? 0 : -1;
}

/*
 * A new agent, which has opened its ntvm context if @use_ntvm; with the pid
 * @pid if not 0 (clone3()'s set_tid, in a pid namespace of our own).
 */
static int agent_start_pid(struct agent *a, int use_ntvm, pid_t pid)
{
	struct clone_args ca = {
		.exit_signal = SIGCHLD,
		.set_tid = (uintptr_t)&pid,
		.set_tid_size = 1,
	};
	int q[2], r[2];

	signal(SIGPIPE, SIG_IGN);
	if (pipe2(q, O_CLOEXEC) || pipe2(r, O_CLOEXEC))
		return -1;
	if (pid)
		a->pid = syscall(SYS_clone3, &ca, sizeof(ca));
	else
		a->pid = fork();
	if (a->pid < 0)
		return -1;
	if (!a->pid) {
		close(q[1]);
		close(r[0]);
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		agent_loop(q[0], r[1], use_ntvm);
	}
	close(q[0]);
	close(r[1]);
	a->req = q[1];
	a->rsp = r[0];
	return agent_ready(a);
}

static int agent_start(struct agent *a, int use_ntvm)
{
	return agent_start_pid(a, use_ntvm, 0);
}

static struct rsp call(struct agent *a, uint32_t op, uintptr_t addr,
		       uint64_t size, uint32_t type, uint32_t protect,
		       const void *data)
{
	struct req q = { .op = op, .type = type, .protect = protect,
			 .addr = addr, .size = size };
	struct rsp r;

	if (data)
		memcpy(q.data, data, size < 256 ? size : 256);
	if (xfer(a->req, &q, sizeof(q), 1) || xfer(a->rsp, &r, sizeof(r), 0)) {
		memset(&r, 0, sizeof(r));
		r.ret = (uint64_t)-1;
		r.status = 0xdeadbeef;
		r.error = 0xdeadbeef;
		r.mbi.State = 0xdead;
	}
	return r;
}

static int wait_exit(pid_t pid)
{
	int status;

	if (waitpid(pid, &status, 0) != pid)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) :
	       128 + WTERMSIG(status);
}

/* Ends the agent and reaps it: its exit status. */
static int agent_quit(struct agent *a)
{
	struct req q = { .op = OP_QUIT };

	xfer(a->req, &q, sizeof(q), 1);
	close(a->req);
	close(a->rsp);
	return wait_exit(a->pid);
}

/* The agent's own NT calls: status, and base and size written back. */
static NTSTATUS a_alloc(struct agent *a, uintptr_t *base, SIZE_T *size,
			ULONG type, ULONG protect)
{
	struct rsp r = call(a, OP_ALLOC, *base, *size, type, protect, NULL);

	if (NT_SUCCESS(r.status)) {
		*base = r.base;
		*size = r.size;
	}
	return r.status;
}

static uintptr_t a_commit(struct agent *a, uintptr_t base, SIZE_T size,
			  ULONG protect)
{
	SIZE_T s = size;

	if (a_alloc(a, &base, &s, MEM_COMMIT | (base ? 0 : MEM_RESERVE),
		    protect))
		return 0;
	return base;
}

static NTSTATUS a_protect(struct agent *a, uintptr_t base, SIZE_T size,
			  ULONG protect)
{
	return call(a, OP_PROTECT, base, size, 0, protect, NULL).status;
}

static MEMORY_BASIC_INFORMATION a_query(struct agent *a, uintptr_t addr)
{
	struct rsp r = call(a, OP_QUERY, addr, 0, 0, 0, NULL);

	if (r.ret != sizeof(r.mbi))
		r.mbi.State = 0xdead;
	return r.mbi;
}

/* Bytes the agent could read at @addr (up to 256), into @out. */
static uint64_t a_peek(struct agent *a, uintptr_t addr, uint64_t n, void *out)
{
	struct rsp r = call(a, OP_PEEK, addr, n, 0, 0, NULL);

	if (out)
		memcpy(out, r.data, n);
	return r.ret;
}

static uint64_t a_poke(struct agent *a, uintptr_t addr, const void *data,
		       uint64_t n)
{
	return call(a, OP_POKE, addr, n, 0, 0, data).ret;
}

static void a_fill(struct agent *a, uintptr_t addr, uint64_t n, int byte)
{
	call(a, OP_FILL, addr, n, byte, 0, NULL);
}

/* The agent's access to one page: 1 read, 3 read-write, 4 guard. */
static int a_access(struct agent *a, uintptr_t addr)
{
	struct rsp r = call(a, OP_PROBE, addr, 1, 0, 0, NULL);

	return r.ret == (uint64_t)-1 ? -1 : r.data[0];
}

/* ------------------------------------------------------------------ */
/* This side.                                                          */

static MEMORY_BASIC_INFORMATION qex(HANDLE h, uintptr_t addr)
{
	MEMORY_BASIC_INFORMATION m;

	memset(&m, 0xaa, sizeof(m));
	if (VirtualQueryEx(h, (void *)addr, &m, sizeof(m)) != sizeof(m))
		m.State = 0xdead;
	return m;
}

static NTSTATUS rnt_alloc(HANDLE h, uintptr_t *base, SIZE_T *size,
			  ULONG type, ULONG protect)
{
	PVOID b = (PVOID)*base;
	NTSTATUS s = NtAllocateVirtualMemory(h, &b, 0, size, type, protect);

	*base = (uintptr_t)b;
	return s;
}

static NTSTATUS rnt_alloc_ex(HANDLE h, uintptr_t *base, SIZE_T *size,
			     ULONG type, ULONG protect)
{
	PVOID b = (PVOID)*base;
	NTSTATUS s = NtAllocateVirtualMemoryEx(h, &b, size, type, protect,
					       NULL, 0);

	*base = (uintptr_t)b;
	return s;
}

static NTSTATUS rnt_free(HANDLE h, uintptr_t *base, SIZE_T *size, ULONG type)
{
	PVOID b = (PVOID)*base;
	NTSTATUS s = NtFreeVirtualMemory(h, &b, size, type);

	*base = (uintptr_t)b;
	return s;
}

static NTSTATUS rnt_protect(HANDLE h, uintptr_t *base, SIZE_T *size,
			    ULONG protect, ULONG *old)
{
	PVOID b = (PVOID)*base;
	NTSTATUS s = NtProtectVirtualMemory(h, &b, size, protect, old);

	*base = (uintptr_t)b;
	return s;
}

#define EXPECT_MBI(_m, _base, _abase, _aprot, _size, _state, _prot, _type) \
	do {								\
		EXPECT_EQ((uintptr_t)(_base), (uintptr_t)(_m).BaseAddress); \
		EXPECT_EQ((uintptr_t)(_abase),				\
			  (uintptr_t)(_m).AllocationBase);		\
		EXPECT_EQ((DWORD)(_aprot), (_m).AllocationProtect);	\
		EXPECT_EQ((SIZE_T)(_size), (_m).RegionSize);		\
		EXPECT_EQ((DWORD)(_state), (_m).State);			\
		EXPECT_EQ((DWORD)(_prot), (_m).Protect);		\
		EXPECT_EQ((DWORD)(_type), (_m).Type);			\
	} while (0)

#define EXPECT_SAME_MBI(_a, _b)						\
	EXPECT_MBI(_b, (_a).BaseAddress, (_a).AllocationBase,		\
		   (_a).AllocationProtect, (_a).RegionSize, (_a).State,	\
		   (_a).Protect, (_a).Type)

#define FREE_MBI(_m, _base, _size)					\
	EXPECT_MBI(_m, _base, 0, 0, _size, MEM_FREE, PAGE_NOACCESS, 0)

static int all_bytes(const void *p, int c, size_t n)
{
	const unsigned char *b = p;
	size_t i;

	for (i = 0; i < n; i++)
		if (b[i] != (unsigned char)c)
			return 0;
	return 1;
}

static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;

	while (d && readdir(d))
		n++;
	if (d)
		closedir(d);
	return n;
}

/* Empty fixture: for the tests that need more than the default 30 s. */
FIXTURE(slow) {
};

FIXTURE_SETUP(slow)
{
}

FIXTURE_TEARDOWN(slow)
{
}

/* ------------------------------------------------------------------ */
/* Handles and rights.                                                 */

TEST(constants_and_the_current_process)
{
	EXPECT_EQ(0x0008, PROCESS_VM_OPERATION);
	EXPECT_EQ(0x0010, PROCESS_VM_READ);
	EXPECT_EQ(0x0020, PROCESS_VM_WRITE);
	EXPECT_EQ(0x0400, PROCESS_QUERY_INFORMATION);
	EXPECT_EQ(0x1000, PROCESS_QUERY_LIMITED_INFORMATION);
	EXPECT_EQ(0x1FFFFF, PROCESS_ALL_ACCESS);
	EXPECT_EQ(299, ERROR_PARTIAL_COPY);
	EXPECT_EQ((HANDLE)~(ULONG_PTR)0, GetCurrentProcess());
	EXPECT_EQ((DWORD)getpid(), GetCurrentProcessId());
	EXPECT_EQ((DWORD)getpid(), GetProcessId(GetCurrentProcess()));
}

TEST(open_a_pid_that_does_not_exist)
{
	struct agent a;
	pid_t gone;

	ASSERT_EQ(0, agent_start(&a, 0));
	gone = a.pid;
	ASSERT_EQ(0, agent_quit(&a));
	SetLastError(0);
	EXPECT_EQ(NULL, OpenProcess(PROCESS_ALL_ACCESS, FALSE, gone));
	EXPECT_EQ(ERROR_INVALID_PARAMETER, GetLastError());
	SetLastError(0);
	EXPECT_EQ(NULL, OpenProcess(PROCESS_VM_READ, FALSE, 0));
	EXPECT_EQ(ERROR_INVALID_PARAMETER, GetLastError());
	SetLastError(0);
	EXPECT_EQ(NULL, OpenProcess(PROCESS_ALL_ACCESS, FALSE, 0x7ffffff0));
	EXPECT_EQ(ERROR_INVALID_PARAMETER, GetLastError());
	SetLastError(0);
	EXPECT_EQ(NULL, OpenProcess(PROCESS_ALL_ACCESS, FALSE, (DWORD)-1));
	EXPECT_EQ(ERROR_INVALID_PARAMETER, GetLastError());
}

/* Every call with a NULL, a closed and a made-up handle. */
TEST(bad_handles)
{
	HANDLE bad[3] = { NULL, NULL, (HANDLE)(uintptr_t)0x1234 };
	MEMORY_BASIC_INFORMATION m;
	struct agent a;
	char buf[8] = "abcdefg";
	SIZE_T n;
	DWORD old;
	int i;

	ASSERT_EQ(0, agent_start(&a, 1));
	bad[1] = OpenProcess(PROCESS_ALL_ACCESS, FALSE, a.pid);
	ASSERT_NE(NULL, bad[1]);
	EXPECT_TRUE(CloseHandle(bad[1]));
	for (i = 0; i < 3; i++) {
		uintptr_t base = a.buf;
		SIZE_T size = PAGE;
		ULONG uold;

		SetLastError(0);
		EXPECT_EQ(NULL, VirtualAllocEx(bad[i], NULL, PAGE, MEM_COMMIT,
					       PAGE_READWRITE));
		EXPECT_EQ(ERROR_INVALID_HANDLE, GetLastError());
		SetLastError(0);
		EXPECT_FALSE(VirtualFreeEx(bad[i], (void *)a.buf, 0,
					   MEM_RELEASE));
		EXPECT_EQ(ERROR_INVALID_HANDLE, GetLastError());
		SetLastError(0);
		EXPECT_FALSE(VirtualProtectEx(bad[i], (void *)a.buf, PAGE,
					      PAGE_READONLY, &old));
		EXPECT_EQ(ERROR_INVALID_HANDLE, GetLastError());
		SetLastError(0);
		EXPECT_EQ(0, VirtualQueryEx(bad[i], (void *)a.buf, &m,
					    sizeof(m)));
		EXPECT_EQ(ERROR_INVALID_HANDLE, GetLastError());
		SetLastError(0);
		n = 77;
		EXPECT_FALSE(ReadProcessMemory(bad[i], (void *)a.buf, buf, 8,
					       &n));
		EXPECT_EQ(ERROR_INVALID_HANDLE, GetLastError());
		SetLastError(0);
		EXPECT_FALSE(WriteProcessMemory(bad[i], (void *)a.buf, buf, 8,
						&n));
		EXPECT_EQ(ERROR_INVALID_HANDLE, GetLastError());
		SetLastError(0);
		EXPECT_EQ(0, GetProcessId(bad[i]));
		EXPECT_EQ(ERROR_INVALID_HANDLE, GetLastError());
		SetLastError(0);
		EXPECT_FALSE(CloseHandle(bad[i]));
		EXPECT_EQ(ERROR_INVALID_HANDLE, GetLastError());
		EXPECT_EQ(STATUS_INVALID_HANDLE,
			  rnt_alloc(bad[i], &base, &size, MEM_COMMIT,
				    PAGE_READWRITE));
		EXPECT_EQ(STATUS_INVALID_HANDLE,
			  rnt_alloc_ex(bad[i], &base, &size, MEM_COMMIT,
				       PAGE_READWRITE));
		EXPECT_EQ(STATUS_INVALID_HANDLE,
			  rnt_free(bad[i], &base, &size, MEM_DECOMMIT));
		EXPECT_EQ(STATUS_INVALID_HANDLE,
			  rnt_protect(bad[i], &base, &size, PAGE_READONLY,
				      &uold));
		EXPECT_EQ(STATUS_INVALID_HANDLE,
			  NtQueryVirtualMemory(bad[i], (void *)a.buf,
					       MemoryBasicInformation, &m,
					       sizeof(m), &n));
		EXPECT_EQ(STATUS_INVALID_HANDLE,
			  NtReadVirtualMemory(bad[i], (void *)a.buf, buf, 8,
					      &n));
		EXPECT_EQ(STATUS_INVALID_HANDLE,
			  NtWriteVirtualMemory(bad[i], (void *)a.buf, buf, 8,
					       &n));
	}
	/* Nothing reached the agent. */
	EXPECT_EQ(3, a_access(&a, a.buf));
	EXPECT_EQ(0, agent_quit(&a));
}

/* VirtualAlloc2's NULL process is the current process (spec 2.3). */
TEST(virtualalloc2_null_process_is_this_one)
{
	char *p = VirtualAlloc2(NULL, NULL, PAGE, MEM_RESERVE | MEM_COMMIT,
				PAGE_READWRITE, NULL, 0);

	ASSERT_NE(NULL, p);
	p[0] = 1;
	EXPECT_EQ(MEM_COMMIT, query((uintptr_t)p).State);
	EXPECT_TRUE(VirtualFree(p, 0, MEM_RELEASE));
}

/*
 * Each call needs its right (spec 2.11): without it ERROR_ACCESS_DENIED
 * (STATUS_ACCESS_DENIED at NT level) and nothing done; with just it (and
 * nothing else), the call works.
 */
TEST(each_right)
{
	const DWORD all = PROCESS_ALL_ACCESS;
	HANDLE h_all, h_noop, h_noquery, h_noread, h_nowrite, h_op, h_query,
	       h_read, h_write_op, h_limited;
	MEMORY_BASIC_INFORMATION m;
	struct agent a;
	uintptr_t p, base;
	SIZE_T size, n;
	char buf[16];
	DWORD old;
	ULONG uold;
	void *q;

	ASSERT_EQ(0, agent_start(&a, 1));
	p = a_commit(&a, 0, 0x10000, PAGE_READWRITE);
	ASSERT_NE(0, p);
	a_fill(&a, p, 0x10000, 'p');
	h_all = OpenProcess(all, FALSE, a.pid);
	h_noop = OpenProcess(all & ~PROCESS_VM_OPERATION, FALSE, a.pid);
	h_noquery = OpenProcess(PROCESS_VM_OPERATION | PROCESS_VM_READ |
				PROCESS_VM_WRITE |
				PROCESS_QUERY_LIMITED_INFORMATION, FALSE,
				a.pid);
	h_noread = OpenProcess(all & ~PROCESS_VM_READ, FALSE, a.pid);
	h_nowrite = OpenProcess(all & ~PROCESS_VM_WRITE, FALSE, a.pid);
	h_op = OpenProcess(PROCESS_VM_OPERATION, FALSE, a.pid);
	h_query = OpenProcess(PROCESS_QUERY_INFORMATION, FALSE, a.pid);
	h_read = OpenProcess(PROCESS_VM_READ, FALSE, a.pid);
	h_write_op = OpenProcess(PROCESS_VM_WRITE | PROCESS_VM_OPERATION,
				 FALSE, a.pid);
	h_limited = OpenProcess(PROCESS_QUERY_LIMITED_INFORMATION, FALSE,
				a.pid);
	ASSERT_NE(NULL, h_all);
	ASSERT_NE(NULL, h_noop);
	ASSERT_NE(NULL, h_noquery);
	ASSERT_NE(NULL, h_noread);
	ASSERT_NE(NULL, h_nowrite);
	ASSERT_NE(NULL, h_op);
	ASSERT_NE(NULL, h_query);
	ASSERT_NE(NULL, h_read);
	ASSERT_NE(NULL, h_write_op);
	ASSERT_NE(NULL, h_limited);

	/* PROCESS_VM_OPERATION: alloc, free, protect. */
	SetLastError(0);
	EXPECT_EQ(NULL, VirtualAllocEx(h_noop, NULL, PAGE,
				       MEM_RESERVE | MEM_COMMIT,
				       PAGE_READWRITE));
	EXPECT_EQ(ERROR_ACCESS_DENIED, GetLastError());
	SetLastError(0);
	EXPECT_EQ(NULL, VirtualAlloc2(h_noop, NULL, PAGE,
				      MEM_RESERVE | MEM_COMMIT,
				      PAGE_READWRITE, NULL, 0));
	EXPECT_EQ(ERROR_ACCESS_DENIED, GetLastError());
	SetLastError(0);
	EXPECT_FALSE(VirtualFreeEx(h_noop, (void *)p, 0, MEM_RELEASE));
	EXPECT_EQ(ERROR_ACCESS_DENIED, GetLastError());
	SetLastError(0);
	EXPECT_FALSE(VirtualFreeEx(h_noop, (void *)p, PAGE, MEM_DECOMMIT));
	EXPECT_EQ(ERROR_ACCESS_DENIED, GetLastError());
	SetLastError(0);
	EXPECT_FALSE(VirtualProtectEx(h_noop, (void *)p, PAGE, PAGE_READONLY,
				      &old));
	EXPECT_EQ(ERROR_ACCESS_DENIED, GetLastError());
	base = 0;
	size = PAGE;
	EXPECT_EQ(STATUS_ACCESS_DENIED,
		  rnt_alloc(h_noop, &base, &size, MEM_RESERVE | MEM_COMMIT,
			    PAGE_READWRITE));
	base = p;
	size = PAGE;
	EXPECT_EQ(STATUS_ACCESS_DENIED,
		  rnt_free(h_noop, &base, &size, MEM_DECOMMIT));
	EXPECT_EQ(STATUS_ACCESS_DENIED,
		  rnt_protect(h_noop, &base, &size, PAGE_READONLY, &uold));
	/* Nothing changed. */
	m = qex(h_all, p);
	EXPECT_MBI(m, p, p, PAGE_READWRITE, 0x10000, MEM_COMMIT,
		   PAGE_READWRITE, MEM_PRIVATE);
	EXPECT_EQ(3, a_access(&a, p));
	/* PROCESS_VM_OPERATION alone is enough. */
	q = VirtualAllocEx(h_op, NULL, PAGE, MEM_RESERVE | MEM_COMMIT,
			   PAGE_READWRITE);
	ASSERT_NE(NULL, q);
	EXPECT_EQ(3, a_access(&a, (uintptr_t)q));
	EXPECT_TRUE(VirtualProtectEx(h_op, q, PAGE, PAGE_READONLY, &old));
	EXPECT_EQ(PAGE_READWRITE, old);
	EXPECT_EQ(1, a_access(&a, (uintptr_t)q));
	EXPECT_TRUE(VirtualFreeEx(h_op, q, 0, MEM_RELEASE));
	EXPECT_EQ(MEM_FREE, a_query(&a, (uintptr_t)q).State);

	/* PROCESS_QUERY_INFORMATION: query; QUERY_LIMITED is not enough. */
	SetLastError(0);
	EXPECT_EQ(0, VirtualQueryEx(h_noquery, (void *)p, &m, sizeof(m)));
	EXPECT_EQ(ERROR_ACCESS_DENIED, GetLastError());
	EXPECT_EQ(STATUS_ACCESS_DENIED,
		  NtQueryVirtualMemory(h_noquery, (void *)p,
				       MemoryBasicInformation, &m, sizeof(m),
				       &n));
	m = qex(h_query, p + 0x100);
	EXPECT_MBI(m, p, p, PAGE_READWRITE, 0x10000, MEM_COMMIT,
		   PAGE_READWRITE, MEM_PRIVATE);

	/* PROCESS_VM_READ: read. */
	SetLastError(0);
	EXPECT_FALSE(ReadProcessMemory(h_noread, (void *)p, buf, 16, &n));
	EXPECT_EQ(ERROR_ACCESS_DENIED, GetLastError());
	EXPECT_EQ(STATUS_ACCESS_DENIED,
		  NtReadVirtualMemory(h_noread, (void *)p, buf, 16, &n));
	memset(buf, 0, sizeof(buf));
	EXPECT_TRUE(ReadProcessMemory(h_read, (void *)p, buf, 16, &n));
	EXPECT_EQ(16, n);
	EXPECT_TRUE(all_bytes(buf, 'p', 16));

	/* PROCESS_VM_WRITE and PROCESS_VM_OPERATION: write. */
	memset(buf, 'w', sizeof(buf));
	SetLastError(0);
	EXPECT_FALSE(WriteProcessMemory(h_nowrite, (void *)p, buf, 16, &n));
	EXPECT_EQ(ERROR_ACCESS_DENIED, GetLastError());
	SetLastError(0);
	EXPECT_FALSE(WriteProcessMemory(h_noop, (void *)p, buf, 16, &n));
	EXPECT_EQ(ERROR_ACCESS_DENIED, GetLastError());
	EXPECT_EQ(STATUS_ACCESS_DENIED,
		  NtWriteVirtualMemory(h_nowrite, (void *)p, buf, 16, &n));
	EXPECT_EQ(16, a_peek(&a, p, 16, buf));
	EXPECT_TRUE(all_bytes(buf, 'p', 16));
	memset(buf, 'w', sizeof(buf));
	EXPECT_TRUE(WriteProcessMemory(h_write_op, (void *)p, buf, 16, &n));
	EXPECT_EQ(16, n);
	EXPECT_EQ(16, a_peek(&a, p, 16, buf));
	EXPECT_TRUE(all_bytes(buf, 'w', 16));

	/* GetProcessId: either query right. */
	EXPECT_EQ((DWORD)a.pid, GetProcessId(h_limited));
	EXPECT_EQ((DWORD)a.pid, GetProcessId(h_query));
	EXPECT_EQ((DWORD)a.pid, GetProcessId(h_all));
	SetLastError(0);
	EXPECT_EQ(0, GetProcessId(h_read));
	EXPECT_EQ(ERROR_ACCESS_DENIED, GetLastError());

	EXPECT_TRUE(CloseHandle(h_all));
	EXPECT_TRUE(CloseHandle(h_noop));
	EXPECT_TRUE(CloseHandle(h_noquery));
	EXPECT_TRUE(CloseHandle(h_noread));
	EXPECT_TRUE(CloseHandle(h_nowrite));
	EXPECT_TRUE(CloseHandle(h_op));
	EXPECT_TRUE(CloseHandle(h_query));
	EXPECT_TRUE(CloseHandle(h_read));
	EXPECT_TRUE(CloseHandle(h_write_op));
	EXPECT_TRUE(CloseHandle(h_limited));
	EXPECT_EQ(0, agent_quit(&a));
}

/* Opening and closing leaves no file behind, in either process. */
TEST(handles_leak_nothing)
{
	struct agent a;
	int before, i;
	char path[64];

	ASSERT_EQ(0, agent_start(&a, 1));
	/* Once first: what is opened once per process (inject's file). */
	ASSERT_TRUE(CloseHandle(OpenProcess(PROCESS_ALL_ACCESS, FALSE,
					    a.pid)));
	before = count_fds();
	for (i = 0; i < 200; i++) {
		HANDLE h = OpenProcess(PROCESS_ALL_ACCESS, FALSE, a.pid);

		ASSERT_NE(NULL, h);
		ASSERT_TRUE(CloseHandle(h));
	}
	EXPECT_EQ(before, count_fds());
	/* The target's fd table is its own business: untouched. */
	snprintf(path, sizeof(path), "/proc/%d/fd/%d", a.pid,
		 (int)call(&a, OP_NTVM_FD, 0, 0, 0, 0, NULL).ret);
	EXPECT_EQ(0, access(path, F_OK));
	EXPECT_EQ(0, agent_quit(&a));
}

/* A handle on this process itself acts on this process. */
TEST(a_handle_on_this_process)
{
	HANDLE h = OpenProcess(PROCESS_ALL_ACCESS, FALSE, getpid());
	char *p, buf[4] = "xyz";
	SIZE_T n;
	DWORD old;

	ASSERT_NE(NULL, h);
	EXPECT_EQ((DWORD)getpid(), GetProcessId(h));
	p = VirtualAllocEx(h, NULL, 0x2000, MEM_RESERVE | MEM_COMMIT,
			   PAGE_READWRITE);
	ASSERT_NE(NULL, p);
	EXPECT_EQ(MEM_COMMIT, query((uintptr_t)p).State);
	p[0] = 'a';
	EXPECT_TRUE(WriteProcessMemory(h, p + 1, buf, 3, &n));
	EXPECT_EQ(3, n);
	EXPECT_EQ(0, memcmp(p, "axyz", 4));
	EXPECT_TRUE(VirtualProtectEx(h, p, PAGE, PAGE_READONLY, &old));
	EXPECT_EQ(PAGE_READWRITE, old);
	EXPECT_EQ(0, can_write((uintptr_t)p, 1));
	EXPECT_EQ(PAGE_READONLY, qex(h, (uintptr_t)p).Protect);
	EXPECT_TRUE(VirtualFreeEx(h, p, 0, MEM_RELEASE));
	EXPECT_EQ(MEM_FREE, query((uintptr_t)p).State);
	EXPECT_TRUE(CloseHandle(h));
}

/* ------------------------------------------------------------------ */
/* The Ex calls.                                                       */

/*
 * Reserve, commit, write, protect, guard, decommit, release in the agent,
 * each checked with VirtualQueryEx, with the agent's own VirtualQuery and
 * with the agent's own accesses.
 */
TEST(ex_calls_act_on_the_target)
{
	static const char text[] = "0123456789abcdefXYZ";
	struct agent a;
	MEMORY_BASIC_INFORMATION m;
	char buf[64];
	uintptr_t p;
	SIZE_T n;
	DWORD old;
	HANDLE h;
	int views;

	views = count_views();
	ASSERT_EQ(0, agent_start(&a, 1));
	h = OpenProcess(PROCESS_ALL_ACCESS, FALSE, a.pid);
	ASSERT_NE(NULL, h);
	EXPECT_EQ((DWORD)a.pid, GetProcessId(h));

	p = (uintptr_t)VirtualAllocEx(h, NULL, 0x10000, MEM_RESERVE,
				      PAGE_READWRITE);
	ASSERT_NE(0, p);
	EXPECT_EQ(0, p & (GRAN - 1));
	m = qex(h, p + 0x123);
	EXPECT_MBI(m, p, p, PAGE_READWRITE, 0x10000, MEM_RESERVE, 0,
		   MEM_PRIVATE);
	EXPECT_SAME_MBI(m, a_query(&a, p + 0x123));
	EXPECT_EQ(0, a_access(&a, p));
	/* Not in this process. */
	EXPECT_EQ(views, count_views());

	/* Commit two pages. */
	EXPECT_EQ(ptr(p + 0x1000), VirtualAllocEx(h, ptr(p + 0x1000), 0x2000,
						  MEM_COMMIT, PAGE_READWRITE));
	m = qex(h, p);
	EXPECT_MBI(m, p, p, PAGE_READWRITE, 0x1000, MEM_RESERVE, 0,
		   MEM_PRIVATE);
	EXPECT_SAME_MBI(m, a_query(&a, p));
	m = qex(h, p + 0x1000);
	EXPECT_MBI(m, p + 0x1000, p, PAGE_READWRITE, 0x2000, MEM_COMMIT,
		   PAGE_READWRITE, MEM_PRIVATE);
	EXPECT_SAME_MBI(m, a_query(&a, p + 0x1000));
	m = qex(h, p + 0x3000);
	EXPECT_MBI(m, p + 0x3000, p, PAGE_READWRITE, 0xd000, MEM_RESERVE, 0,
		   MEM_PRIVATE);
	EXPECT_EQ(0, a_access(&a, p));
	EXPECT_EQ(3, a_access(&a, p + 0x1000));
	EXPECT_EQ(3, a_access(&a, p + 0x2000));
	EXPECT_EQ(0, a_access(&a, p + 0x3000));
	EXPECT_EQ(16, a_peek(&a, p + 0x1ff8, 16, buf));
	EXPECT_TRUE(all_bytes(buf, 0, 16));

	/* Written here, read there; written there, read here. */
	n = 0;
	EXPECT_TRUE(WriteProcessMemory(h, ptr(p + 0x1ff0), text,
				       sizeof(text), &n));
	EXPECT_EQ(sizeof(text), n);
	EXPECT_EQ(sizeof(text), a_peek(&a, p + 0x1ff0, sizeof(text), buf));
	EXPECT_EQ(0, memcmp(buf, text, sizeof(text)));
	EXPECT_EQ(5, a_poke(&a, p + 0x1000, "hello", 5));
	memset(buf, 0, sizeof(buf));
	EXPECT_TRUE(ReadProcessMemory(h, ptr(p + 0x1000), buf, 5, &n));
	EXPECT_EQ(5, n);
	EXPECT_EQ(0, memcmp(buf, "hello", 5));

	/* Protect: the old protection, the new one in force there. */
	old = 0;
	EXPECT_TRUE(VirtualProtectEx(h, ptr(p + 0x1000), 0x1000,
				     PAGE_READONLY, &old));
	EXPECT_EQ(PAGE_READWRITE, old);
	m = qex(h, p + 0x1000);
	EXPECT_MBI(m, p + 0x1000, p, PAGE_READWRITE, 0x1000, MEM_COMMIT,
		   PAGE_READONLY, MEM_PRIVATE);
	EXPECT_SAME_MBI(m, a_query(&a, p + 0x1000));
	EXPECT_EQ(1, a_access(&a, p + 0x1000));
	EXPECT_EQ(5, a_peek(&a, p + 0x1000, 5, buf));
	EXPECT_EQ(0, memcmp(buf, "hello", 5));
	/* The local rules: reserved pages, a range past the commit. */
	SetLastError(0);
	EXPECT_FALSE(VirtualProtectEx(h, ptr(p), 0x1000, PAGE_READONLY,
				      &old));
	EXPECT_EQ(ERROR_INVALID_ADDRESS, GetLastError());
	SetLastError(0);
	EXPECT_FALSE(VirtualProtectEx(h, ptr(p + 0x2000), 0x2000,
				      PAGE_READONLY, &old));
	EXPECT_EQ(ERROR_INVALID_ADDRESS, GetLastError());
	EXPECT_EQ(PAGE_READWRITE, qex(h, p + 0x2000).Protect);
	SetLastError(0);
	EXPECT_FALSE(VirtualProtectEx(h, ptr(p + 0x2000), 0x1000,
				      PAGE_READONLY, NULL));
	EXPECT_EQ(ERROR_NOACCESS, GetLastError());
	SetLastError(0);
	EXPECT_FALSE(VirtualProtectEx(h, ptr(p + 0x2000), 0x1000, 0, &old));
	EXPECT_EQ(ERROR_INVALID_PARAMETER, GetLastError());
	SetLastError(0);
	EXPECT_FALSE(VirtualProtectEx(h, ptr(p + 0x2000), 0x1000,
				      PAGE_NOACCESS | PAGE_GUARD, &old));
	EXPECT_EQ(ERROR_INVALID_PARAMETER, GetLastError());

	/* A guard page: one fault in the target, then an ordinary page. */
	EXPECT_TRUE(VirtualProtectEx(h, ptr(p + 0x2000), 0x1000,
				     PAGE_READWRITE | PAGE_GUARD, &old));
	EXPECT_EQ(PAGE_READWRITE, old);
	m = qex(h, p + 0x2000);
	EXPECT_MBI(m, p + 0x2000, p, PAGE_READWRITE, 0x1000, MEM_COMMIT,
		   PAGE_READWRITE | PAGE_GUARD, MEM_PRIVATE);
	EXPECT_SAME_MBI(m, a_query(&a, p + 0x2000));
	EXPECT_EQ(0, a_peek(&a, p + 0x2000, 1, buf));
	EXPECT_EQ(PAGE_READWRITE, qex(h, p + 0x2000).Protect);
	EXPECT_EQ(1, a_peek(&a, p + 0x2000, 1, buf));

	/* Decommit: reserved there; committed again, zero. */
	EXPECT_TRUE(VirtualFreeEx(h, ptr(p + 0x1000), 0x1000, MEM_DECOMMIT));
	m = qex(h, p + 0x1000);
	EXPECT_MBI(m, p + 0x1000, p, PAGE_READWRITE, 0x1000, MEM_RESERVE, 0,
		   MEM_PRIVATE);
	m = qex(h, p);
	EXPECT_MBI(m, p, p, PAGE_READWRITE, 0x2000, MEM_RESERVE, 0,
		   MEM_PRIVATE);
	EXPECT_SAME_MBI(m, a_query(&a, p));
	EXPECT_EQ(0, a_access(&a, p + 0x1000));
	EXPECT_EQ(ptr(p + 0x1000), VirtualAllocEx(h, ptr(p + 0x1000), 1,
						  MEM_COMMIT, PAGE_READWRITE));
	EXPECT_EQ(16, a_peek(&a, p + 0x1000, 16, buf));
	EXPECT_TRUE(all_bytes(buf, 0, 16));
	memset(buf, 1, 16);
	EXPECT_TRUE(ReadProcessMemory(h, ptr(p + 0x1000), buf, 16, &n));
	EXPECT_TRUE(all_bytes(buf, 0, 16));

	/* Commit outside the reservation, reserve over it. */
	SetLastError(0);
	EXPECT_EQ(NULL, VirtualAllocEx(h, ptr(p + 0xf000), 0x2000, MEM_COMMIT,
				       PAGE_READWRITE));
	EXPECT_EQ(ERROR_INVALID_ADDRESS, GetLastError());
	SetLastError(0);
	EXPECT_EQ(NULL, VirtualAllocEx(h, ptr(p + 0x1000), 0x1000,
				       MEM_RESERVE, PAGE_READWRITE));
	EXPECT_EQ(ERROR_INVALID_ADDRESS, GetLastError());
	SetLastError(0);
	EXPECT_EQ(NULL, VirtualAllocEx(h, NULL, 0, MEM_RESERVE,
				       PAGE_READWRITE));
	EXPECT_EQ(ERROR_INVALID_PARAMETER, GetLastError());
	SetLastError(0);
	EXPECT_EQ(NULL, VirtualAllocEx(h, NULL, PAGE, MEM_RESERVE, 0));
	EXPECT_EQ(ERROR_INVALID_PARAMETER, GetLastError());

	/* Release: the Win32 rules, then the real thing. */
	SetLastError(0);
	EXPECT_FALSE(VirtualFreeEx(h, ptr(p), PAGE, MEM_RELEASE));
	EXPECT_EQ(ERROR_INVALID_PARAMETER, GetLastError());
	SetLastError(0);
	EXPECT_FALSE(VirtualFreeEx(h, ptr(p + 0x1000), 0, MEM_RELEASE));
	EXPECT_EQ(ERROR_INVALID_ADDRESS, GetLastError());
	SetLastError(0);
	EXPECT_FALSE(VirtualFreeEx(h, ptr(p), 0, 0));
	EXPECT_EQ(ERROR_INVALID_PARAMETER, GetLastError());
	EXPECT_EQ(MEM_COMMIT, qex(h, p + 0x1000).State);
	EXPECT_TRUE(VirtualFreeEx(h, ptr(p), 0, MEM_RELEASE));
	m = qex(h, p);
	EXPECT_EQ(MEM_FREE, m.State);
	EXPECT_EQ(0, (uintptr_t)m.AllocationBase);
	EXPECT_EQ(PAGE_NOACCESS, m.Protect);
	EXPECT_EQ(0, m.AllocationProtect);
	EXPECT_EQ(0, m.Type);
	EXPECT_SAME_MBI(m, a_query(&a, p));
	EXPECT_EQ(0, a_access(&a, p + 0x1000));
	SetLastError(0);
	EXPECT_FALSE(VirtualFreeEx(h, ptr(p), 0, MEM_RELEASE));
	EXPECT_EQ(ERROR_INVALID_ADDRESS, GetLastError());
	EXPECT_EQ(views, count_views());

	EXPECT_TRUE(CloseHandle(h));
	EXPECT_EQ(0, agent_quit(&a));
}

/* The NT forms: rounded base and size written back, statuses. */
TEST(nt_calls_with_a_handle)
{
	struct agent a;
	uintptr_t p, base;
	SIZE_T size;
	ULONG old;
	HANDLE h;

	ASSERT_EQ(0, agent_start(&a, 1));
	h = OpenProcess(PROCESS_ALL_ACCESS, FALSE, a.pid);
	ASSERT_NE(NULL, h);
	/* A free range of the agent's, 64 KiB aligned. */
	base = 0;
	size = 0x40000;
	ASSERT_EQ(STATUS_SUCCESS, rnt_alloc(h, &base, &size, MEM_RESERVE,
					    PAGE_NOACCESS));
	p = base;
	ASSERT_EQ(STATUS_SUCCESS, rnt_free(h, &base, &size, MEM_RELEASE));
	EXPECT_EQ(p, base);
	EXPECT_EQ(0x40000, size);

	/* Reserve+commit at an unaligned address: spec 2.1. */
	base = p + 0x4080;
	size = 0x1000;
	EXPECT_EQ(STATUS_SUCCESS, rnt_alloc(h, &base, &size,
					    MEM_RESERVE | MEM_COMMIT,
					    PAGE_READWRITE));
	EXPECT_EQ(p, base);
	EXPECT_EQ(0x6000, size);
	EXPECT_EQ(3, a_access(&a, p));
	EXPECT_EQ(3, a_access(&a, p + 0x5000));
	EXPECT_EQ(0, a_access(&a, p + 0x6000));
	/* Reserve again in the same 64 KiB. */
	base = p + 0x8000;
	size = 0x1000;
	EXPECT_EQ(STATUS_CONFLICTING_ADDRESSES,
		  rnt_alloc(h, &base, &size, MEM_RESERVE, PAGE_READWRITE));
	/* Protect 2 bytes across a page boundary: two pages. */
	base = p + 0xfff;
	size = 2;
	old = 0;
	EXPECT_EQ(STATUS_SUCCESS, rnt_protect(h, &base, &size, PAGE_READONLY,
					      &old));
	EXPECT_EQ(p, base);
	EXPECT_EQ(0x2000, size);
	EXPECT_EQ(PAGE_READWRITE, old);
	EXPECT_EQ(1, a_access(&a, p + 0x1000));
	EXPECT_EQ(3, a_access(&a, p + 0x2000));
	/* Past the allocation's end; then not committed. */
	base = p + 0x5000;
	size = 0x2000;
	EXPECT_EQ(STATUS_CONFLICTING_ADDRESSES,
		  rnt_protect(h, &base, &size, PAGE_READONLY, &old));
	base = p + 0x5000;
	size = 0x1000;
	EXPECT_EQ(STATUS_SUCCESS, rnt_free(h, &base, &size, MEM_DECOMMIT));
	base = p + 0x4000;
	size = 0x2000;
	EXPECT_EQ(STATUS_NOT_COMMITTED,
		  rnt_protect(h, &base, &size, PAGE_READONLY, &old));
	EXPECT_EQ(3, a_access(&a, p + 0x4000));
	EXPECT_EQ(0, a_access(&a, p + 0x5000));
	/* Free: release not at base, decommit past the end, a split. */
	base = p + 0x1000;
	size = 0;
	EXPECT_EQ(STATUS_FREE_VM_NOT_AT_BASE,
		  rnt_free(h, &base, &size, MEM_RELEASE));
	base = p + 0x4000;
	size = 0x3000;
	EXPECT_EQ(STATUS_UNABLE_TO_FREE_VM,
		  rnt_free(h, &base, &size, MEM_DECOMMIT));
	base = p + 0x20000;
	size = 0;
	EXPECT_EQ(STATUS_MEMORY_NOT_ALLOCATED,
		  rnt_free(h, &base, &size, MEM_RELEASE));
	base = p + 0x1800;
	size = 0x100;
	EXPECT_EQ(STATUS_SUCCESS, rnt_free(h, &base, &size, MEM_RELEASE));
	EXPECT_EQ(p + 0x1000, base);
	EXPECT_EQ(0x1000, size);
	EXPECT_EQ(1, a_access(&a, p));
	EXPECT_EQ(0, a_access(&a, p + 0x1000));
	EXPECT_EQ(3, a_access(&a, p + 0x2000));
	EXPECT_EQ((void *)(p + 0x2000), qex(h, p + 0x2000).AllocationBase);
	EXPECT_EQ((void *)(p + 0x2000),
		  a_query(&a, p + 0x2000).AllocationBase);
	EXPECT_EQ(MEM_FREE, a_query(&a, p + 0x1000).State);
	/* Placeholders through NtAllocateVirtualMemoryEx and a free. */
	base = p + 0x10000;
	size = 0x20000;
	EXPECT_EQ(STATUS_SUCCESS,
		  rnt_alloc_ex(h, &base, &size,
			       MEM_RESERVE | MEM_RESERVE_PLACEHOLDER,
			       PAGE_NOACCESS));
	EXPECT_EQ(p + 0x10000, base);
	base = p + 0x10000;
	size = 0x10000;
	EXPECT_EQ(STATUS_SUCCESS,
		  rnt_free(h, &base, &size,
			   MEM_RELEASE | MEM_PRESERVE_PLACEHOLDER));
	base = p + 0x10000;
	size = 0x10000;
	EXPECT_EQ(STATUS_SUCCESS,
		  rnt_alloc_ex(h, &base, &size,
			       MEM_RESERVE | MEM_COMMIT |
			       MEM_REPLACE_PLACEHOLDER, PAGE_READWRITE));
	EXPECT_EQ(3, a_access(&a, p + 0x10000));
	EXPECT_MBI(qex(h, p + 0x20000), p + 0x20000, p + 0x20000,
		   PAGE_NOACCESS, 0x10000, MEM_RESERVE, 0, MEM_PRIVATE);
	EXPECT_SAME_MBI(qex(h, p + 0x20000), a_query(&a, p + 0x20000));
	EXPECT_TRUE(CloseHandle(h));
	EXPECT_EQ(0, agent_quit(&a));
}

/*
 * The same steps in two identical regions of the agent, one made by the
 * agent's own calls, the other by this process's calls with a handle: the
 * same statuses, the same outputs, the same layout, seen from both sides,
 * and the same accesses for the agent.
 */
struct step {
	int op;		/* OP_ALLOC, OP_ALLOC_EX, OP_FREE, OP_PROTECT */
	uint32_t off, size, type, protect;
};

#define R	MEM_RESERVE
#define C	MEM_COMMIT
#define RW	PAGE_READWRITE
#define RO	PAGE_READONLY
#define STEPS_MAX 12

static const struct step cases[][STEPS_MAX] = {
	{	/* reserve, commit, commit past the end, commit in free */
		{ OP_ALLOC, 0x0, 0x10000, R, RW },
		{ OP_ALLOC, 0x1000, 0x2000, C, RW },
		{ OP_ALLOC, 0xf000, 0x2000, C, RW },
		{ OP_ALLOC, 0x20000, 0x1000, C, RW },
		{ OP_ALLOC, 0x1000, 0x1000, R, RW },
		{ OP_ALLOC, 0x1fff, 2, C, RO },
		{ OP_ALLOC, 0x3000, 0x1000, C, PAGE_EXECUTE_READ },
	},
	{	/* rounding, zero size, bad types and protections */
		{ OP_ALLOC, 0x4080, 0x1000, R | C, RW },
		{ OP_ALLOC, 0x10000, 0, R, RW },
		{ OP_ALLOC, 0x10000, 0x1000, 0, RW },
		{ OP_ALLOC, 0x10000, 0x1000, R, 0 },
		{ OP_ALLOC, 0x10000, 0x1000, R, 0x03 },
		{ OP_ALLOC, 0x10000, 0x1000, R, PAGE_WRITECOPY },
		{ OP_ALLOC, 0x10000, 0x1000, MEM_RESET | C, RW },
		{ OP_ALLOC, 0x10000, 0x1000, R, RW | PAGE_NOCACHE },
		{ OP_ALLOC, 0x10000, 0x1000, C, RW | PAGE_NOCACHE },
		{ OP_ALLOC, 0x0, 0x6000, MEM_RESET, PAGE_NOACCESS },
	},
	{	/* decommit and release, all of their rules */
		{ OP_ALLOC, 0x0, 0x10000, R | C, RW },
		{ OP_FREE, 0x1000, 0x1000, MEM_DECOMMIT },
		{ OP_FREE, 0x1000, 0, MEM_DECOMMIT },
		{ OP_FREE, 0xf000, 0x2000, MEM_DECOMMIT },
		{ OP_FREE, 0x3000, 0, MEM_RELEASE },
		{ OP_FREE, 0x20000, 0, MEM_RELEASE },
		{ OP_FREE, 0x0, 0, MEM_DECOMMIT | MEM_RELEASE },
		{ OP_FREE, 0x0, 0, 0 },
		{ OP_FREE, 0x4000, 0x2000, MEM_RELEASE },
		{ OP_FREE, 0x6000, 0, MEM_RELEASE },
		{ OP_FREE, 0x0, 0, MEM_DECOMMIT },
		{ OP_ALLOC, 0x2000, 0x1000, C, RW },
	},
	{	/* protections */
		{ OP_ALLOC, 0x0, 0x8000, R, PAGE_NOACCESS },
		{ OP_ALLOC, 0x0, 0x4000, C, RW },
		{ OP_PROTECT, 0x1000, 0x1000, RO },
		{ OP_PROTECT, 0x1000, 0x2000, PAGE_EXECUTE_READWRITE },
		{ OP_PROTECT, 0x2000, 0x1000, RW | PAGE_GUARD },
		{ OP_PROTECT, 0x3000, 0x2000, RO },
		{ OP_PROTECT, 0x0, 0x1000, 0 },
		{ OP_PROTECT, 0x0, 0x1000, PAGE_GUARD },
		{ OP_PROTECT, 0x0, 0x1000, PAGE_WRITECOPY },
		{ OP_PROTECT, 0x0, 0x1000, PAGE_NOACCESS | PAGE_GUARD },
		{ OP_PROTECT, 0x0, 0x1000, PAGE_NOACCESS },
		{ OP_PROTECT, 0x10000, 0x1000, RW },
	},
	{	/* two allocations side by side */
		{ OP_ALLOC, 0x0, 0x10000, R | C, RW },
		{ OP_ALLOC, 0x10000, 0x10000, R | C, RO },
		{ OP_PROTECT, 0xf000, 0x2000, RW },
		{ OP_ALLOC, 0xf000, 0x2000, C, RW },
		{ OP_FREE, 0xf000, 0x2000, MEM_DECOMMIT },
		{ OP_FREE, 0x0, 0x20000, MEM_RELEASE },
		{ OP_FREE, 0x10000, 0, MEM_RELEASE },
	},
	{	/* placeholders */
		{ OP_ALLOC_EX, 0x0, 0x30000, R | MEM_RESERVE_PLACEHOLDER,
		  PAGE_NOACCESS },
		{ OP_ALLOC_EX, 0x0, 0x30000, R | MEM_RESERVE_PLACEHOLDER, RW },
		{ OP_FREE, 0x10000, 0x10000,
		  MEM_RELEASE | MEM_PRESERVE_PLACEHOLDER },
		{ OP_ALLOC_EX, 0x10000, 0x10000,
		  R | C | MEM_REPLACE_PLACEHOLDER, RW },
		{ OP_ALLOC_EX, 0x0, 0x8000, R | C | MEM_REPLACE_PLACEHOLDER,
		  RW },
		{ OP_ALLOC, 0x20000, 0x1000, C, RW },
		{ OP_FREE, 0x10000, 0x10000,
		  MEM_RELEASE | MEM_PRESERVE_PLACEHOLDER },
		{ OP_FREE, 0x0, 0x30000,
		  MEM_RELEASE | MEM_COALESCE_PLACEHOLDERS },
		{ OP_FREE, 0x0, 0, MEM_RELEASE },
	},
};

#define REGION 0x40000

/* A free, 64 KiB-aligned range of REGION bytes in the agent. */
static uintptr_t a_free_range(struct agent *a)
{
	uintptr_t base = 0;
	SIZE_T size = REGION;
	struct rsp r;

	if (a_alloc(a, &base, &size, MEM_RESERVE, PAGE_NOACCESS))
		return 0;
	r = call(a, OP_FREE, base, 0, MEM_RELEASE, 0, NULL);
	return r.status ? 0 : base;
}

/* What the agent's own call does at @base + @s->off. */
static struct rsp step_local(struct agent *a, uintptr_t base,
			     const struct step *s)
{
	return call(a, s->op, base + s->off, s->size, s->type, s->protect,
		    NULL);
}

/* The same through @h: the answer in the same form. */
static struct rsp step_remote(HANDLE h, uintptr_t base, const struct step *s)
{
	struct rsp r;
	uintptr_t b = base + s->off;
	SIZE_T size = s->size;

	memset(&r, 0, sizeof(r));
	switch (s->op) {
	case OP_ALLOC:
		r.status = rnt_alloc(h, &b, &size, s->type, s->protect);
		break;
	case OP_ALLOC_EX:
		r.status = rnt_alloc_ex(h, &b, &size, s->type, s->protect);
		break;
	case OP_FREE:
		r.status = rnt_free(h, &b, &size, s->type);
		break;
	case OP_PROTECT:
		r.old = 0xdead;
		r.status = rnt_protect(h, &b, &size, s->protect, &r.old);
		break;
	}
	r.base = b;
	r.size = size;
	return r;
}

static void region_release(struct agent *a, uintptr_t base)
{
	uintptr_t at;

	for (at = base; at < base + REGION; at += PAGE) {
		MEMORY_BASIC_INFORMATION m = a_query(a, at);

		if (m.State != MEM_FREE && m.State != 0xdead &&
		    (uintptr_t)m.AllocationBase == at)
			call(a, OP_FREE, at, 0, MEM_RELEASE, 0, NULL);
	}
}

TEST_F_TIMEOUT(slow, ex_calls_follow_the_local_rules, 300)
{
	unsigned int c, i;
	struct agent a;
	HANDLE h;

	ASSERT_EQ(0, agent_start(&a, 1));
	h = OpenProcess(PROCESS_ALL_ACCESS, FALSE, a.pid);
	ASSERT_NE(NULL, h);
	for (c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		uintptr_t l = a_free_range(&a), r, at;
		struct rsp pl, pr;

		ASSERT_NE(0, l);
		/* Keep l taken while finding r. */
		ASSERT_EQ(0, a_alloc(&a, &l, &(SIZE_T){ REGION }, MEM_RESERVE,
				     PAGE_NOACCESS));
		r = a_free_range(&a);
		ASSERT_NE(0, r);
		ASSERT_EQ(0, call(&a, OP_FREE, l, 0, MEM_RELEASE, 0,
				  NULL).status);
		for (i = 0; i < STEPS_MAX && cases[c][i].op; i++) {
			const struct step *s = &cases[c][i];
			struct rsp lo = step_local(&a, l, s);
			struct rsp re = step_remote(h, r, s);

			EXPECT_EQ(lo.status, re.status);
			if (NT_SUCCESS(lo.status) && NT_SUCCESS(re.status)) {
				EXPECT_EQ(lo.base - l, re.base - r);
				EXPECT_EQ(lo.size, re.size);
			}
			if (s->op == OP_PROTECT)
				EXPECT_EQ(lo.old, re.old);
			if (!_metadata->passed) {
				TH_LOG("case %u step %u", c, i);
				break;
			}
		}
		/* The layouts, page by page, from both sides. */
		pl = call(&a, OP_PROBE, l, REGION / PAGE, 0, 0, NULL);
		pr = call(&a, OP_PROBE, r, REGION / PAGE, 0, 0, NULL);
		for (at = 0; at < REGION; at += PAGE) {
			MEMORY_BASIC_INFORMATION ml = a_query(&a, l + at);
			MEMORY_BASIC_INFORMATION mr = a_query(&a, r + at);
			MEMORY_BASIC_INFORMATION mx = qex(h, r + at);

			EXPECT_SAME_MBI(mr, mx);
			EXPECT_EQ(ml.State, mr.State);
			EXPECT_EQ(ml.Protect, mr.Protect);
			EXPECT_EQ(ml.AllocationProtect, mr.AllocationProtect);
			EXPECT_EQ(ml.Type, mr.Type);
			EXPECT_EQ(ml.AllocationBase ?
				  (uintptr_t)ml.AllocationBase - l : 1,
				  mr.AllocationBase ?
				  (uintptr_t)mr.AllocationBase - r : 1);
			if (ml.State != MEM_FREE)
				EXPECT_EQ(ml.RegionSize, mr.RegionSize);
			EXPECT_EQ(pl.data[at / PAGE], pr.data[at / PAGE]);
			if (!_metadata->passed) {
				TH_LOG("case %u offset 0x%lx", c,
				       (unsigned long)at);
				break;
			}
		}
		region_release(&a, l);
		region_release(&a, r);
	}
	EXPECT_TRUE(CloseHandle(h));
	EXPECT_EQ(0, agent_quit(&a));
}

#undef R
#undef C
#undef RW
#undef RO

/*
 * VirtualQueryEx walks the whole address space of the agent exactly as the
 * agent's own VirtualQuery does: ntvm memory and its other memory (the
 * program, its heap, stack, vdso...).
 */
TEST(query_ex_matches_the_target_s_own_query)
{
	static MEMORY_BASIC_INFORMATION mine[512];
	struct agent a;
	uintptr_t p, at = 0;
	struct req walk = { .op = OP_WALK };
	struct rsp r;
	int n = 0, i = 0;
	HANDLE h;

	ASSERT_EQ(0, agent_start(&a, 1));
	p = a_commit(&a, 0, 0x40000, PAGE_READWRITE);
	ASSERT_NE(0, p);
	ASSERT_EQ(0, a_protect(&a, p + 0x3000, 0x2000, PAGE_READONLY));
	ASSERT_EQ(0, a_protect(&a, p + 0x8000, 0x1000,
			       PAGE_READWRITE | PAGE_GUARD));
	ASSERT_EQ(0, call(&a, OP_FREE, p + 0x10000, 0x8000, MEM_DECOMMIT, 0,
			  NULL).status);
	h = OpenProcess(PROCESS_QUERY_INFORMATION, FALSE, a.pid);
	ASSERT_NE(NULL, h);

	while (n < 512) {
		MEMORY_BASIC_INFORMATION m;

		if (VirtualQueryEx(h, (void *)at, &m, sizeof(m)) != sizeof(m))
			break;
		mine[n++] = m;
		if ((uintptr_t)m.BaseAddress + m.RegionSize <= at)
			break;
		at = (uintptr_t)m.BaseAddress + m.RegionSize;
	}
	EXPECT_EQ(ERROR_INVALID_PARAMETER, GetLastError());
	EXPECT_LT(10, n);

	ASSERT_EQ(0, xfer(a.req, &walk, sizeof(walk), 1));
	for (;;) {
		ASSERT_EQ(0, xfer(a.rsp, &r, sizeof(r), 0));
		if (!r.ret)
			break;
		ASSERT_LT(i, n);
		EXPECT_SAME_MBI(r.mbi, mine[i]);
		if (!_metadata->passed)
			TH_LOG("region %d at %p", i, r.mbi.BaseAddress);
		i++;
	}
	EXPECT_EQ(n, i);
	EXPECT_EQ(ERROR_INVALID_PARAMETER, r.error);
	EXPECT_TRUE(CloseHandle(h));
	EXPECT_EQ(0, agent_quit(&a));
}

/*
 * A process that never opened /dev/ntvm: its memory is described as the
 * local query describes memory that is not ntvm's, it can be read and
 * written, and ntvm memory cannot be made there (ERROR_NOT_SUPPORTED).
 */
TEST(a_target_that_never_used_ntvm)
{
	MEMORY_BASIC_INFORMATION m[4], m2;
	char buf[8], path[64];
	int i, memfd, forced;
	struct agent a;
	uintptr_t at;
	SIZE_T n;
	DWORD old;
	HANDLE h;

	ASSERT_EQ(0, agent_start(&a, 0));
	EXPECT_EQ(-1, (int)call(&a, OP_NTVM_FD, 0, 0, 0, 0, NULL).ret);
	h = OpenProcess(PROCESS_ALL_ACCESS, FALSE, a.pid);
	ASSERT_NE(NULL, h);
	/* The agent's static page, read-write, private. */
	at = a.buf;
	EXPECT_EQ(4, a_poke(&a, at, "abcd", 4));
	EXPECT_TRUE(ReadProcessMemory(h, ptr(at), buf, 4, &n));
	EXPECT_EQ(4, n);
	EXPECT_EQ(0, memcmp(buf, "abcd", 4));
	EXPECT_TRUE(WriteProcessMemory(h, ptr(at + 1), "XY", 2, &n));
	EXPECT_EQ(2, n);
	EXPECT_EQ(4, a_peek(&a, at, 4, buf));
	EXPECT_EQ(0, memcmp(buf, "aXYd", 4));
	for (i = 0; i < 4; i++)
		m[i] = qex(h, at + i * 0x800);
	EXPECT_EQ(MEM_COMMIT, m[0].State);
	EXPECT_EQ(PAGE_READWRITE, m[0].Protect);
	EXPECT_EQ(MEM_PRIVATE, m[0].Type);
	EXPECT_EQ(at, (uintptr_t)m[0].BaseAddress);
	/* The Ex calls that make ntvm memory: not in this process. */
	SetLastError(0);
	EXPECT_EQ(NULL, VirtualAllocEx(h, NULL, 0x10000,
				       MEM_RESERVE | MEM_COMMIT,
				       PAGE_READWRITE));
	EXPECT_EQ(ERROR_NOT_SUPPORTED, GetLastError());
	SetLastError(0);
	EXPECT_FALSE(VirtualProtectEx(h, ptr(at), PAGE, PAGE_READONLY, &old));
	EXPECT_EQ(ERROR_NOT_SUPPORTED, GetLastError());
	SetLastError(0);
	EXPECT_FALSE(VirtualFreeEx(h, ptr(at), 0, MEM_RELEASE));
	EXPECT_EQ(ERROR_NOT_SUPPORTED, GetLastError());
	EXPECT_EQ(3, a_access(&a, at));
	/*
	 * A PROT_NONE mapping of its own: described as reserved, and read
	 * exactly as the kernel's /proc/PID/mem reads it: as a debugger
	 * does (a difference Documentation/ntvm.rst states), or refused as
	 * on Windows where the kernel forces access for ptracers only
	 * (CONFIG_PROC_MEM_FORCE_PTRACE, as Debian's 7.3 kernel has it).
	 */
	ASSERT_EQ(0, call(&a, OP_MPROTECT, at + PAGE, PAGE, 0, PROT_NONE,
			  NULL).ret);
	m2 = qex(h, at + PAGE);
	EXPECT_EQ(MEM_RESERVE, m2.State);
	EXPECT_EQ(0, m2.Protect);
	EXPECT_EQ(at + PAGE, (uintptr_t)m2.BaseAddress);
	EXPECT_EQ(PAGE, m2.RegionSize);
	snprintf(path, sizeof(path), "/proc/%d/mem", a.pid);
	memfd = open(path, O_RDONLY | O_CLOEXEC);
	ASSERT_LE(0, memfd);
	forced = pread(memfd, buf, 4, at + PAGE);
	close(memfd);
	TH_LOG("/proc/PID/mem reads PROT_NONE memory: %s",
	       forced == 4 ? "yes" : "no");
	n = 99;
	SetLastError(0);
	EXPECT_EQ(forced == 4, ReadProcessMemory(h, ptr(at + PAGE), buf, 4,
						 &n));
	EXPECT_EQ(forced == 4 ? 4 : 0, n);
	if (forced != 4)
		EXPECT_EQ(ERROR_PARTIAL_COPY, GetLastError());
	ASSERT_EQ(0, call(&a, OP_MPROTECT, at + PAGE, PAGE, 0,
			  PROT_READ | PROT_WRITE, NULL).ret);
	/* Still no ntvm in it: nothing made its context. */
	EXPECT_EQ(-1, (int)call(&a, OP_NTVM_FD, 0, 0, 0, 0, NULL).ret);
	/* What it says of itself, once it uses ntvm, is what we saw. */
	for (i = 0; i < 4; i++)
		EXPECT_SAME_MBI(m[i], a_query(&a, at + i * 0x800));
	EXPECT_TRUE(CloseHandle(h));
	EXPECT_EQ(0, agent_quit(&a));
}

/*
 * A forked child holds its parent's /dev/ntvm file (fork copies fds) but
 * has no context: the handle must not act on the parent's memory.
 */
TEST(a_child_holding_its_parent_s_context)
{
	int fd = open("/dev/ntvm", O_RDWR);	/* inherited by the agent */
	struct ntvm_context_args ctx = { 0 };
	struct agent a;
	int views;
	HANDLE h;
	void *p;

	ASSERT_LE(0, fd);
	ASSERT_EQ(0, ioctl(fd, NTVM_IOC_CONTEXT, &ctx));
	EXPECT_EQ((__u32)getpid(), ctx.owner_pid);
	EXPECT_EQ(NTVM_CONTEXT_OWN, ctx.flags);
	views = count_views();
	ASSERT_EQ(0, agent_start(&a, 0));
	h = OpenProcess(PROCESS_ALL_ACCESS, FALSE, a.pid);
	ASSERT_NE(NULL, h);
	SetLastError(0);
	p = VirtualAllocEx(h, NULL, 0x10000, MEM_RESERVE | MEM_COMMIT,
			   PAGE_READWRITE);
	EXPECT_EQ(NULL, p);
	EXPECT_EQ(ERROR_NOT_SUPPORTED, GetLastError());
	EXPECT_EQ(views, count_views());
	EXPECT_TRUE(CloseHandle(h));
	EXPECT_EQ(0, agent_quit(&a));
	close(fd);
}

/*
 * The target's own settings bound what is done in it: its commit limit,
 * its highest address (MEM_TOP_DOWN lands where its own would), and
 * VirtualAlloc2's address requirements, read from this process.
 */
TEST(the_target_s_limits_apply)
{
	MEM_ADDRESS_REQUIREMENTS req = { 0 };
	MEM_EXTENDED_PARAMETER param = { 0 };
	MEMORY_BASIC_INFORMATION m;
	uintptr_t p, q, top;
	struct agent a;
	struct rsp r;
	HANDLE h;

	ASSERT_EQ(0, agent_start(&a, 1));
	h = OpenProcess(PROCESS_ALL_ACCESS, FALSE, a.pid);
	ASSERT_NE(NULL, h);

	/* Its highest address: 2 GiB less 64 KiB. */
	r = call(&a, OP_ADDRESS_LIMIT, 0x7FFEFFFF, 0, 0, 0, NULL);
	ASSERT_EQ(1, r.ret);
	r = call(&a, OP_ALLOC_W32, 0, 0x10000, MEM_RESERVE | MEM_TOP_DOWN,
		 PAGE_READWRITE, NULL);
	top = r.ret;
	ASSERT_NE(0, top);
	ASSERT_EQ(0, call(&a, OP_FREE, top, 0, MEM_RELEASE, 0, NULL).status);
	EXPECT_GE(0x7FFF0000, top + 0x10000);
	p = (uintptr_t)VirtualAllocEx(h, NULL, 0x10000,
				      MEM_RESERVE | MEM_TOP_DOWN,
				      PAGE_READWRITE);
	EXPECT_EQ(top, p);
	EXPECT_TRUE(VirtualFreeEx(h, ptr(p), 0, MEM_RELEASE));
	p = (uintptr_t)VirtualAllocEx(h, NULL, 0x10000, MEM_RESERVE,
				      PAGE_READWRITE);
	EXPECT_NE(0, p);
	EXPECT_GE(0x7FFF0000, p + 0x10000);
	EXPECT_TRUE(VirtualFreeEx(h, ptr(p), 0, MEM_RELEASE));
	/* Above it: what its own call says, and its own query. */
	r = call(&a, OP_ALLOC_W32, 0x100000000ULL, 0x10000, MEM_RESERVE,
		 PAGE_READWRITE, NULL);
	EXPECT_EQ(0, r.ret);
	SetLastError(0);
	EXPECT_EQ(NULL, VirtualAllocEx(h, (void *)0x100000000ULL, 0x10000,
				       MEM_RESERVE, PAGE_READWRITE));
	EXPECT_EQ(r.error, GetLastError());
	r = call(&a, OP_QUERY, 0x80000000, 0, 0, 0, NULL);
	EXPECT_EQ(0, r.ret);
	EXPECT_EQ(ERROR_INVALID_PARAMETER, r.error);
	SetLastError(0);
	EXPECT_EQ(0, VirtualQueryEx(h, (void *)0x80000000, &m, sizeof(m)));
	EXPECT_EQ(ERROR_INVALID_PARAMETER, GetLastError());
	EXPECT_EQ(sizeof(m), VirtualQueryEx(h, (void *)0x7FFEFFFF, &m,
					    sizeof(m)));

	/* VirtualAlloc2 with the handle and address requirements. */
	req.HighestEndingAddress = (PVOID)0x3FFFFFFF;
	req.Alignment = 0x40000;
	param.Type = MemExtendedParameterAddressRequirements;
	param.Pointer = &req;
	p = (uintptr_t)VirtualAlloc2(h, NULL, 0x10000,
				     MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE,
				     &param, 1);
	ASSERT_NE(0, p);
	EXPECT_EQ(0, p & 0x3ffff);
	EXPECT_GE(0x40000000, p + 0x10000);
	m = a_query(&a, p);
	EXPECT_MBI(m, p, p, PAGE_READWRITE, 0x10000, MEM_COMMIT,
		   PAGE_READWRITE, MEM_PRIVATE);
	EXPECT_EQ(3, a_access(&a, p));
	EXPECT_TRUE(VirtualFreeEx(h, ptr(p), 0, MEM_RELEASE));

	/* Its commit limit: 32 pages. */
	r = call(&a, OP_COMMIT_LIMIT, 0x20000, 0, 0, 0, NULL);
	ASSERT_EQ(1, r.ret);
	p = (uintptr_t)VirtualAllocEx(h, NULL, 0x10000,
				      MEM_RESERVE | MEM_COMMIT,
				      PAGE_READWRITE);
	ASSERT_NE(0, p);
	q = (uintptr_t)VirtualAllocEx(h, NULL, 0x10000,
				      MEM_RESERVE | MEM_COMMIT,
				      PAGE_READWRITE);
	ASSERT_NE(0, q);
	SetLastError(0);
	EXPECT_EQ(NULL, VirtualAllocEx(h, NULL, PAGE,
				       MEM_RESERVE | MEM_COMMIT,
				       PAGE_READWRITE));
	EXPECT_EQ(ERROR_COMMITMENT_LIMIT, GetLastError());
	r = call(&a, OP_ALLOC_W32, 0, PAGE, MEM_RESERVE | MEM_COMMIT,
		 PAGE_READWRITE, NULL);
	EXPECT_EQ(0, r.ret);
	EXPECT_EQ(ERROR_COMMITMENT_LIMIT, r.error);
	/* A decommit makes room. */
	EXPECT_TRUE(VirtualFreeEx(h, ptr(q), PAGE, MEM_DECOMMIT));
	EXPECT_EQ(ptr(q), VirtualAllocEx(h, ptr(q), PAGE, MEM_COMMIT,
					 PAGE_READONLY));
	EXPECT_EQ(1, a_access(&a, q));
	EXPECT_TRUE(VirtualFreeEx(h, ptr(p), 0, MEM_RELEASE));
	EXPECT_TRUE(VirtualFreeEx(h, ptr(q), 0, MEM_RELEASE));
	EXPECT_TRUE(CloseHandle(h));
	EXPECT_EQ(0, agent_quit(&a));
}

/*
 * Locking, write watches, the working set and the memory counters are the
 * caller's own: another process's handle gives STATUS_ACCESS_DENIED, a
 * handle to the caller itself works.
 */
TEST(owner_only_calls)
{
	PROCESS_MEMORY_COUNTERS pmc;
	PVOID addrs[4], base;
	ULONG_PTR count = 4;
	SIZE_T size, mn, mx;
	struct agent a;
	HANDLE h, self;
	ULONG gran;
	uintptr_t p;
	char *mine;

	ASSERT_EQ(0, agent_start(&a, 1));
	p = a_commit(&a, 0, 0x10000, PAGE_READWRITE);
	ASSERT_NE(0, p);
	h = OpenProcess(PROCESS_ALL_ACCESS, FALSE, a.pid);
	ASSERT_NE(NULL, h);
	base = ptr(p);
	size = PAGE;
	EXPECT_EQ(STATUS_ACCESS_DENIED,
		  NtLockVirtualMemory(h, &base, &size, MAP_PROCESS));
	EXPECT_EQ(STATUS_ACCESS_DENIED,
		  NtUnlockVirtualMemory(h, &base, &size, MAP_PROCESS));
	EXPECT_EQ(STATUS_ACCESS_DENIED,
		  NtGetWriteWatch(h, 0, ptr(p), PAGE, addrs, &count, &gran));
	EXPECT_EQ(STATUS_ACCESS_DENIED, NtResetWriteWatch(h, ptr(p), PAGE));
	SetLastError(0);
	EXPECT_FALSE(GetProcessWorkingSetSize(h, &mn, &mx));
	EXPECT_EQ(ERROR_ACCESS_DENIED, GetLastError());
	SetLastError(0);
	EXPECT_FALSE(SetProcessWorkingSetSize(h, 1 << 20, 4 << 20));
	EXPECT_EQ(ERROR_ACCESS_DENIED, GetLastError());
	SetLastError(0);
	EXPECT_FALSE(GetProcessMemoryInfo(h, &pmc, sizeof(pmc)));
	EXPECT_EQ(ERROR_ACCESS_DENIED, GetLastError());

	self = OpenProcess(PROCESS_ALL_ACCESS, FALSE, getpid());
	ASSERT_NE(NULL, self);
	mine = VirtualAlloc(NULL, 0x10000, MEM_RESERVE | MEM_COMMIT |
			    MEM_WRITE_WATCH, PAGE_READWRITE);
	ASSERT_NE(NULL, mine);
	mine[PAGE] = 1;
	count = 4;
	EXPECT_EQ(STATUS_SUCCESS, NtGetWriteWatch(self, 0, mine, 0x10000,
						  addrs, &count, &gran));
	EXPECT_EQ(1, count);
	EXPECT_EQ(mine + PAGE, addrs[0]);
	base = mine;
	size = PAGE;
	EXPECT_TRUE(NT_SUCCESS(NtLockVirtualMemory(self, &base, &size,
						   MAP_PROCESS)));
	EXPECT_EQ(STATUS_SUCCESS, NtUnlockVirtualMemory(self, &base, &size,
							MAP_PROCESS));
	EXPECT_TRUE(GetProcessMemoryInfo(self, &pmc, sizeof(pmc)));
	EXPECT_TRUE(VirtualFree(mine, 0, MEM_RELEASE));
	EXPECT_TRUE(CloseHandle(self));
	/* Nothing happened to the agent's memory. */
	EXPECT_EQ(3, a_access(&a, p));
	EXPECT_TRUE(CloseHandle(h));
	EXPECT_EQ(0, agent_quit(&a));
}

/* ------------------------------------------------------------------ */
/* ReadProcessMemory and WriteProcessMemory.                           */

/*
 * The agent's layout for the copies, one page each from p:
 * 0 RW 'a', 1 reserved, 2 RW 'c', 3 PAGE_NOACCESS ('d'), 4 RW 'e',
 * 5 RW|GUARD ('f'), 6 RW 'g', 7 PAGE_EXECUTE_READ ('h'), 8 RW 'i';
 * free from 9.
 */
static uintptr_t copy_layout(struct agent *a)
{
	uintptr_t p = 0, pg;
	SIZE_T size = 9 * PAGE;
	int i;

	if (a_alloc(a, &p, &size, MEM_RESERVE, PAGE_READWRITE))
		return 0;
	for (i = 0; i < 9; i++) {
		if (i == 1)
			continue;
		pg = p + i * PAGE;
		if (a_commit(a, pg, PAGE, PAGE_READWRITE) != pg)
			return 0;
		a_fill(a, pg, PAGE, 'a' + i);
	}
	if (a_protect(a, p + 3 * PAGE, PAGE, PAGE_NOACCESS) ||
	    a_protect(a, p + 5 * PAGE, PAGE, PAGE_READWRITE | PAGE_GUARD) ||
	    a_protect(a, p + 7 * PAGE, PAGE, PAGE_EXECUTE_READ))
		return 0;
	return p;
}

TEST(read_exact_counts)
{
	struct agent a;
	char buf[0x2000];
	uintptr_t p;
	SIZE_T n;
	HANDLE h;

	ASSERT_EQ(0, agent_start(&a, 1));
	p = copy_layout(&a);
	ASSERT_NE(0, p);
	h = OpenProcess(PROCESS_VM_READ | PROCESS_QUERY_INFORMATION, FALSE,
			a.pid);
	ASSERT_NE(NULL, h);

	/* Whole pages, across pages. */
	EXPECT_TRUE(ReadProcessMemory(h, ptr(p), buf, PAGE, &n));
	EXPECT_EQ(PAGE, n);
	EXPECT_TRUE(all_bytes(buf, 'a', PAGE));
	EXPECT_TRUE(ReadProcessMemory(h, ptr(p + 0x6800), buf, 0x1000, &n));
	EXPECT_EQ(0x1000, n);
	EXPECT_TRUE(all_bytes(buf, 'g', 0x800));
	EXPECT_TRUE(all_bytes(buf + 0x800, 'h', 0x800));
	EXPECT_TRUE(ReadProcessMemory(h, ptr(p + 0x8000), buf, PAGE, NULL));
	EXPECT_TRUE(all_bytes(buf, 'i', PAGE));

	/* Size 0: success, nothing, wherever. */
	n = 99;
	EXPECT_TRUE(ReadProcessMemory(h, ptr(p), buf, 0, &n));
	EXPECT_EQ(0, n);
	n = 99;
	EXPECT_TRUE(ReadProcessMemory(h, ptr(p + PAGE), buf, 0, &n));
	EXPECT_EQ(0, n);

	/* Up to a reserved page. */
	memset(buf, 0, sizeof(buf));
	n = 99;
	SetLastError(0);
	EXPECT_FALSE(ReadProcessMemory(h, ptr(p + 0xf00), buf, 0x200, &n));
	EXPECT_EQ(ERROR_PARTIAL_COPY, GetLastError());
	EXPECT_EQ(0x100, n);
	EXPECT_TRUE(all_bytes(buf, 'a', 0x100));
	n = 99;
	SetLastError(0);
	EXPECT_FALSE(ReadProcessMemory(h, ptr(p + PAGE), buf, 0x10, &n));
	EXPECT_EQ(ERROR_PARTIAL_COPY, GetLastError());
	EXPECT_EQ(0, n);
	/* Up to a PAGE_NOACCESS page. */
	n = 99;
	SetLastError(0);
	EXPECT_FALSE(ReadProcessMemory(h, ptr(p + 0x2f00), buf, 0x200, &n));
	EXPECT_EQ(ERROR_PARTIAL_COPY, GetLastError());
	EXPECT_EQ(0x100, n);
	EXPECT_TRUE(all_bytes(buf, 'c', 0x100));
	/* Up to free memory. */
	n = 99;
	SetLastError(0);
	EXPECT_FALSE(ReadProcessMemory(h, ptr(p + 0x8f00), buf, 0x200, &n));
	EXPECT_EQ(ERROR_PARTIAL_COPY, GetLastError());
	EXPECT_EQ(0x100, n);
	EXPECT_TRUE(all_bytes(buf, 'i', 0x100));
	/* The NT form: the status, the same count. */
	n = 99;
	EXPECT_EQ(STATUS_PARTIAL_COPY,
		  NtReadVirtualMemory(h, ptr(p + 0xf80), buf, 0x100, &n));
	EXPECT_EQ(0x80, n);
	n = 99;
	EXPECT_EQ(STATUS_SUCCESS,
		  NtReadVirtualMemory(h, ptr(p + 0x4000), buf, 0x100, &n));
	EXPECT_EQ(0x100, n);
	EXPECT_TRUE(all_bytes(buf, 'e', 0x100));

	/*
	 * Up to a guard page: the read stops before it and clears the
	 * guard, as a kernel access does (Documentation/ntvm.rst, "Guard
	 * pages in system calls"); the next read goes through.
	 */
	n = 99;
	SetLastError(0);
	EXPECT_FALSE(ReadProcessMemory(h, ptr(p + 0x4f00), buf, 0x200, &n));
	EXPECT_EQ(ERROR_PARTIAL_COPY, GetLastError());
	EXPECT_EQ(0x100, n);
	EXPECT_TRUE(all_bytes(buf, 'e', 0x100));
	EXPECT_EQ(PAGE_READWRITE, qex(h, p + 0x5000).Protect);
	EXPECT_EQ(PAGE_READWRITE, a_query(&a, p + 0x5000).Protect);
	EXPECT_TRUE(ReadProcessMemory(h, ptr(p + 0x4f00), buf, 0x200, &n));
	EXPECT_EQ(0x200, n);
	EXPECT_TRUE(all_bytes(buf, 'e', 0x100));
	EXPECT_TRUE(all_bytes(buf + 0x100, 'f', 0x100));
	/* A guard page first: nothing, then everything. */
	ASSERT_EQ(0, a_protect(&a, p + 5 * PAGE, PAGE,
			       PAGE_READWRITE | PAGE_GUARD));
	n = 99;
	SetLastError(0);
	EXPECT_FALSE(ReadProcessMemory(h, ptr(p + 0x5000), buf, 0x10, &n));
	EXPECT_EQ(ERROR_PARTIAL_COPY, GetLastError());
	EXPECT_EQ(0, n);
	EXPECT_EQ(PAGE_READWRITE, a_query(&a, p + 0x5000).Protect);
	EXPECT_TRUE(ReadProcessMemory(h, ptr(p + 0x5000), buf, 0x10, &n));
	EXPECT_EQ(0x10, n);
	/* Nothing read changed the agent's view of its pages. */
	EXPECT_EQ(0, a_access(&a, p + 3 * PAGE));
	EXPECT_EQ(PAGE_NOACCESS, a_query(&a, p + 3 * PAGE).Protect);
	EXPECT_EQ(MEM_RESERVE, a_query(&a, p + PAGE).State);
	EXPECT_TRUE(CloseHandle(h));
	EXPECT_EQ(0, agent_quit(&a));
}

/* The caller's own buffer, partly inaccessible. */
TEST(read_into_an_inaccessible_buffer)
{
	char *mine = mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	char *g, back[0x100];
	struct agent a;
	uintptr_t p;
	SIZE_T n;
	DWORD old;
	HANDLE h;

	ASSERT_NE(MAP_FAILED, mine);
	ASSERT_EQ(0, mprotect(mine + PAGE, PAGE, PROT_NONE));
	ASSERT_EQ(0, agent_start(&a, 1));
	p = copy_layout(&a);
	ASSERT_NE(0, p);
	h = OpenProcess(PROCESS_ALL_ACCESS, FALSE, a.pid);
	ASSERT_NE(NULL, h);

	n = 99;
	SetLastError(0);
	EXPECT_FALSE(ReadProcessMemory(h, ptr(p), mine + PAGE - 0x100, 0x200,
				       &n));
	EXPECT_EQ(ERROR_PARTIAL_COPY, GetLastError());
	EXPECT_EQ(0x100, n);
	EXPECT_TRUE(all_bytes(mine + PAGE - 0x100, 'a', 0x100));
	n = 99;
	SetLastError(0);
	EXPECT_FALSE(ReadProcessMemory(h, ptr(p), NULL, 0x10, &n));
	EXPECT_EQ(ERROR_PARTIAL_COPY, GetLastError());
	EXPECT_EQ(0, n);
	n = 99;
	EXPECT_EQ(STATUS_PARTIAL_COPY,
		  NtReadVirtualMemory(h, ptr(p), mine + PAGE - 0x80, 0x100,
				      &n));
	EXPECT_EQ(0x80, n);

	/* An ntvm guard page of ours: it fails once, then is ordinary. */
	g = VirtualAlloc(NULL, 2 * PAGE, MEM_COMMIT, PAGE_READWRITE);
	ASSERT_NE(NULL, g);
	ASSERT_TRUE(VirtualProtect(g + PAGE, PAGE, PAGE_READWRITE | PAGE_GUARD,
				   &old));
	n = 99;
	SetLastError(0);
	EXPECT_FALSE(ReadProcessMemory(h, ptr(p), g + PAGE - 0x100, 0x200,
				       &n));
	EXPECT_EQ(ERROR_PARTIAL_COPY, GetLastError());
	EXPECT_EQ(0x100, n);
	EXPECT_TRUE(all_bytes(g + PAGE - 0x100, 'a', 0x100));
	EXPECT_EQ(PAGE_READWRITE, query((uintptr_t)g + PAGE).Protect);
	EXPECT_TRUE(ReadProcessMemory(h, ptr(p), g + PAGE - 0x100, 0x200,
				      &n));
	EXPECT_EQ(0x200, n);
	EXPECT_TRUE(all_bytes(g + PAGE, 'a', 0x100));

	/*
	 * Writes from a source that faults part-way: the bytes before the
	 * fault are written and counted (Windows reports 0: a difference
	 * Documentation/ntvm.rst states), nothing after it.
	 */
	memset(mine + PAGE - 0x100, 'z', 0x100);
	n = 99;
	SetLastError(0);
	EXPECT_FALSE(WriteProcessMemory(h, ptr(p + 2 * PAGE),
					mine + PAGE - 0x100, 0x200, &n));
	EXPECT_EQ(ERROR_PARTIAL_COPY, GetLastError());
	EXPECT_EQ(0x100, n);
	EXPECT_EQ(0x100, a_peek(&a, p + 2 * PAGE, 0x100, back));
	EXPECT_TRUE(all_bytes(back, 'z', 0x100));
	EXPECT_EQ(0x100, a_peek(&a, p + 2 * PAGE + 0x100, 0x100, back));
	EXPECT_TRUE(all_bytes(back, 'c', 0x100));
	n = 99;
	SetLastError(0);
	EXPECT_FALSE(WriteProcessMemory(h, ptr(p + 2 * PAGE), mine + PAGE,
					0x10, &n));
	EXPECT_EQ(ERROR_PARTIAL_COPY, GetLastError());
	EXPECT_EQ(0, n);
	EXPECT_TRUE(VirtualFree(g, 0, MEM_RELEASE));
	munmap(mine, 2 * PAGE);
	EXPECT_TRUE(CloseHandle(h));
	EXPECT_EQ(0, agent_quit(&a));
}

/*
 * WriteProcessMemory: read-only fails with ERROR_NOACCESS and changes
 * nothing (the count untouched); executable pages are made writable for
 * the write and restored (a breakpoint); NtWriteVirtualMemory never
 * changes a protection.
 */
TEST(write_follows_windows)
{
	static const unsigned char ret42_[] = { 0xb8, 42, 0, 0, 0, 0xc3 };
	struct agent a;
	char buf[0x200], back[0x100];
	uintptr_t p;
	SIZE_T n;
	HANDLE h;

	ASSERT_EQ(0, agent_start(&a, 1));
	p = copy_layout(&a);
	ASSERT_NE(0, p);
	h = OpenProcess(PROCESS_ALL_ACCESS, FALSE, a.pid);
	ASSERT_NE(NULL, h);
	memset(buf, 'W', sizeof(buf));

	/* Size 0. */
	n = 99;
	EXPECT_TRUE(WriteProcessMemory(h, ptr(p), buf, 0, &n));
	EXPECT_EQ(0, n);
	EXPECT_EQ(1, a_peek(&a, p, 1, back));
	EXPECT_EQ('a', back[0]);

	/* Read-only. */
	ASSERT_EQ(0, a_protect(&a, p + 2 * PAGE, PAGE, PAGE_READONLY));
	n = 0x5555;
	SetLastError(0);
	EXPECT_FALSE(WriteProcessMemory(h, ptr(p + 2 * PAGE), buf, 0x10, &n));
	EXPECT_EQ(ERROR_NOACCESS, GetLastError());
	EXPECT_EQ(0x5555, n);
	EXPECT_EQ(0x10, a_peek(&a, p + 2 * PAGE, 0x10, back));
	EXPECT_TRUE(all_bytes(back, 'c', 0x10));
	EXPECT_EQ(PAGE_READONLY, qex(h, p + 2 * PAGE).Protect);
	EXPECT_EQ(PAGE_READONLY, a_query(&a, p + 2 * PAGE).Protect);
	/* PAGE_NOACCESS. */
	n = 0x5555;
	SetLastError(0);
	EXPECT_FALSE(WriteProcessMemory(h, ptr(p + 3 * PAGE), buf, 0x10, &n));
	EXPECT_EQ(ERROR_NOACCESS, GetLastError());
	EXPECT_EQ(0x5555, n);
	EXPECT_EQ(PAGE_NOACCESS, a_query(&a, p + 3 * PAGE).Protect);

	/* PAGE_EXECUTE_READ: a breakpoint goes in, then runs. */
	n = 0;
	EXPECT_TRUE(WriteProcessMemory(h, ptr(p + 7 * PAGE), ret42_,
				       sizeof(ret42_), &n));
	EXPECT_EQ(sizeof(ret42_), n);
	EXPECT_EQ(PAGE_EXECUTE_READ, qex(h, p + 7 * PAGE).Protect);
	EXPECT_MBI(a_query(&a, p + 7 * PAGE), p + 7 * PAGE, p,
		   PAGE_READWRITE, PAGE, MEM_COMMIT, PAGE_EXECUTE_READ,
		   MEM_PRIVATE);
	EXPECT_EQ(1, call(&a, OP_EXEC, p + 7 * PAGE, 0, 0, 0, NULL).ret);
	EXPECT_EQ(1, a_access(&a, p + 7 * PAGE));
	EXPECT_EQ(0x10, a_peek(&a, p + 7 * PAGE + sizeof(ret42_), 0x10,
			       back));
	EXPECT_TRUE(all_bytes(back, 'h', 0x10));
	/* PAGE_EXECUTE too. */
	ASSERT_EQ(0, a_protect(&a, p + 8 * PAGE, PAGE, PAGE_EXECUTE));
	EXPECT_TRUE(WriteProcessMemory(h, ptr(p + 8 * PAGE), ret42_,
				       sizeof(ret42_), &n));
	EXPECT_EQ(sizeof(ret42_), n);
	EXPECT_EQ(PAGE_EXECUTE, qex(h, p + 8 * PAGE).Protect);
	EXPECT_EQ(PAGE_EXECUTE, a_query(&a, p + 8 * PAGE).Protect);
	EXPECT_EQ(1, call(&a, OP_EXEC, p + 8 * PAGE, 0, 0, 0, NULL).ret);

	/* A range that is partly not writable fails. */
	SetLastError(0);
	EXPECT_FALSE(WriteProcessMemory(h, ptr(p + 0x6f00), buf, 0x200, &n));
	EXPECT_EQ(PAGE_EXECUTE_READ, qex(h, p + 7 * PAGE).Protect);
	EXPECT_EQ(0x10, a_peek(&a, p + 7 * PAGE + sizeof(ret42_), 0x10,
			       back));
	EXPECT_TRUE(all_bytes(back, 'h', 0x10));
	ASSERT_EQ(0, a_protect(&a, p + 7 * PAGE, PAGE, PAGE_READWRITE));
	a_fill(&a, p + 6 * PAGE, 2 * PAGE, 'g');
	ASSERT_EQ(0, a_protect(&a, p + 7 * PAGE, PAGE, PAGE_EXECUTE_READ));

	/* NtWriteVirtualMemory: up to the first page it cannot write. */
	n = 99;
	EXPECT_EQ(STATUS_PARTIAL_COPY,
		  NtWriteVirtualMemory(h, ptr(p + 0x6f00), buf, 0x200, &n));
	EXPECT_EQ(0x100, n);
	EXPECT_EQ(0x100, a_peek(&a, p + 0x6f00, 0x100, back));
	EXPECT_TRUE(all_bytes(back, 'W', 0x100));
	EXPECT_EQ(0x100, a_peek(&a, p + 0x7000, 0x100, back));
	EXPECT_TRUE(all_bytes(back, 'g', 0x100));
	EXPECT_EQ(PAGE_EXECUTE_READ, a_query(&a, p + 0x7000).Protect);
	n = 99;
	EXPECT_EQ(STATUS_PARTIAL_COPY,
		  NtWriteVirtualMemory(h, ptr(p + 0x7000), buf, 0x10, &n));
	EXPECT_EQ(0, n);
	n = 99;
	EXPECT_EQ(STATUS_PARTIAL_COPY,
		  NtWriteVirtualMemory(h, ptr(p + 2 * PAGE), buf, 0x10, &n));
	EXPECT_EQ(0, n);
	EXPECT_EQ(PAGE_READONLY, a_query(&a, p + 2 * PAGE).Protect);
	n = 99;
	EXPECT_EQ(STATUS_PARTIAL_COPY,
		  NtWriteVirtualMemory(h, ptr(p + 0xf00), buf, 0x200, &n));
	EXPECT_EQ(0x100, n);
	n = 99;
	EXPECT_EQ(STATUS_SUCCESS,
		  NtWriteVirtualMemory(h, ptr(p + 0x4000), buf, 0x10, &n));
	EXPECT_EQ(0x10, n);
	EXPECT_EQ(0x10, a_peek(&a, p + 0x4000, 0x10, back));
	EXPECT_TRUE(all_bytes(back, 'W', 0x10));

	/* A guard page as the target of a write: cleared, once. */
	ASSERT_EQ(0, a_protect(&a, p + 5 * PAGE, PAGE,
			       PAGE_READWRITE | PAGE_GUARD));
	n = 99;
	EXPECT_EQ(STATUS_PARTIAL_COPY,
		  NtWriteVirtualMemory(h, ptr(p + 0x5000), buf, 0x10, &n));
	EXPECT_EQ(0, n);
	EXPECT_EQ(PAGE_READWRITE, a_query(&a, p + 0x5000).Protect);
	EXPECT_EQ(0x10, a_peek(&a, p + 0x5000, 0x10, back));
	EXPECT_TRUE(all_bytes(back, 'f', 0x10));
	EXPECT_TRUE(WriteProcessMemory(h, ptr(p + 0x5000), buf, 0x10, &n));
	EXPECT_EQ(0x10, n);
	EXPECT_EQ(0x10, a_peek(&a, p + 0x5000, 0x10, back));
	EXPECT_TRUE(all_bytes(back, 'W', 0x10));
	EXPECT_TRUE(CloseHandle(h));
	EXPECT_EQ(0, agent_quit(&a));
}

/* ------------------------------------------------------------------ */
/* Who may open whom.                                                  */

struct outcome {
	int limited;	/* opened with PROCESS_QUERY_LIMITED_INFORMATION */
	int opened;
	uint32_t error;
	int read_ok;
	uint32_t read_error;
	unsigned char byte;
	int getfd_errno;
};

/*
 * OpenProcess(PROCESS_ALL_ACCESS, @target) and a one-byte read of @addr
 * from a child running as @uid (0: this process's credentials); then
 * pidfd_getfd() of the target's fd @ntvm_fd if >= 0.
 */
static struct outcome open_as(uid_t uid, pid_t target, uintptr_t addr,
			      int ntvm_fd)
{
	struct outcome o = { .opened = -1 };
	int fds[2];
	pid_t pid;

	if (pipe(fds))
		return o;
	pid = fork();
	if (pid < 0)
		return o;
	if (!pid) {
		HANDLE h;
		SIZE_T n;

		close(fds[0]);
		if (uid)
			become(uid);
		h = OpenProcess(PROCESS_QUERY_LIMITED_INFORMATION, FALSE,
				target);
		o.limited = h && GetProcessId(h) == (DWORD)target;
		if (h)
			CloseHandle(h);
		h = OpenProcess(PROCESS_ALL_ACCESS, FALSE, target);
		o.opened = h != NULL;
		o.error = GetLastError();
		if (h) {
			o.read_ok = ReadProcessMemory(h, (void *)addr, &o.byte,
						      1, &n);
			o.read_error = GetLastError();
			CloseHandle(h);
		}
		if (ntvm_fd >= 0) {
			int pfd = pidfd_open_(target);
			int fd = pfd < 0 ? -1 : pidfd_getfd_(pfd, ntvm_fd);

			o.getfd_errno = fd < 0 ? errno : 0;
		}
		xfer(fds[1], &o, sizeof(o), 1);
		_exit(0);
	}
	close(fds[1]);
	xfer(fds[0], &o, sizeof(o), 0);
	close(fds[0]);
	wait_exit(pid);
	return o;
}

static const char yama[] = "/proc/sys/kernel/yama/ptrace_scope";

static int knob_get(const char *path)
{
	char v[16] = "";
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = read(fd, v, sizeof(v) - 1);
	close(fd);
	return n > 0 ? atoi(v) : -1;
}

static int knob_set(const char *path, int value)
{
	char v[16];
	int fd = open(path, O_WRONLY | O_CLOEXEC), ok;

	if (fd < 0)
		return -1;
	snprintf(v, sizeof(v), "%d\n", value);
	ok = write(fd, v, strlen(v)) == (ssize_t)strlen(v);
	close(fd);
	return ok ? 0 : -1;
}

/*
 * Credentials: another uid may not open; the same uid may, unless the
 * target is not dumpable; root (CAP_SYS_PTRACE) may open anything.
 */
TEST(ptrace_rules_credentials_and_dumpable)
{
	int scope = knob_get(yama);
	struct outcome o;
	struct agent a;
	HANDLE h;
	void *p;
	int fd;

	if (geteuid() != 0)
		SKIP(return, "needs root, to take other uids");
	if (inject_active())
		SKIP(return, "a process that is not root cannot arm injection");
	/* Yama's mode 1 would refuse siblings: see the Yama test. */
	if (scope > 0)
		ASSERT_EQ(0, knob_set(yama, 0));

	/* A root target, opened by nobody: refused. */
	ASSERT_EQ(0, agent_start(&a, 1));
	a_poke(&a, a.buf, "r", 1);
	fd = (int)call(&a, OP_NTVM_FD, 0, 0, 0, 0, NULL).ret;
	ASSERT_LE(0, fd);
	o = open_as(NOBODY, a.pid, a.buf, fd);
	EXPECT_EQ(0, o.opened);
	EXPECT_EQ(ERROR_ACCESS_DENIED, o.error);
	EXPECT_EQ(EPERM, o.getfd_errno);
	/* The limited right alone: any process one can see. */
	EXPECT_EQ(1, o.limited);
	/* Root opens it. */
	o = open_as(0, a.pid, a.buf, fd);
	EXPECT_EQ(1, o.opened);
	EXPECT_EQ(1, o.read_ok);
	EXPECT_EQ('r', o.byte);
	EXPECT_EQ(0, o.getfd_errno);

	/* Target and opener both nobody: allowed. */
	call(&a, OP_SETUID, NOBODY, 0, 0, 0, NULL);
	o = open_as(NOBODY, a.pid, a.buf, fd);
	EXPECT_EQ(1, o.opened);
	EXPECT_EQ(1, o.read_ok);
	EXPECT_EQ('r', o.byte);
	EXPECT_EQ(0, o.getfd_errno);
	/* Another non-root uid: refused. */
	o = open_as(NOBODY - 1, a.pid, a.buf, fd);
	EXPECT_EQ(0, o.opened);
	EXPECT_EQ(ERROR_ACCESS_DENIED, o.error);
	EXPECT_EQ(EPERM, o.getfd_errno);

	/* Not dumpable: the same uid is refused, root is not. */
	EXPECT_EQ(0, call(&a, OP_DUMPABLE, 0, 0, 0, 0, NULL).ret);
	o = open_as(NOBODY, a.pid, a.buf, fd);
	EXPECT_EQ(0, o.opened);
	EXPECT_EQ(ERROR_ACCESS_DENIED, o.error);
	EXPECT_EQ(EPERM, o.getfd_errno);
	o = open_as(0, a.pid, a.buf, fd);
	EXPECT_EQ(1, o.opened);
	EXPECT_EQ(1, o.read_ok);
	EXPECT_EQ('r', o.byte);
	EXPECT_EQ(0, o.getfd_errno);
	/* And uses it: this process is root. */
	h = OpenProcess(PROCESS_ALL_ACCESS, FALSE, a.pid);
	ASSERT_NE(NULL, h);
	p = VirtualAllocEx(h, NULL, PAGE, MEM_RESERVE | MEM_COMMIT,
			   PAGE_READWRITE);
	EXPECT_NE(NULL, p);
	EXPECT_EQ(3, a_access(&a, (uintptr_t)p));
	EXPECT_TRUE(CloseHandle(h));
	EXPECT_EQ(0, agent_quit(&a));
	if (scope > 0)
		EXPECT_EQ(0, knob_set(yama, scope));
}

/*
 * Yama's mode 1: only a descendant may be opened.  A child (not root) may
 * not open its parent; the parent may open the child.
 */
TEST(ptrace_rules_yama_mode_1)
{
	int scope = knob_get(yama), fds[2], i;
	struct rsp r[2];
	pid_t pid;

	if (scope < 0)
		SKIP(return, "no Yama in this kernel");
	if (geteuid() != 0)
		SKIP(return, "needs root, to set ptrace_scope");
	if (scope > 1)
		SKIP(return, "ptrace_scope is %d", scope);
	if (inject_active())
		SKIP(return, "a process that is not root cannot arm injection");

	for (i = 0; i < 2; i++) {
		ASSERT_EQ(0, knob_set(yama, i == 0 ? 0 : 1));
		ASSERT_EQ(0, pipe(fds));
		pid = fork();
		ASSERT_LE(0, pid);
		if (!pid) {
			/* The parent, as nobody, with an agent child. */
			struct agent a;
			struct rsp out[2];
			HANDLE h;
			SIZE_T n;
			char c = 0;

			memset(out, 0, sizeof(out));
			become(NOBODY);
			agent_buf[0] = 'P';
			if (agent_start(&a, 0))
				_exit(1);
			out[0] = call(&a, OP_OPEN_PARENT, (uintptr_t)agent_buf,
				      0, 0, 0, NULL);
			a_poke(&a, a.buf, "C", 1);
			h = OpenProcess(PROCESS_ALL_ACCESS, FALSE, a.pid);
			out[1].ret = h != NULL;
			out[1].error = GetLastError();
			if (h) {
				out[1].status = ReadProcessMemory(h,
						(void *)a.buf, &c, 1, &n);
				out[1].data[0] = c;
			}
			agent_quit(&a);
			xfer(fds[1], out, sizeof(out), 1);
			_exit(0);
		}
		close(fds[1]);
		memset(r, 0, sizeof(r));
		EXPECT_EQ(0, xfer(fds[0], r, sizeof(r), 0));
		close(fds[0]);
		EXPECT_EQ(0, wait_exit(pid));
		TH_LOG("ptrace_scope %d", i);
		/* The child opening its parent. */
		if (i == 0) {
			EXPECT_EQ(1, r[0].ret);
			EXPECT_EQ(1, r[0].status);
			EXPECT_EQ('P', r[0].data[0]);
		} else {
			EXPECT_EQ(0, r[0].ret);
			EXPECT_EQ(ERROR_ACCESS_DENIED, r[0].error);
		}
		/* The parent opening its child. */
		EXPECT_EQ(1, r[1].ret);
		EXPECT_EQ(1, r[1].status);
		EXPECT_EQ('C', r[1].data[0]);
	}
	EXPECT_EQ(0, knob_set(yama, scope));
}

/* ------------------------------------------------------------------ */
/* Lifetime.                                                           */

/* Every call through @h fails cleanly: the target is gone. */
static int gone_checks(HANDLE h, uintptr_t p, uintptr_t buf, char *why,
		       size_t whylen)
{
	MEMORY_BASIC_INFORMATION m;
	char c = 0;
	SIZE_T n = 99;
	DWORD old;
	uint32_t e;

#define GONE(cond) do {							\
		if (!(cond)) {						\
			snprintf(why, whylen, "%s (error %u)", #cond,	\
				 GetLastError());			\
			return 0;					\
		}							\
	} while (0)
	SetLastError(0);
	GONE(!VirtualQueryEx(h, (void *)p, &m, sizeof(m)));
	GONE(GetLastError() == ERROR_ACCESS_DENIED);
	SetLastError(0);
	GONE(!VirtualAllocEx(h, NULL, PAGE, MEM_RESERVE | MEM_COMMIT,
			     PAGE_READWRITE));
	GONE(GetLastError() == ERROR_ACCESS_DENIED);
	SetLastError(0);
	GONE(!VirtualProtectEx(h, (void *)p, PAGE, PAGE_READONLY, &old));
	GONE(GetLastError() == ERROR_ACCESS_DENIED);
	SetLastError(0);
	GONE(!VirtualFreeEx(h, (void *)p, 0, MEM_RELEASE));
	GONE(GetLastError() == ERROR_ACCESS_DENIED);
	SetLastError(0);
	GONE(!ReadProcessMemory(h, (void *)buf, &c, 1, &n));
	e = GetLastError();
	GONE(e == ERROR_ACCESS_DENIED || e == ERROR_PARTIAL_COPY);
	GONE(n == 0);
	GONE(c == 0);
	SetLastError(0);
	GONE(!WriteProcessMemory(h, (void *)buf, "x", 1, &n));
	e = GetLastError();
	GONE(e == ERROR_ACCESS_DENIED || e == ERROR_PARTIAL_COPY ||
	     e == ERROR_NOACCESS);
#undef GONE
	return 1;
}

TEST(an_exited_target)
{
	siginfo_t si;
	char why[128] = "";
	struct agent a;
	uintptr_t p;
	HANDLE h;
	pid_t pid;

	ASSERT_EQ(0, agent_start(&a, 1));
	pid = a.pid;
	p = a_commit(&a, 0, 0x10000, PAGE_READWRITE);
	ASSERT_NE(0, p);
	a_poke(&a, a.buf, "s", 1);
	h = OpenProcess(PROCESS_ALL_ACCESS, FALSE, a.pid);
	ASSERT_NE(NULL, h);

	/* Exited, not reaped yet. */
	kill(a.pid, SIGKILL);
	ASSERT_EQ(0, waitid(P_PID, a.pid, &si, WEXITED | WNOWAIT));
	EXPECT_TRUE(gone_checks(h, p, a.buf, why, sizeof(why)));
	if (*why)
		TH_LOG("zombie: %s", why);
	SetLastError(0);
	EXPECT_EQ(NULL, OpenProcess(PROCESS_ALL_ACCESS, FALSE, a.pid));
	EXPECT_EQ(ERROR_INVALID_PARAMETER, GetLastError());
	/* Reaped. */
	EXPECT_EQ(128 + SIGKILL, wait_exit(a.pid));
	close(a.req);
	close(a.rsp);
	EXPECT_TRUE(gone_checks(h, p, a.buf, why, sizeof(why)));
	if (*why)
		TH_LOG("reaped: %s", why);
	/* The handle still names the process that was. */
	EXPECT_EQ((DWORD)pid, GetProcessId(h));
	EXPECT_TRUE(CloseHandle(h));
}

/*
 * Nor when the process that gets the pid is a child of the handle's
 * holder: the handle is not the child's own, whatever its pid.
 */
struct recycled_child {
	int step;
	pid_t first, child;
	int read_ok, query_ok;
	uint32_t read_error, query_error;
	char byte;
};

static char recycled_mine[8] = "mine";

static void recycle_in_child_scenario(int out)
{
	struct recycled_child res = { 0 }, got = { 0 };
	MEMORY_BASIC_INFORMATION mbi;
	struct clone_args ca = { .exit_signal = SIGCHLD };
	struct agent a;
	FILE *last;
	int fds[2];
	pid_t tid;
	HANDLE h;
	SIZE_T n;

#define STEP(cond) do { if (!(cond)) goto done; res.step++; } while (0)
	STEP(!mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL));
	STEP(!mount("proc", "/proc", "proc", 0, NULL));
	STEP(!agent_start(&a, 1));
	res.first = a.pid;
	h = OpenProcess(PROCESS_ALL_ACCESS, FALSE, a.pid);
	STEP(h);
	STEP(agent_quit(&a) == 0);
	STEP(!pipe(fds));
	/*
	 * fork() (whose handlers libntvm runs in the child) where the
	 * kernel lets the next pid be chosen (CONFIG_CHECKPOINT_RESTORE),
	 * else clone3() with that pid.
	 */
	last = fopen("/proc/sys/kernel/ns_last_pid", "w");
	if (last) {
		fprintf(last, "%d", res.first - 1);
		fclose(last);
		res.child = fork();
	} else {
		tid = res.first;
		ca.set_tid = (uintptr_t)&tid;
		ca.set_tid_size = 1;
		res.child = syscall(SYS_clone3, &ca, sizeof(ca));
	}
	STEP(res.child >= 0);
	if (!res.child) {
		char c[8] = { 0 };

		SetLastError(0);
		res.read_ok = ReadProcessMemory(h, recycled_mine, c, 4, &n);
		res.read_error = GetLastError();
		res.byte = c[0];
		SetLastError(0);
		res.query_ok = VirtualQueryEx(h, recycled_mine, &mbi,
					      sizeof(mbi)) != 0;
		res.query_error = GetLastError();
		xfer(fds[1], &res, sizeof(res), 1);
		_exit(0);
	}
	STEP(!xfer(fds[0], &got, sizeof(got), 0));
	STEP(wait_exit(res.child) == 0);
	res.read_ok = got.read_ok;
	res.read_error = got.read_error;
	res.byte = got.byte;
	res.query_ok = got.query_ok;
	res.query_error = got.query_error;
	CloseHandle(h);
done:
#undef STEP
	xfer(out, &res, sizeof(res), 1);
	_exit(0);
}

TEST(a_recycled_pid_given_to_the_holder_s_child)
{
	struct recycled_child res;
	int fds[2];
	pid_t pid;

	if (geteuid() != 0)
		SKIP(return, "needs root for a pid namespace");
	if (unshare(CLONE_NEWPID | CLONE_NEWNS))
		SKIP(return, "no pid namespaces: %s", strerror(errno));
	ASSERT_EQ(0, pipe(fds));
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		close(fds[0]);
		recycle_in_child_scenario(fds[1]);
	}
	close(fds[1]);
	memset(&res, 0, sizeof(res));
	ASSERT_EQ(0, xfer(fds[0], &res, sizeof(res), 0));
	close(fds[0]);
	EXPECT_EQ(0, wait_exit(pid));
	ASSERT_EQ(9, res.step);
	EXPECT_EQ(res.first, res.child);
	/* The dead process's handle: not the child's own memory. */
	EXPECT_FALSE(res.read_ok);
	EXPECT_EQ(ERROR_ACCESS_DENIED, res.read_error);
	EXPECT_EQ(0, res.byte);
	EXPECT_FALSE(res.query_ok);
	EXPECT_EQ(ERROR_ACCESS_DENIED, res.query_error);
}

/*
 * A handle on a process that exited never reaches the process that gets
 * its pid next.  In a new pid namespace, clone3()'s set_tid gives the pid
 * again.
 */
struct recycled {
	int step;		/* how far it got */
	pid_t first, second;
	int gone_ok;
	char why[128];
	int alloc_refused;
	uint32_t alloc_error;
	int new_read_ok;
	char new_byte;
};

static void recycle_scenario(int out)
{
	struct recycled res = { 0 };
	struct agent a;
	uintptr_t p;
	HANDLE h;
	char c = 0;
	SIZE_T n;
	void *q;

#define STEP(cond) do { if (!(cond)) goto done; res.step++; } while (0)
	STEP(!mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL));
	STEP(!mount("proc", "/proc", "proc", 0, NULL));
	STEP(!agent_start(&a, 1));
	res.first = a.pid;
	p = a_commit(&a, 0, 0x10000, PAGE_READWRITE);
	STEP(p);
	STEP(a_poke(&a, a.buf, "1", 1) == 1);
	h = OpenProcess(PROCESS_ALL_ACCESS, FALSE, a.pid);
	STEP(h);
	STEP(agent_quit(&a) == 0);
	STEP(!agent_start_pid(&a, 1, res.first));
	res.second = a.pid;
	STEP(a_poke(&a, a.buf, "2", 1) == 1);
	/* The same address is mapped in the new process: */
	STEP(a_commit(&a, p, 0x10000, PAGE_READWRITE) == p ||
	     a_commit(&a, 0, 0x10000, PAGE_READWRITE));
	res.gone_ok = gone_checks(h, p, a.buf, res.why, sizeof(res.why));
	SetLastError(0);
	q = VirtualAllocEx(h, NULL, PAGE, MEM_RESERVE | MEM_COMMIT,
			   PAGE_READWRITE);
	res.alloc_refused = q == NULL;
	res.alloc_error = GetLastError();
	CloseHandle(h);
	h = OpenProcess(PROCESS_ALL_ACCESS, FALSE, res.second);
	STEP(h);
	res.new_read_ok = ReadProcessMemory(h, (void *)a.buf, &c, 1, &n);
	res.new_byte = c;
	CloseHandle(h);
	agent_quit(&a);
done:
#undef STEP
	xfer(out, &res, sizeof(res), 1);
	_exit(0);
}

TEST(a_recycled_pid)
{
	struct recycled res;
	int fds[2];
	pid_t pid;

	if (geteuid() != 0)
		SKIP(return, "needs root for a pid namespace");
	if (unshare(CLONE_NEWPID | CLONE_NEWNS))
		SKIP(return, "no pid namespaces: %s", strerror(errno));
	ASSERT_EQ(0, pipe(fds));
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		close(fds[0]);
		recycle_scenario(fds[1]);
	}
	close(fds[1]);
	memset(&res, 0, sizeof(res));
	ASSERT_EQ(0, xfer(fds[0], &res, sizeof(res), 0));
	close(fds[0]);
	EXPECT_EQ(0, wait_exit(pid));
	ASSERT_EQ(11, res.step);
	EXPECT_EQ(res.first, res.second);
	EXPECT_TRUE(res.gone_ok);
	if (!res.gone_ok)
		TH_LOG("%s", res.why);
	EXPECT_TRUE(res.alloc_refused);
	EXPECT_EQ(ERROR_ACCESS_DENIED, res.alloc_error);
	/* A new handle reaches the new process. */
	EXPECT_TRUE(res.new_read_ok);
	EXPECT_EQ('2', res.new_byte);
}

/*
 * The target execs: the old handle's memory is gone (as at exit); a new
 * handle opens the new program, which has not used ntvm yet.
 */
TEST(a_target_that_execs)
{
	char why[128] = "";
	struct agent a;
	struct req q = { .op = OP_EXECVE, .addr = 0 };
	struct ntvm_query_args qu = { 0 };
	struct ntvm_context_args ctx;
	MEMORY_BASIC_INFORMATION m;
	uintptr_t p;
	HANDLE h, h2;
	int pfd, fd;
	char c;
	SIZE_T n;

	ASSERT_EQ(0, agent_start(&a, 1));
	p = a_commit(&a, 0, 0x10000, PAGE_READWRITE);
	ASSERT_NE(0, p);
	h = OpenProcess(PROCESS_ALL_ACCESS, FALSE, a.pid);
	ASSERT_NE(NULL, h);
	/* Its context's file, as the kernel answers it. */
	pfd = pidfd_open_(a.pid);
	ASSERT_LE(0, pfd);
	fd = pidfd_getfd_(pfd, (int)call(&a, OP_NTVM_FD, 0, 0, 0, 0,
					 NULL).ret);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, xfer(a.req, &q, sizeof(q), 1));
	ASSERT_EQ(0, agent_ready(&a));
	EXPECT_EQ(1, a_poke(&a, a.buf, "E", 1));
	qu.address = p;
	errno = 0;
	EXPECT_EQ(-1, ioctl(fd, NTVM_IOC_QUERY, &qu));
	EXPECT_EQ(ESRCH, errno);
	memset(&ctx, 0xaa, sizeof(ctx));
	EXPECT_EQ(0, ioctl(fd, NTVM_IOC_CONTEXT, &ctx));
	EXPECT_EQ(0, ctx.owner_pid);
	close(fd);
	close(pfd);

	EXPECT_TRUE(gone_checks(h, p, a.buf, why, sizeof(why)));
	EXPECT_EQ(STATUS_PROCESS_IS_TERMINATING,
		  NtQueryVirtualMemory(h, ptr(p), MemoryBasicInformation, &m,
				       sizeof(m), &n));
	if (*why)
		TH_LOG("%s", why);
	EXPECT_EQ((DWORD)a.pid, GetProcessId(h));
	EXPECT_TRUE(CloseHandle(h));

	h2 = OpenProcess(PROCESS_ALL_ACCESS, FALSE, a.pid);
	ASSERT_NE(NULL, h2);
	EXPECT_TRUE(ReadProcessMemory(h2, ptr(a.buf), &c, 1, &n));
	EXPECT_EQ('E', c);
	SetLastError(0);
	EXPECT_EQ(NULL, VirtualAllocEx(h2, NULL, PAGE,
				       MEM_RESERVE | MEM_COMMIT,
				       PAGE_READWRITE));
	EXPECT_EQ(ERROR_NOT_SUPPORTED, GetLastError());
	EXPECT_EQ(MEM_FREE, qex(h2, p).State);
	EXPECT_TRUE(CloseHandle(h2));
	EXPECT_EQ(0, agent_quit(&a));
}

/*
 * The target forks: the handle stays on the target; the child has none of
 * its ntvm memory and no context.
 */
TEST(a_target_that_forks)
{
	struct agent a;
	uintptr_t p, q;
	HANDLE h, hc;
	pid_t child;
	char c = 0;
	SIZE_T n;

	ASSERT_EQ(0, agent_start(&a, 1));
	p = a_commit(&a, 0, 0x10000, PAGE_READWRITE);
	ASSERT_NE(0, p);
	a_fill(&a, p, 0x10000, 'F');
	h = OpenProcess(PROCESS_ALL_ACCESS, FALSE, a.pid);
	ASSERT_NE(NULL, h);
	child = call(&a, OP_FORK, 0, 0, 0, 0, NULL).ret;
	ASSERT_LT(0, child);

	q = (uintptr_t)VirtualAllocEx(h, NULL, PAGE, MEM_RESERVE | MEM_COMMIT,
				      PAGE_READWRITE);
	ASSERT_NE(0, q);
	EXPECT_EQ(3, a_access(&a, q));
	EXPECT_TRUE(ReadProcessMemory(h, ptr(p), &c, 1, &n));
	EXPECT_EQ('F', c);

	hc = OpenProcess(PROCESS_ALL_ACCESS, FALSE, child);
	ASSERT_NE(NULL, hc);
	EXPECT_EQ((DWORD)child, GetProcessId(hc));
	EXPECT_EQ(MEM_FREE, qex(hc, p).State);
	EXPECT_EQ(MEM_FREE, qex(hc, q).State);
	n = 99;
	SetLastError(0);
	EXPECT_FALSE(ReadProcessMemory(hc, ptr(p), &c, 1, &n));
	EXPECT_EQ(ERROR_PARTIAL_COPY, GetLastError());
	EXPECT_EQ(0, n);
	SetLastError(0);
	EXPECT_EQ(NULL, VirtualAllocEx(hc, NULL, PAGE,
				       MEM_RESERVE | MEM_COMMIT,
				       PAGE_READWRITE));
	EXPECT_EQ(ERROR_NOT_SUPPORTED, GetLastError());
	/* The target is untouched by that. */
	EXPECT_EQ(MEM_COMMIT, qex(h, p).State);
	EXPECT_TRUE(CloseHandle(hc));
	kill(child, SIGKILL);
	EXPECT_TRUE(CloseHandle(h));
	EXPECT_EQ(0, agent_quit(&a));
}

/*
 * The opener forks: the child's copies of its handles work (a handle to
 * the opener itself names the opener, the child's parent); their going
 * away leaves the parent's.
 */
TEST(an_opener_that_forks)
{
	struct agent a;
	uintptr_t p, got[3];
	HANDLE h, self;
	char *mine;
	int fds[2];
	pid_t pid;
	char c = 0;
	SIZE_T n;

	ASSERT_EQ(0, agent_start(&a, 1));
	p = a_commit(&a, 0, 0x10000, PAGE_READWRITE);
	ASSERT_NE(0, p);
	a_fill(&a, p, 0x10000, 'O');
	h = OpenProcess(PROCESS_ALL_ACCESS, FALSE, a.pid);
	ASSERT_NE(NULL, h);
	self = OpenProcess(PROCESS_ALL_ACCESS, FALSE, getpid());
	ASSERT_NE(NULL, self);
	mine = VirtualAlloc(NULL, PAGE, MEM_RESERVE | MEM_COMMIT,
			    PAGE_READWRITE);
	ASSERT_NE(NULL, mine);
	mine[0] = 'M';
	ASSERT_EQ(0, pipe(fds));
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		uintptr_t got[3] = { 0 };

		/* Its copy of the handle to the agent works... */
		if (ReadProcessMemory(h, ptr(p), &c, 1, &n) && c == 'O')
			got[0] = 1;
		/* ...and the handle to its parent names the parent. */
		got[1] = (uintptr_t)VirtualAllocEx(self, NULL, PAGE,
						   MEM_RESERVE | MEM_COMMIT,
						   PAGE_READWRITE);
		if (ReadProcessMemory(self, mine, &c, 1, &n) && c == 'M')
			got[2] = 1;
		xfer(fds[1], got, sizeof(got), 1);
		CloseHandle(h);
		CloseHandle(self);
		_exit(0);
	}
	close(fds[1]);
	ASSERT_EQ(0, xfer(fds[0], got, sizeof(got), 0));
	close(fds[0]);
	EXPECT_EQ(0, wait_exit(pid));
	EXPECT_EQ(1, got[0]);
	ASSERT_NE(0, got[1]);
	EXPECT_EQ(MEM_COMMIT, query(got[1]).State);
	EXPECT_EQ(1, can_write(got[1], 1));
	EXPECT_EQ(1, got[2]);
	EXPECT_TRUE(VirtualFree(ptr(got[1]), 0, MEM_RELEASE));
	EXPECT_TRUE(VirtualFree(mine, 0, MEM_RELEASE));
	EXPECT_TRUE(CloseHandle(self));
	EXPECT_TRUE(ReadProcessMemory(h, ptr(p), &c, 1, &n));
	EXPECT_EQ('O', c);
	EXPECT_TRUE(VirtualFreeEx(h, ptr(p), 0, MEM_RELEASE));
	EXPECT_EQ(MEM_FREE, a_query(&a, p).State);
	EXPECT_TRUE(CloseHandle(h));
	EXPECT_EQ(0, agent_quit(&a));
}

/* ------------------------------------------------------------------ */
/* The file itself, from another process (uapi).                       */

TEST(the_file_from_another_process)
{
	struct ntvm_context_args ctx;
	struct ntvm_alloc_args al = { 0 };
	struct ntvm_free_args fr = { 0 };
	struct ntvm_protect_args pr = { 0 };
	struct ntvm_query_args qu = { 0 };
	struct ntvm_lock_args lk = { 0 };
	struct ntvm_working_set_args ws = { 0 };
	struct ntvm_get_write_watch_args gw = { 0 };
	struct ntvm_reset_write_watch_args rw = { 0 };
	struct ntvm_address_limit_args ad = { 0 };
	struct ntvm_commit_limit_args cl = { 0 };
	struct ntvm_commit_args cm = { 0 };
	struct ntvm_sysinfo_args si = { 0 };
	__u64 features = 0, ww[4], committed;
	struct agent a;
	int pfd, fd, n;
	uintptr_t p;

	ASSERT_EQ(0, agent_start(&a, 1));
	n = (int)call(&a, OP_NTVM_FD, 0, 0, 0, 0, NULL).ret;
	ASSERT_LE(0, n);
	pfd = pidfd_open_(a.pid);
	ASSERT_LE(0, pfd);
	fd = pidfd_getfd_(pfd, n);
	ASSERT_LE(0, fd);

	ASSERT_EQ(0, ioctl(fd, NTVM_IOC_FEATURES, &features));
	EXPECT_TRUE(features & NTVM_FEATURE_REMOTE);
	memset(&ctx, 0xaa, sizeof(ctx));
	ASSERT_EQ(0, ioctl(fd, NTVM_IOC_CONTEXT, &ctx));
	EXPECT_EQ((__u32)a.pid, ctx.owner_pid);
	EXPECT_EQ(0, ctx.flags);
	EXPECT_EQ(0, ioctl(fd, NTVM_IOC_SYSINFO, &si));
	ASSERT_EQ(0, ioctl(fd, NTVM_IOC_GET_COMMIT, &cm));
	committed = cm.committed;

	/* Alloc, protect, query, free: in the agent. */
	al.size = 0x10000;
	al.type = MEM_RESERVE | MEM_COMMIT;
	al.protect = PAGE_READWRITE;
	ASSERT_EQ(0, ioctl(fd, NTVM_IOC_ALLOC, &al));
	ASSERT_EQ(0, al.status);
	p = al.base;
	EXPECT_EQ(3, a_access(&a, p));
	EXPECT_EQ(0, ioctl(fd, NTVM_IOC_GET_COMMIT, &cm));
	EXPECT_EQ(committed + 16, cm.committed);
	pr.base = p;
	pr.size = PAGE;
	pr.protect = PAGE_READONLY;
	ASSERT_EQ(0, ioctl(fd, NTVM_IOC_PROTECT, &pr));
	EXPECT_EQ(0, pr.status);
	EXPECT_EQ(PAGE_READWRITE, pr.old_protect);
	EXPECT_EQ(1, a_access(&a, p));
	qu.address = p;
	ASSERT_EQ(0, ioctl(fd, NTVM_IOC_QUERY, &qu));
	EXPECT_EQ(0, qu.status);
	EXPECT_EQ(p, qu.allocation_base);
	EXPECT_EQ(PAGE_READONLY, qu.protect);
	EXPECT_EQ(PAGE, qu.region_size);

	/* What only the owner may do. */
	lk.base = p;
	lk.size = PAGE;
	lk.map_type = NTVM_MAP_PROCESS;
	errno = 0;
	EXPECT_EQ(-1, ioctl(fd, NTVM_IOC_LOCK, &lk));
	EXPECT_EQ(EPERM, errno);
	errno = 0;
	EXPECT_EQ(-1, ioctl(fd, NTVM_IOC_UNLOCK, &lk));
	EXPECT_EQ(EPERM, errno);
	errno = 0;
	EXPECT_EQ(-1, ioctl(fd, NTVM_IOC_WORKING_SET, &ws));
	EXPECT_EQ(EPERM, errno);
	gw.base = p;
	gw.size = PAGE;
	gw.addresses = (uintptr_t)ww;
	gw.count = 4;
	errno = 0;
	EXPECT_EQ(-1, ioctl(fd, NTVM_IOC_GET_WRITE_WATCH, &gw));
	EXPECT_EQ(EPERM, errno);
	rw.base = p;
	rw.size = PAGE;
	errno = 0;
	EXPECT_EQ(-1, ioctl(fd, NTVM_IOC_RESET_WRITE_WATCH, &rw));
	EXPECT_EQ(EPERM, errno);
	errno = 0;
	EXPECT_EQ(-1, ioctl(fd, NTVM_IOC_ADDRESS_LIMIT, &ad));
	EXPECT_EQ(EPERM, errno);
	errno = 0;
	EXPECT_EQ(-1, ioctl(fd, NTVM_IOC_SET_COMMIT_LIMIT, &cl));
	EXPECT_EQ(EPERM, errno);
	EXPECT_EQ(1, a_access(&a, p));

	fr.base = p;
	fr.type = MEM_RELEASE;
	ASSERT_EQ(0, ioctl(fd, NTVM_IOC_FREE, &fr));
	EXPECT_EQ(0, fr.status);
	EXPECT_EQ(MEM_FREE, a_query(&a, p).State);
	EXPECT_EQ(0, ioctl(fd, NTVM_IOC_GET_COMMIT, &cm));
	EXPECT_EQ(committed, cm.committed);

	/* The owner gone: ESRCH, and no owner. */
	EXPECT_EQ(0, agent_quit(&a));
	memset(&al, 0, sizeof(al));
	al.size = 0x10000;
	al.type = MEM_RESERVE | MEM_COMMIT;
	al.protect = PAGE_READWRITE;
	errno = 0;
	EXPECT_EQ(-1, ioctl(fd, NTVM_IOC_ALLOC, &al));
	EXPECT_EQ(ESRCH, errno);
	qu.address = p;
	errno = 0;
	EXPECT_EQ(-1, ioctl(fd, NTVM_IOC_QUERY, &qu));
	EXPECT_EQ(ESRCH, errno);
	memset(&ctx, 0xaa, sizeof(ctx));
	ASSERT_EQ(0, ioctl(fd, NTVM_IOC_CONTEXT, &ctx));
	EXPECT_EQ(0, ctx.owner_pid);
	EXPECT_EQ(0, ctx.flags);
	close(fd);
	close(pfd);
}

/*
 * A context opened by a thread that has exited since: still its process's
 * (NTVM_IOC_CONTEXT names the process), found and used by OpenProcess.
 */
TEST(a_context_opened_by_a_thread)
{
	struct ntvm_context_args ctx;
	struct agent a;
	int pfd, fd, n;
	uintptr_t p;
	HANDLE h;

	ASSERT_EQ(0, agent_start(&a, 0));
	ASSERT_EQ(0, call(&a, OP_THREAD_NTVM, 0, 0, 0, 0, NULL).ret);
	n = (int)call(&a, OP_NTVM_FD, 0, 0, 0, 0, NULL).ret;
	ASSERT_LE(0, n);
	pfd = pidfd_open_(a.pid);
	ASSERT_LE(0, pfd);
	fd = pidfd_getfd_(pfd, n);
	ASSERT_LE(0, fd);
	memset(&ctx, 0xaa, sizeof(ctx));
	ASSERT_EQ(0, ioctl(fd, NTVM_IOC_CONTEXT, &ctx));
	EXPECT_EQ((__u32)a.pid, ctx.owner_pid);
	EXPECT_EQ(0, ctx.flags);
	close(fd);
	close(pfd);
	h = OpenProcess(PROCESS_ALL_ACCESS, FALSE, a.pid);
	ASSERT_NE(NULL, h);
	p = (uintptr_t)VirtualAllocEx(h, NULL, 0x10000,
				      MEM_RESERVE | MEM_COMMIT,
				      PAGE_READWRITE);
	ASSERT_NE(0, p);
	EXPECT_EQ(3, a_access(&a, p));
	EXPECT_TRUE(CloseHandle(h));
	EXPECT_EQ(0, agent_quit(&a));
}

/* Bytes of address space @pid maps (VmSize), 0 if unknown. */
static unsigned long vm_size(pid_t pid)
{
	unsigned long kb = 0;
	char path[64], line[128];
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	f = fopen(path, "r");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmSize: %lu kB", &kb) == 1)
			break;
	fclose(f);
	return kb << 10;
}

/*
 * The target's RLIMIT_AS bounds what is reserved in it, from here as from
 * itself: the same status both ways.
 */
TEST(the_target_s_rlimit_as)
{
	unsigned long has;
	uintptr_t base = 0, rbase = 0;
	SIZE_T size = 1UL << 30, rsize = 1UL << 30;
	struct agent a;
	NTSTATUS lo, re;
	HANDLE h;

	ASSERT_EQ(0, agent_start(&a, 1));
	h = OpenProcess(PROCESS_ALL_ACCESS, FALSE, a.pid);
	ASSERT_NE(NULL, h);
	/* Room for what it has, and 256 MiB: not for 1 GiB more. */
	has = vm_size(a.pid);
	ASSERT_NE(0, has);
	ASSERT_EQ(0, call(&a, OP_RLIMIT_AS, has + (256UL << 20), 0, 0, 0,
			  NULL).ret);
	lo = a_alloc(&a, &base, &size, MEM_RESERVE, PAGE_READWRITE);
	re = rnt_alloc(h, &rbase, &rsize, MEM_RESERVE, PAGE_READWRITE);
	EXPECT_NE(STATUS_SUCCESS, lo);
	EXPECT_EQ(lo, re);
	/* A small one fits, both ways. */
	base = rbase = 0;
	size = rsize = 0x10000;
	EXPECT_EQ(STATUS_SUCCESS,
		  a_alloc(&a, &base, &size, MEM_RESERVE, PAGE_READWRITE));
	EXPECT_EQ(STATUS_SUCCESS,
		  rnt_alloc(h, &rbase, &rsize, MEM_RESERVE, PAGE_READWRITE));
	EXPECT_EQ(MEM_RESERVE, a_query(&a, rbase).State);
	EXPECT_TRUE(CloseHandle(h));
	EXPECT_EQ(0, agent_quit(&a));
}

/* ------------------------------------------------------------------ */
/* Races.                                                              */

struct race_shared {
	volatile uintptr_t addr;
	volatile int stop;
	volatile unsigned long rounds;
};

struct race {
	HANDLE h;
	struct race_shared *sh;
	volatile int stop;
	unsigned long reads, partial, queries, protects, commits, allocs, bad;
	char why[160];
};

static void race_bad(struct race *r, const char *what, unsigned long v)
{
	if (!r->bad++)
		snprintf(r->why, sizeof(r->why), "%s: 0x%lx", what, v);
}

static void *race_reader(void *arg)
{
	struct race *r = arg;
	static __thread char buf[0x2000];

	while (!r->stop) {
		uintptr_t at = r->sh->addr;
		SIZE_T n = 99;
		DWORD e;
		int i;

		if (!at)
			continue;
		memset(buf, 0xff, sizeof(buf));
		if (ReadProcessMemory(r->h, ptr(at), buf, sizeof(buf), &n)) {
			if (n != sizeof(buf))
				race_bad(r, "read count", n);
			r->reads++;
		} else {
			e = GetLastError();
			if (e != ERROR_PARTIAL_COPY && e != ERROR_ACCESS_DENIED)
				race_bad(r, "read error", e);
			if (n >= sizeof(buf))
				race_bad(r, "partial count", n);
			r->partial++;
		}
		/* Zero or the target's odd fill bytes, nothing else. */
		for (i = 0; i < (int)n && i < (int)sizeof(buf); i++)
			if (buf[i] && !((unsigned char)buf[i] & 1)) {
				race_bad(r, "byte", (unsigned char)buf[i]);
				break;
			}
	}
	return NULL;
}

static void *race_querier(void *arg)
{
	struct race *r = arg;

	while (!r->stop) {
		uintptr_t at = r->sh->addr, base;
		MEMORY_BASIC_INFORMATION m;
		DWORD old = 0, e;

		if (!at)
			continue;
		memset(&m, 0xaa, sizeof(m));
		if (VirtualQueryEx(r->h, ptr(at + PAGE), &m, sizeof(m)) !=
		    sizeof(m)) {
			e = GetLastError();
			if (e != ERROR_ACCESS_DENIED || !r->sh->stop)
				race_bad(r, "query error", e);
			continue;
		}
		r->queries++;
		base = (uintptr_t)m.AllocationBase;
		if ((uintptr_t)m.BaseAddress != at + PAGE)
			race_bad(r, "query base", (uintptr_t)m.BaseAddress);
		if (m.State == MEM_FREE) {
			if (base || m.Protect != PAGE_NOACCESS || m.Type ||
			    m.AllocationProtect)
				race_bad(r, "free", m.Protect);
		} else if (m.State == MEM_COMMIT || m.State == MEM_RESERVE) {
			if (base != at ||
			    m.Type != MEM_PRIVATE ||
			    m.AllocationProtect != PAGE_READWRITE ||
			    m.RegionSize > 0x10000 - PAGE)
				race_bad(r, "allocation", base);
			if (m.State == MEM_COMMIT &&
			    m.Protect != PAGE_READWRITE &&
			    m.Protect != PAGE_NOACCESS)
				race_bad(r, "protect", m.Protect);
			if (m.State == MEM_RESERVE && m.Protect)
				race_bad(r, "reserved protect", m.Protect);
		} else {
			race_bad(r, "state", m.State);
		}
		/* Harmless changes: RW over RW, a commit of a page. */
		if (VirtualProtectEx(r->h, ptr(at + 2 * PAGE), PAGE,
				     PAGE_READWRITE, &old)) {
			r->protects++;
			if (old != PAGE_READWRITE && old != PAGE_NOACCESS)
				race_bad(r, "old protect", old);
		} else if ((e = GetLastError()) != ERROR_INVALID_ADDRESS &&
			   e != ERROR_ACCESS_DENIED) {
			race_bad(r, "protect error", e);
		}
		if (VirtualAllocEx(r->h, ptr(at + 3 * PAGE), PAGE, MEM_COMMIT,
				   PAGE_READWRITE))
			r->commits++;
		else if ((e = GetLastError()) != ERROR_INVALID_ADDRESS &&
			 e != ERROR_ACCESS_DENIED)
			race_bad(r, "commit error", e);
	}
	return NULL;
}

/*
 * Allocations of our own in the target, anywhere and at addresses it has
 * not mapped (the kernel maps those in the target's address space), freed
 * again; the target is killed in the middle of them at the end.
 */
static void *race_allocator(void *arg)
{
	struct race *r = arg;
	unsigned long i;

	for (i = 0; !r->stop; i++) {
		void *want = i % 2 ? NULL :
			     ptr(0x500000000UL + (i % 64) * 0x10000);
		void *p = VirtualAllocEx(r->h, want, 0x10000,
					 MEM_RESERVE | MEM_COMMIT,
					 PAGE_READWRITE);
		DWORD e;

		if (!p) {
			e = GetLastError();
			/* 487: the target has something there. */
			if (want && e == ERROR_INVALID_ADDRESS)
				continue;
			if (!r->sh->stop || e != ERROR_ACCESS_DENIED)
				race_bad(r, "alloc error", e);
			continue;
		}
		if (want && p != want)
			race_bad(r, "alloc address", (uintptr_t)p);
		r->allocs++;
		if (!VirtualFreeEx(r->h, p, 0, MEM_RELEASE) &&
		    (GetLastError() != ERROR_ACCESS_DENIED || !r->sh->stop))
			race_bad(r, "free error", GetLastError());
	}
	return NULL;
}

/*
 * The target: allocate, fill, protect, decommit, release, over again,
 * until it is killed (not when told to stop: it must die under the
 * calls, and a target that saw @stop could exit before its SIGKILL).
 */
static void race_target(struct race_shared *sh)
{
	unsigned long i;

	for (i = 0;; i++) {
		char *p = VirtualAlloc(NULL, 0x10000, MEM_RESERVE | MEM_COMMIT,
				       PAGE_READWRITE);
		DWORD old;

		if (!p)
			_exit(1);
		sh->addr = (uintptr_t)p;
		memset(p, (int)(i % 64) * 2 + 1, 0x10000);
		switch (i % 4) {
		case 1:
			VirtualProtect(p + PAGE, 3 * PAGE, PAGE_NOACCESS,
				       &old);
			break;
		case 2:
			VirtualFree(p + PAGE, 3 * PAGE, MEM_DECOMMIT);
			break;
		}
		if (!VirtualFree(p, 0, MEM_RELEASE))
			_exit(2);
		sh->rounds = i + 1;
	}
}

TEST_F_TIMEOUT(slow, race_the_target_frees_while_we_read, 120)
{
	struct race_shared *sh = mmap(NULL, PAGE, PROT_READ | PROT_WRITE,
				      MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	struct race r = { 0 };
	pthread_t t[3];
	pid_t pid;

	ASSERT_NE(MAP_FAILED, sh);
	inject_racy = 1;
	r.sh = sh;
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		race_target(sh);
	}
	while (!sh->addr)
		usleep(1000);
	r.h = OpenProcess(PROCESS_ALL_ACCESS, FALSE, pid);
	ASSERT_NE(NULL, r.h);
	ASSERT_EQ(0, pthread_create(&t[0], NULL, race_reader, &r));
	ASSERT_EQ(0, pthread_create(&t[1], NULL, race_querier, &r));
	ASSERT_EQ(0, pthread_create(&t[2], NULL, race_allocator, &r));
	sleep(3);
	/* Then the target dies under our calls. */
	sh->stop = 1;
	kill(pid, SIGKILL);
	EXPECT_EQ(128 + SIGKILL, wait_exit(pid));
	usleep(300000);
	r.stop = 1;
	pthread_join(t[0], NULL);
	pthread_join(t[1], NULL);
	pthread_join(t[2], NULL);
	TH_LOG("target rounds %lu; reads %lu, failed %lu, queries %lu, protects %lu, commits %lu, allocations %lu",
	       sh->rounds, r.reads, r.partial, r.queries, r.protects,
	       r.commits, r.allocs);
	EXPECT_EQ(0, r.bad);
	if (r.bad)
		TH_LOG("%s", r.why);
	EXPECT_LT(0, sh->rounds);
	EXPECT_LT(0, r.queries);
	EXPECT_LT(0, r.allocs);
	EXPECT_TRUE(CloseHandle(r.h));
	munmap(sh, PAGE);
}

/*
 * The module stays while a context's file is held, here by another
 * process after its owner exited; it goes once that is closed.  Last: it
 * unloads and loads the module again.
 */
TEST_F_TIMEOUT(slow, rmmod_waits_for_a_file_taken_from_another_process, 120)
{
	int pfd, fd, n, ok;
	struct agent a;

	if (geteuid() != 0 || access("/lib/ntvm.ko", R_OK))
		SKIP(return, "needs root and /lib/ntvm.ko (the test VM)");
	ASSERT_EQ(0, agent_start(&a, 1));
	ASSERT_NE(0, a_commit(&a, 0, 0x10000, PAGE_READWRITE));
	n = (int)call(&a, OP_NTVM_FD, 0, 0, 0, 0, NULL).ret;
	pfd = pidfd_open_(a.pid);
	ASSERT_LE(0, pfd);
	fd = pidfd_getfd_(pfd, n);
	ASSERT_LE(0, fd);
	close(pfd);
	EXPECT_EQ(0, agent_quit(&a));
	errno = 0;
	EXPECT_EQ(-1, syscall(SYS_delete_module, "ntvm", O_NONBLOCK));
	EXPECT_EQ(EWOULDBLOCK, errno);
	close(fd);
	ok = syscall(SYS_delete_module, "ntvm", O_NONBLOCK);
	EXPECT_EQ(0, ok);
	if (ok)
		TH_LOG("delete_module: %s", strerror(errno));
	if (access("/dev/ntvm", F_OK)) {
		fd = open("/lib/ntvm.ko", O_RDONLY | O_CLOEXEC);
		ASSERT_LE(0, fd);
		ASSERT_EQ(0, syscall(SYS_finit_module, fd, "", 0));
		close(fd);
	}
}

TEST_HARNESS_MAIN
