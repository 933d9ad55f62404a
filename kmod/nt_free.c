// SPDX-License-Identifier: GPL-2.0
/*
 * NtFreeVirtualMemory: decommit and release, and the placeholder frees:
 * back to a placeholder or split (MEM_PRESERVE_PLACEHOLDER), coalesce
 * (MEM_COALESCE_PLACEHOLDERS).
 */

#include "ntvm.h"

#define NTVM_MEM_RELEASE_PRESERVE (NTVM_MEM_RELEASE | \
				   NTVM_MEM_PRESERVE_PLACEHOLDER)
#define NTVM_MEM_RELEASE_COALESCE (NTVM_MEM_RELEASE | \
				   NTVM_MEM_COALESCE_PLACEHOLDERS)

static bool ntvm_free_type_valid(u32 type)
{
	return type == NTVM_MEM_DECOMMIT || type == NTVM_MEM_RELEASE ||
	       type == NTVM_MEM_RELEASE_PRESERVE ||
	       type == NTVM_MEM_RELEASE_COALESCE;
}

/*
 * MEM_RELEASE|MEM_PRESERVE_PLACEHOLDER of [start, end) in @vad: an
 * allocation that replaced a placeholder goes back to one, a free
 * placeholder is split.
 */
static u32 ntvm_free_preserve(struct ntvm_ctx *ctx, struct ntvm_vad *vad,
			      unsigned long start, unsigned long end)
{
	if (!vad->placeholder && !vad->replaced)
		return NTVM_STATUS_CONFLICTING_ADDRESSES;
	/* A whole placeholder: nothing to split. */
	if (vad->placeholder && start == ntvm_vad_base(vad) &&
	    end == ntvm_vad_end(vad))
		return NTVM_STATUS_CONFLICTING_ADDRESSES;
	return ntvm_vad_to_placeholder(ctx, vad, start, end);
}

u32 ntvm_nt_free(struct ntvm_ctx *ctx, struct ntvm_free_args *args)
{
	unsigned long start, end;
	struct ntvm_vad *vad;
	u32 status;

	if (!ntvm_free_type_valid(args->type))
		return NTVM_STATUS_INVALID_PARAMETER_4;
	if (args->base > ctx->max_address)
		return NTVM_STATUS_INVALID_PARAMETER_2;
	ntvm_page_range(args->base, args->size, &start, &end);
	if (args->size > ctx->max_address + 1 - start)
		return NTVM_STATUS_INVALID_PARAMETER_3;

	vad = ntvm_vad_live(ctx, start);
	if (!vad)
		return NTVM_STATUS_MEMORY_NOT_ALLOCATED;

	/* The placeholder frees name their range: no size 0. */
	if (args->type != NTVM_MEM_DECOMMIT &&
	    args->type != NTVM_MEM_RELEASE && !args->size)
		return NTVM_STATUS_INVALID_PARAMETER_3;
	if (args->type == NTVM_MEM_RELEASE_COALESCE) {
		/* The range starts at a placeholder's base, spans several. */
		if (start != ntvm_vad_base(vad) || !vad->placeholder)
			return NTVM_STATUS_CONFLICTING_ADDRESSES;
		status = ntvm_vad_coalesce(ctx, vad, end);
		goto out;
	}

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
	else if (args->type == NTVM_MEM_RELEASE_PRESERVE)
		status = ntvm_free_preserve(ctx, vad, start, end);
	else
		status = ntvm_vad_release(ctx, vad, start, end);
out:
	if (status)
		return status;
	/* Windows 10 1709+ reports 0 for a whole-allocation decommit. */
	if (args->size || args->type != NTVM_MEM_DECOMMIT)
		args->size = end - start;
	args->base = start;
	return NTVM_STATUS_SUCCESS;
}
