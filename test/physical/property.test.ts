import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PAGE_SIZE } from '../../src/hw/constants.js';
import type { MemoryRegion } from '../../src/hw/memory-map.js';
import {
  FrameUse,
  MAX_ORDER,
  type PhysicalAllocator,
  type PhysicalAllocatorOptions,
  ZONE_DMA32,
  ZONE_NORMAL,
} from '../../src/physical/index.js';
import { freeLayout, HIGH_MACHINE, LOW_MACHINE, machine } from './machines.js';

/** One step of a random workload; indices pick among the blocks held so far. */
type Step =
  | { kind: 'alloc'; order: number; zone: number; zero: boolean; use: FrameUse }
  | { kind: 'free'; pick: number }
  | { kind: 'get'; pick: number }
  | { kind: 'put'; pick: number };

const ALLOCATED_USES = [FrameUse.KERNEL, FrameUse.SLAB, FrameUse.PAGE_TABLE, FrameUse.USER];

const step: fc.Arbitrary<Step> = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('alloc' as const),
      order: fc.nat(MAX_ORDER),
      zone: fc.nat(ZONE_NORMAL),
      zero: fc.boolean(),
      use: fc.constantFrom(...ALLOCATED_USES),
    }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('free' as const), pick: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('get' as const), pick: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('put' as const), pick: fc.nat() }) },
);

interface Held {
  pa: number;
  order: number;
  refs: number;
}

/** Runs `steps`, checking the allocator and a model of what is held after every one. */
function play(a: PhysicalAllocator, steps: readonly Step[]): Held[] {
  const held: Held[] = [];
  for (const s of steps) {
    if (s.kind === 'alloc') {
      const free = a.freeFrames;
      const pa = a.tryAllocPages(s.order, s.use, s.zone, s.zero);
      if (pa < 0) {
        expect(a.freeFrames).toBe(free);
      } else {
        expectDisjoint(held, pa, s.order);
        expect(zoneOf(pa)).toBeLessThanOrEqual(s.zone);
        expect(a.frameUse(pa)).toBe(s.use);
        held.push({ pa, order: s.order, refs: 1 });
      }
    } else if (held.length > 0) {
      const index = s.pick % held.length;
      const block = held[index]!;
      if (s.kind === 'get') {
        a.getPage(block.pa);
        block.refs++;
      } else if (s.kind === 'put' || block.refs > 1) {
        block.refs--;
        expect(a.putPage(block.pa)).toBe(block.refs === 0);
      } else {
        a.freePages(block.pa, block.order);
        block.refs = 0;
      }
      if (block.refs === 0) held.splice(index, 1);
    }
    a.check();
    const heldFrames = held.reduce((n, b) => n + 2 ** b.order, 0);
    expect(a.freeFrames).toBe(a.managedFrames - heldFrames);
  }
  return held;
}

function zoneOf(pa: number): number {
  if (pa < 16 * 2 ** 20) return 0;
  return pa < 4 * 2 ** 30 ? ZONE_DMA32 : ZONE_NORMAL;
}

function expectDisjoint(held: readonly Held[], pa: number, order: number): void {
  const end = pa + (PAGE_SIZE << order);
  for (const b of held) {
    const bEnd = b.pa + (PAGE_SIZE << b.order);
    expect(pa >= bEnd || end <= b.pa).toBe(true);
  }
}

/**
 * forEachBlock tiles the managed frames: its allocated blocks are exactly those held, its free
 * ones exactly the free lists' blocks.
 */
function expectBlocks(a: PhysicalAllocator, held: readonly Held[]): void {
  const allocated: string[] = [];
  const free: string[] = [];
  let frames = 0;
  a.forEachBlock((pa, order, use) => {
    (use === FrameUse.FREE ? free : allocated).push(`${order}:${pa}`);
    frames += 2 ** order;
  });
  expect(frames).toBe(a.managedFrames);
  expect(allocated.sort()).toEqual(held.map((b) => `${b.order}:${b.pa}`).sort());
  const listed: string[] = [];
  a.forEachFreeBlock((pa, order) => listed.push(`${order}:${pa}`));
  expect(free.sort()).toEqual(listed.sort());
}

/** Drops every reference left; the allocator must be back to its boot layout. */
function teardown(a: PhysicalAllocator, held: readonly Held[]): void {
  for (const b of held) {
    for (let r = 1; r < b.refs; r++) a.putPage(b.pa);
    a.freePages(b.pa, b.order);
  }
  a.check();
}

function property(
  regions: readonly MemoryRegion[],
  runs: number,
  maxSteps: number,
  options: PhysicalAllocatorOptions = {},
): void {
  const boot = freeLayout(machine(regions, options));
  fc.assert(
    fc.property(fc.array(step, { maxLength: maxSteps }), (steps) => {
      const a = machine(regions, options);
      const held = play(a, steps);
      expectBlocks(a, held);
      teardown(a, held);
      expect(a.poisonReports).toEqual([]);
      expect(freeLayout(a)).toEqual(boot);
      expect(a.freeFrames).toBe(a.managedFrames);
    }),
    { numRuns: runs },
  );
}

describe('random operation sequences', () => {
  it('keep every invariant and coalesce back to the boot layout (DMA, DMA32)', () => {
    property(LOW_MACHINE, 60, 60);
  });

  it('keep every invariant in debug mode, poisoning without false alarms', () => {
    property(LOW_MACHINE, 10, 30, { debug: true });
  });

  it('keep every invariant across three zones', () => {
    property(HIGH_MACHINE, 8, 25);
  });

  it('survive repeated exhaustion and come back to the boot layout', () => {
    fc.assert(
      fc.property(fc.array(fc.nat(MAX_ORDER), { minLength: 1, maxLength: 6 }), (orders) => {
        const a = machine(LOW_MACHINE);
        const boot = freeLayout(a);
        let held: { pa: number; order: number }[] = [];
        for (const order of orders) {
          for (let pa = a.tryAllocPages(order, FrameUse.USER); pa >= 0; ) {
            held.push({ pa, order });
            pa = a.tryAllocPages(order, FrameUse.USER);
          }
          expect(
            a.stats().zones.every((z) => z.freeBlocks.slice(order).every((n) => n === 0)),
          ).toBe(true);
          // Give back every other block: memory is fragmented, not empty.
          const kept = held.filter((_, i) => i % 2 === 0);
          for (const b of held.filter((_, i) => i % 2 === 1)) a.freePages(b.pa, b.order);
          held = kept;
          a.check();
        }
        for (const b of held) a.freePages(b.pa, b.order);
        expect(freeLayout(a)).toEqual(boot);
      }),
      { numRuns: 15 },
    );
  });
});
