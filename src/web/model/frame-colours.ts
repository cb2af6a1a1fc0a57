/**
 * What each cell of the frame map shows: a small code per frame, and the colour of each code.
 *
 * ```
 *  code  0 hole       no RAM behind this frame (a gap of the memory map)
 *        1 free       in the buddy allocator's free lists
 *        2 reserved   firmware, kernel image, the frame table itself
 *        3 kernel     kernel pages (page allocations, kernel stacks, vmalloc)
 *        4 slab       backing a slab cache
 *        5 page table a page-table page of any level
 *        6 user       a user page mapped by more than one process (copy-on-write shares)
 *        7 folded     the folded view's marker for a long run of free frames (frame-fold.ts)
 *        8 inactive   coloured by LRU list: a user page on the inactive list (reclaim's next)
 *        9 active     … on the active list (referenced again since it was added)
 *       10 locked     … on no list: mlocked (unevictable)
 *       11 swap cache … a copy of a swap slot (being swapped out, or read back in)
 *       12..          a user page of one process: USER_CODE_FIRST + (pid mod palette size)
 * ```
 */
import { FrameUse } from '../../physical/constants.js';

/** One cell's meaning (see the table above). */
export const FrameCode = {
  HOLE: 0,
  FREE: 1,
  RESERVED: 2,
  KERNEL: 3,
  SLAB: 4,
  PAGE_TABLE: 5,
  USER_SHARED: 6,
  FOLDED: 7,
  LRU_INACTIVE: 8,
  LRU_ACTIVE: 9,
  UNEVICTABLE: 10,
  SWAP_CACHE: 11,
} as const;
/** One of the {@link FrameCode} values, or a per-process user code. */
export type FrameCode = number;

/** The first code of a process's own user pages. */
export const USER_CODE_FIRST = 12;

/** Colours of the fixed codes, as `#rrggbb`, indexed by code. */
const FIXED_COLOURS: readonly string[] = [
  '#15171c', // hole
  '#2a2f3a', // free
  '#5a5f6a', // reserved
  '#d9534f', // kernel
  '#f0ad4e', // slab
  '#b07cd8', // page table
  '#ffffff', // user, shared
  '#39414f', // folded free run
  '#6f8fb8', // inactive list
  '#7fe07f', // active list
  '#ff7f50', // unevictable (mlocked)
  '#c9a0ff', // swap cache
];

/** Colours of processes' user pages, one per pid modulo the palette size. */
const PROCESS_COLOURS: readonly string[] = [
  '#3fb8af',
  '#5bc0de',
  '#a6d854',
  '#4e79a7',
  '#e78ac3',
  '#59a14f',
  '#c7b79a',
  '#9c755f',
];

/** Number of codes: every fixed one plus one per process colour. */
export const FRAME_CODE_COUNT = USER_CODE_FIRST + PROCESS_COLOURS.length;

/** The code of a user page owned by process `pid` alone. */
export function userCode(pid: number): FrameCode {
  return USER_CODE_FIRST + (pid % PROCESS_COLOURS.length);
}

/** The code of a user page coloured by where reclaim keeps it (LruState), or `code` if nowhere. */
export function lruCode(code: FrameCode, state: number): FrameCode {
  return LRU_CODES[state] ?? code;
}

/** LruState → code (NONE keeps the frame's own code). */
const LRU_CODES: readonly (FrameCode | undefined)[] = [
  undefined,
  FrameCode.LRU_INACTIVE,
  FrameCode.LRU_ACTIVE,
  FrameCode.UNEVICTABLE,
  FrameCode.SWAP_CACHE,
];

/** The code of a frame that is not a user page, from the physical allocator's FrameUse. */
export function codeOfUse(use: FrameUse): FrameCode {
  switch (use) {
    case FrameUse.FREE:
      return FrameCode.FREE;
    case FrameUse.RESERVED:
      return FrameCode.RESERVED;
    case FrameUse.SLAB:
      return FrameCode.SLAB;
    case FrameUse.PAGE_TABLE:
      return FrameCode.PAGE_TABLE;
    case FrameUse.USER:
      return FrameCode.USER_SHARED;
    default:
      return FrameCode.KERNEL;
  }
}

/** The `#rrggbb` colour of `code`. */
export function colourOf(code: FrameCode): string {
  if (code < USER_CODE_FIRST) return FIXED_COLOURS[code]!;
  return PROCESS_COLOURS[(code - USER_CODE_FIRST) % PROCESS_COLOURS.length]!;
}

/** What `code` stands for, for legends and hover text. */
export function labelOf(code: FrameCode): string {
  const labels = [
    'hole',
    'free',
    'reserved',
    'kernel',
    'slab',
    'page table',
    'user (shared)',
    'folded free run',
    'inactive list',
    'active list',
    'unevictable (mlocked)',
    'swap cache',
  ];
  if (code < USER_CODE_FIRST) return labels[code]!;
  return 'user';
}

/**
 * Colours of every code packed as ImageData pixels (`0xAABBGGRR` on little-endian hosts, the
 * byte order of a Uint32Array view over RGBA bytes), indexed by code.
 */
export function packedPalette(): Uint32Array {
  const palette = new Uint32Array(FRAME_CODE_COUNT);
  for (let code = 0; code < FRAME_CODE_COUNT; code++) palette[code] = packRgba(colourOf(code));
  return palette;
}

const OPAQUE = 0xff;
const BYTE = 8;

/** `#rrggbb` as an opaque pixel whose bytes in memory are R, G, B, A. */
export function packRgba(hex: string): number {
  const value = Number.parseInt(hex.slice(1), 16);
  const r = (value >>> (2 * BYTE)) & OPAQUE;
  const g = (value >>> BYTE) & OPAQUE;
  const b = value & OPAQUE;
  return ((OPAQUE << (3 * BYTE)) | (b << (2 * BYTE)) | (g << BYTE) | r) >>> 0;
}
