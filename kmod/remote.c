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
 * few calls run in ntvm's kernel thread instead, which takes the owner's
 * address space for the call (kthread_use_mm(), as vhost does to reach a
 * guest's memory) and charges what it allocates for it to the owner's
 * memory cgroup.
 *
 * The caller holds op_lock and a reference on the owner's mm_users (see
 * main.c) for the whole call, so the address space is alive and no other
 * view change of the context runs meanwhile; the thread itself takes no
 * lock of ours.  One thread serves every context: the calls it runs are
 * short and never wait for another context.
 */

#include <linux/kthread.h>
#include <linux/memcontrol.h>
#include <linux/sched/mm.h>

#include "ntvm.h"

static struct kthread_worker *ntvm_remote_worker;

struct ntvm_remote_call {
	struct kthread_work work;
	struct ntvm_ctx *ctx;
	long (*fn)(struct ntvm_ctx *ctx, void *arg);
	void *arg;
	long ret;
};

int ntvm_remote_init(void)
{
	ntvm_remote_worker = kthread_create_worker(0, "ntvm-remote");
	if (IS_ERR(ntvm_remote_worker))
		return PTR_ERR(ntvm_remote_worker);
	return 0;
}

/* After the last context. */
void ntvm_remote_exit(void)
{
	kthread_destroy_worker(ntvm_remote_worker);
}

static void ntvm_remote_work(struct kthread_work *work)
{
	struct ntvm_remote_call *call =
		container_of(work, struct ntvm_remote_call, work);
	struct mm_struct *mm = call->ctx->mm;
	struct mem_cgroup *memcg, *old;

	memcg = get_mem_cgroup_from_mm(mm);
	old = set_active_memcg(memcg);
	kthread_use_mm(mm);
	call->ret = call->fn(call->ctx, call->arg);
	kthread_unuse_mm(mm);
	set_active_memcg(old);
	mem_cgroup_put(memcg);
}

/**
 * ntvm_remote - run @fn in @ctx's address space
 * @ctx: a context of another process than current's
 * @fn:  what to run: a vm_mmap(), vm_munmap() or get_unmapped_area()
 *       for @ctx, which may take the mmap_lock of @ctx->mm and nothing
 *       of ours
 * @arg: its argument
 *
 * Called with @ctx->op_lock held and @ctx->mm's mm_users raised.
 *
 * Return: what @fn returned.
 */
long ntvm_remote(struct ntvm_ctx *ctx,
		 long (*fn)(struct ntvm_ctx *ctx, void *arg), void *arg)
{
	struct ntvm_remote_call call = {
		.ctx = ctx,
		.fn = fn,
		.arg = arg,
	};

	lockdep_assert_held(&ctx->op_lock);
	kthread_init_work(&call.work, ntvm_remote_work);
	kthread_queue_work(ntvm_remote_worker, &call.work);
	kthread_flush_work(&call.work);
	return call.ret;
}

/* Is @ctx another process's context than current's? */
bool ntvm_remote_ctx(struct ntvm_ctx *ctx)
{
	return current->mm != ctx->mm;
}
