// SPDX-License-Identifier: GPL-2.0
/*
 * The query map's store: its pages, by offset, and the blocks it is made
 * of (radix nodes, records, runs), 32 bytes << class each.
 *
 * The map's pages are pages of the module's own (alloc_page(), never slab
 * memory), in an xarray by offset >> PAGE_SHIFT, where the fault handler
 * of the mapping finds them.  They are added at the end, up to the
 * window (NTVM_QMAP_WINDOW), and kept until the context goes: a reader
 * that follows a stale offset below the header's @used reads a page that
 * is still there, and its sequence count tells it to read again.
 *
 * A free block is on the free list of its class, linked through its first
 * four bytes.  A block smaller than a page is half of a free block of the
 * class above; a block of a page or more is new pages at the end.  Blocks
 * are not joined again: what the map holds at most is what it keeps.
 *
 * The module finds a page by its offset in @addr, an array it grows as
 * pages are added (the fault handler, which runs without op_lock, in the
 * xarray).  Everything here runs under op_lock.
 */

#include <linux/log2.h>
#include <linux/slab.h>
#include <linux/mm.h>
#include <linux/xarray.h>

#include "ntvm.h"

#define NTVM_QSTORE_MIN_SHIFT	5

/* The class of a block of @size bytes (at least one). */
static unsigned int ntvm_qstore_class(size_t size)
{
	unsigned int order = order_base_2(size);

	return order > NTVM_QSTORE_MIN_SHIFT ? order - NTVM_QSTORE_MIN_SHIFT
					     : 0;
}

static size_t ntvm_qstore_class_size(unsigned int class)
{
	return (size_t)1 << (class + NTVM_QSTORE_MIN_SHIFT);
}

/**
 * ntvm_qstore_ptr - the kernel's address of the map's byte at @off
 * @ctx: the context
 * @off: an offset below the map's end
 *
 * Return: the address; the bytes up to the end of its page follow it.
 */
void *ntvm_qstore_ptr(struct ntvm_ctx *ctx, u32 off)
{
	return ctx->qmap.addr[off >> PAGE_SHIFT] + offset_in_page(off);
}

/* Room in @addr for page @index. */
static int ntvm_qstore_room(struct ntvm_ctx *ctx, unsigned long index)
{
	unsigned long room = max(ctx->qmap.room * 2, 16UL);
	void **addr;

	if (index < ctx->qmap.room)
		return 0;
	while (room <= index)
		room *= 2;
	addr = kvcalloc(room, sizeof(*addr), GFP_KERNEL_ACCOUNT);
	if (!addr)
		return -ENOMEM;
	if (ctx->qmap.addr)
		memcpy(addr, ctx->qmap.addr,
		       ctx->qmap.room * sizeof(*addr));
	kvfree(ctx->qmap.addr);
	ctx->qmap.addr = addr;
	ctx->qmap.room = room;
	return 0;
}

/* Add a page at the map's page @index; one that is there stays. */
static int ntvm_qstore_add_page(struct ntvm_ctx *ctx, unsigned long index)
{
	struct page *page;
	int err;

	if (xa_load(&ctx->qmap.pages, index))
		return 0;
	err = ntvm_qstore_room(ctx, index);
	if (err)
		return err;
	page = alloc_page(GFP_KERNEL_ACCOUNT | __GFP_ZERO);
	if (!page)
		return -ENOMEM;
	err = xa_insert(&ctx->qmap.pages, index, page, GFP_KERNEL_ACCOUNT);
	if (err) {
		__free_page(page);
		return err;
	}
	ctx->qmap.addr[index] = page_address(page);
	return 0;
}

/* The map's first page, the header; the map has that one page. */
int ntvm_qstore_init(struct ntvm_ctx *ctx)
{
	int err;

	xa_init(&ctx->qmap.pages);
	err = ntvm_qstore_add_page(ctx, 0);
	if (err) {
		kvfree(ctx->qmap.addr);
		return err;
	}
	ctx->qmap.header = ctx->qmap.addr[0];
	ctx->qmap.used = PAGE_SIZE;
	return 0;
}

/*
 * The map's references to its pages; those of a mapping's PTEs keep a
 * page until they go.
 */
void ntvm_qstore_destroy(struct ntvm_ctx *ctx)
{
	struct page *page;
	unsigned long index;

	xa_for_each(&ctx->qmap.pages, index, page)
		put_page(page);
	xa_destroy(&ctx->qmap.pages);
	kvfree(ctx->qmap.addr);
	ctx->qmap.addr = NULL;
}

static void ntvm_qstore_push(struct ntvm_ctx *ctx, unsigned int class,
			     u32 off)
{
	*(u32 *)ntvm_qstore_ptr(ctx, off) = ctx->qmap.free[class];
	ctx->qmap.free[class] = off;
}

/* A block of @class, or 0 (no memory, or the window is full). */
static u32 ntvm_qstore_take(struct ntvm_ctx *ctx, unsigned int class)
{
	size_t size = ntvm_qstore_class_size(class);
	unsigned long i, first;
	u32 off = ctx->qmap.free[class];

	if (off) {
		ctx->qmap.free[class] = *(u32 *)ntvm_qstore_ptr(ctx, off);
		return off;
	}
	if (size < PAGE_SIZE) {
		off = ntvm_qstore_take(ctx, class + 1);
		if (off)
			ntvm_qstore_push(ctx, class, off + size);
		return off;
	}
	if (size > NTVM_QMAP_WINDOW - ctx->qmap.used)
		return 0;
	first = ctx->qmap.used >> PAGE_SHIFT;
	for (i = 0; i < size >> PAGE_SHIFT; i++)
		if (ntvm_qstore_add_page(ctx, first + i))
			return 0;
	off = ctx->qmap.used;
	ctx->qmap.used += size;
	/* The pages are in the xarray before a reader may look there. */
	smp_store_release(&ntvm_qmap_header(ctx)->used, ctx->qmap.used);
	return off;
}

/**
 * ntvm_qstore_alloc - a block of at least @size bytes
 * @ctx:  the context
 * @size: bytes, at most the window
 *
 * The block is aligned to its size (up to a page), and holds what its
 * last user left there.
 * Return: its offset, or 0 when there is no memory or no room.
 */
u32 ntvm_qstore_alloc(struct ntvm_ctx *ctx, size_t size)
{
	lockdep_assert_held(&ctx->op_lock);
	if (size > NTVM_QMAP_WINDOW / 2)
		return 0;
	return ntvm_qstore_take(ctx, ntvm_qstore_class(size));
}

/* Free the block at @off, allocated for @size bytes. */
void ntvm_qstore_free(struct ntvm_ctx *ctx, u32 off, size_t size)
{
	lockdep_assert_held(&ctx->op_lock);
	ntvm_qstore_push(ctx, ntvm_qstore_class(size), off);
}

/* Copy @len bytes of the map from @off, which may cross pages. */
void ntvm_qstore_read(struct ntvm_ctx *ctx, u32 off, void *buf, size_t len)
{
	while (len) {
		size_t n = min_t(size_t, len, PAGE_SIZE - offset_in_page(off));

		memcpy(buf, ntvm_qstore_ptr(ctx, off), n);
		buf += n;
		off += n;
		len -= n;
	}
}

/* Copy @len bytes into the map at @off, which may cross pages. */
void ntvm_qstore_write(struct ntvm_ctx *ctx, u32 off, const void *buf,
		       size_t len)
{
	while (len) {
		size_t n = min_t(size_t, len, PAGE_SIZE - offset_in_page(off));

		memcpy(ntvm_qstore_ptr(ctx, off), buf, n);
		buf += n;
		off += n;
		len -= n;
	}
}
