// SPDX-License-Identifier: GPL-2.0
/*
 * The ABI from a 32-bit process (compat_ptr_ioctl): the same structures,
 * the same results.  Built with -m32; run on a kernel with IA32 emulation.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <linux/ntvm.h>

#include "kselftest_harness.h"

static sigjmp_buf jmp;

static void on_segv(int sig)
{
	siglongjmp(jmp, 1);
}

static int can_write(volatile char *p)
{
	signal(SIGSEGV, on_segv);
	if (sigsetjmp(jmp, 1))
		return 0;
	*p = 1;
	return 1;
}

TEST(layouts_match_64bit)
{
	EXPECT_EQ(32, sizeof(struct ntvm_alloc_args));
	EXPECT_EQ(32, sizeof(struct ntvm_free_args));
	EXPECT_EQ(32, sizeof(struct ntvm_protect_args));
	EXPECT_EQ(64, sizeof(struct ntvm_query_args));
	EXPECT_EQ(64, sizeof(struct ntvm_sysinfo_args));
	EXPECT_EQ(48, sizeof(struct ntvm_get_write_watch_args));
	EXPECT_EQ(24, sizeof(struct ntvm_reset_write_watch_args));
	EXPECT_EQ(24, sizeof(struct ntvm_commit_args));
	EXPECT_EQ(16, sizeof(struct ntvm_commit_limit_args));
	EXPECT_EQ(40, sizeof(struct ntvm_alloc_ex_args));
	EXPECT_EQ(16, sizeof(struct ntvm_mem_extended_parameter));
	EXPECT_EQ(12, sizeof(struct ntvm_mem_address_requirements32));
	EXPECT_EQ(16, sizeof(struct ntvm_address_limit_args));
	EXPECT_EQ(8, sizeof(struct ntvm_version));
	EXPECT_EQ(1104, sizeof(struct ntvm_query_map_header));
	EXPECT_EQ(64, sizeof(struct ntvm_query_map_record));
	EXPECT_EQ(16, sizeof(struct ntvm_query_map_run));
}

TEST(services_from_a_32bit_process)
{
	int fd = open("/dev/ntvm", O_RDWR | O_CLOEXEC);
	struct ntvm_alloc_args a = { .size = 0x3000, .type = NTVM_MEM_COMMIT,
				     .protect = NTVM_PAGE_READWRITE };
	struct ntvm_protect_args p = { 0 };
	struct ntvm_query_args q = { 0 };
	struct ntvm_free_args f = { 0 };
	struct ntvm_version v = { 0 };
	struct ntvm_sysinfo_args s;
	__u64 features = 1;
	char *mem;

	ASSERT_LE(0, fd);
	ASSERT_EQ(0, ioctl(fd, NTVM_IOC_FEATURES, &features));
	EXPECT_EQ(NTVM_FEATURES_KNOWN, features);
	ASSERT_EQ(0, ioctl(fd, NTVM_IOC_VERSION, &v));
	EXPECT_EQ(NTVM_ABI_MAJOR, v.major);
	EXPECT_EQ(NTVM_ABI_MINOR, v.minor);
	memset(&s, 0xaa, sizeof(s));
	ASSERT_EQ(0, ioctl(fd, NTVM_IOC_SYSINFO, &s));
	EXPECT_EQ(4096, s.page_size);
	EXPECT_EQ(0x10000, s.allocation_granularity);

	ASSERT_EQ(0, ioctl(fd, NTVM_IOC_ALLOC, &a));
	ASSERT_EQ(NTVM_STATUS_SUCCESS, a.status);
	EXPECT_EQ(0, a.base & 0xffff);
	EXPECT_GT(0x100000000ULL, a.base);
	EXPECT_EQ(0x3000, a.size);
	mem = (char *)(uintptr_t)a.base;
	mem[0x2fff] = 7;

	p.base = a.base + 0x1000;
	p.size = 0x1000;
	p.protect = NTVM_PAGE_READONLY;
	ASSERT_EQ(0, ioctl(fd, NTVM_IOC_PROTECT, &p));
	EXPECT_EQ(NTVM_STATUS_SUCCESS, p.status);
	EXPECT_EQ(NTVM_PAGE_READWRITE, p.old_protect);
	EXPECT_EQ(0, can_write(mem + 0x1000));
	EXPECT_EQ(1, can_write(mem));

	q.address = a.base + 0x1234;
	ASSERT_EQ(0, ioctl(fd, NTVM_IOC_QUERY, &q));
	EXPECT_EQ(NTVM_STATUS_SUCCESS, q.status);
	EXPECT_EQ(a.base + 0x1000, q.base_address);
	EXPECT_EQ(a.base, q.allocation_base);
	EXPECT_EQ(0x1000, q.region_size);
	EXPECT_EQ(NTVM_MEM_COMMIT, q.state);
	EXPECT_EQ(NTVM_PAGE_READONLY, q.protect);
	EXPECT_EQ(NTVM_MEM_PRIVATE, q.type);
	EXPECT_EQ(7, mem[0x2fff]);

	f.base = a.base;
	f.type = NTVM_MEM_RELEASE;
	ASSERT_EQ(0, ioctl(fd, NTVM_IOC_FREE, &f));
	EXPECT_EQ(NTVM_STATUS_SUCCESS, f.status);
	EXPECT_EQ(0x3000, f.size);
	ASSERT_EQ(0, ioctl(fd, NTVM_IOC_FREE, &f));
	EXPECT_EQ(NTVM_STATUS_MEMORY_NOT_ALLOCATED, f.status);
	close(fd);
}

/* Write watch: the array is __u64 addresses, as from a 64-bit process. */
TEST(write_watch_from_a_32bit_process)
{
	int fd = open("/dev/ntvm", O_RDWR | O_CLOEXEC);
	struct ntvm_alloc_args a = {
		.size = 0x10000,
		.type = NTVM_MEM_RESERVE | NTVM_MEM_COMMIT |
			NTVM_MEM_WRITE_WATCH,
		.protect = NTVM_PAGE_READWRITE };
	struct ntvm_get_write_watch_args g;
	struct ntvm_reset_write_watch_args r;
	__u64 out[17];
	char *mem;

	ASSERT_LE(0, fd);
	ASSERT_EQ(0, ioctl(fd, NTVM_IOC_ALLOC, &a));
	ASSERT_EQ(0, a.status);
	ASSERT_GT(0x100000000ULL, a.base + a.size);
	mem = (char *)(uintptr_t)a.base;
	mem[0x5000] = 1;
	mem[0x1000 + 7] = 1;
	memset(out, 0xee, sizeof(out));
	g = (struct ntvm_get_write_watch_args){
		.base = a.base, .size = 0x10000,
		.addresses = (uintptr_t)out, .count = 16,
		.watch_flags = NTVM_WRITE_WATCH_FLAG_RESET };
	ASSERT_EQ(0, ioctl(fd, NTVM_IOC_GET_WRITE_WATCH, &g));
	EXPECT_EQ(0, g.status);
	EXPECT_EQ(2, g.count);
	EXPECT_EQ(4096, g.granularity);
	EXPECT_EQ(a.base + 0x1000, out[0]);
	EXPECT_EQ(a.base + 0x5000, out[1]);
	EXPECT_EQ(0xeeeeeeeeeeeeeeeeULL, out[2]);
	g.count = 16;
	ASSERT_EQ(0, ioctl(fd, NTVM_IOC_GET_WRITE_WATCH, &g));
	EXPECT_EQ(0, g.status);
	EXPECT_EQ(0, g.count);
	mem[0x2000] = 1;
	r = (struct ntvm_reset_write_watch_args){ .base = a.base,
						  .size = 0x10000 };
	ASSERT_EQ(0, ioctl(fd, NTVM_IOC_RESET_WRITE_WATCH, &r));
	EXPECT_EQ(0, r.status);
	g.count = 16;
	ASSERT_EQ(0, ioctl(fd, NTVM_IOC_GET_WRITE_WATCH, &g));
	EXPECT_EQ(0, g.count);
	r.pad = 1;
	errno = 0;
	EXPECT_EQ(-1, ioctl(fd, NTVM_IOC_RESET_WRITE_WATCH, &r));
	EXPECT_EQ(EINVAL, errno);
	close(fd);
}

TEST(commit_limit_from_a_32bit_process)
{
	int fd = open("/dev/ntvm", O_RDWR | O_CLOEXEC);
	struct ntvm_alloc_args a = { .size = 0x3000, .type = NTVM_MEM_COMMIT,
				     .protect = NTVM_PAGE_READWRITE };
	struct ntvm_commit_limit_args l = { .limit = 4 };
	struct ntvm_commit_args c;

	ASSERT_LE(0, fd);
	ASSERT_EQ(0, ioctl(fd, NTVM_IOC_SET_COMMIT_LIMIT, &l));
	ASSERT_EQ(0, ioctl(fd, NTVM_IOC_ALLOC, &a));
	ASSERT_EQ(NTVM_STATUS_SUCCESS, a.status);
	a.base = 0;
	a.size = 0x2000;
	ASSERT_EQ(0, ioctl(fd, NTVM_IOC_ALLOC, &a));
	EXPECT_EQ(NTVM_STATUS_COMMITMENT_LIMIT, a.status);
	memset(&c, 0xaa, sizeof(c));
	ASSERT_EQ(0, ioctl(fd, NTVM_IOC_GET_COMMIT, &c));
	EXPECT_EQ(3, c.committed);
	EXPECT_EQ(3, c.peak_committed);
	EXPECT_EQ(4, c.limit);
	l.limit = NTVM_COMMIT_LIMIT_NONE;
	ASSERT_EQ(0, ioctl(fd, NTVM_IOC_SET_COMMIT_LIMIT, &l));
	ASSERT_EQ(0, ioctl(fd, NTVM_IOC_GET_COMMIT, &c));
	EXPECT_EQ(NTVM_COMMIT_LIMIT_NONE, c.limit);
	close(fd);
}

/*
 * NtAllocateVirtualMemoryEx from a 32-bit process: 32-bit pointers in the
 * parameters (the upper half of a value is not looked at) and 32-bit
 * MEM_ADDRESS_REQUIREMENTS; zero bits and top-down stay below 4 GiB.
 */
TEST(placement_from_a_32bit_process)
{
	int fd = open("/dev/ntvm", O_RDWR | O_CLOEXEC);
	struct ntvm_mem_address_requirements32 req = {
		.lowest = 0x10000000, .highest = 0x1fffffff,
		.alignment = 0x100000,
	};
	struct ntvm_mem_extended_parameter p = {
		.type = NTVM_MEM_EXTENDED_PARAMETER_ADDRESS_REQUIREMENTS,
		.value = (0xdeadbeefULL << 32) | (uintptr_t)&req,
	};
	struct ntvm_alloc_ex_args x = {
		.size = 0x3000, .type = NTVM_MEM_RESERVE | NTVM_MEM_COMMIT,
		.protect = NTVM_PAGE_READWRITE, .params = (uintptr_t)&p,
		.count = 1,
	};
	struct ntvm_alloc_args a = {
		.size = 0x1000, .type = NTVM_MEM_RESERVE,
		.protect = NTVM_PAGE_READWRITE, .zero_bits = 2,
	};
	struct ntvm_free_args f = { .type = NTVM_MEM_RELEASE };

	ASSERT_LE(0, fd);
	ASSERT_EQ(0, ioctl(fd, NTVM_IOC_ALLOC_EX, &x));
	ASSERT_EQ(NTVM_STATUS_SUCCESS, x.status);
	EXPECT_LE(0x10000000, x.base);
	EXPECT_GE(0x1fffffff, x.base + x.size - 1);
	EXPECT_EQ(0, x.base & 0xfffff);
	EXPECT_EQ(0x3000, x.size);
	EXPECT_TRUE(can_write((char *)(uintptr_t)x.base + 0x2fff));
	f.base = x.base;
	ASSERT_EQ(0, ioctl(fd, NTVM_IOC_FREE, &f));
	EXPECT_EQ(NTVM_STATUS_SUCCESS, f.status);

	req.alignment = 0x8000;
	x.base = 0;
	ASSERT_EQ(0, ioctl(fd, NTVM_IOC_ALLOC_EX, &x));
	EXPECT_EQ(NTVM_STATUS_INVALID_PARAMETER, x.status);

	ASSERT_EQ(0, ioctl(fd, NTVM_IOC_ALLOC, &a));
	ASSERT_EQ(NTVM_STATUS_SUCCESS, a.status);
	EXPECT_GE(0x3fffffff, a.base + a.size - 1);
	f.base = a.base;
	f.size = 0;
	ASSERT_EQ(0, ioctl(fd, NTVM_IOC_FREE, &f));

	a.base = 0;
	a.zero_bits = 0;
	a.type = NTVM_MEM_RESERVE | NTVM_MEM_TOP_DOWN;
	ASSERT_EQ(0, ioctl(fd, NTVM_IOC_ALLOC, &a));
	ASSERT_EQ(NTVM_STATUS_SUCCESS, a.status);
	EXPECT_LT(0x10000000ULL, a.base);
	EXPECT_GE(0xffffffffULL, a.base + a.size - 1);
	close(fd);
}

/*
 * A 32-bit program's address space: 2 GiB less 64 KiB, or 4 GiB less
 * 64 KiB once it says it is large-address aware.
 */
TEST(address_limit_of_a_32bit_process)
{
	int fd = open("/dev/ntvm", O_RDWR | O_CLOEXEC);
	struct ntvm_address_limit_args l = { 0 };
	struct ntvm_alloc_args a = {
		.size = 0x100000, .type = NTVM_MEM_RESERVE | NTVM_MEM_TOP_DOWN,
		.protect = NTVM_PAGE_READWRITE,
	};
	struct ntvm_free_args f = { .type = NTVM_MEM_RELEASE };
	struct ntvm_query_args q = { 0 };
	struct ntvm_sysinfo_args s;

	ASSERT_LE(0, fd);
	ASSERT_EQ(0, ioctl(fd, NTVM_IOC_SYSINFO, &s));
	EXPECT_EQ(NTVM_MAXIMUM_ADDRESS_32, s.maximum_address);
	ASSERT_EQ(0, ioctl(fd, NTVM_IOC_ADDRESS_LIMIT, &l));
	EXPECT_EQ(NTVM_STATUS_SUCCESS, l.status);
	EXPECT_EQ(0x7FFEFFFF, l.maximum);

	/* Kernel-chosen: below 2 GiB, bottom-up and top-down. */
	ASSERT_EQ(0, ioctl(fd, NTVM_IOC_ALLOC, &a));
	ASSERT_EQ(NTVM_STATUS_SUCCESS, a.status);
	EXPECT_GE(0x7FFEFFFF, a.base + a.size - 1);
	EXPECT_LE(0x40000000, a.base);
	EXPECT_TRUE(can_write((char *)(uintptr_t)a.base) == 0);
	f.base = a.base;
	ASSERT_EQ(0, ioctl(fd, NTVM_IOC_FREE, &f));
	a.base = 0;
	a.type = NTVM_MEM_RESERVE | NTVM_MEM_COMMIT;
	ASSERT_EQ(0, ioctl(fd, NTVM_IOC_ALLOC, &a));
	ASSERT_EQ(NTVM_STATUS_SUCCESS, a.status);
	EXPECT_GE(0x7FFEFFFF, a.base + a.size - 1);
	EXPECT_TRUE(can_write((char *)(uintptr_t)a.base + a.size - 1));
	f.base = a.base;
	ASSERT_EQ(0, ioctl(fd, NTVM_IOC_FREE, &f));
	/* Above it: invalid; the free space below it ends at it. */
	q.address = 0x80000000;
	ASSERT_EQ(0, ioctl(fd, NTVM_IOC_QUERY, &q));
	EXPECT_EQ(NTVM_STATUS_INVALID_PARAMETER, q.status);
	q.address = 0x7FFEF000;
	ASSERT_EQ(0, ioctl(fd, NTVM_IOC_QUERY, &q));
	EXPECT_EQ(NTVM_STATUS_SUCCESS, q.status);
	EXPECT_EQ(0x7FFF0000, q.base_address + q.region_size);
	a.base = 0x7FFE0000;
	a.size = 0x20000;
	a.type = NTVM_MEM_RESERVE;
	ASSERT_EQ(0, ioctl(fd, NTVM_IOC_ALLOC, &a));
	EXPECT_EQ(NTVM_STATUS_INVALID_PARAMETER_4, a.status);
	a.base = 0x80000000;
	a.size = 0x10000;
	a.type = NTVM_MEM_RESERVE;
	ASSERT_EQ(0, ioctl(fd, NTVM_IOC_ALLOC, &a));
	EXPECT_EQ(NTVM_STATUS_INVALID_PARAMETER_2, a.status);

	/* Large-address aware: up to 4 GiB less 64 KiB, not above. */
	l.flags = NTVM_ADDRESS_LIMIT_SET;
	l.maximum = 0xFFFFFFFF;
	ASSERT_EQ(0, ioctl(fd, NTVM_IOC_ADDRESS_LIMIT, &l));
	EXPECT_EQ(NTVM_STATUS_INVALID_PARAMETER, l.status);
	l.maximum = 0x1FFFEFFFFULL;
	ASSERT_EQ(0, ioctl(fd, NTVM_IOC_ADDRESS_LIMIT, &l));
	EXPECT_EQ(NTVM_STATUS_INVALID_PARAMETER, l.status);
	l.maximum = NTVM_MAXIMUM_ADDRESS_32_LAA;
	ASSERT_EQ(0, ioctl(fd, NTVM_IOC_ADDRESS_LIMIT, &l));
	EXPECT_EQ(NTVM_STATUS_SUCCESS, l.status);
	EXPECT_EQ(0xFFFEFFFF, l.maximum);
	ASSERT_EQ(0, ioctl(fd, NTVM_IOC_SYSINFO, &s));
	EXPECT_EQ(0xFFFEFFFF, s.maximum_address);
	a.base = 0;
	a.size = 0x100000;
	a.type = NTVM_MEM_RESERVE | NTVM_MEM_TOP_DOWN;
	ASSERT_EQ(0, ioctl(fd, NTVM_IOC_ALLOC, &a));
	ASSERT_EQ(NTVM_STATUS_SUCCESS, a.status);
	EXPECT_LT(0x7FFEFFFF, a.base);
	EXPECT_GE(0xFFFEFFFF, a.base + a.size - 1);
	/* Not back below it while it is there. */
	l.maximum = NTVM_MAXIMUM_ADDRESS_32;
	ASSERT_EQ(0, ioctl(fd, NTVM_IOC_ADDRESS_LIMIT, &l));
	EXPECT_EQ(NTVM_STATUS_CONFLICTING_ADDRESSES, l.status);
	f.base = a.base;
	ASSERT_EQ(0, ioctl(fd, NTVM_IOC_FREE, &f));
	EXPECT_EQ(NTVM_STATUS_SUCCESS, f.status);
	ASSERT_EQ(0, ioctl(fd, NTVM_IOC_ADDRESS_LIMIT, &l));
	EXPECT_EQ(NTVM_STATUS_SUCCESS, l.status);
	/* An ABI flag it does not know. */
	l.flags = 0x2;
	EXPECT_EQ(-1, ioctl(fd, NTVM_IOC_ADDRESS_LIMIT, &l));
	EXPECT_EQ(EINVAL, errno);
	close(fd);
}

/* Placeholders from a 32-bit process: made, split, replaced, joined. */
TEST(placeholders_from_a_32bit_process)
{
	int fd = open("/dev/ntvm", O_RDWR | O_CLOEXEC);
	struct ntvm_alloc_ex_args x = {
		.size = 0x30000,
		.type = NTVM_MEM_RESERVE | NTVM_MEM_RESERVE_PLACEHOLDER,
		.protect = NTVM_PAGE_NOACCESS,
	};
	struct ntvm_free_args f = { 0 };
	struct ntvm_query_args q = { 0 };
	__u64 base;

	ASSERT_LE(0, fd);
	ASSERT_EQ(0, ioctl(fd, NTVM_IOC_ALLOC_EX, &x));
	ASSERT_EQ(NTVM_STATUS_SUCCESS, x.status);
	base = x.base;
	EXPECT_GE(0x7FFEFFFF, base + 0x2ffff);
	/* Split off the middle 64 KiB: three placeholders. */
	f.base = base + 0x10000;
	f.size = 0x10000;
	f.type = NTVM_MEM_RELEASE | NTVM_MEM_PRESERVE_PLACEHOLDER;
	ASSERT_EQ(0, ioctl(fd, NTVM_IOC_FREE, &f));
	EXPECT_EQ(NTVM_STATUS_SUCCESS, f.status);
	q.address = base + 0x10000;
	ASSERT_EQ(0, ioctl(fd, NTVM_IOC_QUERY, &q));
	EXPECT_EQ(base + 0x10000, q.allocation_base);
	EXPECT_EQ(0x10000, q.region_size);
	EXPECT_EQ(NTVM_MEM_RESERVE, q.state);
	EXPECT_EQ(NTVM_PAGE_NOACCESS, q.allocation_protect);
	/* Replace it, committed; write; back to a placeholder. */
	x.base = base + 0x10000;
	x.size = 0x10000;
	x.type = NTVM_MEM_RESERVE | NTVM_MEM_COMMIT |
		 NTVM_MEM_REPLACE_PLACEHOLDER;
	x.protect = NTVM_PAGE_READWRITE;
	ASSERT_EQ(0, ioctl(fd, NTVM_IOC_ALLOC_EX, &x));
	ASSERT_EQ(NTVM_STATUS_SUCCESS, x.status);
	EXPECT_EQ(base + 0x10000, x.base);
	EXPECT_TRUE(can_write((char *)(uintptr_t)(base + 0x1ffff)));
	f.base = base + 0x10000;
	f.size = 0x10000;
	ASSERT_EQ(0, ioctl(fd, NTVM_IOC_FREE, &f));
	EXPECT_EQ(NTVM_STATUS_SUCCESS, f.status);
	/* Joined again: one placeholder, released whole. */
	f.base = base;
	f.size = 0x30000;
	f.type = NTVM_MEM_RELEASE | NTVM_MEM_COALESCE_PLACEHOLDERS;
	ASSERT_EQ(0, ioctl(fd, NTVM_IOC_FREE, &f));
	EXPECT_EQ(NTVM_STATUS_SUCCESS, f.status);
	q.address = base + 0x2ffff;
	ASSERT_EQ(0, ioctl(fd, NTVM_IOC_QUERY, &q));
	EXPECT_EQ(base, q.allocation_base);
	q.address = base;
	ASSERT_EQ(0, ioctl(fd, NTVM_IOC_QUERY, &q));
	EXPECT_EQ(0x30000, q.region_size);
	f.base = base;
	f.size = 0;
	f.type = NTVM_MEM_RELEASE;
	ASSERT_EQ(0, ioctl(fd, NTVM_IOC_FREE, &f));
	EXPECT_EQ(NTVM_STATUS_SUCCESS, f.status);
	close(fd);
}

/*
 * The query map: the same header, read-only, its generation bumped.  A
 * 32-bit process may map it (libntvm maps only the header there and
 * keeps asking NTVM_IOC_QUERY).
 */
TEST(query_map_of_a_32bit_process)
{
	int fd = open("/dev/ntvm", O_RDWR | O_CLOEXEC);
	struct ntvm_alloc_args a = { .size = 0x10000,
				     .type = NTVM_MEM_RESERVE,
				     .protect = NTVM_PAGE_READWRITE };
	const volatile struct ntvm_query_map_header *h;
	__u64 before;

	ASSERT_LE(0, fd);
	h = mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 0);
	ASSERT_NE((uintptr_t)MAP_FAILED, (uintptr_t)h);
	EXPECT_EQ(NTVM_QUERY_MAP_MAGIC, h->magic);
	EXPECT_EQ(NTVM_QUERY_MAP_VERSION, h->version);
	EXPECT_EQ(1 << 30, h->map_size);
	before = h->generation;
	EXPECT_EQ(2 * before, h->seq);
	ASSERT_EQ(0, ioctl(fd, NTVM_IOC_ALLOC, &a));
	ASSERT_EQ(NTVM_STATUS_SUCCESS, a.status);
	EXPECT_EQ(before + 1, h->generation);
	/* The map built by that request too: a section with no change. */
	EXPECT_EQ(0, h->seq & 1);
	EXPECT_LE(2 * (before + 1), h->seq);
	/* Built: nothing pending, the records there (the header's page). */
	EXPECT_EQ(0, h->pending);
	EXPECT_LE(4096, h->used);
	EXPECT_EQ(0, can_write((volatile char *)h));
	errno = 0;
	EXPECT_EQ(-1, mprotect((void *)h, 4096, PROT_READ | PROT_WRITE));
	EXPECT_EQ(EACCES, errno);
	errno = 0;
	EXPECT_EQ((uintptr_t)MAP_FAILED,
		  (uintptr_t)mmap(NULL, 4096, PROT_READ | PROT_WRITE,
				  MAP_SHARED, fd, 0));
	EXPECT_EQ(EACCES, errno);
	EXPECT_EQ(0, munmap((void *)h, 4096));
	close(fd);
}

TEST_HARNESS_MAIN
