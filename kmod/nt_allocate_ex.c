// SPDX-License-Identifier: GPL-2.0
/*
 * NtAllocateVirtualMemoryEx: NtAllocateVirtualMemory with extended
 * parameters, of which ntvm has the address requirements (bounds and
 * alignment of an address the kernel chooses), the NUMA node (checked,
 * then advisory) and the attribute flags (none); and the placeholders:
 * MEM_RESERVE_PLACEHOLDER makes one, MEM_REPLACE_PLACEHOLDER makes one an
 * allocation.
 *
 * Validation follows Windows' order: the parameters, then the allocation
 * type, then requirements given with an address, then the size; the rest
 * is NtAllocateVirtualMemory's.
 */

#include <linux/compat.h>
#include <linux/nodemask.h>
#include <linux/uaccess.h>

#include "ntvm.h"

#define NTVM_MEM_ALLOC_EX_TYPES (NTVM_MEM_COMMIT | NTVM_MEM_RESERVE | \
				 NTVM_MEM_TOP_DOWN | NTVM_MEM_WRITE_WATCH | \
				 NTVM_MEM_RESET | NTVM_MEM_RESET_UNDO | \
				 NTVM_MEM_LARGE_PAGES | \
				 NTVM_MEM_PHYSICAL)

/* MEM_ADDRESS_REQUIREMENTS at user address @uptr, in the caller's layout. */
static u32 ntvm_read_requirements(u64 uptr,
				  struct ntvm_mem_address_requirements *req)
{
	if (in_compat_syscall()) {
		struct ntvm_mem_address_requirements32 req32;

		if (copy_from_user(&req32, compat_ptr((u32)uptr),
				   sizeof(req32)))
			return NTVM_STATUS_ACCESS_VIOLATION;
		req->lowest = req32.lowest;
		req->highest = req32.highest;
		req->alignment = req32.alignment;
		return NTVM_STATUS_SUCCESS;
	}
	if (copy_from_user(req, u64_to_user_ptr(uptr), sizeof(*req)))
		return NTVM_STATUS_ACCESS_VIOLATION;
	return NTVM_STATUS_SUCCESS;
}

/* Bounds and alignment from MEM_ADDRESS_REQUIREMENTS, checked. */
static u32 ntvm_place_require(const struct ntvm_mem_address_requirements *req,
			      u64 max, struct ntvm_place *pl)
{
	u64 align = req->alignment, lo = req->lowest, hi = req->highest;

	if (align && (!is_power_of_2(align) || align < NTVM_GRANULARITY))
		return NTVM_STATUS_INVALID_PARAMETER;
	if (lo > max || !IS_ALIGNED(lo, NTVM_GRANULARITY))
		return NTVM_STATUS_INVALID_PARAMETER;
	if (hi && (hi > max || hi <= lo ||
		   !IS_ALIGNED(hi + 1, PAGE_SIZE)))
		return NTVM_STATUS_INVALID_PARAMETER;
	if (align)
		pl->align = align;
	pl->lo = max_t(u64, lo, NTVM_MIN_ADDRESS);
	if (hi)
		pl->hi = hi + 1;
	return NTVM_STATUS_SUCCESS;
}

/*
 * Read and check the extended parameters of @ex into @pl, within the
 * highest address @max; *@placed says whether they hold address
 * requirements.
 */
static u32 ntvm_capture_params(const struct ntvm_alloc_ex_args *ex, u64 max,
			       struct ntvm_place *pl, bool *placed)
{
	struct ntvm_mem_extended_parameter __user *uparams;
	struct ntvm_mem_address_requirements req;
	struct ntvm_mem_extended_parameter p;
	unsigned int seen = 0, type;
	u32 i, status;

	*placed = false;
	if (!ex->count)
		return NTVM_STATUS_SUCCESS;
	if (!ex->params)
		return NTVM_STATUS_INVALID_PARAMETER;
	uparams = u64_to_user_ptr(ex->params);
	for (i = 0; i < ex->count; i++) {
		if (copy_from_user(&p, &uparams[i], sizeof(p)))
			return NTVM_STATUS_ACCESS_VIOLATION;
		if (p.type >> NTVM_MEM_EXTENDED_PARAMETER_TYPE_BITS)
			return NTVM_STATUS_INVALID_PARAMETER;
		type = p.type;
		if (!type || type >= NTVM_MEM_EXTENDED_PARAMETER_MAX ||
		    (seen & BIT(type)))
			return NTVM_STATUS_INVALID_PARAMETER;
		seen |= BIT(type);
		switch (type) {
		case NTVM_MEM_EXTENDED_PARAMETER_ADDRESS_REQUIREMENTS:
			status = ntvm_read_requirements(p.value, &req);
			if (!status)
				status = ntvm_place_require(&req, max, pl);
			if (status)
				return status;
			*placed = req.lowest || req.highest || req.alignment;
			break;
		case NTVM_MEM_EXTENDED_PARAMETER_NUMA_NODE:
			/* A ULONG: the rest of the union is not looked at. */
			if ((u32)p.value >= MAX_NUMNODES ||
			    !node_online((u32)p.value))
				return NTVM_STATUS_INVALID_PARAMETER;
			break;
		case NTVM_MEM_EXTENDED_PARAMETER_ATTRIBUTE_FLAGS:
			if ((u32)p.value)
				return NTVM_STATUS_INVALID_PARAMETER;
			break;
		default:
			/* Partitions, AWE and image machines: not ntvm's. */
			return NTVM_STATUS_INVALID_PARAMETER;
		}
		cond_resched();
	}
	return NTVM_STATUS_SUCCESS;
}

/*
 * The flags a placeholder flag allows: a placeholder is made reserved and
 * PAGE_NOACCESS, and replaced by a reservation.
 */
static u32 ntvm_check_placeholder(u32 type, u32 protect)
{
	if (type & NTVM_MEM_RESERVE_PLACEHOLDER) {
		if (!(type & NTVM_MEM_RESERVE) ||
		    (type & ~(NTVM_MEM_RESERVE | NTVM_MEM_RESERVE_PLACEHOLDER |
			      NTVM_MEM_TOP_DOWN)) ||
		    protect != NTVM_PAGE_NOACCESS)
			return NTVM_STATUS_INVALID_PARAMETER;
	} else if (type & NTVM_MEM_REPLACE_PLACEHOLDER) {
		if (!(type & NTVM_MEM_RESERVE) ||
		    (type & ~(NTVM_MEM_RESERVE | NTVM_MEM_REPLACE_PLACEHOLDER |
			      NTVM_MEM_COMMIT | NTVM_MEM_WRITE_WATCH)))
			return NTVM_STATUS_INVALID_PARAMETER;
	}
	return NTVM_STATUS_SUCCESS;
}

u32 ntvm_nt_allocate_ex(struct ntvm_ctx *ctx, struct ntvm_alloc_ex_args *ex)
{
	const u32 placeholders = NTVM_MEM_RESERVE_PLACEHOLDER |
				 NTVM_MEM_REPLACE_PLACEHOLDER;
	struct ntvm_place pl = {
		.lo = NTVM_MIN_ADDRESS,
		.hi = ctx->max_address + 1,
		.align = NTVM_GRANULARITY,
	};
	struct ntvm_alloc_args args = {
		.base = ex->base,
		.size = ex->size,
		.type = ex->type & ~placeholders,
		.protect = ex->protect,
	};
	bool placed;
	u32 status;

	status = ntvm_capture_params(ex, ctx->max_address, &pl,
				     &placed);
	if (status)
		return status;
	if (ex->type & ~(NTVM_MEM_ALLOC_EX_TYPES | placeholders))
		return NTVM_STATUS_INVALID_PARAMETER;
	if (ex->base && placed)
		return NTVM_STATUS_INVALID_PARAMETER;
	if (!ex->size)
		return NTVM_STATUS_INVALID_PARAMETER;
	status = ntvm_check_placeholder(ex->type, ex->protect);
	if (status)
		return status;
	status = ntvm_allocate(ctx, &args, &pl, ex->type & placeholders);
	if (status)
		return status;
	ex->base = args.base;
	ex->size = args.size;
	return NTVM_STATUS_SUCCESS;
}
