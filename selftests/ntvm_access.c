// SPDX-License-Identifier: GPL-2.0
/*
 * What each page state lets a thread and the kernel do: read, write and
 * execute for every protection, reserved/decommitted/released pages,
 * guard pages, and read()/write() syscalls on ntvm memory (guard pages
 * touched by syscalls: ntvm_guard.c).
 */
#include <sys/uio.h>

#include "ntvm_test.h"
#include "kselftest_harness.h"

static const struct {
	DWORD prot;
	int read, write, exec;
} matrix[] = {
	{ PAGE_NOACCESS,		0, 0, 0 },
	{ PAGE_READONLY,		1, 0, 0 },
	{ PAGE_READWRITE,		1, 1, 0 },
	{ PAGE_EXECUTE,			1, 0, 1 },	/* x86: exec implies read */
	{ PAGE_EXECUTE_READ,		1, 0, 1 },
	{ PAGE_EXECUTE_READWRITE,	1, 1, 1 },
};

/* Each protection, reached by commit and by protect, on fresh pages. */
TEST(protection_access_matrix)
{
	unsigned int i, how;

	for (how = 0; how < 2; how++) {
		for (i = 0; i < sizeof(matrix) / sizeof(matrix[0]); i++) {
			char *p = VirtualAlloc(NULL, 0x3000, MEM_COMMIT,
					       PAGE_EXECUTE_READWRITE);
			uintptr_t a = (uintptr_t)p + PAGE;
			DWORD old;
			char v;

			ASSERT_NE(NULL, p);
			memcpy(ptr(a), ret42, sizeof(ret42));
			if (how == 0) {
				ASSERT_EQ(ptr(a), VirtualAlloc(ptr(a), PAGE,
							       MEM_COMMIT,
							       matrix[i].prot));
			} else {
				ASSERT_TRUE(VirtualProtect(ptr(a), PAGE,
							   matrix[i].prot,
							   &old));
			}
			v = (char)0xb8;
			EXPECT_EQ(matrix[i].read, can_read(a, &v));
			EXPECT_EQ((char)0xb8, v);
			EXPECT_EQ(matrix[i].exec, can_exec(a));
			EXPECT_EQ(matrix[i].write, can_write(a + 100, 9));
			/* Contents survive, whatever the protection was. */
			ASSERT_TRUE(VirtualProtect(ptr(a), PAGE,
						   PAGE_READWRITE, &old));
			EXPECT_EQ(matrix[i].prot, old);
			EXPECT_EQ((char)0xb8, *ptr(a));
			EXPECT_EQ(matrix[i].write ? 9 : 0, ptr(a)[100]);
			/* Neighbours keep theirs. */
			EXPECT_EQ(1, can_write((uintptr_t)p, 1));
			EXPECT_EQ(1, can_write((uintptr_t)p + 0x2000, 1));
			EXPECT_TRUE(VirtualFree(p, 0, MEM_RELEASE));
		}
	}
}

TEST(non_executable_pages_do_not_run)
{
	char *p = VirtualAlloc(NULL, 0x2000, MEM_COMMIT, PAGE_READWRITE);
	DWORD old;

	ASSERT_NE(NULL, p);
	memcpy(p, ret42, sizeof(ret42));
	memcpy(p + PAGE, ret42, sizeof(ret42));
	EXPECT_EQ(0, can_exec((uintptr_t)p));
	ASSERT_TRUE(VirtualProtect(p + PAGE, PAGE, PAGE_EXECUTE_READ, &old));
	EXPECT_EQ(1, can_exec((uintptr_t)p + PAGE));
	EXPECT_EQ(0, can_exec((uintptr_t)p));
	EXPECT_EQ(0, can_write((uintptr_t)p + PAGE, 1));
	/* And back: no longer runs, writable again. */
	ASSERT_TRUE(VirtualProtect(p + PAGE, PAGE, PAGE_READWRITE, &old));
	EXPECT_EQ(PAGE_EXECUTE_READ, old);
	EXPECT_EQ(0, can_exec((uintptr_t)p + PAGE));
	EXPECT_EQ(1, can_write((uintptr_t)p + PAGE + 10, 1));
	EXPECT_TRUE(VirtualFree(p, 0, MEM_RELEASE));
}

TEST(reserved_decommitted_released_pages_fault)
{
	char *p = VirtualAlloc(NULL, 0x4000, MEM_RESERVE, PAGE_READWRITE);

	ASSERT_NE(NULL, p);
	EXPECT_EQ(0, can_read((uintptr_t)p, NULL));
	EXPECT_EQ(0, can_write((uintptr_t)p, 1));
	ASSERT_EQ(p, VirtualAlloc(p, 0x4000, MEM_COMMIT, PAGE_READWRITE));
	EXPECT_EQ(1, can_write((uintptr_t)p + 0x1000, 1));
	ASSERT_TRUE(VirtualFree(p + 0x1000, 0x1000, MEM_DECOMMIT));
	EXPECT_EQ(0, can_read((uintptr_t)p + 0x1000, NULL));
	EXPECT_EQ(0, can_write((uintptr_t)p + 0x1000, 1));
	EXPECT_EQ(1, can_read((uintptr_t)p, NULL));
	EXPECT_EQ(1, can_read((uintptr_t)p + 0x2000, NULL));
	ASSERT_TRUE(VirtualFree(p, 0, MEM_RELEASE));
	EXPECT_EQ(0, can_read((uintptr_t)p, NULL));
	EXPECT_EQ(0, can_read((uintptr_t)p + 0x2000, NULL));
}

TEST(guard_page_fires_once)
{
	char *p = VirtualAlloc(NULL, 0x3000, MEM_COMMIT, PAGE_READWRITE);
	DWORD old;

	ASSERT_NE(NULL, p);
	p[PAGE] = 5;
	ASSERT_TRUE(VirtualProtect(p + PAGE, PAGE, PAGE_READWRITE | PAGE_GUARD,
				   &old));
	EXPECT_EQ(PAGE_READWRITE | PAGE_GUARD, query((uintptr_t)p + PAGE).Protect);
	EXPECT_EQ(PAGE, query((uintptr_t)p + PAGE).RegionSize);
	EXPECT_EQ(0, can_read((uintptr_t)p + PAGE, NULL));
	/* Cleared by the first access; the retry succeeds. */
	EXPECT_EQ(PAGE_READWRITE, query((uintptr_t)p + PAGE).Protect);
	EXPECT_EQ(0x3000, query((uintptr_t)p).RegionSize);
	EXPECT_EQ(5, p[PAGE]);
	EXPECT_EQ(1, can_write((uintptr_t)p + PAGE, 6));

	/* Writes trip it as well; old protection reports the guard bit. */
	ASSERT_TRUE(VirtualProtect(p + PAGE, PAGE, PAGE_READONLY | PAGE_GUARD,
				   &old));
	EXPECT_EQ(PAGE_READWRITE, old);
	EXPECT_EQ(0, can_write((uintptr_t)p + PAGE, 7));
	EXPECT_EQ(0, can_write((uintptr_t)p + PAGE, 7));
	EXPECT_EQ(1, can_read((uintptr_t)p + PAGE, NULL));
	EXPECT_EQ(6, p[PAGE]);
	ASSERT_TRUE(VirtualProtect(p, 0x2000, PAGE_READWRITE | PAGE_GUARD,
				   &old));
	EXPECT_EQ(PAGE_READWRITE, old);
	ASSERT_TRUE(VirtualProtect(p, PAGE, PAGE_READWRITE, &old));
	EXPECT_EQ(PAGE_READWRITE | PAGE_GUARD, old);
	EXPECT_TRUE(VirtualFree(p, 0, MEM_RELEASE));
}

TEST(syscalls_follow_page_protection)
{
	char *p = VirtualAlloc(NULL, 0x4000, MEM_COMMIT, PAGE_READWRITE);
	struct iovec local = { .iov_base = "zz", .iov_len = 2 };
	struct iovec remote = { .iov_len = 2 };
	int fds[2];
	DWORD old;

	ASSERT_NE(NULL, p);
	ASSERT_EQ(0, pipe(fds));
	memset(p, 'a', 0x4000);
	ASSERT_TRUE(VirtualProtect(p + 0x1000, 0x1000, PAGE_READONLY, &old));
	ASSERT_TRUE(VirtualProtect(p + 0x2000, 0x1000, PAGE_NOACCESS, &old));
	ASSERT_TRUE(VirtualFree(p + 0x3000, 0x1000, MEM_DECOMMIT));

	/* write() reads user memory: fine from RW and RO pages. */
	EXPECT_EQ(16, write(fds[1], p, 16));
	EXPECT_EQ(16, write(fds[1], p + 0x1000, 16));
	EXPECT_EQ(-1, write(fds[1], p + 0x2000, 16));
	EXPECT_EQ(EFAULT, errno);
	EXPECT_EQ(-1, write(fds[1], p + 0x3000, 16));
	EXPECT_EQ(EFAULT, errno);

	/* read() writes user memory: only into RW pages. */
	EXPECT_EQ(-1, read(fds[0], p + 0x1000, 16));
	EXPECT_EQ(EFAULT, errno);
	EXPECT_EQ('a', p[0x1000]);
	EXPECT_EQ(-1, read(fds[0], p + 0x2000, 16));
	EXPECT_EQ(EFAULT, errno);
	EXPECT_EQ(-1, read(fds[0], p + 0x3000, 16));
	EXPECT_EQ(EFAULT, errno);
	memset(p, 0, 32);
	EXPECT_EQ(32, read(fds[0], p, 32));
	EXPECT_EQ('a', p[31]);

	/* process_vm_writev() into a read-only page is refused as well. */
	remote.iov_base = p + 0x1000;
	EXPECT_EQ(-1, process_vm_writev(getpid(), &local, 1, &remote, 1, 0));
	EXPECT_EQ(EFAULT, errno);
	remote.iov_base = p;
	EXPECT_EQ(2, process_vm_writev(getpid(), &local, 1, &remote, 1, 0));
	EXPECT_EQ('z', p[1]);
	EXPECT_EQ('a', p[0x1000]);
	close(fds[0]);
	close(fds[1]);
	EXPECT_TRUE(VirtualFree(p, 0, MEM_RELEASE));
}

TEST_HARNESS_MAIN
