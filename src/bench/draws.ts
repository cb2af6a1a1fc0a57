/**
 * Fast, exact forms of the size draws of workloads B2 and H2 (docs/workloads.md).
 *
 * The spec writes them with `Math.log2` and `**`, calls into V8's C++ libm that cost 10–25 ns
 * each: more than a native buddy operation. These return exactly the same values for every `r`
 * the generator can produce (`r = u / 2^32` for an integer `u` in [0, 2^32)); the reasoning is
 * next to each function, and test/bench/draws.test.ts compares them with the spec's expressions.
 */

const TWO_32 = 4294967296;

/**
 * B2's order, `min(10, floor(-log2(1 - r)))`. With `v = 2^32 - u` (so `1 - r = v / 2^32`,
 * exactly), `-log2(1 - r) = 32 - log2(v)`: for `v = 2^k` that is the integer `32 - k` (log2 is
 * exact on powers of two), otherwise it lies strictly between `31 - k'` and `32 - k'`
 * (`k' = floor(log2 v)`) at least 2^-32 / ln 2 away from both, far beyond libm's error. Either
 * way the floor is the number of leading zeros of `v - 1` in 32 bits.
 */
export function drawB2Order(r: number): number {
  return Math.min(10, Math.clz32(TWO_32 - 1 - r * TWO_32));
}

/**
 * H2's size, `floor(8 * 2 ** (r * 11))`, from thresholds on `u = r * 2^32`: a bucket table (the
 * top {@link BUCKET_BITS} bits of `u`) gives the size at the bucket's start, and the thresholds
 * of the next sizes move it up. Only a `u` within a hair of a size boundary, where libm's last
 * bit could decide, is computed by the spec's expression (about 4 draws in a million).
 *
 * For each size `s`, `ambiguousFrom(s)` is the first `u` whose value reaches `s * (1 - MARGIN)`
 * and `exactFrom(s)` the first reaching `s * (1 + MARGIN)`. Below the first, the value is below
 * `s` by the margin; from the second on, above it by the margin. The true function is increasing
 * and libm's error is under one ulp (~1e-16 relative), far inside the margin, so the floor is
 * certain outside `[ambiguousFrom(s), exactFrom(s))`; the binary searches that find the
 * thresholds only meet values that close to `s * (1 ± MARGIN)`, where either answer is right.
 */
export function drawH2Size(r: number): number {
  const { startSize, thresholds } = h2Tables();
  const u = r * TWO_32;
  let size = startSize[u >>> BUCKET_SHIFT]!;
  while (u >= thresholds[(size + 1) * 2]!) {
    if (u < thresholds[(size + 1) * 2 + 1]!) return h2Size(r); // at a boundary: let libm decide
    size++;
  }
  return size;
}

/** The spec's H2 expression. */
function h2Size(r: number): number {
  return Math.floor(8 * 2 ** (r * 11));
}

/** The spec's H2 expression as a function of `u`, unrounded. */
function h2Value(u: number): number {
  return 8 * 2 ** ((u / TWO_32) * 11);
}

const BUCKET_BITS = 16;
const BUCKET_SHIFT = 32 - BUCKET_BITS;
const BUCKETS = 2 ** BUCKET_BITS;
/** Relative distance from an integer that libm's error cannot cross (it is ~1e-16). */
const MARGIN = 1e-9;
const SMALLEST_H2 = 8;
/** The size at r = 1, never reached: its thresholds lie past every `u`. */
const H2_LIMIT = 16_384;

interface H2Tables {
  /** Bucket → the size at the bucket's first `u` (or one less, if that `u` is at a boundary). */
  readonly startSize: Uint16Array;
  /** Size `s` → `ambiguousFrom(s)` at `2s`, `exactFrom(s)` at `2s + 1` (one cache line). */
  readonly thresholds: Float64Array;
}

let tables: H2Tables | null = null;

/** The tables of {@link drawH2Size}, built on first use (~20 ms: two searches per size). */
function h2Tables(): H2Tables {
  if (tables !== null) return tables;
  const thresholds = new Float64Array((H2_LIMIT + 2) * 2).fill(TWO_32);
  thresholds.fill(0, 0, (SMALLEST_H2 + 1) * 2); // sizes up to the smallest: from u = 0
  for (let size = SMALLEST_H2 + 1; size < H2_LIMIT; size++) {
    thresholds[size * 2] = firstReaching(size * (1 - MARGIN));
    thresholds[size * 2 + 1] = firstReaching(size * (1 + MARGIN));
  }
  const startSize = new Uint16Array(BUCKETS);
  let size = SMALLEST_H2;
  for (let bucket = 0; bucket < BUCKETS; bucket++) {
    const first = bucket * 2 ** BUCKET_SHIFT;
    while (thresholds[(size + 1) * 2 + 1]! <= first) size++;
    startSize[bucket] = size;
  }
  tables = { startSize, thresholds };
  return tables;
}

/** The first `u` in [0, 2^32] whose H2 value reaches `value` (2^32 if none does). */
function firstReaching(value: number): number {
  let [low, high] = [0, TWO_32];
  while (low < high) {
    const middle = Math.floor((low + high) / 2);
    if (h2Value(middle) >= value) high = middle;
    else low = middle + 1;
  }
  return low;
}
