/**
 * Fast, exact forms of the size draws of workloads B2 and H2 (`shared/bench/WORKLOADS.md`).
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
 * H2's size, `floor(8 * 2 ** (r * 11))`, read from a table where it is the same over a whole
 * bucket of `r` (the top {@link BUCKET_BITS} bits of `u`), computed by the spec's expression
 * otherwise.
 *
 * A bucket gets a table entry only when the expression's values at both ends have the same floor
 * and both lie at least {@link MARGIN} (relative) inside that integer's unit interval. The true
 * function is increasing, so its values inside the bucket lie between its values at the ends,
 * inside the interval by the margin less libm's error (under one ulp, ~1e-16 relative); the
 * computed ones differ from them by less than an ulp again, so they floor to the same integer.
 */
export function drawH2Size(r: number): number {
  const size = h2Table()[Math.floor(r * BUCKETS)]!;
  return size !== 0 ? size : h2Size(r);
}

/** The spec's H2 expression. */
function h2Size(r: number): number {
  return Math.floor(8 * 2 ** (r * 11));
}

const BUCKET_BITS = 16;
const BUCKETS = 2 ** BUCKET_BITS;
/** The last `r` of a bucket is this far above its first. */
const BUCKET_SPAN = (2 ** (32 - BUCKET_BITS) - 1) / TWO_32;
/** Relative distance from an integer that libm's error cannot cross (it is ~1e-16). */
const MARGIN = 1e-9;

let table: Uint16Array | null = null;

/** Bucket → size (0: not the same over the bucket), built on first use (~3 ms). */
function h2Table(): Uint16Array {
  if (table !== null) return table;
  const built = new Uint16Array(BUCKETS);
  for (let bucket = 0; bucket < BUCKETS; bucket++) {
    const first = bucket / BUCKETS;
    const low = 8 * 2 ** (first * 11);
    const high = 8 * 2 ** ((first + BUCKET_SPAN) * 11);
    const size = Math.floor(low);
    const inside = low - size >= size * MARGIN && size + 1 - high >= size * MARGIN;
    if (Math.floor(high) === size && inside) built[bucket] = size;
  }
  table = built;
  return built;
}
