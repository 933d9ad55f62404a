// SPDX-License-Identifier: GPL-2.0
/*
 * NtProtectVirtualMemory.
 */

#include "ntvm.h"

/* Modifiers that are attributes of the allocation, not of its pages. */
#define NTVM_ALLOC_MODIFIERS (NTVM_PAGE_NOCACHE | NTVM_PAGE_WRITECOMBINE)

/* The Windows protection of a committed page of allocation @a. */
u32 ntvm_page_protect(const struct ntvm_alloc *a, u8 state)
{
	u32 win = ntvm_prot_to_win(state);

	if (win != NTVM_PAGE_NOACCESS)
		win |= a->alloc_protect & NTVM_ALLOC_MODIFIERS;
	return win;
}

u32 ntvm_nt_protect(struct ntvm_ctx *ctx, struct ntvm_protect_args *args)
{
	unsigned long start = args->base & PAGE_MASK, end;
	struct ntvm_alloc *a;
	enum ntvm_prot prot;
	bool guard;
	u32 status;
	u8 first;

	args->old_protect = NTVM_PAGE_NOACCESS;
	status = ntvm_prot_from_win(args->protect, &prot, &guard);
	if (status)
		return status;
	if (args->base > NTVM_MAX_ADDRESS)
		return NTVM_STATUS_INVALID_PARAMETER_2;
	if (!args->size)
		return NTVM_STATUS_INVALID_PARAMETER_3;
	if (args->size > NTVM_MAX_ADDRESS + 1 - start)
		return NTVM_STATUS_INVALID_PARAMETER_3;
	end = PAGE_ALIGN(args->base + args->size);

	/* All pages in one allocation (free memory: Windows x64's status). */
	a = ntvm_alloc_live(ctx, start);
	if (!a || end > ntvm_alloc_end(a))
		return NTVM_STATUS_CONFLICTING_ADDRESSES;
	if (ntvm_pages_count_committed(ctx, start, end) !=
	    (end - start) >> PAGE_SHIFT)
		return NTVM_STATUS_NOT_COMMITTED;

	first = ntvm_page_state(ctx, start);
	status = ntvm_apply_state(ctx, start, end,
				  prot | (guard ? NTVM_PS_GUARD : 0));
	if (status)
		return status;
	args->old_protect = ntvm_page_protect(a, first);
	args->base = start;
	args->size = end - start;
	return NTVM_STATUS_SUCCESS;
}
