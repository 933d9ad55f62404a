// SPDX-License-Identifier: GPL-2.0
/*
 * NtAllocateVirtualMemory: reserve, commit, reset and reset undo.
 *
 * Validation follows the NT kernel's order (the first failing check gives
 * the status); rounding follows Windows: an explicit reservation address
 * is rounded down to 64 KiB and the size measured from there, a commit
 * covers every page its range touches.
 *
 * Placeholders come through NtAllocateVirtualMemoryEx: a new one is a
 * reservation, a replacement takes an existing one over.
 */

#include "ntvm.h"

#define NTVM_MEM_ALLOC_TYPES (NTVM_MEM_COMMIT | NTVM_MEM_RESERVE | \
			      NTVM_MEM_RESET | NTVM_MEM_PHYSICAL | \
			      NTVM_MEM_TOP_DOWN | NTVM_MEM_WRITE_WATCH | \
			      NTVM_MEM_LARGE_PAGES | NTVM_MEM_RESET_UNDO)

static u32 ntvm_check_type(u32 type, u32 protect)
{
	if (type & ~NTVM_MEM_ALLOC_TYPES)
		return NTVM_STATUS_INVALID_PARAMETER_5;
	if (!(type & (NTVM_MEM_COMMIT | NTVM_MEM_RESERVE | NTVM_MEM_RESET |
		      NTVM_MEM_RESET_UNDO)))
		return NTVM_STATUS_INVALID_PARAMETER_5;
	/* Each alone ("cannot be used with any other value"). */
	if ((type & NTVM_MEM_RESET) && type != NTVM_MEM_RESET)
		return NTVM_STATUS_INVALID_PARAMETER_5;
	if ((type & NTVM_MEM_RESET_UNDO) && type != NTVM_MEM_RESET_UNDO)
		return NTVM_STATUS_INVALID_PARAMETER_5;
	if ((type & NTVM_MEM_LARGE_PAGES) &&
	    (!(type & NTVM_MEM_COMMIT) ||
	     (type & (NTVM_MEM_PHYSICAL | NTVM_MEM_WRITE_WATCH))))
		return NTVM_STATUS_INVALID_PARAMETER_5;
	if ((type & NTVM_MEM_WRITE_WATCH) && !(type & NTVM_MEM_RESERVE))
		return NTVM_STATUS_INVALID_PARAMETER_5;
	if ((type & NTVM_MEM_PHYSICAL) &&
	    (type & ~(NTVM_MEM_RESERVE | NTVM_MEM_TOP_DOWN |
		      NTVM_MEM_PHYSICAL) || !(type & NTVM_MEM_RESERVE)))
		return NTVM_STATUS_INVALID_PARAMETER_5;
	if ((type & NTVM_MEM_PHYSICAL) && protect != NTVM_PAGE_READWRITE)
		return NTVM_STATUS_INVALID_PARAMETER;
	return NTVM_STATUS_SUCCESS;
}

/*
 * MEM_RESERVE, with MEM_COMMIT of the whole range if @commit; at an
 * address @pl allows if the kernel chooses it.
 */
static u32 ntvm_reserve(struct ntvm_ctx *ctx, struct ntvm_alloc_args *args,
			bool commit, u8 state, struct ntvm_place *pl,
			bool placeholder)
{
	unsigned long base = 0, end, len;
	struct ntvm_vad *vad;
	u32 status;

	if (args->base) {
		base = args->base & ~(NTVM_GRANULARITY - 1);
		if (base < NTVM_MIN_ADDRESS)
			return NTVM_STATUS_INVALID_PARAMETER_2;
		end = PAGE_ALIGN(args->base + args->size);
		if (end > ctx->max_address + 1)
			return NTVM_STATUS_INVALID_PARAMETER_4;
		len = end - base;
	} else {
		len = PAGE_ALIGN(args->size);
	}
	pl->len = len;
	pl->top_down = args->type & NTVM_MEM_TOP_DOWN;

	status = ntvm_vad_reserve(ctx, base, pl, args->protect,
				  args->type & NTVM_MEM_WRITE_WATCH, &vad);
	if (status)
		return status;
	vad->placeholder = placeholder;
	if (commit) {
		status = ntvm_change_commit(ctx, vad, ntvm_vad_base(vad),
					    ntvm_vad_end(vad), state);
		if (status) {
			ntvm_vad_unreserve(ctx, vad);
			return status;
		}
	}
	args->base = ntvm_vad_base(vad);
	args->size = len;
	return NTVM_STATUS_SUCCESS;
}

/* MEM_COMMIT of [addr, addr + size) inside one existing allocation. */
static u32 ntvm_commit_existing(struct ntvm_ctx *ctx,
				struct ntvm_alloc_args *args, u8 state)
{
	unsigned long start, end;
	struct ntvm_vad *vad;
	u32 status;

	ntvm_page_range(args->base, args->size, &start, &end);
	vad = ntvm_vad_live(ctx, start);
	if (!vad || end > ntvm_vad_end(vad) || vad->placeholder)
		return NTVM_STATUS_CONFLICTING_ADDRESSES;
	status = ntvm_change_commit(ctx, vad, start, end, state);
	if (status)
		return status;
	args->base = start;
	args->size = end - start;
	return NTVM_STATUS_SUCCESS;
}

/*
 * MEM_RESET: the contents of [addr, addr + size) are of no interest;
 * MEM_RESET_UNDO (@undo): they are again.  The range lies in one
 * allocation; its reserved pages stay reserved.
 */
static u32 ntvm_reset(struct ntvm_ctx *ctx, struct ntvm_alloc_args *args,
		      bool undo)
{
	unsigned long start, end;
	struct ntvm_vad *vad;
	u32 status;

	ntvm_page_range(args->base, args->size, &start, &end);
	vad = ntvm_vad_live(ctx, start);
	if (!args->base || !vad || end > ntvm_vad_end(vad) ||
	    vad->placeholder)
		return NTVM_STATUS_CONFLICTING_ADDRESSES;
	if (undo)
		status = ntvm_change_reset_undo(ctx, start, end);
	else
		status = ntvm_change_reset(ctx, start, end);
	if (status)
		return status;
	args->base = start;
	args->size = end - start;
	return NTVM_STATUS_SUCCESS;
}

/*
 * MEM_RESERVE|MEM_REPLACE_PLACEHOLDER, with MEM_COMMIT of the whole range
 * if asked: the placeholder at [addr, addr + size), exactly, becomes an
 * allocation reserved with the protection given.
 */
static u32 ntvm_replace(struct ntvm_ctx *ctx, struct ntvm_alloc_args *args,
			u8 state)
{
	unsigned long start, end;
	struct ntvm_vad *vad;
	u32 status;

	ntvm_page_range(args->base, args->size, &start, &end);
	vad = args->base ? ntvm_vad_live(ctx, start) : NULL;
	if (!vad)
		return NTVM_STATUS_INVALID_PARAMETER;
	if (start != ntvm_vad_base(vad) || end != ntvm_vad_end(vad))
		return NTVM_STATUS_CONFLICTING_ADDRESSES;
	if (!vad->placeholder)
		return NTVM_STATUS_INVALID_PARAMETER;
	ntvm_vad_replace(ctx, vad, args->protect,
			 args->type & NTVM_MEM_WRITE_WATCH);
	if (args->type & NTVM_MEM_COMMIT) {
		status = ntvm_change_commit(ctx, vad, start, end, state);
		if (status) {
			ntvm_vad_unreplace(ctx, vad);
			return status;
		}
	}
	args->base = start;
	args->size = end - start;
	return NTVM_STATUS_SUCCESS;
}

/**
 * ntvm_allocate - NtAllocateVirtualMemory, once its placement is known
 * @ctx:         the context
 * @args:        the call, without placeholder flags
 * @pl:          where a new allocation the kernel places may go (bounds
 *               and alignment; the rest is set here)
 * @placeholder: 0, NTVM_MEM_RESERVE_PLACEHOLDER (a new placeholder) or
 *               NTVM_MEM_REPLACE_PLACEHOLDER (replace one), the flag
 *               taken out of @args->type
 *
 * Return: NTSTATUS.
 */
u32 ntvm_allocate(struct ntvm_ctx *ctx, struct ntvm_alloc_args *args,
		  struct ntvm_place *pl, u32 placeholder)
{
	unsigned long limit;
	u32 status;
	u8 state;

	status = ntvm_check_type(args->type, args->protect);
	if (status)
		return status;
	status = ntvm_prot_from_win(args->protect, &state);
	if (status)
		return status;
	if (args->base > ctx->max_address)
		return NTVM_STATUS_INVALID_PARAMETER_2;
	limit = ctx->max_address + 1 -
		max_t(u64, args->base, NTVM_MIN_ADDRESS);
	if (!args->size || args->size > limit)
		return NTVM_STATUS_INVALID_PARAMETER_4;
	if (args->type & NTVM_MEM_LARGE_PAGES)
		return NTVM_STATUS_PRIVILEGE_NOT_HELD;
	if (args->type & NTVM_MEM_PHYSICAL)
		return NTVM_STATUS_NOT_SUPPORTED;

	if (args->type & (NTVM_MEM_RESET | NTVM_MEM_RESET_UNDO))
		return ntvm_reset(ctx, args,
				  args->type & NTVM_MEM_RESET_UNDO);
	if (placeholder == NTVM_MEM_REPLACE_PLACEHOLDER)
		return ntvm_replace(ctx, args, state);
	if ((args->type & NTVM_MEM_RESERVE) || !args->base)
		return ntvm_reserve(ctx, args, args->type & NTVM_MEM_COMMIT,
				    state, pl, placeholder);
	return ntvm_commit_existing(ctx, args, state);
}

/*
 * The highest address NT zero bits allow: 1 to 21 count the zero bits
 * above bit 31; 32, and 0xffff or more, is a mask, whose highest set bit
 * is the highest the address may have.
 */
static unsigned long ntvm_zero_bits_limit(u32 zero_bits)
{
	if (zero_bits < 32)
		return (1UL << (32 - zero_bits)) - 1;
	return (1UL << fls(zero_bits)) - 1;
}

u32 ntvm_nt_allocate(struct ntvm_ctx *ctx, struct ntvm_alloc_args *args)
{
	struct ntvm_place pl = {
		.lo = NTVM_MIN_ADDRESS,
		.hi = ctx->max_address + 1,
		.align = NTVM_GRANULARITY,
	};

	/*
	 * Placeholders are NtAllocateVirtualMemoryEx's.  (Its
	 * MEM_REPLACE_PLACEHOLDER is MEM_DECOMMIT's value, refused below.)
	 */
	if (args->type & NTVM_MEM_RESERVE_PLACEHOLDER)
		return NTVM_STATUS_INVALID_PARAMETER;
	if ((args->zero_bits > 21 && args->zero_bits < 32) ||
	    (args->zero_bits > 32 && args->zero_bits < NTVM_GRANULARITY - 1))
		return NTVM_STATUS_INVALID_PARAMETER_3;
	if (args->zero_bits)
		pl.hi = min(pl.hi, ntvm_zero_bits_limit(args->zero_bits) + 1);
	return ntvm_allocate(ctx, args, &pl, 0);
}
