/**
 * The standard benchmark workloads of docs/workloads.md, as one deterministic driver.
 *
 * Every implementation (buddy, slab, heap, their peers) runs the exact same operation sequence:
 * a loop of `ops` steps over `slots` slots; each step draws a slot, frees its block if it holds
 * one, otherwise allocates one of the drawn size. Isomorphic: no Node APIs here.
 */
import { drawB2Order, drawH2Size } from './draws.js';

/** The seed of the PRNG (mulberry32, src/random.ts) every implementation's workload uses. */
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
  /**
   * True when every handle is a signed 32-bit integer (a physical address below 2 GiB, an offset
   * into a flat buffer): the slot table then keeps handles in an Int32Array, which V8 reads and
   * writes as integers, instead of converting each to and from a double.
   */
  readonly int32Handles?: boolean;
  allocate(size: number): number | null;
  release(handle: number, size: number): void;
}

/**
 * Steps of the warm-up pass per call of {@link runSteps}. The warm-up runs in slices so that V8
 * optimises `runSteps` as a whole function, with feedback from both branches of a step: a pass
 * run in one call is compiled on-stack mid-loop instead (OSR), and that code is left again at
 * the next call by a deoptimisation on the feedback it never saw, costing the timed runs.
 */
export const WARMUP_SLICE = 4096;

/**
 * Runs one pass of `workload` over `target`, ending with everything freed: `slice` steps per
 * call of the step loop (all of them in one call by default).
 *
 * The slot table (which slots hold a block, its handle, its drawn size) is three typed arrays
 * passed to the loop as arguments: held in an object, their types would be recorded in the
 * object's shape, and a later pass's fresh arrays could change it and throw the loop's optimised
 * code away.
 */
export function runWorkload(workload: Workload, target: SlotAllocator, slice = workload.ops): void {
  const { draw, slots } = workload;
  const held = new Uint8Array(slots);
  const handles = target.int32Handles === true ? new Int32Array(slots) : new Float64Array(slots);
  const sizes = new Int32Array(slots); // every drawn size is a small integer
  let state = WORKLOAD_SEED;
  for (let done = 0; done < workload.ops; done += slice) {
    const steps = Math.min(slice, workload.ops - done);
    state = runSteps(draw, slots, target, held, handles, sizes, state, steps);
  }
  for (let slot = 0; slot < slots; slot++) {
    if (held[slot] === 1) target.release(handles[slot]!, sizeIn(draw, sizes, slot));
  }
}

/** `steps` steps of the workload loop from PRNG `state`; returns the state after them. */
function runSteps(
  draw: Workload['draw'],
  slots: number,
  target: SlotAllocator,
  held: Uint8Array,
  handles: Int32Array | Float64Array,
  sizes: Int32Array,
  state: number,
  steps: number,
): number {
  // Both draws of a step are mulberry32 (src/random.ts) written out, the increment a literal:
  // V8 inlines callees into this loop only up to a budget of their bytecode
  // (docs/performance.md), and a draw's 87 bytes are better spent on the heap's malloc
  // (H1: 39.4 -> 37.2 ns/op); an imported function or a module constant is a load and a hole
  // check every step (a module constant: 2 ns of H1). The spec-replay test
  // (test/bench/workloads.test.ts) checks the sequence is still the spec's.
  for (let step = 0; step < steps; step++) {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    const slot = Math.floor((((t ^ (t >>> 14)) >>> 0) / 4294967296) * slots);
    if (held[slot] === 1) {
      target.release(handles[slot]!, sizeIn(draw, sizes, slot));
      held[slot] = 0;
      continue;
    }
    let size: number;
    if (typeof draw === 'number') {
      size = draw;
    } else {
      state = (state + 0x6d2b79f5) | 0;
      t = Math.imul(state ^ (state >>> 15), 1 | state);
      t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
      size = draw(((t ^ (t >>> 14)) >>> 0) / 4294967296);
      sizes[slot] = size;
    }
    const handle = target.allocate(size);
    if (handle === null) continue;
    handles[slot] = handle;
    held[slot] = 1;
  }
  return state;
}

/** The size `slot`'s block was drawn with: a constant workload size is never stored. */
function sizeIn(draw: Workload['draw'], sizes: Int32Array, slot: number): number {
  return typeof draw === 'number' ? draw : sizes[slot]!;
}

/** The implementation name of our rows: the allocator over a flat buffer (or its own layer). */
export const OUR_IMPLEMENTATION = 'wallos-memory';
/** The implementation name of the heap rows measured inside a simulated process. */
export const PROCESS_IMPLEMENTATION = 'wallos-memory/process';

export interface BenchRow {
  workload: string;
  implementation: string;
  nsPerOp: number;
  opsPerSec: number;
  /** The TLB-shootdown IPIs one operation sent (the SMP rows only). */
  ipisPerOp?: number;
}

/**
 * Times `runWorkload`: one warm-up (in slices, see {@link WARMUP_SLICE}), then the median of
 * `reps` runs, each in one call. `now()` is in ms.
 */
export function measureWorkload(
  workload: Workload,
  implementation: string,
  target: SlotAllocator,
  now: () => number,
  reps = 5,
): BenchRow {
  runWorkload(workload, target, WARMUP_SLICE);
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
