// SPDX-License-Identifier: GPL-2.0
/*
 * libntvm's Win32 surface: constant values, structure layouts, the
 * NTSTATUS -> Win32 error mapping, GetLastError per thread, GetSystemInfo,
 * and a clear failure when the module is not there.
 */
#include <pthread.h>
#include <sched.h>
#include <stddef.h>
#include <sys/mount.h>
#include <sys/wait.h>

#include "ntvm_test.h"
#include "kselftest_harness.h"

TEST(constants_match_windows_and_the_abi)
{
	EXPECT_EQ(0x1000, MEM_COMMIT);
	EXPECT_EQ(0x2000, MEM_RESERVE);
	EXPECT_EQ(0x4000, MEM_DECOMMIT);
	EXPECT_EQ(0x8000, MEM_RELEASE);
	EXPECT_EQ(0x10000, MEM_FREE);
	EXPECT_EQ(0x20000, MEM_PRIVATE);
	EXPECT_EQ(0x40000, MEM_MAPPED);
	EXPECT_EQ(0x80000, MEM_RESET);
	EXPECT_EQ(0x100000, MEM_TOP_DOWN);
	EXPECT_EQ(0x200000, MEM_WRITE_WATCH);
	EXPECT_EQ(0x400000, MEM_PHYSICAL);
	EXPECT_EQ(0x1000000, MEM_IMAGE);
	EXPECT_EQ(0x01000000, MEM_RESET_UNDO);
	EXPECT_EQ(0x20000000, MEM_LARGE_PAGES);
	EXPECT_EQ(0x01, PAGE_NOACCESS);
	EXPECT_EQ(0x02, PAGE_READONLY);
	EXPECT_EQ(0x04, PAGE_READWRITE);
	EXPECT_EQ(0x08, PAGE_WRITECOPY);
	EXPECT_EQ(0x10, PAGE_EXECUTE);
	EXPECT_EQ(0x20, PAGE_EXECUTE_READ);
	EXPECT_EQ(0x40, PAGE_EXECUTE_READWRITE);
	EXPECT_EQ(0x80, PAGE_EXECUTE_WRITECOPY);
	EXPECT_EQ(0x100, PAGE_GUARD);
	EXPECT_EQ(0x200, PAGE_NOCACHE);
	EXPECT_EQ(0x400, PAGE_WRITECOMBINE);
	EXPECT_EQ(NTVM_MEM_COMMIT, MEM_COMMIT);
	EXPECT_EQ(NTVM_MEM_LARGE_PAGES, MEM_LARGE_PAGES);
	EXPECT_EQ(NTVM_PAGE_WRITECOMBINE, PAGE_WRITECOMBINE);
	EXPECT_EQ(NTVM_STATUS_COMMITMENT_LIMIT,
		  (unsigned int)STATUS_COMMITMENT_LIMIT);
	EXPECT_EQ(NTVM_STATUS_FREE_VM_NOT_AT_BASE,
		  (unsigned int)STATUS_FREE_VM_NOT_AT_BASE);
}

TEST(structure_layouts)
{
	EXPECT_EQ(48, sizeof(MEMORY_BASIC_INFORMATION));
	EXPECT_EQ(0, offsetof(MEMORY_BASIC_INFORMATION, BaseAddress));
	EXPECT_EQ(8, offsetof(MEMORY_BASIC_INFORMATION, AllocationBase));
	EXPECT_EQ(16, offsetof(MEMORY_BASIC_INFORMATION, AllocationProtect));
	EXPECT_EQ(20, offsetof(MEMORY_BASIC_INFORMATION, PartitionId));
	EXPECT_EQ(24, offsetof(MEMORY_BASIC_INFORMATION, RegionSize));
	EXPECT_EQ(32, offsetof(MEMORY_BASIC_INFORMATION, State));
	EXPECT_EQ(36, offsetof(MEMORY_BASIC_INFORMATION, Protect));
	EXPECT_EQ(40, offsetof(MEMORY_BASIC_INFORMATION, Type));
	EXPECT_EQ(48, sizeof(SYSTEM_INFO));
	EXPECT_EQ(4, offsetof(SYSTEM_INFO, dwPageSize));
	EXPECT_EQ(8, offsetof(SYSTEM_INFO, lpMinimumApplicationAddress));
	EXPECT_EQ(40, offsetof(SYSTEM_INFO, dwAllocationGranularity));
	EXPECT_EQ(4, sizeof(DWORD));
	EXPECT_EQ(sizeof(void *), sizeof(SIZE_T));
	/* The ABI is the same for 32-bit callers. */
	EXPECT_EQ(32, sizeof(struct ntvm_alloc_args));
	EXPECT_EQ(32, sizeof(struct ntvm_free_args));
	EXPECT_EQ(32, sizeof(struct ntvm_protect_args));
	EXPECT_EQ(64, sizeof(struct ntvm_query_args));
	EXPECT_EQ(64, sizeof(struct ntvm_sysinfo_args));
	EXPECT_EQ(24, offsetof(struct ntvm_free_args, flags));
	EXPECT_EQ(56, offsetof(struct ntvm_query_args, flags));
	EXPECT_EQ(32, offsetof(struct ntvm_sysinfo_args, user_committed));
}

TEST(status_to_error_mapping)
{
	static const struct { NTSTATUS s; ULONG e; } map[] = {
		{ STATUS_SUCCESS, 0 },
		{ STATUS_WORKING_SET_LIMIT_RANGE, 87 },
		{ STATUS_WAS_LOCKED, 717 },
		{ STATUS_WAS_UNLOCKED, 715 },
		{ STATUS_BAD_WORKING_SET_LIMIT, 87 },
		{ STATUS_GUARD_PAGE_VIOLATION, 0x80000001 },
		{ STATUS_PARTIAL_COPY, 299 },
		{ STATUS_INVALID_INFO_CLASS, 87 },
		{ STATUS_INFO_LENGTH_MISMATCH, 24 },
		{ STATUS_ACCESS_VIOLATION, 998 },
		{ STATUS_PAGEFILE_QUOTA, 1454 },
		{ STATUS_INVALID_HANDLE, 6 },
		{ STATUS_INVALID_PARAMETER, 87 },
		{ STATUS_NO_MEMORY, 8 },
		{ STATUS_CONFLICTING_ADDRESSES, 487 },
		{ STATUS_NOT_MAPPED_VIEW, 487 },
		{ STATUS_UNABLE_TO_FREE_VM, 87 },
		{ STATUS_UNABLE_TO_DELETE_SECTION, 87 },
		{ STATUS_ALREADY_COMMITTED, 5 },
		{ STATUS_NOT_LOCKED, 158 },
		{ STATUS_NOT_COMMITTED, 487 },
		{ STATUS_INVALID_PARAMETER_MIX, 87 },
		{ STATUS_INVALID_PAGE_PROTECTION, 87 },
		{ STATUS_SECTION_PROTECTION, 87 },
		{ STATUS_PRIVILEGE_NOT_HELD, 1314 },
		{ STATUS_FREE_VM_NOT_AT_BASE, 487 },
		{ STATUS_MEMORY_NOT_ALLOCATED, 487 },
		{ STATUS_WORKING_SET_QUOTA, 1453 },
		{ STATUS_NOT_SUPPORTED, 50 },
		{ STATUS_INVALID_USER_BUFFER, 1784 },
		{ STATUS_INVALID_PARAMETER_1, 87 },
		{ STATUS_INVALID_PARAMETER_6, 87 },
		{ STATUS_INVALID_PARAMETER_12, 87 },
		{ STATUS_PROCESS_IS_TERMINATING, 5 },
		{ STATUS_COMMITMENT_LIMIT, 1455 },
		{ STATUS_INVALID_ADDRESS, 59 },
		{ STATUS_MAPPED_ALIGNMENT, 1132 },
	};
	unsigned int i;

	/* The values, as winnt.h and ntstatus.h have them. */
	EXPECT_EQ(0x40000017, STATUS_WAS_UNLOCKED);
	EXPECT_EQ(0x40000019, STATUS_WAS_LOCKED);
	EXPECT_EQ(0xC000002A, (ULONG)STATUS_NOT_LOCKED);
	EXPECT_EQ(0xC000004C, (ULONG)STATUS_BAD_WORKING_SET_LIMIT);
	EXPECT_EQ(0xC00000A1, (ULONG)STATUS_WORKING_SET_QUOTA);
	EXPECT_EQ(0x00080000, MEM_RESET);
	EXPECT_EQ(0x01000000, MEM_RESET_UNDO);
	EXPECT_EQ(1, MAP_PROCESS);
	EXPECT_EQ(2, MAP_SYSTEM);
	EXPECT_EQ(1, QUOTA_LIMITS_HARDWS_MIN_ENABLE);
	EXPECT_EQ(2, QUOTA_LIMITS_HARDWS_MIN_DISABLE);
	EXPECT_EQ(4, QUOTA_LIMITS_HARDWS_MAX_ENABLE);
	EXPECT_EQ(8, QUOTA_LIMITS_HARDWS_MAX_DISABLE);
	for (i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
		EXPECT_EQ(map[i].e, RtlNtStatusToDosError(map[i].s)) {
			TH_LOG("status 0x%08x", (unsigned int)map[i].s);
		}
	}
}

static void *other_thread(void *arg)
{
	SetLastError(1234);
	*(DWORD *)arg = GetLastError();
	return NULL;
}

TEST(last_error_is_per_thread)
{
	pthread_t t;
	DWORD seen = 0;

	SetLastError(42);
	ASSERT_EQ(0, pthread_create(&t, NULL, other_thread, &seen));
	pthread_join(t, NULL);
	EXPECT_EQ(1234, seen);
	EXPECT_EQ(42, GetLastError());
	/* Success leaves it alone, like Windows' VirtualAlloc. */
	SetLastError(77);
	EXPECT_TRUE(VirtualFree(VirtualAlloc(NULL, PAGE, MEM_COMMIT,
					     PAGE_READWRITE), 0, MEM_RELEASE));
	EXPECT_EQ(77, GetLastError());
}

TEST(system_info)
{
	SYSTEM_INFO si;

	memset(&si, 0xaa, sizeof(si));
	GetSystemInfo(&si);
	EXPECT_EQ(4096, si.dwPageSize);
	EXPECT_EQ(65536, si.dwAllocationGranularity);
	EXPECT_EQ((LPVOID)0x10000, si.lpMinimumApplicationAddress);
	EXPECT_EQ((LPVOID)0x7FFFFFFEFFFFULL, si.lpMaximumApplicationAddress);
	EXPECT_EQ(PROCESSOR_ARCHITECTURE_AMD64, si.wProcessorArchitecture);
	EXPECT_EQ(sysconf(_SC_NPROCESSORS_ONLN), si.dwNumberOfProcessors);
	EXPECT_NE(0, si.dwActiveProcessorMask);
}

TEST(module_missing_fails_clearly)
{
	int err[2], status;
	char msg[256] = "";
	pid_t pid;

	ASSERT_EQ(0, pipe(err));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		dup2(err[1], 2);
		/* A /dev without ntvm, as when the module is not loaded. */
		if (unshare(CLONE_NEWNS) ||
		    mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) ||
		    mount("none", "/dev", "tmpfs", 0, NULL))
			_exit(10);
		if (VirtualAlloc(NULL, PAGE, MEM_COMMIT, PAGE_READWRITE))
			_exit(1);
		if (GetLastError() != ERROR_NOT_SUPPORTED)
			_exit(2);
		if (VirtualQuery(&status, &(MEMORY_BASIC_INFORMATION){ 0 },
				 sizeof(MEMORY_BASIC_INFORMATION)))
			_exit(3);
		_exit(0);
	}
	close(err[1]);
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	read(err[0], msg, sizeof(msg) - 1);
	close(err[0]);
	if (WIFEXITED(status) && WEXITSTATUS(status) == 10)
		SKIP(return, "cannot make a mount namespace here");
	EXPECT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));
	/* One line, said once, naming the missing module. */
	EXPECT_NE(NULL, strstr(msg, "ntvm kernel module"));
	EXPECT_EQ(strlen(msg) - 1, (size_t)(strchr(msg, '\n') - msg));
}

TEST_HARNESS_MAIN
