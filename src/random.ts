/**
 * The seeded PRNG of the whole project: mulberry32 (Tommy Ettinger's 32-bit generator, the
 * one docs/workloads.md prints). One seed gives one sequence, so benchmarks, ASLR, the stress
 * harness and the demos replay exactly. Isomorphic: no Node APIs here.
 *
 * Its step is two pure functions on the 32-bit state, so a hot loop can keep the state in a
 * local: a PRNG object a loop passes around is not scalar-replaced by V8. (The benchmark
 * driver goes further and writes them out; bench/workloads.ts says why.)
 */

/** mulberry32's Weyl-sequence increment. */
const MULBERRY32_INCREMENT = 0x6d2b79f5;

/** The mulberry32 state after `state`. */
export function mulberry32Step(state: number): number {
  return (state + MULBERRY32_INCREMENT) | 0;
}

/** The number in [0, 1) that mulberry32 returns for the (already stepped) `state`. */
export function mulberry32Unit(state: number): number {
  let t = Math.imul(state ^ (state >>> 15), 1 | state);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}

/** mulberry32 as an object, for callers that pass the generator around. */
export class Mulberry32 {
  private state: number;

  constructor(seed: number) {
    this.state = seed | 0;
  }

  /** The next number in [0, 1). */
  next(): number {
    this.state = mulberry32Step(this.state);
    return mulberry32Unit(this.state);
  }
}

/** mulberry32 as a function returning the next number in [0, 1) on each call. */
export function mulberry32(seed: number): () => number {
  const rng = new Mulberry32(seed);
  return () => rng.next();
}
