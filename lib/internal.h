/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef NTVM_INTERNAL_H
#define NTVM_INTERNAL_H

#include <linux/ntvm.h>

#include "ntvm.h"

#define NTVM_DEVICE "/dev/ntvm"
/* Windows x64's highest user address, and ntvm's. */
#define NTVM_MAX_USER_ADDRESS 0x7FFFFFFEFFFFULL
#define NTVM_EXPORT __attribute__((visibility("default")))

/* The process's /dev/ntvm fd, or -1 when the module is not there. */
int ntvm_dev(void);
/* Issue an ioctl; the NT status from *status, or one for its failure. */
NTSTATUS ntvm_ioctl(unsigned long request, void *args, const __u32 *status);
/* The commit limit of a context just opened; in a forked child. */
void ntvm_commit_limit_opened(int fd);
void ntvm_commit_limit_child(void);
void ntvm_address_limit_opened(int fd);
uintptr_t ntvm_max_address(void);
void ntvm_address_limit_child(void);
/* Whether @h names the calling process. */
int ntvm_is_self(HANDLE h);

#endif
