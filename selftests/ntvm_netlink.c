// SPDX-License-Identifier: GPL-2.0
/*
 * The generic netlink family "ntvm": the figures of a layout each test
 * builds, exactly; a dump of 100 000 allocations that resumes; runs that
 * go on in the next message; access to another process's contexts;
 * malformed requests (every attribute with every wrong length, wrong
 * commands, missing attributes, bad headers) that get clean errors; and
 * the rate-limited events.
 *
 * Environment: NTVM_NETLINK_DUMP, the allocations dumped (whole
 * thousands from 2000 to 100000, by default 100000; at most 10000 under
 * NTVM_FAULTINJ).
 */
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>

#include "inject.h"
#include "ntvm_test.h"
#include "ntvm_nl.h"
#include "kselftest_harness.h"

#define MAX_ALLOCS	110000
#define MAX_RUNS	4

struct run {
	uint64_t address, size, resident, dirty, locked;
	uint32_t state, protect, flags;
};

struct alloc {
	uint64_t base, size;
	uint32_t protect, type, flags, nruns, context, pid;
	struct run runs[MAX_RUNS];
};

struct dump {
	struct alloc *a;
	size_t n;
	size_t messages;
	size_t continued;	/* messages with NTVM_ALLOC_F_CONTINUED */
	uint64_t next_run;	/* where the next run must start */
	int bad;		/* a message out of order */
};

static int alloc_cb(const struct nlmsghdr *h, void *arg)
{
	const struct nlattr *tb[NTVM_A_MAX + 1], *rt[NTVM_A_MAX + 1];
	struct dump *d = arg;
	const struct nlattr *runs, *r;
	struct alloc *a;
	uint32_t flags;
	size_t left;

	msg_parse(h, tb, NTVM_A_MAX);
	d->messages++;
	if (!tb[NTVM_A_ALLOC_BASE] || !tb[NTVM_A_ALLOC_SIZE] ||
	    !tb[NTVM_A_ALLOC_FLAGS] || !tb[NTVM_A_ALLOC_RUNS] ||
	    !tb[NTVM_A_PID] || !tb[NTVM_A_CONTEXT]) {
		d->bad = 1;
		return 0;
	}
	flags = nla_u32(tb[NTVM_A_ALLOC_FLAGS]);
	if (flags & NTVM_ALLOC_F_CONTINUED) {
		d->continued++;
		if (!d->n || d->a[d->n - 1].base !=
			     nla_u64(tb[NTVM_A_ALLOC_BASE])) {
			d->bad = 1;
			return 0;
		}
		a = &d->a[d->n - 1];
	} else {
		if (d->n == MAX_ALLOCS) {
			d->bad = 1;
			return 0;
		}
		if (d->n && d->a[d->n - 1].base >=
			    nla_u64(tb[NTVM_A_ALLOC_BASE]))
			d->bad = 1;	/* not in address order */
		a = &d->a[d->n++];
		memset(a, 0, sizeof(*a));
		a->base = nla_u64(tb[NTVM_A_ALLOC_BASE]);
		a->size = nla_u64(tb[NTVM_A_ALLOC_SIZE]);
		a->protect = nla_u32(tb[NTVM_A_ALLOC_PROTECT]);
		a->type = nla_u32(tb[NTVM_A_ALLOC_TYPE]);
		a->flags = flags;
		a->pid = nla_u32(tb[NTVM_A_PID]);
		a->context = nla_u32(tb[NTVM_A_CONTEXT]);
		d->next_run = a->base;
	}
	runs = tb[NTVM_A_ALLOC_RUNS];
	r = nla_data_of(runs);
	for (left = runs->nla_len - NLA_HDRLEN; left >= NLA_HDRLEN &&
	     r->nla_len >= NLA_HDRLEN && r->nla_len <= left;
	     left -= NLA_ALIGN(r->nla_len) < left ? NLA_ALIGN(r->nla_len) : left,
	     r = (const void *)((const char *)r + NLA_ALIGN(r->nla_len))) {
		struct run run;

		nl_parse(nla_data_of(r), r->nla_len - NLA_HDRLEN, rt,
			 NTVM_A_MAX);
		run.address = nla_u64(rt[NTVM_A_RUN_ADDRESS]);
		run.size = nla_u64(rt[NTVM_A_RUN_SIZE]);
		run.state = nla_u32(rt[NTVM_A_RUN_STATE]);
		run.protect = nla_u32(rt[NTVM_A_RUN_PROTECT]);
		run.flags = nla_u32(rt[NTVM_A_RUN_FLAGS]);
		run.resident = nla_u64(rt[NTVM_A_RUN_RESIDENT]);
		run.dirty = nla_u64(rt[NTVM_A_RUN_DIRTY]);
		run.locked = nla_u64(rt[NTVM_A_RUN_LOCKED]);
		if (run.address != d->next_run)
			d->bad = 1;	/* a gap or an overlap */
		d->next_run = run.address + run.size;
		if (a->nruns < MAX_RUNS)
			a->runs[a->nruns] = run;
		a->nruns++;
	}
	return 0;
}

/* Dump the allocations of @pid (context @ctx if not 0): 0 or -errno. */
static int dump_allocs(struct nl *nl, uint32_t pid, uint32_t ctx,
		       struct dump *d)
{
	struct nlreq r;
	int err;

	d->n = d->messages = d->continued = 0;
	d->bad = 0;
	ntvm_req(nl, &r, NTVM_CMD_GET_ALLOCATION, 1);
	req_put_u32(&r, NTVM_A_PID, pid);
	if (ctx)
		req_put_u32(&r, NTVM_A_CONTEXT, ctx);
	err = nl_send(nl, &r);
	return err ?: nl_recv(nl, alloc_cb, d);
}

struct proc {
	uint64_t v[NTVM_A_MAX + 1];
	int has[NTVM_A_MAX + 1];
	char comm[32];
	int rows;
	uint32_t want_pid;	/* collect the rows of this pid only */
	int others;		/* rows of other pids */
};

static int proc_cb(const struct nlmsghdr *h, void *arg)
{
	const struct nlattr *tb[NTVM_A_MAX + 1];
	struct proc *p = arg;

	msg_parse(h, tb, NTVM_A_MAX);
	if (p->want_pid && tb[NTVM_A_PID] &&
	    nla_u32(tb[NTVM_A_PID]) != p->want_pid) {
		p->others++;
		return 0;
	}
	p->rows++;
	for (int i = 0; i <= NTVM_A_MAX; i++) {
		if (!tb[i])
			continue;
		p->has[i] = 1;
		if (i == NTVM_A_COMM)
			snprintf(p->comm, sizeof(p->comm), "%s",
				 (const char *)nla_data_of(tb[i]));
		else if (tb[i]->nla_len == NLA_HDRLEN + 8)
			p->v[i] = nla_u64(tb[i]);
		else if (tb[i]->nla_len == NLA_HDRLEN + 4)
			p->v[i] = nla_u32(tb[i]);
	}
	return 0;
}

/* NTVM_CMD_GET_PROCESS (do) or NTVM_CMD_GET_SYSTEM (pid 0). */
static int get_row(struct nl *nl, uint32_t pid, struct proc *p)
{
	struct nlreq r;
	int err;

	memset(p, 0, sizeof(*p));
	ntvm_req(nl, &r, pid ? NTVM_CMD_GET_PROCESS : NTVM_CMD_GET_SYSTEM, 0);
	if (pid)
		req_put_u32(&r, NTVM_A_PID, pid);
	err = nl_send(nl, &r);
	return err ?: nl_recv(nl, proc_cb, p);
}

/* NTVM_CMD_GET_PROCESS (dump, no filter): rows of @pid and of others. */
static int dump_rows(struct nl *nl, uint32_t pid, struct proc *p)
{
	struct nlreq r;
	int err;

	memset(p, 0, sizeof(*p));
	p->want_pid = pid;
	ntvm_req(nl, &r, NTVM_CMD_GET_PROCESS, 1);
	err = nl_send(nl, &r);
	return err ?: nl_recv(nl, proc_cb, p);
}

/* A request of raw attributes: the error (0: success). */
static int request(struct nl *nl, uint8_t cmd, int dump, const void *attrs,
		   size_t len)
{
	struct nlreq r;
	int err;

	ntvm_req(nl, &r, cmd, dump);
	memcpy(r.buf + r.len, attrs, len);
	r.len += len;
	err = nl_send(nl, &r);
	return err ?: nl_recv(nl, NULL, NULL);
}

/* An attribute @type of @len bytes of @fill. */
static size_t attr(char *buf, uint16_t type, size_t len, uint32_t value)
{
	struct nlattr *a = (struct nlattr *)buf;

	a->nla_type = type;
	a->nla_len = NLA_HDRLEN + len;
	memset(a + 1, 0, len);
	memcpy(a + 1, &value, len < 4 ? len : 4);
	return NLA_ALIGN(a->nla_len);
}

static void *must_alloc(void *want, SIZE_T size, DWORD type, DWORD protect)
{
	return VirtualAlloc(want, size, type, protect);
}

FIXTURE(nl) {
	struct nl nl;
	struct dump d;
};

FIXTURE_SETUP(nl)
{
	ASSERT_EQ(0, nl_open(&self->nl));
	self->d.a = calloc(MAX_ALLOCS, sizeof(struct alloc));
	ASSERT_NE(NULL, self->d.a);
}

FIXTURE_TEARDOWN(nl)
{
	nl_close(&self->nl);
	free(self->d.a);
}

TEST_F(nl, family)
{
	EXPECT_EQ(NTVM_GENL_VERSION, self->nl.version);
	EXPECT_NE(0, self->nl.mcgrp);
}

TEST_F(nl, system)
{
	struct ntvm_sysinfo_args si;
	struct proc p;

	ASSERT_NE(NULL, must_alloc(NULL, GRAN, MEM_RESERVE | MEM_COMMIT,
				   PAGE_READWRITE));
	si = sysinfo_now();
	ASSERT_EQ(0, get_row(&self->nl, 0, &p));
	EXPECT_EQ(1, p.rows);
	EXPECT_EQ(4096, p.v[NTVM_A_SYS_PAGE_SIZE]);
	EXPECT_EQ(GRAN, p.v[NTVM_A_SYS_GRANULARITY]);
	EXPECT_EQ(si.commit_limit * PAGE, p.v[NTVM_A_SYS_COMMIT_LIMIT]);
	EXPECT_EQ(si.committed * PAGE, p.v[NTVM_A_SYS_COMMITTED]);
	/* sysinfo_now()'s own context is gone. */
	EXPECT_EQ(si.contexts - 1, p.v[NTVM_A_SYS_CONTEXTS]);
	EXPECT_EQ(si.allocations, p.v[NTVM_A_SYS_ALLOCATIONS]);
	EXPECT_TRUE(p.has[NTVM_A_SYS_RESIDENT]);
	EXPECT_TRUE(p.has[NTVM_A_SYS_LOCKED]);
}

/*
 * A: 1 MiB reserved: 64 KiB read-write (3 pages written, 1 locked),
 *    64 KiB read-only, 1 page read-write + guard, the rest reserved;
 * B: 64 KiB committed with write watch, 2 pages written;
 * C: 128 KiB reserved.
 */
TEST_F(nl, layout)
{
	char *a, *b, *c;
	struct alloc *x;
	struct proc p;
	DWORD old;

	a = must_alloc(NULL, 16 * GRAN, MEM_RESERVE, PAGE_READWRITE);
	ASSERT_NE(NULL, a);
	ASSERT_EQ(a, must_alloc(a, GRAN, MEM_COMMIT, PAGE_READWRITE));
	ASSERT_EQ(a + GRAN, must_alloc(a + GRAN, GRAN, MEM_COMMIT,
				       PAGE_READONLY));
	ASSERT_EQ(a + 2 * GRAN, must_alloc(a + 2 * GRAN, PAGE, MEM_COMMIT,
					   PAGE_READWRITE | PAGE_GUARD));
	a[0] = 1;
	a[PAGE] = 1;
	a[2 * PAGE] = 1;
	ASSERT_TRUE(VirtualLock(a, PAGE));
	b = must_alloc(NULL, GRAN, MEM_RESERVE | MEM_COMMIT | MEM_WRITE_WATCH,
		       PAGE_READWRITE);
	ASSERT_NE(NULL, b);
	b[0] = 1;
	b[PAGE] = 1;
	c = must_alloc(NULL, 2 * GRAN, MEM_RESERVE, PAGE_EXECUTE_READ);
	ASSERT_NE(NULL, c);
	(void)old;

	ASSERT_EQ(0, get_row(&self->nl, getpid(), &p));
	EXPECT_EQ(1, p.rows);
	EXPECT_EQ(getpid(), p.v[NTVM_A_PID]);
	EXPECT_NE(0, p.v[NTVM_A_CONTEXT]);
	EXPECT_STREQ("ntvm_netlink", p.comm);
	EXPECT_EQ(3, p.v[NTVM_A_PROC_ALLOCATIONS]);
	EXPECT_EQ(19 * GRAN, p.v[NTVM_A_PROC_RESERVED]);
	EXPECT_EQ(49 * PAGE, p.v[NTVM_A_PROC_COMMITTED]);
	EXPECT_EQ(5 * PAGE, p.v[NTVM_A_PROC_RESIDENT]);
	EXPECT_EQ(1 * PAGE, p.v[NTVM_A_PROC_LOCKED]);
	EXPECT_EQ(GRAN, p.v[NTVM_A_PROC_WRITE_WATCHED]);
	EXPECT_EQ(49 * PAGE, p.v[NTVM_A_PROC_COMMIT_CHARGE]);
	EXPECT_EQ(49 * PAGE, p.v[NTVM_A_PROC_PEAK_CHARGE]);
	EXPECT_FALSE(p.has[NTVM_A_PROC_COMMIT_LIMIT]);
	EXPECT_TRUE(p.has[NTVM_A_PROC_USER_CHARGE]);

	ASSERT_EQ(0, dump_allocs(&self->nl, getpid(), 0, &self->d));
	ASSERT_EQ(0, self->d.bad);
	ASSERT_EQ(3, self->d.n);
	EXPECT_EQ(0, self->d.continued);
	for (size_t i = 0; i < 3; i++) {
		x = &self->d.a[i];
		EXPECT_EQ(getpid(), x->pid);
		EXPECT_EQ(p.v[NTVM_A_CONTEXT], x->context);
		EXPECT_EQ(MEM_PRIVATE, x->type);
		if (x->base == (uintptr_t)a) {
			EXPECT_EQ(16 * GRAN, x->size);
			EXPECT_EQ(PAGE_READWRITE, x->protect);
			EXPECT_EQ(0, x->flags);
			ASSERT_EQ(4, x->nruns);
			EXPECT_EQ((uintptr_t)a, x->runs[0].address);
			EXPECT_EQ(GRAN, x->runs[0].size);
			EXPECT_EQ(MEM_COMMIT, x->runs[0].state);
			EXPECT_EQ(PAGE_READWRITE, x->runs[0].protect);
			EXPECT_EQ(0, x->runs[0].flags);
			EXPECT_EQ(3 * PAGE, x->runs[0].resident);
			EXPECT_EQ(PAGE, x->runs[0].locked);
			EXPECT_EQ(0, x->runs[0].dirty);
			EXPECT_EQ((uintptr_t)a + GRAN, x->runs[1].address);
			EXPECT_EQ(GRAN, x->runs[1].size);
			EXPECT_EQ(MEM_COMMIT, x->runs[1].state);
			EXPECT_EQ(PAGE_READONLY, x->runs[1].protect);
			EXPECT_EQ(0, x->runs[1].resident);
			EXPECT_EQ(0, x->runs[1].locked);
			EXPECT_EQ((uintptr_t)a + 2 * GRAN, x->runs[2].address);
			EXPECT_EQ(PAGE, x->runs[2].size);
			EXPECT_EQ(MEM_COMMIT, x->runs[2].state);
			EXPECT_EQ(PAGE_READWRITE | PAGE_GUARD,
				  x->runs[2].protect);
			EXPECT_EQ(NTVM_RUN_F_GUARD, x->runs[2].flags);
			EXPECT_EQ((uintptr_t)a + 2 * GRAN + PAGE,
				  x->runs[3].address);
			EXPECT_EQ(14 * GRAN - PAGE, x->runs[3].size);
			EXPECT_EQ(MEM_RESERVE, x->runs[3].state);
			EXPECT_EQ(0, x->runs[3].protect);
			EXPECT_EQ(0, x->runs[3].resident);
		} else if (x->base == (uintptr_t)b) {
			EXPECT_EQ(GRAN, x->size);
			EXPECT_EQ(NTVM_ALLOC_F_WRITE_WATCH, x->flags);
			ASSERT_EQ(1, x->nruns);
			EXPECT_EQ(MEM_COMMIT, x->runs[0].state);
			EXPECT_EQ(PAGE_READWRITE, x->runs[0].protect);
			EXPECT_EQ(2 * PAGE, x->runs[0].resident);
			EXPECT_EQ(2 * PAGE, x->runs[0].dirty);
			EXPECT_EQ(0, x->runs[0].locked);
		} else {
			EXPECT_EQ((uintptr_t)c, x->base);
			EXPECT_EQ(2 * GRAN, x->size);
			EXPECT_EQ(PAGE_EXECUTE_READ, x->protect);
			ASSERT_EQ(1, x->nruns);
			EXPECT_EQ(MEM_RESERVE, x->runs[0].state);
			EXPECT_EQ(2 * GRAN, x->runs[0].size);
		}
	}

	/* Released: gone from the figures and the dump. */
	ASSERT_TRUE(VirtualFree(c, 0, MEM_RELEASE));
	ASSERT_EQ(0, get_row(&self->nl, getpid(), &p));
	EXPECT_EQ(2, p.v[NTVM_A_PROC_ALLOCATIONS]);
	EXPECT_EQ(17 * GRAN, p.v[NTVM_A_PROC_RESERVED]);
	ASSERT_EQ(0, dump_allocs(&self->nl, getpid(), 0, &self->d));
	EXPECT_EQ(2, self->d.n);
}

/* Unmapped views: the allocation is left out, as a query shows it free. */
TEST_F(nl, tampered)
{
	char *a = must_alloc(NULL, GRAN, MEM_RESERVE | MEM_COMMIT,
			     PAGE_READWRITE);
	struct proc p;

	ASSERT_NE(NULL, a);
	ASSERT_EQ(0, munmap(a, GRAN));
	ASSERT_EQ(0, get_row(&self->nl, getpid(), &p));
	EXPECT_EQ(0, p.v[NTVM_A_PROC_ALLOCATIONS]);
	EXPECT_EQ(0, p.v[NTVM_A_PROC_RESERVED]);
	ASSERT_EQ(0, dump_allocs(&self->nl, getpid(), 0, &self->d));
	EXPECT_EQ(0, self->d.n);
}

static int cmp_u64(const void *x, const void *y)
{
	uint64_t a = *(const uint64_t *)x, b = *(const uint64_t *)y;

	return a < b ? -1 : a > b;
}

/*
 * NTVM_NETLINK_DUMP allocations (make check's run on the debug kernel sets
 * 10 000); at most 10 000 under fault injection, where each call is
 * checked and retried.
 */
TEST_F_TIMEOUT(nl, dump_100k, 600)
{
	const char *env = getenv("NTVM_NETLINK_DUMP");
	size_t n = 100000;
	uint64_t *bases;
	char *end;

	if (env && *env) {
		errno = 0;
		n = strtoul(env, &end, 10);
		if (errno || *end)
			n = 100000;
	}
	/* Whole thousands: one in a thousand is committed. */
	n = n / 1000 * 1000;
	if (n < 2000)
		n = 2000;
	if (n > 100000)
		n = 100000;
	if (inject_active() && n > 10000)
		n = 10000;
	bases = calloc(n, sizeof(*bases));
	ASSERT_NE(NULL, bases);
	for (size_t i = 0; i < n; i++) {
		char *p = must_alloc(NULL, GRAN, MEM_RESERVE, PAGE_READWRITE);

		ASSERT_NE(NULL, p);
		bases[i] = (uintptr_t)p;
		if (i % 1000 == 0)
			ASSERT_EQ(p, must_alloc(p, PAGE, MEM_COMMIT,
						PAGE_READWRITE));
	}
	qsort(bases, n, sizeof(*bases), cmp_u64);
	ASSERT_EQ(0, dump_allocs(&self->nl, getpid(), 0, &self->d));
	ASSERT_EQ(0, self->d.bad);
	ASSERT_EQ(n, self->d.n);
	/* Resumed: many replies, none larger than a socket buffer's worth. */
	EXPECT_GT(self->nl.recvs, n / 1000);
	for (size_t i = 0; i < n; i++) {
		struct alloc *x = &self->d.a[i];

		ASSERT_EQ(bases[i], x->base);
		ASSERT_EQ(GRAN, x->size);
	}
	for (size_t i = 0, commits = 0; i < n; i++) {
		struct alloc *x = &self->d.a[i];

		if (x->nruns == 2) {
			ASSERT_EQ(MEM_COMMIT, x->runs[0].state);
			ASSERT_EQ(PAGE, x->runs[0].size);
			ASSERT_EQ(MEM_RESERVE, x->runs[1].state);
			commits++;
		} else {
			ASSERT_EQ(1, x->nruns);
			ASSERT_EQ(MEM_RESERVE, x->runs[0].state);
		}
		if (i == n - 1)
			ASSERT_EQ(n / 1000, commits);
	}
	free(bases);
}

/* An allocation of 1024 runs goes on over several messages. */
TEST_F(nl, runs_continue)
{
	const size_t pages = 1024;
	char *a = must_alloc(NULL, pages * PAGE, MEM_RESERVE | MEM_COMMIT,
			     PAGE_READWRITE);
	struct alloc *x;
	DWORD old;

	ASSERT_NE(NULL, a);
	for (size_t i = 1; i < pages; i += 2)
		ASSERT_TRUE(VirtualProtect(a + i * PAGE, PAGE, PAGE_READONLY,
					   &old));
	ASSERT_EQ(0, dump_allocs(&self->nl, getpid(), 0, &self->d));
	ASSERT_EQ(0, self->d.bad);
	ASSERT_EQ(1, self->d.n);
	EXPECT_GT(self->d.continued, 0);
	x = &self->d.a[0];
	EXPECT_EQ(pages, x->nruns);
	EXPECT_EQ((uintptr_t)a + pages * PAGE, self->d.next_run);
	EXPECT_EQ(PAGE_READWRITE, x->runs[0].protect);
	EXPECT_EQ(PAGE_READONLY, x->runs[1].protect);
}

static int wait_byte(int fd)
{
	char c;

	return read(fd, &c, 1) == 1 ? 0 : -1;
}

/* Another process's contexts: root sees them, an unprivileged user not. */
TEST_F(nl, other_process)
{
	int up[2], down[2], status;
	pid_t owner, peer;
	struct proc p;
	char c = 0;

	ASSERT_EQ(0, pipe(up));
	ASSERT_EQ(0, pipe(down));
	owner = fork();
	ASSERT_GE(owner, 0);
	if (owner == 0) {
		if (!must_alloc(NULL, 3 * GRAN, MEM_RESERVE, PAGE_READWRITE))
			_exit(1);
		if (write(up[1], &c, 1) != 1)
			_exit(1);
		wait_byte(down[0]);
		_exit(0);
	}
	ASSERT_EQ(0, wait_byte(up[0]));

	/* Root (CAP_SYS_PTRACE). */
	ASSERT_EQ(0, dump_allocs(&self->nl, owner, 0, &self->d));
	ASSERT_EQ(1, self->d.n);
	EXPECT_EQ(3 * GRAN, self->d.a[0].size);
	EXPECT_EQ(owner, self->d.a[0].pid);
	ASSERT_EQ(0, get_row(&self->nl, owner, &p));
	EXPECT_EQ(1, p.v[NTVM_A_PROC_ALLOCATIONS]);
	ASSERT_EQ(0, dump_rows(&self->nl, owner, &p));
	EXPECT_EQ(1, p.rows);

	peer = fork();
	ASSERT_GE(peer, 0);
	if (peer == 0) {
		struct nl nl;
		struct dump d = { .a = self->d.a };
		int bad = 0;

		/*
		 * Its own context first, as root (fault injection opens its
		 * knob at the first call, which it can then no longer do).
		 */
		if (!must_alloc(NULL, GRAN, MEM_RESERVE, PAGE_READWRITE))
			_exit(12);
		if (setresgid(65534, 65534, 65534) ||
		    setresuid(65534, 65534, 65534))
			_exit(10);
		if (nl_open(&nl))
			_exit(11);
		bad |= dump_allocs(&nl, owner, 0, &d) != -EPERM;
		bad |= (get_row(&nl, owner, &p) != -EPERM) << 1;
		/* Unfiltered, the list has its own row, not the owner's. */
		bad |= (dump_rows(&nl, owner, &p) || p.rows ||
			p.others != 1) << 2;
		/* Its own: allowed, and the only row it sees. */
		bad |= (dump_allocs(&nl, getpid(), 0, &d) || d.n != 1) << 4;
		bad |= (dump_rows(&nl, getpid(), &p) || p.rows != 1 ||
			p.others) << 5;
		bad |= (get_row(&nl, 0, &p) != 0) << 6;
		_exit(bad);
	}
	ASSERT_EQ(peer, waitpid(peer, &status, 0));
	EXPECT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));
	ASSERT_EQ(1, write(down[1], &c, 1));
	ASSERT_EQ(owner, waitpid(owner, &status, 0));
	EXPECT_EQ(0, status);
	/* Gone: its pid names no process. */
	EXPECT_EQ(-ESRCH, dump_allocs(&self->nl, owner, 0, &self->d));
}

/* Every attribute, with every length, on every command: clean errors. */
TEST_F(nl, malformed_attrs)
{
	static const size_t lens[] = { 0, 1, 2, 3, 5, 8, 16, 300 };
	/* The requests there are: command, dump. */
	static const uint8_t cmds[][2] = { { NTVM_CMD_GET_SYSTEM, 0 },
		{ NTVM_CMD_GET_PROCESS, 0 }, { NTVM_CMD_GET_PROCESS, 1 },
		{ NTVM_CMD_GET_ALLOCATION, 1 } };
	char buf[512];
	int err;

	ASSERT_NE(NULL, must_alloc(NULL, GRAN, MEM_RESERVE, PAGE_READWRITE));
	for (size_t c = 0; c < sizeof(cmds) / sizeof(cmds[0]); c++) {
		int dump = cmds[c][1];

		{
			for (int type = 0; type <= NTVM_A_MAX + 3; type++) {
				for (size_t l = 0; l < 8; l++) {
					size_t len;

					/* Well-formed: see malformed_requests. */
					if ((type == NTVM_A_PID ||
					     type == NTVM_A_CONTEXT) &&
					    lens[l] == 4)
						continue;
					len = attr(buf, type, lens[l], getpid());

					err = request(&self->nl, cmds[c][0], dump,
						      buf, len);
					if (err != -EINVAL)
						TH_LOG("cmd %u dump %d attr %d len %zu: %d",
						       cmds[c][0], dump, type,
						       lens[l], err);
					ASSERT_EQ(-EINVAL, err);
				}
			}
		}
	}
}

TEST_F(nl, malformed_requests)
{
	char buf[64];
	size_t len;
	struct nlreq r;

	ASSERT_NE(NULL, must_alloc(NULL, GRAN, MEM_RESERVE, PAGE_READWRITE));
	/* The right attributes work. */
	len = attr(buf, NTVM_A_PID, 4, getpid());
	EXPECT_EQ(0, request(&self->nl, NTVM_CMD_GET_PROCESS, 0, buf, len));
	EXPECT_EQ(0, request(&self->nl, NTVM_CMD_GET_ALLOCATION, 1, buf,
			     len));
	EXPECT_EQ(0, request(&self->nl, NTVM_CMD_GET_SYSTEM, 0, NULL, 0));
	EXPECT_EQ(0, request(&self->nl, NTVM_CMD_GET_PROCESS, 1, NULL, 0));
	/* Missing attributes. */
	EXPECT_EQ(-EINVAL, request(&self->nl, NTVM_CMD_GET_PROCESS, 0, NULL,
				   0));
	EXPECT_EQ(-EINVAL, request(&self->nl, NTVM_CMD_GET_ALLOCATION, 1,
				   NULL, 0));
	len = attr(buf, NTVM_A_CONTEXT, 4, 1);
	EXPECT_EQ(-EINVAL, request(&self->nl, NTVM_CMD_GET_ALLOCATION, 1,
				   buf, len));
	/* Out of range: pid 0, context 0. */
	len = attr(buf, NTVM_A_PID, 4, 0);
	EXPECT_EQ(-ERANGE, request(&self->nl, NTVM_CMD_GET_PROCESS, 0, buf,
				   len));
	len = attr(buf, NTVM_A_PID, 4, getpid());
	len += attr(buf + len, NTVM_A_CONTEXT, 4, 0);
	EXPECT_EQ(-ERANGE, request(&self->nl, NTVM_CMD_GET_ALLOCATION, 1,
				   buf, len));
	/* A context that is not the process's; a process with none. */
	len = attr(buf, NTVM_A_PID, 4, getpid());
	len += attr(buf + len, NTVM_A_CONTEXT, 4, 0x7fffffff);
	EXPECT_EQ(-ENOENT, request(&self->nl, NTVM_CMD_GET_ALLOCATION, 1,
				   buf, len));
	EXPECT_EQ(-ENOENT, request(&self->nl, NTVM_CMD_GET_PROCESS, 0,
				   buf, len));
	len = attr(buf, NTVM_A_PID, 4, 1);
	EXPECT_EQ(-ENOENT, request(&self->nl, NTVM_CMD_GET_PROCESS, 0, buf,
				   len));
	/* No such process. */
	len = attr(buf, NTVM_A_PID, 4, 0x3ffffff);
	EXPECT_EQ(-ESRCH, request(&self->nl, NTVM_CMD_GET_PROCESS, 0, buf,
				  len));
	EXPECT_EQ(-ESRCH, request(&self->nl, NTVM_CMD_GET_ALLOCATION, 1, buf,
				  len));
	/* Unknown commands, events as requests, do of a dump-only one. */
	for (int cmd = 0; cmd < 256; cmd++) {
		if (cmd >= NTVM_CMD_GET_SYSTEM &&
		    cmd <= NTVM_CMD_GET_ALLOCATION)
			continue;
		EXPECT_EQ(-EOPNOTSUPP, request(&self->nl, cmd, 0, NULL, 0));
		EXPECT_EQ(-EOPNOTSUPP, request(&self->nl, cmd, 1, NULL, 0));
	}
	len = attr(buf, NTVM_A_PID, 4, getpid());
	EXPECT_EQ(-EOPNOTSUPP, request(&self->nl, NTVM_CMD_GET_ALLOCATION, 0,
				       buf, len));
	EXPECT_EQ(-EOPNOTSUPP, request(&self->nl, NTVM_CMD_GET_SYSTEM, 1,
				       NULL, 0));
	/* A non-zero reserved byte of the genl header. */
	ntvm_req(&self->nl, &r, NTVM_CMD_GET_SYSTEM, 0);
	((struct genlmsghdr *)NLMSG_DATA((struct nlmsghdr *)r.buf))->reserved = 1;
	ASSERT_EQ(0, nl_send(&self->nl, &r));
	EXPECT_EQ(-EINVAL, nl_recv(&self->nl, NULL, NULL));
	/* An attribute longer than the message; one shorter than a header. */
	ntvm_req(&self->nl, &r, NTVM_CMD_GET_PROCESS, 0);
	req_put_raw(&r, NTVM_A_PID, "\1\0\0\0", 4, 200);
	ASSERT_EQ(0, nl_send(&self->nl, &r));
	EXPECT_EQ(-EINVAL, nl_recv(&self->nl, NULL, NULL));
	ntvm_req(&self->nl, &r, NTVM_CMD_GET_PROCESS, 0);
	req_put_raw(&r, NTVM_A_PID, "\1\0\0\0", 4, 2);
	ASSERT_EQ(0, nl_send(&self->nl, &r));
	EXPECT_EQ(-EINVAL, nl_recv(&self->nl, NULL, NULL));
	/* Nested flag on an attribute, a second pid. */
	len = attr(buf, NTVM_A_PID | NLA_F_NESTED, 4, getpid());
	EXPECT_EQ(-EINVAL, request(&self->nl, NTVM_CMD_GET_PROCESS, 0, buf,
				   len));
}

struct event {
	int cmd;
	uint64_t v[NTVM_A_MAX + 1];
};

/* The next event within 2 s: 0, or -errno (-EAGAIN: none). */
static int next_event(struct nl *nl, struct event *ev)
{
	static char buf[8192] __attribute__((aligned(4)));
	const struct nlattr *tb[NTVM_A_MAX + 1];
	struct nlmsghdr *h = (struct nlmsghdr *)buf;
	ssize_t n = recv(nl->fd, buf, sizeof(buf), 0);

	if (n < 0)
		return -errno;
	if (!NLMSG_OK(h, n) || h->nlmsg_type != nl->family)
		return -EPROTO;
	memset(ev, 0, sizeof(*ev));
	ev->cmd = ((struct genlmsghdr *)NLMSG_DATA(h))->cmd;
	msg_parse(h, tb, NTVM_A_MAX);
	for (int i = 0; i <= NTVM_A_MAX; i++)
		if (tb[i] && tb[i]->nla_len == NLA_HDRLEN + 8)
			ev->v[i] = nla_u64(tb[i]);
		else if (tb[i] && tb[i]->nla_len == NLA_HDRLEN + 4)
			ev->v[i] = nla_u32(tb[i]);
	return 0;
}

TEST_F(nl, events)
{
	struct timeval tv = { .tv_sec = 2 };
	struct event ev;
	struct proc p;
	char *a, *b;
	int got = 0;

	/*
	 * Events are best effort: under fault injection the event's own
	 * allocation fails with the call's, and the event is counted as
	 * left out instead.
	 */
	if (getenv("NTVM_FAULTINJ"))
		SKIP(return, "events are dropped under fault injection");
	ASSERT_EQ(0, setsockopt(self->nl.fd, SOL_NETLINK,
				NETLINK_ADD_MEMBERSHIP, &self->nl.mcgrp,
				sizeof(self->nl.mcgrp)));
	ASSERT_EQ(0, setsockopt(self->nl.fd, SOL_SOCKET, SO_RCVTIMEO, &tv,
				sizeof(tv)));
	a = must_alloc(NULL, 4 * GRAN, MEM_RESERVE, PAGE_READWRITE);
	ASSERT_NE(NULL, a);
	ASSERT_EQ(0, get_row(&self->nl, getpid(), &p));
	usleep(1100000);	/* a new second of the rate limit */

	/* A commit refused at the context's limit. */
	ASSERT_TRUE(NtvmSetProcessCommitLimit(GRAN));
	ASSERT_EQ(NULL, must_alloc(a, 2 * GRAN, MEM_COMMIT, PAGE_READWRITE));
	ASSERT_EQ(0, next_event(&self->nl, &ev));
	EXPECT_EQ(NTVM_CMD_EVENT_COMMIT_REFUSED, ev.cmd);
	EXPECT_EQ(getpid(), ev.v[NTVM_A_PID]);
	EXPECT_EQ(p.v[NTVM_A_CONTEXT], ev.v[NTVM_A_CONTEXT]);
	EXPECT_EQ(2 * GRAN, ev.v[NTVM_A_EVENT_REQUESTED]);
	EXPECT_EQ(NTVM_LIMIT_CONTEXT, ev.v[NTVM_A_EVENT_LIMIT_KIND]);
	EXPECT_EQ(GRAN, ev.v[NTVM_A_EVENT_LIMIT]);
	EXPECT_EQ(0, ev.v[NTVM_A_PROC_COMMIT_CHARGE]);
	EXPECT_EQ(0, ev.v[NTVM_A_EVENT_DROPPED]);

	/* An allocation forgotten after its views were unmapped. */
	b = must_alloc(NULL, 2 * GRAN, MEM_RESERVE, PAGE_READWRITE);
	ASSERT_NE(NULL, b);
	ASSERT_EQ(0, munmap(b, 2 * GRAN));
	ASSERT_EQ(NULL, must_alloc(b, PAGE, MEM_COMMIT, PAGE_READWRITE));
	ASSERT_EQ(0, next_event(&self->nl, &ev));
	EXPECT_EQ(NTVM_CMD_EVENT_ALLOCATION_FORGOTTEN, ev.cmd);
	EXPECT_EQ(getpid(), ev.v[NTVM_A_PID]);
	EXPECT_EQ((uintptr_t)b, ev.v[NTVM_A_ALLOC_BASE]);
	EXPECT_EQ(2 * GRAN, ev.v[NTVM_A_ALLOC_SIZE]);

	/* Rate-limited: 8 more this second, the rest counted. */
	for (int i = 0; i < 30; i++)
		ASSERT_EQ(NULL, must_alloc(a, 2 * GRAN, MEM_COMMIT,
					   PAGE_READWRITE));
	while (next_event(&self->nl, &ev) == 0)
		got++;
	EXPECT_EQ(NTVM_EVENT_RATE - 2, got);
	ASSERT_EQ(NULL, must_alloc(a, 2 * GRAN, MEM_COMMIT, PAGE_READWRITE));
	ASSERT_EQ(0, next_event(&self->nl, &ev));
	EXPECT_EQ(30 - (NTVM_EVENT_RATE - 2), ev.v[NTVM_A_EVENT_DROPPED]);
}

TEST_HARNESS_MAIN
