/**
 * `struct kmem_cache`: a cache's descriptor in kernel memory. As in Bonwick's allocator and
 * Linux, descriptors are objects of the first cache, `kmem_cache`, whose own descriptor is
 * static (Linux's `kmem_cache_boot`, in the kernel image's data) — the one cache that cannot be
 * made from a cache:
 *
 * ```
 *  kernel image .data                      slab of kmem_cache (16 descriptors a page)
 *  ┌──────────────────────┐   describes    ┌──────────────┬──────────────┬─────
 *  │ kmem_cache_boot      │ ─────────────► │ kmalloc-8    │ kmalloc-16   │ ···
 *  └──────────────────────┘                └──────────────┴──────────────┴─────
 *
 *  kmem_cache (256 B)                      the fields SLAB's struct kmem_cache has, in this order
 *  0   batchcount   u32  per-CPU array     24  num          u32  objects per slab
 *  4   limit        u32  per-CPU array     28  gfporder     u32  slab = 2^order pages
 *  8   size         u32  slot stride       32  colour       u32  colours cycled through
 *  12  object_size  u32                    36  colour_off   u32  colour step (cache line)
 *  16  align        u32                    40  id           u32  index among the caches
 *  20  flags        u32  SLAB_* below      48  name[32]     NUL-terminated (Linux: a pointer)
 * ```
 */
import type { MemoryAccess } from '../hw/memory-access.js';
import type { SlabCache } from './slab-cache.js';

export const KMEM_CACHE_SIZE = 256;
/** Descriptors are cache-line aligned, as Linux's are. */
export const KMEM_CACHE_ALIGN = 64;
export const KMEM_CACHE_NAME = 'kmem_cache';

/** Linux's slab flags (include/linux/slab.h). */
export const SLAB_RED_ZONE = 0x400;
export const SLAB_POISON = 0x800;
export const SLAB_RECLAIM_ACCOUNT = 0x20000;

const BATCHCOUNT = 0;
const LIMIT = 4;
const SIZE = 8;
const OBJECT_SIZE = 12;
const ALIGN = 16;
const FLAGS = 20;
const NUM = 24;
const GFPORDER = 28;
const COLOUR = 32;
const COLOUR_OFF = 36;
const ID = 40;
const NAME = 48;
const NAME_LENGTH = 32;

/** A descriptor's fields as read back from kernel memory. */
export interface CacheDescriptor {
  batchcount: number;
  limit: number;
  size: number;
  objectSize: number;
  align: number;
  flags: number;
  num: number;
  gfporder: number;
  colour: number;
  colourOff: number;
  id: number;
  name: string;
}

/** Writes `cache`'s descriptor at `address` (KMEM_CACHE_SIZE bytes of kernel memory). */
export function writeCacheDescriptor(
  memory: MemoryAccess,
  address: number,
  cache: SlabCache,
): void {
  for (const [offset, value] of numericFields(cache)) memory.store32(address + offset, value);
  memory.writeBytes(address + NAME, encodedName(cache));
}

/** Whether the descriptor at `address` still describes `cache` (nothing overwrote it). */
export function describesCache(memory: MemoryAccess, address: number, cache: SlabCache): boolean {
  const numbersIntact = numericFields(cache).every(
    ([offset, value]) => memory.load32(address + offset) === value,
  );
  const name = encodedName(cache);
  return (
    numbersIntact && memory.readBytes(address + NAME, NAME_LENGTH).every((b, i) => b === name[i])
  );
}

/** The u32 fields of `cache`'s descriptor: [offset, value]. */
function numericFields(cache: SlabCache): [number, number][] {
  const g = cache.geometry;
  return [
    [BATCHCOUNT, cache.arrayBatch],
    [LIMIT, cache.arrayLimit],
    [SIZE, g.stride],
    [OBJECT_SIZE, g.objectSize],
    [ALIGN, g.align],
    [FLAGS, flagsOf(cache)],
    [NUM, g.objectsPerSlab],
    [GFPORDER, g.order],
    [COLOUR, g.colours],
    [COLOUR_OFF, g.colourUnit],
    [ID, cache.id],
  ];
}

/** The name field: the name's UTF-8 bytes, NUL-padded (at most NAME_LENGTH - 1 of them). */
function encodedName(cache: SlabCache): Uint8Array {
  const name = new Uint8Array(NAME_LENGTH);
  name.set(new TextEncoder().encode(cache.name).subarray(0, NAME_LENGTH - 1));
  return name;
}

/** The descriptor at `address`, read from kernel memory. */
export function readCacheDescriptor(memory: MemoryAccess, address: number): CacheDescriptor {
  const u32 = (offset: number) => memory.load32(address + offset);
  const name = memory.readBytes(address + NAME, NAME_LENGTH);
  const end = name.indexOf(0);
  return {
    batchcount: u32(BATCHCOUNT),
    limit: u32(LIMIT),
    size: u32(SIZE),
    objectSize: u32(OBJECT_SIZE),
    align: u32(ALIGN),
    flags: u32(FLAGS),
    num: u32(NUM),
    gfporder: u32(GFPORDER),
    colour: u32(COLOUR),
    colourOff: u32(COLOUR_OFF),
    id: u32(ID),
    name: new TextDecoder().decode(name.subarray(0, end < 0 ? NAME_LENGTH : end)),
  };
}

function flagsOf(cache: SlabCache): number {
  const debug = cache.debug ? SLAB_RED_ZONE | SLAB_POISON : 0;
  return debug | (cache.reclaimable ? SLAB_RECLAIM_ACCOUNT : 0);
}
