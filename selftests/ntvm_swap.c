// SPDX-License-Identifier: GPL-2.0
/*
 * Pages out in swap when they are decommitted or released: they read zero
 * when committed again, and their swap is freed.  Needs swap: sets up
 * zram swap (built in, or /lib/zsmalloc.ko and /lib/zram.ko) when there
 * is none, and skips when it cannot.
 */
#include <sys/mman.h>

#include "ntvm_test.h"
#include "kselftest_harness.h"

#ifndef MADV_PAGEOUT
#define MADV_PAGEOUT	21
#endif

#define NPAGES	1024
/*
 * Swap slots freed go through per-CPU caches of 64 first: what may still
 * show as used after the pages went, in kB.
 */
#define SLOTS_CACHED_KB	(4 * 64 * 4)

static long swap_used_kb(void)
{
	long total = -1, free = -1;
	char line[256];
	FILE *f = fopen("/proc/meminfo", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		sscanf(line, "SwapTotal: %ld", &total);
		sscanf(line, "SwapFree: %ld", &free);
	}
	fclose(f);
	return total > 0 && free >= 0 ? total - free : -1;
}

static int resident_pages(char *p)
{
	unsigned char v[NPAGES];
	int i, n = 0;

	if (mincore(p, NPAGES * PAGE, v))
		return -1;
	for (i = 0; i < NPAGES; i++)
		n += v[i] & 1;
	return n;
}

static long nonzero_bytes(const char *p)
{
	long i, n = 0;

	for (i = 0; i < (long)(NPAGES * PAGE); i++)
		n += p[i] != 0;
	return n;
}

FIXTURE(swap) {
	int have_swap;
	int made;	/* this test set up the swap */
};

FIXTURE_SETUP(swap)
{
	self->made = 0;
	self->have_swap = swap_used_kb() >= 0;
	if (self->have_swap)
		return;
	if (access("/sys/block/zram0", F_OK))
		system("insmod /lib/zsmalloc.ko 2>/dev/null; insmod /lib/zram.ko 2>/dev/null");
	/* A zram0 left configured by an earlier test is reset first. */
	system("echo 1 > /sys/block/zram0/reset 2>/dev/null");
	if (system("echo 128M > /sys/block/zram0/disksize && mkswap /dev/zram0 >/dev/null 2>&1 && swapon /dev/zram0 2>/dev/null"))
		return;
	self->have_swap = self->made = 1;
}

FIXTURE_TEARDOWN(swap)
{
	if (self->made)
		system("swapoff /dev/zram0; echo 1 > /sys/block/zram0/reset");
}

/* Commit NPAGES at @p (0: anywhere), fill them, page them all out. */
static char *commit_and_swap_out(struct __test_metadata *_metadata,
				 char *at, DWORD type, int fill)
{
	char *p = VirtualAlloc(at, NPAGES * PAGE, type, PAGE_READWRITE);

	if (!p)
		return NULL;
	memset(p, fill, NPAGES * PAGE);
	EXPECT_EQ(0, madvise(p, NPAGES * PAGE, MADV_PAGEOUT));
	/* Best effort (a page can be busy): most of them, at least. */
	EXPECT_GT(NPAGES / 2, resident_pages(p));
	return p;
}

TEST_F(swap, decommitted_swapped_pages_read_zero)
{
	long before = swap_used_kb();
	char *p;

	if (!self->have_swap)
		SKIP(return, "no swap, and zram swap cannot be set up");
	p = commit_and_swap_out(_metadata, NULL, MEM_RESERVE | MEM_COMMIT,
				0xab);
	ASSERT_NE(NULL, p);
	EXPECT_LE(before + NPAGES * 4 / 2, swap_used_kb());
	EXPECT_LT(SLOTS_CACHED_KB, NPAGES * 4 / 2);
	ASSERT_TRUE(VirtualFree(p, NPAGES * PAGE, MEM_DECOMMIT));
	/* The swap went with the pages. */
	EXPECT_GE(before + SLOTS_CACHED_KB, swap_used_kb());
	ASSERT_EQ(p, VirtualAlloc(p, NPAGES * PAGE, MEM_COMMIT, PAGE_READWRITE));
	EXPECT_EQ(0, nonzero_bytes(p));
	EXPECT_TRUE(VirtualFree(p, 0, MEM_RELEASE));
}

TEST_F(swap, released_swapped_pages_read_zero)
{
	long before = swap_used_kb();
	char *p;

	if (!self->have_swap)
		SKIP(return, "no swap, and zram swap cannot be set up");
	p = commit_and_swap_out(_metadata, NULL, MEM_RESERVE | MEM_COMMIT,
				0xcd);
	ASSERT_NE(NULL, p);
	ASSERT_TRUE(VirtualFree(p, 0, MEM_RELEASE));
	EXPECT_GE(before + SLOTS_CACHED_KB, swap_used_kb());
	/* The same addresses again, in a new allocation. */
	ASSERT_EQ(p, VirtualAlloc(p, NPAGES * PAGE, MEM_RESERVE | MEM_COMMIT,
				  PAGE_READWRITE));
	EXPECT_EQ(0, nonzero_bytes(p));
	EXPECT_TRUE(VirtualFree(p, 0, MEM_RELEASE));
}

TEST_HARNESS_MAIN
