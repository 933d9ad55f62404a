// SPDX-License-Identifier: GPL-2.0
/*
 * The query map answers a query of the process's own memory as
 * NTVM_IOC_QUERY does, field by field, always; or it says to ask
 * NTVM_IOC_QUERY.  Checked on random layouts (reservations, commits,
 * decommits, protections with guard pages, guard pages tripped, releases
 * whole and in part, placeholders split, joined and replaced, views
 * unmapped by the process, its own mappings among them, a lower address
 * limit), at every region's edges and at random addresses, free memory
 * and the process's own included; that the map did answer where it
 * should (inside an intact allocation alone in its 64 KiB granule, with
 * nothing pending); and under concurrency: threads switching their
 * allocations between two layouts, one request a switch, while others
 * query, every answer being one of the two layouts' answers for that
 * address, never a mix.
 *
 * The seed of the random layouts is printed; NTVM_QUERY_SEED=N runs that
 * one again.
 */
#include <pthread.h>
#include <sys/wait.h>
#include <time.h>

#include "ntvm_test.h"
#include "inject.h"
#include "internal.h"

#include "kselftest_harness.h"

#define PH_TYPE		(MEM_RESERVE | MEM_RESERVE_PLACEHOLDER)

/* NTVM_IOC_QUERY of @a, as the library makes it. */
static NTSTATUS kq(uintptr_t a, struct ntvm_query_args *q)
{
	return ntvm_query_own(a, q, NTVM_QUERY_IOCTL);
}

static int managed(const struct ntvm_query_args *q)
{
	return q->region_flags & NTVM_REGION_MANAGED;
}

/* xorshift64*: the random layouts, from a printed seed. */
static __u64 rng;

static __u32 rnd(void)
{
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return (rng * 0x2545F4914F6CDD1DULL) >> 32;
}

static __u32 below(__u32 n)
{
	return n ? rnd() % n : 0;
}

/* What a run of comparisons saw. */
struct tally {
	unsigned int seed;
	int step;
	const char *op;
	unsigned long compared;	/* addresses compared */
	unsigned long fast;	/* answered from the map */
	unsigned long expected;	/* of which the map had to answer */
	unsigned long missed;	/* ... and did not */
	unsigned long asked;	/* ... only once the ioctl was asked */
	unsigned long failed;	/* answers that differed */
};

#define FIELD(f)							\
	EXPECT_EQ(k->f, m->f) {						\
		TH_LOG("seed %u step %d (%s) %s 0x%llx: " #f		\
		       " ioctl 0x%llx map 0x%llx", t->seed, t->step,	\
		       t->op, what, (unsigned long long)a,		\
		       (unsigned long long)k->f,			\
		       (unsigned long long)m->f);			\
	}

/* Field by field; 1 when the same. */
static int same(struct __test_metadata *_metadata, struct tally *t,
		const char *what, uintptr_t a,
		const struct ntvm_query_args *m,
		const struct ntvm_query_args *k)
{
	if (!memcmp(m, k, sizeof(*m)))
		return 1;
	FIELD(address);
	FIELD(base_address);
	FIELD(allocation_base);
	FIELD(region_size);
	FIELD(allocation_protect);
	FIELD(state);
	FIELD(protect);
	FIELD(type);
	FIELD(region_flags);
	FIELD(status);
	FIELD(flags);
	FIELD(pad);
	t->failed++;
	return 0;
}

/* What the map holds for @a, logged (when it did not answer). */
static void dump(struct __test_metadata *_metadata, uintptr_t a)
{
	const struct ntvm_query_map_header *h = ntvm_query_map();
	const struct ntvm_query_map_record *r;
	const struct ntvm_query_map_run *run;
	__u64 g = a >> 16;
	__u32 e, i;
	int shift, level = 0;

	if (!h)
		return;
	e = h->root[(g >> 24) & 0xff];
	for (shift = 16; shift >= 0 &&
	     (e & NTVM_QUERY_MAP_TAG) == NTVM_QUERY_MAP_NODE; shift -= 8) {
		if ((e & ~NTVM_QUERY_MAP_TAG) + 1024 > h->used)
			break;
		e = ((const __u32 *)((const char *)h +
				     (e & ~NTVM_QUERY_MAP_TAG)))
			[(g >> shift) & 0xff];
		level++;
	}
	TH_LOG("  map: seq %llu pending %u used 0x%llx max 0x%llx; entry 0x%x at level %d",
	       (unsigned long long)h->seq, h->pending,
	       (unsigned long long)h->used,
	       (unsigned long long)h->max_address, e, level);
	if ((e & NTVM_QUERY_MAP_TAG) != NTVM_QUERY_MAP_RECORD ||
	    (e & ~NTVM_QUERY_MAP_TAG) + 64 > h->used)
		return;
	r = (const void *)((const char *)h + (e & ~NTVM_QUERY_MAP_TAG));
	TH_LOG("  record: 0x%llx-0x%llx flags 0x%x aprot 0x%x type 0x%x rflags 0x%x runs 0x%llx x %u",
	       (unsigned long long)r->base, (unsigned long long)r->end,
	       r->flags, r->allocation_protect, r->type, r->region_flags,
	       (unsigned long long)r->runs, r->nr_runs);
	if (r->nr_runs == 1) {
		TH_LOG("  one run: state 0x%x protect 0x%x", r->state,
		       r->protect);
		return;
	}
	if (r->runs + (__u64)r->nr_runs * 16 > h->used || r->nr_runs > 64)
		return;
	run = (const void *)((const char *)h + r->runs);
	for (i = 0; i < r->nr_runs; i++)
		TH_LOG("  run %u: 0x%llx state 0x%x protect 0x%x", i,
		       (unsigned long long)run[i].start, run[i].state,
		       run[i].protect);
}

/*
 * Whether the map must answer for @a, which the ioctl said @k of: inside
 * an intact allocation (the ioctl says managed memory) that is the only
 * allocation in its 64 KiB granule (else the entry is SLOW).
 */
/*
 * Ranges whose views the process unmapped (munmap of an allocation): the
 * module keeps such an allocation, broken, until a change there forgets
 * it, and a granule it shares is SLOW meanwhile.
 */
#define MAX_BROKEN	64
static struct { uintptr_t base, end; } broken[MAX_BROKEN];
static int nbroken;

static void broken_add(uintptr_t base, uintptr_t end)
{
	if (nbroken < MAX_BROKEN) {
		broken[nbroken].base = base;
		broken[nbroken++].end = end;
	}
}

static int must_answer(uintptr_t a, const struct ntvm_query_args *k)
{
	uintptr_t g = a & ~(GRAN - 1), at = g;
	struct ntvm_query_args q;
	int i;

	if (k->status || !managed(k))
		return 0;
	for (i = 0; i < nbroken; i++)
		if (broken[i].base < g + GRAN && g < broken[i].end)
			return 0;
	while (at < g + GRAN) {
		if (kq(at, &q) || !q.region_size)
			return 0;
		if (managed(&q) && q.allocation_base != k->allocation_base)
			return 0;
		at = q.base_address + q.region_size;
	}
	return 1;
}

/*
 * The allocations the ioctl answered for in this round of checks, and in
 * the round before.  The module keeps the record of an allocation up to
 * date while the process asks the ioctl about it (for NTVM_QMAP_EAGER
 * changes, more than a step makes): one asked about in the last round
 * must be answered by the map at once.  Any other may say "ask the
 * ioctl" until the ioctl has answered once.
 */
#define MAX_ASKED	1024
static uintptr_t asked[2][MAX_ASKED];
static int nasked[2];

static void asked_add(uintptr_t base)
{
	int i;

	for (i = 0; i < nasked[1]; i++)
		if (asked[1][i] == base)
			return;
	if (nasked[1] < MAX_ASKED)
		asked[1][nasked[1]++] = base;
}

static int asked_before(uintptr_t base)
{
	int i;

	for (i = 0; i < nasked[0]; i++)
		if (asked[0][i] == base)
			return 1;
	return 0;
}

/* A new round of checks: this one's allocations are the last round's. */
static void asked_round(void)
{
	memcpy(asked[0], asked[1], nasked[1] * sizeof(asked[1][0]));
	nasked[0] = nasked[1];
	nasked[1] = 0;
}

/*
 * The base of each allocation asked about in the last round, by the map
 * alone first (no ioctl asks about any in between), then by the ioctl:
 * where that is still the base of an allocation the map must answer for,
 * the map did, and the same.
 */
static void check_asked(struct __test_metadata *_metadata, struct tally *t)
{
	static struct ntvm_query_args m[MAX_ASKED];
	static int fast[MAX_ASKED];
	struct ntvm_query_args k;
	uintptr_t a;
	int i;

	/*
	 * A request, about no allocation: after a guard page tripped or
	 * views were unmapped, the map is pending until one.
	 */
	kq(0x10000, &k);
	for (i = 0; i < nasked[0]; i++) {
		memset(&m[i], 0x5a, sizeof(m[i]));
		fast[i] = ntvm_query_map_lookup(asked[0][i], &m[i]);
	}
	for (i = 0; i < nasked[0]; i++) {
		a = asked[0][i];
		memset(&k, 0, sizeof(k));
		if (kq(a, &k) || k.allocation_base != a)
			continue;
		t->compared++;
		if (fast[i]) {
			t->fast++;
			same(_metadata, t, "asked before", a, &m[i], &k);
		} else if (must_answer(a, &k)) {
			t->expected++;
			if (++t->missed <= 5 && !inject_active()) {
				TH_LOG("seed %u step %d (%s): 0x%llx, asked about, not answered from the map",
				       t->seed, t->step, t->op,
				       (unsigned long long)a);
				dump(_metadata, a);
			}
		}
	}
}

/*
 * The map's answer for @a, then the ioctl's, compared; and the library's
 * own (VirtualQuery, then NtQueryVirtualMemory's fields) against the
 * ioctl's, counted as taken from the map or not.  Nothing may be pending
 * when @strict: the map must then answer wherever must_answer() says.
 */
static void check(struct __test_metadata *_metadata, struct tally *t,
		  uintptr_t a, int strict)
{
	struct ntvm_query_args m, k;
	MEMORY_BASIC_INFORMATION mbi;
	unsigned long hits, bad = ntvm_query_map_bad;
	int fast, must;
	SIZE_T n;

	memset(&m, 0x5a, sizeof(m));
	fast = ntvm_query_map_lookup(a, &m);
	if (ntvm_query_map_bad != bad && t->failed++ < 5) {
		TH_LOG("seed %u step %d (%s): 0x%llx: the map's read made no sense",
		       t->seed, t->step, t->op, (unsigned long long)a);
		dump(_metadata, a);
	}
	memset(&k, 0, sizeof(k));
	kq(a, &k);
	t->compared++;
	if (fast) {
		t->fast++;
		same(_metadata, t, "map", a, &m, &k);
	}
	if (!strict)
		return;
	must = must_answer(a, &k);
	if (must) {
		t->expected++;
		/* Not asked about lately: the ioctl's answer (kq) was asked. */
		if (!fast && !asked_before(k.allocation_base)) {
			memset(&m, 0x5a, sizeof(m));
			fast = ntvm_query_map_lookup(a, &m);
			if (fast) {
				t->asked++;
				same(_metadata, t, "map once asked", a, &m, &k);
			}
		}
		asked_add(k.allocation_base);
		if (!fast) {
			t->missed++;
			if (t->missed <= 5 && !inject_active())
				TH_LOG("seed %u step %d (%s): 0x%llx in 0x%llx+0x%llx not answered from the map",
				       t->seed, t->step, t->op,
				       (unsigned long long)a,
				       (unsigned long long)k.allocation_base,
				       (unsigned long long)k.region_size);
			if (t->missed <= 5)
				dump(_metadata, a);
		}
	}
	/* The library's own path: the same answer, from the map or not. */
	hits = ntvm_query_map_hits;
	memset(&mbi, 0x5a, sizeof(mbi));
	n = VirtualQuery((void *)a, &mbi, sizeof(mbi));
	if (k.status) {
		EXPECT_EQ(0, n);
		EXPECT_EQ(hits, ntvm_query_map_hits);
		return;
	}
	EXPECT_EQ(sizeof(mbi), n);
	EXPECT_EQ(k.base_address, (uintptr_t)mbi.BaseAddress);
	EXPECT_EQ(k.allocation_base, (uintptr_t)mbi.AllocationBase);
	EXPECT_EQ(k.region_size, mbi.RegionSize);
	EXPECT_EQ(k.allocation_protect, mbi.AllocationProtect);
	EXPECT_EQ(k.state, mbi.State);
	EXPECT_EQ(k.protect, mbi.Protect);
	EXPECT_EQ(k.type, mbi.Type);
	if (must && !inject_active()) {
		EXPECT_EQ(hits + 1, ntvm_query_map_hits) {
			TH_LOG("VirtualQuery(0x%llx) did not use the map",
			       (unsigned long long)a);
		}
	}
}

/*
 * Whether the module keeps the map up to date: an NT request after the
 * mapping builds it.  A kernel without MMU notifiers keeps it pending for
 * good (every query asks the ioctl): then only the answers' equality is
 * checked, not that the map gave them.
 */
static int map_kept(void)
{
	const struct ntvm_query_map_header *h = ntvm_query_map();
	struct ntvm_query_args k;
	int i;

	if (!h || ntvm_query_map_length() <= PAGE)
		return 0;
	for (i = 0; i < 20; i++) {
		kq(0x10000, &k);
		if (!__atomic_load_n(&h->pending, __ATOMIC_ACQUIRE))
			return 1;
	}
	return 0;
}

#define NEED_MAP() do {							\
	if (!map_kept())						\
		SKIP(return, "the module keeps no query map here");	\
} while (0)

/*
 * The map's answer for @a, after a request (which brings it up to date).
 * Under fault injection the module may have had no memory for the
 * records (pending stays set): a few more requests.
 */
static int lookup_fresh(uintptr_t a, struct ntvm_query_args *m)
{
	struct ntvm_query_args k;
	int i, tries = inject_active() ? 20 : 1;

	/* Mapped first: the map is built by the first request after. */
	ntvm_query_map();
	for (i = 0; i < tries; i++) {
		kq(a, &k);
		if (ntvm_query_map_lookup(a, m))
			return 1;
	}
	return 0;
}

/* Addresses outside the arena: free, the process's own, out of range. */
static void check_outside(struct __test_metadata *_metadata, struct tally *t,
			  int strict)
{
	static const uintptr_t fixed[] = {
		0, 0x1000, 0xffff, 0x10000, 0x7FFFFFFEFFFFULL,
		0x7FFFFFFF0000ULL, 0x800000000000ULL, ~(uintptr_t)0,
	};
	int local;
	unsigned int i;

	for (i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
		check(_metadata, t, fixed[i], strict);
	check(_metadata, t, (uintptr_t)&local, strict);
	check(_metadata, t, (uintptr_t)&check, strict);
	check(_metadata, t, (uintptr_t)t, strict);
	check(_metadata, t, (uintptr_t)ntvm_query_map(), strict);
	check(_metadata, t, (uintptr_t)malloc, strict);
}

/*
 * Every region's edges in [@lo, @hi) (its first and last byte and page,
 * the pages around), and random addresses there.
 */
static void check_range(struct __test_metadata *_metadata, struct tally *t,
			uintptr_t lo, uintptr_t hi, int strict)
{
	struct ntvm_query_args q;
	uintptr_t at = lo, s, e;
	int i;

	/* One request first: whatever was pending is cleared. */
	kq(lo, &q);
	while (at < hi) {
		if (kq(at, &q) || !q.region_size)
			break;
		s = q.base_address;
		e = s + q.region_size;
		check(_metadata, t, s, strict);
		check(_metadata, t, s + 0x123, strict);
		check(_metadata, t, s - 1, strict);
		check(_metadata, t, e - 1, strict);
		check(_metadata, t, e - PAGE, strict);
		check(_metadata, t, e, strict);
		if (e - s > 2 * PAGE)
			check(_metadata, t, s + (((e - s) / 2) & ~(PAGE - 1)) +
			      below(PAGE), strict);
		at = e;
	}
	for (i = 0; i < 24; i++)
		check(_metadata, t, lo + below(hi - lo), strict);
}

/* The random layouts: an arena of granules, and what is in it. */
#define ARENA_GRANS	40
#define MAX_PH		32
#define MAX_FOREIGN	8

struct arena {
	uintptr_t lo, hi;
	/* What we made placeholders (stale ones are dropped when used). */
	struct { uintptr_t base; SIZE_T size; } ph[MAX_PH];
	int nph;
	/* Mappings of the process's own in the arena. */
	struct { uintptr_t base; SIZE_T size; } fm[MAX_FOREIGN];
	int nfm;
};

static const DWORD protections[] = {
	PAGE_NOACCESS, PAGE_READONLY, PAGE_READWRITE, PAGE_EXECUTE,
	PAGE_EXECUTE_READ, PAGE_EXECUTE_READWRITE,
};

static DWORD any_protect(int guard)
{
	DWORD p = protections[below(6)];

	if (guard && p != PAGE_NOACCESS && !below(3))
		p |= PAGE_GUARD;
	return p;
}

/* A random page-aligned range inside the arena, of 1 to @max pages. */
static void any_range(struct arena *ar, uintptr_t *b, SIZE_T *size,
		      unsigned int max)
{
	*b = ar->lo + below((ar->hi - ar->lo) / PAGE) * PAGE;
	*size = (1 + below(max)) * PAGE;
	if (*b + *size > ar->hi)
		*size = ar->hi - *b;
}

/* A random address of the arena inside an allocation, or 0. */
static uintptr_t any_allocation(struct arena *ar, struct ntvm_query_args *q)
{
	int i;

	for (i = 0; i < 16; i++) {
		uintptr_t a = ar->lo + below(ar->hi - ar->lo);

		if (!kq(a, q) && managed(q) && q->state != MEM_FREE)
			return a;
	}
	return 0;
}

/* The end of the allocation that starts at @base. */
static uintptr_t allocation_end(uintptr_t base)
{
	struct ntvm_query_args q;
	uintptr_t at = base;

	while (!kq(at, &q) && managed(&q) && q.allocation_base == base &&
	       q.region_size)
		at = q.base_address + q.region_size;
	return at;
}

static void ph_add(struct arena *ar, uintptr_t base, SIZE_T size)
{
	if (ar->nph < MAX_PH) {
		ar->ph[ar->nph].base = base;
		ar->ph[ar->nph++].size = size;
	}
}

static void ph_drop(struct arena *ar, int i)
{
	ar->ph[i] = ar->ph[--ar->nph];
}

/* A guard page of the arena, tripped by a read; 0 when there is none. */
static uintptr_t trip_guard(struct arena *ar)
{
	struct ntvm_query_args q;
	uintptr_t at = ar->lo;

	while (at < ar->hi && !kq(at, &q) && q.region_size) {
		if (managed(&q) && q.state == MEM_COMMIT &&
		    (q.protect & PAGE_GUARD)) {
			uintptr_t p = q.base_address +
				      below(q.region_size / PAGE) * PAGE;

			can_read(p, NULL);
			return p;
		}
		at = q.base_address + q.region_size;
	}
	return 0;
}

/* One random change of the arena; its name. */
static const char *step(struct arena *ar, uintptr_t *tripped)
{
	struct ntvm_query_args q;
	uintptr_t b, a, e;
	SIZE_T size;
	DWORD old;
	void *p;
	int i;

	*tripped = 0;
	switch (below(16)) {
	case 0:
	case 1:
		b = ar->lo + below(ARENA_GRANS) * GRAN;
		size = (1 + below(6 * 16)) * PAGE;
		if (b + size > ar->hi)
			size = ar->hi - b;
		VirtualAlloc((void *)b, size, below(2) ? MEM_RESERVE :
			     MEM_RESERVE | MEM_COMMIT, any_protect(0));
		return "reserve";
	case 2:
	case 3:
		any_range(ar, &b, &size, 24);
		VirtualAlloc((void *)b, size, MEM_COMMIT, any_protect(1));
		return "commit";
	case 4:
		any_range(ar, &b, &size, 12);
		VirtualFree((void *)b, size, MEM_DECOMMIT);
		return "decommit";
	case 5:
	case 6:
		any_range(ar, &b, &size, 12);
		VirtualProtect((void *)b, size, any_protect(1), &old);
		return "protect";
	case 7:
		if (any_allocation(ar, &q))
			VirtualFree((void *)(uintptr_t)q.allocation_base, 0,
				    MEM_RELEASE);
		return "release";
	case 8:
		/* Part of an allocation: what is left may start unaligned. */
		if (any_allocation(ar, &q)) {
			b = q.allocation_base;
			e = allocation_end(b);
			a = b + below((e - b) / PAGE) * PAGE;
			size = (1 + below((e - a) / PAGE)) * PAGE;
			nt_free(&a, &size, MEM_RELEASE);
		}
		return "release part";
	case 9:
		b = ar->lo + below(ARENA_GRANS) * GRAN;
		size = (1 + below(3)) * GRAN - below(2) * 3 * PAGE;
		if (b + size > ar->hi)
			size = ar->hi - b;
		if (VirtualAlloc2(NULL, (void *)b, size, PH_TYPE,
				  PAGE_NOACCESS, NULL, 0))
			ph_add(ar, b, (size + PAGE - 1) & ~(PAGE - 1));
		return "placeholder";
	case 10:
		/* Split a placeholder in two or three. */
		if (!ar->nph)
			return "split (none)";
		i = below(ar->nph);
		b = ar->ph[i].base;
		size = ar->ph[i].size;
		a = b + below(size / PAGE) * PAGE;
		e = a + (1 + below((b + size - a) / PAGE)) * PAGE;
		if (e - a == size)
			return "split (whole)";
		if (!VirtualFree((void *)a, e - a,
				 MEM_RELEASE | MEM_PRESERVE_PLACEHOLDER)) {
			ph_drop(ar, i);
			return "split (refused)";
		}
		ph_drop(ar, i);
		if (a > b)
			ph_add(ar, b, a - b);
		ph_add(ar, a, e - a);
		if (b + size > e)
			ph_add(ar, e, b + size - e);
		return "split";
	case 11:
		/* Join two adjacent placeholders. */
		for (i = 0; i < ar->nph; i++) {
			int j;

			for (j = 0; j < ar->nph; j++) {
				if (ar->ph[i].base + ar->ph[i].size !=
				    ar->ph[j].base)
					continue;
				b = ar->ph[i].base;
				size = ar->ph[i].size + ar->ph[j].size;
				if (!VirtualFree((void *)b, size,
						 MEM_RELEASE |
						 MEM_COALESCE_PLACEHOLDERS))
					return "coalesce (refused)";
				ar->ph[i].size = size;
				ph_drop(ar, j);
				return "coalesce";
			}
		}
		return "coalesce (none)";
	case 12:
		/* Replace one with a reservation, committed or not. */
		if (!ar->nph)
			return "replace (none)";
		i = below(ar->nph);
		b = ar->ph[i].base;
		size = ar->ph[i].size;
		ph_drop(ar, i);
		VirtualAlloc2(NULL, (void *)b, size,
			      MEM_RESERVE | MEM_REPLACE_PLACEHOLDER |
			      (below(2) ? MEM_COMMIT : 0), any_protect(0),
			      NULL, 0);
		return "replace";
	case 13:
		*tripped = trip_guard(ar);
		return "guard tripped";
	case 14:
		/* The process unmaps a whole allocation's views itself. */
		if (any_allocation(ar, &q)) {
			b = q.allocation_base;
			e = allocation_end(b);
			munmap((void *)b, e - b);
			broken_add(b, e);
			*tripped = b;
		}
		return "munmap";
	default:
		/* A mapping of the process's own in free space, or one gone. */
		if (ar->nfm && below(2)) {
			i = below(ar->nfm);
			munmap((void *)ar->fm[i].base, ar->fm[i].size);
			ar->fm[i] = ar->fm[--ar->nfm];
			return "own munmap";
		}
		if (ar->nfm == MAX_FOREIGN)
			return "own mmap (full)";
		any_range(ar, &b, &size, 8);
		p = mmap((void *)b, size, below(2) ? PROT_READ : PROT_NONE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE,
			 -1, 0);
		if (p == MAP_FAILED)
			return "own mmap (taken)";
		if (p != (void *)b) {
			munmap(p, size);
			return "own mmap (elsewhere)";
		}
		ar->fm[ar->nfm].base = b;
		ar->fm[ar->nfm++].size = size;
		return "own mmap";
	}
}

/*
 * NTVM_QUERY_TRACE=1: each step's regions of the arena (offsets from its
 * start), the ioctl's and the map's, logged.
 */
static void trace(struct __test_metadata *_metadata, struct arena *ar,
		  const struct tally *t)
{
	struct ntvm_query_args q, m;
	uintptr_t at = ar->lo;
	int fast;

	TH_LOG("step %d: %s", t->step, t->op);
	while (at < ar->hi && !kq(at, &q) && q.region_size) {
		fast = ntvm_query_map_lookup(at, &m);
		TH_LOG("  +0x%06llx 0x%06llx %5x %3x alloc %c0x%06llx%s",
		       (unsigned long long)(at - ar->lo),
		       (unsigned long long)q.region_size, q.state, q.protect,
		       managed(&q) ? '+' : ' ',
		       managed(&q) ? (unsigned long long)
		       (q.allocation_base - ar->lo) : 0ULL,
		       fast ? (memcmp(&m, &q, sizeof(m)) ? " map DIFFERS" :
			       " map") : "");
		at = q.base_address + q.region_size;
	}
}

/* Everything in the arena released, unmapped: free again. */
static void arena_clear(struct arena *ar)
{
	struct ntvm_query_args q;
	uintptr_t at = ar->lo;
	int i;

	for (i = 0; i < ar->nfm; i++)
		munmap((void *)ar->fm[i].base, ar->fm[i].size);
	ar->nfm = 0;
	ar->nph = 0;
	/*
	 * An allocation whose views the process unmapped stays, broken,
	 * until a call there forgets it (the release fails: free memory).
	 */
	for (i = 0; i < nbroken; i++)
		VirtualFree((void *)broken[i].base, 0, MEM_RELEASE);
	nbroken = 0;
	while (at < ar->hi && !kq(at, &q) && q.region_size) {
		if (managed(&q) && q.state != MEM_FREE)
			VirtualFree((void *)(uintptr_t)q.allocation_base, 0,
				    MEM_RELEASE);
		at = q.base_address + q.region_size;
	}
}

static unsigned int first_seed(void)
{
	const char *env = getenv("NTVM_QUERY_SEED");

	if (env)
		return strtoul(env, NULL, 0);
	return (unsigned int)time(NULL) ^ ((unsigned int)getpid() << 16);
}

#define SEEDS	4
#define STEPS	150
/*
 * Seconds, after which fewer steps are taken (the harness allows 120):
 * BUDGET on a slow kernel; INJECT_BUDGET under fault injection, where
 * each call is checked and retried (make check runs it so on the debug
 * kernel, and the whole walk on the others).
 */
#define BUDGET		60
#define INJECT_BUDGET	30

/* Random layouts, compared after each step. */
TEST(random_layouts)
{
	struct tally t = { 0 };
	struct arena ar = { 0 };
	unsigned int seed0 = first_seed(), s;
	unsigned long bad = ntvm_query_map_bad;
	time_t start, budget = inject_active() ? INJECT_BUDGET : BUDGET;
	int kept;

	ASSERT_NE(NULL, ntvm_query_map());
	ASSERT_LT(PAGE, ntvm_query_map_length());
	kept = map_kept();
	if (!kept)
		TH_LOG("the module keeps no query map here: every query asks the ioctl");
	ar.lo = free_range(ARENA_GRANS * GRAN);
	ASSERT_NE(0, ar.lo);
	ar.hi = ar.lo + ARENA_GRANS * GRAN;
	start = time(NULL);
	for (s = 0; s < SEEDS && time(NULL) - start < budget; s++) {
		t.seed = seed0 + s;
		rng = 0x9E3779B97F4A7C15ULL * (t.seed + 1);
		/* The arena was cleared: a base may now be a new allocation. */
		nasked[0] = nasked[1] = 0;
		TH_LOG("seed %u (NTVM_QUERY_SEED=%u runs it again)", t.seed,
		       t.seed);
		for (t.step = 0; t.step < STEPS; t.step++) {
			struct ntvm_query_args m, k;
			uintptr_t tripped;

			t.op = step(&ar, &tripped);
			if (getenv("NTVM_QUERY_TRACE"))
				trace(_metadata, &ar, &t);
			/*
			 * A guard page tripped, or views unmapped: the map
			 * is behind until the next request; it must not
			 * answer (or answer what the ioctl does).
			 */
			if (tripped && ntvm_query_map_lookup(tripped, &m)) {
				kq(tripped, &k);
				same(_metadata, &t, "pending", tripped, &m, &k);
			}
			asked_round();
			if (kept)
				check_asked(_metadata, &t);
			check_range(_metadata, &t, ar.lo - GRAN,
				    ar.hi + GRAN, kept);
			check_outside(_metadata, &t, kept);
			if (t.failed || time(NULL) - start >= budget)
				break;
		}
		TH_LOG("seed %u: %d steps", t.seed, t.step);
		arena_clear(&ar);
		if (t.failed)
			break;
	}
	TH_LOG("compared %lu addresses, %lu from the map; %lu had to be, %lu were not, %lu once asked",
	       t.compared, t.fast, t.expected, t.missed, t.asked);
	EXPECT_EQ(0, t.failed);
	EXPECT_EQ(bad, ntvm_query_map_bad);
	if (!kept)
		return;
	EXPECT_LT(0, t.expected);
	if (inject_active()) {
		/* The module may have had no memory for the records. */
		EXPECT_LT(0, t.fast);
	} else {
		EXPECT_EQ(0, t.missed);
	}
}

/* Fixed cases: what the map answers, and where it says ask. */
TEST(answers_in_an_allocation)
{
	struct tally t = { .op = "fixed" };
	struct ntvm_query_args m, k;
	DWORD old;
	char *p;

	NEED_MAP();

	p = VirtualAlloc(NULL, 8 * GRAN, MEM_RESERVE, PAGE_READWRITE);
	ASSERT_NE(NULL, p);
	ASSERT_EQ(p + 2 * PAGE, VirtualAlloc(p + 2 * PAGE, 5 * PAGE,
					     MEM_COMMIT, PAGE_READWRITE));
	ASSERT_TRUE(VirtualProtect(p + 3 * PAGE, PAGE,
				   PAGE_READONLY | PAGE_GUARD, &old));
	ASSERT_EQ(1, lookup_fresh((uintptr_t)p + 0x3456, &m));
	ASSERT_EQ(0, kq((uintptr_t)p + 0x3456, &k));
	EXPECT_TRUE(same(_metadata, &t, "fixed", (uintptr_t)p + 0x3456, &m,
			 &k));
	/* Exactly: the guard page, one page, in the allocation. */
	EXPECT_EQ((uintptr_t)p + 0x3456, m.address);
	EXPECT_EQ((uintptr_t)p + 3 * PAGE, m.base_address);
	EXPECT_EQ((uintptr_t)p, m.allocation_base);
	EXPECT_EQ(PAGE, m.region_size);
	EXPECT_EQ(PAGE_READWRITE, m.allocation_protect);
	EXPECT_EQ(MEM_COMMIT, m.state);
	EXPECT_EQ(PAGE_READONLY | PAGE_GUARD, m.protect);
	EXPECT_EQ(MEM_PRIVATE, m.type);
	EXPECT_EQ(NTVM_REGION_MANAGED, m.region_flags);
	EXPECT_EQ(0, m.status);
	/* The reserved rest, to the end: one region of the last run. */
	ASSERT_EQ(1, lookup_fresh((uintptr_t)p + 8 * GRAN - 1, &m));
	EXPECT_EQ((uintptr_t)p + 8 * GRAN - PAGE, m.base_address);
	EXPECT_EQ(MEM_RESERVE, m.state);
	EXPECT_EQ(0, m.protect);
	EXPECT_EQ(PAGE, m.region_size);
	ASSERT_EQ(1, lookup_fresh((uintptr_t)p + 7 * PAGE, &m));
	EXPECT_EQ(8 * GRAN - 7 * PAGE, m.region_size);
	/* Just after it: free, or someone else's: the module says. */
	EXPECT_EQ(0, ntvm_query_map_lookup((uintptr_t)p + 8 * GRAN, &m));
	EXPECT_EQ(0, ntvm_query_map_lookup((uintptr_t)p - 1, &m));
	/* Tripped: ask, until a request has brought the map up to date. */
	EXPECT_FALSE(can_read((uintptr_t)p + 3 * PAGE, NULL));
	EXPECT_EQ(0, ntvm_query_map_lookup((uintptr_t)p, &m));
	EXPECT_EQ(0, kq((uintptr_t)p + 3 * PAGE, &k));
	EXPECT_EQ(PAGE_READONLY, k.protect);
	ASSERT_EQ(1, lookup_fresh((uintptr_t)p + 3 * PAGE, &m));
	EXPECT_TRUE(same(_metadata, &t, "tripped", (uintptr_t)p + 3 * PAGE,
			 &m, &k));
	/* Released: ask (the module describes free memory). */
	ASSERT_TRUE(VirtualFree(p, 0, MEM_RELEASE));
	EXPECT_EQ(0, ntvm_query_map_lookup((uintptr_t)p, &m));
	EXPECT_EQ(0, t.failed);
}

/*
 * The map follows an allocation's changes while the process asks the
 * ioctl about it: for NTVM_QMAP_EAGER (16) changes after the ioctl last
 * answered there.  A change after those leaves "ask the ioctl", and the
 * ioctl's next answer makes the map answer again.
 */
TEST(follows_what_the_process_asks_about)
{
	struct tally t = { .op = "asked" };
	struct ntvm_query_args m, k;
	DWORD old, prot;
	char *p;
	int i;

	NEED_MAP();
	if (inject_active())
		SKIP(return, "with failures injected, a record may be missing");

	p = VirtualAlloc(NULL, GRAN, MEM_RESERVE | MEM_COMMIT,
			 PAGE_READWRITE);
	ASSERT_NE(NULL, p);
	ASSERT_EQ(1, lookup_fresh((uintptr_t)p + PAGE, &m));
	for (i = 1; i <= 17; i++) {
		prot = i % 2 ? PAGE_READONLY : PAGE_READWRITE;
		ASSERT_TRUE(VirtualProtect(p + PAGE, PAGE, prot, &old));
		memset(&m, 0x5a, sizeof(m));
		if (i <= 16) {
			ASSERT_EQ(1, ntvm_query_map_lookup((uintptr_t)p + PAGE,
							   &m)) {
				TH_LOG("change %d: not answered", i);
			}
			EXPECT_EQ(prot, m.protect);
			/* Read-write runs on to the end, as the rest is. */
			EXPECT_EQ(prot == PAGE_READONLY ? PAGE : GRAN - PAGE,
				  m.region_size);
		} else {
			/* Not asked about for 17 changes: ask. */
			EXPECT_EQ(0, ntvm_query_map_lookup((uintptr_t)p + PAGE,
							   &m));
		}
	}
	ASSERT_EQ(0, kq((uintptr_t)p + PAGE, &k));
	EXPECT_EQ(PAGE_READONLY, k.protect);
	ASSERT_EQ(1, ntvm_query_map_lookup((uintptr_t)p + PAGE, &m));
	EXPECT_TRUE(same(_metadata, &t, "asked again", (uintptr_t)p + PAGE,
			 &m, &k));
	ASSERT_EQ(1, ntvm_query_map_lookup((uintptr_t)p, &m));
	EXPECT_EQ((uintptr_t)p, m.base_address);
	EXPECT_EQ(PAGE, m.region_size);
	EXPECT_EQ(PAGE_READWRITE, m.protect);
	EXPECT_EQ(0, t.failed);
	ASSERT_TRUE(VirtualFree(p, 0, MEM_RELEASE));
}

/*
 * A release that ends in the granule where another allocation starts
 * (here: the head of a split, then the tail beside it in the granule)
 * brings that allocation's record up to date too, though the range
 * released does not reach it: its runs still start at its base.
 */
TEST(release_before_a_neighbour_in_its_granule)
{
	struct tally t = { .op = "release head" };
	struct ntvm_query_args m, k;
	unsigned long bad = ntvm_query_map_bad;
	uintptr_t b, a;
	SIZE_T size;
	DWORD old;

	NEED_MAP();

	b = (uintptr_t)VirtualAlloc(NULL, 2 * GRAN, MEM_RESERVE | MEM_COMMIT,
				    PAGE_READONLY);
	ASSERT_NE(0, b);
	/* Split: [b, b + 0x18000) and the tail [b + 0x19000, b + 2 GRAN). */
	a = b + 0x18000;
	size = PAGE;
	ASSERT_EQ(STATUS_SUCCESS, nt_free(&a, &size, MEM_RELEASE));
	ASSERT_EQ(0, kq(b + 0x19000, &k));
	ASSERT_EQ(b + 0x19000, k.allocation_base);
	/* The tail of three runs (a record of one holds it in itself). */
	ASSERT_TRUE(VirtualProtect((void *)(b + 0x1a000), PAGE,
				   PAGE_READWRITE, &old));
	/* The tail's granule is shared: ask. */
	EXPECT_EQ(0, ntvm_query_map_lookup(b + 0x19000, &m));
	ASSERT_TRUE(VirtualFree((void *)b, 0, MEM_RELEASE));
	/* Alone in its granule now: answered, and right. */
	ASSERT_EQ(1, lookup_fresh(b + 0x19000, &m)) {
		dump(_metadata, b + 0x19000);
	}
	ASSERT_EQ(0, kq(b + 0x19000, &k));
	EXPECT_TRUE(same(_metadata, &t, "tail", b + 0x19000, &m, &k));
	EXPECT_EQ(bad, ntvm_query_map_bad);
	check_range(_metadata, &t, b - GRAN, b + 3 * GRAN, 1);
	EXPECT_EQ(0, t.failed);
	EXPECT_EQ(0, t.missed);
	VirtualFree((void *)(b + 0x19000), 0, MEM_RELEASE);
}

/*
 * The same with no page between them: a placeholder split in three,
 * [b, b + 0xb000), [b + 0xb000, b + 0xc000), [b + 0xc000, b + GRAN); the
 * first released, then the second: the third's record is brought up to
 * date each time, its runs starting at its base.
 */
TEST(release_next_to_a_placeholder_piece)
{
	struct tally t = { .op = "release piece" };
	struct ntvm_query_args m, k;
	unsigned long bad = ntvm_query_map_bad;
	uintptr_t b;

	NEED_MAP();

	b = (uintptr_t)VirtualAlloc2(NULL, NULL, GRAN, PH_TYPE, PAGE_NOACCESS,
				     NULL, 0);
	ASSERT_NE(0, b);
	ASSERT_TRUE(VirtualFree((void *)(b + 0xb000), PAGE,
				MEM_RELEASE | MEM_PRESERVE_PLACEHOLDER));
	ASSERT_EQ(0, kq(b + 0xc000, &k));
	ASSERT_EQ(b + 0xc000, k.allocation_base);
	ASSERT_TRUE(VirtualFree((void *)b, 0, MEM_RELEASE));
	ASSERT_EQ(0, kq(b + 0xb000, &k));
	ASSERT_EQ(b + 0xb000, k.allocation_base);
	EXPECT_EQ(0, ntvm_query_map_lookup(b + 0xc000, &m));
	EXPECT_EQ(bad, ntvm_query_map_bad) {
		dump(_metadata, b + 0xc000);
	}
	ASSERT_TRUE(VirtualFree((void *)(b + 0xb000), 0, MEM_RELEASE));
	ASSERT_EQ(1, lookup_fresh(b + 0xc000, &m)) {
		dump(_metadata, b + 0xc000);
	}
	ASSERT_EQ(0, kq(b + 0xc000, &k));
	EXPECT_TRUE(same(_metadata, &t, "piece", b + 0xc000, &m, &k));
	EXPECT_EQ(bad, ntvm_query_map_bad);
	check_range(_metadata, &t, b - GRAN, b + 2 * GRAN, 1);
	EXPECT_EQ(0, t.failed);
	EXPECT_EQ(0, t.missed);
	VirtualFree((void *)(b + 0xc000), 0, MEM_RELEASE);
}

/*
 * The process unmaps a whole allocation (its views) itself: the module
 * describes it as free from then on, and the map asks until it agrees.
 */
TEST(munmap_whole_allocation)
{
	struct tally t = { .op = "munmap" };
	struct ntvm_query_args m, k;
	uintptr_t b;
	int i;

	NEED_MAP();

	b = (uintptr_t)VirtualAlloc(NULL, 4 * GRAN, MEM_RESERVE,
				    PAGE_READWRITE);
	ASSERT_NE(0, b);
	ASSERT_EQ((void *)b, VirtualAlloc((void *)b, 3 * PAGE, MEM_COMMIT,
					  PAGE_READWRITE));
	memset((void *)b, 1, 3 * PAGE);
	ASSERT_EQ(1, lookup_fresh(b + GRAN, &m));
	ASSERT_EQ(0, munmap((void *)b, 4 * GRAN));
	/* At once: the map knows it is behind. */
	for (i = 0; i < 4; i++)
		EXPECT_EQ(0, ntvm_query_map_lookup(b + i * GRAN, &m));
	EXPECT_NE(0, ntvm_query_map()->pending);
	ASSERT_EQ(0, kq(b, &k));
	EXPECT_EQ(MEM_FREE, k.state);
	EXPECT_EQ(0, k.region_flags);
	/* And after the request: whatever it answers, the ioctl's. */
	check_range(_metadata, &t, b - GRAN, b + 5 * GRAN, 1);
	check_outside(_metadata, &t, 1);
	VirtualFree((void *)b, 0, MEM_RELEASE);
	check_range(_metadata, &t, b - GRAN, b + 5 * GRAN, 1);
	EXPECT_EQ(0, t.failed);
}

/*
 * A lower address limit: above it the ioctl refuses (the map says ask);
 * below it, the same answers.  In a child, whose context is its own.
 */
static int limit_child(struct __test_metadata *_metadata)
{
	struct tally t = { .op = "limit" };
	struct ntvm_query_args m, k;
	uintptr_t lim = 0x7FFEFFFF;
	char *p;

	if (!map_kept())
		return 0;
	if (!NtvmSetMaximumApplicationAddress((LPVOID)lim))
		return 1;
	p = VirtualAlloc(NULL, 3 * GRAN, MEM_RESERVE, PAGE_READWRITE);
	if (!p || (uintptr_t)p > lim)
		return 2;
	if (!VirtualAlloc(p + GRAN, PAGE, MEM_COMMIT, PAGE_READONLY))
		return 3;
	if (!lookup_fresh((uintptr_t)p + GRAN, &m))
		return 4;
	if (ntvm_query_map_lookup(lim + 1, &m) ||
	    ntvm_query_map_lookup(0x7FFFFFFEFFFFULL, &m))
		return 5;
	if (kq(lim + 1, &k) != STATUS_INVALID_PARAMETER)
		return 6;
	check_range(_metadata, &t, (uintptr_t)p - GRAN,
		    (uintptr_t)p + 4 * GRAN, 1);
	check(_metadata, &t, lim, 1);
	check(_metadata, &t, lim + 1, 1);
	check(_metadata, &t, lim - PAGE, 1);
	check_outside(_metadata, &t, 1);
	if (t.failed)
		return 7;
	return t.missed && !inject_active() ? 8 : 0;
}

TEST(address_limit)
{
	int status;
	pid_t pid;

	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0)
		_exit(limit_child(_metadata));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));
}

/*
 * Concurrency.  Cells, each an allocation (or its place) of its own with
 * fixed neighbours, each switched by one thread between two layouts, A
 * and B, one request (or one fault) a switch; readers query their
 * addresses all the while.  A cell's answers depend on the cell alone, so
 * each answer must be A's or B's for that address.
 */
enum cell_kind {
	CELL_PROTECT,		/* pages 2-9 of 16: read-write / read-only */
	CELL_COMMIT,		/* pages 4-11 of 16: reserved / committed */
	CELL_RESERVE,		/* the granule: reserved / free */
	CELL_SPLIT,		/* a placeholder of 2 granules / split */
	CELL_GUARD,		/* page 3 of 8: guard / tripped */
	CELL_MUNMAP,		/* committed / views unmapped, released */
	NR_CELLS,
};

#define CELL_GRANS	4	/* a cell and the fixed neighbour after it */
#define CELL_PROBES	48
#define RACE_READERS	2

struct race {
	uintptr_t lo;		/* the cells, CELL_GRANS granules each */
	uintptr_t probe[NR_CELLS * CELL_PROBES];
	struct ntvm_query_args ans[2][NR_CELLS * CELL_PROBES];
	int nprobe;
	int stop;		/* atomic: the threads end */
	unsigned long switches[NR_CELLS];
	int error[NR_CELLS];
};

static uintptr_t cell_base(struct race *r, int c)
{
	return r->lo + c * CELL_GRANS * GRAN;
}

/* Put cell @c in layout @b (0: A, 1: B) from the other; 0 on success. */
static int cell_set(struct race *r, int c, int b)
{
	uintptr_t p = cell_base(r, c);
	DWORD old;

	switch (c) {
	case CELL_PROTECT:
		return !VirtualProtect((void *)(p + 2 * PAGE), 8 * PAGE,
				       b ? PAGE_READONLY : PAGE_READWRITE,
				       &old);
	case CELL_COMMIT:
		if (b)
			return !VirtualAlloc((void *)(p + 4 * PAGE), 8 * PAGE,
					     MEM_COMMIT, PAGE_READWRITE);
		return !VirtualFree((void *)(p + 4 * PAGE), 8 * PAGE,
				    MEM_DECOMMIT);
	case CELL_RESERVE:
		if (b)
			return !VirtualFree((void *)p, 0, MEM_RELEASE);
		return VirtualAlloc((void *)p, GRAN, MEM_RESERVE,
				    PAGE_EXECUTE_READ) != (void *)p;
	case CELL_SPLIT:
		if (b)
			return !VirtualFree((void *)p, GRAN, MEM_RELEASE |
					    MEM_PRESERVE_PLACEHOLDER);
		return !VirtualFree((void *)p, 2 * GRAN, MEM_RELEASE |
				    MEM_COALESCE_PLACEHOLDERS);
	case CELL_GUARD:
		if (b)
			return can_read(p + 3 * PAGE, NULL);
		return !VirtualProtect((void *)(p + 3 * PAGE), PAGE,
				       PAGE_READWRITE | PAGE_GUARD, &old);
	case CELL_MUNMAP:
		/* B: unmapped, then released; both read as free. */
		if (b) {
			if (munmap((void *)p, 2 * GRAN))
				return 1;
			VirtualFree((void *)p, 0, MEM_RELEASE);
			return 0;
		}
		return VirtualAlloc((void *)p, 2 * GRAN,
				    MEM_RESERVE | MEM_COMMIT,
				    PAGE_READWRITE) != (void *)p;
	}
	return 1;
}

/* The cells made, in layout A, each followed by a fixed neighbour. */
static int cells_make(struct race *r)
{
	uintptr_t p;
	int c;

	r->lo = free_range(NR_CELLS * CELL_GRANS * GRAN);
	if (!r->lo)
		return -1;
	for (c = 0; c < NR_CELLS; c++) {
		p = cell_base(r, c);
		/* The neighbour: the cell's last granule, never changed. */
		if (VirtualAlloc((void *)(p + (CELL_GRANS - 1) * GRAN), GRAN,
				 MEM_RESERVE, PAGE_READONLY) !=
		    (void *)(p + (CELL_GRANS - 1) * GRAN))
			return -1;
		switch (c) {
		case CELL_PROTECT:
		case CELL_COMMIT:
		case CELL_GUARD:
			if (VirtualAlloc((void *)p, 16 * PAGE, MEM_RESERVE,
					 PAGE_READWRITE) != (void *)p)
				return -1;
			if (c == CELL_COMMIT)
				break;
			if (!VirtualAlloc((void *)p, c == CELL_GUARD ?
					  8 * PAGE : 16 * PAGE, MEM_COMMIT,
					  PAGE_READWRITE))
				return -1;
			if (c == CELL_GUARD && cell_set(r, c, 0))
				return -1;
			break;
		case CELL_RESERVE:
			if (cell_set(r, c, 0))
				return -1;
			break;
		case CELL_SPLIT:
			if (!VirtualAlloc2(NULL, (void *)p, 2 * GRAN, PH_TYPE,
					   PAGE_NOACCESS, NULL, 0))
				return -1;
			break;
		case CELL_MUNMAP:
			if (cell_set(r, c, 0))
				return -1;
			break;
		}
	}
	return 0;
}

static void cells_probes(struct race *r)
{
	int c, i;

	r->nprobe = 0;
	for (c = 0; c < NR_CELLS; c++) {
		uintptr_t p = cell_base(r, c);

		/* Each page of the first three granules' first 16, ... */
		for (i = 0; i < 16; i++)
			r->probe[r->nprobe++] = p + i * PAGE + 0x10;
		for (i = 0; i < 16; i++)
			r->probe[r->nprobe++] = p + GRAN + i * PAGE;
		for (i = 0; i < 12; i++)
			r->probe[r->nprobe++] = p + 2 * GRAN + i * 0x1800;
		/* ... the neighbour, and just before the cell. */
		r->probe[r->nprobe++] = p + 3 * GRAN;
		r->probe[r->nprobe++] = p + 4 * GRAN - 1;
		r->probe[r->nprobe++] = c ? p - 1 : p + 3 * GRAN + 0x10;
		r->probe[r->nprobe++] = p + 2 * GRAN - 1;
	}
}

/* The ioctl's answers for every probe, the cells in layout @b. */
static int cells_answers(struct race *r, int b)
{
	int i;

	for (i = 0; i < r->nprobe; i++)
		if (kq(r->probe[i], &r->ans[b][i]))
			return -1;
	return 0;
}

struct writer_arg {
	struct race *r;
	int cell;
};

static void *writer(void *arg)
{
	struct writer_arg *w = arg;
	int b = 0;

	while (!__atomic_load_n(&w->r->stop, __ATOMIC_RELAXED)) {
		b = !b;
		if (cell_set(w->r, w->cell, b)) {
			w->r->error[w->cell] = b + 1;
			break;
		}
		w->r->switches[w->cell]++;
	}
	/* Back to A, as the answers were taken. */
	if (b && !w->r->error[w->cell] && cell_set(w->r, w->cell, 0))
		w->r->error[w->cell] = 3;
	return NULL;
}

struct reader_arg {
	struct race *r;
	int id;
	unsigned long answers, fast, mixed, bad;
	uintptr_t first_mixed;
	struct ntvm_query_args seen;
};

static int answer_is(const struct ntvm_query_args *a,
		     const struct ntvm_query_args *b)
{
	return !memcmp(a, b, sizeof(*a));
}

static void *reader(void *arg)
{
	struct reader_arg *rd = arg;
	struct race *r = rd->r;
	struct ntvm_query_args q;
	unsigned long bad = ntvm_query_map_bad;
	int i, fast, pass;

	for (pass = rd->id; !__atomic_load_n(&r->stop, __ATOMIC_RELAXED);
	     pass++) {
		for (i = 0; i < r->nprobe; i++) {
			/* The map's answer, or the library's from either. */
			if ((i + pass) & 1) {
				fast = ntvm_query_map_lookup(r->probe[i], &q);
				if (!fast)
					continue;
			} else {
				unsigned long hits = ntvm_query_map_hits;

				if (ntvm_query_own(r->probe[i], &q, 0))
					q.status = 0xdead;
				fast = ntvm_query_map_hits != hits;
			}
			rd->answers++;
			rd->fast += fast;
			if (!answer_is(&q, &r->ans[0][i]) &&
			    !answer_is(&q, &r->ans[1][i])) {
				if (!rd->mixed++) {
					rd->first_mixed = r->probe[i];
					rd->seen = q;
				}
			}
		}
	}
	rd->bad = ntvm_query_map_bad - bad;
	return NULL;
}

#define RACE_SECONDS	6

TEST(concurrent_changes)
{
	static struct race r;
	struct writer_arg w[NR_CELLS];
	struct reader_arg rd[RACE_READERS];
	pthread_t wt[NR_CELLS], rt[RACE_READERS];
	unsigned long answers = 0, fast = 0;
	int c, i, kept = map_kept();

	ASSERT_EQ(0, cells_make(&r));
	cells_probes(&r);
	ASSERT_EQ(0, cells_answers(&r, 0));
	for (c = 0; c < NR_CELLS; c++)
		ASSERT_EQ(0, cell_set(&r, c, 1));
	ASSERT_EQ(0, cells_answers(&r, 1));
	for (c = 0; c < NR_CELLS; c++)
		ASSERT_EQ(0, cell_set(&r, c, 0));
	/* Back in A: the same answers as first taken. */
	for (i = 0; i < r.nprobe; i++) {
		struct ntvm_query_args q;

		ASSERT_EQ(0, kq(r.probe[i], &q));
		ASSERT_TRUE(answer_is(&q, &r.ans[0][i])) {
			TH_LOG("probe 0x%llx changed",
			       (unsigned long long)r.probe[i]);
		}
	}
	/* The layouts differ where they should: each cell somewhere. */
	for (c = 0; c < NR_CELLS; c++) {
		int differ = 0;

		for (i = c * CELL_PROBES; i < (c + 1) * CELL_PROBES; i++)
			differ += !answer_is(&r.ans[0][i], &r.ans[1][i]);
		EXPECT_LT(0, differ);
	}
	if (inject_active())
		inject_racy = 1;
	for (i = 0; i < RACE_READERS; i++) {
		rd[i] = (struct reader_arg){ .r = &r, .id = i };
		ASSERT_EQ(0, pthread_create(&rt[i], NULL, reader, &rd[i]));
	}
	for (c = 0; c < NR_CELLS; c++) {
		w[c] = (struct writer_arg){ .r = &r, .cell = c };
		ASSERT_EQ(0, pthread_create(&wt[c], NULL, writer, &w[c]));
	}
	sleep(RACE_SECONDS);
	__atomic_store_n(&r.stop, 1, __ATOMIC_RELAXED);
	for (c = 0; c < NR_CELLS; c++)
		ASSERT_EQ(0, pthread_join(wt[c], NULL));
	for (i = 0; i < RACE_READERS; i++)
		ASSERT_EQ(0, pthread_join(rt[i], NULL));
	for (c = 0; c < NR_CELLS; c++) {
		EXPECT_EQ(0, r.error[c]) {
			TH_LOG("cell %d: switch to %c failed", c,
			       r.error[c] == 2 ? 'B' : 'A');
		}
		EXPECT_LT(0, r.switches[c]);
	}
	for (i = 0; i < RACE_READERS; i++) {
		answers += rd[i].answers;
		fast += rd[i].fast;
		EXPECT_EQ(0, rd[i].mixed) {
			struct ntvm_query_args *s = &rd[i].seen;

			TH_LOG("reader %d: %lu answers neither A's nor B's; first at 0x%llx: base 0x%llx alloc 0x%llx size 0x%llx aprot 0x%x state 0x%x prot 0x%x type 0x%x flags 0x%x status 0x%x",
			       i, rd[i].mixed,
			       (unsigned long long)rd[i].first_mixed,
			       (unsigned long long)s->base_address,
			       (unsigned long long)s->allocation_base,
			       (unsigned long long)s->region_size,
			       s->allocation_protect, s->state, s->protect,
			       s->type, s->region_flags, s->status);
		}
		EXPECT_EQ(0, rd[i].bad);
	}
	TH_LOG("%lu answers, %lu from the map; switches %lu %lu %lu %lu %lu %lu",
	       answers, fast, r.switches[0], r.switches[1], r.switches[2],
	       r.switches[3], r.switches[4], r.switches[5]);
	if (kept) {
		EXPECT_LT(0, fast);
	}
	/* Left in A: the same answers again. */
	for (i = 0; i < r.nprobe; i++) {
		struct ntvm_query_args q;

		ASSERT_EQ(0, kq(r.probe[i], &q));
		EXPECT_TRUE(answer_is(&q, &r.ans[0][i]));
	}
	for (c = 0; c < NR_CELLS; c++)
		VirtualFree((void *)cell_base(&r, c), 0, MEM_RELEASE);
}

TEST_HARNESS_MAIN
