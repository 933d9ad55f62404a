// SPDX-License-Identifier: GPL-2.0
/*
 * The address-space map of a context: extents in an rbtree by address,
 * each one an allocation (a VAD, see vad.c) or a range outside ntvm's
 * arenas.  What lies between two extents is arena space: free, and held
 * mapped by our views for allocations to come (see arena.c).  A new map
 * is one outside extent over the whole address space.
 *
 * Each extent records the free granules before it (its gap, 64 KiB
 * aligned at both ends), and the tree is augmented with the largest gap of
 * each subtree, so that the lowest free range of a size is found in
 * O(log n) and no change to the tree needs memory.
 *
 * Writers hold op_lock and, around each change, map_lock.  Readers hold
 * op_lock, or map_lock alone: the VMA hooks of fault.c, which run under
 * mmap_lock and may not take op_lock.
 */

#include <linux/rbtree_augmented.h>
#include <linux/slab.h>

#include "ntvm.h"

static unsigned long ntvm_extent_gap(struct ntvm_extent *ext)
{
	return ext->gap;
}

RB_DECLARE_CALLBACKS_MAX(static, ntvm_space_cb, struct ntvm_extent, node,
			 unsigned long, gap_max, ntvm_extent_gap)

static struct ntvm_extent *ntvm_extent_of(struct rb_node *n)
{
	return n ? rb_entry(n, struct ntvm_extent, node) : NULL;
}

/* The extent after @ext, or NULL. */
struct ntvm_extent *ntvm_space_after(struct ntvm_extent *ext)
{
	return ntvm_extent_of(rb_next(&ext->node));
}

/* Recompute the gap before @ext (if any) and the subtree maxima above it. */
static void ntvm_space_update_gap(struct ntvm_extent *ext)
{
	struct ntvm_extent *prev;
	unsigned long lo, hi;

	if (!ext)
		return;
	prev = ntvm_extent_of(rb_prev(&ext->node));
	lo = prev ? ALIGN(prev->end, NTVM_GRANULARITY) : 0;
	hi = ALIGN_DOWN(ext->start, NTVM_GRANULARITY);
	ext->gap = hi > lo ? hi - lo : 0;
	ntvm_space_cb_propagate(&ext->node, NULL);
}

/* The first extent that ends after @addr, or NULL. */
struct ntvm_extent *ntvm_space_next(struct ntvm_ctx *ctx, unsigned long addr)
{
	struct rb_node *n = ctx->space.rb_node;
	struct ntvm_extent *best = NULL;

	while (n) {
		struct ntvm_extent *ext = ntvm_extent_of(n);

		if (addr < ext->end) {
			best = ext;
			n = n->rb_left;
		} else {
			n = n->rb_right;
		}
	}
	return best;
}

/* Insert @ext, which overlaps no extent of the map. */
void ntvm_space_insert(struct ntvm_ctx *ctx, struct ntvm_extent *ext)
{
	struct rb_node **link = &ctx->space.rb_node, *parent = NULL;

	lockdep_assert_held(&ctx->op_lock);
	spin_lock(&ctx->map_lock);
	while (*link) {
		parent = *link;
		link = ext->start < ntvm_extent_of(parent)->start ?
		       &parent->rb_left : &parent->rb_right;
	}
	rb_link_node(&ext->node, parent, link);
	ext->gap = 0;
	ext->gap_max = 0;
	rb_insert_augmented(&ext->node, &ctx->space, &ntvm_space_cb);
	ntvm_space_update_gap(ext);
	ntvm_space_update_gap(ntvm_space_after(ext));
	spin_unlock(&ctx->map_lock);
}

/* Take @ext out of the map: its range joins the gap after it. */
void ntvm_space_erase(struct ntvm_ctx *ctx, struct ntvm_extent *ext)
{
	struct ntvm_extent *next;

	lockdep_assert_held(&ctx->op_lock);
	spin_lock(&ctx->map_lock);
	next = ntvm_space_after(ext);
	rb_erase_augmented(&ext->node, &ctx->space, &ntvm_space_cb);
	ntvm_space_update_gap(next);
	spin_unlock(&ctx->map_lock);
}

/* Give @ext the range [start, end), which keeps it between its neighbours. */
void ntvm_space_resize(struct ntvm_ctx *ctx, struct ntvm_extent *ext,
		       unsigned long start, unsigned long end)
{
	lockdep_assert_held(&ctx->op_lock);
	spin_lock(&ctx->map_lock);
	ext->start = start;
	ext->end = end;
	ntvm_space_update_gap(ext);
	ntvm_space_update_gap(ntvm_space_after(ext));
	spin_unlock(&ctx->map_lock);
}

/*
 * Cut @ext into [ext->start, start) and @tail, [end, old end), in one step
 * for the readers under map_lock.
 */
void ntvm_space_split(struct ntvm_ctx *ctx, struct ntvm_extent *ext,
		      unsigned long start, unsigned long end,
		      struct ntvm_extent *tail)
{
	struct rb_node **link, *parent;

	lockdep_assert_held(&ctx->op_lock);
	spin_lock(&ctx->map_lock);
	tail->start = end;
	tail->end = ext->end;
	ext->end = start;
	ntvm_space_update_gap(ntvm_space_after(ext));
	/* The tail goes right after @ext. */
	parent = &ext->node;
	link = &ext->node.rb_right;
	while (*link) {
		parent = *link;
		link = &parent->rb_left;
	}
	rb_link_node(&tail->node, parent, link);
	tail->gap = 0;
	tail->gap_max = 0;
	rb_insert_augmented(&tail->node, &ctx->space, &ntvm_space_cb);
	ntvm_space_update_gap(tail);
	ntvm_space_update_gap(ntvm_space_after(tail));
	spin_unlock(&ctx->map_lock);
}

/**
 * ntvm_space_find_gap - the lowest free range of at least @size bytes
 * @ctx:   the context
 * @size:  the size wanted, a multiple of 64 KiB
 * @start: out: the start of the gap, 64 KiB aligned
 * @end:   out: its end, 64 KiB aligned
 *
 * Return: true if there is one.
 */
bool ntvm_space_find_gap(struct ntvm_ctx *ctx, unsigned long size,
			 unsigned long *start, unsigned long *end)
{
	struct rb_node *n = ctx->space.rb_node;

	lockdep_assert_held(&ctx->op_lock);
	if (!n || ntvm_extent_of(n)->gap_max < size)
		return false;
	while (n) {
		struct ntvm_extent *ext = ntvm_extent_of(n);

		if (n->rb_left && ntvm_extent_of(n->rb_left)->gap_max >= size) {
			n = n->rb_left;
			continue;
		}
		if (ext->gap >= size) {
			*end = ALIGN_DOWN(ext->start, NTVM_GRANULARITY);
			*start = *end - ext->gap;
			return true;
		}
		n = n->rb_right;
	}
	/* Not reached: the subtree maxima said there was one. */
	WARN_ON_ONCE(1);
	return false;
}

/*
 * Would a split of a view at @addr cut an allocation in two (@addr strictly
 * inside one)?  Under mmap_lock: takes map_lock only.
 */
bool ntvm_space_splits_vad(struct ntvm_ctx *ctx, unsigned long addr)
{
	struct ntvm_extent *ext;
	bool inside;

	spin_lock(&ctx->map_lock);
	ext = ntvm_space_next(ctx, addr);
	inside = ext && !ext->outside && ext->start < addr;
	spin_unlock(&ctx->map_lock);
	return inside;
}

/* Does an allocation overlap [start, end)?  Under mmap_lock, as above. */
bool ntvm_space_has_vad(struct ntvm_ctx *ctx, unsigned long start,
			unsigned long end)
{
	struct ntvm_extent *ext;

	spin_lock(&ctx->map_lock);
	ext = ntvm_space_next(ctx, start);
	while (ext && ext->start < end && ext->outside)
		ext = ntvm_space_after(ext);
	spin_unlock(&ctx->map_lock);
	return ext && ext->start < end;
}

/*
 * A new map: the whole address space is outside the arenas.  The first
 * 64 KiB and the page after the top are outside for good (no change ever
 * takes them), so that no allocation is placed at 0, and free space at
 * the top is a gap before an extent.
 */
int ntvm_space_init(struct ntvm_ctx *ctx)
{
	static const unsigned long bounds[] = {
		0, NTVM_MIN_ADDRESS, NTVM_MAX_ADDRESS + 1,
		NTVM_MAX_ADDRESS + 1 + PAGE_SIZE,
	};
	struct ntvm_extent *ext;
	int i;

	spin_lock_init(&ctx->map_lock);
	ctx->space = RB_ROOT;
	mutex_lock(&ctx->op_lock);
	for (i = 0; i < ARRAY_SIZE(bounds) - 1; i++) {
		ext = ntvm_outside_alloc();
		if (!ext)
			break;
		ext->start = bounds[i];
		ext->end = bounds[i + 1];
		/* Never part of an arena: not for taking. */
		ext->given_up = i != 1;
		ntvm_space_insert(ctx, ext);
	}
	mutex_unlock(&ctx->op_lock);
	return ext ? 0 : -ENOMEM;
}

/* An outside extent, not in a map yet. */
struct ntvm_extent *ntvm_outside_alloc(void)
{
	struct ntvm_extent *ext;

	ext = kzalloc(sizeof(*ext), GFP_KERNEL_ACCOUNT);
	if (ext)
		ext->outside = true;
	return ext;
}

/**
 * ntvm_space_destroy - free every extent, when the context goes
 * @ctx:      the context
 * @free_vad: frees an allocation's extent
 */
void ntvm_space_destroy(struct ntvm_ctx *ctx,
			void (*free_vad)(struct ntvm_extent *ext))
{
	struct ntvm_extent *ext, *n;
	unsigned long i = 0;

	rbtree_postorder_for_each_entry_safe(ext, n, &ctx->space, node) {
		if (ext->outside)
			kfree(ext);
		else
			free_vad(ext);
		if (!(++i % 4096))
			cond_resched();
	}
	ctx->space = RB_ROOT;
}
