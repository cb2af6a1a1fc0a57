/**
 * The per-CPU page cache (Linux's per-cpu pagesets, "pcp lists"): per zone and small order, a
 * stack of free blocks between the buddy lists and the requests, most of which are small. A
 * block freed and soon allocated again never touches the buddy lists: no merge on free, no split
 * on allocation, and no list links in memory.
 *
 * ```
 *                  one zone's stack of one order
 *  freePages(pa, k) ──push──►  ┌────────┐ ◄─ top: the hottest frame, handed out next
 *                              │ pfn 91 │
 *  allocPages(k)   ◄───pop───  │ pfn 17 │
 *                              │  ...   │
 *                              │ pfn  3 │ ◄─ bottom: the coldest, drained first
 *                              └────────┘
 *  a push that finds it full ──► the coldest PCP_BATCH frames go back to the buddy lists
 *  a pop that finds it empty ──► PCP_BATCH frames come from the buddy lists at once
 * ```
 *
 * Blocks here are free (they count in MemFree) but sit on no free list, so they do not merge
 * with their buddies until drained; whoever reads the free lists drains them first.
 */
import { ZONE_COUNT as IMPORTED_ZONE_COUNT } from './constants.js';

const ZONE_COUNT = IMPORTED_ZONE_COUNT;

/**
 * The largest order cached (Linux's PAGE_ALLOC_COSTLY_ORDER): blocks up to 32 KiB are common,
 * larger ones rare enough to take from the buddy lists every time.
 */
export const PCP_MAX_ORDER = 3;
const CACHED_ORDERS = PCP_MAX_ORDER + 1;
/** Frames one stack holds at most (Linux's `pcp->high`): PCP_HIGH >> order blocks. */
export const PCP_HIGH = 512;
/** Frames moved at once between a stack and the buddy lists (Linux's `pcp->batch`). */
export const PCP_BATCH = 64;

/** Blocks of `order` moved at once between a stack and the buddy lists. */
export function batchBlocks(order: number): number {
  return PCP_BATCH >> order;
}

/** One stack of cached free blocks per zone and order up to {@link PCP_MAX_ORDER}. */
export class PerCpuPages {
  /** Stack `s = zone * CACHED_ORDERS + order` is `blocks[s * PCP_HIGH ..]`, bottom first. */
  private readonly blocks = new Int32Array(ZONE_COUNT * CACHED_ORDERS * PCP_HIGH);
  /** Blocks in each stack. */
  private readonly counts = new Int32Array(ZONE_COUNT * CACHED_ORDERS);
  /** Frames in all stacks (summed when asked: the hot paths only touch their own stack). */
  get total(): number {
    let frames = 0;
    for (let zone = 0; zone < ZONE_COUNT; zone++) frames += this.framesIn(zone);
    return frames;
  }

  /** Frames cached for `zone`, in all its stacks. */
  framesIn(zone: number): number {
    let frames = 0;
    for (let order = 0; order <= PCP_MAX_ORDER; order++)
      frames += this.countOf(zone, order) << order;
    return frames;
  }

  /** Blocks cached for `zone` and `order`. */
  countOf(zone: number, order: number): number {
    return this.counts[zone * CACHED_ORDERS + order]!;
  }

  /** True when the stack of `zone` and `order` is full: a push must wait for a drain. */
  isFull(zone: number, order: number): boolean {
    return this.counts[zone * CACHED_ORDERS + order] === PCP_HIGH >> order;
  }

  /** Caches the block at `pfn` on top of its stack, which must not be full. */
  push(zone: number, order: number, pfn: number): void {
    const stack = zone * CACHED_ORDERS + order;
    const count = this.counts[stack]!;
    this.blocks[stack * PCP_HIGH + count] = pfn;
    this.counts[stack] = count + 1;
  }

  /** Takes the top (most recently cached) block of a stack, which must not be empty. */
  pop(zone: number, order: number): number {
    const stack = zone * CACHED_ORDERS + order;
    const count = this.counts[stack]! - 1;
    this.counts[stack] = count;
    return this.blocks[stack * PCP_HIGH + count]!;
  }

  /** Takes up to `wanted` blocks from the bottom (the coldest) of a stack. */
  takeColdest(zone: number, order: number, wanted: number): Int32Array {
    const stack = zone * CACHED_ORDERS + order;
    const base = stack * PCP_HIGH;
    const count = this.counts[stack]!;
    const taken = Math.min(wanted, count);
    const blocks = this.blocks.slice(base, base + taken);
    this.blocks.copyWithin(base, base + taken, base + count);
    this.counts[stack] = count - taken;
    return blocks;
  }

  /** Calls `visit` for every cached block, stack by stack, bottom to top. */
  forEach(visit: (pfn: number, order: number, zone: number) => void): void {
    for (let zone = 0; zone < ZONE_COUNT; zone++) {
      for (let order = 0; order <= PCP_MAX_ORDER; order++) {
        const base = (zone * CACHED_ORDERS + order) * PCP_HIGH;
        for (let i = 0; i < this.countOf(zone, order); i++)
          visit(this.blocks[base + i]!, order, zone);
      }
    }
  }
}
