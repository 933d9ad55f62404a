// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The process's context on /dev/ntvm: opened once, lazily and thread-safe;
 * opened again in a forked child (a context belongs to one process).  A
 * module whose ABI version this library cannot use (lib/version.c) is
 * treated as no module: every call that needs it fails with
 * STATUS_NOT_SUPPORTED (ERROR_NOT_SUPPORTED).
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "internal.h"

static pthread_mutex_t ntvm_dev_lock = PTHREAD_MUTEX_INITIALIZER;
static int ntvm_dev_fd = -1;
static int ntvm_dev_tried;
static int ntvm_atfork_done;

static void ntvm_dev_child(void)
{
	/* The inherited fd is the parent's context: not ours to use. */
	if (ntvm_dev_fd >= 0)
		close(ntvm_dev_fd);
	ntvm_dev_fd = -1;
	ntvm_dev_tried = 0;
	pthread_mutex_init(&ntvm_dev_lock, NULL);
	ntvm_commit_limit_child();
	ntvm_address_limit_child();
	ntvm_query_map_child();
}

int ntvm_dev(void)
{
	int fd;

	fd = __atomic_load_n(&ntvm_dev_fd, __ATOMIC_ACQUIRE);
	if (fd >= 0)
		return fd;

	pthread_mutex_lock(&ntvm_dev_lock);
	if (!ntvm_atfork_done) {
		pthread_atfork(NULL, NULL, ntvm_dev_child);
		ntvm_atfork_done = 1;
	}
	if (ntvm_dev_fd < 0 && !ntvm_dev_tried) {
		ntvm_dev_tried = 1;
		fd = open(NTVM_DEVICE, O_RDWR | O_CLOEXEC);
		if (fd < 0) {
			fprintf(stderr,
				"libntvm: cannot open %s: %s (is the ntvm kernel module loaded?)\n",
				NTVM_DEVICE, strerror(errno));
		} else if (!ntvm_version_ok(fd)) {
			/* A module this library cannot use: as if none. */
			close(fd);
		} else {
			/* Before any thread can commit in the new context. */
			ntvm_commit_limit_opened(fd);
			ntvm_address_limit_opened(fd);
			ntvm_query_map_opened();
			__atomic_store_n(&ntvm_dev_fd, fd, __ATOMIC_RELEASE);
		}
	}
	fd = ntvm_dev_fd;
	pthread_mutex_unlock(&ntvm_dev_lock);
	return fd;
}

NTSTATUS ntvm_ioctl(unsigned long request, void *args, const __u32 *status)
{
	return ntvm_ioctl_fd(ntvm_dev(), request, args, status);
}

NTSTATUS ntvm_ioctl_fd(int fd, unsigned long request, void *args,
		       const __u32 *status)
{
	/* Another process's context too: the same module. */
	if (fd < 0 || !ntvm_version_ok(fd))
		return STATUS_NOT_SUPPORTED;
	if (ioctl(fd, request, args) < 0) {
		switch (errno) {
		case EFAULT:
			return STATUS_ACCESS_VIOLATION;
		case EPERM:
			return STATUS_ACCESS_DENIED;
		case EINTR:
		case ESRCH:	/* another process's context: it has exited */
			return STATUS_PROCESS_IS_TERMINATING;
		default:
			return STATUS_NOT_SUPPORTED;
		}
	}
	return status ? (NTSTATUS)*status : STATUS_SUCCESS;
}
