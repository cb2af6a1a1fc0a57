/**
 * kmalloc's size classes, as Linux's `kmalloc_caches`: powers of two from 8 B to 8 KiB plus
 * 96 and 192 (common sizes that would waste a third of a 128 or 256-byte object).
 *
 * ```
 *  request  1..8 9..16 17..32 33..64 65..96 97..128 129..192 193..256 ... 4097..8192  > 8192
 *  class      8   16    32     64     96     128      192      256    ...    8k       pages
 * ```
 *
 * Sizes up to 192 are looked up in a table indexed by `(size + 7) >> 3` (Linux's size_index);
 * larger ones by their ceiling log2.
 */

/** Object sizes of the kmalloc caches, smallest first. */
export const KMALLOC_SIZES: readonly number[] = [
  8, 16, 32, 64, 96, 128, 192, 256, 512, 1024, 2048, 4096, 8192,
];
/** The largest size served by a kmalloc cache; larger requests get whole pages. */
export const KMALLOC_MAX_CACHE_SIZE = 8192;

const TABLE_STEP_SHIFT = 3;
const TABLE_LIMIT = 192;
/** Index (in KMALLOC_SIZES) of the 256-byte class, the first reached by log2. */
const FIRST_POWER_CLASS = KMALLOC_SIZES.indexOf(256);
const FIRST_POWER_SHIFT = 8;

/** SMALL_CLASS[(size + 7) >> 3] is the class index of sizes 1..192. */
const SMALL_CLASS = buildSmallTable();

function buildSmallTable(): Uint8Array {
  const table = new Uint8Array((TABLE_LIMIT >> TABLE_STEP_SHIFT) + 1);
  for (let slot = 1; slot < table.length; slot++) {
    table[slot] = KMALLOC_SIZES.findIndex((size) => size >= slot << TABLE_STEP_SHIFT);
  }
  return table;
}

/** The index in {@link KMALLOC_SIZES} of the class serving `size` (1..8192). */
export function sizeClassIndex(size: number): number {
  if (size <= TABLE_LIMIT) return SMALL_CLASS[(size + 7) >> TABLE_STEP_SHIFT]!;
  const shift = 32 - Math.clz32(size - 1); // ceil(log2(size))
  return FIRST_POWER_CLASS + shift - FIRST_POWER_SHIFT;
}

/** The Linux name of a kmalloc cache: `kmalloc-64`, `kmalloc-1k`. */
export function kmallocCacheName(size: number): string {
  return size >= 1024 ? `kmalloc-${size / 1024}k` : `kmalloc-${size}`;
}
