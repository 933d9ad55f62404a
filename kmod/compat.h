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
#include <linux/shrinker.h>
#include <linux/slab.h>
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

/* A free range of @len bytes in current->mm; mmap_lock held (6.10 API). */
static inline unsigned long ntvm_get_unmapped_area(unsigned long len)
{
#ifdef NTVM_HAVE_MM_GET_UNMAPPED_AREA
	return mm_get_unmapped_area(current->mm, NULL, 0, len, 0, 0);
#else
	return get_unmapped_area(NULL, 0, len, 0, 0);
#endif
}

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
 * A shrinker with private data: shrinker_alloc() and shrinker_register()
 * (6.7) allocate it; before, it is embedded and register_shrinker() (with
 * a name since 6.0) adds it.  Both unregistrations wait for the scans in
 * progress.
 */
#ifdef NTVM_HAVE_SHRINKER_ALLOC
static inline struct shrinker *
ntvm_shrinker_create(const char *name, void *data,
		     unsigned long (*count)(struct shrinker *,
					    struct shrink_control *),
		     unsigned long (*scan)(struct shrinker *,
					   struct shrink_control *))
{
	struct shrinker *s = shrinker_alloc(0, "%s", name);

	if (!s)
		return NULL;
	s->count_objects = count;
	s->scan_objects = scan;
	s->seeks = DEFAULT_SEEKS;
	s->private_data = data;
	shrinker_register(s);
	return s;
}

static inline void *ntvm_shrinker_data(struct shrinker *s)
{
	return s->private_data;
}

static inline void ntvm_shrinker_destroy(struct shrinker *s)
{
	shrinker_free(s);
}
#else
struct ntvm_shrinker {
	struct shrinker shrinker;
	void *data;
};

static inline struct shrinker *
ntvm_shrinker_create(const char *name, void *data,
		     unsigned long (*count)(struct shrinker *,
					    struct shrink_control *),
		     unsigned long (*scan)(struct shrinker *,
					   struct shrink_control *))
{
	struct ntvm_shrinker *ns = kzalloc(sizeof(*ns), GFP_KERNEL_ACCOUNT);

	if (!ns)
		return NULL;
	ns->shrinker.count_objects = count;
	ns->shrinker.scan_objects = scan;
	ns->shrinker.seeks = DEFAULT_SEEKS;
	ns->data = data;
	if (register_shrinker(&ns->shrinker, "%s", name)) {
		kfree(ns);
		return NULL;
	}
	return &ns->shrinker;
}

static inline void *ntvm_shrinker_data(struct shrinker *s)
{
	return container_of(s, struct ntvm_shrinker, shrinker)->data;
}

static inline void ntvm_shrinker_destroy(struct shrinker *s)
{
	unregister_shrinker(s);
	kfree(container_of(s, struct ntvm_shrinker, shrinker));
}
#endif

#endif /* _NTVM_COMPAT_H */
