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

/* A free range of @len bytes in current->mm; mmap_lock held (6.10 API). */
static inline unsigned long ntvm_get_unmapped_area(unsigned long len)
{
#ifdef NTVM_HAVE_MM_GET_UNMAPPED_AREA
	return mm_get_unmapped_area(current->mm, NULL, 0, len, 0, 0);
#else
	return get_unmapped_area(NULL, 0, len, 0, 0);
#endif
}

/* ->write_begin() and ->write_end() of one page; folios since 6.12. */
static inline int ntvm_write_begin(struct file *file, loff_t pos,
				   struct page **page, void **fsdata)
{
	struct address_space *mapping = file->f_mapping;
#ifdef NTVM_HAVE_WRITE_BEGIN_FOLIO
	struct folio *folio;
	int err;

	err = mapping->a_ops->write_begin(file, mapping, pos, PAGE_SIZE,
					  &folio, fsdata);
	if (!err)
		*page = folio_file_page(folio, pos >> PAGE_SHIFT);
	return err;
#else
	return mapping->a_ops->write_begin(file, mapping, pos, PAGE_SIZE,
					   page, fsdata);
#endif
}

static inline void ntvm_write_end(struct file *file, loff_t pos,
				  struct page *page, void *fsdata)
{
	struct address_space *mapping = file->f_mapping;
#ifdef NTVM_HAVE_WRITE_BEGIN_FOLIO
	mapping->a_ops->write_end(file, mapping, pos, PAGE_SIZE, PAGE_SIZE,
				  page_folio(page), fsdata);
#else
	mapping->a_ops->write_end(file, mapping, pos, PAGE_SIZE, PAGE_SIZE,
				  page, fsdata);
#endif
}

#endif /* _NTVM_COMPAT_H */
