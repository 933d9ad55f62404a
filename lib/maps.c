// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * NtQueryVirtualMemory on a process that has no ntvm context: its memory
 * described from /proc/PID/maps as the kernel's query describes memory
 * ntvm does not manage (kmod/nt_query.c):
 *
 *  - a mapping is one region from its start (AllocationBase) to its end,
 *    its protection from its permissions, committed (Protect: that
 *    protection) or, if it has none, reserved (Protect 0); MEM_MAPPED if
 *    it maps a file, else MEM_PRIVATE;
 *  - a hole is free (MEM_FREE, PAGE_NOACCESS, no AllocationBase, Type 0)
 *    up to the next mapping;
 *  - both end at the process's highest user address, and an address
 *    above it is STATUS_INVALID_PARAMETER.
 *
 * The file is read afresh at each query (pread from 0: it is bound to the
 * address space, and shared by the threads using the handle).  An empty
 * one is the sign of an address space gone: the process has exited or
 * replaced it with exec().
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"

#define NTVM_PAGE_MASK (~(__u64)4095)

struct ntvm_mapping {
	__u64 start, end;
	int r, w, x;
	int file;
};

/*
 * The whole file, NUL-terminated, in a buffer to free; NULL on error,
 * errno set.
 */
static char *ntvm_maps_read(int fd, size_t *len)
{
	size_t size = 16384;
	char *buf = malloc(size), *bigger;
	ssize_t n;

	*len = 0;
	while (buf) {
		n = pread(fd, buf + *len, size - 1 - *len, (off_t)*len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			free(buf);
			return NULL;
		}
		if (!n)
			break;
		*len += n;
		if (*len == size - 1) {
			size *= 2;
			bigger = realloc(buf, size);
			if (!bigger)
				free(buf);
			buf = bigger;
		}
	}
	if (buf)
		buf[*len] = '\0';
	return buf;
}

/*
 * One line: "start-end perms offset dev inode [path]".  Returns the next
 * line, or NULL at the end or on a line it cannot read.
 */
static const char *ntvm_maps_line(const char *s, struct ntvm_mapping *m,
				  int *view)
{
	const char *path, *eol;
	unsigned long long inode;
	char *end;
	int i;

	m->start = strtoull(s, &end, 16);
	if (*end != '-')
		return NULL;
	m->end = strtoull(end + 1, &end, 16);
	if (*end != ' ' || strlen(end) < 5)
		return NULL;
	m->r = end[1] == 'r';
	m->w = end[2] == 'w';
	m->x = end[3] == 'x';
	/* Past "rwxp ", the offset and the device to the inode. */
	s = end + 6;
	for (i = 0; i < 2; i++) {
		s = strchr(s, ' ');
		if (!s)
			return NULL;
		s++;
	}
	inode = strtoull(s, &end, 10);
	eol = strchr(end, '\n');
	if (!eol)
		eol = end + strlen(end);
	for (path = end; path < eol && *path == ' '; path++)
		;
	m->file = inode || *path == '/';
	/* ntvm's views map its backing file, "/ntvm" on its own mount. */
	if (eol - path >= 5 && !memcmp(path, "/ntvm", 5))
		*view = 1;
	return *eol ? eol + 1 : eol;
}

static __u32 ntvm_mapping_protect(const struct ntvm_mapping *m)
{
	if (m->x)
		return m->w ? PAGE_EXECUTE_READWRITE :
		       m->r ? PAGE_EXECUTE_READ : PAGE_EXECUTE;
	return m->w ? PAGE_READWRITE : m->r ? PAGE_READONLY : PAGE_NOACCESS;
}

/* The region at @page, given the mapping at or after it (or none). */
static void ntvm_maps_describe(__u64 page, __u64 limit,
			       const struct ntvm_mapping *m,
			       struct ntvm_query_args *q)
{
	__u64 end;

	if (m && m->start <= page) {
		__u32 protect = ntvm_mapping_protect(m);

		end = m->end < limit ? m->end : limit;
		q->allocation_base = m->start;
		q->allocation_protect = protect;
		q->state = protect == PAGE_NOACCESS ? MEM_RESERVE : MEM_COMMIT;
		q->protect = protect == PAGE_NOACCESS ? 0 : protect;
		q->type = m->file ? MEM_MAPPED : MEM_PRIVATE;
	} else {
		end = m && m->start < limit ? m->start : limit;
		q->allocation_base = 0;
		q->allocation_protect = 0;
		q->state = MEM_FREE;
		q->protect = PAGE_NOACCESS;
		q->type = 0;
	}
	q->region_size = end - page;
	q->region_flags = 0;
}

NTSTATUS ntvm_maps_query(int maps_fd, __u64 max_address,
			 struct ntvm_query_args *q, int *views)
{
	__u64 page = q->address & NTVM_PAGE_MASK, limit = max_address + 1;
	struct ntvm_mapping m;
	int found = 0;
	const char *s;
	size_t len;
	char *buf;

	*views = 0;
	if (q->address > max_address)
		return STATUS_INVALID_PARAMETER;
#if UINTPTR_MAX <= 0xffffffffu
	/* No region reaches past what a 32-bit caller can address. */
	if (limit > 0x100000000ULL)
		limit = 0x100000000ULL;
#endif
	if (maps_fd < 0)
		return STATUS_ACCESS_DENIED;
	buf = ntvm_maps_read(maps_fd, &len);
	if (!buf)
		return errno == ENOMEM ? STATUS_NO_MEMORY :
					 STATUS_PROCESS_IS_TERMINATING;
	if (!len) {
		free(buf);
		return STATUS_PROCESS_IS_TERMINATING;
	}
	/* The first mapping ending above @page; all lines read, for *views. */
	for (s = buf; s && *s; ) {
		s = ntvm_maps_line(s, &m, views);
		if (s && !found && m.end > page && m.start < limit) {
			found = 1;
			ntvm_maps_describe(page, limit, &m, q);
		}
	}
	if (!found)
		ntvm_maps_describe(page, limit, NULL, q);
	q->base_address = page;
	free(buf);
	return STATUS_SUCCESS;
}
