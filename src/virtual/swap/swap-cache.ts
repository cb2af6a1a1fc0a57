/**
 * The swap cache: frames that hold a page which also has a valid copy in a swap slot
 * (Linux's swapper_space). It links both ways:
 *
 * ```
 *   slot ──frameOfSlot──► frame        a fault on a swap entry finds the page here before
 *   frame ──slotOfFrame──► slot        reading the device: two sharers read it once
 * ```
 *
 * A cached frame holds one reference to its slot (counted in the slot's swap_map count) and
 * the slot holds one reference to the frame (a `getPage`). While cached and clean, the frame
 * equals its slot, so reclaim can drop it without a write; `dirty` (Linux's PG_dirty) records
 * writes that page-table Dirty bits no longer show (their entries were rewritten or dropped).
 */
import { PAGE_SIZE } from '../../hw/constants.js';
import type { PhysicalAllocator } from '../../physical/index.js';
import type { SwapDevice } from './swap-device.js';

const NONE = 0;

export class SwapCache {
  /** Frame number + 1 caching each slot, or 0. */
  private readonly frameOfSlot: Int32Array;
  /** Slot cached by each frame, or 0 (slot 0 is the header, never cached). */
  private readonly slotOfFrame: Int32Array;
  private readonly dirtyFrames: Uint8Array;
  /** Frames in the cache (meminfo SwapCached). */
  size = 0;

  constructor(
    readonly device: SwapDevice,
    private readonly frames: PhysicalAllocator,
  ) {
    this.frameOfSlot = new Int32Array(device.slots);
    this.slotOfFrame = new Int32Array(frames.spannedFrames);
    this.dirtyFrames = new Uint8Array(frames.spannedFrames);
  }

  /** The frame caching `slot`, or -1. */
  lookup(slot: number): number {
    const entry = this.frameOfSlot[slot]!;
    return entry === NONE ? -1 : (entry - 1) * PAGE_SIZE;
  }

  /** The slot the frame at `pa` caches, or 0 when it is not in the swap cache. */
  slotOf(pa: number): number {
    return this.slotOfFrame[pa / PAGE_SIZE]!;
  }

  /** Caches the frame at `pa` as the copy of `slot`, whose reference the caller hands over. */
  add(slot: number, pa: number, dirty: boolean): void {
    const pfn = pa / PAGE_SIZE;
    this.frameOfSlot[slot] = pfn + 1;
    this.slotOfFrame[pfn] = slot;
    this.dirtyFrames[pfn] = dirty ? 1 : 0;
    this.frames.getPage(pa);
    this.size++;
  }

  /**
   * Takes the frame at `pa` out of the cache: its slot reference and its frame reference go.
   * @returns true when that freed the frame.
   */
  delete(pa: number): boolean {
    const pfn = pa / PAGE_SIZE;
    const slot = this.slotOfFrame[pfn]!;
    this.frameOfSlot[slot] = NONE;
    this.slotOfFrame[pfn] = NONE;
    this.dirtyFrames[pfn] = 0;
    this.size--;
    this.device.release(slot);
    return this.frames.putPage(pa);
  }

  isDirty(pa: number): boolean {
    return this.dirtyFrames[pa / PAGE_SIZE] === 1;
  }

  setDirty(pa: number, dirty: boolean): void {
    this.dirtyFrames[pa / PAGE_SIZE] = dirty ? 1 : 0;
  }

  /** Calls `visit(slot, pa)` for every cached frame. */
  forEach(visit: (slot: number, pa: number) => void): void {
    for (let slot = 1; slot < this.frameOfSlot.length; slot++) {
      const entry = this.frameOfSlot[slot]!;
      if (entry !== NONE) visit(slot, (entry - 1) * PAGE_SIZE);
    }
  }
}
