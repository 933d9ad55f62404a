/* SPDX-License-Identifier: GPL-2.0 */
/*
 * ntvm internals.
 *
 * DOC: Map of kmod/
 *
 * Each layer calls only the layers below it:
 *
 *   main.c        the misc device /dev/ntvm: open, release, ioctl dispatch,
 *                 mmap of the query map
 *   context.c     a context's whole life: creation with its backing file
 *                 on ntvm's private tmpfs, and freeing it when the last
 *                 view and fd are gone
 *   backing.c     the backing file's operations: its mmap makes each new
 *                 mapping a view (->mmap_prepare or ->mmap), its release
 *                 frees the context
 *   nt_allocate.c NtAllocateVirtualMemory: reserve, commit, reset
 *   nt_allocate_ex.c NtAllocateVirtualMemoryEx: its extended parameters
 *   nt_free.c     NtFreeVirtualMemory: decommit, release
 *   nt_protect.c  NtProtectVirtualMemory
 *   nt_query.c    NtQueryVirtualMemory(MemoryBasicInformation)
 *   nt_write_watch.c NtGetWriteWatch, NtResetWriteWatch
 *   nt_lock.c     NtLockVirtualMemory, NtUnlockVirtualMemory, the
 *                 working-set limits (the lock quota)
 *   query_map_sync.c  the query map brought up to date from the
 *                 allocations and page states as each service ends
 *   query_map_notifier.c  views the process unmaps itself (an MMU
 *                 notifier), which the query map must look at again
 *   --- the services above validate and round, then call:
 *   vad.c         allocations (NT's VADs) by address: reserve, release
 *                 and split, placeholders (replace, free back, split,
 *                 coalesce), lookup, and liveness (an allocation whose
 *                 views userspace unmapped is forgotten when next changed)
 *   arena.c       the arenas: free space kept mapped, where allocations
 *                 are placed without a VMA operation
 *   change.c      state changes of page ranges, keeping page states,
 *                 views, commit charge and PTEs in step
 *   --- which call:
 *   space.c       the address-space map: allocations and the ranges
 *                 outside the arenas, with the free gaps between them
 *   pagestate.c   one state byte a page, in chunks found by address
 *   view.c        the VMAs (views) of the backing: map, unmap, revoke,
 *                 discard, and the one walker over the VMAs of a range
 *   remote.c      the view changes view.c makes for another process: run
 *                 in a kernel worker, in the owner's address space
 *   charge.c      the commit charge, per user and per context, and
 *                 their limits
 *   lock.c        locked pages: a folio reference each, which keeps the
 *                 page out of swap, counted against RLIMIT_MEMLOCK
 *   reset.c       MEM_RESET and MEM_RESET_UNDO: the references held on
 *                 reset pages, and the shrinker that discards them when
 *                 memory is needed
 *   fault.c       the views' vm_operations: every fault decided from the
 *                 page state
 *   guard.c       guard pages tripped by the kernel: the rest of that
 *                 system call fails on the page too
 *   query_map.c   the query map: the state queries report, mapped
 *                 read-only into the process; its header, sequence
 *                 count and generation, and the ranges space.c, vad.c,
 *                 change.c and pagestate.c changed (pending)
 *   query_map_store.c the map's pages and blocks, by offset
 *   query_map_tree.c  the map's radix tree of 64 KiB granules
 *   protection.c  Windows protections <-> the page-state encoding
 *
 * ntvmstat's generic netlink family, beside the services:
 *
 *   netlink.c     the family "ntvm" (uapi/linux/ntvm_netlink.h): system
 *                 figures, a row per context, the dump of allocations
 *   registry.c    the live contexts by id
 *   stats.c       (a service, like nt_query.c) a context's figures:
 *                 allocations and the runs of pages inside them
 *   event.c       (called from charge.c and vad.c) the family's
 *                 rate-limited multicast events
 *
 * A context (one open of /dev/ntvm) owns:
 *
 *  - the address-space map (space.c): allocations (the NT "VADs") and
 *    ranges outside the arenas, in an augmented rbtree keyed by address,
 *    changed only under @op_lock (an rbtree needs no memory to insert or
 *    erase, so no failure can come after a view has changed);
 *  - arenas (arena.c): the free space between the extents of the map,
 *    mapped by data views, so that a reservation or a release changes no
 *    VMA and a million allocations share a few VMAs;
 *  - page state: one byte per page, in 2048-page chunks kept in an xarray
 *    indexed by (address >> PAGE_SHIFT) / NTVM_CHUNK_PAGES, so that the
 *    fault path finds it in O(1) without knowing the allocation;
 *  - one shmem file backing every page, at file offset == virtual address
 *    + one page (see ntvm_file_pos()), mapped MAP_SHARED into views.  A
 *    view is a VMA whose vm_ops are ours.
 *    Non-executable pages and free arena space share "data" views; runs of
 *    executable pages live in "exec" views (VM_EXEC).  Protection below
 *    that (no access, read-only, read-write, guard) is enforced per page by
 *    the fault and page_mkwrite handlers, not by splitting VMAs.
 *
 * Locking, outermost first:
 *   op_lock (mutex; every ioctl; held across vm_mmap/vm_munmap, and
 *            across the wait for a remote.c worker doing them)
 *     -> mmap_lock (taken by vm_mmap/vm_munmap, faults, queries)
 *       -> folio lock (faults)
 *         -> chunk->lock (spinlock; page-state bytes)
 *       -> map_lock (spinlock; changes of the map, under op_lock; the
 *          VMA hooks, under mmap_lock alone)
 *   qmap.lock (raw spinlock, so that a writer is never preempted while
 *              userspace readers spin: the query map's sequence count,
 *              generation and pending ranges; taken under op_lock, in the
 *              fault path tripping a guard page (before and after
 *              chunk->lock, never under it), and in the MMU notifier
 *              (after map_lock, never under it); nothing is taken under
 *              it.  The rest of the map changes under op_lock alone.)
 * The fault path takes only the folio lock and chunk->lock, and, with
 * neither held, guard.c's lock of its records.  Nothing that holds
 * mmap_lock or a folio lock waits for op_lock or for a remote.c worker.
 */
#ifndef _NTVM_H
#define _NTVM_H

#include <linux/mm.h>
#include <linux/mmu_notifier.h>
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
	spinlock_t lock;	/* writers of state[] and the bitmaps */
	unsigned int committed;	/* pages with a non-zero state; op_lock */
	bool idle;		/* kept empty, counted in idle_chunks; op_lock */
	struct rcu_head rcu;
	u8 state[NTVM_CHUNK_PAGES];
	/* Write watch: written since the last reset (see pagestate.c). */
	DECLARE_BITMAP(written, NTVM_CHUNK_PAGES);
	/* Written before a protection change: survives a decommit. */
	DECLARE_BITMAP(latched, NTVM_CHUNK_PAGES);
	/* MEM_RESET: discarded since the reset (see reset.c). */
	DECLARE_BITMAP(lost, NTVM_CHUNK_PAGES);
};

/* The per-page bitmaps of a chunk that reset.c uses. */
enum ntvm_page_mark {
	NTVM_MARK_LOST,
};

/*
 * A range [start, end) of the address-space map (space.c): an allocation,
 * or space outside the arenas.
 */
struct ntvm_extent {
	struct rb_node node;
	unsigned long start;
	unsigned long end;
	unsigned long gap;	/* free arena space before it, 64 KiB aligned */
	unsigned long gap_max;	/* the largest gap of its subtree */
	bool outside;		/* not an allocation */
	bool given_up;		/* outside: the process unmapped or mapped it */
	u8 qeager;		/* allocation: changes its record follows still */
	bool qbig;		/* allocation: too many runs, until it changes */
	u32 qrec;		/* allocation: its record in the query map, 0 */
};

/* An allocation (NT VAD): its extent is [base, end). */
struct ntvm_vad {
	struct ntvm_extent ext;
	u32 alloc_protect;	/* AllocationProtect, as given */
	bool broken;		/* a view change failed half-way */
	bool write_watch;	/* MEM_WRITE_WATCH */
	bool has_exec;		/* has had executable pages */
	bool placeholder;	/* a placeholder, not replaced */
	bool replaced;		/* replaced a placeholder: may become one */
};

static inline unsigned long ntvm_vad_base(const struct ntvm_vad *vad)
{
	return vad->ext.start;
}

static inline unsigned long ntvm_vad_end(const struct ntvm_vad *vad)
{
	return vad->ext.end;
}

/*
 * Where a new allocation may go: [base, base + @len) within [@lo, @hi),
 * @base a multiple of @align; the lowest such place, or the highest if
 * @top_down.
 */
struct ntvm_place {
	unsigned long len;	/* page aligned */
	unsigned long lo;
	unsigned long hi;
	unsigned long align;	/* a power of two, at least 64 KiB */
	bool top_down;
};

/* Ranges of the query map to bring up to date, before it is the hull. */
#define NTVM_QMAP_PENDING	8
/* Changes an allocation's record follows after the ioctl answered for it. */
#define NTVM_QMAP_EAGER		16
/* Block sizes of the query map: 32 bytes << class, up to its window. */
#define NTVM_QMAP_CLASSES	26

/*
 * The query map (query_map*.c): a context's allocations and page states,
 * mapped read-only into its process (uapi: struct ntvm_query_map_header).
 */
struct ntvm_qmap {
	struct xarray pages;		/* its pages, by offset >> PAGE_SHIFT */
	struct ntvm_query_map_header *header;	/* the first's address */
	void **addr;			/* their addresses, for the module */
	unsigned long room;		/* entries in @addr; op_lock */
	unsigned long used;		/* bytes in @pages; op_lock */
	u32 free[NTVM_QMAP_CLASSES];	/* free blocks, linked; op_lock */
	u32 dead;			/* records of erased allocations; op_lock */
	raw_spinlock_t lock;		/* seq, generation, pending, @pending */
	struct task_struct *task;	/* running a service; op_lock */
	bool dirty;			/* ...which changed the state; op_lock */
	bool mapped;			/* mmap()ed once */
	bool live;			/* kept up to date; set under op_lock */
	bool section;			/* seq is odd: being changed; @lock */
	bool notifier;			/* @mn registered; op_lock */
	unsigned int nr_pending;	/* ranges to bring up to date; @lock */
	unsigned int guards;		/* guard pages being cleared; @lock */
	struct ntvm_qmap_range {
		unsigned long start;
		unsigned long end;
	} pending[NTVM_QMAP_PENDING];
#ifdef CONFIG_MMU_NOTIFIER
	struct mmu_notifier mn;		/* query_map_notifier.c */
#endif
};

struct ntvm_user_charge;
struct shrinker;

struct ntvm_ctx {
	struct mm_struct *mm;		/* mmgrab()ed owner */
	struct pid *owner;		/* the opener's thread group */
	struct file *backing;		/* shmem, offset == address */
	struct ntvm_user_charge *charge;	/* the opener's user's */
	struct mutex op_lock;
	struct task_struct *op_task;	/* current inside our own vm_mmap */
	bool op_exec;			/* ...mapping an exec view */
	bool moving;			/* views moved, states not yet set */
	struct rb_root space;		/* of struct ntvm_extent; see space.c */
	struct list_head outside;	/* its outside extents; op_lock */
	spinlock_t map_lock;		/* writers of @space */
	unsigned long arena_bytes;	/* mapped as arenas so far; op_lock */
	struct xarray chunks;		/* of struct ntvm_chunk */
	unsigned int idle_chunks;	/* op_lock */
	unsigned long committed;	/* pages; op_lock */
	unsigned long peak_committed;	/* the most pages; op_lock */
	unsigned long commit_limit;	/* pages, ULONG_MAX: none; op_lock */
	unsigned long max_address;	/* highest user address; op_lock */
	bool compat;			/* opened by a 32-bit process */
	unsigned int write_watches;	/* MEM_WRITE_WATCH allocations */
	/* lock.c: the folio of each locked page, by page number; op_lock */
	struct xarray locks;
	unsigned long locked;		/* pages in @locks; op_lock */
	struct user_struct *lock_user;	/* charged for them too */
	unsigned long ws_min;		/* working-set minimum, pages */
	unsigned long ws_max;		/* working-set maximum, pages */
	u32 ws_hard;			/* QUOTA_LIMITS_HARDWS_* */
	/*
	 * MEM_RESET (reset.c): the folios of reset pages, one reference
	 * each, by address >> PAGE_SHIFT; how many; where the shrinker
	 * goes on (a hint); the context's item on the shrinker's list.
	 */
	struct xarray reset_folios;
	atomic_long_t reset_held;
	unsigned long reset_cursor;
	struct ntvm_reset_item *reset_item;
	/* registry.c: the context's id, for netlink.c */
	u32 stat_id;
	/* query_map*.c: the query map */
	struct ntvm_qmap qmap;
};

/*
 * The backing's file position of address @addr.  The one-page shift keeps
 * (vm_start >> PAGE_SHIFT) - vm_pgoff odd, so no view is ever suitable for
 * a huge page: neither a PMD mapping at fault time nor a khugepaged or
 * MADV_COLLAPSE collapse (which would map pages without asking us), even
 * after userspace clears VM_NOHUGEPAGE with MADV_HUGEPAGE.
 */
static inline loff_t ntvm_file_pos(unsigned long addr)
{
	return (loff_t)addr + PAGE_SIZE;
}

/* The pages an NT range [@base, @base + @size) touches. */
static inline void ntvm_page_range(u64 base, u64 size, unsigned long *start,
				   unsigned long *end)
{
	*start = base & PAGE_MASK;
	*end = PAGE_ALIGN(base + size);
}

/* context.c */
int ntvm_context_init(void);
void ntvm_context_exit(void);
struct ntvm_ctx *ntvm_ctx_create(void);
void ntvm_ctx_put(struct ntvm_ctx *ctx);
void ntvm_ctx_free(struct ntvm_ctx *ctx);

/* backing.c */
int ntvm_backing_create(struct ntvm_ctx *ctx, struct vfsmount *mnt);
extern atomic_long_t ntvm_nr_contexts;
extern atomic_long_t ntvm_nr_vads;

/* protection.c */
u32 ntvm_prot_from_win(u32 protect, u8 *state);
u32 ntvm_prot_to_win(u8 state, u32 alloc_protect);
bool ntvm_prot_is_exec(u8 state);
bool ntvm_prot_readable(u8 state);
bool ntvm_prot_writable(u8 state);
bool ntvm_state_raises(u8 old, u8 new);

/* pagestate.c */
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
enum ntvm_access {
	NTVM_ACCESS_DENIED,
	NTVM_ACCESS_OK,
	NTVM_ACCESS_GUARD,	/* refused once; see ntvm_page_clear_guard() */
};

enum ntvm_access ntvm_page_access(struct ntvm_ctx *ctx, unsigned long addr,
				  bool write);
bool ntvm_page_clear_guard(struct ntvm_ctx *ctx, unsigned long addr);
void ntvm_page_mark_written(struct ntvm_ctx *ctx, unsigned long addr);
unsigned long ntvm_pages_next_written(struct ntvm_ctx *ctx,
				      unsigned long start, unsigned long end);
void ntvm_page_clear_written(struct ntvm_ctx *ctx, unsigned long addr);
bool ntvm_page_clear_written_unless(struct ntvm_ctx *ctx, unsigned long addr,
				    bool (*busy)(struct ntvm_ctx *ctx,
						 unsigned long addr));
void ntvm_pages_latch_written(struct ntvm_ctx *ctx, unsigned long start,
			      unsigned long end);
void ntvm_pages_forget_written(struct ntvm_ctx *ctx, unsigned long start,
			       unsigned long end, bool latched);
bool ntvm_page_mark(struct ntvm_ctx *ctx, unsigned long addr,
		    enum ntvm_page_mark mark, bool set);
bool ntvm_pages_any_marked(struct ntvm_ctx *ctx, unsigned long start,
			   unsigned long end, enum ntvm_page_mark mark);
void ntvm_pages_unmark(struct ntvm_ctx *ctx, unsigned long start,
		       unsigned long end, enum ntvm_page_mark mark);

/* charge.c */
void ntvm_charge_init(void);
struct ntvm_user_charge *ntvm_charge_get_user(void);
void ntvm_charge_put_user(struct ntvm_user_charge *uc);
bool ntvm_charge(struct ntvm_ctx *ctx, unsigned long pages);
void ntvm_charge_done(struct ntvm_ctx *ctx);
void ntvm_uncharge(struct ntvm_ctx *ctx, unsigned long pages);
void ntvm_charge_set_limit(struct ntvm_ctx *ctx, u64 pages);
unsigned long ntvm_commit_limit(void);
unsigned long ntvm_committed_all(void);
unsigned long ntvm_committed_user(struct ntvm_ctx *ctx);

/* lock.c */
/* Lock types (NT's MAP_PROCESS, MAP_SYSTEM), as xarray marks. */
#define NTVM_LOCK_TYPES		(NTVM_MAP_PROCESS | NTVM_MAP_SYSTEM)
void ntvm_lock_init(struct ntvm_ctx *ctx);
void ntvm_lock_destroy(struct ntvm_ctx *ctx);
void ntvm_lock_count(struct ntvm_ctx *ctx, unsigned long start,
		     unsigned long end, u32 types, unsigned long *any,
		     unsigned long *all);
u32 ntvm_lock_hold(struct ntvm_ctx *ctx, unsigned long start,
		   unsigned long end, u32 types);
void ntvm_lock_release(struct ntvm_ctx *ctx, unsigned long start,
		       unsigned long end, u32 types);
unsigned long ntvm_lock_drop(struct ntvm_ctx *ctx, unsigned long start,
			     unsigned long end);
unsigned long ntvm_lock_next(struct ntvm_ctx *ctx, unsigned long start,
			     unsigned long end);
bool ntvm_lock_allowed(u8 state);

/* fault.c */
extern const struct vm_operations_struct ntvm_vm_ops;
bool ntvm_vma_is_ours(struct ntvm_ctx *ctx, struct vm_area_struct *vma);
bool ntvm_own_op(struct ntvm_ctx *ctx);

/* guard.c: guard pages tripped by the kernel */
struct ntvm_guard_hit;
bool ntvm_guard_refused(struct file *backing, unsigned long addr);
bool ntvm_guard_tripped(struct file *backing);
struct ntvm_guard_hit *ntvm_guard_hit_alloc(void);
void ntvm_guard_hit_free(struct ntvm_guard_hit *hit);
void ntvm_guard_hit_add(struct ntvm_guard_hit *hit, struct file *backing,
			unsigned long addr);

/* query_map.c: the header, its sequence count, what is pending */
int ntvm_qmap_init(struct ntvm_ctx *ctx);
void ntvm_qmap_destroy(struct ntvm_ctx *ctx);
void ntvm_qmap_changed(struct ntvm_ctx *ctx, unsigned long start,
		       unsigned long end);
void ntvm_qmap_states_changed(struct ntvm_ctx *ctx, unsigned long start,
			      unsigned long end);
void ntvm_qmap_inserted(struct ntvm_ctx *ctx, struct ntvm_extent *ext);
void ntvm_qmap_erased(struct ntvm_ctx *ctx, struct ntvm_extent *ext);
void ntvm_qmap_pend(struct ntvm_ctx *ctx, unsigned long start,
		    unsigned long end, bool bump);
void ntvm_qmap_guard_begin(struct ntvm_ctx *ctx, unsigned long addr);
void ntvm_qmap_guard_end(struct ntvm_ctx *ctx);
bool ntvm_qmap_answers(struct ntvm_ctx *ctx, struct ntvm_extent *ext);
void ntvm_qmap_asked(struct ntvm_ctx *ctx, struct ntvm_extent *ext,
		     unsigned long addr);
void ntvm_qmap_service_begin(struct ntvm_ctx *ctx);
unsigned int ntvm_qmap_take_pending(struct ntvm_ctx *ctx,
				    struct ntvm_qmap_range *ranges);
void ntvm_qmap_service_end(struct ntvm_ctx *ctx, bool complete);
int ntvm_qmap_mmap(struct ntvm_ctx *ctx, struct vm_area_struct *vma);
struct ntvm_query_map_header *ntvm_qmap_header(struct ntvm_ctx *ctx);

/* query_map_store.c: the map's pages and its blocks, by offset */
int ntvm_qstore_init(struct ntvm_ctx *ctx);
void ntvm_qstore_destroy(struct ntvm_ctx *ctx);
void *ntvm_qstore_ptr(struct ntvm_ctx *ctx, u32 off);
u32 ntvm_qstore_alloc(struct ntvm_ctx *ctx, size_t size);
void ntvm_qstore_free(struct ntvm_ctx *ctx, u32 off, size_t size);
void ntvm_qstore_read(struct ntvm_ctx *ctx, u32 off, void *buf, size_t len);
void ntvm_qstore_write(struct ntvm_ctx *ctx, u32 off, const void *buf,
		       size_t len);
#define NTVM_QMAP_WINDOW	BIT(30)

/* query_map_tree.c: the radix tree of granules */
void ntvm_qtree_set(struct ntvm_ctx *ctx, unsigned long first,
		    unsigned long last, u32 entry);
u32 ntvm_qtree_get(struct ntvm_ctx *ctx, unsigned long granule);

/* query_map_sync.c: the map brought up to date, at the end of a service */
void ntvm_qmap_sync(struct ntvm_ctx *ctx);

/* query_map_notifier.c: views the process unmaps */
int ntvm_qmap_notifier_register(struct ntvm_ctx *ctx);
void ntvm_qmap_notifier_unregister(struct ntvm_ctx *ctx);

/* view.c */
enum ntvm_span_kind {
	NTVM_SPAN_HOLE,		/* nothing mapped */
	NTVM_SPAN_VIEW,		/* one of this context's views */
	NTVM_SPAN_FOREIGN,	/* another mapping of the process */
};

/* What the VMA walker found at an address. */
struct ntvm_span {
	enum ntvm_span_kind kind;
	unsigned long end;	/* of the span, at most the end asked for */
	unsigned long vm_flags;	/* of a view or another mapping */
	/* NTVM_SPAN_FOREIGN only: */
	unsigned long vm_start;
	bool vm_file;
	bool sealed;		/* one of our views, sealed (mseal(2)) */
};

int ntvm_view_map(struct ntvm_ctx *ctx, unsigned long start,
		  unsigned long end, bool exec, bool replace);
int ntvm_view_unmap(struct ntvm_ctx *ctx, unsigned long start,
		    unsigned long end);
int ntvm_view_unmap_ours(struct ntvm_ctx *ctx, unsigned long start,
			 unsigned long end);
int ntvm_view_restore(struct ntvm_ctx *ctx, unsigned long start,
		      unsigned long end, bool exec);
bool ntvm_view_covers(struct ntvm_ctx *ctx, unsigned long start,
		      unsigned long end);
bool ntvm_view_holds(struct ntvm_ctx *ctx, unsigned long start,
		     unsigned long end);
void ntvm_view_span(struct ntvm_ctx *ctx, unsigned long addr,
		    unsigned long end, struct ntvm_span *span);
void ntvm_view_revoke(struct ntvm_ctx *ctx, unsigned long start,
		      unsigned long end);
void ntvm_view_discard(struct ntvm_ctx *ctx, unsigned long start,
		       unsigned long end);
bool ntvm_view_has_pages(struct ntvm_ctx *ctx, unsigned long start,
			 unsigned long end);
unsigned long ntvm_view_find_free(struct ntvm_ctx *ctx, unsigned long len);
unsigned long ntvm_view_find_hole(struct ntvm_ctx *ctx,
				  const struct ntvm_place *pl);
struct folio *ntvm_view_lock_folio(struct ntvm_ctx *ctx, unsigned long addr);
struct folio *ntvm_view_read_folio(struct ntvm_ctx *ctx, unsigned long addr);
bool ntvm_view_page_cached(struct ntvm_ctx *ctx, unsigned long addr);

/* change.c: page-state changes with their views, charge and revocation */
u32 ntvm_change_commit(struct ntvm_ctx *ctx, struct ntvm_vad *vad,
		       unsigned long start, unsigned long end, u8 state);
u32 ntvm_change_protect(struct ntvm_ctx *ctx, struct ntvm_vad *vad,
			unsigned long start, unsigned long end, u8 state,
			u8 *first);
u32 ntvm_change_reset(struct ntvm_ctx *ctx, unsigned long start,
		      unsigned long end);
u32 ntvm_change_reset_undo(struct ntvm_ctx *ctx, unsigned long start,
			   unsigned long end);
u32 ntvm_change_decommit(struct ntvm_ctx *ctx, struct ntvm_vad *vad,
			 unsigned long start, unsigned long end);
u32 ntvm_change_release(struct ntvm_ctx *ctx, struct ntvm_vad *vad,
			unsigned long start, unsigned long end);
void ntvm_change_drop_pages(struct ntvm_ctx *ctx, unsigned long start,
			    unsigned long end);
void ntvm_change_reset_written(struct ntvm_ctx *ctx, unsigned long addr);

/* remote.c: view changes made for another process */
int ntvm_remote_init(void);
void ntvm_remote_exit(void);
long ntvm_remote(struct ntvm_ctx *ctx,
		 long (*fn)(struct ntvm_ctx *ctx, void *arg), void *arg,
		 unsigned long new_bytes);
bool ntvm_remote_ctx(struct ntvm_ctx *ctx);

/* reset.c */
int ntvm_reset_module_init(void);
void ntvm_reset_module_exit(void);
int ntvm_reset_init(struct ntvm_ctx *ctx);
void ntvm_reset_destroy(struct ntvm_ctx *ctx);
u32 ntvm_reset_hold(struct ntvm_ctx *ctx, unsigned long start,
		    unsigned long end);
void ntvm_reset_finish(struct ntvm_ctx *ctx, unsigned long start,
		       unsigned long end);
void ntvm_reset_cancel(struct ntvm_ctx *ctx, unsigned long start,
		       unsigned long end);
void ntvm_reset_forget(struct ntvm_ctx *ctx, unsigned long start,
		       unsigned long end);
bool ntvm_reset_undo(struct ntvm_ctx *ctx, unsigned long start,
		     unsigned long end);
void ntvm_reset_drop(struct ntvm_ctx *ctx, unsigned long start,
		     unsigned long end);
void ntvm_reset_page_written(struct ntvm_ctx *ctx, unsigned long addr);
bool ntvm_reset_used(struct ntvm_ctx *ctx);

/* space.c */
int ntvm_space_init(struct ntvm_ctx *ctx);
void ntvm_space_destroy(struct ntvm_ctx *ctx,
			void (*free_vad)(struct ntvm_extent *ext));
struct ntvm_extent *ntvm_outside_alloc(void);
struct ntvm_extent *ntvm_outside_next(struct ntvm_ctx *ctx,
				      struct ntvm_extent *ext, bool up);
struct ntvm_extent *ntvm_space_next(struct ntvm_ctx *ctx, unsigned long addr);
struct ntvm_extent *ntvm_space_after(struct ntvm_extent *ext);
bool ntvm_space_alone(struct ntvm_extent *ext);
void ntvm_space_insert(struct ntvm_ctx *ctx, struct ntvm_extent *ext);
void ntvm_space_erase(struct ntvm_ctx *ctx, struct ntvm_extent *ext);
void ntvm_space_resize(struct ntvm_ctx *ctx, struct ntvm_extent *ext,
		       unsigned long start, unsigned long end);
void ntvm_space_split(struct ntvm_ctx *ctx, struct ntvm_extent *ext,
		      unsigned long start, unsigned long end,
		      struct ntvm_extent *tail);
unsigned long ntvm_place_in(const struct ntvm_place *pl, unsigned long start,
			    unsigned long end);
unsigned long ntvm_space_find_place(struct ntvm_ctx *ctx,
				    const struct ntvm_place *pl);
bool ntvm_space_splits_vad(struct ntvm_ctx *ctx, unsigned long addr);
bool ntvm_space_has_vad(struct ntvm_ctx *ctx, unsigned long start,
			unsigned long end);

/* arena.c */
u32 ntvm_arena_place(struct ntvm_ctx *ctx, const struct ntvm_place *pl,
		     unsigned long *base);
unsigned long ntvm_arena_find_hole(struct ntvm_ctx *ctx,
				   const struct ntvm_place *pl);
u32 ntvm_arena_room(struct ntvm_ctx *ctx, unsigned long len,
		    unsigned long *start, unsigned long *size);
u32 ntvm_arena_grow(struct ntvm_ctx *ctx, unsigned long start,
		    unsigned long size);
u32 ntvm_arena_adopt(struct ntvm_ctx *ctx, unsigned long start,
		     unsigned long end);

/* vad.c */
struct ntvm_vad *ntvm_vad_find(struct ntvm_ctx *ctx, unsigned long addr);
struct ntvm_vad *ntvm_vad_next(struct ntvm_ctx *ctx, unsigned long addr);
struct ntvm_vad *ntvm_vad_after(struct ntvm_vad *vad);
u32 ntvm_vad_reserve(struct ntvm_ctx *ctx, unsigned long base,
		     const struct ntvm_place *pl, u32 alloc_protect,
		     bool write_watch, struct ntvm_vad **vadp);
void ntvm_vad_unreserve(struct ntvm_ctx *ctx, struct ntvm_vad *vad);
u32 ntvm_vad_release(struct ntvm_ctx *ctx, struct ntvm_vad *vad,
		     unsigned long start, unsigned long end);
void ntvm_vad_replace(struct ntvm_ctx *ctx, struct ntvm_vad *vad,
		      u32 alloc_protect, bool write_watch);
void ntvm_vad_unreplace(struct ntvm_ctx *ctx, struct ntvm_vad *vad);
u32 ntvm_vad_to_placeholder(struct ntvm_ctx *ctx, struct ntvm_vad *vad,
			    unsigned long start, unsigned long end);
u32 ntvm_vad_coalesce(struct ntvm_ctx *ctx, struct ntvm_vad *vad,
		      unsigned long end);
void ntvm_vad_destroy_all(struct ntvm_ctx *ctx);
bool ntvm_vad_intact(struct ntvm_ctx *ctx, struct ntvm_vad *vad);
bool ntvm_vad_described(struct ntvm_ctx *ctx, struct ntvm_vad *vad);
struct ntvm_vad *ntvm_vad_live(struct ntvm_ctx *ctx, unsigned long addr);
bool ntvm_vad_range_taken(struct ntvm_ctx *ctx, unsigned long start,
			  unsigned long end);

/*
 * the NT services: nt_allocate.c, nt_allocate_ex.c, nt_free.c,
 * nt_protect.c, nt_query.c, nt_write_watch.c, nt_lock.c
 */
u32 ntvm_nt_allocate(struct ntvm_ctx *ctx, struct ntvm_alloc_args *args);
u32 ntvm_allocate(struct ntvm_ctx *ctx, struct ntvm_alloc_args *args,
		  struct ntvm_place *pl, u32 placeholder);
u32 ntvm_nt_address_limit(struct ntvm_ctx *ctx,
			  struct ntvm_address_limit_args *args);
u32 ntvm_nt_allocate_ex(struct ntvm_ctx *ctx, struct ntvm_alloc_ex_args *ex);
u32 ntvm_nt_free(struct ntvm_ctx *ctx, struct ntvm_free_args *args);
u32 ntvm_nt_protect(struct ntvm_ctx *ctx, struct ntvm_protect_args *args);
u32 ntvm_nt_query(struct ntvm_ctx *ctx, struct ntvm_query_args *args);
u32 ntvm_nt_get_write_watch(struct ntvm_ctx *ctx,
			    struct ntvm_get_write_watch_args *args);
u32 ntvm_nt_reset_write_watch(struct ntvm_ctx *ctx,
			      struct ntvm_reset_write_watch_args *args);
u32 ntvm_nt_lock(struct ntvm_ctx *ctx, struct ntvm_lock_args *args);
u32 ntvm_nt_unlock(struct ntvm_ctx *ctx, struct ntvm_lock_args *args);
u32 ntvm_nt_working_set(struct ntvm_ctx *ctx,
			struct ntvm_working_set_args *args);

/* ntvmstat's netlink family: netlink.c, registry.c, stats.c, event.c */
struct genl_family;
extern struct genl_family ntvm_genl_family;
#define NTVM_MCGRP_EVENTS	0	/* the family's multicast group */
int ntvm_netlink_init(void);
void ntvm_netlink_exit(void);
int ntvm_registry_add(struct ntvm_ctx *ctx);
void ntvm_registry_del(struct ntvm_ctx *ctx);
struct ntvm_ctx *ntvm_registry_get(unsigned long *id);
void ntvm_registry_put(struct ntvm_ctx *ctx);
u32 ntvm_registry_pid(struct ntvm_ctx *ctx);

/* A run of pages of one state in an allocation; counts in pages. */
struct ntvm_run_stats {
	unsigned long start;
	unsigned long end;
	u32 state;		/* NTVM_MEM_COMMIT or NTVM_MEM_RESERVE */
	u32 protect;		/* Windows PAGE_*, 0 when reserved */
	bool guard;
	unsigned long resident;
	unsigned long dirty;	/* written under write watch */
	unsigned long locked;
};

/* The sums of a context's intact allocations. */
struct ntvm_ctx_stats {
	unsigned long allocations;
	unsigned long reserved;		/* bytes */
	unsigned long write_watched;	/* bytes */
	unsigned long committed;	/* pages */
	unsigned long resident;		/* pages */
	unsigned long locked;		/* pages */
};

struct ntvm_vad *ntvm_stats_next_alloc(struct ntvm_ctx *ctx,
				       unsigned long addr);
unsigned long ntvm_stats_run(struct ntvm_ctx *ctx, struct ntvm_vad *vad,
			     unsigned long addr, struct ntvm_run_stats *run);
void ntvm_stats_context(struct ntvm_ctx *ctx, struct ntvm_ctx_stats *cs);
void ntvm_event_commit_refused(struct ntvm_ctx *ctx, unsigned long pages,
			       bool user_limit);
void ntvm_event_forgotten(struct ntvm_ctx *ctx, unsigned long start,
			  unsigned long end);

#endif /* _NTVM_H */
