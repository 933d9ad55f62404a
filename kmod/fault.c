// SPDX-License-Identifier: GPL-2.0
/*
 * The fault path: the vm_operations of every view, deciding each access
 * from the page state.
 *
 *  - fault: uncommitted, no-access and guard pages raise SIGSEGV (a guard
 *    page loses its guard bit first: one shot; when the kernel tripped it,
 *    guard.c makes the rest of that system call fail on the page too);
 *    other pages come from the backing through
 *    shmem_read_mapping_page_gfp(), the interface shmem offers drivers for
 *    their objects' pages, and the state is checked again with the folio
 *    locked;
 *  - page_mkwrite: only read-write pages may become writable, and the
 *    first write after a write-watch reset is recorded there, as is the
 *    first write after a MEM_RESET (the page is of interest again);
 *  - a MEM_RESET page the shrinker is discarding is never mapped: the
 *    fault retries until the old folio is gone (see reset.c);
 *  - no map_pages: fault-around would map neighbours without asking;
 *  - userspace cannot mprotect or move a view, nor split one inside an
 *    allocation;
 *  - views are left out of core dumps (VM_DONTDUMP): arenas are mostly
 *    free space; madvise(MADV_DODUMP) puts an allocation back in.
 *
 * Lowering a protection publishes the new state, waits for faults that
 * may have seen the old one (they hold the folio lock from their check to
 * the PTE being set) and zaps the range (see ntvm_view_revoke()); raising
 * costs nothing until the next fault.
 */

#include <linux/memcontrol.h>
#include <linux/mm.h>
#include <linux/pagemap.h>
#include <linux/sched/mm.h>
#include <linux/shmem_fs.h>

#include "compat.h"
#include "ntvm.h"

/* Is current inside one of @ctx's own view changes? */
bool ntvm_own_op(struct ntvm_ctx *ctx)
{
	return READ_ONCE(ctx->op_task) == current;
}

bool ntvm_vma_is_ours(struct ntvm_ctx *ctx, struct vm_area_struct *vma)
{
	return vma->vm_ops == &ntvm_vm_ops && vma->vm_file == ctx->backing;
}

/*
 * The backing's page at @vmf->pgoff, brought in if need be.  A page new to
 * the backing is charged to the memory cgroup of the process whose memory
 * it is, also when another process (a debugger) touches it first.
 */
static struct page *ntvm_fault_read_page(struct vm_fault *vmf)
{
	struct address_space *mapping = vmf->vma->vm_file->f_mapping;
	struct mem_cgroup *memcg = NULL, *old = NULL;
	struct page *page;

	if (unlikely(current->mm != vmf->vma->vm_mm)) {
		memcg = get_mem_cgroup_from_mm(vmf->vma->vm_mm);
		old = set_active_memcg(memcg);
	}
	page = shmem_read_mapping_page_gfp(mapping, vmf->pgoff,
					   mapping_gfp_mask(mapping));
	if (unlikely(memcg)) {
		set_active_memcg(old);
		mem_cgroup_put(memcg);
	}
	return page;
}

/* The backing's folio at @vmf->pgoff, locked and still in the backing. */
static vm_fault_t ntvm_fault_get_folio(struct vm_fault *vmf,
				       struct folio **foliop)
{
	struct address_space *mapping = vmf->vma->vm_file->f_mapping;
	struct folio *folio;
	struct page *page;

	page = ntvm_fault_read_page(vmf);
	if (IS_ERR(page))
		return PTR_ERR(page) == -ENOMEM ? VM_FAULT_OOM : VM_FAULT_SIGBUS;
	folio = page_folio(page);
	folio_lock(folio);
	if (folio->mapping != mapping) {
		/* Truncated by a decommit since: look again. */
		folio_unlock(folio);
		folio_put(folio);
		return VM_FAULT_NOPAGE;
	}
	*foliop = folio;
	return 0;
}

/*
 * Trip the guard of the page at @vmf->address: clear it and fail the
 * access.  A fault that does not come from user mode (a user copy, GUP)
 * makes the rest of its system call fail on the page too (guard.c).
 * Called with no folio locked: the record is allocated first.
 */
static vm_fault_t ntvm_fault_trip_guard(struct vm_fault *vmf)
{
	struct ntvm_ctx *ctx = vmf->vma->vm_private_data;
	struct ntvm_guard_hit *hit = NULL;

	if (!(vmf->flags & FAULT_FLAG_USER))
		hit = ntvm_guard_hit_alloc();
	if (!ntvm_page_clear_guard(ctx, vmf->address)) {
		/* Another fault or a protection change came first. */
		ntvm_guard_hit_free(hit);
		return VM_FAULT_NOPAGE;
	}
	if (hit)
		ntvm_guard_hit_add(hit, vmf->vma->vm_file, vmf->address);
	return VM_FAULT_SIGSEGV;
}

/* The result of an access the page state refuses. */
static vm_fault_t ntvm_fault_refuse(struct vm_fault *vmf,
				    enum ntvm_access access)
{
	if (access == NTVM_ACCESS_GUARD)
		return ntvm_fault_trip_guard(vmf);
	return VM_FAULT_SIGSEGV;
}

static vm_fault_t ntvm_fault(struct vm_fault *vmf)
{
	struct vm_area_struct *vma = vmf->vma;
	struct ntvm_ctx *ctx = vma->vm_private_data;
	bool write = vmf->flags & FAULT_FLAG_WRITE;
	enum ntvm_access access;
	struct folio *folio;
	vm_fault_t ret;

	/* A view copied into a child (MADV_DOFORK) gives it nothing. */
	if (vma->vm_mm != ctx->mm)
		return VM_FAULT_SIGSEGV;
	/* This system call tripped the page's guard: it fails there. */
	if (!(vmf->flags & FAULT_FLAG_USER) &&
	    ntvm_guard_refused(vma->vm_file, vmf->address))
		return VM_FAULT_SIGSEGV;
	access = ntvm_page_access(ctx, vmf->address, write);
	if (access != NTVM_ACCESS_OK)
		return ntvm_fault_refuse(vmf, access);
	/*
	 * A page whose state is not executable in an exec view: a view
	 * change in progress moved it there before publishing its new state
	 * (retry until it has), or userspace grew an exec view in place.
	 * Never map it executable.
	 */
	if (unlikely(vma->vm_flags & VM_EXEC)) {
		/* Pairs with the release in ntvm_change_apply(). */
		bool moving = smp_load_acquire(&ctx->moving);

		if (!ntvm_prot_is_exec(ntvm_page_state(ctx, vmf->address)))
			return moving ? VM_FAULT_NOPAGE : VM_FAULT_SIGSEGV;
	}

	ret = ntvm_fault_get_folio(vmf, &folio);
	if (ret)
		return ret;
	/*
	 * The folio is locked: a protection change cannot overtake us now.
	 * It may be new in the page cache, unseen by a protection change
	 * that published its state just before: the barrier pairs with the
	 * one in ntvm_view_revoke(), so one of us sees the other.
	 */
	smp_mb();
	access = ntvm_page_access(ctx, vmf->address, write);
	if (access != NTVM_ACCESS_OK) {
		folio_unlock(folio);
		folio_put(folio);
		return ntvm_fault_refuse(vmf, access);
	}
	vmf->page = folio_file_page(folio, vmf->pgoff);
	return VM_FAULT_LOCKED;
}

static vm_fault_t ntvm_page_mkwrite(struct vm_fault *vmf)
{
	struct vm_area_struct *vma = vmf->vma;
	struct ntvm_ctx *ctx = vma->vm_private_data;
	struct folio *folio = page_folio(vmf->page);
	enum ntvm_access access;

	if (vma->vm_mm != ctx->mm)
		return VM_FAULT_SIGSEGV;
	folio_lock(folio);
	if (folio->mapping != vma->vm_file->f_mapping) {
		folio_unlock(folio);
		return VM_FAULT_NOPAGE;
	}
	/* In the page cache already: the folio lock orders us. */
	access = ntvm_page_access(ctx, vmf->address, true);
	if (access != NTVM_ACCESS_OK) {
		folio_unlock(folio);
		return ntvm_fault_refuse(vmf, access);
	}
	/*
	 * A MEM_RESET page written: of interest again, and no longer
	 * discarded.  Its PTEs were made read-only with the folio locked,
	 * so the first write after the reset comes here (reset.c).
	 */
	ntvm_reset_page_written(ctx, vmf->address);
	/*
	 * Every write to a page that is not writable in its PTE comes here
	 * first: a write watch reset makes the PTE read-only again with the
	 * folio locked (ntvm_change_reset_written()).
	 */
	if (READ_ONCE(ctx->write_watches))
		ntvm_page_mark_written(ctx, vmf->address);
	return VM_FAULT_LOCKED;
}

/*
 * The rest of the process may split a view between allocations (to unmap
 * or map over arena space, or whole allocations), never inside one.
 */
static int ntvm_vm_may_split(struct vm_area_struct *vma, unsigned long addr)
{
	struct ntvm_ctx *ctx = vma->vm_private_data;

	if (ntvm_own_op(ctx))
		return 0;
	return ntvm_space_splits_vad(ctx, addr) ? -EINVAL : 0;
}

/*
 * Protections are ntvm's to change: mprotect(2) of an allocation fails
 * with EACCES; of arena space, which is free, with ENOMEM, as for memory
 * that is not mapped.
 */
static int ntvm_vm_mprotect(struct vm_area_struct *vma, unsigned long start,
			    unsigned long end, unsigned long newflags)
{
	struct ntvm_ctx *ctx = vma->vm_private_data;

	if (ntvm_own_op(ctx))
		return 0;
	return ntvm_space_has_vad(ctx, start, end) ? -EACCES : -ENOMEM;
}

static int ntvm_vm_mremap(struct vm_area_struct *vma)
{
	return ntvm_own_op(vma->vm_private_data) ? 0 : -EINVAL;
}

/* The vm_operations of every view (backing.c sets them). */
const struct vm_operations_struct ntvm_vm_ops = {
	.fault		= ntvm_fault,
	.page_mkwrite	= ntvm_page_mkwrite,
	.may_split	= ntvm_vm_may_split,
	.mprotect	= ntvm_vm_mprotect,
	.mremap		= ntvm_vm_mremap,
};
