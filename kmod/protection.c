// SPDX-License-Identifier: GPL-2.0
/*
 * Windows page protections: validation, the page-state encoding, and what
 * a state grants.
 */

#include "ntvm.h"

/* Modifiers that are attributes of the allocation, not of its pages. */
#define NTVM_ALLOC_MODIFIERS (NTVM_PAGE_NOCACHE | NTVM_PAGE_WRITECOMBINE)

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
 * @state:   out: the committed page state it gives
 *
 * Follows MiMakeProtectionMask: exactly one base value, GUARD, NOCACHE and
 * WRITECOMBINE not with NOACCESS nor with each other; WRITECOPY values are
 * invalid for private memory.
 *
 * Return: NTVM_STATUS_SUCCESS or NTVM_STATUS_INVALID_PAGE_PROTECTION.
 */
u32 ntvm_prot_from_win(u32 protect, u8 *state)
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
			*state = i | (mods & NTVM_PAGE_GUARD ?
				      NTVM_PS_GUARD : 0);
			return NTVM_STATUS_SUCCESS;
		}
	}
	return NTVM_STATUS_INVALID_PAGE_PROTECTION;
}

/**
 * ntvm_prot_to_win - the Windows protection of a committed page
 * @state:         its page state (not 0)
 * @alloc_protect: the protection its allocation was reserved with
 *
 * GUARD comes from the page; NOCACHE and WRITECOMBINE from the allocation.
 */
u32 ntvm_prot_to_win(u8 state, u32 alloc_protect)
{
	u32 win = ntvm_win_base[state & NTVM_PS_PROT_MASK];

	if (state & NTVM_PS_GUARD)
		win |= NTVM_PAGE_GUARD;
	if (win != NTVM_PAGE_NOACCESS)
		win |= alloc_protect & NTVM_ALLOC_MODIFIERS;
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

/* Does @new grant nothing that @old did not?  (No revocation needed.) */
bool ntvm_state_raises(u8 old, u8 new)
{
	if (!old)
		return true;
	if (new & NTVM_PS_GUARD)
		return false;
	if (ntvm_prot_readable(old) && !ntvm_prot_readable(new))
		return false;
	if (ntvm_prot_writable(old) && !ntvm_prot_writable(new))
		return false;
	return true;
}
