// SPDX-License-Identifier: GPL-2.0
/*
 * Write watch against the writes that race with it (found by review):
 *
 *  - a page pinned for writing by process_vm_writev(2) is written behind
 *    its PTEs when the copy lands: a reset in between must not lose it;
 *  - a get with reset whose address array faults part way resets nothing
 *    it could not report;
 *  - a write racing a decommit leaves no written page behind.
 *
 * Raw ioctls on a context of the test's own, so that the calls are cheap
 * and exactly the ones named.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdatomic.h>
#include <sys/uio.h>

#include "inject.h"
#include "ntvm_test.h"
#include "kselftest_harness.h"

static int ww_fd = -1;

static uint64_t ww_alloc(uint64_t size)
{
	struct ntvm_alloc_args a = {
		.size = size, .protect = NTVM_PAGE_READWRITE,
		.type = NTVM_MEM_RESERVE | NTVM_MEM_COMMIT |
			NTVM_MEM_WRITE_WATCH,
	};

	if (ww_fd < 0)
		ww_fd = open("/dev/ntvm", O_RDWR | O_CLOEXEC);
	if (ioctl(ww_fd, NTVM_IOC_ALLOC, &a) || a.status)
		return 0;
	return a.base;
}

/* GetWriteWatch: the status; *count in, entries out. */
static uint32_t ww_get(uint64_t base, uint64_t size, int reset,
		       uint64_t *out, uint64_t *count)
{
	struct ntvm_get_write_watch_args g = {
		.base = base, .size = size, .addresses = (uintptr_t)out,
		.count = *count,
		.watch_flags = reset ? NTVM_WRITE_WATCH_FLAG_RESET : 0,
	};

	if (ioctl(ww_fd, NTVM_IOC_GET_WRITE_WATCH, &g))
		return 0xffffffff;
	if (!g.status)
		*count = g.count;
	return g.status;
}

static uint32_t ww_free(uint64_t base, uint64_t size, uint32_t type)
{
	struct ntvm_free_args f = { .base = base, .size = size, .type = type };

	if (ioctl(ww_fd, NTVM_IOC_FREE, &f))
		return 0xffffffff;
	return f.status;
}

static uint32_t ww_commit(uint64_t base, uint64_t size)
{
	struct ntvm_alloc_args a = {
		.base = base, .size = size, .type = NTVM_MEM_COMMIT,
		.protect = NTVM_PAGE_READWRITE,
	};

	if (ioctl(ww_fd, NTVM_IOC_ALLOC, &a))
		return 0xffffffff;
	return a.status;
}

#define PV_PAGES	1024

struct pv_writer {
	uint64_t base;
	char *src;
	atomic_int go, done;
};

static void *pv_write(void *arg)
{
	struct pv_writer *w = arg;
	struct iovec l = { w->src, PV_PAGES * PAGE };
	struct iovec r = { (void *)(uintptr_t)w->base, PV_PAGES * PAGE };

	while (!atomic_load(&w->go))
		;
	if (process_vm_writev(getpid(), &l, 1, &r, 1, 0) != PV_PAGES * PAGE)
		atomic_store(&w->done, 2);
	else
		atomic_store(&w->done, 1);
	return NULL;
}

/*
 * A consumer resets the last page in a loop and reads it after each call
 * that reports it; once the writer is done, one more call.  What the
 * consumer last read of each page must be what was written.
 */
TEST(pinned_write_is_not_lost_to_a_reset)
{
	static uint64_t out[PV_PAGES];
	static unsigned char seen[PV_PAGES];
	int iters = inject_active() ? 3 : 20, k, i, lost = 0;
	struct pv_writer w = { .base = ww_alloc(PV_PAGES * PAGE) };
	unsigned char *p = (unsigned char *)(uintptr_t)w.base;
	uint64_t n, j;

	ASSERT_NE(0, w.base);
	/*
	 * In memory before the calls: a fault in the kernel's copy to it
	 * could fail under fault injection, and the call would report an
	 * access violation, as it should.
	 */
	memset(out, 0, sizeof(out));
	w.src = malloc(PV_PAGES * PAGE);
	ASSERT_NE(NULL, w.src);
	for (k = 1; k <= iters; k++) {
		unsigned char v = k;
		pthread_t t;
		int last = 0;

		n = PV_PAGES;
		ASSERT_EQ(0, ww_get(w.base, PV_PAGES * PAGE, 1, out, &n));
		for (i = 0; i < PV_PAGES; i++)
			seen[i] = p[i * PAGE];
		memset(w.src, v, PV_PAGES * PAGE);
		atomic_store(&w.go, 0);
		atomic_store(&w.done, 0);
		ASSERT_EQ(0, pthread_create(&t, NULL, pv_write, &w));
		atomic_store(&w.go, 1);
		while (!last) {
			last = atomic_load(&w.done);
			n = PV_PAGES;
			ASSERT_EQ(0, ww_get(w.base + (PV_PAGES - 1) * PAGE, PAGE,
					    1, out, &n));
			for (j = 0; j < n; j++) {
				i = (out[j] - w.base) / PAGE;
				seen[i] = p[i * PAGE];
			}
		}
		pthread_join(t, NULL);
		ASSERT_EQ(1, atomic_load(&w.done));
		n = PV_PAGES;
		ASSERT_EQ(0, ww_get(w.base, PV_PAGES * PAGE, 1, out, &n));
		for (j = 0; j < n; j++) {
			i = (out[j] - w.base) / PAGE;
			seen[i] = p[i * PAGE];
		}
		for (i = 0; i < PV_PAGES; i++) {
			ASSERT_EQ(v, p[i * PAGE]);
			if (seen[i] != v && lost++ < 4)
				TH_LOG("iteration %d: page %d written (%u), last report read %u",
				       k, i, v, seen[i]);
		}
	}
	EXPECT_EQ(0, lost);
	free(w.src);
	EXPECT_EQ(0, ww_free(w.base, 0, NTVM_MEM_RELEASE));
}

TEST(faulting_address_array_resets_nothing_unreported)
{
	uint64_t base = ww_alloc(64 * PAGE), n, all[64];
	char *p = (char *)(uintptr_t)base, *buf;
	uint64_t *out;
	int i;

	ASSERT_NE(0, base);
	for (i = 0; i < 20; i++)
		p[i * PAGE] = 1;
	buf = mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, buf);
	ASSERT_EQ(0, mprotect(buf + PAGE, PAGE, PROT_NONE));
	/* Room for 10 entries before an inaccessible page. */
	out = (uint64_t *)(buf + PAGE) - 10;
	n = 100;
	EXPECT_EQ(NTVM_STATUS_ACCESS_VIOLATION,
		  ww_get(base, 64 * PAGE, 1, out, &n));
	n = 64;
	ASSERT_EQ(0, ww_get(base, 64 * PAGE, 0, all, &n));
	/* At most the ten delivered may have been reset. */
	ASSERT_LE(10, n);
	EXPECT_EQ(20, n);
	EXPECT_EQ(base + 19 * PAGE, all[n - 1]);
	munmap(buf, 2 * PAGE);
	EXPECT_EQ(0, ww_free(base, 0, NTVM_MEM_RELEASE));
}

#define DEC_PAGES	4096	/* two chunks; the target in the second */

struct dec_writer {
	volatile char *target;
	atomic_int stop;
};

static __thread sigjmp_buf dec_jmp;

static void dec_segv(int sig)
{
	siglongjmp(dec_jmp, 1);
}

static void *dec_write(void *arg)
{
	struct dec_writer *w = arg;

	sigsetjmp(dec_jmp, 1);
	while (!atomic_load(&w->stop))
		*w->target = 1;
	return NULL;
}

TEST(write_racing_a_decommit_leaves_no_written_page)
{
	struct sigaction sa = { .sa_handler = dec_segv, .sa_flags = SA_NODEFER };
	int iters = inject_active() ? 200 : 5000, k, hits = 0;
	uint64_t base = ww_alloc(DEC_PAGES * PAGE), out[16], n;
	struct dec_writer w;
	pthread_t t;

	ASSERT_NE(0, base);
	ASSERT_EQ(0, sigaction(SIGSEGV, &sa, NULL));
	w.target = (char *)(uintptr_t)base + (DEC_PAGES - 1) * PAGE;
	atomic_store(&w.stop, 0);
	ASSERT_EQ(0, pthread_create(&t, NULL, dec_write, &w));
	for (k = 0; k < iters; k++) {
		volatile int d;

		n = 16;
		ASSERT_EQ(0, ww_get(base, DEC_PAGES * PAGE, 1, out, &n));
		for (d = rand() % 2000; d > 0; d--)
			;
		ASSERT_EQ(0, ww_free(base, DEC_PAGES * PAGE, NTVM_MEM_DECOMMIT));
		n = 16;
		ASSERT_EQ(0, ww_get(base, DEC_PAGES * PAGE, 0, out, &n));
		if (n && hits++ < 4)
			TH_LOG("iteration %d: decommitted page %#llx reported",
			       k, (unsigned long long)out[0]);
		n = 16;
		ASSERT_EQ(0, ww_get(base, DEC_PAGES * PAGE, 1, out, &n));
		ASSERT_EQ(0, ww_commit(base, DEC_PAGES * PAGE));
	}
	atomic_store(&w.stop, 1);
	pthread_join(t, NULL);
	signal(SIGSEGV, SIG_DFL);
	EXPECT_EQ(0, hits);
	EXPECT_EQ(0, ww_free(base, 0, NTVM_MEM_RELEASE));
}

TEST_HARNESS_MAIN
