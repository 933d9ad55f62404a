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
	unsigned long addr;

	for (addr = start; addr < end; addr = ntvm_chunk_end(addr)) {
		unsigned long idx = ntvm_chunk_index(addr);
		struct ntvm_chunk *c;
		int err;

		if (xa_load(&ctx->chunks, idx))
			continue;
		c = kzalloc(sizeof(*c), GFP_KERNEL_ACCOUNT);
		if (!c)
			return -ENOMEM;
		spin_lock_init(&c->lock);
		err = xa_insert(&ctx->chunks, idx, c, GFP_KERNEL_ACCOUNT);
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
	unsigned long addr = start;

	lockdep_assert_held(&ctx->op_lock);
	while (addr < end) {
		unsigned long stop = min(end, ntvm_chunk_end(addr));
		struct ntvm_chunk *c;

		c = xa_load(&ctx->chunks, ntvm_chunk_index(addr));
		if (!c) {
			/* Only possible when clearing: nothing to clear. */
			WARN_ON_ONCE(state);
			addr = stop;
			continue;
		}
		spin_lock(&c->lock);
		for (; addr < stop; addr += PAGE_SIZE) {
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
	unsigned long addr;

	lockdep_assert_held(&ctx->op_lock);
	for (addr = start; addr < end; addr = ntvm_chunk_end(addr)) {
		unsigned long idx = ntvm_chunk_index(addr);
		struct ntvm_chunk *c = xa_load(&ctx->chunks, idx);

		if (!c || c->committed || c->idle)
			continue;
		if (ctx->idle_chunks < NTVM_IDLE_CHUNKS) {
			c->idle = true;
			ctx->idle_chunks++;
			continue;
		}
		xa_erase(&ctx->chunks, idx);
		kfree_rcu(c, rcu);
	}
}

unsigned long ntvm_pages_count_committed(struct ntvm_ctx *ctx,
					 unsigned long start,
					 unsigned long end)
{
	unsigned long addr = start, n = 0;

	while (addr < end) {
		unsigned long stop = min(end, ntvm_chunk_end(addr));
		struct ntvm_chunk *c;

		c = xa_load(&ctx->chunks, ntvm_chunk_index(addr));
		if (c) {
			for (; addr < stop; addr += PAGE_SIZE)
				n += !!READ_ONCE(c->state[ntvm_chunk_slot(addr)]);
		}
		addr = stop;
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
	unsigned long addr = start;
	bool seen = false;
	u8 first = 0, st;

	lockdep_assert_held(&ctx->op_lock);
	rcu_read_lock();
	while (addr < end) {
		unsigned long stop = min(end, ntvm_chunk_end(addr));
		struct ntvm_chunk *c;

		c = xa_load(&ctx->chunks, ntvm_chunk_index(addr));
		/* Callers hold op_lock, which ->committed is counted under. */
		if (!c || !c->committed) {
			/* Every page there is uncommitted. */
			if (seen && first)
				break;
			seen = true;
			addr = stop;
			continue;
		}
		for (; addr < stop; addr += PAGE_SIZE) {
			st = READ_ONCE(c->state[ntvm_chunk_slot(addr)]);
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
 * ntvm_page_fault_check - may this access to @addr proceed?
 * @ctx:   the context
 * @addr:  the faulting address
 * @write: the access is a write
 *
 * A guard page refuses the access and loses its guard bit (one shot).
 * Callers that must not be overtaken by a protection change call this with
 * the folio locked (see ntvm_view_revoke()).
 */
bool ntvm_page_fault_check(struct ntvm_ctx *ctx, unsigned long addr,
			   bool write)
{
	struct ntvm_chunk *c;
	bool ok = false;
	u8 *p, st;

	rcu_read_lock();
	c = xa_load(&ctx->chunks, ntvm_chunk_index(addr));
	if (!c)
		goto out;
	p = &c->state[ntvm_chunk_slot(addr)];
	st = READ_ONCE(*p);
	if (unlikely(st & NTVM_PS_GUARD)) {
		spin_lock(&c->lock);
		st = *p;
		if (st & NTVM_PS_GUARD)
			WRITE_ONCE(*p, st & ~NTVM_PS_GUARD);
		spin_unlock(&c->lock);
		if (st & NTVM_PS_GUARD)
			goto out;
	}
	ok = write ? ntvm_prot_writable(st) : ntvm_prot_readable(st);
out:
	rcu_read_unlock();
	return ok;
}
