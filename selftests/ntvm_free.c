// SPDX-License-Identifier: GPL-2.0
/*
 * VirtualFree / NtFreeVirtualMemory (spec 2.4): decommit, release, the
 * NT-level partial release that splits an allocation, and every error.
 */
#include "ntvm_test.h"
#include "kselftest_harness.h"

TEST(free_type_validation)
{
	char *p = VirtualAlloc(NULL, 0x10000, MEM_COMMIT, PAGE_READWRITE);
	static const DWORD bad[] = {
		0, MEM_FREE, MEM_DECOMMIT | MEM_RELEASE, MEM_COMMIT,
		MEM_RELEASE | 0x100000,
	};
	unsigned int i;

	ASSERT_NE(NULL, p);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		uintptr_t base = (uintptr_t)p;
		SIZE_T size = 0;

		EXPECT_FALSE(VirtualFree(p, 0, bad[i]));
		EXPECT_EQ(ERROR_INVALID_PARAMETER, GetLastError());
		EXPECT_EQ(STATUS_INVALID_PARAMETER_4,
			  nt_free(&base, &size, bad[i]));
	}
	EXPECT_EQ(MEM_COMMIT, query((uintptr_t)p).State);
	EXPECT_TRUE(VirtualFree(p, 0, MEM_RELEASE));
}

TEST(release_needs_size_zero_and_the_base)
{
	char *p = VirtualAlloc(NULL, 0x10000, MEM_COMMIT, PAGE_READWRITE);
	uintptr_t base;
	SIZE_T size;

	ASSERT_NE(NULL, p);
	/* kernel32 refuses a size with MEM_RELEASE before NT sees it. */
	EXPECT_FALSE(VirtualFree(p, 1, MEM_RELEASE));
	EXPECT_EQ(ERROR_INVALID_PARAMETER, GetLastError());
	EXPECT_FALSE(VirtualFree(p + PAGE, 0, MEM_RELEASE));
	EXPECT_EQ(ERROR_INVALID_ADDRESS, GetLastError());
	base = (uintptr_t)p + PAGE;
	size = 0;
	EXPECT_EQ(STATUS_FREE_VM_NOT_AT_BASE, nt_free(&base, &size,
						      MEM_RELEASE));
	EXPECT_EQ(MEM_COMMIT, query((uintptr_t)p).State);
	/* Page-rounded: an address inside the first page is the base. */
	EXPECT_TRUE(VirtualFree(p + 0x123, 0, MEM_RELEASE));
	EXPECT_EQ(MEM_FREE, query((uintptr_t)p).State);
	/* Free memory, twice released, NULL. */
	EXPECT_FALSE(VirtualFree(p, 0, MEM_RELEASE));
	EXPECT_EQ(ERROR_INVALID_ADDRESS, GetLastError());
	base = (uintptr_t)p;
	size = 0;
	EXPECT_EQ(STATUS_MEMORY_NOT_ALLOCATED, nt_free(&base, &size,
						       MEM_RELEASE));
	EXPECT_FALSE(VirtualFree(NULL, 0, MEM_RELEASE));
	EXPECT_EQ(ERROR_INVALID_ADDRESS, GetLastError());
}

TEST(release_pages_in_mixed_states)
{
	char *p = VirtualAlloc(NULL, 0x20000, MEM_RESERVE, PAGE_READWRITE);
	struct ntvm_sysinfo_args before = sysinfo_now();
	uintptr_t base = (uintptr_t)p;
	SIZE_T size = 0;
	DWORD old;

	ASSERT_NE(NULL, p);
	ASSERT_EQ(p + 0x3000, VirtualAlloc(p + 0x3000, 0x2000, MEM_COMMIT,
					   PAGE_READWRITE));
	ASSERT_EQ(p + 0x8000, VirtualAlloc(p + 0x8000, 0x1000, MEM_COMMIT,
					   PAGE_EXECUTE_READ));
	ASSERT_TRUE(VirtualProtect(p + 0x3000, 0x1000, PAGE_NOACCESS, &old));
	EXPECT_EQ(before.committed + 3, sysinfo_now().committed);
	EXPECT_EQ(STATUS_SUCCESS, nt_free(&base, &size, MEM_RELEASE));
	EXPECT_EQ((uintptr_t)p, base);
	EXPECT_EQ(0x20000, size);
	EXPECT_EQ(before.committed, sysinfo_now().committed);
	EXPECT_EQ(before.allocations - 1, sysinfo_now().allocations);
	EXPECT_EQ(MEM_FREE, query((uintptr_t)p + 0x8000).State);
	EXPECT_EQ(0, can_read((uintptr_t)p + 0x8000, NULL));
}

TEST(decommit_rules)
{
	char *p = VirtualAlloc(NULL, 0x10000, MEM_RESERVE, PAGE_READWRITE);
	uintptr_t base;
	SIZE_T size;

	ASSERT_NE(NULL, p);
	/* Decommitting reserved pages is fine. */
	EXPECT_TRUE(VirtualFree(p + 0x1000, 0x2000, MEM_DECOMMIT));
	ASSERT_EQ(p, VirtualAlloc(p, 0x10000, MEM_COMMIT, PAGE_READWRITE));
	/* Every page the range touches: 2 bytes across a boundary. */
	base = (uintptr_t)p + 0x1fff;
	size = 2;
	EXPECT_EQ(STATUS_SUCCESS, nt_free(&base, &size, MEM_DECOMMIT));
	EXPECT_EQ((uintptr_t)p + 0x1000, base);
	EXPECT_EQ(0x2000, size);
	EXPECT_EQ(MEM_RESERVE, query((uintptr_t)p + 0x1000).State);
	EXPECT_EQ(0x2000, query((uintptr_t)p + 0x1000).RegionSize);
	EXPECT_EQ(MEM_COMMIT, query((uintptr_t)p + 0x3000).State);
	/* Size 0 away from the base. */
	base = (uintptr_t)p + 0x4000;
	size = 0;
	EXPECT_EQ(STATUS_FREE_VM_NOT_AT_BASE,
		  nt_free(&base, &size, MEM_DECOMMIT));
	/* Past the end of the allocation. */
	base = (uintptr_t)p + 0xf000;
	size = 0x2000;
	EXPECT_EQ(STATUS_UNABLE_TO_FREE_VM,
		  nt_free(&base, &size, MEM_DECOMMIT));
	EXPECT_FALSE(VirtualFree(p + 0xf000, 0x2000, MEM_DECOMMIT));
	EXPECT_EQ(ERROR_INVALID_PARAMETER, GetLastError());
	EXPECT_EQ(MEM_COMMIT, query((uintptr_t)p + 0xf000).State);
	/* Free memory. */
	EXPECT_FALSE(VirtualFree(p + 0x10000, 0x1000, MEM_DECOMMIT));
	EXPECT_EQ(ERROR_INVALID_ADDRESS, GetLastError());
	/* Size 0 at the base decommits everything; it stays reserved. */
	base = (uintptr_t)p;
	size = 0;
	EXPECT_EQ(STATUS_SUCCESS, nt_free(&base, &size, MEM_DECOMMIT));
	EXPECT_EQ((uintptr_t)p, base);
	EXPECT_EQ(0, size);
	EXPECT_EQ(MEM_RESERVE, query((uintptr_t)p).State);
	EXPECT_EQ(0x10000, query((uintptr_t)p).RegionSize);
	EXPECT_EQ(p, query((uintptr_t)p + 0x5000).AllocationBase);
	EXPECT_TRUE(VirtualFree(p, 0, MEM_RELEASE));
}

TEST(partial_release_splits_the_allocation)
{
	char *p = VirtualAlloc(NULL, 0x10000, MEM_COMMIT, PAGE_READWRITE);
	MEMORY_BASIC_INFORMATION mbi;
	uintptr_t base;
	SIZE_T size;

	ASSERT_NE(NULL, p);
	memset(p, 0x11, 0x10000);
	/* Release page 1 of 16 at NT level. */
	base = (uintptr_t)p + PAGE;
	size = PAGE;
	ASSERT_EQ(STATUS_SUCCESS, nt_free(&base, &size, MEM_RELEASE));
	EXPECT_EQ((uintptr_t)p + PAGE, base);
	EXPECT_EQ(PAGE, size);
	EXPECT_EQ(0x11, p[0]);
	EXPECT_EQ(0x11, p[0x2000]);
	EXPECT_EQ(0, can_read((uintptr_t)p + PAGE, NULL));
	mbi = query((uintptr_t)p + PAGE);
	EXPECT_EQ(MEM_FREE, mbi.State);
	EXPECT_EQ(PAGE, mbi.RegionSize);
	mbi = query((uintptr_t)p);
	EXPECT_EQ(p, mbi.AllocationBase);
	EXPECT_EQ(PAGE, mbi.RegionSize);
	/* The rest has its own allocation base. */
	mbi = query((uintptr_t)p + 0x5000);
	EXPECT_EQ(p + 0x2000, mbi.AllocationBase);
	EXPECT_EQ(PAGE_READWRITE, mbi.AllocationProtect);
	EXPECT_EQ(MEM_COMMIT, mbi.State);
	EXPECT_EQ(0xb000, mbi.RegionSize);
	/* ...so it is released with size 0 at that base. */
	EXPECT_FALSE(VirtualFree(p + 0x3000, 0, MEM_RELEASE));
	EXPECT_EQ(ERROR_INVALID_ADDRESS, GetLastError());
	EXPECT_TRUE(VirtualFree(p + 0x2000, 0, MEM_RELEASE));
	EXPECT_EQ(MEM_FREE, query((uintptr_t)p + 0x2000).State);
	/* A range crossing the allocation's end is refused. */
	base = (uintptr_t)p;
	size = 0x2000;
	EXPECT_EQ(STATUS_UNABLE_TO_FREE_VM, nt_free(&base, &size, MEM_RELEASE));
	EXPECT_EQ(0x11, p[0]);
	/* Releasing the head of an allocation rebases what is left. */
	p = VirtualAlloc(NULL, 0x30000, MEM_RESERVE, PAGE_NOACCESS);
	ASSERT_NE(NULL, p);
	base = (uintptr_t)p;
	size = 0x10000;
	ASSERT_EQ(STATUS_SUCCESS, nt_free(&base, &size, MEM_RELEASE));
	EXPECT_EQ(p + 0x10000, query((uintptr_t)p + 0x20000).AllocationBase);
	/* ...and the tail leaves the base alone. */
	base = (uintptr_t)p + 0x20000;
	size = 0x10000;
	ASSERT_EQ(STATUS_SUCCESS, nt_free(&base, &size, MEM_RELEASE));
	mbi = query((uintptr_t)p + 0x10000);
	EXPECT_EQ(p + 0x10000, mbi.AllocationBase);
	EXPECT_EQ(0x10000, mbi.RegionSize);
	EXPECT_EQ(MEM_FREE, query((uintptr_t)p + 0x20000).State);
	EXPECT_TRUE(VirtualFree(p + 0x10000, 0, MEM_RELEASE));
}

TEST(release_across_two_allocations_refused)
{
	uintptr_t b = free_range(0x20000), base;
	SIZE_T size;

	ASSERT_NE(0, b);
	ASSERT_TRUE(two_adjacent(b, 1));
	base = b + 0x8000;
	size = 0x10000;
	EXPECT_EQ(STATUS_UNABLE_TO_FREE_VM, nt_free(&base, &size, MEM_RELEASE));
	EXPECT_EQ(STATUS_UNABLE_TO_FREE_VM, nt_free(&base, &size,
						    MEM_DECOMMIT));
	EXPECT_EQ(1, can_write(b + 0x8000, 1));
	EXPECT_EQ(1, can_write(b + 0x10000, 1));
	EXPECT_TRUE(VirtualFree(ptr(b), 0, MEM_RELEASE));
	EXPECT_TRUE(VirtualFree(ptr(b + 0x10000), 0, MEM_RELEASE));
}

TEST(process_memory_is_not_ntvms_to_free)
{
	char *heap = malloc(100);
	int local;

	EXPECT_FALSE(VirtualFree(&local, 0, MEM_RELEASE));
	EXPECT_EQ(ERROR_INVALID_ADDRESS, GetLastError());
	EXPECT_FALSE(VirtualFree(heap, 0x1000, MEM_DECOMMIT));
	EXPECT_EQ(ERROR_INVALID_ADDRESS, GetLastError());
	heap[0] = 1;
	local = 2;
	EXPECT_EQ(2, local);
	free(heap);
}

TEST_HARNESS_MAIN
