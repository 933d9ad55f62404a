// SPDX-License-Identifier: GPL-2.0
/*
 * NtGetWriteWatch and NtResetWriteWatch: the pages of a MEM_WRITE_WATCH
 * allocation written since it was reserved or last reset.
 *
 * Validation follows Windows' order (the first failing check gives the
 * status).  With NTVM_WRITE_WATCH_FLAG_RESET the call resets exactly the
 * pages it reports, that is the pages scanned up to the last one
 * reported, each once it is in the caller's array.  The array is written
 * under the context's op_lock: memory that blocks on a fault
 * (userfaultfd) blocks the context's other calls meanwhile.  An array on a
 * guard page fails the call with STATUS_GUARD_PAGE_VIOLATION, once.
 */

#include <linux/pagemap.h>
#include <linux/sched.h>
#include <linux/uaccess.h>

#include "ntvm.h"

/* Addresses copied out at a time. */
#define NTVM_WW_BATCH	64

/* The intact write-watch allocation holding all of [start, end), or NULL. */
static struct ntvm_vad *ntvm_ww_range(struct ntvm_ctx *ctx, u64 base,
				      u64 size, unsigned long *start,
				      unsigned long *end)
{
	struct ntvm_vad *vad;

	if (base > ctx->max_address)
		return NULL;
	ntvm_page_range(base, size, start, end);
	if (size > ctx->max_address + 1 - *start)
		return NULL;
	vad = ntvm_vad_find(ctx, *start);
	if (!vad || !vad->write_watch || *end > ntvm_vad_end(vad) ||
	    !ntvm_vad_intact(ctx, vad))
		return NULL;
	return vad;
}

/* Reset the pages of @batch, reported already. */
static void ntvm_ww_reset_batch(struct ntvm_ctx *ctx, const u64 *batch,
				unsigned int n)
{
	unsigned int i;

	for (i = 0; i < n; i++)
		ntvm_change_reset_written(ctx, batch[i]);
	cond_resched();
}

u32 ntvm_nt_get_write_watch(struct ntvm_ctx *ctx,
			    struct ntvm_get_write_watch_args *args)
{
	u64 __user *out = u64_to_user_ptr(args->addresses);
	bool reset = args->watch_flags & NTVM_WRITE_WATCH_FLAG_RESET;
	u64 batch[NTVM_WW_BATCH];
	unsigned long start, end, addr;
	unsigned int n = 0;
	u64 count = 0;
	size_t probe;

	if (!args->count || !args->size ||
	    (args->watch_flags & ~NTVM_WRITE_WATCH_FLAG_RESET))
		return NTVM_STATUS_INVALID_PARAMETER;
	if (!args->addresses)
		return NTVM_STATUS_ACCESS_VIOLATION;
	if (!ntvm_ww_range(ctx, args->base, args->size, &start, &end))
		return NTVM_STATUS_INVALID_PARAMETER;
	/*
	 * The part of the array the call can fill is probed first, as NT
	 * does: a guard page in it (or an unwritable page) fails the call
	 * before a batch is reset.
	 */
	probe = min_t(u64, args->count, (end - start) >> PAGE_SHIFT) *
		sizeof(*batch);
	if (fault_in_safe_writeable((const char __user *)out, probe))
		return ntvm_guard_tripped(ctx->backing) ?
		       NTVM_STATUS_GUARD_PAGE_VIOLATION :
		       NTVM_STATUS_ACCESS_VIOLATION;

	/*
	 * A batch is reset only once it is in the caller's array: a page is
	 * never reset without being reported.  A write to it in between is
	 * one racing with the call, which the call reports.
	 */
	for (addr = start;; addr += PAGE_SIZE) {
		if (count < args->count)
			addr = ntvm_pages_next_written(ctx, addr, end);
		if (count < args->count && addr < end) {
			batch[n++] = addr;
			count++;
			if (n < NTVM_WW_BATCH)
				continue;
		}
		if (!n)
			break;
		if (copy_to_user(out + count - n, batch, n * sizeof(batch[0])))
			return ntvm_guard_tripped(ctx->backing) ?
			       NTVM_STATUS_GUARD_PAGE_VIOLATION :
			       NTVM_STATUS_ACCESS_VIOLATION;
		if (reset)
			ntvm_ww_reset_batch(ctx, batch, n);
		n = 0;
	}
	args->count = count;
	args->granularity = PAGE_SIZE;
	return NTVM_STATUS_SUCCESS;
}

u32 ntvm_nt_reset_write_watch(struct ntvm_ctx *ctx,
			      struct ntvm_reset_write_watch_args *args)
{
	unsigned long start, end, addr;

	if (!args->size ||
	    !ntvm_ww_range(ctx, args->base, args->size, &start, &end))
		return NTVM_STATUS_INVALID_PARAMETER;
	for (addr = start;; addr += PAGE_SIZE) {
		addr = ntvm_pages_next_written(ctx, addr, end);
		if (addr >= end)
			break;
		ntvm_change_reset_written(ctx, addr);
		cond_resched();
	}
	return NTVM_STATUS_SUCCESS;
}
