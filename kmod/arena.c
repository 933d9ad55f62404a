// SPDX-License-Identifier: GPL-2.0
/*
 * Arenas: address space ntvm keeps mapped by its data views while no
 * allocation holds it, so that reserving and releasing change no VMA and
 * a million allocations share a few VMAs.  Arena space is what lies
 * between the extents of the address-space map (space.c); it reads free,
 * and any access to it faults, as for unmapped memory.
 *
 *  - A reservation the kernel places goes to the lowest free range of the
 *    arenas.  When none fits, a new arena is mapped where Linux finds room:
 *    as big as all arenas so far (at least NTVM_ARENA_MIN, at most
 *    NTVM_ARENA_MAX), so their number grows with the log of the space used.
 *  - A reservation at an address outside the arenas maps what is unmapped
 *    of the NTVM_ARENA_BLOCK-aligned blocks around it, and that becomes
 *    arena space too: packed reservations at chosen addresses share views.
 *
 * The rest of the process may unmap arena space or map over it (the views'
 * hooks let it split them only between allocations, see fault.c).  Such
 * space is noticed when a placement next finds it, and is then left out
 * of the arenas for good ("given up"): ntvm maps there again only for a
 * reservation at that very address, never to extend a block.
 *
 * Our views in space outside the arenas belong to nothing (the rest of a
 * failed adoption, an exec view given up): they may be unmapped at will.
 */

#include <linux/sched/signal.h>

#include "ntvm.h"

/*
 * New arenas are made only for the plain placement of a context at the
 * 64-bit highest address; a 32-bit one (2 or 4 GiB) places each
 * allocation in the arenas or a hole below its limit (vad.c).
 */
#define NTVM_ARENA_MIN		(64UL << 20)
#define NTVM_ARENA_MAX		(64UL << 30)
#define NTVM_ARENA_BLOCK	(2UL << 20)

/*
 * Give up [start, end), in a gap: the process unmapped it or mapped over
 * it, so it is not arena space any more.
 */
static u32 ntvm_arena_give_up(struct ntvm_ctx *ctx, unsigned long start,
			      unsigned long end)
{
	struct ntvm_extent *ext, *next = ntvm_space_next(ctx, start);

	/* Grow a given-up extent that starts right there. */
	if (next && next->given_up && next->start == end) {
		ntvm_space_resize(ctx, next, start, next->end);
		return NTVM_STATUS_SUCCESS;
	}
	ext = ntvm_outside_alloc();
	if (!ext)
		return NTVM_STATUS_NO_MEMORY;
	ext->start = start;
	ext->end = end;
	ext->given_up = true;
	ntvm_space_insert(ctx, ext);
	return NTVM_STATUS_SUCCESS;
}

/**
 * ntvm_arena_take - take [start, end) out of outside extent @ext
 * @ctx:   the context
 * @ext:   the outside extent
 * @start: first address, in @ext
 * @end:   end address, in @ext
 * @spare: an outside extent not in the map, for a split; set to NULL when
 *         used
 */
static void ntvm_arena_take(struct ntvm_ctx *ctx, struct ntvm_extent *ext,
			    unsigned long start, unsigned long end,
			    struct ntvm_extent **spare)
{
	unsigned long ext_end = ext->end;

	if (start == ext->start && end == ext_end) {
		ntvm_space_erase(ctx, ext);
		kfree(ext);
	} else if (start == ext->start) {
		ntvm_space_resize(ctx, ext, end, ext_end);
	} else if (end == ext_end) {
		ntvm_space_resize(ctx, ext, ext->start, start);
	} else {
		(*spare)->given_up = ext->given_up;
		ntvm_space_split(ctx, ext, start, end, *spare);
		*spare = NULL;
	}
}

/*
 * Map data views over the holes of [start, end), which holds no
 * allocation.
 * Return: 0, or the first address where something else is mapped (all of
 * [start, end) is ours when 0 is returned), or an errno of vm_mmap() as a
 * negative value.
 */
static long ntvm_arena_map_holes(struct ntvm_ctx *ctx, unsigned long start,
				 unsigned long end)
{
	struct ntvm_span span;
	unsigned long addr;
	int err;

	for (addr = start; addr < end; addr = span.end) {
		ntvm_view_span(ctx, addr, end, &span);
		if (span.kind == NTVM_SPAN_FOREIGN)
			return addr;
		if (span.kind == NTVM_SPAN_VIEW && !(span.vm_flags & VM_EXEC))
			continue;
		/* A hole, or an exec view left over: a data view now. */
		err = ntvm_view_map(ctx, addr, span.end, false,
				    span.kind == NTVM_SPAN_VIEW);
		if (err == -EEXIST)
			return addr;	/* raced with another mmap */
		if (err)
			return err;
	}
	return 0;
}

/*
 * The part of [lo, hi) around [start, end) with nothing foreign mapped in
 * it, or false if something foreign is mapped in [start, end).
 */
static bool ntvm_arena_clear_run(struct ntvm_ctx *ctx, unsigned long start,
				 unsigned long end, unsigned long *lo,
				 unsigned long *hi)
{
	struct ntvm_span span;
	unsigned long addr;

	for (addr = *lo; addr < *hi; addr = span.end) {
		ntvm_view_span(ctx, addr, *hi, &span);
		if (span.kind != NTVM_SPAN_FOREIGN)
			continue;
		if (span.end <= start) {
			*lo = span.end;
			continue;
		}
		if (addr < end)
			return false;
		/* Keep a stack's guard gap free: no extension towards it. */
		*hi = span.vm_flags & VM_GROWSDOWN ? end : addr;
		break;
	}
	return true;
}

/*
 * Make [start, end) of outside extent @ext arena space, with the rest of
 * its blocks that nothing else maps unless the process gave them up.
 */
static u32 ntvm_arena_adopt_outside(struct ntvm_ctx *ctx,
				    struct ntvm_extent *ext,
				    unsigned long start, unsigned long end)
{
	unsigned long lo = start, hi = end;
	struct ntvm_extent *spare;
	long ret;

	if (!ext->given_up) {
		lo = max(ALIGN_DOWN(start, NTVM_ARENA_BLOCK), ext->start);
		hi = min(ALIGN(end, NTVM_ARENA_BLOCK), ext->end);
	}
	if (!ntvm_arena_clear_run(ctx, start, end, &lo, &hi))
		return NTVM_STATUS_CONFLICTING_ADDRESSES;
	/* All that can fail comes before the map changes. */
	spare = ntvm_outside_alloc();
	if (!spare)
		return NTVM_STATUS_NO_MEMORY;
	ret = ntvm_arena_map_holes(ctx, start, end);
	if (ret) {
		kfree(spare);
		ntvm_view_unmap_ours(ctx, start, end);
		return ret > 0 ? NTVM_STATUS_CONFLICTING_ADDRESSES :
				 NTVM_STATUS_NO_MEMORY;
	}
	/* The rest of the blocks, as far as nobody maps there meanwhile. */
	if (lo < start && ntvm_arena_map_holes(ctx, lo, start)) {
		ntvm_view_unmap_ours(ctx, lo, start);
		lo = start;
	}
	if (hi > end) {
		ret = ntvm_arena_map_holes(ctx, end, hi);
		if (ret < 0)
			ntvm_view_unmap_ours(ctx, end, hi);
		if (ret)
			hi = ret > 0 ? ret : end;
	}
	ntvm_arena_take(ctx, ext, lo, hi, &spare);
	kfree(spare);
	return NTVM_STATUS_SUCCESS;
}

/**
 * ntvm_arena_adopt - make [start, end) arena space, mapped by our views
 * @ctx:   the context
 * @start: first address, 64 KiB aligned
 * @end:   end address
 *
 * Allocations in the range are skipped; the caller has made sure there
 * is none where it wants one.
 *
 * Return: 0, STATUS_CONFLICTING_ADDRESSES (something else is mapped in
 * the range) or STATUS_NO_MEMORY.
 */
u32 ntvm_arena_adopt(struct ntvm_ctx *ctx, unsigned long start,
		     unsigned long end)
{
	unsigned long addr, piece_end;
	struct ntvm_extent *ext;
	long ret;
	u32 status;

	lockdep_assert_held(&ctx->op_lock);
	/* Nothing changes for a range that is not free. */
	addr = start;
	piece_end = end;
	if (!ntvm_arena_clear_run(ctx, start, end, &addr, &piece_end))
		return NTVM_STATUS_CONFLICTING_ADDRESSES;
	for (addr = start; addr < end; addr = piece_end) {
		ext = ntvm_space_next(ctx, addr);
		if (ext && ext->start <= addr) {
			piece_end = min(end, ext->end);
			if (!ext->outside)
				continue;
			status = ntvm_arena_adopt_outside(ctx, ext, addr,
							  piece_end);
			if (status)
				return status;
		} else {
			/* Arena space: mapped again if it was unmapped. */
			piece_end = ext ? min(end, ext->start) : end;
			ret = ntvm_arena_map_holes(ctx, addr, piece_end);
			if (ret > 0)
				return NTVM_STATUS_CONFLICTING_ADDRESSES;
			if (ret < 0)
				return NTVM_STATUS_NO_MEMORY;
		}
	}
	return NTVM_STATUS_SUCCESS;
}

/**
 * ntvm_arena_room - where a new arena for @len bytes could go
 * @ctx:   the context
 * @len:   the allocation it is for
 * @start: out: its start, 64 KiB aligned, in space Linux sees unmapped
 * @size:  out: its size: as big as all arenas so far, within bounds, and
 *         at least @len (64 KiB rounded)
 *
 * Return: 0 or STATUS_NO_MEMORY (no room).
 */
u32 ntvm_arena_room(struct ntvm_ctx *ctx, unsigned long len,
		    unsigned long *start, unsigned long *size)
{
	unsigned long need = ALIGN(len, NTVM_GRANULARITY);

	*size = max(clamp(ctx->arena_bytes, NTVM_ARENA_MIN, NTVM_ARENA_MAX),
		    need);
	*start = ntvm_view_find_free(ctx, *size);
	if (!*start && *size > need) {
		*size = need;
		*start = ntvm_view_find_free(ctx, *size);
	}
	return *start ? NTVM_STATUS_SUCCESS : NTVM_STATUS_NO_MEMORY;
}

/**
 * ntvm_arena_grow - map a new arena over [start, start + size)
 * @ctx:   the context
 * @start: where ntvm_arena_room() said, with no allocation in the range
 * @size:  the size it said
 *
 * Return: 0, STATUS_CONFLICTING_ADDRESSES (the process mapped there
 * meanwhile) or STATUS_NO_MEMORY.
 */
u32 ntvm_arena_grow(struct ntvm_ctx *ctx, unsigned long start,
		    unsigned long size)
{
	u32 status;

	status = ntvm_arena_adopt(ctx, start, start + size);
	if (status)
		return status;
	ctx->arena_bytes += size;
	return NTVM_STATUS_SUCCESS;
}

/**
 * ntvm_arena_place - where in the arenas a new allocation goes
 * @ctx:  the context
 * @pl:   the placement wanted
 * @base: out: its base; [base, base + @pl->len) is free arena space,
 *        mapped by our data views.  0 when no free range fits.
 *
 * The rest of its last granule is free too: Windows leaves it unused.
 *
 * Return: 0 or STATUS_NO_MEMORY.
 */
u32 ntvm_arena_place(struct ntvm_ctx *ctx, const struct ntvm_place *pl,
		     unsigned long *base)
{
	unsigned long start, end, addr;
	struct ntvm_span span;
	u32 status;

	lockdep_assert_held(&ctx->op_lock);
	*base = 0;
	while ((start = ntvm_space_find_place(ctx, pl))) {
		end = start + pl->len;
		for (addr = start; addr < end; addr = span.end) {
			ntvm_view_span(ctx, addr, end, &span);
			if (span.kind != NTVM_SPAN_VIEW ||
			    (span.vm_flags & VM_EXEC))
				break;
		}
		if (addr >= end) {
			*base = start;
			return NTVM_STATUS_SUCCESS;
		}
		/* Unmapped or mapped over by the process: not ours now. */
		status = ntvm_arena_give_up(ctx, addr, span.end);
		if (status)
			return status;
		if (fatal_signal_pending(current))
			return NTVM_STATUS_NO_MEMORY;
		cond_resched();
	}
	return NTVM_STATUS_SUCCESS;
}

/**
 * ntvm_arena_find_hole - unmapped space outside the arenas where @pl goes
 * @ctx: the context
 * @pl:  the placement wanted
 *
 * Only in space that is neither an allocation (a broken one is unmapped
 * too) nor given up by the process, going up from @pl's lower bound (down
 * from its upper bound, for @pl->top_down).
 *
 * Return: the base, or 0 if none fits.
 */
unsigned long ntvm_arena_find_hole(struct ntvm_ctx *ctx,
				   const struct ntvm_place *pl)
{
	struct ntvm_place piece = *pl;
	struct ntvm_extent *ext = NULL;
	bool up = !pl->top_down;
	unsigned long base;

	lockdep_assert_held(&ctx->op_lock);
	while ((ext = ntvm_outside_next(ctx, ext, up))) {
		if (up ? ext->end <= pl->lo : ext->start >= pl->hi)
			continue;
		if (up ? ext->start >= pl->hi : ext->end <= pl->lo)
			break;
		if (ext->given_up)
			continue;
		piece.lo = max(pl->lo, ext->start);
		piece.hi = min(pl->hi, ext->end);
		base = ntvm_view_find_hole(ctx, &piece);
		if (base)
			return base;
		if (fatal_signal_pending(current))
			break;
	}
	return 0;
}
