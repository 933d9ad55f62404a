// SPDX-License-Identifier: GPL-2.0
/*
 * The registry of live contexts, for netlink.c: each context by an id
 * (unique while it lives, never a kernel address); its process is
 * ctx->owner.
 *
 * A context enters when created and leaves first thing when freed (in
 * its backing file's ->release, once nothing holds the file).  A reader
 * finds a context and takes a reference on its backing file under the
 * xarray's lock, which the free path takes to erase it: the file is still
 * there then, and a file already released (its count zero) is skipped.
 * The reader then looks at the context with no lock of the registry held,
 * so no open, close or exit ever waits for a reader, and drops the file
 * with ntvm_registry_put().
 */

#include <linux/file.h>
#include <linux/pid.h>
#include <linux/xarray.h>

#include "ntvm.h"
#include "compat.h"

static DEFINE_XARRAY_ALLOC1(ntvm_registry);
static u32 ntvm_registry_next;

/* Register @ctx. */
int ntvm_registry_add(struct ntvm_ctx *ctx)
{
	u32 id;
	int err;

	err = xa_alloc_cyclic(&ntvm_registry, &id, ctx, XA_LIMIT(1, INT_MAX),
			      &ntvm_registry_next, GFP_KERNEL_ACCOUNT);
	if (err < 0)
		return err;
	ctx->stat_id = id;
	return 0;
}

/* When @ctx is freed (whether or not it was registered). */
void ntvm_registry_del(struct ntvm_ctx *ctx)
{
	if (ctx->stat_id)
		xa_erase(&ntvm_registry, ctx->stat_id);
}

/*
 * The live context with the lowest id at or above *@id, held (see
 * ntvm_registry_put()), or NULL; *@id becomes its id.
 */
struct ntvm_ctx *ntvm_registry_get(unsigned long *id)
{
	struct ntvm_ctx *ctx;

	if (*id > INT_MAX)
		return NULL;
	xa_lock(&ntvm_registry);
	for (ctx = xa_find(&ntvm_registry, id, INT_MAX, XA_PRESENT); ctx;
	     ctx = xa_find_after(&ntvm_registry, id, INT_MAX, XA_PRESENT))
		if (ntvm_file_get_unless_released(ctx->backing))
			break;
	xa_unlock(&ntvm_registry);
	return ctx;
}

void ntvm_registry_put(struct ntvm_ctx *ctx)
{
	fput(ctx->backing);
}

/* The opener's pid in the initial pid namespace. */
u32 ntvm_registry_pid(struct ntvm_ctx *ctx)
{
	return pid_nr(ctx->owner);
}
