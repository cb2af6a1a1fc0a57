/**
 * The standard benchmark workloads of `shared/bench/WORKLOADS.md`, as one deterministic driver.
 *
 * Every implementation (buddy, slab, heap, their peers) runs the exact same operation sequence:
 * a loop of `ops` steps over `slots` slots; each step draws a slot, frees its block if it holds
 * one, otherwise allocates one of the drawn size. Isomorphic: no Node APIs here.
 */
import { drawB2Order, drawH2Size } from './draws.js';

/*
 * The PRNG every implementation uses, seeded with 42: mulberry32, split into two pure functions
 * on its 32-bit state so that the workload loop keeps the state in a register (a PRNG object
 * the loop passes around costs the driver a third of its time: V8 does not scalar-replace it).
 */

/** The mulberry32 state after `state`. */
export function mulberry32Step(state: number): number {
  return (state + 0x6d2b79f5) | 0;
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

export const WORKLOAD_SEED = 42;

export type Layer = 'buddy' | 'slab' | 'heap';

export interface Workload {
  readonly name: string;
  readonly layer: Layer;
  readonly slots: number;
  readonly ops: number;
  /**
   * The size (bytes, or a buddy order) of the next allocation, made from one random number `r`
   * in [0, 1); a number when the workload draws no random number for its size.
   */
  readonly draw: ((r: number) => number) | number;
}

export const WORKLOADS: readonly Workload[] = [
  { name: 'B1', layer: 'buddy', slots: 100_000, ops: 4_000_000, draw: 0 },
  {
    name: 'B2',
    layer: 'buddy',
    slots: 2_000,
    ops: 2_000_000,
    draw: drawB2Order, // min(10, floor(-log2(1 - r))), exactly
  },
  { name: 'S1', layer: 'slab', slots: 100_000, ops: 4_000_000, draw: 64 },
  {
    name: 'H1',
    layer: 'heap',
    slots: 10_000,
    ops: 2_000_000,
    draw: (r) => 16 + Math.floor(r * 113),
  },
  {
    name: 'H2',
    layer: 'heap',
    slots: 10_000,
    ops: 1_000_000,
    draw: drawH2Size, // floor(8 * 2 ** (r * 11)), exactly
  },
];

/** Buddy workloads run over 262,144 frames (1 GiB); heap workloads over a 64 MiB pool. */
export const BUDDY_FRAMES = 262_144;
export const HEAP_POOL_BYTES = 64 * 1024 * 1024;

/**
 * What a workload drives. `allocate` returns a handle (any number, negative ones included) or
 * `null` when the allocation failed; `release` gets back the handle and the size it was drawn
 * with. Heap implementations write one byte into every block they hand out.
 */
export interface SlotAllocator {
  allocate(size: number): number | null;
  release(handle: number, size: number): void;
}

/** Runs one pass of `workload` over `target`, ending with everything freed. */
export function runWorkload(workload: Workload, target: SlotAllocator): void {
  const draw = workload.draw;
  const slots = workload.slots;
  const held = new Uint8Array(slots);
  const handles = new Float64Array(slots);
  const sizes = new Int32Array(slots); // every drawn size is a small integer
  let state = WORKLOAD_SEED;
  for (let step = 0; step < workload.ops; step++) {
    state = mulberry32Step(state);
    const slot = Math.floor(mulberry32Unit(state) * slots);
    if (held[slot] === 1) {
      target.release(handles[slot]!, sizes[slot]!);
      held[slot] = 0;
      continue;
    }
    let size: number;
    if (typeof draw === 'number') {
      size = draw;
    } else {
      state = mulberry32Step(state);
      size = draw(mulberry32Unit(state));
    }
    const handle = target.allocate(size);
    if (handle === null) continue;
    handles[slot] = handle;
    sizes[slot] = size;
    held[slot] = 1;
  }
  for (let slot = 0; slot < slots; slot++) {
    if (held[slot] === 1) target.release(handles[slot]!, sizes[slot]!);
  }
}

export interface BenchRow {
  workload: string;
  implementation: string;
  nsPerOp: number;
  opsPerSec: number;
}

/** Times `runWorkload`: one warm-up, then the median of `reps` runs. `now()` is in ms. */
export function measureWorkload(
  workload: Workload,
  implementation: string,
  target: SlotAllocator,
  now: () => number,
  reps = 5,
): BenchRow {
  runWorkload(workload, target);
  const times: number[] = [];
  for (let i = 0; i < reps; i++) {
    const start = now();
    runWorkload(workload, target);
    times.push(now() - start);
  }
  times.sort((a, b) => a - b);
  const nsPerOp = (times[Math.floor(reps / 2)]! * 1e6) / workload.ops;
  return { workload: workload.name, implementation, nsPerOp, opsPerSec: 1e9 / nsPerOp };
}
