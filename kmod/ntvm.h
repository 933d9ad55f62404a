/* SPDX-License-Identifier: GPL-2.0 */
/*
 * ntvm internals.
 *
 * A context (one open of /dev/ntvm) owns:
 *
 *  - allocations: the NT "VADs", in an rbtree keyed by base address,
 *    touched only under @op_lock (an rbtree needs no memory to insert or
 *    erase, so no failure can come after a view has changed);
 *  - page state: one byte per page, in 2048-page chunks kept in an xarray
 *    indexed by (address >> PAGE_SHIFT) / NTVM_CHUNK_PAGES, so that the
 *    fault path finds it in O(1) without knowing the allocation;
 *  - one shmem file backing every page, at file offset == virtual address
 *    + one page (see ntvm_file_pos()), mapped MAP_SHARED into views.  A
 *    view is a VMA whose vm_ops are ours.
 *    Non-executable pages of an allocation share one "data" view; runs of
 *    executable pages live in "exec" views (VM_EXEC).  Protection below
 *    that (no access, read-only, read-write, guard) is enforced per page by
 *    the fault and page_mkwrite handlers, not by splitting VMAs.
 *
 * Locking, outermost first:
 *   op_lock (mutex; every ioctl; held across vm_mmap/vm_munmap)
 *     -> mmap_lock (taken by vm_mmap/vm_munmap, faults, queries)
 *       -> folio lock (faults)
 *         -> chunk->lock (spinlock; page-state bytes)
 * The fault path takes only the folio lock and chunk->lock.
 */
#ifndef _NTVM_H
#define _NTVM_H

#include <linux/mm.h>
#include <linux/mutex.h>
#include <linux/rbtree.h>
#include <linux/spinlock.h>
#include <linux/types.h>
#include <linux/xarray.h>
#include <linux/ntvm.h>

#define NTVM_GRANULARITY	0x10000UL
#define NTVM_MIN_ADDRESS	0x10000UL
/* Windows x64's highest user address; also below Linux's TASK_SIZE. */
#define NTVM_MAX_ADDRESS	0x7FFFFFFEFFFFUL

/*
 * How often an undo (mapping a view back, unmapping a new one) is tried
 * before giving up: each try makes several small allocations, any of which
 * can fail for an OOM victim or under fault injection.
 */
#define NTVM_UNDO_TRIES		32

/* Page-state byte. */
#define NTVM_PS_PROT_MASK	0x07	/* enum ntvm_prot, 0: not committed */
#define NTVM_PS_GUARD		0x08

enum ntvm_prot {
	NTVM_PROT_NONE = 0,	/* not committed */
	NTVM_PROT_NOACCESS,
	NTVM_PROT_READONLY,
	NTVM_PROT_READWRITE,
	NTVM_PROT_EXECUTE,
	NTVM_PROT_EXECUTE_READ,
	NTVM_PROT_EXECUTE_READWRITE,
};

/* 2048 pages (8 MiB of address space) a chunk: one 4 KiB slab object. */
#define NTVM_CHUNK_SHIFT	11
#define NTVM_CHUNK_PAGES	BIT(NTVM_CHUNK_SHIFT)

/* Chunks kept, with no committed page, for the next commit nearby. */
#define NTVM_IDLE_CHUNKS	16

struct ntvm_chunk {
	spinlock_t lock;	/* writers of state[] */
	unsigned int committed;	/* pages with a non-zero state; op_lock */
	bool idle;		/* kept empty, counted in idle_chunks; op_lock */
	struct rcu_head rcu;
	u8 state[NTVM_CHUNK_PAGES];
};

/* An allocation (NT VAD): [base, base + size). */
struct ntvm_alloc {
	struct rb_node node;
	unsigned long base;
	unsigned long size;
	u32 alloc_protect;	/* AllocationProtect, as given */
	bool broken;		/* a view change failed half-way */
};

struct ntvm_ctx {
	struct mm_struct *mm;		/* mmgrab()ed owner */
	struct file *backing;		/* shmem, offset == address */
	struct mutex op_lock;
	struct task_struct *op_task;	/* current inside our own vm_mmap */
	bool op_exec;			/* ...mapping an exec view */
	bool moving;			/* views moved, states not yet set */
	struct rb_root allocs;		/* of struct ntvm_alloc; op_lock */
	struct xarray chunks;		/* of struct ntvm_chunk */
	unsigned int idle_chunks;	/* op_lock */
	unsigned long committed;	/* pages; op_lock */
	const struct vm_operations_struct *shmem_vm_ops;
};

/* main.c */
void ntvm_ctx_free(struct ntvm_ctx *ctx);
extern atomic_long_t ntvm_nr_contexts;
extern atomic_long_t ntvm_nr_allocs;

/* prot.c */
int ntvm_prot_from_win(u32 protect, enum ntvm_prot *prot, bool *guard);
u32 ntvm_prot_to_win(u8 state);
bool ntvm_prot_is_exec(u8 state);
bool ntvm_prot_readable(u8 state);
bool ntvm_prot_writable(u8 state);

/* pages.c */
u8 ntvm_page_state(struct ntvm_ctx *ctx, unsigned long addr);
int ntvm_pages_prepare(struct ntvm_ctx *ctx, unsigned long start,
		       unsigned long end);
void ntvm_pages_set(struct ntvm_ctx *ctx, unsigned long start,
		    unsigned long end, u8 state);
unsigned long ntvm_pages_count_committed(struct ntvm_ctx *ctx,
					 unsigned long start,
					 unsigned long end);
unsigned long ntvm_pages_run(struct ntvm_ctx *ctx, unsigned long start,
			     unsigned long end, u8 *state);
void ntvm_pages_trim(struct ntvm_ctx *ctx, unsigned long start,
		     unsigned long end);
void ntvm_pages_destroy(struct ntvm_ctx *ctx);
bool ntvm_page_fault_check(struct ntvm_ctx *ctx, unsigned long addr,
			   bool write);

/* charge.c */
void ntvm_charge_init(void);
bool ntvm_charge(struct ntvm_ctx *ctx, unsigned long pages);
void ntvm_uncharge(struct ntvm_ctx *ctx, unsigned long pages);
unsigned long ntvm_commit_limit(void);
unsigned long ntvm_committed_global(void);

/* view.c */
int ntvm_backing_init(void);
void ntvm_backing_exit(void);
int ntvm_backing_create(struct ntvm_ctx *ctx);
int ntvm_view_map(struct ntvm_ctx *ctx, unsigned long start,
		  unsigned long end, bool exec, bool replace);
int ntvm_view_unmap(struct ntvm_ctx *ctx, unsigned long start,
		    unsigned long end);
void ntvm_view_revoke(struct ntvm_ctx *ctx, unsigned long start,
		      unsigned long end);
void ntvm_view_discard(struct ntvm_ctx *ctx, unsigned long start,
		       unsigned long end);
bool ntvm_view_has_pages(struct ntvm_ctx *ctx, unsigned long start,
			 unsigned long end);
unsigned long ntvm_view_find_free(struct ntvm_ctx *ctx, unsigned long len);
bool ntvm_vma_is_ours(struct ntvm_ctx *ctx, struct vm_area_struct *vma);

/* alloc.c, free.c, protect.c, query.c: the NT services */
/* tree.c */
struct ntvm_alloc *ntvm_alloc_find(struct ntvm_ctx *ctx, unsigned long addr);
struct ntvm_alloc *ntvm_alloc_next(struct ntvm_ctx *ctx, unsigned long addr);
void ntvm_alloc_insert(struct ntvm_ctx *ctx, struct ntvm_alloc *a);
void ntvm_alloc_erase(struct ntvm_ctx *ctx, struct ntvm_alloc *a);
static inline unsigned long ntvm_alloc_end(const struct ntvm_alloc *a)
{
	return a->base + a->size;
}

/* state.c: page-state changes with their views, charge and revocation */
u32 ntvm_apply_state(struct ntvm_ctx *ctx, unsigned long start,
		     unsigned long end, u8 state);
u32 ntvm_commit(struct ntvm_ctx *ctx, unsigned long start,
		unsigned long end, u8 state);
u32 ntvm_decommit(struct ntvm_ctx *ctx, unsigned long start,
		  unsigned long end);
u32 ntvm_release(struct ntvm_ctx *ctx, struct ntvm_alloc *a,
		 unsigned long start, unsigned long end);
bool ntvm_alloc_intact(struct ntvm_ctx *ctx, struct ntvm_alloc *a);
struct ntvm_alloc *ntvm_alloc_live(struct ntvm_ctx *ctx, unsigned long addr);
bool ntvm_range_taken(struct ntvm_ctx *ctx, unsigned long start,
		      unsigned long end);

/* the NT services: alloc.c, free.c, protect.c, query.c */
u32 ntvm_page_protect(const struct ntvm_alloc *a, u8 state);
u32 ntvm_nt_allocate(struct ntvm_ctx *ctx, struct ntvm_alloc_args *args);
u32 ntvm_nt_free(struct ntvm_ctx *ctx, struct ntvm_free_args *args);
u32 ntvm_nt_protect(struct ntvm_ctx *ctx, struct ntvm_protect_args *args);
u32 ntvm_nt_query(struct ntvm_ctx *ctx, struct ntvm_query_args *args);

#endif /* _NTVM_H */
