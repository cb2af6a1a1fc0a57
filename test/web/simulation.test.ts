import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PAGE_SIZE } from '../../src/hw/constants.js';
import { FrameUse, MAX_ORDER } from '../../src/physical/constants.js';
import { FrameCode, USER_CODE_FIRST, userCode } from '../../src/web/model/frame-colours.js';
import { LruState, NOT_A_HEAD, SHARED_OWNER } from '../../src/web/model/frame-snapshot.js';
import { Simulation } from '../../src/web/model/simulation.js';
import { WEB_WORKLOADS } from '../../src/web/model/workloads.js';

/** The FrameUse a frame code stands for (user codes: USER). */
function useOfCode(code: number): number {
  if (code >= FrameCode.USER_SHARED) return FrameUse.USER;
  const uses: Record<number, number> = {
    [FrameCode.FREE]: FrameUse.FREE,
    [FrameCode.SLAB]: FrameUse.SLAB,
    [FrameCode.PAGE_TABLE]: FrameUse.PAGE_TABLE,
    [FrameCode.RESERVED]: FrameUse.RESERVED,
  };
  return uses[code] ?? -1;
}

/** Every frame whose code disagrees with the allocator or with its owner, as text. */
function snapshotMismatches(sim: Simulation): string[] {
  const { machine, snapshot } = sim;
  const wrong: string[] = [];
  for (let pfn = 0; pfn < snapshot.frames; pfn++) {
    const code = snapshot.codes[pfn]!;
    if (code === FrameCode.HOLE) continue;
    const use = machine.frames.frameUse(pfn * PAGE_SIZE);
    const expected = useOfCode(code);
    const kernel = [FrameUse.KERNEL, FrameUse.KERNEL_STACK, FrameUse.VMALLOC] as number[];
    const agrees = expected === -1 ? kernel.includes(use) : use === expected;
    const owner = snapshot.owners[pfn]!;
    const ownerAgrees = code < USER_CODE_FIRST || userCode(owner) === code;
    if (!agrees || !ownerAgrees)
      wrong.push(`frame ${pfn}: code ${code}, use ${use}, owner ${owner}`);
  }
  return wrong;
}

function countCodes(sim: Simulation, accept: (code: number) => boolean): number {
  let count = 0;
  for (const code of sim.snapshot.codes) if (accept(code)) count++;
  return count;
}

function expectSnapshotMatchesMachine(sim: Simulation): void {
  expect(snapshotMismatches(sim)).toEqual([]);
  const frames = sim.machine.frames;
  expect(countCodes(sim, (c) => c === FrameCode.FREE)).toBe(frames.freeFrames);
  expect(countCodes(sim, (c) => c >= FrameCode.USER_SHARED)).toBe(
    frames.framesByUse(FrameUse.USER),
  );
  let ownedTables = 0;
  for (let pfn = 0; pfn < sim.snapshot.frames; pfn++) {
    if (sim.snapshot.codes[pfn] === FrameCode.PAGE_TABLE && sim.snapshot.owners[pfn]! > 0)
      ownedTables++;
  }
  const tablePages = sim.processes.reduce((sum, p) => sum + p.space.tables.tablePages, 0);
  expect(ownedTables).toBe(tablePages);
}

describe('simulation', () => {
  for (const workload of WEB_WORKLOADS) {
    it(`${workload.name}: snapshots agree with the allocator while it runs; memory comes back`, () => {
      const sim = new Simulation({ memory: '64M', workload: workload.name, seed: 7 });
      let checks = 0;
      while (!sim.finished) {
        sim.step(151);
        if (checks++ % 8 === 0) expectSnapshotMatchesMachine(sim);
      }
      expect(sim.handles.map((h) => [h.exitCode, h.signal, h.error])).toEqual(
        sim.handles.map(() => [0, null, null]),
      );
      expect(sim.machine.oopses).toEqual([]);
      sim.machine.check();
      sim.machine.dropCaches();
      expect(sim.machine.frames.freeFrames).toBe(sim.machine.bootFreeFrames);
    });
  }

  it('marks copy-on-write frames shared and the head of every buddy block with its order', () => {
    const sim = new Simulation({ memory: '64M', workload: 'fork-cow', seed: 1 });
    sim.step(8);
    let shared = 0;
    for (let pfn = 0; pfn < sim.snapshot.frames; pfn++) {
      if (sim.snapshot.owners[pfn] === SHARED_OWNER) {
        shared++;
        expect(sim.snapshot.codes[pfn]).toBe(FrameCode.USER_SHARED);
      }
    }
    expect(shared).toBeGreaterThan(0);
    // Every block, free or allocated, has its order at its head; free ones are painted free.
    const large = sim.machine.frames.allocPages(2, FrameUse.KERNEL); // an allocated 4-frame block
    sim.snapshot.capture(sim.machine);
    let heads = 0;
    sim.machine.frames.forEachBlock((pa, order, use) => {
      const pfn = pa / PAGE_SIZE;
      expect(sim.snapshot.blockOrder[pfn]).toBe(order);
      expect(sim.snapshot.blockOf(pfn + (1 << order) - 1, MAX_ORDER)).toEqual([pfn, order]);
      expect(sim.snapshot.codes[pfn] === FrameCode.FREE).toBe(use === FrameUse.FREE);
      heads++;
    });
    expect(sim.snapshot.blockOrder.filter((o) => o !== NOT_A_HEAD).length).toBe(heads);
    expect(sim.snapshot.blockOf(large / PAGE_SIZE + 3, MAX_ORDER)).toEqual([large / PAGE_SIZE, 2]);
    sim.machine.frames.freePages(large, 2);
  });

  it('step stops after the given number of scheduler steps', () => {
    const sim = new Simulation({ memory: '64M', workload: 'heap-churn', seed: 3 });
    expect(sim.step(5)).toBe(5);
    expect(sim.steps).toBe(5);
  });
});

describe('simulation time budget', () => {
  it('runs at least one step even with no time left, and all of them with time to spare', () => {
    const sim = new Simulation({ memory: '64M', workload: 'mmap-pages', seed: 5 });
    expect(sim.step(50, 0)).toBe(1);
    expect(sim.step(3, Number.POSITIVE_INFINITY)).toBe(3);
    expect(sim.steps).toBe(4);
  });
});

describe('heap records', () => {
  it("agree with the allocator's mallinfo: heap blocks fit in its in-use bytes, mmapped ones match", () => {
    const sim = new Simulation({ memory: '64M', workload: 'heap-churn', seed: 11 });
    for (let round = 0; round < 6; round++) {
      sim.step(60);
      for (const process of sim.processes) {
        const record = sim.heaps.get(process.pid)!;
        const { brkStart, brk } = process.space;
        const inHeap = [...record.blocks].filter(([p]) => p >= brkStart && p < brk);
        const mapped = [...record.blocks].filter(([p]) => p < brkStart || p >= brk);
        const info = record.info!;
        expect(info.hblks).toBe(mapped.length);
        expect(info.uordblks).toBeGreaterThanOrEqual(
          inHeap.reduce((sum, [, size]) => sum + size, 0),
        );
        expect(info.arena).toBe(brk - brkStart);
      }
    }
  });
});

describe('snapshot property', () => {
  it('agrees with the allocator for any machine size, workload, seed and point in the run', () => {
    fc.assert(
      fc.property(
        fc.constantFrom('24M', '40M', '64M'),
        fc.constantFrom(...WEB_WORKLOADS.map((w) => w.name)),
        fc.nat(1000),
        fc.integer({ min: 1, max: 120 }),
        (memory, workload, seed, steps) => {
          const sim = new Simulation({ memory, workload, seed });
          sim.step(steps);
          expectSnapshotMatchesMachine(sim);
          expect(sim.machine.oopses).toEqual([]);
        },
      ),
      { numRuns: 8 },
    );
  });
});

describe('swap pressure', () => {
  it('swaps out and back in, every user frame on the reclaim list the policy says, all memory back', () => {
    const sim = new Simulation({ memory: '16M', workload: 'swap-pressure', seed: 3 });
    const reclaim = sim.machine.vm.reclaim!;
    const states = new Set<number>();
    while (!sim.finished) {
      sim.step(25);
      for (let pfn = 0; pfn < sim.snapshot.frames; pfn++) {
        const state = sim.snapshot.lru[pfn]!;
        states.add(state);
        const pa = pfn * PAGE_SIZE;
        const expected =
          sim.snapshot.codes[pfn]! < FrameCode.USER_SHARED
            ? LruState.NONE
            : reclaim.cache.slotOf(pa) !== 0
              ? LruState.SWAP_CACHE
              : reclaim.isUnevictable(pa)
                ? LruState.UNEVICTABLE
                : !reclaim.policy.has(pfn)
                  ? LruState.NONE
                  : reclaim.policy.isActive(pfn)
                    ? LruState.ACTIVE
                    : LruState.INACTIVE;
        if (state !== expected) expect(`frame ${pfn}: ${state}`).toBe(`frame ${pfn}: ${expected}`);
      }
    }
    expect(sim.handles[0]!.exitCode).toBe(0);
    expect(reclaim.device.pswpout).toBeGreaterThan(0);
    expect(reclaim.device.pswpin).toBeGreaterThan(0);
    expect([...states]).toEqual(expect.arrayContaining([LruState.INACTIVE, LruState.UNEVICTABLE]));
    sim.machine.check();
  });
});
