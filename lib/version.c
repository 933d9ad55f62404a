// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The version handshake: the module's ABI version (NTVM_IOC_VERSION),
 * asked once per process, before the first request.  A module older than
 * the header this library was built with (a smaller minor version, or no
 * NTVM_IOC_VERSION at all), or of another major version, makes every call
 * that needs the module fail with STATUS_NOT_SUPPORTED, and one line on
 * stderr says which side to update.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>

#include "internal.h"

/* The minor version that added NTVM_IOC_VERSION: a module without it is
 * older. */
#define NTVM_ABI_MINOR_VERSION_ADDED	8

_Static_assert(NTVM_ABI_MINOR >= NTVM_ABI_MINOR_VERSION_ADDED,
	       "NTVM_ABI_MINOR");

/* 0: not asked yet; 1: the module's version is one this library uses;
 * -1: it is not.  Kept across fork(): the module is the same. */
static int ntvm_version_state;

/* Ask the module behind @fd; 1 or -1, and the line to print for -1. */
static int ntvm_version_ask(int fd, char *line, size_t len)
{
	struct ntvm_version v = { 0 };

	if (ioctl(fd, NTVM_IOC_VERSION, &v) < 0) {
		if (errno == ENOTTY || errno == EINVAL)
			snprintf(line, len,
				 "libntvm: the ntvm module's ABI is %u.%u or older, this library needs %u.%u or later: update the module (ntvm-dkms) and load it again\n",
				 NTVM_ABI_MAJOR,
				 NTVM_ABI_MINOR_VERSION_ADDED - 1,
				 NTVM_ABI_MAJOR, NTVM_ABI_MINOR);
		else
			snprintf(line, len,
				 "libntvm: cannot ask the ntvm module its ABI version: %s\n",
				 strerror(errno));
		return -1;
	}
	if (v.major > NTVM_ABI_MAJOR) {
		snprintf(line, len,
			 "libntvm: the ntvm module's ABI %u.%u is newer than this library's %u.%u: update libntvm\n",
			 v.major, v.minor, NTVM_ABI_MAJOR, NTVM_ABI_MINOR);
		return -1;
	}
	if (v.major < NTVM_ABI_MAJOR || v.minor < NTVM_ABI_MINOR) {
		snprintf(line, len,
			 "libntvm: the ntvm module's ABI is %u.%u, this library needs %u.%u or later: update the module (ntvm-dkms) and load it again\n",
			 v.major, v.minor, NTVM_ABI_MAJOR, NTVM_ABI_MINOR);
		return -1;
	}
	/* A greater minor version: additions this library does not use. */
	return 1;
}

/* Has the module been asked, and refused? */
int ntvm_version_refused(void)
{
	return __atomic_load_n(&ntvm_version_state, __ATOMIC_ACQUIRE) < 0;
}

int ntvm_version_ok(int fd)
{
	int state = __atomic_load_n(&ntvm_version_state, __ATOMIC_ACQUIRE);
	int expected = 0;
	char line[256];

	if (!state) {
		/*
		 * Threads that race here all ask (the answer is the same);
		 * the one that records it prints the line, once.
		 */
		state = ntvm_version_ask(fd, line, sizeof(line));
		if (__atomic_compare_exchange_n(&ntvm_version_state, &expected,
						state, 0, __ATOMIC_ACQ_REL,
						__ATOMIC_ACQUIRE)) {
			if (state < 0)
				fputs(line, stderr);
		} else {
			state = expected;
		}
	}
	return state > 0;
}
