// SPDX-License-Identifier: GPL-2.0
/*
 * ntvm benchmarks: each ntvm operation against the same work done with
 * Linux primitives, measured interleaved in one boot (round i runs ntvm,
 * then the baseline), median of the rounds; reserve_1m, too costly for
 * that, runs each side once.  Prints a table, then one JSON document
 * between "BENCH-JSON-BEGIN" and "BENCH-JSON-END".
 *
 * ntvm-bench --loop NAME ntvm|base SECONDS runs one side of one benchmark
 * instead, batch after batch, for a profiler to sample (see loop_main()).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <ntvm.h>
#include <linux/fs.h>
#include <linux/ntvm.h>
#include <linux/userfaultfd.h>

/* libntvm's internals (linked statically): the query without the map. */
#include "internal.h"
#include "bench_time.h"

/*
 * The modern primitives the baselines use where the running kernel has
 * them (checked at run time): PAGEMAP_SCAN (6.7), UFFD_FEATURE_WP_ASYNC
 * (6.7) and PROCMAP_QUERY (6.11), with upstream's layout
 * (include/uapi/linux/fs.h, linux/userfaultfd.h) when the headers the
 * benchmark is built with (Debian 12's, 6.1) predate them.
 */
#ifndef PAGEMAP_SCAN
struct page_region {
	__u64 start;
	__u64 end;
	__u64 categories;
};

struct pm_scan_arg {
	__u64 size;
	__u64 flags;
	__u64 start;
	__u64 end;
	__u64 walk_end;
	__u64 vec;
	__u64 vec_len;
	__u64 max_pages;
	__u64 category_inverted;
	__u64 category_mask;
	__u64 category_anyof_mask;
	__u64 return_mask;
};

#define PAGEMAP_SCAN		_IOWR('f', 16, struct pm_scan_arg)
#define PAGE_IS_WRITTEN		(1 << 1)
#define PM_SCAN_WP_MATCHING	(1 << 0)
#define PM_SCAN_CHECK_WPASYNC	(1 << 1)
#endif

#ifndef PROCMAP_QUERY
struct procmap_query {
	__u64 size;
	__u64 query_flags;
	__u64 query_addr;
	__u64 vma_start;
	__u64 vma_end;
	__u64 vma_flags;
	__u64 vma_page_size;
	__u64 vma_offset;
	__u64 inode;
	__u32 dev_major;
	__u32 dev_minor;
	__u32 vma_name_size;
	__u32 build_id_size;
	__u64 vma_name_addr;
	__u64 build_id_addr;
};

#define PROCMAP_QUERY		_IOWR('f', 17, struct procmap_query)
#endif

_Static_assert(sizeof(struct pm_scan_arg) == 96, "upstream's pm_scan_arg");
_Static_assert(sizeof(struct procmap_query) == 104, "upstream's procmap_query");

#ifndef UFFD_FEATURE_WP_ASYNC
#define UFFD_FEATURE_WP_UNPOPULATED	(1 << 13)
#define UFFD_FEATURE_WP_ASYNC		(1 << 15)
#endif

#define PAGE	4096UL
#define ROUNDS	7


static void die(const char *what)
{
	fprintf(stderr, "bench: %s failed (error %u)\n", what, GetLastError());
	exit(1);
}

/*
 * Under --loop with perf record's --control fifos (see loop_main()): start
 * or stop sampling, and wait until perf has done so.  Called around the
 * timed part of a batch, outside its clock readings; a no-op otherwise.
 */
static int perf_ctl_fd = -1, perf_ack_fd = -1;

static void profile(int on)
{
	const char *cmd = on ? "enable\n" : "disable\n";
	char c;

	if (perf_ctl_fd < 0)
		return;
	if (write(perf_ctl_fd, cmd, strlen(cmd)) != (ssize_t)strlen(cmd)) {
		perror("bench: perf control fifo");
		exit(1);
	}
	do {
		if (read(perf_ack_fd, &c, 1) != 1) {
			perror("bench: perf ack fifo");
			exit(1);
		}
	} while (c != '\n');
}

/* One measured batch: returns ns per operation. */
typedef double (*batch_fn)(void *ctx);

struct result {
	const char *name, *baseline, *target, *unit;
	double ntvm, base, ratio;
	int is_count;
	int nextra;		/* integers printed after the target */
	struct {
		const char *key;
		long val;
	} extra[8];
};

static struct result results[48];
static int nresults;

/* A benchmark the running kernel cannot run: said, and listed in the JSON. */
static struct {
	const char *name, *lacks;
} skips[8];
static int nskips;

static void skipped(const char *name, const char *lacks)
{
	printf("%s skipped: kernel lacks %s\n", name, lacks);
	skips[nskips].name = name;
	skips[nskips++].lacks = lacks;
}

static void pair(const char *name, const char *baseline, const char *target,
		 batch_fn ntvm, batch_fn base, void *ctx)
{
	double a[ROUNDS], b[ROUNDS];
	struct result *r = &results[nresults++];
	int i;

	ntvm(ctx);	/* warm-up */
	base(ctx);
	for (i = 0; i < ROUNDS; i++) {
		a[i] = ntvm(ctx);
		b[i] = base(ctx);
	}
	*r = (struct result){ .name = name, .baseline = baseline,
			      .target = target, .unit = "ns" };
	r->ntvm = median(a, ROUNDS);
	r->base = median(b, ROUNDS);
	r->ratio = r->ntvm / r->base;
}

/* alloc_release_64k */
#define N_ALLOC 2000
static double alloc_ntvm(void *ctx)
{
	double t = now_ns();
	int i;

	for (i = 0; i < N_ALLOC; i++) {
		void *p = VirtualAlloc(NULL, 0x10000, MEM_RESERVE | MEM_COMMIT,
				       PAGE_READWRITE);
		if (!p || !VirtualFree(p, 0, MEM_RELEASE))
			die("alloc/release");
	}
	return (now_ns() - t) / N_ALLOC;
}

static double alloc_linux(void *ctx)
{
	double t = now_ns();
	int i;

	for (i = 0; i < N_ALLOC; i++) {
		void *p = mmap(NULL, 0x10000, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED || munmap(p, 0x10000))
			die("mmap/munmap");
	}
	return (now_ns() - t) / N_ALLOC;
}

/* protect_1page: RW->RO then RO->RW of one resident page in 1 MiB. */
#define N_PROT 2000
struct prot_ctx {
	char *ntvm, *anon;
};

static double prot_ntvm(void *ctx)
{
	struct prot_ctx *c = ctx;
	char *page = c->ntvm + 0x80000;
	double t = now_ns();
	DWORD old;
	int i;

	for (i = 0; i < N_PROT; i++) {
		if (!VirtualProtect(page, PAGE, PAGE_READONLY, &old) ||
		    !VirtualProtect(page, PAGE, PAGE_READWRITE, &old))
			die("VirtualProtect");
	}
	return (now_ns() - t) / N_PROT;
}

static double prot_linux(void *ctx)
{
	struct prot_ctx *c = ctx;
	char *page = c->anon + 0x80000;
	double t = now_ns();
	int i;

	for (i = 0; i < N_PROT; i++) {
		if (mprotect(page, PAGE, PROT_READ) ||
		    mprotect(page, PAGE, PROT_READ | PROT_WRITE))
			die("mprotect");
	}
	return (now_ns() - t) / N_PROT;
}

/* first_touch_4k: first write to each page of a fresh 64 MiB region. */
#define TOUCH_SIZE (64UL << 20)
static double touch(char *p, size_t size)
{
	double t, ns;
	size_t off;

	profile(1);
	t = now_ns();
	for (off = 0; off < size; off += PAGE)
		p[off] = 1;
	ns = (now_ns() - t) / (size / PAGE);
	profile(0);
	return ns;
}

static double touch_ntvm(void *ctx)
{
	char *p = VirtualAlloc(NULL, TOUCH_SIZE, MEM_COMMIT, PAGE_READWRITE);
	double ns;

	if (!p)
		die("commit 64 MiB");
	ns = touch(p, TOUCH_SIZE);
	VirtualFree(p, 0, MEM_RELEASE);
	return ns;
}

static char *anon_nothp(size_t size)
{
	char *p = mmap(NULL, size, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		die("mmap");
	madvise(p, size, MADV_NOHUGEPAGE);
	return p;
}

static double touch_linux(void *ctx)
{
	char *p = anon_nothp(TOUCH_SIZE);
	double ns = touch(p, TOUCH_SIZE);

	munmap(p, TOUCH_SIZE);
	return ns;
}

/*
 * Shared-memory references: the same work on a memfd mapped MAP_SHARED,
 * i.e. shmem without ntvm, to tell shmem's cost from ntvm's own.
 */
static int memfd;

static char *shm_map(size_t size)
{
	char *p;

	if (ftruncate(memfd, 0) || ftruncate(memfd, size))
		die("ftruncate");
	p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, memfd, 0);
	if (p == MAP_FAILED)
		die("mmap memfd");
	return p;
}

static double touch_shm(void *ctx)
{
	char *p = shm_map(TOUCH_SIZE);
	double ns = touch(p, TOUCH_SIZE);

	munmap(p, TOUCH_SIZE);
	return ns;
}

static double alloc_shm(void *ctx)
{
	double t = now_ns();
	int i;

	if (ftruncate(memfd, 0x10000))
		die("ftruncate");
	for (i = 0; i < N_ALLOC; i++) {
		void *p = mmap(NULL, 0x10000, PROT_READ | PROT_WRITE,
			       MAP_SHARED, memfd, 0);
		if (p == MAP_FAILED || munmap(p, 0x10000))
			die("mmap/munmap memfd");
	}
	return (now_ns() - t) / N_ALLOC;
}

/* decommit_256: 256 resident pages. */
#define N_DECOMMIT 100
static double decommit_ntvm(void *ctx)
{
	char *p = VirtualAlloc(NULL, 256 * PAGE, MEM_COMMIT, PAGE_READWRITE);
	double total = 0, t;
	int i;

	if (!p)
		die("commit");
	for (i = 0; i < N_DECOMMIT; i++) {
		VirtualAlloc(p, 256 * PAGE, MEM_COMMIT, PAGE_READWRITE);
		memset(p, 1, 256 * PAGE);
		profile(1);
		t = now_ns();
		if (!VirtualFree(p, 256 * PAGE, MEM_DECOMMIT))
			die("decommit");
		total += now_ns() - t;
		profile(0);
	}
	VirtualFree(p, 0, MEM_RELEASE);
	return total / N_DECOMMIT;
}

/* Linux's decommit of 256 resident pages of @p: madvise, then PROT_NONE. */
static double decommit_madvise(char *p, int advice)
{
	double total = 0, t;
	int i;

	for (i = 0; i < N_DECOMMIT; i++) {
		mprotect(p, 256 * PAGE, PROT_READ | PROT_WRITE);
		memset(p, 1, 256 * PAGE);
		profile(1);
		t = now_ns();
		if (madvise(p, 256 * PAGE, advice) ||
		    mprotect(p, 256 * PAGE, PROT_NONE))
			die("madvise/mprotect");
		total += now_ns() - t;
		profile(0);
	}
	munmap(p, 256 * PAGE);
	return total / N_DECOMMIT;
}

static double decommit_linux(void *ctx)
{
	return decommit_madvise(anon_nothp(256 * PAGE), MADV_DONTNEED);
}

static double decommit_shm(void *ctx)
{
	return decommit_madvise(shm_map(256 * PAGE), MADV_REMOVE);
}

/* query_1 / query_100k */
#define N_QUERY 20000
/*
 * The queries the map did not answer (the library asked the module),
 * counted by query_ntvm() for the result's "asked_module": a figure
 * measured through the ioctl is not the map's.  query_1's count holds
 * pair()'s warm-up, the process's first query, which maps the map and
 * asks the module once.
 */
static long query_asked;

static double query_ntvm(void *ctx)
{
	unsigned long hits = ntvm_query_map_hits;
	char *addr = ctx;
	MEMORY_BASIC_INFORMATION mbi;
	double t = now_ns(), ns;
	int i;

	for (i = 0; i < N_QUERY; i++)
		if (!VirtualQuery(addr, &mbi, sizeof(mbi)))
			die("VirtualQuery");
	ns = (now_ns() - t) / N_QUERY;
	query_asked += N_QUERY - (long)(ntvm_query_map_hits - hits);
	return ns;
}

/* query_ioctl: the same query by NTVM_IOC_QUERY, as without the map. */
static double query_ioctl_ntvm(void *ctx)
{
	char *addr = ctx;
	struct ntvm_query_args q;
	double t = now_ns();
	int i;

	for (i = 0; i < N_QUERY; i++)
		if (ntvm_query_own((uintptr_t)addr, &q, NTVM_QUERY_IOCTL))
			die("NTVM_IOC_QUERY");
	return (now_ns() - t) / N_QUERY;
}

/* The bytes of the query map that exist now (its @used). */
static long map_used(void)
{
	const struct ntvm_query_map_header *h = ntvm_query_map();

	if (!h)
		return -1;
	return (long)__atomic_load_n(&h->used, __ATOMIC_ACQUIRE);
}

static double getppid_linux(void *ctx)
{
	double t = now_ns();
	int i;

	for (i = 0; i < N_QUERY; i++)
		getppid();
	return (now_ns() - t) / N_QUERY;
}

/*
 * query_1_procmap: the same VirtualQuery against one PROCMAP_QUERY ioctl
 * (6.11) on /proc/self/maps for the same address: the kernel's own
 * answer to "which mapping is at this address, with what protection".
 */
struct procmap_ctx {
	char *addr;
	int fd;			/* /proc/self/maps */
};

/* 0, or what the kernel lacks (then *c is unusable). */
static const char *procmap_open(struct procmap_ctx *c, char *addr)
{
	struct procmap_query q = { .size = sizeof(q),
				   .query_addr = (uintptr_t)addr };

	c->addr = addr;
	c->fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
	if (c->fd < 0)
		die("open /proc/self/maps");
	if (!ioctl(c->fd, PROCMAP_QUERY, &q))
		return NULL;
	if (errno != ENOTTY && errno != EINVAL) {
		perror("bench: PROCMAP_QUERY");
		exit(1);
	}
	close(c->fd);
	return "PROCMAP_QUERY (6.11)";
}

static double query_procmap_ntvm(void *ctx)
{
	return query_ntvm(((struct procmap_ctx *)ctx)->addr);
}

static double query_procmap_linux(void *ctx)
{
	struct procmap_ctx *c = ctx;
	struct procmap_query q;
	double t = now_ns();
	int i;

	for (i = 0; i < N_QUERY; i++) {
		memset(&q, 0, sizeof(q));
		q.size = sizeof(q);
		q.query_addr = (uintptr_t)c->addr;
		if (ioctl(c->fd, PROCMAP_QUERY, &q)) {
			perror("bench: PROCMAP_QUERY");
			exit(1);
		}
	}
	return (now_ns() - t) / N_QUERY;
}

/* ioctl_version (--loop only): the cheapest ioctl of /dev/ntvm, bare. */
static double version_ntvm(void *ctx)
{
	int fd = *(int *)ctx;
	double t = now_ns();
	__u64 features;
	int i;

	for (i = 0; i < N_QUERY; i++) {
		if (ioctl(fd, NTVM_IOC_FEATURES, &features)) {
			perror("bench: NTVM_IOC_FEATURES");
			exit(1);
		}
	}
	return (now_ns() - t) / N_QUERY;
}

static char **reserve_many(int n)
{
	char **v = malloc(n * sizeof(*v));
	int i;

	for (i = 0; i < n; i++) {
		v[i] = VirtualAlloc(NULL, 0x10000, MEM_RESERVE, PAGE_READWRITE);
		if (!v[i])
			die("reserve");
	}
	return v;
}

static void release_many(char **v, int n)
{
	int i;

	for (i = 0; i < n; i++)
		VirtualFree(v[i], 0, MEM_RELEASE);
	free(v);
}

/* vma_alternating: a count, not a time. */
static int count_vmas(uintptr_t start, uintptr_t end)
{
	FILE *f = fopen("/proc/self/maps", "r");
	unsigned long s, e;
	char line[512];
	int n = 0;

	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "%lx-%lx", &s, &e) == 2 && s < end &&
		    e > start)
			n++;
	if (f)
		fclose(f);
	return n;
}

static void vma_alternating(void)
{
	size_t size = 256UL << 20, i;
	char *p = VirtualAlloc(NULL, size, MEM_COMMIT, PAGE_READWRITE);
	char *a = mmap(NULL, size, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	struct result *r = &results[nresults++];
	DWORD old;

	if (!p || a == MAP_FAILED)
		die("256 MiB");
	for (i = 0; i < size / PAGE; i += 2) {
		VirtualProtect(p + i * PAGE, PAGE, PAGE_READONLY, &old);
		mprotect(a + i * PAGE, PAGE, PROT_READ);
	}
	*r = (struct result){ .name = "vma_alternating",
			      .baseline = "mprotect on anonymous memory",
			      .target = "<= 4 VMAs", .unit = "VMAs",
			      .is_count = 1 };
	r->ntvm = count_vmas((uintptr_t)p, (uintptr_t)p + size);
	r->base = count_vmas((uintptr_t)a, (uintptr_t)a + size);
	r->ratio = r->ntvm / r->base;
	VirtualFree(p, 0, MEM_RELEASE);
	munmap(a, size);
}

/* fault_scaling_2t: first-touch throughput, 2 threads vs 1. */
#define SCALE_SIZE (32UL << 20)
struct toucher {
	char *p;
	pthread_barrier_t *start;
};

static void *toucher(void *arg)
{
	struct toucher *t = arg;

	pthread_barrier_wait(t->start);
	touch(t->p, SCALE_SIZE);
	return NULL;
}

static double touch_threads(int n)
{
	struct toucher t[2];
	pthread_barrier_t start;
	pthread_t th[2];
	double t0, t1;
	int i;

	pthread_barrier_init(&start, NULL, n + 1);
	for (i = 0; i < n; i++) {
		t[i].p = VirtualAlloc(NULL, SCALE_SIZE, MEM_COMMIT,
				      PAGE_READWRITE);
		if (!t[i].p)
			die("commit");
		t[i].start = &start;
		pthread_create(&th[i], NULL, toucher, &t[i]);
	}
	pthread_barrier_wait(&start);
	t0 = now_ns();
	for (i = 0; i < n; i++)
		pthread_join(th[i], NULL);
	t1 = now_ns();
	for (i = 0; i < n; i++)
		VirtualFree(t[i].p, 0, MEM_RELEASE);
	pthread_barrier_destroy(&start);
	/* pages per second */
	return n * (SCALE_SIZE / PAGE) / ((t1 - t0) / 1e9);
}

static void fault_scaling(void)
{
	double one[ROUNDS], two[ROUNDS];
	struct result *r = &results[nresults++];
	int i;

	touch_threads(1);
	for (i = 0; i < ROUNDS; i++) {
		one[i] = touch_threads(1);
		two[i] = touch_threads(2);
	}
	*r = (struct result){ .name = "fault_scaling_2t",
			      .baseline = "1 thread (ideal 2.0)",
			      .target = ">= 1.6", .unit = "pages/s" };
	r->ntvm = median(two, ROUNDS);
	r->base = median(one, ROUNDS);
	r->ratio = r->ntvm / r->base;
}

/*
 * Write watches against Wine's fallback, done here in C: a reset
 * mprotect()s the region PROT_READ; the first write to a page faults, and
 * the SIGSEGV handler marks the page in a byte map and mprotect()s it
 * read-write again; a get-and-reset scans the map and mprotect()s each
 * dirty page back to PROT_READ.  Both regions are resident beforehand,
 * so only the tracking is measured.
 */
#define WW_SIZE		(64UL << 20)
#define WW_PAGES	(WW_SIZE / PAGE)
#define WW_SPARSE	64		/* ww_get_reset: 1 page in 64 dirty */
#define WW_GET_CALLS	10
#define WW_WRITES	1000		/* ww_write_cost: writes per pass */
#define WW_PASSES	1000

struct ww_ctx {
	char *ntvm;		/* 64 MiB, MEM_WRITE_WATCH, committed RW */
	char *emu;		/* 64 MiB anonymous, Wine's emulation */
	char *plain;		/* ww_write_cost: unwatched, committed RW */
	PVOID *addrs;		/* WW_PAGES entries */
};

static char *ww_emu_base;
static unsigned char ww_emu_dirty[WW_PAGES];

static void ww_emu_fault(int sig, siginfo_t *si, void *uc)
{
	uintptr_t off = (uintptr_t)si->si_addr - (uintptr_t)ww_emu_base;

	if (!ww_emu_base || off >= WW_SIZE) {
		signal(sig, SIG_DFL);
		return;		/* the fault repeats, and kills */
	}
	ww_emu_dirty[off / PAGE] = 1;
	if (mprotect(ww_emu_base + off / PAGE * PAGE, PAGE,
		     PROT_READ | PROT_WRITE))
		abort();
}

/* The emulation's ResetWriteWatch. */
static void ww_emu_reset(void)
{
	if (mprotect(ww_emu_base, WW_SIZE, PROT_READ))
		die("mprotect");
	memset(ww_emu_dirty, 0, sizeof(ww_emu_dirty));
}

/* The emulation's GetWriteWatch(WRITE_WATCH_FLAG_RESET); the count. */
static size_t ww_emu_get_reset(PVOID *addrs)
{
	size_t i, n = 0;

	for (i = 0; i < WW_PAGES; i++) {
		if (!ww_emu_dirty[i])
			continue;
		ww_emu_dirty[i] = 0;
		addrs[n++] = ww_emu_base + i * PAGE;
		if (mprotect(ww_emu_base + i * PAGE, PAGE, PROT_READ))
			die("mprotect");
	}
	return n;
}

static void *ww_setup(void)
{
	static struct ww_ctx c;
	struct sigaction sa = { .sa_sigaction = ww_emu_fault,
				.sa_flags = SA_SIGINFO | SA_NODEFER };

	c.ntvm = VirtualAlloc(NULL, WW_SIZE, MEM_RESERVE | MEM_COMMIT |
			      MEM_WRITE_WATCH, PAGE_READWRITE);
	if (!c.ntvm)
		die("MEM_WRITE_WATCH 64 MiB");
	c.plain = VirtualAlloc(NULL, 0x10000, MEM_COMMIT, PAGE_READWRITE);
	if (!c.plain)
		die("commit 64 KiB");
	c.emu = anon_nothp(WW_SIZE);
	c.addrs = malloc(WW_PAGES * sizeof(*c.addrs));
	if (!c.addrs)
		die("malloc");
	memset(c.ntvm, 1, WW_SIZE);
	memset(c.emu, 1, WW_SIZE);
	memset(c.plain, 1, 0x10000);
	ww_emu_base = c.emu;
	sigaction(SIGSEGV, &sa, NULL);
	return &c;
}

static void ww_teardown(struct ww_ctx *c)
{
	signal(SIGSEGV, SIG_DFL);
	ww_emu_base = NULL;
	VirtualFree(c->ntvm, 0, MEM_RELEASE);
	VirtualFree(c->plain, 0, MEM_RELEASE);
	munmap(c->emu, WW_SIZE);
	free(c->addrs);
}

/* ww_first_write: one write per page of 64 MiB just reset. */
static double ww_first_write_ntvm(void *ctx)
{
	struct ww_ctx *c = ctx;

	if (ResetWriteWatch(c->ntvm, WW_SIZE))
		die("ResetWriteWatch");
	return touch(c->ntvm, WW_SIZE);
}

static double ww_first_write_emu(void *ctx)
{
	struct ww_ctx *c = ctx;

	ww_emu_reset();
	return touch(c->emu, WW_SIZE);
}

/* ww_get_reset: GetWriteWatch(RESET) of 64 MiB, 1 page in 64 dirty. */
static double ww_get_reset_ntvm(void *ctx)
{
	struct ww_ctx *c = ctx;
	double total = 0, t;
	ULONG_PTR count;
	DWORD gran;
	size_t i;
	int k;

	if (ResetWriteWatch(c->ntvm, WW_SIZE))
		die("ResetWriteWatch");
	for (k = 0; k < WW_GET_CALLS; k++) {
		for (i = 0; i < WW_PAGES; i += WW_SPARSE)
			c->ntvm[i * PAGE] = 2;
		count = WW_PAGES;
		profile(1);
		t = now_ns();
		if (GetWriteWatch(WRITE_WATCH_FLAG_RESET, c->ntvm, WW_SIZE,
				  c->addrs, &count, &gran))
			die("GetWriteWatch");
		total += now_ns() - t;
		profile(0);
		if (count != WW_PAGES / WW_SPARSE) {
			fprintf(stderr, "bench: GetWriteWatch found %lu pages, not %lu\n",
				(unsigned long)count, WW_PAGES / WW_SPARSE);
			exit(1);
		}
	}
	return total / WW_GET_CALLS;
}

static double ww_get_reset_emu(void *ctx)
{
	struct ww_ctx *c = ctx;
	double total = 0, t;
	size_t i, n;
	int k;

	ww_emu_reset();
	for (k = 0; k < WW_GET_CALLS; k++) {
		for (i = 0; i < WW_PAGES; i += WW_SPARSE)
			c->emu[i * PAGE] = 2;
		profile(1);
		t = now_ns();
		n = ww_emu_get_reset(c->addrs);
		total += now_ns() - t;
		profile(0);
		if (n != WW_PAGES / WW_SPARSE)
			die("emulated GetWriteWatch");
	}
	return total / WW_GET_CALLS;
}

/* ww_write_cost: writes to a page already written (no fault either way). */
static double ww_writes(volatile char *page)
{
	double t;
	int i, j;

	page[0] = 3;
	t = now_ns();
	for (j = 0; j < WW_PASSES; j++)
		for (i = 0; i < WW_WRITES; i++)
			page[(i & 63) * 64] = (char)i;
	return (now_ns() - t) / ((double)WW_PASSES * WW_WRITES);
}

static double ww_write_cost_ntvm(void *ctx)
{
	return ww_writes(((struct ww_ctx *)ctx)->ntvm + 0x100000);
}

static double ww_write_cost_plain(void *ctx)
{
	return ww_writes(((struct ww_ctx *)ctx)->plain + 0x8000);
}

/*
 * ww_first_write_uffd, ww_get_reset_pagemap: the same against the modern
 * way to emulate write watch (Wine's where the kernel has it): 64 MiB of
 * anonymous memory registered with userfaultfd in asynchronous
 * write-protect mode (UFFD_FEATURE_WP_ASYNC, 6.7), so that the kernel
 * itself resolves the first write to a protected page by unprotecting it
 * and no message reaches userspace; PAGEMAP_SCAN (6.7) on
 * /proc/self/pagemap lists the pages written since (PAGE_IS_WRITTEN) and
 * write-protects them again (PM_SCAN_WP_MATCHING) in one call.  As
 * upstream's tools/testing/selftests/mm/pagemap_ioctl.c does.
 */
#define WW_UFFD_FIRST_TARGET	"<= 1.3"
#define WW_PAGEMAP_TARGET	"reference"

struct ww_uffd {
	char *mem;		/* 64 MiB anonymous, async uffd-wp */
	int uffd, pagemap;
	struct page_region *vec;	/* WW_PAGES entries */
	PVOID *addrs;		/* WW_PAGES entries */
	struct ww_ctx *ntvm;	/* the ntvm side's */
};

/* ResetWriteWatch: write-protect the whole range. */
static void ww_uffd_reset(struct ww_uffd *u)
{
	struct uffdio_writeprotect wp = {
		.range = { .start = (uintptr_t)u->mem, .len = WW_SIZE },
		.mode = UFFDIO_WRITEPROTECT_MODE_WP,
	};

	if (ioctl(u->uffd, UFFDIO_WRITEPROTECT, &wp)) {
		perror("bench: UFFDIO_WRITEPROTECT");
		exit(1);
	}
}

/*
 * GetWriteWatch(WRITE_WATCH_FLAG_RESET): the written pages, protected
 * again, their addresses in u->addrs; the count, or -1 with errno.
 */
static long ww_uffd_get_reset(struct ww_uffd *u)
{
	struct pm_scan_arg arg = {
		.size = sizeof(arg),
		.flags = PM_SCAN_WP_MATCHING | PM_SCAN_CHECK_WPASYNC,
		.start = (uintptr_t)u->mem,
		.end = (uintptr_t)u->mem + WW_SIZE,
		.vec = (uintptr_t)u->vec,
		.vec_len = WW_PAGES,
		.category_mask = PAGE_IS_WRITTEN,
		.return_mask = PAGE_IS_WRITTEN,
	};
	long i, n = 0, regions = ioctl(u->pagemap, PAGEMAP_SCAN, &arg);
	__u64 a;

	for (i = 0; i < regions; i++)
		for (a = u->vec[i].start; a < u->vec[i].end; a += PAGE)
			u->addrs[n++] = (PVOID)(uintptr_t)a;
	return regions < 0 ? -1 : n;
}

/* 0, or what the kernel lacks (then nothing is left set up). */
static const char *ww_uffd_setup(struct ww_uffd *u)
{
	struct uffdio_api api = {
		.api = UFFD_API,
		.features = UFFD_FEATURE_WP_ASYNC | UFFD_FEATURE_WP_UNPOPULATED,
	};
	struct uffdio_register reg = { .mode = UFFDIO_REGISTER_MODE_WP };
	const char *lacks = NULL;
	long n;

	u->mem = anon_nothp(WW_SIZE);
	memset(u->mem, 1, WW_SIZE);
	u->vec = malloc(WW_PAGES * sizeof(*u->vec));
	u->addrs = malloc(WW_PAGES * sizeof(*u->addrs));
	if (!u->vec || !u->addrs)
		die("malloc");
	u->pagemap = -1;
	u->uffd = syscall(__NR_userfaultfd, O_CLOEXEC | O_NONBLOCK);
	if (u->uffd < 0) {
		lacks = "userfaultfd";
		goto out;
	}
	if (ioctl(u->uffd, UFFDIO_API, &api) ||
	    !(api.features & UFFD_FEATURE_WP_ASYNC)) {
		lacks = "UFFD_FEATURE_WP_ASYNC (6.7)";
		goto out;
	}
	reg.range.start = (uintptr_t)u->mem;
	reg.range.len = WW_SIZE;
	if (ioctl(u->uffd, UFFDIO_REGISTER, &reg)) {
		lacks = "userfaultfd write-protect on anonymous memory";
		goto out;
	}
	u->pagemap = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	if (u->pagemap < 0)
		die("open /proc/self/pagemap");
	ww_uffd_reset(u);
	u->mem[0] = 2;
	n = ww_uffd_get_reset(u);
	if (n < 0 && (errno == ENOTTY || errno == EINVAL)) {
		lacks = "PAGEMAP_SCAN (6.7)";
		goto out;
	}
	if (n != 1 || u->addrs[0] != u->mem) {
		fprintf(stderr, "bench: PAGEMAP_SCAN found %ld pages, not the 1 written (%s)\n",
			n, n < 0 ? strerror(errno) : "wrong page");
		exit(1);
	}
	return NULL;
out:
	if (u->pagemap >= 0)
		close(u->pagemap);
	if (u->uffd >= 0)
		close(u->uffd);
	munmap(u->mem, WW_SIZE);
	free(u->vec);
	free(u->addrs);
	return lacks;
}

static void ww_uffd_teardown(struct ww_uffd *u)
{
	close(u->pagemap);
	close(u->uffd);
	munmap(u->mem, WW_SIZE);
	free(u->vec);
	free(u->addrs);
}

static double ww_first_write_ntvm_u(void *ctx)
{
	return ww_first_write_ntvm(((struct ww_uffd *)ctx)->ntvm);
}

static double ww_get_reset_ntvm_u(void *ctx)
{
	return ww_get_reset_ntvm(((struct ww_uffd *)ctx)->ntvm);
}

static double ww_first_write_uffd(void *ctx)
{
	struct ww_uffd *u = ctx;

	ww_uffd_reset(u);
	return touch(u->mem, WW_SIZE);
}

static double ww_get_reset_pagemap(void *ctx)
{
	struct ww_uffd *u = ctx;
	double total = 0, t;
	size_t i;
	long n;
	int k;

	ww_uffd_reset(u);
	for (k = 0; k < WW_GET_CALLS; k++) {
		for (i = 0; i < WW_PAGES; i += WW_SPARSE)
			u->mem[i * PAGE] = 2;
		profile(1);
		t = now_ns();
		n = ww_uffd_get_reset(u);
		total += now_ns() - t;
		profile(0);
		if (n != (long)(WW_PAGES / WW_SPARSE)) {
			fprintf(stderr, "bench: PAGEMAP_SCAN found %ld pages, not %lu\n",
				n, WW_PAGES / WW_SPARSE);
			exit(1);
		}
	}
	return total / WW_GET_CALLS;
}

static void *loop_setup_ww_uffd(void)
{
	static struct ww_uffd u;
	const char *lacks = ww_uffd_setup(&u);

	if (lacks) {
		fprintf(stderr, "bench: kernel lacks %s\n", lacks);
		exit(1);
	}
	u.ntvm = ww_setup();
	return &u;
}

/*
 * reserve_1m: 1 100 000 reservations made with VirtualAlloc(NULL) against
 * one anonymous mapping per reservation, Wine's way.  Sizes are 4 KiB,
 * 64 KiB and 1 MiB in a fixed pseudo-random mix (about a third each);
 * every 16th reservation is committed read-write as well.  Each side runs
 * once, in a child of its own (a fresh address space, all of it gone when
 * the child exits), and sends its ns per reservation and its VMA count
 * (lines of /proc/self/maps: ntvm's views for ntvm, all for Linux) back
 * through a pipe.
 *
 * The Linux side maps each reservation where Wine would: at the 64 KiB
 * boundary below the previous one (an mmap hint: Wine places its views
 * itself), exactly its size, leaving the rest of its last 64 KiB granule
 * unmapped.  So a 4 KiB reservation is a VMA of its own, while adjacent
 * 64 KiB and 1 MiB ones of the same protection merge, as under Wine.  It
 * needs vm.max_map_count raised.  ntvm needs its commit limit raised: the
 * mix commits about 24 GiB, never touched (so no pages), past RAM + swap.
 */
#define R1M_N		1100000L
#define R1M_COMMIT	16		/* every 16th is committed */
#define GRANULE		0x10000UL
#define MAX_MAP_COUNT	"/proc/sys/vm/max_map_count"
#define COMMIT_LIMIT	"/sys/module/ntvm/parameters/commit_limit_pages"

static const size_t r1m_size[] = { PAGE, 0x10000, 0x100000 };
static unsigned char *r1m_class;	/* R1M_N indices into r1m_size */

struct r1m_report {
	double ns;		/* per call, a failed last one included */
	long made;		/* reservations made */
	long vmas;		/* -1: not counted */
	long error;		/* the failure: GetLastError() or errno */
	long signal;		/* the child was killed before it reported */
};

/* The mix, the same every run; returns the pages it commits. */
static unsigned long r1m_mix(void)
{
	uint32_t x = 0x1badf00d;	/* xorshift32 */
	unsigned long pages = 0;
	long i;

	r1m_class = malloc(R1M_N);
	if (!r1m_class)
		die("malloc");
	for (i = 0; i < R1M_N; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		r1m_class[i] = x % 3;
		if (!(i % R1M_COMMIT))
			pages += r1m_size[r1m_class[i]] / PAGE;
	}
	return pages;
}

/* The path of a line of /proc/PID/maps ("" when it has none). */
static const char *maps_path(const char *line)
{
	int i;

	for (i = 0; i < 5; i++) {
		line += strcspn(line, " ");
		line += strspn(line, " ");
	}
	return line;
}

/*
 * Lines of /proc/self/maps: all of them, or those of ntvm's views: a path
 * naming "ntvm" that is not this program's own (ntvm-bench).
 */
static long count_maps(int ntvm_only)
{
	char exe[PATH_MAX], *line = NULL;
	size_t cap = 0;
	ssize_t len;
	long n = 0;
	FILE *f;

	len = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	exe[len > 0 ? len : 0] = '\0';
	f = fopen("/proc/self/maps", "r");
	if (!f)
		return -1;
	while ((len = getline(&line, &cap, f)) > 0) {
		const char *path;

		if (line[len - 1] == '\n')
			line[len - 1] = '\0';
		path = maps_path(line);
		if (!ntvm_only || (strstr(path, "ntvm") && strcmp(path, exe)))
			n++;
	}
	free(line);
	fclose(f);
	return n;
}

static void r1m_send(int fd, const struct r1m_report *rep)
{
	if (write(fd, rep, sizeof(*rep)) != sizeof(*rep))
		_exit(1);
	close(fd);
}

/* The children: measure, report, release everything (untimed), exit. */
static void r1m_ntvm(int fd)
{
	struct r1m_report rep = { .vmas = -1 };
	void **v = malloc(R1M_N * sizeof(*v));
	double t;
	long i;

	if (!v)
		_exit(1);
	memset(v, 0, R1M_N * sizeof(*v));	/* no faults on it when timed */
	t = now_ns();
	for (i = 0; i < R1M_N; i++) {
		int commit = !(i % R1M_COMMIT);

		v[i] = VirtualAlloc(NULL, r1m_size[r1m_class[i]], commit ?
				    MEM_RESERVE | MEM_COMMIT : MEM_RESERVE,
				    commit ? PAGE_READWRITE : PAGE_NOACCESS);
		if (!v[i]) {
			rep.error = GetLastError();
			break;
		}
	}
	rep.ns = (now_ns() - t) / (i < R1M_N ? i + 1 : R1M_N);
	rep.made = i;
	rep.vmas = count_maps(1);
	r1m_send(fd, &rep);
	while (i--)
		VirtualFree(v[i], 0, MEM_RELEASE);
	_exit(0);
}

static void r1m_linux(int fd)
{
	struct r1m_report rep = { .vmas = -1 };
	void **v = malloc(R1M_N * sizeof(*v));
	uintptr_t low = 0;	/* the lowest granule mapped so far */
	double t;
	long i;

	if (!v)
		_exit(1);
	memset(v, 0, R1M_N * sizeof(*v));	/* no faults on it when timed */
	t = now_ns();
	for (i = 0; i < R1M_N; i++) {
		size_t size = r1m_size[r1m_class[i]];
		size_t span = (size + GRANULE - 1) & ~(GRANULE - 1);
		int prot = i % R1M_COMMIT ? PROT_NONE : PROT_READ | PROT_WRITE;

		v[i] = mmap(low > span ? (void *)(low - span) : NULL, size,
			    prot, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
			    -1, 0);
		if (v[i] == MAP_FAILED) {
			rep.error = errno;
			break;
		}
		low = (uintptr_t)v[i] & ~(GRANULE - 1);
	}
	rep.ns = (now_ns() - t) / (i < R1M_N ? i + 1 : R1M_N);
	rep.made = i;
	rep.vmas = count_maps(0);
	r1m_send(fd, &rep);
	while (i--)
		munmap(v[i], r1m_size[r1m_class[i]]);
	_exit(0);
}

/* Run @side in a child; waits for its exit. */
static void r1m_run(void (*side)(int), struct r1m_report *rep)
{
	int fds[2], status;
	ssize_t n;
	pid_t pid;

	fflush(stdout);
	fflush(stderr);
	if (pipe(fds))
		die("pipe");
	pid = fork();
	if (pid < 0)
		die("fork");
	if (!pid) {
		close(fds[0]);
		side(fds[1]);
	}
	close(fds[1]);
	n = read(fds[0], rep, sizeof(*rep));
	close(fds[0]);
	if (waitpid(pid, &status, 0) != pid)
		die("waitpid");
	if (n != sizeof(*rep)) {
		*rep = (struct r1m_report){ .vmas = -1 };
		if (WIFSIGNALED(status))
			rep->signal = WTERMSIG(status);
	}
}

static int knob_read(const char *path, char *buf, size_t size)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = read(fd, buf, size - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	return 0;
}

static int knob_write(const char *path, const char *val)
{
	int fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = write(fd, val, strlen(val));
	if (close(fd) || n != (ssize_t)strlen(val))
		return -1;
	return 0;
}

static void result_extra(struct result *r, const char *key, long val)
{
	if (r->nextra < (int)(sizeof(r->extra) / sizeof(r->extra[0]))) {
		r->extra[r->nextra].key = key;
		r->extra[r->nextra++].val = val;
	}
}

/* keys: made, error, signal. */
static void r1m_failed(struct result *r, const struct r1m_report *rep,
		       const char *side, const char *const keys[3])
{
	if (rep->made == R1M_N)
		return;
	fprintf(stderr, "bench: reserve_1m: %s made %ld of %ld (error %ld, signal %ld)\n",
		side, rep->made, R1M_N, rep->error, rep->signal);
	result_extra(r, keys[0], rep->made);
	result_extra(r, keys[1], rep->error);
	if (rep->signal)
		result_extra(r, keys[2], rep->signal);
}

/*
 * query_huge: a query inside a 64 GiB reservation with one committed page
 * in its middle (the answer's region is 32 GiB), against query_1 (@small,
 * in one of ten 64 KiB reservations), interleaved; and the query map's
 * cost of that address space.
 */
#define HUGE_SIZE	(64ULL << 30)

/*
 * The bytes the query map grows by for a reservation of @size with a page
 * committed in its middle, in a context of its own (a child's), whose map
 * has nothing to reuse: page-granular, so an upper bound.
 */
static long map_bytes_fresh(unsigned long long size)
{
	MEMORY_BASIC_INFORMATION mbi;
	long v = -1, u0;
	int p[2], status;
	pid_t pid;
	char *x;

	if (pipe(p))
		return -1;
	pid = fork();
	if (pid == 0) {
		/* Mapped by the first query, built by the second. */
		VirtualQuery(&mbi, &mbi, sizeof(mbi));
		VirtualQuery(&mbi, &mbi, sizeof(mbi));
		u0 = map_used();
		x = VirtualAlloc(NULL, size, MEM_RESERVE, PAGE_READWRITE);
		/* Asked about: the module keeps its record. */
		if (x && VirtualAlloc(x + size / 2, PAGE, MEM_COMMIT,
				      PAGE_READWRITE) &&
		    VirtualQuery(x + size / 2, &mbi, sizeof(mbi)) && u0 >= 0)
			v = map_used() - u0;
		_exit(write(p[1], &v, sizeof(v)) != sizeof(v));
	}
	close(p[1]);
	if (pid < 0 || read(p[0], &v, sizeof(v)) != sizeof(v))
		v = -1;
	close(p[0]);
	if (pid > 0)
		waitpid(pid, &status, 0);
	return v;
}

static void query_huge(char *small)
{
	double q1[ROUNDS], qh[ROUNDS];
	long fresh = map_bytes_fresh(HUGE_SIZE);
	struct result *r;
	char *p;
	int i;

	p = VirtualAlloc(NULL, HUGE_SIZE, MEM_RESERVE, PAGE_READWRITE);
	if (!p) {
		fprintf(stderr, "bench: a 64 GiB reservation failed (error %u): query_huge skipped\n",
			GetLastError());
		return;
	}
	if (!VirtualAlloc(p + HUGE_SIZE / 2, PAGE, MEM_COMMIT,
			  PAGE_READWRITE))
		die("commit in 64 GiB");
	query_ntvm(p + 0x100);
	query_asked = 0;
	for (i = 0; i < ROUNDS; i++) {
		qh[i] = query_ntvm(p + 0x100);
		q1[i] = query_ntvm(small);
	}
	r = &results[nresults++];
	*r = (struct result){ .name = "query_huge", .baseline = "query_1",
			      .target = "<= 2.0", .unit = "ns" };
	r->ntvm = median(qh, ROUNDS);
	r->base = median(q1, ROUNDS);
	r->ratio = r->ntvm / r->base;
	result_extra(r, "asked_module", query_asked);
	if (fresh >= 0)
		result_extra(r, "map_bytes_per_gib",
			     fresh / (long)(HUGE_SIZE >> 30));
	VirtualFree(p, 0, MEM_RELEASE);
}

static void reserve_1m(void)
{
	static const char *const ntvm_keys[] = {
		"ntvm_made", "ntvm_error", "ntvm_signal" };
	static const char *const base_keys[] = {
		"baseline_made", "baseline_error", "baseline_signal" };
	struct result *r = &results[nresults++];
	struct r1m_report nt, base;
	char old_limit[32], old_maps[32], val[32];
	/* The mix's commits, and room for what this process holds. */
	unsigned long pages = r1m_mix() + (1UL << 18);
	int limit_set = 0, maps_set = 0;

	if (knob_read(COMMIT_LIMIT, old_limit, sizeof(old_limit))) {
		fprintf(stderr, "bench: reserve_1m: no %s\n", COMMIT_LIMIT);
	} else if (strtoul(old_limit, NULL, 10) < pages) {
		snprintf(val, sizeof(val), "%lu", pages);
		limit_set = !knob_write(COMMIT_LIMIT, val);
		if (!limit_set)
			fprintf(stderr, "bench: reserve_1m: cannot raise %s\n",
				COMMIT_LIMIT);
	}
	r1m_run(r1m_ntvm, &nt);
	if (limit_set && knob_write(COMMIT_LIMIT, old_limit))
		fprintf(stderr, "bench: reserve_1m: cannot restore %s\n",
			COMMIT_LIMIT);

	if (knob_read(MAX_MAP_COUNT, old_maps, sizeof(old_maps)) ||
	    knob_write(MAX_MAP_COUNT, "4000000"))
		fprintf(stderr, "bench: reserve_1m: cannot raise %s\n",
			MAX_MAP_COUNT);
	else
		maps_set = 1;
	r1m_run(r1m_linux, &base);
	if (maps_set && knob_write(MAX_MAP_COUNT, old_maps))
		fprintf(stderr, "bench: reserve_1m: cannot restore %s\n",
			MAX_MAP_COUNT);
	free(r1m_class);

	*r = (struct result){ .name = "reserve_1m",
			      .baseline = "mmap(PROT_NONE) per reservation, vm.max_map_count raised",
			      .target = "report", .unit = "ns" };
	r->ntvm = nt.ns;
	r->base = base.ns;
	r->ratio = base.ns > 0 ? nt.ns / base.ns : 0;
	result_extra(r, "ntvm_vmas", nt.vmas);
	result_extra(r, "baseline_vmas", base.vmas);
	r1m_failed(r, &nt, "ntvm", ntvm_keys);
	r1m_failed(r, &base, "the baseline", base_keys);
}

/*
 * Another process's memory (query_ex, rpm_4k, alloc_ex_64k): a forked
 * target that has used ntvm (ten reservations, like query_1's, and a
 * committed page) and waits; this process holds a handle to it.
 */
struct remote_ctx {
	pid_t pid;
	int wait_fd;		/* closed: the target exits */
	HANDLE h;
	char *query;		/* in the target: reserved, 64 KiB */
	char *page;		/* in the target: a committed RW page */
	char *local_query;	/* here: the same, for the local side */
};

static void remote_stop(struct remote_ctx *c);

static int remote_start(struct remote_ctx *c)
{
	int up[2], down[2];
	char *addr[2];
	char c1;

	if (pipe(up) || pipe(down))
		die("pipe");
	fflush(stdout);
	fflush(stderr);
	c->pid = fork();
	if (c->pid < 0)
		die("fork");
	if (!c->pid) {
		char **many = reserve_many(10);

		close(up[0]);
		close(down[1]);
		addr[0] = many[5] + 0x100;
		addr[1] = VirtualAlloc(NULL, PAGE, MEM_COMMIT, PAGE_READWRITE);
		if (!addr[1])
			die("target: commit");
		memset(addr[1], 7, PAGE);
		if (write(up[1], addr, sizeof(addr)) != sizeof(addr))
			_exit(1);
		while (read(down[0], &c1, 1) > 0)
			;
		_exit(0);
	}
	close(up[1]);
	close(down[0]);
	if (read(up[0], addr, sizeof(addr)) != sizeof(addr))
		die("target start");
	close(up[0]);
	c->wait_fd = down[1];
	c->query = addr[0];
	c->page = addr[1];
	c->local_query = reserve_many(10)[5] + 0x100;
	c->h = OpenProcess(PROCESS_ALL_ACCESS, FALSE, c->pid);
	if (!c->h) {
		fprintf(stderr, "bench: OpenProcess failed (error %u): query_ex, rpm_4k, alloc_ex_64k skipped\n",
			GetLastError());
		remote_stop(c);
		return -1;
	}
	return 0;
}

static void remote_stop(struct remote_ctx *c)
{
	if (c->h)
		CloseHandle(c->h);
	close(c->wait_fd);
	waitpid(c->pid, NULL, 0);
}

/*
 * query_ex: VirtualQueryEx of the target against the same query of this
 * process by the ioctl (a local VirtualQuery needs none now).
 */
static double query_ex_ntvm(void *ctx)
{
	struct remote_ctx *c = ctx;
	MEMORY_BASIC_INFORMATION mbi;
	double t = now_ns();
	int i;

	for (i = 0; i < N_QUERY; i++)
		if (!VirtualQueryEx(c->h, c->query, &mbi, sizeof(mbi)))
			die("VirtualQueryEx");
	return (now_ns() - t) / N_QUERY;
}

/* The same query of this process by the ioctl (query_ioctl's path). */
static double query_local(void *ctx)
{
	struct remote_ctx *c = ctx;

	return query_ioctl_ntvm(c->local_query);
}

/* rpm_4k: ReadProcessMemory of 4 KiB against process_vm_readv(2). */
#define N_RPM 20000
static double rpm_ntvm(void *ctx)
{
	struct remote_ctx *c = ctx;
	static char buf[PAGE];
	double t = now_ns();
	SIZE_T n;
	int i;

	for (i = 0; i < N_RPM; i++)
		if (!ReadProcessMemory(c->h, c->page, buf, PAGE, &n) ||
		    n != PAGE)
			die("ReadProcessMemory");
	return (now_ns() - t) / N_RPM;
}

static double rpm_linux(void *ctx)
{
	struct remote_ctx *c = ctx;
	static char buf[PAGE];
	struct iovec local = { buf, PAGE }, remote = { c->page, PAGE };
	double t = now_ns();
	int i;

	for (i = 0; i < N_RPM; i++)
		if (process_vm_readv(c->pid, &local, 1, &remote, 1, 0) !=
		    (ssize_t)PAGE)
			die("process_vm_readv");
	return (now_ns() - t) / N_RPM;
}

/* alloc_ex_64k: VirtualAllocEx + VirtualFreeEx against the local pair. */
static double alloc_ex_ntvm(void *ctx)
{
	struct remote_ctx *c = ctx;
	double t = now_ns();
	int i;

	for (i = 0; i < N_ALLOC; i++) {
		void *p = VirtualAllocEx(c->h, NULL, 0x10000,
					 MEM_RESERVE | MEM_COMMIT,
					 PAGE_READWRITE);
		if (!p || !VirtualFreeEx(c->h, p, 0, MEM_RELEASE))
			die("VirtualAllocEx/VirtualFreeEx");
	}
	return (now_ns() - t) / N_ALLOC;
}

static double alloc_local(void *ctx)
{
	return alloc_ntvm(NULL);
}

static void remote_pairs(void)
{
	struct remote_ctx c;

	if (remote_start(&c))
		return;
	pair("query_ex", "local query by the ioctl (query_ioctl)", "<= 1.5",
	     query_ex_ntvm, query_local, &c);
	pair("rpm_4k", "process_vm_readv of 4 KiB", "<= 1.3", rpm_ntvm,
	     rpm_linux, &c);
	pair("alloc_ex_64k", "local VirtualAlloc + VirtualFree (64 KiB)",
	     "<= 2.0", alloc_ex_ntvm, alloc_local, &c);
	remote_stop(&c);
}

static void *loop_setup_remote(void)
{
	static struct remote_ctx c;

	if (remote_start(&c))
		exit(1);
	return &c;
}

/*
 * qmap_*: what the query map costs a state change or a fault.  Two
 * contexts of this process made here (two opens of the device), alike
 * but for one thing: the first's map is mapped, so the module keeps it
 * through every request, the second's never is.  Neither is ever asked
 * about, so the first's allocations have no record: the path of an
 * allocation the process does not query.  The same requests as ioctls
 * on each, a round each in turn, the order swapped every round: the
 * same process, address space and state.  The contexts outlive the rows
 * (their views hold them), and the first's MMU notifier with them: run
 * it after every other row of this process.
 */
struct qmap_side {
	int fd;
	char *region;		/* protect_1page's 1 MiB, resident */
};

static void qmap_ioctl(int fd, unsigned long request, void *args,
		       const __u32 *status, const char *what)
{
	if (ioctl(fd, request, args)) {
		fprintf(stderr, "bench: %s failed (errno %d)\n", what, errno);
		exit(1);
	}
	if (*status) {
		fprintf(stderr, "bench: %s failed (status %#x)\n", what,
			*status);
		exit(1);
	}
}

static char *qmap_alloc(int fd, __u64 size)
{
	struct ntvm_alloc_args a = { .size = size,
				     .type = MEM_RESERVE | MEM_COMMIT,
				     .protect = PAGE_READWRITE };

	qmap_ioctl(fd, NTVM_IOC_ALLOC, &a, &a.status, "NTVM_IOC_ALLOC");
	return (char *)(uintptr_t)a.base;
}

static void qmap_release(int fd, char *p)
{
	struct ntvm_free_args f = { .base = (uintptr_t)p,
				    .type = MEM_RELEASE };

	qmap_ioctl(fd, NTVM_IOC_FREE, &f, &f.status, "NTVM_IOC_FREE");
}

static double qmap_alloc_release(struct qmap_side *s)
{
	double t = now_ns();
	int i;

	for (i = 0; i < N_ALLOC; i++)
		qmap_release(s->fd, qmap_alloc(s->fd, 0x10000));
	return (now_ns() - t) / N_ALLOC;
}

static double qmap_protect(struct qmap_side *s)
{
	struct ntvm_protect_args a;
	double t = now_ns();
	int i, j;

	for (i = 0; i < N_PROT; i++) {
		for (j = 0; j < 2; j++) {
			a = (struct ntvm_protect_args){
				.base = (uintptr_t)s->region + 0x80000,
				.size = PAGE,
				.protect = j ? PAGE_READWRITE : PAGE_READONLY };
			qmap_ioctl(s->fd, NTVM_IOC_PROTECT, &a, &a.status,
				   "NTVM_IOC_PROTECT");
		}
	}
	return (now_ns() - t) / N_PROT;
}

static double qmap_touch(struct qmap_side *s)
{
	char *p = qmap_alloc(s->fd, TOUCH_SIZE);
	double ns = touch(p, TOUCH_SIZE);

	qmap_release(s->fd, p);
	return ns;
}

static void qmap_cost(const char *name, const char *baseline,
		      double (*fn)(struct qmap_side *),
		      struct qmap_side *live, struct qmap_side *plain)
{
	double a[ROUNDS], b[ROUNDS];
	struct result *r = &results[nresults++];
	int i;

	fn(live);	/* warm-up */
	fn(plain);
	for (i = 0; i < ROUNDS; i++) {
		if (i & 1) {
			b[i] = fn(plain);
			a[i] = fn(live);
		} else {
			a[i] = fn(live);
			b[i] = fn(plain);
		}
	}
	*r = (struct result){ .name = name, .baseline = baseline,
			      .target = "<= 1.05", .unit = "ns" };
	r->ntvm = median(a, ROUNDS);
	r->base = median(b, ROUNDS);
	r->ratio = r->ntvm / r->base;
}

static int qmap_open(void)
{
	int fd = open("/dev/ntvm", O_RDWR | O_CLOEXEC);

	if (fd < 0)
		die("open /dev/ntvm");
	return fd;
}

/* The two sides: the map is live in the first after its first request. */
static void qmap_costs(void)
{
	struct qmap_side live = { .fd = qmap_open() };
	struct qmap_side plain = { .fd = qmap_open() };
	long page = sysconf(_SC_PAGESIZE);
	void *header;

	header = mmap(NULL, page, PROT_READ, MAP_SHARED, live.fd, 0);
	if (header == MAP_FAILED)
		die("map the query map");
	live.region = qmap_alloc(live.fd, 1 << 20);
	plain.region = qmap_alloc(plain.fd, 1 << 20);
	/* Pending from the start until a request makes the map live. */
	if (__atomic_load_n(&((const struct ntvm_query_map_header *)
			      header)->pending, __ATOMIC_ACQUIRE)) {
		fprintf(stderr, "bench: the query map did not go live\n");
		exit(1);
	}
	memset(live.region, 1, 1 << 20);
	memset(plain.region, 1, 1 << 20);
	qmap_cost("qmap_alloc_release_64k",
		  "the same without the map (ioctls)", qmap_alloc_release,
		  &live, &plain);
	qmap_cost("qmap_protect_1page", "the same without the map (ioctls)",
		  qmap_protect, &live, &plain);
	qmap_cost("qmap_first_touch_4k", "the same without the map (ioctls)",
		  qmap_touch, &live, &plain);
	qmap_release(live.fd, live.region);
	qmap_release(plain.fd, plain.region);
	munmap(header, page);
	close(live.fd);
	close(plain.fd);
}

/*
 * --loop NAME ntvm|base SECONDS: one side of one benchmark, the batch main()
 * measures with the same setup, run over and over for SECONDS (after one
 * warm-up batch) so that a profiler can sample it; prints the median ns per
 * operation of the batches.  When NTVM_BENCH_PERF_CTL and
 * NTVM_BENCH_PERF_ACK name the fifos of "perf record --control
 * fifo:CTL,ACK -D -1", sampling runs only while a batch's operations are
 * timed (see profile()).  ioctl_version is a bare NTVM_IOC_FEATURES against
 * getppid(): the floor of every ntvm call.
 */
struct loop_bench {
	const char *name;
	batch_fn ntvm, base;
	void *(*setup)(void);
	int self_profiled;	/* the batch calls profile() itself */
};

/*
 * protect_1page with the library's query map live, to profile (--loop
 * qmap_protect_1page): the library's context, against protect_1page's
 * batch in a run whose map never went live; not the row's two contexts.
 */
static double prot_qmap_ntvm(void *ctx)
{
	static int live;
	MEMORY_BASIC_INFORMATION mbi;

	/* The first query maps the map, the request after it builds it. */
	if (!live++) {
		VirtualQuery(ctx, &mbi, sizeof(mbi));
		VirtualQuery(ctx, &mbi, sizeof(mbi));
	}
	return prot_ntvm(ctx);
}

static void *loop_setup_prot(void)
{
	static struct prot_ctx pc;

	pc.ntvm = VirtualAlloc(NULL, 1 << 20, MEM_COMMIT, PAGE_READWRITE);
	pc.anon = anon_nothp(1 << 20);
	if (!pc.ntvm)
		die("commit 1 MiB");
	memset(pc.ntvm, 1, 1 << 20);
	memset(pc.anon, 1, 1 << 20);
	return &pc;
}

static void *loop_setup_memfd(void)
{
	memfd = memfd_create("bench", MFD_CLOEXEC);
	if (memfd < 0)
		die("memfd_create");
	return NULL;
}

static void *loop_setup_query(void)
{
	return reserve_many(10)[5] + 0x100;
}

static void *loop_setup_procmap(void)
{
	static struct procmap_ctx c;
	const char *lacks = procmap_open(&c, loop_setup_query());

	if (lacks) {
		fprintf(stderr, "bench: kernel lacks %s\n", lacks);
		exit(1);
	}
	return &c;
}

static void *loop_setup_version(void)
{
	static int fd;

	fd = open("/dev/ntvm", O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		perror("bench: /dev/ntvm");
		exit(1);
	}
	return &fd;
}

static const struct loop_bench loops[] = {
	{ "alloc_release_64k", alloc_ntvm, alloc_linux, NULL, 0 },
	{ "protect_1page", prot_ntvm, prot_linux, loop_setup_prot, 0 },
	{ "qmap_protect_1page", prot_qmap_ntvm, prot_ntvm, loop_setup_prot,
	  0 },
	{ "first_touch_4k", touch_ntvm, touch_linux, NULL, 1 },
	{ "decommit_256", decommit_ntvm, decommit_linux, NULL, 1 },
	{ "ref_alloc_release_64k", alloc_ntvm, alloc_shm, loop_setup_memfd, 0 },
	{ "ref_first_touch_4k", touch_ntvm, touch_shm, loop_setup_memfd, 1 },
	{ "ref_decommit_256", decommit_ntvm, decommit_shm, loop_setup_memfd, 1 },
	{ "query_1", query_ntvm, getppid_linux, loop_setup_query, 0 },
	{ "query_ioctl", query_ioctl_ntvm, getppid_linux, loop_setup_query,
	  0 },
	{ "ioctl_version", version_ntvm, getppid_linux, loop_setup_version, 0 },
	{ "ww_first_write", ww_first_write_ntvm, ww_first_write_emu, ww_setup,
	  1 },
	{ "ww_get_reset", ww_get_reset_ntvm, ww_get_reset_emu, ww_setup, 1 },
	{ "ww_write_cost", ww_write_cost_ntvm, ww_write_cost_plain, ww_setup,
	  0 },
	{ "ww_first_write_uffd", ww_first_write_ntvm_u, ww_first_write_uffd,
	  loop_setup_ww_uffd, 1 },
	{ "ww_get_reset_pagemap", ww_get_reset_ntvm_u, ww_get_reset_pagemap,
	  loop_setup_ww_uffd, 1 },
	{ "query_1_procmap", query_procmap_ntvm, query_procmap_linux,
	  loop_setup_procmap, 0 },
	{ "query_ex", query_ex_ntvm, query_local, loop_setup_remote, 0 },
	{ "rpm_4k", rpm_ntvm, rpm_linux, loop_setup_remote, 0 },
	{ "alloc_ex_64k", alloc_ex_ntvm, alloc_local, loop_setup_remote, 0 },
};

#define LOOP_MAX_BATCHES 65536

static int loop_main(int argc, char **argv)
{
	const struct loop_bench *b = NULL;
	const char *ctl, *ack;
	double *ns, start, seconds = 0;
	size_t i, n = 0, batches = 0;
	batch_fn fn;
	void *ctx;

	if (argc == 5 && !strcmp(argv[1], "--loop")) {
		for (i = 0; i < sizeof(loops) / sizeof(loops[0]); i++)
			if (!strcmp(argv[2], loops[i].name))
				b = &loops[i];
		seconds = atof(argv[4]);
	}
	if (!b || seconds <= 0 ||
	    (strcmp(argv[3], "ntvm") && strcmp(argv[3], "base"))) {
		fprintf(stderr, "usage: %s [--loop NAME ntvm|base SECONDS]\nNAME:",
			argv[0]);
		for (i = 0; i < sizeof(loops) / sizeof(loops[0]); i++)
			fprintf(stderr, " %s", loops[i].name);
		fprintf(stderr, "\n");
		return 2;
	}
	fn = strcmp(argv[3], "ntvm") ? b->base : b->ntvm;
	ns = malloc(LOOP_MAX_BATCHES * sizeof(*ns));
	if (!ns)
		die("malloc");
	ctx = b->setup ? b->setup() : NULL;
	fn(ctx);	/* warm-up, never sampled */

	ctl = getenv("NTVM_BENCH_PERF_CTL");
	ack = getenv("NTVM_BENCH_PERF_ACK");
	if (ctl && ack) {
		perf_ctl_fd = open(ctl, O_WRONLY | O_CLOEXEC);
		perf_ack_fd = open(ack, O_RDONLY | O_CLOEXEC);
		if (perf_ctl_fd < 0 || perf_ack_fd < 0) {
			perror("bench: perf control fifos");
			return 1;
		}
	}

	start = now_ns();
	do {
		double v;

		if (!b->self_profiled)
			profile(1);
		v = fn(ctx);
		if (!b->self_profiled)
			profile(0);
		if (n < LOOP_MAX_BATCHES)
			ns[n++] = v;
		batches++;
	} while (now_ns() - start < seconds * 1e9);

	printf("loop %s %s: %zu batches in %.1f s, median %.0f ns/op\n",
	       b->name, argv[3], batches, (now_ns() - start) / 1e9,
	       median(ns, n));
	free(ns);
	return 0;
}

int main(int argc, char **argv)
{
	struct prot_ctx pc;
	struct utsname u;
	char **many;
	void *ww_probe;
	int i, j;

	if (argc > 1)
		return loop_main(argc, argv);

	/* protect_1page */
	pc.ntvm = VirtualAlloc(NULL, 1 << 20, MEM_COMMIT, PAGE_READWRITE);
	pc.anon = anon_nothp(1 << 20);
	if (!pc.ntvm)
		die("commit 1 MiB");
	memset(pc.ntvm, 1, 1 << 20);
	memset(pc.anon, 1, 1 << 20);

	pair("alloc_release_64k", "mmap + munmap", "<= 1.0",
	     alloc_ntvm, alloc_linux, NULL);
	pair("protect_1page", "mprotect RW->RO->RW", "<= 1.0",
	     prot_ntvm, prot_linux, &pc);
	pair("first_touch_4k", "first write to anonymous memory, no THP",
	     "<= 1.3", touch_ntvm, touch_linux, NULL);
	pair("decommit_256", "madvise(DONTNEED) + mprotect(PROT_NONE)",
	     "<= 1.5", decommit_ntvm, decommit_linux, NULL);

	many = reserve_many(10);
	/* References: ntvm against plain shmem (not targets). */
	memfd = memfd_create("bench", MFD_CLOEXEC);
	if (memfd < 0)
		die("memfd_create");
	pair("ref_alloc_release_64k", "memfd mmap(MAP_SHARED) + munmap",
	     "reference", alloc_ntvm, alloc_shm, NULL);
	pair("ref_first_touch_4k", "first write to memfd MAP_SHARED",
	     "reference", touch_ntvm, touch_shm, NULL);
	pair("ref_decommit_256", "memfd madvise(REMOVE) + mprotect(NONE)",
	     "reference", decommit_ntvm, decommit_shm, NULL);

	query_asked = 0;
	pair("query_1", "getppid()", "<= 0.5", query_ntvm, getppid_linux,
	     many[5] + 0x100);
	result_extra(&results[nresults - 1], "asked_module", query_asked);
	pair("query_ioctl", "getppid()", "reference", query_ioctl_ntvm,
	     getppid_linux, many[5] + 0x100);
	{
		struct procmap_ctx pm;
		const char *lacks = procmap_open(&pm, many[5] + 0x100);

		if (lacks) {
			skipped("query_1_procmap", lacks);
		} else {
			pair("query_1_procmap", "one PROCMAP_QUERY ioctl",
			     "<= 1.0", query_procmap_ntvm, query_procmap_linux,
			     &pm);
			close(pm.fd);
		}
	}
	release_many(many, 10);
	remote_pairs();
	{
		double q1[ROUNDS], q100k[ROUNDS];
		struct result *r = &results[nresults++];
		char **small = reserve_many(10);
		MEMORY_BASIC_INFORMATION mbi;
		long used, unasked;

		query_ntvm(small[5]);
		used = map_used();
		many = reserve_many(100000);
		unasked = map_used();
		/* Each asked about once: the module keeps its record. */
		for (i = 0; i < 100000; i++)
			if (!VirtualQuery(many[i], &mbi, sizeof(mbi)))
				die("VirtualQuery");
		query_asked = 0;
		for (i = 0; i < ROUNDS; i++) {
			q100k[i] = query_ntvm(many[50000] + 0x100);
			q1[i] = query_ntvm(small[5] + 0x100);
		}
		*r = (struct result){ .name = "query_100k",
				      .baseline = "query_1",
				      .target = "<= 1.2", .unit = "ns" };
		r->ntvm = median(q100k, ROUNDS);
		r->base = median(q1, ROUNDS);
		r->ratio = r->ntvm / r->base;
		result_extra(r, "asked_module", query_asked);
		/*
		 * The query map's cost of a 64 KiB reservation the process
		 * asks about, and of one it does not.
		 */
		if (used >= 0) {
			result_extra(r, "map_bytes_per_reservation",
				     (map_used() - used) / 100000);
			result_extra(r, "map_bytes_per_unasked_reservation",
				     (unasked - used) / 100000);
		}
		result_extra(r, "map_used_bytes", map_used());
		release_many(many, 100000);
		query_huge(small[5] + 0x100);
		release_many(small, 10);
	}
	vma_alternating();
	fault_scaling();
	ww_probe = VirtualAlloc(NULL, PAGE, MEM_RESERVE | MEM_WRITE_WATCH,
				PAGE_READWRITE);
	if (!ww_probe)
		fprintf(stderr, "bench: no write watch (error %u): ww_* skipped\n",
			GetLastError());
	else if (VirtualFree(ww_probe, 0, MEM_RELEASE)) {
		struct ww_ctx *c = ww_setup();

		pair("ww_first_write",
		     "mprotect(PROT_READ) + SIGSEGV handler + mprotect(RW)",
		     "<= 0.1", ww_first_write_ntvm, ww_first_write_emu, c);
		pair("ww_get_reset",
		     "map scan + mprotect(PROT_READ) per dirty page",
		     "<= 0.5", ww_get_reset_ntvm, ww_get_reset_emu, c);
		pair("ww_write_cost", "the same on an unwatched commit",
		     "<= 1.05", ww_write_cost_ntvm, ww_write_cost_plain, c);
		{
			struct ww_uffd u;
			const char *lacks = ww_uffd_setup(&u);

			if (lacks) {
				skipped("ww_first_write_uffd", lacks);
				skipped("ww_get_reset_pagemap", lacks);
			} else {
				u.ntvm = c;
				pair("ww_first_write_uffd",
				     "async uffd-wp: the kernel unprotects",
				     WW_UFFD_FIRST_TARGET, ww_first_write_ntvm_u,
				     ww_first_write_uffd, &u);
				pair("ww_get_reset_pagemap",
				     "PAGEMAP_SCAN: written pages, WP again",
				     WW_PAGEMAP_TARGET, ww_get_reset_ntvm_u,
				     ww_get_reset_pagemap, &u);
				ww_uffd_teardown(&u);
			}
		}
		ww_teardown(c);
	}
	/*
	 * Last in this process: its two contexts outlive it (see
	 * qmap_costs()); reserve_1m runs in children of its own.
	 */
	qmap_costs();
	reserve_1m();

	uname(&u);
	printf("\n%-20s %14s %14s %8s  %-10s %s\n", "name", "ntvm", "baseline",
	       "ratio", "target", "baseline is");
	for (i = 0; i < nresults; i++) {
		struct result *r = &results[i];

		printf("%-20s %11.0f %-2s %11.0f %-2s %8.2f  %-10s %s\n",
		       r->name, r->ntvm, r->is_count ? "" : r->unit[0] == 'n' ?
		       "ns" : "/s", r->base, r->is_count ? "" :
		       r->unit[0] == 'n' ? "ns" : "/s", r->ratio, r->target,
		       r->baseline);
		if (r->nextra)
			printf("%-20s", "");
		for (j = 0; j < r->nextra; j++)
			printf(" %s %ld%s", r->extra[j].key, r->extra[j].val,
			       j + 1 < r->nextra ? "," : "\n");
	}
	for (i = 0; i < nskips; i++)
		printf("%-20s skipped: kernel lacks %s\n", skips[i].name,
		       skips[i].lacks);
	printf("BENCH-JSON-BEGIN\n{\"kernel\": \"%s\", \"results\": [", u.release);
	for (i = 0; i < nresults; i++) {
		struct result *r = &results[i];

		printf("%s\n  {\"name\": \"%s\", \"ntvm_%s\": %.1f, \"baseline\": \"%s\", \"baseline_%s\": %.1f, \"ratio\": %.3f, \"target\": \"%s\"",
		       i ? "," : "", r->name,
		       r->is_count ? "count" : r->unit[0] == 'n' ? "ns" : "pages_per_s",
		       r->ntvm, r->baseline,
		       r->is_count ? "count" : r->unit[0] == 'n' ? "ns" : "pages_per_s",
		       r->base, r->ratio, r->target);
		for (j = 0; j < r->nextra; j++)
			printf(", \"%s\": %ld", r->extra[j].key,
			       r->extra[j].val);
		printf("}");
	}
	printf("\n], \"skipped\": [");
	for (i = 0; i < nskips; i++)
		printf("%s\n  {\"name\": \"%s\", \"kernel_lacks\": \"%s\"}",
		       i ? "," : "", skips[i].name, skips[i].lacks);
	printf("\n]}\nBENCH-JSON-END\n");
	return 0;
}
