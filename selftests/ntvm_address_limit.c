// SPDX-License-Identifier: GPL-2.0
/*
 * The highest user address of a process (issue 13: 32-bit limits): 2 GiB
 * less 64 KiB for a 32-bit Windows program, 4 GiB less 64 KiB when it is
 * large-address aware.  Here from a 64-bit process, as an emulator that
 * runs 32-bit code sets it (NtvmSetMaximumApplicationAddress); the
 * 32-bit opener's default is in selftests32/.  Each test forks: the limit
 * is the process's, and a test must not leave it lowered.
 */
#include <sys/wait.h>

#include "ntvm_test.h"
#include "kselftest_harness.h"

#define MAX_32		0x7FFEFFFFUL
#define MAX_32_LAA	0xFFFEFFFFUL
#define MAX_64		0x7FFFFFFEFFFFUL

static uintptr_t max_address(void)
{
	SYSTEM_INFO si;

	GetSystemInfo(&si);
	return (uintptr_t)si.lpMaximumApplicationAddress;
}

/* Run @fn in a child; its exit status, or -1 if it did not exit. */
static int in_child(int (*fn)(void))
{
	int status;
	pid_t pid = fork();

	if (pid < 0)
		return -1;
	if (!pid)
		_exit(fn());
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

#define CHECK(n, cond)	do { if (!(cond)) return (n); } while (0)

static int limit_2g(void)
{
	uintptr_t b;
	SIZE_T s;
	char *p;

	CHECK(1, max_address() == MAX_64);
	CHECK(2, NtvmSetMaximumApplicationAddress((LPVOID)MAX_32));
	CHECK(3, max_address() == MAX_32);
	/* The top granule itself is usable. */
	p = VirtualAlloc((LPVOID)0x7FFE0000, 0x10000, MEM_RESERVE | MEM_COMMIT,
			 PAGE_READWRITE);
	CHECK(7, p == (char *)0x7FFE0000);
	p[0xffff] = 2;
	CHECK(7, VirtualFree(p, 0, MEM_RELEASE));
	/* Kernel-chosen addresses below it, bottom-up and top-down. */
	p = VirtualAlloc(NULL, 0x100000, MEM_COMMIT, PAGE_READWRITE);
	CHECK(4, p && (uintptr_t)p + 0x100000 - 1 <= MAX_32);
	p[0xfffff] = 1;
	p = VirtualAlloc(NULL, 0x100000, MEM_RESERVE | MEM_TOP_DOWN,
			 PAGE_READWRITE);
	CHECK(5, p && (uintptr_t)p + 0x100000 - 1 <= MAX_32);
	CHECK(6, (uintptr_t)p + 0x100000 == MAX_32 + 1);
	/* Addresses above it are invalid, as above the user space. */
	b = 0x100000000UL;
	s = 0x10000;
	CHECK(8, nt_alloc(&b, &s, MEM_RESERVE, PAGE_READWRITE) ==
		 STATUS_INVALID_PARAMETER_2);
	b = 0x7FFE0000;
	s = 0x20000;
	CHECK(9, nt_alloc(&b, &s, MEM_RESERVE, PAGE_READWRITE) ==
		 STATUS_INVALID_PARAMETER_4);
	SetLastError(0);
	CHECK(10, !VirtualAlloc((LPVOID)0x80000000, 0x10000, MEM_RESERVE,
				PAGE_READWRITE));
	CHECK(11, GetLastError() == ERROR_INVALID_PARAMETER);
	b = 0x80000000;
	s = 0;
	CHECK(12, NtFreeVirtualMemory(NtCurrentProcess(), (PVOID *)&b, &s,
				      MEM_RELEASE) ==
		  STATUS_INVALID_PARAMETER_2);
	{
		ULONG old;

		b = 0x80000000;
		s = 0x1000;
		CHECK(20, NtProtectVirtualMemory(NtCurrentProcess(),
						 (PVOID *)&b, &s,
						 PAGE_READONLY, &old) ==
			  STATUS_INVALID_PARAMETER_2);
	}
	{
		MEMORY_BASIC_INFORMATION mbi;

		SetLastError(0);
		CHECK(13, !VirtualQuery((LPVOID)0x80000000, &mbi,
					sizeof(mbi)));
		CHECK(14, GetLastError() == ERROR_INVALID_PARAMETER);
		/* The free region below it ends at it. */
		CHECK(15, VirtualQuery((LPVOID)MAX_32, &mbi, sizeof(mbi)));
		CHECK(16, (uintptr_t)mbi.BaseAddress +
			  mbi.RegionSize == MAX_32 + 1);
	}
	/* Address requirements may not reach past it. */
	{
		MEM_ADDRESS_REQUIREMENTS req = {
			.HighestEndingAddress = (PVOID)0xFFFFFFFFUL,
		};
		MEM_EXTENDED_PARAMETER prm = {
			.Type = MemExtendedParameterAddressRequirements,
			.Pointer = &req,
		};

		SetLastError(0);
		CHECK(17, !VirtualAlloc2(NULL, NULL, 0x10000, MEM_RESERVE,
					 PAGE_READWRITE, &prm, 1));
		CHECK(18, GetLastError() == ERROR_INVALID_PARAMETER);
		req.HighestEndingAddress = (PVOID)MAX_32;
		p = VirtualAlloc2(NULL, NULL, 0x10000, MEM_RESERVE,
				  PAGE_READWRITE, &prm, 1);
		CHECK(19, p && (uintptr_t)p + 0xffff <= MAX_32);
		req.HighestEndingAddress = NULL;
		req.LowestStartingAddress = (PVOID)0x7FFF0000;
		SetLastError(0);
		CHECK(21, !VirtualAlloc2(NULL, NULL, 0x10000, MEM_RESERVE,
					 PAGE_READWRITE, &prm, 1));
		CHECK(22, GetLastError() == ERROR_INVALID_PARAMETER);
	}
	return 0;
}

TEST(two_gib)
{
	EXPECT_EQ(0, in_child(limit_2g));
}

static int limit_values(void)
{
	SetLastError(0);
	CHECK(1, !NtvmSetMaximumApplicationAddress((LPVOID)0x7FFDFFFFUL));
	CHECK(2, GetLastError() == ERROR_INVALID_PARAMETER);
	CHECK(3, !NtvmSetMaximumApplicationAddress((LPVOID)0x7FFEFFFEUL));
	CHECK(4, !NtvmSetMaximumApplicationAddress((LPVOID)0x7FFF0000UL));
	CHECK(5, !NtvmSetMaximumApplicationAddress((LPVOID)0x800000000000UL));
	CHECK(6, !NtvmSetMaximumApplicationAddress((LPVOID)0x7FFFFFFFFFFFUL));
	CHECK(7, GetLastError() == ERROR_INVALID_PARAMETER);
	CHECK(8, max_address() == MAX_64);
	/* Any 64 KiB step between 2 GiB and the whole user space. */
	CHECK(9, NtvmSetMaximumApplicationAddress((LPVOID)0x1234FFFFFFUL));
	CHECK(10, max_address() == 0x1234FFFFFFUL);
	CHECK(11, NtvmSetMaximumApplicationAddress((LPVOID)MAX_64));
	CHECK(12, max_address() == MAX_64);
	return 0;
}

TEST(valid_values)
{
	EXPECT_EQ(0, in_child(limit_values));
}

static int limit_over_allocations(void)
{
	char *p = VirtualAlloc((LPVOID)0x200000000UL, 0x10000,
			       MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
	char *q;

	CHECK(1, p == (char *)0x200000000UL);
	/* Not below an allocation... */
	SetLastError(0);
	CHECK(2, !NtvmSetMaximumApplicationAddress((LPVOID)MAX_32_LAA));
	CHECK(3, GetLastError() == ERROR_INVALID_ADDRESS);
	CHECK(4, max_address() == MAX_64);
	/* ...up to its end exactly... */
	CHECK(5, NtvmSetMaximumApplicationAddress((LPVOID)0x20000FFFFUL));
	CHECK(6, VirtualFree(p, 0, MEM_RELEASE));
	/* ...and any limit once it is gone. */
	CHECK(7, NtvmSetMaximumApplicationAddress((LPVOID)MAX_32_LAA));
	/* Large-address aware: top-down goes above 2 GiB, below 4. */
	q = VirtualAlloc(NULL, 0x100000, MEM_RESERVE | MEM_TOP_DOWN,
			 PAGE_READWRITE);
	CHECK(8, q && (uintptr_t)q > MAX_32 &&
		 (uintptr_t)q + 0xfffff <= MAX_32_LAA);
	/* Zero bits: a mask above the limit constrains nothing more. */
	{
		PVOID b = NULL;
		SIZE_T s = 0x10000;

		CHECK(10, NtAllocateVirtualMemory(NtCurrentProcess(), &b,
						  0x1FFFFFFFFUL, &s,
						  MEM_RESERVE,
						  PAGE_READWRITE) ==
			  STATUS_SUCCESS);
		CHECK(11, (uintptr_t)b + 0xffff <= MAX_32_LAA);
		b = NULL;
		CHECK(12, NtAllocateVirtualMemory(NtCurrentProcess(), &b, 1,
						  &s, MEM_RESERVE | MEM_TOP_DOWN,
						  PAGE_READWRITE) ==
			  STATUS_SUCCESS);
		CHECK(13, (uintptr_t)b + 0xffff <= 0x7FFFFFFF);
	}
	/* A raise is always allowed. */
	CHECK(9, NtvmSetMaximumApplicationAddress((LPVOID)MAX_64));
	return 0;
}

TEST(not_below_an_allocation)
{
	EXPECT_EQ(0, in_child(limit_over_allocations));
}

static int limit_inherited(void)
{
	int status;
	pid_t pid;

	CHECK(1, NtvmSetMaximumApplicationAddress((LPVOID)MAX_32));
	pid = fork();
	if (!pid) {
		char *p = VirtualAlloc(NULL, 0x10000, MEM_COMMIT,
				       PAGE_READWRITE);

		_exit(max_address() == MAX_32 && p &&
		      (uintptr_t)p + 0xffff <= MAX_32 ? 0 : 1);
	}
	CHECK(2, pid > 0 && waitpid(pid, &status, 0) == pid);
	CHECK(3, WIFEXITED(status) && !WEXITSTATUS(status));
	return 0;
}

TEST(forked_child_keeps_it)
{
	EXPECT_EQ(0, in_child(limit_inherited));
}

TEST_HARNESS_MAIN
