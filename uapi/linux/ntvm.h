/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * ntvm: Windows NT virtual-memory semantics for Linux processes.
 *
 * Each open() of /dev/ntvm is one address-space context bound to the
 * opening process.  Its ioctls follow the NT system services
 * NtAllocateVirtualMemory, NtFreeVirtualMemory, NtProtectVirtualMemory,
 * NtQueryVirtualMemory and NtLockVirtualMemory/NtUnlockVirtualMemory,
 * acting on the caller's own address space.
 *
 * Return convention: an ioctl returns 0 when the request was carried out,
 * successfully or not; the NT result is then in the ``status`` field of its
 * argument (an NTSTATUS value, 0 meaning STATUS_SUCCESS).  The ioctl itself
 * fails only when the request could not be carried out at all:
 *
 *  - EFAULT: the argument could not be read or written.  It is written
 *            back unchanged before the request runs, so an argument that
 *            cannot be written makes nothing happen; only a request that
 *            makes its own argument unwritable (protecting, decommitting
 *            or releasing the page that holds it) is carried out and then
 *            fails with EFAULT, its outputs lost;
 *  - EINVAL: a field of this ABI (not an NT argument) is invalid: a
 *            non-zero ``pad`` or an unknown bit in ``flags``;
 *  - EPERM:  the file was opened by another process (another mm) and the
 *            request is not one another process may make (see "Other
 *            processes" below);
 *  - ESRCH:  the context's process has exited (or replaced its address
 *            space with execve()): there is no memory left to act on;
 *  - EINTR:  a fatal signal arrived while waiting for the context;
 *  - ENOTTY: unknown request.
 *
 * Other processes (NTVM_FEATURE_REMOTE): the file is the right to the
 * context's memory.  A process gets it by opening /dev/ntvm (its own
 * context), from a process that has it (fork(), SCM_RIGHTS), or with
 * pidfd_getfd(2) from the owner, which needs the right to ptrace the owner
 * (PTRACE_MODE_ATTACH_REALCREDS: the same credentials and a dumpable
 * owner, or CAP_SYS_PTRACE, and the Yama setting in force).  A holder in
 * another address space may make NTVM_IOC_ALLOC, NTVM_IOC_ALLOC_EX,
 * NTVM_IOC_FREE, NTVM_IOC_PROTECT and NTVM_IOC_QUERY (the NT services
 * with another process's handle), which act on the owner's address space
 * with every rule of the owner's own calls (the owner's commit charge,
 * credentials and RLIMIT_AS too) and need nothing of the owner;
 * NTVM_IOC_FEATURES, NTVM_IOC_VERSION, NTVM_IOC_SYSINFO,
 * NTVM_IOC_GET_COMMIT and NTVM_IOC_CONTEXT too.  The other requests fail
 * with EPERM.  Like a
 * writable /proc/PID/mem, the file should be opened with O_CLOEXEC: one
 * left open across execve(2) gives the program run the memory.
 *
 * All fields are fixed-size and every structure is a multiple of 8 bytes,
 * so the ABI is the same for 32-bit and 64-bit callers.  Fields named
 * ``pad`` must be zero, and so must bits of ``flags`` this header does not
 * define.
 *
 * The ABI is frozen: requests and fields are never changed or removed.
 * Additions (new requests, new ``flags`` bits) are announced by a bit in
 * the mask NTVM_IOC_FEATURES returns.
 *
 * Version (NTVM_FEATURE_VERSION): NTVM_IOC_VERSION gives the ABI's version
 * as major.minor.  The minor version counts the additions: it grows by one
 * with each new bit of NTVM_IOC_FEATURES, so a module of a given minor
 * version has every addition made up to it.  The major version would grow
 * only with an incompatible change, which the frozen ABI promises never
 * to make: it is there so that a caller can tell.  A caller built for
 * major.minor works with a module of the same major version and a minor
 * version of at least its own; a module without NTVM_IOC_VERSION fails it
 * with ENOTTY and is older than every version.
 *
 * Copyright (C) 2026 The ntvm authors
 */

#ifndef __LINUX_NTVM_H
#define __LINUX_NTVM_H

#include <linux/const.h>
#include <linux/ioctl.h>
#include <linux/types.h>

/*
 * Bits of the NTVM_IOC_FEATURES mask, one for each addition to the first
 * version of this ABI.
 */
/* MEM_WRITE_WATCH, NTVM_IOC_GET_WRITE_WATCH, NTVM_IOC_RESET_WRITE_WATCH */
#define NTVM_FEATURE_WRITE_WATCH	_BITULL(0)
/* NTVM_IOC_LOCK, NTVM_IOC_UNLOCK, NTVM_IOC_WORKING_SET */
#define NTVM_FEATURE_LOCK		_BITULL(2)
/* NTVM_IOC_GET_COMMIT, NTVM_IOC_SET_COMMIT_LIMIT */
#define NTVM_FEATURE_COMMIT_LIMIT	_BITULL(3)
/*
 * NTVM_IOC_ALLOC_EX; NT zero bits and MEM_TOP_DOWN honoured by
 * NTVM_IOC_ALLOC too
 */
#define NTVM_FEATURE_PLACEMENT		_BITULL(4)
/*
 * NTVM_IOC_ADDRESS_LIMIT; a 32-bit opener's context starts at 2 GiB less
 * 64 KiB
 */
#define NTVM_FEATURE_ADDRESS_LIMIT	_BITULL(5)
/*
 * Placeholders: MEM_RESERVE_PLACEHOLDER and MEM_REPLACE_PLACEHOLDER in
 * NTVM_IOC_ALLOC_EX, MEM_PRESERVE_PLACEHOLDER and
 * MEM_COALESCE_PLACEHOLDERS in NTVM_IOC_FREE
 */
#define NTVM_FEATURE_PLACEHOLDERS	_BITULL(6)
/*
 * NTVM_IOC_CONTEXT; NTVM_IOC_ALLOC, NTVM_IOC_ALLOC_EX, NTVM_IOC_FREE,
 * NTVM_IOC_PROTECT and NTVM_IOC_QUERY from another process
 */
#define NTVM_FEATURE_REMOTE		_BITULL(7)
/* NTVM_IOC_VERSION */
#define NTVM_FEATURE_VERSION		_BITULL(8)
/* The query map: mmap(2) of the file (struct ntvm_query_map_header) */
#define NTVM_FEATURE_QUERY_MAP		_BITULL(9)
/*
 * The query map holds the allocations and their page states (layout
 * version 2: struct ntvm_query_map_record and struct ntvm_query_map_run)
 */
#define NTVM_FEATURE_QUERY_RECORDS	_BITULL(10)
#define NTVM_FEATURES_KNOWN		(NTVM_FEATURE_WRITE_WATCH | \
					 NTVM_FEATURE_LOCK | \
					 NTVM_FEATURE_COMMIT_LIMIT | \
					 NTVM_FEATURE_PLACEMENT | \
					 NTVM_FEATURE_ADDRESS_LIMIT | \
					 NTVM_FEATURE_PLACEHOLDERS | \
					 NTVM_FEATURE_REMOTE | \
					 NTVM_FEATURE_VERSION | \
					 NTVM_FEATURE_QUERY_MAP | \
					 NTVM_FEATURE_QUERY_RECORDS)

/*
 * The version of this ABI (NTVM_IOC_VERSION): the major version, 1 since
 * the first; the minor version, the number of additions, which is the
 * number of bits set in NTVM_FEATURES_KNOWN.
 */
#define NTVM_ABI_MAJOR			1
#define NTVM_ABI_MINOR			10

/**
 * struct ntvm_alloc_args - NtAllocateVirtualMemory
 * @base:      in: requested address, 0 to let the kernel choose; out: the
 *             (rounded) base of the reserved or committed range.
 * @size:      in: requested size in bytes; out: the rounded size.
 * @type:      in: MEM_COMMIT, MEM_RESERVE, MEM_RESET, MEM_RESET_UNDO,
 *             MEM_TOP_DOWN, ...
 * @protect:   in: PAGE_* protection.
 * @zero_bits: in: NT zero bits: 0, 1 to 21 (the base and the end below
 *             1 << (32 - @zero_bits)), or a mask of 32 bits or more (the
 *             allocation below the next power of two above it).  Only for
 *             an address the kernel chooses.
 * @status:    out: NTSTATUS.
 *
 * @base and @size are written back only on success.
 */
struct ntvm_alloc_args {
	__u64 base;
	__u64 size;
	__u32 type;
	__u32 protect;
	__u32 zero_bits;
	__u32 status;
};

/**
 * struct ntvm_alloc_ex_args - NtAllocateVirtualMemoryEx
 * @base:    in/out: as in struct ntvm_alloc_args.
 * @size:    in/out: as in struct ntvm_alloc_args.
 * @type:    in: MEM_* flags.
 * @protect: in: PAGE_* protection.
 * @params:  in: user pointer to @count extended parameters in Windows'
 *           layout (struct ntvm_mem_extended_parameter); 0 if @count is 0.
 * @count:   in: number of extended parameters.
 * @status:  out: NTSTATUS.
 *
 * The extended parameters are Windows' MEM_EXTENDED_PARAMETER:
 *
 *  - NTVM_MEM_EXTENDED_PARAMETER_ADDRESS_REQUIREMENTS: @value points to a
 *    struct ntvm_mem_address_requirements (struct
 *    ntvm_mem_address_requirements32 from a 32-bit process): the
 *    allocation lies in [lowest, highest] with its base a multiple of the
 *    alignment; only for an address the kernel chooses;
 *  - NTVM_MEM_EXTENDED_PARAMETER_NUMA_NODE: an online node; advisory;
 *  - NTVM_MEM_EXTENDED_PARAMETER_ATTRIBUTE_FLAGS: must be 0.
 *
 * Other types, a type given twice, and invalid requirements give
 * STATUS_INVALID_PARAMETER; an unreadable array or requirements
 * STATUS_ACCESS_VIOLATION.  @base and @size are written back only on
 * success.
 *
 * Placeholders (NTVM_FEATURE_PLACEHOLDERS): address space held for a
 * later allocation, reported as reserved PAGE_NOACCESS private memory,
 * never committed or protected.
 *
 *  - MEM_RESERVE | MEM_RESERVE_PLACEHOLDER (MEM_TOP_DOWN allowed) makes
 *    one, as a reservation; @protect must be PAGE_NOACCESS, other flags
 *    are STATUS_INVALID_PARAMETER.  NTVM_IOC_ALLOC refuses the flag with
 *    STATUS_INVALID_PARAMETER.
 *  - MEM_RESERVE | MEM_REPLACE_PLACEHOLDER, with MEM_COMMIT and
 *    MEM_WRITE_WATCH allowed, makes the placeholder at @base an ordinary
 *    allocation reserved with @protect; @base and @size, page-rounded,
 *    must be exactly the placeholder's (else
 *    STATUS_CONFLICTING_ADDRESSES).  Without MEM_RESERVE, with other
 *    flags, or with no allocation or no placeholder at @base:
 *    STATUS_INVALID_PARAMETER.
 *  - MEM_COMMIT or MEM_RESET on a placeholder gives
 *    STATUS_CONFLICTING_ADDRESSES, as does a reservation over one.
 */
struct ntvm_alloc_ex_args {
	__u64 base;
	__u64 size;
	__u32 type;
	__u32 protect;
	__u64 params;
	__u32 count;
	__u32 status;
};

/**
 * struct ntvm_mem_extended_parameter - Windows' MEM_EXTENDED_PARAMETER
 * @type:  the type in the low 8 bits (NTVM_MEM_EXTENDED_PARAMETER_*), the
 *         rest reserved.
 * @value: its value: a user pointer (32 bits wide in a 32-bit process,
 *         in the low half) or a number.
 */
struct ntvm_mem_extended_parameter {
	__u64 type;
	__u64 value;
};

#define NTVM_MEM_EXTENDED_PARAMETER_TYPE_BITS		8
#define NTVM_MEM_EXTENDED_PARAMETER_ADDRESS_REQUIREMENTS	1
#define NTVM_MEM_EXTENDED_PARAMETER_NUMA_NODE		2
#define NTVM_MEM_EXTENDED_PARAMETER_PARTITION_HANDLE	3
#define NTVM_MEM_EXTENDED_PARAMETER_USER_PHYSICAL_HANDLE	4
#define NTVM_MEM_EXTENDED_PARAMETER_ATTRIBUTE_FLAGS	5
#define NTVM_MEM_EXTENDED_PARAMETER_IMAGE_MACHINE	6
#define NTVM_MEM_EXTENDED_PARAMETER_MAX			7

/**
 * struct ntvm_mem_address_requirements - MEM_ADDRESS_REQUIREMENTS
 * @lowest:    LowestStartingAddress: 0, or a multiple of 64 KiB.
 * @highest:   HighestEndingAddress, inclusive: 0, or the last byte of a
 *             page above @lowest.
 * @alignment: 0 (64 KiB), or a power of two of at least 64 KiB.
 */
struct ntvm_mem_address_requirements {
	__u64 lowest;
	__u64 highest;
	__u64 alignment;
};

/* MEM_ADDRESS_REQUIREMENTS of a 32-bit process. */
struct ntvm_mem_address_requirements32 {
	__u32 lowest;
	__u32 highest;
	__u32 alignment;
};

/**
 * struct ntvm_free_args - NtFreeVirtualMemory
 * @base:   in/out: address; out: page-rounded base of the freed range.
 * @size:   in/out: size (0 = whole allocation); out: size freed.
 * @type:   in: MEM_DECOMMIT, MEM_RELEASE, or (NTVM_FEATURE_PLACEHOLDERS)
 *          MEM_RELEASE | MEM_PRESERVE_PLACEHOLDER or MEM_RELEASE |
 *          MEM_COALESCE_PLACEHOLDERS; any other value gives
 *          STATUS_INVALID_PARAMETER_4.
 * @status: out: NTSTATUS.
 * @flags:  in: none defined yet, must be zero.
 * @pad:    must be zero.
 *
 * Unlike VirtualFree, MEM_RELEASE with a non-zero size releases just that
 * range and splits the allocation (the part after it gets its own
 * allocation base).
 *
 * MEM_RELEASE | MEM_PRESERVE_PLACEHOLDER turns the page-rounded range,
 * inside one allocation, into a placeholder: of an allocation that
 * replaced a placeholder, as a release would (contents, commit charge,
 * locks, write watch and reset state go); of a placeholder, splitting it
 * into two or three, each its own allocation.  @size 0 gives
 * STATUS_INVALID_PARAMETER_3; an allocation that was never a placeholder,
 * or a whole placeholder, STATUS_CONFLICTING_ADDRESSES.
 *
 * MEM_RELEASE | MEM_COALESCE_PLACEHOLDERS joins two or more adjacent
 * placeholders into one: @base must be the first one's base and @size the
 * sum of their sizes (else STATUS_CONFLICTING_ADDRESSES; @size 0 gives
 * STATUS_INVALID_PARAMETER_3).  A plain MEM_RELEASE across several
 * placeholders gives STATUS_UNABLE_TO_FREE_VM, as across any allocations.
 */
struct ntvm_free_args {
	__u64 base;
	__u64 size;
	__u32 type;
	__u32 status;
	__u32 flags;
	__u32 pad;
};

/**
 * struct ntvm_protect_args - NtProtectVirtualMemory
 * @base:        in/out: address; out: page-rounded base.
 * @size:        in/out: size in bytes; out: page-rounded size.
 * @protect:     in: new PAGE_* protection.
 * @old_protect: out: protection of the first page before the call
 *               (PAGE_NOACCESS when the call fails).
 * @status:      out: NTSTATUS.
 * @pad:         must be zero.
 */
struct ntvm_protect_args {
	__u64 base;
	__u64 size;
	__u32 protect;
	__u32 old_protect;
	__u32 status;
	__u32 pad;
};

/**
 * struct ntvm_query_args - NtQueryVirtualMemory(MemoryBasicInformation)
 * @address:            in: address to query.
 * @base_address:       out: @address rounded down to a page.
 * @allocation_base:    out: base of the allocation (0 for free memory).
 * @region_size:        out: bytes from @base_address with identical
 *                      attributes.
 * @allocation_protect: out: protection given when the allocation was made.
 * @state:              out: MEM_COMMIT, MEM_RESERVE or MEM_FREE.
 * @protect:            out: current PAGE_* protection (0 when reserved).
 * @type:               out: MEM_PRIVATE, MEM_MAPPED, MEM_IMAGE or 0.
 * @region_flags:       out: NTVM_REGION_* flags.
 * @status:             out: NTSTATUS.
 * @flags:              in: none defined yet, must be zero.
 * @pad:                must be zero.
 */
struct ntvm_query_args {
	__u64 address;
	__u64 base_address;
	__u64 allocation_base;
	__u64 region_size;
	__u32 allocation_protect;
	__u32 state;
	__u32 protect;
	__u32 type;
	__u32 region_flags;
	__u32 status;
	__u32 flags;
	__u32 pad;
};

/* The region is memory ntvm manages (else: free, or the process's own). */
#define NTVM_REGION_MANAGED	0x1

/**
 * struct ntvm_sysinfo_args - system parameters and module counters
 * @minimum_address:        lowest address an allocation may use.
 * @maximum_address:        highest address an allocation of this context
 *                          may use (NTVM_IOC_ADDRESS_LIMIT).
 * @commit_limit:           pages each user may commit (the charge is per
 *                          user: see Documentation/ntvm.rst).
 * @committed:              pages committed now, all users.
 * @user_committed:         pages committed now by the user who opened
 *                          this context.
 * @contexts:               open contexts.
 * @allocations:            live allocations, all contexts.
 * @page_size:              page size (4096).
 * @allocation_granularity: reservation base alignment (65536).
 */
struct ntvm_sysinfo_args {
	__u64 minimum_address;
	__u64 maximum_address;
	__u64 commit_limit;
	__u64 committed;
	__u64 user_committed;
	__u64 contexts;
	__u64 allocations;
	__u32 page_size;
	__u32 allocation_granularity;
};

/**
 * struct ntvm_get_write_watch_args - NtGetWriteWatch
 * @base:        in: address in a MEM_WRITE_WATCH allocation.
 * @size:        in: bytes; the page-rounded range must lie in that one
 *               allocation.
 * @addresses:   in: user pointer to an array of @count __u64, which gets
 *               the addresses of the pages written, ascending.
 * @count:       in: capacity of @addresses (not 0); out: entries stored.
 * @watch_flags: in: 0 or NTVM_WRITE_WATCH_FLAG_RESET (an NT argument:
 *               other values give STATUS_INVALID_PARAMETER).
 * @granularity: out: bytes a reported address stands for (the page size).
 * @status:      out: NTSTATUS.
 * @pad:         must be zero.
 *
 * With NTVM_WRITE_WATCH_FLAG_RESET the pages scanned up to the last one
 * reported are reset in the same call: a write racing with the call is
 * either reported by it or reported by a later call.  @count and
 * @granularity are written back only on success.  An @addresses array
 * that cannot be written gives STATUS_ACCESS_VIOLATION, or
 * STATUS_GUARD_PAGE_VIOLATION when writing it tripped a guard page (whose
 * guard is then cleared: the same call made again succeeds); pages that
 * did not reach the array are not reset.
 */
struct ntvm_get_write_watch_args {
	__u64 base;
	__u64 size;
	__u64 addresses;
	__u64 count;
	__u32 watch_flags;
	__u32 granularity;
	__u32 status;
	__u32 pad;
};

#define NTVM_WRITE_WATCH_FLAG_RESET	0x01

/**
 * struct ntvm_reset_write_watch_args - NtResetWriteWatch
 * @base:   in: address in a MEM_WRITE_WATCH allocation.
 * @size:   in: bytes; the page-rounded range must lie in that allocation.
 * @status: out: NTSTATUS.
 * @pad:    must be zero.
 */
struct ntvm_reset_write_watch_args {
	__u64 base;
	__u64 size;
	__u32 status;
	__u32 pad;
};

/**
 * struct ntvm_lock_args - NtLockVirtualMemory, NtUnlockVirtualMemory
 * @base:     in/out: address; out: page-rounded base.
 * @size:     in/out: size in bytes (not 0); out: page-rounded size.
 * @map_type: in: NTVM_MAP_PROCESS and/or NTVM_MAP_SYSTEM (an NT argument:
 *            other values give STATUS_INVALID_PARAMETER).
 * @status:   out: NTSTATUS.
 *
 * A locked page stays resident (never written to swap) until it is
 * unlocked, decommitted, released, protected PAGE_NOACCESS or PAGE_GUARD,
 * or the context goes.  @base and @size are written back only when
 * @status is a success (STATUS_WAS_LOCKED included).
 *
 * NTVM_IOC_LOCK's statuses, in the order checked: STATUS_INVALID_PARAMETER
 * (@map_type, or a range not inside the user address space, or @size 0);
 * STATUS_PRIVILEGE_NOT_HELD (NTVM_MAP_SYSTEM without CAP_IPC_LOCK);
 * STATUS_WORKING_SET_QUOTA (the range alone is over the quota);
 * STATUS_ACCESS_VIOLATION (a page outside every allocation);
 * STATUS_WORKING_SET_QUOTA (the quota, or RLIMIT_MEMLOCK, with the pages
 * locked already); then each page in order: STATUS_ACCESS_VIOLATION
 * (reserved, or PAGE_NOACCESS), STATUS_GUARD_PAGE_VIOLATION (a guard
 * page, which loses its guard).  STATUS_WAS_LOCKED when a page was locked
 * already.  NTVM_IOC_UNLOCK's: the same first two, then STATUS_NOT_LOCKED
 * (a page outside every allocation, or not locked with every type of
 * @map_type).  A failed call changes nothing.
 */
struct ntvm_lock_args {
	__u64 base;
	__u64 size;
	__u32 map_type;
	__u32 status;
};

#define NTVM_MAP_PROCESS	0x1
#define NTVM_MAP_SYSTEM		0x2

/**
 * struct ntvm_working_set_args - the working-set limits of the context
 * @minimum: in (NTVM_WORKING_SET_SET): bytes; out: the minimum in bytes.
 * @maximum: in (NTVM_WORKING_SET_SET): bytes; out: the maximum in bytes.
 * @locked:  out: pages locked now (NTVM_IOC_LOCK).
 * @hard:    in (NTVM_WORKING_SET_SET): QUOTA_LIMITS_HARDWS_* enable and
 *           disable bits (an NT argument); out: the hard limits, one
 *           enable or disable bit for each limit.
 * @flags:   in: 0 to query, NTVM_WORKING_SET_SET to set and query.
 * @status:  out: NTSTATUS.
 * @pad:     must be zero.
 *
 * The minimum bounds the pages a context may lock: see NTVM_IOC_LOCK.
 * A set follows NtSetInformationProcess(ProcessQuotaLimits): a size of 0
 * keeps that limit; both ~0 change nothing; an enable and a disable bit
 * of the same limit in @hard, or an unknown bit, give
 * STATUS_INVALID_PARAMETER; a limit out of range is brought into range
 * (STATUS_WORKING_SET_LIMIT_RANGE, a success); a minimum above the
 * maximum, a maximum below 13 pages or not above the locked pages plus 8,
 * or, with both limits hard, a minimum not more than 8 pages below the
 * maximum, fail with STATUS_BAD_WORKING_SET_LIMIT.  The outputs are
 * written on success.
 */
struct ntvm_working_set_args {
	__u64 minimum;
	__u64 maximum;
	__u64 locked;
	__u32 hard;
	__u32 flags;
	__u32 status;
	__u32 pad;
};

#define NTVM_WORKING_SET_SET	0x1

#define NTVM_QUOTA_LIMITS_HARDWS_MIN_ENABLE	0x1
#define NTVM_QUOTA_LIMITS_HARDWS_MIN_DISABLE	0x2
#define NTVM_QUOTA_LIMITS_HARDWS_MAX_ENABLE	0x4
#define NTVM_QUOTA_LIMITS_HARDWS_MAX_DISABLE	0x8

/**
 * struct ntvm_commit_args - the commit charge and limit of this context
 * @committed:      out: pages committed now in this context (its share of
 *                  struct ntvm_sysinfo_args.user_committed).
 * @peak_committed: out: the most pages committed at once in this context
 *                  since it was opened, counting only commits that
 *                  succeeded.
 * @limit:          out: pages this context may commit (its own limit, a
 *                  job's process memory limit), NTVM_COMMIT_LIMIT_NONE
 *                  when it has none; the user's limit applies as well.
 *
 * Any holder of the file may read it (NTVM_IOC_GET_COMMIT).
 */
struct ntvm_commit_args {
	__u64 committed;
	__u64 peak_committed;
	__u64 limit;
};

/**
 * struct ntvm_commit_limit_args - set the commit limit of this context
 * @limit: in: pages this context may commit from now on, whatever it has
 *         committed already; NTVM_COMMIT_LIMIT_NONE for no limit of its
 *         own.  Any value is accepted, lower or higher than the current
 *         limit or charge: a limit below the charge makes every commit
 *         that adds to the charge fail until enough is decommitted.
 * @flags: in: none defined yet, must be zero.
 * @pad:   must be zero.
 *
 * Only the process that opened the context may set it (EPERM).  A commit
 * that would pass this limit, or the user's (commit_limit_pages), fails
 * with STATUS_COMMITMENT_LIMIT and charges nothing.  A new context has no
 * limit of its own; a forked child has no context.
 */
struct ntvm_commit_limit_args {
	__u64 limit;
	__u32 flags;
	__u32 pad;
};

#define NTVM_COMMIT_LIMIT_NONE	(~(__u64)0)

/*
 * Values of the NT constants the ABI carries.  They are Windows' own values
 * (winnt.h, ntstatus.h); libntvm's <ntvm.h> gives them their Windows names.
 */
#define NTVM_MEM_COMMIT			0x00001000
#define NTVM_MEM_RESERVE		0x00002000
#define NTVM_MEM_DECOMMIT		0x00004000
#define NTVM_MEM_REPLACE_PLACEHOLDER	0x00004000
#define NTVM_MEM_RELEASE		0x00008000
#define NTVM_MEM_FREE			0x00010000
#define NTVM_MEM_PRIVATE		0x00020000
#define NTVM_MEM_MAPPED			0x00040000
#define NTVM_MEM_RESERVE_PLACEHOLDER	0x00040000
#define NTVM_MEM_RESET			0x00080000
#define NTVM_MEM_TOP_DOWN		0x00100000
#define NTVM_MEM_WRITE_WATCH		0x00200000
#define NTVM_MEM_PHYSICAL		0x00400000
#define NTVM_MEM_IMAGE			0x01000000
/*
 * MEM_RESET_UNDO has MEM_IMAGE's value, as in Windows' winnt.h and the
 * VirtualAlloc documentation (0x1000000); 0x10000000 is SEC_NOCACHE.
 */
#define NTVM_MEM_RESET_UNDO		0x01000000
#define NTVM_MEM_LARGE_PAGES		0x20000000
/* NtFreeVirtualMemory, with MEM_RELEASE. */
#define NTVM_MEM_COALESCE_PLACEHOLDERS	0x00000001
#define NTVM_MEM_PRESERVE_PLACEHOLDER	0x00000002

#define NTVM_PAGE_NOACCESS		0x0001
#define NTVM_PAGE_READONLY		0x0002
#define NTVM_PAGE_READWRITE		0x0004
#define NTVM_PAGE_WRITECOPY		0x0008
#define NTVM_PAGE_EXECUTE		0x0010
#define NTVM_PAGE_EXECUTE_READ		0x0020
#define NTVM_PAGE_EXECUTE_READWRITE	0x0040
#define NTVM_PAGE_EXECUTE_WRITECOPY	0x0080
#define NTVM_PAGE_GUARD			0x0100
#define NTVM_PAGE_NOCACHE		0x0200
#define NTVM_PAGE_WRITECOMBINE		0x0400

#define NTVM_STATUS_SUCCESS			0x00000000
#define NTVM_STATUS_WORKING_SET_LIMIT_RANGE	0x40000002
#define NTVM_STATUS_WAS_UNLOCKED		0x40000017
#define NTVM_STATUS_WAS_LOCKED			0x40000019
#define NTVM_STATUS_GUARD_PAGE_VIOLATION	0x80000001
#define NTVM_STATUS_ACCESS_VIOLATION		0xC0000005
#define NTVM_STATUS_INVALID_PARAMETER		0xC000000D
#define NTVM_STATUS_NO_MEMORY			0xC0000017
#define NTVM_STATUS_CONFLICTING_ADDRESSES	0xC0000018
#define NTVM_STATUS_UNABLE_TO_FREE_VM		0xC000001A
#define NTVM_STATUS_NOT_LOCKED			0xC000002A
#define NTVM_STATUS_NOT_COMMITTED		0xC000002D
#define NTVM_STATUS_INVALID_PAGE_PROTECTION	0xC0000045
#define NTVM_STATUS_BAD_WORKING_SET_LIMIT	0xC000004C
#define NTVM_STATUS_PRIVILEGE_NOT_HELD		0xC0000061
#define NTVM_STATUS_FREE_VM_NOT_AT_BASE		0xC000009F
#define NTVM_STATUS_MEMORY_NOT_ALLOCATED	0xC00000A0
#define NTVM_STATUS_WORKING_SET_QUOTA		0xC00000A1
#define NTVM_STATUS_NOT_SUPPORTED		0xC00000BB
#define NTVM_STATUS_INVALID_PARAMETER_2		0xC00000F0
#define NTVM_STATUS_INVALID_PARAMETER_3		0xC00000F1
#define NTVM_STATUS_INVALID_PARAMETER_4		0xC00000F2
#define NTVM_STATUS_INVALID_PARAMETER_5		0xC00000F3
#define NTVM_STATUS_COMMITMENT_LIMIT		0xC000012D

/**
 * struct ntvm_address_limit_args - the highest user address of a context
 * @maximum: in (NTVM_ADDRESS_LIMIT_SET): the new highest address, which
 *           GetSystemInfo() reports as lpMaximumApplicationAddress; out:
 *           the highest address now.
 * @flags:   in: 0 to query, NTVM_ADDRESS_LIMIT_SET to set and query.
 * @status:  out: NTSTATUS.
 *
 * No allocation, and no address an NT call takes, lies above the limit:
 * an address above it is invalid as one above the whole user address
 * space is.  A context opened by a 32-bit process starts at
 * NTVM_MAXIMUM_ADDRESS_32 (0x7FFEFFFF, 2 GiB less 64 KiB: Windows'
 * limit for a 32-bit program); one opened by a 64-bit process at
 * 0x7FFFFFFEFFFF.  A program that is large-address aware (or an emulator
 * that runs 32-bit code in a 64-bit process) sets its own: at least
 * NTVM_MAXIMUM_ADDRESS_32, one less than a multiple of 64 KiB, at most
 * 0x7FFFFFFEFFFF, or at most NTVM_MAXIMUM_ADDRESS_32_LAA (0xFFFEFFFF)
 * from a 32-bit process, else STATUS_INVALID_PARAMETER; an allocation reaching above
 * it gives STATUS_CONFLICTING_ADDRESSES.  The output is written on
 * success.
 */
struct ntvm_address_limit_args {
	__u64 maximum;
	__u32 flags;
	__u32 status;
};

#define NTVM_ADDRESS_LIMIT_SET		0x1

#define NTVM_MAXIMUM_ADDRESS_32		0x7FFEFFFF
#define NTVM_MAXIMUM_ADDRESS_32_LAA	0xFFFEFFFF

/**
 * struct ntvm_context_args - whose context a file is
 * @owner_pid: out: the process (thread-group) id of the context's owner,
 *             the process that opened it, as the caller's pid namespace
 *             numbers it; 0 when the owner has exited, has replaced its
 *             address space with execve(), or has no number there.
 * @flags:     out: NTVM_CONTEXT_OWN when the caller runs in the owner's
 *             address space.
 *
 * A process that took files of another one with pidfd_getfd(2) tells by
 * this which of them is that process's own context (NTVM_IOC_CONTEXT).
 */
struct ntvm_context_args {
	__u32 owner_pid;
	__u32 flags;
};

#define NTVM_CONTEXT_OWN		0x1

/**
 * struct ntvm_version - the ABI version of the module
 * @major: out: NTVM_ABI_MAJOR of the module's header.
 * @minor: out: NTVM_ABI_MINOR of the module's header.
 *
 * Any holder of the file may read it (NTVM_IOC_VERSION).  A program built
 * with this header works with the module when @major is NTVM_ABI_MAJOR
 * and @minor is at least NTVM_ABI_MINOR; libntvm checks it when it opens
 * the device (see the version paragraph at the top of this header).
 */
struct ntvm_version {
	__u32 major;
	__u32 minor;
};

/* Entries of the query map's radix tree (see below): the low two bits */
#define NTVM_QUERY_MAP_FANOUT		256
#define NTVM_QUERY_MAP_NODE		1	/* a node's offset */
#define NTVM_QUERY_MAP_RECORD		2	/* a record's offset */
#define NTVM_QUERY_MAP_SLOW		3	/* ask NTVM_IOC_QUERY */
#define NTVM_QUERY_MAP_TAG		3

/**
 * struct ntvm_query_map_header - the first page of the query map
 * @magic:       NTVM_QUERY_MAP_MAGIC.
 * @version:     the layout of the map: NTVM_QUERY_MAP_VERSION.  Version 1
 *               had only @magic up to @map_size.
 * @seq:         the sequence count: odd while the module changes the map.
 *               A reader reads it (acquire), then what it wants, then it
 *               again (after a read barrier), and starts over when it was
 *               odd or has changed; a reader that keeps finding it odd
 *               (a change that sleeps) asks NTVM_IOC_QUERY instead, which
 *               waits for the change.  A 32-bit reader loads its low
 *               half (and @generation as two halves inside the section):
 *               a 64-bit atomic load there may be a compare-and-swap,
 *               which writes, and the map is read-only.
 * @generation:  bumped by every change of the memory state a query of the
 *               context reports (a reservation, commit, decommit, release
 *               or protection change, a placeholder made, split, joined or
 *               replaced, a guard page tripped, a new address limit, the
 *               process unmapping an allocation's views itself), from
 *               this process or another; not by a query.  A request's
 *               changes count once, as one step of @seq, published before
 *               it returns; a request that fails may count too.
 * @map_size:    bytes of the map: the longest mapping the module accepts.
 * @used:        bytes of the map that exist: every offset in the map is
 *               below it, and a reader must check that before it follows
 *               one (inside a section that turns out torn, anything may
 *               be read).
 * @max_address: the context's highest address (NTVM_IOC_ADDRESS_LIMIT):
 *               NTVM_IOC_QUERY of an address above it fails.
 * @pending:     non-zero when the records are behind the memory state:
 *               before the first request after the map was first mapped,
 *               after a guard page tripped or the process unmapped memory
 *               (until the next request of the context, NTVM_IOC_QUERY
 *               too), or when the module had no memory for them.  Ask
 *               NTVM_IOC_QUERY then.
 * @pad:         zero.
 * @root:        the root of the radix tree (below).
 *
 * The query map (NTVM_FEATURE_QUERY_MAP) is the context's state, mapped
 * read-only into its process by mmap(2) of the file at offset 0, at most
 * @map_size bytes, shared (MAP_SHARED) and with PROT_READ (PROT_EXEC is
 * dropped, as READ_IMPLIES_EXEC may add it).  A writable mapping fails
 * with EACCES; else a private mapping, another offset or a longer one with
 * EINVAL; one from another address space than the
 * context's (the file passed on, inherited by fork(2) or kept across
 * execve(2)) with EPERM.  The mapping can never be made writable or
 * executable (mprotect(2) fails with EACCES), nor written through
 * /proc/PID/mem or process_vm_writev(2); mremap(2) cannot grow it; it is
 * not inherited by a child of fork(2) (one that inherits it after
 * madvise(MADV_DOFORK) gets SIGSEGV reading it) and not dumped.  It keeps
 * the file, and so the context, open until it is unmapped.  Reading an
 * offset at or above @used gets SIGBUS.
 *
 * Layout version 2 (NTVM_FEATURE_QUERY_RECORDS) holds what NTVM_IOC_QUERY
 * answers for the addresses inside intact allocations (those the process
 * asks it about), so that a query there needs no system call.  Offsets
 * are in bytes from the start of the map.  The radix tree has four levels
 * over 64 KiB granules (address >> 16, 31 bits): @root is indexed by bits
 * 24-31 of the granule number, the nodes below it
 * (NTVM_QUERY_MAP_FANOUT __u32 entries each, 1 KiB aligned) by bits
 * 16-23, 8-15 and 0-7.  An entry is 0 (no record: free memory, the
 * process's own, or an allocation the map does not describe now, all of
 * which NTVM_IOC_QUERY describes), or an offset with its low two bits the
 * tag: NTVM_QUERY_MAP_NODE, the node of the next level;
 * NTVM_QUERY_MAP_RECORD, the allocation that holds every granule of the
 * entry's range that any allocation holds; NTVM_QUERY_MAP_SLOW, more than
 * one allocation, or no memory for what the map would hold there: ask
 * it.  A record may say "ask" too (see @flags of struct
 * ntvm_query_map_record).  An address inside a granule but
 * outside its record's [@base, @end) is in no allocation.
 *
 * A query of address A found in a record R answers, as NTVM_IOC_QUERY:
 * base_address A rounded down to a page, allocation_base R.base,
 * allocation_protect, type and region_flags R's, and from the run that
 * holds A (the last with start <= A): state and protect the run's,
 * region_size from base_address to the next run's start, or to R.end
 * after the last run.
 */
struct ntvm_query_map_header {
	__u32 magic;
	__u32 version;
	__u64 seq;
	__u64 generation;
	__u64 map_size;
	__u64 used;
	__u64 max_address;
	__u32 pending;
	__u32 pad;
	__u64 reserved[3];
	__u32 root[NTVM_QUERY_MAP_FANOUT];
};

/**
 * struct ntvm_query_map_record - an allocation in the query map
 * @base:               its first address (64 KiB aligned or not: a
 *                      release of part of an allocation can leave one
 *                      that is not).
 * @end:                its end.
 * @runs:               offset of its runs: @nr_runs struct
 *                      ntvm_query_map_run, in address order, the first at
 *                      @base, each up to the next (the last up to @end).
 *                      Two runs next to each other never read the same.
 *                      0 when @nr_runs is 1: the one run is @state and
 *                      @protect, from @base to @end.
 * @nr_runs:            how many, at least one.
 * @allocation_protect: AllocationProtect.
 * @type:               MEM_PRIVATE.
 * @region_flags:       NTVM_REGION_* flags of NTVM_IOC_QUERY's answer.
 * @flags:              NTVM_QUERY_MAP_RECORD_SLOW: ask NTVM_IOC_QUERY
 *                      (the module keeps a record up to date only while
 *                      the process asks that ioctl about the allocation;
 *                      its answer makes the record again).  The other
 *                      fields are then not to be used.
 * @reserved:           the module's; a reader ignores it (and @reserved2).
 * @state:              with one run: its state, MEM_COMMIT or MEM_RESERVE.
 * @protect:            with one run: its PAGE_* protection, 0 when
 *                      reserved.
 *
 * 64 bytes, 64-byte aligned.
 */
struct ntvm_query_map_record {
	__u64 base;
	__u64 end;
	__u64 runs;
	__u32 nr_runs;
	__u32 allocation_protect;
	__u32 type;
	__u32 region_flags;
	__u32 flags;
	__u32 reserved;
	__u32 state;
	__u32 protect;
	__u32 reserved2[2];
};

#define NTVM_QUERY_MAP_RECORD_SLOW	0x1

/**
 * struct ntvm_query_map_run - pages of one state in an allocation
 * @start:   the first address of the run, page aligned.
 * @state:   MEM_COMMIT or MEM_RESERVE.
 * @protect: PAGE_* (with PAGE_GUARD for a guard page), 0 when reserved.
 */
struct ntvm_query_map_run {
	__u64 start;
	__u32 state;
	__u32 protect;
};

/* "MVQN" in memory: a little-endian __u32 */
#define NTVM_QUERY_MAP_MAGIC		0x4E51564D
#define NTVM_QUERY_MAP_VERSION		2

#define NTVM_IOC_MAGIC		0xB9

#define NTVM_IOC_FEATURES	_IOR(NTVM_IOC_MAGIC, 0x80, __u64)
#define NTVM_IOC_ALLOC		_IOWR(NTVM_IOC_MAGIC, 0x81, struct ntvm_alloc_args)
#define NTVM_IOC_FREE		_IOWR(NTVM_IOC_MAGIC, 0x82, struct ntvm_free_args)
#define NTVM_IOC_PROTECT	_IOWR(NTVM_IOC_MAGIC, 0x83, struct ntvm_protect_args)
#define NTVM_IOC_QUERY		_IOWR(NTVM_IOC_MAGIC, 0x84, struct ntvm_query_args)
#define NTVM_IOC_SYSINFO	_IOR(NTVM_IOC_MAGIC, 0x85, struct ntvm_sysinfo_args)
#define NTVM_IOC_GET_WRITE_WATCH \
	_IOWR(NTVM_IOC_MAGIC, 0x86, struct ntvm_get_write_watch_args)
#define NTVM_IOC_RESET_WRITE_WATCH \
	_IOWR(NTVM_IOC_MAGIC, 0x87, struct ntvm_reset_write_watch_args)
#define NTVM_IOC_LOCK		_IOWR(NTVM_IOC_MAGIC, 0x88, struct ntvm_lock_args)
#define NTVM_IOC_UNLOCK		_IOWR(NTVM_IOC_MAGIC, 0x89, struct ntvm_lock_args)
#define NTVM_IOC_WORKING_SET \
	_IOWR(NTVM_IOC_MAGIC, 0x8A, struct ntvm_working_set_args)
#define NTVM_IOC_GET_COMMIT \
	_IOR(NTVM_IOC_MAGIC, 0x8B, struct ntvm_commit_args)
#define NTVM_IOC_SET_COMMIT_LIMIT \
	_IOW(NTVM_IOC_MAGIC, 0x8C, struct ntvm_commit_limit_args)
#define NTVM_IOC_ALLOC_EX \
	_IOWR(NTVM_IOC_MAGIC, 0x8D, struct ntvm_alloc_ex_args)
#define NTVM_IOC_ADDRESS_LIMIT \
	_IOWR(NTVM_IOC_MAGIC, 0x8E, struct ntvm_address_limit_args)
#define NTVM_IOC_CONTEXT \
	_IOR(NTVM_IOC_MAGIC, 0x8F, struct ntvm_context_args)
#define NTVM_IOC_VERSION \
	_IOR(NTVM_IOC_MAGIC, 0x90, struct ntvm_version)

#endif /* __LINUX_NTVM_H */
