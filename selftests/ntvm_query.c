// SPDX-License-Identifier: GPL-2.0
/*
 * VirtualQuery / NtQueryVirtualMemory (spec 2.6), of ntvm memory and of
 * the process's own.
 */
#include "ntvm_test.h"
#include "kselftest_harness.h"

TEST(runs_and_base_address)
{
	char *p = VirtualAlloc(NULL, 0x10000, MEM_RESERVE, PAGE_NOACCESS);
	MEMORY_BASIC_INFORMATION mbi;
	DWORD old;

	ASSERT_NE(NULL, p);
	ASSERT_EQ(p + 0x2000, VirtualAlloc(p + 0x2000, 0x4000, MEM_COMMIT,
					   PAGE_READWRITE));
	ASSERT_TRUE(VirtualProtect(p + 0x4000, 0x1000, PAGE_READONLY, &old));

	mbi = query((uintptr_t)p + 0x700);
	EXPECT_EQ(p, mbi.BaseAddress);
	EXPECT_EQ(p, mbi.AllocationBase);
	EXPECT_EQ(PAGE_NOACCESS, mbi.AllocationProtect);
	EXPECT_EQ(0x2000, mbi.RegionSize);
	EXPECT_EQ(MEM_RESERVE, mbi.State);
	EXPECT_EQ(0, mbi.Protect);
	EXPECT_EQ(MEM_PRIVATE, mbi.Type);

	mbi = query((uintptr_t)p + 0x3f00);
	EXPECT_EQ(p + 0x3000, mbi.BaseAddress);
	EXPECT_EQ(0x1000, mbi.RegionSize);
	EXPECT_EQ(MEM_COMMIT, mbi.State);
	EXPECT_EQ(PAGE_READWRITE, mbi.Protect);

	mbi = query((uintptr_t)p + 0x4000);
	EXPECT_EQ(0x1000, mbi.RegionSize);
	EXPECT_EQ(PAGE_READONLY, mbi.Protect);
	mbi = query((uintptr_t)p + 0x5000);
	EXPECT_EQ(0x1000, mbi.RegionSize);
	EXPECT_EQ(PAGE_READWRITE, mbi.Protect);
	mbi = query((uintptr_t)p + 0x6000);
	EXPECT_EQ(0xa000, mbi.RegionSize);
	EXPECT_EQ(MEM_RESERVE, mbi.State);
	EXPECT_TRUE(VirtualFree(p, 0, MEM_RELEASE));
}

TEST(free_memory_runs_to_the_next_allocation)
{
	uintptr_t b = free_range(0x400000);
	MEMORY_BASIC_INFORMATION mbi;

	ASSERT_NE(0, b);
	ASSERT_EQ(ptr(b + 0x300000), VirtualAlloc(ptr(b + 0x300000), PAGE,
						  MEM_RESERVE, PAGE_READWRITE));
	mbi = query(b + 0x100123);
	EXPECT_EQ(ptr(b + 0x100000), mbi.BaseAddress);
	EXPECT_EQ(MEM_FREE, mbi.State);
	EXPECT_EQ(PAGE_NOACCESS, mbi.Protect);
	EXPECT_EQ(NULL, mbi.AllocationBase);
	EXPECT_EQ(0, mbi.AllocationProtect);
	EXPECT_EQ(0, mbi.Type);
	EXPECT_EQ(0x200000, mbi.RegionSize);
	EXPECT_TRUE(VirtualFree(ptr(b + 0x300000), 0, MEM_RELEASE));
}

TEST(bad_arguments)
{
	MEMORY_BASIC_INFORMATION mbi;
	SIZE_T ret = 99;
	int local;

	EXPECT_EQ(0, VirtualQuery(&local, &mbi, sizeof(mbi) - 1));
	EXPECT_EQ(ERROR_BAD_LENGTH, GetLastError());
	EXPECT_EQ(0, VirtualQuery((void *)~(uintptr_t)0, &mbi, sizeof(mbi)));
	EXPECT_EQ(ERROR_INVALID_PARAMETER, GetLastError());
	EXPECT_EQ(0, VirtualQuery((void *)0x800000000000ULL, &mbi,
				  sizeof(mbi)));
	EXPECT_EQ(ERROR_INVALID_PARAMETER, GetLastError());
	EXPECT_EQ(sizeof(mbi), VirtualQuery((void *)0x7FFFFFFEFFFFULL, &mbi,
					    sizeof(mbi)));
	EXPECT_EQ((void *)0x7FFFFFFEF000ULL, mbi.BaseAddress);
	EXPECT_EQ(sizeof(mbi), VirtualQuery((void *)0xFFFF, &mbi,
					    sizeof(mbi)));
	EXPECT_EQ(MEM_FREE, mbi.State);
	EXPECT_EQ(STATUS_INVALID_INFO_CLASS,
		  NtQueryVirtualMemory(NtCurrentProcess(), &local, 7, &mbi,
				       sizeof(mbi), &ret));
	EXPECT_EQ(STATUS_INFO_LENGTH_MISMATCH,
		  NtQueryVirtualMemory(NtCurrentProcess(), &local,
				       MemoryBasicInformation, &mbi, 8, &ret));
	EXPECT_EQ(STATUS_SUCCESS,
		  NtQueryVirtualMemory(NtCurrentProcess(), &local,
				       MemoryBasicInformation, &mbi,
				       sizeof(mbi) + 16, &ret));
	EXPECT_EQ(sizeof(mbi), ret);
}

TEST(process_memory_is_reported_sanely)
{
	static const char rodata[] = "constant";
	char *anon = mmap(NULL, 0x3000, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	MEMORY_BASIC_INFORMATION mbi;
	struct ntvm_query_args q = { 0 };
	int fd = open("/dev/ntvm", O_RDWR | O_CLOEXEC);
	int local;

	ASSERT_NE(MAP_FAILED, anon);
	ASSERT_LE(0, fd);
	mbi = query((uintptr_t)&local);
	EXPECT_EQ(MEM_COMMIT, mbi.State);
	EXPECT_EQ(PAGE_READWRITE, mbi.Protect);
	EXPECT_EQ(MEM_PRIVATE, mbi.Type);
	mbi = query((uintptr_t)anon + 0x1000);
	EXPECT_EQ(MEM_COMMIT, mbi.State);
	EXPECT_EQ(PAGE_READWRITE, mbi.Protect);
	EXPECT_EQ(anon + 0x1000, mbi.BaseAddress);
	EXPECT_GE(0x2000, mbi.RegionSize);
	mbi = query((uintptr_t)rodata);
	EXPECT_EQ(MEM_COMMIT, mbi.State);
	EXPECT_EQ(PAGE_READONLY, mbi.Protect);
	mbi = query((uintptr_t)query);
	EXPECT_EQ(MEM_COMMIT, mbi.State);
	EXPECT_EQ(PAGE_EXECUTE_READ, mbi.Protect);
	/* PROT_NONE process memory looks reserved. */
	ASSERT_EQ(0, mprotect(anon, 0x1000, PROT_NONE));
	mbi = query((uintptr_t)anon);
	EXPECT_EQ(MEM_RESERVE, mbi.State);
	EXPECT_EQ(0, mbi.Protect);
	/* Never reported as ntvm's. */
	q.address = (uintptr_t)&local;
	ASSERT_EQ(0, ioctl(fd, NTVM_IOC_QUERY, &q));
	EXPECT_EQ(0, q.region_flags);
	close(fd);
	munmap(anon, 0x3000);
}

TEST(query_output_fully_written)
{
	struct ntvm_query_args q;
	char *p = VirtualAlloc(NULL, PAGE, MEM_COMMIT, PAGE_READONLY);
	int fd = open("/dev/ntvm", O_RDWR | O_CLOEXEC);
	unsigned int i;
	uintptr_t addrs[2];

	ASSERT_NE(NULL, p);
	ASSERT_LE(0, fd);
	addrs[0] = (uintptr_t)&q;
	addrs[1] = 0x10000;
	for (i = 0; i < 2; i++) {
		memset(&q, 0xaa, sizeof(q));
		q.address = addrs[i];
		q.flags = 0;
		q.pad = 0;
		ASSERT_EQ(0, ioctl(fd, NTVM_IOC_QUERY, &q));
		EXPECT_EQ(NTVM_STATUS_SUCCESS, q.status);
		EXPECT_NE(0xaaaaaaaaaaaaaaaaULL, q.base_address);
		EXPECT_NE(0xaaaaaaaaaaaaaaaaULL, q.allocation_base);
		EXPECT_NE(0xaaaaaaaaaaaaaaaaULL, q.region_size);
		EXPECT_NE(0xaaaaaaaa, q.allocation_protect);
		EXPECT_NE(0xaaaaaaaa, q.state);
		EXPECT_NE(0xaaaaaaaa, q.protect);
		EXPECT_NE(0xaaaaaaaa, q.type);
		EXPECT_NE(0xaaaaaaaa, q.region_flags);
	}
	close(fd);
	EXPECT_TRUE(VirtualFree(p, 0, MEM_RELEASE));
}

TEST_HARNESS_MAIN
