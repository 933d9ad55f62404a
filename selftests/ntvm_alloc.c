// SPDX-License-Identifier: GPL-2.0
/*
 * VirtualAlloc / NtAllocateVirtualMemory: validation, rounding, reserve,
 * commit, recommit, reset and the commit charge (spec 2.1, 2.2).
 */
#include "ntvm_test.h"
#include "kselftest_harness.h"

/* Reserve at B + offset, size S -> base B + rb, size rs (spec 2.1). */
static const struct {
	uintptr_t off, size, rbase, rsize;
} rounding[] = {
	{ 0x0000, 0x1,    0, 0x1000 },
	{ 0x8000, 0x1,    0, 0x9000 },
	{ 0x0010, 0x1000, 0, 0x2000 },
	{ 0x10000, 0x2000, 0x10000, 0x2000 },
	{ 0xFFFF, 0x3000, 0, 0x13000 },
	{ 0x1010, 0x7000, 0, 0x9000 },
	{ 0x1010, 0xC000, 0, 0xE000 },
};

TEST(reserve_rounding_examples)
{
	uintptr_t b = free_range(0x100000);
	unsigned int i;

	ASSERT_NE(0, b);
	for (i = 0; i < sizeof(rounding) / sizeof(rounding[0]); i++) {
		uintptr_t base = b + rounding[i].off;
		SIZE_T size = rounding[i].size;
		MEMORY_BASIC_INFORMATION mbi;

		ASSERT_EQ(STATUS_SUCCESS,
			  nt_alloc(&base, &size, MEM_RESERVE, PAGE_READWRITE));
		EXPECT_EQ(b + rounding[i].rbase, base);
		EXPECT_EQ(rounding[i].rsize, size);
		mbi = query(base);
		EXPECT_EQ(MEM_RESERVE, mbi.State);
		EXPECT_EQ(rounding[i].rsize, mbi.RegionSize);
		EXPECT_EQ(0, mbi.Protect);
		EXPECT_EQ(PAGE_READWRITE, mbi.AllocationProtect);
		EXPECT_EQ(MEM_PRIVATE, mbi.Type);
		size = 0;
		EXPECT_EQ(STATUS_SUCCESS, nt_free(&base, &size, MEM_RELEASE));
		EXPECT_EQ(rounding[i].rsize, size);
	}
}

TEST(reserve_commit_unaligned_commits_whole_range)
{
	uintptr_t b = free_range(0x10000), base = b + 0x4080;
	SIZE_T size = 0x1000;

	ASSERT_NE(0, b);
	ASSERT_EQ(STATUS_SUCCESS, nt_alloc(&base, &size,
					   MEM_RESERVE | MEM_COMMIT,
					   PAGE_READWRITE));
	EXPECT_EQ(b, base);
	EXPECT_EQ(0x6000, size);
	/* Pages before the requested address are committed too. */
	EXPECT_EQ(1, can_write(b, 7));
	EXPECT_EQ(1, can_write(b + 0x5fff, 7));
	EXPECT_EQ(MEM_COMMIT, query(b).State);
	EXPECT_EQ(0x6000, query(b).RegionSize);
	EXPECT_TRUE(VirtualFree(ptr(b), 0, MEM_RELEASE));
}

TEST(null_address_is_64k_aligned_and_page_rounded)
{
	char *p = VirtualAlloc(NULL, 1, MEM_RESERVE, PAGE_READONLY);
	MEMORY_BASIC_INFORMATION mbi;

	ASSERT_NE(NULL, p);
	EXPECT_EQ(0, (uintptr_t)p % GRAN);
	mbi = query((uintptr_t)p);
	EXPECT_EQ(PAGE, mbi.RegionSize);
	EXPECT_EQ(MEM_RESERVE, mbi.State);
	/* The rest of the granule reads as free... */
	mbi = query((uintptr_t)p + PAGE);
	EXPECT_EQ(MEM_FREE, mbi.State);
	/* ...but cannot be reserved: the address rounds to the granule. */
	EXPECT_EQ(NULL, VirtualAlloc(p + PAGE, PAGE, MEM_RESERVE,
				     PAGE_READWRITE));
	EXPECT_EQ(ERROR_INVALID_ADDRESS, GetLastError());
	EXPECT_TRUE(VirtualFree(p, 0, MEM_RELEASE));
}

TEST(commit_with_null_address_reserves)
{
	char *p = VirtualAlloc(NULL, 0x3000, MEM_COMMIT, PAGE_READWRITE);
	MEMORY_BASIC_INFORMATION mbi;

	ASSERT_NE(NULL, p);
	EXPECT_EQ(0, (uintptr_t)p % GRAN);
	EXPECT_EQ(0, p[0]);
	EXPECT_EQ(0, p[0x2fff]);
	p[0x2fff] = 1;
	mbi = query((uintptr_t)p);
	EXPECT_EQ(MEM_COMMIT, mbi.State);
	EXPECT_EQ(PAGE_READWRITE, mbi.Protect);
	EXPECT_EQ(0x3000, mbi.RegionSize);
	EXPECT_EQ(p, mbi.AllocationBase);
	EXPECT_TRUE(VirtualFree(p, 0, MEM_RELEASE));
}

TEST(top_down_every_protection)
{
	static const DWORD prots[] = {
		PAGE_NOACCESS, PAGE_READONLY, PAGE_READWRITE, PAGE_EXECUTE,
		PAGE_EXECUTE_READ, PAGE_EXECUTE_READWRITE,
	};
	unsigned int i;

	for (i = 0; i < sizeof(prots) / sizeof(prots[0]); i++) {
		char *p = VirtualAlloc(NULL, PAGE, MEM_COMMIT | MEM_TOP_DOWN,
				       prots[i]);

		ASSERT_NE(NULL, p);
		EXPECT_EQ(prots[i], query((uintptr_t)p).Protect);
		EXPECT_TRUE(VirtualFree(p, 0, MEM_RELEASE));
	}
}

TEST(protection_matrix)
{
	DWORD p;

	for (p = 0; p <= 0xf0; p++) {
		int valid = p == 0x01 || p == 0x02 || p == 0x04 ||
			    p == 0x10 || p == 0x20 || p == 0x40;
		char *m = VirtualAlloc(NULL, PAGE, MEM_COMMIT, p);

		if (valid) {
			EXPECT_NE(NULL, m) {
				TH_LOG("protect 0x%x", p);
			}
			if (m)
				VirtualFree(m, 0, MEM_RELEASE);
		} else {
			EXPECT_EQ(NULL, m) {
				TH_LOG("protect 0x%x", p);
			}
			EXPECT_EQ(ERROR_INVALID_PARAMETER, GetLastError());
		}
	}
}

TEST(protection_modifiers)
{
	static const struct { DWORD prot; int ok; } cases[] = {
		{ PAGE_READWRITE | PAGE_GUARD, 1 },
		{ PAGE_READONLY | PAGE_NOCACHE, 1 },
		{ PAGE_READWRITE | PAGE_WRITECOMBINE, 1 },
		{ PAGE_NOACCESS | PAGE_GUARD, 0 },
		{ PAGE_NOACCESS | PAGE_NOCACHE, 0 },
		{ PAGE_READWRITE | PAGE_GUARD | PAGE_NOCACHE, 0 },
		{ PAGE_READWRITE | PAGE_NOCACHE | PAGE_WRITECOMBINE, 0 },
		{ PAGE_GUARD, 0 },
		{ PAGE_WRITECOPY, 0 },
		{ PAGE_EXECUTE_WRITECOPY, 0 },
		{ 0x800 | PAGE_READWRITE, 0 },
	};
	unsigned int i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uintptr_t base = 0;
		SIZE_T size = PAGE;
		NTSTATUS s = nt_alloc(&base, &size, MEM_COMMIT,
				      cases[i].prot);

		if (cases[i].ok) {
			EXPECT_EQ(STATUS_SUCCESS, s) {
				TH_LOG("protect 0x%x", cases[i].prot);
			}
			size = 0;
			nt_free(&base, &size, MEM_RELEASE);
		} else {
			EXPECT_EQ(STATUS_INVALID_PAGE_PROTECTION, s) {
				TH_LOG("protect 0x%x", cases[i].prot);
			}
		}
	}
}

TEST(reserve_validates_protection)
{
	EXPECT_EQ(NULL, VirtualAlloc(NULL, PAGE, MEM_RESERVE, 0));
	EXPECT_EQ(ERROR_INVALID_PARAMETER, GetLastError());
	EXPECT_EQ(NULL, VirtualAlloc(NULL, PAGE, MEM_RESERVE,
				     PAGE_WRITECOPY));
	EXPECT_EQ(ERROR_INVALID_PARAMETER, GetLastError());
}

TEST(allocation_type_validation)
{
	static const struct { ULONG type; NTSTATUS status; } cases[] = {
		{ 0, STATUS_INVALID_PARAMETER_5 },
		{ MEM_FREE, STATUS_INVALID_PARAMETER_5 },
		{ MEM_TOP_DOWN, STATUS_INVALID_PARAMETER_5 },
		{ MEM_RESET | MEM_COMMIT, STATUS_INVALID_PARAMETER_5 },
		{ MEM_RESET_UNDO | MEM_COMMIT, STATUS_INVALID_PARAMETER_5 },
		{ MEM_RESET_UNDO | MEM_RESET, STATUS_INVALID_PARAMETER_5 },
		{ 0x10000000, STATUS_INVALID_PARAMETER_5 },
		{ MEM_WRITE_WATCH, STATUS_INVALID_PARAMETER_5 },
		{ MEM_WRITE_WATCH | MEM_COMMIT, STATUS_INVALID_PARAMETER_5 },
		{ 0x40000000 | MEM_RESERVE, STATUS_INVALID_PARAMETER_5 },
		{ MEM_RESERVE | MEM_DECOMMIT, STATUS_INVALID_PARAMETER_5 },
		{ MEM_LARGE_PAGES | MEM_RESERVE, STATUS_INVALID_PARAMETER_5 },
		{ MEM_LARGE_PAGES | MEM_RESERVE | MEM_COMMIT,
		  STATUS_PRIVILEGE_NOT_HELD },
	};
	unsigned int i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uintptr_t base = 0;
		SIZE_T size = PAGE;

		EXPECT_EQ(cases[i].status, nt_alloc(&base, &size,
						    cases[i].type,
						    PAGE_READWRITE))
			TH_LOG("type 0x%x", cases[i].type);
		EXPECT_EQ(0, base);
		EXPECT_EQ(PAGE, size);
	}
	/* The Win32 layer says 87 for all of them. */
	EXPECT_EQ(NULL, VirtualAlloc(NULL, PAGE, MEM_FREE, PAGE_READWRITE));
	EXPECT_EQ(ERROR_INVALID_PARAMETER, GetLastError());
}

TEST(size_and_address_limits)
{
	uintptr_t base = 0;
	SIZE_T size = 0;
	PVOID b = NULL;

	EXPECT_EQ(STATUS_INVALID_PARAMETER_4,
		  nt_alloc(&base, &size, MEM_RESERVE, PAGE_READWRITE));
	size = (SIZE_T)2147483647000000ULL;
	EXPECT_EQ(STATUS_INVALID_PARAMETER_4,
		  nt_alloc(&base, &size, MEM_COMMIT, PAGE_READWRITE));
	EXPECT_EQ(NULL, VirtualAlloc(NULL, (SIZE_T)2147483647000000ULL,
				     MEM_COMMIT, PAGE_READWRITE));
	EXPECT_EQ(ERROR_INVALID_PARAMETER, GetLastError());
	/* Below 64 KiB and above the user limit. */
	base = 0x1000;
	size = PAGE;
	EXPECT_EQ(STATUS_INVALID_PARAMETER_2,
		  nt_alloc(&base, &size, MEM_RESERVE, PAGE_READWRITE));
	base = 0x800000000000ULL;
	EXPECT_EQ(STATUS_INVALID_PARAMETER_2,
		  nt_alloc(&base, &size, MEM_RESERVE, PAGE_READWRITE));
	base = 0x7FFFFFFE0000ULL;
	size = 0x20000;
	EXPECT_EQ(STATUS_INVALID_PARAMETER_4,
		  nt_alloc(&base, &size, MEM_RESERVE, PAGE_READWRITE));
	/* NT zero bits 22..31 are invalid; others not supported here. */
	size = PAGE;
	EXPECT_EQ(STATUS_INVALID_PARAMETER_3,
		  NtAllocateVirtualMemory(NtCurrentProcess(), &b, 22, &size,
					  MEM_COMMIT, PAGE_READWRITE));
	EXPECT_EQ(STATUS_INVALID_HANDLE,
		  NtAllocateVirtualMemory(NULL, &b, 0, &size, MEM_COMMIT,
					  PAGE_READWRITE));
	EXPECT_EQ(NULL, VirtualAllocEx(NULL, NULL, PAGE, MEM_COMMIT,
				       PAGE_READWRITE));
	EXPECT_EQ(ERROR_INVALID_HANDLE, GetLastError());
}

TEST(explicit_reserve_conflicts_allocate_nothing)
{
	uintptr_t b = free_range(0x40000), base;
	SIZE_T size;
	char *p, *q;

	ASSERT_NE(0, b);
	p = VirtualAlloc(ptr(b + 0x20000), 0x10000, MEM_RESERVE,
			 PAGE_READWRITE);
	ASSERT_EQ(ptr(b + 0x20000), p);
	/* Overlaps the tail of the range: fails, nothing reserved. */
	q = VirtualAlloc(ptr(b), 0x30000, MEM_RESERVE, PAGE_READWRITE);
	EXPECT_EQ(NULL, q);
	EXPECT_EQ(ERROR_INVALID_ADDRESS, GetLastError());
	EXPECT_EQ(MEM_FREE, query(b).State);
	EXPECT_EQ(0x20000, query(b).RegionSize);
	/* Same granule as an existing reservation. */
	EXPECT_EQ(NULL, VirtualAlloc(p + 0x1000, 0x1000, MEM_RESERVE,
				     PAGE_READWRITE));
	EXPECT_EQ(ERROR_INVALID_ADDRESS, GetLastError());
	base = b + 0x21000;
	size = PAGE;
	EXPECT_EQ(STATUS_CONFLICTING_ADDRESSES,
		  nt_alloc(&base, &size, MEM_RESERVE, PAGE_READWRITE));
	/* A released range can be reserved again at once. */
	EXPECT_TRUE(VirtualFree(p, 0, MEM_RELEASE));
	q = VirtualAlloc(p, 0x10000, MEM_RESERVE, PAGE_READWRITE);
	EXPECT_EQ(p, q);
	EXPECT_TRUE(VirtualFree(q, 0, MEM_RELEASE));
}

TEST(reserve_over_process_memory_conflicts)
{
	char *m = mmap(NULL, 0x30000, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	uintptr_t a = ((uintptr_t)m + GRAN - 1) & ~(GRAN - 1);

	ASSERT_NE(MAP_FAILED, m);
	EXPECT_EQ(NULL, VirtualAlloc(ptr(a), PAGE, MEM_RESERVE,
				     PAGE_READWRITE));
	EXPECT_EQ(ERROR_INVALID_ADDRESS, GetLastError());
	/* Committing process memory is refused too. */
	EXPECT_EQ(NULL, VirtualAlloc(ptr(a), PAGE, MEM_COMMIT,
				     PAGE_READWRITE));
	EXPECT_EQ(ERROR_INVALID_ADDRESS, GetLastError());
	munmap(m, 0x30000);
}

TEST(commit_inside_one_reservation_only)
{
	uintptr_t b = free_range(0x40000);
	uintptr_t base;
	SIZE_T size;
	char *p;

	ASSERT_NE(0, b);
	ASSERT_TRUE(two_adjacent(b, 0));
	/* Across two adjacent reservations. */
	base = b + 0xf000;
	size = 0x2000;
	EXPECT_EQ(STATUS_CONFLICTING_ADDRESSES,
		  nt_alloc(&base, &size, MEM_COMMIT, PAGE_READWRITE));
	EXPECT_EQ(MEM_RESERVE, query(b + 0xf000).State);
	/* Past the end into free memory, and wholly in free memory. */
	base = b + 0x1f000;
	size = 0x2000;
	EXPECT_EQ(STATUS_CONFLICTING_ADDRESSES,
		  nt_alloc(&base, &size, MEM_COMMIT, PAGE_READWRITE));
	EXPECT_EQ(NULL, VirtualAlloc(ptr(b + 0x30000), PAGE, MEM_COMMIT,
				     PAGE_READWRITE));
	EXPECT_EQ(ERROR_INVALID_ADDRESS, GetLastError());
	/* Commit returns the page-rounded start, not the base. */
	p = VirtualAlloc(ptr(b + 0xf123), 0x10, MEM_COMMIT, PAGE_READWRITE);
	EXPECT_EQ(ptr(b + 0xf000), p);
	base = b + 0x1ffff;
	size = 2;
	EXPECT_EQ(STATUS_CONFLICTING_ADDRESSES,
		  nt_alloc(&base, &size, MEM_COMMIT, PAGE_READWRITE));
	base = b + 0x1fffe;
	size = 2;
	EXPECT_EQ(STATUS_SUCCESS,
		  nt_alloc(&base, &size, MEM_COMMIT, PAGE_READWRITE));
	EXPECT_EQ(b + 0x1f000, base);
	EXPECT_EQ(PAGE, size);
	EXPECT_TRUE(VirtualFree(ptr(b), 0, MEM_RELEASE));
	EXPECT_TRUE(VirtualFree(ptr(b + 0x10000), 0, MEM_RELEASE));
}

TEST(recommit_keeps_contents_and_sets_protection)
{
	char *p = VirtualAlloc(NULL, 0x4000, MEM_COMMIT, PAGE_READWRITE);
	char *q;

	ASSERT_NE(NULL, p);
	memset(p, 0x5a, 0x4000);
	q = VirtualAlloc(p, 0x3000, MEM_COMMIT, PAGE_READONLY);
	EXPECT_EQ(p, q);
	EXPECT_EQ(0x5a, p[0]);
	EXPECT_EQ(0x5a, p[0x2fff]);
	EXPECT_EQ(0, can_write((uintptr_t)p, 1));
	EXPECT_EQ(0, can_write((uintptr_t)p + 0x2fff, 1));
	EXPECT_EQ(1, can_write((uintptr_t)p + 0x3000, 1));
	EXPECT_EQ(PAGE_READONLY, query((uintptr_t)p).Protect);
	EXPECT_EQ(0x3000, query((uintptr_t)p).RegionSize);
	/* Same protection again: same base, still fine. */
	EXPECT_EQ(p, VirtualAlloc(p, 0x3000, MEM_COMMIT, PAGE_READONLY));
	EXPECT_EQ(p, VirtualAlloc(p, 0x4000, MEM_COMMIT, PAGE_READWRITE));
	EXPECT_EQ(1, can_write((uintptr_t)p, 1));
	EXPECT_EQ(1, p[0]);
	EXPECT_EQ(0x5a, p[1]);
	EXPECT_TRUE(VirtualFree(p, 0, MEM_RELEASE));
}

TEST(decommitted_pages_read_zero_when_recommitted)
{
	char *p = VirtualAlloc(NULL, 0x10000, MEM_COMMIT, PAGE_READWRITE);

	ASSERT_NE(NULL, p);
	memset(p, 0x77, 0x10000);
	ASSERT_TRUE(VirtualFree(p + 0x2000, 0x3000, MEM_DECOMMIT));
	EXPECT_EQ(0, can_read((uintptr_t)p + 0x2000, NULL));
	EXPECT_EQ(0, can_read((uintptr_t)p + 0x4fff, NULL));
	EXPECT_EQ(1, can_read((uintptr_t)p + 0x5000, NULL));
	EXPECT_EQ(p + 0x2000, VirtualAlloc(p + 0x2000, 0x3000, MEM_COMMIT,
					   PAGE_READWRITE));
	EXPECT_EQ(0, p[0x2000]);
	EXPECT_EQ(0, p[0x4fff]);
	EXPECT_EQ(0x77, p[0x1fff]);
	EXPECT_EQ(0x77, p[0x5000]);
	EXPECT_TRUE(VirtualFree(p, 0, MEM_RELEASE));
}

TEST(allocation_protect_is_kept)
{
	char *p = VirtualAlloc(NULL, 0x10000, MEM_RESERVE, PAGE_NOACCESS);
	MEMORY_BASIC_INFORMATION mbi;

	ASSERT_NE(NULL, p);
	ASSERT_EQ(p, VirtualAlloc(p, PAGE, MEM_COMMIT, PAGE_READWRITE));
	mbi = query((uintptr_t)p);
	EXPECT_EQ(PAGE_NOACCESS, mbi.AllocationProtect);
	EXPECT_EQ(PAGE_READWRITE, mbi.Protect);
	EXPECT_TRUE(VirtualFree(p, 0, MEM_RELEASE));

	p = VirtualAlloc(NULL, PAGE, MEM_COMMIT, PAGE_READWRITE | PAGE_GUARD);
	ASSERT_NE(NULL, p);
	mbi = query((uintptr_t)p);
	EXPECT_EQ(PAGE_READWRITE | PAGE_GUARD, mbi.AllocationProtect);
	EXPECT_EQ(PAGE_READWRITE | PAGE_GUARD, mbi.Protect);
	EXPECT_TRUE(VirtualFree(p, 0, MEM_RELEASE));
}

TEST(reset)
{
	char *p = VirtualAlloc(NULL, 0x10000, MEM_RESERVE, PAGE_NOACCESS);
	MEMORY_BASIC_INFORMATION mbi;

	ASSERT_NE(NULL, p);
	ASSERT_EQ(p, VirtualAlloc(p, 0x2000, MEM_COMMIT, PAGE_READWRITE));
	p[0] = 3;
	/* flProtect is validated but ignored; state and protection stay. */
	EXPECT_EQ(p, VirtualAlloc(p, 0x4000, MEM_RESET, PAGE_NOACCESS));
	mbi = query((uintptr_t)p);
	EXPECT_EQ(MEM_COMMIT, mbi.State);
	EXPECT_EQ(PAGE_READWRITE, mbi.Protect);
	EXPECT_EQ(0x2000, mbi.RegionSize);
	/*
	 * The contents may be kept or zero (spec 2.2.3), but the page stays
	 * committed read-write: it is still readable and writable.
	 */
	EXPECT_EQ(1, can_write((uintptr_t)p + 1, 4));
	EXPECT_EQ(4, p[1]);
	EXPECT_EQ(MEM_RESERVE, query((uintptr_t)p + 0x2000).State);
	EXPECT_EQ(NULL, VirtualAlloc(p, 0x4000, MEM_RESET, 0));
	EXPECT_EQ(ERROR_INVALID_PARAMETER, GetLastError());
	EXPECT_EQ(NULL, VirtualAlloc(p + 0xf000, 0x2000, MEM_RESET,
				     PAGE_READWRITE));
	EXPECT_EQ(ERROR_INVALID_ADDRESS, GetLastError());
	EXPECT_TRUE(VirtualFree(p, 0, MEM_RELEASE));
}

/*
 * A reset page reads either its old contents or zero, the whole page one
 * or the other (spec 2.2.3); it stays committed with its protection and
 * stays usable.  The pages around the reset range are untouched.
 */
TEST(reset_touches_only_its_range)
{
	char *p = VirtualAlloc(NULL, 0x4000, MEM_COMMIT, PAGE_READWRITE);
	MEMORY_BASIC_INFORMATION mbi;
	DWORD old;
	int i;

	ASSERT_NE(NULL, p);
	for (i = 0; i < 4; i++)
		memset(p + i * PAGE, 0x10 + i, PAGE);
	ASSERT_TRUE(VirtualProtect(p + 3 * PAGE, PAGE, PAGE_READONLY, &old));
	/* Pages 1 and 2, named by an unaligned range. */
	EXPECT_EQ(p + PAGE, VirtualAlloc(p + PAGE + 0x10, 0x1ff0, MEM_RESET,
					 PAGE_READWRITE));
	mbi = query((uintptr_t)p);
	EXPECT_EQ(MEM_COMMIT, mbi.State);
	EXPECT_EQ(PAGE_READWRITE, mbi.Protect);
	EXPECT_EQ(0x3000, mbi.RegionSize);
	mbi = query((uintptr_t)p + 3 * PAGE);
	EXPECT_EQ(MEM_COMMIT, mbi.State);
	EXPECT_EQ(PAGE_READONLY, mbi.Protect);
	EXPECT_EQ(PAGE, mbi.RegionSize);
	/* Untouched: the page before and the page after the range. */
	for (i = 0; i < (int)PAGE; i++) {
		if (p[i] != 0x10 || p[3 * PAGE + i] != 0x13) {
			TH_LOG("byte %d: %#x before, %#x after the range", i,
			       p[i], p[3 * PAGE + i]);
			break;
		}
	}
	EXPECT_EQ(PAGE, i);
	/* Each reset page: wholly kept or wholly zero. */
	for (i = 1; i <= 2; i++) {
		char *q = p + i * PAGE;
		size_t j, same = 0, zeros = 0;

		for (j = 0; j < PAGE; j++) {
			same += q[j] == 0x10 + i;
			zeros += q[j] == 0;
		}
		EXPECT_TRUE(same == PAGE || zeros == PAGE)
			TH_LOG("page %d: %zu bytes kept, %zu zero", i, same,
			       zeros);
		EXPECT_EQ(1, can_write((uintptr_t)q + 7, 0x55));
		EXPECT_EQ(0x55, q[7]);
	}
	EXPECT_EQ(0, can_write((uintptr_t)p + 3 * PAGE, 1));
	EXPECT_TRUE(VirtualFree(p, 0, MEM_RELEASE));
}

TEST(commit_charge_limit)
{
	struct ntvm_sysinfo_args before = sysinfo_now(), after;
	SIZE_T huge = (before.commit_limit + 0x1000) * PAGE;
	char *p = VirtualAlloc(NULL, huge, MEM_RESERVE, PAGE_READWRITE);

	/* Reserving costs no commit charge; committing all of it fails. */
	ASSERT_NE(NULL, p);
	EXPECT_EQ(NULL, VirtualAlloc(p, huge, MEM_COMMIT, PAGE_READWRITE));
	EXPECT_EQ(ERROR_COMMITMENT_LIMIT, GetLastError());
	EXPECT_EQ(MEM_RESERVE, query((uintptr_t)p).State);
	EXPECT_EQ(huge, query((uintptr_t)p).RegionSize);
	after = sysinfo_now();
	EXPECT_EQ(before.committed, after.committed);
	/* A part of it commits and charges exactly its pages. */
	EXPECT_EQ(p, VirtualAlloc(p, 0x10000, MEM_COMMIT, PAGE_READWRITE));
	EXPECT_EQ(before.committed + 16, sysinfo_now().committed);
	EXPECT_EQ(p, VirtualAlloc(p, 0x20000, MEM_COMMIT, PAGE_READWRITE));
	EXPECT_EQ(before.committed + 32, sysinfo_now().committed);
	EXPECT_TRUE(VirtualFree(p, 0x8000, MEM_DECOMMIT));
	EXPECT_EQ(before.committed + 24, sysinfo_now().committed);
	EXPECT_TRUE(VirtualFree(p, 0, MEM_RELEASE));
	EXPECT_EQ(before.committed, sysinfo_now().committed);
}

TEST_HARNESS_MAIN
