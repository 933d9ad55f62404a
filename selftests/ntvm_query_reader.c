// SPDX-License-Identifier: GPL-2.0
/*
 * The library's reader of the query map (lib/query_map.c), on maps made
 * here rather than by the module: the answer it reads from a sane map,
 * field by field, and through VirtualQuery and NtQueryVirtualMemory;
 * "ask the module" where the map says so; and, on a map that makes no
 * sense (as a torn read could, or a bug), no answer, counted as a bad
 * read, whatever an offset in it says.  The map's last byte is followed
 * by a page that cannot be read, so a read past its end faults.  Needs no
 * module: the reader is compiled in here.
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

/* Write @v where the root's entry for @address would be, were it there. */
static void root_past(FIXTURE_DATA(reader) *self, __u64 address, __u32 v)
{
	memcpy((char *)self->h->root + 4 * ((address >> 16) >> 24), &v, 4);
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
	self->h->max_address = ADDR - 1;
	EXPECT_ASK(ADDR);		/* above max_address */
	/*
	 * Granules past 2^32 (addresses past 2^48) are not in the tree,
	 * though max_address would let them be: the words where the root's
	 * entries for them would be (past its end) are not read.
	 */
	self->h->max_address = ~0ULL;
	root_past(self, 1ULL << 48, 8);		/* no tag: invalid */
	root_past(self, (1ULL << 48) + ADDR, 8);
	EXPECT_ASK(1ULL << 48);
	EXPECT_ASK((1ULL << 48) + ADDR);
	root_past(self, 1ULL << 48, 0);
	root_past(self, (1ULL << 48) + ADDR, 0);
	self->h->max_address = 0x7ffffffeffffULL;
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
	__u32 *in_node2 = (__u32 *)(self->map + NODE2) +
			  ((GRANULE >> 8) & 0xff);

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
	self->h->used = 32;		/* not a header: the bounds would wrap */
	*self->leaf = REC | NTVM_QUERY_MAP_RECORD;
	EXPECT_INVALID(ADDR);
	self->h->used = MAP_LEN;
	EXPECT_ANSWER(ADDR);
}

TEST_F(reader, bad_records)
{
	struct ntvm_query_map_run *run = (void *)(self->map + RUNS);

	/* A sane record, 32 bytes off its alignment. */
	memcpy(self->map + REC + 544, self->r, 64);
	*self->leaf = (REC + 544) | NTVM_QUERY_MAP_RECORD;
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
	/* Sane runs, 4 bytes off their alignment. */
	run = (void *)(self->map + RUNS + 4);
	run[0] = (struct ntvm_query_map_run){ ALLOC, NTVM_MEM_RESERVE, 0 };
	run[1] = (struct ntvm_query_map_run){ ALLOC + 0x2000,
					      NTVM_MEM_COMMIT, PAGE_READWRITE };
	self->r->runs = RUNS + 4;
	EXPECT_INVALID(ADDR);
	memset(run, 0, 2 * sizeof(*run));
	run = (void *)(self->map + RUNS);
	self->r->runs = RUNS;
	run[0] = (struct ntvm_query_map_run){ ALLOC + 0x1000,
					      NTVM_MEM_RESERVE, 0 };
	run[1] = (struct ntvm_query_map_run){ ALLOC + 0x2000,
					      NTVM_MEM_COMMIT, PAGE_READWRITE };
	EXPECT_INVALID(ADDR);		/* the first run starts after it */
	run[0].start = ALLOC;
	self->r->base = ALLOC + 0x1000;
	EXPECT_INVALID(ALLOC + 0x1100);	/* ... or before the record */
	self->r->base = ALLOC;
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

/* The API's calls that answer from the map, and what they count. */
TEST_F(reader, api)
{
	unsigned long hits = ntvm_query_map_hits;
	MEMORY_BASIC_INFORMATION mbi, untouched;
	SIZE_T len = 0;

	memset(&mbi, 0xaa, sizeof(mbi));
	ASSERT_EQ(sizeof(mbi), VirtualQuery((void *)ADDR, &mbi, sizeof(mbi)));
	EXPECT_EQ((void *)ALLOC, mbi.BaseAddress);
	EXPECT_EQ((void *)ALLOC, mbi.AllocationBase);
	EXPECT_EQ(PAGE_READWRITE, mbi.AllocationProtect);
	EXPECT_EQ(0x40000, mbi.RegionSize);
	EXPECT_EQ(MEM_RESERVE, mbi.State);
	EXPECT_EQ(0, mbi.Protect);
	EXPECT_EQ(MEM_PRIVATE, mbi.Type);
	EXPECT_EQ(hits + 1, ntvm_query_map_hits);

	memset(&mbi, 0xaa, sizeof(mbi));
	SetLastError(1234);
	ASSERT_EQ(sizeof(mbi), VirtualQueryEx(GetCurrentProcess(),
					      (void *)(ALLOC + 0x2345), &mbi,
					      sizeof(mbi) + 8));
	EXPECT_EQ(1234, GetLastError());
	EXPECT_EQ((void *)(ALLOC + 0x2000), mbi.BaseAddress);
	EXPECT_EQ(0x3e000, mbi.RegionSize);
	EXPECT_EQ(hits + 2, ntvm_query_map_hits);

	memset(&mbi, 0xaa, sizeof(mbi));
	EXPECT_EQ(STATUS_SUCCESS,
		  NtQueryVirtualMemory(NtCurrentProcess(), (void *)ADDR,
				       MemoryBasicInformation, &mbi,
				       sizeof(mbi), &len));
	EXPECT_EQ(sizeof(mbi), len);
	EXPECT_EQ((void *)ALLOC, mbi.AllocationBase);
	EXPECT_EQ(hits + 3, ntvm_query_map_hits);

	/* Wrong arguments: the errors, the map not read. */
	EXPECT_EQ(0, VirtualQuery((void *)ADDR, &mbi, sizeof(mbi) - 1));
	EXPECT_EQ(ERROR_BAD_LENGTH, GetLastError());
	EXPECT_EQ(0, VirtualQuery((void *)ADDR, NULL, sizeof(mbi)));
	EXPECT_EQ(ERROR_NOACCESS, GetLastError());
	EXPECT_EQ(STATUS_INVALID_INFO_CLASS,
		  NtQueryVirtualMemory(NtCurrentProcess(), (void *)ADDR,
				       MemoryBasicInformation + 1, &mbi,
				       sizeof(mbi), &len));
	EXPECT_EQ(hits + 3, ntvm_query_map_hits);

	/* Not answered: untouched, not counted. */
	memset(&mbi, 0xaa, sizeof(mbi));
	memset(&untouched, 0xaa, sizeof(untouched));
	EXPECT_EQ(0, ntvm_query_map_mbi(ALLOC_END, &mbi));
	EXPECT_EQ(0, memcmp(&mbi, &untouched, sizeof(mbi)));
	EXPECT_EQ(hits + 3, ntvm_query_map_hits);
	EXPECT_EQ(self->bad, ntvm_query_map_bad);

	/*
	 * A map that makes no sense is read once; then the module is asked
	 * (whatever it answers, or fails with, here).
	 */
	*self->leaf = REC;
	VirtualQuery((void *)ADDR, &mbi, sizeof(mbi));
	EXPECT_EQ(self->bad + 1, ntvm_query_map_bad);
	NtQueryVirtualMemory(NtCurrentProcess(), (void *)ADDR,
			     MemoryBasicInformation, &mbi, sizeof(mbi), &len);
	EXPECT_EQ(self->bad + 2, ntvm_query_map_bad);
	EXPECT_EQ(hits + 3, ntvm_query_map_hits);
}

TEST_HARNESS_MAIN
