// SPDX-License-Identifier: GPL-2.0
/*
 * /dev/ntvm itself: open, ABI version, unknown ioctls, independence of
 * contexts, refusal of a context's fd in another process.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
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

TEST(abi_version)
{
	struct ntvm_version v = { 0xdeadbeef, 0xdeadbeef };
	__u64 features = 0;
	int fd = open("/dev/ntvm", O_RDWR | O_CLOEXEC);

	ASSERT_LE(0, fd);
	EXPECT_EQ(8, sizeof(struct ntvm_version));
	EXPECT_EQ(_IOR(0xB9, 0x90, struct ntvm_version), NTVM_IOC_VERSION);
	EXPECT_EQ(0, ioctl(fd, NTVM_IOC_VERSION, &v));
	EXPECT_EQ(1, v.major);
	EXPECT_EQ(NTVM_ABI_MINOR, v.minor);
	/* One minor version for each addition, each announced by a bit. */
	EXPECT_EQ(10, NTVM_ABI_MINOR);
	EXPECT_EQ(0, ioctl(fd, NTVM_IOC_FEATURES, &features));
	EXPECT_EQ(NTVM_ABI_MINOR, __builtin_popcountll(features));
	EXPECT_TRUE(features & NTVM_FEATURE_VERSION);
	EXPECT_EQ(-1, ioctl(fd, NTVM_IOC_VERSION, NULL));
	EXPECT_EQ(EFAULT, errno);
	EXPECT_EQ(-1, ioctl(fd, NTVM_IOC_VERSION, (void *)1));
	EXPECT_EQ(EFAULT, errno);
	/* The size is part of the request: another size is another one. */
	EXPECT_EQ(-1, ioctl(fd, _IOR(NTVM_IOC_MAGIC, 0x90, __u32), &v));
	EXPECT_EQ(ENOTTY, errno);
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

/* /sys/module/ntvm/parameters/commit_limit_pages, or -1. */
static long long limit_param(void)
{
	FILE *f = fopen("/sys/module/ntvm/parameters/commit_limit_pages", "r");
	long long v = -1;

	if (f) {
		if (fscanf(f, "%lld", &v) != 1)
			v = -1;
		fclose(f);
	}
	return v;
}

/* A /proc/meminfo figure in pages. */
static __u64 meminfo_pages(const char *key)
{
	FILE *f = fopen("/proc/meminfo", "r");
	char line[128];
	__u64 kb = 0;

	while (f && fgets(line, sizeof(line), f))
		if (!strncmp(line, key, strlen(key)) &&
		    sscanf(line + strlen(key), " %llu", &kb) == 1)
			break;
	if (f)
		fclose(f);
	return kb / 4;
}

TEST(sysinfo)
{
	struct ntvm_sysinfo_args info, again;
	long long param = limit_param();
	int fd = open("/dev/ntvm", O_RDWR | O_CLOEXEC), fd2;

	ASSERT_LE(0, fd);
	memset(&info, 0xaa, sizeof(info));
	ASSERT_EQ(0, ioctl(fd, NTVM_IOC_SYSINFO, &info));
	EXPECT_EQ(4096, info.page_size);
	EXPECT_EQ(0x10000, info.allocation_granularity);
	EXPECT_EQ(0x10000, info.minimum_address);
	EXPECT_EQ(0x7FFFFFFEFFFFull, info.maximum_address);
	/* The parameter, or RAM + swap when it is 0. */
	ASSERT_LE(0, param);
	if (param) {
		EXPECT_EQ(param, info.commit_limit);
	} else {
		EXPECT_LT(0, info.commit_limit);
		EXPECT_GE((meminfo_pages("MemTotal:") +
			   meminfo_pages("SwapTotal:")), info.commit_limit);
	}
	/* Nothing of the 0xAA fill: counters are real and consistent. */
	EXPECT_GE(info.committed, info.user_committed);
	EXPECT_GE(info.commit_limit, info.user_committed);
	EXPECT_GT(0x100000000ull, info.allocations);
	EXPECT_GT(0x100000000ull, info.committed);
	EXPECT_LE(1, info.contexts);
	EXPECT_GT(0x100000000ull, info.contexts);
	/* Every open is one context more, every close one less. */
	fd2 = open("/dev/ntvm", O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, fd2);
	memset(&again, 0xaa, sizeof(again));
	ASSERT_EQ(0, ioctl(fd, NTVM_IOC_SYSINFO, &again));
	EXPECT_EQ(info.contexts + 1, again.contexts);
	EXPECT_EQ(info.allocations, again.allocations);
	EXPECT_EQ(info.committed, again.committed);
	EXPECT_EQ(info.user_committed, again.user_committed);
	close(fd2);
	ASSERT_EQ(0, ioctl(fd, NTVM_IOC_SYSINFO, &again));
	EXPECT_EQ(info.contexts, again.contexts);
	close(fd);
}

static __u32 ioc_alloc(int fd, __u64 *base, __u64 size, __u32 type)
{
	struct ntvm_alloc_args a = {
		.base = *base, .size = size, .type = type,
		.protect = NTVM_PAGE_READWRITE,
	};

	if (ioctl(fd, NTVM_IOC_ALLOC, &a))
		return 0xffffffff;
	*base = a.base;
	return a.status;
}

static __u32 ioc_free(int fd, __u64 base, __u64 size, __u32 type)
{
	struct ntvm_free_args f = { .base = base, .size = size, .type = type };

	if (ioctl(fd, NTVM_IOC_FREE, &f))
		return 0xffffffff;
	return f.status;
}

static struct ntvm_sysinfo_args info_of(int fd)
{
	struct ntvm_sysinfo_args info;

	memset(&info, 0xaa, sizeof(info));
	if (ioctl(fd, NTVM_IOC_SYSINFO, &info))
		info.committed = info.allocations = ~0ull;
	return info;
}

/*
 * Exact deltas: committing N pages raises the count of committed pages
 * by N, an allocation counts once, and everything goes back on release.
 */
TEST(sysinfo_committed_and_allocations)
{
	int fd = open("/dev/ntvm", O_RDWR | O_CLOEXEC);
	struct ntvm_sysinfo_args before, now;
	__u64 base = 0, commit;

	ASSERT_LE(0, fd);
	before = info_of(fd);
	ASSERT_EQ(NTVM_STATUS_SUCCESS,
		  ioc_alloc(fd, &base, 0x20000, NTVM_MEM_RESERVE));
	now = info_of(fd);
	EXPECT_EQ(before.allocations + 1, now.allocations);
	EXPECT_EQ(before.committed, now.committed);

	commit = base + 0x3000;
	ASSERT_EQ(NTVM_STATUS_SUCCESS,
		  ioc_alloc(fd, &commit, 5 * 4096, NTVM_MEM_COMMIT));
	now = info_of(fd);
	EXPECT_EQ(before.committed + 5, now.committed);
	EXPECT_EQ(before.allocations + 1, now.allocations);

	/* Committing committed pages again charges only the new ones. */
	commit = base;
	ASSERT_EQ(NTVM_STATUS_SUCCESS,
		  ioc_alloc(fd, &commit, 10 * 4096, NTVM_MEM_COMMIT));
	EXPECT_EQ(before.committed + 10, info_of(fd).committed);

	/* A second allocation, reserved and committed in one call. */
	commit = 0;
	ASSERT_EQ(NTVM_STATUS_SUCCESS,
		  ioc_alloc(fd, &commit, 3 * 4096,
			    NTVM_MEM_RESERVE | NTVM_MEM_COMMIT));
	now = info_of(fd);
	EXPECT_EQ(before.committed + 13, now.committed);
	EXPECT_EQ(before.allocations + 2, now.allocations);

	EXPECT_EQ(NTVM_STATUS_SUCCESS,
		  ioc_free(fd, base + 0x1000, 2 * 4096, NTVM_MEM_DECOMMIT));
	EXPECT_EQ(before.committed + 11, info_of(fd).committed);
	/* A release in the middle splits: one allocation more. */
	EXPECT_EQ(NTVM_STATUS_SUCCESS,
		  ioc_free(fd, base + 0x8000, 0x1000, NTVM_MEM_RELEASE));
	now = info_of(fd);
	EXPECT_EQ(before.committed + 10, now.committed);
	EXPECT_EQ(before.allocations + 3, now.allocations);

	/* The head holds pages 0 and 3-7, the tail page 9. */
	EXPECT_EQ(NTVM_STATUS_SUCCESS, ioc_free(fd, base, 0, NTVM_MEM_RELEASE));
	now = info_of(fd);
	EXPECT_EQ(before.committed + 4, now.committed);
	EXPECT_EQ(before.allocations + 2, now.allocations);
	EXPECT_EQ(NTVM_STATUS_SUCCESS,
		  ioc_free(fd, base + 0x9000, 0, NTVM_MEM_RELEASE));
	now = info_of(fd);
	EXPECT_EQ(before.committed + 3, now.committed);
	EXPECT_EQ(before.allocations + 1, now.allocations);
	EXPECT_EQ(NTVM_STATUS_SUCCESS, ioc_free(fd, commit, 0,
						NTVM_MEM_RELEASE));
	now = info_of(fd);
	EXPECT_EQ(before.committed, now.committed);
	EXPECT_EQ(before.allocations, now.allocations);
	close(fd);
}

/* The caller's own charge moves with its commits, like the total. */
TEST(sysinfo_user_committed)
{
	int fd = open("/dev/ntvm", O_RDWR | O_CLOEXEC);
	struct ntvm_sysinfo_args before, now;
	__u64 base = 0;

	ASSERT_LE(0, fd);
	before = info_of(fd);
	ASSERT_EQ(NTVM_STATUS_SUCCESS,
		  ioc_alloc(fd, &base, 7 * 4096,
			    NTVM_MEM_RESERVE | NTVM_MEM_COMMIT));
	now = info_of(fd);
	EXPECT_EQ(before.committed + 7, now.committed);
	EXPECT_EQ(before.user_committed + 7, now.user_committed);
	EXPECT_EQ(NTVM_STATUS_SUCCESS,
		  ioc_free(fd, base, 4096, NTVM_MEM_DECOMMIT));
	EXPECT_EQ(before.user_committed + 6, info_of(fd).user_committed);
	EXPECT_EQ(NTVM_STATUS_SUCCESS, ioc_free(fd, base, 0, NTVM_MEM_RELEASE));
	now = info_of(fd);
	EXPECT_EQ(before.committed, now.committed);
	EXPECT_EQ(before.user_committed, now.user_committed);
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
	struct ntvm_query_args q;

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
	/* The base went in as 0: it must come out as the allocation's. */
	EXPECT_EQ(0, a.base & 0xffff);
	EXPECT_LE(0x10000, a.base);
	EXPECT_GT(0x7FFFFFFF0000ull, a.base);
	/* It is the allocation: committed read-write, 3 pages. */
	memset(&q, 0xaa, sizeof(q));
	q.address = a.base + 0x2fff;
	q.flags = 0;
	q.pad = 0;
	ASSERT_EQ(0, ioctl(fd, NTVM_IOC_QUERY, &q));
	EXPECT_EQ(NTVM_STATUS_SUCCESS, q.status);
	EXPECT_EQ(a.base + 0x2000, q.base_address);
	EXPECT_EQ(a.base, q.allocation_base);
	EXPECT_EQ(0x1000, q.region_size);
	EXPECT_EQ(NTVM_PAGE_READWRITE, q.allocation_protect);
	EXPECT_EQ(NTVM_MEM_COMMIT, q.state);
	EXPECT_EQ(NTVM_PAGE_READWRITE, q.protect);
	EXPECT_EQ(NTVM_MEM_PRIVATE, q.type);
	EXPECT_EQ(NTVM_REGION_MANAGED, q.region_flags);
	*(volatile char *)(uintptr_t)(a.base + 0x2fff) = 1;

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

	/* Free memory: every field says so, none keeps the fill. */
	memset(&q, 0xaa, sizeof(q));
	q.address = a.base + 0x10;
	q.flags = 0;
	q.pad = 0;
	ASSERT_EQ(0, ioctl(fd, NTVM_IOC_QUERY, &q));
	EXPECT_EQ(NTVM_STATUS_SUCCESS, q.status);
	EXPECT_EQ(a.base, q.base_address);
	EXPECT_EQ(0, q.allocation_base);
	EXPECT_EQ(0, q.allocation_protect);
	EXPECT_EQ(NTVM_MEM_FREE, q.state);
	EXPECT_EQ(NTVM_PAGE_NOACCESS, q.protect);
	EXPECT_EQ(0, q.type);
	EXPECT_EQ(0, q.region_flags);
	EXPECT_LE(0x10000, q.region_size);
	EXPECT_EQ(0, q.region_size & 0xfff);
	EXPECT_GE(0x7FFFFFFF0000ull - a.base, q.region_size);

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

/*
 * ABI fields (not NT arguments): a non-zero pad or an unknown flags bit
 * fails the ioctl with EINVAL before anything runs; status is untouched.
 */
TEST(abi_fields_free_and_query)
{
	int fd = open("/dev/ntvm", O_RDWR | O_CLOEXEC);
	static const __u32 bad[] = { 1, 0x80000000, 0xffffffff };
	struct ntvm_sysinfo_args before;
	struct ntvm_query_args q;
	struct ntvm_free_args f;
	__u64 base = 0;
	unsigned int i, field;

	ASSERT_LE(0, fd);
	ASSERT_EQ(NTVM_STATUS_SUCCESS, reserve(fd, &base, 0x10000));
	*(volatile char *)(uintptr_t)base = 7;
	before = info_of(fd);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		for (field = 0; field < 2; field++) {
			memset(&f, 0, sizeof(f));
			f.base = base;
			f.type = NTVM_MEM_RELEASE;
			f.status = 0xdeadbeef;
			if (field)
				f.pad = bad[i];
			else
				f.flags = bad[i];
			errno = 0;
			EXPECT_EQ(-1, ioctl(fd, NTVM_IOC_FREE, &f))
				TH_LOG("free %s %#x", field ? "pad" : "flags",
				       bad[i]);
			EXPECT_EQ(EINVAL, errno)
				TH_LOG("free %s %#x", field ? "pad" : "flags",
				       bad[i]);
			EXPECT_EQ(0xdeadbeef, f.status);
			EXPECT_EQ(base, f.base);
			EXPECT_EQ(0, f.size);

			memset(&q, 0, sizeof(q));
			q.address = base;
			q.status = 0xdeadbeef;
			q.state = 0xdeadbeef;
			if (field)
				q.pad = bad[i];
			else
				q.flags = bad[i];
			errno = 0;
			EXPECT_EQ(-1, ioctl(fd, NTVM_IOC_QUERY, &q))
				TH_LOG("query %s %#x", field ? "pad" : "flags",
				       bad[i]);
			EXPECT_EQ(EINVAL, errno)
				TH_LOG("query %s %#x", field ? "pad" : "flags",
				       bad[i]);
			EXPECT_EQ(0xdeadbeef, q.status);
			EXPECT_EQ(0xdeadbeef, q.state);
		}
	}
	/* Nothing was freed: the allocation is there, committed. */
	EXPECT_EQ(before.allocations, info_of(fd).allocations);
	EXPECT_EQ(before.committed, info_of(fd).committed);
	EXPECT_EQ(7, *(volatile char *)(uintptr_t)base);
	memset(&q, 0, sizeof(q));
	q.address = base;
	ASSERT_EQ(0, ioctl(fd, NTVM_IOC_QUERY, &q));
	EXPECT_EQ(NTVM_STATUS_SUCCESS, q.status);
	EXPECT_EQ(NTVM_MEM_COMMIT, q.state);
	EXPECT_EQ(base, q.allocation_base);
	/* With both zero, the same free goes through. */
	memset(&f, 0, sizeof(f));
	f.base = base;
	f.type = NTVM_MEM_RELEASE;
	ASSERT_EQ(0, ioctl(fd, NTVM_IOC_FREE, &f));
	EXPECT_EQ(NTVM_STATUS_SUCCESS, f.status);
	EXPECT_EQ(before.allocations - 1, info_of(fd).allocations);
	close(fd);
}

/*
 * An argument that can be read but not written: EFAULT, and nothing was
 * done (no allocation is made whose base could not be returned).
 */
TEST(readonly_arguments_do_nothing)
{
	int fd = open("/dev/ntvm", O_RDWR | O_CLOEXEC);
	struct ntvm_sysinfo_args before, after;
	struct ntvm_alloc_args *a;
	char *page;

	ASSERT_LE(0, fd);
	page = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, page);
	a = (struct ntvm_alloc_args *)page;
	memset(a, 0, sizeof(*a));
	a->base = 0;
	a->size = 0x10000;
	a->type = NTVM_MEM_RESERVE;
	a->protect = NTVM_PAGE_READWRITE;
	a->status = 0xdeadbeef;
	ASSERT_EQ(0, mprotect(page, 4096, PROT_READ));
	before = info_of(fd);
	errno = 0;
	EXPECT_EQ(-1, ioctl(fd, NTVM_IOC_ALLOC, a));
	EXPECT_EQ(EFAULT, errno);
	after = info_of(fd);
	EXPECT_EQ(before.allocations, after.allocations);
	EXPECT_EQ(before.committed, after.committed);
	EXPECT_EQ(0xdeadbeef, a->status);
	EXPECT_EQ(0, a->base);

	/* The same with a commit: no charge either. */
	a = (struct ntvm_alloc_args *)page;
	ASSERT_EQ(0, mprotect(page, 4096, PROT_READ | PROT_WRITE));
	a->type = NTVM_MEM_RESERVE | NTVM_MEM_COMMIT;
	ASSERT_EQ(0, mprotect(page, 4096, PROT_READ));
	errno = 0;
	EXPECT_EQ(-1, ioctl(fd, NTVM_IOC_ALLOC, a));
	EXPECT_EQ(EFAULT, errno);
	after = info_of(fd);
	EXPECT_EQ(before.allocations, after.allocations);
	EXPECT_EQ(before.committed, after.committed);
	munmap(page, 4096);
	close(fd);
}

/*
 * The file is the right to its context's memory: a forked child holding it
 * acts on its parent's memory, with the services another process may call;
 * the others are refused.
 */
TEST(fd_in_other_process_acts_on_owner)
{
	int fd = open("/dev/ntvm", O_RDWR | O_CLOEXEC);
	struct ntvm_query_args q = { 0 };
	struct ntvm_context_args c;
	__u64 base = 0;
	int status;
	pid_t pid;

	ASSERT_LE(0, fd);
	ASSERT_EQ(NTVM_STATUS_SUCCESS, reserve(fd, &base, 0x20000));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		struct ntvm_free_args f = {
			.base = base + 0x10000, .type = NTVM_MEM_RELEASE,
		};
		struct ntvm_lock_args l = {
			.base = base, .size = 0x1000,
			.map_type = NTVM_MAP_PROCESS,
		};
		struct ntvm_context_args c;
		struct ntvm_version v;
		__u64 features;

		if (ioctl(fd, NTVM_IOC_LOCK, &l) != -1 || errno != EPERM)
			_exit(1);
		/* Not at the allocation's base: Windows' rule, in the owner. */
		if (ioctl(fd, NTVM_IOC_FREE, &f) ||
		    f.status != NTVM_STATUS_FREE_VM_NOT_AT_BASE)
			_exit(2);
		f.base = base;
		f.size = 0;
		if (ioctl(fd, NTVM_IOC_FREE, &f) ||
		    f.status != NTVM_STATUS_SUCCESS || f.size != 0x20000)
			_exit(3);
		if (ioctl(fd, NTVM_IOC_FEATURES, &features) ||
		    !(features & NTVM_FEATURE_REMOTE))
			_exit(4);
		if (ioctl(fd, NTVM_IOC_CONTEXT, &c) || c.flags ||
		    c.owner_pid != (__u32)getppid())
			_exit(5);
		if (ioctl(fd, NTVM_IOC_VERSION, &v) ||
		    v.major != NTVM_ABI_MAJOR || v.minor != NTVM_ABI_MINOR)
			_exit(6);
		_exit(0);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));
	/* Released by the child: free in the owner now. */
	q.address = base;
	ASSERT_EQ(0, ioctl(fd, NTVM_IOC_QUERY, &q));
	EXPECT_EQ(NTVM_MEM_FREE, q.state);
	ASSERT_EQ(0, ioctl(fd, NTVM_IOC_CONTEXT, &c));
	EXPECT_EQ(NTVM_CONTEXT_OWN, c.flags);
	EXPECT_EQ((__u32)getpid(), c.owner_pid);
	close(fd);
}

TEST_HARNESS_MAIN
