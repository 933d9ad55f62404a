// SPDX-License-Identifier: GPL-2.0
/*
 * The query map brought up to date at the end of each service, from the
 * context's own state: its allocations (vad.c) and their page states
 * (pagestate.c), as NTVM_IOC_QUERY reads them (nt_query.c).
 *
 * The layers below note which address ranges changed (query_map.c); here,
 * for each such range, every allocation in it that the process asks about
 * gets its record (base, end, AllocationProtect, and its runs of page
 * states, rebuilt from the page states over the range), and every granule
 * of the range its entry in the radix tree: the record of the one
 * allocation there, none, or "ask the ioctl" when two allocations share
 * the granule.  An allocation that is not intact (a view change failed
 * half-way, or the process unmapped its views) is described by the ioctl,
 * as free memory: its record says so.
 *
 * An allocation the process asks about: the ioctl answered a query inside
 * it (ntvm_qmap_asked()) less than NTVM_QMAP_EAGER changes ago (counted
 * by range brought up to date in a service that changed state, so a
 * request that changes it in two places may count twice).  Any other's
 * record, if it has one, says "ask the ioctl" from its next change on,
 * and one with none has entries 0 in the tree (no record: ask the ioctl
 * too), which an allocation made and released without a query leaves as
 * they were.  A request that changes memory no query looks at pays for no
 * runs; a page-state change there (ntvm_qmap_states_changed()), or such
 * an allocation made or released in granules of its own
 * (ntvm_qmap_inserted(), ntvm_qmap_erased()), not even for this sync.
 * The reader asks the ioctl once, and the map answers again.
 *
 * Nothing here can fail the service: where there is no memory for a
 * record, its runs or a node of the tree, the map says "ask the ioctl"
 * there instead, which is never wrong, only slower.
 *
 * Runs under op_lock, with the map's section open (the sequence count
 * odd) from the first change of the service to its end.
 */

#include <linux/mm.h>
#include <linux/slab.h>

#include "ntvm.h"

#define NTVM_QSYNC_RUNS_INLINE	16
#define NTVM_QSYNC_OLD_INLINE	8

/* A list of runs being built, merging a run into an equal one before it. */
struct ntvm_qruns {
	struct ntvm_query_map_run *run;
	unsigned int nr;
	unsigned int room;
	bool failed;			/* no memory to hold them all */
	bool too_many;			/* ...nor room in the map */
	struct ntvm_query_map_run inline_run[NTVM_QSYNC_RUNS_INLINE];
};

static void ntvm_qruns_init(struct ntvm_qruns *rl)
{
	rl->run = rl->inline_run;
	rl->nr = 0;
	rl->room = NTVM_QSYNC_RUNS_INLINE;
	rl->failed = false;
	rl->too_many = false;
}

static void ntvm_qruns_free(struct ntvm_qruns *rl)
{
	if (rl->run != rl->inline_run)
		kvfree(rl->run);
}

static size_t ntvm_qruns_bytes(u32 nr)
{
	return (size_t)nr * sizeof(struct ntvm_query_map_run);
}

static void ntvm_qruns_add(struct ntvm_qruns *rl, u64 start, u32 state,
			   u32 protect)
{
	struct ntvm_query_map_run *run;

	if (rl->failed)
		return;
	if (rl->nr && rl->run[rl->nr - 1].state == state &&
	    rl->run[rl->nr - 1].protect == protect)
		return;
	if (rl->nr == rl->room) {
		/* More than the map could hold: fail before trying. */
		if (ntvm_qruns_bytes(rl->room * 2) > NTVM_QMAP_WINDOW / 2) {
			rl->failed = true;
			rl->too_many = true;
			return;
		}
		run = kvmalloc_array(rl->room * 2, sizeof(*run),
				     GFP_KERNEL_ACCOUNT);
		if (!run) {
			rl->failed = true;
			return;
		}
		memcpy(run, rl->run, rl->nr * sizeof(*run));
		ntvm_qruns_free(rl);
		rl->run = run;
		rl->room *= 2;
	}
	rl->run[rl->nr++] = (struct ntvm_query_map_run){
		.start = start, .state = state, .protect = protect,
	};
}

/* The runs of [start, end) of @vad, from its page states. */
static void ntvm_qruns_add_pages(struct ntvm_ctx *ctx, struct ntvm_vad *vad,
				 unsigned long start, unsigned long end,
				 struct ntvm_qruns *rl)
{
	unsigned long addr, run_end;
	u8 st;

	for (addr = start; addr < end && !rl->failed; addr = run_end) {
		run_end = ntvm_pages_run(ctx, addr, end, &st);
		ntvm_qruns_add(rl, addr,
			       st ? NTVM_MEM_COMMIT : NTVM_MEM_RESERVE,
			       st ? ntvm_prot_to_win(st, vad->alloc_protect) : 0);
	}
}

/* Free the runs block of @rec, if it has one. */
static void ntvm_qsync_free_runs(struct ntvm_ctx *ctx,
				 struct ntvm_query_map_record *rec)
{
	if (rec->runs)
		ntvm_qstore_free(ctx, rec->runs,
				 ntvm_qruns_bytes(rec->nr_runs));
}

/*
 * Give @rec the runs of @rl: one is kept in the record itself, more in a
 * block of their own.  Return: false when there was no memory for them.
 */
static bool ntvm_qsync_put_runs(struct ntvm_ctx *ctx,
				struct ntvm_query_map_record *rec,
				struct ntvm_qruns *rl)
{
	u32 off = 0;

	if (rl->nr > 1) {
		off = ntvm_qstore_alloc(ctx, ntvm_qruns_bytes(rl->nr));
		if (!off)
			return false;
		ntvm_qstore_write(ctx, off, rl->run, ntvm_qruns_bytes(rl->nr));
	}
	ntvm_qsync_free_runs(ctx, rec);
	if (rl->nr == 1) {
		WRITE_ONCE(rec->state, rl->run[0].state);
		WRITE_ONCE(rec->protect, rl->run[0].protect);
	}
	WRITE_ONCE(rec->runs, off);
	WRITE_ONCE(rec->nr_runs, rl->nr);
	return true;
}

/*
 * The runs of @rec (the record of @vad) made again over [start, end); in
 * full when @full (the record is new, moved, or had none).  Return: false
 * when there was no memory for them; @vad->ext.qbig set when the map
 * could not hold them.
 */
static bool ntvm_qsync_runs(struct ntvm_ctx *ctx, struct ntvm_vad *vad,
			    struct ntvm_query_map_record *rec, bool full,
			    unsigned long start, unsigned long end)
{
	unsigned long base = ntvm_vad_base(vad), vad_end = ntvm_vad_end(vad);
	struct ntvm_query_map_run *old = NULL, few[NTVM_QSYNC_OLD_INLINE];
	struct ntvm_qruns rl;
	u32 i, nr = rec->nr_runs;
	bool ok;

	start = full ? base : max(start & PAGE_MASK, base);
	end = full ? vad_end : min(PAGE_ALIGN(end), vad_end);
	if (!full && nr) {
		old = few;
		if (nr > ARRAY_SIZE(few))
			old = kvmalloc_array(nr, sizeof(*old),
					     GFP_KERNEL_ACCOUNT);
		if (!old)
			return false;
		if (rec->runs)
			ntvm_qstore_read(ctx, rec->runs, old,
					 ntvm_qruns_bytes(nr));
		else
			old[0] = (struct ntvm_query_map_run){
				.start = base, .state = rec->state,
				.protect = rec->protect,
			};
	}
	ntvm_qruns_init(&rl);
	/* The runs before the range, the range, the runs after it. */
	for (i = 0; old && i < nr && old[i].start < start; i++)
		ntvm_qruns_add(&rl, old[i].start, old[i].state, old[i].protect);
	ntvm_qruns_add_pages(ctx, vad, start, end, &rl);
	if (old && end < vad_end) {
		for (i = 0; i + 1 < nr && old[i + 1].start <= end; i++)
			;
		ntvm_qruns_add(&rl, end, old[i].state, old[i].protect);
		for (i++; i < nr; i++)
			ntvm_qruns_add(&rl, old[i].start, old[i].state,
				       old[i].protect);
	}
	if (old != few)
		kvfree(old);
	vad->ext.qbig = rl.too_many;
	ok = !rl.failed && ntvm_qsync_put_runs(ctx, rec, &rl);
	ntvm_qruns_free(&rl);
	return ok;
}

/* Does [start, end) meet @vad itself, not only a granule it shares? */
static bool ntvm_qsync_meets(const struct ntvm_vad *vad, unsigned long start,
			     unsigned long end)
{
	return start < ntvm_vad_end(vad) && ntvm_vad_base(vad) < end;
}

/*
 * The record of @vad, which changed over [start, end) while the process
 * was not asking about it: it says "ask the ioctl" (if it has one), and
 * the ioctl's answer makes it again (ntvm_qmap_asked()).  Return: its
 * offset, or 0.
 */
static u32 ntvm_qsync_lazy(struct ntvm_ctx *ctx, struct ntvm_vad *vad,
			   unsigned long start, unsigned long end)
{
	struct ntvm_query_map_record *rec;

	if (ntvm_qsync_meets(vad, start, end))
		vad->ext.qbig = false;
	if (!vad->ext.qrec)
		return 0;
	rec = ntvm_qstore_ptr(ctx, vad->ext.qrec);
	/* Only sharing a granule with the range: as it was. */
	if (!ntvm_qsync_meets(vad, start, end)) {
		if (rec->base == ntvm_vad_base(vad) &&
		    rec->end == ntvm_vad_end(vad) &&
		    rec->allocation_protect == vad->alloc_protect)
			return vad->ext.qrec;
	}
	WRITE_ONCE(rec->flags, NTVM_QUERY_MAP_RECORD_SLOW);
	return vad->ext.qrec;
}

/*
 * The record of @vad up to date over [start, end), if the process asks
 * about it; see ntvm_qsync_lazy() if not.  Return: its offset, or 0 when
 * it has none.
 */
static u32 ntvm_qsync_record(struct ntvm_ctx *ctx, struct ntvm_vad *vad,
			     unsigned long start, unsigned long end)
{
	struct ntvm_query_map_record *rec;
	bool full;

	if (!vad->ext.qeager)
		return ntvm_qsync_lazy(ctx, vad, start, end);
	/* A change counts; bringing it up to date for a query does not. */
	if (ctx->qmap.dirty && ntvm_qsync_meets(vad, start, end))
		vad->ext.qeager--;
	if (!vad->ext.qrec) {
		vad->ext.qrec = ntvm_qstore_alloc(ctx, sizeof(*rec));
		if (!vad->ext.qrec)
			return 0;
		rec = ntvm_qstore_ptr(ctx, vad->ext.qrec);
		memset(rec, 0, sizeof(*rec));
		rec->flags = NTVM_QUERY_MAP_RECORD_SLOW;
	}
	rec = ntvm_qstore_ptr(ctx, vad->ext.qrec);
	/* A record that said "ask the ioctl" has no runs to go on. */
	full = rec->base != ntvm_vad_base(vad) ||
	       rec->end != ntvm_vad_end(vad) ||
	       rec->allocation_protect != vad->alloc_protect ||
	       (rec->flags & NTVM_QUERY_MAP_RECORD_SLOW);
	WRITE_ONCE(rec->base, ntvm_vad_base(vad));
	WRITE_ONCE(rec->end, ntvm_vad_end(vad));
	WRITE_ONCE(rec->allocation_protect, vad->alloc_protect);
	WRITE_ONCE(rec->type, NTVM_MEM_PRIVATE);
	WRITE_ONCE(rec->region_flags, NTVM_REGION_MANAGED);
	/* Only sharing a granule with the range: its runs are as they were. */
	if (!full && !ntvm_qsync_meets(vad, start, end))
		return vad->ext.qrec;
	if (!ntvm_vad_described(ctx, vad) ||
	    !ntvm_qsync_runs(ctx, vad, rec, full, start, end))
		WRITE_ONCE(rec->flags, NTVM_QUERY_MAP_RECORD_SLOW);
	else
		WRITE_ONCE(rec->flags, 0);
	/* Too many runs: tried again at its next change only. */
	if (vad->ext.qbig)
		vad->ext.qeager = min_t(u8, vad->ext.qeager, 1);
	return vad->ext.qrec;
}

static unsigned long ntvm_granule(unsigned long addr)
{
	return addr / NTVM_GRANULARITY;
}

/*
 * Bring the records and the tree up to date over [start, end): every
 * granule it touches.
 */
static void ntvm_qsync_range(struct ntvm_ctx *ctx, unsigned long start,
			     unsigned long end)
{
	unsigned long first = ntvm_granule(start);
	unsigned long last = ntvm_granule(end - 1);
	unsigned long next = first, vfirst, vlast, lo, hi;
	struct ntvm_vad *vad, *prev = NULL;
	bool shared;
	u32 rec;

	for (vad = ntvm_vad_next(ctx, first * NTVM_GRANULARITY);
	     vad && ntvm_granule(ntvm_vad_base(vad)) <= last;
	     vad = ntvm_vad_after(vad)) {
		rec = ntvm_qsync_record(ctx, vad, start, end);
		vfirst = ntvm_granule(ntvm_vad_base(vad));
		vlast = ntvm_granule(ntvm_vad_end(vad) - 1);
		/* Does an allocation before it end in its first granule? */
		if (!prev)
			shared = ntvm_vad_next(ctx, vfirst * NTVM_GRANULARITY) !=
				 vad;
		else
			shared = vfirst < next;
		prev = vad;
		if (next < vfirst && next <= last)
			ntvm_qtree_set(ctx, next, min(vfirst - 1, last), 0);
		if (shared && vfirst >= first)
			ntvm_qtree_set(ctx, vfirst, vfirst, NTVM_QUERY_MAP_SLOW);
		lo = max(vfirst + shared, first);
		hi = min(vlast, last);
		if (lo <= hi)
			ntvm_qtree_set(ctx, lo, hi,
				       rec ? rec | NTVM_QUERY_MAP_RECORD : 0);
		next = max(next, vlast + 1);
		cond_resched();
	}
	if (next <= last)
		ntvm_qtree_set(ctx, next, last, 0);
}

/* Free the records of allocations that are gone, now out of the tree. */
static void ntvm_qsync_free_dead(struct ntvm_ctx *ctx)
{
	struct ntvm_query_map_record *rec;
	u32 off;

	while ((off = ctx->qmap.dead)) {
		rec = ntvm_qstore_ptr(ctx, off);
		ctx->qmap.dead = rec->reserved;
		ntvm_qsync_free_runs(ctx, rec);
		ntvm_qstore_free(ctx, off, sizeof(*rec));
	}
}

/*
 * The process has mapped the map: from now on it is kept up to date,
 * which starts with every allocation there is.  Return: whether it is.
 */
static bool ntvm_qsync_go_live(struct ntvm_ctx *ctx)
{
	if (ntvm_qmap_notifier_register(ctx))
		return false;
	WRITE_ONCE(ctx->qmap.live, true);
	ntvm_qmap_pend(ctx, 0, NTVM_MAX_ADDRESS + 1, false);
	return true;
}

/**
 * ntvm_qmap_sync - bring the query map up to date, as a service ends
 * @ctx: the context, op_lock held
 *
 * Then publish it (ntvm_qmap_service_end()).
 */
void ntvm_qmap_sync(struct ntvm_ctx *ctx)
{
	struct ntvm_qmap_range ranges[NTVM_QMAP_PENDING];
	unsigned int i, n;

	lockdep_assert_held(&ctx->op_lock);
	if (!ctx->qmap.live &&
	    (!READ_ONCE(ctx->qmap.mapped) || !ntvm_qsync_go_live(ctx))) {
		ntvm_qmap_service_end(ctx, false);
		return;
	}
	n = ntvm_qmap_take_pending(ctx, ranges);
	for (i = 0; i < n; i++)
		ntvm_qsync_range(ctx, ranges[i].start, ranges[i].end);
	ntvm_qsync_free_dead(ctx);
	ntvm_qmap_service_end(ctx, true);
}
