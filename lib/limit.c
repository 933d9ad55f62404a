// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The process's highest user address: ntvm's own
 * NtvmSetMaximumApplicationAddress, for what a 32-bit Windows program's
 * image header says (large-address aware or not) and for emulators that
 * run 32-bit code in a 64-bit process.  GetSystemInfo() reports it.
 *
 * The limit belongs to the context.  libntvm keeps the value it last set,
 * so that a forked child, which opens a context of its own, gets it too.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>

#include "internal.h"

static pthread_mutex_t ntvm_max_lock = PTHREAD_MUTEX_INITIALIZER;
/* The limit set by this process (0: none set), for a new context. */
static __u64 ntvm_max_set;

static NTSTATUS ntvm_max_ioctl(int fd, __u64 max)
{
	struct ntvm_address_limit_args args = {
		.maximum = max,
		.flags = NTVM_ADDRESS_LIMIT_SET,
	};

	if (ioctl(fd, NTVM_IOC_ADDRESS_LIMIT, &args) < 0)
		return STATUS_NOT_SUPPORTED;
	return args.status;
}

/*
 * The process's highest user address now (a mask of zero bits above it
 * constrains nothing more); the 64-bit default without the device.
 */
uintptr_t ntvm_max_address(void)
{
	struct ntvm_address_limit_args args = { 0 };

	if (ntvm_ioctl(NTVM_IOC_ADDRESS_LIMIT, &args, &args.status))
		return NTVM_MAX_USER_ADDRESS;
	return args.maximum;
}

/* The device was just opened as @fd: the limit this process set. */
void ntvm_address_limit_opened(int fd)
{
	NTSTATUS status;

	pthread_mutex_lock(&ntvm_max_lock);
	if (ntvm_max_set) {
		status = ntvm_max_ioctl(fd, ntvm_max_set);
		if (status)
			fprintf(stderr,
				"libntvm: cannot set the highest address to 0x%llx: status 0x%08x\n",
				(unsigned long long)ntvm_max_set,
				(unsigned int)status);
	}
	pthread_mutex_unlock(&ntvm_max_lock);
}

/* In a forked child: the parent may have held the lock. */
void ntvm_address_limit_child(void)
{
	pthread_mutex_init(&ntvm_max_lock, NULL);
}

NTVM_EXPORT BOOL WINAPI NtvmSetMaximumApplicationAddress(LPVOID Address)
{
	int fd = ntvm_dev();
	NTSTATUS status;

	if (fd < 0) {
		SetLastError(ERROR_NOT_SUPPORTED);
		return FALSE;
	}
	pthread_mutex_lock(&ntvm_max_lock);
	status = ntvm_max_ioctl(fd, (uintptr_t)Address);
	if (!status)
		ntvm_max_set = (uintptr_t)Address;
	pthread_mutex_unlock(&ntvm_max_lock);
	if (status) {
		SetLastError(RtlNtStatusToDosError(status));
		return FALSE;
	}
	return TRUE;
}
