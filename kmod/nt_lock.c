// SPDX-License-Identifier: GPL-2.0
/*
 * NtLockVirtualMemory and NtUnlockVirtualMemory, and the working-set
 * limits that bound them (NtSetInformationProcess(ProcessQuotaLimits)).
 *
 * The checks and their order are NT's: the arguments; the privilege
 * MAP_SYSTEM needs (SeLockMemoryPrivilege; here CAP_IPC_LOCK); the quota
 * for the range alone; every page in an allocation; the quota with the
 * pages locked already; then every page read, in order, as NT probes
 * them: an uncommitted or PAGE_NOACCESS page fails the call with
 * STATUS_ACCESS_VIOLATION, a guard page with STATUS_GUARD_PAGE_VIOLATION
 * and loses its guard (the next call gets past it).  The quota: the
 * pages locked may not come within MM_FLUID_WORKING_SET (8) pages of the
 * working-set minimum.
 *
 * There is no lock count: a page locked twice is locked (the second call
 * returns STATUS_WAS_LOCKED, a success), and one unlock unlocks it.  An
 * unlock checks every page first: if one is not locked with every type
 * asked, it fails with STATUS_NOT_LOCKED and unlocks nothing.
 */

#include <linux/capability.h>
#include <linux/mm.h>
#include <linux/sched.h>

#include "ntvm.h"

/* NT's MM_FLUID_WORKING_SET: working-set entries never locked. */
#define NTVM_WS_FLUID		8
/* The smallest working-set minimum (SetProcessWorkingSetSize). */
#define NTVM_WS_SMALLEST_MIN	20
/* The smallest working-set maximum Microsoft documents. */
#define NTVM_WS_SMALLEST_MAX	13
/* Pages the largest working set leaves the system (NT: 512). */
#define NTVM_WS_SYSTEM_RESERVE	512

#define NTVM_HARDWS_VALID	(NTVM_QUOTA_LIMITS_HARDWS_MIN_ENABLE | \
				 NTVM_QUOTA_LIMITS_HARDWS_MIN_DISABLE | \
				 NTVM_QUOTA_LIMITS_HARDWS_MAX_ENABLE | \
				 NTVM_QUOTA_LIMITS_HARDWS_MAX_DISABLE)

static bool ntvm_nt_success(u32 status)
{
	return !(status & 0x80000000);
}

/* The arguments both calls check, in NT's order. */
static u32 ntvm_lock_args_check(struct ntvm_ctx *ctx,
				struct ntvm_lock_args *args,
				unsigned long *start, unsigned long *end)
{
	if (!args->map_type || (args->map_type & ~NTVM_LOCK_TYPES))
		return NTVM_STATUS_INVALID_PARAMETER;
	if (args->base > ctx->max_address ||
	    ctx->max_address + 1 - args->base < args->size || !args->size)
		return NTVM_STATUS_INVALID_PARAMETER;
	if ((args->map_type & NTVM_MAP_SYSTEM) && !capable(CAP_IPC_LOCK))
		return NTVM_STATUS_PRIVILEGE_NOT_HELD;
	ntvm_page_range(args->base, args->size, start, end);
	return NTVM_STATUS_SUCCESS;
}

/* Is every page of [start, end) in an (intact) allocation? */
static bool ntvm_lock_in_allocations(struct ntvm_ctx *ctx,
				     unsigned long start, unsigned long end)
{
	struct ntvm_vad *vad;
	unsigned long addr, n = 0;

	for (addr = start; addr < end; addr = ntvm_vad_end(vad)) {
		vad = ntvm_vad_live(ctx, addr);
		if (!vad)
			return false;
		if (!(++n % 4096))
			cond_resched();
	}
	return true;
}

/*
 * Read every page of [start, end) as NT's probe does, stopping at the
 * first that faults: a guard page loses its guard.
 */
static u32 ntvm_lock_probe(struct ntvm_ctx *ctx, unsigned long start,
			   unsigned long end)
{
	unsigned long addr, run_end;
	u8 st;

	for (addr = start; addr < end; addr = run_end) {
		run_end = ntvm_pages_run(ctx, addr, end, &st);
		if (ntvm_lock_allowed(st))
			continue;
		/* The guard bit goes here, as in a fault. */
		switch (ntvm_page_access(ctx, addr, false)) {
		case NTVM_ACCESS_OK:
			/* Another thread's access took the guard first. */
			run_end = addr + PAGE_SIZE;
			continue;
		case NTVM_ACCESS_GUARD:
			ntvm_page_clear_guard(ctx, addr);
			return NTVM_STATUS_GUARD_PAGE_VIOLATION;
		default:
			return NTVM_STATUS_ACCESS_VIOLATION;
		}
	}
	return NTVM_STATUS_SUCCESS;
}

u32 ntvm_nt_lock(struct ntvm_ctx *ctx, struct ntvm_lock_args *args)
{
	unsigned long start, end, pages, held, was, all;
	u32 status;

	status = ntvm_lock_args_check(ctx, args, &start, &end);
	if (status)
		return status;
	pages = (end - start) >> PAGE_SHIFT;
	if (pages + NTVM_WS_FLUID > ctx->ws_min)
		return NTVM_STATUS_WORKING_SET_QUOTA;
	if (!ntvm_lock_in_allocations(ctx, start, end))
		return NTVM_STATUS_ACCESS_VIOLATION;
	ntvm_lock_count(ctx, start, end, NTVM_LOCK_TYPES, &held, &all);
	if (ctx->locked + pages - held + NTVM_WS_FLUID > ctx->ws_min)
		return NTVM_STATUS_WORKING_SET_QUOTA;
	status = ntvm_lock_probe(ctx, start, end);
	if (status)
		return status;
	ntvm_lock_count(ctx, start, end, args->map_type, &was, &all);
	status = ntvm_lock_hold(ctx, start, end, args->map_type);
	if (status)
		return status;
	args->base = start;
	args->size = end - start;
	return was ? NTVM_STATUS_WAS_LOCKED : NTVM_STATUS_SUCCESS;
}

u32 ntvm_nt_unlock(struct ntvm_ctx *ctx, struct ntvm_lock_args *args)
{
	unsigned long start, end, any, all;
	u32 status;

	status = ntvm_lock_args_check(ctx, args, &start, &end);
	if (status)
		return status;
	if (!ntvm_lock_in_allocations(ctx, start, end))
		return NTVM_STATUS_NOT_LOCKED;
	ntvm_lock_count(ctx, start, end, args->map_type, &any, &all);
	if (all != (end - start) >> PAGE_SHIFT)
		return NTVM_STATUS_NOT_LOCKED;
	ntvm_lock_release(ctx, start, end, args->map_type);
	args->base = start;
	args->size = end - start;
	return NTVM_STATUS_SUCCESS;
}

/* The hard-limit bits after @hard (valid) is applied. */
static u32 ntvm_ws_hard(u32 old, u32 hard)
{
	if (hard & NTVM_QUOTA_LIMITS_HARDWS_MIN_ENABLE)
		old = (old & ~NTVM_QUOTA_LIMITS_HARDWS_MIN_DISABLE) |
		      NTVM_QUOTA_LIMITS_HARDWS_MIN_ENABLE;
	if (hard & NTVM_QUOTA_LIMITS_HARDWS_MIN_DISABLE)
		old = (old & ~NTVM_QUOTA_LIMITS_HARDWS_MIN_ENABLE) |
		      NTVM_QUOTA_LIMITS_HARDWS_MIN_DISABLE;
	if (hard & NTVM_QUOTA_LIMITS_HARDWS_MAX_ENABLE)
		old = (old & ~NTVM_QUOTA_LIMITS_HARDWS_MAX_DISABLE) |
		      NTVM_QUOTA_LIMITS_HARDWS_MAX_ENABLE;
	if (hard & NTVM_QUOTA_LIMITS_HARDWS_MAX_DISABLE)
		old = (old & ~NTVM_QUOTA_LIMITS_HARDWS_MAX_ENABLE) |
		      NTVM_QUOTA_LIMITS_HARDWS_MAX_DISABLE;
	return old;
}

/*
 * New working-set limits, in bytes (0: unchanged; both ~0: only "empty
 * the working set", which changes nothing here), with NT's checks in
 * NT's order (MmAdjustWorkingSetSize).
 */
static u32 ntvm_ws_set(struct ntvm_ctx *ctx, u64 min_bytes, u64 max_bytes,
		       u32 hard)
{
	unsigned long sys_max = totalram_pages();
	unsigned long min, max;
	u32 status = NTVM_STATUS_SUCCESS;

	if ((hard & ~NTVM_HARDWS_VALID) ||
	    ((hard & NTVM_QUOTA_LIMITS_HARDWS_MIN_ENABLE) &&
	     (hard & NTVM_QUOTA_LIMITS_HARDWS_MIN_DISABLE)) ||
	    ((hard & NTVM_QUOTA_LIMITS_HARDWS_MAX_ENABLE) &&
	     (hard & NTVM_QUOTA_LIMITS_HARDWS_MAX_DISABLE)))
		return NTVM_STATUS_INVALID_PARAMETER;
	if (min_bytes == U64_MAX && max_bytes == U64_MAX)
		return NTVM_STATUS_SUCCESS;
	sys_max = sys_max > 2 * NTVM_WS_SYSTEM_RESERVE ?
		  sys_max - NTVM_WS_SYSTEM_RESERVE : sys_max / 2;
	min = min_bytes ? min_t(u64, min_bytes >> PAGE_SHIFT, ULONG_MAX) :
			  ctx->ws_min;
	max = max_bytes ? min_t(u64, max_bytes >> PAGE_SHIFT, ULONG_MAX) :
			  ctx->ws_max;
	if (min > max)
		return NTVM_STATUS_BAD_WORKING_SET_LIMIT;
	if (max > sys_max) {
		max = sys_max;
		status = NTVM_STATUS_WORKING_SET_LIMIT_RANGE;
	}
	if (min > sys_max) {
		min = sys_max;
		status = NTVM_STATUS_WORKING_SET_LIMIT_RANGE;
	}
	if (min < NTVM_WS_SMALLEST_MIN) {
		min = NTVM_WS_SMALLEST_MIN;
		status = NTVM_STATUS_WORKING_SET_LIMIT_RANGE;
	}
	if (ctx->locked + NTVM_WS_FLUID >= max || max < NTVM_WS_SMALLEST_MAX)
		return NTVM_STATUS_BAD_WORKING_SET_LIMIT;
	hard = ntvm_ws_hard(ctx->ws_hard, hard);
	if ((hard & NTVM_QUOTA_LIMITS_HARDWS_MIN_ENABLE) &&
	    (hard & NTVM_QUOTA_LIMITS_HARDWS_MAX_ENABLE) &&
	    min + NTVM_WS_FLUID >= max)
		return NTVM_STATUS_BAD_WORKING_SET_LIMIT;
	ctx->ws_min = min;
	ctx->ws_max = max;
	ctx->ws_hard = hard;
	return status;
}

u32 ntvm_nt_working_set(struct ntvm_ctx *ctx,
			struct ntvm_working_set_args *args)
{
	u32 status = NTVM_STATUS_SUCCESS;

	if (args->flags & NTVM_WORKING_SET_SET) {
		status = ntvm_ws_set(ctx, args->minimum, args->maximum,
				     args->hard);
		if (!ntvm_nt_success(status))
			return status;
	}
	args->minimum = (u64)ctx->ws_min << PAGE_SHIFT;
	args->maximum = (u64)ctx->ws_max << PAGE_SHIFT;
	args->locked = ctx->locked;
	args->hard = ctx->ws_hard;
	return status;
}
