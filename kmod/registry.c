// SPDX-License-Identifier: GPL-2.0
/*
 * The registry of live contexts, for netlink.c: each context by an id
 * (unique while it lives, never a kernel address); its process is
 * ctx->owner.
 *
 * A context enters when created and leaves first thing when freed, both
 * under ntvm_registry_mutex; netlink.c holds the mutex while it looks at a
 * context, so a context it found is not freed before it is done.  Lock
 * order: ntvm_registry_mutex -> op_lock.
 */

#include <linux/mutex.h>
#include <linux/pid.h>
#include <linux/xarray.h>

#include "ntvm.h"

static DEFINE_MUTEX(ntvm_registry_mutex);
static DEFINE_XARRAY_ALLOC1(ntvm_registry);
static u32 ntvm_registry_next;

/* Register @ctx. */
int ntvm_registry_add(struct ntvm_ctx *ctx)
{
	int err;

	mutex_lock(&ntvm_registry_mutex);
	err = xa_alloc_cyclic(&ntvm_registry, &ctx->stat_id, ctx,
			      XA_LIMIT(1, INT_MAX), &ntvm_registry_next,
			      GFP_KERNEL_ACCOUNT);
	mutex_unlock(&ntvm_registry_mutex);
	return err < 0 ? err : 0;
}

/* When @ctx is freed (whether or not it was registered). */
void ntvm_registry_del(struct ntvm_ctx *ctx)
{
	if (!ctx->stat_id)
		return;
	mutex_lock(&ntvm_registry_mutex);
	xa_erase(&ntvm_registry, ctx->stat_id);
	mutex_unlock(&ntvm_registry_mutex);
}

int ntvm_registry_lock_killable(void)
{
	return mutex_lock_killable(&ntvm_registry_mutex);
}

void ntvm_registry_unlock(void)
{
	mutex_unlock(&ntvm_registry_mutex);
}

/*
 * The context with the lowest id at or above *@id, or NULL; *@id becomes
 * its id.  Under ntvm_registry_lock().
 */
struct ntvm_ctx *ntvm_registry_find(unsigned long *id)
{
	lockdep_assert_held(&ntvm_registry_mutex);
	if (*id > INT_MAX)
		return NULL;
	return xa_find(&ntvm_registry, id, INT_MAX, XA_PRESENT);
}

/* The opener's pid in the initial pid namespace. */
u32 ntvm_registry_pid(struct ntvm_ctx *ctx)
{
	return pid_nr(ctx->owner);
}
