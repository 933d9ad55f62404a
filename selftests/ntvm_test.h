/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers shared by the ntvm selftests.
 */
#ifndef NTVM_TEST_H
#define NTVM_TEST_H

#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <linux/ntvm.h>
#include <ntvm.h>

#define PAGE	0x1000UL
#define GRAN	0x10000UL

static inline char *ptr(uintptr_t a)
{
	return (char *)a;
}

/* A free, 64 KiB-aligned range of @size bytes (reserved then released). */
static inline uintptr_t free_range(SIZE_T size)
{
	char *p = VirtualAlloc(NULL, size, MEM_RESERVE, PAGE_NOACCESS);

	if (!p)
		return 0;
	if (!VirtualFree(p, 0, MEM_RELEASE))
		return 0;
	return (uintptr_t)p;
}

/* Two adjacent 64 KiB allocations at @b (committed read-write if asked). */
static inline int two_adjacent(uintptr_t b, int commit)
{
	DWORD type = MEM_RESERVE | (commit ? MEM_COMMIT : 0);

	return VirtualAlloc((void *)b, GRAN, type, PAGE_READWRITE) ==
	       (void *)b &&
	       VirtualAlloc((void *)(b + GRAN), GRAN, type, PAGE_READWRITE) ==
	       (void *)(b + GRAN);
}

static inline NTSTATUS nt_alloc(uintptr_t *base, SIZE_T *size, ULONG type,
				ULONG protect)
{
	PVOID b = (PVOID)*base;
	NTSTATUS s = NtAllocateVirtualMemory(NtCurrentProcess(), &b, 0, size,
					     type, protect);

	*base = (uintptr_t)b;
	return s;
}

static inline NTSTATUS nt_free(uintptr_t *base, SIZE_T *size, ULONG type)
{
	PVOID b = (PVOID)*base;
	NTSTATUS s = NtFreeVirtualMemory(NtCurrentProcess(), &b, size, type);

	*base = (uintptr_t)b;
	return s;
}

static inline NTSTATUS nt_protect(uintptr_t *base, SIZE_T *size,
				  ULONG protect, ULONG *old)
{
	PVOID b = (PVOID)*base;
	NTSTATUS s = NtProtectVirtualMemory(NtCurrentProcess(), &b, size,
					    protect, old);

	*base = (uintptr_t)b;
	return s;
}

static inline MEMORY_BASIC_INFORMATION query(uintptr_t addr)
{
	MEMORY_BASIC_INFORMATION mbi;

	memset(&mbi, 0xaa, sizeof(mbi));
	if (VirtualQuery((void *)addr, &mbi, sizeof(mbi)) != sizeof(mbi))
		mbi.State = 0xdead;
	return mbi;
}

/* Access probes: 1 if the access went through, 0 if it faulted. */
static __thread sigjmp_buf ntvm_probe_jmp;
static __thread volatile sig_atomic_t ntvm_probe_armed;

static void ntvm_probe_handler(int sig, siginfo_t *si, void *uc)
{
	if (ntvm_probe_armed) {
		ntvm_probe_armed = 0;
		siglongjmp(ntvm_probe_jmp, 1);
	}
	signal(sig, SIG_DFL);
	raise(sig);
}

static inline void probe_setup(void)
{
	struct sigaction sa = { 0 };

	sa.sa_sigaction = ntvm_probe_handler;
	sa.sa_flags = SA_SIGINFO | SA_NODEFER;
	sigaction(SIGSEGV, &sa, NULL);
	sigaction(SIGBUS, &sa, NULL);
}

static inline int can_read(uintptr_t a, char *value)
{
	char v;

	probe_setup();
	if (sigsetjmp(ntvm_probe_jmp, 1))
		return 0;
	ntvm_probe_armed = 1;
	v = *(volatile char *)a;
	ntvm_probe_armed = 0;
	if (value)
		*value = v;
	return 1;
}

static inline int can_write(uintptr_t a, char value)
{
	probe_setup();
	if (sigsetjmp(ntvm_probe_jmp, 1))
		return 0;
	ntvm_probe_armed = 1;
	*(volatile char *)a = value;
	ntvm_probe_armed = 0;
	return 1;
}

/* Put "mov eax, 42; ret" at @a first if @store; then call it. */
static inline int can_exec(uintptr_t a)
{
	int r;

	probe_setup();
	if (sigsetjmp(ntvm_probe_jmp, 1))
		return 0;
	ntvm_probe_armed = 1;
	r = ((int (*)(void))a)();
	ntvm_probe_armed = 0;
	return r == 42;
}

static const unsigned char ret42[] = { 0xb8, 42, 0, 0, 0, 0xc3 };

/* VMAs of this process that intersect [start, end). */
static inline int count_vmas(uintptr_t start, uintptr_t end)
{
	FILE *f = fopen("/proc/self/maps", "r");
	unsigned long s, e;
	char line[512];
	int n = 0;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "%lx-%lx", &s, &e) == 2 && s < end &&
		    e > start)
			n++;
	fclose(f);
	return n;
}

/* Is this line of /proc/self/maps one of ntvm's views? */
static inline int is_view_line(const char *line)
{
	return strstr(line, " /ntvm (deleted)") != NULL;
}

/* The views (ntvm's mappings, arenas included) of this process. */
static inline int count_views(void)
{
	FILE *f = fopen("/proc/self/maps", "r");
	char line[512];
	int n = 0;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		n += is_view_line(line);
	fclose(f);
	return n;
}

/*
 * Unmap every view of this process, the free arena space too: what a
 * process does to let go of all its ntvm memory once its fd is closed.
 */
static inline int unmap_all_views(void)
{
	unsigned long s[256], e[256];
	FILE *f = fopen("/proc/self/maps", "r");
	char line[512];
	int n = 0, i, err = 0;

	if (!f)
		return -1;
	while (n < 256 && fgets(line, sizeof(line), f))
		if (is_view_line(line) &&
		    sscanf(line, "%lx-%lx", &s[n], &e[n]) == 2)
			n++;
	fclose(f);
	for (i = 0; i < n; i++)
		err |= munmap((void *)s[i], e[i] - s[i]);
	return err;
}

static inline struct ntvm_sysinfo_args sysinfo_now(void)
{
	struct ntvm_sysinfo_args info = { 0 };
	int fd = open("/dev/ntvm", O_RDWR | O_CLOEXEC);

	if (fd >= 0) {
		ioctl(fd, NTVM_IOC_SYSINFO, &info);
		close(fd);
	}
	return info;
}

/* A /proc/meminfo figure in kB ("Shmem:", "MemFree:"), or -1. */
static inline long meminfo_kb(const char *key)
{
	FILE *f = fopen("/proc/meminfo", "r");
	char line[128];
	long kb = -1;

	while (f && fgets(line, sizeof(line), f))
		if (!strncmp(line, key, strlen(key)) &&
		    sscanf(line + strlen(key), " %ld", &kb) == 1)
			break;
	if (f)
		fclose(f);
	return kb;
}

#endif
