// SPDX-License-Identifier: GPL-2.0
/*
 * libntvm as users link it: this program alone is linked against the
 * shared library (-lntvm, libntvm.so.0), not libntvm.a.  Every call below
 * goes through the library's dynamic symbols; the values are Windows'.
 */
#include <dlfcn.h>

#include "ntvm_test.h"
#include "kselftest_harness.h"

/* Whether @fn was bound to a function of libntvm.so.0. */
static int from_libntvm(void *fn)
{
	Dl_info info;
	const char *name;

	if (!dladdr(fn, &info) || !info.dli_fname)
		return 0;
	name = strrchr(info.dli_fname, '/');
	name = name ? name + 1 : info.dli_fname;
	return !strcmp(name, "libntvm.so.0");
}

TEST(functions_come_from_the_shared_library)
{
	EXPECT_TRUE(from_libntvm((void *)VirtualAlloc));
	EXPECT_TRUE(from_libntvm((void *)VirtualProtect));
	EXPECT_TRUE(from_libntvm((void *)VirtualQuery));
	EXPECT_TRUE(from_libntvm((void *)VirtualFree));
	EXPECT_TRUE(from_libntvm((void *)GetLastError));
	EXPECT_TRUE(from_libntvm((void *)SetLastError));
	EXPECT_TRUE(from_libntvm((void *)RtlNtStatusToDosError));
	EXPECT_TRUE(from_libntvm((void *)NtAllocateVirtualMemory));
	EXPECT_TRUE(from_libntvm((void *)NtFreeVirtualMemory));
}

TEST(status_to_error)
{
	EXPECT_EQ(1455, ERROR_COMMITMENT_LIMIT);
	EXPECT_EQ(ERROR_COMMITMENT_LIMIT,
		  RtlNtStatusToDosError(STATUS_COMMITMENT_LIMIT));
	EXPECT_EQ(487, RtlNtStatusToDosError(STATUS_FREE_VM_NOT_AT_BASE));
	EXPECT_EQ(87, RtlNtStatusToDosError(STATUS_INVALID_PAGE_PROTECTION));
	EXPECT_EQ(8, RtlNtStatusToDosError(STATUS_NO_MEMORY));
	EXPECT_EQ(0, RtlNtStatusToDosError(STATUS_SUCCESS));
	EXPECT_EQ(ERROR_MR_MID_NOT_FOUND, RtlNtStatusToDosError(0xC0DE0000));
}

TEST(alloc_protect_query_free)
{
	MEMORY_BASIC_INFORMATION mbi;
	DWORD old = 0xaa;
	char *p;

	p = VirtualAlloc(NULL, 3 * PAGE + 1, MEM_RESERVE | MEM_COMMIT,
			 PAGE_READWRITE);
	ASSERT_NE(NULL, p);
	EXPECT_EQ(0, (uintptr_t)p % GRAN);
	p[0] = 1;
	p[4 * PAGE - 1] = 2;

	memset(&mbi, 0xaa, sizeof(mbi));
	ASSERT_EQ(sizeof(mbi), VirtualQuery(p + 5, &mbi, sizeof(mbi)));
	EXPECT_EQ((PVOID)p, mbi.BaseAddress);
	EXPECT_EQ((PVOID)p, mbi.AllocationBase);
	EXPECT_EQ(PAGE_READWRITE, mbi.AllocationProtect);
	EXPECT_EQ(4 * PAGE, mbi.RegionSize);
	EXPECT_EQ(MEM_COMMIT, mbi.State);
	EXPECT_EQ(PAGE_READWRITE, mbi.Protect);
	EXPECT_EQ(MEM_PRIVATE, mbi.Type);

	/* The second page read-only: three regions. */
	ASSERT_TRUE(VirtualProtect(p + PAGE + 8, 1, PAGE_READONLY, &old));
	EXPECT_EQ(PAGE_READWRITE, old);
	ASSERT_EQ(sizeof(mbi), VirtualQuery(p, &mbi, sizeof(mbi)));
	EXPECT_EQ(PAGE, mbi.RegionSize);
	EXPECT_EQ(PAGE_READWRITE, mbi.Protect);
	ASSERT_EQ(sizeof(mbi), VirtualQuery(p + PAGE, &mbi, sizeof(mbi)));
	EXPECT_EQ((PVOID)(p + PAGE), mbi.BaseAddress);
	EXPECT_EQ((PVOID)p, mbi.AllocationBase);
	EXPECT_EQ(PAGE, mbi.RegionSize);
	EXPECT_EQ(MEM_COMMIT, mbi.State);
	EXPECT_EQ(PAGE_READONLY, mbi.Protect);
	EXPECT_EQ(0, can_write((uintptr_t)p + PAGE, 3));
	ASSERT_EQ(sizeof(mbi), VirtualQuery(p + 2 * PAGE, &mbi, sizeof(mbi)));
	EXPECT_EQ(2 * PAGE, mbi.RegionSize);
	EXPECT_EQ(PAGE_READWRITE, mbi.Protect);

	/* A protection Windows refuses. */
	SetLastError(0);
	old = 0xaa;
	EXPECT_FALSE(VirtualProtect(p, PAGE, 0x12345678, &old));
	EXPECT_EQ(ERROR_INVALID_PARAMETER, GetLastError());
	EXPECT_EQ(87, GetLastError());

	/* Released only at its base, and only whole. */
	SetLastError(0);
	EXPECT_FALSE(VirtualFree(p + PAGE, 0, MEM_RELEASE));
	EXPECT_EQ(ERROR_INVALID_ADDRESS, GetLastError());
	EXPECT_EQ(487, GetLastError());
	SetLastError(0);
	EXPECT_FALSE(VirtualFree(p, PAGE, MEM_RELEASE));
	EXPECT_EQ(ERROR_INVALID_PARAMETER, GetLastError());
	SetLastError(55);
	EXPECT_TRUE(VirtualFree(p, 0, MEM_RELEASE));
	EXPECT_EQ(55, GetLastError());
	ASSERT_EQ(sizeof(mbi), VirtualQuery(p, &mbi, sizeof(mbi)));
	EXPECT_EQ(MEM_FREE, mbi.State);
	EXPECT_EQ(PAGE_NOACCESS, mbi.Protect);
	EXPECT_EQ(0, mbi.Type);
	EXPECT_EQ(0, can_read((uintptr_t)p, NULL));

	/* Twice released. */
	SetLastError(0);
	EXPECT_FALSE(VirtualFree(p, 0, MEM_RELEASE));
	EXPECT_EQ(ERROR_INVALID_ADDRESS, GetLastError());
}

TEST(nt_allocate_and_free)
{
	PVOID base = NULL;
	SIZE_T size = PAGE + 1;
	MEMORY_BASIC_INFORMATION mbi;

	ASSERT_EQ(STATUS_SUCCESS,
		  NtAllocateVirtualMemory(NtCurrentProcess(), &base, 0, &size,
					  MEM_RESERVE | MEM_COMMIT,
					  PAGE_READWRITE));
	ASSERT_NE(NULL, base);
	EXPECT_EQ(0, (uintptr_t)base % GRAN);
	EXPECT_EQ(2 * PAGE, size);
	EXPECT_EQ(1, can_write((uintptr_t)base + 2 * PAGE - 1, 9));
	ASSERT_EQ(sizeof(mbi), VirtualQuery(base, &mbi, sizeof(mbi)));
	EXPECT_EQ(base, mbi.AllocationBase);
	EXPECT_EQ(2 * PAGE, mbi.RegionSize);
	EXPECT_EQ(MEM_COMMIT, mbi.State);

	/* Not this process: no ioctl, the handle is refused. */
	EXPECT_EQ(STATUS_INVALID_HANDLE,
		  NtAllocateVirtualMemory((HANDLE)0x1234, &base, 0, &size,
					  MEM_COMMIT, PAGE_READWRITE));
	/* Out of the range: the status is Windows'. */
	{
		PVOID b = (char *)base + PAGE;
		SIZE_T s = 0;

		EXPECT_EQ(STATUS_FREE_VM_NOT_AT_BASE,
			  NtFreeVirtualMemory(NtCurrentProcess(), &b, &s,
					      MEM_RELEASE));
	}

	size = 0;
	ASSERT_EQ(STATUS_SUCCESS,
		  NtFreeVirtualMemory(NtCurrentProcess(), &base, &size,
				      MEM_RELEASE));
	EXPECT_EQ(2 * PAGE, size);
	EXPECT_EQ(MEM_FREE, query((uintptr_t)base).State);
}

TEST_HARNESS_MAIN
