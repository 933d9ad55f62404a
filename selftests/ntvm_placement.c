// SPDX-License-Identifier: GPL-2.0
/*
 * Where the kernel places an allocation: NT zero bits (spec 2.2.5),
 * MEM_TOP_DOWN (2.2.4), and NtAllocateVirtualMemoryEx / VirtualAlloc2
 * with address requirements and the other extended parameters (2.3).
 */
#include "ntvm_test.h"
#include "kselftest_harness.h"

#define SZ_1G	0x40000000UL
#define ALIGN_UP_TEST(x, a)	(((x) + (a) - 1) & ~((a) - 1))

static NTSTATUS nt_alloc_zb(uintptr_t *base, ULONG_PTR zero_bits,
			    SIZE_T *size, ULONG type)
{
	PVOID b = (PVOID)*base;
	NTSTATUS s = NtAllocateVirtualMemory(NtCurrentProcess(), &b,
					     zero_bits, size, type,
					     PAGE_READWRITE);

	*base = (uintptr_t)b;
	return s;
}

static NTSTATUS nt_alloc_ex(uintptr_t *base, SIZE_T *size, ULONG type,
			    MEM_EXTENDED_PARAMETER *params, ULONG count)
{
	PVOID b = (PVOID)*base;
	NTSTATUS s = NtAllocateVirtualMemoryEx(NtCurrentProcess(), &b, size,
					       type, PAGE_READWRITE, params,
					       count);

	*base = (uintptr_t)b;
	return s;
}

/* An allocation at [lo, hi], aligned, as VirtualAlloc2 makes it. */
static NTSTATUS alloc_in(uintptr_t lo, uintptr_t hi, SIZE_T align,
			 SIZE_T size, ULONG type, uintptr_t *base)
{
	MEM_ADDRESS_REQUIREMENTS req = {
		.LowestStartingAddress = (PVOID)lo,
		.HighestEndingAddress = (PVOID)hi,
		.Alignment = align,
	};
	MEM_EXTENDED_PARAMETER p = {
		.Type = MemExtendedParameterAddressRequirements,
		.Pointer = &req,
	};

	*base = 0;
	return nt_alloc_ex(base, &size, type, &p, 1);
}

static int is_free(uintptr_t start, SIZE_T size)
{
	MEMORY_BASIC_INFORMATION mbi = query(start);

	return mbi.State == MEM_FREE &&
	       (uintptr_t)mbi.BaseAddress + mbi.RegionSize >= start + size;
}

static void release(uintptr_t base)
{
	VirtualFree((void *)base, 0, MEM_RELEASE);
}

/* 1 to 20: the whole allocation below 1 << (32 - zero bits). */
TEST(zero_bits_count)
{
	static const ULONG_PTR zbs[] = { 1, 2, 10, 15 };
	unsigned int i;

	for (i = 0; i < sizeof(zbs) / sizeof(zbs[0]); i++) {
		uintptr_t base = 0;
		SIZE_T size = 0x3000;

		ASSERT_EQ(STATUS_SUCCESS,
			  nt_alloc_zb(&base, zbs[i], &size,
				      MEM_RESERVE | MEM_COMMIT));
		EXPECT_EQ(0x3000, size);
		EXPECT_EQ(0, base & 0xffff);
		EXPECT_LE(0x10000, base);
		EXPECT_EQ(0, (base + size - 1) >> (32 - zbs[i]))
			TH_LOG("zero bits %lu: base 0x%lx", zbs[i], base);
		EXPECT_EQ(MEM_COMMIT, query(base).State);
		release(base);
	}
}

/*
 * 21 leaves less than 64 KiB: no room; 22 to 31 are invalid, and so are
 * 33 to 0xfffe (a mask under the granularity); 32 is a mask of 63.
 */
TEST(zero_bits_limits)
{
	static const ULONG_PTR bad[] = { 33, 40, 0x7fff, 0xfffe };
	uintptr_t base = 0;
	SIZE_T size = 0x1000;
	unsigned int i;
	ULONG_PTR zb;

	EXPECT_EQ(STATUS_NO_MEMORY,
		  nt_alloc_zb(&base, 21, &size, MEM_RESERVE));
	EXPECT_EQ(0, base);
	for (zb = 22; zb < 32; zb++) {
		size = 0x1000;
		EXPECT_EQ(STATUS_INVALID_PARAMETER_3,
			  nt_alloc_zb(&base, zb, &size, MEM_RESERVE))
			TH_LOG("zero bits %lu", zb);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		size = 0x1000;
		EXPECT_EQ(STATUS_INVALID_PARAMETER_3,
			  nt_alloc_zb(&base, bad[i], &size, MEM_RESERVE))
			TH_LOG("zero bits 0x%lx", bad[i]);
	}
	size = 0x1000;
	EXPECT_EQ(STATUS_NO_MEMORY,
		  nt_alloc_zb(&base, 32, &size, MEM_RESERVE));
	EXPECT_EQ(STATUS_NO_MEMORY,
		  nt_alloc_zb(&base, 0xffff, &size, MEM_RESERVE));
	/* 16 leaves [64 KiB, 64 KiB): none for a 64 KiB allocation. */
	size = 0x10000;
	EXPECT_EQ(STATUS_NO_MEMORY,
		  nt_alloc_zb(&base, 16, &size, MEM_RESERVE));
	EXPECT_EQ(0, base);
	/* 0x1ffff: the one granule at 64 KiB. */
	size = 0x1000;
	EXPECT_EQ(STATUS_SUCCESS,
		  nt_alloc_zb(&base, 0x1ffff, &size, MEM_RESERVE));
	EXPECT_EQ(0x10000, base);
	release(base);
}

/* 32 and more: a mask; the allocation stays below its top bit + 1. */
TEST(zero_bits_mask)
{
	static const ULONG_PTR masks[] = {
		0x1aaaaaaa, 0x7fffffff, 0xffffffff, 0x3fffffffffUL,
	};
	unsigned int i;

	for (i = 0; i < sizeof(masks) / sizeof(masks[0]); i++) {
		ULONG_PTR limit = ~0UL >> __builtin_clzl(masks[i]);
		uintptr_t base = 0;
		SIZE_T size = 0x20000;

		ASSERT_EQ(STATUS_SUCCESS,
			  nt_alloc_zb(&base, masks[i], &size, MEM_RESERVE));
		EXPECT_LE(base + size - 1, limit)
			TH_LOG("mask 0x%lx: base 0x%lx", masks[i], base);
		EXPECT_EQ(0, base & 0xffff);
		release(base);
	}
}

/* Zero bits leave an address the caller gives alone. */
TEST(zero_bits_with_an_address)
{
	uintptr_t b = free_range(GRAN), base = b;
	SIZE_T size = GRAN;

	ASSERT_NE(0, b);
	ASSERT_LT(0x100000000UL, b);
	EXPECT_EQ(STATUS_SUCCESS, nt_alloc_zb(&base, 8, &size, MEM_RESERVE));
	EXPECT_EQ(b, base);
	release(base);
	/* ... and do not help one that conflicts. */
	ASSERT_EQ(b, (uintptr_t)VirtualAlloc((void *)b, GRAN, MEM_RESERVE,
					     PAGE_NOACCESS));
	base = b;
	size = GRAN;
	EXPECT_EQ(STATUS_CONFLICTING_ADDRESSES,
		  nt_alloc_zb(&base, 8, &size, MEM_RESERVE));
	release(b);
}

/*
 * Is there no free 64 KiB granule above @addr, up to the stack's room (the
 * gap right below [stack], which is above Linux's mmap base)?
 */
static int no_granule_above(uintptr_t addr)
{
	FILE *f = fopen("/proc/self/maps", "r");
	unsigned long s, e, prev = addr;
	char line[512];
	int ok = 1;

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%lx-%lx", &s, &e) != 2 || e <= addr)
			continue;
		if (strstr(line, "[stack]"))
			break;
		if (s > prev && ALIGN_UP_TEST(prev, GRAN) + GRAN <= s) {
			fprintf(stderr, "# free granule at 0x%lx below %s",
				ALIGN_UP_TEST(prev, GRAN), line);
			ok = 0;
		}
		prev = e > prev ? e : prev;
	}
	fclose(f);
	return ok;
}

/*
 * MEM_TOP_DOWN: the highest free place below Linux's mmap base (the rest
 * is the stack's), packed downwards, and the same place again once freed.
 */
/* No room for @size bytes at a granule in [lo, hi): all of it taken. */
static int no_room_between(uintptr_t lo, uintptr_t hi, SIZE_T size)
{
	MEMORY_BASIC_INFORMATION mbi;
	uintptr_t a, end;

	for (a = lo; a < hi; a = end) {
		mbi = query(a);
		end = (uintptr_t)mbi.BaseAddress + mbi.RegionSize;
		if (end <= a)
			return 0;
		if (end > hi)
			end = hi;
		if (mbi.State == MEM_FREE && ALIGN_UP_TEST(a, GRAN) + size <= end)
			return 0;
	}
	return 1;
}

TEST(top_down_highest_free)
{
	char *plain = VirtualAlloc(NULL, GRAN, MEM_RESERVE, PAGE_NOACCESS);
	char *t1, *t2, *t3;
	int room;

	ASSERT_NE(NULL, plain);
	t1 = VirtualAlloc(NULL, PAGE, MEM_RESERVE | MEM_COMMIT | MEM_TOP_DOWN,
			  PAGE_READWRITE);
	ASSERT_NE(NULL, t1);
	EXPECT_EQ(0, (uintptr_t)t1 & 0xffff);
	EXPECT_GT(t1, plain);
	EXPECT_TRUE(no_granule_above((uintptr_t)t1 + GRAN));
	t1[0] = 7;
	EXPECT_EQ(MEM_COMMIT, query((uintptr_t)t1).State);
	EXPECT_EQ(t1, query((uintptr_t)t1).AllocationBase);

	/*
	 * Just below t1 if it fits there; else the highest place it fits.
	 * t1 may have gone to the gap the kernel left above the library's
	 * query map to align it, one granule wide: then the map is below.
	 */
	room = is_free((uintptr_t)t1 - GRAN, GRAN);
	t2 = VirtualAlloc(NULL, 2 * PAGE, MEM_RESERVE | MEM_TOP_DOWN,
			  PAGE_READWRITE);
	ASSERT_NE(NULL, t2);
	if (room)
		EXPECT_EQ(t1 - GRAN, t2);
	EXPECT_EQ(0, (uintptr_t)t2 & 0xffff);
	EXPECT_LT(t2, t1);
	EXPECT_TRUE(no_room_between((uintptr_t)t2 + GRAN, (uintptr_t)t1,
				    GRAN));
	/* Below t2 in the same way. */
	room = is_free((uintptr_t)t2 - 3 * GRAN, 3 * GRAN);
	t3 = VirtualAlloc(NULL, 3 * GRAN, MEM_RESERVE | MEM_TOP_DOWN,
			  PAGE_READWRITE);
	ASSERT_NE(NULL, t3);
	if (room)
		EXPECT_EQ(t2 - 3 * GRAN, t3);
	EXPECT_EQ(0, (uintptr_t)t3 & 0xffff);
	EXPECT_LE(t3 + 3 * GRAN, t2);
	EXPECT_TRUE(no_room_between((uintptr_t)t3 + 3 * GRAN, (uintptr_t)t2,
				    3 * GRAN));
	EXPECT_TRUE(VirtualFree(t1, 0, MEM_RELEASE));
	EXPECT_EQ(t1, VirtualAlloc(NULL, GRAN, MEM_RESERVE | MEM_TOP_DOWN,
				   PAGE_READWRITE));
	/* A free granule between two allocations is taken first. */
	EXPECT_TRUE(VirtualFree(t2, 0, MEM_RELEASE));
	EXPECT_EQ(t2, VirtualAlloc(NULL, PAGE, MEM_RESERVE | MEM_TOP_DOWN,
				   PAGE_READWRITE));
	release((uintptr_t)t1);
	release((uintptr_t)t2);
	release((uintptr_t)t3);
	release((uintptr_t)plain);
}

/* Address requirements: the lowest (highest) place in bounds. */
TEST(requirements_bounds)
{
	uintptr_t lo = 4 * SZ_1G, hi = 5 * SZ_1G - 1, base;

	ASSERT_TRUE(is_free(lo, SZ_1G));
	ASSERT_EQ(STATUS_SUCCESS, alloc_in(lo, hi, 0, 0x5000, MEM_RESERVE,
					   &base));
	EXPECT_EQ(lo, base);
	release(base);
	ASSERT_EQ(STATUS_SUCCESS, alloc_in(lo, hi, 0, 0x5000,
					   MEM_RESERVE | MEM_TOP_DOWN,
					   &base));
	EXPECT_EQ(hi + 1 - GRAN, base);
	EXPECT_EQ(MEM_RESERVE, query(base).State);
	EXPECT_EQ(0x5000, query(base).RegionSize);
	release(base);
	/* The highest ending address counts: the last byte may be hi. */
	ASSERT_EQ(STATUS_SUCCESS, alloc_in(lo, lo + 0x4fff, 0, 0x5000,
					   MEM_RESERVE, &base));
	EXPECT_EQ(lo, base);
	release(base);
	base = 1;
	EXPECT_EQ(STATUS_NO_MEMORY, alloc_in(lo, lo + 0x3fff, 0, 0x5000,
					     MEM_RESERVE, &base));
}

/* Alignment: 0 or a power of two of 64 KiB or more. */
TEST(requirements_alignment)
{
	static const SIZE_T bad[] = { 0x8000, 0x30000, 0x1000, 1, 0x10001 };
	uintptr_t base, prev = 0;
	unsigned int i;

	for (i = 0; i < 4; i++) {
		ASSERT_EQ(STATUS_SUCCESS, alloc_in(0, 0, 0x40000, GRAN,
						   MEM_RESERVE, &base));
		EXPECT_EQ(0, base & 0x3ffff);
		EXPECT_NE(prev, base);
		prev = base;
	}
	ASSERT_EQ(STATUS_SUCCESS, alloc_in(8 * SZ_1G, 0, 0x1000000, GRAN,
					   MEM_RESERVE, &base));
	EXPECT_EQ(8 * SZ_1G, base);
	release(base);
	ASSERT_EQ(STATUS_SUCCESS, alloc_in(8 * SZ_1G + GRAN, 0, 0x1000000,
					   GRAN, MEM_RESERVE, &base));
	EXPECT_EQ(8 * SZ_1G + 0x1000000, base);
	release(base);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		EXPECT_EQ(STATUS_INVALID_PARAMETER,
			  alloc_in(0, 0, bad[i], GRAN, MEM_RESERVE, &base))
			TH_LOG("alignment 0x%lx", bad[i]);
	/* No multiple of 512 MiB in [64 KiB, 0x20000fff]. */
	EXPECT_EQ(STATUS_NO_MEMORY, alloc_in(0, 0x20000fff, 0x20000000, GRAN,
					     MEM_RESERVE, &base));
}

/* The bounds' own rules (spec 2.3). */
TEST(requirements_invalid)
{
	static const struct {
		uintptr_t lo, hi;
		NTSTATUS status;
	} cases[] = {
		{ 0, 0x20000fff, STATUS_SUCCESS },
		{ 0, 0x20001000, STATUS_INVALID_PARAMETER },
		{ 0, 0x20000ffe, STATUS_INVALID_PARAMETER },
		{ 0, 0x200007ff, STATUS_INVALID_PARAMETER },
		{ 0x1000, 0, STATUS_INVALID_PARAMETER },
		{ 0x30000, 0x20000fff, STATUS_SUCCESS },
		{ 0x20000000, 0x20000fff, STATUS_NO_MEMORY },
		{ 0x20000000, 0x1fffffff, STATUS_INVALID_PARAMETER },
		{ 0x20000000, 0x20000000, STATUS_INVALID_PARAMETER },
		{ 0x7FFFFFFF0000, 0, STATUS_INVALID_PARAMETER },
		{ 0, 0x7FFFFFFEFFFF, STATUS_SUCCESS },
		{ 0, 0x7FFFFFFFFFFF, STATUS_INVALID_PARAMETER },
	};
	unsigned int i;
	uintptr_t base;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		EXPECT_EQ(cases[i].status,
			  alloc_in(cases[i].lo, cases[i].hi, 0, PAGE,
				   MEM_RESERVE, &base))
			TH_LOG("lowest 0x%lx highest 0x%lx", cases[i].lo,
			       cases[i].hi);
		if (cases[i].status == STATUS_SUCCESS) {
			EXPECT_LE(cases[i].lo, base);
			EXPECT_LE(base + PAGE - 1, cases[i].hi);
			release(base);
		}
	}
}

/* Requirements only for an address the kernel chooses. */
TEST(requirements_with_an_address)
{
	MEM_ADDRESS_REQUIREMENTS req = { .Alignment = 0x20000 };
	MEM_EXTENDED_PARAMETER p = {
		.Type = MemExtendedParameterAddressRequirements,
		.Pointer = &req,
	};
	uintptr_t b = (uintptr_t)VirtualAlloc(NULL, GRAN, MEM_RESERVE,
					      PAGE_READWRITE), base = b;
	SIZE_T size = PAGE;

	ASSERT_NE(0, b);
	EXPECT_EQ(STATUS_INVALID_PARAMETER,
		  nt_alloc_ex(&base, &size, MEM_COMMIT, &p, 1));
	EXPECT_EQ(MEM_RESERVE, query(b).State);
	/* Empty requirements are no requirements. */
	req.Alignment = 0;
	EXPECT_EQ(STATUS_SUCCESS, nt_alloc_ex(&base, &size, MEM_COMMIT, &p, 1));
	EXPECT_EQ(b, base);
	EXPECT_EQ(MEM_COMMIT, query(b).State);
	release(b);
}

/* The parameter array: types, duplicates, pointers, values. */
TEST(extended_parameters)
{
	MEM_ADDRESS_REQUIREMENTS req = { 0 };
	MEM_EXTENDED_PARAMETER p[3];
	uintptr_t base = 0;
	SIZE_T size = PAGE;
	ULONG t;

	memset(p, 0, sizeof(p));
	EXPECT_EQ(STATUS_INVALID_PARAMETER,
		  nt_alloc_ex(&base, &size, MEM_RESERVE, NULL, 1));
	for (t = 0; t < 9; t++) {
		memset(p, 0, sizeof(p));
		p[0].Type = t;
		if (t == MemExtendedParameterAddressRequirements)
			p[0].Pointer = &req;
		base = 0;
		size = PAGE;
		EXPECT_EQ(t == MemExtendedParameterAddressRequirements ||
			  t == MemExtendedParameterNumaNode ||
			  t == MemExtendedParameterAttributeFlags ?
			  STATUS_SUCCESS : STATUS_INVALID_PARAMETER,
			  nt_alloc_ex(&base, &size, MEM_RESERVE, p, 1))
			TH_LOG("type %u", t);
		if (base)
			release(base);
	}
	/* The same type twice. */
	memset(p, 0, sizeof(p));
	p[0].Type = p[1].Type = MemExtendedParameterNumaNode;
	base = 0;
	EXPECT_EQ(STATUS_INVALID_PARAMETER,
		  nt_alloc_ex(&base, &size, MEM_RESERVE, p, 2));
	/* Reserved bits. */
	memset(p, 0, sizeof(p));
	p[0].Type = MemExtendedParameterNumaNode;
	p[0].Reserved = 1;
	EXPECT_EQ(STATUS_INVALID_PARAMETER,
		  nt_alloc_ex(&base, &size, MEM_RESERVE, p, 1));
	/* A node: only the ULONG counts. */
	p[0].Reserved = 0;
	p[0].ULong64 = 0xdeadbeef00000000ULL;
	EXPECT_EQ(STATUS_SUCCESS,
		  nt_alloc_ex(&base, &size, MEM_RESERVE, p, 1));
	release(base);
	base = 0;
	/* A node that is not online; attribute flags. */
	p[0].ULong = 999;
	EXPECT_EQ(STATUS_INVALID_PARAMETER,
		  nt_alloc_ex(&base, &size, MEM_RESERVE, p, 1));
	p[0].Type = MemExtendedParameterAttributeFlags;
	p[0].ULong64 = 0x40;
	EXPECT_EQ(STATUS_INVALID_PARAMETER,
		  nt_alloc_ex(&base, &size, MEM_RESERVE, p, 1));
	/* Unreadable requirements, or array. */
	p[0].Type = MemExtendedParameterAddressRequirements;
	p[0].Pointer = (PVOID)8;
	EXPECT_EQ(STATUS_ACCESS_VIOLATION,
		  nt_alloc_ex(&base, &size, MEM_RESERVE, p, 1));
	EXPECT_EQ(STATUS_ACCESS_VIOLATION,
		  nt_alloc_ex(&base, &size, MEM_RESERVE,
			      (MEM_EXTENDED_PARAMETER *)8, 1));
	EXPECT_EQ(0, base);
}

/* The Ex call's own checks: its type mask, its size rule, its handle. */
TEST(allocate_ex_checks)
{
	uintptr_t base = 0;
	SIZE_T size = 0;
	PVOID b = NULL;

	EXPECT_EQ(STATUS_INVALID_PARAMETER,
		  nt_alloc_ex(&base, &size, MEM_RESERVE, NULL, 0));
	size = PAGE;
	EXPECT_EQ(STATUS_INVALID_PARAMETER,
		  nt_alloc_ex(&base, &size, MEM_RESERVE | MEM_4MB_PAGES, NULL,
			      0));
	EXPECT_EQ(STATUS_INVALID_PARAMETER,
		  nt_alloc_ex(&base, &size, MEM_RESERVE | 0x800000, NULL, 0));
	/* Then NtAllocateVirtualMemory's own checks. */
	EXPECT_EQ(STATUS_INVALID_PARAMETER_5,
		  nt_alloc_ex(&base, &size, MEM_RESERVE | MEM_LARGE_PAGES,
			      NULL, 0));
	EXPECT_EQ(STATUS_PRIVILEGE_NOT_HELD,
		  nt_alloc_ex(&base, &size,
			      MEM_RESERVE | MEM_COMMIT | MEM_LARGE_PAGES, NULL,
			      0));
	EXPECT_EQ(STATUS_NOT_SUPPORTED,
		  nt_alloc_ex(&base, &size, MEM_RESERVE | MEM_PHYSICAL, NULL,
			      0));
	EXPECT_EQ(STATUS_INVALID_HANDLE,
		  NtAllocateVirtualMemoryEx(NULL, &b, &size, MEM_RESERVE,
					    PAGE_READWRITE, NULL, 0));
	EXPECT_EQ(STATUS_SUCCESS,
		  nt_alloc_ex(&base, &size, MEM_RESERVE | MEM_COMMIT, NULL,
			      0));
	EXPECT_EQ(PAGE, size);
	EXPECT_EQ(MEM_COMMIT, query(base).State);
	release(base);
}

/* VirtualAlloc2: a NULL process is the current one; Win32 errors. */
TEST(virtual_alloc2)
{
	MEM_ADDRESS_REQUIREMENTS req = {
		.LowestStartingAddress = (PVOID)(6 * SZ_1G),
		.HighestEndingAddress = (PVOID)(7 * SZ_1G - 1),
	};
	MEM_EXTENDED_PARAMETER p = {
		.Type = MemExtendedParameterAddressRequirements,
		.Pointer = &req,
	};
	char *a;

	ASSERT_TRUE(is_free(6 * SZ_1G, SZ_1G));
	a = VirtualAlloc2(NULL, NULL, 0x2000, MEM_RESERVE | MEM_COMMIT,
			  PAGE_READWRITE, &p, 1);
	ASSERT_EQ((char *)(6 * SZ_1G), a);
	a[0x1fff] = 1;
	EXPECT_TRUE(VirtualFree(a, 0, MEM_RELEASE));
	a = VirtualAlloc2(GetCurrentProcess(), NULL, 0x2000,
			  MEM_RESERVE | MEM_TOP_DOWN, PAGE_READWRITE, &p, 1);
	EXPECT_EQ((char *)(7 * SZ_1G - GRAN), a);
	EXPECT_TRUE(VirtualFree(a, 0, MEM_RELEASE));
	req.Alignment = 0x30000;
	SetLastError(0);
	EXPECT_EQ(NULL, VirtualAlloc2(NULL, NULL, PAGE, MEM_RESERVE,
				      PAGE_READWRITE, &p, 1));
	EXPECT_EQ(ERROR_INVALID_PARAMETER, GetLastError());
	req.Alignment = 0;
	req.HighestEndingAddress = (PVOID)(6 * SZ_1G + 0xfff);
	EXPECT_EQ(NULL, VirtualAlloc2(NULL, NULL, 0x2000, MEM_RESERVE,
				      PAGE_READWRITE, &p, 1));
	EXPECT_EQ(ERROR_NOT_ENOUGH_MEMORY, GetLastError());
}

/*
 * Placement shares the arenas: bounds that hold free arena space are
 * served there, with no new mapping.
 */
TEST(requirements_in_an_arena)
{
	uintptr_t a = free_range(4 * GRAN), base;
	int views;

	ASSERT_NE(0, a);
	views = count_views();
	ASSERT_EQ(STATUS_SUCCESS, alloc_in(a, a + 4 * GRAN - 1, 0, 2 * GRAN,
					   MEM_RESERVE | MEM_TOP_DOWN, &base));
	EXPECT_EQ(a + 2 * GRAN, base);
	EXPECT_EQ(views, count_views());
	release(base);
	ASSERT_EQ(STATUS_SUCCESS, alloc_in(a, a + 4 * GRAN - 1, 0x20000,
					   GRAN, MEM_RESERVE, &base));
	EXPECT_EQ(ALIGN_UP_TEST(a, 0x20000), base);
	EXPECT_EQ(views, count_views());
	release(base);
}

TEST_HARNESS_MAIN
