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
	uintptr_t shared;
	unsigned int seed;
	int errors;
	char what[160];		/* the first impossible result */
	unsigned long ops[6];
};

#define SHARED_SIZE	0x40000

static const DWORD mixer_prots[] = {
	PAGE_NOACCESS, PAGE_READONLY, PAGE_READWRITE,
	PAGE_EXECUTE_READ, PAGE_EXECUTE_READWRITE,
};

static int valid_prot(DWORD p)
{
	unsigned int i;

	for (i = 0; i < sizeof(mixer_prots) / sizeof(mixer_prots[0]); i++)
		if (p == mixer_prots[i])
			return 1;
	return 0;
}

static void mixer_error(struct mixer *m, int i, const char *op,
			uintptr_t off, SIZE_T len, unsigned long got)
{
	if (!m->errors++)
		snprintf(m->what, sizeof(m->what),
			 "op %d: %s at +%#lx, %#lx bytes: got %#lx", i, op,
			 (unsigned long)off, (unsigned long)len, got);
}

static void *mixer(void *arg)
{
	struct mixer *m = arg;
	int i, n = inject_active() ? 400 : 1500;

	for (i = 0; i < n; i++) {
		unsigned int r = rand_r(&m->seed);
		SIZE_T off = (r % (SHARED_SIZE / PAGE)) * PAGE;
		SIZE_T len = ((r >> 8) % 4 + 1) * PAGE, size;
		DWORD prot = mixer_prots[(r >> 20) % 5];
		uintptr_t base, own;
		NTSTATUS s;
		ULONG old;
		MEMORY_BASIC_INFORMATION mbi;
		int op = (r >> 16) % 6;

		if (off + len > SHARED_SIZE)
			len = SHARED_SIZE - off;
		base = m->shared + off;
		size = len;
		m->ops[op]++;
		switch (op) {
		case 0:
			/* In one allocation, charge far from the limit. */
			s = nt_alloc(&base, &size, MEM_COMMIT, prot);
			if (s != STATUS_SUCCESS || base != m->shared + off ||
			    size != len)
				mixer_error(m, i, "commit", off, len, (ULONG)s);
			break;
		case 1:
			/* Not committed: some page was decommitted. */
			old = 0xdead;
			s = nt_protect(&base, &size, prot, &old);
			if (s == STATUS_SUCCESS) {
				if (!valid_prot(old) || base != m->shared + off ||
				    size != len)
					mixer_error(m, i, "protect (old)", off,
						    len, old);
			} else if (s != STATUS_NOT_COMMITTED ||
				   old != PAGE_NOACCESS) {
				mixer_error(m, i, "protect", off, len, (ULONG)s);
			}
			break;
		case 2:
			s = nt_free(&base, &size, MEM_DECOMMIT);
			if (s != STATUS_SUCCESS || base != m->shared + off ||
			    size != len)
				mixer_error(m, i, "decommit", off, len, (ULONG)s);
			break;
		case 3:
			memset(&mbi, 0xaa, sizeof(mbi));
			if (VirtualQuery(ptr(base + 0x10), &mbi, sizeof(mbi)) !=
			    sizeof(mbi)) {
				mixer_error(m, i, "query", off, len,
					    GetLastError());
				break;
			}
			if ((uintptr_t)mbi.BaseAddress != base ||
			    (uintptr_t)mbi.AllocationBase != m->shared ||
			    mbi.AllocationProtect != PAGE_READWRITE ||
			    mbi.Type != MEM_PRIVATE ||
			    !mbi.RegionSize || mbi.RegionSize % PAGE ||
			    mbi.RegionSize > SHARED_SIZE - off)
				mixer_error(m, i, "query", off, len,
					    mbi.RegionSize);
			else if (mbi.State == MEM_RESERVE ? mbi.Protect != 0 :
				 mbi.State != MEM_COMMIT ||
				 !valid_prot(mbi.Protect))
				mixer_error(m, i, "query state", off, len,
					    mbi.State);
			break;
		case 4:
			own = 0;
			size = len;
			s = nt_alloc(&own, &size, MEM_COMMIT, PAGE_READWRITE);
			if (s != STATUS_SUCCESS || !own || own % GRAN ||
			    size != len) {
				mixer_error(m, i, "own alloc", 0, len, (ULONG)s);
				break;
			}
			ptr(own)[len - 1] = 1;
			size = 0;
			base = own;
			s = nt_free(&base, &size, MEM_RELEASE);
			if (s != STATUS_SUCCESS || base != own || size != len)
				mixer_error(m, i, "own release", 0, len, (ULONG)s);
			break;
		case 5:
			/* Touch if the state says we may; faults are fine. */
			if (r & 0x100000)
				can_write(m->shared + off + (r & 0xff), 1);
			else
				can_read(m->shared + off, NULL);
			break;
		}
	}
	return NULL;
}

TEST(mixed_operations_from_many_threads)
{
	struct ntvm_sysinfo_args before = sysinfo_now(), after;
	char *shared = VirtualAlloc(NULL, SHARED_SIZE, MEM_RESERVE,
				    PAGE_READWRITE);
	unsigned long committed = 0, total[6] = { 0 };
	uintptr_t a, end;
	struct mixer m[4];
	pthread_t t[4];
	int i, j;

	ASSERT_NE(NULL, shared);
	for (i = 0; i < 4; i++) {
		memset(&m[i], 0, sizeof(m[i]));
		m[i].shared = (uintptr_t)shared;
		m[i].seed = 1234 + i;
		ASSERT_EQ(0, pthread_create(&t[i], NULL, mixer, &m[i]));
	}
	for (i = 0; i < 4; i++) {
		ASSERT_EQ(0, pthread_join(t[i], NULL));
		EXPECT_EQ(0, m[i].errors)
			TH_LOG("thread %d: %s", i, m[i].what);
		for (j = 0; j < 6; j++)
			total[j] += m[i].ops[j];
	}
	/* Every kind of operation ran. */
	for (j = 0; j < 6; j++)
		EXPECT_LT(100, total[j]) TH_LOG("operation %d", j);

	/*
	 * The final state is consistent: the regions tile the allocation,
	 * every committed page allows exactly what its protection says, and
	 * the charge is exactly the committed pages.
	 */
	for (a = (uintptr_t)shared; a < (uintptr_t)shared + SHARED_SIZE;
	     a = end) {
		MEMORY_BASIC_INFORMATION mbi = query(a);
		uintptr_t pg;

		ASSERT_EQ(a, (uintptr_t)mbi.BaseAddress);
		ASSERT_EQ(shared, mbi.AllocationBase);
		ASSERT_NE(0, mbi.RegionSize);
		end = a + mbi.RegionSize;
		ASSERT_GE((uintptr_t)shared + SHARED_SIZE, end);
		if (mbi.State == MEM_RESERVE) {
			EXPECT_EQ(0, mbi.Protect);
			EXPECT_EQ(0, can_read(a, NULL))
				TH_LOG("reserved page %#lx", a - (uintptr_t)shared);
			continue;
		}
		ASSERT_EQ(MEM_COMMIT, mbi.State);
		ASSERT_TRUE(valid_prot(mbi.Protect));
		committed += mbi.RegionSize / PAGE;
		for (pg = a; pg < end; pg += PAGE) {
			char v;
			int r = mbi.Protect != PAGE_NOACCESS;
			int w = mbi.Protect == PAGE_READWRITE ||
				mbi.Protect == PAGE_EXECUTE_READWRITE;

			EXPECT_EQ(r, can_read(pg, &v))
				TH_LOG("page +%#lx, protection %#x",
				       pg - (uintptr_t)shared, mbi.Protect);
			EXPECT_EQ(w, can_write(pg + 8, v))
				TH_LOG("page +%#lx, protection %#x",
				       pg - (uintptr_t)shared, mbi.Protect);
		}
	}
	after = sysinfo_now();
	EXPECT_EQ(before.committed + committed, after.committed);
	EXPECT_EQ(before.allocations + 1, after.allocations);
	EXPECT_TRUE(VirtualFree(shared, 0, MEM_RELEASE));
	EXPECT_EQ(before.allocations, sysinfo_now().allocations);
	EXPECT_EQ(before.committed, sysinfo_now().committed);
}

/*
 * A reserve+commit that fails (here: over the commit limit) undoes its
 * reservation; it must not unmap what another thread mapped in its range
 * meanwhile.  The other thread waits for the new view to appear, unmaps
 * it whole (allowed) and maps a page of its own there, while the commit
 * still counts the pages of its huge range.
 */
#define INTRUDER_ADDR	0x200000000000UL	/* 32 TiB */
#define INTRUDER_SIZE	0x100000000000UL	/* 16 TiB */
#define INTRUDER_CANARY	0x5a17c0deUL

struct intruder {
	atomic_int call_done;		/* the allocate call returned */
	atomic_int stop;
	int got_in;			/* mapped its page ... */
	int during;			/* ... before the call returned */
	int munmap_err, mmap_err;
};

static void *intruder(void *arg)
{
	struct intruder *t = arg;
	unsigned char vec;
	void *m;

	while (mincore(ptr(INTRUDER_ADDR), PAGE, &vec))
		if (atomic_load(&t->stop))
			return NULL;
	if (munmap(ptr(INTRUDER_ADDR), INTRUDER_SIZE))
		t->munmap_err = errno;
	m = mmap(ptr(INTRUDER_ADDR), PAGE, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	if (m != ptr(INTRUDER_ADDR)) {
		t->mmap_err = m == MAP_FAILED ? errno : -1;
		if (m != MAP_FAILED)
			munmap(m, PAGE);
		return NULL;
	}
	*(volatile unsigned long *)m = INTRUDER_CANARY;
	t->during = !atomic_load(&t->call_done);
	t->got_in = 1;
	return NULL;
}

TEST(failed_reserve_keeps_other_threads_mapping)
{
	struct ntvm_sysinfo_args before = sysinfo_now();
	int tries, during = 0, hit = -1;

	/* The range must be free for this to mean anything. */
	if (count_vmas(INTRUDER_ADDR, INTRUDER_ADDR + INTRUDER_SIZE))
		SKIP(return, "[%#lx, +%#lx) is in use", INTRUDER_ADDR,
		     INTRUDER_SIZE);
	/* Far beyond any limit: the commit must fail. */
	ASSERT_GT(INTRUDER_SIZE / PAGE, before.commit_limit);
	for (tries = 0; tries < 20 && !during; tries++) {
		struct intruder t = { 0 };
		uintptr_t base = INTRUDER_ADDR;
		SIZE_T size = INTRUDER_SIZE;
		unsigned char vec;
		pthread_t th;
		NTSTATUS s;

		ASSERT_EQ(0, pthread_create(&th, NULL, intruder, &t));
		s = nt_alloc(&base, &size, MEM_RESERVE | MEM_COMMIT,
			     PAGE_READWRITE);
		atomic_store(&t.call_done, 1);
		atomic_store(&t.stop, 1);
		ASSERT_EQ(0, pthread_join(th, NULL));
		/*
		 * Over the limit; or, when the other thread got in before
		 * the new allocation was checked once more in the map,
		 * conflicting addresses.
		 */
		if ((ULONG)s != STATUS_COMMITMENT_LIMIT)
			EXPECT_TRUE((ULONG)s == STATUS_CONFLICTING_ADDRESSES &&
				    t.got_in && t.during)
				TH_LOG("status %#x", (unsigned int)s);
		EXPECT_EQ(0, t.munmap_err);
		if (!t.got_in) {
			/* Never saw the view, or lost the race to the undo. */
			continue;
		}
		during = t.during;
		if (during)
			hit = tries;
		/* Whenever it got in, its page stays, canary and all. */
		EXPECT_EQ(0, mincore(ptr(INTRUDER_ADDR), PAGE, &vec))
			TH_LOG("try %d: the failed call unmapped the other "
			       "thread's page (mapped %s the call returned)",
			       tries, t.during ? "before" : "after");
		if (!mincore(ptr(INTRUDER_ADDR), PAGE, &vec))
			EXPECT_EQ(INTRUDER_CANARY,
				  *(volatile unsigned long *)INTRUDER_ADDR);
		EXPECT_EQ(MEM_COMMIT, query(INTRUDER_ADDR).State);
		EXPECT_EQ(MEM_PRIVATE, query(INTRUDER_ADDR).Type);
		munmap(ptr(INTRUDER_ADDR), PAGE);
		if (_metadata->passed == 0)
			break;
	}
	EXPECT_EQ(before.allocations, sysinfo_now().allocations);
	EXPECT_EQ(before.committed, sysinfo_now().committed);
	EXPECT_EQ(0, count_vmas(INTRUDER_ADDR, INTRUDER_ADDR + INTRUDER_SIZE));
	if (!during)
		SKIP(return, "the other thread never got in during the call "
		     "(%d tries)", tries);
	TH_LOG("got in during the call at try %d", hit);
}

TEST_HARNESS_MAIN
