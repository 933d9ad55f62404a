// SPDX-License-Identifier: GPL-2.0
/*
 * Views the process unmaps itself: an allocation whose views are gone is
 * no longer intact, and NTVM_IOC_QUERY describes what is there now (free
 * memory, or the process's own).  No hook of the views sees munmap(2) or
 * a mapping put over them (a ->close would keep views from merging), so a
 * context whose query map is live registers an MMU notifier on its
 * address space: an unmap that is not ntvm's own and touches an
 * allocation makes the map pending (readers ask the ioctl) until the next
 * service has looked again.  Before the unmap, and after it, as the next
 * service may run in between.
 *
 * A kernel without MMU notifiers (no driver there selects them) keeps
 * the map pending: every query asks the ioctl.
 */

#include <linux/mmu_notifier.h>

#include "ntvm.h"

#ifdef CONFIG_MMU_NOTIFIER
static struct ntvm_ctx *ntvm_qmap_ctx(struct mmu_notifier *mn)
{
	return container_of(mn, struct ntvm_ctx, qmap.mn);
}

static void ntvm_qmap_unmapped(struct ntvm_ctx *ctx,
			       const struct mmu_notifier_range *range,
			       bool bump)
{
	if (range->event != MMU_NOTIFY_UNMAP || ntvm_own_op(ctx))
		return;
	/*
	 * map_lock is a spinlock, which may sleep on PREEMPT_RT: where
	 * the caller cannot (the OOM reaper), pend without looking.
	 */
	if (!mmu_notifier_range_blockable(range) ||
	    ntvm_space_has_vad(ctx, range->start, range->end))
		ntvm_qmap_pend(ctx, range->start, range->end, bump);
}

static int ntvm_qmap_invalidate_start(struct mmu_notifier *mn,
				      const struct mmu_notifier_range *range)
{
	ntvm_qmap_unmapped(ntvm_qmap_ctx(mn), range, true);
	return 0;
}

static void ntvm_qmap_invalidate_end(struct mmu_notifier *mn,
				     const struct mmu_notifier_range *range)
{
	ntvm_qmap_unmapped(ntvm_qmap_ctx(mn), range, false);
}

static const struct mmu_notifier_ops ntvm_qmap_mn_ops = {
	.invalidate_range_start	= ntvm_qmap_invalidate_start,
	.invalidate_range_end	= ntvm_qmap_invalidate_end,
};

/**
 * ntvm_qmap_notifier_register - watch the context's address space
 * @ctx: the context, op_lock held (mmap_lock is taken inside)
 *
 * Return: 0, or a negative errno.
 */
int ntvm_qmap_notifier_register(struct ntvm_ctx *ctx)
{
	int err;

	lockdep_assert_held(&ctx->op_lock);
	if (ctx->qmap.notifier)
		return 0;
	ctx->qmap.mn.ops = &ntvm_qmap_mn_ops;
	err = mmu_notifier_register(&ctx->qmap.mn, ctx->mm);
	if (!err)
		ctx->qmap.notifier = true;
	return err;
}

/* When the context goes (the address space is still mmgrab()ed). */
void ntvm_qmap_notifier_unregister(struct ntvm_ctx *ctx)
{
	if (ctx->qmap.notifier)
		mmu_notifier_unregister(&ctx->qmap.mn, ctx->mm);
	ctx->qmap.notifier = false;
}
#else
int ntvm_qmap_notifier_register(struct ntvm_ctx *ctx)
{
	return -EOPNOTSUPP;
}

void ntvm_qmap_notifier_unregister(struct ntvm_ctx *ctx)
{
}
#endif
