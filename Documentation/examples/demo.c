// SPDX-License-Identifier: GPL-2.0
/*
 * ntvm demo: reserve, commit, write, decommit and release memory through
 * libntvm's VirtualAlloc/VirtualFree, saying what happens at each step.
 *
 * Build: cc demo.c $(pkg-config --cflags --libs ntvm)
 */
#include <stdio.h>
#include <string.h>

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

int main(void)
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
	printf("demo: done\n");
	return 0;
}
