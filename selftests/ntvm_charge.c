// SPDX-License-Identifier: GPL-2.0
/*
 * The commit charge is per user: each user (the real uid of the process
 * that opened /dev/ntvm) may commit up to commit_limit_pages, whatever
 * the other users have committed; the processes of one user share it.
 */
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "ntvm_test.h"
#include "kselftest_harness.h"

#define LIMIT_PARAM	"/sys/module/ntvm/parameters/commit_limit_pages"
#define LIMIT		4096UL

static long long read_param(void)
{
	FILE *f = fopen(LIMIT_PARAM, "r");
	long long v = -1;

	if (f) {
		if (fscanf(f, "%lld", &v) != 1)
			v = -1;
		fclose(f);
	}
	return v;
}

static int write_param(long long v)
{
	FILE *f = fopen(LIMIT_PARAM, "w");
	int ok;

	if (!f)
		return -1;
	ok = fprintf(f, "%lld\n", v) > 0;
	return fclose(f) == 0 && ok ? 0 : -1;
}

/* What a child did, as it reports it to the parent. */
struct report {
	int err;			/* setup step that failed, or 0 */
	__u32 first, second;		/* statuses of its two commits */
	__u64 base;
	struct ntvm_sysinfo_args info;	/* after both commits */
};

struct child {
	pid_t pid;
	int cmd;		/* write end: closed to let the child exit */
	int res;		/* read end: the report */
};

/*
 * The children call the module directly, not through inject.c's ioctl():
 * after setuid() they cannot arm fault injection (/proc/self/task/N is
 * root's once the process is not dumpable), and they are about the
 * charge, not about failures.
 */
static long sys_ioctl(int fd, unsigned long req, void *arg)
{
	return syscall(SYS_ioctl, fd, req, arg);
}

static __u32 raw_alloc(int fd, __u64 *base, __u64 size, __u32 type)
{
	struct ntvm_alloc_args a = {
		.base = *base, .size = size, .type = type,
		.protect = NTVM_PAGE_READWRITE,
	};

	if (sys_ioctl(fd, NTVM_IOC_ALLOC, &a))
		return 0xffffffff;
	if (!a.status)
		*base = a.base;
	return a.status;
}

/*
 * A child that becomes @uid, opens /dev/ntvm, reserves @first + @second
 * pages, commits @first of them, then @second more; reports; and keeps
 * its memory until its command pipe is closed.
 */
/*
 * The value before this program ran, put back when it ends even if a test
 * was killed before its teardown (tests run in children that _exit()).
 */
static long long param_at_start = -1;

__attribute__((constructor)) static void save_param(void)
{
	param_at_start = read_param();
}

__attribute__((destructor)) static void restore_param(void)
{
	if (param_at_start >= 0 && read_param() != param_at_start)
		write_param(param_at_start);
}

static struct child spawn(unsigned int uid, unsigned long first,
			  unsigned long second)
{
	struct child c = { .pid = -1, .cmd = -1, .res = -1 };
	int cmd[2], res[2];

	if (pipe(cmd) || pipe(res))
		return c;
	c.pid = fork();
	if (c.pid == 0) {
		struct report r = { 0 };
		__u64 commit;
		char byte;
		int fd;

		prctl(PR_SET_PDEATHSIG, SIGKILL);
		/* Not the other children's pipes: they would never end. */
		for (fd = 3; fd < 1024; fd++)
			if (fd != cmd[0] && fd != res[1])
				close(fd);
		if (setgid(uid) || setuid(uid))
			r.err = 1;
		fd = r.err ? -1 : open("/dev/ntvm", O_RDWR | O_CLOEXEC);
		if (!r.err && fd < 0)
			r.err = 2;
		if (!r.err &&
		    raw_alloc(fd, &r.base, (first + second) * PAGE,
			      NTVM_MEM_RESERVE))
			r.err = 3;
		if (!r.err) {
			commit = r.base;
			r.first = first ? raw_alloc(fd, &commit, first * PAGE,
						    NTVM_MEM_COMMIT) : 0;
			commit = r.base + first * PAGE;
			r.second = second ?
				   raw_alloc(fd, &commit, second * PAGE,
					     NTVM_MEM_COMMIT) : 0;
			if (sys_ioctl(fd, NTVM_IOC_SYSINFO, &r.info))
				r.err = 4;
		}
		if (write(res[1], &r, sizeof(r)) != sizeof(r))
			_exit(1);
		/* Keep the memory until the parent says so. */
		while (read(cmd[0], &byte, 1) > 0)
			;
		_exit(0);
	}
	close(cmd[0]);
	close(res[1]);
	c.cmd = cmd[1];
	c.res = res[0];
	if (c.pid < 0) {
		close(c.cmd);
		close(c.res);
	}
	return c;
}

static int report_of(struct child *c, struct report *r)
{
	return read(c->res, r, sizeof(*r)) == sizeof(*r) ? 0 : -1;
}

/* Let the child go and reap it. */
static void finish(struct child *c)
{
	int status;

	if (c->pid <= 0)
		return;
	close(c->cmd);
	close(c->res);
	waitpid(c->pid, &status, 0);
	c->pid = -1;
}

FIXTURE(charge)
{
	long long saved;
	struct child a, a2, b;
};

FIXTURE_SETUP(charge)
{
	self->a.pid = self->a2.pid = self->b.pid = -1;
	self->saved = -1;
	if (getuid() != 0)
		SKIP(return, "needs root (setuid, %s)", LIMIT_PARAM);
	self->saved = read_param();
	ASSERT_LE(0, self->saved);
	ASSERT_EQ(0, write_param(LIMIT));
	ASSERT_EQ(LIMIT, read_param());
}

FIXTURE_TEARDOWN(charge)
{
	finish(&self->a);
	finish(&self->a2);
	finish(&self->b);
	if (self->saved >= 0)
		EXPECT_EQ(0, write_param(self->saved));
}

TEST_F(charge, per_user)
{
	struct ntvm_sysinfo_args before = sysinfo_now();
	struct report ra, ra2, rb;

	EXPECT_EQ(LIMIT, before.commit_limit);

	/* uid 1000 commits exactly the limit; one page more fails. */
	self->a = spawn(1000, LIMIT, 1);
	ASSERT_LT(0, self->a.pid);
	ASSERT_EQ(0, report_of(&self->a, &ra));
	ASSERT_EQ(0, ra.err);
	EXPECT_EQ(NTVM_STATUS_SUCCESS, ra.first);
	EXPECT_EQ(NTVM_STATUS_COMMITMENT_LIMIT, ra.second);
	EXPECT_EQ(LIMIT, ra.info.user_committed);
	EXPECT_EQ(LIMIT, ra.info.commit_limit);
	EXPECT_EQ(before.committed + LIMIT, ra.info.committed);

	/* uid 1001 has a charge of its own: 1024 pages commit. */
	self->b = spawn(1001, 1024, 0);
	ASSERT_LT(0, self->b.pid);
	ASSERT_EQ(0, report_of(&self->b, &rb));
	ASSERT_EQ(0, rb.err);
	EXPECT_EQ(NTVM_STATUS_SUCCESS, rb.first)
		TH_LOG("another user's commit failed: the charge is global");
	EXPECT_EQ(1024, rb.info.user_committed);
	EXPECT_EQ(LIMIT, rb.info.commit_limit);
	EXPECT_EQ(before.committed + LIMIT + 1024, rb.info.committed);

	/* Another process of uid 1000 shares its user's charge. */
	self->a2 = spawn(1000, 1, 0);
	ASSERT_LT(0, self->a2.pid);
	ASSERT_EQ(0, report_of(&self->a2, &ra2));
	ASSERT_EQ(0, ra2.err);
	EXPECT_EQ(NTVM_STATUS_COMMITMENT_LIMIT, ra2.first);
	EXPECT_EQ(LIMIT, ra2.info.user_committed);

	/* Exits give every charge back. */
	finish(&self->a);
	finish(&self->a2);
	finish(&self->b);
	EXPECT_EQ(before.committed, sysinfo_now().committed);
	EXPECT_EQ(before.allocations, sysinfo_now().allocations);
}

TEST_HARNESS_MAIN
