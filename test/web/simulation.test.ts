import { describe, expect, it } from 'vitest';
import { PAGE_SIZE } from '../../src/hw/constants.js';
import { FrameUse } from '../../src/physical/constants.js';
import { FrameCode, USER_CODE_FIRST, userCode } from '../../src/web/model/frame-colours.js';
import { NOT_FREE_HEAD, SHARED_OWNER } from '../../src/web/model/frame-snapshot.js';
import { Simulation } from '../../src/web/model/simulation.js';
import { WEB_WORKLOADS } from '../../src/web/model/workloads.js';

/** Checks every frame's code against the allocator, owner by owner. */
function expectSnapshotMatchesMachine(sim: Simulation): void {
  const { machine, snapshot } = sim;
  const counts = new Map<number, number>();
  for (let pfn = 0; pfn < snapshot.frames; pfn++) {
    const code = snapshot.codes[pfn]!;
    counts.set(code, (counts.get(code) ?? 0) + 1);
    if (code === FrameCode.HOLE) continue;
    const use = machine.frames.frameUse(pfn * PAGE_SIZE);
    if (code >= USER_CODE_FIRST) {
      expect(use).toBe(FrameUse.USER);
      expect(userCode(snapshot.owners[pfn]!)).toBe(code);
    }
    if (code === FrameCode.FREE) expect(use).toBe(FrameUse.FREE);
    if (code === FrameCode.SLAB) expect(use).toBe(FrameUse.SLAB);
    if (code === FrameCode.PAGE_TABLE) expect(use).toBe(FrameUse.PAGE_TABLE);
  }
  expect(counts.get(FrameCode.FREE) ?? 0).toBe(machine.frames.freeFrames);
  let user = 0;
  for (const [code, count] of counts) if (code >= FrameCode.USER_SHARED) user += count;
  expect(user).toBe(machine.frames.framesByUse(FrameUse.USER));
}

describe('simulation', () => {
  for (const workload of WEB_WORKLOADS) {
    it(`${workload.name}: snapshots agree with the allocator while it runs; memory comes back`, () => {
      const sim = new Simulation({ memory: '64M', workload: workload.name, seed: 7 });
      let checks = 0;
      while (!sim.finished) {
        sim.step(97);
        if (checks++ % 4 === 0) expectSnapshotMatchesMachine(sim);
      }
      expect(sim.machine.oopses).toEqual([]);
      sim.machine.check();
      sim.machine.dropCaches();
      expect(sim.machine.frames.freeFrames).toBe(sim.machine.bootFreeFrames);
    });
  }

  it('marks copy-on-write frames shared and free block heads with their order', () => {
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
    const heads: number[] = [];
    sim.machine.frames.forEachFreeBlock((pa, order) => {
      expect(sim.snapshot.freeOrder[pa / PAGE_SIZE]).toBe(order);
      heads.push(pa / PAGE_SIZE);
    });
    const headCount = sim.snapshot.freeOrder.filter((o) => o !== NOT_FREE_HEAD).length;
    expect(headCount).toBe(heads.length);
  });

  it('step stops after the given number of scheduler steps', () => {
    const sim = new Simulation({ memory: '64M', workload: 'heap-churn', seed: 3 });
    expect(sim.step(5)).toBe(5);
    expect(sim.steps).toBe(5);
  });
});
