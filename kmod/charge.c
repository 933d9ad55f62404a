// SPDX-License-Identifier: GPL-2.0
/*
 * Commit charge: Windows never over-commits.  Committing pages charges
 * them against a global limit (RAM + swap when the module was loaded, or
 * the commit_limit_pages parameter), so an over-commit fails at commit time
 * with STATUS_COMMITMENT_LIMIT instead of an OOM kill later.
 */

#include <linux/atomic.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/swap.h>

#include "ntvm.h"

static unsigned long commit_limit_pages;
module_param(commit_limit_pages, ulong, 0644);
MODULE_PARM_DESC(commit_limit_pages,
		 "Pages all contexts may commit (0: RAM + swap)");

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

unsigned long ntvm_committed_global(void)
{
	return atomic_long_read(&ntvm_committed);
}

/* Charge @pages to @ctx; false when that would pass the limit. */
bool ntvm_charge(struct ntvm_ctx *ctx, unsigned long pages)
{
	long now;

	lockdep_assert_held(&ctx->op_lock);
	if (!pages)
		return true;
	if (pages > ntvm_commit_limit())
		return false;
	now = atomic_long_add_return(pages, &ntvm_committed);
	if (now < 0 || now > ntvm_commit_limit()) {
		atomic_long_sub(pages, &ntvm_committed);
		return false;
	}
	ctx->committed += pages;
	return true;
}

void ntvm_uncharge(struct ntvm_ctx *ctx, unsigned long pages)
{
	ctx->committed -= pages;
	atomic_long_sub(pages, &ntvm_committed);
}
