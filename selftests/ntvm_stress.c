// SPDX-License-Identifier: GPL-2.0
/*
 * Stress: processes x threads doing random reserve/commit/decommit/
 * release/protect/query on their own allocations for a fixed time, each
 * page checked against a shadow (it holds exactly what was last written
 * to it, or zero after a decommit; it faults exactly when its state says
 * so), with forks, exits and a SIGKILL mid-operation.  Afterwards the
 * module's counters are back to where they started.  Seeded: the same
 * seed gives the same sequence of operations in each thread.
 *
 *   ntvm_stress [PROCS] [THREADS] [SECONDS] [SEED]   (3 3 5 1)
 */
#include <pthread.h>
#include <sys/wait.h>

#include "ntvm_test.h"

#define SLOTS		4
#define MAX_PAGES	64

struct slot {
	char *base;		/* NULL: no allocation */
	int pages;
	DWORD prot[MAX_PAGES];	/* 0: reserved */
	unsigned char val[MAX_PAGES];	/* last byte written, 0 if none */
};

struct worker {
	unsigned int seed;
	int id;
	volatile int *stop;
	unsigned long ops, errors;
	struct slot s[SLOTS];
};

static const DWORD prots[] = {
	PAGE_NOACCESS, PAGE_READONLY, PAGE_READWRITE, PAGE_EXECUTE_READ,
	PAGE_EXECUTE_READWRITE,
};

static int rd_ok(DWORD p)
{
	return p && p != PAGE_NOACCESS;
}

static int wr_ok(DWORD p)
{
	return p == PAGE_READWRITE || p == PAGE_EXECUTE_READWRITE;
}

#define FAIL(w, fmt, ...) do {						\
	fprintf(stderr, "# stress %d: " fmt "\n", (w)->id, ##__VA_ARGS__); \
	(w)->errors++;							\
} while (0)

static void check_page(struct worker *w, struct slot *s, int i)
{
	uintptr_t a = (uintptr_t)s->base + i * PAGE;
	MEMORY_BASIC_INFORMATION mbi = query(a);
	char v = 0;

	if (mbi.State != (s->prot[i] ? MEM_COMMIT : MEM_RESERVE) ||
	    mbi.Protect != s->prot[i] || mbi.AllocationBase != s->base)
		FAIL(w, "page %d: state %x protect %x, expected %x", i,
		     mbi.State, mbi.Protect, s->prot[i]);
	if (can_read(a + 17, &v) != rd_ok(s->prot[i]))
		FAIL(w, "page %d: read access wrong for %x", i, s->prot[i]);
	else if (rd_ok(s->prot[i]) && (unsigned char)v != s->val[i])
		FAIL(w, "page %d holds %u, expected %u", i,
		     (unsigned char)v, s->val[i]);
}

static void one_op(struct worker *w)
{
	struct slot *s = &w->s[rand_r(&w->seed) % SLOTS];
	int r = rand_r(&w->seed), i, first, n;
	DWORD prot = prots[(r >> 4) % 5], old;

	if (!s->base) {
		s->pages = 1 + (r >> 8) % MAX_PAGES;
		s->base = VirtualAlloc(NULL, s->pages * PAGE, MEM_RESERVE,
				       PAGE_NOACCESS);
		if (!s->base)
			FAIL(w, "reserve: %u", GetLastError());
		memset(s->prot, 0, sizeof(s->prot));
		memset(s->val, 0, sizeof(s->val));
		return;
	}
	first = (r >> 8) % s->pages;
	n = 1 + (r >> 16) % (s->pages - first);
	switch (r % 8) {
	case 0:
		if (VirtualAlloc(s->base + first * PAGE, n * PAGE, MEM_COMMIT,
				 prot) != s->base + first * PAGE) {
			FAIL(w, "commit: %u", GetLastError());
			break;
		}
		for (i = first; i < first + n; i++) {
			if (!s->prot[i])
				s->val[i] = 0;
			s->prot[i] = prot;
		}
		break;
	case 1:
		if (!VirtualFree(s->base + first * PAGE, n * PAGE,
				 MEM_DECOMMIT))
			FAIL(w, "decommit: %u", GetLastError());
		for (i = first; i < first + n; i++)
			s->prot[i] = 0;
		break;
	case 2: {
		int all = 1;

		for (i = first; i < first + n; i++)
			all &= !!s->prot[i];
		if (VirtualProtect(s->base + first * PAGE, n * PAGE, prot,
				   &old) != all ||
		    (!all && GetLastError() != ERROR_INVALID_ADDRESS)) {
			FAIL(w, "protect: %u (all committed: %d)",
			     GetLastError(), all);
			break;
		}
		if (all && old != s->prot[first])
			FAIL(w, "old protect %x, expected %x", old,
			     s->prot[first]);
		for (i = first; all && i < first + n; i++)
			s->prot[i] = prot;
		break;
	}
	case 3: case 4:
		for (i = first; i < first + n; i++) {
			unsigned char v = 1 + (rand_r(&w->seed) % 255);
			uintptr_t a = (uintptr_t)s->base + i * PAGE;

			if (can_write(a + 17, v) != wr_ok(s->prot[i]))
				FAIL(w, "write access wrong for %x",
				     s->prot[i]);
			else if (wr_ok(s->prot[i]))
				s->val[i] = v;
		}
		break;
	case 5: case 6:
		for (i = first; i < first + n; i++)
			check_page(w, s, i);
		break;
	case 7:
		/* (Another thread may reserve the range again at once.) */
		if (!VirtualFree(s->base, 0, MEM_RELEASE))
			FAIL(w, "release: %u", GetLastError());
		s->base = NULL;
		break;
	}
}

static void *worker_thread(void *arg)
{
	struct worker *w = arg;

	while (!*w->stop) {
		one_op(w);
		w->ops++;
	}
	return NULL;
}

/* One process: THREADS workers for SECONDS; exit 0 if all checks held. */
static int run_process(int id, int threads, int seconds, unsigned int seed)
{
	struct worker *w = calloc(threads, sizeof(*w));
	pthread_t *t = calloc(threads, sizeof(*t));
	volatile int stop = 0;
	unsigned long errors = 0;
	int i;

	for (i = 0; i < threads; i++) {
		w[i] = (struct worker){ .seed = seed * 1000 + id * 10 + i,
					.id = id * 10 + i, .stop = &stop };
		pthread_create(&t[i], NULL, worker_thread, &w[i]);
	}
	for (i = 0; i < seconds * 10; i++) {
		usleep(100000);
		/* Now and then a child that uses ntvm and exits. */
		if (i % 7 == 3) {
			pid_t pid = fork();

			if (pid == 0) {
				char *p = VirtualAlloc(NULL, 0x20000,
						       MEM_COMMIT,
						       PAGE_READWRITE);
				if (!p)
					_exit(1);
				memset(p, 1, 0x20000);
				_exit(0);
			}
			if (pid > 0)
				waitpid(pid, NULL, 0);
		}
	}
	stop = 1;
	for (i = 0; i < threads; i++) {
		pthread_join(t[i], NULL);
		errors += w[i].errors;
		printf("# stress %d: %lu operations, %lu errors\n", w[i].id,
		       w[i].ops, w[i].errors);
	}
	return errors ? 1 : 0;
}

int main(int argc, char **argv)
{
	int procs = argc > 1 ? atoi(argv[1]) : 3;
	int threads = argc > 2 ? atoi(argv[2]) : 3;
	int seconds = argc > 3 ? atoi(argv[3]) : 5;
	unsigned int seed = argc > 4 ? atoi(argv[4]) : 1;
	struct ntvm_sysinfo_args before = sysinfo_now(), after;
	long shmem = meminfo_kb("Shmem:"), memfree = meminfo_kb("MemFree:");
	pid_t victim, pid[64];
	int i, status, failed = 0;

	printf("TAP version 13\n1..3\n");
	fflush(stdout);
	/* A victim, killed mid-operation. */
	victim = fork();
	if (victim == 0)
		_exit(run_process(99, threads, 1000, seed));
	for (i = 0; i < procs && i < 64; i++) {
		pid[i] = fork();
		if (pid[i] == 0)
			_exit(run_process(i, threads, seconds, seed));
	}
	usleep(seconds * 500000);
	kill(victim, SIGKILL);
	waitpid(victim, &status, 0);
	if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGKILL)
		failed++;
	for (i = 0; i < procs && i < 64; i++) {
		waitpid(pid[i], &status, 0);
		if (!WIFEXITED(status) || WEXITSTATUS(status))
			failed++;
	}
	printf("%s 1 stress: %d processes x %d threads, %d s, seed %u\n",
	       failed ? "not ok" : "ok", procs, threads, seconds, seed);
	after = sysinfo_now();
	printf("# contexts %llu -> %llu, allocations %llu -> %llu, committed %llu -> %llu\n",
	       before.contexts, after.contexts, before.allocations,
	       after.allocations, before.committed, after.committed);
	i = after.contexts == before.contexts &&
	    after.allocations == before.allocations &&
	    after.committed == before.committed;
	printf("%s 2 stress: counters back to their baseline\n",
	       i ? "ok" : "not ok");
	failed += !i;
	/* All pages went back: shmem use as before (within 1 MiB). */
	printf("# Shmem %ld -> %ld kB, MemFree %ld -> %ld kB\n", shmem,
	       meminfo_kb("Shmem:"), memfree, meminfo_kb("MemFree:"));
	i = meminfo_kb("Shmem:") <= shmem + 1024;
	printf("%s 3 stress: shmem back to its baseline\n", i ? "ok" : "not ok");
	return failed || !i;
}
