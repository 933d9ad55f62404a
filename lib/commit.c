// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The process's commit charge and commit limit: GetProcessMemoryInfo
 * (psapi, kernel32's K32GetProcessMemoryInfo) and ntvm's own
 * NtvmSetProcessCommitLimit / NtvmGetProcessCommitLimit.
 *
 * The limit belongs to the context (one open of /dev/ntvm).  libntvm
 * keeps the value it last set, so that a forked child, which opens a
 * context of its own, gets its parent's limit, as a child process stays
 * in its parent's job on Windows.  Across exec() only the environment
 * carries it: NTVM_COMMIT_LIMIT, read when the process first opens the
 * device.
 */
#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <unistd.h>

#include "internal.h"

#define NTVM_PAGE_SHIFT 12

static pthread_mutex_t ntvm_limit_lock = PTHREAD_MUTEX_INITIALIZER;
/* The limit this process's context has, or is to get when opened. */
static __u64 ntvm_limit_pages = NTVM_COMMIT_LIMIT_NONE;
static int ntvm_limit_env_read;

/* NTVM_COMMIT_LIMIT: decimal bytes, optionally K, M, G or T (1024s). */
static int ntvm_parse_limit(const char *s, __u64 *pages)
{
	unsigned long long v;
	unsigned int shift = 0;
	char *end;

	if (!isdigit((unsigned char)*s))
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno)
		return -1;
	switch (*end) {
	case 'K': case 'k':
		shift = 10;
		break;
	case 'M': case 'm':
		shift = 20;
		break;
	case 'G': case 'g':
		shift = 30;
		break;
	case 'T': case 't':
		shift = 40;
		break;
	case '\0':
		break;
	default:
		return -1;
	}
	if (shift && *++end)
		return -1;
	if (shift && v > (~0ULL >> shift))
		return -1;
	*pages = (v << shift) >> NTVM_PAGE_SHIFT;
	return 0;
}

static int ntvm_set_limit(int fd, __u64 pages)
{
	struct ntvm_commit_limit_args args = { .limit = pages };

	return ioctl(fd, NTVM_IOC_SET_COMMIT_LIMIT, &args);
}

/*
 * The device was just opened as @fd (under the device lock): give the
 * new context the process's limit, from the environment the first time.
 */
void ntvm_commit_limit_opened(int fd)
{
	const char *env;

	pthread_mutex_lock(&ntvm_limit_lock);
	if (!ntvm_limit_env_read) {
		ntvm_limit_env_read = 1;
		env = getenv("NTVM_COMMIT_LIMIT");
		if (env && ntvm_parse_limit(env, &ntvm_limit_pages))
			fprintf(stderr,
				"libntvm: NTVM_COMMIT_LIMIT=%s is not a size in bytes (K, M, G or T allowed): no limit set\n",
				env);
	}
	if (ntvm_limit_pages != NTVM_COMMIT_LIMIT_NONE &&
	    ntvm_set_limit(fd, ntvm_limit_pages))
		fprintf(stderr,
			"libntvm: cannot set the commit limit: %s (an older ntvm module?)\n",
			strerror(errno));
	pthread_mutex_unlock(&ntvm_limit_lock);
}

/* In a forked child: the parent may have held the lock. */
void ntvm_commit_limit_child(void)
{
	pthread_mutex_init(&ntvm_limit_lock, NULL);
}

NTVM_EXPORT BOOL WINAPI NtvmSetProcessCommitLimit(SIZE_T bytes)
{
	__u64 pages = bytes == NTVM_NO_COMMIT_LIMIT ? NTVM_COMMIT_LIMIT_NONE :
			(__u64)bytes >> NTVM_PAGE_SHIFT;
	int fd = ntvm_dev();
	int err;

	if (fd < 0) {
		SetLastError(ERROR_NOT_SUPPORTED);
		return FALSE;
	}
	pthread_mutex_lock(&ntvm_limit_lock);
	err = ntvm_set_limit(fd, pages) ? errno : 0;
	if (!err)
		ntvm_limit_pages = pages;
	pthread_mutex_unlock(&ntvm_limit_lock);
	if (err) {
		SetLastError(err == EFAULT ? ERROR_NOACCESS :
			     err == ENOTTY ? ERROR_NOT_SUPPORTED :
			     ERROR_ACCESS_DENIED);
		return FALSE;
	}
	return TRUE;
}

/* The context's charge and limit; STATUS_NOT_SUPPORTED without one. */
static NTSTATUS ntvm_get_commit(struct ntvm_commit_args *args)
{
	return ntvm_ioctl(NTVM_IOC_GET_COMMIT, args, NULL);
}

static SIZE_T ntvm_pages_to_bytes(__u64 pages)
{
	if (pages > (__u64)(SIZE_T)-1 >> NTVM_PAGE_SHIFT)
		return (SIZE_T)-1;
	return (SIZE_T)(pages << NTVM_PAGE_SHIFT);
}

NTVM_EXPORT BOOL WINAPI NtvmGetProcessCommitLimit(PSIZE_T bytes)
{
	struct ntvm_commit_args args;
	NTSTATUS status;

	if (!bytes) {
		SetLastError(ERROR_NOACCESS);
		return FALSE;
	}
	status = ntvm_get_commit(&args);
	if (!NT_SUCCESS(status)) {
		SetLastError(RtlNtStatusToDosError(status));
		return FALSE;
	}
	*bytes = args.limit == NTVM_COMMIT_LIMIT_NONE ? NTVM_NO_COMMIT_LIMIT :
			ntvm_pages_to_bytes(args.limit);
	return TRUE;
}

/* Resident pages of the process, from /proc/self/statm (0 without it). */
static SIZE_T ntvm_resident_bytes(void)
{
	unsigned long size, resident;
	FILE *f = fopen("/proc/self/statm", "re");
	int n;

	if (!f)
		return 0;
	n = fscanf(f, "%lu %lu", &size, &resident);
	fclose(f);
	if (n != 2)
		return 0;
	return (SIZE_T)resident * (SIZE_T)sysconf(_SC_PAGESIZE);
}

NTVM_EXPORT BOOL WINAPI K32GetProcessMemoryInfo(HANDLE process,
						PPROCESS_MEMORY_COUNTERS pmc,
						DWORD cb)
{
	struct ntvm_commit_args args = { 0 };
	struct ntvm_target t;
	struct rusage ru;
	NTSTATUS status;

	if (cb < sizeof(PROCESS_MEMORY_COUNTERS)) {
		SetLastError(ERROR_INSUFFICIENT_BUFFER);
		return FALSE;
	}
	/* The caller's own: another process's handle is refused. */
	status = ntvm_target_get(process, PROCESS_QUERY_LIMITED_INFORMATION,
				 NTVM_TARGET_OWN, &t);
	if (status) {
		SetLastError(RtlNtStatusToDosError(status));
		return FALSE;
	}
	ntvm_target_put(&t);
	if (!pmc) {
		SetLastError(ERROR_NOACCESS);
		return FALSE;
	}
	status = ntvm_get_commit(&args);
	/* Without the module, nothing is committed through it. */
	if (!NT_SUCCESS(status) && status != STATUS_NOT_SUPPORTED) {
		SetLastError(RtlNtStatusToDosError(status));
		return FALSE;
	}
	if (getrusage(RUSAGE_SELF, &ru))
		memset(&ru, 0, sizeof(ru));
	memset(pmc, 0, sizeof(*pmc));
	pmc->cb = sizeof(PROCESS_MEMORY_COUNTERS);
	pmc->PageFaultCount = (DWORD)(ru.ru_minflt + ru.ru_majflt);
	pmc->WorkingSetSize = ntvm_resident_bytes();
	/* Two counters read apart: the peak is at least what is now. */
	pmc->PeakWorkingSetSize = (SIZE_T)ru.ru_maxrss * 1024;
	if (pmc->PeakWorkingSetSize < pmc->WorkingSetSize)
		pmc->PeakWorkingSetSize = pmc->WorkingSetSize;
	pmc->PagefileUsage = ntvm_pages_to_bytes(args.committed);
	pmc->PeakPagefileUsage = ntvm_pages_to_bytes(args.peak_committed);
	if (cb >= sizeof(PROCESS_MEMORY_COUNTERS_EX)) {
		((PPROCESS_MEMORY_COUNTERS_EX)pmc)->PrivateUsage =
			pmc->PagefileUsage;
		pmc->cb = sizeof(PROCESS_MEMORY_COUNTERS_EX);
	}
	return TRUE;
}

NTVM_EXPORT BOOL WINAPI GetProcessMemoryInfo(HANDLE process,
					     PPROCESS_MEMORY_COUNTERS pmc,
					     DWORD cb)
{
	return K32GetProcessMemoryInfo(process, pmc, cb);
}
