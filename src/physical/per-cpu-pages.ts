/**
 * The per-CPU page cache (Linux's per-cpu pagesets, "pcp lists"): per zone, a small stack of
 * single free frames between the buddy lists and order-0 requests, the most common ones by far.
 * A frame freed and soon allocated again never touches the buddy lists: no merge on free, no
 * split on allocation, and no list links in memory.
 *
 * ```
 *                      one zone's stack
 *  freePages(pa, 0) ──push──►  ┌────────┐ ◄─ top: the hottest frame, handed out next
 *                              │ pfn 91 │
 *  allocPages(0)   ◄───pop───  │ pfn 17 │
 *                              │  ...   │
 *                              │ pfn  3 │ ◄─ bottom: the coldest, drained first
 *                              └────────┘
 *  a push that fills it (PCP_HIGH) ──► the PCP_BATCH coldest go back to the buddy lists
 *  a pop that finds it empty       ──► PCP_BATCH frames come from the buddy lists at once
 * ```
 *
 * Frames here are free (they count in MemFree) but sit on no free list, so they do not merge
 * with their buddies until drained; whoever reads the free lists drains them first.
 */
import { ZONE_COUNT as IMPORTED_ZONE_COUNT } from './constants.js';

const ZONE_COUNT = IMPORTED_ZONE_COUNT;

/** Frames one zone's stack holds at most (Linux's `pcp->high`). */
export const PCP_HIGH = 512;
/** Frames moved at once between a stack and the buddy lists (Linux's `pcp->batch`). */
export const PCP_BATCH = 64;

/** One stack of cached free frames per zone. */
export class PerCpuPages {
  /** Zone `z`'s stack is `frames[z * PCP_HIGH ..]`, bottom first. */
  private readonly frames = new Int32Array(ZONE_COUNT * PCP_HIGH);
  /** Frames in each zone's stack. */
  private readonly counts = new Int32Array(ZONE_COUNT);
  /** Frames in all stacks. */
  total = 0;

  /** Frames cached for `zone`. */
  countOf(zone: number): number {
    return this.counts[zone]!;
  }

  /** True when `zone`'s stack is full: the next push must wait for a drain. */
  isFull(zone: number): boolean {
    return this.counts[zone] === PCP_HIGH;
  }

  /** Caches `pfn` at the top of `zone`'s stack, which must not be full. */
  push(zone: number, pfn: number): void {
    const count = this.counts[zone]!;
    this.frames[zone * PCP_HIGH + count] = pfn;
    this.counts[zone] = count + 1;
    this.total++;
  }

  /** Takes the top (most recently cached) frame of `zone`'s stack, which must not be empty. */
  pop(zone: number): number {
    const count = this.counts[zone]! - 1;
    this.counts[zone] = count;
    this.total--;
    return this.frames[zone * PCP_HIGH + count]!;
  }

  /** Takes up to `wanted` frames from the bottom (the coldest) of `zone`'s stack. */
  takeColdest(zone: number, wanted: number): Int32Array {
    const base = zone * PCP_HIGH;
    const count = this.counts[zone]!;
    const taken = Math.min(wanted, count);
    const frames = this.frames.slice(base, base + taken);
    this.frames.copyWithin(base, base + taken, base + count);
    this.counts[zone] = count - taken;
    this.total -= taken;
    return frames;
  }

  /** Calls `visit` for every cached frame, zone by zone, bottom to top. */
  forEach(visit: (pfn: number, zone: number) => void): void {
    for (let zone = 0; zone < ZONE_COUNT; zone++) {
      for (let i = 0; i < this.counts[zone]!; i++) visit(this.frames[zone * PCP_HIGH + i]!, zone);
    }
  }
}
