/**
 * How a cache lays out its objects: the slot of one object, the slab order and the colours.
 *
 * A slab is 2^order contiguous pages. Its first object starts after the slab's *colour*, an offset
 * that cycles through the slab's leftover space in cache-line steps so that the same object
 * index in different slabs falls on different cache lines (Bonwick's slab colouring):
 *
 * ```
 *  base (page aligned)                                            base + (PAGE_SIZE << order)
 *  ├────────┬────────┬────────┬────────┬─ ··· ─┬────────┬────────────────────────────────┤
 *  │ colour │ slot 0 │ slot 1 │ slot 2 │       │ slot n-1│ leftover - colour (unused)    │
 *  ├────────┴────────┴────────┴────────┴─ ··· ─┴────────┴────────────────────────────────┤
 *            ▲ firstSlot = base + colour, colour ∈ {0, unit, 2·unit, ...} ≤ leftover
 * ```
 *
 * A slot in the plain layout is the object itself; while the object is free its first 4 bytes
 * hold the free-list link (the index of the next free object in the same slab, 0xffffffff at the
 * end of the list; an index rather than a pointer, so that the link is always checkable: a valid
 * link is below `objectsPerSlab`):
 *
 * ```
 *  plain:          ┌─────────────────────────────┬─pad─┐
 *                  │ object (link at +0 if free) │     │   stride = size rounded to align
 *                  └─────────────────────────────┴─────┘
 *  constructed or  ┌──────────┬───────────────────┬──────────┬──────┬─pad─┐
 *  debug:          │ red zone │ object            │ red zone │ link │     │
 *                  │ (left)   │ 6b 6b … 6b a5     │ (right)  │ (4)  │     │
 *                  └──────────┴───────────────────┴──────────┴──────┴─────┘
 *                   objectOffset ▲   (red zones only in debug; 0xcc allocated, 0xbb free)
 * ```
 *
 * A constructed object must keep its state while free (Bonwick), so a cache with a constructor
 * keeps the link after the object instead of inside it, as debug caches do to keep the poison.
 */
import { PAGE_SIZE } from '../hw/constants.js';

/** Bytes of the free-list link stored in a free object. */
export const LINK_BYTES = 4;
/** The link of the last free object. */
export const FREE_LIST_END = 0xffffffff;
/** Bytes of each red zone in debug mode (the left one grows to keep objects aligned). */
export const RED_ZONE_BYTES = 8;
/** Every object is at least pointer-aligned (Linux's ARCH_SLAB_MINALIGN on x86-64). */
export const MIN_ALIGN = 8;
/** The smallest slot: room for the link and pointer alignment. */
export const MIN_OBJECT_SIZE = 8;
/** x86-64 cache line: the colour step. */
export const CACHE_LINE_SIZE = 64;
/** Largest slab: 2^5 pages (128 KiB). */
export const MAX_SLAB_ORDER = 5;
/** A slab may waste at most 1/WASTE_FRACTION of its bytes (Bonwick's 1/8 rule). */
export const WASTE_FRACTION = 8;

/** The fixed layout of one cache's slabs and objects. */
export class SlabGeometry {
  /** Bytes from the start of a slot to the object (the left red zone). */
  readonly objectOffset: number;
  /** Bytes from the start of a slot to the free-list link. */
  readonly linkOffset: number;
  /** Bytes from one slot to the next (`objsize` in slabinfo). */
  readonly stride: number;
  readonly order: number;
  readonly pagesPerSlab: number;
  readonly slabBytes: number;
  readonly objectsPerSlab: number;
  /** The colour step: a cache line, or the alignment when larger. */
  readonly colourUnit: number;
  /** How many distinct colours the leftover allows (at least 1). */
  readonly colours: number;

  /**
   * @param objectSize bytes the caller may use in each object.
   * @param align a power of two ≤ PAGE_SIZE (already raised to {@link MIN_ALIGN}).
   * @param redZones debug layout with red zones around each object.
   * @param linkOutside keep the link after the object (constructor or poisoning).
   */
  constructor(
    readonly objectSize: number,
    readonly align: number,
    readonly redZones: boolean,
    linkOutside: boolean,
  ) {
    const size = Math.max(objectSize, MIN_OBJECT_SIZE);
    const redZone = redZones ? RED_ZONE_BYTES : 0;
    this.objectOffset = redZones ? roundUp(RED_ZONE_BYTES, align) : 0;
    this.linkOffset = linkOutside ? this.objectOffset + size + redZone : 0;
    const end = linkOutside ? this.linkOffset + LINK_BYTES : size;
    this.stride = roundUp(end, align);
    this.order = chooseOrder(this.stride);
    this.pagesPerSlab = 1 << this.order;
    this.slabBytes = PAGE_SIZE << this.order;
    this.objectsPerSlab = Math.floor(this.slabBytes / this.stride);
    this.colourUnit = Math.max(CACHE_LINE_SIZE, align);
    const leftover = this.slabBytes - this.objectsPerSlab * this.stride;
    this.colours = Math.floor(leftover / this.colourUnit) + 1;
  }

  /** The largest stride any slab can hold. */
  static readonly maxStride = PAGE_SIZE << MAX_SLAB_ORDER;
}

/**
 * The smallest order whose slab wastes at most 1/8 of itself, or else the order (up to
 * {@link MAX_SLAB_ORDER}) that wastes the least fraction.
 */
function chooseOrder(stride: number): number {
  let best = MAX_SLAB_ORDER;
  let bestWaste = 1;
  for (let order = 0; order <= MAX_SLAB_ORDER; order++) {
    const bytes = PAGE_SIZE << order;
    const objects = Math.floor(bytes / stride);
    if (objects === 0) continue;
    const waste = (bytes - objects * stride) / bytes;
    if (waste * WASTE_FRACTION <= 1) return order;
    if (waste < bestWaste) {
      best = order;
      bestWaste = waste;
    }
  }
  return best;
}

/** `value` rounded up to a multiple of the power of two `align`. */
export function roundUp(value: number, align: number): number {
  return Math.ceil(value / align) * align;
}
