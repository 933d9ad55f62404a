// SPDX-License-Identifier: GPL-2.0
/*
 * The query map: a context's state, mapped read-only into its process, so
 * that a query can be answered there without a system call.
 *
 * mmap(2) of the context's /dev/ntvm file at offset 0 maps it.  Its pages
 * are pages of the module's own, never slab memory, put in by the fault
 * handler below; for now there is one, the header (struct
 * ntvm_query_map_header): a sequence count and the generation, bumped by
 * every change of the memory state a query reports.
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
 * Writers hold the context's qmap_lock: the services under op_lock, and
 * the fault path when it trips a guard page (which does not take op_lock).
 * Readers retry while the sequence count is odd or changed under them.
 */

#include <linux/mm.h>
#include <linux/spinlock.h>

#include "compat.h"
#include "ntvm.h"

static struct ntvm_query_map_header *ntvm_qmap_header(struct ntvm_ctx *ctx)
{
	return page_address(ctx->qmap_page);
}

/**
 * ntvm_qmap_init - the query map of a new context
 * @ctx: the context
 *
 * Return: 0 or -ENOMEM.
 */
int ntvm_qmap_init(struct ntvm_ctx *ctx)
{
	struct ntvm_query_map_header *h;

	BUILD_BUG_ON(sizeof(*h) > PAGE_SIZE);
	raw_spin_lock_init(&ctx->qmap_lock);
	ctx->qmap_page = alloc_page(GFP_KERNEL_ACCOUNT | __GFP_ZERO);
	if (!ctx->qmap_page)
		return -ENOMEM;
	h = ntvm_qmap_header(ctx);
	h->magic = NTVM_QUERY_MAP_MAGIC;
	h->version = NTVM_QUERY_MAP_VERSION;
	h->map_size = PAGE_SIZE;
	return 0;
}

/* The context's reference; a mapping's PTEs hold their own. */
void ntvm_qmap_destroy(struct ntvm_ctx *ctx)
{
	if (ctx->qmap_page)
		__free_page(ctx->qmap_page);
	ctx->qmap_page = NULL;
}

/* One change of the map: a write section of its own. */
static void ntvm_qmap_bump(struct ntvm_ctx *ctx)
{
	struct ntvm_query_map_header *h = ntvm_qmap_header(ctx);

	raw_spin_lock(&ctx->qmap_lock);
	WRITE_ONCE(h->seq, h->seq + 1);
	/* Pairs with the reader's barrier between its two reads of seq. */
	smp_wmb();
	WRITE_ONCE(h->generation, h->generation + 1);
	/* Pairs with the reader's acquire of seq. */
	smp_store_release(&h->seq, h->seq + 1);
	raw_spin_unlock(&ctx->qmap_lock);
}

/**
 * ntvm_qmap_changed - the memory state a query reports has changed
 * @ctx: the context
 *
 * Called with op_lock held, or from the fault path when a guard page
 * trips.  Inside a service (ntvm_qmap_service_begin()), by the task that
 * runs it, the change is published once, when the service ends; any
 * other change (the fault path, another thread's) at once.  A reader
 * that overlaps a change sees the sequence count odd, or changed, and
 * reads again.
 */
void ntvm_qmap_changed(struct ntvm_ctx *ctx)
{
	if (READ_ONCE(ctx->qmap_task) == current) {
		ctx->qmap_dirty = true;
		return;
	}
	ntvm_qmap_bump(ctx);
}

/**
 * ntvm_qmap_service_begin - a service starts, under op_lock
 * @ctx: the context
 *
 * Its changes are published together by ntvm_qmap_service_end(), before
 * op_lock is released: one step of the sequence count a service.
 */
void ntvm_qmap_service_begin(struct ntvm_ctx *ctx)
{
	lockdep_assert_held(&ctx->op_lock);
	ctx->qmap_dirty = false;
	WRITE_ONCE(ctx->qmap_task, current);
}

/* The service ends, op_lock still held: publish what it changed. */
void ntvm_qmap_service_end(struct ntvm_ctx *ctx)
{
	lockdep_assert_held(&ctx->op_lock);
	WRITE_ONCE(ctx->qmap_task, NULL);
	if (ctx->qmap_dirty)
		ntvm_qmap_bump(ctx);
	ctx->qmap_dirty = false;
}

static vm_fault_t ntvm_qmap_fault(struct vm_fault *vmf)
{
	struct ntvm_ctx *ctx = vmf->vma->vm_private_data;

	/* Copied into a child (MADV_DOFORK): not its memory. */
	if (vmf->vma->vm_mm != ctx->mm)
		return VM_FAULT_SIGSEGV;
	if (vmf->pgoff != 0)
		return VM_FAULT_SIGBUS;
	get_page(ctx->qmap_page);
	vmf->page = ctx->qmap_page;
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
	    vma_pages(vma) > ntvm_qmap_header(ctx)->map_size >> PAGE_SHIFT)
		return -EINVAL;
	/* PROT_READ under READ_IMPLIES_EXEC too: never executable. */
	ntvm_vm_flags_clear(vma, VM_MAYWRITE | VM_EXEC | VM_MAYEXEC);
	ntvm_vm_flags_set(vma, VM_DONTCOPY | VM_DONTEXPAND | VM_DONTDUMP);
	vma->vm_ops = &ntvm_qmap_vm_ops;
	vma->vm_private_data = ctx;
	return 0;
}
