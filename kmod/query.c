// SPDX-License-Identifier: GPL-2.0
/*
 * NtQueryVirtualMemory(MemoryBasicInformation).
 *
 * Memory ntvm manages is described from its own state.  Everything else
 * is described from the VMAs: the process's own mappings (stack, heap,
 * libraries) as committed memory with their protection, PROT_NONE
 * mappings as reserved, the rest as free up to the next mapping.
 */

#include <linux/mm.h>

#include "ntvm.h"

static void ntvm_query_managed(struct ntvm_ctx *ctx, struct ntvm_alloc *a,
			       unsigned long page, struct ntvm_query_args *q)
{
	unsigned long end;
	u8 st;

	end = ntvm_pages_run(ctx, page, ntvm_alloc_end(a), &st);
	q->allocation_base = a->base;
	q->allocation_protect = a->alloc_protect;
	q->region_size = end - page;
	q->state = st ? NTVM_MEM_COMMIT : NTVM_MEM_RESERVE;
	q->protect = st ? ntvm_page_protect(a, st) : 0;
	q->type = NTVM_MEM_PRIVATE;
	q->region_flags = NTVM_REGION_MANAGED;
}

static u32 ntvm_vma_protect(const struct vm_area_struct *vma)
{
	bool r = vma->vm_flags & VM_READ, w = vma->vm_flags & VM_WRITE;

	if (vma->vm_flags & VM_EXEC)
		return w ? NTVM_PAGE_EXECUTE_READWRITE :
		       r ? NTVM_PAGE_EXECUTE_READ : NTVM_PAGE_EXECUTE;
	return w ? NTVM_PAGE_READWRITE :
	       r ? NTVM_PAGE_READONLY : NTVM_PAGE_NOACCESS;
}

/* Memory ntvm does not manage, up to @limit (the next allocation). */
static int ntvm_query_foreign(struct ntvm_ctx *ctx, unsigned long page,
			      unsigned long limit, struct ntvm_query_args *q)
{
	struct vm_area_struct *vma;
	unsigned long end;

	if (mmap_read_lock_killable(ctx->mm))
		return -EINTR;
	vma = find_vma(ctx->mm, page);
	if (vma && vma->vm_start <= page) {
		u32 protect = ntvm_vma_protect(vma);

		end = vma->vm_end;
		q->allocation_base = vma->vm_start;
		q->allocation_protect = protect;
		if (protect == NTVM_PAGE_NOACCESS) {
			q->state = NTVM_MEM_RESERVE;
			q->protect = 0;
		} else {
			q->state = NTVM_MEM_COMMIT;
			q->protect = protect;
		}
		q->type = vma->vm_file ? NTVM_MEM_MAPPED : NTVM_MEM_PRIVATE;
	} else {
		end = vma ? vma->vm_start : limit;
		q->allocation_base = 0;
		q->allocation_protect = 0;
		q->state = NTVM_MEM_FREE;
		q->protect = NTVM_PAGE_NOACCESS;
		q->type = 0;
	}
	mmap_read_unlock(ctx->mm);
	q->region_size = min(end, limit) - page;
	q->region_flags = 0;
	return 0;
}

u32 ntvm_nt_query(struct ntvm_ctx *ctx, struct ntvm_query_args *q)
{
	unsigned long page = q->address & PAGE_MASK;
	struct ntvm_alloc *a;

	if (q->address > NTVM_MAX_ADDRESS)
		return NTVM_STATUS_INVALID_PARAMETER;
	q->base_address = page;
	a = ntvm_alloc_live(ctx, page);
	if (a) {
		ntvm_query_managed(ctx, a, page, q);
		return NTVM_STATUS_SUCCESS;
	}
	a = ntvm_alloc_next(ctx, page);
	if (ntvm_query_foreign(ctx, page, a ? a->base : NTVM_MAX_ADDRESS + 1,
			       q))
		return NTVM_STATUS_NO_MEMORY;
	return NTVM_STATUS_SUCCESS;
}
