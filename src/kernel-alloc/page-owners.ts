/**
 * Who owns each page of the direct map, so that the slab of any object is found in O(1)
 * (Linux keeps this in `struct page`; the slab allocator keeps its own table here).
 *
 * A two-level table indexed by page frame (the page's offset from the direct-map base): chunks of
 * 4096 entries are created on first use, so a large machine costs memory only where slabs live.
 *
 * ```
 *  kernel VA ──(va - DIRECT_MAP_BASE) / 4096──▶ frame ─┬─ frame / 4096 ──▶ chunks[i]
 *                                                     └─ frame & 4095 ──▶ Int32Array entry
 *  entry:  0          no owner (not a slab page)
 *          s + 1      a page of slab s (every page of a multi-page slab)
 *          -(o + 1)   first page of a large kmalloc of order o
 *          LARGE_TAIL a further page of a large kmalloc
 * ```
 */
import { PAGE_SHIFT, PAGE_SIZE, TiB } from '../hw/constants.js';
import { DIRECT_MAP_BASE } from '../virtual/layout.js';

/** The direct map spans 64 TiB, as on Linux with 4-level paging. */
export const DIRECT_MAP_SPAN = 64 * TiB;
/** Owner of a page that belongs to no slab and no large allocation. */
export const NO_OWNER = 0;
/** Owner of the pages after the first of a large kmalloc. */
export const LARGE_TAIL = -1024;

const CHUNK_SHIFT = 12;
const FRAMES_PER_CHUNK = 1 << CHUNK_SHIFT;
const FRAME_MASK = FRAMES_PER_CHUNK - 1;
/** Bytes of direct map one chunk describes (16 MiB). */
const CHUNK_BYTES = FRAMES_PER_CHUNK * PAGE_SIZE;
/** 1 / CHUNK_BYTES, a power of two: multiplying by it is exact, and cheaper than dividing. */
const CHUNKS_PER_BYTE = 1 / CHUNK_BYTES;

/** Owner entry of slab `slab`. */
export function slabOwner(slab: number): number {
  return slab + 1;
}

/** Owner entry of the first page of a large kmalloc of `order`. */
export function largeOwner(order: number): number {
  return -(order + 1);
}

/** The order of a large kmalloc from its first page's owner entry. */
export function largeOrder(owner: number): number {
  return -owner - 1;
}

/** True when `address` lies in the direct map (NaN and non-numbers are not). */
export function inDirectMap(address: number): boolean {
  const offset = address - DIRECT_MAP_BASE;
  return offset >= 0 && offset < DIRECT_MAP_SPAN;
}

/** The owner table of direct-map pages. */
export class PageOwnerMap {
  private readonly chunks: (Int32Array | undefined)[] = [];

  /** The owner entry of the page holding `address` ({@link NO_OWNER} outside the direct map). */
  get(address: number): number {
    const offset = address - DIRECT_MAP_BASE;
    if (!(offset >= 0 && offset < DIRECT_MAP_SPAN)) return NO_OWNER;
    const chunk = this.chunks[Math.floor(offset * CHUNKS_PER_BYTE)];
    // `>>>` keeps the low 32 bits of the offset, enough for the frame within its chunk.
    return chunk === undefined ? NO_OWNER : chunk[(offset >>> PAGE_SHIFT) & FRAME_MASK]!;
  }

  /** Sets the owner of the `pages` pages from the page-aligned direct-map `address`. */
  set(address: number, pages: number, owner: number): void {
    const first = (address - DIRECT_MAP_BASE) / PAGE_SIZE;
    for (let frame = first; frame < first + pages; frame++) {
      this.chunk(Math.floor(frame / FRAMES_PER_CHUNK))[frame & FRAME_MASK] = owner;
    }
  }

  private chunk(index: number): Int32Array {
    let chunk = this.chunks[index];
    if (chunk === undefined) {
      chunk = new Int32Array(FRAMES_PER_CHUNK);
      this.chunks[index] = chunk;
    }
    return chunk;
  }
}

/** True when `address` is a page-aligned direct-map address (what a page source must return). */
export function isDirectMapPage(address: number): boolean {
  return inDirectMap(address) && Number.isInteger(address) && (address & (PAGE_SIZE - 1)) === 0;
}
