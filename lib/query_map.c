// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The query map (NTVM_FEATURE_QUERY_MAP): the context's state, which the
 * module maps read-only into the process.  Mapped at first use, once per
 * process, thread-safe; a forked child (which does not inherit the
 * mapping, nor uses its parent's context) maps its own.
 *
 * Nothing answers from it yet: see Documentation/ntvm.rst.
 */
#include <pthread.h>
#include <sys/mman.h>

#include "internal.h"

static pthread_mutex_t ntvm_qmap_lock = PTHREAD_MUTEX_INITIALIZER;
static const struct ntvm_query_map_header *ntvm_qmap;
static int ntvm_qmap_tried;

void ntvm_query_map_child(void)
{
	/* Not inherited (VM_DONTCOPY): the address is free in the child. */
	ntvm_qmap = NULL;
	ntvm_qmap_tried = 0;
	pthread_mutex_init(&ntvm_qmap_lock, NULL);
}

static const struct ntvm_query_map_header *ntvm_query_map_open(void)
{
	const struct ntvm_query_map_header *h;
	void *p;
	int fd;

	fd = ntvm_dev();
	if (fd < 0)
		return NULL;
	p = mmap(NULL, sizeof(*h), PROT_READ, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		return NULL;
	h = p;
	if (h->magic != NTVM_QUERY_MAP_MAGIC ||
	    h->version < NTVM_QUERY_MAP_VERSION) {
		munmap(p, sizeof(*h));
		return NULL;
	}
	return h;
}

const struct ntvm_query_map_header *ntvm_query_map(void)
{
	const struct ntvm_query_map_header *h;

	h = __atomic_load_n(&ntvm_qmap, __ATOMIC_ACQUIRE);
	if (h)
		return h;
	pthread_mutex_lock(&ntvm_qmap_lock);
	if (!ntvm_qmap && !ntvm_qmap_tried) {
		ntvm_qmap_tried = 1;
		__atomic_store_n(&ntvm_qmap, ntvm_query_map_open(),
				 __ATOMIC_RELEASE);
	}
	h = ntvm_qmap;
	pthread_mutex_unlock(&ntvm_qmap_lock);
	return h;
}

int ntvm_query_map_generation(__u64 *generation)
{
	const struct ntvm_query_map_header *h = ntvm_query_map();
	__u64 seq;

	if (!h)
		return -1;
	for (;;) {
		seq = __atomic_load_n(&h->seq, __ATOMIC_ACQUIRE);
		if (seq & 1)
			continue;
		*generation = __atomic_load_n(&h->generation,
					      __ATOMIC_RELAXED);
		/* The reads above before the second read of seq. */
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		if (__atomic_load_n(&h->seq, __ATOMIC_RELAXED) == seq)
			return 0;
	}
}
