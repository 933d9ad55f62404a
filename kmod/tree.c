// SPDX-License-Identifier: GPL-2.0
/*
 * The allocations of a context, by address.  Disjoint ranges in an rbtree
 * keyed by base; all under the context's op_lock.
 */

#include "ntvm.h"

/* The allocation containing @addr, or NULL. */
struct ntvm_alloc *ntvm_alloc_find(struct ntvm_ctx *ctx, unsigned long addr)
{
	struct ntvm_alloc *a = ntvm_alloc_next(ctx, addr);

	return a && a->base <= addr ? a : NULL;
}

/* The first allocation that ends after @addr, or NULL. */
struct ntvm_alloc *ntvm_alloc_next(struct ntvm_ctx *ctx, unsigned long addr)
{
	struct rb_node *n = ctx->allocs.rb_node;
	struct ntvm_alloc *best = NULL;

	lockdep_assert_held(&ctx->op_lock);
	while (n) {
		struct ntvm_alloc *a = rb_entry(n, struct ntvm_alloc, node);

		if (addr < ntvm_alloc_end(a)) {
			best = a;
			n = n->rb_left;
		} else {
			n = n->rb_right;
		}
	}
	return best;
}

void ntvm_alloc_insert(struct ntvm_ctx *ctx, struct ntvm_alloc *a)
{
	struct rb_node **link = &ctx->allocs.rb_node, *parent = NULL;

	lockdep_assert_held(&ctx->op_lock);
	while (*link) {
		struct ntvm_alloc *b = rb_entry(*link, struct ntvm_alloc, node);

		parent = *link;
		link = a->base < b->base ? &parent->rb_left : &parent->rb_right;
	}
	rb_link_node(&a->node, parent, link);
	rb_insert_color(&a->node, &ctx->allocs);
}

void ntvm_alloc_erase(struct ntvm_ctx *ctx, struct ntvm_alloc *a)
{
	lockdep_assert_held(&ctx->op_lock);
	rb_erase(&a->node, &ctx->allocs);
}
