// SPDX-License-Identifier: GPL-2.0
/*
 * The generic netlink family "ntvm" (uapi/linux/ntvm_netlink.h): the
 * system's figures, one row per context, and a dump of a process's
 * allocations with the runs of pages inside them, for ntvmstat(8).
 *
 * A context is looked at with a reference on its backing file, taken from
 * the registry (registry.c), which keeps it from being freed, then under
 * its op_lock with its process's mm held, as the NT services do; no lock
 * of the registry is held meanwhile.  The allocation dump keeps where it
 * stopped (a context's id and an address) in the netlink callback, and
 * finds its place again by address on each pass: it needs no memory of
 * its own and sees changes made between passes.
 *
 * Access: a process sees its own contexts; another's need CAP_SYS_PTRACE
 * (netlink_capable(): of the socket's opener and of the caller).
 */

#include <linux/capability.h>
#include <linux/pid.h>
#include <linux/sched.h>
#include <linux/sched/mm.h>
#include <net/genetlink.h>

#include "ntvm.h"
#include "compat.h"
#include <linux/ntvm_netlink.h>

/* The dump callback's state (cb->args). */
enum {
	NTVM_NL_ARG_ID,		/* the context to go on with */
	NTVM_NL_ARG_ADDR,	/* the address to go on from */
	NTVM_NL_ARG_CTX,	/* 0, or the one context asked for */
	NTVM_NL_ARG_PID,	/* struct pid *, or NULL: every process */
};

static const struct nla_policy ntvm_nl_policy[NTVM_A_MAX + 1] = {
	[NTVM_A_UNSPEC ... NTVM_A_PAD] = { .type = NLA_REJECT },
	[NTVM_A_PID]		= NLA_POLICY_MIN(NLA_U32, 1),
	[NTVM_A_CONTEXT]	= NLA_POLICY_MIN(NLA_U32, 1),
	[NTVM_A_COMM ... NTVM_A_MAX] = { .type = NLA_REJECT },
};

/* May the caller of @skb see the contexts of process @pid? */
static bool ntvm_nl_may_see(const struct sk_buff *skb, struct pid *pid)
{
	return pid == task_tgid(current) ||
	       netlink_capable(skb, CAP_SYS_PTRACE);
}

/*
 * The process NTVM_A_PID names, with a reference, or an ERR_PTR():
 * -ESRCH when there is none, -EPERM when the caller may not see it.
 */
static struct pid *ntvm_nl_get_pid(const struct sk_buff *skb,
				   struct nlattr *attr,
				   struct netlink_ext_ack *extack)
{
	struct pid *pid = find_get_pid(nla_get_u32(attr));

	if (!pid || !pid_has_task(pid, PIDTYPE_TGID)) {
		put_pid(pid);
		NL_SET_ERR_MSG_ATTR(extack, attr, "no such process");
		return ERR_PTR(-ESRCH);
	}
	if (!ntvm_nl_may_see(skb, pid)) {
		put_pid(pid);
		NL_SET_ERR_MSG_ATTR(extack, attr,
				    "another process needs CAP_SYS_PTRACE");
		return ERR_PTR(-EPERM);
	}
	return pid;
}

/*
 * The first context of @pid (or every process's, @pid NULL) at or above
 * *@id, the one numbered @want if not 0; held (ntvm_registry_put()).
 */
static struct ntvm_ctx *ntvm_nl_find(unsigned long *id, struct pid *pid,
				     u32 want)
{
	struct ntvm_ctx *ctx;

	if (want && *id < want)
		*id = want;
	for (; (ctx = ntvm_registry_get(id)); ++*id) {
		if (want && *id != want) {
			ntvm_registry_put(ctx);
			return NULL;
		}
		if (!pid || ctx->owner == pid)
			return ctx;
		ntvm_registry_put(ctx);
	}
	return NULL;
}

static int ntvm_nl_put_bytes(struct sk_buff *skb, int type, u64 pages)
{
	return nla_put_u64_64bit(skb, type, pages << PAGE_SHIFT, NTVM_A_PAD);
}

/* The figures of @ctx, held. */
static int ntvm_nl_ctx_stats(struct ntvm_ctx *ctx, struct ntvm_ctx_stats *cs,
			     unsigned long *charge, unsigned long *peak,
			     unsigned long *limit)
{
	struct mm_struct *mm = ctx->mm;
	bool live = mmget_not_zero(mm);

	if (mutex_lock_killable(&ctx->op_lock)) {
		if (live)
			mmput_async(mm);
		return -EINTR;
	}
	if (live)
		ntvm_stats_context(ctx, cs);
	else
		memset(cs, 0, sizeof(*cs));
	*charge = ctx->committed;
	*peak = ctx->peak_committed;
	*limit = ctx->commit_limit;
	mutex_unlock(&ctx->op_lock);
	if (live)
		mmput_async(mm);
	return 0;
}

/* One context's row; @ctx held. */
static int ntvm_nl_fill_process(struct sk_buff *skb, struct ntvm_ctx *ctx,
				u32 portid, u32 seq, int flags)
{
	unsigned long charge, peak, limit;
	char comm[TASK_COMM_LEN] = "";
	struct ntvm_ctx_stats cs;
	struct task_struct *task;
	void *hdr;
	int err;

	err = ntvm_nl_ctx_stats(ctx, &cs, &charge, &peak, &limit);
	if (err)
		return err;
	rcu_read_lock();
	task = pid_task(ctx->owner, PIDTYPE_TGID);
	if (task)
		get_task_comm(comm, task);
	rcu_read_unlock();

	hdr = genlmsg_put(skb, portid, seq, &ntvm_genl_family, flags,
			  NTVM_CMD_GET_PROCESS);
	if (!hdr)
		return -EMSGSIZE;
	if (nla_put_u32(skb, NTVM_A_PID, pid_vnr(ctx->owner)) ||
	    nla_put_u32(skb, NTVM_A_CONTEXT, ctx->stat_id) ||
	    nla_put_string(skb, NTVM_A_COMM, comm) ||
	    nla_put_u64_64bit(skb, NTVM_A_PROC_ALLOCATIONS, cs.allocations,
			      NTVM_A_PAD) ||
	    nla_put_u64_64bit(skb, NTVM_A_PROC_RESERVED, cs.reserved,
			      NTVM_A_PAD) ||
	    ntvm_nl_put_bytes(skb, NTVM_A_PROC_COMMITTED, cs.committed) ||
	    ntvm_nl_put_bytes(skb, NTVM_A_PROC_RESIDENT, cs.resident) ||
	    ntvm_nl_put_bytes(skb, NTVM_A_PROC_LOCKED, cs.locked) ||
	    nla_put_u64_64bit(skb, NTVM_A_PROC_WRITE_WATCHED,
			      cs.write_watched, NTVM_A_PAD) ||
	    ntvm_nl_put_bytes(skb, NTVM_A_PROC_COMMIT_CHARGE, charge) ||
	    ntvm_nl_put_bytes(skb, NTVM_A_PROC_PEAK_CHARGE, peak) ||
	    (limit != ULONG_MAX &&
	     ntvm_nl_put_bytes(skb, NTVM_A_PROC_COMMIT_LIMIT, limit)) ||
	    ntvm_nl_put_bytes(skb, NTVM_A_PROC_USER_CHARGE,
			      ntvm_committed_user(ctx))) {
		genlmsg_cancel(skb, hdr);
		return -EMSGSIZE;
	}
	genlmsg_end(skb, hdr);
	return 0;
}

static int ntvm_nl_get_system(struct sk_buff *skb, struct genl_info *info)
{
	unsigned long charge, peak, limit, id, resident = 0, locked = 0;
	struct ntvm_ctx_stats cs;
	struct ntvm_ctx *ctx;
	struct sk_buff *msg;
	void *hdr;
	int err;

	for (id = 1; (ctx = ntvm_registry_get(&id)); id++) {
		err = ntvm_nl_ctx_stats(ctx, &cs, &charge, &peak, &limit);
		ntvm_registry_put(ctx);
		if (err)
			return err;
		resident += cs.resident;
		locked += cs.locked;
	}

	msg = genlmsg_new(NLMSG_GOODSIZE, GFP_KERNEL);
	if (!msg)
		return -ENOMEM;
	hdr = genlmsg_put_reply(msg, info, &ntvm_genl_family, 0,
				NTVM_CMD_GET_SYSTEM);
	if (!hdr ||
	    ntvm_nl_put_bytes(msg, NTVM_A_SYS_COMMIT_LIMIT,
			      ntvm_commit_limit()) ||
	    ntvm_nl_put_bytes(msg, NTVM_A_SYS_COMMITTED,
			      ntvm_committed_all()) ||
	    nla_put_u64_64bit(msg, NTVM_A_SYS_CONTEXTS,
			      atomic_long_read(&ntvm_nr_contexts), NTVM_A_PAD) ||
	    nla_put_u64_64bit(msg, NTVM_A_SYS_ALLOCATIONS,
			      atomic_long_read(&ntvm_nr_vads), NTVM_A_PAD) ||
	    ntvm_nl_put_bytes(msg, NTVM_A_SYS_RESIDENT, resident) ||
	    ntvm_nl_put_bytes(msg, NTVM_A_SYS_LOCKED, locked) ||
	    nla_put_u32(msg, NTVM_A_SYS_PAGE_SIZE, PAGE_SIZE) ||
	    nla_put_u32(msg, NTVM_A_SYS_GRANULARITY, NTVM_GRANULARITY)) {
		nlmsg_free(msg);
		return -EMSGSIZE;
	}
	genlmsg_end(msg, hdr);
	return genlmsg_reply(msg, info);
}

static int ntvm_nl_get_process(struct sk_buff *skb, struct genl_info *info)
{
	u32 want = 0;
	unsigned long id = 1;
	struct ntvm_ctx *ctx;
	struct sk_buff *msg;
	struct pid *pid;
	int err;

	if (GENL_REQ_ATTR_CHECK(info, NTVM_A_PID))
		return -EINVAL;
	if (info->attrs[NTVM_A_CONTEXT])
		want = nla_get_u32(info->attrs[NTVM_A_CONTEXT]);
	pid = ntvm_nl_get_pid(skb, info->attrs[NTVM_A_PID], info->extack);
	if (IS_ERR(pid))
		return PTR_ERR(pid);
	msg = genlmsg_new(NLMSG_GOODSIZE, GFP_KERNEL);
	if (!msg) {
		err = -ENOMEM;
		goto out;
	}
	ctx = ntvm_nl_find(&id, pid, want);
	if (ctx) {
		err = ntvm_nl_fill_process(msg, ctx, info->snd_portid,
					   info->snd_seq, 0);
		ntvm_registry_put(ctx);
	}
	if (!ctx) {
		NL_SET_ERR_MSG(info->extack, "no such context");
		err = -ENOENT;
	}
	if (err)
		goto free;
	put_pid(pid);
	return genlmsg_reply(msg, info);
free:
	nlmsg_free(msg);
out:
	put_pid(pid);
	return err;
}

/*
 * Start of a dump of processes or allocations: the process asked for (a
 * reference in cb->args), and the context.
 */
static int ntvm_nl_dump_start(struct netlink_callback *cb, bool need_pid)
{
	struct nlattr **attrs = ntvm_genl_dump_attrs(cb);
	unsigned long id = 1;
	struct ntvm_ctx *ctx;
	struct pid *pid;
	u32 want = 0;

	if (need_pid && NL_REQ_ATTR_CHECK(cb->extack, NULL, attrs, NTVM_A_PID))
		return -EINVAL;
	if (attrs[NTVM_A_CONTEXT])
		want = nla_get_u32(attrs[NTVM_A_CONTEXT]);
	cb->args[NTVM_NL_ARG_ID] = 1;
	cb->args[NTVM_NL_ARG_CTX] = want;
	if (!attrs[NTVM_A_PID])
		return 0;
	pid = ntvm_nl_get_pid(cb->skb, attrs[NTVM_A_PID], cb->extack);
	if (IS_ERR(pid))
		return PTR_ERR(pid);
	ctx = ntvm_nl_find(&id, pid, want);
	if (ctx)
		ntvm_registry_put(ctx);
	if (!ctx) {
		put_pid(pid);
		NL_SET_ERR_MSG(cb->extack, "no such context");
		return -ENOENT;
	}
	cb->args[NTVM_NL_ARG_PID] = (unsigned long)pid;
	return 0;
}

static int ntvm_nl_dump_done(struct netlink_callback *cb)
{
	put_pid((struct pid *)cb->args[NTVM_NL_ARG_PID]);
	return 0;
}

static int ntvm_nl_process_start(struct netlink_callback *cb)
{
	return ntvm_nl_dump_start(cb, false);
}

static int ntvm_nl_alloc_start(struct netlink_callback *cb)
{
	return ntvm_nl_dump_start(cb, true);
}

static int ntvm_nl_dump_processes(struct sk_buff *skb,
				  struct netlink_callback *cb)
{
	struct pid *pid = (struct pid *)cb->args[NTVM_NL_ARG_PID];
	unsigned long id = cb->args[NTVM_NL_ARG_ID];
	u32 want = cb->args[NTVM_NL_ARG_CTX];
	struct ntvm_ctx *ctx;
	int err = 0;

	for (; (ctx = ntvm_nl_find(&id, pid, want)); id++) {
		/* Unfiltered: only what the caller may see, named in its ns. */
		if (!pid && (!ntvm_nl_may_see(cb->skb, ctx->owner) ||
			     !pid_vnr(ctx->owner))) {
			ntvm_registry_put(ctx);
			continue;
		}
		err = ntvm_nl_fill_process(skb, ctx,
					   NETLINK_CB(cb->skb).portid,
					   cb->nlh->nlmsg_seq, NLM_F_MULTI);
		ntvm_registry_put(ctx);
		if (err)
			break;
	}
	cb->args[NTVM_NL_ARG_ID] = id;
	if (err == -EMSGSIZE && skb->len)
		return skb->len;
	return err ?: skb->len;
}

static int ntvm_nl_put_run(struct sk_buff *skb,
			   const struct ntvm_run_stats *run)
{
	struct nlattr *nest = nla_nest_start(skb, NTVM_A_RUN);

	if (!nest)
		return -EMSGSIZE;
	if (nla_put_u64_64bit(skb, NTVM_A_RUN_ADDRESS, run->start,
			      NTVM_A_PAD) ||
	    nla_put_u64_64bit(skb, NTVM_A_RUN_SIZE, run->end - run->start,
			      NTVM_A_PAD) ||
	    nla_put_u32(skb, NTVM_A_RUN_STATE, run->state) ||
	    nla_put_u32(skb, NTVM_A_RUN_PROTECT, run->protect) ||
	    nla_put_u32(skb, NTVM_A_RUN_FLAGS,
			run->guard ? NTVM_RUN_F_GUARD : 0) ||
	    ntvm_nl_put_bytes(skb, NTVM_A_RUN_RESIDENT, run->resident) ||
	    ntvm_nl_put_bytes(skb, NTVM_A_RUN_DIRTY, run->dirty) ||
	    ntvm_nl_put_bytes(skb, NTVM_A_RUN_LOCKED, run->locked)) {
		nla_nest_cancel(skb, nest);
		return -EMSGSIZE;
	}
	nla_nest_end(skb, nest);
	return 0;
}

/*
 * The message of allocation @vad from *@addr on.  -EMSGSIZE when the skb
 * is full, *@addr then where the next message starts.
 */
static int ntvm_nl_fill_alloc(struct sk_buff *skb, struct netlink_callback *cb,
			      struct ntvm_ctx *ctx, struct ntvm_vad *vad,
			      unsigned long *addr)
{
	unsigned long base = ntvm_vad_base(vad), end = ntvm_vad_end(vad);
	struct ntvm_run_stats run;
	struct nlattr *runs;
	unsigned long a;
	u32 flags = 0;
	void *hdr;

	if (vad->write_watch)
		flags |= NTVM_ALLOC_F_WRITE_WATCH;
	if (vad->placeholder)
		flags |= NTVM_ALLOC_F_PLACEHOLDER;
	if (*addr > base)
		flags |= NTVM_ALLOC_F_CONTINUED;
	hdr = genlmsg_put(skb, NETLINK_CB(cb->skb).portid, cb->nlh->nlmsg_seq,
			  &ntvm_genl_family, NLM_F_MULTI,
			  NTVM_CMD_GET_ALLOCATION);
	if (!hdr)
		return -EMSGSIZE;
	if (nla_put_u32(skb, NTVM_A_PID, pid_vnr(ctx->owner)) ||
	    nla_put_u32(skb, NTVM_A_CONTEXT, ctx->stat_id) ||
	    nla_put_u64_64bit(skb, NTVM_A_ALLOC_BASE, base, NTVM_A_PAD) ||
	    nla_put_u64_64bit(skb, NTVM_A_ALLOC_SIZE, end - base,
			      NTVM_A_PAD) ||
	    nla_put_u32(skb, NTVM_A_ALLOC_PROTECT, vad->alloc_protect) ||
	    nla_put_u32(skb, NTVM_A_ALLOC_TYPE, NTVM_MEM_PRIVATE) ||
	    nla_put_u32(skb, NTVM_A_ALLOC_FLAGS, flags))
		goto cancel;
	runs = nla_nest_start(skb, NTVM_A_ALLOC_RUNS);
	if (!runs)
		goto cancel;
	for (a = *addr; a < end; a = run.end) {
		ntvm_stats_run(ctx, vad, a, &run);
		if (ntvm_nl_put_run(skb, &run)) {
			if (a == *addr)
				goto cancel;
			/* The rest in the next message. */
			nla_nest_end(skb, runs);
			genlmsg_end(skb, hdr);
			*addr = a;
			return -EMSGSIZE;
		}
	}
	nla_nest_end(skb, runs);
	genlmsg_end(skb, hdr);
	*addr = end;
	return 0;
cancel:
	genlmsg_cancel(skb, hdr);
	return -EMSGSIZE;
}

/* The allocations of @ctx from *@addr on, into @skb. */
static int ntvm_nl_dump_ctx(struct sk_buff *skb, struct netlink_callback *cb,
			    struct ntvm_ctx *ctx, unsigned long *addr)
{
	struct mm_struct *mm = ctx->mm;
	struct ntvm_vad *vad;
	int err = 0;

	/* Its process is gone: no address space, no allocation. */
	if (!mmget_not_zero(mm))
		return 0;
	if (mutex_lock_killable(&ctx->op_lock)) {
		mmput_async(mm);
		return -EINTR;
	}
	while ((vad = ntvm_stats_next_alloc(ctx, *addr))) {
		*addr = max(*addr, ntvm_vad_base(vad));
		err = ntvm_nl_fill_alloc(skb, cb, ctx, vad, addr);
		if (err)
			break;
	}
	mutex_unlock(&ctx->op_lock);
	mmput_async(mm);
	return err;
}

static int ntvm_nl_dump_allocations(struct sk_buff *skb,
				    struct netlink_callback *cb)
{
	struct pid *pid = (struct pid *)cb->args[NTVM_NL_ARG_PID];
	unsigned long id = cb->args[NTVM_NL_ARG_ID];
	unsigned long addr = cb->args[NTVM_NL_ARG_ADDR];
	u32 want = cb->args[NTVM_NL_ARG_CTX];
	struct ntvm_ctx *ctx;
	int err = 0;

	for (; (ctx = ntvm_nl_find(&id, pid, want)); id++, addr = 0) {
		err = ntvm_nl_dump_ctx(skb, cb, ctx, &addr);
		ntvm_registry_put(ctx);
		if (err)
			break;
	}
	cb->args[NTVM_NL_ARG_ID] = id;
	cb->args[NTVM_NL_ARG_ADDR] = addr;
	if (err == -EMSGSIZE && skb->len)
		return skb->len;
	return err ?: skb->len;
}

static const struct genl_ops ntvm_nl_ops[] = {
	{
		.cmd	= NTVM_CMD_GET_SYSTEM,
		.doit	= ntvm_nl_get_system,
	},
	{
		.cmd	= NTVM_CMD_GET_PROCESS,
		.doit	= ntvm_nl_get_process,
		.start	= ntvm_nl_process_start,
		.dumpit	= ntvm_nl_dump_processes,
		.done	= ntvm_nl_dump_done,
	},
	{
		.cmd	= NTVM_CMD_GET_ALLOCATION,
		.start	= ntvm_nl_alloc_start,
		.dumpit	= ntvm_nl_dump_allocations,
		.done	= ntvm_nl_dump_done,
	},
};

static const struct genl_multicast_group ntvm_nl_mcgrps[] = {
	[NTVM_MCGRP_EVENTS] = {
		.name	= NTVM_GENL_MCGRP_EVENTS,
		.flags	= GENL_MCAST_CAP_SYS_ADMIN,
	},
};

struct genl_family ntvm_genl_family __ro_after_init = {
	.name		= NTVM_GENL_NAME,
	.version	= NTVM_GENL_VERSION,
	.maxattr	= NTVM_A_MAX,
	.policy		= ntvm_nl_policy,
	.parallel_ops	= true,
	.module		= THIS_MODULE,
	.ops		= ntvm_nl_ops,
	.n_ops		= ARRAY_SIZE(ntvm_nl_ops),
	.resv_start_op	= NTVM_CMD_GET_SYSTEM,
	.mcgrps		= ntvm_nl_mcgrps,
	.n_mcgrps	= ARRAY_SIZE(ntvm_nl_mcgrps),
};

int ntvm_netlink_init(void)
{
	return genl_register_family(&ntvm_genl_family);
}

void ntvm_netlink_exit(void)
{
	genl_unregister_family(&ntvm_genl_family);
}
