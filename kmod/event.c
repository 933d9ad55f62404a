// SPDX-License-Identifier: GPL-2.0
/*
 * Events of the generic netlink family (netlink.c) for administrators: a
 * commit refused at a commit limit, an allocation forgotten because its
 * process unmapped its views.  Sent to the "events" multicast group, at
 * most NTVM_EVENT_RATE a second; the number left out travels with the
 * next event sent.
 *
 * Best effort: called with op_lock held, from the layers that see the
 * event; an event allocates nothing when nobody listens, and never
 * reclaims (GFP_NOWAIT), so that it cannot recurse into the shrinker.
 */

#include <linux/jiffies.h>
#include <linux/spinlock.h>
#include <net/genetlink.h>

#include "ntvm.h"
#include <linux/ntvm_netlink.h>

static DEFINE_SPINLOCK(ntvm_event_lock);
static unsigned long ntvm_event_window;	/* jiffies: start of this second */
static unsigned int ntvm_event_sent;	/* in this second */
static u64 ntvm_event_dropped;		/* since the last one sent */

/* May an event go now?  If so, @dropped: how many were left out. */
static bool ntvm_event_allowed(u64 *dropped)
{
	unsigned long now = jiffies;
	bool ok;

	spin_lock(&ntvm_event_lock);
	if (time_after_eq(now, ntvm_event_window + HZ)) {
		ntvm_event_window = now;
		ntvm_event_sent = 0;
	}
	ok = ntvm_event_sent < NTVM_EVENT_RATE;
	if (ok) {
		ntvm_event_sent++;
		*dropped = ntvm_event_dropped;
		ntvm_event_dropped = 0;
	} else {
		ntvm_event_dropped++;
	}
	spin_unlock(&ntvm_event_lock);
	return ok;
}

/* Give back a slot the event could not use: it counts as left out. */
static void ntvm_event_lost(u64 dropped)
{
	spin_lock(&ntvm_event_lock);
	ntvm_event_dropped += dropped + 1;
	spin_unlock(&ntvm_event_lock);
}

/* A new event message of @cmd about @ctx, or NULL. */
static struct sk_buff *ntvm_event_new(struct ntvm_ctx *ctx, u8 cmd,
				      void **hdr, u64 *dropped)
{
	struct sk_buff *skb;

	if (!genl_has_listeners(&ntvm_genl_family, &init_net,
				NTVM_MCGRP_EVENTS))
		return NULL;
	if (!ntvm_event_allowed(dropped))
		return NULL;
	skb = genlmsg_new(NLMSG_GOODSIZE, GFP_NOWAIT | __GFP_NOWARN);
	if (!skb)
		goto lost;
	*hdr = genlmsg_put(skb, 0, 0, &ntvm_genl_family, 0, cmd);
	if (!*hdr)
		goto free;
	if (nla_put_u32(skb, NTVM_A_PID, ntvm_registry_pid(ctx)) ||
	    nla_put_u32(skb, NTVM_A_CONTEXT, ctx->stat_id) ||
	    nla_put_u64_64bit(skb, NTVM_A_EVENT_DROPPED, *dropped,
			      NTVM_A_PAD))
		goto free;
	return skb;
free:
	nlmsg_free(skb);
lost:
	ntvm_event_lost(*dropped);
	return NULL;
}

static void ntvm_event_send(struct sk_buff *skb, void *hdr, u64 dropped)
{
	genlmsg_end(skb, hdr);
	if (genlmsg_multicast(&ntvm_genl_family, skb, 0, NTVM_MCGRP_EVENTS,
			      GFP_NOWAIT | __GFP_NOWARN) &&
	    genl_has_listeners(&ntvm_genl_family, &init_net,
			       NTVM_MCGRP_EVENTS))
		ntvm_event_lost(dropped);
}

/* A commit of @pages was refused at its user's limit or the context's. */
void ntvm_event_commit_refused(struct ntvm_ctx *ctx, unsigned long pages,
			       bool user_limit)
{
	u32 kind = user_limit ? NTVM_LIMIT_USER : NTVM_LIMIT_CONTEXT;
	unsigned long limit = user_limit ? ntvm_commit_limit() :
					   ctx->commit_limit;
	struct sk_buff *skb;
	u64 dropped;
	void *hdr;

	skb = ntvm_event_new(ctx, NTVM_CMD_EVENT_COMMIT_REFUSED, &hdr,
			     &dropped);
	if (!skb)
		return;
	if (nla_put_u64_64bit(skb, NTVM_A_EVENT_REQUESTED,
			      (u64)pages << PAGE_SHIFT, NTVM_A_PAD) ||
	    nla_put_u32(skb, NTVM_A_EVENT_LIMIT_KIND, kind) ||
	    nla_put_u64_64bit(skb, NTVM_A_EVENT_LIMIT,
			      (u64)limit << PAGE_SHIFT, NTVM_A_PAD) ||
	    nla_put_u64_64bit(skb, NTVM_A_PROC_COMMIT_CHARGE,
			      (u64)ctx->committed << PAGE_SHIFT, NTVM_A_PAD) ||
	    nla_put_u64_64bit(skb, NTVM_A_PROC_USER_CHARGE,
			      (u64)ntvm_committed_user(ctx) << PAGE_SHIFT,
			      NTVM_A_PAD)) {
		nlmsg_free(skb);
		ntvm_event_lost(dropped);
		return;
	}
	ntvm_event_send(skb, hdr, dropped);
}

/* The allocation [start, end) was forgotten: its views were unmapped. */
void ntvm_event_forgotten(struct ntvm_ctx *ctx, unsigned long start,
			  unsigned long end)
{
	struct sk_buff *skb;
	u64 dropped;
	void *hdr;

	skb = ntvm_event_new(ctx, NTVM_CMD_EVENT_ALLOCATION_FORGOTTEN, &hdr,
			     &dropped);
	if (!skb)
		return;
	if (nla_put_u64_64bit(skb, NTVM_A_ALLOC_BASE, start, NTVM_A_PAD) ||
	    nla_put_u64_64bit(skb, NTVM_A_ALLOC_SIZE, end - start,
			      NTVM_A_PAD)) {
		nlmsg_free(skb);
		ntvm_event_lost(dropped);
		return;
	}
	ntvm_event_send(skb, hdr, dropped);
}
