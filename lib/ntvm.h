/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libntvm: the Win32 and NT virtual-memory API on Linux, served by the
 * ntvm kernel module (/dev/ntvm).  Names, types, signatures and constant
 * values are Windows' own, so code written for Windows compiles unchanged.
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

typedef int BOOL;
typedef unsigned char BYTE;
typedef unsigned short WORD;
typedef unsigned int DWORD, *PDWORD, *LPDWORD;
typedef unsigned int ULONG, *PULONG;
typedef int LONG;
typedef uintptr_t ULONG_PTR, *PULONG_PTR, DWORD_PTR, SIZE_T, *PSIZE_T;
typedef void *PVOID, *LPVOID, *HANDLE;
typedef const void *LPCVOID;
typedef LONG NTSTATUS;

#ifndef TRUE
#define TRUE 1
#define FALSE 0
#endif

/* Allocation and free types (winnt.h). */
#define MEM_COMMIT			0x00001000
#define MEM_RESERVE			0x00002000
#define MEM_REPLACE_PLACEHOLDER		0x00004000
#define MEM_DECOMMIT			0x00004000
#define MEM_RELEASE			0x00008000
#define MEM_FREE			0x00010000
#define MEM_PRIVATE			0x00020000
#define MEM_MAPPED			0x00040000
#define MEM_RESERVE_PLACEHOLDER		0x00040000
#define MEM_RESET			0x00080000
#define MEM_TOP_DOWN			0x00100000
#define MEM_WRITE_WATCH			0x00200000
#define MEM_PHYSICAL			0x00400000
#define MEM_IMAGE			0x01000000
#define MEM_RESET_UNDO			0x10000000
#define MEM_LARGE_PAGES			0x20000000
#define MEM_4MB_PAGES			0x80000000
#define MEM_COALESCE_PLACEHOLDERS	0x00000001
#define MEM_PRESERVE_PLACEHOLDER	0x00000002

/* Page protections (winnt.h). */
#define PAGE_NOACCESS			0x0001
#define PAGE_READONLY			0x0002
#define PAGE_READWRITE			0x0004
#define PAGE_WRITECOPY			0x0008
#define PAGE_EXECUTE			0x0010
#define PAGE_EXECUTE_READ		0x0020
#define PAGE_EXECUTE_READWRITE		0x0040
#define PAGE_EXECUTE_WRITECOPY		0x0080
#define PAGE_GUARD			0x0100
#define PAGE_NOCACHE			0x0200
#define PAGE_WRITECOMBINE		0x0400

/* Win32 errors (winerror.h). */
#define ERROR_SUCCESS			0
#define ERROR_ACCESS_DENIED		5
#define ERROR_INVALID_HANDLE		6
#define ERROR_NOT_ENOUGH_MEMORY		8
#define ERROR_INVALID_ACCESS		12
#define ERROR_OUTOFMEMORY		14
#define ERROR_BAD_LENGTH		24
#define ERROR_NOT_SUPPORTED		50
#define ERROR_UNEXP_NET_ERR		59
#define ERROR_INVALID_PARAMETER		87
#define ERROR_CALL_NOT_IMPLEMENTED	120
#define ERROR_NOT_LOCKED		158
#define ERROR_PARTIAL_COPY		299
#define ERROR_INVALID_ADDRESS		487
#define ERROR_WAS_LOCKED		717
#define ERROR_NOACCESS			998
#define ERROR_INVALID_FLAGS		1004
#define ERROR_MAPPED_ALIGNMENT		1132
#define ERROR_PRIVILEGE_NOT_HELD	1314
#define ERROR_NO_SYSTEM_RESOURCES	1450
#define ERROR_WORKING_SET_QUOTA		1453
#define ERROR_PAGEFILE_QUOTA		1454
#define ERROR_COMMITMENT_LIMIT		1455
#define ERROR_INVALID_USER_BUFFER	1784
#define ERROR_MR_MID_NOT_FOUND		317

/* NTSTATUS values (ntstatus.h). */
#define STATUS_SUCCESS			((NTSTATUS)0x00000000)
#define STATUS_WORKING_SET_LIMIT_RANGE	((NTSTATUS)0x40000002)
#define STATUS_WAS_LOCKED		((NTSTATUS)0x40000019)
#define STATUS_GUARD_PAGE_VIOLATION	((NTSTATUS)0x80000001)
#define STATUS_PARTIAL_COPY		((NTSTATUS)0x8000000D)
#define STATUS_INVALID_INFO_CLASS	((NTSTATUS)0xC0000003)
#define STATUS_INFO_LENGTH_MISMATCH	((NTSTATUS)0xC0000004)
#define STATUS_ACCESS_VIOLATION		((NTSTATUS)0xC0000005)
#define STATUS_PAGEFILE_QUOTA		((NTSTATUS)0xC0000007)
#define STATUS_INVALID_HANDLE		((NTSTATUS)0xC0000008)
#define STATUS_INVALID_PARAMETER	((NTSTATUS)0xC000000D)
#define STATUS_NO_MEMORY		((NTSTATUS)0xC0000017)
#define STATUS_CONFLICTING_ADDRESSES	((NTSTATUS)0xC0000018)
#define STATUS_NOT_MAPPED_VIEW		((NTSTATUS)0xC0000019)
#define STATUS_UNABLE_TO_FREE_VM	((NTSTATUS)0xC000001A)
#define STATUS_UNABLE_TO_DELETE_SECTION	((NTSTATUS)0xC000001B)
#define STATUS_ALREADY_COMMITTED	((NTSTATUS)0xC0000021)
#define STATUS_ACCESS_DENIED		((NTSTATUS)0xC0000022)
#define STATUS_NOT_LOCKED		((NTSTATUS)0xC000002A)
#define STATUS_NOT_COMMITTED		((NTSTATUS)0xC000002D)
#define STATUS_INVALID_PARAMETER_MIX	((NTSTATUS)0xC0000030)
#define STATUS_INVALID_PAGE_PROTECTION	((NTSTATUS)0xC0000045)
#define STATUS_SECTION_PROTECTION	((NTSTATUS)0xC000004E)
#define STATUS_PRIVILEGE_NOT_HELD	((NTSTATUS)0xC0000061)
#define STATUS_FREE_VM_NOT_AT_BASE	((NTSTATUS)0xC000009F)
#define STATUS_MEMORY_NOT_ALLOCATED	((NTSTATUS)0xC00000A0)
#define STATUS_WORKING_SET_QUOTA	((NTSTATUS)0xC00000A1)
#define STATUS_INSUFFICIENT_RESOURCES	((NTSTATUS)0xC000009A)
#define STATUS_NOT_SUPPORTED		((NTSTATUS)0xC00000BB)
#define STATUS_INVALID_USER_BUFFER	((NTSTATUS)0xC00000E8)
#define STATUS_INVALID_PARAMETER_1	((NTSTATUS)0xC00000EF)
#define STATUS_INVALID_PARAMETER_2	((NTSTATUS)0xC00000F0)
#define STATUS_INVALID_PARAMETER_3	((NTSTATUS)0xC00000F1)
#define STATUS_INVALID_PARAMETER_4	((NTSTATUS)0xC00000F2)
#define STATUS_INVALID_PARAMETER_5	((NTSTATUS)0xC00000F3)
#define STATUS_INVALID_PARAMETER_6	((NTSTATUS)0xC00000F4)
#define STATUS_INVALID_PARAMETER_7	((NTSTATUS)0xC00000F5)
#define STATUS_INVALID_PARAMETER_8	((NTSTATUS)0xC00000F6)
#define STATUS_INVALID_PARAMETER_9	((NTSTATUS)0xC00000F7)
#define STATUS_INVALID_PARAMETER_10	((NTSTATUS)0xC00000F8)
#define STATUS_INVALID_PARAMETER_11	((NTSTATUS)0xC00000F9)
#define STATUS_INVALID_PARAMETER_12	((NTSTATUS)0xC00000FA)
#define STATUS_PROCESS_IS_TERMINATING	((NTSTATUS)0xC000010A)
#define STATUS_COMMITMENT_LIMIT		((NTSTATUS)0xC000012D)
#define STATUS_INVALID_ADDRESS		((NTSTATUS)0xC0000141)
#define STATUS_MAPPED_ALIGNMENT		((NTSTATUS)0xC0000220)

#define NT_SUCCESS(status)		((NTSTATUS)(status) >= 0)

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

typedef struct _SYSTEM_INFO {
	union {
		DWORD dwOemId;
		struct {
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

#define PROCESSOR_ARCHITECTURE_INTEL	0
#define PROCESSOR_ARCHITECTURE_ARM64	12
#define PROCESSOR_ARCHITECTURE_AMD64	9
#define PROCESSOR_AMD_X8664		8664

typedef enum _MEMORY_INFORMATION_CLASS {
	MemoryBasicInformation = 0,
} MEMORY_INFORMATION_CLASS;

/* The pseudo-handle of the calling process. */
#define NtCurrentProcess()		((HANDLE)~(ULONG_PTR)0)
HANDLE WINAPI GetCurrentProcess(void);

/* Win32 (kernel32/kernelbase). */
LPVOID WINAPI VirtualAlloc(LPVOID lpAddress, SIZE_T dwSize,
			   DWORD flAllocationType, DWORD flProtect);
LPVOID WINAPI VirtualAllocEx(HANDLE hProcess, LPVOID lpAddress, SIZE_T dwSize,
			     DWORD flAllocationType, DWORD flProtect);
BOOL WINAPI VirtualFree(LPVOID lpAddress, SIZE_T dwSize, DWORD dwFreeType);
BOOL WINAPI VirtualFreeEx(HANDLE hProcess, LPVOID lpAddress, SIZE_T dwSize,
			  DWORD dwFreeType);
BOOL WINAPI VirtualProtect(LPVOID lpAddress, SIZE_T dwSize,
			   DWORD flNewProtect, PDWORD lpflOldProtect);
BOOL WINAPI VirtualProtectEx(HANDLE hProcess, LPVOID lpAddress, SIZE_T dwSize,
			     DWORD flNewProtect, PDWORD lpflOldProtect);
SIZE_T WINAPI VirtualQuery(LPCVOID lpAddress,
			   PMEMORY_BASIC_INFORMATION lpBuffer, SIZE_T dwLength);
SIZE_T WINAPI VirtualQueryEx(HANDLE hProcess, LPCVOID lpAddress,
			     PMEMORY_BASIC_INFORMATION lpBuffer,
			     SIZE_T dwLength);
void WINAPI GetSystemInfo(LPSYSTEM_INFO lpSystemInfo);
DWORD WINAPI GetLastError(void);
void WINAPI SetLastError(DWORD dwErrCode);

/* NT (ntdll). */
NTSTATUS NTAPI NtAllocateVirtualMemory(HANDLE ProcessHandle,
				       PVOID *BaseAddress, ULONG_PTR ZeroBits,
				       PSIZE_T RegionSize,
				       ULONG AllocationType, ULONG Protect);
NTSTATUS NTAPI NtFreeVirtualMemory(HANDLE ProcessHandle, PVOID *BaseAddress,
				   PSIZE_T RegionSize, ULONG FreeType);
NTSTATUS NTAPI NtProtectVirtualMemory(HANDLE ProcessHandle,
				      PVOID *BaseAddress,
				      PSIZE_T NumberOfBytesToProtect,
				      ULONG NewAccessProtection,
				      PULONG OldAccessProtection);
NTSTATUS NTAPI NtQueryVirtualMemory(HANDLE ProcessHandle, PVOID BaseAddress,
				    MEMORY_INFORMATION_CLASS MemoryInformationClass,
				    PVOID MemoryInformation,
				    SIZE_T MemoryInformationLength,
				    PSIZE_T ReturnLength);
ULONG NTAPI RtlNtStatusToDosError(NTSTATUS Status);

#ifdef __cplusplus
}
#endif

#endif /* NTVM_H */
