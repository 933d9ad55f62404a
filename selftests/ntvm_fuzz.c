// SPDX-License-Identifier: GPL-2.0
/*
 * ioctl fuzzer: random request numbers and sizes, random field values
 * (NULL, unaligned, kernel addresses, near and past the limits, huge
 * sizes, every flag bit, reserved fields set) and random sequences of
 * valid calls.  Every call must come back with a defined result: 0 and a
 * known NTSTATUS, or -1 and EFAULT/ENOTTY/EINVAL.  A quarter of the calls
 * go to another process's context, its file taken with pidfd_getfd(2):
 * those may also fail with EPERM (what only the owner may do) and ESRCH
 * (the owner, killed now and then, has exited).  The kernel's log is
 * judged by tools/vm-run.
 *
 *   ntvm_fuzz [CALLS] [SEED]
 *
 * CALLS defaults to $NTVM_FUZZ_CALLS, else 100000; SEED to 1.
 *
 * Then CALLS / 16 random messages to the generic netlink family "ntvm"
 * (random commands, do or dump, header bytes, attributes of any type,
 * length and content, lengths that lie), while the context still holds
 * what the calls left: each must get data or a clean error (EINVAL,
 * ERANGE, EOPNOTSUPP, ESRCH, ENOENT, EPERM).
 *
 * Prints "ok 1 ..." / "not ok 1 ..." and "ok 2 ..." / "not ok 2 ..." (TAP)
 * with the counts.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <linux/ntvm.h>

#include "ntvm_nl.h"

static uint64_t rng_state;

static uint64_t rnd(void)
{
	/* xorshift64*: reproducible from the seed */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545F4914F6CDD1DULL;
}

static uint64_t live[64];	/* bases handed out, to aim at */
static uint64_t ph_live[16];	/* placeholders made, to split and join */

#define WW_OUT 512
static __u64 ww_out[WW_OUT];	/* a write-watch array that holds WW_OUT */

static uint64_t addr(void)
{
	static const uint64_t special[] = {
		0, 1, 0xfff, 0x1000, 0xffff, 0x10000, 0x10001,
		0x7FFFFFFEFFFFULL, 0x7FFFFFFF0000ULL, 0x7FFFFFFFF000ULL,
		0x800000000000ULL, 0xffff800000000000ULL,
		0xffffffffff600000ULL, ~0ULL, ~0ULL - 0xfff,
	};

	switch (rnd() % 6) {
	case 0:
		return special[rnd() % (sizeof(special) / sizeof(special[0]))];
	case 1:
		return rnd();
	case 2:
		return rnd() & 0x7FFFFFFFFFFFULL;
	default:
		return live[rnd() % 64] + (rnd() % 0x40000) -
		       (rnd() % 3 ? 0 : 0x20000);
	}
}

static uint64_t size(void)
{
	switch (rnd() % 6) {
	case 0:
		return 0;
	case 1:
		return rnd();
	case 2:
		return ~0ULL - (rnd() % 0x10000);
	default:
		return rnd() % 0x80000;
	}
}

static uint32_t type(void)
{
	static const uint32_t t[] = {
		NTVM_MEM_COMMIT, NTVM_MEM_RESERVE,
		NTVM_MEM_COMMIT | NTVM_MEM_RESERVE, NTVM_MEM_DECOMMIT,
		NTVM_MEM_RELEASE, NTVM_MEM_RESET, NTVM_MEM_RESET_UNDO,
		NTVM_MEM_TOP_DOWN,
		NTVM_MEM_WRITE_WATCH, NTVM_MEM_LARGE_PAGES, NTVM_MEM_PHYSICAL,
		NTVM_MEM_RESERVE | NTVM_MEM_WRITE_WATCH,
		NTVM_MEM_COMMIT | NTVM_MEM_RESERVE | NTVM_MEM_WRITE_WATCH,
		NTVM_MEM_RESERVE | NTVM_MEM_RESERVE_PLACEHOLDER,
		NTVM_MEM_RESERVE | NTVM_MEM_REPLACE_PLACEHOLDER,
		NTVM_MEM_RESERVE | NTVM_MEM_COMMIT |
			NTVM_MEM_REPLACE_PLACEHOLDER,
		NTVM_MEM_RELEASE | NTVM_MEM_PRESERVE_PLACEHOLDER,
		NTVM_MEM_RELEASE | NTVM_MEM_COALESCE_PLACEHOLDERS,
	};
	const unsigned int n = sizeof(t) / sizeof(t[0]);

	if (rnd() % 4 == 0)
		return (uint32_t)rnd();
	return t[rnd() % n] | (rnd() % 5 ? 0 : t[rnd() % n]);
}

/* The free types, placeholders' too; now and then any type. */
static uint32_t free_type(void)
{
	static const uint32_t t[] = {
		NTVM_MEM_RELEASE, NTVM_MEM_DECOMMIT, NTVM_MEM_RELEASE,
		NTVM_MEM_DECOMMIT,
		NTVM_MEM_RELEASE | NTVM_MEM_PRESERVE_PLACEHOLDER,
		NTVM_MEM_RELEASE | NTVM_MEM_COALESCE_PLACEHOLDERS,
	};

	return t[rnd() % (sizeof(t) / sizeof(t[0]))];
}

static uint32_t prot(void)
{
	if (rnd() % 4 == 0)
		return (uint32_t)rnd() & (rnd() % 2 ? 0xfff : ~0U);
	return (1U << (rnd() % 8)) | (rnd() % 6 ? 0 : 0x100U << (rnd() % 3));
}

/* Extended parameters: none, ours (often valid), or a bad pointer. */
static struct ntvm_mem_extended_parameter params[4];
static struct ntvm_mem_address_requirements req;

static void fuzz_params(struct ntvm_alloc_ex_args *x)
{
	unsigned int i;

	x->count = rnd() % 3 ? rnd() % 5 : (uint32_t)rnd();
	x->params = rnd() % 8 ? (uintptr_t)params : addr();
	if (rnd() % 4 == 0)
		x->params = 0;
	req.lowest = rnd() % 2 ? 0 : addr() & ~0xffffULL;
	req.highest = rnd() % 2 ? 0 : (addr() | 0xfff);
	req.alignment = rnd() % 2 ? 0 : 1ULL << (rnd() % 40);
	for (i = 0; i < 4; i++) {
		params[i].type = rnd() % 8 ? 1 + rnd() % 7 : rnd();
		params[i].value = params[i].type == 1 && rnd() % 8 ?
				  (uintptr_t)&req : rnd() % 4 ? rnd() % 2 :
				  addr();
	}
}

static int known_status(uint32_t s)
{
	switch (s) {
	case NTVM_STATUS_SUCCESS:
	case NTVM_STATUS_GUARD_PAGE_VIOLATION:
	case NTVM_STATUS_ACCESS_VIOLATION:
	case NTVM_STATUS_INVALID_PARAMETER:
	case NTVM_STATUS_NO_MEMORY:
	case NTVM_STATUS_CONFLICTING_ADDRESSES:
	case NTVM_STATUS_UNABLE_TO_FREE_VM:
	case NTVM_STATUS_NOT_COMMITTED:
	case NTVM_STATUS_INVALID_PAGE_PROTECTION:
	case NTVM_STATUS_PRIVILEGE_NOT_HELD:
	case NTVM_STATUS_FREE_VM_NOT_AT_BASE:
	case NTVM_STATUS_MEMORY_NOT_ALLOCATED:
	case NTVM_STATUS_NOT_SUPPORTED:
	case NTVM_STATUS_INVALID_PARAMETER_2:
	case NTVM_STATUS_INVALID_PARAMETER_3:
	case NTVM_STATUS_INVALID_PARAMETER_4:
	case NTVM_STATUS_INVALID_PARAMETER_5:
	case NTVM_STATUS_COMMITMENT_LIMIT:
	case NTVM_STATUS_WORKING_SET_LIMIT_RANGE:
	case NTVM_STATUS_WAS_UNLOCKED:
	case NTVM_STATUS_WAS_LOCKED:
	case NTVM_STATUS_NOT_LOCKED:
	case NTVM_STATUS_BAD_WORKING_SET_LIMIT:
	case NTVM_STATUS_WORKING_SET_QUOTA:
		return 1;
	}
	return 0;
}

/* Random messages to the netlink family: the number of undefined results. */
static unsigned long fuzz_netlink(unsigned long msgs)
{
	static const size_t lens[] = { 0, 1, 2, 3, 4, 4, 4, 8, 8, 12, 64 };
	unsigned long bad = 0;
	struct nl nl;

	if (nl_open(&nl)) {
		printf("# netlink: no family \"%s\"\n", NTVM_GENL_NAME);
		return 1;
	}
	for (unsigned long i = 0; i < msgs; i++) {
		struct nlreq r;
		struct genlmsghdr *g;
		int n = rnd() % 5, err;

		ntvm_req(&nl, &r, rnd() % 8, rnd() % 2);
		g = NLMSG_DATA((struct nlmsghdr *)r.buf);
		if (rnd() % 16 == 0)
			g->reserved = rnd();
		if (rnd() % 16 == 0)
			g->version = rnd();
		while (n--) {
			uint16_t type = rnd() % (NTVM_A_MAX + 4);
			size_t len = lens[rnd() % 11];
			uint32_t v[16];

			for (size_t k = 0; k < 16; k++)
				v[k] = rnd();
			if (type == NTVM_A_PID && rnd() % 2)
				v[0] = rnd() % 4 ? (uint32_t)getpid() : 1;
			if (type == NTVM_A_CONTEXT && rnd() % 2)
				v[0] = rnd() % 8;
			if (rnd() % 16 == 0)
				type |= NLA_F_NESTED;
			if (rnd() % 32 == 0)	/* a length that lies */
				req_put_raw(&r, type, v, len,
					    (uint16_t)rnd() % 128);
			else
				req_put(&r, type, v, len);
		}
		err = nl_send(&nl, &r);
		if (!err)
			err = nl_recv(&nl, NULL, NULL);
		if (err && err != -EINVAL && err != -ERANGE &&
		    err != -EOPNOTSUPP && err != -ESRCH && err != -ENOENT &&
		    err != -EPERM) {
			printf("# netlink message %lu: error %d\n", i, err);
			bad++;
		}
	}
	nl_close(&nl);
	return bad;
}

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_pidfd_getfd
#define SYS_pidfd_getfd 438
#endif

/*
 * Another process with a context of its own, which waits; its context's
 * file, taken from it, or -1.
 */
static pid_t remote_pid;

static int remote_start(void)
{
	int fds[2], n = -1, pidfd, fd;

	if (pipe(fds))
		return -1;
	remote_pid = fork();
	if (remote_pid < 0)
		return -1;
	if (!remote_pid) {
		close(fds[0]);
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		n = open("/dev/ntvm", O_RDWR | O_CLOEXEC);
		if (write(fds[1], &n, sizeof(n)) != sizeof(n))
			_exit(1);
		for (;;)
			pause();
	}
	close(fds[1]);
	if (read(fds[0], &n, sizeof(n)) != sizeof(n))
		n = -1;
	close(fds[0]);
	pidfd = syscall(SYS_pidfd_open, remote_pid, 0);
	if (pidfd < 0 || n < 0)
		return -1;
	fd = syscall(SYS_pidfd_getfd, pidfd, n, 0);
	close(pidfd);
	return fd;
}

static void remote_kill(void)
{
	if (remote_pid > 0) {
		kill(remote_pid, SIGKILL);
		waitpid(remote_pid, NULL, 0);
		remote_pid = 0;
	}
}

int main(int argc, char **argv)
{
	const char *env = getenv("NTVM_FUZZ_CALLS");
	unsigned long calls = argc > 1 ? strtoul(argv[1], NULL, 0) :
			      env ? strtoul(env, NULL, 0) : 100000;
	unsigned long i, bad = 0, ok = 0, r_calls = 0, r_ok = 0, r_perm = 0,
		      r_gone = 0, nl_bad;
	int fd = open("/dev/ntvm", O_RDWR | O_CLOEXEC), rfd = -1;
	union {
		struct ntvm_alloc_args a;
		struct ntvm_alloc_ex_args x;
		struct ntvm_free_args f;
		struct ntvm_protect_args p;
		struct ntvm_query_args q;
		struct ntvm_sysinfo_args s;
		struct ntvm_get_write_watch_args g;
		struct ntvm_reset_write_watch_args r;
		struct ntvm_lock_args l;
		struct ntvm_working_set_args w;
		struct ntvm_address_limit_args m;
		unsigned char raw[256];
	} u;

	rng_state = (argc > 2 ? strtoull(argv[2], NULL, 0) : 1) * 2654435761ULL + 1;
	if (fd < 0) {
		perror("open /dev/ntvm");
		return 1;
	}
	printf("TAP version 13\n1..2\n");
	for (i = 0; i < calls; i++) {
		unsigned long req;
		uint32_t *status = NULL;
		void *arg = &u;
		int ret, what = rnd() % 23, remote, cfd;

		/* Another process: a new one, and killed halfway. */
		if (i % 20000 == 0) {
			remote_kill();
			if (rfd >= 0)
				close(rfd);
			rfd = remote_start();
		} else if (i % 20000 == 15000) {
			remote_kill();
		}
		remote = rfd >= 0 && rnd() % 4 == 0;
		cfd = remote ? rfd : fd;

		memset(&u, (int)rnd(), sizeof(u));
		switch (what) {
		case 0:	/* any request at all */
			req = (unsigned long)(uint32_t)rnd();
			break;
		case 1:	/* ours, with a random number, size and direction */
			req = _IOC(rnd() % 4, NTVM_IOC_MAGIC, rnd() % 256,
				   rnd() % 256);
			break;
		case 2:	/* a bad argument pointer */
			req = (unsigned long[]){ NTVM_IOC_ALLOC, NTVM_IOC_FREE,
				NTVM_IOC_PROTECT, NTVM_IOC_QUERY,
				NTVM_IOC_SYSINFO, NTVM_IOC_FEATURES,
				NTVM_IOC_GET_WRITE_WATCH,
				NTVM_IOC_RESET_WRITE_WATCH, NTVM_IOC_LOCK,
				NTVM_IOC_UNLOCK, NTVM_IOC_WORKING_SET,
				NTVM_IOC_ALLOC_EX,
				NTVM_IOC_ADDRESS_LIMIT,
				NTVM_IOC_VERSION }[rnd() % 14];
			arg = (void *)(uintptr_t)addr();
			break;
		case 3: case 4: case 5: case 6:
			req = NTVM_IOC_ALLOC;
			u.a.base = addr();
			u.a.size = size();
			u.a.type = type();
			u.a.protect = prot();
			u.a.zero_bits = rnd() % 8 ? 0 : (uint32_t)rnd() % 40;
			status = &u.a.status;
			break;
		case 7: case 8: case 9:
			req = NTVM_IOC_FREE;
			u.f.base = addr();
			u.f.size = rnd() % 3 ? 0 : size();
			u.f.type = rnd() % 8 ? free_type() : type();
			/* Placeholders: a split, a join, at a base handed out. */
			if ((u.f.type & (NTVM_MEM_PRESERVE_PLACEHOLDER |
					 NTVM_MEM_COALESCE_PLACEHOLDERS)) &&
			    rnd() % 2) {
				u.f.base = ph_live[rnd() % 16] +
					   (rnd() % 2 ? 0 : 0x1000 * (rnd() % 16));
				u.f.size = rnd() % 2 ? 0x1000 * (1 + rnd() % 32) :
					   0x10000 * (1 + rnd() % 4);
			}
			status = &u.f.status;
			break;
		case 10: case 11: case 12:
			req = NTVM_IOC_PROTECT;
			u.p.base = addr();
			u.p.size = size();
			u.p.protect = prot();
			u.p.pad = rnd() % 8 ? 0 : (uint32_t)rnd();
			status = &u.p.status;
			break;
		case 16:
			req = NTVM_IOC_GET_WRITE_WATCH;
			u.g.base = addr();
			u.g.size = size();
			/* Our buffer with a count it holds, or any pointer. */
			if (rnd() % 3) {
				u.g.addresses = (uintptr_t)ww_out;
				u.g.count = rnd() % (WW_OUT + 1);
			} else {
				u.g.addresses = addr();
				u.g.count = rnd() % 2 ? rnd() : rnd() % 64;
			}
			u.g.watch_flags = rnd() % 4 ? rnd() % 2 : (uint32_t)rnd();
			u.g.pad = rnd() % 8 ? 0 : (uint32_t)rnd();
			status = &u.g.status;
			break;
		case 17:
			req = NTVM_IOC_RESET_WRITE_WATCH;
			u.r.base = addr();
			u.r.size = size();
			u.r.pad = rnd() % 8 ? 0 : (uint32_t)rnd();
			status = &u.r.status;
			break;
		case 18: case 19:
			req = what == 18 ? NTVM_IOC_LOCK : NTVM_IOC_UNLOCK;
			u.l.base = addr();
			u.l.size = size();
			u.l.map_type = rnd() % 8 ? 1 + rnd() % 3 :
						   (uint32_t)rnd();
			status = &u.l.status;
			break;
		case 20:
			/* Up to 16 MiB: a larger quota could pin all RAM. */
			req = NTVM_IOC_WORKING_SET;
			u.w.minimum = rnd() % 5 ? rnd() % (4096 * 4096) : 0;
			u.w.maximum = rnd() % 5 ? rnd() % (4096 * 4096) : 0;
			u.w.hard = rnd() % 4 ? 0 : (uint32_t)rnd() % 32;
			u.w.flags = rnd() % 8 ? rnd() % 2 : (uint32_t)rnd();
			u.w.pad = rnd() % 8 ? 0 : (uint32_t)rnd();
			status = &u.w.status;
			break;
		case 21:
			req = NTVM_IOC_ALLOC_EX;
			u.x.base = rnd() % 2 ? 0 : addr();
			u.x.size = size();
			u.x.type = type();
			u.x.protect = prot();
			/* Placeholders want PAGE_NOACCESS and no parameters. */
			if (rnd() % 2 &&
			    (u.x.type & NTVM_MEM_RESERVE_PLACEHOLDER))
				u.x.protect = NTVM_PAGE_NOACCESS;
			fuzz_params(&u.x);
			/* Now and then a placeholder's own range, plainly. */
			if (rnd() % 2 &&
			    (u.x.type & (NTVM_MEM_RESERVE_PLACEHOLDER |
					 NTVM_MEM_REPLACE_PLACEHOLDER))) {
				u.x.count = 0;
				u.x.params = 0;
				u.x.base = rnd() % 2 ? ph_live[rnd() % 16] +
					   0x1000 * (rnd() % 2 ? 0 : rnd() % 16) : 0;
				u.x.size = rnd() % 2 ? 0x10000 * (1 + rnd() % 4) :
					   0x1000 * (1 + rnd() % 32);
				if (rnd() % 2)
					u.x.type = NTVM_MEM_RESERVE |
						   NTVM_MEM_RESERVE_PLACEHOLDER;
				if (u.x.type & NTVM_MEM_RESERVE_PLACEHOLDER)
					u.x.protect = NTVM_PAGE_NOACCESS;
			}
			status = &u.x.status;
			break;
		case 22:
			/* 2 GiB, 4 GiB, all of it, or anything. */
			req = NTVM_IOC_ADDRESS_LIMIT;
			u.m.maximum = (uint64_t[]){ 0x7FFEFFFF, 0xFFFEFFFF,
				0x7FFFFFFEFFFFULL, addr() }[rnd() % 4];
			u.m.flags = rnd() % 8 ? rnd() % 2 : (uint32_t)rnd();
			status = &u.m.status;
			break;
		default:
			req = NTVM_IOC_QUERY;
			u.q.address = addr();
			status = &u.q.status;
			break;
		}
		ret = ioctl(cfd, req, arg);
		if (remote) {
			r_calls++;
			r_ok += ret == 0 && status && arg == &u && !*status;
			r_perm += ret != 0 && errno == EPERM;
			r_gone += ret != 0 && errno == ESRCH;
		}
		if (what == 0)
			;	/* any request: the VFS answers some itself */
		else if (ret == 0 && status && arg == &u) {
			if (!known_status(*status)) {
				printf("# call %lu: request 0x%lx gave status 0x%x\n",
				       i, req, *status);
				bad++;
			} else if (*status == 0 && (req == NTVM_IOC_ALLOC ||
						     req == NTVM_IOC_ALLOC_EX)) {
				live[rnd() % 64] = u.a.base;
				if (req == NTVM_IOC_ALLOC_EX &&
				    (u.x.type & NTVM_MEM_RESERVE_PLACEHOLDER))
					ph_live[rnd() % 16] = u.x.base;
			}
		} else if (ret != 0 && errno != EFAULT && errno != ENOTTY &&
			   errno != EINVAL &&
			   !(remote && (errno == EPERM || errno == ESRCH))) {
			printf("# call %lu: request 0x%lx failed with errno %d\n",
			       i, req, errno);
			bad++;
		}
		ok++;
	}
	printf("# another process's context: %lu calls, %lu successes, %lu EPERM, %lu ESRCH\n",
	       r_calls, r_ok, r_perm, r_gone);
	printf("%s 1 fuzz: %lu calls, %lu undefined results\n",
	       bad ? "not ok" : "ok", ok, bad);
	remote_kill();
	if (rfd >= 0)
		close(rfd);
	nl_bad = fuzz_netlink(calls / 16);
	printf("%s 2 netlink fuzz: %lu messages, %lu undefined results\n",
	       nl_bad ? "not ok" : "ok", calls / 16, nl_bad);
	close(fd);
	return bad || nl_bad ? 1 : 0;
}
