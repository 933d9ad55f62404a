// SPDX-License-Identifier: GPL-2.0
/*
 * Views: the VMAs through which a context's pages are reached.
 *
 * Every page of a context lives in one shmem file (the backing), at file
 * offset == virtual address + one page (see ntvm_file_pos()).  The module
 * maps it MAP_SHARED with vm_mmap()
 * from its ioctls only; the backing's mmap hook refuses anyone else and
 * installs vm_ops that decide every fault from the page state:
 *
 *  - fault: uncommitted, no-access and guard pages raise SIGSEGV (a guard
 *    page loses its guard bit first: one shot); other pages come from
 *    shmem, and the state is checked again with the folio locked;
 *  - page_mkwrite: only read-write pages may become writable;
 *  - no map_pages: fault-around would map neighbours without asking.
 *
 * Lowering a protection publishes the new state, waits for faults that
 * may have seen the old one (they hold the folio lock from their check to
 * the PTE being set) and zaps the range; raising costs nothing until the
 * next fault.  Userspace cannot split, mprotect or move a view; a view it
 * munmaps whole (which cannot be refused) is noticed when its allocation
 * is next used (ntvm_alloc_intact()), and the allocation is forgotten.
 *
 * Lifetime: every view holds the backing file, the backing file holds the
 * context (freed by the file's ->release), the /dev/ntvm fd holds one
 * reference to the backing file.
 */

#include <linux/file.h>
#include <linux/fs.h>
#include <linux/mman.h>
#include <linux/module.h>
#include <linux/mount.h>
#include <linux/pagemap.h>
#include <linux/pagevec.h>
#include <linux/sched/signal.h>
#include <linux/shmem_fs.h>
#include <linux/slab.h>

#include "compat.h"
#include "ntvm.h"

/* The private tmpfs of the backing files (see ntvm_backing_init()). */
static struct vfsmount *ntvm_mnt;

/* shmem's own mmap, which the backing's file operations wrap. */
static int (*ntvm_shmem_mmap)(struct file *file, struct vm_area_struct *vma);
static const struct vm_operations_struct ntvm_vm_ops;

/*
 * The backing's file position of address @addr.  The one-page shift keeps
 * (vm_start >> PAGE_SHIFT) - vm_pgoff odd, so no view is ever suitable for
 * a huge page: neither a PMD mapping at fault time nor a khugepaged or
 * MADV_COLLAPSE collapse (which would map pages without asking us), even
 * after userspace clears VM_NOHUGEPAGE with MADV_HUGEPAGE.
 */
static loff_t ntvm_file_pos(unsigned long addr)
{
	return (loff_t)addr + PAGE_SIZE;
}

static bool ntvm_own_op(struct ntvm_ctx *ctx)
{
	return READ_ONCE(ctx->op_task) == current;
}

bool ntvm_vma_is_ours(struct ntvm_ctx *ctx, struct vm_area_struct *vma)
{
	return vma->vm_ops == &ntvm_vm_ops && vma->vm_file == ctx->backing;
}

/*
 * Bring a new page into the backing at @index the way write(2) does.
 * shmem's fault clears every page it adds, which the page allocator has
 * cleared already when init_on_alloc is on (Debian's default); this way a
 * page is cleared once.  A page already there (or in swap) and any error
 * are left to shmem's fault.  For a write fault by the process itself
 * only: the page is dirty (as the write makes it) and charged to current.
 */
static void ntvm_backing_populate(struct file *file, pgoff_t index)
{
	loff_t pos = (loff_t)index << PAGE_SHIFT;
	struct page *page;
	void *fsdata = NULL;

	if (!file->f_mapping->a_ops->write_begin ||
	    xa_load(&file->f_mapping->i_pages, index))
		return;
	if (ntvm_write_begin(file, pos, &page, &fsdata))
		return;
	if (!PageUptodate(page) &&
	    !want_init_on_alloc(mapping_gfp_mask(file->f_mapping)))
		clear_highpage(page);
	/*
	 * As a fault would leave it: a write(2) marks the page referenced,
	 * which makes zapping its young PTE (decommit) activate it.
	 */
	folio_clear_referenced(page_folio(page));
	ntvm_write_end(file, pos, page, fsdata);
}

static vm_fault_t ntvm_fault(struct vm_fault *vmf)
{
	struct vm_area_struct *vma = vmf->vma;
	struct ntvm_ctx *ctx = vma->vm_private_data;
	bool write = vmf->flags & FAULT_FLAG_WRITE;
	vm_fault_t ret;

	/* A view copied into a child (MADV_DOFORK) gives it nothing. */
	if (vma->vm_mm != ctx->mm)
		return VM_FAULT_SIGSEGV;
	if (!ntvm_page_fault_check(ctx, vmf->address, write))
		return VM_FAULT_SIGSEGV;
	/*
	 * A page whose state is not executable in an exec view: a view
	 * change in progress moved it there before publishing its new state
	 * (retry until it has), or userspace grew an exec view in place.
	 * Never map it executable.
	 */
	if (unlikely(vma->vm_flags & VM_EXEC)) {
		/* Pairs with the release in ntvm_apply_state(). */
		bool moving = smp_load_acquire(&ctx->moving);

		if (!ntvm_prot_is_exec(ntvm_page_state(ctx, vmf->address)))
			return moving ? VM_FAULT_NOPAGE : VM_FAULT_SIGSEGV;
	}

	if (write && current->mm == vma->vm_mm)
		ntvm_backing_populate(vma->vm_file, vmf->pgoff);
	ret = ctx->shmem_vm_ops->fault(vmf);
	if ((ret & VM_FAULT_ERROR) || !(ret & VM_FAULT_LOCKED))
		return ret;

	/*
	 * The folio is locked: a protection change cannot overtake us now.
	 * It may be new in the page cache, unseen by a protection change
	 * that published its state just before: the barrier pairs with the
	 * one in ntvm_view_revoke(), so one of us sees the other.
	 */
	smp_mb();
	if (!ntvm_page_fault_check(ctx, vmf->address, write)) {
		unlock_page(vmf->page);
		put_page(vmf->page);
		vmf->page = NULL;
		return VM_FAULT_SIGSEGV;
	}
	return ret;
}

static vm_fault_t ntvm_page_mkwrite(struct vm_fault *vmf)
{
	struct vm_area_struct *vma = vmf->vma;
	struct ntvm_ctx *ctx = vma->vm_private_data;
	struct folio *folio = page_folio(vmf->page);

	if (vma->vm_mm != ctx->mm)
		return VM_FAULT_SIGSEGV;
	folio_lock(folio);
	if (folio->mapping != vma->vm_file->f_mapping) {
		folio_unlock(folio);
		return VM_FAULT_NOPAGE;
	}
	/* In the page cache already: the folio lock orders us. */
	if (!ntvm_page_fault_check(ctx, vmf->address, true)) {
		folio_unlock(folio);
		return VM_FAULT_SIGSEGV;
	}
	return VM_FAULT_LOCKED;
}

static int ntvm_vm_may_split(struct vm_area_struct *vma, unsigned long addr)
{
	return ntvm_own_op(vma->vm_private_data) ? 0 : -EINVAL;
}

static int ntvm_vm_mprotect(struct vm_area_struct *vma, unsigned long start,
			    unsigned long end, unsigned long newflags)
{
	return ntvm_own_op(vma->vm_private_data) ? 0 : -EACCES;
}

static int ntvm_vm_mremap(struct vm_area_struct *vma)
{
	return ntvm_own_op(vma->vm_private_data) ? 0 : -EINVAL;
}

static const struct vm_operations_struct ntvm_vm_ops = {
	.fault		= ntvm_fault,
	.page_mkwrite	= ntvm_page_mkwrite,
	.may_split	= ntvm_vm_may_split,
	.mprotect	= ntvm_vm_mprotect,
	.mremap		= ntvm_vm_mremap,
};

static int ntvm_backing_mmap(struct file *file, struct vm_area_struct *vma)
{
	struct ntvm_ctx *ctx = file->private_data;
	int err;

	if (!ntvm_own_op(ctx) || vma->vm_mm != ctx->mm)
		return -EPERM;
	err = ntvm_shmem_mmap(file, vma);
	if (err)
		return err;
	/* The first view of a context (we hold its op_lock) learns shmem's. */
	if (!ctx->shmem_vm_ops)
		ctx->shmem_vm_ops = vma->vm_ops;
	vma->vm_ops = &ntvm_vm_ops;
	vma->vm_private_data = ctx;
	/*
	 * No VM_DONTEXPAND (it would keep adjacent views from merging) and
	 * no ->close: the views of a run are one VMA.  The VMA holds the
	 * backing file, and the backing file holds the context.
	 */
	ntvm_vm_flags_set(vma, VM_DONTCOPY | VM_NOHUGEPAGE);
	/* A data view never executes, READ_IMPLIES_EXEC or not. */
	if (!ctx->op_exec)
		ntvm_vm_flags_clear(vma, VM_EXEC | VM_MAYEXEC);
	return 0;
}

static int ntvm_backing_release(struct inode *inode, struct file *file)
{
	ntvm_ctx_free(file->private_data);
	return 0;
}

/*
 * The backing file answers only our own mmap: it is never read, written
 * or fallocated through its file (so madvise(MADV_REMOVE) on a view fails
 * instead of punching holes behind our back).
 */
static const struct file_operations ntvm_backing_fops = {
	.owner		= THIS_MODULE,
	.mmap		= ntvm_backing_mmap,
	.fsync		= noop_fsync,	/* msync() of a view */
	.release	= ntvm_backing_release,
};

int ntvm_backing_init(void)
{
	char options[] = "huge=never";	/* parsed in place: writable */
	struct file_system_type *tmpfs;
	struct file *probe;

	/*
	 * A tmpfs of our own, never with huge pages, whatever
	 * shmem_enabled says (only its testing value "force" overrides).
	 */
	tmpfs = get_fs_type("tmpfs");
	if (!tmpfs)
		return -ENODEV;
	ntvm_mnt = vfs_kern_mount(tmpfs, SB_KERNMOUNT, "ntvm", options);
	module_put(tmpfs->owner);
	if (IS_ERR(ntvm_mnt))
		return PTR_ERR(ntvm_mnt);
	probe = shmem_file_setup_with_mnt(ntvm_mnt, "ntvm-probe", PAGE_SIZE,
					  VM_NORESERVE);
	if (IS_ERR(probe)) {
		kern_unmount(ntvm_mnt);
		return PTR_ERR(probe);
	}
	ntvm_shmem_mmap = probe->f_op->mmap;
	fput(probe);
	if (!ntvm_shmem_mmap) {
		kern_unmount(ntvm_mnt);
		return -ENODEV;
	}
	return 0;
}

/* After the last context: every backing file holds a module reference. */
void ntvm_backing_exit(void)
{
	kern_unmount(ntvm_mnt);
}

/* The shmem file that backs every page of @ctx. */
int ntvm_backing_create(struct ntvm_ctx *ctx)
{
	loff_t size = ntvm_file_pos(NTVM_MAX_ADDRESS + 1);
	struct file *file;

	file = shmem_file_setup_with_mnt(ntvm_mnt, "ntvm", size, VM_NORESERVE);
	if (IS_ERR(file))
		return PTR_ERR(file);
	file->private_data = ctx;
	/* The file now runs our code: it keeps the module loaded. */
	__module_get(THIS_MODULE);
	fops_put(file->f_op);
	file->f_op = &ntvm_backing_fops;
	ctx->backing = file;
	return 0;
}

/**
 * ntvm_view_map - map [start, end) of the backing as a view
 * @ctx:     the context
 * @start:   first address
 * @end:     end address
 * @exec:    an exec view (VM_EXEC) rather than a data view
 * @replace: replace what is there (our own views) rather than fail
 *
 * Return: 0, -EEXIST when something else is mapped there, -ENOMEM, -EINTR
 * (a fatal signal is pending).
 */
int ntvm_view_map(struct ntvm_ctx *ctx, unsigned long start,
		  unsigned long end, bool exec, bool replace)
{
	unsigned long prot = PROT_READ | PROT_WRITE | (exec ? PROT_EXEC : 0);
	unsigned long flags = MAP_SHARED |
			      (replace ? MAP_FIXED : MAP_FIXED_NOREPLACE);
	unsigned long addr;

	lockdep_assert_held(&ctx->op_lock);
	/*
	 * Linux 6.12 corrupts the VMA tree when a merge it retries after our
	 * ->mmap() fails for memory, which is how a dying OOM victim's
	 * allocations fail: a task being killed maps nothing more.  (This
	 * narrows the window; a kill can still come in the middle.)
	 */
	if (fatal_signal_pending(current))
		return -EINTR;
	WRITE_ONCE(ctx->op_task, current);
	ctx->op_exec = exec;
	addr = vm_mmap(ctx->backing, start, end - start, prot, flags,
		       ntvm_file_pos(start));
	WRITE_ONCE(ctx->op_task, NULL);
	if (IS_ERR_VALUE(addr))
		return (int)addr;
	return 0;
}

/* Unmap [start, end) of our views.  Return: 0 or -ENOMEM (a split). */
int ntvm_view_unmap(struct ntvm_ctx *ctx, unsigned long start,
		    unsigned long end)
{
	int err;

	lockdep_assert_held(&ctx->op_lock);
	WRITE_ONCE(ctx->op_task, current);
	err = vm_munmap(start, end - start);
	WRITE_ONCE(ctx->op_task, NULL);
	return err;
}

/*
 * After a lowering state change of [start, end) was published: no PTE may
 * keep granting what the state no longer grants.
 */
void ntvm_view_revoke(struct ntvm_ctx *ctx, unsigned long start,
		      unsigned long end)
{
	struct address_space *mapping = ctx->backing->f_mapping;
	pgoff_t index = ntvm_file_pos(start) >> PAGE_SHIFT;
	pgoff_t last = (ntvm_file_pos(end) >> PAGE_SHIFT) - 1;
	struct folio_batch fbatch;
	unsigned int i;

	/* Publish the state before looking at the page cache. */
	smp_mb();
	folio_batch_init(&fbatch);
	while (filemap_get_folios(mapping, &index, last, &fbatch)) {
		/* Wait for faults that checked the old state. */
		for (i = 0; i < folio_batch_count(&fbatch); i++) {
			folio_lock(fbatch.folios[i]);
			folio_unlock(fbatch.folios[i]);
		}
		folio_batch_release(&fbatch);
		cond_resched();
	}
	unmap_mapping_range(mapping, ntvm_file_pos(start), end - start, 1);
}

/* Does the backing hold a page of [start, end)? */
bool ntvm_view_has_pages(struct ntvm_ctx *ctx, unsigned long start,
			 unsigned long end)
{
	return filemap_range_has_page(ctx->backing->f_mapping,
				      ntvm_file_pos(start),
				      ntvm_file_pos(end) - 1);
}

/* Free the pages of [start, end): they read zero when committed again. */
void ntvm_view_discard(struct ntvm_ctx *ctx, unsigned long start,
		       unsigned long end)
{
	/* Publish the state before truncating; as in ntvm_view_revoke(). */
	smp_mb();
	/*
	 * One pass over the page tables first, so that truncation does not
	 * unmap folio by folio; faults that set a PTE after it hold the
	 * folio lock, which truncation waits for before unmapping again.
	 */
	unmap_mapping_range(ctx->backing->f_mapping, ntvm_file_pos(start),
			    end - start, 1);
	shmem_truncate_range(file_inode(ctx->backing), ntvm_file_pos(start),
			     ntvm_file_pos(end) - 1);
}

/*
 * A free, 64 KiB-aligned range of @len bytes, or 0.  The rest of its last
 * granule is free too when it is chosen: Windows leaves it unused.
 */
unsigned long ntvm_view_find_free(struct ntvm_ctx *ctx, unsigned long len)
{
	unsigned long addr, span = ALIGN(len, NTVM_GRANULARITY);

	if (mmap_read_lock_killable(ctx->mm))
		return 0;
	addr = ntvm_get_unmapped_area(span + NTVM_GRANULARITY - PAGE_SIZE);
	mmap_read_unlock(ctx->mm);
	if (IS_ERR_VALUE(addr))
		return 0;
	addr = ALIGN(addr, NTVM_GRANULARITY);
	if (addr < NTVM_MIN_ADDRESS || addr + len > NTVM_MAX_ADDRESS + 1)
		return 0;
	return addr;
}
