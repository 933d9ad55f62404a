// SPDX-License-Identifier: GPL-2.0
/*
 * Every transition: from free, reserved and committed with every
 * protection (and a guard page), through reserve, commit with every
 * protection, protect with every protection, decommit and release; the
 * status, the resulting state, what the page allows and what it holds.
 */
#include "ntvm_test.h"
#include "kselftest_harness.h"

static const DWORD prots[] = {
	PAGE_NOACCESS, PAGE_READONLY, PAGE_READWRITE, PAGE_EXECUTE,
	PAGE_EXECUTE_READ, PAGE_EXECUTE_READWRITE,
};
#define NPROTS (sizeof(prots) / sizeof(prots[0]))

enum from { FREE, RESERVED, COMMITTED };
enum op { OP_RESERVE, OP_COMMIT, OP_PROTECT, OP_DECOMMIT, OP_RELEASE };

static int readable(DWORD p)
{
	return p != PAGE_NOACCESS && !(p & PAGE_GUARD);
}

static int writable(DWORD p)
{
	return !(p & PAGE_GUARD) && (p == PAGE_READWRITE ||
				     p == PAGE_EXECUTE_READWRITE);
}

static int executable(DWORD p)
{
	return !(p & PAGE_GUARD) && (p & 0xf0);
}

static const char *prot_name(DWORD p)
{
	static __thread char buf[4][48];
	static __thread int n;
	char *b = buf[n++ % 4];
	const char *name = "?";

	switch (p & ~PAGE_GUARD) {
	case 0: name = "-"; break;
	case PAGE_NOACCESS: name = "NOACCESS"; break;
	case PAGE_READONLY: name = "READONLY"; break;
	case PAGE_READWRITE: name = "READWRITE"; break;
	case PAGE_EXECUTE: name = "EXECUTE"; break;
	case PAGE_EXECUTE_READ: name = "EXECUTE_READ"; break;
	case PAGE_EXECUTE_READWRITE: name = "EXECUTE_READWRITE"; break;
	}
	snprintf(b, sizeof(buf[0]), "%s%s", name,
		 p & PAGE_GUARD ? "|GUARD" : "");
	return b;
}

static const char *const from_names[] = { "free", "reserved", "committed" };
static const char *const op_names[] = {
	"reserve", "commit", "protect", "decommit", "release",
};

/* The case being run, named in every failure. */
static char case_name[128];

#define C_EQ(e, s)	EXPECT_EQ(e, s) TH_LOG("case: %s", case_name)
#define C_NE(e, s)	EXPECT_NE(e, s) TH_LOG("case: %s", case_name)
#define C_TRUE(e)	EXPECT_TRUE(e) TH_LOG("case: %s", case_name)
#define C_ASSERT_EQ(e, s) ASSERT_EQ(e, s) TH_LOG("case: %s", case_name)
#define C_ASSERT_NE(e, s) ASSERT_NE(e, s) TH_LOG("case: %s", case_name)
#define C_ASSERT_TRUE(e) ASSERT_TRUE(e) TH_LOG("case: %s", case_name)

/* Put page 0 of a fresh 2-page allocation into the state to start from. */
static uintptr_t prepare(struct __test_metadata *_metadata, enum from from,
			 DWORD p)
{
	char *b = VirtualAlloc(NULL, 2 * PAGE, MEM_RESERVE, PAGE_READWRITE);
	DWORD old;

	C_ASSERT_NE(NULL, b);
	if (from == FREE) {
		C_ASSERT_TRUE(VirtualFree(b, 0, MEM_RELEASE));
		C_ASSERT_EQ(MEM_FREE, query((uintptr_t)b).State);
	} else if (from == COMMITTED) {
		C_ASSERT_EQ(b, VirtualAlloc(b, PAGE, MEM_COMMIT,
					    PAGE_READWRITE));
		memcpy(b, ret42, sizeof(ret42));
		b[100] = 0x5a;
		C_ASSERT_TRUE(VirtualProtect(b, PAGE, p, &old));
		C_ASSERT_EQ(PAGE_READWRITE, old);
		C_ASSERT_EQ(p, query((uintptr_t)b).Protect);
	}
	return (uintptr_t)b;
}

/*
 * Check what page @a allows and holds: committed with @p, @data or 0.
 * A guard page faults on its first access (a read) and loses the guard;
 * then it allows what its base protection allows.
 */
static void check_committed(struct __test_metadata *_metadata, uintptr_t a,
			    DWORD p, int data)
{
	MEMORY_BASIC_INFORMATION mbi = query(a);
	DWORD old, base = p & ~PAGE_GUARD;
	char v = 0;

	C_EQ(MEM_COMMIT, mbi.State);
	C_EQ(p, mbi.Protect);
	C_EQ(PAGE_READWRITE, mbi.AllocationProtect);
	C_EQ(PAGE, mbi.RegionSize);
	if (p & PAGE_GUARD) {
		C_EQ(0, can_read(a + 100, &v));
		C_EQ(base, query(a).Protect);
		C_EQ(MEM_COMMIT, query(a).State);
	}
	C_EQ(readable(base), can_read(a + 100, &v));
	if (readable(base))
		C_EQ(data ? 0x5a : 0, v);
	C_EQ(executable(base) && data, can_exec(a));
	C_EQ(writable(base), can_write(a + 200, 1));
	/* Look at the contents through a read-write protection. */
	C_ASSERT_TRUE(VirtualProtect(ptr(a), PAGE, PAGE_READWRITE, &old));
	C_EQ(base, old);
	C_EQ(data ? 0x5a : 0, ptr(a)[100]);
	C_EQ(data ? (char)0xb8 : 0, ptr(a)[0]);
	C_EQ(writable(base) ? 1 : 0, ptr(a)[200]);
}

static void transition(struct __test_metadata *_metadata, enum from from,
		       DWORD p, enum op op, DWORD q)
{
	uintptr_t a, base;
	SIZE_T size = PAGE;
	NTSTATUS s = 0;
	ULONG old = 0;

	snprintf(case_name, sizeof(case_name), "from %s %s, %s %s",
		 from_names[from], prot_name(p), op_names[op], prot_name(q));
	a = prepare(_metadata, from, p);
	base = a;
	switch (op) {
	case OP_RESERVE:
		s = nt_alloc(&base, &size, MEM_RESERVE, PAGE_READWRITE);
		break;
	case OP_COMMIT:
		s = nt_alloc(&base, &size, MEM_COMMIT, q);
		break;
	case OP_PROTECT:
		s = nt_protect(&base, &size, q, &old);
		break;
	case OP_DECOMMIT:
		s = nt_free(&base, &size, MEM_DECOMMIT);
		break;
	case OP_RELEASE:
		size = 0;
		s = nt_free(&base, &size, MEM_RELEASE);
		break;
	}

	switch (from) {
	case FREE:
		if (op == OP_RESERVE) {
			C_EQ(STATUS_SUCCESS, s);
			C_EQ(MEM_RESERVE, query(a).State);
			C_EQ(PAGE, query(a).RegionSize);
			C_EQ(0, can_read(a, NULL));
		} else {
			C_EQ(op == OP_COMMIT || op == OP_PROTECT ?
			     STATUS_CONFLICTING_ADDRESSES :
			     STATUS_MEMORY_NOT_ALLOCATED, s);
			C_EQ(MEM_FREE, query(a).State);
			C_EQ(0, can_read(a, NULL));
			return;
		}
		break;
	case RESERVED:
		switch (op) {
		case OP_RESERVE:
			C_EQ(STATUS_CONFLICTING_ADDRESSES, s);
			C_EQ(MEM_RESERVE, query(a).State);
			C_EQ(2 * PAGE, query(a).RegionSize);
			break;
		case OP_COMMIT:
			C_EQ(STATUS_SUCCESS, s);
			check_committed(_metadata, a, q, 0);
			break;
		case OP_PROTECT:
			C_EQ(STATUS_NOT_COMMITTED, s);
			C_EQ(PAGE_NOACCESS, old);
			/* fall through */
		case OP_DECOMMIT:
			if (op == OP_DECOMMIT) {
				C_EQ(STATUS_SUCCESS, s);
			}
			C_EQ(MEM_RESERVE, query(a).State);
			C_EQ(2 * PAGE, query(a).RegionSize);
			C_EQ(0, can_read(a, NULL));
			C_EQ(0, can_write(a, 1));
			break;
		case OP_RELEASE:
			C_EQ(STATUS_SUCCESS, s);
			C_EQ(MEM_FREE, query(a).State);
			C_EQ(0, can_read(a, NULL));
			return;
		}
		break;
	case COMMITTED:
		switch (op) {
		case OP_RESERVE:
			C_EQ(STATUS_CONFLICTING_ADDRESSES, s);
			check_committed(_metadata, a, p, 1);
			break;
		case OP_COMMIT:
			C_EQ(STATUS_SUCCESS, s);
			check_committed(_metadata, a, q, 1);
			break;
		case OP_PROTECT:
			C_EQ(STATUS_SUCCESS, s);
			C_EQ(p, old);
			check_committed(_metadata, a, q, 1);
			break;
		case OP_DECOMMIT:
			C_EQ(STATUS_SUCCESS, s);
			C_EQ(MEM_RESERVE, query(a).State);
			C_EQ(0, can_read(a + 100, NULL));
			C_EQ(0, can_write(a + 100, 1));
			/* Committed again, it reads zero. */
			C_ASSERT_EQ(ptr(a), VirtualAlloc(ptr(a), PAGE,
							 MEM_COMMIT,
							 PAGE_READONLY));
			check_committed(_metadata, a, PAGE_READONLY, 0);
			break;
		case OP_RELEASE:
			C_EQ(STATUS_SUCCESS, s);
			C_EQ(MEM_FREE, query(a).State);
			C_EQ(0, can_read(a + 100, NULL));
			return;
		}
		break;
	}
	/* The other page of the allocation is still just reserved. */
	if (from != FREE) {
		C_EQ(MEM_RESERVE, query(a + PAGE).State);
		C_EQ(a, (uintptr_t)query(a + PAGE).AllocationBase);
		C_EQ(0, can_read(a + PAGE, NULL));
	}
	C_TRUE(VirtualFree(ptr(a), 0, MEM_RELEASE));
}

static void from_state(struct __test_metadata *_metadata, enum from from,
		       DWORD p)
{
	unsigned int i;

	transition(_metadata, from, p, OP_RESERVE, 0);
	transition(_metadata, from, p, OP_DECOMMIT, 0);
	transition(_metadata, from, p, OP_RELEASE, 0);
	for (i = 0; i < NPROTS; i++) {
		transition(_metadata, from, p, OP_COMMIT, prots[i]);
		transition(_metadata, from, p, OP_PROTECT, prots[i]);
	}
	transition(_metadata, from, p, OP_COMMIT,
		   PAGE_READWRITE | PAGE_GUARD);
	transition(_metadata, from, p, OP_PROTECT,
		   PAGE_READWRITE | PAGE_GUARD);
	transition(_metadata, from, p, OP_PROTECT,
		   PAGE_EXECUTE_READ | PAGE_GUARD);
}

TEST(from_free)
{
	from_state(_metadata, FREE, 0);
}

TEST(from_reserved)
{
	from_state(_metadata, RESERVED, 0);
}

TEST(from_committed)
{
	unsigned int i;

	for (i = 0; i < NPROTS; i++)
		from_state(_metadata, COMMITTED, prots[i]);
	from_state(_metadata, COMMITTED, PAGE_EXECUTE_READ | PAGE_GUARD);
}

TEST_HARNESS_MAIN
