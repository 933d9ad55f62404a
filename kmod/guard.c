// SPDX-License-Identifier: GPL-2.0
/*
 * Guard pages tripped by the kernel.
 *
 * On Windows a system service that touches a guard page fails with
 * STATUS_GUARD_PAGE_VIOLATION and clears the guard; the next call
 * succeeds.  The fault handler clears the guard bit and fails the fault,
 * but the kernel retries a failed user copy: 6.1's copy routines copy the
 * rest byte by byte, and many paths fault the buffer in and copy again
 * (fault_in_*() in the page cache's read and write paths, futexes, ...).
 * The guard being gone, the retry would succeed, and the system call with
 * it.
 *
 * So a fault that does not come from user mode (a user copy or GUP, no
 * FAULT_FLAG_USER; also another process's GUP, FAULT_FLAG_REMOTE) and
 * trips a guard records the task and the page here, and until that task
 * returns to user mode its kernel-mode faults on that page fail too: the
 * rest of the system call cannot get through the page either.  A
 * task_work (TWA_RESUME) drops the record on the way back to user mode, or
 * when the task exits, whichever comes first.
 *
 * The record is the task's alone: other threads see a normal page as soon
 * as the guard is cleared, and once one of them has mapped it the
 * kernel's accesses through that mapping no longer fault.  A record that
 * cannot be made (no memory and the reserve below in use, a kernel thread,
 * a task past exit_task_work) leaves only the cleared guard bit, as
 * without this file: the system call may then succeed.
 *
 * A record holds a reference to the context's backing file, which holds
 * the module (its f_op->owner) and keeps the file, the key of the record,
 * from being reused; it is dropped last, by fput(), whose final __fput()
 * runs after the record's task_work has returned.
 */

#include <linux/file.h>
#include <linux/hashtable.h>
#include <linux/rcupdate.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/task_work.h>

#include "ntvm.h"

struct ntvm_guard_hit {
	struct callback_head work;
	struct hlist_node node;		/* in ntvm_guard_hits, by task */
	struct task_struct *task;
	struct file *backing;
	unsigned long addr;
};

/*
 * Records for when kmalloc() fails (an OOM victim, fault injection): a
 * system call that trips a guard fails as it should unless this many
 * records are in use at once as well.
 */
#define NTVM_GUARD_RESERVE	32
static struct ntvm_guard_hit ntvm_guard_reserve[NTVM_GUARD_RESERVE];
static DECLARE_BITMAP(ntvm_guard_reserve_used, NTVM_GUARD_RESERVE);

static DEFINE_HASHTABLE(ntvm_guard_hits, 6);
static DEFINE_SPINLOCK(ntvm_guard_lock);
/* Records in the table: the fault path looks only when there are some. */
static atomic_t ntvm_guard_nr = ATOMIC_INIT(0);

/* Any address, for ntvm_guard_find(). */
#define NTVM_GUARD_ANY	(~0UL)

/* Has current a record for @backing at @addr (NTVM_GUARD_ANY: anywhere)? */
static bool ntvm_guard_find(struct file *backing, unsigned long addr)
{
	struct ntvm_guard_hit *hit;
	bool found = false;

	/* current's own records were counted by current. */
	if (!atomic_read(&ntvm_guard_nr))
		return false;
	spin_lock(&ntvm_guard_lock);
	hash_for_each_possible(ntvm_guard_hits, hit, node,
			       (unsigned long)current) {
		if (hit->task == current && hit->backing == backing &&
		    (addr == NTVM_GUARD_ANY || hit->addr == addr)) {
			found = true;
			break;
		}
	}
	spin_unlock(&ntvm_guard_lock);
	return found;
}

/**
 * ntvm_guard_refused - did current trip the guard of this page already?
 * @backing: the context's backing file
 * @addr:    the faulting address
 *
 * Return: true when current's kernel-mode accesses of the page must fail
 * until it returns to user mode.
 */
bool ntvm_guard_refused(struct file *backing, unsigned long addr)
{
	return ntvm_guard_find(backing, addr & PAGE_MASK);
}

/**
 * ntvm_guard_tripped - did current trip a guard page of this context?
 * @backing: the context's backing file
 *
 * Since it last returned to user mode, that is, in this system call: a
 * service of ours whose user copy failed then fails with
 * STATUS_GUARD_PAGE_VIOLATION, as on Windows.
 */
bool ntvm_guard_tripped(struct file *backing)
{
	return ntvm_guard_find(backing, NTVM_GUARD_ANY);
}

/*
 * A record for a kernel-mode fault that may trip a guard, allocated before
 * the guard is cleared; NULL for a kernel thread (it never returns to user
 * mode), or when there is no memory and the reserve is in use.
 */
struct ntvm_guard_hit *ntvm_guard_hit_alloc(void)
{
	struct ntvm_guard_hit *hit;
	unsigned int i;

	if (current->flags & PF_KTHREAD)
		return NULL;
#ifdef PF_USER_WORKER
	/* vhost workers run task works only for a signal: never drop it. */
	if ((current->flags & PF_USER_WORKER) &&
	    !(current->flags & PF_IO_WORKER))
		return NULL;
#endif
	hit = kmalloc(sizeof(*hit), GFP_KERNEL_ACCOUNT | __GFP_NOWARN);
	if (hit)
		return hit;
	for (i = 0; i < NTVM_GUARD_RESERVE; i++)
		if (!test_and_set_bit_lock(i, ntvm_guard_reserve_used))
			return &ntvm_guard_reserve[i];
	return NULL;
}

void ntvm_guard_hit_free(struct ntvm_guard_hit *hit)
{
	if (hit >= ntvm_guard_reserve &&
	    hit < ntvm_guard_reserve + NTVM_GUARD_RESERVE)
		clear_bit_unlock(hit - ntvm_guard_reserve,
				 ntvm_guard_reserve_used);
	else
		kfree(hit);
}

/*
 * Has a record ever been made?  Its callback's last instructions, after
 * the fput() that may drop the module's last reference, are module text.
 */
static bool ntvm_guard_used;

/* Before the module goes: no task is left inside a record's callback. */
void ntvm_guard_exit(void)
{
	if (READ_ONCE(ntvm_guard_used))
		synchronize_rcu_tasks();
}

/* Run by current on its way back to user mode, or at its exit. */
static void ntvm_guard_hit_done(struct callback_head *work)
{
	struct ntvm_guard_hit *hit = container_of(work, struct ntvm_guard_hit,
						  work);
	struct file *backing = hit->backing;

	spin_lock(&ntvm_guard_lock);
	hash_del(&hit->node);
	spin_unlock(&ntvm_guard_lock);
	atomic_dec(&ntvm_guard_nr);
	ntvm_guard_hit_free(hit);
	/* Last: the file holds the module. */
	fput(backing);
}

/**
 * ntvm_guard_hit_add - current tripped the guard of a page in kernel mode
 * @hit:     from ntvm_guard_hit_alloc(); consumed
 * @backing: the context's backing file
 * @addr:    the faulting address
 */
void ntvm_guard_hit_add(struct ntvm_guard_hit *hit, struct file *backing,
			unsigned long addr)
{
	hit->task = current;
	hit->backing = backing;
	hit->addr = addr & PAGE_MASK;
	init_task_work(&hit->work, ntvm_guard_hit_done);
	/* It runs in current only, after we return: nothing to race with. */
	if (task_work_add(current, &hit->work, TWA_RESUME)) {
		/* Exiting, past its task works: nothing retries there. */
		ntvm_guard_hit_free(hit);
		return;
	}
	get_file(backing);
	WRITE_ONCE(ntvm_guard_used, true);
	atomic_inc(&ntvm_guard_nr);
	spin_lock(&ntvm_guard_lock);
	hash_add(ntvm_guard_hits, &hit->node, (unsigned long)current);
	spin_unlock(&ntvm_guard_lock);
}
