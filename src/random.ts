/**
 * The seeded PRNG of the whole project: mulberry32 (Tommy Ettinger's 32-bit generator, the
 * one docs/workloads.md prints). One seed gives one sequence, so benchmarks, ASLR, the
 * scheduler, the stress harness and the demos replay exactly. Isomorphic: no Node APIs here.
 *
 * (The benchmark driver writes the same arithmetic out in its step loop, with the state in a
 * local; bench/workloads.ts says why.)
 */

/** mulberry32's Weyl-sequence increment. */
const MULBERRY32_INCREMENT = 0x6d2b79f5;

/** mulberry32 as an object, for callers that pass the generator around. */
export class Mulberry32 {
  private state: number;

  constructor(seed: number) {
    this.state = seed | 0;
  }

  /** The next number in [0, 1). */
  next(): number {
    this.state = (this.state + MULBERRY32_INCREMENT) | 0;
    const state = this.state;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
}

/** mulberry32 as a function returning the next number in [0, 1) on each call. */
export function mulberry32(seed: number): () => number {
  const rng = new Mulberry32(seed);
  return () => rng.next();
}
