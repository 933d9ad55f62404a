// SPDX-License-Identifier: GPL-2.0
/*
 * Fault injection: with failslab and fail_page_alloc failing about 10% of
 * this task's allocations, every operation either succeeds or fails with
 * STATUS_NO_MEMORY / STATUS_INSUFFICIENT_RESOURCES / STATUS_COMMITMENT_LIMIT
 * and leaves the state and the contents exactly as they were.  Needs the
 * debug kernel (debugfs fault-injection knobs); skipped elsewhere.
 */
#include "inject.h"
#include "ntvm_test.h"
#include "kselftest_harness.h"

#define PAGES 32

struct snap {
	DWORD state[PAGES], protect[PAGES];
	PVOID alloc[PAGES];
	char data[PAGES];
};

static void take(char *base, struct snap *s)
{
	int i;

	for (i = 0; i < PAGES; i++) {
		MEMORY_BASIC_INFORMATION mbi = query((uintptr_t)base + i * PAGE);

		s->state[i] = mbi.State;
		s->protect[i] = mbi.Protect;
		s->alloc[i] = mbi.AllocationBase;
		s->data[i] = 0;
		if (mbi.State == MEM_COMMIT)
			can_read((uintptr_t)base + i * PAGE + 9, &s->data[i]);
	}
}

TEST(every_failure_leaves_state_as_it_was)
{
	static const DWORD prots[] = {
		PAGE_NOACCESS, PAGE_READONLY, PAGE_READWRITE,
		PAGE_EXECUTE_READ, PAGE_EXECUTE_READWRITE,
	};
	struct ntvm_sysinfo_args before = sysinfo_now();
	unsigned int seed = 5, failures = 0, i;
	char *base = NULL;

	if (access("/sys/kernel/debug/failslab", F_OK) || inject_setup())
		SKIP(return, "no fault injection here (debug kernel only)");
	/* Open the context with injection off. */
	base = VirtualAlloc(NULL, PAGES * PAGE, MEM_RESERVE, PAGE_NOACCESS);
	ASSERT_NE(NULL, base);
	for (i = 0; i < 1500; i++) {
		int r = rand_r(&seed), first = (r >> 4) % PAGES;
		int n = 1 + (r >> 12) % (PAGES - first);
		uintptr_t a = (uintptr_t)base + first * PAGE, b = a;
		SIZE_T size = n * PAGE;
		struct snap s1, s2;
		NTSTATUS st = 0;
		ULONG old;

		take(base, &s1);
		inject_arm(1);
		switch (r % 5) {
		case 0:
			st = nt_alloc(&b, &size, MEM_COMMIT, prots[(r >> 20) % 5]);
			break;
		case 1:
			st = nt_protect(&b, &size, prots[(r >> 20) % 5], &old);
			break;
		case 2:
			st = nt_free(&b, &size, MEM_DECOMMIT);
			break;
		case 3:
			size = 0;
			b = (uintptr_t)base;
			st = nt_free(&b, &size, MEM_RELEASE);
			break;
		case 4:
			b = 0;
			st = nt_alloc(&b, &size, MEM_COMMIT, PAGE_READWRITE);
			break;
		}
		inject_arm(0);
		if (st == STATUS_NOT_COMMITTED)
			continue;
		if (st) {
			ASSERT_TRUE(st == STATUS_NO_MEMORY ||
				    st == STATUS_INSUFFICIENT_RESOURCES ||
				    st == STATUS_COMMITMENT_LIMIT) {
				TH_LOG("op %d gave 0x%x", r % 5, st);
			}
			failures++;
			take(base, &s2);
			EXPECT_EQ(0, memcmp(&s1, &s2, sizeof(s1))) {
				TH_LOG("op %d (%d pages at %d) changed the state",
				       r % 5, n, first);
			}
			continue;
		}
		switch (r % 5) {
		case 0: case 1:
			/* Mark what is now writable, with injection off. */
			for (; size && a < b + size; a += PAGE)
				can_write(a + 9, (char)i);
			break;
		case 3:
			base = VirtualAlloc(NULL, PAGES * PAGE, MEM_RESERVE,
					    PAGE_NOACCESS);
			ASSERT_NE(NULL, base);
			break;
		case 4:
			VirtualFree(ptr(b), 0, MEM_RELEASE);
			break;
		}
	}
	TH_LOG("%u of 1500 operations failed", failures);
	EXPECT_LT(0, failures);
	EXPECT_TRUE(VirtualFree(base, 0, MEM_RELEASE));
	EXPECT_EQ(before.allocations, sysinfo_now().allocations);
	EXPECT_EQ(before.committed, sysinfo_now().committed);
}

/*
 * A first touch whose page (or page table) cannot be allocated fails the
 * fault with VM_FAULT_OOM, and the kernel retries it: with injection on,
 * every write still lands, once, and nothing else changes.
 */
TEST(failing_first_touches_are_retried)
{
	const int pages = 256;
	char *p;
	int i;

	if (access("/sys/kernel/debug/failslab", F_OK) || inject_setup())
		SKIP(return, "no fault injection here (debug kernel only)");
	p = VirtualAlloc(NULL, pages * PAGE, MEM_COMMIT, PAGE_READWRITE);
	ASSERT_NE(NULL, p);
	inject_arm(1);
	for (i = 0; i < pages; i++)
		p[i * PAGE + 7] = (char)(i + 1);
	inject_arm(0);
	for (i = 0; i < pages; i++) {
		EXPECT_EQ((char)(i + 1), p[i * PAGE + 7]);
		EXPECT_EQ(0, p[i * PAGE + 8]);
	}
	EXPECT_EQ(MEM_COMMIT, query((uintptr_t)p).State);
	EXPECT_EQ(pages * PAGE, query((uintptr_t)p).RegionSize);
	EXPECT_TRUE(VirtualFree(p, 0, MEM_RELEASE));
}

TEST_HARNESS_MAIN
