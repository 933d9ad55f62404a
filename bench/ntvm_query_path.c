// SPDX-License-Identifier: GPL-2.0
/*
 * The library's VirtualQuery path alone, timed: the query map's reader is
 * compiled in and pointed at a map made here (one reservation found
 * through the root and three nodes, as query_1's is), so no module is
 * needed and nothing but the library's code is measured; getppid() is
 * timed beside it.  Fifteen rounds each, in turn; the medians.  Built
 * against two versions of lib/, it compares them in one VM boot, which
 * make bench (one boot per run, ±5 % between boots) cannot do.
 *
 *	make query-path		(in the VM; or run build/bench/ntvm_query_path)
 */
#include <stdio.h>

#include "../lib/query_map.c"
#include "bench_time.h"

#define ROUNDS	15
#define N	20000
#define ALLOC	0x7f1234560000ULL
#define ADDR	(ALLOC + 0x100)

/* The map: header, three nodes at 4 KiB, the record at 8 KiB. */
static void make_map(char *map, size_t len)
{
	struct ntvm_query_map_header *h = (void *)map;
	struct ntvm_query_map_record *r = (void *)(map + 8192);
	__u64 g = ADDR >> 16;
	__u32 node = 4096;
	int shift;

	h->magic = NTVM_QUERY_MAP_MAGIC;
	h->version = NTVM_QUERY_MAP_VERSION;
	h->map_size = len;
	h->used = len;
	h->max_address = 0x7ffffffeffffULL;
	h->root[g >> 24] = node | NTVM_QUERY_MAP_NODE;
	for (shift = 16; shift >= 8; shift -= 8, node += 1024)
		((__u32 *)(map + node))[(g >> shift) & 0xff] =
			(node + 1024) | NTVM_QUERY_MAP_NODE;
	((__u32 *)(map + node))[g & 0xff] = 8192 | NTVM_QUERY_MAP_RECORD;
	r->base = ALLOC;
	r->end = ALLOC + 0x10000;
	r->nr_runs = 1;
	r->allocation_protect = PAGE_READWRITE;
	r->type = NTVM_MEM_PRIVATE;
	r->state = NTVM_MEM_RESERVE;
	ntvm_qmap_mapping.h = h;
	ntvm_qmap_mapping.len = len;
	ntvm_qmap_mapping.page_mask = ~4095ULL;
	ntvm_qmap = &ntvm_qmap_mapping;
	ntvm_qmap_tried = 1;
}

int main(void)
{
	static char map[1 << 16] __attribute__((aligned(4096)));
	double q[ROUNDS], b[ROUNDS], t;
	MEMORY_BASIC_INFORMATION mbi;
	int i, k;

	make_map(map, sizeof(map));
	for (k = 0; k < ROUNDS; k++) {
		t = now_ns();
		for (i = 0; i < N; i++)
			if (VirtualQuery((void *)ADDR, &mbi, sizeof(mbi)) !=
			    sizeof(mbi) || mbi.State != MEM_RESERVE)
				return 1;
		q[k] = (now_ns() - t) / N;
		t = now_ns();
		for (i = 0; i < N; i++)
			getppid();
		b[k] = (now_ns() - t) / N;
	}
	printf("VirtualQuery from a map in memory %.1f ns, getppid() %.1f ns, ratio %.2f\n",
	       median(q, ROUNDS), median(b, ROUNDS),
	       median(q, ROUNDS) / median(b, ROUNDS));
	return 0;
}
