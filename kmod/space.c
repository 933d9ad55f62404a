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
 * mmap_lock and may not take op_lock.  A change of an allocation's extent
 * bumps the query map's generation (query_map.c).
 */

#include <linux/list.h>
#include <linux/rbtree_augmented.h>
#include <linux/slab.h>

#include "ntvm.h"

/*
 * An extent outside the arenas is also in its context's list of them, by
 * address, so that they are found without walking the allocations.
 */
struct ntvm_outside {
	struct ntvm_extent ext;	/* first: freed as the extent */
	struct list_head link;	/* in ctx->outside; op_lock */
};

static struct list_head *ntvm_outside_link(struct ntvm_extent *ext)
{
	return &container_of(ext, struct ntvm_outside, ext)->link;
}

/* List @ext, an outside extent just inserted, in address order. */
static void ntvm_outside_add(struct ntvm_ctx *ctx, struct ntvm_extent *ext)
{
	struct ntvm_outside *o;

	list_for_each_entry_reverse(o, &ctx->outside, link) {
		if (o->ext.start < ext->start) {
			list_add(ntvm_outside_link(ext), &o->link);
			return;
		}
	}
	list_add(ntvm_outside_link(ext), &ctx->outside);
}

/**
 * ntvm_outside_next - the next outside extent
 * @ctx: the context
 * @ext: an outside extent, or NULL to start
 * @up:  in address order, else in reverse
 *
 * Return: the outside extent after (before) @ext, or the first (last) one
 * if @ext is NULL; NULL after the last (first).
 */
struct ntvm_extent *ntvm_outside_next(struct ntvm_ctx *ctx,
				      struct ntvm_extent *ext, bool up)
{
	struct list_head *pos = ext ? ntvm_outside_link(ext) : &ctx->outside;

	lockdep_assert_held(&ctx->op_lock);
	pos = up ? pos->next : pos->prev;
	if (pos == &ctx->outside)
		return NULL;
	return &list_entry(pos, struct ntvm_outside, link)->ext;
}

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

/**
 * ntvm_space_alone - does @ext share no 64 KiB granule with another extent?
 * @ext: an extent in the map, op_lock held
 *
 * Return: true when the extents before and after it end and start in
 * other granules.
 */
bool ntvm_space_alone(struct ntvm_extent *ext)
{
	struct ntvm_extent *prev = ntvm_extent_of(rb_prev(&ext->node));
	struct ntvm_extent *next = ntvm_space_after(ext);

	return (!prev ||
		prev->end <= ALIGN_DOWN(ext->start, NTVM_GRANULARITY)) &&
	       (!next || next->start >= ALIGN(ext->end, NTVM_GRANULARITY));
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
	if (ext->outside)
		ntvm_outside_add(ctx, ext);
	else
		ntvm_qmap_inserted(ctx, ext);
}

/* Take @ext out of the map: its range joins the gap after it. */
void ntvm_space_erase(struct ntvm_ctx *ctx, struct ntvm_extent *ext)
{
	struct ntvm_extent *next;

	lockdep_assert_held(&ctx->op_lock);
	/* While its neighbours are known (ntvm_space_alone()). */
	if (!ext->outside)
		ntvm_qmap_erased(ctx, ext);
	spin_lock(&ctx->map_lock);
	next = ntvm_space_after(ext);
	rb_erase_augmented(&ext->node, &ctx->space, &ntvm_space_cb);
	ntvm_space_update_gap(next);
	spin_unlock(&ctx->map_lock);
	if (ext->outside)
		list_del(ntvm_outside_link(ext));
}

/* Give @ext the range [start, end), which keeps it between its neighbours. */
void ntvm_space_resize(struct ntvm_ctx *ctx, struct ntvm_extent *ext,
		       unsigned long start, unsigned long end)
{
	unsigned long lo = min(start, ext->start), hi = max(end, ext->end);

	lockdep_assert_held(&ctx->op_lock);
	spin_lock(&ctx->map_lock);
	ext->start = start;
	ext->end = end;
	ntvm_space_update_gap(ext);
	ntvm_space_update_gap(ntvm_space_after(ext));
	spin_unlock(&ctx->map_lock);
	if (!ext->outside)
		ntvm_qmap_changed(ctx, lo, hi);
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
	/* Asked about as the whole was (query_map_sync.c). */
	tail->qeager = ext->qeager;
	rb_insert_augmented(&tail->node, &ctx->space, &ntvm_space_cb);
	ntvm_space_update_gap(tail);
	ntvm_space_update_gap(ntvm_space_after(tail));
	spin_unlock(&ctx->map_lock);
	if (ext->outside)
		list_add(ntvm_outside_link(tail), ntvm_outside_link(ext));
	else
		ntvm_qmap_changed(ctx, ext->start, tail->end);
}

/**
 * ntvm_place_in - where in the free range [@start, @end) @pl goes
 * @pl:    the placement wanted
 * @start: first free address, 64 KiB aligned
 * @end:   end of the free range, 64 KiB aligned
 *
 * The allocation takes whole granules of the range (Windows leaves the
 * rest of its last granule unused), and [base, base + @pl->len) must lie
 * in [@pl->lo, @pl->hi).
 *
 * Return: its base (the lowest, or the highest for @pl->top_down), or 0
 * if it does not fit.
 */
unsigned long ntvm_place_in(const struct ntvm_place *pl, unsigned long start,
			    unsigned long end)
{
	unsigned long need = ALIGN(pl->len, NTVM_GRANULARITY), base;

	start = max(start, pl->lo);
	if (pl->top_down) {
		if (end < need || pl->hi < pl->len)
			return 0;
		base = ALIGN_DOWN(min(end - need, pl->hi - pl->len),
				  pl->align);
		return base >= start ? base : 0;
	}
	base = ALIGN(start, pl->align);
	if (base < start || base > end || end - base < need ||
	    base > pl->hi || pl->hi - base < pl->len)
		return 0;
	return base;
}

static bool ntvm_space_fits(struct rb_node *n, unsigned long need)
{
	return n && ntvm_extent_of(n)->gap_max >= need;
}

/* The child of @n towards higher addresses if @up, else lower. */
static struct rb_node *ntvm_space_child(struct rb_node *n, bool up)
{
	return up ? n->rb_right : n->rb_left;
}

/*
 * The first extent, going @up (else down) in address order, of the
 * subtree at @n with a gap of at least @need; the subtree has one.
 */
static struct rb_node *ntvm_space_first(struct rb_node *n, unsigned long need,
					bool up)
{
	while (n) {
		if (ntvm_space_fits(ntvm_space_child(n, !up), need)) {
			n = ntvm_space_child(n, !up);
			continue;
		}
		if (ntvm_extent_of(n)->gap >= need)
			return n;
		n = ntvm_space_child(n, up);
	}
	/* Not reached: the subtree maxima said there was one. */
	WARN_ON_ONCE(1);
	return NULL;
}

/* The next extent after @n, going @up or down, with a gap of @need. */
static struct rb_node *ntvm_space_step(struct rb_node *n, unsigned long need,
				       bool up)
{
	struct rb_node *parent;

	if (ntvm_space_fits(ntvm_space_child(n, up), need))
		return ntvm_space_first(ntvm_space_child(n, up), need, up);
	for (; (parent = rb_parent(n)); n = parent) {
		if (ntvm_space_child(parent, up) == n)
			continue;
		/* Coming from below (above) @parent: it is next. */
		if (ntvm_extent_of(parent)->gap >= need)
			return parent;
		if (ntvm_space_fits(ntvm_space_child(parent, up), need))
			return ntvm_space_first(ntvm_space_child(parent, up),
						need, up);
	}
	return NULL;
}

/**
 * ntvm_space_find_place - where in the free arena space @pl goes
 * @ctx: the context
 * @pl:  the placement wanted: size, bounds, alignment, direction
 *
 * Walks the gaps from @pl's lower bound up (from its upper bound down, for
 * @pl->top_down), skipping every subtree whose largest gap is too small.
 *
 * Return: the base of the lowest (highest) place that fits @pl, or 0.
 */
unsigned long ntvm_space_find_place(struct ntvm_ctx *ctx,
				    const struct ntvm_place *pl)
{
	unsigned long need = ALIGN(pl->len, NTVM_GRANULARITY);
	unsigned long base, gap_end;
	struct ntvm_extent *ext;
	struct rb_node *n;
	bool up = !pl->top_down;

	lockdep_assert_held(&ctx->op_lock);
	if (!ntvm_space_fits(ctx->space.rb_node, need))
		return 0;
	/* The extent whose gap holds the first address to look at. */
	ext = ntvm_space_next(ctx, up ? pl->lo : pl->hi);
	n = ext ? &ext->node : rb_last(&ctx->space);
	if (ntvm_extent_of(n)->gap < need)
		n = ntvm_space_step(n, need, up);
	for (; n; n = ntvm_space_step(n, need, up)) {
		ext = ntvm_extent_of(n);
		gap_end = ALIGN_DOWN(ext->start, NTVM_GRANULARITY);
		/* Past the bounds: every gap after this one is too. */
		if (up ? gap_end - ext->gap >= pl->hi : gap_end <= pl->lo)
			break;
		base = ntvm_place_in(pl, gap_end - ext->gap, gap_end);
		if (base)
			return base;
		cond_resched();
	}
	return 0;
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
	INIT_LIST_HEAD(&ctx->outside);
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
	struct ntvm_outside *o;

	o = kzalloc(sizeof(*o), GFP_KERNEL_ACCOUNT);
	if (!o)
		return NULL;
	o->ext.outside = true;
	return &o->ext;
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
