/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libntvm: the Win32 and NT virtual-memory API on Linux, served by the
 * ntvm kernel module (/dev/ntvm).  Names, types, signatures and constant
 * values are Windows' own, so code written for Windows compiles unchanged.
 *
 * It can also come after the Windows headers of mingw-w64 or Wine
 * (<windows.h>, <winternl.h>, <ntstatus.h>): what they define already
 * (types, structures, constants) is then theirs, and the functions are
 * declared again with their WINAPI and their types.  Include ntvm.h after
 * them, not before: they define the same names without looking for ours.
 * Beware: with Wine's headers (winelib) on x86-64, WINAPI is the Microsoft
 * calling convention (ms_abi), while libntvm is built with the System V
 * one, so a winelib program would call libntvm with the wrong convention.
 *
 * Copyright (C) 2026 The ntvm authors
 */
#ifndef NTVM_H
#define NTVM_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#ifndef WINAPI
#define WINAPI
#endif
#ifndef NTAPI
#define NTAPI
#endif
/* After <windows.h>, kernel32's functions as it declares them (dllimport). */
#ifdef WINBASEAPI
#define NTVM_WINBASEAPI WINBASEAPI
#else
#define NTVM_WINBASEAPI
#endif

/*
 * The types, unless the Windows headers (mingw-w64, Wine) gave them: each
 * group is keyed on the include guard of the header that defines it.
 */
#if !defined(_MINWINDEF_) && !defined(_WINDEF_)
typedef int BOOL;
typedef unsigned char BYTE;
typedef unsigned short WORD;
typedef unsigned int UINT;
typedef unsigned int DWORD, *PDWORD, *LPDWORD;
typedef unsigned int ULONG, *PULONG;
typedef void *LPVOID;
typedef const void *LPCVOID;
#endif
#ifndef _WINNT_
typedef int LONG;
typedef void *PVOID, *HANDLE;
#endif
#if !defined(_BASETSD_H_) && !defined(__WINE_BASETSD_H)
typedef uintptr_t ULONG_PTR, *PULONG_PTR, DWORD_PTR, SIZE_T, *PSIZE_T;
#endif
#if !defined(_NTDEF_) && !defined(_NTSTATUS_PSDK) && \
	!defined(WINE_NTSTATUS_DECLARED)
typedef LONG NTSTATUS;
#endif

#ifndef TRUE
#define TRUE 1
#define FALSE 0
#endif

/* Allocation and free types (winnt.h). */
#ifndef MEM_COMMIT
#define MEM_COMMIT			0x00001000
#endif
#ifndef MEM_RESERVE
#define MEM_RESERVE			0x00002000
#endif
#ifndef MEM_REPLACE_PLACEHOLDER
#define MEM_REPLACE_PLACEHOLDER		0x00004000
#endif
#ifndef MEM_DECOMMIT
#define MEM_DECOMMIT			0x00004000
#endif
#ifndef MEM_RELEASE
#define MEM_RELEASE			0x00008000
#endif
#ifndef MEM_FREE
#define MEM_FREE			0x00010000
#endif
#ifndef MEM_PRIVATE
#define MEM_PRIVATE			0x00020000
#endif
#ifndef MEM_MAPPED
#define MEM_MAPPED			0x00040000
#endif
#ifndef MEM_RESERVE_PLACEHOLDER
#define MEM_RESERVE_PLACEHOLDER		0x00040000
#endif
#ifndef MEM_RESET
#define MEM_RESET			0x00080000
#endif
#ifndef MEM_TOP_DOWN
#define MEM_TOP_DOWN			0x00100000
#endif
#ifndef MEM_WRITE_WATCH
#define MEM_WRITE_WATCH			0x00200000
#endif
#ifndef MEM_PHYSICAL
#define MEM_PHYSICAL			0x00400000
#endif
#ifndef MEM_IMAGE
#define MEM_IMAGE			0x01000000
#endif
#ifndef MEM_RESET_UNDO
#define MEM_RESET_UNDO			0x01000000
#endif
#ifndef MEM_LARGE_PAGES
#define MEM_LARGE_PAGES			0x20000000
#endif
#ifndef MEM_4MB_PAGES
#define MEM_4MB_PAGES			0x80000000
#endif
#ifndef MEM_COALESCE_PLACEHOLDERS
#define MEM_COALESCE_PLACEHOLDERS	0x00000001
#endif
#ifndef MEM_PRESERVE_PLACEHOLDER
#define MEM_PRESERVE_PLACEHOLDER	0x00000002
#endif

/* GetWriteWatch flags (winbase.h / memoryapi.h). */
#ifndef WRITE_WATCH_FLAG_RESET
#define WRITE_WATCH_FLAG_RESET		0x01
#endif

/* NtLockVirtualMemory lock types (ntddk.h / winternl.h). */
#ifndef MAP_PROCESS
#define MAP_PROCESS			1
#endif
#ifndef MAP_SYSTEM
#define MAP_SYSTEM			2
#endif

/* Hard working-set limits (winnt.h), SetProcessWorkingSetSizeEx. */
#ifndef QUOTA_LIMITS_HARDWS_MIN_ENABLE
#define QUOTA_LIMITS_HARDWS_MIN_ENABLE	0x00000001
#endif
#ifndef QUOTA_LIMITS_HARDWS_MIN_DISABLE
#define QUOTA_LIMITS_HARDWS_MIN_DISABLE	0x00000002
#endif
#ifndef QUOTA_LIMITS_HARDWS_MAX_ENABLE
#define QUOTA_LIMITS_HARDWS_MAX_ENABLE	0x00000004
#endif
#ifndef QUOTA_LIMITS_HARDWS_MAX_DISABLE
#define QUOTA_LIMITS_HARDWS_MAX_DISABLE	0x00000008
#endif

/* Process access rights (winnt.h), OpenProcess. */
#ifndef PROCESS_VM_OPERATION
#define PROCESS_VM_OPERATION		0x0008
#endif
#ifndef PROCESS_VM_READ
#define PROCESS_VM_READ			0x0010
#endif
#ifndef PROCESS_VM_WRITE
#define PROCESS_VM_WRITE		0x0020
#endif
#ifndef PROCESS_SET_QUOTA
#define PROCESS_SET_QUOTA		0x0100
#endif
#ifndef PROCESS_QUERY_INFORMATION
#define PROCESS_QUERY_INFORMATION	0x0400
#endif
#ifndef PROCESS_QUERY_LIMITED_INFORMATION
#define PROCESS_QUERY_LIMITED_INFORMATION 0x1000
#endif
#ifndef PROCESS_ALL_ACCESS
#define PROCESS_ALL_ACCESS		0x001FFFFF
#endif

/* Page protections (winnt.h). */
#ifndef PAGE_NOACCESS
#define PAGE_NOACCESS			0x0001
#endif
#ifndef PAGE_READONLY
#define PAGE_READONLY			0x0002
#endif
#ifndef PAGE_READWRITE
#define PAGE_READWRITE			0x0004
#endif
#ifndef PAGE_WRITECOPY
#define PAGE_WRITECOPY			0x0008
#endif
#ifndef PAGE_EXECUTE
#define PAGE_EXECUTE			0x0010
#endif
#ifndef PAGE_EXECUTE_READ
#define PAGE_EXECUTE_READ		0x0020
#endif
#ifndef PAGE_EXECUTE_READWRITE
#define PAGE_EXECUTE_READWRITE		0x0040
#endif
#ifndef PAGE_EXECUTE_WRITECOPY
#define PAGE_EXECUTE_WRITECOPY		0x0080
#endif
#ifndef PAGE_GUARD
#define PAGE_GUARD			0x0100
#endif
#ifndef PAGE_NOCACHE
#define PAGE_NOCACHE			0x0200
#endif
#ifndef PAGE_WRITECOMBINE
#define PAGE_WRITECOMBINE		0x0400
#endif

/* Win32 errors (winerror.h). */
#ifndef ERROR_SUCCESS
#define ERROR_SUCCESS			0
#endif
#ifndef ERROR_ACCESS_DENIED
#define ERROR_ACCESS_DENIED		5
#endif
#ifndef ERROR_INVALID_HANDLE
#define ERROR_INVALID_HANDLE		6
#endif
#ifndef ERROR_NOT_ENOUGH_MEMORY
#define ERROR_NOT_ENOUGH_MEMORY		8
#endif
#ifndef ERROR_INVALID_ACCESS
#define ERROR_INVALID_ACCESS		12
#endif
#ifndef ERROR_OUTOFMEMORY
#define ERROR_OUTOFMEMORY		14
#endif
#ifndef ERROR_BAD_LENGTH
#define ERROR_BAD_LENGTH		24
#endif
#ifndef ERROR_NOT_SUPPORTED
#define ERROR_NOT_SUPPORTED		50
#endif
#ifndef ERROR_UNEXP_NET_ERR
#define ERROR_UNEXP_NET_ERR		59
#endif
#ifndef ERROR_INVALID_PARAMETER
#define ERROR_INVALID_PARAMETER		87
#endif
#ifndef ERROR_CALL_NOT_IMPLEMENTED
#define ERROR_CALL_NOT_IMPLEMENTED	120
#endif
#ifndef ERROR_INSUFFICIENT_BUFFER
#define ERROR_INSUFFICIENT_BUFFER	122
#endif
#ifndef ERROR_NOT_LOCKED
#define ERROR_NOT_LOCKED		158
#endif
#ifndef ERROR_PARTIAL_COPY
#define ERROR_PARTIAL_COPY		299
#endif
#ifndef ERROR_INVALID_ADDRESS
#define ERROR_INVALID_ADDRESS		487
#endif
#ifndef ERROR_WAS_UNLOCKED
#define ERROR_WAS_UNLOCKED		715
#endif
#ifndef ERROR_WAS_LOCKED
#define ERROR_WAS_LOCKED		717
#endif
#ifndef ERROR_NOACCESS
#define ERROR_NOACCESS			998
#endif
#ifndef ERROR_INVALID_FLAGS
#define ERROR_INVALID_FLAGS		1004
#endif
#ifndef ERROR_MAPPED_ALIGNMENT
#define ERROR_MAPPED_ALIGNMENT		1132
#endif
#ifndef ERROR_PRIVILEGE_NOT_HELD
#define ERROR_PRIVILEGE_NOT_HELD	1314
#endif
#ifndef ERROR_NO_SYSTEM_RESOURCES
#define ERROR_NO_SYSTEM_RESOURCES	1450
#endif
#ifndef ERROR_WORKING_SET_QUOTA
#define ERROR_WORKING_SET_QUOTA		1453
#endif
#ifndef ERROR_PAGEFILE_QUOTA
#define ERROR_PAGEFILE_QUOTA		1454
#endif
#ifndef ERROR_COMMITMENT_LIMIT
#define ERROR_COMMITMENT_LIMIT		1455
#endif
#ifndef ERROR_INVALID_USER_BUFFER
#define ERROR_INVALID_USER_BUFFER	1784
#endif
#ifndef ERROR_MR_MID_NOT_FOUND
#define ERROR_MR_MID_NOT_FOUND		317
#endif

/* NTSTATUS values (ntstatus.h). */
#ifndef STATUS_SUCCESS
#define STATUS_SUCCESS			((NTSTATUS)0x00000000)
#endif
#ifndef STATUS_WORKING_SET_LIMIT_RANGE
#define STATUS_WORKING_SET_LIMIT_RANGE	((NTSTATUS)0x40000002)
#endif
#ifndef STATUS_WAS_UNLOCKED
#define STATUS_WAS_UNLOCKED		((NTSTATUS)0x40000017)
#endif
#ifndef STATUS_WAS_LOCKED
#define STATUS_WAS_LOCKED		((NTSTATUS)0x40000019)
#endif
#ifndef STATUS_GUARD_PAGE_VIOLATION
#define STATUS_GUARD_PAGE_VIOLATION	((NTSTATUS)0x80000001)
#endif
#ifndef STATUS_PARTIAL_COPY
#define STATUS_PARTIAL_COPY		((NTSTATUS)0x8000000D)
#endif
#ifndef STATUS_INVALID_INFO_CLASS
#define STATUS_INVALID_INFO_CLASS	((NTSTATUS)0xC0000003)
#endif
#ifndef STATUS_INFO_LENGTH_MISMATCH
#define STATUS_INFO_LENGTH_MISMATCH	((NTSTATUS)0xC0000004)
#endif
#ifndef STATUS_ACCESS_VIOLATION
#define STATUS_ACCESS_VIOLATION		((NTSTATUS)0xC0000005)
#endif
#ifndef STATUS_PAGEFILE_QUOTA
#define STATUS_PAGEFILE_QUOTA		((NTSTATUS)0xC0000007)
#endif
#ifndef STATUS_INVALID_HANDLE
#define STATUS_INVALID_HANDLE		((NTSTATUS)0xC0000008)
#endif
#ifndef STATUS_INVALID_PARAMETER
#define STATUS_INVALID_PARAMETER	((NTSTATUS)0xC000000D)
#endif
#ifndef STATUS_NO_MEMORY
#define STATUS_NO_MEMORY		((NTSTATUS)0xC0000017)
#endif
#ifndef STATUS_CONFLICTING_ADDRESSES
#define STATUS_CONFLICTING_ADDRESSES	((NTSTATUS)0xC0000018)
#endif
#ifndef STATUS_NOT_MAPPED_VIEW
#define STATUS_NOT_MAPPED_VIEW		((NTSTATUS)0xC0000019)
#endif
#ifndef STATUS_UNABLE_TO_FREE_VM
#define STATUS_UNABLE_TO_FREE_VM	((NTSTATUS)0xC000001A)
#endif
#ifndef STATUS_UNABLE_TO_DELETE_SECTION
#define STATUS_UNABLE_TO_DELETE_SECTION	((NTSTATUS)0xC000001B)
#endif
#ifndef STATUS_ALREADY_COMMITTED
#define STATUS_ALREADY_COMMITTED	((NTSTATUS)0xC0000021)
#endif
#ifndef STATUS_ACCESS_DENIED
#define STATUS_ACCESS_DENIED		((NTSTATUS)0xC0000022)
#endif
#ifndef STATUS_NOT_LOCKED
#define STATUS_NOT_LOCKED		((NTSTATUS)0xC000002A)
#endif
#ifndef STATUS_NOT_COMMITTED
#define STATUS_NOT_COMMITTED		((NTSTATUS)0xC000002D)
#endif
#ifndef STATUS_INVALID_PARAMETER_MIX
#define STATUS_INVALID_PARAMETER_MIX	((NTSTATUS)0xC0000030)
#endif
#ifndef STATUS_INVALID_PAGE_PROTECTION
#define STATUS_INVALID_PAGE_PROTECTION	((NTSTATUS)0xC0000045)
#endif
#ifndef STATUS_BAD_WORKING_SET_LIMIT
#define STATUS_BAD_WORKING_SET_LIMIT	((NTSTATUS)0xC000004C)
#endif
#ifndef STATUS_SECTION_PROTECTION
#define STATUS_SECTION_PROTECTION	((NTSTATUS)0xC000004E)
#endif
#ifndef STATUS_PRIVILEGE_NOT_HELD
#define STATUS_PRIVILEGE_NOT_HELD	((NTSTATUS)0xC0000061)
#endif
#ifndef STATUS_FREE_VM_NOT_AT_BASE
#define STATUS_FREE_VM_NOT_AT_BASE	((NTSTATUS)0xC000009F)
#endif
#ifndef STATUS_MEMORY_NOT_ALLOCATED
#define STATUS_MEMORY_NOT_ALLOCATED	((NTSTATUS)0xC00000A0)
#endif
#ifndef STATUS_WORKING_SET_QUOTA
#define STATUS_WORKING_SET_QUOTA	((NTSTATUS)0xC00000A1)
#endif
#ifndef STATUS_INSUFFICIENT_RESOURCES
#define STATUS_INSUFFICIENT_RESOURCES	((NTSTATUS)0xC000009A)
#endif
#ifndef STATUS_NOT_SUPPORTED
#define STATUS_NOT_SUPPORTED		((NTSTATUS)0xC00000BB)
#endif
#ifndef STATUS_INVALID_USER_BUFFER
#define STATUS_INVALID_USER_BUFFER	((NTSTATUS)0xC00000E8)
#endif
#ifndef STATUS_INVALID_PARAMETER_1
#define STATUS_INVALID_PARAMETER_1	((NTSTATUS)0xC00000EF)
#endif
#ifndef STATUS_INVALID_PARAMETER_2
#define STATUS_INVALID_PARAMETER_2	((NTSTATUS)0xC00000F0)
#endif
#ifndef STATUS_INVALID_PARAMETER_3
#define STATUS_INVALID_PARAMETER_3	((NTSTATUS)0xC00000F1)
#endif
#ifndef STATUS_INVALID_PARAMETER_4
#define STATUS_INVALID_PARAMETER_4	((NTSTATUS)0xC00000F2)
#endif
#ifndef STATUS_INVALID_PARAMETER_5
#define STATUS_INVALID_PARAMETER_5	((NTSTATUS)0xC00000F3)
#endif
#ifndef STATUS_INVALID_PARAMETER_6
#define STATUS_INVALID_PARAMETER_6	((NTSTATUS)0xC00000F4)
#endif
#ifndef STATUS_INVALID_PARAMETER_7
#define STATUS_INVALID_PARAMETER_7	((NTSTATUS)0xC00000F5)
#endif
#ifndef STATUS_INVALID_PARAMETER_8
#define STATUS_INVALID_PARAMETER_8	((NTSTATUS)0xC00000F6)
#endif
#ifndef STATUS_INVALID_PARAMETER_9
#define STATUS_INVALID_PARAMETER_9	((NTSTATUS)0xC00000F7)
#endif
#ifndef STATUS_INVALID_PARAMETER_10
#define STATUS_INVALID_PARAMETER_10	((NTSTATUS)0xC00000F8)
#endif
#ifndef STATUS_INVALID_PARAMETER_11
#define STATUS_INVALID_PARAMETER_11	((NTSTATUS)0xC00000F9)
#endif
#ifndef STATUS_INVALID_PARAMETER_12
#define STATUS_INVALID_PARAMETER_12	((NTSTATUS)0xC00000FA)
#endif
#ifndef STATUS_PROCESS_IS_TERMINATING
#define STATUS_PROCESS_IS_TERMINATING	((NTSTATUS)0xC000010A)
#endif
#ifndef STATUS_COMMITMENT_LIMIT
#define STATUS_COMMITMENT_LIMIT		((NTSTATUS)0xC000012D)
#endif
#ifndef STATUS_INVALID_ADDRESS
#define STATUS_INVALID_ADDRESS		((NTSTATUS)0xC0000141)
#endif
#ifndef STATUS_MAPPED_ALIGNMENT
#define STATUS_MAPPED_ALIGNMENT		((NTSTATUS)0xC0000220)
#endif

#ifndef NT_SUCCESS
#define NT_SUCCESS(status)		((NTSTATUS)(status) >= 0)
#endif

#ifndef _WINNT_
typedef struct _MEMORY_BASIC_INFORMATION {
	PVOID BaseAddress;
	PVOID AllocationBase;
	DWORD AllocationProtect;
#if UINTPTR_MAX > 0xffffffffu
	WORD PartitionId;
#endif
	SIZE_T RegionSize;
	DWORD State;
	DWORD Protect;
	DWORD Type;
} MEMORY_BASIC_INFORMATION, *PMEMORY_BASIC_INFORMATION;
#endif

#if !defined(_SYSINFOAPI_H_) && !defined(__WINE_WINBASE_H)
typedef struct _SYSTEM_INFO {
	__extension__ union {
		DWORD dwOemId;
		__extension__ struct {
			WORD wProcessorArchitecture;
			WORD wReserved;
		};
	};
	DWORD dwPageSize;
	LPVOID lpMinimumApplicationAddress;
	LPVOID lpMaximumApplicationAddress;
	DWORD_PTR dwActiveProcessorMask;
	DWORD dwNumberOfProcessors;
	DWORD dwProcessorType;
	DWORD dwAllocationGranularity;
	WORD wProcessorLevel;
	WORD wProcessorRevision;
} SYSTEM_INFO, *LPSYSTEM_INFO;
#endif

/* psapi.h */
#if !defined(_PSAPI_H_) && !defined(__WINE_PSAPI_H)
typedef struct _PROCESS_MEMORY_COUNTERS {
	DWORD cb;
	DWORD PageFaultCount;
	SIZE_T PeakWorkingSetSize;
	SIZE_T WorkingSetSize;
	SIZE_T QuotaPeakPagedPoolUsage;
	SIZE_T QuotaPagedPoolUsage;
	SIZE_T QuotaPeakNonPagedPoolUsage;
	SIZE_T QuotaNonPagedPoolUsage;
	SIZE_T PagefileUsage;
	SIZE_T PeakPagefileUsage;
} PROCESS_MEMORY_COUNTERS, *PPROCESS_MEMORY_COUNTERS;

typedef struct _PROCESS_MEMORY_COUNTERS_EX {
	DWORD cb;
	DWORD PageFaultCount;
	SIZE_T PeakWorkingSetSize;
	SIZE_T WorkingSetSize;
	SIZE_T QuotaPeakPagedPoolUsage;
	SIZE_T QuotaPagedPoolUsage;
	SIZE_T QuotaPeakNonPagedPoolUsage;
	SIZE_T QuotaNonPagedPoolUsage;
	SIZE_T PagefileUsage;
	SIZE_T PeakPagefileUsage;
	SIZE_T PrivateUsage;
} PROCESS_MEMORY_COUNTERS_EX, *PPROCESS_MEMORY_COUNTERS_EX;
#endif

#ifndef PROCESSOR_ARCHITECTURE_INTEL
#define PROCESSOR_ARCHITECTURE_INTEL	0
#endif
#ifndef PROCESSOR_ARCHITECTURE_ARM64
#define PROCESSOR_ARCHITECTURE_ARM64	12
#endif
#ifndef PROCESSOR_ARCHITECTURE_AMD64
#define PROCESSOR_ARCHITECTURE_AMD64	9
#endif
#ifndef PROCESSOR_AMD_X8664
#define PROCESSOR_AMD_X8664		8664
#endif

/* VirtualAlloc2's extended parameters (winnt.h). */
#ifndef _WINNT_
typedef unsigned long long DWORD64;

typedef enum MEM_EXTENDED_PARAMETER_TYPE {
	MemExtendedParameterInvalidType = 0,
	MemExtendedParameterAddressRequirements,
	MemExtendedParameterNumaNode,
	MemExtendedParameterPartitionHandle,
	MemExtendedParameterUserPhysicalHandle,
	MemExtendedParameterAttributeFlags,
	MemExtendedParameterImageMachine,
	MemExtendedParameterMax
} MEM_EXTENDED_PARAMETER_TYPE, *PMEM_EXTENDED_PARAMETER_TYPE;

#define MEM_EXTENDED_PARAMETER_TYPE_BITS	8

__extension__ typedef struct __attribute__((aligned(8))) MEM_EXTENDED_PARAMETER {
	__extension__ struct {
		DWORD64 Type : MEM_EXTENDED_PARAMETER_TYPE_BITS;
		DWORD64 Reserved : 64 - MEM_EXTENDED_PARAMETER_TYPE_BITS;
	};
	__extension__ union {
		DWORD64 ULong64;
		PVOID Pointer;
		SIZE_T Size;
		HANDLE Handle;
		DWORD ULong;
	};
} MEM_EXTENDED_PARAMETER, *PMEM_EXTENDED_PARAMETER;

typedef struct _MEM_ADDRESS_REQUIREMENTS {
	PVOID LowestStartingAddress;
	PVOID HighestEndingAddress;
	SIZE_T Alignment;
} MEM_ADDRESS_REQUIREMENTS, *PMEM_ADDRESS_REQUIREMENTS;
#endif

#ifndef __WINE_WINTERNL_H
typedef enum _MEMORY_INFORMATION_CLASS {
	MemoryBasicInformation = 0,
} MEMORY_INFORMATION_CLASS;
#endif

/* The pseudo-handle of the calling process. */
#ifndef NtCurrentProcess
#define NtCurrentProcess()		((HANDLE)~(ULONG_PTR)0)
#endif
NTVM_WINBASEAPI HANDLE WINAPI GetCurrentProcess(void);
NTVM_WINBASEAPI DWORD WINAPI GetCurrentProcessId(void);

/*
 * Handles to other processes (see OpenProcess(3)): who may open a
 * process for its memory is who may ptrace it.
 */
NTVM_WINBASEAPI HANDLE WINAPI
OpenProcess(DWORD dwDesiredAccess, BOOL bInheritHandle, DWORD dwProcessId);
NTVM_WINBASEAPI BOOL WINAPI CloseHandle(HANDLE hObject);
NTVM_WINBASEAPI DWORD WINAPI GetProcessId(HANDLE Process);
NTVM_WINBASEAPI BOOL WINAPI
ReadProcessMemory(HANDLE hProcess, LPCVOID lpBaseAddress, LPVOID lpBuffer,
		  SIZE_T nSize, SIZE_T *lpNumberOfBytesRead);
NTVM_WINBASEAPI BOOL WINAPI
WriteProcessMemory(HANDLE hProcess, LPVOID lpBaseAddress, LPCVOID lpBuffer,
		   SIZE_T nSize, SIZE_T *lpNumberOfBytesWritten);

/* Win32 (kernel32/kernelbase). */
NTVM_WINBASEAPI LPVOID WINAPI
VirtualAlloc(LPVOID lpAddress, SIZE_T dwSize, DWORD flAllocationType,
	     DWORD flProtect);
NTVM_WINBASEAPI LPVOID WINAPI
VirtualAllocEx(HANDLE hProcess, LPVOID lpAddress, SIZE_T dwSize,
	       DWORD flAllocationType, DWORD flProtect);
NTVM_WINBASEAPI PVOID WINAPI
VirtualAlloc2(HANDLE Process, PVOID BaseAddress, SIZE_T Size,
	      ULONG AllocationType, ULONG PageProtection,
	      MEM_EXTENDED_PARAMETER *ExtendedParameters,
	      ULONG ParameterCount);
NTVM_WINBASEAPI BOOL WINAPI
VirtualFree(LPVOID lpAddress, SIZE_T dwSize, DWORD dwFreeType);
NTVM_WINBASEAPI BOOL WINAPI
VirtualFreeEx(HANDLE hProcess, LPVOID lpAddress, SIZE_T dwSize,
	      DWORD dwFreeType);
NTVM_WINBASEAPI BOOL WINAPI
VirtualProtect(LPVOID lpAddress, SIZE_T dwSize, DWORD flNewProtect,
	       PDWORD lpflOldProtect);
NTVM_WINBASEAPI BOOL WINAPI
VirtualProtectEx(HANDLE hProcess, LPVOID lpAddress, SIZE_T dwSize,
		 DWORD flNewProtect, PDWORD lpflOldProtect);
NTVM_WINBASEAPI SIZE_T WINAPI
VirtualQuery(LPCVOID lpAddress, PMEMORY_BASIC_INFORMATION lpBuffer,
	     SIZE_T dwLength);
NTVM_WINBASEAPI SIZE_T WINAPI
VirtualQueryEx(HANDLE hProcess, LPCVOID lpAddress,
	       PMEMORY_BASIC_INFORMATION lpBuffer, SIZE_T dwLength);
NTVM_WINBASEAPI UINT WINAPI
GetWriteWatch(DWORD dwFlags, PVOID lpBaseAddress, SIZE_T dwRegionSize,
	      PVOID *lpAddresses, ULONG_PTR *lpdwCount,
	      LPDWORD lpdwGranularity);
NTVM_WINBASEAPI UINT WINAPI
ResetWriteWatch(LPVOID lpBaseAddress, SIZE_T dwRegionSize);
NTVM_WINBASEAPI BOOL WINAPI VirtualLock(LPVOID lpAddress, SIZE_T dwSize);
NTVM_WINBASEAPI BOOL WINAPI VirtualUnlock(LPVOID lpAddress, SIZE_T dwSize);
NTVM_WINBASEAPI BOOL WINAPI
GetProcessWorkingSetSize(HANDLE hProcess, PSIZE_T lpMinimumWorkingSetSize,
			 PSIZE_T lpMaximumWorkingSetSize);
NTVM_WINBASEAPI BOOL WINAPI
GetProcessWorkingSetSizeEx(HANDLE hProcess, PSIZE_T lpMinimumWorkingSetSize,
			   PSIZE_T lpMaximumWorkingSetSize, PDWORD Flags);
NTVM_WINBASEAPI BOOL WINAPI
SetProcessWorkingSetSize(HANDLE hProcess, SIZE_T dwMinimumWorkingSetSize,
			 SIZE_T dwMaximumWorkingSetSize);
NTVM_WINBASEAPI BOOL WINAPI
SetProcessWorkingSetSizeEx(HANDLE hProcess, SIZE_T dwMinimumWorkingSetSize,
			   SIZE_T dwMaximumWorkingSetSize, DWORD Flags);
NTVM_WINBASEAPI void WINAPI GetSystemInfo(LPSYSTEM_INFO lpSystemInfo);
NTVM_WINBASEAPI DWORD WINAPI GetLastError(void);
NTVM_WINBASEAPI void WINAPI SetLastError(DWORD dwErrCode);

/*
 * psapi / kernel32 (K32...): the counters of the calling process
 * (GetCurrentProcess(), or a handle to itself with
 * PROCESS_QUERY_LIMITED_INFORMATION; another process's handle fails
 * with ERROR_ACCESS_DENIED).  PagefileUsage and
 * PrivateUsage are its commit charge in bytes: the pages committed in its
 * ntvm context (the process's other memory, malloc's and the stacks', is
 * Linux's and not counted); PeakPagefileUsage is the most it has been.
 * PageFaultCount and the working-set sizes are Linux's for the whole
 * process (minor + major faults; resident and peak resident size); the
 * pool quotas have no Linux counterpart and are 0.  A cb below
 * sizeof(PROCESS_MEMORY_COUNTERS) fails with ERROR_INSUFFICIENT_BUFFER; a
 * cb of sizeof(PROCESS_MEMORY_COUNTERS_EX) or more fills PrivateUsage too.
 * On return cb is the size filled.
 */
BOOL WINAPI GetProcessMemoryInfo(HANDLE Process,
				 PPROCESS_MEMORY_COUNTERS ppsmemCounters,
				 DWORD cb);
BOOL WINAPI K32GetProcessMemoryInfo(HANDLE Process,
				    PPROCESS_MEMORY_COUNTERS ppsmemCounters,
				    DWORD cb);

/*
 * ntvm's own: the process's commit limit, the role of a job object's
 * process memory limit (JOB_OBJECT_LIMIT_PROCESS_MEMORY).  A commit that
 * would take the process's charge past it fails with
 * ERROR_COMMITMENT_LIMIT (STATUS_COMMITMENT_LIMIT) and charges nothing;
 * so does one past the user's limit (see Documentation/ntvm.rst).
 *
 * NtvmSetProcessCommitLimit: LimitBytes is rounded down to whole pages
 * (0: no commit at all); NTVM_NO_COMMIT_LIMIT removes the limit.  Any
 * value is accepted, lower or higher than before or than the charge
 * (then every commit that adds to the charge fails until enough is
 * decommitted).  A forked child starts with the limit of its parent;
 * across exec(), a launcher passes it in the environment variable
 * NTVM_COMMIT_LIMIT (bytes, optionally with K, M, G or T), which libntvm
 * applies when the process first uses it.  Not a security boundary: the
 * process may raise or remove it.
 *
 * NtvmGetProcessCommitLimit: the limit in bytes, or NTVM_NO_COMMIT_LIMIT.
 */
#define NTVM_NO_COMMIT_LIMIT		((SIZE_T)-1)
BOOL WINAPI NtvmSetProcessCommitLimit(SIZE_T LimitBytes);
BOOL WINAPI NtvmGetProcessCommitLimit(PSIZE_T LimitBytes);

/*
 * ntvm's own: the process's highest user address, which
 * GetSystemInfo() reports as lpMaximumApplicationAddress.  No allocation
 * goes above it, and the memory functions take no address above it.  It
 * starts at 0x7FFFFFFEFFFF (the device opened by a 64-bit process) or at
 * 0x7FFEFFFF, 2 GiB less 64 KiB (by a 32-bit one).  Address: at least
 * 0x7FFEFFFF, one less than a multiple of 64 KiB, at most 0x7FFFFFFEFFFF
 * (0xFFFEFFFF from a 32-bit process, which is large-address aware then),
 * else ERROR_INVALID_PARAMETER; ERROR_INVALID_ADDRESS if an allocation
 * reaches above it.  A forked child starts with the limit its parent set.
 */
BOOL WINAPI NtvmSetMaximumApplicationAddress(LPVOID Address);

/* NT (ntdll). */
NTSTATUS NTAPI NtAllocateVirtualMemory(HANDLE ProcessHandle,
				       PVOID *BaseAddress, ULONG_PTR ZeroBits,
				       PSIZE_T RegionSize,
				       ULONG AllocationType, ULONG Protect);
NTSTATUS NTAPI NtAllocateVirtualMemoryEx(HANDLE ProcessHandle,
					 PVOID *BaseAddress,
					 PSIZE_T RegionSize,
					 ULONG AllocationType,
					 ULONG PageProtection,
					 PMEM_EXTENDED_PARAMETER ExtendedParameters,
					 ULONG ExtendedParameterCount);
NTSTATUS NTAPI NtFreeVirtualMemory(HANDLE ProcessHandle, PVOID *BaseAddress,
				   PSIZE_T RegionSize, ULONG FreeType);
NTSTATUS NTAPI NtProtectVirtualMemory(HANDLE ProcessHandle,
				      PVOID *BaseAddress,
				      PSIZE_T NumberOfBytesToProtect,
				      ULONG NewAccessProtection,
				      PULONG OldAccessProtection);
/* Wine's winternl.h has it with a const BaseAddress. */
#ifndef __WINE_WINTERNL_H
NTSTATUS NTAPI NtQueryVirtualMemory(HANDLE ProcessHandle, PVOID BaseAddress,
				    MEMORY_INFORMATION_CLASS MemoryInformationClass,
				    PVOID MemoryInformation,
				    SIZE_T MemoryInformationLength,
				    PSIZE_T ReturnLength);
#endif
/* Wine's winternl.h has them with const buffers. */
#ifndef __WINE_WINTERNL_H
NTSTATUS NTAPI NtReadVirtualMemory(HANDLE ProcessHandle, PVOID BaseAddress,
				   PVOID Buffer, SIZE_T BufferSize,
				   PSIZE_T NumberOfBytesRead);
NTSTATUS NTAPI NtWriteVirtualMemory(HANDLE ProcessHandle, PVOID BaseAddress,
				    PVOID Buffer, SIZE_T BufferSize,
				    PSIZE_T NumberOfBytesWritten);
#endif
NTSTATUS NTAPI NtGetWriteWatch(HANDLE ProcessHandle, ULONG Flags,
			       PVOID BaseAddress, SIZE_T RegionSize,
			       PVOID *UserAddressArray,
			       PULONG_PTR EntriesInUserAddressArray,
			       PULONG Granularity);
NTSTATUS NTAPI NtResetWriteWatch(HANDLE ProcessHandle, PVOID BaseAddress,
				 SIZE_T RegionSize);
NTSTATUS NTAPI NtLockVirtualMemory(HANDLE ProcessHandle, PVOID *BaseAddress,
				   PSIZE_T RegionSize, ULONG MapType);
NTSTATUS NTAPI NtUnlockVirtualMemory(HANDLE ProcessHandle,
				     PVOID *BaseAddress, PSIZE_T RegionSize,
				     ULONG MapType);
ULONG NTAPI RtlNtStatusToDosError(NTSTATUS Status);

#ifdef __cplusplus
}
#endif

#endif /* NTVM_H */
