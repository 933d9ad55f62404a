// SPDX-License-Identifier: GPL-2.0
/*
 * Allocations (NT's VADs) of a context, by address: disjoint ranges in an
 * rbtree keyed by base, all under the context's op_lock.
 *
 * A reservation creates an allocation with its data view; a release takes
 * a range out of one, its pages and views with it (through change.c).
 *
 * Liveness: userspace can munmap a whole view (that cannot be refused).
 * An allocation whose range is no longer all in our views is "broken"; it
 * is forgotten (what is left of its views unmapped, never what userspace
 * put there; its pages freed) when a service that changes memory next
 * meets it.  A query only looks (see nt_query.c).
 */

#include <linux/slab.h>

#include "ntvm.h"

/* The first allocation that ends after @addr, or NULL. */
struct ntvm_vad *ntvm_vad_next(struct ntvm_ctx *ctx, unsigned long addr)
{
	struct rb_node *n = ctx->vads.rb_node;
	struct ntvm_vad *best = NULL;

	lockdep_assert_held(&ctx->op_lock);
	while (n) {
		struct ntvm_vad *vad = rb_entry(n, struct ntvm_vad, node);

		if (addr < ntvm_vad_end(vad)) {
			best = vad;
			n = n->rb_left;
		} else {
			n = n->rb_right;
		}
	}
	return best;
}

/* The allocation containing @addr, or NULL. */
struct ntvm_vad *ntvm_vad_find(struct ntvm_ctx *ctx, unsigned long addr)
{
	struct ntvm_vad *vad = ntvm_vad_next(ctx, addr);

	return vad && vad->base <= addr ? vad : NULL;
}

/* The allocation after @vad, or NULL. */
struct ntvm_vad *ntvm_vad_after(struct ntvm_vad *vad)
{
	struct rb_node *n = rb_next(&vad->node);

	return n ? rb_entry(n, struct ntvm_vad, node) : NULL;
}

static struct ntvm_vad *ntvm_vad_alloc(void)
{
	return kzalloc(sizeof(struct ntvm_vad), GFP_KERNEL_ACCOUNT);
}

/* Free an allocation that is not (or no longer) in a tree. */
static void ntvm_vad_free(struct ntvm_vad *vad)
{
	kfree(vad);
}

static void ntvm_vad_insert(struct ntvm_ctx *ctx, struct ntvm_vad *vad)
{
	struct rb_node **link = &ctx->vads.rb_node, *parent = NULL;

	lockdep_assert_held(&ctx->op_lock);
	while (*link) {
		struct ntvm_vad *b = rb_entry(*link, struct ntvm_vad, node);

		parent = *link;
		link = vad->base < b->base ? &parent->rb_left :
					     &parent->rb_right;
	}
	rb_link_node(&vad->node, parent, link);
	rb_insert_color(&vad->node, &ctx->vads);
	atomic_long_inc(&ntvm_nr_vads);
	if (vad->write_watch)
		WRITE_ONCE(ctx->write_watches, ctx->write_watches + 1);
}

static void ntvm_vad_erase(struct ntvm_ctx *ctx, struct ntvm_vad *vad)
{
	lockdep_assert_held(&ctx->op_lock);
	rb_erase(&vad->node, &ctx->vads);
	atomic_long_dec(&ntvm_nr_vads);
	if (vad->write_watch)
		WRITE_ONCE(ctx->write_watches, ctx->write_watches - 1);
}

/**
 * ntvm_vad_reserve - a new allocation of @len bytes, with its data view
 * @ctx:           the context
 * @base:          its base, or 0 to choose a free 64 KiB-aligned one
 * @len:           its size (page aligned)
 * @alloc_protect: the protection it is reserved with
 * @write_watch:   track writes to its pages (MEM_WRITE_WATCH)
 * @vadp:          out: the allocation, in the tree
 *
 * Return: 0, STATUS_CONFLICTING_ADDRESSES (something is mapped at @base)
 * or STATUS_NO_MEMORY (no room, or no memory).
 */
u32 ntvm_vad_reserve(struct ntvm_ctx *ctx, unsigned long base,
		     unsigned long len, u32 alloc_protect, bool write_watch,
		     struct ntvm_vad **vadp)
{
	bool anywhere = !base;
	struct ntvm_vad *vad;
	int tries = 0, err;
	u32 status;

	lockdep_assert_held(&ctx->op_lock);
	if (!anywhere && ntvm_vad_range_taken(ctx, base, base + len))
		return NTVM_STATUS_CONFLICTING_ADDRESSES;
	vad = ntvm_vad_alloc();
	if (!vad)
		return NTVM_STATUS_NO_MEMORY;
	for (;;) {
		if (anywhere) {
			base = ntvm_view_find_free(ctx, len);
			/* Free for Linux, so only a forgotten view was here. */
			if (!base || ntvm_vad_range_taken(ctx, base, base + len)) {
				status = NTVM_STATUS_NO_MEMORY;
				goto free;
			}
		}
		err = ntvm_view_map(ctx, base, base + len, false, false);
		if (!err)
			break;
		if (err == -EEXIST && anywhere && ++tries < 8)
			continue;	/* raced with another mmap */
		status = err == -EEXIST ? NTVM_STATUS_CONFLICTING_ADDRESSES :
					  NTVM_STATUS_NO_MEMORY;
		goto free;
	}
	vad->base = base;
	vad->size = len;
	vad->alloc_protect = alloc_protect;
	/*
	 * Its pages are written only once committed, after this; their bits
	 * were cleared when they were last released.
	 */
	vad->write_watch = write_watch;
	ntvm_vad_insert(ctx, vad);
	*vadp = vad;
	return NTVM_STATUS_SUCCESS;
free:
	ntvm_vad_free(vad);
	return status;
}

/**
 * ntvm_vad_unreserve - undo ntvm_vad_reserve() of an allocation never used
 * @ctx: the context
 * @vad: the allocation, with nothing committed
 *
 * Unmaps the new view, and only it: another thread may have unmapped it
 * whole and mapped something of its own there.  A view that cannot be
 * unmapped stays, its allocation broken, to be forgotten when next met.
 */
void ntvm_vad_unreserve(struct ntvm_ctx *ctx, struct ntvm_vad *vad)
{
	if (ntvm_view_unmap_ours(ctx, vad->base, ntvm_vad_end(vad))) {
		vad->broken = true;
		return;
	}
	ntvm_vad_erase(ctx, vad);
	ntvm_vad_free(vad);
}

/*
 * Take [start, end) out of allocation @vad: the part before keeps the
 * allocation base, the part after becomes an allocation of its own based
 * at @end.  @tail is the new allocation for that part, when the range is
 * strictly inside @vad.
 */
static void ntvm_vad_cut(struct ntvm_ctx *ctx, struct ntvm_vad *vad,
			 unsigned long start, unsigned long end,
			 struct ntvm_vad *tail)
{
	unsigned long vad_end = ntvm_vad_end(vad);

	if (start == vad->base && end == vad_end) {
		ntvm_vad_erase(ctx, vad);
		ntvm_vad_free(vad);
	} else if (start == vad->base) {
		/* The tail keeps the node: rebasing keeps the tree order. */
		vad->base = end;
		vad->size = vad_end - end;
	} else if (end == vad_end) {
		vad->size = start - vad->base;
	} else {
		vad->size = start - vad->base;
		tail->base = end;
		tail->size = vad_end - end;
		tail->alloc_protect = vad->alloc_protect;
		tail->broken = vad->broken;
		tail->write_watch = vad->write_watch;
		ntvm_vad_insert(ctx, tail);
	}
}

/**
 * ntvm_vad_release - release [start, end) of allocation @vad
 * @ctx:   the context
 * @vad:   the allocation holding the range
 * @start: first address
 * @end:   end address
 *
 * A sub-range splits @vad (see ntvm_vad_cut()).
 *
 * Return: 0 or STATUS_NO_MEMORY (nothing changed).
 */
u32 ntvm_vad_release(struct ntvm_ctx *ctx, struct ntvm_vad *vad,
		     unsigned long start, unsigned long end)
{
	struct ntvm_vad *tail = NULL;
	u32 status;

	/* All that can fail comes before the views change. */
	if (start > vad->base && end < ntvm_vad_end(vad)) {
		tail = ntvm_vad_alloc();
		if (!tail)
			return NTVM_STATUS_NO_MEMORY;
	}
	status = ntvm_change_release(ctx, start, end);
	if (status) {
		ntvm_vad_free(tail);
		return status;
	}
	ntvm_vad_cut(ctx, vad, start, end, tail);
	return NTVM_STATUS_SUCCESS;
}

/* When the context goes: no view is left. */
void ntvm_vad_destroy_all(struct ntvm_ctx *ctx)
{
	struct ntvm_vad *vad, *n;

	rbtree_postorder_for_each_entry_safe(vad, n, &ctx->vads, node) {
		ntvm_vad_free(vad);
		atomic_long_dec(&ntvm_nr_vads);
	}
	ctx->vads = RB_ROOT;
}

/* Are all pages of @vad still in our views? */
bool ntvm_vad_intact(struct ntvm_ctx *ctx, struct ntvm_vad *vad)
{
	return !vad->broken &&
	       ntvm_view_covers(ctx, vad->base, ntvm_vad_end(vad));
}

/*
 * Forget a broken allocation: unmap what is left of our views in it and
 * free its pages.  When a view cannot be unmapped (no memory), nothing is
 * forgotten: the allocation stays, broken, for the next try.
 */
static bool ntvm_vad_forget(struct ntvm_ctx *ctx, struct ntvm_vad *vad)
{
	vad->broken = true;
	if (ntvm_view_unmap_ours(ctx, vad->base, ntvm_vad_end(vad)))
		return false;
	ntvm_change_drop_pages(ctx, vad->base, ntvm_vad_end(vad));
	ntvm_vad_erase(ctx, vad);
	ntvm_vad_free(vad);
	return true;
}

/*
 * The intact allocation containing @addr, or NULL (a broken one there is
 * forgotten).
 */
struct ntvm_vad *ntvm_vad_live(struct ntvm_ctx *ctx, unsigned long addr)
{
	struct ntvm_vad *vad = ntvm_vad_find(ctx, addr);

	if (vad && !ntvm_vad_intact(ctx, vad)) {
		ntvm_vad_forget(ctx, vad);
		vad = NULL;
	}
	return vad;
}

/*
 * Does an allocation overlap [start, end)?  Broken ones there are
 * forgotten first; one that cannot be forgotten still takes the range.
 */
bool ntvm_vad_range_taken(struct ntvm_ctx *ctx, unsigned long start,
			  unsigned long end)
{
	struct ntvm_vad *vad;

	while ((vad = ntvm_vad_next(ctx, start)) && vad->base < end) {
		if (ntvm_vad_intact(ctx, vad) || !ntvm_vad_forget(ctx, vad))
			return true;
	}
	return false;
}
