/**
 * Non-present user leaves: what the kernel keeps in a PTE whose P bit is clear, in Linux's
 * x86-64 encoding (arch/x86/include/asm/pgtable_64.h). The MMU ignores every other bit of a
 * non-present entry (Intel SDM vol. 3, 4.7), so they are the kernel's:
 *
 * ```
 *  63    59 58                                            9 8 7 6          1 0
 * ┌────────┬───────────────────────────────────────────────┬─┬─┬────────────┬─┐
 * │  type  │            ~offset (50 bits, inverted)          │0│0│     0      │0│  swap entry
 * └────────┴───────────────────────────────────────────────┴─┴─┴────────────┴─┘
 * ┌───────────────────────────────────────────┬─────────────┬─┬──────────────┬─┐
 * │ NX │            frame address            │     avl     │1│  (flags)     │0│  PROT_NONE
 * └───────────────────────────────────────────┴─────────────┴─┴──────────────┴─┘
 *                                                          bit 8 = _PAGE_PROTNONE
 * ```
 *
 * The offset (the slot on the swap device) is stored inverted, as Linux does since the L1TF
 * mitigation: a small offset then sets high address bits, so a speculating CPU that treats
 * the entry as present points beyond RAM. A PROT_NONE entry keeps its frame and sets bit 8
 * (the global bit, meaningless while P is clear: Linux's `_PAGE_PROTNONE`); a swap entry
 * keeps bits 0, 7 and 8 clear, so the three forms never collide and a zero entry is none.
 *
 * Entries are two 32-bit halves: the offset's low 23 bits sit in the low half (bits 9..31),
 * its high 27 bits and the 5-bit type in the high half.
 */

/** Non-present leaf whose frame is kept inaccessible (PROT_NONE): Linux's `_PAGE_PROTNONE`. */
export const PTE_PROT_NONE = 0x100;

/** Bits of the swap type (Linux's SWP_TYPE_BITS): 32 swap devices. */
export const SWP_TYPE_BITS = 5;
/** Bits of the swap offset: 64 - type - the 9 low bits. */
export const SWP_OFFSET_BITS = 64 - SWP_TYPE_BITS - 9;
/** Largest encodable offset: the all-ones offset of type 0 would encode as the empty entry. */
export const SWP_OFFSET_MAX = 2 ** SWP_OFFSET_BITS - 2;
/** Largest swap type. */
export const SWP_TYPE_MAX = (1 << SWP_TYPE_BITS) - 1;

/** The first offset bit in the low half (Linux's SWP_OFFSET_FIRST_BIT). */
const OFFSET_SHIFT = 9;
/** Offset bits held in the low half (9..31). */
const LOW_OFFSET_BITS = 32 - OFFSET_SHIFT;
const LOW_OFFSET_MASK = (1 << LOW_OFFSET_BITS) - 1;
/** Offset bits held in the high half (32..58). */
const HIGH_OFFSET_MASK = (1 << (32 - SWP_TYPE_BITS)) - 1;
const TYPE_SHIFT = 32 - SWP_TYPE_BITS;
const LOW_SPLIT = 2 ** LOW_OFFSET_BITS;

/** The low half of the swap entry for `offset` (any type). */
export function swapEntryLow(offset: number): number {
  return ((~(offset % LOW_SPLIT) & LOW_OFFSET_MASK) << OFFSET_SHIFT) >>> 0;
}

/** The high half of the swap entry for slot `offset` of swap device `type`. */
export function swapEntryHigh(type: number, offset: number): number {
  const high = Math.floor(offset / LOW_SPLIT);
  return ((~high & HIGH_OFFSET_MASK) | (type << TYPE_SHIFT)) >>> 0;
}

/** The swap type of a swap entry. */
export function swapEntryType(high: number): number {
  return high >>> TYPE_SHIFT;
}

/** The swap offset (slot) of a swap entry. */
export function swapEntryOffset(low: number, high: number): number {
  return (~high & HIGH_OFFSET_MASK) * LOW_SPLIT + ((~low >>> OFFSET_SHIFT) & LOW_OFFSET_MASK);
}

/** True for a non-empty, non-present leaf that is not PROT_NONE: a swap entry. */
export function isSwapEntry(low: number, high: number): boolean {
  return (low & 0x1) === 0 && (low & PTE_PROT_NONE) === 0 && (low | high) !== 0;
}
