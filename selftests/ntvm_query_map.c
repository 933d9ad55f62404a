// SPDX-License-Identifier: GPL-2.0
/*
 * The query map (NTVM_FEATURE_QUERY_MAP): mmap(2) of a context's file
 * gives its process the context's state, read-only.  Its header: the
 * layout, a sequence count, and a generation every change of the state a
 * query reports bumps, and a query does not; the records of layout 2
 * (NTVM_FEATURE_QUERY_RECORDS), exactly, and when they are pending.  (That
 * they answer as NTVM_IOC_QUERY does: ntvm_query_equiv.)  What the process cannot do
 * to it: map it writable, private, at another offset or longer; make it
 * writable or executable; grow it; write it through /proc/self/mem or
 * process_vm_writev(2); pass it to a child of fork(2); map another
 * process's.  And it goes with the last of the file and the mapping.
 */
#include <errno.h>
#include <pthread.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <sys/wait.h>

#include "ntvm_test.h"
#include "inject.h"
#include "internal.h"

#include "kselftest_harness.h"

/* The header of the library's query map (the process's context). */
static const struct ntvm_query_map_header *header(void)
{
	return ntvm_query_map();
}

/* Its generation, read as a reader must (the sequence count). */
static __u64 generation(void)
{
	__u64 g = ~0ULL;

	if (ntvm_query_map_generation(&g))
		return ~0ULL;
	return g;
}

/*
 * One step of the generation for each call that changed the state; under
 * fault injection a call that failed (and changed nothing in the end) and
 * was retried may add steps.
 */
#define EXPECT_BUMPED(before) do {					\
	__u64 _now = generation();					\
									\
	if (inject_active()) {						\
		EXPECT_LT(before, _now);				\
	} else {							\
		EXPECT_EQ((before) + 1, _now);				\
	}								\
} while (0)

/* A mapping of the process's context, as a caller makes it. */
static void *map_own(size_t len, int prot, int flags, off_t off)
{
	return mmap(NULL, len, prot, flags, ntvm_dev(), off);
}

/*
 * The permissions /proc/self/maps gives the mapping at @a ("r--s"), and
 * whether it names the device; "none" when nothing is mapped there.
 */
static const char *perms(const void *a, int *dev)
{
	static char out[5];
	FILE *f = fopen("/proc/self/maps", "r");
	unsigned long s, e;
	char line[512], pm[5];

	strcpy(out, "none");
	*dev = 0;
	if (!f)
		return "fail";
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%lx-%lx %4s", &s, &e, pm) == 3 &&
		    s <= (uintptr_t)a && (uintptr_t)a < e) {
			strcpy(out, pm);
			*dev = strstr(line, " /dev/ntvm\n") != NULL;
			break;
		}
	}
	fclose(f);
	return out;
}

/*
 * Whether the module keeps the map up to date: an NT request after the
 * mapping builds it, and clears pending.  A kernel without MMU notifiers
 * keeps it pending for good (every query asks the ioctl).
 */
static int map_kept(const struct ntvm_query_map_header *h)
{
	struct ntvm_query_args q;
	int i;

	for (i = 0; h && i < 20; i++) {
		ntvm_query_own(0x10000, &q, NTVM_QUERY_IOCTL);
		if (!__atomic_load_n(&h->pending, __ATOMIC_ACQUIRE))
			return 1;
	}
	return 0;
}

/*
 * The ioctl asked about @a: the module keeps the record of its allocation
 * from then on (for a few changes), and nothing is pending.
 */
static int map_asked(const struct ntvm_query_map_header *h, uintptr_t a)
{
	struct ntvm_query_args q;

	ntvm_query_own(a, &q, NTVM_QUERY_IOCTL);
	return map_kept(h);
}

#define NEED_MAP(h) do {						\
	if (!map_kept(h))						\
		SKIP(return, "the module keeps no query map here");	\
} while (0)

/* The window the module accepts, which the library maps whole: 1 GiB. */
#define WINDOW	(1ULL << 30)

static __u64 round_page(__u64 n)
{
	return (n + PAGE - 1) & ~(PAGE - 1);
}

TEST(header_layout)
{
	const struct ntvm_query_map_header *h = header();
	struct ntvm_query_args q;
	__u64 features = 0;
	int dev;

	ASSERT_NE(NULL, h);
	/* Built by the first service after the mapping (a query is one). */
	EXPECT_NE(0, h->pending);
	EXPECT_EQ(0, h->max_address);
	ntvm_query_own(0x10000, &q, NTVM_QUERY_IOCTL);
	if (!inject_active() && h->pending)
		SKIP(return, "the module keeps no query map here");
	NEED_MAP(h);
	EXPECT_EQ(0, h->pending);
	EXPECT_EQ(80 + 4 * NTVM_QUERY_MAP_FANOUT, sizeof(*h));
	EXPECT_EQ(64, sizeof(struct ntvm_query_map_record));
	EXPECT_EQ(16, sizeof(struct ntvm_query_map_run));
	EXPECT_EQ(0, ioctl(ntvm_dev(), NTVM_IOC_FEATURES, &features));
	EXPECT_TRUE(features & NTVM_FEATURE_QUERY_MAP);
	EXPECT_TRUE(features & NTVM_FEATURE_QUERY_RECORDS);
	EXPECT_EQ(NTVM_FEATURE_QUERY_MAP, 1ULL << 9);
	EXPECT_EQ(NTVM_FEATURE_QUERY_RECORDS, 1ULL << 10);
	EXPECT_EQ(0x4E51564D, h->magic);
	EXPECT_EQ(2, h->version);
	EXPECT_EQ(WINDOW, h->map_size);
	EXPECT_LE(sizeof(*h), h->used);
	EXPECT_GE(h->map_size, h->used);
	EXPECT_EQ(0x7FFFFFFEFFFFULL, h->max_address);
	EXPECT_EQ(0, h->pad);
	EXPECT_EQ(0, h->reserved[0] | h->reserved[1] | h->reserved[2]);
	/*
	 * At rest: even, two steps a change, and two for each time the map
	 * was brought up to date with no change (here: built).
	 */
	EXPECT_EQ(0, h->seq & 1);
	EXPECT_LE(2 * h->generation + 2, h->seq);
	EXPECT_EQ(h->generation, generation());
	/* The library's mapping is read-only, shared, the whole window. */
	EXPECT_EQ(h->map_size, ntvm_query_map_length());
	EXPECT_STREQ("r--s", perms(h, &dev));
	EXPECT_EQ(1, dev);
	perms((char *)h + h->map_size - PAGE, &dev);
	EXPECT_EQ(1, dev);
	perms((char *)h + h->map_size, &dev);
	EXPECT_EQ(0, dev);
	EXPECT_FALSE(can_write((uintptr_t)h, 1));
	EXPECT_EQ(0x4E51564D, h->magic);
	/* What exists is readable; the page after it is not (SIGBUS). */
	EXPECT_TRUE(can_read((uintptr_t)h + h->used - 1, NULL));
	EXPECT_FALSE(can_read((uintptr_t)h + round_page(h->used), NULL));
	EXPECT_FALSE(can_read((uintptr_t)h + h->map_size - 1, NULL));
}

/*
 * A context's map is pending from its first mapping until its first
 * request; built then (the tree over what it holds, and the records of
 * what the process asks about).
 */
TEST(pending_until_first_request)
{
	const struct ntvm_query_map_header *h;
	struct ntvm_query_args q = { .address = 0x10000 };
	int fd = open("/dev/ntvm", O_RDWR | O_CLOEXEC), tries = 0;

	ASSERT_LE(0, fd);
	NEED_MAP(header());
	h = mmap(NULL, WINDOW, PROT_READ, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, h);
	EXPECT_NE(0, h->pending);
	EXPECT_EQ(0, h->generation);
	ASSERT_EQ(0, ioctl(fd, NTVM_IOC_QUERY, &q));
	EXPECT_EQ(0, q.status);
	/* Under fault injection the first build may have failed. */
	while (inject_active() && h->pending && tries++ < 20)
		ASSERT_EQ(0, ioctl(fd, NTVM_IOC_QUERY, &q));
	EXPECT_EQ(0, h->pending);
	EXPECT_EQ(0, h->seq & 1);
	EXPECT_LE(sizeof(*h), h->used);
	EXPECT_EQ(0, munmap((void *)h, WINDOW));
	EXPECT_EQ(0, close(fd));
}

/* An entry of the radix tree: the one for @a's granule, its level. */
static __u32 entry(const struct ntvm_query_map_header *h, uintptr_t a,
		   int *level)
{
	__u64 g = a >> 16;
	__u32 e = h->root[(g >> 24) & 0xff];
	int shift;

	*level = 0;
	for (shift = 16; shift >= 0 &&
	     (e & NTVM_QUERY_MAP_TAG) == NTVM_QUERY_MAP_NODE; shift -= 8) {
		if ((e & ~NTVM_QUERY_MAP_TAG) + 1024 > h->used)
			return 0xdeadbeef;
		e = ((const __u32 *)((const char *)h +
				     (e & ~NTVM_QUERY_MAP_TAG)))
			[(g >> shift) & 0xff];
		++*level;
	}
	return e;
}

static const struct ntvm_query_map_record *record_of(
	const struct ntvm_query_map_header *h, __u32 e)
{
	if ((e & NTVM_QUERY_MAP_TAG) != NTVM_QUERY_MAP_RECORD ||
	    (e & ~NTVM_QUERY_MAP_TAG) + 64 > h->used)
		return NULL;
	return (const void *)((const char *)h + (e & ~NTVM_QUERY_MAP_TAG));
}

/* The records and runs of an allocation, exactly. */
TEST(records_and_runs)
{
	const struct ntvm_query_map_header *h = header();
	const struct ntvm_query_map_record *r;
	const struct ntvm_query_map_run *run;
	int level;
	DWORD old;
	char *p;

	ASSERT_NE(NULL, h);
	NEED_MAP(h);
	p = VirtualAlloc(NULL, 3 * GRAN, MEM_RESERVE, PAGE_EXECUTE_READ);
	ASSERT_NE(NULL, p);
	ASSERT_EQ(p + GRAN, VirtualAlloc(p + GRAN, 2 * PAGE, MEM_COMMIT,
					 PAGE_READONLY));
	ASSERT_TRUE(VirtualProtect(p + GRAN + PAGE, PAGE, PAGE_READWRITE,
				   &old));
	/* A query there: a request, after which nothing is pending. */
	ASSERT_TRUE(map_asked(h, (uintptr_t)p));
	r = record_of(h, entry(h, (uintptr_t)p, &level));
	ASSERT_NE(NULL, r);
	EXPECT_EQ(3, level);
	EXPECT_EQ(r, record_of(h, entry(h, (uintptr_t)p + GRAN, &level)));
	EXPECT_EQ(r, record_of(h, entry(h, (uintptr_t)p + 3 * GRAN - 1,
					&level)));
	EXPECT_EQ(0, ((const char *)r - (const char *)h) & 63);
	EXPECT_EQ((uintptr_t)p, r->base);
	EXPECT_EQ((uintptr_t)p + 3 * GRAN, r->end);
	EXPECT_EQ(PAGE_EXECUTE_READ, r->allocation_protect);
	EXPECT_EQ(MEM_PRIVATE, r->type);
	EXPECT_EQ(NTVM_REGION_MANAGED, r->region_flags);
	EXPECT_EQ(0, r->flags);
	ASSERT_EQ(4, r->nr_runs);
	ASSERT_GE(h->used, r->runs + 4 * sizeof(*run));
	run = (const void *)((const char *)h + r->runs);
	EXPECT_EQ((uintptr_t)p, run[0].start);
	EXPECT_EQ(MEM_RESERVE, run[0].state);
	EXPECT_EQ(0, run[0].protect);
	EXPECT_EQ((uintptr_t)p + GRAN, run[1].start);
	EXPECT_EQ(MEM_COMMIT, run[1].state);
	EXPECT_EQ(PAGE_READONLY, run[1].protect);
	EXPECT_EQ((uintptr_t)p + GRAN + PAGE, run[2].start);
	EXPECT_EQ(MEM_COMMIT, run[2].state);
	EXPECT_EQ(PAGE_READWRITE, run[2].protect);
	EXPECT_EQ((uintptr_t)p + GRAN + 2 * PAGE, run[3].start);
	EXPECT_EQ(MEM_RESERVE, run[3].state);
	EXPECT_EQ(0, run[3].protect);
	/*
	 * Committed whole: one run, in the record itself.  Asked about
	 * above: kept up to date with no query asking again.
	 */
	ASSERT_EQ(p, VirtualAlloc(p, 3 * GRAN, MEM_COMMIT, PAGE_READONLY));
	ASSERT_TRUE(map_kept(h));
	r = record_of(h, entry(h, (uintptr_t)p, &level));
	ASSERT_NE(NULL, r);
	EXPECT_EQ((uintptr_t)p, r->base);
	EXPECT_EQ((uintptr_t)p + 3 * GRAN, r->end);
	EXPECT_EQ(1, r->nr_runs);
	EXPECT_EQ(0, r->runs);
	EXPECT_EQ(MEM_COMMIT, r->state);
	EXPECT_EQ(PAGE_READONLY, r->protect);
	/* Released: no entry there any more. */
	ASSERT_TRUE(VirtualFree(p, 0, MEM_RELEASE));
	EXPECT_EQ(NULL, record_of(h, entry(h, (uintptr_t)p + GRAN, &level)));
}

/*
 * An allocation of one run keeps it in its record: no runs block, until a
 * second run appears, and again when it goes.
 */
TEST(one_run_in_the_record)
{
	const struct ntvm_query_map_header *h = header();
	const struct ntvm_query_map_record *r;
	int level;
	DWORD old;
	char *p;

	ASSERT_NE(NULL, h);
	NEED_MAP(h);
	if (inject_active())
		SKIP(return, "a record says SLOW where injection failed it");
	p = VirtualAlloc(NULL, 2 * GRAN, MEM_RESERVE, PAGE_READWRITE);
	ASSERT_NE(NULL, p);
	ASSERT_TRUE(map_asked(h, (uintptr_t)p));
	r = record_of(h, entry(h, (uintptr_t)p, &level));
	ASSERT_NE(NULL, r);
	EXPECT_EQ(1, r->nr_runs);
	EXPECT_EQ(0, r->runs);
	EXPECT_EQ(MEM_RESERVE, r->state);
	EXPECT_EQ(0, r->protect);
	ASSERT_EQ(p, VirtualAlloc(p, 2 * GRAN, MEM_COMMIT, PAGE_READWRITE));
	ASSERT_TRUE(map_kept(h));
	EXPECT_EQ(1, r->nr_runs);
	EXPECT_EQ(0, r->runs);
	EXPECT_EQ(MEM_COMMIT, r->state);
	EXPECT_EQ(PAGE_READWRITE, r->protect);
	ASSERT_TRUE(VirtualProtect(p + PAGE, PAGE, PAGE_READONLY, &old));
	ASSERT_TRUE(map_kept(h));
	EXPECT_EQ(3, r->nr_runs);
	EXPECT_NE(0, r->runs);
	ASSERT_TRUE(VirtualProtect(p + PAGE, PAGE, PAGE_READWRITE, &old));
	ASSERT_TRUE(map_kept(h));
	EXPECT_EQ(1, r->nr_runs);
	EXPECT_EQ(0, r->runs);
	EXPECT_EQ(MEM_COMMIT, r->state);
	EXPECT_EQ(PAGE_READWRITE, r->protect);
	ASSERT_TRUE(VirtualFree(p, 0, MEM_RELEASE));
}

/*
 * An allocation the process never asked about has no record: its tree
 * entries stay 0 (ask the ioctl), and made, changed and released it
 * leaves the map as it was.  Asked about once, it has one, for every
 * granule.
 */
TEST(no_record_until_asked)
{
	const struct ntvm_query_map_header *h = header();
	__u64 used, g;
	DWORD old;
	int level, i;
	char *p;

	ASSERT_NE(NULL, h);
	NEED_MAP(h);
	if (inject_active())
		SKIP(return, "a record may be missing where injection failed it");
	used = h->used;
	/* Made and released: counted in the generation, nothing pending. */
	g = generation();
	p = VirtualAlloc(NULL, 3 * PAGE, MEM_RESERVE, PAGE_READWRITE);
	ASSERT_NE(NULL, p);
	EXPECT_EQ(g + 1, generation());
	EXPECT_EQ(0, __atomic_load_n(&h->pending, __ATOMIC_ACQUIRE));
	EXPECT_EQ(0, entry(h, (uintptr_t)p, &level));
	ASSERT_TRUE(VirtualFree(p, 0, MEM_RELEASE));
	EXPECT_EQ(g + 2, generation());
	EXPECT_EQ(0, __atomic_load_n(&h->pending, __ATOMIC_ACQUIRE));
	EXPECT_EQ(0, entry(h, (uintptr_t)p, &level));
	p = VirtualAlloc(NULL, 4 * GRAN, MEM_RESERVE | MEM_COMMIT,
			 PAGE_READWRITE);
	ASSERT_NE(NULL, p);
	ASSERT_TRUE(VirtualProtect(p + PAGE, PAGE, PAGE_READONLY, &old));
	ASSERT_TRUE(map_kept(h));
	for (i = 0; i < 4; i++)
		EXPECT_EQ(0, entry(h, (uintptr_t)p + i * GRAN, &level));
	EXPECT_EQ(used, h->used);
	ASSERT_TRUE(VirtualFree(p, 0, MEM_RELEASE));
	ASSERT_TRUE(map_kept(h));
	EXPECT_EQ(0, entry(h, (uintptr_t)p, &level));
	EXPECT_EQ(used, h->used);
	/* Asked about: a record, which every granule leads to. */
	p = VirtualAlloc(NULL, 4 * GRAN, MEM_RESERVE | MEM_COMMIT,
			 PAGE_READWRITE);
	ASSERT_NE(NULL, p);
	ASSERT_TRUE(map_asked(h, (uintptr_t)p + 2 * GRAN));
	ASSERT_NE(NULL, record_of(h, entry(h, (uintptr_t)p, &level)));
	for (i = 1; i < 4; i++)
		EXPECT_EQ(entry(h, (uintptr_t)p, &level),
			  entry(h, (uintptr_t)p + i * GRAN, &level));
	EXPECT_EQ((uintptr_t)p,
		  record_of(h, entry(h, (uintptr_t)p, &level))->base);
	ASSERT_TRUE(VirtualFree(p, 0, MEM_RELEASE));
}

/*
 * Two pieces of a placeholder share a granule; the process asks about
 * one.  The release of the other, never asked about, is brought up to
 * date all the same: the granule leads to the first's record again.
 */
TEST(shared_granule_released_unasked)
{
	const struct ntvm_query_map_header *h = header();
	const struct ntvm_query_map_record *r;
	int level, lower;
	char *p, *asked, *other;

	ASSERT_NE(NULL, h);
	NEED_MAP(h);
	if (inject_active())
		SKIP(return, "a record may be missing where injection failed it");
	for (lower = 0; lower < 2; lower++) {
		p = VirtualAlloc2(NULL, NULL, GRAN, MEM_RESERVE |
				  MEM_RESERVE_PLACEHOLDER, PAGE_NOACCESS,
				  NULL, 0);
		ASSERT_NE(NULL, p);
		ASSERT_TRUE(VirtualFree(p, GRAN / 4, MEM_RELEASE |
					MEM_PRESERVE_PLACEHOLDER));
		asked = lower ? p : p + GRAN / 4;
		other = lower ? p + GRAN / 4 : p;
		ASSERT_EQ(asked, VirtualAlloc2(NULL, asked,
					       lower ? GRAN / 4 :
						       GRAN - GRAN / 4,
					       MEM_RESERVE | MEM_COMMIT |
					       MEM_REPLACE_PLACEHOLDER,
					       PAGE_READWRITE, NULL, 0));
		ASSERT_TRUE(map_asked(h, (uintptr_t)asked));
		EXPECT_EQ(NTVM_QUERY_MAP_SLOW, entry(h, (uintptr_t)p, &level));
		ASSERT_TRUE(VirtualFree(other, 0, MEM_RELEASE));
		ASSERT_TRUE(map_kept(h));
		r = record_of(h, entry(h, (uintptr_t)p, &level));
		ASSERT_NE(NULL, r);
		EXPECT_EQ((uintptr_t)asked, r->base);
		EXPECT_EQ(0, r->flags);
		ASSERT_TRUE(VirtualFree(asked, 0, MEM_RELEASE));
	}
}

/* A guard page tripped: pending until the next request. */
TEST(pending_after_guard_trip)
{
	const struct ntvm_query_map_header *h = header();
	struct ntvm_query_args q;
	DWORD old;
	char *p;

	ASSERT_NE(NULL, h);
	NEED_MAP(h);
	p = VirtualAlloc(NULL, GRAN, MEM_COMMIT, PAGE_READWRITE);
	ASSERT_NE(NULL, p);
	ASSERT_TRUE(VirtualProtect(p + PAGE, PAGE, PAGE_READWRITE | PAGE_GUARD,
				   &old));
	ASSERT_TRUE(map_kept(h));
	EXPECT_FALSE(can_read((uintptr_t)p + PAGE, NULL));
	EXPECT_NE(0, h->pending);
	EXPECT_EQ(0, ntvm_query_map_lookup((uintptr_t)p, &q));
	ASSERT_EQ(STATUS_SUCCESS, ntvm_query_own((uintptr_t)p + PAGE, &q,
						 NTVM_QUERY_IOCTL));
	EXPECT_EQ(PAGE_READWRITE, q.protect);
	EXPECT_TRUE(map_kept(h));
	ASSERT_TRUE(VirtualFree(p, 0, MEM_RELEASE));
}

/* Another mapping of the same context shows the same page. */
TEST(second_mapping_same_state)
{
	const struct ntvm_query_map_header *h = header(), *h2;
	__u64 before;

	ASSERT_NE(NULL, h);
	h2 = map_own(PAGE, PROT_READ, MAP_SHARED, 0);
	ASSERT_NE(MAP_FAILED, h2);
	EXPECT_NE(h, h2);
	before = h2->generation;
	EXPECT_EQ(before, h->generation);
	ASSERT_NE(NULL, VirtualAlloc(NULL, GRAN, MEM_RESERVE, PAGE_NOACCESS));
	EXPECT_LT(before, h2->generation);
	EXPECT_EQ(h->generation, h2->generation);
	EXPECT_EQ(0, munmap((void *)h2, PAGE));
}

TEST(mmap_refused)
{
	int fd = ntvm_dev(), dev;
	void *p;

	ASSERT_LE(0, fd);
	/* Writable: EACCES, shared or private. */
	errno = 0;
	EXPECT_EQ(MAP_FAILED, map_own(PAGE, PROT_READ | PROT_WRITE,
				      MAP_SHARED, 0));
	EXPECT_EQ(EACCES, errno);
	errno = 0;
	EXPECT_EQ(MAP_FAILED, map_own(PAGE, PROT_WRITE, MAP_SHARED, 0));
	EXPECT_EQ(EACCES, errno);
	errno = 0;
	EXPECT_EQ(MAP_FAILED, map_own(PAGE, PROT_READ | PROT_WRITE,
				      MAP_PRIVATE, 0));
	EXPECT_EQ(EACCES, errno);
	/* Private, another offset, longer than the map: EINVAL. */
	errno = 0;
	EXPECT_EQ(MAP_FAILED, map_own(PAGE, PROT_READ, MAP_PRIVATE, 0));
	EXPECT_EQ(EINVAL, errno);
	errno = 0;
	EXPECT_EQ(MAP_FAILED, map_own(PAGE, PROT_READ, MAP_SHARED, PAGE));
	EXPECT_EQ(EINVAL, errno);
	errno = 0;
	EXPECT_EQ(MAP_FAILED, map_own(WINDOW + PAGE, PROT_READ, MAP_SHARED,
				      0));
	EXPECT_EQ(EINVAL, errno);
	/* The whole window, or less, is fine. */
	p = map_own(WINDOW, PROT_READ, MAP_SHARED, 0);
	ASSERT_NE(MAP_FAILED, p);
	EXPECT_EQ(0, munmap(p, WINDOW));
	/* Executable: mapped, but never executable. */
	p = map_own(PAGE, PROT_READ | PROT_EXEC, MAP_SHARED, 0);
	ASSERT_NE(MAP_FAILED, p);
	EXPECT_STREQ("r--s", perms(p, &dev));
	EXPECT_EQ(0, munmap(p, PAGE));
	/* PROT_NONE is read-only enough; it can become readable. */
	p = map_own(PAGE, PROT_NONE, MAP_SHARED, 0);
	ASSERT_NE(MAP_FAILED, p);
	EXPECT_FALSE(can_read((uintptr_t)p, NULL));
	EXPECT_EQ(0, mprotect(p, PAGE, PROT_READ));
	EXPECT_TRUE(can_read((uintptr_t)p, NULL));
	EXPECT_EQ(0, munmap(p, PAGE));
}

/* A file opened read-only maps it too (MAP_SHARED of a read-only fd). */
TEST(readonly_file)
{
	const struct ntvm_query_map_header *h;
	int fd = open("/dev/ntvm", O_RDONLY | O_CLOEXEC);

	ASSERT_LE(0, fd);
	h = mmap(NULL, PAGE, PROT_READ, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, h);
	EXPECT_EQ(NTVM_QUERY_MAP_MAGIC, h->magic);
	/* A context of its own, which has changed nothing. */
	EXPECT_EQ(0, h->generation);
	EXPECT_EQ(0, h->seq);
	errno = 0;
	EXPECT_EQ(-1, mprotect((void *)h, PAGE, PROT_READ | PROT_WRITE));
	EXPECT_EQ(EACCES, errno);
	EXPECT_EQ(0, munmap((void *)h, PAGE));
	EXPECT_EQ(0, close(fd));
}

TEST(mprotect_refused)
{
	const struct ntvm_query_map_header *h = header();
	void *p = (void *)h;

	ASSERT_NE(NULL, h);
	errno = 0;
	EXPECT_EQ(-1, mprotect(p, PAGE, PROT_READ | PROT_WRITE));
	EXPECT_EQ(EACCES, errno);
	errno = 0;
	EXPECT_EQ(-1, mprotect(p, PAGE, PROT_WRITE));
	EXPECT_EQ(EACCES, errno);
	errno = 0;
	EXPECT_EQ(-1, mprotect(p, PAGE, PROT_READ | PROT_EXEC));
	EXPECT_EQ(EACCES, errno);
	EXPECT_EQ(0, mprotect(p, PAGE, PROT_READ));
	EXPECT_FALSE(can_write((uintptr_t)p, 1));
	EXPECT_EQ(NTVM_QUERY_MAP_MAGIC, h->magic);
}

TEST(mremap_refused)
{
	const struct ntvm_query_map_header *h = header();
	void *p = (void *)h, *q;

	ASSERT_NE(NULL, h);
	errno = 0;
	EXPECT_EQ(MAP_FAILED, mremap(p, PAGE, 2 * PAGE, MREMAP_MAYMOVE));
	EXPECT_EQ(EFAULT, errno);
	errno = 0;
	EXPECT_EQ(MAP_FAILED, mremap(p, PAGE, 2 * PAGE, 0));
	EXPECT_EQ(EFAULT, errno);
	/* Moved whole, it is the same read-only page. */
	q = map_own(PAGE, PROT_READ, MAP_SHARED, 0);
	ASSERT_NE(MAP_FAILED, q);
	p = mmap(NULL, 2 * PAGE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1,
		 0);
	ASSERT_NE(MAP_FAILED, p);
	q = mremap(q, PAGE, PAGE, MREMAP_MAYMOVE | MREMAP_FIXED, p);
	ASSERT_EQ(p, q);
	EXPECT_EQ(NTVM_QUERY_MAP_MAGIC,
		  ((struct ntvm_query_map_header *)q)->magic);
	EXPECT_FALSE(can_write((uintptr_t)q, 1));
	errno = 0;
	EXPECT_EQ(-1, mprotect(q, PAGE, PROT_READ | PROT_WRITE));
	EXPECT_EQ(EACCES, errno);
	EXPECT_EQ(0, munmap(p, 2 * PAGE));
}

/* Dropped pages come back, the same page, still current. */
TEST(madvise_harmless)
{
	const struct ntvm_query_map_header *h = header();
	__u64 before;

	ASSERT_NE(NULL, h);
	before = generation();
	EXPECT_EQ(0, madvise((void *)h, PAGE, MADV_DONTNEED));
	EXPECT_EQ(NTVM_QUERY_MAP_MAGIC, h->magic);
	EXPECT_EQ(before, h->generation);
	ASSERT_NE(NULL, VirtualAlloc(NULL, GRAN, MEM_RESERVE, PAGE_NOACCESS));
	EXPECT_LT(before, h->generation);
	EXPECT_EQ(0, madvise((void *)h, PAGE, MADV_DONTNEED));
	EXPECT_EQ(generation(), h->generation);
	EXPECT_EQ(0, madvise((void *)h, PAGE, MADV_COLD));
	EXPECT_EQ(0, madvise((void *)h, PAGE, MADV_PAGEOUT));
	errno = 0;
	EXPECT_EQ(-1, madvise((void *)h, PAGE, MADV_REMOVE));
	EXPECT_EQ(EACCES, errno);
	EXPECT_EQ(NTVM_QUERY_MAP_MAGIC, h->magic);
	EXPECT_FALSE(can_write((uintptr_t)h, 1));
}

/*
 * A child of fork() has not its parent's map there, only the library's
 * reservation of the place (nothing to read), where its own goes when it
 * asks; the parent's still works.
 */
TEST(fork_not_inherited)
{
	const struct ntvm_query_map_header *h = header(), *mine;
	unsigned char vec;
	int status;
	pid_t pid;

	ASSERT_NE(NULL, h);
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		/* Something is mapped there (the reservation), unreadable. */
		if (mincore((void *)h, PAGE, &vec) || can_read((uintptr_t)h, NULL))
			_exit(1);
		/* Its own, of its own context, when it asks. */
		mine = ntvm_query_map();
		if (mine != h)
			_exit(2);
		_exit(mine->magic == NTVM_QUERY_MAP_MAGIC &&
		      mine->generation == 0 ? 0 : 3);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));
	EXPECT_EQ(NTVM_QUERY_MAP_MAGIC, h->magic);
	EXPECT_EQ(0, mincore((void *)h, PAGE, &vec));
}

/*
 * Inherited after MADV_DOFORK, it gives the child nothing: SIGSEGV.  Newer
 * kernels (7.3) refuse MADV_DOFORK on it (a VM_DONTEXPAND mapping): the
 * child then has only the library's reservation of the place there.
 */
TEST(fork_dofork_faults)
{
	const struct ntvm_query_map_header *h = header();
	unsigned char vec;
	int status, ret;
	pid_t pid;

	ASSERT_NE(NULL, h);
	errno = 0;
	ret = madvise((void *)h, PAGE, MADV_DOFORK);
	if (ret) {
		EXPECT_EQ(EINVAL, errno);
	}
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		/* Not inherited: the library's reservation is there. */
		if (ret)
			_exit(!mincore((void *)h, PAGE, &vec) &&
			      !can_read((uintptr_t)h, NULL) ? 0 : 5);
		signal(SIGSEGV, SIG_DFL);
		/* Not the page: the fault is refused. */
		_exit(*(volatile __u32 *)&h->magic == 0 ? 3 : 4);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	if (ret) {
		EXPECT_TRUE(WIFEXITED(status));
		EXPECT_EQ(0, WEXITSTATUS(status));
	} else {
		EXPECT_TRUE(WIFSIGNALED(status));
		EXPECT_EQ(SIGSEGV, WTERMSIG(status));
	}
	EXPECT_EQ(NTVM_QUERY_MAP_MAGIC, h->magic);
}

/* The file in another process (here, a child of fork) maps nothing. */
TEST(other_process_refused)
{
	int fd = dup(ntvm_dev()), status;
	pid_t pid;

	ASSERT_LE(0, fd);
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		void *p = mmap(NULL, PAGE, PROT_READ, MAP_SHARED, fd, 0);

		_exit(p == MAP_FAILED && errno == EPERM ? 0 : 1);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));
	EXPECT_EQ(0, close(fd));
}

TEST(proc_self_mem_refused)
{
	const struct ntvm_query_map_header *h = header();
	struct ntvm_query_map_header copy;
	__u32 bad = 0xdeadbeef;
	int fd;

	ASSERT_NE(NULL, h);
	fd = open("/proc/self/mem", O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, fd);
	errno = 0;
	EXPECT_EQ(-1, pwrite(fd, &bad, sizeof(bad), (uintptr_t)h));
	EXPECT_EQ(EIO, errno);
	EXPECT_EQ(NTVM_QUERY_MAP_MAGIC, h->magic);
	/* Reading it that way is as harmless as reading it. */
	EXPECT_EQ(sizeof(copy), pread(fd, &copy, sizeof(copy), (uintptr_t)h));
	EXPECT_EQ(NTVM_QUERY_MAP_MAGIC, copy.magic);
	EXPECT_EQ(h->generation, copy.generation);
	EXPECT_EQ(0, close(fd));
}

TEST(process_vm_writev_refused)
{
	const struct ntvm_query_map_header *h = header();
	__u32 bad = 0xdeadbeef;
	struct iovec local = { &bad, sizeof(bad) };
	struct iovec remote;

	ASSERT_NE(NULL, h);
	remote.iov_base = (void *)h;
	remote.iov_len = sizeof(bad);
	errno = 0;
	EXPECT_EQ(-1, process_vm_writev(getpid(), &local, 1, &remote, 1, 0));
	EXPECT_EQ(EFAULT, errno);
	EXPECT_EQ(NTVM_QUERY_MAP_MAGIC, h->magic);
}

/* Each kind of change bumps the generation; a query does not. */
TEST(generation_changes)
{
	MEMORY_BASIC_INFORMATION mbi;
	int fds[2];
	uintptr_t b;
	SIZE_T size;
	__u64 g;
	char *p;
	DWORD old;

	ASSERT_NE(NULL, header());
	g = generation();
	ASSERT_NE(~0ULL, g);
	/* Reserve. */
	p = VirtualAlloc(NULL, 4 * GRAN, MEM_RESERVE, PAGE_READWRITE);
	ASSERT_NE(NULL, p);
	EXPECT_BUMPED(g);
	/* A query, of memory ntvm manages or not: nothing. */
	g = generation();
	EXPECT_EQ(sizeof(mbi), VirtualQuery(p, &mbi, sizeof(mbi)));
	EXPECT_EQ(sizeof(mbi), VirtualQuery(&mbi, &mbi, sizeof(mbi)));
	EXPECT_EQ(sizeof(mbi), VirtualQuery(NULL, &mbi, sizeof(mbi)));
	EXPECT_EQ(g, generation());
	/* Commit. */
	ASSERT_EQ(p, VirtualAlloc(p, 2 * PAGE, MEM_COMMIT, PAGE_READWRITE));
	EXPECT_BUMPED(g);
	/* Protect. */
	g = generation();
	ASSERT_TRUE(VirtualProtect(p, PAGE, PAGE_READONLY, &old));
	EXPECT_EQ(PAGE_READWRITE, old);
	EXPECT_BUMPED(g);
	/* A protection refused (a reserved page) changes nothing. */
	g = generation();
	EXPECT_FALSE(VirtualProtect(p + GRAN, PAGE, PAGE_READONLY, &old));
	EXPECT_EQ(g, generation());
	/* A guard page tripped by the process. */
	ASSERT_TRUE(VirtualProtect(p + PAGE, PAGE, PAGE_READWRITE | PAGE_GUARD,
				   &old));
	g = generation();
	EXPECT_FALSE(can_read((uintptr_t)p + PAGE, NULL));
	EXPECT_BUMPED(g);
	g = generation();
	EXPECT_TRUE(can_read((uintptr_t)p + PAGE, NULL));
	EXPECT_EQ(g, generation());
	/* ... and by the kernel (read(2) into it). */
	ASSERT_TRUE(VirtualProtect(p + PAGE, PAGE, PAGE_READWRITE | PAGE_GUARD,
				   &old));
	ASSERT_EQ(0, pipe(fds));
	ASSERT_EQ(1, write(fds[1], "x", 1));
	g = generation();
	errno = 0;
	EXPECT_EQ(-1, read(fds[0], p + PAGE, 1));
	EXPECT_EQ(EFAULT, errno);
	EXPECT_BUMPED(g);
	g = generation();
	EXPECT_EQ(1, read(fds[0], p + PAGE, 1));
	EXPECT_EQ(g, generation());
	close(fds[0]);
	close(fds[1]);
	/* Decommit. */
	g = generation();
	ASSERT_TRUE(VirtualFree(p, PAGE, MEM_DECOMMIT));
	EXPECT_BUMPED(g);
	/* Release part (a split), then the rest. */
	g = generation();
	b = (uintptr_t)p + GRAN;
	size = GRAN;
	ASSERT_EQ(STATUS_SUCCESS, nt_free(&b, &size, MEM_RELEASE));
	EXPECT_BUMPED(g);
	g = generation();
	ASSERT_TRUE(VirtualFree(p, 0, MEM_RELEASE));
	EXPECT_BUMPED(g);
}

/*
 * A new address limit changes what a query reports (addresses above it are
 * refused, the top free region ends there): one step; the same limit
 * again, none.  In a child, whose context is its own.
 */
static int limit_child(void)
{
	__u64 g;

	if (!header())
		return 1;
	g = generation();
	if (g == ~0ULL)
		return 2;
	if (!NtvmSetMaximumApplicationAddress((LPVOID)0x7FFEFFFFUL))
		return 3;
	if (inject_active() ? generation() <= g : generation() != g + 1)
		return 4;
	g = generation();
	if (!NtvmSetMaximumApplicationAddress((LPVOID)0x7FFEFFFFUL))
		return 5;
	if (generation() != g)
		return 6;
	return 0;
}

TEST(generation_address_limit)
{
	int status;
	pid_t pid;

	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0)
		_exit(limit_child());
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));
}

#define PH_TYPE (MEM_RESERVE | MEM_RESERVE_PLACEHOLDER)

/* Placeholders: made, split, joined, replaced, freed back. */
TEST(generation_placeholders)
{
	__u64 g;
	char *p;

	ASSERT_NE(NULL, header());
	g = generation();
	p = VirtualAlloc2(NULL, NULL, 2 * GRAN, PH_TYPE, PAGE_NOACCESS, NULL,
			  0);
	ASSERT_NE(NULL, p);
	EXPECT_BUMPED(g);
	g = generation();
	ASSERT_TRUE(VirtualFree(p, GRAN, MEM_RELEASE |
				MEM_PRESERVE_PLACEHOLDER));
	EXPECT_BUMPED(g);
	g = generation();
	ASSERT_TRUE(VirtualFree(p, 2 * GRAN, MEM_RELEASE |
				MEM_COALESCE_PLACEHOLDERS));
	EXPECT_BUMPED(g);
	g = generation();
	ASSERT_TRUE(VirtualFree(p, GRAN, MEM_RELEASE |
				MEM_PRESERVE_PLACEHOLDER));
	EXPECT_BUMPED(g);
	g = generation();
	ASSERT_EQ(p, VirtualAlloc2(NULL, p, GRAN,
				   MEM_RESERVE | MEM_REPLACE_PLACEHOLDER,
				   PAGE_READWRITE, NULL, 0));
	EXPECT_BUMPED(g);
	g = generation();
	ASSERT_TRUE(VirtualFree(p, GRAN, MEM_RELEASE |
				MEM_PRESERVE_PLACEHOLDER));
	EXPECT_BUMPED(g);
	/* Coalescing what is not two placeholders changes nothing. */
	g = generation();
	EXPECT_FALSE(VirtualFree(p, GRAN, MEM_RELEASE |
				 MEM_COALESCE_PLACEHOLDERS));
	EXPECT_EQ(g, generation());
	ASSERT_TRUE(VirtualFree(p, 0, MEM_RELEASE));
	ASSERT_TRUE(VirtualFree(p + GRAN, 0, MEM_RELEASE));
}

/* Another process's change of this context's memory bumps it too. */
TEST(generation_remote_change)
{
	int fd = dup(ntvm_dev()), status;
	__u64 g;
	pid_t pid;

	ASSERT_LE(0, fd);
	ASSERT_NE(NULL, header());
	g = generation();
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		struct ntvm_alloc_args a = {
			.size = GRAN,
			.type = NTVM_MEM_RESERVE | NTVM_MEM_COMMIT,
			.protect = NTVM_PAGE_READWRITE,
		};

		/* The parent's file, in the child: remote. */
		if (ioctl(fd, NTVM_IOC_ALLOC, &a) || a.status)
			_exit(1);
		_exit(0);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));
	EXPECT_BUMPED(g);
	EXPECT_EQ(0, close(fd));
}

/*
 * A reader following the sequence count never sees a change half made:
 * at rest the count is even, at least twice the generation (a section
 * that only brings the map up to date counts no change), and both only
 * grow.
 */
static void *protect_loop(void *arg)
{
	char *p = arg;
	DWORD old;
	int i;

	for (i = 0; i < 2000; i++)
		if (!VirtualProtect(p, PAGE, i & 1 ? PAGE_READONLY :
				    PAGE_READWRITE, &old))
			return (void *)1;
	return NULL;
}

TEST(reader_consistent)
{
	const struct ntvm_query_map_header *h = header();
	__u64 seq, gen, last_seq = 0, last_gen = 0;
	unsigned long reads = 0, bad = 0;
	pthread_t t;
	void *res;
	char *p;

	ASSERT_NE(NULL, h);
	p = VirtualAlloc(NULL, GRAN, MEM_RESERVE | MEM_COMMIT,
			 PAGE_READWRITE);
	ASSERT_NE(NULL, p);
	ASSERT_EQ(0, pthread_create(&t, NULL, protect_loop, p));
	while (!__atomic_load_n(&bad, __ATOMIC_RELAXED) && reads < 2000000) {
		seq = __atomic_load_n(&h->seq, __ATOMIC_ACQUIRE);
		if (seq & 1)
			continue;
		gen = __atomic_load_n(&h->generation, __ATOMIC_RELAXED);
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		if (__atomic_load_n(&h->seq, __ATOMIC_RELAXED) != seq)
			continue;
		reads++;
		if (gen * 2 > seq || seq < last_seq || gen < last_gen)
			bad++;
		last_seq = seq;
		last_gen = gen;
	}
	ASSERT_EQ(0, pthread_join(t, &res));
	EXPECT_EQ(NULL, res);
	EXPECT_EQ(0, bad);
	EXPECT_LT(0, reads);
	EXPECT_GE(h->seq, generation() * 2);
	EXPECT_EQ(0, h->seq & 1);
}

static __u64 contexts(int fd)
{
	struct ntvm_sysinfo_args info;

	if (ioctl(fd, NTVM_IOC_SYSINFO, &info))
		return ~0ULL;
	return info.contexts;
}

/*
 * The mapping keeps the file, and so the context, until it is unmapped;
 * then the context, and the page with it, goes (the debug kernel's
 * kmemleak would report what stayed).
 */
TEST(freed_with_file_and_mapping)
{
	int own = ntvm_dev(), fd;
	__u64 base;
	void *p;

	ASSERT_LE(0, own);
	base = contexts(own);
	ASSERT_NE(~0ULL, base);
	fd = open("/dev/ntvm", O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, fd);
	EXPECT_EQ(base + 1, contexts(own));
	p = mmap(NULL, PAGE, PROT_READ, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, p);
	EXPECT_EQ(0, close(fd));
	EXPECT_EQ(base + 1, contexts(own));
	EXPECT_EQ(NTVM_QUERY_MAP_MAGIC,
		  ((struct ntvm_query_map_header *)p)->magic);
	EXPECT_EQ(0, munmap(p, PAGE));
	EXPECT_EQ(base, contexts(own));
	/* And the other order. */
	fd = open("/dev/ntvm", O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, fd);
	p = mmap(NULL, PAGE, PROT_READ, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, p);
	EXPECT_EQ(NTVM_QUERY_MAP_MAGIC,
		  ((struct ntvm_query_map_header *)p)->magic);
	EXPECT_EQ(0, munmap(p, PAGE));
	EXPECT_EQ(base + 1, contexts(own));
	EXPECT_EQ(0, close(fd));
	EXPECT_EQ(base, contexts(own));
}

TEST_HARNESS_MAIN
