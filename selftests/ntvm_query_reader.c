// SPDX-License-Identifier: GPL-2.0
/*
 * The library's reader of the query map (lib/query_map.c), on maps made
 * here rather than by the module: the answer it reads from a sane map,
 * field by field; "ask the module" where the map says so; and, on a map
 * that makes no sense (as a torn read could, or a bug), no answer and no
 * read outside the bytes that exist, whatever an offset in it says.  The
 * map's last byte is followed by a page that cannot be read, so a read
 * past @used faults.  Needs no module: the reader is compiled in here.
 */
#include <sys/mman.h>

#include "../lib/query_map.c"

#include "kselftest_harness.h"

#define MAP_LEN		(16 * 4096UL)
#define NODE1		4096UL	/* the three nodes' offsets */
#define NODE2		5120UL
#define NODE3		6144UL
#define REC		8192UL	/* the record's offset */
#define RUNS		8256UL	/* its runs' offset */
#define ALLOC		0x7f1234560000ULL
#define ALLOC_END	(ALLOC + 0x40000)
#define ADDR		(ALLOC + 0x100)
#define GRANULE		(ADDR >> 16)

FIXTURE(reader) {
	char *map;
	struct ntvm_query_map_header *h;
	struct ntvm_query_map_record *r;
	__u32 *leaf;	/* ADDR's entry in the last node */
	struct ntvm_query_args q;
	unsigned long bad;
};

/*
 * A sane map: one reservation of 256 KiB at ALLOC, reserved with one run,
 * found through the root and three nodes.
 */
FIXTURE_SETUP(reader)
{
	char *p = mmap(NULL, MAP_LEN + 4096, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	ASSERT_NE(MAP_FAILED, p);
	ASSERT_EQ(0, mprotect(p + MAP_LEN, 4096, PROT_NONE));
	self->map = p;
	self->h = (void *)p;
	self->h->magic = NTVM_QUERY_MAP_MAGIC;
	self->h->version = NTVM_QUERY_MAP_VERSION;
	self->h->map_size = MAP_LEN;
	self->h->used = MAP_LEN;
	self->h->max_address = 0x7ffffffeffffULL;
	self->h->root[GRANULE >> 24] = NODE1 | NTVM_QUERY_MAP_NODE;
	((__u32 *)(p + NODE1))[(GRANULE >> 16) & 0xff] =
		NODE2 | NTVM_QUERY_MAP_NODE;
	((__u32 *)(p + NODE2))[(GRANULE >> 8) & 0xff] =
		NODE3 | NTVM_QUERY_MAP_NODE;
	self->leaf = (__u32 *)(p + NODE3) + (GRANULE & 0xff);
	*self->leaf = REC | NTVM_QUERY_MAP_RECORD;
	self->r = (void *)(p + REC);
	self->r->base = ALLOC;
	self->r->end = ALLOC_END;
	self->r->nr_runs = 1;
	self->r->allocation_protect = PAGE_READWRITE;
	self->r->type = NTVM_MEM_PRIVATE;
	self->r->state = NTVM_MEM_RESERVE;
	ntvm_qmap_mapping.h = self->h;
	ntvm_qmap_mapping.len = MAP_LEN;
	ntvm_qmap_mapping.page_mask = ~4095ULL;
	ntvm_qmap = &ntvm_qmap_mapping;
	ntvm_qmap_tried = 1;
	memset(&self->q, 0xaa, sizeof(self->q));
	self->bad = ntvm_query_map_bad;
}

FIXTURE_TEARDOWN(reader)
{
	ntvm_qmap = NULL;
	munmap(self->map, MAP_LEN + 4096);
}

/* The map answers: 1, and nothing counted as a bad read. */
#define EXPECT_ANSWER(a) do {						\
	EXPECT_EQ(1, ntvm_query_map_lookup((a), &self->q));		\
	EXPECT_EQ(self->bad, ntvm_query_map_bad);			\
} while (0)

/* The map says to ask the module: 0, not counted as bad. */
#define EXPECT_ASK(a) do {						\
	EXPECT_EQ(0, ntvm_query_map_lookup((a), &self->q));		\
	EXPECT_EQ(self->bad, ntvm_query_map_bad);			\
} while (0)

/* A map that makes no sense: 0, counted once. */
#define EXPECT_INVALID(a) do {						\
	EXPECT_EQ(0, ntvm_query_map_lookup((a), &self->q));		\
	EXPECT_EQ(self->bad + 1, ntvm_query_map_bad);			\
	self->bad = ntvm_query_map_bad;					\
} while (0)

TEST_F(reader, one_run)
{
	EXPECT_ANSWER(ADDR);
	EXPECT_EQ(ADDR, self->q.address);
	EXPECT_EQ(ALLOC, self->q.base_address);
	EXPECT_EQ(ALLOC, self->q.allocation_base);
	EXPECT_EQ(PAGE_READWRITE, self->q.allocation_protect);
	EXPECT_EQ(0x40000, self->q.region_size);
	EXPECT_EQ(NTVM_MEM_RESERVE, self->q.state);
	EXPECT_EQ(0, self->q.protect);
	EXPECT_EQ(NTVM_MEM_PRIVATE, self->q.type);
	EXPECT_EQ(0, self->q.region_flags);
	EXPECT_EQ(NTVM_STATUS_SUCCESS, self->q.status);
	EXPECT_EQ(0, self->q.flags);
	EXPECT_EQ(0, self->q.pad);
}

TEST_F(reader, runs)
{
	struct ntvm_query_map_run *run = (void *)(self->map + RUNS);

	self->r->nr_runs = 3;
	self->r->runs = RUNS;
	run[0] = (struct ntvm_query_map_run){ ALLOC, NTVM_MEM_RESERVE, 0 };
	run[1] = (struct ntvm_query_map_run){ ALLOC + 0x3000, NTVM_MEM_COMMIT,
					      PAGE_READONLY | PAGE_GUARD };
	run[2] = (struct ntvm_query_map_run){ ALLOC + 0x5000, NTVM_MEM_COMMIT,
					      PAGE_READWRITE };

	EXPECT_ANSWER(ADDR);
	EXPECT_EQ(ALLOC, self->q.base_address);
	EXPECT_EQ(0x3000, self->q.region_size);
	EXPECT_EQ(NTVM_MEM_RESERVE, self->q.state);
	EXPECT_EQ(0, self->q.protect);
	EXPECT_ANSWER(ALLOC + 0x4fff);
	EXPECT_EQ(ALLOC + 0x4000, self->q.base_address);
	EXPECT_EQ(0x1000, self->q.region_size);
	EXPECT_EQ(NTVM_MEM_COMMIT, self->q.state);
	EXPECT_EQ(PAGE_READONLY | PAGE_GUARD, self->q.protect);
	EXPECT_ANSWER(ALLOC + 0x5000);
	EXPECT_EQ(ALLOC + 0x5000, self->q.base_address);
	EXPECT_EQ(0x3b000, self->q.region_size);
	EXPECT_EQ(NTVM_MEM_COMMIT, self->q.state);
	EXPECT_EQ(PAGE_READWRITE, self->q.protect);
	EXPECT_EQ(ALLOC, self->q.allocation_base);
}

/* The node and the record at the very end of @used are read. */
TEST_F(reader, last_bytes)
{
	__u64 node = MAP_LEN - 1024, rec = MAP_LEN - 64;

	memcpy(self->map + node, self->map + NODE3, 1024);
	memcpy(self->map + rec, self->r, 64);
	((__u32 *)(self->map + node))[GRANULE & 0xff] =
		rec | NTVM_QUERY_MAP_RECORD;
	((__u32 *)(self->map + NODE2))[(GRANULE >> 8) & 0xff] =
		node | NTVM_QUERY_MAP_NODE;
	EXPECT_ANSWER(ADDR);
	EXPECT_EQ(0x40000, self->q.region_size);
}

TEST_F(reader, asks)
{
	EXPECT_ASK(ALLOC - 1);		/* no entry there */
	EXPECT_ASK(ALLOC_END);		/* no entry there */
	self->r->end = ALLOC + 0x8000;
	EXPECT_ASK(ALLOC + 0x8000);	/* in the granule, past the record */
	self->r->end = ALLOC_END;
	self->r->base = ALLOC + 0x200;
	EXPECT_ASK(ADDR);		/* before it */
	self->r->base = ALLOC;
	EXPECT_ASK(0x7fffffff0000ULL);	/* above max_address */
	EXPECT_ASK(1ULL << 48);
	self->h->pending = 1;
	EXPECT_ASK(ADDR);
	self->h->pending = 0;
	self->r->flags = NTVM_QUERY_MAP_RECORD_SLOW;
	EXPECT_ASK(ADDR);
	self->r->flags = 0;
	*self->leaf = NTVM_QUERY_MAP_SLOW;
	EXPECT_ASK(ADDR);
	*self->leaf = 0;
	EXPECT_ASK(ADDR);
	/* A change that does not end: asked, after a bounded wait. */
	*self->leaf = REC | NTVM_QUERY_MAP_RECORD;
	self->h->seq = 1;
	EXPECT_ASK(ADDR);
	self->h->seq = 2;
	EXPECT_ANSWER(ADDR);
}

TEST_F(reader, bad_nodes)
{
	__u32 *in_node2 = (__u32 *)(self->map + NODE2) + ((GRANULE >> 8) & 0xff);

	*in_node2 = (NODE3 + 4) | NTVM_QUERY_MAP_NODE;	/* not aligned */
	EXPECT_INVALID(ADDR);
	*in_node2 = MAP_LEN | NTVM_QUERY_MAP_NODE;	/* past @used */
	EXPECT_INVALID(ADDR);
	*in_node2 = 0xfffffc00 | NTVM_QUERY_MAP_NODE;
	EXPECT_INVALID(ADDR);
	/* The last node cut short by a byte, its entry sane. */
	memcpy(self->map + MAP_LEN - 1024, self->map + NODE3, 1024);
	*in_node2 = (MAP_LEN - 1024) | NTVM_QUERY_MAP_NODE;
	self->h->used = MAP_LEN - 1;
	EXPECT_INVALID(ADDR);
	self->h->used = MAP_LEN;
	EXPECT_ANSWER(ADDR);
	*in_node2 = NODE3 | NTVM_QUERY_MAP_NODE;
	self->h->used = MAP_LEN + 4096;			/* past the mapping */
	self->h->root[GRANULE >> 24] = MAP_LEN | NTVM_QUERY_MAP_NODE;
	EXPECT_INVALID(ADDR);
	self->h->root[GRANULE >> 24] = NODE1 | NTVM_QUERY_MAP_NODE;
	self->h->used = MAP_LEN;
	*self->leaf = NODE1 | NTVM_QUERY_MAP_NODE;	/* a fourth level */
	EXPECT_INVALID(ADDR);
	*self->leaf = REC;				/* no tag */
	EXPECT_INVALID(ADDR);
	self->h->used = 32;				/* not even a record */
	*self->leaf = REC | NTVM_QUERY_MAP_RECORD;
	EXPECT_INVALID(ADDR);
	self->h->used = MAP_LEN;
	EXPECT_ANSWER(ADDR);
}

TEST_F(reader, bad_records)
{
	struct ntvm_query_map_run *run = (void *)(self->map + RUNS);

	*self->leaf = (REC + 32) | NTVM_QUERY_MAP_RECORD;	/* not aligned */
	EXPECT_INVALID(ADDR);
	*self->leaf = MAP_LEN | NTVM_QUERY_MAP_RECORD;		/* past @used */
	EXPECT_INVALID(ADDR);
	*self->leaf = REC | NTVM_QUERY_MAP_RECORD;
	self->h->used = REC + 63;				/* cut short */
	EXPECT_INVALID(ADDR);
	self->h->used = MAP_LEN;
	self->r->state = NTVM_MEM_COMMIT | NTVM_MEM_RESERVE;
	EXPECT_INVALID(ADDR);
	self->r->state = NTVM_MEM_RESERVE;

	self->r->nr_runs = 0;
	EXPECT_INVALID(ADDR);
	self->r->nr_runs = 2;
	self->r->runs = MAP_LEN - 16;				/* one fits */
	EXPECT_INVALID(ADDR);
	self->r->runs = RUNS + 4;				/* not aligned */
	EXPECT_INVALID(ADDR);
	self->r->runs = RUNS;
	run[0] = (struct ntvm_query_map_run){ ALLOC + 0x1000,
					      NTVM_MEM_RESERVE, 0 };
	run[1] = (struct ntvm_query_map_run){ ALLOC + 0x2000,
					      NTVM_MEM_COMMIT, PAGE_READWRITE };
	EXPECT_INVALID(ADDR);		/* the first run starts after it */
	run[0].start = ALLOC;
	run[1].start = ALLOC_END + 0x1000;
	EXPECT_INVALID(ADDR);		/* the next run past the end */
	run[1].start = ALLOC + 0x2000;
	run[0].state = 0;
	EXPECT_INVALID(ADDR);
	run[0].state = NTVM_MEM_RESERVE;
	EXPECT_ANSWER(ADDR);
	EXPECT_EQ(0x2000, self->q.region_size);
}

TEST_HARNESS_MAIN
