/**
 * A swap device: a simulated block device of 4 KiB slots with Linux's slot bookkeeping
 * (mm/swapfile.c).
 *
 * ```
 *  slot   0        1        2        3        4      …   slots-1
 *        ┌────────┬────────┬────────┬────────┬────────┬───┬────────┐
 *  map   │ header │   2    │   0    │   1    │   0    │ … │   0    │  swap_map: references
 *        └────────┴────────┴────────┴────────┴────────┴───┴────────┘
 *  data  [─────── extent 0: slots 0..63 ───────][── extent 1 ──] …   host memory per extent
 *                                                                  of 64 slots, on first write
 *  free   ─► 2 ─► 4 ─► … (a stack of free slots, lowest first)
 * ```
 *
 * Slot 0 holds the swap header on a real device and is never handed out, so `/proc/swaps`
 * shows one page less than the device. A slot's count is the number of references to it:
 * one per page-table entry holding its swap entry, plus one while a frame caches it (the swap
 * cache, see {@link SwapCache}). A COW-shared page swapped out is one slot with one count per
 * sharer, so it stays shared; the slot is free again when its count drops to zero.
 *
 * Contents live in host memory in extents of {@link SLOTS_PER_EXTENT} slots, allocated when a
 * slot of theirs is first written and dropped when their last slot is freed: the core stays
 * isomorphic (no files), a device costs host memory only for what is swapped out, and pages
 * swapped out together sit together, as on a disk (reading them back in order streams).
 */
import { PAGE_SIZE } from '../../hw/constants.js';
import type { PhysicalMemory } from '../../hw/ram.js';
import { pagesToKb } from '../../hw/size.js';

/** Slot 0: the swap header. */
const HEADER_SLOT = 0;
/** Largest reference count of a slot (Linux's SWAP_MAP_MAX). */
const SWAP_MAP_MAX = 0xfffe;

const EXTENT_SHIFT = 6;
/** Slots per extent of host memory (256 KiB). */
export const SLOTS_PER_EXTENT = 1 << EXTENT_SHIFT;

/** The swap type of the (only) device: the top 5 bits of its swap entries. */
export const SWAP_TYPE = 0;
/** Its priority: -2, the first device swapon gives a default priority (mm/swapfile.c). */
export const SWAP_PRIORITY = -2;
/** `/proc/swaps` pads the path to this many columns… */
const SWAPS_PATH_WIDTH = 40;
/** …and adds a tab after a size in KiB below this (fewer than 8 digits). */
const SWAPS_NARROW_KIB = 10_000_000;

export class SwapDevice {
  /** Slots of the device, the header slot included. */
  readonly slots: number;
  /** Slots that can hold pages (all but the header): Linux's `si->pages`. */
  readonly usableSlots: number;
  /** References to each slot (Linux's swap_map). */
  private readonly counts: Uint16Array;
  /** Free slots, a stack whose top is the lowest free slot. */
  private readonly free: Int32Array;
  private freeCount: number;
  /** Host memory of each extent, or undefined while none of its slots holds data. */
  private readonly extents: (Uint8Array | undefined)[];
  /** Allocated slots of each extent: the extent's memory goes when this drops to 0. */
  private readonly extentUse: Uint16Array;
  /** Pages written to the device (vmstat's pswpout). */
  pswpout = 0;
  /** Pages read from the device (vmstat's pswpin). */
  pswpin = 0;

  constructor(
    bytes: number,
    /** The path `/proc/swaps` shows. */
    readonly path = '/dev/vdb',
  ) {
    this.slots = Math.floor(bytes / PAGE_SIZE);
    if (this.slots < 2) throw new RangeError(`swap of ${bytes} bytes: it needs at least 2 pages`);
    this.usableSlots = this.slots - 1;
    this.counts = new Uint16Array(this.slots);
    const extents = Math.ceil(this.slots / SLOTS_PER_EXTENT);
    this.extents = new Array<Uint8Array | undefined>(extents).fill(undefined);
    this.extentUse = new Uint16Array(extents);
    this.free = new Int32Array(this.usableSlots);
    for (let i = 0; i < this.usableSlots; i++) this.free[i] = this.slots - 1 - i;
    this.freeCount = this.usableSlots;
  }

  /** Slots in use. */
  get usedSlots(): number {
    return this.usableSlots - this.freeCount;
  }

  get freeSlots(): number {
    return this.freeCount;
  }

  /** A free slot with count 1 (the caller's reference), or -1 when the device is full. */
  allocSlot(): number {
    if (this.freeCount === 0) return -1;
    const slot = this.free[--this.freeCount]!;
    this.counts[slot] = 1;
    this.extentUse[slot >> EXTENT_SHIFT]!++;
    return slot;
  }

  /** The references to `slot`. */
  count(slot: number): number {
    return this.counts[slot]!;
  }

  /** One more reference to an allocated slot (Linux's swap_duplicate, e.g. at fork). */
  duplicate(slot: number): void {
    this.checkAllocated(slot);
    if (this.counts[slot] === SWAP_MAP_MAX)
      throw new RangeError(`swap slot ${slot}: count overflow`);
    this.counts[slot]!++;
  }

  /** Drops one reference (Linux's swap_free); the last one frees the slot. */
  release(slot: number): void {
    this.checkAllocated(slot);
    if (--this.counts[slot]! > 0) return;
    const extent = slot >> EXTENT_SHIFT;
    if (--this.extentUse[extent]! === 0) this.extents[extent] = undefined;
    this.free[this.freeCount++] = slot;
  }

  /**
   * Writes the frame at `pa` to `slot`: false on an I/O error (never here; fault injection
   * makes some), and nothing changes then.
   */
  write(slot: number, ram: PhysicalMemory, pa: number): boolean {
    this.checkAllocated(slot);
    const extent = slot >> EXTENT_SHIFT;
    let data = this.extents[extent];
    if (data === undefined) {
      data = new Uint8Array(SLOTS_PER_EXTENT * PAGE_SIZE);
      this.extents[extent] = data;
    }
    ram.readInto(pa, data, offsetInExtent(slot), PAGE_SIZE);
    this.pswpout++;
    return true;
  }

  /** Reads `slot` into the frame at `pa`. */
  read(slot: number, ram: PhysicalMemory, pa: number): void {
    this.checkAllocated(slot);
    const data = this.extents[slot >> EXTENT_SHIFT];
    if (data === undefined) throw new Error(`swap slot ${slot} was never written`);
    ram.writeFrom(pa, data, offsetInExtent(slot), PAGE_SIZE);
    this.pswpin++;
  }

  /** Calls `visit(slot, count)` for every allocated slot. */
  forEachUsed(visit: (slot: number, count: number) => void): void {
    for (let slot = HEADER_SLOT + 1; slot < this.slots; slot++) {
      const count = this.counts[slot]!;
      if (count > 0) visit(slot, count);
    }
  }

  /**
   * `/proc/swaps`, in Linux's format (mm/swapfile.c swap_show): sizes in KiB, the path padded
   * to 40 columns, an extra tab after numbers below 10^7.
   */
  procSwaps(): string {
    const size = pagesToKb(this.usableSlots);
    const used = pagesToKb(this.usedSlots);
    const tab = (kib: number) => (kib < SWAPS_NARROW_KIB ? '\t' : '');
    const path =
      this.path.length < SWAPS_PATH_WIDTH ? this.path.padEnd(SWAPS_PATH_WIDTH) : `${this.path} `;
    return (
      'Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n' +
      `${path}partition\t${size}\t${tab(size)}${used}\t${tab(used)}${SWAP_PRIORITY}\n`
    );
  }

  private checkAllocated(slot: number): void {
    if (slot === HEADER_SLOT || !(slot > 0 && slot < this.slots) || this.counts[slot] === 0)
      throw new RangeError(`swap slot ${slot} is not allocated`);
  }
}

/** Byte offset of `slot`'s page in its extent. */
function offsetInExtent(slot: number): number {
  return (slot & (SLOTS_PER_EXTENT - 1)) * PAGE_SIZE;
}
