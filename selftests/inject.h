/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Fault injection for the selftests (debug kernel: failslab and
 * fail_page_alloc, task-filtered).  See inject.c.
 */
#ifndef _NTVM_INJECT_H
#define _NTVM_INJECT_H

/* Set the debugfs knobs: 10% of the armed task's allocations fail. */
int inject_setup(void);

/* Is this program running under NTVM_FAULTINJ? */
int inject_active(void);

/*
 * Arm or disarm injection for the calling thread.  While a test has armed
 * it, ntvm ioctls pass straight through: the test checks the failures.
 */
void inject_arm(int on);

/*
 * Set (before the first call) by tests whose threads race on the same
 * ranges: a failure's range is then not compared, as another thread may
 * have changed it.
 */
extern int inject_racy;

#endif
