// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Process handles: OpenProcess, CloseHandle, GetProcessId.
 *
 * A handle holds what Linux lets the opener do to the process, taken
 * once at OpenProcess() by interfaces that check the right themselves:
 *
 *  - a pidfd (pidfd_open(2)), which names the process and not its number;
 *  - /proc/PID/mem and /proc/PID/maps, opened read-write and read: the
 *    open checks ptrace access (PTRACE_MODE_ATTACH: the same credentials
 *    and a dumpable process, or CAP_SYS_PTRACE, and Yama) and binds the
 *    file to the process's address space of that moment, so that neither
 *    a recycled pid nor an exec() reaches other memory through it;
 *  - the process's own ntvm context, a file taken from it with
 *    pidfd_getfd(2) (which checks ptrace access again), if it has one: the
 *    kernel lets a holder of the file allocate, free, protect and query
 *    in the owner's address space.  A process that has none yet when it
 *    is opened is looked at again when a call needs it.
 *
 * Handles are multiples of 4 from 0x100, never NULL or -1
 * (GetCurrentProcess()), kept in a table under a lock; each call holds
 * the process it uses, so that CloseHandle() on another thread cannot
 * close its files under it.
 *
 * fork(): the child keeps the table and the files, which still name the
 * same processes (a handle to the parent itself then names the parent,
 * another process for the child).  exec(): the files close, and the
 * handles with them.
 */
#include <dirent.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "internal.h"

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_pidfd_getfd
#define SYS_pidfd_getfd 438
#endif

/* The rights a handle with memory access needs ptrace access for. */
#define NTVM_MEMORY_RIGHTS (PROCESS_VM_OPERATION | PROCESS_VM_READ | \
			    PROCESS_VM_WRITE | PROCESS_QUERY_INFORMATION)

struct ntvm_process {
	unsigned int refs;	/* the table's, and each call's */
	DWORD pid;
	DWORD access;
	int pidfd;
	int mem_fd;		/* -1 without memory rights */
	int maps_fd;
	__u64 max_address;	/* without a context: its default */
	pthread_mutex_t lock;	/* looking for the context */
	int ntvm_fd;		/* its context, -1 until found */
	int self;		/* opened on the caller itself */
};

static pthread_mutex_t ntvm_handles_lock = PTHREAD_MUTEX_INITIALIZER;
static struct ntvm_process **ntvm_handles;
static size_t ntvm_handles_size;
static pthread_once_t ntvm_handles_once = PTHREAD_ONCE_INIT;
/* getpid(), kept: a handle to the caller itself takes its own path. */
static DWORD ntvm_own_pid;

/* In a forked child: the parent's other threads may have held locks. */
static void ntvm_handles_child(void)
{
	size_t slot;

	pthread_mutex_init(&ntvm_handles_lock, NULL);
	/*
	 * A handle to the parent itself now names another process: its
	 * files (the parent's memory) are used, never the child's own, and
	 * no handle becomes the child's, whatever its pid.
	 */
	for (slot = 0; slot < ntvm_handles_size; slot++) {
		if (!ntvm_handles[slot])
			continue;
		pthread_mutex_init(&ntvm_handles[slot]->lock, NULL);
		ntvm_handles[slot]->self = 0;
	}
	ntvm_own_pid = (DWORD)getpid();
}

static void ntvm_handles_init(void)
{
	ntvm_own_pid = (DWORD)getpid();
	pthread_atfork(NULL, NULL, ntvm_handles_child);
}

/*
 * Handle values: 0x100, 0x104, ... (below, the small values programs
 * take for a handle that is not one).
 */
#define NTVM_HANDLE_FIRST 0x100

static HANDLE ntvm_handle_of(size_t slot)
{
	return (HANDLE)(uintptr_t)(NTVM_HANDLE_FIRST + slot * 4);
}

/* The table slot @h would be in; ntvm_handles_size if none. */
static size_t ntvm_slot_of(HANDLE h)
{
	uintptr_t v = (uintptr_t)h;

	if (v % 4 || v < NTVM_HANDLE_FIRST ||
	    (v - NTVM_HANDLE_FIRST) / 4 >= ntvm_handles_size)
		return ntvm_handles_size;
	return (v - NTVM_HANDLE_FIRST) / 4;
}

static void ntvm_process_put(struct ntvm_process *p)
{
	if (__atomic_sub_fetch(&p->refs, 1, __ATOMIC_ACQ_REL))
		return;
	if (p->ntvm_fd >= 0)
		close(p->ntvm_fd);
	if (p->maps_fd >= 0)
		close(p->maps_fd);
	if (p->mem_fd >= 0)
		close(p->mem_fd);
	if (p->pidfd >= 0)
		close(p->pidfd);
	pthread_mutex_destroy(&p->lock);
	free(p);
}

/* The process @h names, held; NULL if @h is not an open handle. */
static struct ntvm_process *ntvm_process_get(HANDLE h)
{
	struct ntvm_process *p = NULL;
	size_t slot;

	pthread_mutex_lock(&ntvm_handles_lock);
	slot = ntvm_slot_of(h);
	if (slot < ntvm_handles_size) {
		p = ntvm_handles[slot];
		if (p)
			__atomic_add_fetch(&p->refs, 1, __ATOMIC_RELAXED);
	}
	pthread_mutex_unlock(&ntvm_handles_lock);
	return p;
}

/*
 * Opened on the caller itself (and not since inherited by a child): never
 * decided by the pid, which a child may have been given after the process
 * the handle names exited.
 */
static int ntvm_process_is_self(const struct ntvm_process *p)
{
	return p->self;
}

/*
 * The highest user address ntvm would give the process's context: that
 * of a 32-bit process if its program is a 32-bit ELF file.
 */
static __u64 ntvm_default_max_address(DWORD pid)
{
	unsigned char ident[EI_NIDENT];
	char path[64];
	int fd;

	snprintf(path, sizeof(path), "/proc/%u/exe", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NTVM_MAX_USER_ADDRESS;
	if (read(fd, ident, sizeof(ident)) != sizeof(ident) ||
	    memcmp(ident, ELFMAG, SELFMAG) || ident[EI_CLASS] != ELFCLASS32) {
		close(fd);
		return NTVM_MAX_USER_ADDRESS;
	}
	close(fd);
	return NTVM_MAXIMUM_ADDRESS_32;
}

static NTSTATUS ntvm_errno_status(int err)
{
	switch (err) {
	case EACCES:
	case EPERM:
		return STATUS_ACCESS_DENIED;
	case ESRCH:
	case ENOENT:
	case EINVAL:	/* a thread's id, not a process's */
		return STATUS_INVALID_PARAMETER;
	case ENOMEM:
		return STATUS_NO_MEMORY;
	case EMFILE:
	case ENFILE:
		return STATUS_INSUFFICIENT_RESOURCES;
	default:
		return STATUS_NOT_SUPPORTED;
	}
}

/*
 * /proc/PID/@name, or, when the process's main thread has exited alone
 * (its files then fail with ESRCH), that of a thread still running.
 */
static NTSTATUS ntvm_proc_open(DWORD pid, const char *name, int flags,
			       int *fd)
{
	char path[320];
	struct dirent *d;
	DIR *dir;
	int err;

	snprintf(path, sizeof(path), "/proc/%u/%s", pid, name);
	*fd = open(path, flags | O_CLOEXEC);
	if (*fd >= 0)
		return STATUS_SUCCESS;
	err = errno;
	snprintf(path, sizeof(path), "/proc/%u/task", pid);
	dir = err == ESRCH ? opendir(path) : NULL;
	while (dir && *fd < 0 && (d = readdir(dir))) {
		if (d->d_name[0] < '1' || d->d_name[0] > '9' ||
		    (DWORD)atoi(d->d_name) == pid)
			continue;
		snprintf(path, sizeof(path), "/proc/%u/task/%s/%s", pid,
			 d->d_name, name);
		*fd = open(path, flags | O_CLOEXEC);
		if (*fd < 0 && errno != ESRCH)
			err = errno;
	}
	if (dir)
		closedir(dir);
	return *fd < 0 ? ntvm_errno_status(err) : STATUS_SUCCESS;
}

/* Whether the process the pidfd names has exited. */
static int ntvm_pidfd_exited(int pidfd)
{
	struct pollfd pfd = { .fd = pidfd, .events = POLLIN };

	return poll(&pfd, 1, 0) > 0;
}

static NTSTATUS ntvm_process_find_context(struct ntvm_process *p);

static NTSTATUS ntvm_process_open(DWORD pid, DWORD access,
				  struct ntvm_process *p)
{
	NTSTATUS status;

	p->pidfd = syscall(SYS_pidfd_open, (pid_t)pid, 0);
	if (p->pidfd < 0)
		return ntvm_errno_status(errno);
	if (access & NTVM_MEMORY_RIGHTS) {
		/* Read-write only for a right to write. */
		status = ntvm_proc_open(pid, "mem",
					access & PROCESS_VM_WRITE ? O_RDWR :
								    O_RDONLY,
					&p->mem_fd);
		if (!status)
			status = ntvm_proc_open(pid, "maps", O_RDONLY,
						&p->maps_fd);
		if (status)
			return status;
		p->max_address = ntvm_default_max_address(pid);
		/*
		 * Its context, if it has one already (else looked for
		 * again when needed); the kernel may refuse to give it.
		 */
		if (!p->self &&
		    ntvm_process_find_context(p) == STATUS_ACCESS_DENIED)
			return STATUS_ACCESS_DENIED;
	}
	/*
	 * The files were opened by number: alive now, the process was the
	 * one with that number all along, not a new one that took it.
	 */
	if (ntvm_pidfd_exited(p->pidfd))
		return STATUS_INVALID_PARAMETER;
	return STATUS_SUCCESS;
}

static NTSTATUS ntvm_handle_insert(struct ntvm_process *p, HANDLE *h)
{
	struct ntvm_process **table;
	size_t slot, size;

	pthread_mutex_lock(&ntvm_handles_lock);
	for (slot = 0; slot < ntvm_handles_size; slot++)
		if (!ntvm_handles[slot])
			break;
	if (slot == ntvm_handles_size) {
		size = ntvm_handles_size ? 2 * ntvm_handles_size : 16;
		table = realloc(ntvm_handles, size * sizeof(*table));
		if (!table) {
			pthread_mutex_unlock(&ntvm_handles_lock);
			return STATUS_NO_MEMORY;
		}
		memset(table + ntvm_handles_size, 0,
		       (size - ntvm_handles_size) * sizeof(*table));
		ntvm_handles = table;
		ntvm_handles_size = size;
	}
	ntvm_handles[slot] = p;
	pthread_mutex_unlock(&ntvm_handles_lock);
	*h = ntvm_handle_of(slot);
	return STATUS_SUCCESS;
}

NTVM_EXPORT HANDLE WINAPI OpenProcess(DWORD access, BOOL inherit, DWORD pid)
{
	struct ntvm_process *p;
	NTSTATUS status;
	HANDLE h;

	pthread_once(&ntvm_handles_once, ntvm_handles_init);
	/* 0 is the idle process on Windows; Linux's pids are positive. */
	if (!pid || pid > 0x7fffffffu) {
		SetLastError(ERROR_INVALID_PARAMETER);
		return NULL;
	}
	p = calloc(1, sizeof(*p));
	if (!p) {
		SetLastError(ERROR_NOT_ENOUGH_MEMORY);
		return NULL;
	}
	p->refs = 1;
	p->pid = pid;
	p->self = pid == ntvm_own_pid;
	/* PROCESS_QUERY_INFORMATION grants the limited one too. */
	p->access = access & PROCESS_QUERY_INFORMATION ?
		    access | PROCESS_QUERY_LIMITED_INFORMATION : access;
	p->pidfd = -1;
	p->mem_fd = -1;
	p->maps_fd = -1;
	p->ntvm_fd = -1;
	pthread_mutex_init(&p->lock, NULL);
	status = ntvm_process_open(pid, access, p);
	if (!status)
		status = ntvm_handle_insert(p, &h);
	if (status) {
		ntvm_process_put(p);
		SetLastError(RtlNtStatusToDosError(status));
		return NULL;
	}
	return h;
}

NTVM_EXPORT BOOL WINAPI CloseHandle(HANDLE h)
{
	struct ntvm_process *p = NULL;
	size_t slot;

	/* The pseudo-handle closes as a no-op, as on Windows. */
	if (ntvm_is_self(h))
		return TRUE;
	pthread_mutex_lock(&ntvm_handles_lock);
	slot = ntvm_slot_of(h);
	if (slot < ntvm_handles_size) {
		p = ntvm_handles[slot];
		ntvm_handles[slot] = NULL;
	}
	pthread_mutex_unlock(&ntvm_handles_lock);
	if (!p) {
		SetLastError(ERROR_INVALID_HANDLE);
		return FALSE;
	}
	ntvm_process_put(p);
	return TRUE;
}

NTVM_EXPORT DWORD WINAPI GetCurrentProcessId(void)
{
	return (DWORD)getpid();
}

NTVM_EXPORT DWORD WINAPI GetProcessId(HANDLE h)
{
	struct ntvm_target t;
	NTSTATUS status;
	DWORD pid;

	if (ntvm_is_self(h))
		return GetCurrentProcessId();
	status = ntvm_target_get_handle(h, PROCESS_QUERY_LIMITED_INFORMATION,
					0, &t);
	if (status) {
		SetLastError(RtlNtStatusToDosError(status));
		return 0;
	}
	pid = t.process->pid;
	ntvm_target_put(&t);
	return pid;
}

/*
 * Whether the address space the handle was opened on is gone while the
 * process lives: it exec'd.  (Its memory file then reads 0 bytes, where
 * an address never mapped, such as 0, fails with EIO.)  A context the
 * new program opens is not the handle's to use.
 */
static int ntvm_process_execed(struct ntvm_process *p)
{
	char c;

	return pread(p->mem_fd, &c, 1, 0) == 0;
}

/*
 * The process's own context among its files: those that are /dev/ntvm,
 * taken with pidfd_getfd(), the one it opened kept.  Under p->lock.
 */
static NTSTATUS ntvm_process_find_context(struct ntvm_process *p)
{
	struct ntvm_context_args ctx;
	char path[64], link[16];
	struct dirent *d;
	NTSTATUS status = STATUS_SUCCESS;
	DIR *dir;
	ssize_t n;
	int fd;

	if (ntvm_pidfd_exited(p->pidfd) || ntvm_process_execed(p))
		return STATUS_PROCESS_IS_TERMINATING;
	snprintf(path, sizeof(path), "/proc/%u/fd", p->pid);
	dir = opendir(path);
	if (!dir)
		return ntvm_errno_status(errno);
	while ((d = readdir(dir)) && p->ntvm_fd < 0) {
		n = readlinkat(dirfd(dir), d->d_name, link, sizeof(link));
		if (n != sizeof(NTVM_DEVICE) - 1 ||
		    memcmp(link, NTVM_DEVICE, n))
			continue;
		fd = syscall(SYS_pidfd_getfd, p->pidfd, atoi(d->d_name), 0);
		if (fd < 0) {
			if (errno == EPERM || errno == EACCES)
				status = STATUS_ACCESS_DENIED;
			continue;
		}
		/* A module this library cannot use: no context to find. */
		if (ntvm_version_ok(fd) &&
		    !ioctl(fd, NTVM_IOC_CONTEXT, &ctx) &&
		    ctx.owner_pid == p->pid)
			__atomic_store_n(&p->ntvm_fd, fd, __ATOMIC_RELEASE);
		else
			close(fd);
	}
	closedir(dir);
	return p->ntvm_fd >= 0 ? STATUS_SUCCESS : status;
}

/* Its context, looked for again if not found yet; -1 without one. */
static NTSTATUS ntvm_process_context(struct ntvm_process *p, int look,
				     int *fd)
{
	NTSTATUS status = STATUS_SUCCESS;

	*fd = __atomic_load_n(&p->ntvm_fd, __ATOMIC_ACQUIRE);
	if (*fd >= 0 || !look || p->mem_fd < 0)
		return STATUS_SUCCESS;
	pthread_mutex_lock(&p->lock);
	if (p->ntvm_fd < 0)
		status = ntvm_process_find_context(p);
	*fd = p->ntvm_fd;
	pthread_mutex_unlock(&p->lock);
	return status;
}

NTSTATUS ntvm_target_get_handle(HANDLE h, DWORD access, unsigned int flags,
				struct ntvm_target *t)
{
	struct ntvm_process *p = ntvm_process_get(h);
	NTSTATUS status;

	if (!p)
		return STATUS_INVALID_HANDLE;
	if ((p->access & access) != access) {
		ntvm_process_put(p);
		return STATUS_ACCESS_DENIED;
	}
	t->process = p;
	t->fd = -1;
	if (ntvm_process_is_self(p)) {
		t->fd = ntvm_dev();
		return STATUS_SUCCESS;
	}
	if (flags & NTVM_TARGET_OWN) {
		ntvm_process_put(p);
		return STATUS_ACCESS_DENIED;
	}
	status = ntvm_process_context(p, flags & NTVM_TARGET_LOOK, &t->fd);
	if (status && t->fd < 0) {
		ntvm_process_put(p);
		return status;
	}
	return STATUS_SUCCESS;
}

void ntvm_process_release(struct ntvm_process *p)
{
	ntvm_process_put(p);
}

int ntvm_target_is_remote(const struct ntvm_target *t)
{
	return t->process && !ntvm_process_is_self(t->process);
}

int ntvm_target_look(struct ntvm_target *t)
{
	if (ntvm_target_is_remote(t))
		ntvm_process_context(t->process, 1, &t->fd);
	return t->fd;
}

/*
 * The caller's own /proc/self/mem, for the pseudo-handle: opened when
 * first needed, and again in a forked child (the file is bound to the
 * parent's address space).
 */
static pthread_mutex_t ntvm_self_lock = PTHREAD_MUTEX_INITIALIZER;
static int ntvm_self_mem_fd = -1;
static pthread_once_t ntvm_self_once = PTHREAD_ONCE_INIT;

static void ntvm_self_child(void)
{
	pthread_mutex_init(&ntvm_self_lock, NULL);
	if (ntvm_self_mem_fd >= 0)
		close(ntvm_self_mem_fd);
	ntvm_self_mem_fd = -1;
}

static void ntvm_self_init(void)
{
	pthread_atfork(NULL, NULL, ntvm_self_child);
}

static int ntvm_self_file(int *fd, const char *path, int flags)
{
	int v = __atomic_load_n(fd, __ATOMIC_ACQUIRE);

	if (v >= 0)
		return v;
	pthread_once(&ntvm_self_once, ntvm_self_init);
	pthread_mutex_lock(&ntvm_self_lock);
	if (*fd < 0)
		__atomic_store_n(fd, open(path, flags | O_CLOEXEC),
				 __ATOMIC_RELEASE);
	v = *fd;
	pthread_mutex_unlock(&ntvm_self_lock);
	return v;
}

int ntvm_target_mem(const struct ntvm_target *t)
{
	if (ntvm_target_is_remote(t))
		return t->process->mem_fd;
	return ntvm_self_file(&ntvm_self_mem_fd, "/proc/self/mem", O_RDWR);
}

/* Only for another process: the caller's own query is the kernel's. */
int ntvm_target_maps(const struct ntvm_target *t, __u64 *max_address)
{
	*max_address = t->process->max_address;
	return t->process->maps_fd;
}
