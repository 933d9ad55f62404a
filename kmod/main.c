// SPDX-License-Identifier: GPL-2.0
/*
 * ntvm: Windows NT virtual-memory semantics for Linux processes.
 *
 * The misc device /dev/ntvm: each open is one context bound to the opening
 * process's address space; its ioctls are the NT memory services.
 *
 * Copyright (C) 2026 The ntvm authors
 */

#include <linux/bitops.h>
#include <linux/compat.h>
#include <linux/fs.h>
#include <linux/memcontrol.h>
#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/pid.h>
#include <linux/sched/mm.h>
#include <linux/sched/signal.h>
#include <linux/uaccess.h>

#include "ntvm.h"

static int ntvm_char_open(struct inode *inode, struct file *file)
{
	struct ntvm_ctx *ctx = ntvm_ctx_create();

	if (IS_ERR(ctx))
		return PTR_ERR(ctx);
	file->private_data = ctx;
	return nonseekable_open(inode, file);
}

static int ntvm_char_release(struct inode *inode, struct file *file)
{
	ntvm_ctx_put(file->private_data);
	return 0;
}

union ntvm_nt_args {
	struct ntvm_alloc_args alloc;
	struct ntvm_alloc_ex_args alloc_ex;
	struct ntvm_free_args free;
	struct ntvm_protect_args protect;
	struct ntvm_query_args query;
	struct ntvm_get_write_watch_args get_ww;
	struct ntvm_reset_write_watch_args reset_ww;
	struct ntvm_lock_args lock;
	struct ntvm_working_set_args ws;
	struct ntvm_address_limit_args limit;
};

/* The fields of this ABI (not NT arguments): -EINVAL when set wrong. */
static int ntvm_check_abi_fields(unsigned int cmd, union ntvm_nt_args *args)
{
	switch (cmd) {
	case NTVM_IOC_FREE:
		return args->free.flags || args->free.pad ? -EINVAL : 0;
	case NTVM_IOC_PROTECT:
		return args->protect.pad ? -EINVAL : 0;
	case NTVM_IOC_QUERY:
		return args->query.flags || args->query.pad ? -EINVAL : 0;
	case NTVM_IOC_GET_WRITE_WATCH:
		return args->get_ww.pad ? -EINVAL : 0;
	case NTVM_IOC_RESET_WRITE_WATCH:
		return args->reset_ww.pad ? -EINVAL : 0;
	case NTVM_IOC_WORKING_SET:
		return (args->ws.flags & ~NTVM_WORKING_SET_SET) || args->ws.pad ?
		       -EINVAL : 0;
	case NTVM_IOC_ADDRESS_LIMIT:
		return args->limit.flags & ~NTVM_ADDRESS_LIMIT_SET ? -EINVAL : 0;
	}
	return 0;
}

/*
 * The services another process (one that holds the file, in another
 * address space) may call: the NT services that take a process handle
 * and that Win32 offers for another process.  See "Other processes" in
 * the uapi header.
 */
static bool ntvm_remote_allowed(unsigned int cmd)
{
	switch (cmd) {
	case NTVM_IOC_ALLOC:
	case NTVM_IOC_ALLOC_EX:
	case NTVM_IOC_FREE:
	case NTVM_IOC_PROTECT:
	case NTVM_IOC_QUERY:
		return true;
	}
	return false;
}

/*
 * The NT services: copy in, run under op_lock, copy out.  The argument of
 * a service that changes memory is written back unchanged before the
 * service runs, so that a result (a new allocation's base) is never lost
 * to an argument that cannot be written; a query changes nothing.
 *
 * A call from another process holds the owner's address space alive
 * (mm_users) for the whole service; when the owner is gone there is no
 * memory left to act on.  What the service allocates for the context
 * (page-state chunks, allocations, reset items) is charged to the owner's
 * memory cgroup, as when the owner calls (so is a page table of the
 * caller's own that NTVM_IOC_ALLOC_EX's reading of its parameters faults
 * in: a page's worth at most).
 */
static long ntvm_ioctl_nt(struct ntvm_ctx *ctx, unsigned int cmd,
			  void __user *argp)
{
	bool remote = ntvm_remote_ctx(ctx);
	struct mem_cgroup *memcg = NULL, *old = NULL;
	union ntvm_nt_args args;
	size_t size = _IOC_SIZE(cmd);
	int err;

	if (remote && !ntvm_remote_allowed(cmd))
		return -EPERM;
	if (copy_from_user(&args, argp, size))
		return -EFAULT;
	err = ntvm_check_abi_fields(cmd, &args);
	if (err)
		return err;
	if (cmd != NTVM_IOC_QUERY && copy_to_user(argp, &args, size))
		return -EFAULT;
	if (remote) {
		if (!mmget_not_zero(ctx->mm))
			return -ESRCH;
		memcg = get_mem_cgroup_from_mm(ctx->mm);
	}
	if (mutex_lock_killable(&ctx->op_lock)) {
		err = -EINTR;
		goto out;
	}
	if (remote)
		old = set_active_memcg(memcg);
	ntvm_qmap_service_begin(ctx);
	switch (cmd) {
	case NTVM_IOC_ALLOC:
		args.alloc.status = ntvm_nt_allocate(ctx, &args.alloc);
		break;
	case NTVM_IOC_ALLOC_EX:
		args.alloc_ex.status = ntvm_nt_allocate_ex(ctx, &args.alloc_ex);
		break;
	case NTVM_IOC_FREE:
		args.free.status = ntvm_nt_free(ctx, &args.free);
		break;
	case NTVM_IOC_PROTECT:
		args.protect.status = ntvm_nt_protect(ctx, &args.protect);
		break;
	case NTVM_IOC_QUERY:
		args.query.status = ntvm_nt_query(ctx, &args.query);
		break;
	case NTVM_IOC_GET_WRITE_WATCH:
		args.get_ww.status = ntvm_nt_get_write_watch(ctx, &args.get_ww);
		break;
	case NTVM_IOC_RESET_WRITE_WATCH:
		args.reset_ww.status = ntvm_nt_reset_write_watch(ctx,
								 &args.reset_ww);
		break;
	case NTVM_IOC_LOCK:
		args.lock.status = ntvm_nt_lock(ctx, &args.lock);
		break;
	case NTVM_IOC_UNLOCK:
		args.lock.status = ntvm_nt_unlock(ctx, &args.lock);
		break;
	case NTVM_IOC_WORKING_SET:
		args.ws.status = ntvm_nt_working_set(ctx, &args.ws);
		break;
	case NTVM_IOC_ADDRESS_LIMIT:
		args.limit.status = ntvm_nt_address_limit(ctx, &args.limit);
		break;
	}
	ntvm_qmap_sync(ctx);
	if (remote)
		set_active_memcg(old);
	mutex_unlock(&ctx->op_lock);
	if (copy_to_user(argp, &args, size))
		err = -EFAULT;
out:
	if (remote) {
		mem_cgroup_put(memcg);
		mmput(ctx->mm);
	}
	return err;
}

static long ntvm_ioctl_sysinfo(struct ntvm_ctx *ctx, void __user *argp)
{
	struct ntvm_sysinfo_args info = {
		.minimum_address = NTVM_MIN_ADDRESS,
		.maximum_address = READ_ONCE(ctx->max_address),
		.commit_limit = ntvm_commit_limit(),
		.committed = ntvm_committed_all(),
		.user_committed = ntvm_committed_user(ctx),
		.contexts = atomic_long_read(&ntvm_nr_contexts),
		.allocations = atomic_long_read(&ntvm_nr_vads),
		.page_size = PAGE_SIZE,
		.allocation_granularity = NTVM_GRANULARITY,
	};

	if (copy_to_user(argp, &info, sizeof(info)))
		return -EFAULT;
	return 0;
}

static long ntvm_ioctl_get_commit(struct ntvm_ctx *ctx, void __user *argp)
{
	struct ntvm_commit_args args;

	if (mutex_lock_killable(&ctx->op_lock))
		return -EINTR;
	args.committed = ctx->committed;
	args.peak_committed = ctx->peak_committed;
	args.limit = ctx->commit_limit == ULONG_MAX ? NTVM_COMMIT_LIMIT_NONE :
						      ctx->commit_limit;
	mutex_unlock(&ctx->op_lock);
	if (copy_to_user(argp, &args, sizeof(args)))
		return -EFAULT;
	return 0;
}

static long ntvm_ioctl_set_commit_limit(struct ntvm_ctx *ctx,
					void __user *argp)
{
	struct ntvm_commit_limit_args args;

	if (current->mm != ctx->mm)
		return -EPERM;
	if (copy_from_user(&args, argp, sizeof(args)))
		return -EFAULT;
	if (args.flags || args.pad)
		return -EINVAL;
	if (mutex_lock_killable(&ctx->op_lock))
		return -EINTR;
	ntvm_charge_set_limit(ctx, args.limit);
	mutex_unlock(&ctx->op_lock);
	return 0;
}

/* Whose context this is: for a process that took files of another. */
static long ntvm_ioctl_context(struct ntvm_ctx *ctx, void __user *argp)
{
	struct ntvm_context_args args = {
		.flags = ntvm_remote_ctx(ctx) ? 0 : NTVM_CONTEXT_OWN,
	};
	struct task_struct *leader, *t;

	/*
	 * The owner is the process whose address space it still is: one of
	 * its threads runs in it (its leader may have exited alone).
	 */
	rcu_read_lock();
	leader = pid_task(ctx->owner, PIDTYPE_TGID);
	if (leader) {
		for_each_thread(leader, t) {
			if (READ_ONCE(t->mm) == ctx->mm) {
				args.owner_pid = pid_vnr(ctx->owner);
				break;
			}
		}
	}
	rcu_read_unlock();
	if (copy_to_user(argp, &args, sizeof(args)))
		return -EFAULT;
	return 0;
}

/* The ABI's version, for any holder of the file. */
static long ntvm_ioctl_version(void __user *argp)
{
	struct ntvm_version version = {
		.major = NTVM_ABI_MAJOR,
		.minor = NTVM_ABI_MINOR,
	};

	if (copy_to_user(argp, &version, sizeof(version)))
		return -EFAULT;
	return 0;
}

static long ntvm_char_ioctl(struct file *file, unsigned int cmd,
			    unsigned long parm)
{
	struct ntvm_ctx *ctx = file->private_data;
	void __user *argp = (void __user *)parm;

	switch (cmd) {
	case NTVM_IOC_FEATURES:
		return put_user((__u64)NTVM_FEATURES_KNOWN, (__u64 __user *)argp);
	case NTVM_IOC_VERSION:
		return ntvm_ioctl_version(argp);
	case NTVM_IOC_SYSINFO:
		return ntvm_ioctl_sysinfo(ctx, argp);
	case NTVM_IOC_GET_COMMIT:
		return ntvm_ioctl_get_commit(ctx, argp);
	case NTVM_IOC_SET_COMMIT_LIMIT:
		return ntvm_ioctl_set_commit_limit(ctx, argp);
	case NTVM_IOC_CONTEXT:
		return ntvm_ioctl_context(ctx, argp);
	case NTVM_IOC_ALLOC:
	case NTVM_IOC_ALLOC_EX:
	case NTVM_IOC_FREE:
	case NTVM_IOC_PROTECT:
	case NTVM_IOC_QUERY:
	case NTVM_IOC_GET_WRITE_WATCH:
	case NTVM_IOC_RESET_WRITE_WATCH:
	case NTVM_IOC_LOCK:
	case NTVM_IOC_UNLOCK:
	case NTVM_IOC_WORKING_SET:
	case NTVM_IOC_ADDRESS_LIMIT:
		return ntvm_ioctl_nt(ctx, cmd, argp);
	default:
		return -ENOIOCTLCMD;
	}
}

/* The query map (query_map.c): its owner's, read-only. */
static int ntvm_char_mmap(struct file *file, struct vm_area_struct *vma)
{
	return ntvm_qmap_mmap(file->private_data, vma);
}

static const struct file_operations ntvm_fops = {
	.owner		= THIS_MODULE,
	.open		= ntvm_char_open,
	.release	= ntvm_char_release,
	.unlocked_ioctl	= ntvm_char_ioctl,
	.compat_ioctl	= compat_ptr_ioctl,
	.mmap		= ntvm_char_mmap,
};

static struct miscdevice ntvm_misc = {
	.minor		= MISC_DYNAMIC_MINOR,
	.name		= "ntvm",
	.fops		= &ntvm_fops,
	.mode		= 0666,
};

static int __init ntvm_init(void)
{
	int err;

	BUILD_BUG_ON(sizeof(struct ntvm_chunk) > PAGE_SIZE);
	/* One minor version for each addition (uapi/linux/ntvm.h). */
	BUILD_BUG_ON(hweight64(NTVM_FEATURES_KNOWN) != NTVM_ABI_MINOR);
	ntvm_charge_init();
	err = ntvm_reset_module_init();
	if (err)
		return err;
	err = ntvm_remote_init();
	if (err)
		goto out_reset;
	err = ntvm_context_init();
	if (err)
		goto out_remote;
	err = ntvm_netlink_init();
	if (err)
		goto out_context;
	err = misc_register(&ntvm_misc);
	if (err)
		goto out_netlink;
	return 0;

out_netlink:
	ntvm_netlink_exit();
out_context:
	ntvm_context_exit();
out_remote:
	ntvm_remote_exit();
out_reset:
	ntvm_reset_module_exit();
	return err;
}

static void __exit ntvm_exit(void)
{
	misc_deregister(&ntvm_misc);
	ntvm_netlink_exit();
	ntvm_context_exit();
	ntvm_remote_exit();
	ntvm_reset_module_exit();
}

module_init(ntvm_init);
module_exit(ntvm_exit);

MODULE_AUTHOR("The ntvm authors");
MODULE_DESCRIPTION("Windows NT virtual-memory semantics");
MODULE_LICENSE("GPL");
