// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * A process's memory read and written: NtReadVirtualMemory,
 * NtWriteVirtualMemory, and kernelbase's ReadProcessMemory and
 * WriteProcessMemory.
 *
 * Through the process's /proc/PID/mem, which the handle opened (the
 * caller's own /proc/self/mem for GetCurrentProcess()): bound to its
 * address space, it reaches no other once the process has exited or
 * exec'd (reads and writes then return 0 bytes).  In memory ntvm manages
 * the kernel applies the page states to these accesses as to the
 * process's own: reserved, PAGE_NOACCESS and guard pages fail, and
 * pages that are not writable refuse writes.  In the process's other
 * memory Linux's own rules hold, which let a debugger read a PROT_NONE
 * mapping and write through a read-only one: NtWriteVirtualMemory
 * therefore writes only what a query describes as writable.
 *
 * A copy stops at the first page that fails, with the bytes before it
 * counted (STATUS_PARTIAL_COPY), whether it is the target's page or the
 * caller's buffer that failed.
 */
#include <errno.h>
#include <sys/uio.h>
#include <unistd.h>

#include "internal.h"

#define NTVM_PAGE 4096ULL

static SIZE_T ntvm_to_page_end(__u64 addr)
{
	return NTVM_PAGE - (addr & (NTVM_PAGE - 1));
}

/* Pages of the caller's buffer a system call takes at most. */
#define NTVM_COPY_IOVECS 256

/*
 * Copy @size bytes between the caller's @local and @remote through the
 * memory file @fd; *done: the bytes copied.
 *
 * One iovec for each page of the caller's buffer: the memory file copies
 * them in turn and stops at the first that fails, counting the ones
 * before, where a plain read or write fails as a whole when its buffer
 * faults.  So a guard page in the caller's buffer (which the failing copy
 * clears) ends the copy there, as a guard page of the target's does: a
 * short count is the end, never retried.
 */
static NTSTATUS ntvm_mem_copy(int fd, int write, void *local, __u64 remote,
			      SIZE_T size, SIZE_T *done)
{
	struct iovec iov[NTVM_COPY_IOVECS];
	uintptr_t at;
	SIZE_T want;
	ssize_t n;
	int count;

	*done = 0;
	if (fd < 0)
		return STATUS_ACCESS_DENIED;
	if (remote + size < remote)
		return STATUS_ACCESS_VIOLATION;
	while (*done < size) {
		at = (uintptr_t)local + *done;
		want = 0;
		for (count = 0; count < NTVM_COPY_IOVECS && *done + want < size;
		     count++) {
			SIZE_T len = ntvm_to_page_end(at + want);

			if (len > size - *done - want)
				len = size - *done - want;
			iov[count].iov_base = (void *)(at + want);
			iov[count].iov_len = len;
			want += len;
		}
		if (write)
			n = pwritev64(fd, iov, count,
				      (off64_t)(remote + *done));
		else
			n = preadv64(fd, iov, count,
				     (off64_t)(remote + *done));
		if (n < 0 && errno == EINTR)
			continue;
		/* No address space left: the process has exited or exec'd. */
		if (!n)
			return STATUS_PROCESS_IS_TERMINATING;
		if (n < 0) {
			/* Beyond what a file offset holds: not a user address. */
			if (errno == EINVAL)
				return STATUS_ACCESS_VIOLATION;
			/* EIO: the target's page; EFAULT: the caller's. */
			return STATUS_PARTIAL_COPY;
		}
		*done += n;
		if ((SIZE_T)n < want)
			return STATUS_PARTIAL_COPY;
	}
	return STATUS_SUCCESS;
}

/*
 * NT's first check of a copy, before the handle's: both ranges within the
 * user address space (MmUserProbeAddress, 0x7FFFFFFF0000 on x64), else
 * STATUS_ACCESS_VIOLATION with nothing copied.
 */
static int ntvm_copy_ranges_valid(PVOID base, const void *buffer,
				  SIZE_T size)
{
	__u64 probe = NTVM_MAX_USER_ADDRESS + 1;

	return (__u64)(uintptr_t)base + size <= probe &&
	       (__u64)(uintptr_t)buffer + size <= probe &&
	       (uintptr_t)base + size >= (uintptr_t)base &&
	       (uintptr_t)buffer + size >= (uintptr_t)buffer;
}

NTVM_EXPORT NTSTATUS NTAPI NtReadVirtualMemory(HANDLE process, PVOID base,
					       PVOID buffer, SIZE_T size,
					       PSIZE_T bytes_read)
{
	struct ntvm_target t = { .process = NULL, .fd = -1 };
	NTSTATUS status = STATUS_SUCCESS;
	SIZE_T done = 0;

	if (!ntvm_copy_ranges_valid(base, buffer, size))
		return STATUS_ACCESS_VIOLATION;
	/* Nothing to copy: NT does not look at the handle. */
	if (!size) {
		if (bytes_read)
			*bytes_read = 0;
		return STATUS_SUCCESS;
	}
	/* The pseudo-handle reads without opening the device. */
	if (!ntvm_is_self(process)) {
		status = ntvm_target_get_handle(process, PROCESS_VM_READ, 0,
						&t);
		if (status)
			return status;
	}
	if (size)
		status = ntvm_mem_copy(ntvm_target_mem(&t), 0, buffer,
				       (uintptr_t)base, size, &done);
	ntvm_target_put(&t);
	if (bytes_read)
		*bytes_read = done;
	return status;
}

static int ntvm_protect_writable(__u32 protect)
{
	switch (protect & 0xff) {
	case PAGE_READWRITE:
	case PAGE_WRITECOPY:
	case PAGE_EXECUTE_READWRITE:
	case PAGE_EXECUTE_WRITECOPY:
		return 1;
	}
	return 0;
}

/*
 * Write what is writable of [@remote, @remote + @size): as far as
 * queries describe it as committed and writable (and, in memory ntvm
 * manages, as far as the kernel lets it: a guard page fails).
 */
static NTSTATUS ntvm_mem_write(struct ntvm_target *t, __u64 remote,
			       const void *local, SIZE_T size, SIZE_T *done)
{
	struct ntvm_query_args q;
	__u64 writable = 0;	/* a region may end 4 GiB on: not a SIZE_T */
	NTSTATUS status;

	while (writable < size) {
		status = ntvm_query(t, remote + writable, &q);
		if (status == STATUS_PROCESS_IS_TERMINATING) {
			*done = 0;
			return status;
		}
		if (status || q.state != MEM_COMMIT ||
		    !ntvm_protect_writable(q.protect))
			break;
		writable = q.base_address + q.region_size - remote;
	}
	if (writable > size)
		writable = size;
	status = ntvm_mem_copy(ntvm_target_mem(t), 1, (void *)local, remote,
			       (SIZE_T)writable, done);
	if (!status && writable < size)
		status = STATUS_PARTIAL_COPY;
	return status;
}

NTVM_EXPORT NTSTATUS NTAPI NtWriteVirtualMemory(HANDLE process, PVOID base,
						PVOID buffer, SIZE_T size,
						PSIZE_T bytes_written)
{
	NTSTATUS status = STATUS_SUCCESS;
	struct ntvm_target t;
	SIZE_T done = 0;

	if (!ntvm_copy_ranges_valid(base, buffer, size))
		return STATUS_ACCESS_VIOLATION;
	if (!size) {
		if (bytes_written)
			*bytes_written = 0;
		return STATUS_SUCCESS;
	}
	status = ntvm_target_get(process, PROCESS_VM_WRITE, 0, &t);
	if (status)
		return status;
	if (size)
		status = ntvm_mem_write(&t, (uintptr_t)base, buffer, size,
					&done);
	ntvm_target_put(&t);
	if (bytes_written)
		*bytes_written = done;
	return status;
}

NTVM_EXPORT BOOL WINAPI ReadProcessMemory(HANDLE process, LPCVOID base,
					  LPVOID buffer, SIZE_T size,
					  SIZE_T *bytes_read)
{
	NTSTATUS status = NtReadVirtualMemory(process, (PVOID)base, buffer,
					      size, bytes_read);

	if (NT_SUCCESS(status))
		return TRUE;
	SetLastError(RtlNtStatusToDosError(status));
	return FALSE;
}

/*
 * Executable pages that are not writable, as kernelbase writes them (a
 * debugger's breakpoint): made writable for the write, then given their
 * protection back.  Memory ntvm does not manage (the process's own code)
 * is written as ptrace(PTRACE_POKETEXT) writes it, through a private
 * copy of the page, without a protection change.
 */
static NTSTATUS ntvm_write_code(struct ntvm_target *t, __u64 remote,
				const void *local, SIZE_T size,
				const struct ntvm_query_args *q, SIZE_T *done)
{
	__u64 region_end = q->base_address + q->region_size;
	PVOID page = (PVOID)(uintptr_t)(remote & ~(NTVM_PAGE - 1));
	struct ntvm_protect_args args = { .protect = PAGE_EXECUTE_READWRITE };
	SIZE_T len, more;
	NTSTATUS status;
	__u32 old;

	if (!(q->region_flags & NTVM_REGION_MANAGED)) {
		len = region_end - remote < size ? region_end - remote : size;
		status = ntvm_mem_copy(ntvm_target_mem(t), 1, (void *)local,
				       remote, len, done);
		if (status || len == size)
			return status;
		status = ntvm_mem_write(t, remote + len,
					(const char *)local + len, size - len,
					&more);
		*done += more;
		return status;
	}
	len = ((remote + size + NTVM_PAGE - 1) & ~(NTVM_PAGE - 1)) -
	      (uintptr_t)page;
	if (len > region_end - (uintptr_t)page)
		len = region_end - (uintptr_t)page;
	status = ntvm_range_protect(t, &page, &len, &args);
	if (status)
		return status;
	old = args.old_protect;
	status = ntvm_mem_write(t, remote, local, size, done);
	args = (struct ntvm_protect_args){ .protect = old };
	ntvm_range_protect(t, &page, &len, &args);
	return status;
}

NTVM_EXPORT BOOL WINAPI WriteProcessMemory(HANDLE process, LPVOID base,
					   LPCVOID buffer, SIZE_T size,
					   SIZE_T *bytes_written)
{
	__u64 remote = (uintptr_t)base;
	struct ntvm_query_args q;
	struct ntvm_target t;
	SIZE_T done = 0;
	NTSTATUS status;

	/* kernelbase's protection changes need PROCESS_VM_OPERATION too. */
	/* The query looks for a context when the maps show ntvm views. */
	status = ntvm_target_get(process,
				 PROCESS_VM_WRITE | PROCESS_VM_OPERATION, 0,
				 &t);
	if (status)
		goto out;
	if (!size) {
		ntvm_target_put(&t);
		if (bytes_written)
			*bytes_written = 0;
		return TRUE;
	}
	status = ntvm_query(&t, remote, &q);
	if (status)
		goto put;
	switch (q.protect & 0xff) {
	case PAGE_READWRITE:
	case PAGE_WRITECOPY:
	case PAGE_EXECUTE_READWRITE:
	case PAGE_EXECUTE_WRITECOPY:
		status = ntvm_mem_write(&t, remote, buffer, size, &done);
		break;
	case PAGE_EXECUTE:
	case PAGE_EXECUTE_READ:
		status = ntvm_write_code(&t, remote, buffer, size, &q, &done);
		break;
	default:
		/* Read-only, no access, reserved or free: nothing written. */
		status = STATUS_ACCESS_VIOLATION;
		goto put;
	}
	if (bytes_written)
		*bytes_written = done;
put:
	ntvm_target_put(&t);
out:
	if (NT_SUCCESS(status))
		return TRUE;
	SetLastError(RtlNtStatusToDosError(status));
	return FALSE;
}
