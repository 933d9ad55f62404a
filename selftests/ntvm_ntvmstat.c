// SPDX-License-Identifier: GPL-2.0
/*
 * ntvmstat(1) on a layout this test builds: its text, --map and --json
 * outputs, line by line, and its errors.  Runs /usr/bin/ntvmstat (put in
 * the VM by tools/vm-run), or $NTVMSTAT.
 *
 * The layout, at a free range X:
 *   X:             256 KiB reserved read-write, the first 64 KiB
 *                  committed, 2 of its pages written;
 *   X + 384 KiB:   64 KiB committed read-only.
 */
#include <signal.h>
#include <sys/wait.h>

#include "inject.h"

#include "ntvm_test.h"
#include "kselftest_harness.h"

static const char *ntvmstat(void)
{
	const char *p = getenv("NTVMSTAT");

	return p ? p : "ntvmstat";
}

/* The output of ntvmstat ARGS (stdout and stderr) and its exit status. */
static char *run(int *status, const char *fmt, ...)
{
	static char out[65536];
	char cmd[512], args[256];
	size_t n = 0, got;
	va_list ap;
	FILE *f;

	va_start(ap, fmt);
	vsnprintf(args, sizeof(args), fmt, ap);
	va_end(ap);
	snprintf(cmd, sizeof(cmd), "%s %s 2>&1", ntvmstat(), args);
	f = popen(cmd, "r");
	if (!f)
		return NULL;
	while (n < sizeof(out) - 1 &&
	       (got = fread(out + n, 1, sizeof(out) - 1 - n, f)) > 0)
		n += got;
	out[n] = 0;
	*status = pclose(f);
	return out;
}

/* Does @out have the line @fmt...? */
static int has_line(const char *out, const char *fmt, ...)
{
	char want[512];
	const char *p;
	size_t len;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(want, sizeof(want), fmt, ap);
	va_end(ap);
	len = strlen(want);
	for (p = out; (p = strstr(p, want)); p++)
		if ((p == out || p[-1] == '\n') &&
		    (p[len] == '\n' || p[len] == 0))
			return 1;
	fprintf(stderr, "# missing line: \"%s\"\n# in:\n%s", want, out);
	return 0;
}

static int has(const char *out, const char *fmt, ...)
{
	char want[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(want, sizeof(want), fmt, ap);
	va_end(ap);
	if (strstr(out, want))
		return 1;
	fprintf(stderr, "# missing: \"%s\"\n# in:\n%s", want, out);
	return 0;
}

FIXTURE(layout) {
	char *x;
};

FIXTURE_SETUP(layout)
{
	self->x = ptr(free_range(8 * GRAN));
	ASSERT_NE(NULL, self->x);
	ASSERT_EQ(self->x, VirtualAlloc(self->x, 4 * GRAN, MEM_RESERVE,
					PAGE_READWRITE));
	ASSERT_EQ(self->x, VirtualAlloc(self->x, GRAN, MEM_COMMIT,
					PAGE_READWRITE));
	self->x[0] = 1;
	self->x[PAGE] = 1;
	ASSERT_EQ(self->x + 6 * GRAN,
		  VirtualAlloc(self->x + 6 * GRAN, GRAN,
			       MEM_RESERVE | MEM_COMMIT, PAGE_READONLY));
}

FIXTURE_TEARDOWN(layout)
{
}

TEST_F(layout, text)
{
	uintptr_t x = (uintptr_t)self->x;
	int status;
	char *out = run(&status, "-p %d --runs", getpid());

	ASSERT_NE(NULL, out);
	EXPECT_EQ(0, status);
	EXPECT_TRUE(has(out, "Process %d (ntvm_ntvmstat), context ",
			getpid()));
	EXPECT_TRUE(has_line(out, "  allocations 2, reserved 320K, committed 128K, resident 8K, locked 0, write-watched 0"));
	EXPECT_TRUE(has(out, "  commit charge 128K (peak 128K), limit none; the user's charge "));
	EXPECT_TRUE(has_line(out, "%-24s %9s %9s %9s %9s %6s", "STATE/PROTECTION",
			     "SIZE", "RESIDENT", "LOCKED", "DIRTY", "RUNS"));
	EXPECT_TRUE(has_line(out, "%-24s %9s %9s %9s %9s %6d", "RESERVED",
			     "192K", "0", "0", "0", 1));
	EXPECT_TRUE(has_line(out, "%-24s %9s %9s %9s %9s %6d", "READONLY",
			     "64K", "0", "0", "0", 1));
	EXPECT_TRUE(has_line(out, "%-24s %9s %9s %9s %9s %6d", "READWRITE",
			     "64K", "8K", "0", "0", 1));
	EXPECT_TRUE(has_line(out, "0x%016lx %9s %9s %9s %-18s %-11s %5d", x,
			     "256K", "64K", "8K", "READWRITE", "-", 2));
	EXPECT_TRUE(has_line(out, "0x%016lx %9s %9s %9s %-18s %-11s %5d",
			     x + 6 * GRAN, "64K", "64K", "0", "READONLY", "-",
			     1));
	EXPECT_TRUE(has_line(out, "  0x%016lx %9s %-7s %-18s resident 8K dirty 0 locked 0",
			     x, "64K", "COMMIT", "READWRITE"));
	EXPECT_TRUE(has_line(out, "  0x%016lx %9s %-7s %-18s resident 0 dirty 0 locked 0",
			     x + GRAN, "192K", "RESERVE", "-"));
}

TEST_F(layout, map)
{
	uintptr_t x = (uintptr_t)self->x;
	int status;
	char *out = run(&status, "-p %d --map --color=never", getpid());

	ASSERT_NE(NULL, out);
	EXPECT_EQ(0, status);
	EXPECT_TRUE(has_line(out, "Process %d: 0x%016lx-0x%016lx, one cell = 64K",
			     getpid(), x, x + 7 * GRAN));
	EXPECT_TRUE(has_line(out, "0x%016lx w---..r", x));
	EXPECT_TRUE(has_line(out, "Legend: . free, - reserved, n committed, no access, r committed, read-only, w committed, read-write, x committed, executable, g guard, L locked"));
	EXPECT_TRUE(has_line(out, "Allocations 2, free ranges between them 1, largest free range 128K, free 128K"));

	out = run(&status, "-p %d --map --json", getpid());
	EXPECT_EQ(0, status);
	EXPECT_TRUE(has(out, "{\"pid\":%d,\"start\":%lu,\"end\":%lu,\"block\":65536,\"cells\":\"w---..r\"",
			getpid(), x, x + 7 * GRAN));
	EXPECT_TRUE(has(out, "\"allocations\":2,\"free_ranges\":1,\"largest_free_range\":131072,\"free_bytes\":131072}"));
}

TEST_F(layout, json)
{
	uintptr_t x = (uintptr_t)self->x;
	int status;
	char *out = run(&status, "-p %d --json", getpid());

	ASSERT_NE(NULL, out);
	EXPECT_EQ(0, status);
	EXPECT_TRUE(has(out, "{\"pid\":%d,\"contexts\":[{\"pid\":%d,\"context\":",
			getpid(), getpid()));
	EXPECT_TRUE(has(out, ",\"command\":\"ntvm_ntvmstat\",\"allocations\":2,\"reserved\":327680,\"committed\":131072,\"resident\":8192,\"locked\":0,\"write_watched\":0,\"commit_charge\":131072,\"peak_commit_charge\":131072,\"commit_limit\":null,"));
	EXPECT_TRUE(has(out, "\"by_protection\":[{\"state\":\"reserve\",\"protect\":0,\"size\":196608,\"resident\":0,\"locked\":0,\"dirty\":0,\"runs\":1},{\"state\":\"commit\",\"protect\":2,\"size\":65536,\"resident\":0,\"locked\":0,\"dirty\":0,\"runs\":1},{\"state\":\"commit\",\"protect\":4,\"size\":65536,\"resident\":8192,\"locked\":0,\"dirty\":0,\"runs\":1}]"));
	EXPECT_TRUE(has(out, "\"base\":%lu,\"size\":262144,\"protect\":4,\"type\":131072,\"write_watch\":false,\"placeholder\":false,\"runs\":[{\"address\":%lu,\"size\":65536,\"state\":\"commit\",\"protect\":4,\"guard\":false,\"resident\":8192,\"dirty\":0,\"locked\":0},{\"address\":%lu,\"size\":196608,\"state\":\"reserve\",\"protect\":0,\"guard\":false,\"resident\":0,\"dirty\":0,\"locked\":0}]}",
			x, x, x + GRAN));
	EXPECT_TRUE(has(out, "\"base\":%lu,\"size\":65536,\"protect\":2,\"type\":131072,",
			x + 6 * GRAN));

	/* The system view lists this process. */
	out = run(&status, "--json");
	EXPECT_EQ(0, status);
	EXPECT_TRUE(has(out, "{\"pid\":%d,\"context\":", getpid()));
	EXPECT_TRUE(has(out, "\"page_size\":4096,\"allocation_granularity\":65536,\"processes\":["));
	out = run(&status, "");
	EXPECT_EQ(0, status);
	EXPECT_TRUE(has(out, "ntvm: committed "));
	EXPECT_TRUE(has(out, " ntvm_ntvmstat   "));
}

TEST_F(layout, errors)
{
	int status, up[2];
	char *out;
	pid_t child;
	char c;

	out = run(&status, "-p 1");
	EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 1);
	EXPECT_TRUE(has_line(out, "ntvmstat: process 1 uses no ntvm memory (no context)"));
	out = run(&status, "-p 4000000");
	EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 1);
	EXPECT_TRUE(has_line(out, "ntvmstat: no such process: 4000000"));
	out = run(&status, "--map");
	EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 2);

	/* Another user's process. */
	ASSERT_EQ(0, pipe(up));
	child = fork();
	ASSERT_GE(child, 0);
	if (child == 0) {
		int st;

		if (setresgid(65534, 65534, 65534) ||
		    setresuid(65534, 65534, 65534))
			_exit(10);
		out = run(&st, "-p %d", getppid());
		_exit(!(WIFEXITED(st) && WEXITSTATUS(st) == 1 &&
			has_line(out, "ntvmstat: not permitted to look at process %d (another process's memory needs CAP_SYS_PTRACE)",
				 getppid())));
	}
	close(up[1]);
	(void)c;
	ASSERT_EQ(child, waitpid(child, &status, 0));
	EXPECT_EQ(0, status);
}

/*
 * -i repeats the view until interrupted: waited for (up to 60 s), not
 * timed, as a loaded machine may print only once in a second. The
 * background shell may not have created the output file yet when the
 * loop first looks, so it is read through cat, which counts that as 0.
 */
TEST_F(layout, interval)
{
	int status, n = 0;
	char *out = run(&status,
			"-p %d -i 0.2 >/tmp/nsi$$ & p=$!; i=0; "
			"while [ $(cat /tmp/nsi$$ 2>/dev/null | grep -c 'allocations 2,') -lt 2 ] && "
			"[ $i -lt 600 ]; do sleep 0.1; i=$((i+1)); done; "
			"kill $p; cat /tmp/nsi$$; rm /tmp/nsi$$", getpid());
	const char *p;

	ASSERT_NE(NULL, out);
	for (p = out; (p = strstr(p, "  allocations 2, reserved 320K")); p++)
		n++;
	EXPECT_GE(n, 2);
}

/* A line from @f, without its newline, or NULL. */
static char *line_of(FILE *f, char *buf, size_t len)
{
	if (!fgets(buf, len, f))
		return NULL;
	buf[strcspn(buf, "\n")] = 0;
	return buf;
}

/* ntvmstat -e sees a commit refused at the context's limit. */
TEST_F(layout, events)
{
	char buf[512], want[512];
	int out[2], status;
	pid_t child;
	FILE *f;

	/* Events are dropped with an injected failure (see ntvm_netlink). */
	if (inject_active())
		SKIP(return, "events are dropped under fault injection");
	ASSERT_EQ(0, pipe(out));
	child = fork();
	ASSERT_GE(child, 0);
	if (child == 0) {
		dup2(out[1], 1);
		dup2(out[1], 2);
		execlp(ntvmstat(), "ntvmstat", "-e", (char *)NULL);
		_exit(127);
	}
	close(out[1]);
	f = fdopen(out[0], "r");
	ASSERT_NE(NULL, f);
	ASSERT_NE(NULL, line_of(f, buf, sizeof(buf)));
	EXPECT_STREQ("Following ntvm events (Ctrl-C to stop)", buf);
	usleep(1100000);	/* a new second of the rate limit */

	/* 128 KiB more than the 64 KiB limit of a context charged 128 KiB. */
	ASSERT_TRUE(NtvmSetProcessCommitLimit(GRAN));
	ASSERT_EQ(NULL, VirtualAlloc(self->x + GRAN, 2 * GRAN, MEM_COMMIT,
				     PAGE_READWRITE));
	ASSERT_NE(NULL, line_of(f, buf, sizeof(buf)));
	snprintf(want, sizeof(want),
		 " commit refused: pid %d context ", getpid());
	EXPECT_NE(NULL, strstr(buf, want));
	EXPECT_NE(NULL, strstr(buf, " wanted 128K more, at the context's limit 64K (charge 128K, the user's "));
	kill(child, SIGTERM);
	ASSERT_EQ(child, waitpid(child, &status, 0));
	fclose(f);
}

TEST_HARNESS_MAIN
