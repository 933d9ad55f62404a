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

/* Put page 0 of a fresh 2-page allocation into the state to start from. */
static uintptr_t prepare(enum from from, DWORD p)
{
	char *b = VirtualAlloc(NULL, 2 * PAGE, MEM_RESERVE, PAGE_READWRITE);
	DWORD old;

	if (!b)
		return 0;
	if (from == FREE) {
		VirtualFree(b, 0, MEM_RELEASE);
	} else if (from == COMMITTED) {
		VirtualAlloc(b, PAGE, MEM_COMMIT, PAGE_READWRITE);
		memcpy(b, ret42, sizeof(ret42));
		b[100] = 0x5a;
		VirtualProtect(b, PAGE, p, &old);
	}
	return (uintptr_t)b;
}

/* Check what page @a allows and holds: committed with @p, @data or 0. */
static void check_committed(struct __test_metadata *_metadata, uintptr_t a,
			    DWORD p, int data)
{
	MEMORY_BASIC_INFORMATION mbi = query(a);
	DWORD old;
	char v = 0;

	EXPECT_EQ(MEM_COMMIT, mbi.State);
	EXPECT_EQ(p, mbi.Protect);
	EXPECT_EQ(PAGE_READWRITE, mbi.AllocationProtect);
	if (p & PAGE_GUARD)
		return;
	EXPECT_EQ(readable(p), can_read(a + 100, &v));
	EXPECT_EQ(executable(p) && data, can_exec(a));
	EXPECT_EQ(writable(p), can_write(a + 200, 1));
	/* Look at the contents through a read-write protection. */
	ASSERT_TRUE(VirtualProtect(ptr(a), PAGE, PAGE_READWRITE, &old));
	EXPECT_EQ(p, old);
	EXPECT_EQ(data ? 0x5a : 0, ptr(a)[100]);
	EXPECT_EQ(data ? (char)0xb8 : 0, ptr(a)[0]);
}

static void transition(struct __test_metadata *_metadata, enum from from,
		       DWORD p, enum op op, DWORD q)
{
	uintptr_t a = prepare(from, p), base = a;
	SIZE_T size = PAGE;
	NTSTATUS s = 0;
	ULONG old = 0;

	ASSERT_NE(0, a);
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
			EXPECT_EQ(STATUS_SUCCESS, s);
			EXPECT_EQ(MEM_RESERVE, query(a).State);
			EXPECT_EQ(0, can_read(a, NULL));
		} else {
			EXPECT_EQ(op == OP_COMMIT || op == OP_PROTECT ?
				  STATUS_CONFLICTING_ADDRESSES :
				  STATUS_MEMORY_NOT_ALLOCATED, s);
			EXPECT_EQ(MEM_FREE, query(a).State);
			return;
		}
		break;
	case RESERVED:
		switch (op) {
		case OP_RESERVE:
			EXPECT_EQ(STATUS_CONFLICTING_ADDRESSES, s);
			break;
		case OP_COMMIT:
			EXPECT_EQ(STATUS_SUCCESS, s);
			check_committed(_metadata, a, q, 0);
			break;
		case OP_PROTECT:
			EXPECT_EQ(STATUS_NOT_COMMITTED, s);
			EXPECT_EQ(PAGE_NOACCESS, old);
			/* fall through */
		case OP_DECOMMIT:
			if (op == OP_DECOMMIT) {
				EXPECT_EQ(STATUS_SUCCESS, s);
			}
			EXPECT_EQ(MEM_RESERVE, query(a).State);
			EXPECT_EQ(2 * PAGE, query(a).RegionSize);
			EXPECT_EQ(0, can_read(a, NULL));
			break;
		case OP_RELEASE:
			EXPECT_EQ(STATUS_SUCCESS, s);
			EXPECT_EQ(MEM_FREE, query(a).State);
			return;
		}
		break;
	case COMMITTED:
		switch (op) {
		case OP_RESERVE:
			EXPECT_EQ(STATUS_CONFLICTING_ADDRESSES, s);
			check_committed(_metadata, a, p, 1);
			break;
		case OP_COMMIT:
			EXPECT_EQ(STATUS_SUCCESS, s);
			check_committed(_metadata, a, q, 1);
			break;
		case OP_PROTECT:
			EXPECT_EQ(STATUS_SUCCESS, s);
			EXPECT_EQ(p, old);
			check_committed(_metadata, a, q, 1);
			break;
		case OP_DECOMMIT:
			EXPECT_EQ(STATUS_SUCCESS, s);
			EXPECT_EQ(MEM_RESERVE, query(a).State);
			EXPECT_EQ(0, can_read(a + 100, NULL));
			/* Committed again, it reads zero. */
			ASSERT_EQ(ptr(a), VirtualAlloc(ptr(a), PAGE,
						       MEM_COMMIT,
						       PAGE_READONLY));
			check_committed(_metadata, a, PAGE_READONLY, 0);
			break;
		case OP_RELEASE:
			EXPECT_EQ(STATUS_SUCCESS, s);
			EXPECT_EQ(MEM_FREE, query(a).State);
			EXPECT_EQ(0, can_read(a + 100, NULL));
			return;
		}
		break;
	}
	EXPECT_TRUE(VirtualFree(ptr(a), 0, MEM_RELEASE));
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
	transition(_metadata, from, p, OP_PROTECT,
		   PAGE_READWRITE | PAGE_GUARD);
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
