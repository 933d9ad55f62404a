// SPDX-License-Identifier: GPL-2.0
/*
 * Locked pages (VirtualLock): each holds a reference to its folio in the
 * backing, kept in the context's xarray @locks by page number, with a
 * mark for each of NT's lock types (MAP_PROCESS, MAP_SYSTEM).
 *
 * The reference is what keeps the page resident.  Reclaim writes a shmem
 * folio out to swap only when no one but the page cache and the reclaimer
 * holds it (pageout(): is_page_cache_freeable()), and frees a clean one
 * only when it can freeze its count at those references
 * (__remove_mapping()); with ours it keeps the folio, on Linux 6.1 as on
 * 6.12.  Reclaim may still unmap the page from the process's page tables:
 * the next access is then a minor fault, which finds it in the page cache.
 * A folio so held cannot be migrated either.
 *
 * Locked pages count twice against RLIMIT_MEMLOCK, unless the process
 * has CAP_IPC_LOCK (they are counted then too, but not limited):
 *
 * - in the process's locked_vm, with what mlock(2) locks
 *   (account_locked_vm(), as VFIO counts the pages it pins), which
 *   /proc/PID/status shows as VmLck;
 * - in its user's locked_vm (struct user_struct), as io_uring and iommufd
 *   count theirs, because a context can outlive its process: the fd
 *   passed to another process with SCM_RIGHTS, or left in a child, keeps
 *   the pages held after the process exits, when its mm counts nothing
 *   and no one can unlock them (only the opener's mm may call).  The
 *   user's count needs no mm, so the pages stay charged to the user who
 *   locked them until the context goes, and that user cannot pin more
 *   than RLIMIT_MEMLOCK this way whatever happens to the processes.  (An
 *   mmu_notifier whose ->release unlocked everything at exit_mmap was
 *   the other way; it puts a notifier on every page-table change of the
 *   process for the sake of its exit, and a release that takes op_lock
 *   inside exit_mmap, so it was not taken.)
 *
 * A locked page is never a reset page (reset.c): a lock ends the reset of
 * its pages, and a reset leaves locked pages out.
 *
 * A page is unlocked by NtUnlockVirtualMemory, and when it stops being
 * committed and accessible (decommit, release, a protection of
 * PAGE_NOACCESS or PAGE_GUARD: ntvm_lock_drop()) or the context goes.
 * All under op_lock.
 */

#include <linux/capability.h>
#include <linux/cred.h>
#include <linux/pagemap.h>
#include <linux/sched.h>
#include <linux/sched/mm.h>
#include <linux/sched/signal.h>
#include <linux/sched/user.h>

#include "ntvm.h"

/* The mark of each lock type. */
static const struct {
	u32 type;
	xa_mark_t mark;
} ntvm_lock_marks[] = {
	{ NTVM_MAP_PROCESS, XA_MARK_0 },
	{ NTVM_MAP_SYSTEM, XA_MARK_1 },
};

/* Windows' default working-set limits, in pages. */
#define NTVM_WS_DEFAULT_MIN	50
#define NTVM_WS_DEFAULT_MAX	345

void ntvm_lock_init(struct ntvm_ctx *ctx)
{
	xa_init(&ctx->locks);
	ctx->ws_min = NTVM_WS_DEFAULT_MIN;
	ctx->ws_max = NTVM_WS_DEFAULT_MAX;
	ctx->ws_hard = NTVM_QUOTA_LIMITS_HARDWS_MIN_DISABLE |
		       NTVM_QUOTA_LIMITS_HARDWS_MAX_DISABLE;
}

/* May a page in @state be (or stay) locked: committed and accessible? */
bool ntvm_lock_allowed(u8 state)
{
	return ntvm_prot_readable(state);
}

/* The lock types page @idx has, of @types. */
static u32 ntvm_lock_types(struct ntvm_ctx *ctx, unsigned long idx,
			   u32 types)
{
	u32 has = 0;
	int i;

	for (i = 0; i < ARRAY_SIZE(ntvm_lock_marks); i++)
		if ((types & ntvm_lock_marks[i].type) &&
		    xa_get_mark(&ctx->locks, idx, ntvm_lock_marks[i].mark))
			has |= ntvm_lock_marks[i].type;
	return has;
}

/**
 * ntvm_lock_count - the locked pages of [start, end)
 * @ctx:   the context
 * @start: first address
 * @end:   end address
 * @types: the lock types asked about
 * @any:   out: pages with at least one lock of @types
 * @all:   out: pages with every lock of @types
 */
void ntvm_lock_count(struct ntvm_ctx *ctx, unsigned long start,
		     unsigned long end, u32 types, unsigned long *any,
		     unsigned long *all)
{
	unsigned long idx;
	struct folio *folio;
	u32 has;

	lockdep_assert_held(&ctx->op_lock);
	*any = 0;
	*all = 0;
	xa_for_each_range(&ctx->locks, idx, folio, start >> PAGE_SHIFT,
			  (end >> PAGE_SHIFT) - 1) {
		has = ntvm_lock_types(ctx, idx, types);
		*any += !!has;
		*all += has == types;
	}
}

/* Forget the lock of page @idx, holding @folio. */
static void ntvm_lock_forget(struct ntvm_ctx *ctx, unsigned long idx,
			     struct folio *folio)
{
	xa_erase(&ctx->locks, idx);
	folio_put(folio);
}

/* Entries walked between two cond_resched(). */
#define NTVM_LOCK_BATCH		4096

/*
 * Charge @pages to the locked_vm of the user who opened the context,
 * limited by RLIMIT_MEMLOCK unless the caller has CAP_IPC_LOCK.
 */
static bool ntvm_lock_charge_user(struct ntvm_ctx *ctx, unsigned long pages)
{
	unsigned long limit = rlimit(RLIMIT_MEMLOCK) >> PAGE_SHIFT;
	bool limited = !capable(CAP_IPC_LOCK) &&
		       rlimit(RLIMIT_MEMLOCK) != RLIM_INFINITY;
	atomic_long_t *locked_vm = &ctx->lock_user->locked_vm;
	long cur = atomic_long_read(locked_vm), new;

	do {
		new = cur + pages;
		if (limited && (unsigned long)new > limit)
			return false;
	} while (!atomic_long_try_cmpxchg(locked_vm, &cur, new));
	return true;
}

/* Give back @pages of the process's and the user's locked_vm. */
static void ntvm_lock_unaccount(struct ntvm_ctx *ctx, unsigned long pages)
{
	if (!pages)
		return;
	ctx->locked -= pages;
	atomic_long_sub(pages, &ctx->lock_user->locked_vm);
	account_locked_vm(ctx->mm, pages, false);
}

/**
 * ntvm_lock_hold - lock every page of [start, end) with @types
 * @ctx:   the context
 * @start: first address
 * @end:   end address
 * @types: NTVM_MAP_PROCESS and/or NTVM_MAP_SYSTEM
 *
 * Every page is committed and accessible (the caller checked).  Pages
 * locked already keep their folio and gain the types.  Called by the
 * context's own process: RLIMIT_MEMLOCK and CAP_IPC_LOCK are its own.
 *
 * Return: 0, STATUS_WORKING_SET_QUOTA (over RLIMIT_MEMLOCK) or
 * STATUS_NO_MEMORY (also when a fatal signal stops it); nothing changed
 * on failure.
 */
u32 ntvm_lock_hold(struct ntvm_ctx *ctx, unsigned long start,
		   unsigned long end, u32 types)
{
	unsigned long first = start >> PAGE_SHIFT;
	unsigned long last = (end >> PAGE_SHIFT) - 1;
	unsigned long idx, pages, held, all;
	struct folio *folio;
	int i;

	lockdep_assert_held(&ctx->op_lock);
	ntvm_lock_count(ctx, start, end, NTVM_LOCK_TYPES, &held, &all);
	pages = last - first + 1 - held;
	if (pages && !ntvm_lock_charge_user(ctx, pages))
		return NTVM_STATUS_WORKING_SET_QUOTA;
	if (pages && account_locked_vm(ctx->mm, pages, true)) {
		atomic_long_sub(pages, &ctx->lock_user->locked_vm);
		return NTVM_STATUS_WORKING_SET_QUOTA;
	}
	/*
	 * Reset pages are of interest again: the reset shrinker must not
	 * discard a locked page.  Those it discarded read zero (and stay
	 * marked for MEM_RESET_UNDO).
	 */
	if (ntvm_reset_used(ctx))
		ntvm_reset_forget(ctx, start, end);

	for (idx = first; idx <= last; idx++) {
		if (xa_load(&ctx->locks, idx))
			continue;
		/* Reading in a large range may take long: let a kill stop it. */
		if (fatal_signal_pending(current))
			goto undo;
		folio = ntvm_view_read_folio(ctx, idx << PAGE_SHIFT);
		if (IS_ERR(folio))
			goto undo;
		if (xa_err(xa_store(&ctx->locks, idx, folio,
				    GFP_KERNEL_ACCOUNT))) {
			folio_put(folio);
			goto undo;
		}
		cond_resched();
	}
	/* Nothing can fail from here. */
	for (idx = first; idx <= last; idx++)
		for (i = 0; i < ARRAY_SIZE(ntvm_lock_marks); i++)
			if (types & ntvm_lock_marks[i].type)
				xa_set_mark(&ctx->locks, idx,
					    ntvm_lock_marks[i].mark);
	ctx->locked += pages;
	return NTVM_STATUS_SUCCESS;

undo:
	/* The entries stored by this call are the ones with no mark. */
	xa_for_each_range(&ctx->locks, idx, folio, first, last) {
		if (!ntvm_lock_types(ctx, idx, NTVM_LOCK_TYPES))
			ntvm_lock_forget(ctx, idx, folio);
		if (!(idx % NTVM_LOCK_BATCH))
			cond_resched();
	}
	atomic_long_sub(pages, &ctx->lock_user->locked_vm);
	account_locked_vm(ctx->mm, pages, false);
	return NTVM_STATUS_NO_MEMORY;
}

/**
 * ntvm_lock_release - take locks of @types off the pages of [start, end)
 * @ctx:   the context
 * @start: first address
 * @end:   end address
 * @types: NTVM_MAP_PROCESS and/or NTVM_MAP_SYSTEM
 *
 * A page left with no lock is unlocked: its folio goes back to reclaim.
 */
void ntvm_lock_release(struct ntvm_ctx *ctx, unsigned long start,
		       unsigned long end, u32 types)
{
	unsigned long idx, pages = 0;
	struct folio *folio;
	int i;

	lockdep_assert_held(&ctx->op_lock);
	xa_for_each_range(&ctx->locks, idx, folio, start >> PAGE_SHIFT,
			  (end >> PAGE_SHIFT) - 1) {
		for (i = 0; i < ARRAY_SIZE(ntvm_lock_marks); i++)
			if (types & ntvm_lock_marks[i].type)
				xa_clear_mark(&ctx->locks, idx,
					      ntvm_lock_marks[i].mark);
		if (!ntvm_lock_types(ctx, idx, NTVM_LOCK_TYPES)) {
			ntvm_lock_forget(ctx, idx, folio);
			pages++;
		}
		if (!(idx % NTVM_LOCK_BATCH))
			cond_resched();
	}
	ntvm_lock_unaccount(ctx, pages);
}

/**
 * ntvm_lock_drop - unlock every page of [start, end), of every type
 * @ctx:   the context
 * @start: first address
 * @end:   end address
 *
 * Return: the number of pages unlocked.
 */
unsigned long ntvm_lock_drop(struct ntvm_ctx *ctx, unsigned long start,
			     unsigned long end)
{
	unsigned long idx, pages = 0;
	struct folio *folio;

	lockdep_assert_held(&ctx->op_lock);
	if (!ctx->locked)
		return 0;
	xa_for_each_range(&ctx->locks, idx, folio, start >> PAGE_SHIFT,
			  (end >> PAGE_SHIFT) - 1) {
		ntvm_lock_forget(ctx, idx, folio);
		if (!(++pages % NTVM_LOCK_BATCH))
			cond_resched();
	}
	ntvm_lock_unaccount(ctx, pages);
	return pages;
}

/* The first locked page of [start, end), or @end. */
unsigned long ntvm_lock_next(struct ntvm_ctx *ctx, unsigned long start,
			     unsigned long end)
{
	unsigned long idx = start >> PAGE_SHIFT;

	lockdep_assert_held(&ctx->op_lock);
	if (!ctx->locked || start >= end ||
	    !xa_find(&ctx->locks, &idx, (end >> PAGE_SHIFT) - 1, XA_PRESENT))
		return end;
	return idx << PAGE_SHIFT;
}

/*
 * When the context goes: its folios go back to reclaim, its pages out of
 * its user's locked_vm, and out of the process's if the process is still
 * there (after exit, or exec, no one counts it).  Drops the user taken by
 * ntvm_ctx_create().  Runs from the backing's release, with no lock held.
 */
void ntvm_lock_destroy(struct ntvm_ctx *ctx)
{
	unsigned long idx, n = 0;
	struct folio *folio;

	xa_for_each(&ctx->locks, idx, folio) {
		folio_put(folio);
		if (!(++n % NTVM_LOCK_BATCH))
			cond_resched();
	}
	xa_destroy(&ctx->locks);
	if (ctx->locked && mmget_not_zero(ctx->mm)) {
		account_locked_vm(ctx->mm, ctx->locked, false);
		mmput(ctx->mm);
	}
	atomic_long_sub(ctx->locked, &ctx->lock_user->locked_vm);
	ctx->locked = 0;
	free_uid(ctx->lock_user);
}
