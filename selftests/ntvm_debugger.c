// SPDX-License-Identifier: GPL-2.0
/*
 * What a debugger can do to ntvm memory through /proc/PID/mem and
 * process_vm_writev(2) (see "Known limits" in Documentation/ntvm.rst):
 * writable pages take writes, other pages refuse them as Linux refuses
 * forced writes to any shared mapping, and nothing is changed by a
 * refused write.
 */
#include <sys/uio.h>

#include "ntvm_test.h"
#include "kselftest_harness.h"

static ssize_t mem_write(void *addr, char value)
{
	int fd = open("/proc/self/mem", O_RDWR | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -2;
	n = pwrite(fd, &value, 1, (off_t)(uintptr_t)addr);
	close(fd);
	return n;
}

TEST(proc_mem_writes_follow_the_protection)
{
	char *p = VirtualAlloc(NULL, 2 * PAGE, MEM_COMMIT, PAGE_READWRITE);
	DWORD old;

	ASSERT_NE(NULL, p);
	p[0] = 0x11;
	p[PAGE] = 0x22;
	ASSERT_TRUE(VirtualProtect(p + PAGE, PAGE, PAGE_EXECUTE_READ, &old));
	ASSERT_EQ(PAGE_READWRITE, old);

	/* A read-write page takes a debugger's write. */
	EXPECT_EQ(1, mem_write(p, 0x33));
	EXPECT_EQ(0x33, p[0]);
	/* An execute-read one refuses it, as a shared mapping does. */
	errno = 0;
	EXPECT_EQ(-1, mem_write(p + PAGE, (char)0xcc));
	EXPECT_EQ(EIO, errno);
	EXPECT_EQ(0x22, p[PAGE]);
	/* After VirtualProtect, the breakpoint goes in. */
	ASSERT_TRUE(VirtualProtect(p + PAGE, PAGE, PAGE_EXECUTE_READWRITE,
				   &old));
	EXPECT_EQ(1, mem_write(p + PAGE, (char)0xcc));
	EXPECT_EQ((char)0xcc, p[PAGE]);
	EXPECT_TRUE(VirtualFree(p, 0, MEM_RELEASE));
}

TEST(a_shared_read_only_mapping_refuses_forced_writes_too)
{
	int fd = memfd_create("ntvm-debugger", MFD_CLOEXEC);
	char *m;

	ASSERT_LE(0, fd);
	ASSERT_EQ(0, ftruncate(fd, PAGE));
	m = mmap(NULL, PAGE, PROT_READ, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, m);
	errno = 0;
	EXPECT_EQ(-1, mem_write(m, 1));
	EXPECT_EQ(EIO, errno);
	EXPECT_EQ(0, m[0]);
	munmap(m, PAGE);
	close(fd);
}

TEST(process_vm_writev_follows_the_protection)
{
	char *p = VirtualAlloc(NULL, PAGE, MEM_COMMIT, PAGE_EXECUTE_READ);
	char v = 5;
	struct iovec local = { &v, 1 }, remote = { p, 1 };

	ASSERT_NE(NULL, p);
	errno = 0;
	EXPECT_EQ(-1, process_vm_writev(getpid(), &local, 1, &remote, 1, 0));
	EXPECT_EQ(EFAULT, errno);
	EXPECT_EQ(0, p[0]);
	EXPECT_TRUE(VirtualFree(p, 0, MEM_RELEASE));
}

TEST_HARNESS_MAIN
