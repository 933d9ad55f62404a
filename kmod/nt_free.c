// SPDX-License-Identifier: GPL-2.0
/*
 * NtFreeVirtualMemory: decommit and release.
 */

#include "ntvm.h"

u32 ntvm_nt_free(struct ntvm_ctx *ctx, struct ntvm_free_args *args)
{
	unsigned long start, end;
	struct ntvm_vad *vad;
	u32 status;

	if (args->type != NTVM_MEM_DECOMMIT && args->type != NTVM_MEM_RELEASE)
		return NTVM_STATUS_INVALID_PARAMETER_4;
	if (args->base > ctx->max_address)
		return NTVM_STATUS_INVALID_PARAMETER_2;
	ntvm_page_range(args->base, args->size, &start, &end);
	if (args->size > ctx->max_address + 1 - start)
		return NTVM_STATUS_INVALID_PARAMETER_3;

	vad = ntvm_vad_live(ctx, start);
	if (!vad)
		return NTVM_STATUS_MEMORY_NOT_ALLOCATED;

	if (!args->size) {
		/* The whole allocation, named by its base. */
		if (start != ntvm_vad_base(vad))
			return NTVM_STATUS_FREE_VM_NOT_AT_BASE;
		end = ntvm_vad_end(vad);
	} else if (end > ntvm_vad_end(vad)) {
		return NTVM_STATUS_UNABLE_TO_FREE_VM;
	}

	if (args->type == NTVM_MEM_DECOMMIT)
		status = ntvm_change_decommit(ctx, vad, start, end);
	else
		status = ntvm_vad_release(ctx, vad, start, end);
	if (status)
		return status;
	/* Windows 10 1709+ reports 0 for a whole-allocation decommit. */
	if (args->size || args->type == NTVM_MEM_RELEASE)
		args->size = end - start;
	args->base = start;
	return NTVM_STATUS_SUCCESS;
}
