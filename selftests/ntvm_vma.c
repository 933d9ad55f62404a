// SPDX-License-Identifier: GPL-2.0
/*
 * Page state lives below the VMA: protection runs do not split VMAs, only
 * executable / non-executable runs do, and adjacent views merge again.
 */
#include "inject.h"
#include "ntvm_test.h"
#include "kselftest_harness.h"

#define BIG	(256UL << 20)

TEST(alternating_protections_stay_one_vma)
{
	unsigned long i;
	uintptr_t a;
	DWORD old;
	char *p;

	if (inject_active())
		SKIP(return, "65536 calls, each checked: too slow under injection");
	p = VirtualAlloc(NULL, BIG, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
	a = (uintptr_t)p;

	ASSERT_NE(NULL, p);
	for (i = 0; i < BIG / PAGE; i += 2)
		ASSERT_TRUE(VirtualProtect(p + i * PAGE, PAGE, PAGE_READONLY,
					   &old));
	/* 65536 pages of alternating RO/RW: at most 4 VMAs (it is 1). */
	EXPECT_EQ(1, count_vmas(a, a + BIG));
	EXPECT_EQ(PAGE_READONLY, query(a).Protect);
	EXPECT_EQ(PAGE, query(a).RegionSize);
	EXPECT_EQ(PAGE_READWRITE, query(a + PAGE).Protect);
	EXPECT_EQ(0, can_write(a + 100 * PAGE, 1));
	EXPECT_EQ(1, can_write(a + 101 * PAGE, 1));
	EXPECT_TRUE(VirtualFree(p, 0, MEM_RELEASE));
	/* Released: free arena space, still the one view, reading free. */
	EXPECT_EQ(1, count_vmas(a, a + BIG));
	EXPECT_EQ(MEM_FREE, query(a + PAGE).State);
	EXPECT_EQ(0, can_read(a + PAGE, NULL));
}

TEST(exec_runs_split_and_merge_back)
{
	char *p = VirtualAlloc(NULL, 0x100000, MEM_COMMIT, PAGE_READWRITE);
	uintptr_t a = (uintptr_t)p;
	DWORD old;

	ASSERT_NE(NULL, p);
	EXPECT_EQ(1, count_vmas(a, a + 0x100000));
	ASSERT_TRUE(VirtualProtect(p + 0x10000, 0x2000, PAGE_EXECUTE_READ,
				   &old));
	EXPECT_EQ(3, count_vmas(a, a + 0x100000));
	ASSERT_TRUE(VirtualProtect(p + 0x12000, 0x1000, PAGE_EXECUTE,
				   &old));
	EXPECT_EQ(3, count_vmas(a, a + 0x100000));
	ASSERT_TRUE(VirtualProtect(p + 0x10000, 0x3000, PAGE_READONLY,
				   &old));
	EXPECT_EQ(1, count_vmas(a, a + 0x100000));
	/* Decommitted exec pages go back to the data view. */
	ASSERT_EQ(p + 0x40000, VirtualAlloc(p + 0x40000, PAGE, MEM_COMMIT,
					    PAGE_EXECUTE_READWRITE));
	EXPECT_EQ(3, count_vmas(a, a + 0x100000));
	ASSERT_TRUE(VirtualFree(p + 0x40000, PAGE, MEM_DECOMMIT));
	EXPECT_EQ(1, count_vmas(a, a + 0x100000));
	EXPECT_TRUE(VirtualFree(p, 0, MEM_RELEASE));
}

TEST(many_reservations_do_not_need_a_vma_each_when_adjacent)
{
	uintptr_t b = free_range(0x1000000);
	unsigned int i;

	ASSERT_NE(0, b);
	for (i = 0; i < 256; i++)
		ASSERT_EQ(ptr(b + i * GRAN), VirtualAlloc(ptr(b + i * GRAN),
							  GRAN, MEM_RESERVE,
							  PAGE_READWRITE));
	EXPECT_EQ(1, count_vmas(b, b + 256 * GRAN));
	/* Each is still its own allocation. */
	EXPECT_EQ(ptr(b + 7 * GRAN), query(b + 7 * GRAN + 5).AllocationBase);
	EXPECT_EQ(GRAN, query(b + 7 * GRAN).RegionSize);
	/* A release changes no VMA: the range becomes free arena space. */
	EXPECT_TRUE(VirtualFree(ptr(b + 7 * GRAN), 0, MEM_RELEASE));
	EXPECT_EQ(1, count_vmas(b, b + 256 * GRAN));
	EXPECT_EQ(MEM_FREE, query(b + 7 * GRAN).State);
	EXPECT_EQ(GRAN, query(b + 7 * GRAN).RegionSize);
	for (i = 0; i < 256; i++)
		if (i != 7)
			ASSERT_TRUE(VirtualFree(ptr(b + i * GRAN), 0,
						MEM_RELEASE));
	EXPECT_EQ(1, count_vmas(b, b + 256 * GRAN));
	EXPECT_EQ(MEM_FREE, query(b).State);
	/* Reserved again at the same address: no new VMA either. */
	ASSERT_EQ(ptr(b + 9 * GRAN), VirtualAlloc(ptr(b + 9 * GRAN), PAGE,
						  MEM_RESERVE, PAGE_READWRITE));
	EXPECT_EQ(1, count_vmas(b, b + 256 * GRAN));
	EXPECT_TRUE(VirtualFree(ptr(b + 9 * GRAN), 0, MEM_RELEASE));
}

TEST_HARNESS_MAIN
