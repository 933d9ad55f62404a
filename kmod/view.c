// SPDX-License-Identifier: GPL-2.0
/*
 * Views: the VMAs through which a context's pages are reached.
 *
 * The module maps its backing MAP_SHARED with vm_mmap() from its ioctls
 * only (the backing's mmap refuses anyone else; see context.c), and the
 * new VMA gets the vm_ops of fault.c.  Userspace cannot mprotect or move a
 * view, nor split one inside an allocation; views of whole allocations it
 * munmaps (which cannot be refused) are noticed when the allocation is
 * next changed (ntvm_vad_live()), and the allocation is forgotten.
 *
 * Every walk over the VMAs of a range goes through ntvm_view_span(), which
 * tells a hole, one of our views and another mapping of the process apart.
 * What is not ours is not unmapped or replaced.  (The check and the
 * vm_munmap()/vm_mmap() after it are not one step, which an exported
 * interface cannot give: a thread that unmaps a view whole and maps its
 * own memory there in between can lose that memory.)
 */

#include <linux/compat.h>
#include <linux/fs.h>
#include <linux/mman.h>
#include <linux/pagemap.h>
#include <linux/sched/signal.h>
#include <linux/shmem_fs.h>
#include <linux/sizes.h>

#include "compat.h"
#include "ntvm.h"

/* What a stack may grow to, at most, for placement, and its guard gap. */
#define NTVM_STACK_ROOM_MAX	SZ_256M
#define NTVM_STACK_GUARD	SZ_1M

/**
 * ntvm_view_span - what is mapped at @addr, and up to where
 * @ctx:  the context
 * @addr: the address
 * @end:  where to stop looking
 * @span: out: the kind of the span starting at @addr and its end (at most
 *        @end); for another mapping, its start, flags and whether it maps
 *        a file
 *
 * Takes mmap_lock for reading; the answer can be stale once it returns,
 * except for our own views, which only we (under op_lock) map and only we
 * or a whole munmap(2) unmap.
 */
void ntvm_view_span(struct ntvm_ctx *ctx, unsigned long addr,
		    unsigned long end, struct ntvm_span *span)
{
	struct vm_area_struct *vma;

	mmap_read_lock(ctx->mm);
	vma = find_vma(ctx->mm, addr);
	span->sealed = false;
	if (!vma || vma->vm_start > addr) {
		span->kind = NTVM_SPAN_HOLE;
		span->end = vma ? min(vma->vm_start, end) : end;
	} else {
		/*
		 * A view the process sealed (mseal(2)) can no longer be
		 * changed or unmapped: it is not ours to manage.
		 */
		span->sealed = ntvm_vma_is_ours(ctx, vma) &&
			       (vma->vm_flags & VM_SEALED);
		span->kind = ntvm_vma_is_ours(ctx, vma) && !span->sealed ?
			     NTVM_SPAN_VIEW : NTVM_SPAN_FOREIGN;
		span->end = min(vma->vm_end, end);
		span->vm_start = vma->vm_start;
		span->vm_flags = vma->vm_flags;
		span->vm_file = !!vma->vm_file;
	}
	mmap_read_unlock(ctx->mm);
}

struct ntvm_view_op {
	unsigned long start;
	unsigned long end;
	bool exec;
	bool replace;
};

/* vm_mmap() of a view, in @ctx's process (current's mm is @ctx->mm). */
static long ntvm_view_do_map(struct ntvm_ctx *ctx, void *arg)
{
	struct ntvm_view_op *op = arg;
	unsigned long prot = PROT_READ | PROT_WRITE |
			     (op->exec ? PROT_EXEC : 0);
	unsigned long flags = MAP_SHARED |
			      (op->replace ? MAP_FIXED : MAP_FIXED_NOREPLACE);
	unsigned long addr;

	WRITE_ONCE(ctx->op_task, current);
	ctx->op_exec = op->exec;
	addr = vm_mmap(ctx->backing, op->start, op->end - op->start, prot,
		       flags, ntvm_file_pos(op->start));
	WRITE_ONCE(ctx->op_task, NULL);
	if (IS_ERR_VALUE(addr))
		return (int)addr;
	return 0;
}

/**
 * ntvm_view_map - map [start, end) of the backing as a view
 * @ctx:     the context
 * @start:   first address
 * @end:     end address
 * @exec:    an exec view (VM_EXEC) rather than a data view
 * @replace: replace what is there (our own views) rather than fail
 *
 * Return: 0, -EEXIST when something else is mapped there, -ENOMEM, -EINTR
 * (a fatal signal is pending).
 */
int ntvm_view_map(struct ntvm_ctx *ctx, unsigned long start,
		  unsigned long end, bool exec, bool replace)
{
	struct ntvm_view_op op = {
		.start = start,
		.end = end,
		.exec = exec,
		.replace = replace,
	};

	lockdep_assert_held(&ctx->op_lock);
	/*
	 * Linux 6.12 corrupts the VMA tree when a merge it retries after our
	 * ->mmap() fails for memory, which is how a dying OOM victim's
	 * allocations fail: a task being killed maps nothing more.  (This
	 * narrows the window; a kill can still come in the middle.)
	 */
	if (fatal_signal_pending(current))
		return -EINTR;
	if (ntvm_remote_ctx(ctx))
		return ntvm_remote(ctx, ntvm_view_do_map, &op,
				   replace ? 0 : end - start);
	return ntvm_view_do_map(ctx, &op);
}

/* vm_munmap() of views, in @ctx's process. */
static long ntvm_view_do_unmap(struct ntvm_ctx *ctx, void *arg)
{
	struct ntvm_view_op *op = arg;
	int err;

	WRITE_ONCE(ctx->op_task, current);
	err = vm_munmap(op->start, op->end - op->start);
	WRITE_ONCE(ctx->op_task, NULL);
	return err;
}

/*
 * Unmap [start, end), which holds only our views.
 * Return: 0 or -ENOMEM (a split).
 */
int ntvm_view_unmap(struct ntvm_ctx *ctx, unsigned long start,
		    unsigned long end)
{
	struct ntvm_view_op op = { .start = start, .end = end };

	lockdep_assert_held(&ctx->op_lock);
	if (ntvm_remote_ctx(ctx))
		return ntvm_remote(ctx, ntvm_view_do_unmap, &op, 0);
	return ntvm_view_do_unmap(ctx, &op);
}

/* ntvm_view_unmap(), tried again while it fails for memory. */
static int ntvm_view_unmap_retry(struct ntvm_ctx *ctx, unsigned long start,
				 unsigned long end)
{
	int tries = NTVM_UNDO_TRIES, err;

	do {
		err = ntvm_view_unmap(ctx, start, end);
	} while (err == -ENOMEM && --tries);
	return err;
}

/**
 * ntvm_view_unmap_ours - unmap our views in [start, end), nothing else
 * @ctx:   the context
 * @start: first address
 * @end:   end address
 *
 * For a range where userspace may have mapped something of its own: a
 * whole view it munmapped, or a hole a failed MAP_FIXED left.
 *
 * Return: 0, or -ENOMEM when a view could not be unmapped (it is still
 * there; try again later).
 */
int ntvm_view_unmap_ours(struct ntvm_ctx *ctx, unsigned long start,
			 unsigned long end)
{
	struct ntvm_span span;
	unsigned long addr;
	int err = 0;

	for (addr = start; addr < end; addr = span.end) {
		ntvm_view_span(ctx, addr, end, &span);
		if (span.kind == NTVM_SPAN_VIEW &&
		    ntvm_view_unmap_retry(ctx, addr, span.end))
			err = -ENOMEM;
	}
	return err;
}

/* Is all of [start, end) in our views? */
bool ntvm_view_covers(struct ntvm_ctx *ctx, unsigned long start,
		      unsigned long end)
{
	struct ntvm_span span;
	unsigned long addr;

	for (addr = start; addr < end; addr = span.end) {
		ntvm_view_span(ctx, addr, end, &span);
		if (span.kind != NTVM_SPAN_VIEW)
			return false;
	}
	return true;
}

/*
 * Is every page of [start, end) in our views, sealed ones too?  What a
 * query describes from ntvm's state: a sealed view can no longer change,
 * but its pages are still ours.
 */
bool ntvm_view_holds(struct ntvm_ctx *ctx, unsigned long start,
		     unsigned long end)
{
	struct ntvm_span span;
	unsigned long addr;

	for (addr = start; addr < end; addr = span.end) {
		ntvm_view_span(ctx, addr, end, &span);
		if (span.kind != NTVM_SPAN_VIEW && !span.sealed)
			return false;
	}
	return true;
}

/*
 * Map [start, end) as a view of kind @exec again, after a failed move.
 * What is still ours there is replaced.  A hole that a failed MAP_FIXED
 * left is filled only if it is still a hole: between the failure and now
 * another thread's mmap() may have taken it, and that is never replaced.
 */
static int ntvm_view_restore_once(struct ntvm_ctx *ctx, unsigned long start,
				  unsigned long end, bool exec)
{
	struct ntvm_span span;
	unsigned long addr;
	int err;

	for (addr = start; addr < end; addr = span.end) {
		ntvm_view_span(ctx, addr, end, &span);
		if (span.kind == NTVM_SPAN_FOREIGN)
			return -EEXIST;
		err = ntvm_view_map(ctx, addr, span.end, exec,
				    span.kind == NTVM_SPAN_VIEW);
		if (err)
			return err;
	}
	return 0;
}

/**
 * ntvm_view_restore - map [start, end) as views of kind @exec again
 * @ctx:   the context
 * @start: first address
 * @end:   end address
 * @exec:  exec views rather than data views
 *
 * The undo of a failed move, which must not fail for a passing lack of
 * memory: it is tried again.
 *
 * Return: 0, -EEXIST when something else now sits in the range, -ENOMEM.
 */
int ntvm_view_restore(struct ntvm_ctx *ctx, unsigned long start,
		      unsigned long end, bool exec)
{
	int tries = NTVM_UNDO_TRIES, err;

	do {
		err = ntvm_view_restore_once(ctx, start, end, exec);
	} while (err == -ENOMEM && --tries);
	return err;
}

/*
 * After a lowering state change of [start, end) was published: no PTE may
 * keep granting what the state no longer grants.
 */
void ntvm_view_revoke(struct ntvm_ctx *ctx, unsigned long start,
		      unsigned long end)
{
	struct address_space *mapping = ctx->backing->f_mapping;
	pgoff_t index = ntvm_file_pos(start) >> PAGE_SHIFT;
	pgoff_t last = (ntvm_file_pos(end) >> PAGE_SHIFT) - 1;
	struct folio_batch fbatch;
	unsigned int i;

	/* Publish the state before looking at the page cache. */
	smp_mb();
	folio_batch_init(&fbatch);
	while (filemap_get_folios(mapping, &index, last, &fbatch)) {
		/* Wait for faults that checked the old state. */
		for (i = 0; i < folio_batch_count(&fbatch); i++) {
			folio_lock(fbatch.folios[i]);
			folio_unlock(fbatch.folios[i]);
		}
		folio_batch_release(&fbatch);
		cond_resched();
	}
	unmap_mapping_range(mapping, ntvm_file_pos(start), end - start, 1);
}

/*
 * Does the backing hold a page of [start, end)?  A state change published
 * before the call is seen by any fault that adds a page after it (the
 * barrier pairs with the fault's, as in ntvm_view_revoke()).
 */
bool ntvm_view_has_pages(struct ntvm_ctx *ctx, unsigned long start,
			 unsigned long end)
{
	/* Publish the state before looking at the page cache. */
	smp_mb();
	return filemap_range_has_page(ctx->backing->f_mapping,
				      ntvm_file_pos(start),
				      ntvm_file_pos(end) - 1);
}

/* Free the pages of [start, end): they read zero when committed again. */
void ntvm_view_discard(struct ntvm_ctx *ctx, unsigned long start,
		       unsigned long end)
{
	/* Publish the state before truncating; as in ntvm_view_revoke(). */
	smp_mb();
	/*
	 * One pass over the page tables first, so that truncation does not
	 * unmap folio by folio; faults that set a PTE after it hold the
	 * folio lock, which truncation waits for before unmapping again.
	 */
	unmap_mapping_range(ctx->backing->f_mapping, ntvm_file_pos(start),
			    end - start, 1);
	shmem_truncate_range(file_inode(ctx->backing), ntvm_file_pos(start),
			     ntvm_file_pos(end) - 1);
}

/* get_unmapped_area() in @ctx's process: an address, or an errno. */
static long ntvm_view_do_find_free(struct ntvm_ctx *ctx, void *arg)
{
	unsigned long addr, span = *(unsigned long *)arg;

	if (mmap_read_lock_killable(ctx->mm))
		return -EINTR;
	addr = ntvm_get_unmapped_area(span + NTVM_GRANULARITY - PAGE_SIZE);
	mmap_read_unlock(ctx->mm);
	return addr;
}

/*
 * A free, 64 KiB-aligned range of @len bytes, or 0.  The rest of its last
 * granule is free too when it is chosen: Windows leaves it unused.
 */
unsigned long ntvm_view_find_free(struct ntvm_ctx *ctx, unsigned long len)
{
	unsigned long addr, span = ALIGN(len, NTVM_GRANULARITY);

	if (ntvm_remote_ctx(ctx))
		addr = ntvm_remote(ctx, ntvm_view_do_find_free, &span, 0);
	else
		addr = ntvm_view_do_find_free(ctx, &span);
	if (IS_ERR_VALUE(addr))
		return 0;
	addr = ALIGN(addr, NTVM_GRANULARITY);
	if (addr < NTVM_MIN_ADDRESS || addr + len > NTVM_MAX_ADDRESS + 1)
		return 0;
	return addr;
}

/* Where Linux's top-down mmap(2) starts for the context's opener. */
static unsigned long ntvm_view_mmap_base(struct ntvm_ctx *ctx)
{
#ifdef CONFIG_HAVE_ARCH_COMPAT_MMAP_BASES
	if (ctx->compat)
		return ctx->mm->mmap_compat_base;
#endif
	return ctx->mm->mmap_base;
}

/*
 * Room a stack keeps below its top: what it may grow to, and a guard.  A
 * call from another process, which has no say in the owner's stack
 * limit, keeps the most.
 */
static unsigned long ntvm_view_stack_room(struct ntvm_ctx *ctx)
{
	unsigned long limit = NTVM_STACK_ROOM_MAX;

	if (!ntvm_remote_ctx(ctx))
		limit = min_t(unsigned long, rlimit(RLIMIT_STACK), limit);
	return limit + NTVM_STACK_GUARD;
}

/*
 * The first (or, if @last, the last) place for @pl in the holes of
 * [lo, hi), under mmap_lock.
 */
static unsigned long ntvm_view_hole_in(struct ntvm_ctx *ctx,
				       const struct ntvm_place *pl,
				       unsigned long lo, unsigned long hi,
				       bool last)
{
	unsigned long addr = lo, hole_end, base, found = 0;
	unsigned long room = ntvm_view_stack_room(ctx);
	struct mm_struct *mm = ctx->mm;
	struct vm_area_struct *vma;

	while (addr < hi) {
		vma = find_vma(mm, addr);
		hole_end = vma ? min(vma->vm_start, hi) : hi;
		if (vma && (vma->vm_flags & VM_GROWSDOWN))
			hole_end = min(hole_end,
				       vma->vm_end - min(vma->vm_end, room));
		if (hole_end > addr) {
			base = ntvm_place_in(pl, ALIGN(addr, NTVM_GRANULARITY),
					     ALIGN_DOWN(hole_end,
							NTVM_GRANULARITY));
			if (base && !last)
				return base;
			if (base)
				found = base;
		}
		if (!vma || vma->vm_end >= hi)
			break;
		addr = vma->vm_end;
	}
	return found;
}

/**
 * ntvm_view_find_hole - unmapped space where @pl goes
 * @ctx: the context
 * @pl:  the placement wanted
 *
 * Only below Linux's mmap base (above it is the stack's room to grow, which
 * Linux's own placement leaves free too), and never in a stack's room.
 * Top-down looks at the highest 16 MiB first, then at 16 times more each
 * time, so that it rarely walks every VMA.
 *
 * Return: the lowest (highest, for @pl->top_down) base that fits, or 0.
 */
unsigned long ntvm_view_find_hole(struct ntvm_ctx *ctx,
				  const struct ntvm_place *pl)
{
	struct mm_struct *mm = ctx->mm;
	unsigned long lo = pl->lo, hi, base = 0, window, from;

	if (mmap_read_lock_killable(mm))
		return 0;
	hi = min3(pl->hi, ntvm_view_mmap_base(ctx), mm->task_size);
	if (!pl->top_down && lo < hi)
		base = ntvm_view_hole_in(ctx, pl, lo, hi, false);
	/* Each window holds the one before: a place across two is found. */
	for (window = SZ_16M; pl->top_down && lo < hi; window *= 16) {
		from = hi - lo > window ? hi - window : lo;
		base = ntvm_view_hole_in(ctx, pl, from, hi, true);
		if (base || from == lo)
			break;
	}
	mmap_read_unlock(mm);
	return base;
}

/* The backing's folio of page @addr, locked, or NULL when not cached. */
struct folio *ntvm_view_lock_folio(struct ntvm_ctx *ctx, unsigned long addr)
{
	struct folio *folio;

	folio = filemap_lock_folio(ctx->backing->f_mapping,
				   ntvm_file_pos(addr) >> PAGE_SHIFT);
	return IS_ERR_OR_NULL(folio) ? NULL : folio;
}

/* Is page @addr in the backing's page cache (not out in swap)?  Atomic. */
bool ntvm_view_page_cached(struct ntvm_ctx *ctx, unsigned long addr)
{
	loff_t pos = ntvm_file_pos(addr);

	return filemap_range_has_page(ctx->backing->f_mapping, pos,
				      pos + PAGE_SIZE - 1);
}

/*
 * The backing's folio of page @addr, with a reference, brought into the
 * page cache (from swap, or a new zero page) if need be; or an ERR_PTR().
 * Called for locking, by the context's own process: a new page is charged
 * to its memory cgroup.  shmem looks the folio up under its lock and checks it
 * is still in the page cache, so a folio the reset shrinker is taking out
 * (under that lock) is waited for, and a new one read.
 */
struct folio *ntvm_view_read_folio(struct ntvm_ctx *ctx, unsigned long addr)
{
	struct address_space *mapping = ctx->backing->f_mapping;
	struct page *page;

	page = shmem_read_mapping_page_gfp(mapping,
					   ntvm_file_pos(addr) >> PAGE_SHIFT,
					   mapping_gfp_mask(mapping));
	if (IS_ERR(page))
		return ERR_CAST(page);
	return page_folio(page);
}
