import { describe, expect, it } from 'vitest';
import {
  runWorkload,
  type SlotAllocator,
  WARMUP_SLICE,
  WORKLOADS,
  type Workload,
} from '../../src/bench/workloads.js';
import { specMulberry32 } from '../spec-mulberry32.js';

/** Each workload's allocation draw, written out from the spec's table. */
const SPEC_DRAWS: Record<string, (r: () => number) => number> = {
  B1: () => 0,
  B2: (r) => Math.min(10, Math.floor(-Math.log2(1 - r()))),
  S1: () => 64,
  H1: (r) => 16 + Math.floor(r() * 113),
  H2: (r) => Math.floor(8 * 2 ** (r() * 11)),
};

/** The spec's loop, step by step, as an event log: `a<slot>:<size>` and `f<slot>:<size>`. */
function specEvents(workload: Workload, ops: number): string[] {
  const r = specMulberry32(42);
  const held: (number | null)[] = new Array(workload.slots).fill(null);
  const events: string[] = [];
  for (let step = 0; step < ops; step++) {
    const slot = Math.floor(r() * workload.slots);
    const size = held[slot];
    if (size !== null && size !== undefined) {
      events.push(`f${slot}:${size}`);
      held[slot] = null;
      continue;
    }
    const drawn = SPEC_DRAWS[workload.name]!(r);
    events.push(`a${slot}:${drawn}`);
    held[slot] = drawn;
  }
  return events;
}

/**
 * A target that records what the driver asks, handing out the slot-free handles `first`,
 * `first + 1`, ... (as int32s when `int32Handles`).
 */
class RecordingTarget implements SlotAllocator {
  readonly events: string[] = [];
  private readonly slotOf = new Map<number, number>();
  private next: number;

  constructor(
    private readonly slotOfNextAlloc: () => number,
    first = 0,
    readonly int32Handles = false,
  ) {
    this.next = first;
  }

  allocate(size: number): number {
    const handle = this.next++;
    this.slotOf.set(handle, this.slotOfNextAlloc());
    this.events.push(`a${this.slotOf.get(handle)}:${size}`);
    return handle;
  }

  release(handle: number, size: number): void {
    this.events.push(`f${this.slotOf.get(handle)}:${size}`);
  }
}

/** How the driver is run: in one call or in slices; handles as doubles or as int32s. */
const DRIVER_MODES = [
  { mode: 'in one call, double handles', slice: undefined, first: 2 ** 40, int32: false },
  { mode: 'in warm-up slices, int32 handles', slice: WARMUP_SLICE, first: -(2 ** 31), int32: true },
];

describe('the workload driver', () => {
  for (const standard of WORKLOADS) {
    it.each(DRIVER_MODES)(
      `replays ${standard.name} exactly as the spec's loop does, $mode`,
      ({ slice, first, int32 }) => {
        const ops = 50_000; // not a multiple of WARMUP_SLICE: the last slice is short
        const expected = specEvents(standard, ops);
        // The slot of each allocation comes from the spec's log, in order: the driver must ask for
        // the same sizes, free the same handles with the same sizes, in the same order.
        const allocSlots = expected
          .filter((e) => e[0] === 'a')
          .map((e) => e.slice(1).split(':')[0]);
        let nextAlloc = 0;
        const target = new RecordingTarget(() => Number(allocSlots[nextAlloc++]), first, int32);
        runWorkload({ ...standard, ops }, target, slice);
        const stillHeld = target.events.length - expected.length;
        expect(target.events.slice(0, expected.length)).toEqual(expected);
        // The teardown frees exactly what was left allocated.
        const allocs = expected.filter((e) => e[0] === 'a').length;
        const frees = expected.length - allocs;
        expect(stillHeld).toBe(allocs - frees);
      },
    );
  }
});
