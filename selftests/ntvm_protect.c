// SPDX-License-Identifier: GPL-2.0
/*
 * VirtualProtect / NtProtectVirtualMemory (spec 2.5).
 */
#include "ntvm_test.h"
#include "kselftest_harness.h"

TEST(old_protect_pointer_required)
{
	char *p = VirtualAlloc(NULL, PAGE, MEM_COMMIT, PAGE_READWRITE);
	uintptr_t base = (uintptr_t)p;
	SIZE_T size = PAGE;

	ASSERT_NE(NULL, p);
	EXPECT_FALSE(VirtualProtect(p, PAGE, PAGE_READONLY, NULL));
	EXPECT_EQ(ERROR_NOACCESS, GetLastError());
	EXPECT_EQ(STATUS_ACCESS_VIOLATION, nt_protect(&base, &size,
						      PAGE_READONLY, NULL));
	EXPECT_EQ(1, can_write((uintptr_t)p, 1));
	EXPECT_TRUE(VirtualFree(p, 0, MEM_RELEASE));
}

TEST(new_protection_validated_first)
{
	static const DWORD bad[] = {
		0, PAGE_GUARD, PAGE_NOCACHE, PAGE_WRITECOPY,
		PAGE_EXECUTE_WRITECOPY, PAGE_READONLY | PAGE_READWRITE,
		PAGE_READWRITE | PAGE_EXECUTE, 0x03, 0x30, 0x800,
		PAGE_NOACCESS | PAGE_GUARD,
	};
	char *p = VirtualAlloc(NULL, PAGE, MEM_COMMIT, PAGE_READWRITE);
	unsigned int i;

	ASSERT_NE(NULL, p);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		uintptr_t base = (uintptr_t)p;
		SIZE_T size = PAGE;
		ULONG old = 0x1234;
		DWORD old32 = 0x1234;

		EXPECT_EQ(STATUS_INVALID_PAGE_PROTECTION,
			  nt_protect(&base, &size, bad[i], &old));
		EXPECT_EQ(PAGE_NOACCESS, old);
		EXPECT_FALSE(VirtualProtect(p, PAGE, bad[i], &old32));
		EXPECT_EQ(ERROR_INVALID_PARAMETER, GetLastError());
		/* Even on free memory the protection is checked first. */
		base = 0x10000;
		EXPECT_EQ(STATUS_INVALID_PAGE_PROTECTION,
			  nt_protect(&base, &size, bad[i], &old));
	}
	EXPECT_EQ(PAGE_READWRITE, query((uintptr_t)p).Protect);
	EXPECT_TRUE(VirtualFree(p, 0, MEM_RELEASE));
}

TEST(one_allocation_all_committed)
{
	uintptr_t b = free_range(0x20000), base;
	SIZE_T size;
	ULONG old;
	DWORD old32;

	ASSERT_NE(0, b);
	ASSERT_TRUE(two_adjacent(b, 1));
	/* Spanning two allocations. */
	base = b + 0xf000;
	size = 0x2000;
	EXPECT_EQ(STATUS_CONFLICTING_ADDRESSES,
		  nt_protect(&base, &size, PAGE_READONLY, &old));
	EXPECT_EQ(PAGE_NOACCESS, old);
	EXPECT_FALSE(VirtualProtect(ptr(b + 0xf000), 0x2000, PAGE_READONLY,
				    &old32));
	EXPECT_EQ(ERROR_INVALID_ADDRESS, GetLastError());
	EXPECT_EQ(1, can_write(b + 0xf000, 1));
	/* A decommitted page inside: nothing changes. */
	ASSERT_TRUE(VirtualFree(ptr(b + 0x4000), PAGE, MEM_DECOMMIT));
	base = b;
	size = 0x8000;
	EXPECT_EQ(STATUS_NOT_COMMITTED,
		  nt_protect(&base, &size, PAGE_READONLY, &old));
	EXPECT_FALSE(VirtualProtect(ptr(b), 0x8000, PAGE_READONLY, &old32));
	EXPECT_EQ(ERROR_INVALID_ADDRESS, GetLastError());
	EXPECT_EQ(PAGE_READWRITE, query(b).Protect);
	EXPECT_EQ(0x4000, query(b).RegionSize);
	EXPECT_EQ(1, can_write(b, 1));
	/* Free memory and size 0. */
	EXPECT_TRUE(VirtualFree(ptr(b + 0x10000), 0, MEM_RELEASE));
	base = b + 0x10000;
	size = PAGE;
	EXPECT_EQ(STATUS_CONFLICTING_ADDRESSES,
		  nt_protect(&base, &size, PAGE_READONLY, &old));
	base = b;
	size = 0;
	EXPECT_EQ(STATUS_INVALID_PARAMETER_3,
		  nt_protect(&base, &size, PAGE_READONLY, &old));
	EXPECT_TRUE(VirtualFree(ptr(b), 0, MEM_RELEASE));
}

TEST(old_protection_is_the_first_pages)
{
	char *p = VirtualAlloc(NULL, 0x10000, MEM_COMMIT, PAGE_READWRITE);
	DWORD old;

	ASSERT_NE(NULL, p);
	ASSERT_TRUE(VirtualProtect(p + 0x8000, 0x8000, PAGE_READONLY, &old));
	EXPECT_EQ(PAGE_READWRITE, old);
	ASSERT_TRUE(VirtualProtect(p, 0x10000, PAGE_EXECUTE_READ, &old));
	EXPECT_EQ(PAGE_READWRITE, old);
	ASSERT_TRUE(VirtualProtect(p + 0x8000, 0x8000, PAGE_NOACCESS, &old));
	EXPECT_EQ(PAGE_EXECUTE_READ, old);
	EXPECT_EQ(0x8000, query((uintptr_t)p).RegionSize);
	EXPECT_EQ(PAGE_NOACCESS, query((uintptr_t)p + 0x8000).Protect);
	EXPECT_TRUE(VirtualFree(p, 0, MEM_RELEASE));
}

TEST(nt_outputs_are_rounded)
{
	char *p = VirtualAlloc(NULL, 0x3000, MEM_COMMIT, PAGE_READWRITE);
	uintptr_t base = (uintptr_t)p + 1;
	SIZE_T size = 1;
	ULONG old;

	ASSERT_NE(NULL, p);
	EXPECT_EQ(STATUS_SUCCESS, nt_protect(&base, &size, PAGE_READONLY,
					     &old));
	EXPECT_EQ((uintptr_t)p, base);
	EXPECT_EQ(PAGE, size);
	base = (uintptr_t)p + 0xfff;
	size = 2;
	EXPECT_EQ(STATUS_SUCCESS, nt_protect(&base, &size, PAGE_NOACCESS,
					     &old));
	EXPECT_EQ((uintptr_t)p, base);
	EXPECT_EQ(0x2000, size);
	EXPECT_EQ(PAGE_READONLY, old);
	EXPECT_TRUE(VirtualFree(p, 0, MEM_RELEASE));
}

TEST(contents_survive_every_change)
{
	static const DWORD chain[] = {
		PAGE_NOACCESS, PAGE_READONLY, PAGE_EXECUTE, PAGE_NOACCESS,
		PAGE_EXECUTE_READWRITE, PAGE_READWRITE | PAGE_GUARD,
		PAGE_READWRITE,
	};
	char *p = VirtualAlloc(NULL, 0x2000, MEM_COMMIT, PAGE_READWRITE);
	unsigned int i;
	DWORD old;

	ASSERT_NE(NULL, p);
	for (i = 0; i < 0x2000; i++)
		p[i] = (char)i;
	for (i = 0; i < sizeof(chain) / sizeof(chain[0]); i++)
		ASSERT_TRUE(VirtualProtect(p, 0x2000, chain[i], &old));
	EXPECT_EQ(PAGE_READWRITE | PAGE_GUARD, old);
	for (i = 0; i < 0x2000; i++)
		ASSERT_EQ((char)i, p[i]);
	EXPECT_TRUE(VirtualFree(p, 0, MEM_RELEASE));
}

TEST(nocache_belongs_to_the_allocation)
{
	char *p = VirtualAlloc(NULL, 0x2000, MEM_COMMIT,
			       PAGE_READWRITE | PAGE_NOCACHE);
	char *q = VirtualAlloc(NULL, 0x2000, MEM_COMMIT, PAGE_READWRITE);
	DWORD old;

	ASSERT_NE(NULL, p);
	ASSERT_NE(NULL, q);
	EXPECT_EQ(PAGE_READWRITE | PAGE_NOCACHE, query((uintptr_t)p).Protect);
	ASSERT_TRUE(VirtualProtect(p, PAGE, PAGE_READWRITE, &old));
	EXPECT_EQ(PAGE_READWRITE | PAGE_NOCACHE, old);
	EXPECT_EQ(PAGE_READWRITE | PAGE_NOCACHE, query((uintptr_t)p).Protect);
	EXPECT_EQ(0x2000, query((uintptr_t)p).RegionSize);
	ASSERT_TRUE(VirtualProtect(q, PAGE, PAGE_READONLY | PAGE_NOCACHE,
				   &old));
	EXPECT_EQ(PAGE_READONLY, query((uintptr_t)q).Protect);
	EXPECT_TRUE(VirtualFree(p, 0, MEM_RELEASE));
	EXPECT_TRUE(VirtualFree(q, 0, MEM_RELEASE));
}

TEST(process_memory_is_not_ntvms_to_protect)
{
	char *m = mmap(NULL, PAGE, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	DWORD old = 0;
	int local = 0;

	ASSERT_NE(MAP_FAILED, m);
	EXPECT_FALSE(VirtualProtect(m, PAGE, PAGE_READONLY, &old));
	EXPECT_EQ(ERROR_INVALID_ADDRESS, GetLastError());
	EXPECT_FALSE(VirtualProtect(&local, 4, PAGE_NOACCESS, &old));
	EXPECT_EQ(ERROR_INVALID_ADDRESS, GetLastError());
	EXPECT_EQ(1, can_write((uintptr_t)m, 1));
	local = 1;
	munmap(m, PAGE);
}

TEST_HARNESS_MAIN
