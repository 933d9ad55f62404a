// SPDX-License-Identifier: GPL-2.0
/*
 * The query map's radix tree: for each 64 KiB granule of the address
 * space, the record of the allocation there (uapi: struct
 * ntvm_query_map_header).  Four levels of NTVM_QUERY_MAP_FANOUT entries;
 * an entry above the last level that is not a node holds for every
 * granule of its range, so a reservation of terabytes takes a few
 * entries.  A node whose entries all read the same is folded back into
 * its parent's entry.
 *
 * Changed under op_lock, while the map's sequence count is odd.
 */

#include <linux/mm.h>

#include "ntvm.h"

#define NTVM_QTREE_LEVELS	4
#define NTVM_QTREE_BITS		8
#define NTVM_QTREE_NODE_SIZE	(NTVM_QUERY_MAP_FANOUT * sizeof(u32))
/* The granules of the address space: what the root covers. */
#define NTVM_QTREE_GRANULES	(1UL << (NTVM_QTREE_BITS * NTVM_QTREE_LEVELS))
/* Granules looked at before a change, to leave them if they are right. */
#define NTVM_QTREE_LOOK		16

static unsigned int ntvm_qtree_shift(unsigned int level)
{
	return NTVM_QTREE_BITS * (NTVM_QTREE_LEVELS - 1 - level);
}

static u32 *ntvm_qtree_node(struct ntvm_ctx *ctx, u32 entry)
{
	return ntvm_qstore_ptr(ctx, entry & ~NTVM_QUERY_MAP_TAG);
}

static bool ntvm_qtree_is_node(u32 entry)
{
	return (entry & NTVM_QUERY_MAP_TAG) == NTVM_QUERY_MAP_NODE;
}

static void ntvm_qtree_free(struct ntvm_ctx *ctx, u32 entry)
{
	u32 *node = ntvm_qtree_node(ctx, entry);
	unsigned int i;

	for (i = 0; i < NTVM_QUERY_MAP_FANOUT; i++)
		if (ntvm_qtree_is_node(node[i]))
			ntvm_qtree_free(ctx, node[i]);
	ntvm_qstore_free(ctx, entry & ~NTVM_QUERY_MAP_TAG,
			 NTVM_QTREE_NODE_SIZE);
}

/* A node whose entries are all @entry, or 0 when there is no memory. */
static u32 ntvm_qtree_new_node(struct ntvm_ctx *ctx, u32 entry)
{
	u32 off = ntvm_qstore_alloc(ctx, NTVM_QTREE_NODE_SIZE);
	u32 *node;
	unsigned int i;

	if (!off)
		return 0;
	node = ntvm_qstore_ptr(ctx, off);
	for (i = 0; i < NTVM_QUERY_MAP_FANOUT; i++)
		WRITE_ONCE(node[i], entry);
	return off | NTVM_QUERY_MAP_NODE;
}

/* The one entry every slot of @node holds, or a node entry if none. */
static u32 ntvm_qtree_uniform(const u32 *node)
{
	unsigned int i;

	for (i = 1; i < NTVM_QUERY_MAP_FANOUT; i++)
		if (node[i] != node[0])
			return NTVM_QUERY_MAP_NODE;
	return node[0];
}

/*
 * Set the granules [first, last] of @table (whose first granule is
 * @base, at @level) to @entry.
 */
static void ntvm_qtree_set_in(struct ntvm_ctx *ctx, u32 *table,
			      unsigned int level, unsigned long base,
			      unsigned long first, unsigned long last,
			      u32 entry)
{
	unsigned int shift = ntvm_qtree_shift(level);
	unsigned long i, lo, hi;

	for (i = (first - base) >> shift; i <= (last - base) >> shift; i++) {
		u32 old = table[i], node, uniform;

		lo = base + (i << shift);
		hi = lo + (1UL << shift) - 1;
		if (first <= lo && hi <= last) {
			WRITE_ONCE(table[i], entry);
			if (ntvm_qtree_is_node(old))
				ntvm_qtree_free(ctx, old);
			continue;
		}
		node = old;
		if (!ntvm_qtree_is_node(old)) {
			if (old == entry)
				continue;
			node = ntvm_qtree_new_node(ctx, old);
			if (!node) {
				/* Wider than asked: ask the ioctl there. */
				WRITE_ONCE(table[i], NTVM_QUERY_MAP_SLOW);
				continue;
			}
			WRITE_ONCE(table[i], node);
		}
		ntvm_qtree_set_in(ctx, ntvm_qtree_node(ctx, node), level + 1, lo,
				  max(first, lo), min(last, hi), entry);
		uniform = ntvm_qtree_uniform(ntvm_qtree_node(ctx, node));
		if (!ntvm_qtree_is_node(uniform)) {
			WRITE_ONCE(table[i], uniform);
			ntvm_qtree_free(ctx, node);
		}
	}
}

/**
 * ntvm_qtree_set - the granules [@first, @last] hold @entry
 * @ctx:   the context
 * @first: first granule (address >> 16)
 * @last:  last granule
 * @entry: 0, a record's offset | NTVM_QUERY_MAP_RECORD, or
 *         NTVM_QUERY_MAP_SLOW
 *
 * Where a node is needed and there is no memory for it, more granules
 * than asked read NTVM_QUERY_MAP_SLOW: the reader asks the ioctl there.
 */
void ntvm_qtree_set(struct ntvm_ctx *ctx, unsigned long first,
		    unsigned long last, u32 entry)
{
	unsigned long g;

	lockdep_assert_held(&ctx->op_lock);
	if (WARN_ON_ONCE(last >= NTVM_QTREE_GRANULES))
		last = NTVM_QTREE_GRANULES - 1;
	if (first > last)
		return;
	/* Most changes leave a few granules as they were: look first. */
	if (last - first < NTVM_QTREE_LOOK) {
		for (g = first; g <= last; g++)
			if (ntvm_qtree_get(ctx, g) != entry)
				break;
		if (g > last)
			return;
	}
	ntvm_qtree_set_in(ctx, ntvm_qmap_header(ctx)->root, 0, 0, first, last,
			  entry);
}

/* The entry of granule @granule: not a node. */
u32 ntvm_qtree_get(struct ntvm_ctx *ctx, unsigned long granule)
{
	u32 entry;
	unsigned int level;

	if (WARN_ON_ONCE(granule >= NTVM_QTREE_GRANULES))
		return NTVM_QUERY_MAP_SLOW;
	entry = ntvm_qmap_header(ctx)->root[granule >>
						 ntvm_qtree_shift(0)];
	for (level = 1; ntvm_qtree_is_node(entry); level++)
		entry = ntvm_qtree_node(ctx, entry)
			[(granule >> ntvm_qtree_shift(level)) &
			 (NTVM_QUERY_MAP_FANOUT - 1)];
	return entry;
}
