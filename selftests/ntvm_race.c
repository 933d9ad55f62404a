// SPDX-License-Identifier: GPL-2.0
/*
 * Concurrency: once VirtualProtect(PAGE_READONLY / PAGE_NOACCESS) or
 * VirtualFree(MEM_DECOMMIT) has returned, no write from any thread may
 * land; and any mix of operations from many threads is safe.
 */
#include <pthread.h>
#include <stdatomic.h>

#include "inject.h"
#include "ntvm_test.h"
#include "kselftest_harness.h"

/* Under NTVM_FAULTINJ: the threads here change each other's ranges. */
__attribute__((constructor)) static void racy(void)
{
	inject_racy = 1;
}

#define WRITERS 2

struct race {
	volatile unsigned long *target;
	atomic_ulong landed;		/* writes that went through */
	atomic_int faulted;		/* writers stopped by a fault */
	atomic_int stop;
};

static __thread sigjmp_buf writer_jmp;

static void writer_fault(int sig, siginfo_t *si, void *uc)
{
	siglongjmp(writer_jmp, 1);
}

static void *writer(void *arg)
{
	struct race *r = arg;
	unsigned long n = 0;

	if (sigsetjmp(writer_jmp, 1)) {
		atomic_fetch_add(&r->faulted, 1);
		return NULL;
	}
	while (!atomic_load(&r->stop)) {
		*r->target = ++n;
		atomic_fetch_add(&r->landed, 1);
	}
	return NULL;
}

/* Lower the protection under running writers; no write may follow. */
static void lower_under_writers(struct __test_metadata *_metadata, int how)
{
	struct sigaction sa = { .sa_sigaction = writer_fault,
				.sa_flags = SA_SIGINFO | SA_NODEFER };
	char *p = VirtualAlloc(NULL, 0x2000, MEM_COMMIT, PAGE_READWRITE);
	pthread_t t[WRITERS];
	struct race r = { .target = (unsigned long *)p };
	unsigned long before, after, value = 0;
	DWORD old;
	int i;

	ASSERT_NE(NULL, p);
	sigaction(SIGSEGV, &sa, NULL);
	for (i = 0; i < WRITERS; i++)
		ASSERT_EQ(0, pthread_create(&t[i], NULL, writer, &r));
	while (atomic_load(&r.landed) < 20000)
		sched_yield();

	switch (how) {
	case 0:
		ASSERT_TRUE(VirtualProtect(p, 0x2000, PAGE_READONLY, &old));
		break;
	case 1:
		ASSERT_TRUE(VirtualProtect(p, 0x2000, PAGE_NOACCESS, &old));
		break;
	case 2:
		ASSERT_TRUE(VirtualFree(p, 0x2000, MEM_DECOMMIT));
		break;
	}
	/* Let writes that landed before the return be counted. */
	usleep(20000);
	before = atomic_load(&r.landed);
	if (how == 0)
		value = *r.target;
	usleep(100000);
	after = atomic_load(&r.landed);
	EXPECT_EQ(before, after);
	if (how == 0)
		EXPECT_EQ(value, *r.target);
	EXPECT_EQ(WRITERS, atomic_load(&r.faulted));
	atomic_store(&r.stop, 1);
	for (i = 0; i < WRITERS; i++)
		pthread_join(t[i], NULL);
	EXPECT_TRUE(VirtualFree(p, 0, MEM_RELEASE));
}

TEST(no_write_lands_after_protect_readonly)
{
	int i;

	for (i = 0; i < 10; i++)
		lower_under_writers(_metadata, 0);
}

TEST(no_write_lands_after_protect_noaccess)
{
	int i;

	for (i = 0; i < 10; i++)
		lower_under_writers(_metadata, 1);
}

TEST(no_write_lands_after_decommit)
{
	int i;

	for (i = 0; i < 10; i++)
		lower_under_writers(_metadata, 2);
}

/* Readers of pages whose protection flips between RW and XR. */
struct flipper {
	volatile char *page;
	atomic_int stop;
	atomic_ulong reads;
};

static void *reader(void *arg)
{
	struct flipper *f = arg;
	char v;

	while (!atomic_load(&f->stop)) {
		if (!can_read((uintptr_t)f->page, &v)) {
			atomic_store(&f->stop, 2);
			break;
		}
		atomic_fetch_add(&f->reads, 1);
	}
	return NULL;
}

/*
 * Both protections allow reading: moving pages between data and exec
 * views must never make a reader fault.
 */
TEST(no_fault_while_pages_change_view)
{
	struct flipper f = { .page = NULL };
	pthread_t t[2];
	DWORD old;
	char *p;
	int i;

	/*
	 * A MAP_FIXED that fails for memory leaves a hole until the undo
	 * maps the view again: a reader can fault in between.
	 */
	if (inject_active())
		SKIP(return, "readers can fault while a failed move is undone");
	p = VirtualAlloc(NULL, 0x4000, MEM_COMMIT, PAGE_READWRITE);
	ASSERT_NE(NULL, p);
	f.page = p + 0x1000;
	for (i = 0; i < 2; i++)
		ASSERT_EQ(0, pthread_create(&t[i], NULL, reader, &f));
	for (i = 0; i < 3000 && atomic_load(&f.stop) == 0; i++)
		ASSERT_TRUE(VirtualProtect(p, 0x4000, i & 1 ? PAGE_READWRITE :
					   PAGE_EXECUTE_READ, &old));
	EXPECT_EQ(0, atomic_load(&f.stop));
	atomic_store(&f.stop, 1);
	for (i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	EXPECT_LT(0, atomic_load(&f.reads));
	EXPECT_TRUE(VirtualFree(p, 0, MEM_RELEASE));
}

/* Threads hammering one shared allocation and their own ones. */
struct mixer {
	char *shared;
	unsigned int seed;
	int errors;
};

#define SHARED_SIZE	0x40000

static void *mixer(void *arg)
{
	struct mixer *m = arg;
	static const DWORD prots[] = {
		PAGE_NOACCESS, PAGE_READONLY, PAGE_READWRITE,
		PAGE_EXECUTE_READ, PAGE_EXECUTE_READWRITE,
	};
	int i, n = inject_active() ? 400 : 1500;

	for (i = 0; i < n; i++) {
		unsigned int r = rand_r(&m->seed);
		SIZE_T off = (r % (SHARED_SIZE / PAGE)) * PAGE;
		SIZE_T len = ((r >> 8) % 4 + 1) * PAGE;
		MEMORY_BASIC_INFORMATION mbi;
		DWORD old;
		char *own;

		if (off + len > SHARED_SIZE)
			len = SHARED_SIZE - off;
		switch ((r >> 16) % 6) {
		case 0:
			VirtualAlloc(m->shared + off, len, MEM_COMMIT,
				     prots[(r >> 20) % 5]);
			break;
		case 1:
			VirtualProtect(m->shared + off, len,
				       prots[(r >> 20) % 5], &old);
			break;
		case 2:
			VirtualFree(m->shared + off, len, MEM_DECOMMIT);
			break;
		case 3:
			if (VirtualQuery(m->shared + off, &mbi, sizeof(mbi)) !=
			    sizeof(mbi) || mbi.AllocationBase != m->shared)
				m->errors++;
			break;
		case 4:
			own = VirtualAlloc(NULL, len, MEM_COMMIT,
					   PAGE_READWRITE);
			if (!own) {
				m->errors++;
				break;
			}
			own[len - 1] = 1;
			if (!VirtualFree(own, 0, MEM_RELEASE))
				m->errors++;
			break;
		case 5:
			/* Touch if the state says we may; faults are fine. */
			can_read((uintptr_t)m->shared + off, NULL);
			break;
		}
	}
	return NULL;
}

TEST(mixed_operations_from_many_threads)
{
	struct ntvm_sysinfo_args before = sysinfo_now();
	char *shared = VirtualAlloc(NULL, SHARED_SIZE, MEM_RESERVE,
				    PAGE_READWRITE);
	struct mixer m[4];
	pthread_t t[4];
	int i;

	ASSERT_NE(NULL, shared);
	for (i = 0; i < 4; i++) {
		m[i] = (struct mixer){ .shared = shared, .seed = 1234 + i };
		ASSERT_EQ(0, pthread_create(&t[i], NULL, mixer, &m[i]));
	}
	for (i = 0; i < 4; i++) {
		pthread_join(t[i], NULL);
		EXPECT_EQ(0, m[i].errors);
	}
	EXPECT_EQ(before.allocations + 1, sysinfo_now().allocations);
	EXPECT_TRUE(VirtualFree(shared, 0, MEM_RELEASE));
	EXPECT_EQ(before.allocations, sysinfo_now().allocations);
	EXPECT_EQ(before.committed, sysinfo_now().committed);
}

TEST_HARNESS_MAIN
