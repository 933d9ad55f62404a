// SPDX-License-Identifier: GPL-2.0
/*
 * View changes made for another process.
 *
 * A process that holds another one's /dev/ntvm file (see "Other processes"
 * in the uapi header) runs the NT services on that context itself, in its
 * own thread, under the context's op_lock: the map, the page states, the
 * commit charge and the PTEs are all reached through the context.  Only
 * what Linux does to "the current process" cannot be done from there:
 * vm_mmap(), vm_munmap() and get_unmapped_area() act on current->mm.  Those
 * few calls run in a kernel worker instead, which takes the owner's address
 * space for the call (kthread_use_mm(), as f_fs's user copies and vhost
 * do), the owner's credentials (for the LSM and capability checks of
 * mmap) and charges what it allocates to the owner's memory cgroup; the
 * owner's RLIMIT_AS is checked here, as mmap(2) checks the caller's.
 *
 * The caller holds op_lock and a reference on the owner's mm_users (see
 * main.c) for the whole call, so the address space is alive and no other
 * view change of the context runs meanwhile; the worker takes no lock of
 * ours.  It may wait for the owner's mmap_lock: each call has a work item
 * of its own on an unbound workqueue, so a call that waits holds up its
 * own context only.
 */

#include <linux/cred.h>
#include <linux/kthread.h>
#include <linux/memcontrol.h>
#include <linux/sched/mm.h>
#include <linux/sched/signal.h>
#include <linux/workqueue.h>

#include "ntvm.h"

static struct workqueue_struct *ntvm_remote_wq;

struct ntvm_remote_call {
	struct work_struct work;
	struct ntvm_ctx *ctx;
	const struct cred *cred;	/* the owner's */
	long (*fn)(struct ntvm_ctx *ctx, void *arg);
	void *arg;
	long ret;
};

int ntvm_remote_init(void)
{
	ntvm_remote_wq = alloc_workqueue("ntvm-remote", WQ_UNBOUND, 0);
	return ntvm_remote_wq ? 0 : -ENOMEM;
}

/* After the last context. */
void ntvm_remote_exit(void)
{
	destroy_workqueue(ntvm_remote_wq);
}

static void ntvm_remote_work(struct work_struct *work)
{
	struct ntvm_remote_call *call =
		container_of(work, struct ntvm_remote_call, work);
	struct mm_struct *mm = call->ctx->mm;
	const struct cred *old_cred;
	struct mem_cgroup *memcg, *old;

	memcg = get_mem_cgroup_from_mm(mm);
	old = set_active_memcg(memcg);
	old_cred = override_creds(call->cred);
	kthread_use_mm(mm);
	call->ret = call->fn(call->ctx, call->arg);
	kthread_unuse_mm(mm);
	revert_creds(old_cred);
	set_active_memcg(old);
	mem_cgroup_put(memcg);
}

/**
 * ntvm_remote - run @fn in @ctx's address space
 * @ctx:       a context of another process than current's
 * @fn:        what to run: a vm_mmap(), vm_munmap() or get_unmapped_area()
 *             for @ctx, which may take the mmap_lock of @ctx->mm and
 *             nothing of ours
 * @arg:       its argument
 * @new_bytes: the address space @fn maps where nothing was, checked
 *             against the owner's RLIMIT_AS
 *
 * Called with @ctx->op_lock held and @ctx->mm's mm_users raised.
 *
 * Return: what @fn returned, -ENOMEM when the owner's RLIMIT_AS refuses
 * the new space, -ESRCH when the owner is gone.
 */
long ntvm_remote(struct ntvm_ctx *ctx,
		 long (*fn)(struct ntvm_ctx *ctx, void *arg), void *arg,
		 unsigned long new_bytes)
{
	struct ntvm_remote_call call = {
		.ctx = ctx,
		.fn = fn,
		.arg = arg,
	};
	struct task_struct *owner;
	unsigned long limit;

	lockdep_assert_held(&ctx->op_lock);
	owner = get_pid_task(ctx->owner, PIDTYPE_TGID);
	if (!owner)
		return -ESRCH;
	limit = task_rlimit(owner, RLIMIT_AS) >> PAGE_SHIFT;
	call.cred = get_task_cred(owner);
	put_task_struct(owner);
	if (new_bytes &&
	    READ_ONCE(ctx->mm->total_vm) + (new_bytes >> PAGE_SHIFT) > limit) {
		put_cred(call.cred);
		return -ENOMEM;
	}
	INIT_WORK_ONSTACK(&call.work, ntvm_remote_work);
	queue_work(ntvm_remote_wq, &call.work);
	flush_work(&call.work);
	destroy_work_on_stack(&call.work);
	put_cred(call.cred);
	return call.ret;
}

/* Is @ctx another process's context than current's? */
bool ntvm_remote_ctx(struct ntvm_ctx *ctx)
{
	return current->mm != ctx->mm;
}
