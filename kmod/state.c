// SPDX-License-Identifier: GPL-2.0
/*
 * State changes of page ranges, each keeping four things in step: the
 * page states, the views (exec runs in exec views, the rest in the data
 * view), the commit charge and the PTEs.  All under the context's op_lock.
 *
 * Order: everything that can fail (memory, charge, views) comes first and
 * is undone on failure; the new state is then published, and only then
 * are PTEs revoked or pages freed.
 */

#include <linux/slab.h>

#include "ntvm.h"

/* Does @new grant nothing that @old did not?  (No revocation needed.) */
static bool ntvm_state_raises(u8 old, u8 new)
{
	if (!old)
		return true;
	if (new & NTVM_PS_GUARD)
		return false;
	if (ntvm_prot_readable(old) && !ntvm_prot_readable(new))
		return false;
	if (ntvm_prot_writable(old) && !ntvm_prot_writable(new))
		return false;
	return true;
}

/*
 * Map [start, end) as a view of kind @exec again, after a failed move.
 * What is still ours there is replaced.  A hole that a failed MAP_FIXED
 * left is filled only if it is still a hole: between the failure and now
 * another thread's mmap() may have taken it, and that is never replaced.
 *
 * Return: 0, -EEXIST when something else now sits in the range, -ENOMEM.
 */
static int ntvm_view_restore_one(struct ntvm_ctx *ctx, unsigned long start,
				 unsigned long end, bool exec)
{
	unsigned long addr = start, next;
	struct vm_area_struct *vma;
	bool ours, hole;
	int err;

	while (addr < end) {
		mmap_read_lock(ctx->mm);
		vma = find_vma(ctx->mm, addr);
		hole = !vma || vma->vm_start > addr;
		if (hole)
			next = vma ? min(vma->vm_start, end) : end;
		else
			next = min(vma->vm_end, end);
		ours = !hole && ntvm_vma_is_ours(ctx, vma);
		mmap_read_unlock(ctx->mm);
		if (!hole && !ours)
			return -EEXIST;
		err = ntvm_view_map(ctx, addr, next, exec, ours);
		if (err)
			return err;
		addr = next;
	}
	return 0;
}

/*
 * The undo of a failed move must not fail for a passing lack of memory:
 * try again.
 */
static int ntvm_view_restore(struct ntvm_ctx *ctx, unsigned long start,
			     unsigned long end, bool exec)
{
	int tries = NTVM_UNDO_TRIES, err;

	do {
		err = ntvm_view_restore_one(ctx, start, end, exec);
	} while (err == -ENOMEM && --tries);
	return err;
}

/*
 * Move the pages of [start, end) whose view (exec or data) is not the one
 * @exec asks for.  On failure, put back what was moved.
 */
static int ntvm_move_views(struct ntvm_ctx *ctx, unsigned long start,
			   unsigned long end, bool exec)
{
	unsigned long addr = start, run_end = start, done;
	bool undone = true;
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
	if (!err)
		return 0;

	/*
	 * Undo, the failed segment included (a failed MAP_FIXED may leave a
	 * hole): the states are unchanged, so each run's own view is right.
	 */
	done = run_end;
	for (addr = start; addr < done; addr = run_end) {
		run_end = ntvm_pages_run(ctx, addr, done, &st);
		if (ntvm_prot_is_exec(st) == exec)
			continue;
		if (ntvm_view_restore(ctx, addr, run_end,
				      ntvm_prot_is_exec(st)))
			undone = false;
	}
	if (!undone) {
		/*
		 * Pages may sit in a view of the wrong kind: make them
		 * inaccessible; the allocation is forgotten when next used.
		 */
		for (addr = start; addr < done; addr = run_end) {
			run_end = ntvm_pages_run(ctx, addr, done, &st);
			if (st)
				ntvm_pages_set(ctx, addr, run_end,
					       NTVM_PROT_NOACCESS);
		}
		ntvm_alloc_find(ctx, start)->broken = true;
		ntvm_view_revoke(ctx, start, done);
	}
	return err;
}

/**
 * ntvm_apply_state - set every page of [start, end) to @state
 * @ctx:   the context
 * @start: first address
 * @end:   end address
 * @state: the new page state
 *
 * The range lies in one allocation; chunks exist (ntvm_pages_prepare) and
 * the charge is done by the caller.
 *
 * Return: 0 or STATUS_NO_MEMORY (nothing changed).
 */
u32 ntvm_apply_state(struct ntvm_ctx *ctx, unsigned long start,
		     unsigned long end, u8 state)
{
	bool revoke = false;
	unsigned long addr;
	u8 st;

	lockdep_assert_held(&ctx->op_lock);
	/* From the move of the views to the new states, faults retry. */
	WRITE_ONCE(ctx->moving, true);
	if (ntvm_move_views(ctx, start, end, ntvm_prot_is_exec(state))) {
		WRITE_ONCE(ctx->moving, false);
		return NTVM_STATUS_NO_MEMORY;
	}

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
 * while no fault can map them.
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

/**
 * ntvm_commit - commit [start, end) of one allocation with @state
 * @ctx:   the context
 * @start: first address
 * @end:   end address
 * @state: the committed state (protection and guard bit)
 *
 * Pages already committed keep their contents and take the new
 * protection.
 */
u32 ntvm_commit(struct ntvm_ctx *ctx, unsigned long start,
		unsigned long end, u8 state)
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
	status = ntvm_apply_state(ctx, start, end, state);
	if (status == NTVM_STATUS_SUCCESS)
		return status;
fail:
	ntvm_pages_trim(ctx, start, end);
	ntvm_uncharge(ctx, pages);
	return status;
}

/*
 * Decommit [start, end) of one allocation.
 * Return: 0 or STATUS_NO_MEMORY (nothing changed).
 */
u32 ntvm_decommit(struct ntvm_ctx *ctx, unsigned long start,
		  unsigned long end)
{
	unsigned long pages = ntvm_pages_count_committed(ctx, start, end);

	/* Exec runs go back to the data view: reserved pages live there. */
	if (ntvm_move_views(ctx, start, end, false))
		return NTVM_STATUS_NO_MEMORY;
	ntvm_pages_set(ctx, start, end, 0);
	ntvm_view_discard(ctx, start, end);
	ntvm_uncharge(ctx, pages);
	ntvm_pages_trim(ctx, start, end);
	return NTVM_STATUS_SUCCESS;
}

/* Unmap, free and uncharge [start, end): its views must be ours. */
static void ntvm_release_pages(struct ntvm_ctx *ctx, unsigned long start,
			       unsigned long end)
{
	unsigned long pages = ntvm_pages_count_committed(ctx, start, end);

	ntvm_pages_set(ctx, start, end, 0);
	if (ntvm_view_has_pages(ctx, start, end))
		ntvm_view_discard(ctx, start, end);
	ntvm_uncharge(ctx, pages);
	ntvm_pages_trim(ctx, start, end);
}

/**
 * ntvm_release - release [start, end) of allocation @a
 * @ctx:   the context
 * @a:     the allocation holding the range
 * @start: first address
 * @end:   end address
 *
 * A sub-range splits @a: the part before keeps the allocation base, the
 * part after becomes an allocation of its own based at @end.
 *
 * Return: 0 or STATUS_NO_MEMORY (nothing changed).
 */
u32 ntvm_release(struct ntvm_ctx *ctx, struct ntvm_alloc *a,
		 unsigned long start, unsigned long end)
{
	unsigned long a_end = ntvm_alloc_end(a);
	struct ntvm_alloc *tail = NULL;

	lockdep_assert_held(&ctx->op_lock);
	if (start > a->base && end < a_end) {
		tail = kmalloc(sizeof(*tail), GFP_KERNEL_ACCOUNT);
		if (!tail)
			return NTVM_STATUS_NO_MEMORY;
	}
	if (ntvm_view_unmap(ctx, start, end)) {
		kfree(tail);
		return NTVM_STATUS_NO_MEMORY;
	}
	ntvm_release_pages(ctx, start, end);

	if (start == a->base && end == a_end) {
		ntvm_alloc_erase(ctx, a);
		kfree(a);
		atomic_long_dec(&ntvm_nr_allocs);
	} else if (start == a->base) {
		/* The tail keeps the node: rebasing keeps the tree order. */
		a->base = end;
		a->size = a_end - end;
	} else if (end == a_end) {
		a->size = start - a->base;
	} else {
		a->size = start - a->base;
		tail->base = end;
		tail->size = a_end - end;
		tail->alloc_protect = a->alloc_protect;
		tail->broken = a->broken;
		ntvm_alloc_insert(ctx, tail);
		atomic_long_inc(&ntvm_nr_allocs);
	}
	return NTVM_STATUS_SUCCESS;
}

/**
 * ntvm_alloc_intact - are all pages of @a still in our views?
 * @ctx: the context
 * @a:   the allocation
 *
 * Userspace can munmap a whole view (that cannot be refused); this is how
 * the module notices, when the allocation is next used.
 */
bool ntvm_alloc_intact(struct ntvm_ctx *ctx, struct ntvm_alloc *a)
{
	unsigned long addr = a->base, end = ntvm_alloc_end(a);
	struct vm_area_struct *vma;
	bool intact = !a->broken;

	mmap_read_lock(ctx->mm);
	while (intact && addr < end) {
		vma = find_vma(ctx->mm, addr);
		if (!vma || vma->vm_start > addr ||
		    !ntvm_vma_is_ours(ctx, vma)) {
			intact = false;
			break;
		}
		addr = vma->vm_end;
	}
	mmap_read_unlock(ctx->mm);
	return intact;
}

/*
 * Forget an allocation whose views userspace unmapped: unmap what is left
 * of our views in it (never what userspace put there) and free its pages.
 */
static void ntvm_alloc_forget(struct ntvm_ctx *ctx, struct ntvm_alloc *a)
{
	unsigned long addr = a->base, end = ntvm_alloc_end(a);

	while (addr < end) {
		struct vm_area_struct *vma;
		unsigned long s, e;
		bool ours;

		mmap_read_lock(ctx->mm);
		vma = find_vma(ctx->mm, addr);
		if (!vma || vma->vm_start >= end) {
			mmap_read_unlock(ctx->mm);
			break;
		}
		s = max(vma->vm_start, addr);
		e = min(vma->vm_end, end);
		ours = ntvm_vma_is_ours(ctx, vma);
		mmap_read_unlock(ctx->mm);
		if (ours)
			ntvm_view_unmap(ctx, s, e);
		addr = e;
	}
	ntvm_release_pages(ctx, a->base, end);
	ntvm_alloc_erase(ctx, a);
	kfree(a);
	atomic_long_dec(&ntvm_nr_allocs);
}

/* The intact allocation containing @addr, or NULL. */
struct ntvm_alloc *ntvm_alloc_live(struct ntvm_ctx *ctx, unsigned long addr)
{
	struct ntvm_alloc *a = ntvm_alloc_find(ctx, addr);

	if (a && !ntvm_alloc_intact(ctx, a)) {
		ntvm_alloc_forget(ctx, a);
		a = NULL;
	}
	return a;
}

/* Does an intact allocation overlap [start, end)? */
bool ntvm_range_taken(struct ntvm_ctx *ctx, unsigned long start,
		      unsigned long end)
{
	struct ntvm_alloc *a;

	while ((a = ntvm_alloc_next(ctx, start)) && a->base < end) {
		if (ntvm_alloc_intact(ctx, a))
			return true;
		ntvm_alloc_forget(ctx, a);
	}
	return false;
}
