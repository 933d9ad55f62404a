// SPDX-License-Identifier: GPL-2.0
/*
 * The backing file: the shmem file holding every page of a context, with
 * file operations of ours.
 *
 * Its mmap accepts only the context's own view changes (ntvm_own_op())
 * and makes each new mapping a view: the vm_operations of fault.c, never
 * copied on fork, dumped or backed by huge pages, and executable only in
 * an exec view.  Kernels with ->mmap_prepare (6.16) describe the view
 * before its VMA exists, which is what lets it merge with its neighbours
 * (on 7.3 a VMA that ->mmap changes is never merged); before, ->mmap
 * changes the new VMA and the kernel retries the merge.
 *
 * It is never read, written or fallocated through its file, so
 * madvise(MADV_REMOVE) on a view fails instead of punching holes behind
 * our back.  Its release frees the context: every view holds the file.
 */

#include <linux/fs.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/shmem_fs.h>

#include "compat.h"
#include "ntvm.h"

/* Is a mapping of @ctx's backing into @mm one of its own view changes? */
static bool ntvm_backing_may_map(struct ntvm_ctx *ctx, struct mm_struct *mm)
{
	return ntvm_own_op(ctx) && mm == ctx->mm;
}

#ifdef NTVM_HAVE_MMAP_PREPARE
static int ntvm_backing_mmap_prepare(struct vm_area_desc *desc)
{
	struct ntvm_ctx *ctx = desc->file->private_data;

	if (!ntvm_backing_may_map(ctx, desc->mm))
		return -EPERM;
	file_accessed(desc->file);
	desc->vm_ops = &ntvm_vm_ops;
	desc->private_data = ctx;
	ntvm_desc_flags_set_view(desc, ctx->op_exec);
	return 0;
}
#else
static int ntvm_backing_mmap(struct file *file, struct vm_area_struct *vma)
{
	struct ntvm_ctx *ctx = file->private_data;

	if (!ntvm_backing_may_map(ctx, vma->vm_mm))
		return -EPERM;
	file_accessed(file);
	vma->vm_ops = &ntvm_vm_ops;
	vma->vm_private_data = ctx;
	/*
	 * No VM_DONTEXPAND (it would keep adjacent views from merging) and
	 * no ->close: the views of a run are one VMA.  The VMA holds the
	 * backing file, and the backing file holds the context.
	 */
	ntvm_vm_flags_set(vma, VM_DONTCOPY | VM_NOHUGEPAGE | VM_DONTDUMP);
	/* A data view never executes, READ_IMPLIES_EXEC or not. */
	if (!ctx->op_exec)
		ntvm_vm_flags_clear(vma, VM_EXEC | VM_MAYEXEC);
	return 0;
}
#endif

static int ntvm_backing_release(struct inode *inode, struct file *file)
{
	ntvm_ctx_free(file->private_data);
	return 0;
}

static const struct file_operations ntvm_backing_fops = {
	.owner		= THIS_MODULE,
#ifdef NTVM_HAVE_MMAP_PREPARE
	.mmap_prepare	= ntvm_backing_mmap_prepare,
#else
	.mmap		= ntvm_backing_mmap,
#endif
	.fsync		= noop_fsync,	/* msync() of a view */
	.release	= ntvm_backing_release,
};

/**
 * ntvm_backing_create - the shmem file that backs every page of @ctx
 * @ctx: the context, which the file's release frees
 * @mnt: the tmpfs to create it on
 *
 * Return: 0 or a negative errno.
 */
int ntvm_backing_create(struct ntvm_ctx *ctx, struct vfsmount *mnt)
{
	loff_t size = ntvm_file_pos(NTVM_MAX_ADDRESS + 1);
	struct file *file;

	file = ntvm_shmem_file_noreserve(mnt, "ntvm", size);
	if (IS_ERR(file))
		return PTR_ERR(file);
	file->private_data = ctx;
	/* The file now runs our code: it keeps the module loaded. */
	__module_get(THIS_MODULE);
	replace_fops(file, &ntvm_backing_fops);
	ctx->backing = file;
	return 0;
}
