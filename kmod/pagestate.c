// SPDX-License-Identifier: GPL-2.0
/*
 * Per-page state: one byte a page, in chunks found by address.
 *
 * Writers hold the context's op_lock and the chunk's spinlock; the fault
 * path reads under RCU and writes (clearing a guard bit) under the chunk's
 * spinlock.  A chunk with no committed page is freed (after a grace
 * period) by ntvm_pages_trim(), except for the first NTVM_IDLE_CHUNKS of
 * them, kept for the next commit there: a process that allocates and
 * frees in the same place does not allocate a chunk each time.
 *
 * Write watch: a chunk also has a bit a page, "written", set by the first
 * write to the page after a reset (ntvm_page_mark_written(), from
 * page_mkwrite with the folio locked, while the process has write-watched
 * allocations), and a bit "latched", a copy of "written" made by a
 * protection change, which a decommit does not clear (Windows keeps
 * reporting such a page).  Both are set and cleared under the chunk's
 * spinlock; a chunk with a latched page is not freed.
 *
 * MEM_RESET (reset.c): a bit a page "lost", set when the shrinker
 * discarded a reset page and cleared by MEM_RESET_UNDO or when the page
 * goes.  Set by the shrinker without op_lock, with the page's reset entry
 * erased in the same step (reset.c); cleared under op_lock; always under
 * the chunk's spinlock.
 */

#include <linux/rcupdate.h>
#include <linux/slab.h>

#include "ntvm.h"

static unsigned long ntvm_chunk_index(unsigned long addr)
{
	return addr >> (PAGE_SHIFT + NTVM_CHUNK_SHIFT);
}

static unsigned int ntvm_chunk_slot(unsigned long addr)
{
	return (addr >> PAGE_SHIFT) & (NTVM_CHUNK_PAGES - 1);
}

/* First address of the chunk after the one holding @addr. */
static unsigned long ntvm_chunk_end(unsigned long addr)
{
	return (ntvm_chunk_index(addr) + 1) << (PAGE_SHIFT + NTVM_CHUNK_SHIFT);
}

/*
 * The part of a range that lies in one chunk: [start, stop), with the
 * chunk (NULL when it does not exist).  Callers hold op_lock or RCU.
 */
struct ntvm_chunk_span {
	unsigned long start;
	unsigned long stop;
	unsigned long end;
	struct ntvm_chunk *chunk;
};

static void ntvm_chunk_span_init(struct ntvm_chunk_span *cs,
				 unsigned long start, unsigned long end)
{
	cs->stop = start;
	cs->end = end;
}

/* Step @cs to the next chunk of its range; false after the last. */
static bool ntvm_chunk_span_next(struct ntvm_ctx *ctx,
				 struct ntvm_chunk_span *cs)
{
	cs->start = cs->stop;
	if (cs->start >= cs->end)
		return false;
	cs->stop = min(cs->end, ntvm_chunk_end(cs->start));
	cs->chunk = xa_load(&ctx->chunks, ntvm_chunk_index(cs->start));
	return true;
}

u8 ntvm_page_state(struct ntvm_ctx *ctx, unsigned long addr)
{
	struct ntvm_chunk *c;
	u8 st = 0;

	rcu_read_lock();
	c = xa_load(&ctx->chunks, ntvm_chunk_index(addr));
	if (c)
		st = READ_ONCE(c->state[ntvm_chunk_slot(addr)]);
	rcu_read_unlock();
	return st;
}

/**
 * ntvm_pages_prepare - make sure every chunk of [start, end) exists
 * @ctx:   the context
 * @start: first address
 * @end:   end address
 *
 * Called before a state change that cannot fail afterwards.
 * Return: 0 or -ENOMEM (chunks made so far stay; ntvm_pages_trim() them).
 */
int ntvm_pages_prepare(struct ntvm_ctx *ctx, unsigned long start,
		       unsigned long end)
{
	struct ntvm_chunk_span cs;

	lockdep_assert_held(&ctx->op_lock);
	ntvm_chunk_span_init(&cs, start, end);
	while (ntvm_chunk_span_next(ctx, &cs)) {
		struct ntvm_chunk *c;
		int err;

		if (cs.chunk)
			continue;
		/* One slab object of at most a page. */
		BUILD_BUG_ON(sizeof(*c) > PAGE_SIZE);
		c = kzalloc(sizeof(*c), GFP_KERNEL_ACCOUNT);
		if (!c)
			return -ENOMEM;
		spin_lock_init(&c->lock);
		err = xa_insert(&ctx->chunks, ntvm_chunk_index(cs.start), c,
				GFP_KERNEL_ACCOUNT);
		if (err) {
			kfree(c);
			return err;
		}
	}
	return 0;
}

/* Set the state of every page of [start, end); chunks must exist. */
void ntvm_pages_set(struct ntvm_ctx *ctx, unsigned long start,
		    unsigned long end, u8 state)
{
	struct ntvm_chunk_span cs;
	unsigned long addr;

	lockdep_assert_held(&ctx->op_lock);
	/* Before the fault path can see a new state: readers read again. */
	ntvm_qmap_states_changed(ctx, start, end);
	ntvm_chunk_span_init(&cs, start, end);
	while (ntvm_chunk_span_next(ctx, &cs)) {
		struct ntvm_chunk *c = cs.chunk;

		if (!c) {
			/* Only possible when clearing: nothing to clear. */
			WARN_ON_ONCE(state);
			continue;
		}
		spin_lock(&c->lock);
		for (addr = cs.start; addr < cs.stop; addr += PAGE_SIZE) {
			u8 *p = &c->state[ntvm_chunk_slot(addr)];

			c->committed += !!state - !!*p;
			WRITE_ONCE(*p, state);
		}
		spin_unlock(&c->lock);
		if (c->idle && c->committed) {
			c->idle = false;
			ctx->idle_chunks--;
		}
	}
}

/* Free (or keep idle) the chunks of [start, end) with no committed page. */
void ntvm_pages_trim(struct ntvm_ctx *ctx, unsigned long start,
		     unsigned long end)
{
	struct ntvm_chunk_span cs;

	lockdep_assert_held(&ctx->op_lock);
	ntvm_chunk_span_init(&cs, start, end);
	while (ntvm_chunk_span_next(ctx, &cs)) {
		struct ntvm_chunk *c = cs.chunk;

		if (!c || c->committed || c->idle ||
		    !bitmap_empty(c->latched, NTVM_CHUNK_PAGES))
			continue;
		if (ctx->idle_chunks < NTVM_IDLE_CHUNKS) {
			c->idle = true;
			ctx->idle_chunks++;
			continue;
		}
		xa_erase(&ctx->chunks, ntvm_chunk_index(cs.start));
		kfree_rcu(c, rcu);
	}
}

unsigned long ntvm_pages_count_committed(struct ntvm_ctx *ctx,
					 unsigned long start,
					 unsigned long end)
{
	struct ntvm_chunk_span cs;
	unsigned long addr, n = 0;

	lockdep_assert_held(&ctx->op_lock);
	ntvm_chunk_span_init(&cs, start, end);
	while (ntvm_chunk_span_next(ctx, &cs)) {
		/* ->committed is counted under op_lock. */
		if (!cs.chunk || !cs.chunk->committed)
			continue;
		for (addr = cs.start; addr < cs.stop; addr += PAGE_SIZE)
			n += !!READ_ONCE(cs.chunk->state[ntvm_chunk_slot(addr)]);
	}
	return n;
}

/**
 * ntvm_pages_run - the run of identical page states starting at @start
 * @ctx:   the context
 * @start: first address
 * @end:   where to stop looking
 * @state: out: the state of the page at @start
 *
 * Return: the end of the run, at most @end.
 */
unsigned long ntvm_pages_run(struct ntvm_ctx *ctx, unsigned long start,
			     unsigned long end, u8 *state)
{
	struct ntvm_chunk_span cs;
	unsigned long addr = start;
	bool seen = false;
	u8 first = 0, st;

	lockdep_assert_held(&ctx->op_lock);
	rcu_read_lock();
	ntvm_chunk_span_init(&cs, start, end);
	while (ntvm_chunk_span_next(ctx, &cs)) {
		/* Callers hold op_lock, which ->committed is counted under. */
		if (!cs.chunk || !cs.chunk->committed) {
			/* Every page there is uncommitted. */
			if (seen && first)
				break;
			seen = true;
			addr = cs.stop;
			continue;
		}
		for (addr = cs.start; addr < cs.stop; addr += PAGE_SIZE) {
			st = READ_ONCE(cs.chunk->state[ntvm_chunk_slot(addr)]);
			if (!seen) {
				first = st;
				seen = true;
			} else if (st != first) {
				goto out;
			}
		}
	}
out:
	rcu_read_unlock();
	*state = first;
	return min(addr, end);
}

void ntvm_pages_destroy(struct ntvm_ctx *ctx)
{
	struct ntvm_chunk *c;
	unsigned long idx;

	xa_for_each(&ctx->chunks, idx, c)
		kfree(c);
	xa_destroy(&ctx->chunks);
}

/**
 * ntvm_page_access - may this access to @addr proceed?
 * @ctx:   the context
 * @addr:  the faulting address
 * @write: the access is a write
 *
 * Callers that must not be overtaken by a protection change call this with
 * the folio locked (see ntvm_view_revoke()).
 *
 * Return: NTVM_ACCESS_OK, NTVM_ACCESS_DENIED, or NTVM_ACCESS_GUARD for a
 * guard page, which refuses the access once: the caller clears the guard
 * with ntvm_page_clear_guard().
 */
enum ntvm_access ntvm_page_access(struct ntvm_ctx *ctx, unsigned long addr,
				  bool write)
{
	u8 st = ntvm_page_state(ctx, addr);

	if (unlikely(st & NTVM_PS_GUARD))
		return NTVM_ACCESS_GUARD;
	if (write ? ntvm_prot_writable(st) : ntvm_prot_readable(st))
		return NTVM_ACCESS_OK;
	return NTVM_ACCESS_DENIED;
}

/**
 * ntvm_page_clear_guard - clear the guard bit of page @addr (one shot)
 * @ctx:  the context
 * @addr: the page
 *
 * Return: true when this call cleared it; false when it was not set (an
 * access or a protection change cleared it first).
 */
bool ntvm_page_clear_guard(struct ntvm_ctx *ctx, unsigned long addr)
{
	struct ntvm_chunk *c;
	bool cleared = false;
	u8 *p;

	/*
	 * The query map stops answering for the page before it may change,
	 * until it has and the map has been told (below).
	 */
	ntvm_qmap_guard_begin(ctx, addr);
	rcu_read_lock();
	c = xa_load(&ctx->chunks, ntvm_chunk_index(addr));
	if (c) {
		p = &c->state[ntvm_chunk_slot(addr)];
		spin_lock(&c->lock);
		if (*p & NTVM_PS_GUARD) {
			WRITE_ONCE(*p, *p & ~NTVM_PS_GUARD);
			cleared = true;
		}
		spin_unlock(&c->lock);
	}
	rcu_read_unlock();
	/* The fault path's only change of the state a query reports. */
	if (cleared)
		ntvm_qmap_changed(ctx, addr, addr + PAGE_SIZE);
	ntvm_qmap_guard_end(ctx);
	return cleared;
}

/* Called from page_mkwrite, with the folio locked. */
void ntvm_page_mark_written(struct ntvm_ctx *ctx, unsigned long addr)
{
	struct ntvm_chunk *c;

	rcu_read_lock();
	c = xa_load(&ctx->chunks, ntvm_chunk_index(addr));
	if (c) {
		spin_lock(&c->lock);
		__set_bit(ntvm_chunk_slot(addr), c->written);
		spin_unlock(&c->lock);
	}
	rcu_read_unlock();
}

/*
 * The first page of [start, end) written or latched, or @end.  Only the
 * chunks that exist are looked at.
 */
unsigned long ntvm_pages_next_written(struct ntvm_ctx *ctx,
				      unsigned long start, unsigned long end)
{
	unsigned long idx = ntvm_chunk_index(start);
	unsigned long last = ntvm_chunk_index(end - 1);
	struct ntvm_chunk *c;

	lockdep_assert_held(&ctx->op_lock);
	if (start >= end)
		return end;
	/* Chunks are freed only under op_lock, which we hold. */
	xa_for_each_range(&ctx->chunks, idx, c, idx, last) {
		unsigned long base = idx << (PAGE_SHIFT + NTVM_CHUNK_SHIFT);
		unsigned long from = max(start, base);
		unsigned long to = min(end, ntvm_chunk_end(base));
		unsigned int first = ntvm_chunk_slot(from);
		unsigned int stop = first + ((to - from) >> PAGE_SHIFT);
		unsigned int w, l;

		/* Unlocked reads: a hint, checked again to reset. */
		w = data_race(find_next_bit(c->written, stop, first));
		/* As above. */
		l = data_race(find_next_bit(c->latched, stop, first));
		if (min(w, l) < stop)
			return from + ((unsigned long)(min(w, l) - first) <<
				       PAGE_SHIFT);
	}
	return end;
}

/* A reset page: neither written nor latched. */
void ntvm_page_clear_written(struct ntvm_ctx *ctx, unsigned long addr)
{
	struct ntvm_chunk *c = xa_load(&ctx->chunks, ntvm_chunk_index(addr));

	lockdep_assert_held(&ctx->op_lock);
	if (!c)
		return;
	spin_lock(&c->lock);
	__clear_bit(ntvm_chunk_slot(addr), c->written);
	__clear_bit(ntvm_chunk_slot(addr), c->latched);
	spin_unlock(&c->lock);
}

/**
 * ntvm_page_clear_written_unless - reset a page, unless @busy says not now
 * @ctx:  the context
 * @addr: the page
 * @busy: called under the chunk's lock, which ntvm_page_mark_written()
 *        takes too: true when the page must be reset another way
 *
 * Return: whether the page was reset.
 */
bool ntvm_page_clear_written_unless(struct ntvm_ctx *ctx, unsigned long addr,
				    bool (*busy)(struct ntvm_ctx *ctx,
						 unsigned long addr))
{
	struct ntvm_chunk *c = xa_load(&ctx->chunks, ntvm_chunk_index(addr));
	bool done = false;

	lockdep_assert_held(&ctx->op_lock);
	if (!c)
		return true;
	spin_lock(&c->lock);
	if (!busy(ctx, addr)) {
		__clear_bit(ntvm_chunk_slot(addr), c->written);
		__clear_bit(ntvm_chunk_slot(addr), c->latched);
		done = true;
	}
	spin_unlock(&c->lock);
	return done;
}

/* A protection change of [start, end): its written pages stay reported. */
void ntvm_pages_latch_written(struct ntvm_ctx *ctx, unsigned long start,
			      unsigned long end)
{
	struct ntvm_chunk_span cs;
	unsigned int slot, stop;

	lockdep_assert_held(&ctx->op_lock);
	ntvm_chunk_span_init(&cs, start, end);
	while (ntvm_chunk_span_next(ctx, &cs)) {
		if (!cs.chunk)
			continue;
		slot = ntvm_chunk_slot(cs.start);
		stop = slot + ((cs.stop - cs.start) >> PAGE_SHIFT);
		spin_lock(&cs.chunk->lock);
		for (slot = find_next_bit(cs.chunk->written, stop, slot);
		     slot < stop;
		     slot = find_next_bit(cs.chunk->written, stop, slot + 1))
			__set_bit(slot, cs.chunk->latched);
		spin_unlock(&cs.chunk->lock);
	}
}

/*
 * Forget that the pages of [start, end) were written (a decommit), and
 * that they were latched too if @latched (a release).
 */
void ntvm_pages_forget_written(struct ntvm_ctx *ctx, unsigned long start,
			       unsigned long end, bool latched)
{
	struct ntvm_chunk_span cs;

	lockdep_assert_held(&ctx->op_lock);
	ntvm_chunk_span_init(&cs, start, end);
	while (ntvm_chunk_span_next(ctx, &cs)) {
		unsigned int first = ntvm_chunk_slot(cs.start);
		unsigned int n = (cs.stop - cs.start) >> PAGE_SHIFT;

		if (!cs.chunk)
			continue;
		spin_lock(&cs.chunk->lock);
		bitmap_clear(cs.chunk->written, first, n);
		if (latched)
			bitmap_clear(cs.chunk->latched, first, n);
		spin_unlock(&cs.chunk->lock);
	}
}

static unsigned long *ntvm_chunk_marks(struct ntvm_chunk *c,
				       enum ntvm_page_mark mark)
{
	return c->lost;
}

/**
 * ntvm_page_mark - set or clear a mark of page @addr
 * @ctx:  the context
 * @addr: the page, committed (its chunk exists)
 * @mark: which mark
 * @set:  set it rather than clear it
 *
 * Return: whether the page had the mark before.
 */
bool ntvm_page_mark(struct ntvm_ctx *ctx, unsigned long addr,
		    enum ntvm_page_mark mark, bool set)
{
	struct ntvm_chunk *c;
	bool old = false;

	rcu_read_lock();
	c = xa_load(&ctx->chunks, ntvm_chunk_index(addr));
	if (c) {
		unsigned long *map = ntvm_chunk_marks(c, mark);

		spin_lock(&c->lock);
		old = test_bit(ntvm_chunk_slot(addr), map);
		if (set)
			__set_bit(ntvm_chunk_slot(addr), map);
		else
			__clear_bit(ntvm_chunk_slot(addr), map);
		spin_unlock(&c->lock);
	}
	rcu_read_unlock();
	return old;
}

/* Has any page of [start, end) the mark?  op_lock held. */
bool ntvm_pages_any_marked(struct ntvm_ctx *ctx, unsigned long start,
			   unsigned long end, enum ntvm_page_mark mark)
{
	struct ntvm_chunk_span cs;

	lockdep_assert_held(&ctx->op_lock);
	ntvm_chunk_span_init(&cs, start, end);
	while (ntvm_chunk_span_next(ctx, &cs)) {
		unsigned int first = ntvm_chunk_slot(cs.start);
		unsigned int stop = first + ((cs.stop - cs.start) >> PAGE_SHIFT);

		/*
		 * None is set in a range whose reset entries the caller
		 * erased first (reset.c), under op_lock, which we hold.
		 */
		if (cs.chunk &&
		    find_next_bit(ntvm_chunk_marks(cs.chunk, mark), stop,
				  first) < stop)
			return true;
	}
	return false;
}

/* Clear the mark of every page of [start, end).  op_lock held. */
void ntvm_pages_unmark(struct ntvm_ctx *ctx, unsigned long start,
		       unsigned long end, enum ntvm_page_mark mark)
{
	struct ntvm_chunk_span cs;

	lockdep_assert_held(&ctx->op_lock);
	ntvm_chunk_span_init(&cs, start, end);
	while (ntvm_chunk_span_next(ctx, &cs)) {
		if (!cs.chunk)
			continue;
		spin_lock(&cs.chunk->lock);
		bitmap_clear(ntvm_chunk_marks(cs.chunk, mark),
			     ntvm_chunk_slot(cs.start),
			     (cs.stop - cs.start) >> PAGE_SHIFT);
		spin_unlock(&cs.chunk->lock);
	}
}
