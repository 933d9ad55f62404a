// SPDX-License-Identifier: GPL-2.0
/*
 * Memory pressure: in a VM with little RAM and zram swap, commit and fill
 * more than RAM through ntvm, change protections while pages are swapped
 * out, and read everything back intact (pages go out to swap and come
 * back through ntvm's fault path).  Not part of run-all: tools/check boots
 * a small VM for it.
 *
 *   mempressure MIB        (root; loads /lib/zsmalloc.ko, /lib/zram.ko
 *                           when zram is not built in)
 */
#include <sys/wait.h>

#include "ntvm_test.h"

static int sh(const char *cmd)
{
	int rc = system(cmd);

	return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

static uint64_t pattern(size_t page, int word)
{
	return (page * 0x9E3779B97F4A7C15ULL) ^ (word * 0xC2B2AE3D27D4EB4FULL);
}

int main(int argc, char **argv)
{
	size_t mib = argc > 1 ? strtoul(argv[1], NULL, 0) : 512;
	size_t size = mib << 20, pages = size / PAGE, i, bad = 0, ro_bad = 0;
	long ram = meminfo_kb("MemTotal:"), swapped;
	char buf[128];
	DWORD old;
	char *p;

	printf("TAP version 13\n1..1\n");
	if (access("/sys/block/zram0", F_OK)) {
		sh("insmod /lib/zsmalloc.ko 2>/dev/null");
		sh("insmod /lib/zram.ko 2>/dev/null");
	}
	snprintf(buf, sizeof(buf),
		 "echo %zuM > /sys/block/zram0/disksize && mkswap /dev/zram0 >/dev/null && swapon /dev/zram0",
		 mib + 256);
	if (sh(buf)) {
		printf("not ok 1 pressure: cannot set up zram swap\n");
		return 1;
	}
	/* The module took RAM + swap at load time, before this swap. */
	sh("echo 0 > /sys/module/ntvm/parameters/commit_limit_pages");
	snprintf(buf, sizeof(buf),
		 "echo %zu > /sys/module/ntvm/parameters/commit_limit_pages",
		 (size_t)ram / 4 + pages + 65536);
	sh(buf);

	p = VirtualAlloc(NULL, size, MEM_COMMIT, PAGE_READWRITE);
	if (!p) {
		printf("not ok 1 pressure: commit of %zu MiB failed: %u\n",
		       mib, GetLastError());
		return 1;
	}
	for (i = 0; i < pages; i++) {
		uint64_t *w = (uint64_t *)(p + i * PAGE);
		int j;

		for (j = 0; j < 64; j++)
			w[j] = pattern(i, j);
	}
	swapped = meminfo_kb("SwapTotal:") - meminfo_kb("SwapFree:");
	/* Lower protections while most pages are out. */
	for (i = 0; i < pages; i += 64)
		VirtualProtect(p + i * PAGE, 16 * PAGE, PAGE_READONLY, &old);
	for (i = 0; i < pages; i++) {
		uint64_t *w = (uint64_t *)(p + i * PAGE);
		int j;

		for (j = 0; j < 64; j++)
			if (w[j] != pattern(i, j)) {
				bad++;
				break;
			}
		if (i % 64 < 16 && can_write((uintptr_t)w + 1000, 1))
			ro_bad++;
	}
	printf("# %zu MiB committed with %ld MiB of RAM; %ld MiB were in swap\n",
	       mib, ram / 1024, swapped / 1024);
	printf("%s 1 pressure: %zu pages read back, %zu wrong, %zu read-only pages writable\n",
	       bad || ro_bad || swapped <= 0 ? "not ok" : "ok", pages, bad,
	       ro_bad);
	VirtualFree(p, 0, MEM_RELEASE);
	sh("swapoff /dev/zram0");
	sh("echo 0 > /sys/module/ntvm/parameters/commit_limit_pages");
	return bad || ro_bad || swapped <= 0;
}
