// SPDX-License-Identifier: GPL-2.0
/*
 * Guard pages touched by the kernel (Windows: a system service that
 * touches a guard page fails with STATUS_GUARD_PAGE_VIOLATION and clears
 * the guard; the next call succeeds).  On Linux the syscall fails with
 * EFAULT, having done nothing on the guard page and after it, the guard
 * is gone, and the same call made again succeeds: read(2) into a guard
 * page (the kernel writes user memory), write(2) from one (the kernel
 * reads it), from pipes and regular files, with the guard page first in
 * the buffer or in the middle of it; process_vm_readv(2)/writev(2) and
 * /proc/self/mem, which reach it as another process would; a
 * write-watched guard page; GetWriteWatch's array on a guard page
 * (STATUS_GUARD_PAGE_VIOLATION, as on Windows); a thread that exits with
 * its clear-tid word in a guard page.  And PAGE_GUARD alone or with
 * PAGE_NOACCESS is invalid.
 */
#include <pthread.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <time.h>

#include "ntvm_test.h"
#include "kselftest_harness.h"

/* @pages committed read-write pages, filled with @fill, page @guard armed. */
static char *guarded(unsigned int pages, unsigned int guard, char fill)
{
	char *p = VirtualAlloc(NULL, pages * PAGE, MEM_COMMIT, PAGE_READWRITE);
	DWORD old;

	if (!p)
		return NULL;
	memset(p, fill, pages * PAGE);
	if (!VirtualProtect(p + guard * PAGE, PAGE,
			    PAGE_READWRITE | PAGE_GUARD, &old) ||
	    old != PAGE_READWRITE)
		return NULL;
	return p;
}

static DWORD protect_of(const void *p)
{
	return query((uintptr_t)p).Protect;
}

/* Bytes waiting in a pipe. */
static int pipe_bytes(int fd)
{
	int n = -1;

	if (ioctl(fd, FIONREAD, &n))
		return -1;
	return n;
}

static int file_with(const void *data, size_t len)
{
	int fd = memfd_create("ntvm_guard", 0);

	if (fd < 0)
		return -1;
	if (len && pwrite(fd, data, len, 0) != (ssize_t)len) {
		close(fd);
		return -1;
	}
	return fd;
}

static off_t file_size(int fd)
{
	struct stat st;

	return fstat(fd, &st) ? -1 : st.st_size;
}

/* Byte @i of the test pattern: differs from page to page. */
static char pat(size_t i)
{
	return (char)('A' + (i / PAGE) * 7 + i % 13);
}

static void fill_pat(char *buf, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		buf[i] = pat(i);
}

static int is_pat(const char *buf, size_t from, size_t len)
{
	size_t i;

	for (i = from; i < from + len; i++)
		if (buf[i - from] != pat(i))
			return 0;
	return 1;
}

static int all(const char *buf, char c, size_t len)
{
	while (len--)
		if (*buf++ != c)
			return 0;
	return 1;
}

/*
 * read(2) from a pipe into a guard page fails once with EFAULT, consumes
 * nothing from the pipe and writes nothing; the guard is gone; the same
 * read then succeeds.  Armed again, the guard fires again.
 */
TEST(pipe_read_into_guard_page)
{
	char *p = guarded(1, 0, 'x');
	int fds[2], round;
	DWORD old;

	ASSERT_NE(NULL, p);
	ASSERT_EQ(0, pipe(fds));
	for (round = 0; round < 2; round++) {
		ASSERT_EQ(8, write(fds[1], "abcdefgh", 8));
		errno = 0;
		EXPECT_EQ(-1, read(fds[0], p + 100, 4));
		EXPECT_EQ(EFAULT, errno);
		EXPECT_EQ(PAGE_READWRITE, protect_of(p));
		EXPECT_EQ(8, pipe_bytes(fds[0]));
		EXPECT_TRUE(all(p, 'x', PAGE));
		EXPECT_EQ(4, read(fds[0], p + 100, 4));
		EXPECT_EQ(0, memcmp(p + 100, "abcd", 4));
		EXPECT_EQ(4, read(fds[0], p + 100, 4));
		EXPECT_EQ(0, memcmp(p + 100, "efgh", 4));
		memset(p, 'x', PAGE);
		ASSERT_TRUE(VirtualProtect(p, PAGE, PAGE_READWRITE | PAGE_GUARD,
					   &old));
		EXPECT_EQ(PAGE_READWRITE, old);
	}
	close(fds[0]);
	close(fds[1]);
	EXPECT_TRUE(VirtualFree(p, 0, MEM_RELEASE));
}

/* read(2) of a regular file: the file position does not move either. */
TEST(file_read_into_guard_page)
{
	char *p = guarded(1, 0, 'x');
	int fd = file_with("abcdefgh", 8);

	ASSERT_NE(NULL, p);
	ASSERT_LE(0, fd);
	errno = 0;
	EXPECT_EQ(-1, read(fd, p, 8));
	EXPECT_EQ(EFAULT, errno);
	EXPECT_EQ(PAGE_READWRITE, protect_of(p));
	EXPECT_EQ(0, lseek(fd, 0, SEEK_CUR));
	EXPECT_TRUE(all(p, 'x', PAGE));
	EXPECT_EQ(8, read(fd, p, 8));
	EXPECT_EQ(0, memcmp(p, "abcdefgh", 8));
	EXPECT_EQ('x', p[8]);
	EXPECT_EQ(8, lseek(fd, 0, SEEK_CUR));
	close(fd);
	EXPECT_TRUE(VirtualFree(p, 0, MEM_RELEASE));
}

/* write(2) to a pipe from a guard page: nothing reaches the pipe. */
TEST(pipe_write_from_guard_page)
{
	char *p = guarded(1, 0, 'x');
	char buf[16];
	int fds[2];

	ASSERT_NE(NULL, p);
	ASSERT_EQ(0, pipe(fds));
	errno = 0;
	EXPECT_EQ(-1, write(fds[1], p + 8, 8));
	EXPECT_EQ(EFAULT, errno);
	EXPECT_EQ(PAGE_READWRITE, protect_of(p));
	EXPECT_EQ(0, pipe_bytes(fds[0]));
	EXPECT_EQ(8, write(fds[1], p + 8, 8));
	EXPECT_EQ(8, pipe_bytes(fds[0]));
	EXPECT_EQ(8, read(fds[0], buf, sizeof(buf)));
	EXPECT_TRUE(all(buf, 'x', 8));
	close(fds[0]);
	close(fds[1]);
	EXPECT_TRUE(VirtualFree(p, 0, MEM_RELEASE));
}

/* write(2) to a regular file from a guard page: the file stays empty. */
TEST(file_write_from_guard_page)
{
	char *p = guarded(1, 0, 'x');
	int fd = file_with(NULL, 0);
	char buf[16];

	ASSERT_NE(NULL, p);
	ASSERT_LE(0, fd);
	errno = 0;
	EXPECT_EQ(-1, write(fd, p, 8));
	EXPECT_EQ(EFAULT, errno);
	EXPECT_EQ(PAGE_READWRITE, protect_of(p));
	EXPECT_EQ(0, file_size(fd));
	EXPECT_EQ(0, lseek(fd, 0, SEEK_CUR));
	EXPECT_EQ(8, write(fd, p, 8));
	EXPECT_EQ(8, file_size(fd));
	EXPECT_EQ(8, pread(fd, buf, sizeof(buf), 0));
	EXPECT_TRUE(all(buf, 'x', 8));
	close(fd);
	EXPECT_TRUE(VirtualFree(p, 0, MEM_RELEASE));
}

/*
 * A guard page in the middle of a three-page buffer: the syscall stops
 * exactly at it (the bytes before it are transferred, none on or after
 * it), and the rest of the transfer then succeeds.
 */
TEST(pipe_read_guard_in_middle)
{
	char *p = guarded(3, 1, 'x');
	char *src = malloc(3 * PAGE);
	int fds[2];

	ASSERT_NE(NULL, p);
	ASSERT_NE(NULL, src);
	ASSERT_EQ(0, pipe(fds));
	fill_pat(src, 3 * PAGE);
	ASSERT_EQ(3 * PAGE, write(fds[1], src, 3 * PAGE));
	EXPECT_EQ(PAGE, read(fds[0], p, 3 * PAGE));
	EXPECT_EQ(PAGE_READWRITE, protect_of(p + PAGE));
	EXPECT_EQ(2 * PAGE, pipe_bytes(fds[0]));
	EXPECT_TRUE(is_pat(p, 0, PAGE));
	EXPECT_TRUE(all(p + PAGE, 'x', 2 * PAGE));
	EXPECT_EQ(2 * PAGE, read(fds[0], p + PAGE, 2 * PAGE));
	EXPECT_TRUE(is_pat(p, 0, 3 * PAGE));
	EXPECT_EQ(3 * PAGE, query((uintptr_t)p).RegionSize);
	free(src);
	close(fds[0]);
	close(fds[1]);
	EXPECT_TRUE(VirtualFree(p, 0, MEM_RELEASE));
}

TEST(file_read_guard_in_middle)
{
	char *p = guarded(3, 1, 'x');
	char *src = malloc(3 * PAGE);
	int fd;

	ASSERT_NE(NULL, p);
	ASSERT_NE(NULL, src);
	fill_pat(src, 3 * PAGE);
	fd = file_with(src, 3 * PAGE);
	ASSERT_LE(0, fd);
	EXPECT_EQ(PAGE, read(fd, p, 3 * PAGE));
	EXPECT_EQ(PAGE_READWRITE, protect_of(p + PAGE));
	EXPECT_EQ(PAGE, lseek(fd, 0, SEEK_CUR));
	EXPECT_TRUE(is_pat(p, 0, PAGE));
	EXPECT_TRUE(all(p + PAGE, 'x', 2 * PAGE));
	EXPECT_EQ(2 * PAGE, read(fd, p + PAGE, 3 * PAGE));
	EXPECT_TRUE(is_pat(p, 0, 3 * PAGE));
	free(src);
	close(fd);
	EXPECT_TRUE(VirtualFree(p, 0, MEM_RELEASE));
}

TEST(pipe_write_guard_in_middle)
{
	char *p = guarded(3, 1, 'x');
	char *dst = malloc(3 * PAGE);
	DWORD old;
	int fds[2];

	ASSERT_NE(NULL, p);
	ASSERT_NE(NULL, dst);
	ASSERT_EQ(0, pipe(fds));
	ASSERT_TRUE(VirtualProtect(p + PAGE, PAGE, PAGE_READWRITE, &old));
	fill_pat(p, 3 * PAGE);
	ASSERT_TRUE(VirtualProtect(p + PAGE, PAGE, PAGE_READWRITE | PAGE_GUARD,
				   &old));
	EXPECT_EQ(PAGE, write(fds[1], p, 3 * PAGE));
	EXPECT_EQ(PAGE_READWRITE, protect_of(p + PAGE));
	EXPECT_EQ(PAGE, pipe_bytes(fds[0]));
	EXPECT_EQ(2 * PAGE, write(fds[1], p + PAGE, 2 * PAGE));
	EXPECT_EQ(3 * PAGE, pipe_bytes(fds[0]));
	EXPECT_EQ(3 * PAGE, read(fds[0], dst, 3 * PAGE));
	EXPECT_TRUE(is_pat(dst, 0, 3 * PAGE));
	free(dst);
	close(fds[0]);
	close(fds[1]);
	EXPECT_TRUE(VirtualFree(p, 0, MEM_RELEASE));
}

TEST(file_write_guard_in_middle)
{
	char *p = guarded(3, 1, 'x');
	char *dst = malloc(3 * PAGE);
	DWORD old;
	int fd = file_with(NULL, 0);

	ASSERT_NE(NULL, p);
	ASSERT_NE(NULL, dst);
	ASSERT_LE(0, fd);
	ASSERT_TRUE(VirtualProtect(p + PAGE, PAGE, PAGE_READWRITE, &old));
	fill_pat(p, 3 * PAGE);
	ASSERT_TRUE(VirtualProtect(p + PAGE, PAGE, PAGE_READWRITE | PAGE_GUARD,
				   &old));
	EXPECT_EQ(PAGE, write(fd, p, 3 * PAGE));
	EXPECT_EQ(PAGE_READWRITE, protect_of(p + PAGE));
	EXPECT_EQ(PAGE, file_size(fd));
	EXPECT_EQ(2 * PAGE, write(fd, p + PAGE, 2 * PAGE));
	EXPECT_EQ(3 * PAGE, file_size(fd));
	EXPECT_EQ(3 * PAGE, pread(fd, dst, 3 * PAGE, 0));
	EXPECT_TRUE(is_pat(dst, 0, 3 * PAGE));
	free(dst);
	close(fd);
	EXPECT_TRUE(VirtualFree(p, 0, MEM_RELEASE));
}

/*
 * A buffer that starts on the page before the guard page: a regular
 * file's read(2) and write(2) transfer exactly the bytes before the guard
 * page, then the rest succeeds.
 */
TEST(file_rw_straddling_guard_page)
{
	char *p = guarded(2, 1, 'x');
	int fd = file_with("abcdefgh", 8), out = file_with(NULL, 0);
	char buf[8];
	DWORD old;

	ASSERT_NE(NULL, p);
	ASSERT_LE(0, fd);
	ASSERT_LE(0, out);
	EXPECT_EQ(2, read(fd, p + PAGE - 2, 8));
	EXPECT_EQ(PAGE_READWRITE, protect_of(p + PAGE));
	EXPECT_EQ(2, lseek(fd, 0, SEEK_CUR));
	EXPECT_EQ(0, memcmp(p + PAGE - 2, "ab", 2));
	EXPECT_TRUE(all(p + PAGE, 'x', PAGE));
	EXPECT_EQ(6, read(fd, p + PAGE, 8));
	EXPECT_EQ(0, memcmp(p + PAGE - 2, "abcdefgh", 8));

	ASSERT_TRUE(VirtualProtect(p + PAGE, PAGE, PAGE_READWRITE | PAGE_GUARD,
				   &old));
	EXPECT_EQ(2, write(out, p + PAGE - 2, 8));
	EXPECT_EQ(PAGE_READWRITE, protect_of(p + PAGE));
	EXPECT_EQ(2, file_size(out));
	EXPECT_EQ(6, write(out, p + PAGE, 6));
	EXPECT_EQ(8, pread(out, buf, 8, 0));
	EXPECT_EQ(0, memcmp(buf, "abcdefgh", 8));
	close(fd);
	close(out);
	EXPECT_TRUE(VirtualFree(p, 0, MEM_RELEASE));
}

/*
 * The process's own memory through process_vm_readv(2)/writev(2), which
 * reach it as another process would: the call fails once too.
 */
TEST(process_vm_rw_on_guard_page)
{
	char *p = guarded(1, 0, 'x');
	char buf[8] = "12345678";
	struct iovec local = { .iov_base = buf, .iov_len = 8 };
	struct iovec remote = { .iov_base = NULL, .iov_len = 8 };
	DWORD old;

	ASSERT_NE(NULL, p);
	remote.iov_base = p;
	errno = 0;
	EXPECT_EQ(-1, process_vm_readv(getpid(), &local, 1, &remote, 1, 0));
	EXPECT_EQ(EFAULT, errno);
	EXPECT_EQ(PAGE_READWRITE, protect_of(p));
	EXPECT_EQ(0, memcmp(buf, "12345678", 8));
	EXPECT_EQ(8, process_vm_readv(getpid(), &local, 1, &remote, 1, 0));
	EXPECT_TRUE(all(buf, 'x', 8));

	memcpy(buf, "12345678", 8);
	ASSERT_TRUE(VirtualProtect(p, PAGE, PAGE_READWRITE | PAGE_GUARD, &old));
	errno = 0;
	EXPECT_EQ(-1, process_vm_writev(getpid(), &local, 1, &remote, 1, 0));
	EXPECT_EQ(EFAULT, errno);
	EXPECT_EQ(PAGE_READWRITE, protect_of(p));
	EXPECT_TRUE(all(p, 'x', PAGE));
	EXPECT_EQ(8, process_vm_writev(getpid(), &local, 1, &remote, 1, 0));
	EXPECT_EQ(0, memcmp(p, "12345678", 8));

	/* The local buffer on the guard page: the kernel's own copy. */
	ASSERT_TRUE(VirtualProtect(p, PAGE, PAGE_READWRITE | PAGE_GUARD, &old));
	local.iov_base = p;
	remote.iov_base = buf;
	memcpy(buf, "abcdefgh", 8);
	errno = 0;
	EXPECT_EQ(-1, process_vm_readv(getpid(), &local, 1, &remote, 1, 0));
	EXPECT_EQ(EFAULT, errno);
	EXPECT_EQ(PAGE_READWRITE, protect_of(p));
	EXPECT_EQ(0, memcmp(p, "12345678", 8));
	EXPECT_EQ(8, process_vm_readv(getpid(), &local, 1, &remote, 1, 0));
	EXPECT_EQ(0, memcmp(p, "abcdefgh", 8));
	EXPECT_TRUE(VirtualFree(p, 0, MEM_RELEASE));
}

/* /proc/PID/mem (ptrace's access too) reads and writes it the same way. */
TEST(proc_mem_on_guard_page)
{
	char *p = guarded(1, 0, 'x');
	int fd = open("/proc/self/mem", O_RDWR);
	char buf[8];
	DWORD old;

	ASSERT_NE(NULL, p);
	ASSERT_LE(0, fd);
	memset(buf, '1', 8);
	EXPECT_EQ(-1, pread(fd, buf, 8, (off_t)(uintptr_t)p));
	EXPECT_EQ(EIO, errno);
	EXPECT_EQ(PAGE_READWRITE, protect_of(p));
	EXPECT_TRUE(all(buf, '1', 8));
	EXPECT_EQ(8, pread(fd, buf, 8, (off_t)(uintptr_t)p));
	EXPECT_TRUE(all(buf, 'x', 8));

	ASSERT_TRUE(VirtualProtect(p, PAGE, PAGE_READWRITE | PAGE_GUARD, &old));
	memset(buf, '2', 8);
	EXPECT_EQ(-1, pwrite(fd, buf, 8, (off_t)(uintptr_t)p));
	EXPECT_EQ(EIO, errno);
	EXPECT_EQ(PAGE_READWRITE, protect_of(p));
	EXPECT_TRUE(all(p, 'x', PAGE));
	EXPECT_EQ(8, pwrite(fd, buf, 8, (off_t)(uintptr_t)p));
	EXPECT_TRUE(all(p, '2', 8));
	EXPECT_EQ('x', p[8]);
	close(fd);
	EXPECT_TRUE(VirtualFree(p, 0, MEM_RELEASE));
}

/*
 * Write watch: the read(2) that trips the guard does not mark the page
 * written; the read that follows does.
 */
TEST(write_watch_failed_read_not_written)
{
	char *p = VirtualAlloc(NULL, 2 * PAGE,
			       MEM_RESERVE | MEM_COMMIT | MEM_WRITE_WATCH,
			       PAGE_READWRITE | PAGE_GUARD);
	PVOID addrs[4];
	ULONG_PTR count;
	DWORD gran;
	int fds[2];

	ASSERT_NE(NULL, p);
	ASSERT_EQ(0, pipe(fds));
	ASSERT_EQ(4, write(fds[1], "abcd", 4));
	errno = 0;
	EXPECT_EQ(-1, read(fds[0], p + PAGE, 4));
	EXPECT_EQ(EFAULT, errno);
	count = 4;
	EXPECT_EQ(0, GetWriteWatch(0, p, 2 * PAGE, addrs, &count, &gran));
	EXPECT_EQ(0, count);
	EXPECT_EQ(PAGE_READWRITE, protect_of(p + PAGE));
	EXPECT_EQ(PAGE_READWRITE | PAGE_GUARD, protect_of(p));
	EXPECT_EQ(4, read(fds[0], p + PAGE, 4));
	count = 4;
	EXPECT_EQ(0, GetWriteWatch(0, p, 2 * PAGE, addrs, &count, &gran));
	ASSERT_EQ(1, count);
	EXPECT_EQ(p + PAGE, addrs[0]);
	EXPECT_EQ(0, memcmp(p + PAGE, "abcd", 4));
	close(fds[0]);
	close(fds[1]);
	EXPECT_TRUE(VirtualFree(p, 0, MEM_RELEASE));
}

/*
 * A guard page further into the array than the first batch of addresses
 * (the kernel copies them out 64 at a time): the array is probed first,
 * as NT does, so the failed call resets no page and the next one reports
 * them all.
 */
TEST(get_write_watch_guard_after_the_first_batch)
{
	const unsigned int pages = 200, first = 100;
	char *w = VirtualAlloc(NULL, pages * PAGE,
			       MEM_RESERVE | MEM_COMMIT | MEM_WRITE_WATCH,
			       PAGE_READWRITE);
	char *a = guarded(2, 1, 'x');
	/* Entries 0-99 on the first page, the rest on the guard page. */
	PVOID *addrs = (PVOID *)(a + PAGE) - first;
	ULONG_PTR count;
	unsigned int i;
	DWORD gran;

	ASSERT_NE(NULL, w);
	ASSERT_NE(NULL, a);
	for (i = 0; i < pages; i++)
		w[i * PAGE] = 1;
	count = pages;
	SetLastError(0);
	EXPECT_EQ(~0u, GetWriteWatch(WRITE_WATCH_FLAG_RESET, w, pages * PAGE,
				     addrs, &count, &gran));
	EXPECT_EQ(0x80000001, GetLastError());
	EXPECT_EQ(PAGE_READWRITE, protect_of(a + PAGE));
	count = pages;
	EXPECT_EQ(0, GetWriteWatch(WRITE_WATCH_FLAG_RESET, w, pages * PAGE,
				   addrs, &count, &gran));
	ASSERT_EQ(pages, count);
	for (i = 0; i < pages; i++)
		EXPECT_EQ(w + i * PAGE, addrs[i]);
	EXPECT_TRUE(VirtualFree(w, 0, MEM_RELEASE));
	EXPECT_TRUE(VirtualFree(a, 0, MEM_RELEASE));
}

/*
 * GetWriteWatch writing its array into a guard page fails once with
 * STATUS_GUARD_PAGE_VIOLATION (the last error is the status itself) and
 * resets nothing; the same call then succeeds.
 */
TEST(get_write_watch_array_on_guard_page)
{
	char *w = VirtualAlloc(NULL, 4 * PAGE,
			       MEM_RESERVE | MEM_COMMIT | MEM_WRITE_WATCH,
			       PAGE_READWRITE);
	char *a = guarded(1, 0, 'x');
	PVOID *addrs = (PVOID *)a;
	ULONG_PTR count;
	DWORD gran, old;
	ULONG ngran;

	ASSERT_NE(NULL, w);
	ASSERT_NE(NULL, a);
	w[0] = 1;
	w[2 * PAGE] = 1;
	count = 4;
	gran = 0;
	SetLastError(0);
	EXPECT_EQ(~0u, GetWriteWatch(WRITE_WATCH_FLAG_RESET, w, 4 * PAGE,
				     addrs, &count, &gran));
	EXPECT_EQ(0x80000001, GetLastError());
	EXPECT_EQ(4, count);
	EXPECT_EQ(0, gran);
	EXPECT_EQ(PAGE_READWRITE, protect_of(a));
	EXPECT_TRUE(all(a, 'x', PAGE));
	EXPECT_EQ(0, GetWriteWatch(WRITE_WATCH_FLAG_RESET, w, 4 * PAGE,
				   addrs, &count, &gran));
	ASSERT_EQ(2, count);
	EXPECT_EQ(w, addrs[0]);
	EXPECT_EQ(w + 2 * PAGE, addrs[1]);
	EXPECT_EQ(PAGE, gran);
	count = 4;
	EXPECT_EQ(0, GetWriteWatch(0, w, 4 * PAGE, addrs, &count, &gran));
	EXPECT_EQ(0, count);

	/* The NT call gives the status. */
	w[PAGE] = 1;
	ASSERT_TRUE(VirtualProtect(a, PAGE, PAGE_READWRITE | PAGE_GUARD, &old));
	count = 4;
	EXPECT_EQ(STATUS_GUARD_PAGE_VIOLATION,
		  NtGetWriteWatch(NtCurrentProcess(), 0, w, 4 * PAGE, addrs,
				  &count, &ngran));
	EXPECT_EQ(STATUS_SUCCESS,
		  NtGetWriteWatch(NtCurrentProcess(), 0, w, 4 * PAGE, addrs,
				  &count, &ngran));
	ASSERT_EQ(1, count);
	EXPECT_EQ(w + PAGE, addrs[0]);
	EXPECT_TRUE(VirtualFree(w, 0, MEM_RELEASE));
	EXPECT_TRUE(VirtualFree(a, 0, MEM_RELEASE));
}

static void *exit_with_tid_in(void *tid)
{
	syscall(SYS_set_tid_address, tid);
	syscall(SYS_exit, 0);
	return NULL;
}

/*
 * A thread whose clear-tid word is on a guard page exits: the kernel's
 * store of 0 there trips the guard, fails, and is not retried; what the
 * exit path recorded is released with the thread.
 */
TEST(thread_exit_trips_guard)
{
	char *p = guarded(1, 0, 'x');
	struct timespec ts = { 0, 10 * 1000 * 1000 };
	pthread_attr_t attr;
	pthread_t t;
	int i;

	ASSERT_NE(NULL, p);
	ASSERT_EQ(0, pthread_attr_init(&attr));
	ASSERT_EQ(0, pthread_attr_setdetachstate(&attr,
						 PTHREAD_CREATE_DETACHED));
	ASSERT_EQ(0, pthread_create(&t, &attr, exit_with_tid_in, p + 64));
	for (i = 0; i < 1000 && protect_of(p) != PAGE_READWRITE; i++)
		nanosleep(&ts, NULL);
	EXPECT_EQ(PAGE_READWRITE, protect_of(p));
	EXPECT_TRUE(all(p, 'x', PAGE));
	EXPECT_TRUE(VirtualFree(p, 0, MEM_RELEASE));
}

/* PAGE_GUARD alone, and with PAGE_NOACCESS, is not a protection. */
TEST(guard_needs_an_access)
{
	static const DWORD bad[] = { PAGE_GUARD, PAGE_NOACCESS | PAGE_GUARD };
	static const DWORD types[] = {
		MEM_RESERVE, MEM_COMMIT, MEM_RESERVE | MEM_COMMIT,
	};
	char *r = VirtualAlloc(NULL, 2 * PAGE, MEM_RESERVE, PAGE_READWRITE);
	char *p = VirtualAlloc(NULL, PAGE, MEM_COMMIT, PAGE_READONLY);
	unsigned int i, j;
	DWORD old;

	ASSERT_NE(NULL, r);
	ASSERT_NE(NULL, p);
	for (i = 0; i < 2; i++) {
		for (j = 0; j < 3; j++) {
			SetLastError(0);
			EXPECT_EQ(NULL, VirtualAlloc(NULL, PAGE, types[j],
						     bad[i]));
			EXPECT_EQ(ERROR_INVALID_PARAMETER, GetLastError());
		}
		/* Committing in a reservation, or over committed pages. */
		SetLastError(0);
		EXPECT_EQ(NULL, VirtualAlloc(r, PAGE, MEM_COMMIT, bad[i]));
		EXPECT_EQ(ERROR_INVALID_PARAMETER, GetLastError());
		EXPECT_EQ(MEM_RESERVE, query((uintptr_t)r).State);
		SetLastError(0);
		EXPECT_EQ(NULL, VirtualAlloc(p, PAGE, MEM_COMMIT, bad[i]));
		EXPECT_EQ(ERROR_INVALID_PARAMETER, GetLastError());
		old = 0x1234;
		SetLastError(0);
		EXPECT_FALSE(VirtualProtect(p, PAGE, bad[i], &old));
		EXPECT_EQ(ERROR_INVALID_PARAMETER, GetLastError());
		EXPECT_EQ(PAGE_READONLY, protect_of(p));
		EXPECT_EQ(MEM_COMMIT, query((uintptr_t)p).State);
	}
	/* With an access it is fine, and the guard fires once. */
	EXPECT_EQ(r, VirtualAlloc(r, PAGE, MEM_COMMIT,
				  PAGE_READONLY | PAGE_GUARD));
	EXPECT_EQ(PAGE_READONLY | PAGE_GUARD, protect_of(r));
	EXPECT_EQ(0, can_read((uintptr_t)r, NULL));
	EXPECT_EQ(1, can_read((uintptr_t)r, NULL));
	EXPECT_TRUE(VirtualFree(r, 0, MEM_RELEASE));
	EXPECT_TRUE(VirtualFree(p, 0, MEM_RELEASE));
}

TEST_HARNESS_MAIN
