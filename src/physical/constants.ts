/**
 * The vocabulary of the physical layer: block orders, zones and what a frame is used for.
 *
 * ```
 *  physical address      zone
 *  0x000000000 ┌───────────────┐
 *              │ DMA           │  ISA devices can only address the first 16 MiB
 *  0x001000000 ├───────────────┤
 *              │ DMA32         │  32-bit devices can only address the first 4 GiB
 *  0x100000000 ├───────────────┤
 *              │ Normal        │  everything else
 *              └───────────────┘
 * ```
 */
import { GiB, MiB, PAGE_SHIFT } from '../hw/constants.js';

/** The largest block order: 2^10 frames = 4 MiB, as in Linux (`MAX_PAGE_ORDER`). */
export const MAX_ORDER = 10;
/** Number of orders, 0..MAX_ORDER: one free list per order in every zone. */
export const ORDER_COUNT = MAX_ORDER + 1;

/** The zone below 16 MiB (ISA DMA). */
export const ZONE_DMA = 0;
/** The zone below 4 GiB (32-bit DMA). */
export const ZONE_DMA32 = 1;
/** All memory above 4 GiB. */
export const ZONE_NORMAL = 2;
/** Number of zones. */
export const ZONE_COUNT = 3;
/** Zone names as `/proc/buddyinfo` and `/proc/zoneinfo` print them, indexed by zone. */
export const ZONE_NAMES: readonly string[] = ['DMA', 'DMA32', 'Normal'];

/** First frame number above the DMA zone (16 MiB). */
export const DMA_END_PFN = (16 * MiB) >>> PAGE_SHIFT;
/** First frame number above the DMA32 zone (4 GiB). */
export const DMA32_END_PFN = (4 * GiB) / 2 ** PAGE_SHIFT;

/**
 * The zone a frame belongs to. Both zone limits are multiples of the largest block, so a
 * naturally aligned block never straddles two zones and a block's zone is its head's zone.
 */
export function zoneOfPfn(pfn: number): number {
  if (pfn < DMA_END_PFN) return ZONE_DMA;
  return pfn < DMA32_END_PFN ? ZONE_DMA32 : ZONE_NORMAL;
}

/**
 * What a frame is used for, for accounting (`/proc/meminfo`) and for catching frees of frames
 * that were never handed out.
 */
export const FrameUse = {
  /** In the buddy allocator's free lists. */
  FREE: 0,
  /** Not managed: firmware, holes, the kernel image, the allocator's own metadata. */
  RESERVED: 1,
  /** Kernel data allocated page by page. */
  KERNEL: 2,
  /** Backing a slab cache. */
  SLAB: 3,
  /** A page-table page (any level). */
  PAGE_TABLE: 4,
  /** Mapped into a user address space. */
  USER: 5,
  /** A kernel stack. */
  KERNEL_STACK: 6,
  /** Backing a vmalloc area. */
  VMALLOC: 7,
} as const;
/** One of the {@link FrameUse} values. */
export type FrameUse = (typeof FrameUse)[keyof typeof FrameUse];

/** Number of {@link FrameUse} values (they run 0..FRAME_USE_COUNT-1). */
export const FRAME_USE_COUNT = 8;
/** Names of the {@link FrameUse} values, indexed by value. */
export const FRAME_USE_NAMES: readonly string[] = [
  'free',
  'reserved',
  'kernel',
  'slab',
  'page-table',
  'user',
  'kernel-stack',
  'vmalloc',
];
