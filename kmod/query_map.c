// SPDX-License-Identifier: GPL-2.0
/*
 * The query map: a context's state, mapped read-only into its process, so
 * that a query can be answered there without a system call.
 *
 * mmap(2) of the context's /dev/ntvm file at offset 0 maps it.  Its pages
 * are pages of the module's own, never slab memory (query_map_store.c),
 * put in by the fault handler below.  The first is the header (struct
 * ntvm_query_map_header): the sequence count, the generation (bumped by
 * every change of the memory state a query reports), "pending", and the
 * root of the radix tree (query_map_tree.c) that leads to the records of
 * the allocations and their runs of page states.
 *
 * The map is built at the end of the first service after the process
 * maps it, and from then on kept up to date by each service before it
 * returns (query_map_sync.c), from the ranges the layers below report
 * changed (ntvm_qmap_changed()): the tree over every allocation, the
 * records of those the process asks about (ntvm_qmap_asked()).  Between
 * the first change of a service and its end the sequence count is odd: a
 * reader never sees half of a service.  A change outside a service (a
 * guard page tripping in the fault path, the process unmapping views, see
 * query_map_notifier.c) makes the map "pending" until the next service:
 * readers ask the ioctl meanwhile.
 *
 * What keeps the process from changing it, or another from reading it:
 *
 *  - a mapping must be shared (MAP_SHARED), read-only and not executable:
 *    VM_MAYWRITE and VM_MAYEXEC are cleared, so that mprotect(2) cannot
 *    add PROT_WRITE or PROT_EXEC (EACCES), and a write through
 *    /proc/PID/mem (FOLL_FORCE) or process_vm_writev(2) is refused by GUP
 *    (EFAULT; /proc/PID/mem reports EIO);
 *  - VM_DONTEXPAND: mremap(2) cannot grow it; VM_DONTDUMP: not in core
 *    dumps; VM_DONTCOPY: a child of fork(2) does not inherit it, and one
 *    that does after madvise(MADV_DOFORK) faults on it (SIGSEGV), as on
 *    the views;
 *  - only the process that opened the context maps it: the file in
 *    another address space (passed on, inherited, or kept across
 *    execve(2)) fails with EPERM.
 *
 * A mapping holds the file, which holds the context, and each of its PTEs
 * a reference to the page: neither can go while the process can read it.
 *
 * The sequence count, generation and pending ranges are changed under
 * the context's qmap.lock: by the services under op_lock, by the fault
 * path when it trips a guard page (which does not take op_lock), and by
 * the MMU notifier.  The rest of the map changes under op_lock alone,
 * inside the services' sections.  Readers retry while the sequence count
 * is odd or changed under them.
 */

#include <linux/mm.h>
#include <linux/spinlock.h>

#include "compat.h"
#include "ntvm.h"

/* Without op_lock too (the fault path, the MMU notifier). */
struct ntvm_query_map_header *ntvm_qmap_header(struct ntvm_ctx *ctx)
{
	return ctx->qmap.header;
}

/**
 * ntvm_qmap_init - the query map of a new context
 * @ctx: the context
 *
 * The map is its header alone, "pending", until the first request after
 * the process maps it (query_map_sync.c).
 * Return: 0 or -ENOMEM.
 */
int ntvm_qmap_init(struct ntvm_ctx *ctx)
{
	struct ntvm_query_map_header *h;
	int err;

	BUILD_BUG_ON(sizeof(*h) > PAGE_SIZE);
	BUILD_BUG_ON(sizeof(struct ntvm_query_map_record) != 64);
	BUILD_BUG_ON(sizeof(struct ntvm_query_map_run) != 16);
	raw_spin_lock_init(&ctx->qmap.lock);
	err = ntvm_qstore_init(ctx);
	if (err)
		return err;
	h = ntvm_qmap_header(ctx);
	h->magic = NTVM_QUERY_MAP_MAGIC;
	h->version = NTVM_QUERY_MAP_VERSION;
	h->map_size = NTVM_QMAP_WINDOW;
	h->used = ctx->qmap.used;
	h->pending = 1;
	return 0;
}

/* The context's references; a mapping's PTEs hold their own. */
void ntvm_qmap_destroy(struct ntvm_ctx *ctx)
{
	ntvm_qstore_destroy(ctx);
}

/* Readers read again from now on until ntvm_qmap_close(); qmap.lock. */
static void ntvm_qmap_open(struct ntvm_ctx *ctx)
{
	struct ntvm_query_map_header *h = ntvm_qmap_header(ctx);

	lockdep_assert_held(&ctx->qmap.lock);
	if (ctx->qmap.section)
		return;
	WRITE_ONCE(h->seq, h->seq + 1);
	/* Pairs with the reader's barrier between its two reads of seq. */
	smp_wmb();
	ctx->qmap.section = true;
}

static void ntvm_qmap_close(struct ntvm_ctx *ctx)
{
	struct ntvm_query_map_header *h = ntvm_qmap_header(ctx);

	lockdep_assert_held(&ctx->qmap.lock);
	if (!ctx->qmap.section)
		return;
	/* Pairs with the reader's acquire of seq. */
	smp_store_release(&h->seq, h->seq + 1);
	ctx->qmap.section = false;
}

static void ntvm_qmap_bump_generation(struct ntvm_ctx *ctx)
{
	struct ntvm_query_map_header *h = ntvm_qmap_header(ctx);

	WRITE_ONCE(h->generation, h->generation + 1);
}

/* Add [start, end) to the ranges to bring up to date; qmap.lock. */
static void ntvm_qmap_add_pending(struct ntvm_ctx *ctx, unsigned long start,
				  unsigned long end)
{
	struct ntvm_qmap *q = &ctx->qmap;
	unsigned int i;

	lockdep_assert_held(&q->lock);
	/* An unmap reaches up to TASK_SIZE; allocations end below this. */
	end = min(end, NTVM_MAX_ADDRESS + 1);
	if (start >= end)
		return;
	for (i = 0; i < q->nr_pending; i++) {
		if (start <= q->pending[i].end && q->pending[i].start <= end) {
			q->pending[i].start = min(q->pending[i].start, start);
			q->pending[i].end = max(q->pending[i].end, end);
			return;
		}
	}
	if (q->nr_pending == NTVM_QMAP_PENDING) {
		/* Too many: their hull, which may hold much more. */
		for (i = 0; i < q->nr_pending; i++) {
			start = min(start, q->pending[i].start);
			end = max(end, q->pending[i].end);
		}
		q->pending[0].start = start;
		q->pending[0].end = end;
		/* Never 0 to ntvm_qmap_take_pending()'s look. */
		WRITE_ONCE(q->nr_pending, 1);
		return;
	}
	q->pending[q->nr_pending].start = start;
	q->pending[q->nr_pending].end = end;
	/* Read without the lock by ntvm_qmap_take_pending(). */
	WRITE_ONCE(q->nr_pending, q->nr_pending + 1);
}

/* ntvm_qmap_pend() with qmap.lock held. */
static void ntvm_qmap_pend_locked(struct ntvm_ctx *ctx, unsigned long start,
				  unsigned long end, bool bump)
{
	struct ntvm_query_map_header *h = ntvm_qmap_header(ctx);
	bool opened;

	lockdep_assert_held(&ctx->qmap.lock);
	/* Inside a service's section, readers read again when it ends. */
	opened = !ctx->qmap.section;
	ntvm_qmap_open(ctx);
	/*
	 * Read under the lock: a service that makes the map live
	 * (ntvm_qsync_go_live()) sets it before it takes the lock to pend
	 * everything, so either this change is seen by its sync, or this
	 * sees it live and pends the range.
	 */
	if (ctx->qmap.live) {
		ntvm_qmap_add_pending(ctx, start, end);
		WRITE_ONCE(h->pending, 1);
	}
	if (bump)
		ntvm_qmap_bump_generation(ctx);
	if (opened)
		ntvm_qmap_close(ctx);
}

/**
 * ntvm_qmap_pend - [@start, @end) changed outside a service
 * @ctx:   the context
 * @start: first address
 * @end:   end address (@start for a change of no range)
 * @bump:  count a change of the state in the generation
 *
 * From the fault path (a guard page trips: before the page changes, so
 * that no reader answers from the map once it has, and after it), from
 * the MMU notifier (the process unmaps memory), or with op_lock held.
 * Readers ask the ioctl until the next request brings the map up to date.
 */
void ntvm_qmap_pend(struct ntvm_ctx *ctx, unsigned long start,
		    unsigned long end, bool bump)
{
	/* Not live: nothing to pend (looked at again under the lock). */
	if (!READ_ONCE(ctx->qmap.live) && !bump)
		return;
	raw_spin_lock(&ctx->qmap.lock);
	ntvm_qmap_pend_locked(ctx, start, end, bump);
	raw_spin_unlock(&ctx->qmap.lock);
}

/**
 * ntvm_qmap_guard_begin - the fault path may clear the guard of @addr
 * @ctx:  the context
 * @addr: the page
 *
 * Until ntvm_qmap_guard_end(), the map stays pending: a service that
 * brings it up to date in between may read the page before it changes.
 */
void ntvm_qmap_guard_begin(struct ntvm_ctx *ctx, unsigned long addr)
{
	/*
	 * Counted even before the map is live: a service that makes it
	 * live now, and reads the page before it changes, must leave the
	 * map pending (ntvm_qmap_service_end()).
	 */
	raw_spin_lock(&ctx->qmap.lock);
	ctx->qmap.guards++;
	/* Not live: nothing to pend, and the sequence count left alone. */
	if (ctx->qmap.live)
		ntvm_qmap_pend_locked(ctx, addr, addr + PAGE_SIZE, false);
	raw_spin_unlock(&ctx->qmap.lock);
}

/* The guard is cleared (or was not there), and the map told. */
void ntvm_qmap_guard_end(struct ntvm_ctx *ctx)
{
	raw_spin_lock(&ctx->qmap.lock);
	ctx->qmap.guards--;
	raw_spin_unlock(&ctx->qmap.lock);
}

/**
 * ntvm_qmap_changed - the memory state of [@start, @end) has changed
 * @ctx:   the context
 * @start: first address
 * @end:   end address (@start for a change of no range)
 *
 * Called with op_lock held, or from the fault path when a guard page
 * trips.  Inside a service (ntvm_qmap_service_begin()), by the task that
 * runs it, the map is marked as being changed (readers read again) and
 * brought up to date when the service ends (query_map_sync.c), which
 * counts the change once; any other change is pending until the next
 * service, and counted at once.
 */
void ntvm_qmap_changed(struct ntvm_ctx *ctx, unsigned long start,
		       unsigned long end)
{
	if (READ_ONCE(ctx->qmap.task) != current) {
		ntvm_qmap_pend(ctx, start, end, true);
		return;
	}
	ctx->qmap.dirty = true;
	if (!ctx->qmap.live)
		return;
	raw_spin_lock(&ctx->qmap.lock);
	ntvm_qmap_open(ctx);
	ntvm_qmap_add_pending(ctx, start, end);
	raw_spin_unlock(&ctx->qmap.lock);
}

/**
 * ntvm_qmap_states_changed - the page states of [@start, @end) change
 * @ctx:   the context, op_lock held
 * @start: first address
 * @end:   end address
 *
 * As ntvm_qmap_changed().  But in a range of one allocation that the
 * process has not asked about lately (query_map_sync.c), its record only
 * says "ask the ioctl" from now on, at once: nothing is left for the sync
 * to bring up to date (the tree does not change with page states).
 */
void ntvm_qmap_states_changed(struct ntvm_ctx *ctx, unsigned long start,
			      unsigned long end)
{
	struct ntvm_query_map_record *rec;
	struct ntvm_vad *vad;

	lockdep_assert_held(&ctx->op_lock);
	vad = ctx->qmap.live && ctx->qmap.task == current ?
	      ntvm_vad_find(ctx, start) : NULL;
	if (!vad || vad->ext.qeager || end > ntvm_vad_end(vad)) {
		ntvm_qmap_changed(ctx, start, end);
		return;
	}
	ctx->qmap.dirty = true;
	vad->ext.qbig = false;
	/* No record: the tree says "ask the ioctl" there already. */
	if (!vad->ext.qrec)
		return;
	rec = ntvm_qstore_ptr(ctx, vad->ext.qrec);
	raw_spin_lock(&ctx->qmap.lock);
	ntvm_qmap_open(ctx);
	raw_spin_unlock(&ctx->qmap.lock);
	WRITE_ONCE(rec->flags, NTVM_QUERY_MAP_RECORD_SLOW);
}

/*
 * Does the tree stay as it is when allocation @ext comes or goes?  It does
 * for an allocation with no record, not asked about (query_map_sync.c),
 * that has its granules to itself: their entries are 0 or SLOW (or
 * pending), which the sync would leave or make 0, all meaning "ask the
 * ioctl".  Inside a service only, which still counts the change in the
 * generation.
 */
static bool ntvm_qmap_unseen(struct ntvm_ctx *ctx, struct ntvm_extent *ext)
{
	return ctx->qmap.task == current && !ext->qrec && !ext->qeager &&
	       ntvm_space_alone(ext);
}

/**
 * ntvm_qmap_inserted - the allocation @ext enters the address-space map
 * @ctx: the context, op_lock held
 * @ext: its extent, in the map
 *
 * As ntvm_qmap_changed() over its range; but only counted in the
 * generation when the tree stays as it is (ntvm_qmap_unseen()).
 */
void ntvm_qmap_inserted(struct ntvm_ctx *ctx, struct ntvm_extent *ext)
{
	lockdep_assert_held(&ctx->op_lock);
	if (ntvm_qmap_unseen(ctx, ext))
		ctx->qmap.dirty = true;
	else
		ntvm_qmap_changed(ctx, ext->start, ext->end);
}

/**
 * ntvm_qmap_erased - the allocation @ext leaves the address-space map
 * @ctx: the context, op_lock held
 * @ext: its extent, still in the map
 *
 * Its record reads "ask the ioctl" until query_map_sync.c has taken it
 * out of the tree and freed it.  With no record, as ntvm_qmap_inserted().
 */
void ntvm_qmap_erased(struct ntvm_ctx *ctx, struct ntvm_extent *ext)
{
	struct ntvm_query_map_record *rec;

	lockdep_assert_held(&ctx->op_lock);
	if (ntvm_qmap_unseen(ctx, ext)) {
		ctx->qmap.dirty = true;
		return;
	}
	if (ext->qrec) {
		rec = ntvm_qstore_ptr(ctx, ext->qrec);
		raw_spin_lock(&ctx->qmap.lock);
		ntvm_qmap_open(ctx);
		WRITE_ONCE(rec->flags, NTVM_QUERY_MAP_RECORD_SLOW);
		/* Linked through its reserved word; see the sync. */
		rec->reserved = ctx->qmap.dead;
		if (ctx->qmap.task != current)
			ntvm_qmap_close(ctx);
		raw_spin_unlock(&ctx->qmap.lock);
		ctx->qmap.dead = ext->qrec;
		ext->qrec = 0;
	}
	ntvm_qmap_changed(ctx, ext->start, ext->end);
}

/**
 * ntvm_qmap_answers - does the map answer for allocation @ext?
 * @ctx: the context, op_lock held
 * @ext: the allocation's extent
 *
 * Return: true when the map is live and @ext's record answers (is not
 * marked "ask the ioctl").
 */
bool ntvm_qmap_answers(struct ntvm_ctx *ctx, struct ntvm_extent *ext)
{
	struct ntvm_query_map_record *rec;

	lockdep_assert_held(&ctx->op_lock);
	if (!ctx->qmap.live || !ext->qrec)
		return false;
	rec = ntvm_qstore_ptr(ctx, ext->qrec);
	return !(rec->flags & NTVM_QUERY_MAP_RECORD_SLOW);
}

/**
 * ntvm_qmap_asked - the ioctl answered a query inside allocation @ext
 * @ctx:  the context, op_lock held, in a service
 * @ext:  the allocation's extent, described by ntvm's state
 * @addr: the address asked about
 *
 * A record is kept up to date only while its process asks about the
 * allocation (query_map_sync.c): from now on, for its next
 * NTVM_QMAP_EAGER changes, starting with this service's end when it says
 * "ask the ioctl" now.
 */
void ntvm_qmap_asked(struct ntvm_ctx *ctx, struct ntvm_extent *ext,
		     unsigned long addr)
{
	lockdep_assert_held(&ctx->op_lock);
	/* Another process's queries never read this map. */
	if (ntvm_remote_ctx(ctx))
		return;
	/* Too many runs: tried again at the next change only. */
	ext->qeager = ext->qbig ? 1 : NTVM_QMAP_EAGER;
	if (!ctx->qmap.live || ext->qbig)
		return;
	/*
	 * Its record answers, and the tree leads there (or says SLOW: a
	 * granule shared).  A 0 there is left by a record made in a sync of
	 * part of the allocation: the whole is made again.
	 */
	if (ntvm_qmap_answers(ctx, ext) &&
	    ntvm_qtree_get(ctx, addr / NTVM_GRANULARITY))
		return;
	/*
	 * Not "pending": readers ask the ioctl there until then anyway (the
	 * record, or the tree's entry, says so), and only there.
	 */
	raw_spin_lock(&ctx->qmap.lock);
	ntvm_qmap_add_pending(ctx, ext->start, ext->end);
	raw_spin_unlock(&ctx->qmap.lock);
}

/**
 * ntvm_qmap_service_begin - a service starts, under op_lock
 * @ctx: the context
 *
 * Its changes are published together by ntvm_qmap_service_end(), before
 * op_lock is released: one step of the generation a service.
 */
void ntvm_qmap_service_begin(struct ntvm_ctx *ctx)
{
	lockdep_assert_held(&ctx->op_lock);
	ctx->qmap.dirty = false;
	WRITE_ONCE(ctx->qmap.task, current);
}

/**
 * ntvm_qmap_take_pending - the ranges to bring up to date, all of them
 * @ctx:    the context, with op_lock held, the map live
 * @ranges: out: NTVM_QMAP_PENDING of them at most
 *
 * What is pended after this waits for the next service: the map stays
 * pending until then.  When there are any, the map's section is open
 * from now until ntvm_qmap_service_end().
 * Return: how many.
 */
unsigned int ntvm_qmap_take_pending(struct ntvm_ctx *ctx,
				    struct ntvm_qmap_range *ranges)
{
	struct ntvm_qmap *q = &ctx->qmap;
	unsigned int n;

	lockdep_assert_held(&ctx->op_lock);
	/*
	 * None: a range pended after this look waits for the next service,
	 * and ntvm_qmap_service_end() (under the lock) leaves the map
	 * pending for it.
	 */
	if (!READ_ONCE(q->nr_pending))
		return 0;
	raw_spin_lock(&q->lock);
	n = q->nr_pending;
	memcpy(ranges, q->pending, n * sizeof(*ranges));
	q->nr_pending = 0;
	if (n)
		ntvm_qmap_open(ctx);
	raw_spin_unlock(&q->lock);
	return n;
}

/**
 * ntvm_qmap_service_end - the service ends, op_lock still held
 * @ctx:      the context
 * @complete: the map holds every range taken (none was left behind for
 *            want of memory)
 *
 * Publish what it changed: the header's figures, and "pending" cleared
 * when nothing is left to bring up to date.
 */
void ntvm_qmap_service_end(struct ntvm_ctx *ctx, bool complete)
{
	struct ntvm_query_map_header *h = ntvm_qmap_header(ctx);
	struct ntvm_qmap *q = &ctx->qmap;

	lockdep_assert_held(&ctx->op_lock);
	WRITE_ONCE(q->task, NULL);
	raw_spin_lock(&q->lock);
	if (q->dirty) {
		ntvm_qmap_open(ctx);
		ntvm_qmap_bump_generation(ctx);
	}
	/*
	 * Left pending by an earlier service while a guard page was being
	 * cleared, with nothing to bring up to date since: no longer.
	 */
	if (q->live && complete && !q->nr_pending && !q->guards &&
	    READ_ONCE(h->pending))
		ntvm_qmap_open(ctx);
	if (q->section && q->live) {
		WRITE_ONCE(h->max_address, ctx->max_address);
		WRITE_ONCE(h->pending,
			   !complete || q->nr_pending || q->guards);
	}
	ntvm_qmap_close(ctx);
	raw_spin_unlock(&q->lock);
	q->dirty = false;
}

static vm_fault_t ntvm_qmap_fault(struct vm_fault *vmf)
{
	struct ntvm_ctx *ctx = vmf->vma->vm_private_data;
	struct page *page;

	/* Copied into a child (MADV_DOFORK): not its memory. */
	if (vmf->vma->vm_mm != ctx->mm)
		return VM_FAULT_SIGSEGV;
	/* Pages are only added, and kept while the file is open. */
	page = xa_load(&ctx->qmap.pages, vmf->pgoff);
	if (!page)
		return VM_FAULT_SIGBUS;
	get_page(page);
	vmf->page = page;
	return 0;
}

static const struct vm_operations_struct ntvm_qmap_vm_ops = {
	.fault		= ntvm_qmap_fault,
};

/**
 * ntvm_qmap_mmap - map the query map of @ctx
 * @ctx: the context
 * @vma: the new mapping
 *
 * Return: 0; -EPERM from another address space than the context's;
 * -EACCES for a writable mapping; -EINVAL for a private one, one not at
 * offset 0, or one longer than the map.
 */
int ntvm_qmap_mmap(struct ntvm_ctx *ctx, struct vm_area_struct *vma)
{
	if (vma->vm_mm != ctx->mm)
		return -EPERM;
	if (vma->vm_flags & VM_WRITE)
		return -EACCES;
	if (!(vma->vm_flags & VM_MAYSHARE) || vma->vm_pgoff ||
	    vma_pages(vma) > NTVM_QMAP_WINDOW >> PAGE_SHIFT)
		return -EINVAL;
	/* PROT_READ under READ_IMPLIES_EXEC too: never executable. */
	ntvm_vm_flags_clear(vma, VM_MAYWRITE | VM_EXEC | VM_MAYEXEC);
	ntvm_vm_flags_set(vma, VM_DONTCOPY | VM_DONTEXPAND | VM_DONTDUMP);
	vma->vm_ops = &ntvm_qmap_vm_ops;
	vma->vm_private_data = ctx;
	/* The next request builds the map and keeps it up to date. */
	WRITE_ONCE(ctx->qmap.mapped, true);
	return 0;
}
