// SPDX-License-Identifier: GPL-2.0
/*
 * Userspace mprotect/munmap/mremap/madvise on ntvm memory: refused, or
 * the module's state follows; never a desynchronised module.
 *
 *   mprotect          refused (EACCES)
 *   partial munmap    refused (EINVAL): a view is not split by userspace
 *   whole munmap      allowed; the allocation is forgotten when next used
 *   mremap (move)     refused
 *   MADV_DONTNEED     drops PTEs only; contents stay
 *   MADV_REMOVE       refused (the backing has no fallocate)
 *   MADV_DOFORK       the child's copy of a view gives it nothing
 *   MADV_HUGEPAGE, MADV_COLLAPSE   no huge page ever maps a view
 */
#include <sys/personality.h>
#include <sys/wait.h>

#include "ntvm_test.h"
#include "kselftest_harness.h"

TEST(mprotect_refused)
{
	char *p = VirtualAlloc(NULL, 0x4000, MEM_COMMIT, PAGE_READONLY);

	ASSERT_NE(NULL, p);
	EXPECT_EQ(-1, mprotect(p, 0x4000, PROT_READ | PROT_WRITE));
	EXPECT_EQ(EACCES, errno);
	errno = 0;
	EXPECT_EQ(-1, mprotect(p + PAGE, PAGE, PROT_NONE));
	EXPECT_EQ(EACCES, errno);
	errno = 0;
	EXPECT_EQ(-1, mprotect(p, 0x4000, PROT_READ));
	EXPECT_EQ(EACCES, errno);
	EXPECT_EQ(1, count_vmas((uintptr_t)p, (uintptr_t)p + 0x4000));
	EXPECT_EQ(0, can_write((uintptr_t)p, 1));
	EXPECT_EQ(1, can_read((uintptr_t)p + PAGE, NULL));
	EXPECT_EQ(PAGE_READONLY, query((uintptr_t)p).Protect);
	EXPECT_TRUE(VirtualFree(p, 0, MEM_RELEASE));
}

TEST(partial_munmap_refused)
{
	char *p = VirtualAlloc(NULL, 0x4000, MEM_COMMIT, PAGE_READWRITE);

	ASSERT_NE(NULL, p);
	p[PAGE] = 4;
	EXPECT_EQ(-1, munmap(p + PAGE, PAGE));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(4, p[PAGE]);
	EXPECT_EQ(MEM_COMMIT, query((uintptr_t)p + PAGE).State);
	/* The head or the tail of the view: refused too. */
	errno = 0;
	EXPECT_EQ(-1, munmap(p, PAGE));
	EXPECT_EQ(EINVAL, errno);
	errno = 0;
	EXPECT_EQ(-1, munmap(p + 0x3000, PAGE));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(1, count_vmas((uintptr_t)p, (uintptr_t)p + 0x4000));
	EXPECT_EQ(0x4000, query((uintptr_t)p).RegionSize);
	EXPECT_EQ(1, can_write((uintptr_t)p + 0x3fff, 1));
	EXPECT_TRUE(VirtualFree(p, 0, MEM_RELEASE));
}

TEST(whole_munmap_forgets_the_allocation)
{
	struct ntvm_sysinfo_args before = sysinfo_now();
	char *p = VirtualAlloc(NULL, 0x10000, MEM_COMMIT, PAGE_READWRITE);
	char *m;

	ASSERT_NE(NULL, p);
	memset(p, 1, 0x10000);
	EXPECT_EQ(before.committed + 16, sysinfo_now().committed);
	ASSERT_EQ(0, munmap(p, 0x10000));
	/* A query describes it as it will be, changing nothing... */
	EXPECT_EQ(MEM_FREE, query((uintptr_t)p).State);
	EXPECT_EQ(before.committed + 16, sysinfo_now().committed);
	EXPECT_EQ(before.allocations + 1, sysinfo_now().allocations);
	/* ...and the module forgets it when it is next changed. */
	EXPECT_FALSE(VirtualFree(p, 0, MEM_RELEASE));
	EXPECT_EQ(ERROR_INVALID_ADDRESS, GetLastError());
	EXPECT_EQ(before.committed, sysinfo_now().committed);
	EXPECT_EQ(before.allocations, sysinfo_now().allocations);

	/* Memory the process mapped there since is never touched. */
	p = VirtualAlloc(NULL, 0x10000, MEM_COMMIT, PAGE_READWRITE);
	ASSERT_NE(NULL, p);
	ASSERT_EQ(0, munmap(p, 0x10000));
	m = mmap(p, 0x10000, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	ASSERT_EQ(p, m);
	m[0] = 9;
	EXPECT_FALSE(VirtualFree(p, 0, MEM_RELEASE));
	EXPECT_EQ(ERROR_INVALID_ADDRESS, GetLastError());
	EXPECT_FALSE(VirtualProtect(p, PAGE, PAGE_NOACCESS, (DWORD[1]){ 0 }));
	EXPECT_EQ(NULL, VirtualAlloc(p, PAGE, MEM_COMMIT, PAGE_READONLY));
	EXPECT_EQ(9, m[0]);
	EXPECT_EQ(1, can_write((uintptr_t)m + 0xffff, 1));
	munmap(m, 0x10000);
	EXPECT_EQ(before.allocations, sysinfo_now().allocations);
}

/*
 * After a whole view was unmapped and the process mapped its own memory
 * there, queries describe the process's mappings (the first ntvm call
 * after the munmap is the query itself), never free memory.
 */
TEST(own_mappings_over_an_unmapped_view_are_described)
{
	struct ntvm_sysinfo_args before = sysinfo_now();
	char *p = VirtualAlloc(NULL, 0x30000, MEM_COMMIT, PAGE_READWRITE);
	char path[] = "/tmp/ntvm_tamperXXXXXX";
	MEMORY_BASIC_INFORMATION mbi;
	char *anon, *none, *file;
	int fd;

	ASSERT_NE(NULL, p);
	fd = mkstemp(path);
	ASSERT_LE(0, fd);
	unlink(path);
	ASSERT_EQ(0, ftruncate(fd, 0x10000));
	memset(p, 1, 0x30000);
	ASSERT_EQ(1, count_vmas((uintptr_t)p, (uintptr_t)p + 0x30000));
	ASSERT_EQ(0, munmap(p, 0x30000));
	/* Three mappings that cannot merge: none, anonymous rw, file ro. */
	none = mmap(p, 0x10000, PROT_NONE,
		    MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	ASSERT_EQ(p, none);
	anon = mmap(p + 0x10000, 0x10000, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	ASSERT_EQ(p + 0x10000, anon);
	file = mmap(p + 0x20000, 0x10000, PROT_READ,
		    MAP_SHARED | MAP_FIXED_NOREPLACE, fd, 0);
	ASSERT_EQ(p + 0x20000, file);
	anon[0x123] = 5;

	mbi = query((uintptr_t)anon + 0x1234);
	EXPECT_EQ(MEM_COMMIT, mbi.State);
	EXPECT_EQ(PAGE_READWRITE, mbi.Protect);
	EXPECT_EQ(MEM_PRIVATE, mbi.Type);
	EXPECT_EQ(anon, mbi.AllocationBase);
	EXPECT_EQ(PAGE_READWRITE, mbi.AllocationProtect);
	EXPECT_EQ(anon + 0x1000, mbi.BaseAddress);
	EXPECT_EQ(0xf000, mbi.RegionSize);

	mbi = query((uintptr_t)file);
	EXPECT_EQ(MEM_COMMIT, mbi.State);
	EXPECT_EQ(PAGE_READONLY, mbi.Protect);
	EXPECT_EQ(MEM_MAPPED, mbi.Type);
	EXPECT_EQ(file, mbi.AllocationBase);
	EXPECT_EQ(PAGE_READONLY, mbi.AllocationProtect);
	EXPECT_EQ(file, mbi.BaseAddress);
	EXPECT_EQ(0x10000, mbi.RegionSize);

	mbi = query((uintptr_t)none + 0x2000);
	EXPECT_EQ(MEM_RESERVE, mbi.State);
	EXPECT_EQ(0, mbi.Protect);
	EXPECT_EQ(MEM_PRIVATE, mbi.Type);
	EXPECT_EQ(none + 0x2000, mbi.BaseAddress);
	EXPECT_EQ(0xe000, mbi.RegionSize);

	/* The next change forgets the allocation, and leaves all three. */
	EXPECT_EQ(3, count_vmas((uintptr_t)p, (uintptr_t)p + 0x30000));
	EXPECT_EQ(5, anon[0x123]);
	EXPECT_FALSE(VirtualFree(anon, 0, MEM_RELEASE));
	EXPECT_EQ(ERROR_INVALID_ADDRESS, GetLastError());
	EXPECT_EQ(before.allocations, sysinfo_now().allocations);
	EXPECT_EQ(before.committed, sysinfo_now().committed);
	EXPECT_EQ(3, count_vmas((uintptr_t)p, (uintptr_t)p + 0x30000));
	EXPECT_EQ(MEM_COMMIT, query((uintptr_t)anon).State);
	EXPECT_EQ(5, anon[0x123]);
	munmap(p, 0x30000);
	close(fd);
}

TEST(mremap_refused)
{
	char *p = VirtualAlloc(NULL, 0x4000, MEM_COMMIT, PAGE_READWRITE);
	void *r;

	ASSERT_NE(NULL, p);
	p[0] = 3;
	errno = 0;
	r = mremap(p, 0x4000, 0x4000, MREMAP_MAYMOVE | MREMAP_FIXED,
		   p + 0x100000);
	EXPECT_EQ(MAP_FAILED, r);
	EXPECT_EQ(EINVAL, errno);
	errno = 0;
	r = mremap(p, 0x4000, 0x2000, 0);
	EXPECT_EQ(MAP_FAILED, r);
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(1, count_vmas((uintptr_t)p, (uintptr_t)p + 0x4000));
	EXPECT_EQ(3, p[0]);
	EXPECT_EQ(0x4000, query((uintptr_t)p).RegionSize);
	EXPECT_EQ(1, can_write((uintptr_t)p + 0x3fff, 1));
	EXPECT_TRUE(VirtualFree(p, 0, MEM_RELEASE));
}

TEST(madvise_dontneed_and_remove)
{
	char *p = VirtualAlloc(NULL, 0x4000, MEM_COMMIT, PAGE_READWRITE);

	ASSERT_NE(NULL, p);
	memset(p, 6, 0x4000);
	EXPECT_EQ(0, madvise(p, 0x4000, MADV_DONTNEED));
	EXPECT_EQ(6, p[0x3fff]);
	errno = 0;
	EXPECT_EQ(-1, madvise(p, 0x4000, MADV_REMOVE));
	EXPECT_EQ(EOPNOTSUPP, errno);
	EXPECT_EQ(6, p[0]);
	EXPECT_EQ(6, p[0x3fff]);
	EXPECT_TRUE(VirtualFree(p, 0, MEM_RELEASE));
}

TEST(dofork_copy_gives_the_child_nothing)
{
	char *p = VirtualAlloc(NULL, 0x4000, MEM_COMMIT, PAGE_READWRITE);
	int status;
	pid_t pid;

	ASSERT_NE(NULL, p);
	p[0] = 42;
	ASSERT_EQ(0, madvise(p, 0x4000, MADV_DOFORK));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		char v = 0;

		/* The view was copied, but reads and writes fault. */
		if (can_read((uintptr_t)p, &v) || v == 42)
			_exit(1);
		if (can_write((uintptr_t)p, 7))
			_exit(2);
		_exit(0);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));
	EXPECT_EQ(42, p[0]);
	EXPECT_TRUE(VirtualFree(p, 0, MEM_RELEASE));
}

#ifndef MADV_COLLAPSE
#define MADV_COLLAPSE 25
#endif

TEST(huge_pages_cannot_bypass_page_state)
{
	const size_t size = 8UL << 20, huge = 2UL << 20;
	char *p = VirtualAlloc(NULL, size, MEM_COMMIT, PAGE_READWRITE);
	uintptr_t h = ((uintptr_t)p + huge - 1) & ~(huge - 1);
	DWORD old;
	size_t i;

	ASSERT_NE(NULL, p);
	memset(p, 0x33, size);
	ASSERT_TRUE(VirtualProtect(ptr(h), PAGE, PAGE_NOACCESS, &old));
	ASSERT_TRUE(VirtualProtect(ptr(h + PAGE), PAGE, PAGE_READONLY, &old));
	ASSERT_TRUE(VirtualFree(ptr(h + 2 * PAGE), PAGE, MEM_DECOMMIT));
	/* Clear VM_NOHUGEPAGE, then ask for a collapse: both may "work". */
	madvise(p, size, MADV_HUGEPAGE);
	madvise(ptr(h), huge, MADV_COLLAPSE);
	for (i = 3; i < huge / PAGE; i++)
		ptr(h)[i * PAGE] = 1;
	EXPECT_EQ(0, can_read(h, NULL));
	EXPECT_EQ(0, can_write(h + PAGE, 1));
	EXPECT_EQ(1, can_read(h + PAGE, NULL));
	EXPECT_EQ(0, can_read(h + 2 * PAGE, NULL));
	EXPECT_EQ(0x33, ptr(h)[PAGE + 5]);
	EXPECT_TRUE(VirtualFree(p, 0, MEM_RELEASE));
}

#define SHMEM_ENABLED "/sys/kernel/mm/transparent_hugepage/shmem_enabled"

/* The setting in brackets of SHMEM_ENABLED into @buf, or -1. */
static int shmem_thp_setting(char *buf, size_t len)
{
	char line[128], *a, *b;
	FILE *f = fopen(SHMEM_ENABLED, "r");

	if (!f)
		return -1;
	a = fgets(line, sizeof(line), f) ? strchr(line, '[') : NULL;
	fclose(f);
	b = a ? strchr(a, ']') : NULL;
	if (!b || (size_t)(b - a) >= len)
		return -1;
	memcpy(buf, a + 1, b - a - 1);
	buf[b - a - 1] = 0;
	return 0;
}

static int shmem_thp_set(const char *value)
{
	FILE *f = fopen(SHMEM_ENABLED, "w");
	int ok;

	if (!f)
		return -1;
	ok = fputs(value, f) >= 0;
	return fclose(f) == 0 && ok ? 0 : -1;
}

/*
 * The backing lives on a tmpfs of ntvm's own, mounted huge=never: with
 * shmem_enabled "always" and MADV_HUGEPAGE on a view, still no huge folio
 * (which would hold 511 pages nobody committed).
 */
TEST(no_huge_folios_even_with_shmem_thp_always)
{
	const size_t size = 8UL << 20;
	char saved[32];
	long before;
	size_t i;
	char *p;

	if (shmem_thp_setting(saved, sizeof(saved)) ||
	    shmem_thp_set("always"))
		SKIP(return, "needs a writable %s", SHMEM_ENABLED);
	before = meminfo_kb("ShmemHugePages:");
	p = VirtualAlloc(NULL, size, MEM_COMMIT, PAGE_READWRITE);
	ASSERT_NE(NULL, p);
	madvise(p, size, MADV_HUGEPAGE);
	for (i = 0; i < size; i += PAGE)
		p[i] = 1;
	for (i = 0; i < size; i += 3 * PAGE)
		can_read((uintptr_t)p + i, NULL);
	EXPECT_EQ(before, meminfo_kb("ShmemHugePages:"));
	EXPECT_EQ(0, shmem_thp_set(saved));
	EXPECT_TRUE(VirtualFree(p, 0, MEM_RELEASE));
}

TEST(read_implies_exec_does_not_make_data_executable)
{
	pid_t pid = fork();
	int status;

	ASSERT_LE(0, pid);
	if (pid == 0) {
		char *data, *code;

		if (personality(READ_IMPLIES_EXEC) == -1)
			_exit(10);
		data = VirtualAlloc(NULL, PAGE, MEM_COMMIT, PAGE_READWRITE);
		code = VirtualAlloc(NULL, PAGE, MEM_COMMIT,
				    PAGE_EXECUTE_READWRITE);
		if (!data || !code)
			_exit(1);
		memcpy(data, ret42, sizeof(ret42));
		memcpy(code, ret42, sizeof(ret42));
		if (can_exec((uintptr_t)data))
			_exit(2);
		if (!can_exec((uintptr_t)code))
			_exit(3);
		_exit(0);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));
}

/* The lines of /proc/self/maps that intersect [start, end), in @buf. */
static int maps_of(uintptr_t start, uintptr_t end, char *buf, size_t len)
{
	FILE *f = fopen("/proc/self/maps", "r");
	unsigned long s, e;
	char line[512];
	size_t used = 0;

	if (!f)
		return -1;
	buf[0] = 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "%lx-%lx", &s, &e) == 2 && s < end &&
		    e > start && used + strlen(line) < len) {
			strcpy(buf + used, line);
			used += strlen(line);
		}
	fclose(f);
	return 0;
}

/*
 * A query never changes anything, not even for an allocation whose views
 * userspace unmapped in part: the views left stay mapped until the next
 * call that changes the allocation forgets it.  Until then the query
 * describes them as what they will be, free memory, never as committed
 * memory of the process's own.
 */
TEST(query_of_a_partly_unmapped_allocation_changes_nothing)
{
	struct ntvm_sysinfo_args before = sysinfo_now();
	char *p = VirtualAlloc(NULL, 0x30000, MEM_COMMIT, PAGE_READWRITE);
	static char maps0[4096], maps1[4096];
	MEMORY_BASIC_INFORMATION mbi;
	uintptr_t b = (uintptr_t)p, addr;
	DWORD old;

	ASSERT_NE(NULL, p);
	memset(p, 3, 0x30000);
	/* Data, exec, data: three views. */
	ASSERT_TRUE(VirtualProtect(p + 0x10000, 0x10000, PAGE_EXECUTE_READ,
				   &old));
	ASSERT_EQ(3, count_vmas(b, b + 0x30000));
	ASSERT_EQ(0, munmap(p + 0x10000, 0x10000));
	ASSERT_EQ(2, count_vmas(b, b + 0x30000));
	ASSERT_EQ(0, maps_of(b, b + 0x30000, maps0, sizeof(maps0)));

	for (addr = b; addr < b + 0x30000; addr += 0x8000) {
		mbi = query(addr);
		ASSERT_EQ(0, maps_of(b, b + 0x30000, maps1, sizeof(maps1)));
		EXPECT_STREQ(maps0, maps1)
			TH_LOG("the query at +%#lx changed the mappings",
			       addr - b);
		EXPECT_EQ(MEM_FREE, mbi.State)
			TH_LOG("query at +%#lx", addr - b);
		EXPECT_EQ(NULL, mbi.AllocationBase)
			TH_LOG("query at +%#lx", addr - b);
		EXPECT_EQ(0, mbi.Type)
			TH_LOG("query at +%#lx", addr - b);
		EXPECT_EQ(0, mbi.AllocationProtect)
			TH_LOG("query at +%#lx", addr - b);
		EXPECT_EQ(addr, (uintptr_t)mbi.BaseAddress);
	}
	EXPECT_EQ(2, count_vmas(b, b + 0x30000));
	EXPECT_EQ(before.allocations + 1, sysinfo_now().allocations);
	EXPECT_EQ(before.committed + 0x30, sysinfo_now().committed);

	/* The next change forgets it: its views go, its charge too. */
	EXPECT_EQ(NULL, VirtualAlloc(p, PAGE, MEM_COMMIT, PAGE_READWRITE));
	EXPECT_EQ(ERROR_INVALID_ADDRESS, GetLastError());
	EXPECT_EQ(0, count_vmas(b, b + 0x30000));
	EXPECT_EQ(before.allocations, sysinfo_now().allocations);
	EXPECT_EQ(before.committed, sysinfo_now().committed);
	EXPECT_EQ(MEM_FREE, query(b).State);
	EXPECT_FALSE(VirtualFree(p, 0, MEM_RELEASE));
	EXPECT_EQ(ERROR_INVALID_ADDRESS, GetLastError());
}

/* The same with VirtualFree as the next call. */
TEST(free_forgets_a_partly_unmapped_allocation)
{
	struct ntvm_sysinfo_args before = sysinfo_now();
	char *p = VirtualAlloc(NULL, 0x30000, MEM_COMMIT, PAGE_READWRITE);
	uintptr_t b = (uintptr_t)p;
	DWORD old;

	ASSERT_NE(NULL, p);
	ASSERT_TRUE(VirtualProtect(p + 0x10000, 0x10000, PAGE_EXECUTE_READ,
				   &old));
	ASSERT_EQ(0, munmap(p + 0x10000, 0x10000));
	ASSERT_EQ(2, count_vmas(b, b + 0x30000));
	EXPECT_FALSE(VirtualFree(p, 0, MEM_RELEASE));
	EXPECT_EQ(ERROR_INVALID_ADDRESS, GetLastError());
	EXPECT_EQ(0, count_vmas(b, b + 0x30000));
	EXPECT_EQ(before.allocations, sysinfo_now().allocations);
	EXPECT_EQ(before.committed, sysinfo_now().committed);
}

TEST_HARNESS_MAIN
