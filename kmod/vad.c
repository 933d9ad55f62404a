// SPDX-License-Identifier: GPL-2.0
/*
 * Allocations (NT's VADs) of a context, by address: the extents of the
 * address-space map (space.c) that are not outside the arenas, all under
 * the context's op_lock.
 *
 * A reservation takes free arena space (arena.c) and makes it an
 * allocation; a release gives a range of one back to the arenas, its
 * pages with it (through change.c).  Neither maps or unmaps a view in the
 * common case.
 *
 * Placeholders (VirtualAlloc2's MEM_RESERVE_PLACEHOLDER) are allocations
 * like any other, reserved with PAGE_NOACCESS and never committed: a
 * replacement makes one an ordinary allocation that remembers it was one
 * (replaced); freeing that back, or splitting a placeholder, is a release
 * whose range is then taken by a new placeholder; coalescing joins the
 * extents of adjacent placeholders.  None of these maps or unmaps a view
 * unless executable pages go back to the data view.
 *
 * Liveness: userspace can munmap the views of whole allocations (that
 * cannot be refused).  An allocation whose range is no longer all in our
 * views is "broken"; it is forgotten (what is left of its views unmapped,
 * never what userspace put there; its pages freed) when a service that
 * changes memory next meets it.  A query only looks (see nt_query.c).
 */

#include <linux/sched/signal.h>
#include <linux/slab.h>

#include "ntvm.h"

static struct ntvm_vad *ntvm_vad_of(struct ntvm_extent *ext)
{
	return container_of(ext, struct ntvm_vad, ext);
}

/* The first allocation at or after extent @ext, or NULL. */
static struct ntvm_vad *ntvm_vad_from(struct ntvm_extent *ext)
{
	while (ext && ext->outside)
		ext = ntvm_space_after(ext);
	return ext ? ntvm_vad_of(ext) : NULL;
}

/* The first allocation that ends after @addr, or NULL. */
struct ntvm_vad *ntvm_vad_next(struct ntvm_ctx *ctx, unsigned long addr)
{
	lockdep_assert_held(&ctx->op_lock);
	return ntvm_vad_from(ntvm_space_next(ctx, addr));
}

/* The allocation containing @addr, or NULL. */
struct ntvm_vad *ntvm_vad_find(struct ntvm_ctx *ctx, unsigned long addr)
{
	struct ntvm_extent *ext;

	lockdep_assert_held(&ctx->op_lock);
	ext = ntvm_space_next(ctx, addr);
	return ext && !ext->outside && ext->start <= addr ?
	       ntvm_vad_of(ext) : NULL;
}

/* The allocation after @vad, or NULL. */
struct ntvm_vad *ntvm_vad_after(struct ntvm_vad *vad)
{
	return ntvm_vad_from(ntvm_space_after(&vad->ext));
}

static struct ntvm_vad *ntvm_vad_alloc(void)
{
	return kzalloc(sizeof(struct ntvm_vad), GFP_KERNEL_ACCOUNT);
}

/* Free an allocation that is not (or no longer) in the map. */
static void ntvm_vad_free(struct ntvm_vad *vad)
{
	kfree(vad);
}

/* Count @vad in, once it is in the map. */
static void ntvm_vad_count(struct ntvm_ctx *ctx, struct ntvm_vad *vad)
{
	atomic_long_inc(&ntvm_nr_vads);
	if (vad->write_watch)
		WRITE_ONCE(ctx->write_watches, ctx->write_watches + 1);
}

static void ntvm_vad_insert(struct ntvm_ctx *ctx, struct ntvm_vad *vad)
{
	ntvm_space_insert(ctx, &vad->ext);
	ntvm_vad_count(ctx, vad);
}

static void ntvm_vad_erase(struct ntvm_ctx *ctx, struct ntvm_vad *vad)
{
	ntvm_space_erase(ctx, &vad->ext);
	atomic_long_dec(&ntvm_nr_vads);
	if (vad->write_watch)
		WRITE_ONCE(ctx->write_watches, ctx->write_watches - 1);
}

/* Is @pl the plain placement, with no bound, alignment or direction? */
static bool ntvm_place_is_plain(const struct ntvm_place *pl)
{
	return pl->lo <= NTVM_MIN_ADDRESS && pl->hi > NTVM_MAX_ADDRESS &&
	       pl->align == NTVM_GRANULARITY && !pl->top_down;
}

/*
 * Room for @pl outside the arenas, made arena space: a new arena where
 * Linux finds room for the plain placement; else the unmapped space that
 * fits @pl best, if it beats @found (the place the arenas offer, or 0).
 * Return: 0, STATUS_CONFLICTING_ADDRESSES (the process mapped there
 * meanwhile) or STATUS_NO_MEMORY; *@none when there is no such room.
 */
static u32 ntvm_vad_make_room(struct ntvm_ctx *ctx,
			      const struct ntvm_place *pl, unsigned long found,
			      bool *none)
{
	unsigned long start, size, need = ALIGN(pl->len, NTVM_GRANULARITY);
	struct ntvm_place better = *pl;
	u32 status;

	*none = false;
	if (ntvm_place_is_plain(pl)) {
		status = ntvm_arena_room(ctx, pl->len, &start, &size);
		if (status)
			return status;
		/* Linux sees a hole: an allocation there is broken. */
		if (ntvm_vad_range_taken(ctx, start, start + size))
			return NTVM_STATUS_NO_MEMORY;
		status = ntvm_arena_grow(ctx, start, size);
		/* Too big for RLIMIT_AS, say: as small as it can be. */
		if (status == NTVM_STATUS_NO_MEMORY && size > need)
			status = ntvm_arena_grow(ctx, start, need);
		return status;
	}
	if (found && pl->top_down)
		better.lo = max(pl->lo, found + NTVM_GRANULARITY);
	else if (found)
		better.hi = min(pl->hi, found);
	start = ntvm_arena_find_hole(ctx, &better);
	if (!start) {
		*none = true;
		return NTVM_STATUS_NO_MEMORY;
	}
	/*
	 * Whole granules: even if the blocks around cannot be mapped, the
	 * arena then ends where the allocation's place does.
	 */
	return ntvm_arena_adopt(ctx, start, start + need);
}

/*
 * Where a new allocation goes (see ntvm_arena_place()), mapping a new
 * arena when none has room.  Placed with bounds, an alignment or top-down,
 * it goes to the lowest (highest) place that fits, whether in the arenas
 * or in unmapped space; plainly, to the arenas first.  A failure to map
 * the better place fails the call rather than give a worse one.
 */
static u32 ntvm_vad_place(struct ntvm_ctx *ctx, const struct ntvm_place *pl,
			  unsigned long *base)
{
	bool grown = false, plain = ntvm_place_is_plain(pl), none;
	int races = 0;
	u32 status;

	for (;;) {
		status = ntvm_arena_place(ctx, pl, base);
		if (status)
			return status;
		if (grown || (*base && plain))
			return *base ? NTVM_STATUS_SUCCESS :
				       NTVM_STATUS_NO_MEMORY;
		status = ntvm_vad_make_room(ctx, pl, *base, &none);
		if (none)
			return *base ? NTVM_STATUS_SUCCESS :
				       NTVM_STATUS_NO_MEMORY;
		/* Raced with another mmap: look again. */
		if (status == NTVM_STATUS_CONFLICTING_ADDRESSES && ++races < 8)
			continue;
		if (status)
			return NTVM_STATUS_NO_MEMORY;
		grown = true;
	}
}

/**
 * ntvm_vad_reserve - a new allocation of @len bytes
 * @ctx:           the context
 * @base:          its base, or 0 to choose one as @pl says
 * @pl:            its size (page aligned), and where it may go if @base
 *                 is 0
 * @alloc_protect: the protection it is reserved with
 * @write_watch:   track writes to its pages (MEM_WRITE_WATCH)
 * @vadp:          out: the allocation, in the map
 *
 * Its range is arena space, mapped by our data views: in the common case
 * it already was, and nothing is mapped.
 *
 * Return: 0, STATUS_CONFLICTING_ADDRESSES (something is mapped at @base)
 * or STATUS_NO_MEMORY (no room, or no memory).
 */
u32 ntvm_vad_reserve(struct ntvm_ctx *ctx, unsigned long base,
		     const struct ntvm_place *pl, u32 alloc_protect,
		     bool write_watch, struct ntvm_vad **vadp)
{
	unsigned long len = pl->len;
	bool anywhere = !base;
	struct ntvm_vad *vad;
	int tries = 0;
	u32 status;

	lockdep_assert_held(&ctx->op_lock);
	if (!anywhere && ntvm_vad_range_taken(ctx, base, base + len))
		return NTVM_STATUS_CONFLICTING_ADDRESSES;
	vad = ntvm_vad_alloc();
	if (!vad)
		return NTVM_STATUS_NO_MEMORY;
	vad->alloc_protect = alloc_protect;
	/*
	 * Its pages are written only once committed, after this; their bits
	 * were cleared when they were last released.
	 */
	vad->write_watch = write_watch;
	for (;;) {
		if (anywhere)
			status = ntvm_vad_place(ctx, pl, &base);
		else
			status = ntvm_arena_adopt(ctx, base, base + len);
		if (status)
			break;
		vad->ext.start = base;
		vad->ext.end = base + len;
		ntvm_vad_insert(ctx, vad);
		/*
		 * Until now the range was free arena space, which another
		 * thread may map over; in the map, only a mapping over the
		 * whole allocation can get in.  Look once more.
		 */
		if (ntvm_view_covers(ctx, base, base + len)) {
			*vadp = vad;
			return NTVM_STATUS_SUCCESS;
		}
		ntvm_vad_erase(ctx, vad);
		status = NTVM_STATUS_CONFLICTING_ADDRESSES;
		if (!anywhere || ++tries == 8)
			break;
		base = 0;
	}
	ntvm_vad_free(vad);
	return status;
}

/**
 * ntvm_vad_unreserve - undo ntvm_vad_reserve() of an allocation never used
 * @ctx: the context
 * @vad: the allocation, with nothing committed
 *
 * Its range goes back to the arenas: only data views may be left there.
 * After a failed commit that could not put its views back (broken) or
 * that moved some to exec views, the views are unmapped instead; if even
 * that fails, the allocation stays, broken, to be forgotten later.
 */
void ntvm_vad_unreserve(struct ntvm_ctx *ctx, struct ntvm_vad *vad)
{
	if ((vad->broken || vad->has_exec) &&
	    ntvm_view_unmap_ours(ctx, ntvm_vad_base(vad), ntvm_vad_end(vad))) {
		vad->broken = true;
		ntvm_qmap_changed(ctx, ntvm_vad_base(vad), ntvm_vad_end(vad));
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
	unsigned long base = ntvm_vad_base(vad), vad_end = ntvm_vad_end(vad);

	if (start == base && end == vad_end) {
		ntvm_vad_erase(ctx, vad);
		ntvm_vad_free(vad);
	} else if (start == base) {
		/* The tail keeps the node: rebasing keeps the map's order. */
		ntvm_space_resize(ctx, &vad->ext, end, vad_end);
	} else if (end == vad_end) {
		ntvm_space_resize(ctx, &vad->ext, base, start);
	} else {
		tail->alloc_protect = vad->alloc_protect;
		tail->broken = vad->broken;
		tail->write_watch = vad->write_watch;
		tail->has_exec = vad->has_exec;
		tail->placeholder = vad->placeholder;
		tail->replaced = vad->replaced;
		ntvm_space_split(ctx, &vad->ext, start, end, &tail->ext);
		ntvm_vad_count(ctx, tail);
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
	if (start > ntvm_vad_base(vad) && end < ntvm_vad_end(vad)) {
		tail = ntvm_vad_alloc();
		if (!tail)
			return NTVM_STATUS_NO_MEMORY;
	}
	status = ntvm_change_release(ctx, vad, start, end);
	if (status) {
		ntvm_vad_free(tail);
		return status;
	}
	ntvm_vad_cut(ctx, vad, start, end, tail);
	return NTVM_STATUS_SUCCESS;
}

/* Turn MEM_WRITE_WATCH on or off for @vad, in the map. */
static void ntvm_vad_set_write_watch(struct ntvm_ctx *ctx,
				     struct ntvm_vad *vad, bool write_watch)
{
	if (vad->write_watch == write_watch)
		return;
	vad->write_watch = write_watch;
	WRITE_ONCE(ctx->write_watches,
		   ctx->write_watches + (write_watch ? 1 : -1));
}

/**
 * ntvm_vad_replace - placeholder @vad becomes an ordinary allocation
 * @ctx:           the context
 * @vad:           a placeholder
 * @alloc_protect: the protection it is now reserved with
 * @write_watch:   track writes to its pages (MEM_WRITE_WATCH)
 *
 * Nothing is committed yet; its pages' written bits were cleared when
 * they were last released.  Cannot fail.
 */
void ntvm_vad_replace(struct ntvm_ctx *ctx, struct ntvm_vad *vad,
		      u32 alloc_protect, bool write_watch)
{
	lockdep_assert_held(&ctx->op_lock);
	vad->placeholder = false;
	vad->replaced = true;
	vad->alloc_protect = alloc_protect;
	ntvm_vad_set_write_watch(ctx, vad, write_watch);
	ntvm_qmap_changed(ctx, ntvm_vad_base(vad), ntvm_vad_end(vad));
}

/* Undo ntvm_vad_replace() of an allocation with nothing committed. */
void ntvm_vad_unreplace(struct ntvm_ctx *ctx, struct ntvm_vad *vad)
{
	lockdep_assert_held(&ctx->op_lock);
	vad->placeholder = true;
	vad->replaced = false;
	vad->alloc_protect = NTVM_PAGE_NOACCESS;
	ntvm_vad_set_write_watch(ctx, vad, false);
	ntvm_qmap_changed(ctx, ntvm_vad_base(vad), ntvm_vad_end(vad));
}

/**
 * ntvm_vad_to_placeholder - [start, end) of @vad becomes a placeholder
 * @ctx:   the context
 * @vad:   a placeholder, or an allocation that replaced one
 * @start: first address
 * @end:   end address
 *
 * MEM_RELEASE|MEM_PRESERVE_PLACEHOLDER: the range is released as by
 * ntvm_vad_release() (its pages, locks, write-watch and reset state go,
 * and the part after it gets an allocation of its own), then taken by a
 * new placeholder; all of @vad is made a placeholder in place.  Splitting
 * a placeholder this way gives two or three.
 *
 * Return: 0 or STATUS_NO_MEMORY (nothing changed).
 */
u32 ntvm_vad_to_placeholder(struct ntvm_ctx *ctx, struct ntvm_vad *vad,
			    unsigned long start, unsigned long end)
{
	unsigned long base = ntvm_vad_base(vad), vad_end = ntvm_vad_end(vad);
	struct ntvm_vad *piece = NULL, *tail = NULL;
	bool whole = start == base && end == vad_end;
	u32 status;

	lockdep_assert_held(&ctx->op_lock);
	/* All that can fail comes before the views change. */
	if (!whole) {
		piece = ntvm_vad_alloc();
		if (!piece)
			return NTVM_STATUS_NO_MEMORY;
	}
	if (start > base && end < vad_end) {
		tail = ntvm_vad_alloc();
		if (!tail) {
			ntvm_vad_free(piece);
			return NTVM_STATUS_NO_MEMORY;
		}
	}
	status = ntvm_change_release(ctx, vad, start, end);
	if (status) {
		ntvm_vad_free(tail);
		ntvm_vad_free(piece);
		return status;
	}
	if (whole) {
		/* Its exec runs are back in the data view, uncommitted. */
		vad->has_exec = false;
		ntvm_vad_unreplace(ctx, vad);
		return NTVM_STATUS_SUCCESS;
	}
	ntvm_vad_cut(ctx, vad, start, end, tail);
	piece->ext.start = start;
	piece->ext.end = end;
	/* Asked about as the whole was (query_map_sync.c). */
	piece->ext.qeager = vad->ext.qeager;
	piece->alloc_protect = NTVM_PAGE_NOACCESS;
	piece->placeholder = true;
	ntvm_vad_insert(ctx, piece);
	return NTVM_STATUS_SUCCESS;
}

/**
 * ntvm_vad_coalesce - join the placeholders of [base of @vad, end)
 * @ctx: the context
 * @vad: the first placeholder
 * @end: the end of the last
 *
 * MEM_RELEASE|MEM_COALESCE_PLACEHOLDERS: the range must be exactly two or
 * more adjacent intact placeholders, the first one @vad; it becomes one,
 * @vad.
 *
 * Return: 0 or STATUS_CONFLICTING_ADDRESSES (nothing changed).
 */
u32 ntvm_vad_coalesce(struct ntvm_ctx *ctx, struct ntvm_vad *vad,
		      unsigned long end)
{
	unsigned long at = ntvm_vad_base(vad);
	struct ntvm_vad *next = vad;
	unsigned int pieces = 0;

	lockdep_assert_held(&ctx->op_lock);
	while (next && at < end && ntvm_vad_base(next) == at &&
	       next->placeholder && ntvm_vad_intact(ctx, next)) {
		at = ntvm_vad_end(next);
		pieces++;
		next = ntvm_vad_after(next);
		cond_resched();
	}
	if (pieces < 2 || at != end)
		return NTVM_STATUS_CONFLICTING_ADDRESSES;
	while ((next = ntvm_vad_after(vad)) && ntvm_vad_base(next) < end) {
		ntvm_vad_erase(ctx, next);
		ntvm_vad_free(next);
		cond_resched();
	}
	ntvm_space_resize(ctx, &vad->ext, ntvm_vad_base(vad), end);
	return NTVM_STATUS_SUCCESS;
}

static void ntvm_vad_destroy(struct ntvm_extent *ext)
{
	ntvm_vad_free(ntvm_vad_of(ext));
	atomic_long_dec(&ntvm_nr_vads);
}

/* When the context goes: no view is left. */
void ntvm_vad_destroy_all(struct ntvm_ctx *ctx)
{
	ntvm_space_destroy(ctx, ntvm_vad_destroy);
}

/* Are all pages of @vad still in our views? */
bool ntvm_vad_intact(struct ntvm_ctx *ctx, struct ntvm_vad *vad)
{
	return !vad->broken &&
	       ntvm_view_covers(ctx, ntvm_vad_base(vad), ntvm_vad_end(vad));
}

/*
 * Does a query describe @vad from its state?  When it is intact, and also
 * when the process sealed its views (mseal(2)), which ntvm can no longer
 * change: the next service that changes it finds it broken (and a query
 * then describes what is there as the process's own memory).
 */
bool ntvm_vad_described(struct ntvm_ctx *ctx, struct ntvm_vad *vad)
{
	return !vad->broken &&
	       ntvm_view_holds(ctx, ntvm_vad_base(vad), ntvm_vad_end(vad));
}

/*
 * Forget a broken allocation: unmap what is left of our views in it (its
 * range may hold exec views, or views of the wrong kind after a failed
 * move) and free its pages.  When a view cannot be unmapped (no memory),
 * nothing is forgotten: the allocation stays, broken, for the next try.
 */
static bool ntvm_vad_forget(struct ntvm_ctx *ctx, struct ntvm_vad *vad)
{
	vad->broken = true;
	ntvm_qmap_changed(ctx, ntvm_vad_base(vad), ntvm_vad_end(vad));
	if (ntvm_view_unmap_ours(ctx, ntvm_vad_base(vad), ntvm_vad_end(vad)))
		return false;
	/* ntvmstat's event (event.c) */
	ntvm_event_forgotten(ctx, ntvm_vad_base(vad), ntvm_vad_end(vad));
	ntvm_change_drop_pages(ctx, ntvm_vad_base(vad), ntvm_vad_end(vad));
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

	while ((vad = ntvm_vad_next(ctx, start)) && ntvm_vad_base(vad) < end) {
		if (ntvm_vad_intact(ctx, vad) || !ntvm_vad_forget(ctx, vad))
			return true;
		/* A process that unmapped a million allocations at once. */
		if (fatal_signal_pending(current))
			return true;
		cond_resched();
	}
	return false;
}
