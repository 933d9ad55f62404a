// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The NT layer: NtAllocateVirtualMemory and friends, one ioctl each.
 */
#include <stddef.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"

int ntvm_is_self(HANDLE h)
{
	return h == NtCurrentProcess();
}

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
NTVM_RANGE_ARGS(ntvm_free_args);
NTVM_RANGE_ARGS(ntvm_protect_args);

/* An NT service with an in/out base and size, written back on success. */
static NTSTATUS ntvm_range_call(HANDLE process, PVOID *base, PSIZE_T size,
				unsigned long request, void *args,
				const __u32 *status)
{
	struct ntvm_range_args *range = args;
	NTSTATUS s;

	if (!ntvm_is_self(process))
		return STATUS_INVALID_HANDLE;
	if (!base || !size)
		return STATUS_ACCESS_VIOLATION;
	range->base = (uintptr_t)*base;
	range->size = *size;
	s = ntvm_ioctl(request, args, status);
	if (NT_SUCCESS(s)) {
		*base = (PVOID)(uintptr_t)range->base;
		*size = range->size;
	}
	return s;
}

NTVM_EXPORT NTSTATUS NTAPI
NtAllocateVirtualMemory(HANDLE process, PVOID *base, ULONG_PTR zero_bits,
			PSIZE_T size, ULONG type, ULONG protect)
{
	struct ntvm_alloc_args args = {
		.type = type,
		.protect = protect,
		.zero_bits = zero_bits > 0xffffffffu ? 0xffffffffu :
						       (__u32)zero_bits,
	};

	return ntvm_range_call(process, base, size, NTVM_IOC_ALLOC, &args,
			       &args.status);
}

NTVM_EXPORT NTSTATUS NTAPI
NtFreeVirtualMemory(HANDLE process, PVOID *base, PSIZE_T size, ULONG type)
{
	struct ntvm_free_args args = { .type = type };

	return ntvm_range_call(process, base, size, NTVM_IOC_FREE, &args,
			       &args.status);
}

NTVM_EXPORT NTSTATUS NTAPI
NtProtectVirtualMemory(HANDLE process, PVOID *base, PSIZE_T size,
		       ULONG protect, PULONG old_protect)
{
	struct ntvm_protect_args args = { .protect = protect };
	NTSTATUS status;

	if (ntvm_is_self(process) && !old_protect)
		return STATUS_ACCESS_VIOLATION;
	status = ntvm_range_call(process, base, size, NTVM_IOC_PROTECT, &args,
				 &args.status);
	if (old_protect)
		*old_protect = NT_SUCCESS(status) ? args.old_protect :
						    PAGE_NOACCESS;
	return status;
}

NTVM_EXPORT NTSTATUS NTAPI
NtQueryVirtualMemory(HANDLE process, PVOID base,
		     MEMORY_INFORMATION_CLASS class, PVOID info, SIZE_T length,
		     PSIZE_T return_length)
{
	struct ntvm_query_args args = { .address = (uintptr_t)base };
	MEMORY_BASIC_INFORMATION *mbi = info;
	NTSTATUS status;

	if (!ntvm_is_self(process))
		return STATUS_INVALID_HANDLE;
	if (class != MemoryBasicInformation)
		return STATUS_INVALID_INFO_CLASS;
	if (length < sizeof(*mbi))
		return STATUS_INFO_LENGTH_MISMATCH;
	if (!info)
		return STATUS_ACCESS_VIOLATION;
	status = ntvm_ioctl(NTVM_IOC_QUERY, &args, &args.status);
	if (!NT_SUCCESS(status))
		return status;
	memset(mbi, 0, sizeof(*mbi));
	mbi->BaseAddress = (PVOID)(uintptr_t)args.base_address;
	mbi->AllocationBase = (PVOID)(uintptr_t)args.allocation_base;
	mbi->AllocationProtect = args.allocation_protect;
	mbi->RegionSize = args.region_size;
	mbi->State = args.state;
	mbi->Protect = args.protect;
	mbi->Type = args.type;
	if (return_length)
		*return_length = sizeof(*mbi);
	return STATUS_SUCCESS;
}
