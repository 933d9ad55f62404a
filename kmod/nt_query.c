// SPDX-License-Identifier: GPL-2.0
/*
 * NtQueryVirtualMemory(MemoryBasicInformation).
 *
 * Memory ntvm manages is described from its own state.  Everything else
 * is described from the VMAs: the process's own mappings (stack, heap,
 * libraries) as committed memory with their protection, PROT_NONE
 * mappings as reserved, the rest as free up to the next mapping.
 *
 * A query changes nothing, but tells the query map that the process asks
 * about the allocation (ntvm_qmap_asked()).  An allocation whose views
 * userspace unmapped (forgotten when next changed, see vad.c) is
 * described as it will be once forgotten: what the process mapped there
 * as its own memory, what is left of our views as free.
 */

#include <linux/mm.h>

#include "ntvm.h"

static void ntvm_query_managed(struct ntvm_ctx *ctx, struct ntvm_vad *vad,
			       unsigned long page, struct ntvm_query_args *q)
{
	unsigned long end;
	u8 st;

	end = ntvm_pages_run(ctx, page, ntvm_vad_end(vad), &st);
	q->allocation_base = ntvm_vad_base(vad);
	q->allocation_protect = vad->alloc_protect;
	q->region_size = end - page;
	q->state = st ? NTVM_MEM_COMMIT : NTVM_MEM_RESERVE;
	q->protect = st ? ntvm_prot_to_win(st, vad->alloc_protect) : 0;
	q->type = NTVM_MEM_PRIVATE;
	q->region_flags = NTVM_REGION_MANAGED;
}

static u32 ntvm_vma_protect(unsigned long vm_flags)
{
	bool r = vm_flags & VM_READ, w = vm_flags & VM_WRITE;

	if (vm_flags & VM_EXEC)
		return w ? NTVM_PAGE_EXECUTE_READWRITE :
		       r ? NTVM_PAGE_EXECUTE_READ : NTVM_PAGE_EXECUTE;
	return w ? NTVM_PAGE_READWRITE :
	       r ? NTVM_PAGE_READONLY : NTVM_PAGE_NOACCESS;
}

/* Memory ntvm does not manage, up to @limit (the next allocation). */
static void ntvm_query_foreign(struct ntvm_ctx *ctx, unsigned long page,
			       unsigned long limit, struct ntvm_query_args *q)
{
	struct ntvm_span span;
	unsigned long end;

	ntvm_view_span(ctx, page, limit, &span);
	if (span.kind == NTVM_SPAN_FOREIGN) {
		u32 protect = ntvm_vma_protect(span.vm_flags);

		end = span.end;
		q->allocation_base = span.vm_start;
		q->allocation_protect = protect;
		if (protect == NTVM_PAGE_NOACCESS) {
			q->state = NTVM_MEM_RESERVE;
			q->protect = 0;
		} else {
			q->state = NTVM_MEM_COMMIT;
			q->protect = protect;
		}
		q->type = span.vm_file ? NTVM_MEM_MAPPED : NTVM_MEM_PRIVATE;
	} else {
		/* Free up to the next mapping of the process's own. */
		for (end = span.end; end < limit; end = span.end) {
			ntvm_view_span(ctx, end, limit, &span);
			if (span.kind == NTVM_SPAN_FOREIGN)
				break;
		}
		q->allocation_base = 0;
		q->allocation_protect = 0;
		q->state = NTVM_MEM_FREE;
		q->protect = NTVM_PAGE_NOACCESS;
		q->type = 0;
	}
	q->region_size = end - page;
	q->region_flags = 0;
}

/*
 * An allocation a query finds broken: the query map looks at it again
 * before this query returns.  The process may be unmapping its views
 * right now (the MMU notifier has not run yet), and what this query
 * answers the map must not contradict afterwards.  One whose record
 * already says "ask the ioctl" needs nothing.
 */
static void ntvm_query_broken(struct ntvm_ctx *ctx, struct ntvm_vad *vad)
{
	if (vad && ntvm_qmap_answers(ctx, &vad->ext))
		ntvm_qmap_pend(ctx, ntvm_vad_base(vad), ntvm_vad_end(vad),
			       false);
}

u32 ntvm_nt_query(struct ntvm_ctx *ctx, struct ntvm_query_args *q)
{
	unsigned long page = q->address & PAGE_MASK;
	struct ntvm_vad *vad, *next;

	if (q->address > ctx->max_address)
		return NTVM_STATUS_INVALID_PARAMETER;
	q->base_address = page;
	vad = ntvm_vad_find(ctx, page);
	if (vad && ntvm_vad_described(ctx, vad)) {
		ntvm_query_managed(ctx, vad, page, q);
		ntvm_qmap_asked(ctx, &vad->ext, page);
		return NTVM_STATUS_SUCCESS;
	}
	ntvm_query_broken(ctx, vad);
	/* Free memory runs on over broken allocations: they read as free. */
	next = vad ? ntvm_vad_after(vad) : ntvm_vad_next(ctx, page);
	while (next && !ntvm_vad_described(ctx, next)) {
		ntvm_query_broken(ctx, next);
		next = ntvm_vad_after(next);
		cond_resched();
	}
	ntvm_query_foreign(ctx, page,
			   next ? ntvm_vad_base(next) : ctx->max_address + 1, q);
	return NTVM_STATUS_SUCCESS;
}
