// SPDX-License-Identifier: GPL-2.0
/*
 * /dev/ntvm itself: open, ABI version, unknown ioctls, independence of
 * contexts, refusal of a context's fd in another process.
 */
#include <errno.h>
#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <linux/ntvm.h>

#include "kselftest_harness.h"

TEST(open_close)
{
	int fd = open("/dev/ntvm", O_RDWR | O_CLOEXEC);

	ASSERT_LE(0, fd);
	EXPECT_EQ(0, close(fd));
}

TEST(abi_features)
{
	__u64 features = 0xdeadbeef;
	int fd = open("/dev/ntvm", O_RDWR | O_CLOEXEC);

	ASSERT_LE(0, fd);
	EXPECT_EQ(0, ioctl(fd, NTVM_IOC_FEATURES, &features));
	EXPECT_EQ(NTVM_FEATURES_KNOWN, features);
	EXPECT_EQ(-1, ioctl(fd, NTVM_IOC_FEATURES, NULL));
	EXPECT_EQ(EFAULT, errno);
	close(fd);
}

TEST(unknown_ioctl)
{
	int fd = open("/dev/ntvm", O_RDWR | O_CLOEXEC);
	__u64 buf[16] = { 0 };

	ASSERT_LE(0, fd);
	EXPECT_EQ(-1, ioctl(fd, _IOWR(NTVM_IOC_MAGIC, 0xff, __u64), buf));
	EXPECT_EQ(ENOTTY, errno);
	EXPECT_EQ(-1, ioctl(fd, _IO('N', 0x80), buf));
	EXPECT_EQ(ENOTTY, errno);
	/* A known number with the wrong size is another request. */
	EXPECT_EQ(-1, ioctl(fd, _IOWR(NTVM_IOC_MAGIC, 0x81, __u64), buf));
	EXPECT_EQ(ENOTTY, errno);
	close(fd);
}

TEST(sysinfo)
{
	struct ntvm_sysinfo_args info;
	int fd = open("/dev/ntvm", O_RDWR | O_CLOEXEC);

	ASSERT_LE(0, fd);
	memset(&info, 0xaa, sizeof(info));
	ASSERT_EQ(0, ioctl(fd, NTVM_IOC_SYSINFO, &info));
	EXPECT_EQ(4096, info.page_size);
	EXPECT_EQ(0x10000, info.allocation_granularity);
	EXPECT_EQ(0x10000, info.minimum_address);
	EXPECT_EQ(0x7FFFFFFEFFFFull, info.maximum_address);
	EXPECT_LT(0, info.commit_limit);
	EXPECT_LE(1, info.contexts);
	close(fd);
}

static __u32 reserve(int fd, __u64 *base, __u64 size)
{
	struct ntvm_alloc_args a = {
		.base = *base, .size = size,
		.type = NTVM_MEM_RESERVE | NTVM_MEM_COMMIT,
		.protect = NTVM_PAGE_READWRITE,
	};

	if (ioctl(fd, NTVM_IOC_ALLOC, &a))
		return 0xffffffff;
	*base = a.base;
	return a.status;
}

TEST(two_openers_are_independent)
{
	int fd1 = open("/dev/ntvm", O_RDWR | O_CLOEXEC);
	int fd2 = open("/dev/ntvm", O_RDWR | O_CLOEXEC);
	struct ntvm_free_args f = { 0 };
	struct ntvm_query_args q = { 0 };
	__u64 base = 0;

	ASSERT_LE(0, fd1);
	ASSERT_LE(0, fd2);
	ASSERT_EQ(NTVM_STATUS_SUCCESS, reserve(fd1, &base, 0x10000));

	/* The second context does not see, and cannot free, the first's. */
	q.address = base;
	ASSERT_EQ(0, ioctl(fd2, NTVM_IOC_QUERY, &q));
	EXPECT_EQ(NTVM_STATUS_SUCCESS, q.status);
	EXPECT_EQ(0, q.region_flags & NTVM_REGION_MANAGED);
	f.base = base;
	f.type = NTVM_MEM_RELEASE;
	ASSERT_EQ(0, ioctl(fd2, NTVM_IOC_FREE, &f));
	EXPECT_EQ(NTVM_STATUS_MEMORY_NOT_ALLOCATED, f.status);

	/* Nor can it reserve over it. */
	__u64 again = base;

	EXPECT_EQ(NTVM_STATUS_CONFLICTING_ADDRESSES,
		  reserve(fd2, &again, 0x1000));

	q.address = base;
	ASSERT_EQ(0, ioctl(fd1, NTVM_IOC_QUERY, &q));
	EXPECT_EQ(NTVM_REGION_MANAGED, q.region_flags & NTVM_REGION_MANAGED);
	EXPECT_EQ(NTVM_MEM_COMMIT, q.state);
	f.base = base;
	f.size = 0;
	ASSERT_EQ(0, ioctl(fd1, NTVM_IOC_FREE, &f));
	EXPECT_EQ(NTVM_STATUS_SUCCESS, f.status);
	close(fd1);
	close(fd2);
}

TEST(reserved_fields_must_be_zero)
{
	int fd = open("/dev/ntvm", O_RDWR | O_CLOEXEC);
	struct ntvm_protect_args p;
	__u64 base = 0;

	ASSERT_LE(0, fd);
	ASSERT_EQ(NTVM_STATUS_SUCCESS, reserve(fd, &base, 0x10000));
	memset(&p, 0, sizeof(p));
	p.base = base;
	p.size = 0x1000;
	p.protect = NTVM_PAGE_READONLY;
	p.pad = 1;
	p.status = 0xdeadbeef;
	EXPECT_EQ(-1, ioctl(fd, NTVM_IOC_PROTECT, &p));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(0xdeadbeef, p.status);
	p.pad = 0;
	ASSERT_EQ(0, ioctl(fd, NTVM_IOC_PROTECT, &p));
	EXPECT_EQ(NTVM_STATUS_SUCCESS, p.status);
	EXPECT_EQ(NTVM_PAGE_READWRITE, p.old_protect);
	close(fd);
}

TEST(unreadable_arguments)
{
	int fd = open("/dev/ntvm", O_RDWR | O_CLOEXEC);

	ASSERT_LE(0, fd);
	EXPECT_EQ(-1, ioctl(fd, NTVM_IOC_ALLOC, NULL));
	EXPECT_EQ(EFAULT, errno);
	EXPECT_EQ(-1, ioctl(fd, NTVM_IOC_QUERY, (void *)0xffff800000000000));
	EXPECT_EQ(EFAULT, errno);
	EXPECT_EQ(-1, ioctl(fd, NTVM_IOC_SYSINFO, (void *)1));
	EXPECT_EQ(EFAULT, errno);
	close(fd);
}

/* Every output field is written: nothing of a 0xAA fill survives. */
TEST(outputs_fully_written)
{
	int fd = open("/dev/ntvm", O_RDWR | O_CLOEXEC);
	struct ntvm_alloc_args a;
	struct ntvm_protect_args p;
	struct ntvm_free_args f;

	ASSERT_LE(0, fd);
	memset(&a, 0xaa, sizeof(a));
	a.base = 0;
	a.size = 0x3000;
	a.type = NTVM_MEM_COMMIT;
	a.protect = NTVM_PAGE_READWRITE;
	a.zero_bits = 0;
	ASSERT_EQ(0, ioctl(fd, NTVM_IOC_ALLOC, &a));
	EXPECT_EQ(NTVM_STATUS_SUCCESS, a.status);
	EXPECT_EQ(0x3000, a.size);
	EXPECT_EQ(0, a.base & 0xffff);

	memset(&p, 0xaa, sizeof(p));
	p.base = a.base + 0x1001;
	p.size = 1;
	p.protect = NTVM_PAGE_READONLY;
	p.pad = 0;
	ASSERT_EQ(0, ioctl(fd, NTVM_IOC_PROTECT, &p));
	EXPECT_EQ(NTVM_STATUS_SUCCESS, p.status);
	EXPECT_EQ(a.base + 0x1000, p.base);
	EXPECT_EQ(0x1000, p.size);
	EXPECT_EQ(NTVM_PAGE_READWRITE, p.old_protect);

	memset(&f, 0xaa, sizeof(f));
	f.base = a.base;
	f.size = 0;
	f.type = NTVM_MEM_RELEASE;
	f.flags = 0;
	f.pad = 0;
	ASSERT_EQ(0, ioctl(fd, NTVM_IOC_FREE, &f));
	EXPECT_EQ(NTVM_STATUS_SUCCESS, f.status);
	EXPECT_EQ(a.base, f.base);
	EXPECT_EQ(0x3000, f.size);

	/* A failure writes the status (and protect's old protection). */
	memset(&p, 0xaa, sizeof(p));
	p.base = a.base;
	p.size = 0x1000;
	p.protect = NTVM_PAGE_READONLY;
	p.pad = 0;
	ASSERT_EQ(0, ioctl(fd, NTVM_IOC_PROTECT, &p));
	EXPECT_EQ(NTVM_STATUS_CONFLICTING_ADDRESSES, p.status);
	EXPECT_EQ(NTVM_PAGE_NOACCESS, p.old_protect);
	close(fd);
}

TEST(fd_refused_in_other_process)
{
	int fd = open("/dev/ntvm", O_RDWR | O_CLOEXEC);
	__u64 base = 0;
	int status;
	pid_t pid;

	ASSERT_LE(0, fd);
	ASSERT_EQ(NTVM_STATUS_SUCCESS, reserve(fd, &base, 0x10000));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		struct ntvm_free_args f = {
			.base = base, .type = NTVM_MEM_RELEASE,
		};
		__u64 features;

		if (ioctl(fd, NTVM_IOC_FREE, &f) != -1 || errno != EPERM)
			_exit(1);
		/* Asking the features is harmless. */
		if (ioctl(fd, NTVM_IOC_FEATURES, &features))
			_exit(2);
		_exit(0);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));
	/* Still there for the owner. */
	*(volatile char *)(uintptr_t)base = 1;
	close(fd);
}

TEST_HARNESS_MAIN
