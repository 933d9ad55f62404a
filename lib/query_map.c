// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The query map (NTVM_FEATURE_QUERY_MAP): the context's state, which the
 * module maps read-only into the process.  Mapped at first use, once per
 * process, thread-safe; a forked child (which does not inherit the
 * mapping, nor uses its parent's context) maps its own.
 *
 * Layout version 2 (NTVM_FEATURE_QUERY_RECORDS) holds the allocations:
 * ntvm_query_map_lookup() answers a query of the process's own memory
 * from it, without a system call, exactly as NTVM_IOC_QUERY would, or
 * says to ask NTVM_IOC_QUERY (see Documentation/ntvm.rst, "The query
 * map").  A 64-bit process maps the whole window (map_size bytes); a
 * 32-bit one only the header, and keeps asking the module.
 *
 * The reader trusts nothing it reads: the module changes the map under it
 * (a section that turns out torn, with the sequence count changed, may
 * hold anything), so every offset and count is checked against the bytes
 * that exist (@used, and the length mapped) before it is followed, every
 * loop is bounded, and only an answer read in one section whose count
 * did not change is given.
 */
#include <pthread.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>

#include "internal.h"

/*
 * The mapping: its header, how many bytes of it are mapped, and the mask
 * that rounds an address down to its page.
 */
struct ntvm_qmap {
	const struct ntvm_query_map_header *h;
	__u64 len;
	__u64 page_mask;
};

static pthread_mutex_t ntvm_qmap_lock = PTHREAD_MUTEX_INITIALIZER;
static struct ntvm_qmap ntvm_qmap_mapping;
/* &ntvm_qmap_mapping once mapped (release: its fields are set). */
static const struct ntvm_qmap *ntvm_qmap;
static int ntvm_qmap_tried;

__thread unsigned long ntvm_query_map_hits NTVM_TLS;
__thread unsigned long ntvm_query_map_bad NTVM_TLS;

/*
 * Where the window goes: address space a 64-bit process reserves
 * (PROT_NONE, MAP_NORESERVE: it costs no memory) when it opens the
 * device, before its first allocation, and maps the window over at its
 * first query.  Were the window mapped wherever mmap(2) finds room at
 * that query, it could land in a hole an allocation left, or, in a forked
 * child, in the holes of its parent's views (VM_DONTCOPY), where a query
 * must find free memory, not the window.  A child inherits the
 * reservation, or reserves again where its parent's window was.
 */
#define NTVM_QMAP_RESERVE	(1ULL << 30)

static void *ntvm_qmap_spot;
static __u64 ntvm_qmap_spot_len;
/* A forked child that could not have the place: no window. */
static int ntvm_qmap_no_spot;
/* A thread is mapping the map (ntvm_query_map_open()). */
static int ntvm_qmap_opening;

static long ntvm_qmap_page(void)
{
	long page = sysconf(_SC_PAGESIZE);

	return page > 0 ? page : 4096;
}

/* The reservation, at @hint if not NULL; none where it cannot be. */
static void ntvm_qmap_reserve(void *hint, __u64 len)
{
#if UINTPTR_MAX > 0xffffffffu
	struct rlimit as;
	void *p;

	/*
	 * Not in a process whose address space is limited (RLIMIT_AS):
	 * the window would take a gigabyte of it.  The ioctl answers there.
	 */
	if (getrlimit(RLIMIT_AS, &as) || as.rlim_cur != RLIM_INFINITY)
		return;
	p = mmap(hint, len, PROT_NONE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE |
		 (hint ? MAP_FIXED_NOREPLACE : 0), -1, 0);
	if (p == MAP_FAILED)
		return;
	if (hint && p != hint) {
		/* A kernel without MAP_FIXED_NOREPLACE took it as a hint. */
		munmap(p, len);
		return;
	}
	ntvm_qmap_spot = p;
	ntvm_qmap_spot_len = len;
#else
	(void)hint;
	(void)len;
#endif
}

void ntvm_query_map_opened(void)
{
	if (!ntvm_qmap_spot && !ntvm_qmap_no_spot)
		ntvm_qmap_reserve(NULL, NTVM_QMAP_RESERVE);
}

void ntvm_query_map_child(void)
{
	/*
	 * The window is not inherited (VM_DONTCOPY): its address is free
	 * in the child, which reserves it again.  A reservation not yet
	 * mapped over is inherited as it is.  Where the child cannot have
	 * the place (it inherited the window itself, MADV_DOFORK), it has
	 * no window: one mapped wherever there is room could take the
	 * place of its parent's views.  Nor where another thread of the
	 * parent was mapping it as it forked: what the child has there is
	 * not known.  (No lock is held across fork() for this: another
	 * library's fork handler could wait for a thread that waits for
	 * it.)
	 */
	if (__atomic_load_n(&ntvm_qmap_opening, __ATOMIC_RELAXED)) {
		ntvm_qmap_spot = NULL;
		ntvm_qmap_spot_len = 0;
		ntvm_qmap_no_spot = 1;
	} else if (ntvm_qmap_spot && ntvm_qmap &&
		   (void *)ntvm_qmap_mapping.h == ntvm_qmap_spot) {
		void *at = ntvm_qmap_spot;
		__u64 len = ntvm_qmap_spot_len;

		ntvm_qmap_spot = NULL;
		ntvm_qmap_spot_len = 0;
		ntvm_qmap_reserve(at, len);
		if (!ntvm_qmap_spot)
			ntvm_qmap_no_spot = 1;
	}
	ntvm_qmap = NULL;
	ntvm_qmap_mapping.h = NULL;
	ntvm_qmap_mapping.len = 0;
	ntvm_qmap_mapping.page_mask = 0;
	ntvm_qmap_tried = 0;
	ntvm_qmap_opening = 0;
	pthread_mutex_init(&ntvm_qmap_lock, NULL);
}

/* The window a 64-bit process maps: the whole map, if it is sane. */
static __u64 ntvm_qmap_window(const struct ntvm_query_map_header *h,
			      __u64 page)
{
	__u64 size = __atomic_load_n(&h->map_size, __ATOMIC_RELAXED);

	if (size <= page || (size & (page - 1)))
		return page;
	return size < ntvm_qmap_spot_len ? size : ntvm_qmap_spot_len;
}

/* The reservation given up: unmapped, from @from on (the rest is gone). */
static void ntvm_qmap_unreserve(__u64 from)
{
	if (ntvm_qmap_spot && ntvm_qmap_spot_len > from)
		munmap((char *)ntvm_qmap_spot + from,
		       ntvm_qmap_spot_len - from);
	ntvm_qmap_spot = NULL;
	ntvm_qmap_spot_len = 0;
}

/*
 * Map the window over the reservation.  Return: its length, or 0 when
 * there is none.  A MAP_FIXED mapping that fails may have unmapped what
 * was there: the place is not touched again.
 */
static __u64 ntvm_qmap_map_window(const struct ntvm_query_map_header *h,
				  __u64 page, int fd)
{
	__u64 len;

	if (!ntvm_qmap_spot)
		return 0;
	len = ntvm_qmap_window(h, page);
	if (len <= page ||
	    mmap(ntvm_qmap_spot, len, PROT_READ, MAP_SHARED | MAP_FIXED, fd,
		 0) == MAP_FAILED) {
		ntvm_qmap_unreserve(len > page ? len : 0);
		return 0;
	}
	/* What is left of the reservation is not needed. */
	if (ntvm_qmap_spot_len > len)
		munmap((char *)ntvm_qmap_spot + len, ntvm_qmap_spot_len - len);
	ntvm_qmap_spot_len = len;
	return len;
}

static int ntvm_query_map_open(struct ntvm_qmap *m)
{
	const struct ntvm_query_map_header *h;
	__u64 page = ntvm_qmap_page(), len;
	void *p;
	int fd;

	fd = ntvm_dev();
	if (fd < 0)
		return -1;
	/* The header, wherever there is room, to read what the map is. */
	p = mmap(NULL, page, PROT_READ, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		return -1;
	h = p;
	if (h->magic != NTVM_QUERY_MAP_MAGIC ||
	    h->version < NTVM_QUERY_MAP_VERSION) {
		/* A map this library cannot read: no window either. */
		munmap(p, page);
		ntvm_qmap_unreserve(0);
		return -1;
	}
	/* Without the window, the header alone: every query asks the module. */
	len = ntvm_qmap_map_window(h, page, fd);
	if (len) {
		munmap(p, page);
		p = ntvm_qmap_spot;
	} else {
		len = page;
	}
	m->h = p;
	m->len = len;
	m->page_mask = ~(page - 1);
	return 0;
}

static const struct ntvm_qmap *ntvm_qmap_get_slow(void)
{
	const struct ntvm_qmap *m;

	if (__atomic_load_n(&ntvm_qmap_tried, __ATOMIC_ACQUIRE))
		return __atomic_load_n(&ntvm_qmap, __ATOMIC_ACQUIRE);
	pthread_mutex_lock(&ntvm_qmap_lock);
	if (!ntvm_qmap && !ntvm_qmap_tried) {
		__atomic_store_n(&ntvm_qmap_opening, 1, __ATOMIC_SEQ_CST);
		if (!ntvm_query_map_open(&ntvm_qmap_mapping))
			__atomic_store_n(&ntvm_qmap, &ntvm_qmap_mapping,
					 __ATOMIC_RELEASE);
		__atomic_store_n(&ntvm_qmap_tried, 1, __ATOMIC_RELEASE);
		__atomic_store_n(&ntvm_qmap_opening, 0, __ATOMIC_SEQ_CST);
	}
	m = ntvm_qmap;
	pthread_mutex_unlock(&ntvm_qmap_lock);
	return m;
}

/* The mapping, mapped at the first call; NULL when there is none. */
static inline const struct ntvm_qmap *ntvm_qmap_get(void)
{
	const struct ntvm_qmap *m;

	m = __atomic_load_n(&ntvm_qmap, __ATOMIC_ACQUIRE);
	return m ? m : ntvm_qmap_get_slow();
}

const struct ntvm_query_map_header *ntvm_query_map(void)
{
	const struct ntvm_qmap *m = ntvm_qmap_get();

	return m ? m->h : NULL;
}

__u64 ntvm_query_map_length(void)
{
	const struct ntvm_qmap *m = ntvm_qmap_get();

	return m ? m->len : 0;
}

int ntvm_query_map_generation(__u64 *generation)
{
	const struct ntvm_query_map_header *h = ntvm_query_map();
	__u64 seq;

	if (!h)
		return -1;
	for (;;) {
		seq = __atomic_load_n(&h->seq, __ATOMIC_ACQUIRE);
		if (seq & 1)
			continue;
		*generation = __atomic_load_n(&h->generation,
					      __ATOMIC_RELAXED);
		/* The reads above before the second read of seq. */
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		if (__atomic_load_n(&h->seq, __ATOMIC_RELAXED) == seq)
			return 0;
	}
}

#if UINTPTR_MAX > 0xffffffffu

/*
 * How many times a reader reads the map before it asks the module: a
 * change in progress keeps the count odd, possibly for long (a request
 * may sleep), and NTVM_IOC_QUERY waits for it.
 */
#define NTVM_QMAP_TRIES		64

/* A reader waiting for a change in progress. */
static inline void ntvm_cpu_relax(void)
{
#if defined(__x86_64__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ __volatile__("yield" ::: "memory");
#else
	__asm__ __volatile__("" ::: "memory");
#endif
}

#define NTVM_QMAP_NODE_SIZE	(NTVM_QUERY_MAP_FANOUT * sizeof(__u32))
#define NTVM_QMAP_GRANULE_SHIFT	16

/* What one read of the map gave. */
enum ntvm_qmap_read {
	NTVM_QMAP_ANSWER,	/* *q is the answer, if the count held */
	NTVM_QMAP_ASK,		/* ask NTVM_IOC_QUERY, if the count held */
	NTVM_QMAP_INVALID,	/* nothing that makes sense: torn, or a bug */
	NTVM_QMAP_BUSY,		/* the count was odd: a change in progress */
};

static inline __u64 ntvm_ld64(const __u64 *p)
{
	return __atomic_load_n(p, __ATOMIC_RELAXED);
}

static inline __u32 ntvm_ld32(const __u32 *p)
{
	return __atomic_load_n(p, __ATOMIC_RELAXED);
}

/*
 * Whether [@off, @off + @size) lies in the @used bytes that exist, @off
 * aligned to @align (a power of two).
 */
static inline int ntvm_qmap_in(__u64 off, __u64 size, __u64 align,
			       __u64 used)
{
	return !(off & (align - 1)) && off <= used && size <= used - off;
}

/*
 * The run holding @page of a record's @nr_runs (two or more) at @runs:
 * the last whose start is at most @page.  Not inlined: the registers its
 * search needs would be saved and restored on every query.
 */
static __attribute__((noinline)) enum ntvm_qmap_read
ntvm_qmap_run(const char *map, __u64 used, __u64 page, __u64 base, __u64 end,
	      __u64 runs, __u32 nr_runs, struct ntvm_query_args *q)
{
	const struct ntvm_query_map_run *run;
	__u64 start, next;
	__u32 lo = 0, n = nr_runs, half, state;

	if (!nr_runs ||
	    !ntvm_qmap_in(runs, (__u64)nr_runs * sizeof(*run), 8, used))
		return NTVM_QMAP_INVALID;
	run = (const void *)(map + runs);
	/* At most 32 steps, whatever the starts read. */
	while (n > 1) {
		half = n / 2;
		if (ntvm_ld64(&run[lo + half].start) <= page)
			lo += half;
		n -= half;
	}
	start = ntvm_ld64(&run[lo].start);
	next = lo + 1 < nr_runs ? ntvm_ld64(&run[lo + 1].start) : end;
	if (start > page || start < base || next <= page || next > end)
		return NTVM_QMAP_INVALID;
	state = ntvm_ld32(&run[lo].state);
	if (state != NTVM_MEM_COMMIT && state != NTVM_MEM_RESERVE)
		return NTVM_QMAP_INVALID;
	q->state = state;
	q->protect = ntvm_ld32(&run[lo].protect);
	q->region_size = next - page;
	return NTVM_QMAP_ANSWER;
}

/* The record at @off (tag cleared) answers for @address, or says ask. */
static inline __attribute__((always_inline)) enum ntvm_qmap_read
ntvm_qmap_record(const char *map, __u64 used, __u64 off, __u64 address,
		 __u64 page, struct ntvm_query_args *q)
{
	const struct ntvm_query_map_record *r;
	__u32 nr_runs, state;
	__u64 base, end;

	/* @used is at least a header's size: no wrap below. */
	if ((off & (sizeof(*r) - 1)) || off > used - sizeof(*r))
		return NTVM_QMAP_INVALID;
	r = (const void *)(map + off);
	if (ntvm_ld32(&r->flags) & NTVM_QUERY_MAP_RECORD_SLOW)
		return NTVM_QMAP_ASK;
	base = ntvm_ld64(&r->base);
	end = ntvm_ld64(&r->end);
	/* Outside it: no allocation there, which the module describes. */
	if (address < base || address >= end)
		return NTVM_QMAP_ASK;
	q->allocation_base = base;
	q->allocation_protect = ntvm_ld32(&r->allocation_protect);
	q->type = ntvm_ld32(&r->type);
	q->region_flags = ntvm_ld32(&r->region_flags);
	nr_runs = ntvm_ld32(&r->nr_runs);
	if (nr_runs == 1) {
		/* One run, in the record itself: base to end. */
		state = ntvm_ld32(&r->state);
		if (state != NTVM_MEM_COMMIT && state != NTVM_MEM_RESERVE)
			return NTVM_QMAP_INVALID;
		q->state = state;
		q->protect = ntvm_ld32(&r->protect);
		q->region_size = end - page;
		return NTVM_QMAP_ANSWER;
	}
	return ntvm_qmap_run(map, used, page, base, end,
			     ntvm_ld64(&r->runs), nr_runs, q);
}

/*
 * Whether @e is a node's entry whose node lies in the @used bytes (at
 * least a header's): its offset 1 KiB aligned, with the node's tag.
 */
static inline int ntvm_qmap_is_node(__u32 e, __u64 used)
{
	return (e & (NTVM_QMAP_NODE_SIZE - 1)) == NTVM_QUERY_MAP_NODE &&
	       e - NTVM_QUERY_MAP_NODE <= used - NTVM_QMAP_NODE_SIZE;
}

/* The entry for @index (its low 8 bits) in the node at node entry @e. */
static inline __u32 ntvm_qmap_entry(const char *map, __u32 e, __u64 index)
{
	return ntvm_ld32((const __u32 *)(map + e - NTVM_QUERY_MAP_NODE) +
			 (index & 0xff));
}

/* One read of the map, inside one section of the sequence count. */
static inline __attribute__((always_inline)) enum ntvm_qmap_read
ntvm_qmap_read(const struct ntvm_qmap *m, __u64 address,
	       struct ntvm_query_args *q)
{
	const struct ntvm_query_map_header *h = m->h;
	const char *map = (const char *)h;
	__u64 seq, used, granule, page;
	enum ntvm_qmap_read res;
	__u32 e;

	seq = __atomic_load_n(&h->seq, __ATOMIC_ACQUIRE);
	if (seq & 1)
		return NTVM_QMAP_BUSY;
	used = ntvm_ld64(&h->used);
	if (used > m->len)
		used = m->len;
	granule = address >> NTVM_QMAP_GRANULE_SHIFT;
	if (used < sizeof(*h)) {
		res = NTVM_QMAP_INVALID;
		goto out;
	}
	if (ntvm_ld32(&h->pending) || address > ntvm_ld64(&h->max_address) ||
	    granule >> 32) {
		res = NTVM_QMAP_ASK;
		goto out;
	}
	/*
	 * Three levels of nodes below the root, at most.  An entry with the
	 * node's tag that is not a node in @used, or a fourth level's, is
	 * left to the switch, which finds it invalid.
	 */
	e = ntvm_ld32(&h->root[granule >> 24]);
	if (ntvm_qmap_is_node(e, used)) {
		e = ntvm_qmap_entry(map, e, granule >> 16);
		if (ntvm_qmap_is_node(e, used)) {
			e = ntvm_qmap_entry(map, e, granule >> 8);
			if (ntvm_qmap_is_node(e, used))
				e = ntvm_qmap_entry(map, e, granule);
		}
	}
	switch (e & NTVM_QUERY_MAP_TAG) {
	case NTVM_QUERY_MAP_RECORD:
		page = address & m->page_mask;
		q->base_address = page;
		res = ntvm_qmap_record(map, used, e - NTVM_QUERY_MAP_RECORD,
				       address, page, q);
		break;
	case NTVM_QUERY_MAP_SLOW:
		res = NTVM_QMAP_ASK;
		break;
	default:
		/* 0: no record; anything else (a node's tag here): invalid. */
		res = e ? NTVM_QMAP_INVALID : NTVM_QMAP_ASK;
		break;
	}
out:
	/* The reads above before the second read of seq. */
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	if (__atomic_load_n(&h->seq, __ATOMIC_RELAXED) != seq)
		return NTVM_QMAP_BUSY;
	return res;
}

/*
 * A query from the map: 1 with *@q the answer, or 0.  Inlined whole, with
 * the read and the record, into each caller below, so that VirtualQuery
 * makes one call (ntvm_query_map_mbi()): under TCG every call, branch and
 * instruction on this path shows in "query_1" (see
 * Documentation/performance.rst).
 */
static inline __attribute__((always_inline)) int
ntvm_qmap_lookup(__u64 address, struct ntvm_query_args *q)
{
	const struct ntvm_qmap *m = ntvm_qmap_get();
	int i;

	/* The header alone (no room for the window): nothing to read. */
	if (!m || m->len <= ~m->page_mask + 1)
		return 0;
	for (i = 0; i < NTVM_QMAP_TRIES; i++) {
		/* *q is written as read: whatever the read, it is filled. */
		switch (ntvm_qmap_read(m, address, q)) {
		case NTVM_QMAP_ANSWER:
			q->address = address;
			q->status = NTVM_STATUS_SUCCESS;
			q->flags = 0;
			q->pad = 0;
			return 1;
		case NTVM_QMAP_ASK:
			return 0;
		case NTVM_QMAP_INVALID:
			/* Read whole, and still no sense: the module's bug. */
			ntvm_query_map_bad++;
			return 0;
		case NTVM_QMAP_BUSY:
			ntvm_cpu_relax();
			break;
		}
	}
	return 0;
}

#else

/* A 32-bit process maps the header only: the module answers. */
static inline int ntvm_qmap_lookup(__u64 address, struct ntvm_query_args *q)
{
	return 0;
}

#endif

int ntvm_query_map_lookup(__u64 address, struct ntvm_query_args *q)
{
	return ntvm_qmap_lookup(address, q);
}

int ntvm_query_map_answer(__u64 address, struct ntvm_query_args *q)
{
	if (!ntvm_qmap_lookup(address, q))
		return 0;
	ntvm_query_map_hits++;
	return 1;
}

int ntvm_query_map_mbi(__u64 address, MEMORY_BASIC_INFORMATION *mbi)
{
	struct ntvm_query_args q;

	if (!ntvm_qmap_lookup(address, &q))
		return 0;
	ntvm_query_map_hits++;
	ntvm_mbi_of(mbi, &q);
	return 1;
}
