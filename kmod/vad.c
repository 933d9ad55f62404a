// SPDX-License-Identifier: GPL-2.0
/*
 * Allocations (NT's VADs) of a context, by address: disjoint ranges in an
 * rbtree keyed by base, all under the context's op_lock.
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

struct ntvm_vad *ntvm_vad_alloc(void)
{
	return kzalloc(sizeof(struct ntvm_vad), GFP_KERNEL_ACCOUNT);
}

/* Free an allocation that is not (or no longer) in a tree. */
void ntvm_vad_free(struct ntvm_vad *vad)
{
	kfree(vad);
}

void ntvm_vad_insert(struct ntvm_ctx *ctx, struct ntvm_vad *vad)
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
}

void ntvm_vad_erase(struct ntvm_ctx *ctx, struct ntvm_vad *vad)
{
	lockdep_assert_held(&ctx->op_lock);
	rb_erase(&vad->node, &ctx->vads);
	atomic_long_dec(&ntvm_nr_vads);
}

/**
 * ntvm_vad_cut - take [start, end) out of allocation @vad
 * @ctx:   the context
 * @vad:   the allocation holding the range
 * @start: first address
 * @end:   end address
 * @tail:  a new allocation for the part after the range when the range is
 *         strictly inside @vad, else NULL
 *
 * The part before keeps the allocation base, the part after becomes an
 * allocation of its own based at @end.  Cannot fail.
 */
void ntvm_vad_cut(struct ntvm_ctx *ctx, struct ntvm_vad *vad,
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
		ntvm_vad_insert(ctx, tail);
	}
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
