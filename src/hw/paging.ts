/**
 * The x86-64 4-level paging format (Intel SDM vol. 3, 4.5), as it sits in simulated RAM.
 *
 * A linear address is cut into four 9-bit table indices and a 12-bit page offset:
 *
 * ```
 *  47        39 38        30 29        21 20        12 11            0
 * ┌────────────┬────────────┬────────────┬────────────┬───────────────┐
 * │ PML4 index │ PDPT index │  PD index  │  PT index  │  page offset  │
 * │  level 4   │  level 3   │  level 2   │  level 1   │               │
 * └────────────┴────────────┴────────────┴────────────┴───────────────┘
 *                            └── 1 GiB page offset (PDPTE with PS=1) ─┘
 *                                         └─ 2 MiB page offset (PDE, PS=1)
 * ```
 *
 * An entry is 64 bits, always handled as two 32-bit halves (no BigInt):
 *
 * ```
 *  high half (bits 63..32)                    low half (bits 31..0)
 *  63  62..52   51..46    45........32        31..........12 11..9 8 7  6 5 4   3   2  1  0
 * ┌──┬────────┬────────┬──────────────┐      ┌──────────────┬─────┬─┬──┬─┬─┬───┬───┬──┬──┬─┐
 * │NX│ignored │reserved│ frame 45..32 │      │ frame 31..12 │ avl │G│PS│D│A│PCD│PWT│US│RW│P│
 * └──┴────────┴────────┴──────────────┘      └──────────────┴─────┴─┴──┴─┴─┴───┴───┴──┴──┴─┘
 * ```
 */

/** Present: the entry maps something; when clear, every other bit is the OS's to use. */
export const PTE_P = 0x1;
/** Read/write: writes allowed (subject to CR0.WP in supervisor mode). */
export const PTE_RW = 0x2;
/** User/supervisor: CPL 3 may access. */
export const PTE_US = 0x4;
/** Page-level write-through (caching; not modelled beyond display). */
export const PTE_PWT = 0x8;
/** Page-level cache disable (caching; not modelled beyond display). */
export const PTE_PCD = 0x10;
/** Accessed: set by the MMU when the entry is used for a translation. */
export const PTE_A = 0x20;
/** Dirty: set by the MMU in a leaf when the page is written. */
export const PTE_D = 0x40;
/** Page size: in a PDPTE or PDE, the entry is a 1 GiB or 2 MiB leaf (in a PTE it is PAT). */
export const PTE_PS = 0x80;
/** Global: the leaf's TLB entry survives a CR3 load. */
export const PTE_G = 0x100;
/** Execute-disable, bit 63 of the entry = bit 31 of the high half (needs EFER.NXE). */
export const PTE_NX_HIGH = 0x80000000;

/** Physical-address width of the simulated CPU: entry bits 46..51 are reserved. */
export const MAXPHYADDR = 46;

/** Page-fault error code: the page was present (a protection or reserved-bit fault). */
export const PF_P = 1;
/** Page-fault error code: the access was a write. */
export const PF_W = 2;
/** Page-fault error code: the access was made at CPL 3. */
export const PF_U = 4;
/** Page-fault error code: a reserved bit was set in a paging-structure entry. */
export const PF_RSVD = 8;
/** Page-fault error code: the access was an instruction fetch (with NXE or SMEP on). */
export const PF_ID = 16;

/** A paging level: 4 = PML4, 3 = PDPT, 2 = PD, 1 = PT. */
export type PageLevel = 1 | 2 | 3 | 4;

/** The top level of 4-level paging, where a walk starts (the table CR3 points at). */
export const TOP_LEVEL: PageLevel = 4;

/** Names of the tables of each level, index = level. */
export const LEVEL_NAMES = ['', 'PT', 'PD', 'PDPT', 'PML4'] as const;

/** Bits of an address translated by one table: 512 entries. */
const INDEX_BITS = 9;
const INDEX_MASK = (1 << INDEX_BITS) - 1;
const PAGE_SHIFT = 12;

/** Frame address bits 12..31 of the low half. */
const LOW_FRAME_MASK = 0xfffff000;
/** Frame address bits 32..MAXPHYADDR-1, as they sit in the high half. */
export const HIGH_FRAME_MASK = (1 << (MAXPHYADDR - 32)) - 1;
/** Physical-address bits MAXPHYADDR..51, reserved in every entry (high half). */
export const HIGH_RESERVED_MASK = ((1 << (52 - 32)) - 1) & ~HIGH_FRAME_MASK;
/** Bits 13..20 of a 2 MiB leaf: between the PAT bit and the frame, reserved. */
export const LARGE_LEAF_RESERVED = 0x001fe000;
/** Bits 13..29 of a 1 GiB leaf: between the PAT bit and the frame, reserved. */
export const HUGE_LEAF_RESERVED = 0x3fffe000;

/** Bytes one entry maps, by level (index 0 unused): a table, not `2 **`, which is a libm call. */
const LEVEL_SPANS = [0, 1, 2, 3, 4].map((level) => 2 ** (PAGE_SHIFT + INDEX_BITS * (level - 1)));
/** Their reciprocals, powers of two too: multiplying by one is an exact division. */
const LEVEL_SPAN_RECIPROCALS = LEVEL_SPANS.map((span) => 1 / span);

/** The bytes one entry of `level` maps: 4 KiB at level 1, 2 MiB at 2, 1 GiB at 3, 512 GiB at 4. */
export function levelSpan(level: PageLevel): number {
  return LEVEL_SPANS[level]!;
}

/** The index into the `level` table for the (sign-extended) virtual address `va`. */
export function tableIndex(va: number, level: PageLevel): number {
  return Math.floor(va * LEVEL_SPAN_RECIPROCALS[level]!) & INDEX_MASK;
}

/** The physical address an entry points at (bits 12..MAXPHYADDR-1; flags stripped). */
export function entryAddress(low: number, high: number): number {
  return (high & HIGH_FRAME_MASK) * 2 ** 32 + ((low & LOW_FRAME_MASK) >>> 0);
}

/**
 * The low half of an entry pointing at the 4 KiB-aligned physical address `address`. The bit
 * operators take the address modulo 2^32 (ToInt32) exactly, as no floating-point remainder does
 * as cheaply.
 */
export function entryLow(address: number, flags: number): number {
  return ((address & LOW_FRAME_MASK) | flags) >>> 0;
}

/** The high half of an entry pointing at `address`, with NX when `noExecute`. */
export function entryHigh(address: number, noExecute = false): number {
  const frameHigh = Math.floor(address / 2 ** 32) & HIGH_FRAME_MASK;
  return (noExecute ? frameHigh | PTE_NX_HIGH : frameHigh) >>> 0;
}

const FLAG_NAMES: readonly (readonly [number, string])[] = [
  [PTE_P, 'P'],
  [PTE_RW, 'RW'],
  [PTE_US, 'US'],
  [PTE_PWT, 'PWT'],
  [PTE_PCD, 'PCD'],
  [PTE_A, 'A'],
  [PTE_D, 'D'],
  [PTE_PS, 'PS'],
  [PTE_G, 'G'],
];

/** The set flags of an entry for people, e.g. `P RW US A D NX`. */
export function formatEntryFlags(low: number, high: number): string {
  const names = FLAG_NAMES.filter(([bit]) => (low & bit) !== 0).map(([, name]) => name);
  if ((high & PTE_NX_HIGH) !== 0) names.push('NX');
  return names.join(' ');
}

/** The page-fault error code bits as words, e.g. `user write, protection violation`. */
export function describeFaultCode(errorCode: number): string {
  const mode = (errorCode & PF_U) !== 0 ? 'user' : 'supervisor';
  let access = (errorCode & PF_W) !== 0 ? 'write' : 'read';
  if ((errorCode & PF_ID) !== 0) access = 'instruction fetch';
  let reason = (errorCode & PF_P) !== 0 ? 'protection violation' : 'page not present';
  if ((errorCode & PF_RSVD) !== 0) reason = 'reserved bit set';
  return `${mode} ${access}, ${reason}`;
}

/**
 * True when a present entry at `level` sets a bit the CPU reserves (a RSVD page fault):
 * physical-address bits above MAXPHYADDR, NX while EFER.NXE is clear, PS in a PML4E, and the
 * bits between PAT and the frame of a 2 MiB or 1 GiB leaf.
 */
export function hasReservedBits(
  low: number,
  high: number,
  level: PageLevel,
  nxe: boolean,
): boolean {
  if ((high & HIGH_RESERVED_MASK) !== 0) return true;
  if (!nxe && (high & PTE_NX_HIGH) !== 0) return true;
  if (level === 1 || (low & PTE_PS) === 0) return false;
  if (level === 4) return true;
  return (low & (level === 3 ? HUGE_LEAF_RESERVED : LARGE_LEAF_RESERVED)) !== 0;
}
