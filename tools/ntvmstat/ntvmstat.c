// SPDX-License-Identifier: GPL-2.0
/*
 * ntvmstat: a VMMap for ntvm, over the generic netlink family "ntvm"
 * (uapi/linux/ntvm_netlink.h) with libnl-genl.
 *
 *   ntvmstat                 the system, one line per context
 *   ntvmstat -p PID          a process: summary by protection, allocations
 *   ntvmstat -p PID --map    a picture of its address space
 *   ntvmstat -e              follow the events
 *   --json, -i SECS, --color=WHEN, --runs, --width N
 */
#include <errno.h>
#include <sys/socket.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <netlink/genl/ctrl.h>
#include <netlink/genl/family.h>
#include <netlink/genl/genl.h>
#include <netlink/netlink.h>

#include <linux/ntvm.h>
#include <linux/ntvm_netlink.h>

#define GRAN	0x10000ULL

static struct nl_sock *sk;
static int family;
static bool json, color, show_runs;
static int map_width = 64;
static char ext_msg[256];	/* the kernel's extended ACK message */

static void __attribute__((noreturn, format(printf, 1, 2)))
die(const char *fmt, ...)
{
	va_list ap;

	fputs("ntvmstat: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

/* ---- sizes and protections ---- */

/* @b bytes as 123, 4K, 1.5M, ... into @buf. */
static const char *size_str(uint64_t b, char *buf, size_t len)
{
	static const char units[] = "KMGTP";
	double v = b;
	int u = -1;

	if (b < 1024) {
		snprintf(buf, len, "%" PRIu64, b);
		return buf;
	}
	while (v >= 1024 && u < 4) {
		v /= 1024;
		u++;
	}
	if (v == (uint64_t)v)
		snprintf(buf, len, "%" PRIu64 "%c", (uint64_t)v, units[u]);
	else
		snprintf(buf, len, "%.1f%c", v, units[u]);
	return buf;
}

#define SZ(b) size_str((b), (char[16]){ 0 }, 16)

static const char *prot_str(uint32_t p, char *buf, size_t len)
{
	static const struct { uint32_t v; const char *n; } base[] = {
		{ NTVM_PAGE_NOACCESS, "NOACCESS" },
		{ NTVM_PAGE_READONLY, "READONLY" },
		{ NTVM_PAGE_READWRITE, "READWRITE" },
		{ NTVM_PAGE_WRITECOPY, "WRITECOPY" },
		{ NTVM_PAGE_EXECUTE, "EXECUTE" },
		{ NTVM_PAGE_EXECUTE_READ, "EXECUTE_READ" },
		{ NTVM_PAGE_EXECUTE_READWRITE, "EXECUTE_READWRITE" },
		{ NTVM_PAGE_EXECUTE_WRITECOPY, "EXECUTE_WRITECOPY" },
	};
	const char *n = NULL;

	if (!p) {
		snprintf(buf, len, "-");
		return buf;
	}
	for (size_t i = 0; i < sizeof(base) / sizeof(base[0]); i++)
		if ((p & 0xff) == base[i].v)
			n = base[i].n;
	snprintf(buf, len, "%s%s%s%s", n ? n : "?",
		 p & NTVM_PAGE_GUARD ? "+GUARD" : "",
		 p & NTVM_PAGE_NOCACHE ? "+NOCACHE" : "",
		 p & NTVM_PAGE_WRITECOMBINE ? "+WRITECOMBINE" : "");
	return buf;
}

#define PROT(p) prot_str((p), (char[48]){ 0 }, 48)

/* ---- netlink ---- */

struct reply {
	int (*fn)(struct nlattr **tb, void *arg);
	void *arg;
	int err;
	bool done;
};

static int on_valid(struct nl_msg *msg, void *arg)
{
	struct nlattr *tb[NTVM_A_MAX + 1];
	struct reply *r = arg;

	if (genlmsg_parse(nlmsg_hdr(msg), 0, tb, NTVM_A_MAX, NULL) < 0)
		return NL_SKIP;
	if (r->fn && !r->err)
		r->err = r->fn(tb, r->arg);
	return NL_OK;
}

static int on_error(struct sockaddr_nl *nla, struct nlmsgerr *e, void *arg)
{
	struct reply *r = arg;
	struct nlmsghdr *h = (struct nlmsghdr *)e - 1;
	size_t off = sizeof(*h) + sizeof(*e);

	r->err = e->error;
	r->done = true;
	ext_msg[0] = 0;
	/* The extended ACK's message, when the kernel sent one. */
	if (h->nlmsg_flags & NLM_F_ACK_TLVS) {
		struct nlattr *a;
		int rem;

		if (!(h->nlmsg_flags & NLM_F_CAPPED))
			off += e->msg.nlmsg_len - sizeof(e->msg);
		if (off < h->nlmsg_len) {
			nla_for_each_attr(a, (struct nlattr *)((char *)h + off),
					  h->nlmsg_len - off, rem)
				if (nla_type(a) == NLMSGERR_ATTR_MSG)
					snprintf(ext_msg, sizeof(ext_msg), "%s",
						 (char *)nla_data(a));
		}
	}
	return NL_STOP;
}

static int on_done(struct nl_msg *msg, void *arg)
{
	struct reply *r = arg;

	r->done = true;
	return NL_STOP;
}

/* Send @cmd (a dump if @dump) for @pid (0: none); -errno or 0. */
static int request(int cmd, bool dump, uint32_t pid,
		   int (*fn)(struct nlattr **tb, void *arg), void *arg)
{
	struct reply r = { .fn = fn, .arg = arg };
	struct nl_msg *msg = nlmsg_alloc();
	struct nl_cb *cb;
	int err;

	if (!msg)
		die("out of memory");
	if (!genlmsg_put(msg, NL_AUTO_PORT, NL_AUTO_SEQ, family, 0,
			 dump ? NLM_F_DUMP : NLM_F_ACK, cmd, NTVM_GENL_VERSION) ||
	    (pid && nla_put_u32(msg, NTVM_A_PID, pid) < 0))
		die("cannot build a request");
	cb = nl_cb_alloc(NL_CB_DEFAULT);
	nl_cb_set(cb, NL_CB_VALID, NL_CB_CUSTOM, on_valid, &r);
	nl_cb_set(cb, NL_CB_FINISH, NL_CB_CUSTOM, on_done, &r);
	nl_cb_set(cb, NL_CB_ACK, NL_CB_CUSTOM, on_done, &r);
	nl_cb_err(cb, NL_CB_CUSTOM, on_error, &r);
	err = nl_send_auto(sk, msg);
	nlmsg_free(msg);
	if (err < 0)
		die("cannot send: %s", nl_geterror(err));
	while (!r.done) {
		err = nl_recvmsgs(sk, cb);
		if (err < 0 && !r.done) {
			nl_cb_put(cb);
			die("netlink: %s", nl_geterror(err));
		}
	}
	nl_cb_put(cb);
	return r.err;
}

/* A process's error: the messages the man page promises. */
static void die_pid(int err, uint32_t pid)
{
	switch (-err) {
	case ESRCH:
		die("no such process: %u", pid);
		break;
	case ENOENT:
		die("process %u uses no ntvm memory (no context)", pid);
		break;
	case EPERM:
		die("not permitted to look at process %u (another process's memory needs CAP_SYS_PTRACE)",
		    pid);
		break;
	}
	die("process %u: %s%s%s", pid, strerror(-err), ext_msg[0] ? ": " : "",
	    ext_msg);
}

static void connect_family(void)
{
	struct nl_cache *cache;
	struct genl_family *fam;
	int ver, one = 1;

	sk = nl_socket_alloc();
	if (!sk)
		die("out of memory");
	if (genl_connect(sk) < 0)
		die("cannot open a generic netlink socket");
	/* The kernel's messages with its errors (libnl 3.7 has no call). */
	setsockopt(nl_socket_get_fd(sk), SOL_NETLINK, NETLINK_EXT_ACK, &one,
		   sizeof(one));
	if (genl_ctrl_alloc_cache(sk, &cache) < 0)
		die("cannot list the generic netlink families");
	fam = genl_ctrl_search_by_name(cache, NTVM_GENL_NAME);
	if (!fam)
		die("the ntvm module is not loaded (no generic netlink family \"%s\"; modprobe ntvm)",
		    NTVM_GENL_NAME);
	family = genl_family_get_id(fam);
	ver = genl_family_get_version(fam);
	genl_family_put(fam);
	nl_cache_free(cache);
	if (ver < NTVM_GENL_VERSION)
		die("the kernel's ntvm family is version %d, ntvmstat needs version %d: the kernel module is too old",
		    ver, NTVM_GENL_VERSION);
}

static uint64_t u64(struct nlattr **tb, int a)
{
	return tb[a] ? nla_get_u64(tb[a]) : 0;
}

static uint32_t u32(struct nlattr **tb, int a)
{
	return tb[a] ? nla_get_u32(tb[a]) : 0;
}

/* ---- the system view ---- */

struct row {
	uint32_t pid, ctx;
	char comm[32];
	uint64_t allocs, reserved, committed, resident, locked, ww, charge,
		 peak, limit, user;
	bool has_limit;
};

struct rows {
	struct row *r;
	size_t n;
};

static void row_of(struct nlattr **tb, struct row *w)
{
	memset(w, 0, sizeof(*w));
	w->pid = u32(tb, NTVM_A_PID);
	w->ctx = u32(tb, NTVM_A_CONTEXT);
	if (tb[NTVM_A_COMM])
		snprintf(w->comm, sizeof(w->comm), "%s",
			 nla_get_string(tb[NTVM_A_COMM]));
	w->allocs = u64(tb, NTVM_A_PROC_ALLOCATIONS);
	w->reserved = u64(tb, NTVM_A_PROC_RESERVED);
	w->committed = u64(tb, NTVM_A_PROC_COMMITTED);
	w->resident = u64(tb, NTVM_A_PROC_RESIDENT);
	w->locked = u64(tb, NTVM_A_PROC_LOCKED);
	w->ww = u64(tb, NTVM_A_PROC_WRITE_WATCHED);
	w->charge = u64(tb, NTVM_A_PROC_COMMIT_CHARGE);
	w->peak = u64(tb, NTVM_A_PROC_PEAK_CHARGE);
	w->has_limit = tb[NTVM_A_PROC_COMMIT_LIMIT];
	w->limit = u64(tb, NTVM_A_PROC_COMMIT_LIMIT);
	w->user = u64(tb, NTVM_A_PROC_USER_CHARGE);
}

static int row_cb(struct nlattr **tb, void *arg)
{
	struct rows *rs = arg;

	rs->r = realloc(rs->r, (rs->n + 1) * sizeof(*rs->r));
	if (!rs->r)
		die("out of memory");
	row_of(tb, &rs->r[rs->n++]);
	return 0;
}

struct sys {
	uint64_t limit, committed, contexts, allocs, resident, locked;
	uint32_t page, gran;
};

static int sys_cb(struct nlattr **tb, void *arg)
{
	struct sys *s = arg;

	s->limit = u64(tb, NTVM_A_SYS_COMMIT_LIMIT);
	s->committed = u64(tb, NTVM_A_SYS_COMMITTED);
	s->contexts = u64(tb, NTVM_A_SYS_CONTEXTS);
	s->allocs = u64(tb, NTVM_A_SYS_ALLOCATIONS);
	s->resident = u64(tb, NTVM_A_SYS_RESIDENT);
	s->locked = u64(tb, NTVM_A_SYS_LOCKED);
	s->page = u32(tb, NTVM_A_SYS_PAGE_SIZE);
	s->gran = u32(tb, NTVM_A_SYS_GRANULARITY);
	return 0;
}

static void json_str(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			printf("\\%c", *s);
		else if ((unsigned char)*s < 0x20)
			printf("\\u%04x", *s);
		else
			putchar(*s);
	}
	putchar('"');
}

static void json_row(const struct row *w)
{
	printf("{\"pid\":%u,\"context\":%u,\"command\":", w->pid, w->ctx);
	json_str(w->comm);
	printf(",\"allocations\":%" PRIu64 ",\"reserved\":%" PRIu64
	       ",\"committed\":%" PRIu64 ",\"resident\":%" PRIu64
	       ",\"locked\":%" PRIu64 ",\"write_watched\":%" PRIu64
	       ",\"commit_charge\":%" PRIu64 ",\"peak_commit_charge\":%" PRIu64
	       ",\"commit_limit\":",
	       w->allocs, w->reserved, w->committed, w->resident, w->locked,
	       w->ww, w->charge, w->peak);
	if (w->has_limit)
		printf("%" PRIu64, w->limit);
	else
		printf("null");
	printf(",\"user_commit_charge\":%" PRIu64 "}", w->user);
}

static void view_system(void)
{
	struct rows rs = { 0 };
	struct sys s = { 0 };
	int err;

	err = request(NTVM_CMD_GET_SYSTEM, false, 0, sys_cb, &s);
	if (err)
		die("system view: %s", strerror(-err));
	err = request(NTVM_CMD_GET_PROCESS, true, 0, row_cb, &rs);
	if (err)
		die("processes: %s", strerror(-err));
	if (json) {
		printf("{\"commit_limit\":%" PRIu64 ",\"committed\":%" PRIu64
		       ",\"contexts\":%" PRIu64 ",\"allocations\":%" PRIu64
		       ",\"resident\":%" PRIu64 ",\"locked\":%" PRIu64
		       ",\"page_size\":%u,\"allocation_granularity\":%u"
		       ",\"processes\":[",
		       s.limit, s.committed, s.contexts, s.allocs, s.resident,
		       s.locked, s.page, s.gran);
		for (size_t i = 0; i < rs.n; i++) {
			if (i)
				putchar(',');
			json_row(&rs.r[i]);
		}
		printf("]}\n");
	} else {
		printf("ntvm: committed %s of %s a user, %" PRIu64
		       " contexts, %" PRIu64 " allocations, resident %s, locked %s\n",
		       SZ(s.committed), SZ(s.limit), s.contexts, s.allocs,
		       SZ(s.resident), SZ(s.locked));
		printf("%7s %-15s %4s %7s %9s %9s %9s %9s %9s %9s %9s\n",
		       "PID", "COMMAND", "CTX", "ALLOCS", "RESERVED",
		       "COMMITTED", "RESIDENT", "LOCKED", "WWATCH", "CHARGE",
		       "LIMIT");
		for (size_t i = 0; i < rs.n; i++) {
			const struct row *w = &rs.r[i];

			printf("%7u %-15s %4u %7" PRIu64 " %9s %9s %9s %9s %9s %9s %9s\n",
			       w->pid, w->comm, w->ctx, w->allocs,
			       SZ(w->reserved), SZ(w->committed),
			       SZ(w->resident), SZ(w->locked), SZ(w->ww),
			       SZ(w->charge), w->has_limit ? SZ(w->limit) : "-");
		}
	}
	free(rs.r);
}

/* ---- a process ---- */

struct run {
	uint64_t addr, size, resident, dirty, locked;
	uint32_t state, protect, flags;
};

struct alloc {
	uint64_t base, size;
	uint32_t protect, type, flags, ctx;
	struct run *runs;
	size_t nruns;
};

struct allocs {
	struct alloc *a;
	size_t n, cap;
};

static int alloc_cb(struct nlattr **tb, void *arg)
{
	struct allocs *as = arg;
	struct nlattr *rt[NTVM_A_MAX + 1], *n;
	struct alloc *a;
	int rem;

	if (!tb[NTVM_A_ALLOC_BASE])
		return 0;
	if (u32(tb, NTVM_A_ALLOC_FLAGS) & NTVM_ALLOC_F_CONTINUED && as->n &&
	    as->a[as->n - 1].base == u64(tb, NTVM_A_ALLOC_BASE)) {
		a = &as->a[as->n - 1];
	} else {
		if (as->n == as->cap) {
			as->cap = as->cap ? 2 * as->cap : 64;
			as->a = realloc(as->a, as->cap * sizeof(*as->a));
			if (!as->a)
				die("out of memory");
		}
		a = &as->a[as->n++];
		memset(a, 0, sizeof(*a));
		a->base = u64(tb, NTVM_A_ALLOC_BASE);
		a->size = u64(tb, NTVM_A_ALLOC_SIZE);
		a->protect = u32(tb, NTVM_A_ALLOC_PROTECT);
		a->type = u32(tb, NTVM_A_ALLOC_TYPE);
		a->flags = u32(tb, NTVM_A_ALLOC_FLAGS) & ~NTVM_ALLOC_F_CONTINUED;
		a->ctx = u32(tb, NTVM_A_CONTEXT);
	}
	if (!tb[NTVM_A_ALLOC_RUNS])
		return 0;
	nla_for_each_nested(n, tb[NTVM_A_ALLOC_RUNS], rem) {
		struct run *r;

		if (nla_parse_nested(rt, NTVM_A_MAX, n, NULL) < 0)
			continue;
		a->runs = realloc(a->runs, (a->nruns + 1) * sizeof(*a->runs));
		if (!a->runs)
			die("out of memory");
		r = &a->runs[a->nruns++];
		r->addr = u64(rt, NTVM_A_RUN_ADDRESS);
		r->size = u64(rt, NTVM_A_RUN_SIZE);
		r->state = u32(rt, NTVM_A_RUN_STATE);
		r->protect = u32(rt, NTVM_A_RUN_PROTECT);
		r->flags = u32(rt, NTVM_A_RUN_FLAGS);
		r->resident = u64(rt, NTVM_A_RUN_RESIDENT);
		r->dirty = u64(rt, NTVM_A_RUN_DIRTY);
		r->locked = u64(rt, NTVM_A_RUN_LOCKED);
	}
	return 0;
}

static void free_allocs(struct allocs *as)
{
	for (size_t i = 0; i < as->n; i++)
		free(as->a[i].runs);
	free(as->a);
}

/* Figures summed by protection (VMMap's summary rows). */
struct sum {
	uint32_t protect;	/* 0: reserved */
	uint64_t size, resident, locked, dirty, runs;
};

static struct sum *sum_of(struct sum *s, size_t *n, uint32_t protect)
{
	for (size_t i = 0; i < *n; i++)
		if (s[i].protect == protect)
			return &s[i];
	memset(&s[*n], 0, sizeof(s[*n]));
	s[*n].protect = protect;
	return &s[(*n)++];
}

static int cmp_sum(const void *x, const void *y)
{
	const struct sum *a = x, *b = y;

	return (a->protect > b->protect) - (a->protect < b->protect);
}

static const char *flags_str(uint32_t f)
{
	if (f & NTVM_ALLOC_F_WRITE_WATCH && f & NTVM_ALLOC_F_PLACEHOLDER)
		return "WRITE_WATCH,PLACEHOLDER";
	if (f & NTVM_ALLOC_F_WRITE_WATCH)
		return "WRITE_WATCH";
	if (f & NTVM_ALLOC_F_PLACEHOLDER)
		return "PLACEHOLDER";
	return "-";
}

static void json_run(const struct run *r)
{
	printf("{\"address\":%" PRIu64 ",\"size\":%" PRIu64
	       ",\"state\":\"%s\",\"protect\":%u,\"guard\":%s,\"resident\":%"
	       PRIu64 ",\"dirty\":%" PRIu64 ",\"locked\":%" PRIu64 "}",
	       r->addr, r->size,
	       r->state == NTVM_MEM_COMMIT ? "commit" : "reserve", r->protect,
	       r->flags & NTVM_RUN_F_GUARD ? "true" : "false", r->resident,
	       r->dirty, r->locked);
}

static void view_process(uint32_t pid)
{
	struct allocs as = { 0 };
	struct rows rs = { 0 };
	struct sum sums[64];
	size_t nsums = 0;
	int err;

	err = request(NTVM_CMD_GET_PROCESS, true, pid, row_cb, &rs);
	if (err)
		die_pid(err, pid);
	err = request(NTVM_CMD_GET_ALLOCATION, true, pid, alloc_cb, &as);
	if (err)
		die_pid(err, pid);
	for (size_t i = 0; i < as.n; i++)
		for (size_t j = 0; j < as.a[i].nruns; j++) {
			const struct run *r = &as.a[i].runs[j];
			struct sum *s;

			if (nsums == 64)
				break;
			s = sum_of(sums, &nsums,
				   r->state == NTVM_MEM_COMMIT ? r->protect : 0);
			s->size += r->size;
			s->resident += r->resident;
			s->locked += r->locked;
			s->dirty += r->dirty;
			s->runs++;
		}
	qsort(sums, nsums, sizeof(sums[0]), cmp_sum);

	if (json) {
		printf("{\"pid\":%u,\"contexts\":[", pid);
		for (size_t i = 0; i < rs.n; i++) {
			if (i)
				putchar(',');
			json_row(&rs.r[i]);
		}
		printf("],\"by_protection\":[");
		for (size_t i = 0; i < nsums; i++)
			printf("%s{\"state\":\"%s\",\"protect\":%u,\"size\":%"
			       PRIu64 ",\"resident\":%" PRIu64 ",\"locked\":%"
			       PRIu64 ",\"dirty\":%" PRIu64 ",\"runs\":%" PRIu64
			       "}", i ? "," : "",
			       sums[i].protect ? "commit" : "reserve",
			       sums[i].protect, sums[i].size, sums[i].resident,
			       sums[i].locked, sums[i].dirty, sums[i].runs);
		printf("],\"allocations\":[");
		for (size_t i = 0; i < as.n; i++) {
			const struct alloc *a = &as.a[i];

			printf("%s{\"context\":%u,\"base\":%" PRIu64 ",\"size\":%"
			       PRIu64 ",\"protect\":%u,\"type\":%u,\"write_watch\":%s"
			       ",\"placeholder\":%s,\"runs\":[", i ? "," : "",
			       a->ctx, a->base, a->size, a->protect, a->type,
			       a->flags & NTVM_ALLOC_F_WRITE_WATCH ? "true" : "false",
			       a->flags & NTVM_ALLOC_F_PLACEHOLDER ? "true" : "false");
			for (size_t j = 0; j < a->nruns; j++) {
				if (j)
					putchar(',');
				json_run(&a->runs[j]);
			}
			printf("]}");
		}
		printf("]}\n");
		goto out;
	}

	for (size_t i = 0; i < rs.n; i++) {
		const struct row *w = &rs.r[i];

		printf("Process %u (%s), context %u\n", w->pid, w->comm, w->ctx);
		printf("  allocations %" PRIu64 ", reserved %s, committed %s, resident %s, locked %s, write-watched %s\n",
		       w->allocs, SZ(w->reserved), SZ(w->committed),
		       SZ(w->resident), SZ(w->locked), SZ(w->ww));
		printf("  commit charge %s (peak %s), limit %s; the user's charge %s\n",
		       SZ(w->charge), SZ(w->peak),
		       w->has_limit ? SZ(w->limit) : "none", SZ(w->user));
	}
	printf("\n%-24s %9s %9s %9s %9s %6s\n", "STATE/PROTECTION", "SIZE",
	       "RESIDENT", "LOCKED", "DIRTY", "RUNS");
	for (size_t i = 0; i < nsums; i++)
		printf("%-24s %9s %9s %9s %9s %6" PRIu64 "\n",
		       sums[i].protect ? PROT(sums[i].protect) : "RESERVED",
		       SZ(sums[i].size), SZ(sums[i].resident),
		       SZ(sums[i].locked), SZ(sums[i].dirty), sums[i].runs);
	printf("\n%-18s %9s %9s %9s %-18s %-11s %5s\n", "ADDRESS", "SIZE",
	       "COMMITTED", "RESIDENT", "PROTECT", "FLAGS", "RUNS");
	for (size_t i = 0; i < as.n; i++) {
		const struct alloc *a = &as.a[i];
		uint64_t committed = 0, resident = 0;

		for (size_t j = 0; j < a->nruns; j++) {
			if (a->runs[j].state == NTVM_MEM_COMMIT)
				committed += a->runs[j].size;
			resident += a->runs[j].resident;
		}
		printf("0x%016" PRIx64 " %9s %9s %9s %-18s %-11s %5zu\n",
		       a->base, SZ(a->size), SZ(committed), SZ(resident),
		       PROT(a->protect), flags_str(a->flags), a->nruns);
		if (!show_runs)
			continue;
		for (size_t j = 0; j < a->nruns; j++) {
			const struct run *r = &a->runs[j];

			printf("  0x%016" PRIx64 " %9s %-7s %-18s resident %s dirty %s locked %s\n",
			       r->addr, SZ(r->size),
			       r->state == NTVM_MEM_COMMIT ? "COMMIT" : "RESERVE",
			       PROT(r->protect), SZ(r->resident), SZ(r->dirty),
			       SZ(r->locked));
		}
	}
out:
	free(rs.r);
	free_allocs(&as);
}

/* ---- the map ---- */

enum cell {
	C_FREE, C_RESERVED, C_NOACCESS, C_READONLY, C_READWRITE, C_EXEC,
	C_GUARD, C_LOCKED, C_NR
};

static const struct {
	char ch;
	const char *colour;	/* ANSI background/foreground */
	const char *name;
} cells[C_NR] = {
	[C_FREE]	= { '.', "\033[2m", "free" },
	[C_RESERVED]	= { '-', "\033[34m", "reserved" },
	[C_NOACCESS]	= { 'n', "\033[35m", "committed, no access" },
	[C_READONLY]	= { 'r', "\033[32m", "committed, read-only" },
	[C_READWRITE]	= { 'w', "\033[33m", "committed, read-write" },
	[C_EXEC]	= { 'x', "\033[31m", "committed, executable" },
	[C_GUARD]	= { 'g', "\033[36m", "guard" },
	[C_LOCKED]	= { 'L', "\033[1;33m", "locked" },
};

static enum cell cell_of(const struct run *r)
{
	if (r->state != NTVM_MEM_COMMIT)
		return C_RESERVED;
	/* Mostly locked (a run's locked pages can be anywhere in it). */
	if (r->locked * 2 >= r->size)
		return C_LOCKED;
	if (r->flags & NTVM_RUN_F_GUARD)
		return C_GUARD;
	switch (r->protect & 0xff) {
	case NTVM_PAGE_NOACCESS:
		return C_NOACCESS;
	case NTVM_PAGE_READONLY:
		return C_READONLY;
	case NTVM_PAGE_READWRITE:
	case NTVM_PAGE_WRITECOPY:
		return C_READWRITE;
	}
	return C_EXEC;
}

static void view_map(uint32_t pid)
{
	struct allocs as = { 0 };
	uint64_t lo, hi, block, cols = map_width, ncells, free_ranges = 0;
	uint64_t largest = 0, free_bytes = 0;
	uint64_t (*bytes)[C_NR];
	enum cell *kind;
	int err;

	err = request(NTVM_CMD_GET_ALLOCATION, true, pid, alloc_cb, &as);
	if (err)
		die_pid(err, pid);
	if (!as.n) {
		if (json)
			printf("{\"pid\":%u,\"allocations\":0}\n", pid);
		else
			printf("Process %u: no allocation\n", pid);
		free_allocs(&as);
		return;
	}
	lo = as.a[0].base & ~(GRAN - 1);
	hi = as.a[as.n - 1].base + as.a[as.n - 1].size;
	hi = (hi + GRAN - 1) & ~(GRAN - 1);
	/* Blocks of a power of two granules: at most 32 rows. */
	for (block = GRAN; (hi - lo + block - 1) / block > cols * 32;)
		block *= 2;
	ncells = (hi - lo + block - 1) / block;
	bytes = calloc(ncells, sizeof(*bytes));
	kind = calloc(ncells, sizeof(*kind));
	if (!bytes || !kind)
		die("out of memory");

	/* Fragmentation: the free ranges between allocations (granules). */
	for (size_t i = 0; i + 1 < as.n; i++) {
		uint64_t end = (as.a[i].base + as.a[i].size + GRAN - 1) &
			       ~(GRAN - 1);
		uint64_t gap = as.a[i + 1].base > end ?
			       as.a[i + 1].base - end : 0;

		if (gap) {
			free_ranges++;
			free_bytes += gap;
			if (gap > largest)
				largest = gap;
		}
	}
	for (uint64_t c = 0; c < ncells; c++)
		bytes[c][C_FREE] = block;
	for (size_t i = 0; i < as.n; i++)
		for (size_t j = 0; j < as.a[i].nruns; j++) {
			const struct run *r = &as.a[i].runs[j];
			uint64_t s = r->addr, e = r->addr + r->size;
			enum cell k = cell_of(r);

			while (s < e) {
				uint64_t c = (s - lo) / block;
				uint64_t ce = lo + (c + 1) * block;
				uint64_t n = (e < ce ? e : ce) - s;

				bytes[c][k] += n;
				bytes[c][C_FREE] -= n;
				s += n;
			}
		}
	for (uint64_t c = 0; c < ncells; c++) {
		enum cell best = C_FREE;

		/* The most bytes; committed kinds win a tie. */
		for (int k = 1; k < C_NR; k++)
			if (bytes[c][k] && bytes[c][k] >= bytes[c][best])
				best = k;
		kind[c] = best;
	}

	if (json) {
		printf("{\"pid\":%u,\"start\":%" PRIu64 ",\"end\":%" PRIu64
		       ",\"block\":%" PRIu64 ",\"cells\":\"", pid, lo, hi, block);
		for (uint64_t c = 0; c < ncells; c++)
			putchar(cells[kind[c]].ch);
		printf("\",\"legend\":{");
		for (int k = 0; k < C_NR; k++)
			printf("%s\"%c\":\"%s\"", k ? "," : "", cells[k].ch,
			       cells[k].name);
		printf("},\"allocations\":%zu,\"free_ranges\":%" PRIu64
		       ",\"largest_free_range\":%" PRIu64 ",\"free_bytes\":%"
		       PRIu64 "}\n", as.n, free_ranges, largest, free_bytes);
		goto out;
	}
	printf("Process %u: 0x%016" PRIx64 "-0x%016" PRIx64 ", one cell = %s\n",
	       pid, lo, hi, SZ(block));
	for (uint64_t c = 0; c < ncells; c++) {
		if (c % cols == 0)
			printf("0x%016" PRIx64 " ", lo + c * block);
		if (color)
			printf("%s%c\033[0m", cells[kind[c]].colour,
			       cells[kind[c]].ch);
		else
			putchar(cells[kind[c]].ch);
		if (c % cols == cols - 1 || c == ncells - 1)
			putchar('\n');
	}
	printf("Legend:");
	for (int k = 0; k < C_NR; k++) {
		if (color)
			printf(" %s%c\033[0m %s", cells[k].colour, cells[k].ch,
			       cells[k].name);
		else
			printf(" %c %s", cells[k].ch, cells[k].name);
		putchar(k == C_NR - 1 ? '\n' : ',');
	}
	printf("Allocations %zu, free ranges between them %" PRIu64
	       ", largest free range %s, free %s\n", as.n, free_ranges,
	       SZ(largest), SZ(free_bytes));
out:
	free(bytes);
	free(kind);
	free_allocs(&as);
}

/* ---- events ---- */

static int on_event(struct nl_msg *msg, void *arg)
{
	struct genlmsghdr *g = genlmsg_hdr(nlmsg_hdr(msg));
	struct nlattr *tb[NTVM_A_MAX + 1];
	char when[32];
	time_t now = time(NULL);

	if (genlmsg_parse(nlmsg_hdr(msg), 0, tb, NTVM_A_MAX, NULL) < 0)
		return NL_SKIP;
	strftime(when, sizeof(when), "%H:%M:%S", localtime(&now));
	if (g->cmd == NTVM_CMD_EVENT_COMMIT_REFUSED) {
		bool user = u32(tb, NTVM_A_EVENT_LIMIT_KIND) == NTVM_LIMIT_USER;

		if (json)
			printf("{\"event\":\"commit_refused\",\"pid\":%u,\"context\":%u,\"requested\":%"
			       PRIu64 ",\"limit_kind\":\"%s\",\"limit\":%" PRIu64
			       ",\"commit_charge\":%" PRIu64 ",\"user_commit_charge\":%"
			       PRIu64 ",\"dropped\":%" PRIu64 "}\n",
			       u32(tb, NTVM_A_PID), u32(tb, NTVM_A_CONTEXT),
			       u64(tb, NTVM_A_EVENT_REQUESTED),
			       user ? "user" : "context",
			       u64(tb, NTVM_A_EVENT_LIMIT),
			       u64(tb, NTVM_A_PROC_COMMIT_CHARGE),
			       u64(tb, NTVM_A_PROC_USER_CHARGE),
			       u64(tb, NTVM_A_EVENT_DROPPED));
		else
			printf("%s commit refused: pid %u context %u wanted %s more, at the %s limit %s (charge %s, the user's %s)\n",
			       when, u32(tb, NTVM_A_PID), u32(tb, NTVM_A_CONTEXT),
			       SZ(u64(tb, NTVM_A_EVENT_REQUESTED)),
			       user ? "user's" : "context's",
			       SZ(u64(tb, NTVM_A_EVENT_LIMIT)),
			       SZ(u64(tb, NTVM_A_PROC_COMMIT_CHARGE)),
			       SZ(u64(tb, NTVM_A_PROC_USER_CHARGE)));
	} else if (g->cmd == NTVM_CMD_EVENT_ALLOCATION_FORGOTTEN) {
		if (json)
			printf("{\"event\":\"allocation_forgotten\",\"pid\":%u,\"context\":%u,\"base\":%"
			       PRIu64 ",\"size\":%" PRIu64 ",\"dropped\":%" PRIu64 "}\n",
			       u32(tb, NTVM_A_PID), u32(tb, NTVM_A_CONTEXT),
			       u64(tb, NTVM_A_ALLOC_BASE),
			       u64(tb, NTVM_A_ALLOC_SIZE),
			       u64(tb, NTVM_A_EVENT_DROPPED));
		else
			printf("%s allocation forgotten: pid %u context %u 0x%016" PRIx64 " (%s): its views were unmapped\n",
			       when, u32(tb, NTVM_A_PID), u32(tb, NTVM_A_CONTEXT),
			       u64(tb, NTVM_A_ALLOC_BASE),
			       SZ(u64(tb, NTVM_A_ALLOC_SIZE)));
	} else {
		return NL_SKIP;
	}
	if (!json && u64(tb, NTVM_A_EVENT_DROPPED))
		printf("%s (%" PRIu64 " events left out before, rate limit)\n",
		       when, u64(tb, NTVM_A_EVENT_DROPPED));
	fflush(stdout);
	return NL_OK;
}

static void follow_events(void)
{
	int grp = genl_ctrl_resolve_grp(sk, NTVM_GENL_NAME,
					NTVM_GENL_MCGRP_EVENTS);
	int err;

	if (grp < 0)
		die("the ntvm family has no \"%s\" group", NTVM_GENL_MCGRP_EVENTS);
	nl_socket_disable_seq_check(sk);
	nl_socket_modify_cb(sk, NL_CB_VALID, NL_CB_CUSTOM, on_event, NULL);
	err = nl_socket_add_membership(sk, grp);
	if (err < 0)
		die("cannot follow the events: %s (needs CAP_SYS_ADMIN)",
		    nl_geterror(err));
	if (!json)
		printf("Following ntvm events (Ctrl-C to stop)\n");
	fflush(stdout);
	for (;;) {
		err = nl_recvmsgs_default(sk);
		if (err < 0 && err != -NLE_INTR && err != -NLE_AGAIN)
			die("netlink: %s", nl_geterror(err));
	}
}

static void usage(int status)
{
	fprintf(status ? stderr : stdout,
		"usage: ntvmstat [--json] [-i SECS]                 the system, one line per context\n"
		"       ntvmstat -p PID [--runs] [--json] [-i SECS]  a process's summary and allocations\n"
		"       ntvmstat -p PID --map [--width N] [--color=WHEN] [--json]\n"
		"       ntvmstat -e [--json]                          follow the events\n");
	exit(status);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "pid", required_argument, NULL, 'p' },
		{ "map", no_argument, NULL, 'm' },
		{ "events", no_argument, NULL, 'e' },
		{ "json", no_argument, NULL, 'j' },
		{ "interval", required_argument, NULL, 'i' },
		{ "runs", no_argument, NULL, 'r' },
		{ "width", required_argument, NULL, 'w' },
		{ "color", optional_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	bool map = false, events = false;
	const char *when = "auto";
	double interval = 0;
	uint32_t pid = 0;
	char *end;
	int c;

	while ((c = getopt_long(argc, argv, "p:mei:rw:h", opts, NULL)) != -1) {
		switch (c) {
		case 'p':
			pid = strtoul(optarg, &end, 10);
			if (*end || !pid)
				die("not a pid: %s", optarg);
			break;
		case 'm':
			map = true;
			break;
		case 'e':
			events = true;
			break;
		case 'j':
			json = true;
			break;
		case 'i':
			interval = strtod(optarg, &end);
			if (*end || interval <= 0)
				die("not a number of seconds: %s", optarg);
			break;
		case 'r':
			show_runs = true;
			break;
		case 'w':
			map_width = atoi(optarg);
			if (map_width < 8 || map_width > 1024)
				die("--width: 8 to 1024 cells");
			break;
		case 'c':
			when = optarg ? optarg : "always";
			break;
		case 'h':
			usage(0);
			break;
		default:
			usage(2);
		}
	}
	if (optind != argc || (map && !pid) || (events && (pid || map)))
		usage(2);
	if (!strcmp(when, "always"))
		color = true;
	else if (!strcmp(when, "auto"))
		color = isatty(STDOUT_FILENO) && !getenv("NO_COLOR");
	else if (strcmp(when, "never"))
		die("--color: always, never or auto");

	connect_family();
	if (events)
		follow_events();
	for (;;) {
		if (map)
			view_map(pid);
		else if (pid)
			view_process(pid);
		else
			view_system();
		fflush(stdout);
		if (!interval)
			break;
		usleep(interval * 1e6);
		if (!json)
			putchar('\n');
	}
	nl_socket_free(sk);
	return 0;
}
