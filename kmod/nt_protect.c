// SPDX-License-Identifier: GPL-2.0
/*
 * NtProtectVirtualMemory.
 */

#include "ntvm.h"

u32 ntvm_nt_protect(struct ntvm_ctx *ctx, struct ntvm_protect_args *args)
{
	unsigned long start, end;
	struct ntvm_vad *vad;
	u32 status;
	u8 state, first;

	args->old_protect = NTVM_PAGE_NOACCESS;
	status = ntvm_prot_from_win(args->protect, &state);
	if (status)
		return status;
	if (args->base > ctx->max_address)
		return NTVM_STATUS_INVALID_PARAMETER_2;
	ntvm_page_range(args->base, args->size, &start, &end);
	if (!args->size || args->size > ctx->max_address + 1 - start)
		return NTVM_STATUS_INVALID_PARAMETER_3;

	/* All pages in one allocation (free memory: Windows x64's status). */
	vad = ntvm_vad_live(ctx, start);
	if (!vad || end > ntvm_vad_end(vad))
		return NTVM_STATUS_CONFLICTING_ADDRESSES;
	status = ntvm_change_protect(ctx, vad, start, end, state, &first);
	if (status != NTVM_STATUS_SUCCESS &&
	    status != NTVM_STATUS_WAS_UNLOCKED)
		return status;
	args->old_protect = ntvm_prot_to_win(first, vad->alloc_protect);
	args->base = start;
	args->size = end - start;
	return status;
}
