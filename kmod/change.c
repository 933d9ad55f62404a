// SPDX-License-Identifier: GPL-2.0
/*
 * State changes of page ranges, each keeping four things in step: the
 * page states, the views (exec runs in exec views, the rest in the data
 * view), the commit charge and the PTEs.  All under the context's op_lock;
 * every range lies in one allocation.
 *
 * Order: everything that can fail (memory, charge, views) comes first and
 * is undone on failure; the new state is then published, and only then
 * are PTEs revoked or pages freed.
 */

#include <linux/pagemap.h>
#include <linux/rmap.h>

#include "ntvm.h"

/*
 * Put the views of [start, done) back as the (unchanged) page states want
 * them, after a move to views of kind @exec failed there; @every: the
 * move covered runs of both kinds, so any may have lost its view.  If
 * that fails too, pages may sit in a view of the wrong kind: they are made
 * inaccessible, and the allocation is marked broken, to be forgotten when
 * next changed.
 */
static void ntvm_change_undo_move(struct ntvm_ctx *ctx, struct ntvm_vad *vad,
				  unsigned long start, unsigned long done,
				  bool exec, bool every)
{
	unsigned long addr, run_end;
	bool undone = true;
	u8 st;

	for (addr = start; addr < done; addr = run_end) {
		run_end = ntvm_pages_run(ctx, addr, done, &st);
		if (!every && ntvm_prot_is_exec(st) == exec)
			continue;
		if (ntvm_view_restore(ctx, addr, run_end,
				      ntvm_prot_is_exec(st)))
			undone = false;
	}
	if (undone)
		return;
	for (addr = start; addr < done; addr = run_end) {
		run_end = ntvm_pages_run(ctx, addr, done, &st);
		if (st)
			ntvm_pages_set(ctx, addr, run_end, NTVM_PROT_NOACCESS);
	}
	/* PAGE_NOACCESS pages are never locked. */
	ntvm_lock_drop(ctx, start, done);
	vad->broken = true;
	ntvm_qmap_changed(ctx, ntvm_vad_base(vad), ntvm_vad_end(vad));
	ntvm_view_revoke(ctx, start, done);
}

/*
 * Move the pages of [start, end) whose view (exec or data) is not the one
 * @exec asks for.  On failure, put back what was moved.
 */
static int ntvm_change_move_views(struct ntvm_ctx *ctx, struct ntvm_vad *vad,
				  unsigned long start, unsigned long end,
				  bool exec)
{
	unsigned long addr = start, run_end = start;
	int err = 0;
	u8 st;

	while (addr < end && !err) {
		run_end = ntvm_pages_run(ctx, addr, end, &st);
		if (ntvm_prot_is_exec(st) != exec) {
			unsigned long seg = addr;

			/* Join runs that all need moving into one segment. */
			while (run_end < end) {
				unsigned long next;

				next = ntvm_pages_run(ctx, run_end, end, &st);
				if (ntvm_prot_is_exec(st) == exec)
					break;
				run_end = next;
			}
			err = ntvm_view_map(ctx, seg, run_end, exec, true);
		}
		addr = run_end;
	}
	/* The failed segment included: a failed MAP_FIXED may leave a hole. */
	if (err)
		ntvm_change_undo_move(ctx, vad, start, run_end, exec, false);
	return err;
}

/*
 * Set every page of [start, end) to @state.  Chunks exist
 * (ntvm_pages_prepare()) and the charge is done by the caller.
 * Return: 0 or STATUS_NO_MEMORY (nothing changed).
 */
static u32 ntvm_change_apply(struct ntvm_ctx *ctx, struct ntvm_vad *vad,
			     unsigned long start, unsigned long end, u8 state)
{
	bool revoke = false;
	unsigned long addr;
	u8 st;

	lockdep_assert_held(&ctx->op_lock);
	/* From the move of the views to the new states, faults retry. */
	WRITE_ONCE(ctx->moving, true);
	if (ntvm_change_move_views(ctx, vad, start, end,
				   ntvm_prot_is_exec(state))) {
		WRITE_ONCE(ctx->moving, false);
		return NTVM_STATUS_NO_MEMORY;
	}
	if (ntvm_prot_is_exec(state))
		vad->has_exec = true;

	for (addr = start; addr < end && !revoke;) {
		addr = ntvm_pages_run(ctx, addr, end, &st);
		revoke = !ntvm_state_raises(st, state);
	}
	ntvm_pages_set(ctx, start, end, state);
	/* A fault that sees moving cleared sees the new states. */
	smp_store_release(&ctx->moving, false);
	if (revoke)
		ntvm_view_revoke(ctx, start, end);
	return NTVM_STATUS_SUCCESS;
}

/*
 * A fault that lost a race with a decommit may have left a zero page in
 * the backing of an uncommitted page; drop such pages before committing,
 * while no fault can map them.  (Should such a page have gone to swap
 * since, it still reads zero.)
 */
static void ntvm_discard_uncommitted(struct ntvm_ctx *ctx,
				     unsigned long start, unsigned long end)
{
	unsigned long addr, run_end;
	u8 st;

	for (addr = start; addr < end; addr = run_end) {
		run_end = ntvm_pages_run(ctx, addr, end, &st);
		if (!st && ntvm_view_has_pages(ctx, addr, run_end))
			ntvm_view_discard(ctx, addr, run_end);
	}
}

/*
 * Before all pages of [start, end) become uncommitted: one data view from
 * the first exec run to the last, in one view change however many runs
 * there are (each would be a VMA operation that can fail for memory).
 */
static int ntvm_change_to_data_view(struct ntvm_ctx *ctx,
				    struct ntvm_vad *vad, unsigned long start,
				    unsigned long end)
{
	unsigned long addr, run_end, first = end, last = start;
	int err;
	u8 st;

	if (!vad->has_exec)
		return 0;
	for (addr = start; addr < end; addr = run_end) {
		run_end = ntvm_pages_run(ctx, addr, end, &st);
		if (ntvm_prot_is_exec(st)) {
			first = min(first, addr);
			last = run_end;
		}
	}
	if (first >= last)
		return 0;
	err = ntvm_view_map(ctx, first, last, false, true);
	/* A failed MAP_FIXED may leave a hole over runs of either kind. */
	if (err)
		ntvm_change_undo_move(ctx, vad, first, last, false, true);
	return err;
}

/**
 * ntvm_change_commit - commit [start, end) of @vad with @state
 * @ctx:   the context
 * @vad:   the allocation holding the range
 * @start: first address
 * @end:   end address
 * @state: the committed state (protection and guard bit)
 *
 * Pages already committed keep their contents and take the new
 * protection.
 *
 * Return: 0, STATUS_COMMITMENT_LIMIT or STATUS_NO_MEMORY (nothing
 * changed).
 */
u32 ntvm_change_commit(struct ntvm_ctx *ctx, struct ntvm_vad *vad,
		       unsigned long start, unsigned long end, u8 state)
{
	unsigned long pages = (end - start) >> PAGE_SHIFT;
	u32 status;

	pages -= ntvm_pages_count_committed(ctx, start, end);
	if (!ntvm_charge(ctx, pages))
		return NTVM_STATUS_COMMITMENT_LIMIT;
	if (ntvm_pages_prepare(ctx, start, end)) {
		status = NTVM_STATUS_NO_MEMORY;
		goto fail;
	}
	ntvm_discard_uncommitted(ctx, start, end);
	status = ntvm_change_apply(ctx, vad, start, end, state);
	if (status == NTVM_STATUS_SUCCESS) {
		ntvm_charge_done(ctx);
		/* Committed pages it makes inaccessible are unlocked. */
		if (!ntvm_lock_allowed(state))
			ntvm_lock_drop(ctx, start, end);
		return status;
	}
fail:
	ntvm_pages_trim(ctx, start, end);
	ntvm_uncharge(ctx, pages);
	return status;
}

/**
 * ntvm_change_protect - a new protection for [start, end) of @vad
 * @ctx:   the context
 * @vad:   the allocation holding the range
 * @start: first address
 * @end:   end address
 * @state: the new committed state
 * @first: out: the state of the page at @start before
 *
 * A protection of PAGE_NOACCESS or PAGE_GUARD unlocks the locked pages of
 * the range, as on NT, which then returns STATUS_WAS_UNLOCKED.
 *
 * Return: 0, STATUS_WAS_UNLOCKED (a success), STATUS_NOT_COMMITTED (a page
 * of the range is not) or STATUS_NO_MEMORY; nothing changed on failure.
 */
u32 ntvm_change_protect(struct ntvm_ctx *ctx, struct ntvm_vad *vad,
			unsigned long start, unsigned long end, u8 state,
			u8 *first)
{
	u32 status;

	if (ntvm_pages_count_committed(ctx, start, end) !=
	    (end - start) >> PAGE_SHIFT)
		return NTVM_STATUS_NOT_COMMITTED;
	*first = ntvm_page_state(ctx, start);
	status = ntvm_change_apply(ctx, vad, start, end, state);
	if (status)
		return status;
	/* Windows keeps reporting these pages, even once decommitted. */
	if (vad->write_watch)
		ntvm_pages_latch_written(ctx, start, end);
	if (!ntvm_lock_allowed(state) && ntvm_lock_drop(ctx, start, end))
		return NTVM_STATUS_WAS_UNLOCKED;
	return NTVM_STATUS_SUCCESS;
}

/*
 * MEM_RESET of [start, end): the contents are of no interest.  States,
 * protections and contents stay; the pages are not written to swap and
 * may be discarded (read zero) when memory is needed (see reset.c).
 * Locked pages are not reset: they stay resident, with their contents.
 * Return: 0 or STATUS_NO_MEMORY (nothing changed).
 */
u32 ntvm_change_reset(struct ntvm_ctx *ctx, unsigned long start,
		      unsigned long end)
{
	unsigned long addr, locked;
	u32 status;

	for (addr = start; addr < end; addr = locked + PAGE_SIZE) {
		locked = ntvm_lock_next(ctx, addr, end);
		if (locked == addr)
			continue;
		status = ntvm_reset_hold(ctx, addr, locked);
		if (status) {
			/* Nothing changed: the runs before undone too. */
			ntvm_reset_cancel(ctx, start, addr);
			return status;
		}
	}
	/* Only the runs held: a locked page keeps its "lost" mark. */
	for (addr = start; addr < end; addr = locked + PAGE_SIZE) {
		locked = ntvm_lock_next(ctx, addr, end);
		if (locked > addr)
			ntvm_reset_finish(ctx, addr, locked);
	}
	return NTVM_STATUS_SUCCESS;
}

/*
 * MEM_RESET_UNDO of [start, end): the pages are ordinary pages again.
 * Return: 0 when every byte is intact, STATUS_CONFLICTING_ADDRESSES when
 * a page was discarded since its reset (it read zero since).
 */
u32 ntvm_change_reset_undo(struct ntvm_ctx *ctx, unsigned long start,
			   unsigned long end)
{
	if (ntvm_reset_undo(ctx, start, end))
		return NTVM_STATUS_SUCCESS;
	return NTVM_STATUS_CONFLICTING_ADDRESSES;
}

/*
 * Clear, free and uncharge the pages of [start, end), and forget they
 * were written, latched ones too unless @keep_latched.  Always truncated:
 * pages out in swap are not in the page cache, and must go too.
 */
static void ntvm_change_drop(struct ntvm_ctx *ctx, unsigned long start,
			     unsigned long end, bool keep_latched)
{
	unsigned long pages = ntvm_pages_count_committed(ctx, start, end);

	ntvm_lock_drop(ctx, start, end);
	ntvm_pages_set(ctx, start, end, 0);
	/* Reset pages: their references go first, so that they are freed. */
	ntvm_reset_drop(ctx, start, end);
	ntvm_view_discard(ctx, start, end);
	/*
	 * After the truncation, which waited for any page_mkwrite that saw
	 * the old state (it holds the folio lock): none can mark them now.
	 */
	ntvm_pages_forget_written(ctx, start, end, !keep_latched);
	ntvm_uncharge(ctx, pages);
	ntvm_pages_trim(ctx, start, end);
}

/* Clear, free and uncharge the pages of [start, end) that go for good. */
void ntvm_change_drop_pages(struct ntvm_ctx *ctx, unsigned long start,
			    unsigned long end)
{
	ntvm_change_drop(ctx, start, end, false);
}

/*
 * Decommit [start, end) of @vad.
 * Return: 0 or STATUS_NO_MEMORY (nothing changed).
 */
u32 ntvm_change_decommit(struct ntvm_ctx *ctx, struct ntvm_vad *vad,
			 unsigned long start, unsigned long end)
{
	/* Exec runs go back to the data view: reserved pages live there. */
	if (ntvm_change_to_data_view(ctx, vad, start, end))
		return NTVM_STATUS_NO_MEMORY;
	ntvm_change_drop(ctx, start, end, true);
	return NTVM_STATUS_SUCCESS;
}

/*
 * Release [start, end) of @vad: its pages go, and its range, back in the
 * data view, becomes arena space.  Only exec runs need a view change.
 * Return: 0 or STATUS_NO_MEMORY (nothing changed).
 */
u32 ntvm_change_release(struct ntvm_ctx *ctx, struct ntvm_vad *vad,
			unsigned long start, unsigned long end)
{
	lockdep_assert_held(&ctx->op_lock);
	if (ntvm_change_to_data_view(ctx, vad, start, end))
		return NTVM_STATUS_NO_MEMORY;
	ntvm_change_drop_pages(ctx, start, end);
	return NTVM_STATUS_SUCCESS;
}

/**
 * ntvm_change_reset_written - reset the write watch of page @addr
 * @ctx:  the context
 * @addr: the page
 *
 * The page's PTEs are made read-only and its bits cleared with its folio
 * locked, which page_mkwrite takes before it records a write: a write
 * after the reset faults and is recorded.  A page pinned for writing
 * (process_vm_writev(2), direct I/O) can still be written behind its
 * PTEs, when the pin's copy lands: it stays recorded, to be reported
 * again.  A page out in swap has no PTE; its bits are cleared under the
 * chunk lock unless it came back into the page cache meanwhile (then
 * again, the first way).
 */
void ntvm_change_reset_written(struct ntvm_ctx *ctx, unsigned long addr)
{
	struct folio *folio;

	for (;;) {
		folio = ntvm_view_lock_folio(ctx, addr);
		if (folio) {
			/* The PTEs' dirty bits go to the folio. */
			if (folio_mkclean(folio))
				folio_mark_dirty(folio);
			/* Checked after the PTEs: GUP pins under the PTL. */
			if (!folio_maybe_dma_pinned(folio))
				ntvm_page_clear_written(ctx, addr);
			folio_unlock(folio);
			folio_put(folio);
			break;
		}
		if (ntvm_page_clear_written_unless(ctx, addr,
						   ntvm_view_page_cached))
			break;
		cond_resched();
	}
	/* A chunk kept for a latched page may go now. */
	ntvm_pages_trim(ctx, addr, addr + PAGE_SIZE);
}
