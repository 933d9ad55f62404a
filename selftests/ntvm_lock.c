// SPDX-License-Identifier: GPL-2.0
/*
 * VirtualLock and VirtualUnlock (NtLockVirtualMemory,
 * NtUnlockVirtualMemory), and the working-set limits that set their
 * quota (GetProcessWorkingSetSize, SetProcessWorkingSetSize): Windows'
 * rules and errors, RLIMIT_MEMLOCK, locked pages staying resident when
 * the rest goes to swap, fork and exit.
 *
 * The pages a process has locked are visible as its VmLck.
 */
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <linux/capability.h>

#include "inject.h"
#include "ntvm_test.h"
#include "kselftest_harness.h"

#ifndef MADV_PAGEOUT
#define MADV_PAGEOUT	21
#endif

/* Windows' defaults: 50 and 345 pages; the quota is 8 pages less. */
#define WS_MIN		(50 * PAGE)
#define WS_MAX		(345 * PAGE)
#define QUOTA		42

/* The process's locked pages (VmLck), or -1. */
static long vmlck_pages(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[128];
	long kb = -1;

	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "VmLck: %ld", &kb) == 1)
			break;
	if (f)
		fclose(f);
	return kb < 0 ? -1 : kb / 4;
}

static NTSTATUS nt_lock(uintptr_t *base, SIZE_T *size, ULONG type)
{
	PVOID b = (PVOID)*base;
	NTSTATUS s = NtLockVirtualMemory(NtCurrentProcess(), &b, size, type);

	*base = (uintptr_t)b;
	return s;
}

static NTSTATUS nt_unlock(uintptr_t *base, SIZE_T *size, ULONG type)
{
	PVOID b = (PVOID)*base;
	NTSTATUS s = NtUnlockVirtualMemory(NtCurrentProcess(), &b, size,
					   type);

	*base = (uintptr_t)b;
	return s;
}

static char *commit(SIZE_T size, DWORD protect)
{
	return VirtualAlloc(NULL, size, MEM_RESERVE | MEM_COMMIT, protect);
}

/*
 * Drop the capabilities of the calling process, CAP_IPC_LOCK among them,
 * but CAP_SYS_RESOURCE, which fault injection needs to arm itself.
 */
static int drop_caps(void)
{
	struct __user_cap_header_struct h = {
		.version = _LINUX_CAPABILITY_VERSION_3,
	};
	struct __user_cap_data_struct d[2] = {
		{
			.effective = 1u << CAP_SYS_RESOURCE,
			.permitted = 1u << CAP_SYS_RESOURCE,
		},
	};

	return syscall(SYS_capset, &h, d);
}

TEST(rounding_and_nt_outputs)
{
	char *p = commit(4 * PAGE, PAGE_READWRITE);
	long before = vmlck_pages();
	uintptr_t b;
	SIZE_T s;

	ASSERT_NE(NULL, p);
	ASSERT_LE(0, before);
	/* A 2-byte range straddling a page boundary locks both pages. */
	b = (uintptr_t)p + PAGE - 1;
	s = 2;
	ASSERT_EQ(STATUS_SUCCESS, nt_lock(&b, &s, MAP_PROCESS));
	EXPECT_EQ((uintptr_t)p, b);
	EXPECT_EQ(2 * PAGE, s);
	EXPECT_EQ(before + 2, vmlck_pages());
	b = (uintptr_t)p + 0x10;
	s = PAGE + 1;
	ASSERT_EQ(STATUS_SUCCESS, nt_unlock(&b, &s, MAP_PROCESS));
	EXPECT_EQ((uintptr_t)p, b);
	EXPECT_EQ(2 * PAGE, s);
	EXPECT_EQ(before, vmlck_pages());
	/* The contents are the page's, before and after. */
	p[0] = 'x';
	EXPECT_TRUE(VirtualLock(p, 1));
	EXPECT_EQ('x', p[0]);
	p[1] = 'y';
	EXPECT_TRUE(VirtualUnlock(p, 1));
	EXPECT_EQ('y', p[1]);
	EXPECT_TRUE(VirtualFree(p, 0, MEM_RELEASE));
}

TEST(invalid_arguments)
{
	char *p = commit(PAGE, PAGE_READWRITE);
	uintptr_t b = (uintptr_t)p;
	SIZE_T s = PAGE;
	PVOID pb = p;

	ASSERT_NE(NULL, p);
	EXPECT_EQ(STATUS_INVALID_PARAMETER, nt_lock(&b, &s, 0));
	EXPECT_EQ(STATUS_INVALID_PARAMETER, nt_lock(&b, &s, 4));
	EXPECT_EQ(STATUS_INVALID_PARAMETER, nt_lock(&b, &s, MAP_PROCESS | 8));
	EXPECT_EQ(STATUS_INVALID_PARAMETER, nt_unlock(&b, &s, 0));
	s = 0;
	EXPECT_EQ(STATUS_INVALID_PARAMETER, nt_lock(&b, &s, MAP_PROCESS));
	EXPECT_EQ(STATUS_INVALID_PARAMETER, nt_unlock(&b, &s, MAP_PROCESS));
	b = 0x7FFFFFFF0000;
	s = PAGE;
	EXPECT_EQ(STATUS_INVALID_PARAMETER, nt_lock(&b, &s, MAP_PROCESS));
	b = (uintptr_t)p;
	s = 0x7FFFFFFF0000;
	EXPECT_EQ(STATUS_INVALID_PARAMETER, nt_lock(&b, &s, MAP_PROCESS));
	/* Failures leave the in/out arguments alone. */
	EXPECT_EQ((uintptr_t)p, b);
	EXPECT_EQ(0x7FFFFFFF0000, s);
	s = PAGE;
	EXPECT_EQ(STATUS_INVALID_HANDLE,
		  NtLockVirtualMemory((HANDLE)(uintptr_t)4, &pb, &s,
				      MAP_PROCESS));
	EXPECT_EQ(STATUS_ACCESS_VIOLATION,
		  NtLockVirtualMemory(NtCurrentProcess(), NULL, &s,
				      MAP_PROCESS));
	SetLastError(0);
	EXPECT_FALSE(VirtualLock(p, 0));
	EXPECT_EQ(ERROR_INVALID_PARAMETER, GetLastError());
	EXPECT_FALSE(VirtualUnlock(p, 0));
	EXPECT_EQ(ERROR_INVALID_PARAMETER, GetLastError());
	EXPECT_TRUE(VirtualFree(p, 0, MEM_RELEASE));
}

TEST(not_committed_noaccess_free_fail_998)
{
	char *p = VirtualAlloc(NULL, 4 * PAGE, MEM_RESERVE, PAGE_READWRITE);
	long before = vmlck_pages();
	uintptr_t b;
	SIZE_T s;

	ASSERT_NE(NULL, p);
	ASSERT_EQ(p, VirtualAlloc(p, PAGE, MEM_COMMIT, PAGE_READWRITE));
	ASSERT_EQ(p + 2 * PAGE, VirtualAlloc(p + 2 * PAGE, PAGE, MEM_COMMIT,
					     PAGE_NOACCESS));
	/* Reserved. */
	SetLastError(0);
	EXPECT_FALSE(VirtualLock(p + PAGE, PAGE));
	EXPECT_EQ(ERROR_NOACCESS, GetLastError());
	/* Committed, then reserved: nothing is locked. */
	EXPECT_FALSE(VirtualLock(p, 2 * PAGE));
	EXPECT_EQ(ERROR_NOACCESS, GetLastError());
	EXPECT_EQ(before, vmlck_pages());
	EXPECT_FALSE(VirtualUnlock(p, PAGE));
	EXPECT_EQ(ERROR_NOT_LOCKED, GetLastError());
	/* PAGE_NOACCESS. */
	b = (uintptr_t)p + 2 * PAGE;
	s = PAGE;
	EXPECT_EQ(STATUS_ACCESS_VIOLATION, nt_lock(&b, &s, MAP_PROCESS));
	EXPECT_EQ((uintptr_t)p + 2 * PAGE, b);
	/* Free space, and a range running from an allocation into it. */
	EXPECT_FALSE(VirtualLock(p + 4 * PAGE, PAGE));
	EXPECT_EQ(ERROR_NOACCESS, GetLastError());
	ASSERT_TRUE(VirtualFree(p, 0, MEM_RELEASE));
	p = commit(4 * PAGE, PAGE_READWRITE);
	ASSERT_NE(NULL, p);
	SetLastError(0);
	EXPECT_FALSE(VirtualLock(p + 3 * PAGE, 2 * PAGE));
	EXPECT_EQ(ERROR_NOACCESS, GetLastError());
	EXPECT_EQ(before, vmlck_pages());
	ASSERT_TRUE(VirtualFree(p, 0, MEM_RELEASE));
	EXPECT_FALSE(VirtualLock(p, PAGE));
	EXPECT_EQ(ERROR_NOACCESS, GetLastError());
	EXPECT_EQ(before, vmlck_pages());
}

/* The last page a process can commit can be locked and unlocked. */
TEST(last_user_page)
{
	char *top = (char *)0x7FFFFFFE0000ULL;
	uintptr_t b = 0x7FFFFFFEF000ULL;
	SIZE_T s = PAGE;

	if (VirtualAlloc(top, 0x10000, MEM_RESERVE | MEM_COMMIT,
			 PAGE_READWRITE) != top)
		SKIP(return, "the top granule is in use");
	top[0xFFFF] = 1;
	EXPECT_EQ(STATUS_SUCCESS, nt_lock(&b, &s, MAP_PROCESS));
	EXPECT_EQ(0x7FFFFFFEF000ULL, b);
	EXPECT_EQ(PAGE, s);
	EXPECT_TRUE(VirtualUnlock(top + 0xF000, PAGE));
	/* One byte past it is past the user limit. */
	SetLastError(0);
	EXPECT_FALSE(VirtualLock(top + 0xF000, PAGE + 1));
	EXPECT_EQ(ERROR_INVALID_PARAMETER, GetLastError());
	EXPECT_TRUE(VirtualFree(top, 0, MEM_RELEASE));
}

TEST(guard_page_fails_once_and_loses_its_guard)
{
	char *p = commit(3 * PAGE, PAGE_READWRITE);
	MEMORY_BASIC_INFORMATION mbi;
	long before = vmlck_pages();
	DWORD old;

	ASSERT_NE(NULL, p);
	ASSERT_TRUE(VirtualProtect(p + PAGE, PAGE, PAGE_READWRITE | PAGE_GUARD,
				   &old));
	ASSERT_TRUE(VirtualProtect(p + 2 * PAGE, PAGE,
				   PAGE_READONLY | PAGE_GUARD, &old));
	SetLastError(0);
	EXPECT_FALSE(VirtualLock(p, 3 * PAGE));
	EXPECT_EQ(0x80000001u, GetLastError());
	EXPECT_EQ(before, vmlck_pages());
	/* Only the first guard page was touched. */
	mbi = query((uintptr_t)p + PAGE);
	EXPECT_EQ(PAGE_READWRITE, mbi.Protect);
	mbi = query((uintptr_t)p + 2 * PAGE);
	EXPECT_EQ(PAGE_READONLY | PAGE_GUARD, mbi.Protect);
	EXPECT_FALSE(VirtualLock(p, 3 * PAGE));
	EXPECT_EQ(0x80000001u, GetLastError());
	EXPECT_EQ(PAGE_READONLY, query((uintptr_t)p + 2 * PAGE).Protect);
	EXPECT_TRUE(VirtualLock(p, 3 * PAGE));
	EXPECT_EQ(before + 3, vmlck_pages());
	EXPECT_TRUE(VirtualUnlock(p, 3 * PAGE));
	/* A no-access page before the guard page: the guard stays. */
	ASSERT_TRUE(VirtualProtect(p, PAGE, PAGE_NOACCESS, &old));
	ASSERT_TRUE(VirtualProtect(p + PAGE, PAGE, PAGE_READWRITE | PAGE_GUARD,
				   &old));
	EXPECT_FALSE(VirtualLock(p, 2 * PAGE));
	EXPECT_EQ(ERROR_NOACCESS, GetLastError());
	EXPECT_EQ(PAGE_READWRITE | PAGE_GUARD,
		  query((uintptr_t)p + PAGE).Protect);
	EXPECT_TRUE(VirtualFree(p, 0, MEM_RELEASE));
}

TEST(twice_no_count_one_unlock)
{
	char *p = commit(2 * PAGE, PAGE_READONLY);
	long before = vmlck_pages();
	uintptr_t b = (uintptr_t)p;
	SIZE_T s = PAGE;

	ASSERT_NE(NULL, p);
	EXPECT_EQ(STATUS_SUCCESS, nt_lock(&b, &s, MAP_PROCESS));
	/* Any page locked already: STATUS_WAS_LOCKED, a success. */
	s = 2 * PAGE;
	EXPECT_EQ(STATUS_WAS_LOCKED, nt_lock(&b, &s, MAP_PROCESS));
	EXPECT_EQ((uintptr_t)p, b);
	EXPECT_EQ(2 * PAGE, s);
	EXPECT_EQ(before + 2, vmlck_pages());
	SetLastError(1234);
	EXPECT_TRUE(VirtualLock(p, 2 * PAGE));
	EXPECT_EQ(1234, GetLastError());
	EXPECT_EQ(before + 2, vmlck_pages());
	/* One unlock unlocks. */
	EXPECT_TRUE(VirtualUnlock(p, 2 * PAGE));
	EXPECT_EQ(before, vmlck_pages());
	SetLastError(0);
	EXPECT_FALSE(VirtualUnlock(p, PAGE));
	EXPECT_EQ(ERROR_NOT_LOCKED, GetLastError());
	EXPECT_TRUE(VirtualFree(p, 0, MEM_RELEASE));
}

TEST(unlock_checks_every_page_first)
{
	char *p = commit(3 * PAGE, PAGE_READWRITE);
	long before = vmlck_pages();
	uintptr_t b;
	SIZE_T s;

	ASSERT_NE(NULL, p);
	ASSERT_TRUE(VirtualLock(p, PAGE));
	ASSERT_TRUE(VirtualLock(p + 2 * PAGE, PAGE));
	b = (uintptr_t)p;
	s = 3 * PAGE;
	EXPECT_EQ(STATUS_NOT_LOCKED, nt_unlock(&b, &s, MAP_PROCESS));
	EXPECT_EQ(3 * PAGE, s);
	/* Nothing was unlocked. */
	EXPECT_EQ(before + 2, vmlck_pages());
	EXPECT_TRUE(VirtualUnlock(p, PAGE));
	EXPECT_TRUE(VirtualUnlock(p + 2 * PAGE, PAGE));
	EXPECT_EQ(before, vmlck_pages());
	/* Free space is not locked. */
	ASSERT_TRUE(VirtualFree(p, 0, MEM_RELEASE));
	SetLastError(0);
	EXPECT_FALSE(VirtualUnlock(p, PAGE));
	EXPECT_EQ(ERROR_NOT_LOCKED, GetLastError());
}

TEST(locks_span_allocations)
{
	uintptr_t b = free_range(2 * GRAN);

	ASSERT_NE(0, b);
	ASSERT_TRUE(two_adjacent(b, 1));
	EXPECT_TRUE(VirtualLock(ptr(b + GRAN - PAGE), 2 * PAGE));
	EXPECT_TRUE(VirtualUnlock(ptr(b + GRAN - PAGE), 2 * PAGE));
	EXPECT_TRUE(VirtualFree(ptr(b), 0, MEM_RELEASE));
	EXPECT_TRUE(VirtualFree(ptr(b + GRAN), 0, MEM_RELEASE));
}

TEST(default_quota_exact)
{
	SIZE_T min = 0, max = 0;
	long before = vmlck_pages();
	char *p = commit(64 * PAGE, PAGE_READWRITE);
	DWORD flags = 0;

	ASSERT_NE(NULL, p);
	ASSERT_TRUE(GetProcessWorkingSetSize(GetCurrentProcess(), &min, &max));
	EXPECT_EQ(WS_MIN, min);
	EXPECT_EQ(WS_MAX, max);
	ASSERT_TRUE(GetProcessWorkingSetSizeEx(GetCurrentProcess(), &min, &max,
					       &flags));
	EXPECT_EQ(QUOTA_LIMITS_HARDWS_MIN_DISABLE |
		  QUOTA_LIMITS_HARDWS_MAX_DISABLE, flags);
	/* More than the quota at once: nothing is locked. */
	SetLastError(0);
	EXPECT_FALSE(VirtualLock(p, (QUOTA + 1) * PAGE));
	EXPECT_EQ(ERROR_WORKING_SET_QUOTA, GetLastError());
	EXPECT_EQ(before, vmlck_pages());
	/* The quota exactly, then one page more. */
	EXPECT_TRUE(VirtualLock(p, (QUOTA - 1) * PAGE));
	EXPECT_TRUE(VirtualLock(p + (QUOTA - 1) * PAGE, PAGE));
	EXPECT_EQ(before + QUOTA, vmlck_pages());
	EXPECT_FALSE(VirtualLock(p + QUOTA * PAGE, PAGE));
	EXPECT_EQ(ERROR_WORKING_SET_QUOTA, GetLastError());
	/* Pages locked already count once. */
	EXPECT_TRUE(VirtualLock(p, QUOTA * PAGE));
	EXPECT_EQ(before + QUOTA, vmlck_pages());
	EXPECT_TRUE(VirtualUnlock(p, PAGE));
	EXPECT_TRUE(VirtualLock(p + QUOTA * PAGE, PAGE));
	EXPECT_TRUE(VirtualFree(p, 0, MEM_RELEASE));
	EXPECT_EQ(before, vmlck_pages());
}

TEST(set_working_set_raises_the_quota)
{
	long phys = sysconf(_SC_PHYS_PAGES);
	char *p = commit(128 * PAGE, PAGE_READWRITE);
	SIZE_T min, max;
	DWORD flags;

	ASSERT_NE(NULL, p);
	/*
	 * Resident first: under fault injection, a lock that must also
	 * fault 92 pages in can fail for memory more times than it is
	 * retried.  This test is about the quota.
	 */
	memset(p, 1, 128 * PAGE);
	ASSERT_TRUE(SetProcessWorkingSetSize(GetCurrentProcess(), 100 * PAGE,
					     400 * PAGE));
	ASSERT_TRUE(GetProcessWorkingSetSize(GetCurrentProcess(), &min, &max));
	EXPECT_EQ(100 * PAGE, min);
	EXPECT_EQ(400 * PAGE, max);
	EXPECT_TRUE(VirtualLock(p, 92 * PAGE));
	SetLastError(0);
	EXPECT_FALSE(VirtualLock(p + 92 * PAGE, PAGE));
	EXPECT_EQ(ERROR_WORKING_SET_QUOTA, GetLastError());
	/* The maximum must stay above the locked pages plus 8. */
	EXPECT_FALSE(SetProcessWorkingSetSize(GetCurrentProcess(), 20 * PAGE,
					      100 * PAGE));
	EXPECT_EQ(ERROR_INVALID_PARAMETER, GetLastError());
	EXPECT_TRUE(SetProcessWorkingSetSize(GetCurrentProcess(), 20 * PAGE,
					     101 * PAGE));
	/* A lower minimum keeps the locks, and allows no more. */
	EXPECT_FALSE(VirtualLock(p + 92 * PAGE, PAGE));
	EXPECT_EQ(ERROR_WORKING_SET_QUOTA, GetLastError());
	EXPECT_TRUE(VirtualUnlock(p, 92 * PAGE));
	/* A minimum below 20 pages is 20 pages; bytes round down. */
	EXPECT_TRUE(SetProcessWorkingSetSize(GetCurrentProcess(), PAGE,
					     200 * PAGE + 123));
	ASSERT_TRUE(GetProcessWorkingSetSize(GetCurrentProcess(), &min, &max));
	EXPECT_EQ(20 * PAGE, min);
	EXPECT_EQ(200 * PAGE, max);
	EXPECT_TRUE(VirtualLock(p, 12 * PAGE));
	EXPECT_FALSE(VirtualLock(p + 12 * PAGE, PAGE));
	EXPECT_EQ(ERROR_WORKING_SET_QUOTA, GetLastError());
	EXPECT_TRUE(VirtualUnlock(p, 12 * PAGE));
	/* A maximum below 13 pages is invalid, 13 pages valid. */
	SetLastError(0);
	EXPECT_FALSE(SetProcessWorkingSetSize(GetCurrentProcess(), PAGE,
					      12 * PAGE));
	EXPECT_EQ(ERROR_INVALID_PARAMETER, GetLastError());
	ASSERT_TRUE(GetProcessWorkingSetSize(GetCurrentProcess(), &min, &max));
	EXPECT_EQ(20 * PAGE, min);
	EXPECT_EQ(200 * PAGE, max);
	EXPECT_TRUE(SetProcessWorkingSetSize(GetCurrentProcess(), PAGE,
					     13 * PAGE));
	EXPECT_TRUE(SetProcessWorkingSetSize(GetCurrentProcess(), 20 * PAGE,
					     200 * PAGE));
	/* Invalid: a zero, a minimum above the maximum, bad flags. */
	SetLastError(0);
	EXPECT_FALSE(SetProcessWorkingSetSize(GetCurrentProcess(), 0,
					      100 * PAGE));
	EXPECT_EQ(ERROR_INVALID_PARAMETER, GetLastError());
	EXPECT_FALSE(SetProcessWorkingSetSize(GetCurrentProcess(), 100 * PAGE,
					      0));
	EXPECT_EQ(ERROR_INVALID_PARAMETER, GetLastError());
	EXPECT_FALSE(SetProcessWorkingSetSize(GetCurrentProcess(), 300 * PAGE,
					      299 * PAGE));
	EXPECT_EQ(ERROR_INVALID_PARAMETER, GetLastError());
	EXPECT_FALSE(SetProcessWorkingSetSizeEx(GetCurrentProcess(),
						100 * PAGE, 200 * PAGE,
						QUOTA_LIMITS_HARDWS_MIN_ENABLE |
						QUOTA_LIMITS_HARDWS_MIN_DISABLE));
	EXPECT_EQ(ERROR_INVALID_PARAMETER, GetLastError());
	EXPECT_FALSE(SetProcessWorkingSetSizeEx(GetCurrentProcess(),
						100 * PAGE, 200 * PAGE, 0x10));
	EXPECT_EQ(ERROR_INVALID_PARAMETER, GetLastError());
	/* Both limits hard: the minimum stays 8 pages below the maximum. */
	EXPECT_FALSE(SetProcessWorkingSetSizeEx(GetCurrentProcess(),
						100 * PAGE, 108 * PAGE,
						QUOTA_LIMITS_HARDWS_MIN_ENABLE |
						QUOTA_LIMITS_HARDWS_MAX_ENABLE));
	EXPECT_EQ(ERROR_INVALID_PARAMETER, GetLastError());
	EXPECT_TRUE(SetProcessWorkingSetSizeEx(GetCurrentProcess(),
					       100 * PAGE, 109 * PAGE,
					       QUOTA_LIMITS_HARDWS_MIN_ENABLE |
					       QUOTA_LIMITS_HARDWS_MAX_ENABLE));
	ASSERT_TRUE(GetProcessWorkingSetSizeEx(GetCurrentProcess(), &min, &max,
					       &flags));
	EXPECT_EQ(100 * PAGE, min);
	EXPECT_EQ(109 * PAGE, max);
	EXPECT_EQ(QUOTA_LIMITS_HARDWS_MIN_ENABLE |
		  QUOTA_LIMITS_HARDWS_MAX_ENABLE, flags);
	/* Failures changed nothing. */
	ASSERT_TRUE(GetProcessWorkingSetSize(GetCurrentProcess(), &min, &max));
	EXPECT_EQ(100 * PAGE, min);
	/* (SIZE_T)-1 twice: empty the working set; the limits stay. */
	EXPECT_TRUE(SetProcessWorkingSetSize(GetCurrentProcess(), (SIZE_T)-1,
					     (SIZE_T)-1));
	ASSERT_TRUE(GetProcessWorkingSetSize(GetCurrentProcess(), &min, &max));
	EXPECT_EQ(100 * PAGE, min);
	EXPECT_EQ(109 * PAGE, max);
	/* Above the system's largest: brought down to it, a success. */
	ASSERT_LT(1024, phys);
	EXPECT_TRUE(SetProcessWorkingSetSizeEx(GetCurrentProcess(),
					       100 * PAGE, (SIZE_T)phys * PAGE,
					       QUOTA_LIMITS_HARDWS_MIN_DISABLE |
					       QUOTA_LIMITS_HARDWS_MAX_DISABLE));
	ASSERT_TRUE(GetProcessWorkingSetSize(GetCurrentProcess(), &min, &max));
	EXPECT_EQ((SIZE_T)(phys - 512) * PAGE, max);
	/* Another process's handle. */
	EXPECT_FALSE(GetProcessWorkingSetSize((HANDLE)(uintptr_t)4, &min,
					      &max));
	EXPECT_EQ(ERROR_INVALID_HANDLE, GetLastError());
	EXPECT_TRUE(VirtualFree(p, 0, MEM_RELEASE));
}

TEST(decommit_and_release_unlock)
{
	char *p = commit(4 * PAGE, PAGE_READWRITE);
	long before = vmlck_pages();

	ASSERT_NE(NULL, p);
	ASSERT_TRUE(VirtualLock(p, 4 * PAGE));
	ASSERT_EQ(before + 4, vmlck_pages());
	ASSERT_TRUE(VirtualFree(p + PAGE, PAGE, MEM_DECOMMIT));
	EXPECT_EQ(before + 3, vmlck_pages());
	/* Committed again, the page is not locked. */
	ASSERT_EQ(p + PAGE, VirtualAlloc(p + PAGE, PAGE, MEM_COMMIT,
					 PAGE_READWRITE));
	SetLastError(0);
	EXPECT_FALSE(VirtualUnlock(p, 4 * PAGE));
	EXPECT_EQ(ERROR_NOT_LOCKED, GetLastError());
	EXPECT_EQ(before + 3, vmlck_pages());
	EXPECT_TRUE(VirtualUnlock(p + 2 * PAGE, 2 * PAGE));
	EXPECT_EQ(before + 1, vmlck_pages());
	ASSERT_TRUE(VirtualFree(p, 0, MEM_RELEASE));
	EXPECT_EQ(before, vmlck_pages());
}

TEST(noaccess_or_guard_protection_unlocks)
{
	char *p = commit(3 * PAGE, PAGE_READWRITE);
	long before = vmlck_pages();
	uintptr_t b;
	SIZE_T s;
	ULONG old;

	ASSERT_NE(NULL, p);
	ASSERT_TRUE(VirtualLock(p, 3 * PAGE));
	/* Read-only: still locked. */
	b = (uintptr_t)p;
	s = PAGE;
	EXPECT_EQ(STATUS_SUCCESS, nt_protect(&b, &s, PAGE_READONLY, &old));
	EXPECT_EQ(before + 3, vmlck_pages());
	/* No access: unlocked, STATUS_WAS_UNLOCKED (a success). */
	EXPECT_EQ(STATUS_WAS_UNLOCKED, nt_protect(&b, &s, PAGE_NOACCESS, &old));
	EXPECT_EQ(PAGE_READONLY, old);
	EXPECT_EQ(PAGE, s);
	EXPECT_EQ(before + 2, vmlck_pages());
	EXPECT_EQ(PAGE_NOACCESS, query((uintptr_t)p).Protect);
	/* Nothing locked there now: STATUS_SUCCESS. */
	EXPECT_EQ(STATUS_SUCCESS, nt_protect(&b, &s, PAGE_NOACCESS, &old));
	/* Guard: unlocked too; VirtualProtect succeeds. */
	EXPECT_TRUE(VirtualProtect(p + PAGE, PAGE, PAGE_READWRITE | PAGE_GUARD,
				   (PDWORD)&old));
	EXPECT_EQ(before + 1, vmlck_pages());
	/* A commit with PAGE_NOACCESS over a locked page unlocks it. */
	EXPECT_EQ(p + 2 * PAGE, VirtualAlloc(p + 2 * PAGE, PAGE, MEM_COMMIT,
					     PAGE_NOACCESS));
	EXPECT_EQ(before, vmlck_pages());
	SetLastError(0);
	EXPECT_FALSE(VirtualUnlock(p + 2 * PAGE, PAGE));
	EXPECT_EQ(ERROR_NOT_LOCKED, GetLastError());
	EXPECT_TRUE(VirtualFree(p, 0, MEM_RELEASE));
}

/* MEM_RESET leaves a locked page, and its contents, alone. */
TEST(reset_keeps_locked_pages)
{
	char *p = commit(2 * PAGE, PAGE_READWRITE);
	long before = vmlck_pages();

	ASSERT_NE(NULL, p);
	memset(p, 'z', 2 * PAGE);
	ASSERT_TRUE(VirtualLock(p, PAGE));
	ASSERT_EQ(p, VirtualAlloc(p, 2 * PAGE, MEM_RESET, PAGE_NOACCESS));
	EXPECT_EQ(before + 1, vmlck_pages());
	EXPECT_EQ('z', p[0]);
	EXPECT_EQ('z', p[PAGE - 1]);
	EXPECT_TRUE(VirtualUnlock(p, PAGE));
	EXPECT_TRUE(VirtualFree(p, 0, MEM_RELEASE));
}

TEST(map_system_needs_cap_ipc_lock)
{
	char *p = commit(2 * PAGE, PAGE_READWRITE);
	uintptr_t b = (uintptr_t)p;
	SIZE_T s = PAGE;
	int status;
	pid_t pid;

	ASSERT_NE(NULL, p);
	if (!geteuid()) {
		/* Root: MAP_SYSTEM is a lock of its own. */
		ASSERT_EQ(STATUS_SUCCESS, nt_lock(&b, &s, MAP_SYSTEM));
		EXPECT_EQ(STATUS_NOT_LOCKED, nt_unlock(&b, &s, MAP_PROCESS));
		EXPECT_EQ(STATUS_SUCCESS, nt_lock(&b, &s, MAP_PROCESS));
		EXPECT_EQ(STATUS_WAS_LOCKED,
			  nt_lock(&b, &s, MAP_PROCESS | MAP_SYSTEM));
		EXPECT_EQ(STATUS_SUCCESS, nt_unlock(&b, &s, MAP_SYSTEM));
		EXPECT_EQ(STATUS_NOT_LOCKED, nt_unlock(&b, &s, MAP_SYSTEM));
		EXPECT_EQ(STATUS_SUCCESS, nt_unlock(&b, &s, MAP_PROCESS));
	}
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		char *c;

		if (drop_caps())
			_exit(10);
		c = commit(PAGE, PAGE_READWRITE);
		b = (uintptr_t)c;
		s = PAGE;
		if (nt_lock(&b, &s, MAP_SYSTEM) != STATUS_PRIVILEGE_NOT_HELD)
			_exit(11);
		if (nt_unlock(&b, &s, MAP_SYSTEM) != STATUS_PRIVILEGE_NOT_HELD)
			_exit(12);
		if (!VirtualLock(c, PAGE))
			_exit(13);
		_exit(0);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));
	EXPECT_TRUE(VirtualFree(p, 0, MEM_RELEASE));
}

/* Without CAP_IPC_LOCK, the locked pages also fit RLIMIT_MEMLOCK. */
TEST(rlimit_memlock_without_cap_ipc_lock)
{
	int status;
	pid_t pid = fork();

	ASSERT_LE(0, pid);
	if (!pid) {
		struct rlimit rl = { 16 * PAGE, 16 * PAGE };
		char *a = mmap(NULL, PAGE, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		char *c;

		if (drop_caps() || setrlimit(RLIMIT_MEMLOCK, &rl))
			_exit(10);
		if (!SetProcessWorkingSetSize(GetCurrentProcess(), 100 * PAGE,
					      200 * PAGE))
			_exit(11);
		c = commit(32 * PAGE, PAGE_READWRITE);
		if (!c || vmlck_pages() != 0)
			_exit(12);
		if (!VirtualLock(c, 16 * PAGE))
			_exit(13);
		SetLastError(0);
		if (VirtualLock(c + 16 * PAGE, PAGE) ||
		    GetLastError() != ERROR_WORKING_SET_QUOTA)
			_exit(14);
		/* mlock(2) shares the limit. */
		if (vmlck_pages() != 16 || a == MAP_FAILED || !mlock(a, PAGE))
			_exit(15);
		if (!VirtualUnlock(c, PAGE) || mlock(a, PAGE) ||
		    vmlck_pages() != 16)
			_exit(16);
		_exit(0);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));
}

TEST(fork_child_has_nothing_locked)
{
	char *p = commit(4 * PAGE, PAGE_READWRITE);
	long before = vmlck_pages();
	int status;
	pid_t pid;

	ASSERT_NE(NULL, p);
	ASSERT_TRUE(VirtualLock(p, 4 * PAGE));
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		/* The child's context does not hold the parent's memory. */
		if (vmlck_pages() != 0)
			_exit(10);
		if (VirtualUnlock(p, PAGE) ||
		    GetLastError() != ERROR_NOT_LOCKED)
			_exit(11);
		_exit(0);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));
	EXPECT_EQ(before + 4, vmlck_pages());
	EXPECT_TRUE(VirtualUnlock(p, 4 * PAGE));
	EXPECT_TRUE(VirtualFree(p, 0, MEM_RELEASE));
}

/* A child that commits and locks @pages, then exits: its exit status. */
static int lock_and_exit(long pages)
{
	int status;
	pid_t pid = fork();
	char *c;

	if (pid < 0)
		return -1;
	if (pid) {
		if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
			return -1;
		return WEXITSTATUS(status);
	}
	if (!SetProcessWorkingSetSize(GetCurrentProcess(), (pages + 8) * PAGE,
				      (pages + 100) * PAGE))
		_exit(10);
	c = commit(pages * PAGE, PAGE_READWRITE);
	if (!c)
		_exit(11);
	memset(c, 1, pages * PAGE);
	if (!VirtualLock(c, pages * PAGE))
		_exit(11);
	if (vmlck_pages() != pages)
		_exit(12);
	_exit(0);
}

/*
 * Processes that exit with pages locked give them all back: three of 32
 * MiB each leave no more than noise behind (a leak would be 96 MiB).
 * Under fault injection a lock of 8192 pages would never get through
 * (each page and xarray node is an allocation that may fail): 64 pages,
 * and the counters only.
 */
TEST(exit_releases)
{
	long pages = inject_active() ? 64 : 8192;
	struct ntvm_sysinfo_args before, after;
	long avail_before, avail_after;
	int run, i;

	if (geteuid())
		SKIP(return, "needs CAP_IPC_LOCK for 32 MiB");
	before = sysinfo_now();
	/*
	 * A first run warms up what the kernel keeps (slab caches, the
	 * debug kernel's quarantine) out of the measure.
	 */
	ASSERT_EQ(0, lock_and_exit(pages));
	for (i = 0; i < 100 && sysinfo_now().contexts != before.contexts; i++)
		usleep(10000);
	avail_before = meminfo_kb("MemAvailable:");
	for (run = 0; run < 3; run++)
		ASSERT_EQ(0, lock_and_exit(pages));
	/* A context goes once its last reference is put (delayed fput). */
	for (i = 0; i < 100; i++) {
		after = sysinfo_now();
		if (after.contexts == before.contexts)
			break;
		usleep(10000);
	}
	EXPECT_EQ(before.contexts, after.contexts);
	EXPECT_EQ(before.committed, after.committed);
	/*
	 * 96 MiB gone if the runs' pages stayed locked: half of it is
	 * enough.  The backings' pages go after the contexts, when their
	 * inodes are evicted: wait for that too.
	 */
	for (i = 0; i < 200; i++) {
		avail_after = meminfo_kb("MemAvailable:");
		if (avail_after + 48 * 1024 > avail_before)
			break;
		usleep(25000);
	}
	if (!inject_active())
		EXPECT_GT(avail_after + 48 * 1024, avail_before);
}

/*
 * Another fd for the process's context (libntvm closes its own in a
 * forked child): a dup of the /dev/ntvm fd, or -1.
 */
static int dup_ntvm_fd(void)
{
	char path[64], target[64];
	ssize_t n;
	int fd;

	for (fd = 0; fd < 1024; fd++) {
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
		n = readlink(path, target, sizeof(target) - 1);
		if (n < 0)
			continue;
		target[n] = 0;
		if (!strcmp(target, "/dev/ntvm"))
			return fcntl(fd, F_DUPFD, 100);
	}
	return -1;
}

/*
 * A child without CAP_IPC_LOCK, RLIMIT_MEMLOCK at @limit pages, locks
 * @pages: 0 if that succeeds, 1 if it fails with ERROR_WORKING_SET_QUOTA,
 * other values if something else went wrong.
 */
static int lock_without_cap(long pages, long limit)
{
	int status;
	pid_t pid = fork();
	struct rlimit rl = { limit * PAGE, limit * PAGE };
	char *c;

	if (pid < 0)
		return -1;
	if (pid) {
		if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
			return -1;
		return WEXITSTATUS(status);
	}
	if (drop_caps() || setrlimit(RLIMIT_MEMLOCK, &rl))
		_exit(10);
	if (!SetProcessWorkingSetSize(GetCurrentProcess(), (pages + 8) * PAGE,
				      (pages + 100) * PAGE))
		_exit(11);
	c = commit(pages * PAGE, PAGE_READWRITE);
	if (!c)
		_exit(12);
	SetLastError(0);
	if (VirtualLock(c, pages * PAGE))
		_exit(0);
	_exit(GetLastError() == ERROR_WORKING_SET_QUOTA ? 1 : 13);
}

/*
 * A context that outlives its process (its fd kept by a child made
 * before the exit; SCM_RIGHTS is the same) keeps its locked pages
 * charged to the user who locked them, against RLIMIT_MEMLOCK, until the
 * context goes: the user cannot pin more by exiting.  Process A, without
 * CAP_IPC_LOCK and with a limit of 16 pages, locks 16 and exits, leaving
 * its fd in its child B; a process of the same user with the same limit
 * then cannot lock one page; once B is gone it can lock 16 again.
 */
TEST(context_outliving_its_process_stays_charged)
{
	struct ntvm_sysinfo_args before = sysinfo_now(), now;
	int hold[2], gone[2], status, i;
	char byte;
	pid_t a;

	ASSERT_EQ(0, pipe(hold));
	ASSERT_EQ(0, pipe(gone));
	a = fork();
	ASSERT_LE(0, a);
	if (!a) {
		struct rlimit rl = { 16 * PAGE, 16 * PAGE };
		pid_t b;
		char *c;

		close(hold[1]);
		close(gone[0]);
		if (drop_caps() || setrlimit(RLIMIT_MEMLOCK, &rl))
			_exit(10);
		if (!SetProcessWorkingSetSize(GetCurrentProcess(), 100 * PAGE,
					      200 * PAGE))
			_exit(11);
		c = commit(16 * PAGE, PAGE_READWRITE);
		if (!c || !VirtualLock(c, 16 * PAGE) || vmlck_pages() != 16)
			_exit(12);
		if (dup_ntvm_fd() < 0)
			_exit(14);
		b = fork();
		if (b < 0)
			_exit(13);
		if (!b) {
			/* B: holds A's fd (and @gone) until @hold closes. */
			while (read(hold[0], &byte, 1) > 0)
				;
			_exit(0);
		}
		_exit(0);
	}
	close(hold[0]);
	close(gone[1]);
	ASSERT_EQ(a, waitpid(a, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	ASSERT_EQ(0, WEXITSTATUS(status));
	/* A is gone, its context is not: the 16 pages still count. */
	EXPECT_LT(before.contexts, sysinfo_now().contexts);
	EXPECT_EQ(1, lock_without_cap(1, 16));

	/* B goes: its end of @gone closes at its exit. */
	close(hold[1]);
	EXPECT_EQ(0, read(gone[0], &byte, 1));
	close(gone[0]);
	for (i = 0; i < 100; i++) {
		now = sysinfo_now();
		if (now.contexts <= before.contexts)
			break;
		usleep(10000);
	}
	EXPECT_GE(before.contexts, now.contexts);
	EXPECT_EQ(0, lock_without_cap(16, 16));
	EXPECT_EQ(1, lock_without_cap(17, 16));
}

FIXTURE(swap) {
	int have_swap;
	int made;
};

static long swap_used_kb(void)
{
	long total = meminfo_kb("SwapTotal:"), free = meminfo_kb("SwapFree:");

	return total > 0 && free >= 0 ? total - free : -1;
}

/* Sets up zram swap of twice RAM (at least 128 MiB) when there is none. */
FIXTURE_SETUP(swap)
{
	long mib = 2 * meminfo_kb("MemTotal:") / 1024;
	char cmd[256];

	self->made = 0;
	self->have_swap = swap_used_kb() >= 0;
	if (self->have_swap)
		return;
	if (access("/sys/block/zram0", F_OK))
		system("insmod /lib/zsmalloc.ko 2>/dev/null; insmod /lib/zram.ko 2>/dev/null");
	system("echo 1 > /sys/block/zram0/reset 2>/dev/null");
	snprintf(cmd, sizeof(cmd),
		 "echo %ldM > /sys/block/zram0/disksize && mkswap /dev/zram0 >/dev/null 2>&1 && swapon /dev/zram0 2>/dev/null",
		 mib < 128 ? 128 : mib);
	if (system(cmd))
		return;
	self->have_swap = self->made = 1;
}

FIXTURE_TEARDOWN(swap)
{
	if (self->made)
		system("swapoff /dev/zram0; echo 1 > /sys/block/zram0/reset");
}

#define NSWAP	256

static int resident(const char *p, long pages)
{
	unsigned char v[NSWAP];
	int i, n = 0;

	if (mincore((void *)p, pages * PAGE, v))
		return -1;
	for (i = 0; i < pages; i++)
		n += v[i] & 1;
	return n;
}

static int intact(const char *p, long pages, int fill)
{
	long i;

	for (i = 0; i < pages * (long)PAGE; i++)
		if (p[i] != (char)(fill + i / PAGE))
			return 0;
	return 1;
}

/*
 * Reclaim takes the unlocked pages out to swap and leaves the locked ones
 * resident; once unlocked, they go too.
 */
TEST_F(swap, locked_pages_stay_resident)
{
	const long half = NSWAP / 2;
	char *p;
	long i;

	if (!self->have_swap)
		SKIP(return, "no swap, and zram swap cannot be set up");
	ASSERT_TRUE(SetProcessWorkingSetSize(GetCurrentProcess(),
					     (half + 8) * PAGE,
					     (NSWAP + 100) * PAGE));
	p = commit(NSWAP * PAGE, PAGE_READWRITE);
	ASSERT_NE(NULL, p);
	for (i = 0; i < NSWAP * (long)PAGE; i++)
		p[i] = (char)(0x40 + i / PAGE);
	ASSERT_TRUE(VirtualLock(p, half * PAGE));
	ASSERT_EQ(0, madvise(p, NSWAP * PAGE, MADV_PAGEOUT));
	/* Best effort for the others (a page can be busy): most of them. */
	EXPECT_GT(half / 2, resident(p + half * PAGE, half));
	EXPECT_EQ(half, resident(p, half));
	/* Again, with the pages unmapped from the page tables first. */
	ASSERT_EQ(0, madvise(p, NSWAP * PAGE, MADV_DONTNEED));
	ASSERT_EQ(0, madvise(p, NSWAP * PAGE, MADV_PAGEOUT));
	EXPECT_EQ(half, resident(p, half));
	EXPECT_TRUE(intact(p, NSWAP, 0x40));
	/* Unlocked, they go out like the rest. */
	ASSERT_TRUE(VirtualUnlock(p, half * PAGE));
	ASSERT_EQ(0, madvise(p, NSWAP * PAGE, MADV_PAGEOUT));
	EXPECT_GT(half / 2, resident(p, half));
	EXPECT_TRUE(intact(p, NSWAP, 0x40));
	/* Locking brings swapped pages back in. */
	ASSERT_TRUE(VirtualLock(p + half * PAGE, half * PAGE));
	EXPECT_EQ(half, resident(p + half * PAGE, half));
	EXPECT_TRUE(intact(p, NSWAP, 0x40));
	EXPECT_TRUE(VirtualFree(p, 0, MEM_RELEASE));
}

/*
 * Memory pressure in a small VM (tools/check's pressure step): a child
 * touches 64 MiB more anonymous memory than the VM has RAM, pushing the
 * rest out to swap; the locked pages stay.  (MemAvailable + 32 MiB, as
 * before, left every unlocked page resident once on 7.3, whose reclaim
 * took the hog's own pages.)
 */
TEST_F_TIMEOUT(swap, locked_pages_stay_resident_under_pressure, 300)
{
	long ram_kb = meminfo_kb("MemTotal:");
	long hog_kb = ram_kb + 65536;
	const long n = 64;
	int status;
	char *p;
	pid_t pid;
	long i;

	if (!self->have_swap)
		SKIP(return, "no swap, and zram swap cannot be set up");
	if (ram_kb > 1024 * 1024 || meminfo_kb("SwapFree:") < ram_kb + 65536)
		SKIP(return, "needs a small VM with swap larger than its RAM");
	ASSERT_TRUE(SetProcessWorkingSetSize(GetCurrentProcess(),
					     (n + 8) * PAGE, (n + 100) * PAGE));
	p = commit(2 * n * PAGE, PAGE_READWRITE);
	ASSERT_NE(NULL, p);
	for (i = 0; i < 2 * n * (long)PAGE; i++)
		p[i] = (char)(0x20 + i / PAGE);
	ASSERT_TRUE(VirtualLock(p, n * PAGE));
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		size_t size = (size_t)hog_kb * 1024, off;
		char *hog = mmap(NULL, size, PROT_READ | PROT_WRITE,
				 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		if (hog == MAP_FAILED)
			_exit(10);
		for (off = 0; off < size; off += PAGE)
			hog[off] = 1;
		_exit(0);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	ASSERT_EQ(0, WEXITSTATUS(status));
	EXPECT_EQ(n, resident(p, n));
	/* The unlocked ones went out (so the pressure was real). */
	EXPECT_GT(n, resident(p + n * PAGE, n));
	EXPECT_TRUE(intact(p, 2 * n, 0x20));
	EXPECT_TRUE(VirtualFree(p, 0, MEM_RELEASE));
}

TEST_HARNESS_MAIN
