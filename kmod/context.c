// SPDX-License-Identifier: GPL-2.0
/*
 * A context's whole life.
 *
 * Each open of /dev/ntvm creates a context bound to the opener's address
 * space, with one shmem file (the backing) on ntvm's private tmpfs holding
 * every page of it, at file offset == virtual address + one page (see
 * ntvm_file_pos()).  The backing carries file operations of ours: its
 * mmap accepts only the context's own view changes and makes each new
 * mapping a view (fault.c); it is never read, written or fallocated
 * through its file (so madvise(MADV_REMOVE) on a view fails instead of
 * punching holes behind our back).
 *
 * Lifetime: every view holds the backing file, the backing file holds the
 * context (freed by the file's ->release), the /dev/ntvm fd holds one
 * reference to the backing file.  So a context lives as long as its fd or
 * any of its views.
 */

#include <linux/compat.h>
#include <linux/cred.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/module.h>
#include <linux/mount.h>
#include <linux/sched/mm.h>
#include <linux/shmem_fs.h>
#include <linux/slab.h>

#include "ntvm.h"

atomic_long_t ntvm_nr_contexts = ATOMIC_LONG_INIT(0);
atomic_long_t ntvm_nr_vads = ATOMIC_LONG_INIT(0);

/* The private tmpfs of the backing files. */
static struct vfsmount *ntvm_mnt;

int ntvm_context_init(void)
{
	char options[] = "huge=never";	/* parsed in place: writable */
	struct file_system_type *tmpfs;

	/*
	 * A tmpfs of our own, never with huge pages, whatever
	 * shmem_enabled says (only its testing value "force" overrides).
	 */
	tmpfs = get_fs_type("tmpfs");
	if (!tmpfs)
		return -ENODEV;
	ntvm_mnt = vfs_kern_mount(tmpfs, SB_KERNMOUNT, "ntvm", options);
	module_put(tmpfs->owner);
	if (IS_ERR(ntvm_mnt))
		return PTR_ERR(ntvm_mnt);
	return 0;
}

/* After the last context: every backing file holds a module reference. */
void ntvm_context_exit(void)
{
	kern_unmount(ntvm_mnt);
}

/* The backing file's release (backing.c): no fd and no view is left. */
void ntvm_ctx_free(struct ntvm_ctx *ctx)
{
	/* Before the allocations go: its callbacks look at them. */
	ntvm_qmap_notifier_unregister(ctx);
	ntvm_registry_del(ctx);
	ntvm_lock_destroy(ctx);
	ntvm_reset_destroy(ctx);
	ntvm_vad_destroy_all(ctx);
	ntvm_uncharge(ctx, ctx->committed);
	ntvm_charge_put_user(ctx->charge);
	ntvm_pages_destroy(ctx);
	ntvm_qmap_destroy(ctx);
	put_pid(ctx->owner);
	mmdrop(ctx->mm);
	atomic_long_dec(&ntvm_nr_contexts);
	kfree(ctx);
}

/* Teach lockdep the order op_lock -> mmap_lock before it is first used. */
static void ntvm_prime_lockdep(struct ntvm_ctx *ctx)
{
	if (!IS_ENABLED(CONFIG_PROVE_LOCKING))
		return;
	mutex_lock(&ctx->op_lock);
	mmap_read_lock(ctx->mm);
	mmap_read_unlock(ctx->mm);
	mutex_unlock(&ctx->op_lock);
}

/* A new context for the current process, or an ERR_PTR(). */
struct ntvm_ctx *ntvm_ctx_create(void)
{
	struct ntvm_ctx *ctx;
	int err;

	if (!current->mm)
		return ERR_PTR(-EINVAL);
	ctx = kzalloc(sizeof(*ctx), GFP_KERNEL_ACCOUNT);
	if (!ctx)
		return ERR_PTR(-ENOMEM);
	if (ntvm_qmap_init(ctx)) {
		kfree(ctx);
		return ERR_PTR(-ENOMEM);
	}
	mutex_init(&ctx->op_lock);
	xa_init(&ctx->chunks);
	ctx->commit_limit = ULONG_MAX;	/* none of its own */
	/* Windows' limit for a 32-bit program that is not large-address aware. */
	ctx->compat = in_compat_syscall();
	ctx->max_address = ctx->compat ? NTVM_MAXIMUM_ADDRESS_32 :
					 NTVM_MAX_ADDRESS;
	ntvm_lock_init(ctx);
	if (ntvm_space_init(ctx)) {
		ntvm_vad_destroy_all(ctx);
		ntvm_qmap_destroy(ctx);
		kfree(ctx);
		return ERR_PTR(-ENOMEM);
	}
	ctx->charge = ntvm_charge_get_user();
	if (!ctx->charge) {
		ntvm_vad_destroy_all(ctx);
		ntvm_qmap_destroy(ctx);
		kfree(ctx);
		return ERR_PTR(-ENOMEM);
	}
	if (ntvm_reset_init(ctx)) {
		ntvm_reset_destroy(ctx);
		ntvm_charge_put_user(ctx->charge);
		ntvm_vad_destroy_all(ctx);
		ntvm_qmap_destroy(ctx);
		kfree(ctx);
		return ERR_PTR(-ENOMEM);
	}
	ctx->mm = current->mm;
	mmgrab(ctx->mm);
	ctx->owner = get_task_pid(current, PIDTYPE_TGID);
	/* Whose locked_vm locked pages count in: see lock.c. */
	ctx->lock_user = get_uid(current_user());
	err = ntvm_backing_create(ctx, ntvm_mnt);
	if (err) {
		free_uid(ctx->lock_user);
		ntvm_reset_destroy(ctx);
		put_pid(ctx->owner);
		mmdrop(ctx->mm);
		ntvm_charge_put_user(ctx->charge);
		ntvm_vad_destroy_all(ctx);
		ntvm_qmap_destroy(ctx);
		kfree(ctx);
		return ERR_PTR(err);
	}
	ntvm_prime_lockdep(ctx);
	atomic_long_inc(&ntvm_nr_contexts);
	/* For ntvmstat (netlink.c); freed by the backing's release. */
	err = ntvm_registry_add(ctx);
	if (err) {
		ntvm_ctx_put(ctx);
		return ERR_PTR(err);
	}
	return ctx;
}

/* The fd's reference: the context lives on while any view does. */
void ntvm_ctx_put(struct ntvm_ctx *ctx)
{
	fput(ctx->backing);
}
