/**
 * The free areas: one doubly linked list of free blocks per zone per order, linked through
 * per-frame index arrays (Linux's `zone->free_area[order].free_list`, without pointers).
 *
 * ```
 *  first[zone * ORDER_COUNT + order]           links[2 pfn] = next, links[2 pfn + 1] = prev
 *  ┌──────────────────────┐   ┌─────────┐     ┌─────────┐     ┌─────────┐
 *  │ DMA32, order 3: 0x48 ├──►│ pfn 0x48├────►│ pfn 0x10├────►│ pfn 0x88├──► NIL
 *  └──────────────────────┘   │         │◄────┤         │◄────┤         │
 *                       NIL ◄─┤         │     │         │     │         │
 *                             └─────────┘     └─────────┘     └─────────┘
 * ```
 *
 * Only a free block's head frame is linked; every operation is O(1). `nonEmpty[zone]` keeps one
 * bit per order whose list has a block, so the smallest order that can serve a request is found
 * with one bit trick instead of a scan over eleven lists.
 *
 * Blocks of MAX_ORDER keep their links apart, in `topLinks`, indexed by block number
 * (pfn >> MAX_ORDER): right after boot nearly all memory is in such blocks, and with their
 * links packed together booting 64 GiB writes 130 KiB of links instead of touching one host
 * page of the per-frame array for every 4 MiB block.
 */
import {
  MAX_ORDER as IMPORTED_MAX_ORDER,
  ORDER_COUNT as IMPORTED_ORDER_COUNT,
  ZONE_COUNT as IMPORTED_ZONE_COUNT,
} from './constants.js';

/* Module-local copies: V8 reads imported bindings through a cell on every use (see allocator). */
const MAX_ORDER = IMPORTED_MAX_ORDER;
const ORDER_COUNT = IMPORTED_ORDER_COUNT;
const ZONE_COUNT = IMPORTED_ZONE_COUNT;

/** "No frame": the end of a list. */
export const NIL = -1;

/** Int32 slots of links per frame: next and prev side by side, in one cache line. */
const LINK_SLOTS = 2;
/** Offset of the prev link within a frame's slots (next is at 0). */
const PREV = 1;

/** The free lists of every zone and order over one frame table. */
export class FreeLists {
  /** Per frame, the next and the previous free block head of its list (8 bytes a frame). */
  private readonly links: Int32Array;
  /** The same for MAX_ORDER blocks, per block number. */
  private readonly topLinks: Int32Array;
  /** First block of each list, indexed `zone * ORDER_COUNT + order`. */
  readonly first = new Int32Array(ZONE_COUNT * ORDER_COUNT).fill(NIL);
  /** Blocks in each list (Linux's `nr_free`), indexed like {@link first}. */
  readonly count = new Int32Array(ZONE_COUNT * ORDER_COUNT);
  /** Per zone, bit `order` is set when that order's list is not empty. */
  readonly nonEmpty = new Int32Array(ZONE_COUNT);

  /** Lists over `frames` frames, all empty. */
  constructor(frames: number) {
    this.links = new Int32Array(frames * LINK_SLOTS);
    this.topLinks = new Int32Array(Math.ceil(frames / 2 ** MAX_ORDER) * LINK_SLOTS);
  }

  /** Links `pfn` at the front (the most recently freed block is the next one handed out). */
  push(zone: number, order: number, pfn: number): void {
    const list = zone * ORDER_COUNT + order;
    const head = this.first[list]!;
    const links = this.linksOf(order);
    links[slotOf(pfn, order)] = head;
    links[slotOf(pfn, order) + PREV] = NIL;
    if (head !== NIL) links[slotOf(head, order) + PREV] = pfn;
    this.first[list] = pfn;
    this.count[list]!++;
    this.nonEmpty[zone]! |= 1 << order;
  }

  /** Unlinks `pfn`, which must be in the list of `zone` and `order`. */
  remove(zone: number, order: number, pfn: number): void {
    const list = zone * ORDER_COUNT + order;
    const links = this.linksOf(order);
    const before = links[slotOf(pfn, order) + PREV]!;
    const after = links[slotOf(pfn, order)]!;
    if (before === NIL) this.first[list] = after;
    else links[slotOf(before, order)] = after;
    if (after !== NIL) links[slotOf(after, order) + PREV] = before;
    if (--this.count[list]! === 0) this.nonEmpty[zone]! &= ~(1 << order);
  }

  /** Unlinks and returns the first block of a list that is not empty. */
  pop(zone: number, order: number): number {
    const pfn = this.first[zone * ORDER_COUNT + order]!;
    this.remove(zone, order, pfn);
    return pfn;
  }

  /** The smallest order at least `order` with a free block in `zone`, or -1. */
  smallestOrderFrom(zone: number, order: number): number {
    const orders = this.nonEmpty[zone]! & (-1 << order);
    if (orders === 0) return -1;
    return 31 - Math.clz32(orders & -orders);
  }

  /** The block after `pfn` in its list of `order` (NIL at the end). */
  nextOf(pfn: number, order: number): number {
    return this.linksOf(order)[slotOf(pfn, order)]!;
  }

  /** The block before `pfn` in its list of `order` (NIL at the front). */
  prevOf(pfn: number, order: number): number {
    return this.linksOf(order)[slotOf(pfn, order) + PREV]!;
  }

  /** The head of the list of `zone` and `order` (NIL when empty). */
  firstOf(zone: number, order: number): number {
    return this.first[zone * ORDER_COUNT + order]!;
  }

  /** Free blocks of `order` in `zone`. */
  countOf(zone: number, order: number): number {
    return this.count[zone * ORDER_COUNT + order]!;
  }

  /** The array holding the links of blocks of `order`. */
  private linksOf(order: number): Int32Array {
    return order === MAX_ORDER ? this.topLinks : this.links;
  }
}

/** Where the links of the block at `pfn` of `order` start in its links array. */
function slotOf(pfn: number, order: number): number {
  return (order === MAX_ORDER ? pfn >>> MAX_ORDER : pfn) * LINK_SLOTS;
}
