// SPDX-License-Identifier: GPL-2.0
/*
 * Run any selftest under fault injection: with NTVM_FAULTINJ=1 in the
 * environment, every ntvm ioctl the program makes (directly or through
 * libntvm) runs with this thread's allocations failing at 10%.  An
 * operation that then fails with STATUS_NO_MEMORY (the module's status
 * for a failed allocation) must have left the range it names exactly
 * as it was (every region's base, size, state, protection, type and
 * allocation); it is checked, and retried with the same arguments, so the
 * test itself sees the call succeed and checks the outcome as usual.  A
 * failure that changed the state aborts the program, which fails the test.
 *
 * This file defines ioctl(): it takes the place of the C library's for
 * the test and for libntvm, which is linked statically.  Without
 * NTVM_FAULTINJ it only forwards the call.
 *
 * Write watches are not in a query's answer: a failed get or reset of
 * write watches is checked against the pages a watch query (without
 * reset) reports before and after it instead.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <linux/ntvm.h>

#include "inject.h"

#define FI		"/sys/kernel/debug/"
#define MAX_REGIONS	256
#define MAX_TRIES	20

struct inject_stats {
	unsigned long calls;	/* ntvm calls made with injection armed */
	unsigned long failed;	/* ... that failed and were checked */
	unsigned long retried_out;	/* ... that failed MAX_TRIES times */
};

int inject_racy;
static int inject_on;
static pid_t inject_pid;
static struct inject_stats *stats;	/* shared with forked children */

/*
 * fork() waits for the armed calls in flight: it makes the pages of their
 * arguments copy-on-write again, and copying a result out would then need
 * a page, fail for it and be seen as EFAULT instead of a checked failure.
 */
static pthread_rwlock_t fork_lock;

static __thread int arm_fd = -1;
static __thread pid_t arm_tid;
static __thread int armed_by_test;
static pthread_key_t arm_key;

static long raw_ioctl(int fd, unsigned long req, void *arg)
{
	return syscall(SYS_ioctl, fd, req, arg);
}

static int put(const char *path, const char *value)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = write(fd, value, strlen(value));
	close(fd);
	return n == (ssize_t)strlen(value) ? 0 : -1;
}

/*
 * Linux 6.12's mmap_region() corrupts the VMA tree when the second merge
 * attempt it makes after a driver's ->mmap() changed vm_flags fails for
 * memory (fixed in 6.13 by "mm: defer second attempt at merge on mmap()").
 * ntvm's ->mmap() sets VM_DONTCOPY, so every view takes that path: keep
 * injected failures out of vma_merge_new_range() where it exists.
 * Return: 0, or -1 if the range could not be set.
 */
static int reject_merge(void)
{
	unsigned long long addr, start = 0, end = ~0ULL;
	char type, name[256];
	FILE *f = fopen("/proc/kallsyms", "r");
	char buf[64];
	int err = 0;

	if (!f)
		return -1;
	while (fscanf(f, "%llx %c %255s%*[^\n]", &addr, &type, name) == 3)
		if (!strcmp(name, "vma_merge_new_range"))
			start = addr;
	rewind(f);
	while (start && fscanf(f, "%llx %c %255s%*[^\n]", &addr, &type,
			       name) == 3)
		if (addr > start && addr < end)
			end = addr;
	fclose(f);
	if (!start)
		return 0;	/* not 6.12: nothing to keep out */
	snprintf(buf, sizeof(buf), "%llu", start);
	err |= put(FI "failslab/reject-start", buf);
	err |= put(FI "fail_page_alloc/reject-start", buf);
	snprintf(buf, sizeof(buf), "%llu", end);
	err |= put(FI "failslab/reject-end", buf);
	err |= put(FI "fail_page_alloc/reject-end", buf);
	return err ? -1 : 0;
}

int inject_setup(void)
{
	static const char *const knobs[][2] = {
		{ FI "failslab/probability", "10" },
		{ FI "failslab/interval", "1" },
		{ FI "failslab/times", "-1" },
		{ FI "failslab/verbose", "0" },
		{ FI "failslab/task-filter", "Y" },
		{ FI "failslab/ignore-gfp-wait", "N" },
		{ FI "fail_page_alloc/probability", "10" },
		{ FI "fail_page_alloc/interval", "1" },
		{ FI "fail_page_alloc/times", "-1" },
		{ FI "fail_page_alloc/verbose", "0" },
		{ FI "fail_page_alloc/task-filter", "Y" },
		{ FI "fail_page_alloc/ignore-gfp-wait", "N" },
		{ FI "fail_page_alloc/ignore-gfp-highmem", "N" },
		{ FI "fail_page_alloc/min-order", "0" },
	};
	unsigned int i;

	for (i = 0; i < sizeof(knobs) / sizeof(knobs[0]); i++)
		if (put(knobs[i][0], knobs[i][1]))
			return -1;
	return reject_merge();
}

int inject_active(void)
{
	return inject_on;
}

static void arm_close(void *unused)
{
	if (arm_fd >= 0)
		close(arm_fd);
	arm_fd = -1;
}

static void set_armed(int on)
{
	pid_t tid = gettid();
	char path[64];

	/* A forked child inherits the fd of its parent's thread. */
	if (arm_fd < 0 || arm_tid != tid) {
		if (arm_fd >= 0)
			close(arm_fd);
		snprintf(path, sizeof(path), "/proc/self/task/%d/make-it-fail",
			 tid);
		arm_fd = open(path, O_WRONLY | O_CLOEXEC);
		arm_tid = tid;
		if (arm_fd < 0) {
			perror("inject: make-it-fail");
			abort();
		}
		pthread_setspecific(arm_key, &arm_fd);
	}
	if (pwrite(arm_fd, on ? "1" : "0", 1, 0) != 1) {
		perror("inject: make-it-fail");
		abort();
	}
}

void inject_arm(int on)
{
	set_armed(on);
	armed_by_test = on;
}

static void fork_prepare(void)
{
	pthread_rwlock_wrlock(&fork_lock);
}

static void fork_parent(void)
{
	pthread_rwlock_unlock(&fork_lock);
}

static void fork_lock_init(void)
{
	pthread_rwlockattr_t attr;

	/* Writer first: busy threads must not keep a fork out for good. */
	pthread_rwlockattr_init(&attr);
	pthread_rwlockattr_setkind_np(&attr,
		PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
	pthread_rwlock_init(&fork_lock, &attr);
	pthread_rwlockattr_destroy(&attr);
}

__attribute__((constructor)) static void inject_init(void)
{
	const char *env = getenv("NTVM_FAULTINJ");

	pthread_key_create(&arm_key, arm_close);
	if (!env || strcmp(env, "1"))
		return;
	if (access(FI "failslab", F_OK) || inject_setup()) {
		fprintf(stderr, "# inject: no fault injection on this kernel\n");
		return;
	}
	stats = mmap(NULL, sizeof(*stats), PROT_READ | PROT_WRITE,
		     MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (stats == MAP_FAILED)
		abort();
	inject_pid = getpid();
	fork_lock_init();
	pthread_atfork(fork_prepare, fork_parent, fork_lock_init);
	inject_on = 1;
}

__attribute__((destructor)) static void inject_report(void)
{
	if (!inject_on || getpid() != inject_pid)
		return;
	fprintf(stderr,
		"# inject: %lu ntvm calls armed, %lu failed with the state checked, %lu still failing after %d tries\n",
		stats->calls, stats->failed, stats->retried_out, MAX_TRIES);
}

/* One region of a snapshot: what NtQueryVirtualMemory says. */
struct region {
	uint64_t base, alloc_base, size;
	uint32_t alloc_protect, state, protect, type;
};

struct snapshot {
	int n;
	struct region r[MAX_REGIONS];
};

/*
 * The regions from the allocation holding @start to the end of the one
 * holding @end - 1 (or the free region there).
 */
static void take(int fd, uint64_t start, uint64_t end, struct snapshot *s)
{
	struct ntvm_query_args q;
	uint64_t addr = start, alloc = 0;

	memset(s, 0, sizeof(*s));
	memset(&q, 0, sizeof(q));
	q.address = start;
	if (!raw_ioctl(fd, NTVM_IOC_QUERY, &q) && !q.status &&
	    q.state != NTVM_MEM_FREE)
		addr = q.allocation_base;
	while (s->n < MAX_REGIONS) {
		struct region *r = &s->r[s->n];

		memset(&q, 0, sizeof(q));
		q.address = addr;
		if (raw_ioctl(fd, NTVM_IOC_QUERY, &q) || q.status)
			break;
		if (addr >= end && q.allocation_base != alloc)
			break;
		r->base = q.base_address;
		r->alloc_base = q.allocation_base;
		r->size = q.region_size;
		r->alloc_protect = q.allocation_protect;
		r->state = q.state;
		r->protect = q.protect;
		r->type = q.type;
		alloc = q.allocation_base;
		s->n++;
		if (!q.region_size || addr + q.region_size < addr)
			break;
		addr += q.region_size;
	}
}

static void differ(const char *op, uint64_t start, uint64_t end,
		   const struct snapshot *a, const struct snapshot *b)
{
	int i;

	fprintf(stderr,
		"# inject: a failed %s of [0x%llx, 0x%llx) changed the state\n",
		op, (unsigned long long)start, (unsigned long long)end);
	for (i = 0; i < a->n || i < b->n; i++)
		fprintf(stderr,
			"#   before 0x%llx+0x%llx %x/%x  after 0x%llx+0x%llx %x/%x\n",
			(unsigned long long)a->r[i].base,
			(unsigned long long)a->r[i].size, a->r[i].state,
			a->r[i].protect, (unsigned long long)b->r[i].base,
			(unsigned long long)b->r[i].size, b->r[i].state,
			b->r[i].protect);
	abort();
}

/*
 * Is the argument readable and writable?  Touch it for writing (through a
 * pipe, which fails cleanly on a bad pointer), so that copying it out
 * with injection armed cannot need a page.
 */
static int usable(void *arg, size_t size)
{
	int p[2], ok;

	if (pipe2(p, O_CLOEXEC))
		abort();
	ok = write(p[1], arg, size) == (ssize_t)size &&
	     read(p[0], arg, size) == (ssize_t)size;
	close(p[0]);
	close(p[1]);
	return ok;
}

/* One call with injection armed. */
static long armed_once(int fd, unsigned long req, void *arg)
{
	long ret;
	int err;

	set_armed(1);
	ret = raw_ioctl(fd, req, arg);
	err = errno;
	set_armed(0);
	__atomic_fetch_add(&stats->calls, 1, __ATOMIC_RELAXED);
	errno = err;
	return ret;
}

/*
 * The pages of [base, base + size) a write watch reports, by a query
 * without reset made with injection disarmed, into @out (@max entries).
 * Return: the count, or -1 if the range is not watched or too large.
 */
#define WW_SNAPSHOT_MAX 4096

static long ww_snapshot(int fd, uint64_t base, uint64_t size, uint64_t *out)
{
	struct ntvm_get_write_watch_args g;

	memset(&g, 0, sizeof(g));
	g.base = base;
	g.size = size;
	g.addresses = (uintptr_t)out;
	g.count = WW_SNAPSHOT_MAX;
	if (!size || size / 4096 + 1 > WW_SNAPSHOT_MAX ||
	    raw_ioctl(fd, NTVM_IOC_GET_WRITE_WATCH, &g) || g.status)
		return -1;
	return g.count;
}

/*
 * Get and reset write watches: a call that fails with STATUS_NO_MEMORY
 * must not have reset a page (every page reported before it is reported
 * after it: other threads may add pages, none resets them); it is then
 * retried like the others.
 */
static long armed_write_watch(int fd, unsigned long req, void *arg)
{
	union {
		struct ntvm_get_write_watch_args get;
		struct ntvm_reset_write_watch_args reset;
	} in;
	size_t size = _IOC_SIZE(req);
	uint64_t base, len, *before, *after;
	long nbefore, nafter, i, j;
	__u32 *status;
	long ret;
	int tries;

	if (!usable(arg, size))
		return armed_once(fd, req, arg);
	memcpy(&in, arg, size);
	if (req == NTVM_IOC_GET_WRITE_WATCH) {
		status = &((struct ntvm_get_write_watch_args *)arg)->status;
		base = in.get.base;
		len = in.get.size;
	} else {
		status = &((struct ntvm_reset_write_watch_args *)arg)->status;
		base = in.reset.base;
		len = in.reset.size;
	}
	before = malloc(2 * WW_SNAPSHOT_MAX * sizeof(*before));
	if (!before)
		abort();
	after = before + WW_SNAPSHOT_MAX;
	for (tries = 1; ; tries++) {
		nbefore = ww_snapshot(fd, base, len, before);
		ret = armed_once(fd, req, arg);
		if (ret || *status != NTVM_STATUS_NO_MEMORY)
			break;
		if (tries == MAX_TRIES) {
			__atomic_fetch_add(&stats->retried_out, 1,
					   __ATOMIC_RELAXED);
			break;
		}
		__atomic_fetch_add(&stats->failed, 1, __ATOMIC_RELAXED);
		nafter = ww_snapshot(fd, base, len, after);
		for (i = 0, j = 0; nbefore >= 0 && i < nbefore; i++) {
			while (j < nafter && after[j] < before[i])
				j++;
			if (j >= nafter || after[j] != before[i]) {
				fprintf(stderr,
					"# inject: a failed write-watch call on [0x%llx, +0x%llx) reset page 0x%llx\n",
					(unsigned long long)base,
					(unsigned long long)len,
					(unsigned long long)before[i]);
				abort();
			}
		}
		memcpy(arg, &in, size);
	}
	free(before);
	return ret;
}

static long armed_call(int fd, unsigned long req, void *arg)
{
	union {
		struct ntvm_alloc_args alloc;
		struct ntvm_alloc_ex_args alloc_ex;
		struct ntvm_free_args free;
		struct ntvm_protect_args protect;
		struct ntvm_query_args query;
	} in;
	size_t size = _IOC_SIZE(req);
	struct snapshot *before, *after;
	uint64_t start = 0, end = 0;
	const char *op = NULL;
	__u32 *status = NULL;
	long ret;
	int tries;

	switch (req) {
	case NTVM_IOC_ALLOC:
		op = "NtAllocateVirtualMemory";
		break;
	case NTVM_IOC_ALLOC_EX:
		op = "NtAllocateVirtualMemoryEx";
		break;
	case NTVM_IOC_FREE:
		op = "NtFreeVirtualMemory";
		break;
	case NTVM_IOC_PROTECT:
		op = "NtProtectVirtualMemory";
		break;
	case NTVM_IOC_QUERY:
		op = "NtQueryVirtualMemory";
		break;
	}
	if (req == NTVM_IOC_GET_WRITE_WATCH ||
	    req == NTVM_IOC_RESET_WRITE_WATCH)
		return armed_write_watch(fd, req, arg);
	/* Anything else (the fuzzer's garbage): armed, once. */
	if (!op || !usable(arg, size))
		return armed_once(fd, req, arg);
	memcpy(&in, arg, size);
	switch (req) {
	case NTVM_IOC_ALLOC:
		status = &((struct ntvm_alloc_args *)arg)->status;
		start = in.alloc.base;
		end = start + in.alloc.size;
		break;
	case NTVM_IOC_ALLOC_EX:
		status = &((struct ntvm_alloc_ex_args *)arg)->status;
		start = in.alloc_ex.base;
		end = start + in.alloc_ex.size;
		break;
	case NTVM_IOC_FREE:
		status = &((struct ntvm_free_args *)arg)->status;
		start = in.free.base;
		end = start + in.free.size;
		break;
	case NTVM_IOC_PROTECT:
		status = &((struct ntvm_protect_args *)arg)->status;
		start = in.protect.base;
		end = start + in.protect.size;
		break;
	case NTVM_IOC_QUERY:
		status = &((struct ntvm_query_args *)arg)->status;
		break;
	}
	/* Threads that race on one range would see each other's changes. */
	if (inject_racy)
		start = 0;
	start &= ~0xfffULL;
	if (end <= start)
		end = start + 1;
	before = malloc(2 * sizeof(*before));
	if (!before)
		abort();
	after = before + 1;
	for (tries = 1; ; tries++) {
		if (start)
			take(fd, start, end, before);
		ret = armed_once(fd, req, arg);
		if (ret || *status != NTVM_STATUS_NO_MEMORY)
			break;
		if (tries == MAX_TRIES) {
			__atomic_fetch_add(&stats->retried_out, 1,
					   __ATOMIC_RELAXED);
			break;
		}
		__atomic_fetch_add(&stats->failed, 1, __ATOMIC_RELAXED);
		if (start) {
			take(fd, start, end, after);
			if (memcmp(before, after, sizeof(*before)))
				differ(op, start, end, before, after);
		}
		memcpy(arg, &in, size);
	}
	free(before);
	return ret;
}

int ioctl(int fd, unsigned long req, ...)
{
	va_list ap;
	void *arg;
	long ret;

	va_start(ap, req);
	arg = va_arg(ap, void *);
	va_end(ap);
	if (!inject_on || armed_by_test || _IOC_TYPE(req) != NTVM_IOC_MAGIC)
		return raw_ioctl(fd, req, arg);
	pthread_rwlock_rdlock(&fork_lock);
	ret = armed_call(fd, req, arg);
	pthread_rwlock_unlock(&fork_lock);
	return ret;
}
