// SPDX-License-Identifier: GPL-2.0
/*
 * MEM_RESET and MEM_RESET_UNDO.
 *
 * MEM_RESET says the contents of committed pages are no longer of
 * interest: they must not be written to swap, and may be discarded, but
 * only when memory is needed.  MEM_RESET_UNDO says they are of interest
 * again, and tells whether every byte is still there.
 *
 * Not written to swap: a reset page that is in the backing's page cache
 * gets one more folio reference, kept in ctx->reset_folios.  Reclaim
 * writes a dirty shmem folio to swap only when nothing but the page cache
 * and reclaim itself hold it (pageout(): is_page_cache_freeable(), the
 * same in 6.1 and 6.12); with our reference it keeps the folio in memory
 * (PAGE_KEEP) instead.  A clean one is not freed either: its reference
 * count does not freeze.  A page not in the page cache (never touched,
 * or already out in swap) is left alone: there is nothing in memory to
 * write out, and a page already in swap stays there, intact.
 *
 * Discarded when memory is needed, globally or in the memory cgroup of
 * the process (see the shrinker below): a shrinker counts the held pages
 * and, when reclaim asks it to scan, discards them one folio at a time,
 * without the context's op_lock (an ntvm call holding it may itself be in
 * reclaim): with the folio locked (trylock: reclaim may run in a fault
 * holding a folio lock), and the entry still that folio, it marks the page
 * "lost" and erases the entry, both under the xarray's lock, then removes
 * that folio, and only it, from the page cache, unmapped first
 * (truncate_inode_folio(), through the exported error-removal helper).  A
 * discarded page reads zero.  A new folio at the same index (decommit,
 * commit, write) is never touched: the removal checks the folio is still
 * in the backing, and the folio lock keeps it there.
 *
 * Of interest again after a write: the reset write-protects the page's
 * PTEs with its folio locked (as a write-watch reset does), so the first
 * write faults into page_mkwrite, which takes the folio lock and drops the
 * reference (ntvm_reset_page_written()): the page is an ordinary page
 * again, and is never discarded with what was written.  A fault that
 * finds the folio being discarded sees it gone from the backing once it
 * has the folio lock, and looks again.
 *
 * The "lost" marks: set only by the shrinker, with the entry erased in the
 * same xarray-locked step, so whoever erases the entries of a range first
 * (undo, decommit, release) then reads or clears the marks safely.  The
 * reset in progress clears them for its range before its entries become
 * the shrinker's (it skips those still marked fresh): a discard during the
 * reset counts as before it.
 *
 * Whoever erases a folio from ctx->reset_folios (under the xarray's lock)
 * owns its reference and puts it; a reader that needs the folio takes its
 * own reference under the same lock.  An entry whose folio was truncated
 * behind us (MADV_REMOVE on a view) is stale: the folio's mapping tells.
 *
 * Locked pages (lock.c) are never reset pages: a reset leaves them out
 * (change.c), and a lock drops the reset of its pages first, keeping
 * their "lost" marks for a later undo (ntvm_reset_forget()).
 */

#include <linux/list_lru.h>
#include <linux/pagemap.h>
#include <linux/rmap.h>
#include <linux/wait_bit.h>

#include "compat.h"
#include "ntvm.h"

static int ntvm_reset_item_get(struct ntvm_ctx *ctx);

/* Held by the reset in progress: undone if the reset fails. */
#define NTVM_RESET_FRESH	XA_MARK_1

/*
 * The shrinker.  One for the module, aware of memory cgroups (and NUMA
 * nodes): a context that holds reset pages has an item on a list_lru,
 * allocated (and so charged) in the memory cgroup of the process at its
 * first reset, the one its pages are charged to.  Reclaim for a cgroup at
 * its memory.max, as global reclaim and drop_caches, then finds the
 * contexts of that cgroup (shrink_slab() calls a cgroup's memcg-aware
 * shrinkers only, for each node).
 *
 * An item is on the list while its context may hold pages: put there by
 * a reset that holds some (ntvm_reset_finish()), taken off by a walk that
 * finds it holding none (both under the list's lock, the count read
 * there, so a page held is never missed), and when the context goes.  A
 * scan takes one context, the first on the list, and moves it to the
 * tail: each scan goes to the next context.  It holds the item busy while
 * it uses the context, and the context waits for that before it goes.
 */
struct ntvm_reset_item {
	struct list_head lru;
	struct ntvm_ctx *ctx;
	atomic_t busy;
};

static struct kmem_cache *ntvm_reset_items;
static struct list_lru ntvm_reset_lru;
static struct shrinker *ntvm_reset_shrinker;
/* The list_lru is set up (6.1 registers the shrinker before it). */
static bool ntvm_reset_ready;

/* The address of the backing's folio at file index @index. */
static unsigned long ntvm_reset_folio_addr(pgoff_t index)
{
	return ((unsigned long)index << PAGE_SHIFT) - PAGE_SIZE;
}

/* Drop the reference held for page @index, if any.  op_lock or folio. */
static void ntvm_reset_put(struct ntvm_ctx *ctx, unsigned long index)
{
	struct folio *held = xa_erase(&ctx->reset_folios, index);

	if (held) {
		atomic_long_dec(&ctx->reset_held);
		folio_put(held);
	}
}

/*
 * Reset the page of @folio, if it is committed and not reset already: its
 * PTEs read-only, a reference held.  Return: 0 or -ENOMEM.
 */
static int ntvm_reset_folio(struct ntvm_ctx *ctx, struct folio *folio)
{
	unsigned long addr = ntvm_reset_folio_addr(folio->index);
	unsigned long index = addr >> PAGE_SHIFT;
	void *old;
	int err = 0;

	/*
	 * Reserved pages stay reserved; a reset page stays held.  An entry
	 * for another folio is stale (truncated behind us: MADV_REMOVE):
	 * replaced below.
	 */
	if (!ntvm_page_state(ctx, addr) ||
	    xa_load(&ctx->reset_folios, index) == folio ||
	    folio_test_large(folio))
		return 0;
	folio_lock(folio);
	if (folio->mapping != ctx->backing->f_mapping)
		goto out;	/* truncated since */
	/* The PTEs' dirty bits go to the folio: its data stays. */
	if (folio_mkclean(folio))
		folio_mark_dirty(folio);
	/*
	 * Checked after the PTEs (GUP pins under the PTL): a page pinned
	 * for writing can be written behind them, so it stays of interest.
	 */
	if (folio_maybe_dma_pinned(folio))
		goto out;
	folio_get(folio);
	/* Stored and marked in one step: the shrinker skips fresh ones. */
	xa_lock(&ctx->reset_folios);
	old = __xa_store(&ctx->reset_folios, index, folio, GFP_KERNEL_ACCOUNT);
	if (!xa_is_err(old))
		__xa_set_mark(&ctx->reset_folios, index, NTVM_RESET_FRESH);
	xa_unlock(&ctx->reset_folios);
	if (xa_is_err(old)) {
		folio_put(folio);
		err = xa_err(old);
		goto out;
	}
	if (old)
		folio_put(old);		/* the stale one's reference */
	else
		atomic_long_inc(&ctx->reset_held);
out:
	folio_unlock(folio);
	return err;
}

/*
 * After a reset of [start, end): forget which pages it took (@keep), or
 * drop them again (a failed reset).
 */
static void ntvm_reset_settle(struct ntvm_ctx *ctx, unsigned long start,
			      unsigned long end, bool keep)
{
	unsigned long index = start >> PAGE_SHIFT;
	unsigned long last = (end >> PAGE_SHIFT) - 1;
	struct folio *folio;

	for (;; index++) {
		xa_lock(&ctx->reset_folios);
		folio = xa_find(&ctx->reset_folios, &index, last,
				NTVM_RESET_FRESH);
		if (folio) {
			if (keep)
				__xa_clear_mark(&ctx->reset_folios, index,
						NTVM_RESET_FRESH);
			else
				__xa_erase(&ctx->reset_folios, index);
		}
		xa_unlock(&ctx->reset_folios);
		if (!folio)
			break;
		if (!keep) {
			atomic_long_dec(&ctx->reset_held);
			folio_put(folio);
		}
		if (!(index % 4096))
			cond_resched();
	}
}

/**
 * ntvm_reset_hold - MEM_RESET of [start, end), the first step
 * @ctx:   the context
 * @start: first address
 * @end:   end address, in the same allocation
 *
 * Every committed page of the range that is in the page cache is held,
 * its PTEs read-only; the others are left as they are.  The new entries
 * are not the shrinker's until ntvm_reset_finish(), and are dropped again
 * by ntvm_reset_cancel().  A reset may hold several runs of an allocation
 * (around locked pages) before it finishes or cancels.
 *
 * Return: 0 or STATUS_NO_MEMORY (nothing changed in [start, end)).
 */
u32 ntvm_reset_hold(struct ntvm_ctx *ctx, unsigned long start,
		    unsigned long end)
{
	struct address_space *mapping = ctx->backing->f_mapping;
	pgoff_t index = ntvm_file_pos(start) >> PAGE_SHIFT;
	pgoff_t last = (ntvm_file_pos(end) >> PAGE_SHIFT) - 1;
	struct folio_batch fbatch;
	unsigned int i;
	int err = 0;

	lockdep_assert_held(&ctx->op_lock);
	if (ntvm_reset_item_get(ctx))
		return NTVM_STATUS_NO_MEMORY;
	folio_batch_init(&fbatch);
	while (!err && filemap_get_folios(mapping, &index, last, &fbatch)) {
		for (i = 0; i < folio_batch_count(&fbatch) && !err; i++)
			err = ntvm_reset_folio(ctx, fbatch.folios[i]);
		folio_batch_release(&fbatch);
		cond_resched();
	}
	if (err) {
		ntvm_reset_settle(ctx, start, end, false);
		return NTVM_STATUS_NO_MEMORY;
	}
	return NTVM_STATUS_SUCCESS;
}

/**
 * ntvm_reset_finish - MEM_RESET of [start, end), the last step
 * @ctx:   the context
 * @start: first address
 * @end:   end address, covering every run held
 *
 * A new reset starts afresh: what an earlier one lost is of no interest
 * to it.  The marks go before the new entries are the shrinker's.
 */
void ntvm_reset_finish(struct ntvm_ctx *ctx, unsigned long start,
		       unsigned long end)
{
	lockdep_assert_held(&ctx->op_lock);
	ntvm_pages_unmark(ctx, start, end, NTVM_MARK_LOST);
	ntvm_reset_settle(ctx, start, end, true);
	/*
	 * The shrinker's now (again, if a walk took it off while it held
	 * none: the count is read under the list's lock, and was raised
	 * before this takes it).
	 */
	if (atomic_long_read(&ctx->reset_held) > 0)
		ntvm_list_lru_add_obj(&ntvm_reset_lru, &ctx->reset_item->lru);
}

/**
 * ntvm_reset_cancel - a MEM_RESET of [start, end) failed
 * @ctx:   the context
 * @start: first address
 * @end:   end address
 *
 * The entries held by it are dropped; earlier resets' stay.
 */
void ntvm_reset_cancel(struct ntvm_ctx *ctx, unsigned long start,
		       unsigned long end)
{
	lockdep_assert_held(&ctx->op_lock);
	if (start < end)
		ntvm_reset_settle(ctx, start, end, false);
}

/**
 * ntvm_reset_forget - the pages of [start, end) are reset pages no more
 * @ctx:   the context
 * @start: first address
 * @end:   end address
 *
 * Their references are dropped: the shrinker's no more.  The "lost" marks
 * stay, for a later MEM_RESET_UNDO (a lock does this to its pages).  A
 * discard in progress still holds its folio's lock.
 */
void ntvm_reset_forget(struct ntvm_ctx *ctx, unsigned long start,
		       unsigned long end)
{
	unsigned long index;
	struct folio *folio;

	lockdep_assert_held(&ctx->op_lock);
	xa_for_each_range(&ctx->reset_folios, index, folio, start >> PAGE_SHIFT,
			  (end >> PAGE_SHIFT) - 1) {
		ntvm_reset_put(ctx, index);
		if (!(index % 4096))
			cond_resched();
	}
}

/**
 * ntvm_reset_drop - the pages of [start, end) are of interest again
 * @ctx:   the context
 * @start: first address
 * @end:   end address
 *
 * For MEM_RESET_UNDO, a decommit and a release: references dropped, the
 * "lost" marks cleared.
 */
void ntvm_reset_drop(struct ntvm_ctx *ctx, unsigned long start,
		     unsigned long end)
{
	ntvm_reset_forget(ctx, start, end);
	ntvm_pages_unmark(ctx, start, end, NTVM_MARK_LOST);
}

/**
 * ntvm_reset_undo - MEM_RESET_UNDO of [start, end)
 * @ctx:   the context
 * @start: first address
 * @end:   end address, in the same allocation
 *
 * Every page of the range is an ordinary page afterwards, whatever the
 * answer.
 *
 * Return: true when no page of the range was discarded since its reset.
 */
bool ntvm_reset_undo(struct ntvm_ctx *ctx, unsigned long start,
		     unsigned long end)
{
	bool lost;

	/* The entries first: no mark is set in the range after that. */
	ntvm_reset_forget(ctx, start, end);
	lost = ntvm_pages_any_marked(ctx, start, end, NTVM_MARK_LOST);
	ntvm_pages_unmark(ctx, start, end, NTVM_MARK_LOST);
	return !lost;
}

/**
 * ntvm_reset_page_written - the first write to page @addr since a reset
 * @ctx:  the context
 * @addr: the page
 *
 * From page_mkwrite, with the page's folio locked.
 */
void ntvm_reset_page_written(struct ntvm_ctx *ctx, unsigned long addr)
{
	if (ntvm_reset_used(ctx) && xa_load(&ctx->reset_folios, addr >> PAGE_SHIFT))
		ntvm_reset_put(ctx, addr >> PAGE_SHIFT);
}

/*
 * Discard the reset page @index, whose folio the caller holds a reference
 * to, unless it is busy.  No op_lock.  Return: 1 if discarded, else 0.
 */
static unsigned long ntvm_reset_discard(struct ntvm_ctx *ctx,
					unsigned long index,
					struct folio *folio)
{
	struct address_space *mapping = ctx->backing->f_mapping;
	struct xarray *xa = &ctx->reset_folios;
	bool stale, gone = false;

	if (!folio_trylock(folio))
		return 0;
	/* Truncated behind us (MADV_REMOVE): only the entry is left. */
	stale = folio->mapping != mapping;
	if (!stale && folio_maybe_dma_pinned(folio)) {
		folio_unlock(folio);
		return 0;
	}
	xa_lock(xa);
	/*
	 * Still held (page_mkwrite drops it with the folio locked; undo,
	 * decommit and release erase it), and not by a reset in progress?
	 */
	if (xa_load(xa, index) == folio &&
	    !xa_get_mark(xa, index, NTVM_RESET_FRESH)) {
		if (!stale)
			ntvm_page_mark(ctx, index << PAGE_SHIFT,
				       NTVM_MARK_LOST, true);
		__xa_erase(xa, index);
		gone = true;
	}
	xa_unlock(xa);
	if (gone && !stale)
		ntvm_remove_folio(mapping, folio);
	folio_unlock(folio);
	if (!gone)
		return 0;
	atomic_long_dec(&ctx->reset_held);
	folio_put(folio);	/* the entry's reference */
	return !stale;
}

/*
 * Discard up to @nr reset pages of @ctx, going on where its last scan
 * stopped (scans may run at once: the cursor is a hint).  Adds the pages
 * looked at to *@scanned.  Return: the pages discarded.
 */
static unsigned long ntvm_reset_scan_ctx(struct ntvm_ctx *ctx,
					 unsigned long nr,
					 unsigned long *scanned)
{
	unsigned long index, start, limit = ULONG_MAX, seen = 0, freed = 0;
	struct folio *folio;

	start = READ_ONCE(ctx->reset_cursor);
	index = start;
	while (seen < nr) {
		xa_lock(&ctx->reset_folios);
		folio = xa_find(&ctx->reset_folios, &index, limit, XA_PRESENT);
		if (folio)
			folio_get(folio);
		xa_unlock(&ctx->reset_folios);
		if (!folio) {
			/* Once round: from the start up to where it began. */
			if (limit != ULONG_MAX || !start)
				break;
			limit = start - 1;
			index = 0;
			continue;
		}
		seen++;
		freed += ntvm_reset_discard(ctx, index, folio);
		folio_put(folio);
		index++;
	}
	/* Went through all of them: from the start next time. */
	WRITE_ONCE(ctx->reset_cursor, seen < nr ? 0 : index);
	*scanned += seen;
	return freed;
}

struct ntvm_reset_walk {
	unsigned long held;
	struct ntvm_reset_item *item;
};

/*
 * Under the list's lock: the context is there.  Return: its held pages,
 * or 0 with the item taken off the list.
 */
static long ntvm_reset_held_or_isolate(struct ntvm_reset_item *item,
				       struct list_lru_one *list)
{
	long held = atomic_long_read(&item->ctx->reset_held);

	if (held <= 0) {
		list_lru_isolate(list, &item->lru);
		return 0;
	}
	return held;
}

static enum lru_status ntvm_reset_count_item(struct list_head *entry,
					     struct list_lru_one *list,
					     void *arg)
{
	struct ntvm_reset_item *item = list_entry(entry, typeof(*item), lru);
	struct ntvm_reset_walk *walk = arg;
	long held = ntvm_reset_held_or_isolate(item, list);

	walk->held += held;
	return held ? LRU_SKIP : LRU_REMOVED;
}

static unsigned long ntvm_reset_count(struct shrinker *shrinker,
				      struct shrink_control *sc)
{
	struct ntvm_reset_walk walk = { 0 };
	unsigned long nr = ULONG_MAX;

	/* Pairs with the release in ntvm_reset_module_init(). */
	if (!smp_load_acquire(&ntvm_reset_ready))
		return 0;
	if (!list_lru_shrink_count(&ntvm_reset_lru, sc))
		return SHRINK_EMPTY;
	ntvm_list_lru_walk_one(&ntvm_reset_lru, sc->nid, sc->memcg,
			       ntvm_reset_count_item, &walk, &nr);
	/*
	 * Not SHRINK_EMPTY with items left on the list: that would clear
	 * the cgroup's bit for this shrinker until an item is added.
	 */
	return walk.held;
}

/* Under the list's lock: the first context with pages held. */
static enum lru_status ntvm_reset_take_item(struct list_head *entry,
					    struct list_lru_one *list,
					    void *arg)
{
	struct ntvm_reset_item *item = list_entry(entry, typeof(*item), lru);
	struct ntvm_reset_walk *walk = arg;

	if (!ntvm_reset_held_or_isolate(item, list))
		return LRU_REMOVED;
	if (walk->item)
		return LRU_SKIP;	/* taken one already (or it again) */
	atomic_inc(&item->busy);
	walk->item = item;
	/* To the tail: the next scan starts with the next context. */
	return LRU_ROTATE;
}

/*
 * Memory is needed, in sc->memcg on node sc->nid: discard up to
 * sc->nr_to_scan reset pages of its next context.
 */
static unsigned long ntvm_reset_scan(struct shrinker *shrinker,
				     struct shrink_control *sc)
{
	struct ntvm_reset_walk walk = { 0 };
	unsigned long nr = ULONG_MAX, scanned = 0, freed;

	/* Pairs with the release in ntvm_reset_module_init(). */
	if (!smp_load_acquire(&ntvm_reset_ready))
		return SHRINK_STOP;
	ntvm_list_lru_walk_one(&ntvm_reset_lru, sc->nid, sc->memcg,
			       ntvm_reset_take_item, &walk, &nr);
	if (!walk.item)
		return SHRINK_STOP;
	freed = ntvm_reset_scan_ctx(walk.item->ctx, sc->nr_to_scan, &scanned);
	if (atomic_dec_and_test(&walk.item->busy))
		wake_up_var(&walk.item->busy);
	/*
	 * None left (sc->nr_scanned stays nr_to_scan: a smaller figure
	 * would have the caller ask again for what it did not get).
	 */
	return scanned ? freed : SHRINK_STOP;
}

/* Module load: the shrinker, its list_lru and the items' cache. */
int ntvm_reset_module_init(void)
{
	ntvm_reset_items = KMEM_CACHE(ntvm_reset_item, SLAB_ACCOUNT);
	if (!ntvm_reset_items)
		return -ENOMEM;
	ntvm_reset_shrinker = ntvm_shrinker_create("ntvm-reset",
						   &ntvm_reset_lru,
						   ntvm_reset_count,
						   ntvm_reset_scan);
	if (!ntvm_reset_shrinker) {
		kmem_cache_destroy(ntvm_reset_items);
		return -ENOMEM;
	}
	/* The list_lru set up before the callbacks use it. */
	smp_store_release(&ntvm_reset_ready, true);
	return 0;
}

/* Module unload: no context is left. */
void ntvm_reset_module_exit(void)
{
	ntvm_shrinker_destroy(ntvm_reset_shrinker, &ntvm_reset_lru);
	kmem_cache_destroy(ntvm_reset_items);
}

/* A context's reset bookkeeping.  Return: 0. */
int ntvm_reset_init(struct ntvm_ctx *ctx)
{
	xa_init(&ctx->reset_folios);
	atomic_long_set(&ctx->reset_held, 0);
	ctx->reset_item = NULL;
	return 0;
}

/*
 * The context's item on the shrinker's list, made by its first reset in
 * its process's memory cgroup (main.c makes the owner's cgroup the active
 * one for a call from another process).  op_lock held.
 */
static int ntvm_reset_item_get(struct ntvm_ctx *ctx)
{
	struct ntvm_reset_item *item;

	lockdep_assert_held(&ctx->op_lock);
	if (ctx->reset_item)
		return 0;
	item = kmem_cache_alloc_lru(ntvm_reset_items, &ntvm_reset_lru,
				    GFP_KERNEL_ACCOUNT);
	if (!item)
		return -ENOMEM;
	INIT_LIST_HEAD(&item->lru);
	item->ctx = ctx;
	atomic_set(&item->busy, 0);
	/* On the list once it holds pages: ntvm_reset_finish(). */
	WRITE_ONCE(ctx->reset_item, item);
	return 0;
}

/**
 * ntvm_reset_used - whether the context ever held a reset page
 * @ctx: the context
 *
 * Until then, a first write need not look for a reset page.  A page held
 * is write-protected under its folio lock after the item was published,
 * and page_mkwrite takes that lock.
 */
bool ntvm_reset_used(struct ntvm_ctx *ctx)
{
	return READ_ONCE(ctx->reset_item);
}

/* The context goes: no view and no fd is left, no call in progress. */
void ntvm_reset_destroy(struct ntvm_ctx *ctx)
{
	struct ntvm_reset_item *item = ctx->reset_item;
	unsigned long index, n = 0;
	struct folio *folio;

	if (item) {
		/* No scan takes it after this; wait for those that did. */
		ntvm_list_lru_del_obj(&ntvm_reset_lru, &item->lru);
		wait_var_event(&item->busy, !atomic_read(&item->busy));
		kmem_cache_free(ntvm_reset_items, item);
	}
	xa_for_each(&ctx->reset_folios, index, folio) {
		folio_put(folio);
		if (!(++n % 4096))
			cond_resched();
	}
	xa_destroy(&ctx->reset_folios);
}
