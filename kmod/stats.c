// SPDX-License-Identifier: GPL-2.0
/*
 * The figures of a context that netlink.c reports: its allocations, the
 * runs of pages inside each one (state, protection, guard, pages in
 * memory, pages written under write watch, locked pages) and their sums.
 *
 * Read under the context's op_lock, from the map, the page states, the
 * lock records and the backing's page cache, with the owner's mm held
 * (mmget) by the caller.  Like a query, it changes nothing: an allocation
 * whose views the process unmapped (forgotten when next changed, see
 * vad.c) is left out, as a query describes it as free.
 */

#include <linux/mm.h>

#include "ntvm.h"

/* The first intact allocation that ends after @addr, or NULL. */
struct ntvm_vad *ntvm_stats_next_alloc(struct ntvm_ctx *ctx,
				       unsigned long addr)
{
	struct ntvm_vad *vad;

	lockdep_assert_held(&ctx->op_lock);
	for (vad = ntvm_vad_next(ctx, addr); vad; vad = ntvm_vad_after(vad)) {
		if (ntvm_vad_intact(ctx, vad))
			break;
		cond_resched();
	}
	return vad;
}

/* Pages of [start, end) in the backing's page cache. */
static unsigned long ntvm_stats_resident(struct ntvm_ctx *ctx,
					 unsigned long start,
					 unsigned long end)
{
	unsigned long addr, n = 0;

	for (addr = start; addr < end; addr += PAGE_SIZE) {
		n += ntvm_view_page_cached(ctx, addr);
		if (!(addr & (NTVM_CHUNK_PAGES * PAGE_SIZE - 1)))
			cond_resched();
	}
	return n;
}

/* Pages of [start, end) written or latched under write watch. */
static unsigned long ntvm_stats_dirty(struct ntvm_ctx *ctx,
				      unsigned long start, unsigned long end)
{
	unsigned long addr, n = 0;

	for (addr = ntvm_pages_next_written(ctx, start, end); addr < end;
	     addr = ntvm_pages_next_written(ctx, addr + PAGE_SIZE, end))
		n++;
	return n;
}

/**
 * ntvm_stats_run - the run of pages of @vad that starts at @addr
 * @ctx:  the context
 * @vad:  an intact allocation
 * @addr: a page of it
 * @run:  out: the run's figures
 *
 * Return: the end of the run.
 */
unsigned long ntvm_stats_run(struct ntvm_ctx *ctx, struct ntvm_vad *vad,
			     unsigned long addr, struct ntvm_run_stats *run)
{
	unsigned long end, any, all;
	u8 st;

	lockdep_assert_held(&ctx->op_lock);
	end = ntvm_pages_run(ctx, addr, ntvm_vad_end(vad), &st);
	memset(run, 0, sizeof(*run));
	run->start = addr;
	run->end = end;
	run->guard = st & NTVM_PS_GUARD;
	if (st) {
		run->state = NTVM_MEM_COMMIT;
		run->protect = ntvm_prot_to_win(st, vad->alloc_protect);
		run->resident = ntvm_stats_resident(ctx, addr, end);
		ntvm_lock_count(ctx, addr, end, NTVM_LOCK_TYPES, &any, &all);
		run->locked = any;
	} else {
		run->state = NTVM_MEM_RESERVE;
	}
	if (vad->write_watch)
		run->dirty = ntvm_stats_dirty(ctx, addr, end);
	return end;
}

/* The sums of the intact allocations of @ctx. */
void ntvm_stats_context(struct ntvm_ctx *ctx, struct ntvm_ctx_stats *cs)
{
	struct ntvm_run_stats run;
	struct ntvm_vad *vad;
	unsigned long addr;

	lockdep_assert_held(&ctx->op_lock);
	memset(cs, 0, sizeof(*cs));
	for (vad = ntvm_stats_next_alloc(ctx, 0); vad;
	     vad = ntvm_stats_next_alloc(ctx, ntvm_vad_end(vad))) {
		unsigned long size = ntvm_vad_end(vad) - ntvm_vad_base(vad);

		cs->allocations++;
		cs->reserved += size;
		if (vad->write_watch)
			cs->write_watched += size;
		for (addr = ntvm_vad_base(vad); addr < ntvm_vad_end(vad);
		     addr = run.end) {
			ntvm_stats_run(ctx, vad, addr, &run);
			if (run.state == NTVM_MEM_COMMIT)
				cs->committed += (run.end - run.start) >>
						 PAGE_SHIFT;
			cs->resident += run.resident;
			cs->locked += run.locked;
		}
		if (fatal_signal_pending(current))
			break;
	}
}
