/**
 * Layout of the heap's chunks and of its segregated free lists (TLSF-style bins).
 *
 * A chunk is a 16-byte-aligned run of memory. Its 8 bytes at +8 are always its own; the 8 bytes
 * at +0 belong to the chunk *before* it while that one is in use (glibc's trick: a used chunk
 * may spill into its successor's prev_size, so the overhead per block is 8 bytes).
 *
 * ```
 *  in use                                   free
 *  a+0  ┌────────────────────────────────┐  a+0  ┌────────────────────────────────┐
 *       │ prev_size (u32) — previous     │       │ prev_size (u32) if prev free   │
 *       │ chunk's payload tail if in use │       │                                │
 *  a+8  ├────────────────┬───────────────┤  a+8  ├────────────────┬───────────────┤
 *       │ size | flags   │ seal          │       │ size | flags   │ seal          │
 *  a+16 ├────────────────┴───────────────┤  a+16 ├────────────────┼───────────────┤
 *       │ payload (usable: size - 8)     │       │ fd (u32 offset)│ bk (u32 offset│
 *       │ ...                            │       │ ...  unused    │  from base)   │
 *  a+size ─ next chunk's prev_size ──────┘  a+size ─ next chunk: prev_size = size ─┘
 * ```
 *
 * `size` counts the bytes from `a` to the next chunk; its low 4 bits hold flags (sizes are
 * multiples of 16). The `seal` word is `head ^ key ^ mix(a)` with a per-heap secret key: a chunk
 * header that was overwritten, or forged inside user data, does not carry a valid seal, so the
 * allocator catches it before trusting the size. A free chunk repeats its size in the next
 * chunk's prev_size (the boundary tag, the "footer"), which lets free() coalesce backwards.
 *
 * Free chunks sit in one of {@link BIN_COUNT} doubly linked lists. Bin of a chunk size:
 *
 * ```
 *   size < 512:  first level 0, second level size / 16          (exact, 16-byte steps)
 *   size ≥ 512:  first level msb(size) - 8, second level the 5 bits below the msb
 *                → each power-of-two range is split into 32 lists, so a list holds sizes
 *                  within 1/32 (3%) of each other.
 * ```
 * One bit per list in a second-level bitmap, one bit per first level in the first-level bitmap:
 * finding the smallest non-empty list at or above a size is two find-first-set operations.
 */

/** Every chunk and every payload is aligned to this (x86-64 max_align_t). */
export const ALIGNMENT = 16;
/** Low bits that must be 0 in an aligned address or size. */
export const ALIGNMENT_MASK = ALIGNMENT - 1;

/** Offset of prev_size: the previous chunk's size while it is free (its boundary tag). */
export const PREV_SIZE = 0;
/** Offset of the head word: size | flags. */
export const HEAD = 8;
/** Offset of the seal word, which authenticates the head word. */
export const SEAL = 12;
/** Offset of a free chunk's forward link (u32 offset from the heap base; 0 ends the list). */
export const FD = 16;
/** Offset of a free chunk's back link (0 at the list head). */
export const BK = 20;
/** The payload starts this far into the chunk. */
export const PAYLOAD = 16;

/** A heap chunk's payload may use its successor's prev_size: usable = size - HEAP_OVERHEAD. */
export const HEAP_OVERHEAD = 8;
/** An mmapped chunk has no successor: usable = size - MMAP_OVERHEAD. */
export const MMAP_OVERHEAD = 16;
/** The smallest chunk: header plus room for the two free-list links. */
export const MIN_CHUNK = 32;
/** The top chunk always keeps room for its own header, so it can be sealed. */
export const MIN_TOP = 16;

/** Head flag: the previous chunk is in use (so prev_size is not valid). */
export const PREV_INUSE = 1;
/** Head flag: this chunk is in use (or cached). */
export const INUSE = 2;
/** Head flag: this chunk has its own mapping. */
export const MMAPPED = 4;
/** In use for its neighbours, but parked in a per-size cache (see UserAllocator's tcache). */
export const CACHED = 8;
/** The flag bits of the head word. */
export const FLAG_MASK = 15;

/** Largest chunk the 32-bit head word can describe. */
export const MAX_CHUNK = 2 ** 32 - ALIGNMENT;

/** log2 of the lists per first level. */
export const SL_SHIFT = 5;
/** Lists per first level. */
export const SL_COUNT = 1 << SL_SHIFT;
/** Sizes below this have one exact list per 16 bytes. */
export const LINEAR_LIMIT = SL_COUNT * ALIGNMENT;
const LINEAR_MSB = 31 - Math.clz32(LINEAR_LIMIT);
/** First levels: 0 (linear) and one per power of two from 512 to 2^31. */
export const FL_COUNT = 32 - LINEAR_MSB + 1;
/** All the free lists. */
export const BIN_COUNT = FL_COUNT * SL_COUNT;

/** Multiplier of the address mix in the seal (a Fibonacci-hashing constant). */
const SEAL_MIX = 0x9e3779b1;

/** The bin (first level * SL_COUNT + second level) that holds free chunks of `size` bytes. */
export function binOf(size: number): number {
  if (size < LINEAR_LIMIT) return size >>> 4;
  const msb = 31 - Math.clz32(size);
  const fl = msb - LINEAR_MSB + 1;
  const sl = (size >>> (msb - SL_SHIFT)) - SL_COUNT;
  return fl * SL_COUNT + sl;
}

/**
 * The seal that a chunk at `address` with head word `head` carries under `key`, as a signed 32-bit
 * integer (compare it with the loaded word `| 0`). It covers every
 * flag, CACHED included: a chunk in use whose CACHED bit was forged must not pass for a cached
 * one when a corrupted cache link points at it.
 */
export function sealOf(address: number, head: number, key: number): number {
  // Signed: an int32 stays unboxed in V8's optimized code, where a uint32 above 2^31 may not.
  return head ^ key ^ Math.imul(address, SEAL_MIX);
}

/** 1 / ALIGNMENT, a power of two: multiplying by it is exact. */
const ALIGNMENT_RECIPROCAL = 1 / ALIGNMENT;

/**
 * `offset % ALIGNMENT === 0`, fractions and non-finite values included, without `%` or a
 * division: user addresses inside a process are above 2^31, where `%` is a call to fmod, and
 * dividing by a module constant is a real division to V8.
 */
export function isAligned(offset: number): boolean {
  if ((offset | 0) === offset) return (offset & ALIGNMENT_MASK) === 0;
  return (
    Number.isFinite(offset) && Math.floor(offset * ALIGNMENT_RECIPROCAL) * ALIGNMENT === offset
  );
}

/**
 * `(offset & SMALL_ALIGNED) === offset` holds exactly for the multiples of ALIGNMENT in
 * [0, 2^31): not for fractions, negatives or larger offsets. One operation where
 * {@link isAligned} is a call, for the fast paths (whose heaps are under 2 GiB; larger offsets
 * take the slow path, which uses isAligned).
 */
export const SMALL_ALIGNED = 0x7fffffff & ~ALIGNMENT_MASK;

/** The index of the lowest set bit of a non-zero 32-bit value. */
export function lowestBit(bits: number): number {
  return 31 - Math.clz32(bits & -bits);
}
