/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * ntvm: the generic netlink family "ntvm", a view of ntvm memory for
 * tools (ntvmstat(8)): the system's commit charge and limit, one row per
 * context, and each allocation of a context with the runs of pages inside
 * it, as VMMap shows them on Windows.
 *
 * Family NTVM_GENL_NAME, version NTVM_GENL_VERSION.  Every request is
 * validated strictly against the family's policy: an attribute this
 * header does not define, an attribute of the wrong type or length, an
 * attribute only the kernel sends (marked "reply" below), or a non-zero
 * reserved byte of the generic netlink header fails with EINVAL (with an
 * extended ACK naming the attribute), a value out of the attribute's
 * range (a pid or context of 0) with ERANGE; an unknown command, an
 * event command, or a do or dump request the command does not have
 * fails with EOPNOTSUPP.
 *
 * Commands (the kernel replies with the same command):
 *
 *  NTVM_CMD_GET_SYSTEM (do): the NTVM_A_SYS_* attributes.  Anyone may
 *	ask.
 *
 *  NTVM_CMD_GET_PROCESS (do, dump): one message per context (one open of
 *	/dev/ntvm) with NTVM_A_PID, NTVM_A_CONTEXT, NTVM_A_COMM and the
 *	NTVM_A_PROC_* attributes.  The do request needs NTVM_A_PID and
 *	takes NTVM_A_CONTEXT (default: the process's first context).  A
 *	dump takes NTVM_A_PID as a filter; without it, it lists every
 *	context the caller may see (its own process's only, when not
 *	privileged).
 *
 *  NTVM_CMD_GET_ALLOCATION (dump): one message per allocation of the
 *	contexts of process NTVM_A_PID (required; NTVM_A_CONTEXT picks one
 *	context), in the order of their addresses, with NTVM_A_PID,
 *	NTVM_A_CONTEXT, the NTVM_A_ALLOC_* attributes and the runs of
 *	pages inside it (NTVM_A_ALLOC_RUNS).  The dump resumes where it
 *	stopped, by address, so it works for any number of allocations and
 *	sees allocations changed meanwhile as they are when it reaches
 *	them.  An allocation whose runs do not fit in one message goes on
 *	in the next one, which has the same NTVM_A_ALLOC_BASE and
 *	NTVM_ALLOC_F_CONTINUED in NTVM_A_ALLOC_FLAGS.
 *
 *  NTVM_CMD_EVENT_COMMIT_REFUSED, NTVM_CMD_EVENT_ALLOCATION_FORGOTTEN:
 *	sent to the multicast group NTVM_GENL_MCGRP_EVENTS (joining it
 *	needs CAP_SYS_ADMIN), never as requests: a commit refused at a
 *	commit limit (NTVM_A_EVENT_REQUESTED, NTVM_A_EVENT_LIMIT_KIND,
 *	NTVM_A_EVENT_LIMIT, NTVM_A_PROC_COMMIT_CHARGE,
 *	NTVM_A_PROC_USER_CHARGE), and an allocation
 *	forgotten because its process unmapped or replaced its views
 *	(NTVM_A_ALLOC_BASE, NTVM_A_ALLOC_SIZE).  Both carry NTVM_A_PID (in the
 *	initial pid namespace) and NTVM_A_CONTEXT.  At most
 *	NTVM_EVENT_RATE events are sent a second; the number left out
 *	before an event is its NTVM_A_EVENT_DROPPED.
 *
 * Access: a process may always see its own contexts.  Another process's
 * contexts (NTVM_CMD_GET_PROCESS, NTVM_CMD_GET_ALLOCATION) need
 * CAP_SYS_PTRACE, the capability that lets a process read any other's
 * memory, in the initial user namespace, both of the socket's opener and
 * of the caller (EPERM otherwise).  A process is named by its pid in the
 * caller's pid namespace; a process that does not exist there fails with
 * ESRCH, one that has no context with ENOENT.
 *
 * Sizes and counts are u64 bytes (padded with NTVM_A_PAD), addresses are
 * the process's user addresses; no kernel address is ever sent.
 *
 * Additions keep the version: new attributes and commands come at the end
 * of their enums; a reply attribute unknown to the reader is to be
 * skipped.
 *
 * Copyright (C) 2026 The ntvm authors
 */

#ifndef __LINUX_NTVM_NETLINK_H
#define __LINUX_NTVM_NETLINK_H

#define NTVM_GENL_NAME		"ntvm"
#define NTVM_GENL_VERSION	1
#define NTVM_GENL_MCGRP_EVENTS	"events"

/* Events sent a second, at most. */
#define NTVM_EVENT_RATE		10

enum ntvm_genl_cmd {
	NTVM_CMD_UNSPEC,
	NTVM_CMD_GET_SYSTEM,
	NTVM_CMD_GET_PROCESS,
	NTVM_CMD_GET_ALLOCATION,
	NTVM_CMD_EVENT_COMMIT_REFUSED,
	NTVM_CMD_EVENT_ALLOCATION_FORGOTTEN,

	__NTVM_CMD_MAX,
	NTVM_CMD_MAX = __NTVM_CMD_MAX - 1
};

/* NTVM_A_ALLOC_FLAGS */
#define NTVM_ALLOC_F_WRITE_WATCH	0x1	/* MEM_WRITE_WATCH */
#define NTVM_ALLOC_F_PLACEHOLDER	0x2	/* a placeholder */
#define NTVM_ALLOC_F_CONTINUED		0x4	/* runs of the previous message's */

/* NTVM_A_RUN_FLAGS */
#define NTVM_RUN_F_GUARD		0x1	/* PAGE_GUARD, not yet tripped */

/* NTVM_A_EVENT_LIMIT_KIND */
enum ntvm_limit_kind {
	NTVM_LIMIT_CONTEXT,	/* the context's own (a job's) limit */
	NTVM_LIMIT_USER,	/* the limit of the context's user */
};

/*
 * Attributes.  "request" ones may be sent; "reply" ones are only sent by
 * the kernel (a request carrying one fails with EINVAL).
 */
enum ntvm_genl_attr {
	NTVM_A_UNSPEC,
	NTVM_A_PAD,			/* padding of u64 attributes */
	NTVM_A_PID,			/* u32, request and reply: a process */
	/* u32, request and reply: a context's id, unique while it lives */
	NTVM_A_CONTEXT,
	NTVM_A_COMM,			/* string, reply: the process's name */

	/* NTVM_CMD_GET_SYSTEM, reply */
	NTVM_A_SYS_COMMIT_LIMIT,	/* u64: bytes each user may commit */
	NTVM_A_SYS_COMMITTED,		/* u64: bytes committed, all users */
	NTVM_A_SYS_CONTEXTS,		/* u64: live contexts */
	NTVM_A_SYS_ALLOCATIONS,		/* u64: allocations of all contexts */
	NTVM_A_SYS_RESIDENT,		/* u64: committed bytes in memory */
	NTVM_A_SYS_LOCKED,		/* u64: locked bytes */
	NTVM_A_SYS_PAGE_SIZE,		/* u32 */
	NTVM_A_SYS_GRANULARITY,		/* u32: allocation granularity */

	/* NTVM_CMD_GET_PROCESS, reply: one context */
	NTVM_A_PROC_ALLOCATIONS,	/* u64: allocations */
	NTVM_A_PROC_RESERVED,		/* u64: bytes in allocations */
	NTVM_A_PROC_COMMITTED,		/* u64: committed bytes in them */
	NTVM_A_PROC_RESIDENT,		/* u64: of those, in memory */
	NTVM_A_PROC_LOCKED,		/* u64: locked bytes */
	/* u64: bytes of MEM_WRITE_WATCH allocations */
	NTVM_A_PROC_WRITE_WATCHED,
	NTVM_A_PROC_COMMIT_CHARGE,	/* u64: bytes charged to it */
	NTVM_A_PROC_PEAK_CHARGE,	/* u64: the most ever charged */
	NTVM_A_PROC_COMMIT_LIMIT,	/* u64: its own limit; absent: none */
	/* u64: charged to its user, all contexts (see SYS_COMMIT_LIMIT) */
	NTVM_A_PROC_USER_CHARGE,

	/* NTVM_CMD_GET_ALLOCATION, reply: one allocation */
	NTVM_A_ALLOC_BASE,		/* u64: AllocationBase */
	NTVM_A_ALLOC_SIZE,		/* u64: bytes */
	NTVM_A_ALLOC_PROTECT,		/* u32: AllocationProtect (PAGE_*) */
	NTVM_A_ALLOC_TYPE,		/* u32: MEM_PRIVATE */
	NTVM_A_ALLOC_FLAGS,		/* u32: NTVM_ALLOC_F_* */
	NTVM_A_ALLOC_RUNS,		/* nest of NTVM_A_RUN, by address */
	/* nest: one run of pages of the same state and protection */
	NTVM_A_RUN,
	NTVM_A_RUN_ADDRESS,		/* u64: its first byte */
	NTVM_A_RUN_SIZE,		/* u64: bytes */
	NTVM_A_RUN_STATE,		/* u32: MEM_COMMIT or MEM_RESERVE */
	NTVM_A_RUN_PROTECT,		/* u32: PAGE_* (0 when reserved) */
	NTVM_A_RUN_FLAGS,		/* u32: NTVM_RUN_F_* */
	NTVM_A_RUN_RESIDENT,		/* u64: bytes in memory */
	/* u64: bytes written since the last write-watch reset */
	NTVM_A_RUN_DIRTY,
	NTVM_A_RUN_LOCKED,		/* u64: locked bytes */

	/* events, reply */
	NTVM_A_EVENT_REQUESTED,		/* u64: bytes the commit needed */
	NTVM_A_EVENT_LIMIT_KIND,	/* u32: enum ntvm_limit_kind */
	NTVM_A_EVENT_LIMIT,		/* u64: that limit, bytes */
	NTVM_A_EVENT_DROPPED,		/* u64: events left out before */

	__NTVM_A_MAX,
	NTVM_A_MAX = __NTVM_A_MAX - 1
};

#endif /* __LINUX_NTVM_NETLINK_H */
