// SPDX-License-Identifier: GPL-2.0
/*
 * ntvm demo: reserve, commit, write, decommit and release memory through
 * libntvm's VirtualAlloc/VirtualFree, saying what happens at each step.
 *
 * With --ntvmstat PROGRAM, it then lays out memory as a program might (an
 * image, a heap, a stack with its guard page, a write-watched buffer,
 * small allocations with holes between them) and shows it with
 * PROGRAM -p PID and PROGRAM -p PID --map (see ntvmstat(1)).
 *
 * Build: cc demo.c $(pkg-config --cflags --libs ntvm)
 */
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <ntvm.h>

static const char *state_name(DWORD state)
{
	switch (state) {
	case MEM_COMMIT:	return "committed";
	case MEM_RESERVE:	return "reserved";
	case MEM_FREE:		return "free";
	default:		return "?";
	}
}

static void show(const char *what, void *addr)
{
	MEMORY_BASIC_INFORMATION mbi;

	if (!VirtualQuery(addr, &mbi, sizeof(mbi))) {
		printf("  VirtualQuery failed: error %u\n", GetLastError());
		return;
	}
	printf("  %-28s %p: %s, %zu KiB, protect 0x%x\n", what, addr,
	       state_name(mbi.State), (size_t)mbi.RegionSize / 1024,
	       mbi.Protect);
}

/* Run "@prog -p <our pid> [@arg]" and wait for it. */
static void run_ntvmstat(const char *prog, const char *arg)
{
	char pid[16];
	pid_t child;

	snprintf(pid, sizeof(pid), "%d", (int)getpid());
	printf("\n$ ntvmstat -p %s%s%s\n", pid, arg ? " " : "", arg ? arg : "");
	fflush(stdout);
	child = fork();
	if (child == 0) {
		execlp(prog, "ntvmstat", "-p", pid, arg, (char *)NULL);
		perror(prog);
		_exit(127);
	}
	if (child > 0)
		waitpid(child, NULL, 0);
}

/* Memory laid out as a program might, for ntvmstat to show. */
static int layout(void)
{
	char *image, *heap, *stack, *ww, *small[8];
	DWORD old;
	int i;

	image = VirtualAlloc(NULL, 0x60000, MEM_RESERVE, PAGE_EXECUTE_READWRITE);
	heap = VirtualAlloc(NULL, 0x400000, MEM_RESERVE, PAGE_READWRITE);
	stack = VirtualAlloc(NULL, 0x100000, MEM_RESERVE, PAGE_READWRITE);
	ww = VirtualAlloc(NULL, 0x40000, MEM_RESERVE | MEM_COMMIT |
			  MEM_WRITE_WATCH, PAGE_READWRITE);
	if (!image || !heap || !stack || !ww)
		return -1;
	/* The image: code, read-only data, data. */
	if (!VirtualAlloc(image, 0x60000, MEM_COMMIT, PAGE_READWRITE) ||
	    !VirtualProtect(image, 0x20000, PAGE_EXECUTE_READ, &old) ||
	    !VirtualProtect(image + 0x20000, 0x30000, PAGE_READONLY, &old))
		return -1;
	/* The heap: 256 KiB committed, 64 KiB of it written, 8 KiB locked. */
	if (!VirtualAlloc(heap, 0x40000, MEM_COMMIT, PAGE_READWRITE))
		return -1;
	memset(heap, 0x5a, 0x10000);
	if (!VirtualLock(heap, 0x2000))
		return -1;
	/* The stack: its top 64 KiB committed, a guard page below. */
	if (!VirtualAlloc(stack + 0xf0000, 0x10000, MEM_COMMIT,
			  PAGE_READWRITE) ||
	    !VirtualAlloc(stack + 0xef000, 0x1000, MEM_COMMIT,
			  PAGE_READWRITE | PAGE_GUARD))
		return -1;
	memset(stack + 0xfc000, 0, 0x4000);
	/* A write-watched buffer, 4 pages written. */
	for (i = 0; i < 4; i++)
		ww[i * 0x3000] = 1;
	/* Small allocations; every other one released again: holes. */
	for (i = 0; i < 8; i++)
		small[i] = VirtualAlloc(NULL, 0x10000, MEM_RESERVE | MEM_COMMIT,
					PAGE_READWRITE);
	for (i = 1; i < 8; i += 2)
		if (!small[i] || !VirtualFree(small[i], 0, MEM_RELEASE))
			return -1;
	return 0;
}

int main(int argc, char **argv)
{
	SYSTEM_INFO si;
	char *base, *page;

	GetSystemInfo(&si);
	printf("ntvm demo: page size %u, allocation granularity %u\n",
	       si.dwPageSize, si.dwAllocationGranularity);

	base = VirtualAlloc(NULL, 1 << 20, MEM_RESERVE, PAGE_NOACCESS);
	if (!base) {
		printf("VirtualAlloc(MEM_RESERVE) failed: error %u\n",
		       GetLastError());
		return 1;
	}
	printf("1. reserved 1 MiB of address space at %p\n", base);
	show("after reserve", base);

	page = VirtualAlloc(base + 0x3000, 0x2000, MEM_COMMIT, PAGE_READWRITE);
	if (page != base + 0x3000) {
		printf("VirtualAlloc(MEM_COMMIT) failed: error %u\n",
		       GetLastError());
		return 1;
	}
	printf("2. committed 8 KiB read-write at %p\n", page);
	show("committed part", page);
	show("rest stays reserved", base + 0x5000);

	strcpy(page, "hello from committed memory");
	printf("3. wrote and read back: \"%s\"\n", page);

	if (!VirtualFree(page, 0x2000, MEM_DECOMMIT)) {
		printf("VirtualFree(MEM_DECOMMIT) failed: error %u\n",
		       GetLastError());
		return 1;
	}
	printf("4. decommitted the 8 KiB: touching them now would fault\n");
	show("after decommit", page);

	page = VirtualAlloc(page, 0x1000, MEM_COMMIT, PAGE_READWRITE);
	printf("5. committed again: the page reads %s\n",
	       page && page[0] == 0 ? "zero, as Windows promises" : "WRONG");

	if (!VirtualFree(base, 0, MEM_RELEASE)) {
		printf("VirtualFree(MEM_RELEASE) failed: error %u\n",
		       GetLastError());
		return 1;
	}
	printf("6. released the whole reservation\n");
	show("after release", base);

	if (VirtualFree(base, 0, MEM_RELEASE) ||
	    GetLastError() != ERROR_INVALID_ADDRESS) {
		printf("releasing twice did not fail as it should\n");
		return 1;
	}
	printf("7. releasing it twice fails with ERROR_INVALID_ADDRESS (%u)\n",
	       GetLastError());
	if (argc == 3 && !strcmp(argv[1], "--ntvmstat")) {
		if (layout()) {
			printf("laying memory out failed: error %u\n",
			       GetLastError());
			return 1;
		}
		printf("8. laid out an image, a heap, a stack, a write-watched buffer and small allocations\n");
		run_ntvmstat(argv[2], NULL);
		run_ntvmstat(argv[2], "--map");
	}
	printf("demo: done\n");
	return 0;
}
