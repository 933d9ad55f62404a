// SPDX-License-Identifier: GPL-2.0
/*
 * Commit charge: Windows never over-commits.  Committing pages charges
 * them, so that an over-commit fails at commit time with
 * STATUS_COMMITMENT_LIMIT instead of an OOM kill later.
 *
 * The charge is kept per user (the real uid of the process that opened the
 * context), each user against a limit of its own: RAM + swap when the
 * module was loaded, or the commit_limit_pages parameter.  A commit costs
 * nothing until it is touched, so with one counter for the whole machine
 * any user could take every other user's charge; per user, no
 * unprivileged user can make another's commits fail.  The user is the
 * unit because it is Linux's unit of trust between processes (one user's
 * processes may signal and ptrace each other anyway) and the one Linux
 * accounts similar memory by (locked_vm, pipe buffers, message queues).
 *
 * Each context also has a limit of its own (a job object's process memory
 * limit), none until its process sets one: a commit must fit both.  A
 * limit below the context's charge is allowed; it makes every commit that
 * adds to the charge fail until enough is decommitted.
 *
 * The module parameter is writable by root only (0644): changing the
 * users' limit at run time is an administrator's action.
 */

#include <linux/atomic.h>
#include <linux/cred.h>
#include <linux/hashtable.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/slab.h>
#include <linux/swap.h>
#include <linux/uidgid.h>

#include "ntvm.h"

static unsigned long commit_limit_pages;
module_param(commit_limit_pages, ulong, 0644);
MODULE_PARM_DESC(commit_limit_pages,
		 "Pages each user may commit (0: RAM + swap)");

struct ntvm_user_charge {
	struct hlist_node node;	/* in ntvm_users; ntvm_users_lock */
	kuid_t uid;
	unsigned int refs;	/* contexts; ntvm_users_lock */
	atomic_long_t committed;
};

static DEFINE_HASHTABLE(ntvm_users, 6);
static DEFINE_SPINLOCK(ntvm_users_lock);
static atomic_long_t ntvm_committed = ATOMIC_LONG_INIT(0);
static unsigned long ntvm_default_limit;

/* RAM + swap, taken once when the module loads. */
void ntvm_charge_init(void)
{
	ntvm_default_limit = totalram_pages() + get_nr_swap_pages();
}

unsigned long ntvm_commit_limit(void)
{
	unsigned long limit = READ_ONCE(commit_limit_pages);

	return limit ? limit : ntvm_default_limit;
}

unsigned long ntvm_committed_all(void)
{
	return atomic_long_read(&ntvm_committed);
}

unsigned long ntvm_committed_user(struct ntvm_ctx *ctx)
{
	return atomic_long_read(&ctx->charge->committed);
}

/* The charge of the current task's real user, or NULL (no memory). */
struct ntvm_user_charge *ntvm_charge_get_user(void)
{
	kuid_t uid = current_uid();
	u32 key = __kuid_val(uid);
	struct ntvm_user_charge *uc, *new;

	new = kzalloc(sizeof(*new), GFP_KERNEL_ACCOUNT);
	if (!new)
		return NULL;
	spin_lock(&ntvm_users_lock);
	hash_for_each_possible(ntvm_users, uc, node, key) {
		if (uid_eq(uc->uid, uid)) {
			uc->refs++;
			spin_unlock(&ntvm_users_lock);
			kfree(new);
			return uc;
		}
	}
	new->uid = uid;
	new->refs = 1;
	atomic_long_set(&new->committed, 0);
	hash_add(ntvm_users, &new->node, key);
	spin_unlock(&ntvm_users_lock);
	return new;
}

/* When a context goes, with nothing charged to it any more. */
void ntvm_charge_put_user(struct ntvm_user_charge *uc)
{
	bool last;

	spin_lock(&ntvm_users_lock);
	last = !--uc->refs;
	if (last)
		hash_del(&uc->node);
	spin_unlock(&ntvm_users_lock);
	if (!last)
		return;
	WARN_ON_ONCE(atomic_long_read(&uc->committed));
	kfree(uc);
}

/* Charge @pages to @ctx and its user; false when that would pass a limit. */
bool ntvm_charge(struct ntvm_ctx *ctx, unsigned long pages)
{
	unsigned long limit = ntvm_commit_limit();
	atomic_long_t *user = &ctx->charge->committed;
	bool user_limit = true;
	long now;

	lockdep_assert_held(&ctx->op_lock);
	if (!pages)
		return true;
	/* The context's own limit may be below its charge. */
	if (ctx->committed > ctx->commit_limit ||
	    pages > ctx->commit_limit - ctx->committed) {
		user_limit = false;
		goto refused;
	}
	if (pages > limit)
		goto refused;
	now = atomic_long_add_return(pages, user);
	if (now < 0 || now > limit) {
		atomic_long_sub(pages, user);
		goto refused;
	}
	atomic_long_add(pages, &ntvm_committed);
	ctx->committed += pages;
	return true;
refused:
	/* ntvmstat's event (event.c) */
	ntvm_event_commit_refused(ctx, pages, user_limit);
	return false;
}

/*
 * The commit that charged is done: the peak counts only what commits
 * that succeeded charged.
 */
void ntvm_charge_done(struct ntvm_ctx *ctx)
{
	lockdep_assert_held(&ctx->op_lock);
	if (ctx->committed > ctx->peak_committed)
		ctx->peak_committed = ctx->committed;
}

void ntvm_uncharge(struct ntvm_ctx *ctx, unsigned long pages)
{
	ctx->committed -= pages;
	atomic_long_sub(pages, &ctx->charge->committed);
	atomic_long_sub(pages, &ntvm_committed);
}

/*
 * The context's own limit: any number of pages, lower or higher than
 * before and than its charge; NTVM_COMMIT_LIMIT_NONE for none.
 */
void ntvm_charge_set_limit(struct ntvm_ctx *ctx, u64 pages)
{
	lockdep_assert_held(&ctx->op_lock);
	ctx->commit_limit = pages > ULONG_MAX ? ULONG_MAX : pages;
}
