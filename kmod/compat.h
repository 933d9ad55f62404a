/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Kernel API drift between the kernels ntvm builds against (Debian's 6.1
 * and 6.12), kept in one place.  The NTVM_HAVE_* macros come from Kbuild,
 * which looks for the API in the kernel's headers.
 */
#ifndef _NTVM_COMPAT_H
#define _NTVM_COMPAT_H

#include <linux/fs.h>
#include <linux/mm.h>
#include <linux/sched/mm.h>
#include <linux/list_lru.h>
#include <linux/shmem_fs.h>
#include <linux/shrinker.h>
#include <linux/slab.h>
#include <net/genetlink.h>
/* struct folio_batch moved out of pagevec.h. */
#ifdef NTVM_HAVE_FOLIO_BATCH_H
#include <linux/folio_batch.h>
#else
#include <linux/pagevec.h>
#endif

/* vm_flags_set() and a read-only vma->vm_flags arrived in 6.3. */
static inline void ntvm_vm_flags_set(struct vm_area_struct *vma,
				     unsigned long flags)
{
#ifdef NTVM_HAVE_VM_FLAGS_SET
	vm_flags_set(vma, flags);
#else
	vma->vm_flags |= flags;
#endif
}

static inline void ntvm_vm_flags_clear(struct vm_area_struct *vma,
				       unsigned long flags)
{
#ifdef NTVM_HAVE_VM_FLAGS_SET
	vm_flags_clear(vma, flags);
#else
	vma->vm_flags &= ~flags;
#endif
}

/* mseal(2) (6.10) marks sealed VMAs; none can be sealed before. */
#ifndef VM_SEALED
#define VM_SEALED	0
#endif

/*
 * A free range of @len bytes in current->mm; mmap_lock held.  6.10 made it
 * mm_get_unmapped_area() with an mm; 6.18 dropped the mm (current's).
 */
static inline unsigned long ntvm_get_unmapped_area(unsigned long len)
{
#if defined(NTVM_HAVE_MM_GET_UNMAPPED_AREA_NO_MM)
	return mm_get_unmapped_area(NULL, 0, len, 0, 0);
#elif defined(NTVM_HAVE_MM_GET_UNMAPPED_AREA)
	return mm_get_unmapped_area(current->mm, NULL, 0, len, 0, 0);
#else
	return get_unmapped_area(NULL, 0, len, 0, 0);
#endif
}

/*
 * An unaccounted (VM_NORESERVE) shmem file on @mnt: the flags became a
 * vma_flags_t bitmap in 6.19.
 */
static inline struct file *ntvm_shmem_file_noreserve(struct vfsmount *mnt,
						     const char *name,
						     loff_t size)
{
#ifdef NTVM_HAVE_SHMEM_VMA_FLAGS
	return shmem_file_setup_with_mnt(mnt, name, size,
					 mk_vma_flags(VMA_NORESERVE_BIT));
#else
	return shmem_file_setup_with_mnt(mnt, name, size, VM_NORESERVE);
#endif
}

#ifdef NTVM_HAVE_MMAP_PREPARE
/*
 * The flags of a view on the vm_area_desc ->mmap_prepare (6.16) fills:
 * VM_DONTCOPY, VM_NOHUGEPAGE and VM_DONTDUMP, and no VM_EXEC/VM_MAYEXEC
 * unless @exec.  The desc's flags became a vma_flags_t bitmap in 6.19.
 */
static inline void ntvm_desc_flags_set_view(struct vm_area_desc *desc,
					    bool exec)
{
#ifdef NTVM_HAVE_VMA_DESC_FLAGS
	vma_desc_set_flags(desc, VMA_DONTCOPY_BIT, VMA_NOHUGEPAGE_BIT,
			   VMA_DONTDUMP_BIT);
	if (!exec)
		vma_desc_clear_flags(desc, VMA_EXEC_BIT, VMA_MAYEXEC_BIT);
#else
	desc->vm_flags |= VM_DONTCOPY | VM_NOHUGEPAGE | VM_DONTDUMP;
	if (!exec)
		desc->vm_flags &= ~(VM_EXEC | VM_MAYEXEC);
#endif
}
#endif

/*
 * Remove one locked folio from its file's page cache, unmapped first, as
 * truncation does (truncate_inode_folio(): only if still in @mapping).
 * The folio form arrived in 6.8.
 */
static inline int ntvm_remove_folio(struct address_space *mapping,
				    struct folio *folio)
{
#ifdef NTVM_HAVE_ERROR_REMOVE_FOLIO
	return generic_error_remove_folio(mapping, folio);
#else
	return generic_error_remove_page(mapping, &folio->page);
#endif
}

/*
 * A shrinker aware of memory cgroups and NUMA nodes, with the list_lru it
 * scans: shrinker_alloc() and shrinker_register() (6.7) allocate it, and
 * the list_lru is set up between them; before, register_shrinker()
 * (with a name since 6.0) both gives it its id and
 * makes it live, so the list_lru (which needs the id) comes after: the
 * callbacks must tell.  Both unregistrations wait for the scans in
 * progress.
 */
#define NTVM_SHRINKER_FLAGS	(SHRINKER_MEMCG_AWARE | SHRINKER_NUMA_AWARE)

#ifdef NTVM_HAVE_SHRINKER_ALLOC
static inline struct shrinker *
ntvm_shrinker_create(const char *name, struct list_lru *lru,
		     unsigned long (*count)(struct shrinker *,
					    struct shrink_control *),
		     unsigned long (*scan)(struct shrinker *,
					   struct shrink_control *))
{
	struct shrinker *s = shrinker_alloc(NTVM_SHRINKER_FLAGS, "%s", name);

	if (!s)
		return NULL;
	if (list_lru_init_memcg(lru, s)) {
		shrinker_free(s);
		return NULL;
	}
	s->count_objects = count;
	s->scan_objects = scan;
	shrinker_register(s);
	return s;
}

static inline void ntvm_shrinker_destroy(struct shrinker *s,
					 struct list_lru *lru)
{
	shrinker_free(s);
	list_lru_destroy(lru);
}
#else
static inline struct shrinker *
ntvm_shrinker_create(const char *name, struct list_lru *lru,
		     unsigned long (*count)(struct shrinker *,
					    struct shrink_control *),
		     unsigned long (*scan)(struct shrinker *,
					   struct shrink_control *))
{
	struct shrinker *s = kzalloc(sizeof(*s), GFP_KERNEL);

	if (!s)
		return NULL;
	s->count_objects = count;
	s->scan_objects = scan;
	s->seeks = DEFAULT_SEEKS;
	s->flags = NTVM_SHRINKER_FLAGS;
	if (register_shrinker(s, "%s", name)) {
		kfree(s);
		return NULL;
	}
	if (list_lru_init_memcg(lru, s)) {
		unregister_shrinker(s);
		kfree(s);
		return NULL;
	}
	return s;
}

static inline void ntvm_shrinker_destroy(struct shrinker *s,
					 struct list_lru *lru)
{
	unregister_shrinker(s);
	kfree(s);
	list_lru_destroy(lru);
}
#endif

/* Add an item to, or take it off, the list of its memory cgroup (6.8). */
static inline void ntvm_list_lru_add_obj(struct list_lru *lru,
					 struct list_head *item)
{
#ifdef NTVM_HAVE_LIST_LRU_ADD_OBJ
	list_lru_add_obj(lru, item);
#else
	list_lru_add(lru, item);
#endif
}

static inline void ntvm_list_lru_del_obj(struct list_lru *lru,
					 struct list_head *item)
{
#ifdef NTVM_HAVE_LIST_LRU_ADD_OBJ
	list_lru_del_obj(lru, item);
#else
	list_lru_del(lru, item);
#endif
}

/*
 * list_lru_walk_one() with a callback of the 6.13 form, which lost the
 * list's spinlock argument; before, a trampoline passes the call on.
 */
typedef enum lru_status (*ntvm_lru_walk_fn)(struct list_head *item,
					    struct list_lru_one *list,
					    void *arg);

#ifndef NTVM_HAVE_LRU_WALK_NO_LOCK
struct ntvm_lru_walk {
	ntvm_lru_walk_fn fn;
	void *arg;
};

static inline enum lru_status ntvm_lru_walk_call(struct list_head *item,
						 struct list_lru_one *list,
						 spinlock_t *lock, void *arg)
{
	struct ntvm_lru_walk *walk = arg;

	return walk->fn(item, list, walk->arg);
}
#endif

static inline unsigned long ntvm_list_lru_walk_one(struct list_lru *lru,
						   int nid,
						   struct mem_cgroup *memcg,
						   ntvm_lru_walk_fn fn,
						   void *arg,
						   unsigned long *nr)
{
#ifdef NTVM_HAVE_LRU_WALK_NO_LOCK
	return list_lru_walk_one(lru, nid, memcg, fn, arg, nr);
#else
	struct ntvm_lru_walk walk = { .fn = fn, .arg = arg };

	return list_lru_walk_one(lru, nid, memcg, ntvm_lru_walk_call, &walk,
				 nr);
#endif
}

/*
 * The attributes of a dump request: in the dump's struct genl_info
 * since 6.7 (genl_info_dump()).
 */
static inline struct nlattr **ntvm_genl_dump_attrs(struct netlink_callback *cb)
{
#ifdef NTVM_HAVE_GENL_INFO_DUMP
	return genl_info_dump(cb)->attrs;
#else
	return genl_dumpit_info(cb)->attrs;
#endif
}

/*
 * A reference on @file unless its last one is gone (its ->release runs or
 * has run); the caller keeps the file's memory from being freed meanwhile.
 * The count became a file_ref_t in 6.13.
 */
static inline bool ntvm_file_get_unless_released(struct file *file)
{
#ifdef NTVM_HAVE_FILE_REF
	return file_ref_get(&file->f_ref);
#else
	return atomic_long_inc_not_zero(&file->f_count);
#endif
}

#endif /* _NTVM_COMPAT_H */
