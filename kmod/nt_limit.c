// SPDX-License-Identifier: GPL-2.0
/*
 * The highest user address of a context (NTVM_IOC_ADDRESS_LIMIT): what a
 * 32-bit Windows program sees as its address space, 2 GiB, or 4 GiB when
 * it is large-address aware.  The NT services take no address above it
 * and place nothing there.
 */

#include <linux/compat.h>

#include "ntvm.h"

/* Does an allocation reach above @max (end after @max + 1)? */
static bool ntvm_limit_below_allocations(struct ntvm_ctx *ctx,
					 unsigned long max)
{
	return ntvm_vad_next(ctx, max + 1);
}

u32 ntvm_nt_address_limit(struct ntvm_ctx *ctx,
			  struct ntvm_address_limit_args *args)
{
	u64 top = in_compat_syscall() ? NTVM_MAXIMUM_ADDRESS_32_LAA :
					NTVM_MAX_ADDRESS;
	u64 max = args->maximum;

	if (args->flags & NTVM_ADDRESS_LIMIT_SET) {
		if (max < NTVM_MAXIMUM_ADDRESS_32 || max > top ||
		    !IS_ALIGNED(max + 1, NTVM_GRANULARITY))
			return NTVM_STATUS_INVALID_PARAMETER;
		if (max < ctx->max_address &&
		    ntvm_limit_below_allocations(ctx, max))
			return NTVM_STATUS_CONFLICTING_ADDRESSES;
		/* What a query reports above the old or new limit. */
		if (max != ctx->max_address)
			ntvm_qmap_changed(ctx, 0, 0);
		WRITE_ONCE(ctx->max_address, max);
	}
	args->maximum = ctx->max_address;
	return NTVM_STATUS_SUCCESS;
}
