// SPDX-License-Identifier: GPL-2.0
/*
 * Windows page protections: validation and the page-state encoding.
 */

#include "ntvm.h"

static const u32 ntvm_win_base[] = {
	[NTVM_PROT_NONE] = 0,
	[NTVM_PROT_NOACCESS] = NTVM_PAGE_NOACCESS,
	[NTVM_PROT_READONLY] = NTVM_PAGE_READONLY,
	[NTVM_PROT_READWRITE] = NTVM_PAGE_READWRITE,
	[NTVM_PROT_EXECUTE] = NTVM_PAGE_EXECUTE,
	[NTVM_PROT_EXECUTE_READ] = NTVM_PAGE_EXECUTE_READ,
	[NTVM_PROT_EXECUTE_READWRITE] = NTVM_PAGE_EXECUTE_READWRITE,
};

/**
 * ntvm_prot_from_win - validate a Windows protection for private memory
 * @protect: PAGE_* value with optional GUARD/NOCACHE/WRITECOMBINE
 * @prot:    out: the base protection
 * @guard:   out: whether PAGE_GUARD is set
 *
 * Follows MiMakeProtectionMask: exactly one base value, GUARD, NOCACHE and
 * WRITECOMBINE not with NOACCESS nor with each other; WRITECOPY values are
 * invalid for private memory.
 *
 * Return: 0 or NTVM_STATUS_INVALID_PAGE_PROTECTION.
 */
int ntvm_prot_from_win(u32 protect, enum ntvm_prot *prot, bool *guard)
{
	u32 mods = protect & ~0xffU;
	u32 base = protect & 0xffU;
	unsigned int i;

	if (mods & ~(NTVM_PAGE_GUARD | NTVM_PAGE_NOCACHE |
		     NTVM_PAGE_WRITECOMBINE))
		return NTVM_STATUS_INVALID_PAGE_PROTECTION;
	if (hweight32(mods) > 1)
		return NTVM_STATUS_INVALID_PAGE_PROTECTION;
	if (mods && base == NTVM_PAGE_NOACCESS)
		return NTVM_STATUS_INVALID_PAGE_PROTECTION;

	for (i = NTVM_PROT_NOACCESS; i < ARRAY_SIZE(ntvm_win_base); i++) {
		if (ntvm_win_base[i] == base) {
			*prot = i;
			*guard = !!(mods & NTVM_PAGE_GUARD);
			return 0;
		}
	}
	return NTVM_STATUS_INVALID_PAGE_PROTECTION;
}

/* The Windows protection of a committed page (GUARD included). */
u32 ntvm_prot_to_win(u8 state)
{
	u32 win = ntvm_win_base[state & NTVM_PS_PROT_MASK];

	if (state & NTVM_PS_GUARD)
		win |= NTVM_PAGE_GUARD;
	return win;
}

bool ntvm_prot_is_exec(u8 state)
{
	return (state & NTVM_PS_PROT_MASK) >= NTVM_PROT_EXECUTE;
}

bool ntvm_prot_readable(u8 state)
{
	return (state & NTVM_PS_PROT_MASK) > NTVM_PROT_NOACCESS &&
	       !(state & NTVM_PS_GUARD);
}

bool ntvm_prot_writable(u8 state)
{
	u8 p = state & NTVM_PS_PROT_MASK;

	return (p == NTVM_PROT_READWRITE ||
		p == NTVM_PROT_EXECUTE_READWRITE) && !(state & NTVM_PS_GUARD);
}
