// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The NT layer: NtAllocateVirtualMemory and friends, one ioctl each
 * (a query of the process's own memory mostly none: lib/query_map.c).
 */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"

NTVM_EXPORT HANDLE WINAPI GetCurrentProcess(void)
{
	return NtCurrentProcess();
}

/* The argument structures of alloc, free and protect start alike. */
struct ntvm_range_args {
	__u64 base;
	__u64 size;
};

#define NTVM_RANGE_ARGS(type)						\
	_Static_assert(offsetof(struct type, base) == 0 &&		\
		       offsetof(struct type, size) == 8, #type)
NTVM_RANGE_ARGS(ntvm_alloc_args);
NTVM_RANGE_ARGS(ntvm_alloc_ex_args);
NTVM_RANGE_ARGS(ntvm_free_args);
NTVM_RANGE_ARGS(ntvm_protect_args);
NTVM_RANGE_ARGS(ntvm_lock_args);

/*
 * An NT service with an in/out base and size, written back on success
 * (an informational status, such as STATUS_WAS_LOCKED, is one).
 */
static NTSTATUS ntvm_range_ioctl(struct ntvm_target *t, PVOID *base,
				 PSIZE_T size, unsigned long request,
				 void *args, const __u32 *status)
{
	struct ntvm_range_args *range = args;
	NTSTATUS s;

	if (!base || !size)
		return STATUS_ACCESS_VIOLATION;
	range->base = (uintptr_t)*base;
	range->size = *size;
	s = ntvm_ioctl_fd(t->fd, request, args, status);
	if (NT_SUCCESS(s)) {
		*base = (PVOID)(uintptr_t)range->base;
		*size = range->size;
	}
	return s;
}

NTSTATUS ntvm_range_protect(struct ntvm_target *t, PVOID *base, PSIZE_T size,
			    struct ntvm_protect_args *args)
{
	return ntvm_range_ioctl(t, base, size, NTVM_IOC_PROTECT, args,
				&args->status);
}

/*
 * The same on the context of the process @process names, which must
 * grant @access; @flags: NTVM_TARGET_*.
 */
static NTSTATUS ntvm_range_call(HANDLE process, DWORD access,
				unsigned int flags, PVOID *base, PSIZE_T size,
				unsigned long request, void *args,
				const __u32 *status)
{
	struct ntvm_target t;
	NTSTATUS s;

	s = ntvm_target_get(process, access, flags, &t);
	if (s)
		return s;
	s = ntvm_range_ioctl(&t, base, size, request, args, status);
	ntvm_target_put(&t);
	return s;
}

_Static_assert(sizeof(MEM_EXTENDED_PARAMETER) ==
	       sizeof(struct ntvm_mem_extended_parameter),
	       "MEM_EXTENDED_PARAMETER");

NTVM_EXPORT NTSTATUS NTAPI
NtAllocateVirtualMemoryEx(HANDLE process, PVOID *base, PSIZE_T size,
			  ULONG type, ULONG protect,
			  PMEM_EXTENDED_PARAMETER params, ULONG count)
{
	struct ntvm_alloc_ex_args args = {
		.type = type,
		.protect = protect,
		.params = (uintptr_t)params,
		.count = count,
	};

	return ntvm_range_call(process, PROCESS_VM_OPERATION,
			       NTVM_TARGET_LOOK, base, size, NTVM_IOC_ALLOC_EX,
			       &args, &args.status);
}

NTVM_EXPORT NTSTATUS NTAPI
NtAllocateVirtualMemory(HANDLE process, PVOID *base, ULONG_PTR zero_bits,
			PSIZE_T size, ULONG type, ULONG protect)
{
	struct ntvm_alloc_args args = {
		.type = type,
		.protect = protect,
		.zero_bits = (__u32)zero_bits,
	};

	/*
	 * A mask wider than the ABI's 32 bits: the highest address it
	 * allows, as an address requirement, for an address the kernel
	 * chooses (zero bits do nothing for a given address).
	 */
	if ((unsigned long long)zero_bits > 0xffffffffu) {
		MEM_ADDRESS_REQUIREMENTS req = {
			.HighestEndingAddress = (PVOID)(~(ULONG_PTR)0 >>
						__builtin_clzll(zero_bits)),
		};
		MEM_EXTENDED_PARAMETER param = {
			.Type = MemExtendedParameterAddressRequirements,
			.Pointer = &req,
		};

		args.zero_bits = 0;
		if (!base || *base ||
		    (uintptr_t)req.HighestEndingAddress >= ntvm_max_address())
			return ntvm_range_call(process, PROCESS_VM_OPERATION,
					       NTVM_TARGET_LOOK, base, size,
					       NTVM_IOC_ALLOC, &args,
					       &args.status);
		return NtAllocateVirtualMemoryEx(process, base, size, type,
						 protect, &param, 1);
	}
	return ntvm_range_call(process, PROCESS_VM_OPERATION,
			       NTVM_TARGET_LOOK, base, size, NTVM_IOC_ALLOC,
			       &args, &args.status);
}

NTVM_EXPORT NTSTATUS NTAPI
NtFreeVirtualMemory(HANDLE process, PVOID *base, PSIZE_T size, ULONG type)
{
	struct ntvm_free_args args = { .type = type };

	return ntvm_range_call(process, PROCESS_VM_OPERATION,
			       NTVM_TARGET_LOOK, base, size, NTVM_IOC_FREE,
			       &args, &args.status);
}

NTVM_EXPORT NTSTATUS NTAPI
NtProtectVirtualMemory(HANDLE process, PVOID *base, PSIZE_T size,
		       ULONG protect, PULONG old_protect)
{
	struct ntvm_protect_args args = { .protect = protect };
	struct ntvm_target t;
	NTSTATUS status;

	status = ntvm_target_get(process, PROCESS_VM_OPERATION,
				 NTVM_TARGET_LOOK, &t);
	if (status)
		return status;
	if (!old_protect) {
		ntvm_target_put(&t);
		return STATUS_ACCESS_VIOLATION;
	}
	status = ntvm_range_ioctl(&t, base, size, NTVM_IOC_PROTECT, &args,
				  &args.status);
	ntvm_target_put(&t);
	*old_protect = NT_SUCCESS(status) ? args.old_protect : PAGE_NOACCESS;
	return status;
}

NTSTATUS ntvm_query_flags(struct ntvm_target *t, __u64 address,
			  struct ntvm_query_args *q, unsigned int flags)
{
	__u64 max_address;
	NTSTATUS status;
	int maps_fd, views;

	if (!ntvm_target_is_remote(t)) {
		/* The process's own memory: its query map, if it can say. */
		if (t->fd >= 0 && !(flags & NTVM_QUERY_IOCTL) &&
		    ntvm_query_map_answer(address, q))
			return STATUS_SUCCESS;
		*q = (struct ntvm_query_args){ .address = address };
		return ntvm_ioctl_fd(t->fd, NTVM_IOC_QUERY, q, &q->status);
	}
	*q = (struct ntvm_query_args){ .address = address };
	if (t->fd >= 0)
		return ntvm_ioctl_fd(t->fd, NTVM_IOC_QUERY, q, &q->status);
	maps_fd = ntvm_target_maps(t, &max_address);
	status = ntvm_maps_query(maps_fd, max_address, q, &views);
	/*
	 * It has started using ntvm: its context describes its memory, and
	 * a module this library cannot use cannot.
	 */
	if (!status && views && ntvm_target_look(t) < 0 &&
	    ntvm_version_refused())
		return STATUS_NOT_SUPPORTED;
	if (!status && views && t->fd >= 0) {
		*q = (struct ntvm_query_args){ .address = address };
		status = ntvm_ioctl_fd(t->fd, NTVM_IOC_QUERY, q, &q->status);
	}
	return status;
}

NTSTATUS ntvm_query(struct ntvm_target *t, __u64 address,
		    struct ntvm_query_args *q)
{
	return ntvm_query_flags(t, address, q, 0);
}

NTSTATUS ntvm_query_own(__u64 address, struct ntvm_query_args *q,
			unsigned int flags)
{
	struct ntvm_target t = { .process = NULL, .fd = ntvm_dev() };

	return ntvm_query_flags(&t, address, q, flags);
}

NTSTATUS ntvm_query_virtual_memory(HANDLE process, PVOID base,
				   MEMORY_INFORMATION_CLASS class, PVOID info,
				   SIZE_T length, PSIZE_T return_length)
{
	struct ntvm_query_args args;
	struct ntvm_target t;
	NTSTATUS status;

	status = ntvm_target_get(process, PROCESS_QUERY_INFORMATION, 0, &t);
	if (status)
		return status;
	if (class != MemoryBasicInformation)
		status = STATUS_INVALID_INFO_CLASS;
	else if (length < sizeof(MEMORY_BASIC_INFORMATION))
		status = STATUS_INFO_LENGTH_MISMATCH;
	else if (!info)
		status = STATUS_ACCESS_VIOLATION;
	else
		/* Both callers have asked the map for the pseudo-handle. */
		status = ntvm_query_flags(&t, (uintptr_t)base, &args,
					  ntvm_is_self(process) ?
					  NTVM_QUERY_IOCTL : 0);
	ntvm_target_put(&t);
	if (!NT_SUCCESS(status))
		return status;
	ntvm_mbi_of(info, &args);
	if (return_length)
		*return_length = sizeof(MEMORY_BASIC_INFORMATION);
	return STATUS_SUCCESS;
}

NTVM_EXPORT NTSTATUS NTAPI
NtQueryVirtualMemory(HANDLE process, PVOID base,
		     MEMORY_INFORMATION_CLASS class, PVOID info, SIZE_T length,
		     PSIZE_T return_length)
{
	/*
	 * The process's own memory, by its pseudo-handle: from its query map
	 * when that can answer (and the arguments are right), no system call.
	 */
	if (!ntvm_is_self(process) || class != MemoryBasicInformation ||
	    length < sizeof(MEMORY_BASIC_INFORMATION) || !info ||
	    !ntvm_query_map_mbi((uintptr_t)base, info))
		return ntvm_query_virtual_memory(process, base, class, info,
						 length, return_length);
	if (return_length)
		*return_length = sizeof(MEMORY_BASIC_INFORMATION);
	return STATUS_SUCCESS;
}

/*
 * Write watches: on the caller's own memory, by its pseudo-handle or a
 * handle to itself with PROCESS_VM_OPERATION.
 */
static NTSTATUS ntvm_own_process(HANDLE process)
{
	struct ntvm_target t;
	NTSTATUS status;

	if (ntvm_is_self(process))
		return STATUS_SUCCESS;
	status = ntvm_target_get_handle(process, PROCESS_VM_OPERATION,
					NTVM_TARGET_OWN, &t);
	if (!status)
		ntvm_target_put(&t);
	return status;
}

/*
 * The kernel stores __u64 addresses.  Where a pointer is 64 bits they go
 * straight into the caller's array; a 32-bit caller's array of 4-byte
 * pointers gets them through a bounce buffer, no larger than the pages
 * the range holds.
 */
#if UINTPTR_MAX > 0xffffffffu
_Static_assert(sizeof(PVOID) == sizeof(__u64), "PVOID is a __u64");

static NTSTATUS ntvm_get_write_watch(struct ntvm_get_write_watch_args *args,
				     PVOID *addresses)
{
	args->addresses = (uintptr_t)addresses;
	return ntvm_ioctl(NTVM_IOC_GET_WRITE_WATCH, args, &args->status);
}
#else
static NTSTATUS ntvm_get_write_watch(struct ntvm_get_write_watch_args *args,
				     PVOID *addresses)
{
	__u64 first = args->base & ~(__u64)4095;
	__u64 pages = ((args->base + args->size + 4095) & ~(__u64)4095) - first;
	__u64 *bounce = NULL;
	NTSTATUS status;
	__u64 i;

	pages /= 4096;
	/* A NULL array and a zero count go as they are: the kernel says. */
	if (addresses && args->count && args->size) {
		if (args->count > pages && pages)
			args->count = pages;
		bounce = calloc(args->count, sizeof(*bounce));
		if (!bounce)
			return STATUS_NO_MEMORY;
	}
	args->addresses = (uintptr_t)bounce;
	status = ntvm_ioctl(NTVM_IOC_GET_WRITE_WATCH, args, &args->status);
	if (NT_SUCCESS(status))
		for (i = 0; i < args->count; i++)
			addresses[i] = (PVOID)(uintptr_t)bounce[i];
	free(bounce);
	return status;
}
#endif

NTVM_EXPORT NTSTATUS NTAPI
NtGetWriteWatch(HANDLE process, ULONG flags, PVOID base, SIZE_T size,
		PVOID *addresses, PULONG_PTR count, PULONG granularity)
{
	struct ntvm_get_write_watch_args args = {
		.base = (uintptr_t)base,
		.size = size,
		.watch_flags = flags,
	};
	NTSTATUS status;

	status = ntvm_own_process(process);
	if (status)
		return status;
	/* Checked here; the kernel checks the rest, in Windows' order. */
	if (!count || !granularity)
		return STATUS_ACCESS_VIOLATION;
	args.count = *count;
	status = ntvm_get_write_watch(&args, addresses);
	if (NT_SUCCESS(status)) {
		*count = args.count;
		*granularity = args.granularity;
	}
	return status;
}

NTVM_EXPORT NTSTATUS NTAPI
NtResetWriteWatch(HANDLE process, PVOID base, SIZE_T size)
{
	struct ntvm_reset_write_watch_args args = {
		.base = (uintptr_t)base,
		.size = size,
	};
	NTSTATUS status;

	status = ntvm_own_process(process);
	if (status)
		return status;
	return ntvm_ioctl(NTVM_IOC_RESET_WRITE_WATCH, &args, &args.status);
}

NTVM_EXPORT NTSTATUS NTAPI
NtLockVirtualMemory(HANDLE process, PVOID *base, PSIZE_T size, ULONG type)
{
	struct ntvm_lock_args args = { .map_type = type };

	return ntvm_range_call(process, PROCESS_VM_OPERATION,
			       NTVM_TARGET_OWN, base, size, NTVM_IOC_LOCK,
			       &args, &args.status);
}

NTVM_EXPORT NTSTATUS NTAPI
NtUnlockVirtualMemory(HANDLE process, PVOID *base, PSIZE_T size, ULONG type)
{
	struct ntvm_lock_args args = { .map_type = type };

	return ntvm_range_call(process, PROCESS_VM_OPERATION,
			       NTVM_TARGET_OWN, base, size, NTVM_IOC_UNLOCK,
			       &args, &args.status);
}
