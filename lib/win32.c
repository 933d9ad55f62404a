// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The Win32 layer (kernel32/kernelbase): thin wrappers over the NT layer
 * that turn NTSTATUS into GetLastError() codes.
 */
#include <unistd.h>

#include "internal.h"

static __thread DWORD ntvm_last_error;

NTVM_EXPORT DWORD WINAPI GetLastError(void)
{
	return ntvm_last_error;
}

NTVM_EXPORT void WINAPI SetLastError(DWORD error)
{
	ntvm_last_error = error;
}

/* Set the last error from @status; true when it is a success. */
static BOOL ntvm_set_status(NTSTATUS status)
{
	if (NT_SUCCESS(status))
		return TRUE;
	SetLastError(RtlNtStatusToDosError(status));
	return FALSE;
}

NTVM_EXPORT LPVOID WINAPI VirtualAllocEx(HANDLE process, LPVOID address,
					 SIZE_T size, DWORD type,
					 DWORD protect)
{
	if (!ntvm_set_status(NtAllocateVirtualMemory(process, &address, 0,
						     &size, type, protect)))
		return NULL;
	return address;
}

NTVM_EXPORT LPVOID WINAPI VirtualAlloc(LPVOID address, SIZE_T size,
				       DWORD type, DWORD protect)
{
	return VirtualAllocEx(GetCurrentProcess(), address, size, type,
			      protect);
}

NTVM_EXPORT PVOID WINAPI VirtualAlloc2(HANDLE process, PVOID address,
					SIZE_T size, ULONG type,
					ULONG protect,
					MEM_EXTENDED_PARAMETER *params,
					ULONG count)
{
	if (!process)
		process = GetCurrentProcess();
	if (!ntvm_set_status(NtAllocateVirtualMemoryEx(process, &address,
						       &size, type, protect,
						       params, count)))
		return NULL;
	return address;
}

NTVM_EXPORT BOOL WINAPI VirtualFreeEx(HANDLE process, LPVOID address,
				      SIZE_T size, DWORD type)
{
	/* kernelbase checks this before calling NT. */
	if (type == MEM_RELEASE && size) {
		SetLastError(ERROR_INVALID_PARAMETER);
		return FALSE;
	}
	return ntvm_set_status(NtFreeVirtualMemory(process, &address, &size,
						   type));
}

NTVM_EXPORT BOOL WINAPI VirtualFree(LPVOID address, SIZE_T size, DWORD type)
{
	return VirtualFreeEx(GetCurrentProcess(), address, size, type);
}

NTVM_EXPORT BOOL WINAPI VirtualProtectEx(HANDLE process, LPVOID address,
					 SIZE_T size, DWORD protect,
					 PDWORD old_protect)
{
	return ntvm_set_status(NtProtectVirtualMemory(process, &address,
						      &size, protect,
						      old_protect));
}

NTVM_EXPORT BOOL WINAPI VirtualProtect(LPVOID address, SIZE_T size,
				       DWORD protect, PDWORD old_protect)
{
	return VirtualProtectEx(GetCurrentProcess(), address, size, protect,
				old_protect);
}

NTVM_EXPORT SIZE_T WINAPI VirtualQueryEx(HANDLE process, LPCVOID address,
					 PMEMORY_BASIC_INFORMATION info,
					 SIZE_T length)
{
	SIZE_T written = 0;

	if (!ntvm_set_status(NtQueryVirtualMemory(process, (PVOID)address,
						  MemoryBasicInformation,
						  info, length, &written)))
		return 0;
	return written;
}

NTVM_EXPORT SIZE_T WINAPI VirtualQuery(LPCVOID address,
				       PMEMORY_BASIC_INFORMATION info,
				       SIZE_T length)
{
	SIZE_T written = 0;

	/*
	 * From the query map, as NtQueryVirtualMemory would answer, in one
	 * call: VirtualQuery is called in hot loops.
	 */
	if (length >= sizeof(*info) && info &&
	    ntvm_query_map_mbi((uintptr_t)address, info))
		return sizeof(*info);
	if (!ntvm_set_status(ntvm_query_virtual_memory(NtCurrentProcess(),
						       (PVOID)address,
						       MemoryBasicInformation,
						       info, length,
						       &written)))
		return 0;
	return written;
}

/* GetWriteWatch and ResetWriteWatch: 0, or ~0u and the last error. */
NTVM_EXPORT UINT WINAPI GetWriteWatch(DWORD flags, PVOID base, SIZE_T size,
				      PVOID *addresses, ULONG_PTR *count,
				      LPDWORD granularity)
{
	if (!ntvm_set_status(NtGetWriteWatch(GetCurrentProcess(), flags, base,
					     size, addresses, count,
					     (PULONG)granularity)))
		return ~0u;
	return 0;
}

NTVM_EXPORT UINT WINAPI ResetWriteWatch(LPVOID base, SIZE_T size)
{
	if (!ntvm_set_status(NtResetWriteWatch(GetCurrentProcess(), base,
					       size)))
		return ~0u;
	return 0;
}

NTVM_EXPORT BOOL WINAPI VirtualLock(LPVOID address, SIZE_T size)
{
	return ntvm_set_status(NtLockVirtualMemory(GetCurrentProcess(),
						   &address, &size,
						   MAP_PROCESS));
}

NTVM_EXPORT BOOL WINAPI VirtualUnlock(LPVOID address, SIZE_T size)
{
	return ntvm_set_status(NtUnlockVirtualMemory(GetCurrentProcess(),
						     &address, &size,
						     MAP_PROCESS));
}

/*
 * The working-set limits (NtQueryInformationProcess and
 * NtSetInformationProcess with ProcessQuotaLimits on Windows).
 */
static NTSTATUS ntvm_working_set(HANDLE process, DWORD access,
				 struct ntvm_working_set_args *args)
{
	struct ntvm_target t;
	NTSTATUS status;

	/* The caller's own: another process's handle is refused. */
	status = ntvm_target_get(process, access, NTVM_TARGET_OWN, &t);
	if (status)
		return status;
	status = ntvm_ioctl_fd(t.fd, NTVM_IOC_WORKING_SET, args, &args->status);
	ntvm_target_put(&t);
	return status;
}

NTVM_EXPORT BOOL WINAPI GetProcessWorkingSetSizeEx(HANDLE process,
						   PSIZE_T minimum,
						   PSIZE_T maximum,
						   PDWORD flags)
{
	struct ntvm_working_set_args args = { 0 };

	if (!ntvm_set_status(ntvm_working_set(process,
					       PROCESS_QUERY_LIMITED_INFORMATION,
					       &args)))
		return FALSE;
	if (!minimum || !maximum || !flags) {
		SetLastError(ERROR_NOACCESS);
		return FALSE;
	}
	*minimum = args.minimum;
	*maximum = args.maximum;
	*flags = args.hard;
	return TRUE;
}

NTVM_EXPORT BOOL WINAPI GetProcessWorkingSetSize(HANDLE process,
						 PSIZE_T minimum,
						 PSIZE_T maximum)
{
	DWORD flags;

	return GetProcessWorkingSetSizeEx(process, minimum, maximum, &flags);
}

NTVM_EXPORT BOOL WINAPI SetProcessWorkingSetSizeEx(HANDLE process,
						   SIZE_T minimum,
						   SIZE_T maximum, DWORD flags)
{
	struct ntvm_working_set_args args = {
		.minimum = minimum == (SIZE_T)-1 ? ~(__u64)0 : minimum,
		.maximum = maximum == (SIZE_T)-1 ? ~(__u64)0 : maximum,
		.hard = flags,
		.flags = NTVM_WORKING_SET_SET,
	};

	/* kernel32 checks this before calling NT. */
	if (!minimum || !maximum) {
		SetLastError(ERROR_INVALID_PARAMETER);
		return FALSE;
	}
	return ntvm_set_status(ntvm_working_set(process, PROCESS_SET_QUOTA,
						&args));
}

NTVM_EXPORT BOOL WINAPI SetProcessWorkingSetSize(HANDLE process,
						 SIZE_T minimum,
						 SIZE_T maximum)
{
	return SetProcessWorkingSetSizeEx(process, minimum, maximum, 0);
}

NTVM_EXPORT void WINAPI GetSystemInfo(LPSYSTEM_INFO si)
{
	struct ntvm_sysinfo_args info = {
		.minimum_address = 0x10000,
		.maximum_address = NTVM_MAX_USER_ADDRESS,
		.page_size = 4096,
		.allocation_granularity = 0x10000,
	};
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	int fd = ntvm_dev();

	if (fd >= 0)
		ntvm_ioctl(NTVM_IOC_SYSINFO, &info, NULL);
	if (cpus < 1)
		cpus = 1;
	*si = (SYSTEM_INFO){ 0 };
#if defined(__x86_64__)
	si->wProcessorArchitecture = PROCESSOR_ARCHITECTURE_AMD64;
	si->dwProcessorType = PROCESSOR_AMD_X8664;
#elif defined(__aarch64__)
	si->wProcessorArchitecture = PROCESSOR_ARCHITECTURE_ARM64;
#endif
	si->dwPageSize = info.page_size;
	si->lpMinimumApplicationAddress = (LPVOID)(uintptr_t)info.minimum_address;
	si->lpMaximumApplicationAddress = (LPVOID)(uintptr_t)info.maximum_address;
	si->dwActiveProcessorMask = cpus >= (long)(8 * sizeof(DWORD_PTR)) ?
				    ~(DWORD_PTR)0 :
				    ((DWORD_PTR)1 << cpus) - 1;
	si->dwNumberOfProcessors = (DWORD)cpus;
	si->dwAllocationGranularity = info.allocation_granularity;
	si->wProcessorLevel = 6;
}
