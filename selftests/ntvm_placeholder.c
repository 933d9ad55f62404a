// SPDX-License-Identifier: GPL-2.0
/*
 * Placeholders (spec 2.3, 2.4): made with VirtualAlloc2's
 * MEM_RESERVE_PLACEHOLDER, replaced (MEM_REPLACE_PLACEHOLDER), freed back
 * to a placeholder or split (MEM_PRESERVE_PLACEHOLDER), coalesced
 * (MEM_COALESCE_PLACEHOLDERS); each rule with its NTSTATUS, its Win32
 * error and what VirtualQuery reports for every piece.
 */
#include <sys/wait.h>

#include "inject.h"
#include "ntvm_test.h"
#include "kselftest_harness.h"

#define PH_TYPE	(MEM_RESERVE | MEM_RESERVE_PLACEHOLDER)

static NTSTATUS nt_ex(uintptr_t *base, SIZE_T *size, ULONG type,
		      ULONG protect)
{
	PVOID b = (PVOID)*base;
	NTSTATUS s = NtAllocateVirtualMemoryEx(NtCurrentProcess(), &b, size,
					       type, protect, NULL, 0);

	*base = (uintptr_t)b;
	return s;
}

/* A new placeholder of @size bytes where the kernel chooses, or 0. */
static uintptr_t placeholder(SIZE_T size)
{
	return (uintptr_t)VirtualAlloc2(NULL, NULL, size, PH_TYPE,
					PAGE_NOACCESS, NULL, 0);
}

/* NtFreeVirtualMemory(@type) of [@base, @base + @size): its status. */
static NTSTATUS nt_free_at(uintptr_t base, SIZE_T size, ULONG type)
{
	return nt_free(&base, &size, type);
}

/* VirtualFree's result and last error, as one number: 0 is success. */
static DWORD vfree(uintptr_t base, SIZE_T size, DWORD type)
{
	SetLastError(0xdeadbeef);
	if (VirtualFree((void *)base, size, type))
		return 0;
	return GetLastError();
}

/* VirtualAlloc2's last error on failure (0 when it succeeded at @base). */
static DWORD valloc2(uintptr_t base, SIZE_T size, DWORD type, DWORD protect)
{
	void *p;

	SetLastError(0xdeadbeef);
	p = VirtualAlloc2(NULL, (void *)base, size, type, protect, NULL, 0);
	if (p)
		return p == (void *)base ? 0 : 0xbad;
	return GetLastError();
}

/* Every field VirtualQuery reports for @addr, checked. */
#define EXPECT_REGION(addr, abase, rsize, st, prot, typ, aprot)	do {	\
	MEMORY_BASIC_INFORMATION m_ = query(addr);			\
	EXPECT_EQ((uintptr_t)(addr) & ~(PAGE - 1),			\
		  (uintptr_t)m_.BaseAddress);				\
	EXPECT_EQ((uintptr_t)(abase), (uintptr_t)m_.AllocationBase);	\
	EXPECT_EQ((SIZE_T)(rsize), m_.RegionSize);			\
	EXPECT_EQ((DWORD)(st), m_.State);				\
	EXPECT_EQ((DWORD)(prot), m_.Protect);				\
	EXPECT_EQ((DWORD)(typ), m_.Type);				\
	EXPECT_EQ((DWORD)(aprot), m_.AllocationProtect);		\
} while (0)

/* A placeholder [@b, @b + @size), its own allocation. */
#define EXPECT_PLACEHOLDER(b, size)					\
	EXPECT_REGION(b, b, size, MEM_RESERVE, 0, MEM_PRIVATE, PAGE_NOACCESS)

#define EXPECT_FREE(b)	EXPECT_EQ((DWORD)MEM_FREE, query(b).State)

static SIZE_T charge(void)
{
	PROCESS_MEMORY_COUNTERS_EX m;

	memset(&m, 0, sizeof(m));
	if (!GetProcessMemoryInfo(GetCurrentProcess(),
				  (PPROCESS_MEMORY_COUNTERS)&m, sizeof(m)))
		return (SIZE_T)-1;
	return m.PrivateUsage;
}

static int all_bytes(uintptr_t b, SIZE_T size, unsigned char v)
{
	SIZE_T i;

	for (i = 0; i < size; i++)
		if (((unsigned char *)b)[i] != v)
			return 0;
	return 1;
}

static int wait_exit(pid_t pid)
{
	int status;

	if (waitpid(pid, &status, 0) != pid)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) :
	       128 + WTERMSIG(status);
}

TEST(feature_bit)
{
	int fd = open("/dev/ntvm", O_RDWR | O_CLOEXEC);
	__u64 features = 0;

	ASSERT_LE(0, fd);
	ASSERT_EQ(0, ioctl(fd, NTVM_IOC_FEATURES, &features));
	EXPECT_NE(0, features & NTVM_FEATURE_PLACEHOLDERS);
	close(fd);
}

/* Reserved, PAGE_NOACCESS, private; no access; released like any. */
TEST(create_and_query)
{
	uintptr_t p = placeholder(2 * GRAN), b;
	SIZE_T size = 0x11000;

	ASSERT_NE(0, p);
	EXPECT_EQ(0, p & (GRAN - 1));
	EXPECT_PLACEHOLDER(p, 2 * GRAN);
	EXPECT_REGION(p + 0x5123, p, 2 * GRAN - 0x5000, MEM_RESERVE, 0,
		      MEM_PRIVATE, PAGE_NOACCESS);
	EXPECT_FALSE(can_read(p, NULL));
	EXPECT_FALSE(can_write(p + GRAN, 1));
	EXPECT_EQ(0, vfree(p, 0, MEM_RELEASE));
	EXPECT_FREE(p);

	/* NT: the size is page-rounded and written back. */
	b = 0;
	ASSERT_EQ(STATUS_SUCCESS, nt_ex(&b, &size, PH_TYPE | MEM_TOP_DOWN,
					PAGE_NOACCESS));
	EXPECT_EQ(0x11000, size);
	EXPECT_EQ(0, b & (GRAN - 1));
	EXPECT_PLACEHOLDER(b, 0x11000);
	EXPECT_EQ(STATUS_SUCCESS, nt_free_at(b, 0, MEM_RELEASE));

	/* At an address: rounded down to 64 KiB, as a reservation. */
	p = free_range(2 * GRAN);
	ASSERT_NE(0, p);
	b = p + 0x1234;
	size = 0x2000;
	ASSERT_EQ(STATUS_SUCCESS, nt_ex(&b, &size, PH_TYPE, PAGE_NOACCESS));
	EXPECT_EQ(p, b);
	EXPECT_EQ(0x4000, size);
	EXPECT_PLACEHOLDER(p, 0x4000);
	/* Taken: another placeholder or a reservation conflicts. */
	b = p;
	size = 0x4000;
	EXPECT_EQ(STATUS_CONFLICTING_ADDRESSES,
		  nt_ex(&b, &size, PH_TYPE, PAGE_NOACCESS));
	EXPECT_EQ(STATUS_CONFLICTING_ADDRESSES,
		  nt_ex(&b, &size, MEM_RESERVE, PAGE_NOACCESS));
	EXPECT_EQ(ERROR_INVALID_ADDRESS,
		  valloc2(p, 0x4000, MEM_RESERVE, PAGE_READWRITE));
	EXPECT_PLACEHOLDER(p, 0x4000);
	EXPECT_EQ(0, vfree(p, 0, MEM_RELEASE));
}

/* Placed as any reservation: address requirements and MEM_TOP_DOWN. */
TEST(create_with_requirements)
{
	MEM_ADDRESS_REQUIREMENTS req = {
		.HighestEndingAddress = (PVOID)0xffffffffUL,
		.Alignment = 0x40000,
	};
	MEM_EXTENDED_PARAMETER param = {
		.Type = MemExtendedParameterAddressRequirements,
		.Pointer = &req,
	};
	uintptr_t p;

	p = (uintptr_t)VirtualAlloc2(NULL, NULL, 3 * GRAN,
				     PH_TYPE | MEM_TOP_DOWN, PAGE_NOACCESS,
				     &param, 1);
	ASSERT_NE(0, p);
	EXPECT_EQ(0, p & (0x40000 - 1));
	EXPECT_LE(p + 3 * GRAN - 1, 0xffffffffUL);
	EXPECT_PLACEHOLDER(p, 3 * GRAN);
	/* Requirements name no address: not with one. */
	SetLastError(0xdeadbeef);
	EXPECT_EQ(NULL, VirtualAlloc2(NULL, (void *)p, GRAN,
				      MEM_RESERVE | MEM_REPLACE_PLACEHOLDER,
				      PAGE_READWRITE, &param, 1));
	EXPECT_EQ(ERROR_INVALID_PARAMETER, GetLastError());
	EXPECT_PLACEHOLDER(p, 3 * GRAN);
	EXPECT_EQ(0, vfree(p, 0, MEM_RELEASE));
}

/* PAGE_NOACCESS and MEM_RESERVE only; the old call refuses the flag. */
TEST(create_rules)
{
	static const DWORD prots[] = {
		PAGE_READONLY, PAGE_READWRITE, PAGE_EXECUTE_READWRITE,
		PAGE_NOACCESS | PAGE_GUARD, 0,
	};
	static const DWORD types[] = {
		MEM_RESERVE_PLACEHOLDER,
		MEM_COMMIT | MEM_RESERVE_PLACEHOLDER,
		PH_TYPE | MEM_COMMIT,
		PH_TYPE | MEM_WRITE_WATCH,
		PH_TYPE | MEM_REPLACE_PLACEHOLDER,
		PH_TYPE | MEM_RESET,
	};
	uintptr_t b = 0;
	SIZE_T size;
	unsigned int i;

	for (i = 0; i < sizeof(prots) / sizeof(prots[0]); i++) {
		size = GRAN;
		EXPECT_EQ(STATUS_INVALID_PARAMETER,
			  nt_ex(&b, &size, PH_TYPE, prots[i]))
			TH_LOG("protection 0x%x", prots[i]);
		EXPECT_EQ(ERROR_INVALID_PARAMETER,
			  valloc2(0, GRAN, PH_TYPE, prots[i]));
	}
	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		size = GRAN;
		EXPECT_EQ(STATUS_INVALID_PARAMETER,
			  nt_ex(&b, &size, types[i], PAGE_NOACCESS))
			TH_LOG("type 0x%x", types[i]);
		EXPECT_EQ(ERROR_INVALID_PARAMETER,
			  valloc2(0, GRAN, types[i], PAGE_NOACCESS));
	}
	EXPECT_EQ(0, b);
	/* NtAllocateVirtualMemory (and VirtualAlloc) know no placeholder. */
	size = GRAN;
	EXPECT_EQ(STATUS_INVALID_PARAMETER,
		  nt_alloc(&b, &size, PH_TYPE, PAGE_NOACCESS));
	SetLastError(0xdeadbeef);
	EXPECT_EQ(NULL, VirtualAlloc(NULL, GRAN, PH_TYPE, PAGE_NOACCESS));
	EXPECT_EQ(ERROR_INVALID_PARAMETER, GetLastError());
	EXPECT_EQ(0, b);
}

/* A placeholder cannot be committed, reset or protected. */
TEST(cannot_be_used)
{
	uintptr_t p = placeholder(GRAN), b;
	SIZE_T size;
	ULONG old;

	ASSERT_NE(0, p);
	b = p;
	size = GRAN;
	EXPECT_EQ(STATUS_CONFLICTING_ADDRESSES,
		  nt_ex(&b, &size, MEM_COMMIT, PAGE_READWRITE));
	EXPECT_EQ(STATUS_CONFLICTING_ADDRESSES,
		  nt_alloc(&b, &size, MEM_COMMIT, PAGE_READWRITE));
	size = PAGE;
	EXPECT_EQ(STATUS_CONFLICTING_ADDRESSES,
		  nt_alloc(&b, &size, MEM_RESET, PAGE_READWRITE));
	EXPECT_EQ(ERROR_INVALID_ADDRESS,
		  valloc2(p, PAGE, MEM_COMMIT, PAGE_READWRITE));
	SetLastError(0xdeadbeef);
	EXPECT_EQ(NULL, VirtualAlloc((void *)(p + PAGE), PAGE, MEM_COMMIT,
				     PAGE_READWRITE));
	EXPECT_EQ(ERROR_INVALID_ADDRESS, GetLastError());
	/* Nothing committed to protect. */
	size = PAGE;
	EXPECT_EQ(STATUS_NOT_COMMITTED,
		  nt_protect(&b, &size, PAGE_READWRITE, &old));
	EXPECT_EQ(PAGE_NOACCESS, old);
	SetLastError(0xdeadbeef);
	EXPECT_FALSE(VirtualProtect((void *)p, PAGE, PAGE_READONLY, &old));
	EXPECT_EQ(ERROR_INVALID_ADDRESS, GetLastError());
	EXPECT_EQ(p, b);
	EXPECT_PLACEHOLDER(p, GRAN);
	EXPECT_FALSE(can_read(p, NULL));
	EXPECT_EQ(0, vfree(p, 0, MEM_RELEASE));
}

/* Exactly the placeholder's range, with MEM_RESERVE, or nothing. */
TEST(replace_rules)
{
	uintptr_t p = placeholder(GRAN), r, b;
	SIZE_T size;

	ASSERT_NE(0, p);
	r = (uintptr_t)VirtualAlloc(NULL, GRAN, MEM_RESERVE, PAGE_NOACCESS);
	ASSERT_NE(0, r);

	/* Too small, too big, not at its base. */
	b = p;
	size = PAGE;
	EXPECT_EQ(STATUS_CONFLICTING_ADDRESSES,
		  nt_ex(&b, &size, MEM_RESERVE | MEM_REPLACE_PLACEHOLDER,
			PAGE_NOACCESS));
	size = GRAN + PAGE;
	EXPECT_EQ(STATUS_CONFLICTING_ADDRESSES,
		  nt_ex(&b, &size, MEM_RESERVE | MEM_REPLACE_PLACEHOLDER,
			PAGE_READWRITE));
	b = p + PAGE;
	size = GRAN - PAGE;
	EXPECT_EQ(STATUS_CONFLICTING_ADDRESSES,
		  nt_ex(&b, &size, MEM_RESERVE | MEM_COMMIT |
			MEM_REPLACE_PLACEHOLDER, PAGE_READWRITE));
	EXPECT_EQ(ERROR_INVALID_ADDRESS,
		  valloc2(p, GRAN - PAGE, MEM_RESERVE |
			  MEM_REPLACE_PLACEHOLDER, PAGE_READWRITE));

	/* Without MEM_RESERVE, or with another flag. */
	b = p;
	size = GRAN;
	EXPECT_EQ(STATUS_INVALID_PARAMETER,
		  nt_ex(&b, &size, MEM_REPLACE_PLACEHOLDER, PAGE_READWRITE));
	EXPECT_EQ(STATUS_INVALID_PARAMETER,
		  nt_ex(&b, &size, MEM_COMMIT | MEM_REPLACE_PLACEHOLDER,
			PAGE_READWRITE));
	EXPECT_EQ(STATUS_INVALID_PARAMETER,
		  nt_ex(&b, &size, MEM_RESERVE | MEM_TOP_DOWN |
			MEM_REPLACE_PLACEHOLDER, PAGE_READWRITE));
	EXPECT_EQ(ERROR_INVALID_PARAMETER,
		  valloc2(p, GRAN, MEM_REPLACE_PLACEHOLDER, PAGE_READWRITE));

	/* Where there is no placeholder (as Wine). */
	b = r;
	EXPECT_EQ(STATUS_INVALID_PARAMETER,
		  nt_ex(&b, &size, MEM_RESERVE | MEM_REPLACE_PLACEHOLDER,
			PAGE_READWRITE));
	b = 0;
	EXPECT_EQ(STATUS_INVALID_PARAMETER,
		  nt_ex(&b, &size, MEM_RESERVE | MEM_REPLACE_PLACEHOLDER,
			PAGE_READWRITE));
	EXPECT_EQ(0, b);
	EXPECT_EQ(GRAN, size);

	/* An invalid protection is found as for any allocation. */
	b = p;
	EXPECT_EQ(STATUS_INVALID_PAGE_PROTECTION,
		  nt_ex(&b, &size, MEM_RESERVE | MEM_REPLACE_PLACEHOLDER,
			0x3));
	EXPECT_EQ(p, b);
	EXPECT_PLACEHOLDER(p, GRAN);

	/* Exactly: a reservation, with the protection given. */
	EXPECT_EQ(0, valloc2(p, GRAN, MEM_RESERVE | MEM_REPLACE_PLACEHOLDER,
			     PAGE_READONLY));
	EXPECT_REGION(p, p, GRAN, MEM_RESERVE, 0, MEM_PRIVATE, PAGE_READONLY);
	/* Now an ordinary allocation: no second replacement. */
	size = GRAN;
	EXPECT_EQ(STATUS_INVALID_PARAMETER,
		  nt_ex(&b, &size, MEM_RESERVE | MEM_REPLACE_PLACEHOLDER,
			PAGE_READWRITE));
	/* ... and committed as usual. */
	ASSERT_EQ((void *)(p + PAGE),
		  VirtualAlloc((void *)(p + PAGE), PAGE, MEM_COMMIT,
			       PAGE_READWRITE));
	EXPECT_REGION(p, p, PAGE, MEM_RESERVE, 0, MEM_PRIVATE, PAGE_READONLY);
	EXPECT_REGION(p + PAGE, p, PAGE, MEM_COMMIT, PAGE_READWRITE,
		      MEM_PRIVATE, PAGE_READONLY);
	EXPECT_TRUE(can_write(p + PAGE, 7));
	EXPECT_EQ(0, vfree(p, 0, MEM_RELEASE));
	EXPECT_EQ(0, vfree(r, 0, MEM_RELEASE));
}

/*
 * Replace with a commit, free back to a placeholder: the contents go, the
 * charge with them; replaced again, the pages read zero.
 */
TEST(replace_free_back_replace)
{
	uintptr_t p = placeholder(4 * GRAN), b;
	SIZE_T size = 4 * GRAN, before = charge();

	ASSERT_NE(0, p);
	b = p;
	ASSERT_EQ(STATUS_SUCCESS,
		  nt_ex(&b, &size, MEM_RESERVE | MEM_COMMIT |
			MEM_REPLACE_PLACEHOLDER, PAGE_READWRITE));
	EXPECT_EQ(p, b);
	EXPECT_EQ(4 * GRAN, size);
	EXPECT_REGION(p, p, 4 * GRAN, MEM_COMMIT, PAGE_READWRITE,
		      MEM_PRIVATE, PAGE_READWRITE);
	EXPECT_EQ(before + 4 * GRAN, charge());
	memset((void *)p, 0xcc, 4 * GRAN);

	/* VirtualFree: MEM_RELEASE|MEM_PRESERVE_PLACEHOLDER takes a size. */
	EXPECT_EQ(0, vfree(p, 4 * GRAN, MEM_RELEASE |
			   MEM_PRESERVE_PLACEHOLDER));
	EXPECT_PLACEHOLDER(p, 4 * GRAN);
	EXPECT_EQ(before, charge());
	EXPECT_FALSE(can_read(p, NULL));
	EXPECT_FALSE(can_read(p + 4 * GRAN - 1, NULL));

	/* Committed read-only this time: zero, and reported so. */
	b = p;
	size = 4 * GRAN;
	ASSERT_EQ(STATUS_SUCCESS,
		  nt_ex(&b, &size, MEM_RESERVE | MEM_COMMIT |
			MEM_REPLACE_PLACEHOLDER, PAGE_READONLY));
	EXPECT_REGION(p, p, 4 * GRAN, MEM_COMMIT, PAGE_READONLY,
		      MEM_PRIVATE, PAGE_READONLY);
	EXPECT_TRUE(all_bytes(p, 4 * GRAN, 0));
	EXPECT_FALSE(can_write(p, 1));

	/* NT: the base and size written back. */
	b = p;
	size = 4 * GRAN;
	EXPECT_EQ(STATUS_SUCCESS, nt_free(&b, &size, MEM_RELEASE |
					  MEM_PRESERVE_PLACEHOLDER));
	EXPECT_EQ(p, b);
	EXPECT_EQ(4 * GRAN, size);
	EXPECT_PLACEHOLDER(p, 4 * GRAN);
	EXPECT_EQ(before, charge());
	EXPECT_EQ(0, vfree(p, 0, MEM_RELEASE));
	EXPECT_FREE(p);
}

/*
 * A replacement whose commit fails (over the process's commit limit)
 * leaves the placeholder as it was: reserved, PAGE_NOACCESS, no write
 * watch, and replaceable.
 */
TEST(failed_replace_stays_a_placeholder)
{
	uintptr_t p = placeholder(4 * GRAN), b;
	SIZE_T size = 4 * GRAN, before = charge();
	ULONG_PTR count = 4;
	PVOID addrs[4];
	ULONG gran;

	ASSERT_NE(0, p);
	ASSERT_TRUE(NtvmSetProcessCommitLimit(before + GRAN));
	b = p;
	EXPECT_EQ(STATUS_COMMITMENT_LIMIT,
		  nt_ex(&b, &size, MEM_RESERVE | MEM_COMMIT | MEM_WRITE_WATCH |
			MEM_REPLACE_PLACEHOLDER, PAGE_READWRITE));
	EXPECT_TRUE(NtvmSetProcessCommitLimit(NTVM_NO_COMMIT_LIMIT));
	EXPECT_PLACEHOLDER(p, 4 * GRAN);
	EXPECT_EQ(before, charge());
	SetLastError(0);
	EXPECT_EQ((UINT)-1,
		  GetWriteWatch(0, (PVOID)p, 4 * GRAN, addrs, &count, &gran));
	EXPECT_EQ(ERROR_INVALID_PARAMETER, GetLastError());
	b = p;
	size = 4 * GRAN;
	EXPECT_EQ(STATUS_SUCCESS,
		  nt_ex(&b, &size, MEM_RESERVE | MEM_COMMIT |
			MEM_REPLACE_PLACEHOLDER, PAGE_READWRITE));
	EXPECT_REGION(p, p, 4 * GRAN, MEM_COMMIT, PAGE_READWRITE,
		      MEM_PRIVATE, PAGE_READWRITE);
	EXPECT_EQ(0, vfree(p, 0, MEM_RELEASE));
}

/* What a release drops, freeing back to a placeholder drops too. */
TEST(free_back_drops_state)
{
	uintptr_t p = placeholder(GRAN), b;
	SIZE_T size = GRAN;
	void *addrs[16];
	ULONG_PTR count = 16;
	DWORD gran;

	ASSERT_NE(0, p);
	b = p;
	ASSERT_EQ(STATUS_SUCCESS,
		  nt_ex(&b, &size, MEM_RESERVE | MEM_COMMIT | MEM_WRITE_WATCH |
			MEM_REPLACE_PLACEHOLDER, PAGE_EXECUTE_READWRITE));
	memcpy((void *)(p + 2 * PAGE), ret42, sizeof(ret42));
	EXPECT_TRUE(can_exec(p + 2 * PAGE));
	*(volatile char *)(p + 5 * PAGE) = 1;
	ASSERT_EQ(0, GetWriteWatch(0, (void *)p, GRAN, addrs, &count, &gran));
	EXPECT_EQ(2, count);
	EXPECT_TRUE(VirtualLock((void *)(p + 5 * PAGE), PAGE));
	EXPECT_EQ((void *)(p + 8 * PAGE),
		  VirtualAlloc((void *)(p + 8 * PAGE), PAGE, MEM_RESET,
			       PAGE_NOACCESS));

	EXPECT_EQ(0, vfree(p, GRAN, MEM_RELEASE | MEM_PRESERVE_PLACEHOLDER));
	EXPECT_PLACEHOLDER(p, GRAN);
	EXPECT_FALSE(can_exec(p + 2 * PAGE));
	/* Not a write-watch allocation any more. */
	count = 16;
	SetLastError(0xdeadbeef);
	EXPECT_EQ((UINT)-1, GetWriteWatch(0, (void *)p, GRAN, addrs, &count,
					  &gran));
	EXPECT_EQ(ERROR_INVALID_PARAMETER, GetLastError());

	/* Replaced again, with a write watch: nothing written, unlocked. */
	b = p;
	size = GRAN;
	ASSERT_EQ(STATUS_SUCCESS,
		  nt_ex(&b, &size, MEM_RESERVE | MEM_COMMIT | MEM_WRITE_WATCH |
			MEM_REPLACE_PLACEHOLDER, PAGE_READWRITE));
	count = 16;
	ASSERT_EQ(0, GetWriteWatch(0, (void *)p, GRAN, addrs, &count, &gran));
	EXPECT_EQ(0, count);
	SetLastError(0xdeadbeef);
	EXPECT_FALSE(VirtualUnlock((void *)(p + 5 * PAGE), PAGE));
	EXPECT_EQ(ERROR_NOT_LOCKED, GetLastError());
	EXPECT_TRUE(all_bytes(p, GRAN, 0));
	EXPECT_FALSE(can_exec(p + 2 * PAGE));
	*(volatile char *)(p + 3 * PAGE) = 1;
	count = 16;
	ASSERT_EQ(0, GetWriteWatch(WRITE_WATCH_FLAG_RESET, (void *)p, GRAN,
				   addrs, &count, &gran));
	ASSERT_EQ(1, count);
	EXPECT_EQ((void *)(p + 3 * PAGE), addrs[0]);
	EXPECT_EQ(0, vfree(p, 0, MEM_RELEASE));
}

/* Wine's case: a write-watch reservation replaces, then is committed. */
TEST(replace_write_watch_reserve_only)
{
	uintptr_t p = placeholder(GRAN), b;
	SIZE_T size = GRAN;
	void *addrs[16];
	ULONG_PTR count = 16;
	DWORD gran;

	ASSERT_NE(0, p);
	b = p;
	ASSERT_EQ(STATUS_SUCCESS,
		  nt_ex(&b, &size, MEM_WRITE_WATCH | MEM_RESERVE |
			MEM_REPLACE_PLACEHOLDER, PAGE_READONLY));
	b = p;
	size = GRAN;
	ASSERT_EQ(STATUS_SUCCESS, nt_ex(&b, &size, MEM_COMMIT,
					PAGE_READWRITE));
	EXPECT_REGION(p, p, GRAN, MEM_COMMIT, PAGE_READWRITE, MEM_PRIVATE,
		      PAGE_READONLY);
	ASSERT_EQ(0, GetWriteWatch(WRITE_WATCH_FLAG_RESET, (void *)p, GRAN,
				   addrs, &count, &gran));
	EXPECT_EQ(0, count);
	*(volatile char *)(p + PAGE) = 1;
	count = 16;
	ASSERT_EQ(0, GetWriteWatch(WRITE_WATCH_FLAG_RESET, (void *)p, GRAN,
				   addrs, &count, &gran));
	ASSERT_EQ(1, count);
	EXPECT_EQ((void *)(p + PAGE), addrs[0]);
	EXPECT_EQ(STATUS_SUCCESS, nt_free_at(p, 0, MEM_RELEASE));
}

/* MEM_RELEASE|MEM_PRESERVE_PLACEHOLDER: its errors. */
TEST(preserve_rules)
{
	uintptr_t p = placeholder(GRAN), r, b, f;
	SIZE_T size;

	ASSERT_NE(0, p);
	r = (uintptr_t)VirtualAlloc(NULL, GRAN, MEM_RESERVE | MEM_COMMIT,
				    PAGE_READWRITE);
	ASSERT_NE(0, r);
	*(volatile char *)r = 9;

	/* Never a placeholder: conflicting; nothing changes. */
	b = r;
	size = GRAN;
	EXPECT_EQ(STATUS_CONFLICTING_ADDRESSES,
		  nt_free(&b, &size, MEM_RELEASE | MEM_PRESERVE_PLACEHOLDER));
	EXPECT_EQ(r, b);
	EXPECT_EQ(GRAN, size);
	EXPECT_EQ(STATUS_CONFLICTING_ADDRESSES,
		  nt_free_at(r + PAGE, PAGE, MEM_RELEASE |
			     MEM_PRESERVE_PLACEHOLDER));
	EXPECT_EQ(ERROR_INVALID_ADDRESS,
		  vfree(r, GRAN, MEM_RELEASE | MEM_PRESERVE_PLACEHOLDER));
	EXPECT_EQ(9, *(volatile char *)r);
	/* The exact-MEM_RELEASE rule of VirtualFree still holds. */
	EXPECT_EQ(ERROR_INVALID_PARAMETER, vfree(r, GRAN, MEM_RELEASE));

	/* Size 0. */
	b = p;
	size = 0;
	EXPECT_EQ(STATUS_INVALID_PARAMETER_3,
		  nt_free(&b, &size, MEM_RELEASE | MEM_PRESERVE_PLACEHOLDER));
	EXPECT_EQ(0, size);
	EXPECT_EQ(ERROR_INVALID_PARAMETER,
		  vfree(p, 0, MEM_RELEASE | MEM_PRESERVE_PLACEHOLDER));
	/* A whole free placeholder: nothing to split. */
	EXPECT_EQ(STATUS_CONFLICTING_ADDRESSES,
		  nt_free_at(p, GRAN, MEM_RELEASE | MEM_PRESERVE_PLACEHOLDER));
	EXPECT_EQ(ERROR_INVALID_ADDRESS,
		  vfree(p, GRAN, MEM_RELEASE | MEM_PRESERVE_PLACEHOLDER));
	/* Past its end. */
	EXPECT_EQ(STATUS_UNABLE_TO_FREE_VM,
		  nt_free_at(p + PAGE, GRAN, MEM_RELEASE |
			     MEM_PRESERVE_PLACEHOLDER));
	/* Free memory. */
	f = free_range(GRAN);
	ASSERT_NE(0, f);
	EXPECT_EQ(STATUS_MEMORY_NOT_ALLOCATED,
		  nt_free_at(f, PAGE, MEM_RELEASE |
			     MEM_PRESERVE_PLACEHOLDER));
	/* Only with MEM_RELEASE, alone. */
	EXPECT_EQ(STATUS_INVALID_PARAMETER_4,
		  nt_free_at(p, PAGE, MEM_PRESERVE_PLACEHOLDER));
	EXPECT_EQ(STATUS_INVALID_PARAMETER_4,
		  nt_free_at(p, PAGE, MEM_DECOMMIT | MEM_PRESERVE_PLACEHOLDER));
	EXPECT_EQ(STATUS_INVALID_PARAMETER_4,
		  nt_free_at(p, PAGE, MEM_RELEASE | MEM_PRESERVE_PLACEHOLDER |
			     MEM_COALESCE_PLACEHOLDERS));
	EXPECT_EQ(ERROR_INVALID_PARAMETER,
		  vfree(p, PAGE, MEM_PRESERVE_PLACEHOLDER));
	EXPECT_PLACEHOLDER(p, GRAN);
	EXPECT_EQ(0, vfree(p, 0, MEM_RELEASE));
	EXPECT_EQ(0, vfree(r, 0, MEM_RELEASE));
}

/* Split in three, Wine's sizes: each piece its own allocation. */
TEST(split_in_three)
{
	uintptr_t p = placeholder(GRAN), p1, p2, b;
	SIZE_T size;
	__u64 allocs = sysinfo_now().allocations;

	ASSERT_NE(0, p);
	p1 = p + GRAN / 2;
	p2 = p1 + GRAN / 4;
	b = p1;
	size = GRAN / 4;
	EXPECT_EQ(STATUS_SUCCESS,
		  nt_free(&b, &size, MEM_RELEASE | MEM_PRESERVE_PLACEHOLDER));
	EXPECT_EQ(p1, b);
	EXPECT_EQ(0x4000, size);
	EXPECT_PLACEHOLDER(p, GRAN / 2);
	EXPECT_PLACEHOLDER(p1, GRAN / 4);
	EXPECT_PLACEHOLDER(p2, GRAN / 4);
	EXPECT_REGION(p2 + 0x1800, p2, 0x3000, MEM_RESERVE, 0, MEM_PRIVATE,
		      PAGE_NOACCESS);
	EXPECT_EQ(allocs + 2, sysinfo_now().allocations);

	/* Each one is released by itself, with size 0. */
	EXPECT_EQ(STATUS_FREE_VM_NOT_AT_BASE,
		  nt_free_at(p1 + PAGE, 0, MEM_RELEASE));
	EXPECT_EQ(0, vfree(p1, 0, MEM_RELEASE));
	EXPECT_FREE(p1);
	EXPECT_PLACEHOLDER(p, GRAN / 2);
	EXPECT_PLACEHOLDER(p2, GRAN / 4);
	EXPECT_EQ(0, vfree(p, 0, MEM_RELEASE));
	EXPECT_EQ(0, vfree(p2, 0, MEM_RELEASE));
	EXPECT_FREE(p);
	EXPECT_FREE(p2);
	/* @allocs counted the placeholder. */
	EXPECT_EQ(allocs - 1, sysinfo_now().allocations);
}

/* Split in two: the lower part named, or the upper. */
TEST(split_in_two)
{
	uintptr_t p = placeholder(GRAN), b;
	SIZE_T size;

	ASSERT_NE(0, p);
	EXPECT_EQ(0, vfree(p, GRAN / 4, MEM_RELEASE |
			   MEM_PRESERVE_PLACEHOLDER));
	EXPECT_PLACEHOLDER(p, GRAN / 4);
	EXPECT_PLACEHOLDER(p + GRAN / 4, GRAN - GRAN / 4);
	/* The upper part, split again at its top page. */
	b = p + GRAN - PAGE;
	size = 1;
	EXPECT_EQ(STATUS_SUCCESS,
		  nt_free(&b, &size, MEM_RELEASE | MEM_PRESERVE_PLACEHOLDER));
	EXPECT_EQ(p + GRAN - PAGE, b);
	EXPECT_EQ(PAGE, size);
	EXPECT_PLACEHOLDER(p + GRAN / 4, GRAN - GRAN / 4 - PAGE);
	EXPECT_PLACEHOLDER(p + GRAN - PAGE, PAGE);
	/* Each piece is replaced by itself, at a page-aligned base. */
	EXPECT_EQ(0, valloc2(p + GRAN / 4, GRAN - GRAN / 4 - PAGE,
			     MEM_RESERVE | MEM_COMMIT |
			     MEM_REPLACE_PLACEHOLDER, PAGE_READWRITE));
	EXPECT_REGION(p + GRAN / 4, p + GRAN / 4, GRAN - GRAN / 4 - PAGE,
		      MEM_COMMIT, PAGE_READWRITE, MEM_PRIVATE, PAGE_READWRITE);
	EXPECT_PLACEHOLDER(p, GRAN / 4);
	EXPECT_PLACEHOLDER(p + GRAN - PAGE, PAGE);
	EXPECT_TRUE(can_write(p + GRAN / 4, 1));
	EXPECT_FALSE(can_read(p + GRAN - PAGE, NULL));
	EXPECT_EQ(0, vfree(p, 0, MEM_RELEASE));
	EXPECT_EQ(0, vfree(p + GRAN / 4, 0, MEM_RELEASE));
	EXPECT_EQ(0, vfree(p + GRAN - PAGE, 0, MEM_RELEASE));
	EXPECT_FREE(p);
}

/* NT's MEM_RELEASE of part of a placeholder: the rest stays one. */
TEST(partial_release_keeps_placeholders)
{
	uintptr_t p = placeholder(GRAN);

	ASSERT_NE(0, p);
	EXPECT_EQ(STATUS_SUCCESS, nt_free_at(p + 0x4000, 0x4000,
					     MEM_RELEASE));
	EXPECT_PLACEHOLDER(p, 0x4000);
	EXPECT_FREE(p + 0x4000);
	EXPECT_PLACEHOLDER(p + 0x8000, 0x8000);
	EXPECT_EQ(0, valloc2(p + 0x8000, 0x8000, MEM_RESERVE |
			     MEM_REPLACE_PLACEHOLDER, PAGE_READWRITE));
	EXPECT_REGION(p + 0x8000, p + 0x8000, 0x8000, MEM_RESERVE, 0,
		      MEM_PRIVATE, PAGE_READWRITE);
	EXPECT_EQ(0, vfree(p, 0, MEM_RELEASE));
	EXPECT_EQ(0, vfree(p + 0x8000, 0, MEM_RELEASE));
}

/*
 * Part of an allocation that replaced a placeholder (as Wine): the range
 * becomes a placeholder, the rest stays allocated around it.
 */
TEST(free_back_part_of_a_replacement)
{
	uintptr_t p = placeholder(GRAN), b;
	SIZE_T size = GRAN;

	ASSERT_NE(0, p);
	b = p;
	ASSERT_EQ(STATUS_SUCCESS,
		  nt_ex(&b, &size, MEM_RESERVE | MEM_COMMIT |
			MEM_REPLACE_PLACEHOLDER, PAGE_READWRITE));
	memset((void *)p, 0x5a, GRAN);
	EXPECT_EQ(0, vfree(p + 0x4000, 0x4000, MEM_RELEASE |
			   MEM_PRESERVE_PLACEHOLDER));
	EXPECT_REGION(p, p, 0x4000, MEM_COMMIT, PAGE_READWRITE, MEM_PRIVATE,
		      PAGE_READWRITE);
	EXPECT_PLACEHOLDER(p + 0x4000, 0x4000);
	EXPECT_REGION(p + 0x8000, p + 0x8000, 0x8000, MEM_COMMIT,
		      PAGE_READWRITE, MEM_PRIVATE, PAGE_READWRITE);
	EXPECT_TRUE(all_bytes(p, 0x4000, 0x5a));
	EXPECT_TRUE(all_bytes(p + 0x8000, 0x8000, 0x5a));
	EXPECT_FALSE(can_read(p + 0x4000, NULL));
	/* The pieces around may go back to placeholders too. */
	EXPECT_EQ(0, vfree(p + 0x8000, 0x8000, MEM_RELEASE |
			   MEM_PRESERVE_PLACEHOLDER));
	EXPECT_PLACEHOLDER(p + 0x8000, 0x8000);
	EXPECT_EQ(0, vfree(p + 0x4000, 0xc000, MEM_RELEASE |
			   MEM_COALESCE_PLACEHOLDERS));
	EXPECT_PLACEHOLDER(p + 0x4000, 0xc000);
	EXPECT_EQ(0, vfree(p, 0, MEM_RELEASE));
	EXPECT_EQ(0, vfree(p + 0x4000, 0, MEM_RELEASE));
}

/* Wine's coalesce sequence: every error, then the join. */
TEST(coalesce)
{
	uintptr_t p = placeholder(GRAN), p2, p3, b;
	SIZE_T size;
	__u64 allocs;

	ASSERT_NE(0, p);
	p2 = p + GRAN / 4;
	p3 = p2 + GRAN / 4;
	EXPECT_EQ(STATUS_SUCCESS, nt_free_at(p, GRAN / 4, MEM_RELEASE |
					     MEM_PRESERVE_PLACEHOLDER));
	EXPECT_EQ(STATUS_SUCCESS, nt_free_at(p2, GRAN / 4, MEM_RELEASE |
					     MEM_PRESERVE_PLACEHOLDER));
	EXPECT_PLACEHOLDER(p, p2 - p);
	EXPECT_PLACEHOLDER(p2, p3 - p2);
	EXPECT_PLACEHOLDER(p3, p + GRAN - p3);
	allocs = sysinfo_now().allocations;

	/* One placeholder is not enough. */
	EXPECT_EQ(STATUS_CONFLICTING_ADDRESSES,
		  nt_free_at(p, GRAN / 4, MEM_RELEASE |
			     MEM_COALESCE_PLACEHOLDERS));
	EXPECT_EQ(STATUS_INVALID_PARAMETER_4,
		  nt_free_at(p, GRAN, MEM_COALESCE_PLACEHOLDERS));
	EXPECT_EQ(ERROR_INVALID_PARAMETER,
		  vfree(p, GRAN, MEM_COALESCE_PLACEHOLDERS));
	/* Too big, too small, not at the first base, size 0. */
	EXPECT_EQ(STATUS_CONFLICTING_ADDRESSES,
		  nt_free_at(p, GRAN + PAGE, MEM_RELEASE |
			     MEM_COALESCE_PLACEHOLDERS));
	EXPECT_EQ(STATUS_CONFLICTING_ADDRESSES,
		  nt_free_at(p, GRAN - PAGE, MEM_RELEASE |
			     MEM_COALESCE_PLACEHOLDERS));
	EXPECT_EQ(STATUS_CONFLICTING_ADDRESSES,
		  nt_free_at(p + PAGE, GRAN - PAGE, MEM_RELEASE |
			     MEM_COALESCE_PLACEHOLDERS));
	EXPECT_EQ(ERROR_INVALID_ADDRESS,
		  vfree(p + PAGE, GRAN - PAGE, MEM_RELEASE |
			MEM_COALESCE_PLACEHOLDERS));
	b = p;
	size = 0;
	EXPECT_EQ(STATUS_INVALID_PARAMETER_3,
		  nt_free(&b, &size, MEM_RELEASE | MEM_COALESCE_PLACEHOLDERS));
	EXPECT_EQ(ERROR_INVALID_PARAMETER,
		  vfree(p, 0, MEM_RELEASE | MEM_COALESCE_PLACEHOLDERS));
	/* A plain release cannot span them. */
	EXPECT_EQ(STATUS_UNABLE_TO_FREE_VM, nt_free_at(p, GRAN, MEM_RELEASE));
	EXPECT_EQ(allocs, sysinfo_now().allocations);
	EXPECT_PLACEHOLDER(p, p2 - p);
	EXPECT_PLACEHOLDER(p2, p3 - p2);

	/* Two of the three. */
	b = p2;
	size = p + GRAN - p2;
	EXPECT_EQ(STATUS_SUCCESS,
		  nt_free(&b, &size, MEM_RELEASE | MEM_COALESCE_PLACEHOLDERS));
	EXPECT_EQ(p2, b);
	EXPECT_EQ(p + GRAN - p2, size);
	EXPECT_PLACEHOLDER(p, p2 - p);
	EXPECT_PLACEHOLDER(p2, p + GRAN - p2);
	EXPECT_REGION(p3, p2, p + GRAN - p3, MEM_RESERVE, 0, MEM_PRIVATE,
		      PAGE_NOACCESS);
	EXPECT_EQ(allocs - 1, sysinfo_now().allocations);
	/* All of it, through VirtualFree. */
	EXPECT_EQ(0, vfree(p, GRAN, MEM_RELEASE | MEM_COALESCE_PLACEHOLDERS));
	EXPECT_PLACEHOLDER(p, GRAN);
	EXPECT_EQ(allocs - 2, sysinfo_now().allocations);

	/* Split again; a replaced piece is not a placeholder to join. */
	EXPECT_EQ(0, vfree(p, GRAN / 4, MEM_RELEASE |
			   MEM_PRESERVE_PLACEHOLDER));
	EXPECT_PLACEHOLDER(p, GRAN / 4);
	EXPECT_PLACEHOLDER(p2, GRAN - GRAN / 4);
	EXPECT_EQ(0, valloc2(p2, GRAN - GRAN / 4, MEM_RESERVE |
			     MEM_REPLACE_PLACEHOLDER, PAGE_READWRITE));
	EXPECT_EQ(STATUS_CONFLICTING_ADDRESSES,
		  nt_free_at(p, GRAN, MEM_RELEASE | MEM_COALESCE_PLACEHOLDERS));
	/* Nor is free space between two. */
	EXPECT_EQ(STATUS_SUCCESS, nt_free_at(p2, 0, MEM_RELEASE));
	EXPECT_EQ(STATUS_CONFLICTING_ADDRESSES,
		  nt_free_at(p, GRAN, MEM_RELEASE | MEM_COALESCE_PLACEHOLDERS));
	/* Nor a plain reservation at the base. */
	EXPECT_EQ(STATUS_SUCCESS, nt_free_at(p, 0, MEM_RELEASE));
	EXPECT_EQ(STATUS_MEMORY_NOT_ALLOCATED,
		  nt_free_at(p3, 0, MEM_RELEASE));
	ASSERT_EQ((void *)p, VirtualAlloc((void *)p, GRAN, MEM_RESERVE,
					  PAGE_NOACCESS));
	EXPECT_EQ(STATUS_CONFLICTING_ADDRESSES,
		  nt_free_at(p, GRAN, MEM_RELEASE | MEM_COALESCE_PLACEHOLDERS));
	EXPECT_EQ(0, vfree(p, 0, MEM_RELEASE));
}

/* Coalesce across placeholders made one by one, adjacent. */
TEST(coalesce_separate_placeholders)
{
	uintptr_t p = free_range(3 * GRAN), b;
	SIZE_T size = GRAN;
	int i;

	ASSERT_NE(0, p);
	for (i = 0; i < 3; i++) {
		b = p + i * GRAN;
		size = GRAN;
		ASSERT_EQ(STATUS_SUCCESS,
			  nt_ex(&b, &size, PH_TYPE, PAGE_NOACCESS));
	}
	EXPECT_PLACEHOLDER(p + GRAN, GRAN);
	EXPECT_EQ(0, vfree(p, 3 * GRAN, MEM_RELEASE |
			   MEM_COALESCE_PLACEHOLDERS));
	EXPECT_PLACEHOLDER(p, 3 * GRAN);
	EXPECT_EQ(0, valloc2(p, 3 * GRAN, MEM_RESERVE | MEM_COMMIT |
			     MEM_REPLACE_PLACEHOLDER, PAGE_READWRITE));
	EXPECT_TRUE(can_write(p + 3 * GRAN - 1, 1));
	EXPECT_EQ(0, vfree(p, 0, MEM_RELEASE));
	EXPECT_FREE(p);
}

/* Splits and joins change no VMA: placeholders live in the arenas. */
TEST(no_vma_changes)
{
	uintptr_t p = placeholder(16 * GRAN);
	int vmas, i;

	ASSERT_NE(0, p);
	vmas = count_views();
	for (i = 1; i < 16; i++)
		ASSERT_EQ(0, vfree(p + i * GRAN - PAGE, PAGE, MEM_RELEASE |
				   MEM_PRESERVE_PLACEHOLDER));
	EXPECT_EQ(vmas, count_views());
	EXPECT_PLACEHOLDER(p + GRAN, GRAN - PAGE);
	EXPECT_PLACEHOLDER(p + 2 * GRAN - PAGE, PAGE);
	EXPECT_EQ(0, vfree(p, 16 * GRAN, MEM_RELEASE |
			   MEM_COALESCE_PLACEHOLDERS));
	EXPECT_PLACEHOLDER(p, 16 * GRAN);
	EXPECT_EQ(vmas, count_views());
	EXPECT_EQ(0, vfree(p, 0, MEM_RELEASE));
}

/*
 * Random splits, joins, replacements and frees back over one range,
 * checked against a model after every step: each piece its own
 * allocation with its state, and a replaced piece's contents.
 */
#define CHURN_PAGES	64
#define CHURN_STEPS	3000	/* a tenth under fault injection */

struct piece {
	uintptr_t start, end;
	int replaced;
	unsigned char fill;
};

static unsigned long churn_rng = 88172645463325252UL;

static unsigned long churn_rnd(void)
{
	churn_rng ^= churn_rng << 13;
	churn_rng ^= churn_rng >> 7;
	churn_rng ^= churn_rng << 17;
	return churn_rng;
}

/* Does every piece query and read as the model says? */
static int churn_check(struct piece *pc, int n)
{
	int i;

	for (i = 0; i < n; i++) {
		MEMORY_BASIC_INFORMATION m = query(pc[i].start);
		SIZE_T size = pc[i].end - pc[i].start;
		DWORD state = pc[i].replaced ? MEM_COMMIT : MEM_RESERVE;
		DWORD prot = pc[i].replaced ? PAGE_READWRITE : PAGE_NOACCESS;

		if ((uintptr_t)m.AllocationBase != pc[i].start ||
		    m.RegionSize != size || m.State != state ||
		    m.Protect != (pc[i].replaced ? PAGE_READWRITE : 0) ||
		    m.AllocationProtect != prot || m.Type != MEM_PRIVATE) {
			fprintf(stderr, "# piece %d [0x%lx, 0x%lx): base 0x%lx size 0x%lx state 0x%x\n",
				i, (unsigned long)pc[i].start,
				(unsigned long)pc[i].end,
				(unsigned long)(uintptr_t)m.AllocationBase,
				(unsigned long)m.RegionSize, (unsigned)m.State);
			return 0;
		}
		if (pc[i].replaced &&
		    (*(volatile unsigned char *)pc[i].start != pc[i].fill ||
		     *(volatile unsigned char *)(pc[i].end - 1) != pc[i].fill))
			return 0;
		if (!pc[i].replaced && can_read(pc[i].start, NULL))
			return 0;
	}
	return 1;
}

TEST(churn)
{
	struct piece pc[CHURN_PAGES];
	__u64 allocs = sysinfo_now().allocations;
	SIZE_T before = charge();
	uintptr_t p = placeholder(CHURN_PAGES * PAGE);
	int steps = inject_active() ? CHURN_STEPS / 10 : CHURN_STEPS;
	int n = 1, step, i, j, k, done[4] = { 0 }, most = 1;

	ASSERT_NE(0, p);
	pc[0] = (struct piece){ p, p + CHURN_PAGES * PAGE, 0, 0 };
	for (step = 0; step < steps; step++) {
		int op = churn_rnd() % 4;

		i = churn_rnd() % n;
		if (op == 0 && !pc[i].replaced) {
			/* Split: a strict sub-range of the placeholder. */
			unsigned long pages = (pc[i].end - pc[i].start) / PAGE;
			unsigned long a, b;

			if (pages < 2)
				continue;
			a = churn_rnd() % pages;
			b = a + 1 + churn_rnd() % (pages - a);
			if (a == 0 && b == pages)
				b--;
			ASSERT_EQ(STATUS_SUCCESS,
				  nt_free_at(pc[i].start + a * PAGE,
					     (b - a) * PAGE, MEM_RELEASE |
					     MEM_PRESERVE_PLACEHOLDER));
			k = (a > 0) + 1 + (b < pages);
			memmove(&pc[i + k], &pc[i + 1],
				(n - i - 1) * sizeof(pc[0]));
			{
				uintptr_t s0 = pc[i].start, e0 = pc[i].end;
				int at = i;

				if (a > 0)
					pc[at++] = (struct piece){
						s0, s0 + a * PAGE, 0, 0 };
				pc[at++] = (struct piece){
					s0 + a * PAGE, s0 + b * PAGE, 0, 0 };
				if (b < pages)
					pc[at++] = (struct piece){
						s0 + b * PAGE, e0, 0, 0 };
			}
			n += k - 1;
		} else if (op == 1 && !pc[i].replaced) {
			/* Coalesce a run of placeholders, or fail to. */
			for (j = i; j + 1 < n && !pc[j + 1].replaced; j++)
				;
			if (j == i) {
				EXPECT_EQ(STATUS_CONFLICTING_ADDRESSES,
					  nt_free_at(pc[i].start,
						     (i + 1 < n ? pc[i + 1].end :
						      pc[i].end) - pc[i].start,
						     MEM_RELEASE |
						     MEM_COALESCE_PLACEHOLDERS));
				continue;
			}
			k = i + 1 + churn_rnd() % (j - i);
			ASSERT_EQ(STATUS_SUCCESS,
				  nt_free_at(pc[i].start,
					     pc[k].end - pc[i].start,
					     MEM_RELEASE |
					     MEM_COALESCE_PLACEHOLDERS));
			pc[i].end = pc[k].end;
			memmove(&pc[i + 1], &pc[k + 1],
				(n - k - 1) * sizeof(pc[0]));
			n -= k - i;
		} else if (op == 2 && !pc[i].replaced) {
			uintptr_t b = pc[i].start;
			SIZE_T size = pc[i].end - pc[i].start;

			ASSERT_EQ(STATUS_SUCCESS,
				  nt_ex(&b, &size, MEM_RESERVE | MEM_COMMIT |
					MEM_REPLACE_PLACEHOLDER,
					PAGE_READWRITE));
			pc[i].replaced = 1;
			pc[i].fill = 1 + churn_rnd() % 255;
			memset((void *)pc[i].start, pc[i].fill, size);
		} else if (op == 3 && pc[i].replaced) {
			ASSERT_EQ(STATUS_SUCCESS,
				  nt_free_at(pc[i].start,
					     pc[i].end - pc[i].start,
					     MEM_RELEASE |
					     MEM_PRESERVE_PLACEHOLDER));
			pc[i].replaced = 0;
		} else {
			continue;
		}
		ASSERT_TRUE(churn_check(pc, n))
			TH_LOG("step %d, op %d, %d pieces", step, op, n);
		done[op]++;
		most = n > most ? n : most;
		ASSERT_EQ(allocs + n, sysinfo_now().allocations);
	}
	fprintf(stderr,
		"# churn: %d splits, %d joins, %d replacements, %d frees back, up to %d pieces\n",
		done[0], done[1], done[2], done[3], most);
	EXPECT_LT(steps / 30, done[0]);
	EXPECT_LT(steps / 30, done[1]);
	/* All back to placeholders, joined into one, released. */
	for (i = 0; i < n; i++)
		if (pc[i].replaced)
			ASSERT_EQ(STATUS_SUCCESS,
				  nt_free_at(pc[i].start,
					     pc[i].end - pc[i].start,
					     MEM_RELEASE |
					     MEM_PRESERVE_PLACEHOLDER));
	EXPECT_EQ(before, charge());
	if (n > 1)
		ASSERT_EQ(STATUS_SUCCESS,
			  nt_free_at(p, CHURN_PAGES * PAGE, MEM_RELEASE |
				     MEM_COALESCE_PLACEHOLDERS));
	EXPECT_PLACEHOLDER(p, CHURN_PAGES * PAGE);
	EXPECT_EQ(STATUS_SUCCESS, nt_free_at(p, 0, MEM_RELEASE));
	EXPECT_EQ(allocs, sysinfo_now().allocations);
}

/* A forked child has no placeholder; the parent keeps its own. */
TEST(fork_child_sees_none)
{
	uintptr_t p = placeholder(2 * GRAN), b;
	SIZE_T size = GRAN;
	pid_t pid;

	ASSERT_NE(0, p);
	ASSERT_EQ(0, vfree(p, GRAN, MEM_RELEASE | MEM_PRESERVE_PLACEHOLDER));
	b = p;
	ASSERT_EQ(STATUS_SUCCESS,
		  nt_ex(&b, &size, MEM_RESERVE | MEM_COMMIT |
			MEM_REPLACE_PLACEHOLDER, PAGE_READWRITE));
	*(volatile char *)p = 0x3c;
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		if (can_read(p, NULL) || can_read(p + GRAN, NULL))
			_exit(1);
		if (query(p).State != MEM_FREE ||
		    query(p + GRAN).State != MEM_FREE)
			_exit(2);
		if (vfree(p + GRAN, GRAN, MEM_RELEASE |
			  MEM_PRESERVE_PLACEHOLDER) != ERROR_INVALID_ADDRESS)
			_exit(3);
		_exit(0);
	}
	EXPECT_EQ(0, wait_exit(pid));
	EXPECT_EQ(0x3c, *(volatile char *)p);
	EXPECT_REGION(p, p, GRAN, MEM_COMMIT, PAGE_READWRITE, MEM_PRIVATE,
		      PAGE_READWRITE);
	EXPECT_PLACEHOLDER(p + GRAN, GRAN);
	EXPECT_EQ(0, vfree(p, 0, MEM_RELEASE));
	EXPECT_EQ(0, vfree(p + GRAN, 0, MEM_RELEASE));
}

/* Exit frees every placeholder and what replaced one. */
TEST(exit_frees_everything)
{
	struct ntvm_sysinfo_args before = sysinfo_now(), after;
	pid_t pid = fork();

	ASSERT_LE(0, pid);
	if (pid == 0) {
		int i;

		for (i = 0; i < 8; i++) {
			uintptr_t p = placeholder(4 * GRAN), b = p;
			SIZE_T size = GRAN;

			if (!p || vfree(p, GRAN, MEM_RELEASE |
					MEM_PRESERVE_PLACEHOLDER) ||
			    vfree(p + 2 * GRAN, GRAN, MEM_RELEASE |
				  MEM_PRESERVE_PLACEHOLDER))
				_exit(1);
			if (nt_ex(&b, &size, MEM_RESERVE | MEM_COMMIT |
				  MEM_WRITE_WATCH | MEM_REPLACE_PLACEHOLDER,
				  i & 1 ? PAGE_EXECUTE_READWRITE :
					  PAGE_READWRITE))
				_exit(2);
			memset((void *)p, i, GRAN);
			if (!VirtualLock((void *)p, PAGE))
				_exit(3);
		}
		if (sysinfo_now().allocations != before.allocations + 32)
			_exit(4);
		_exit(0);
	}
	EXPECT_EQ(0, wait_exit(pid));
	after = sysinfo_now();
	EXPECT_EQ(before.contexts, after.contexts);
	EXPECT_EQ(before.allocations, after.allocations);
	EXPECT_EQ(before.committed, after.committed);
}

TEST_HARNESS_MAIN
