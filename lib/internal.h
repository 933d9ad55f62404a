/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef NTVM_INTERNAL_H
#define NTVM_INTERNAL_H

#include <string.h>

#include <linux/ntvm.h>

#include "ntvm.h"

#define NTVM_DEVICE "/dev/ntvm"
/* Windows x64's highest user address, and ntvm's. */
#define NTVM_MAX_USER_ADDRESS 0x7FFFFFFEFFFFULL
#define NTVM_EXPORT __attribute__((visibility("default")))

/* The process's /dev/ntvm fd, or -1 when the module is not there. */
int ntvm_dev(void);
/*
 * Whether the module's ABI version is one this library uses (lib/version.c):
 * asked on @fd the first time, then remembered; a mismatch is reported on
 * stderr once.
 */
int ntvm_version_ok(int fd);
int ntvm_version_refused(void);
/* Issue an ioctl; the NT status from *status, or one for its failure. */
NTSTATUS ntvm_ioctl(unsigned long request, void *args, const __u32 *status);
/* The same on context @fd (-1: none, STATUS_NOT_SUPPORTED). */
NTSTATUS ntvm_ioctl_fd(int fd, unsigned long request, void *args,
		       const __u32 *status);
/* The commit limit of a context just opened; in a forked child. */
void ntvm_commit_limit_opened(int fd);
void ntvm_commit_limit_child(void);
void ntvm_address_limit_opened(int fd);
uintptr_t ntvm_max_address(void);
void ntvm_address_limit_child(void);
/* Whether @h is the pseudo-handle of the calling process. */
static inline int ntvm_is_self(HANDLE h)
{
	return h == NtCurrentProcess();
}

/*
 * Process handles (lib/process.c).  A call on a handle first gets its
 * target: the handle checked for validity, then for the rights the call
 * needs; then the context its requests go to.
 */
struct ntvm_process;

struct ntvm_target {
	/* The handle's process, held; NULL for the pseudo-handle. */
	struct ntvm_process *process;
	/* The context to use (the caller's own or the target's), or -1. */
	int fd;
};

/* Only the process itself may make the call: another process's handle
 * fails with STATUS_ACCESS_DENIED. */
#define NTVM_TARGET_OWN		0x1
/* Look for the target's context again if it had none (the calls that
 * change its memory: it may have started using ntvm since). */
#define NTVM_TARGET_LOOK	0x2

NTSTATUS ntvm_target_get_handle(HANDLE h, DWORD access, unsigned int flags,
				struct ntvm_target *t);
void ntvm_process_release(struct ntvm_process *p);

static inline void ntvm_target_put(struct ntvm_target *t)
{
	if (t->process)
		ntvm_process_release(t->process);
}

/* The pseudo-handle has every right and the process's own context. */
static inline NTSTATUS ntvm_target_get(HANDLE h, DWORD access,
				       unsigned int flags,
				       struct ntvm_target *t)
{
	if (ntvm_is_self(h)) {
		t->process = NULL;
		t->fd = ntvm_dev();
		return STATUS_SUCCESS;
	}
	return ntvm_target_get_handle(h, access, flags, t);
}

/* Whether @t is another process (not the caller, by any handle). */
int ntvm_target_is_remote(const struct ntvm_target *t);
/* Look for the target's context now; its fd, or -1. */
int ntvm_target_look(struct ntvm_target *t);
/* The target's /proc/PID/mem, bound to its address space; -1: none. */
int ntvm_target_mem(const struct ntvm_target *t);
/* Another process's /proc/PID/maps and its highest user address. */
int ntvm_target_maps(const struct ntvm_target *t, __u64 *max_address);

/*
 * NtQueryVirtualMemory(MemoryBasicInformation) of @t, region_flags
 * included (lib/nt.c): for the process itself from its query map when
 * that can answer, else by NTVM_IOC_QUERY.
 */
NTSTATUS ntvm_query(struct ntvm_target *t, __u64 address,
		    struct ntvm_query_args *q);
/* ntvm_query_flags(): never from the query map (the bench, the tests). */
#define NTVM_QUERY_IOCTL	0x1
NTSTATUS ntvm_query_flags(struct ntvm_target *t, __u64 address,
			  struct ntvm_query_args *q, unsigned int flags);
/* The same for the calling process itself (its pseudo-handle). */
NTSTATUS ntvm_query_own(__u64 address, struct ntvm_query_args *q,
			unsigned int flags);
/*
 * NtQueryVirtualMemory once the query map did not answer: for the
 * pseudo-handle the module answers, without reading the map again.
 */
NTSTATUS ntvm_query_virtual_memory(HANDLE process, PVOID base,
				   MEMORY_INFORMATION_CLASS class, PVOID info,
				   SIZE_T length, PSIZE_T return_length);
/* NtProtectVirtualMemory on @t's context. */
NTSTATUS ntvm_range_protect(struct ntvm_target *t, PVOID *base, PSIZE_T size,
			    struct ntvm_protect_args *args);
/*
 * The query map of the process's own context (lib/query_map.c): its
 * header, mapped at first use; NULL when there is no context or the
 * module offers none.  Not exported.
 */
const struct ntvm_query_map_header *ntvm_query_map(void);
/* Its generation, read consistently (the sequence count); 0, or -1 when
 * there is no query map. */
int ntvm_query_map_generation(__u64 *generation);
/* The bytes of it mapped: the window, or the header's page alone. */
__u64 ntvm_query_map_length(void);
/*
 * A query of @address of the calling process from its query map: 1 with
 * *q what NTVM_IOC_QUERY answers (status 0), or 0: ask NTVM_IOC_QUERY
 * (*q then holds anything).
 */
int ntvm_query_map_lookup(__u64 address, struct ntvm_query_args *q);
/* The same, counted in ntvm_query_map_hits when answered: the API's. */
int ntvm_query_map_answer(__u64 address, struct ntvm_query_args *q);
/*
 * The same, counted, as MEMORY_BASIC_INFORMATION (*@mbi, at least that
 * long), in one call from VirtualQuery: it is called in hot loops.  1, or
 * 0 (*@mbi is then untouched).
 */
int ntvm_query_map_mbi(__u64 address, MEMORY_BASIC_INFORMATION *mbi);

/* NTVM_IOC_QUERY's answer @q as MEMORY_BASIC_INFORMATION. */
static inline void ntvm_mbi_of(MEMORY_BASIC_INFORMATION *mbi,
			       const struct ntvm_query_args *q)
{
	__u64 region_size = q->region_size;

#if UINTPTR_MAX <= 0xffffffffu
	/* Another (64-bit) process's region, cut where 32 bits end. */
	if (q->base_address + region_size > 0x100000000ULL)
		region_size = 0x100000000ULL - q->base_address;
#endif
	memset(mbi, 0, sizeof(*mbi));
	mbi->BaseAddress = (PVOID)(uintptr_t)q->base_address;
	mbi->AllocationBase = (PVOID)(uintptr_t)q->allocation_base;
	mbi->AllocationProtect = q->allocation_protect;
	mbi->RegionSize = region_size;
	mbi->State = q->state;
	mbi->Protect = q->protect;
	mbi->Type = q->type;
}
/*
 * The calling thread's count of queries ntvm_query() answered from the
 * map, and of map reads that made no sense though the sequence count held
 * (a bug of the module's: answered by the ioctl instead).  For the tests.
 */
#define NTVM_TLS __attribute__((tls_model("initial-exec")))
extern __thread unsigned long ntvm_query_map_hits NTVM_TLS;
extern __thread unsigned long ntvm_query_map_bad NTVM_TLS;
/*
 * The device just opened: reserve the window's place.  In a forked
 * child: the parent's mapping is not inherited.
 */
void ntvm_query_map_opened(void);
void ntvm_query_map_child(void);
/* A query from /proc/PID/maps, for a process without a context
 * (lib/maps.c); *views: its maps show a view of an ntvm context. */
NTSTATUS ntvm_maps_query(int maps_fd, __u64 max_address,
			 struct ntvm_query_args *q, int *views);

#endif
