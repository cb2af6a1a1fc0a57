import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PAGE_SIZE } from '../../src/hw/constants.js';
import { Machine } from '../../src/kernel/machine.js';
import type { UserContext } from '../../src/kernel/user-context.js';
import {
  MAP_ANONYMOUS,
  MAP_PRIVATE,
  PROT_NONE,
  PROT_READ,
  PROT_WRITE,
} from '../../src/linux-abi.js';
import { FrameCode } from '../../src/web/model/frame-colours.js';
import { FrameFold } from '../../src/web/model/frame-fold.js';
import {
  applyDiff,
  copyOf,
  decodeRuns,
  diffOf,
  encodeRuns,
  mergeDiffs,
} from '../../src/web/model/frame-history.js';
import { FrameSnapshot } from '../../src/web/model/frame-snapshot.js';
import { captureMoment } from '../../src/web/model/moment.js';
import { ProcessWalker } from '../../src/web/model/page-walk.js';
import { Simulation } from '../../src/web/model/simulation.js';
import { Timeline } from '../../src/web/model/timeline.js';
import { walkNotes } from '../../src/web/model/walk-notes.js';

/** A snapshot of `frames` frames with random small codes, owners and orders. */
const snapshots = (frames: number) =>
  fc
    .tuple(
      fc.array(fc.integer({ min: 0, max: 3 }), { minLength: frames, maxLength: frames }),
      fc.array(fc.integer({ min: -1, max: 2 }), { minLength: frames, maxLength: frames }),
      fc.array(fc.integer({ min: -1, max: 1 }), { minLength: frames, maxLength: frames }),
      fc.array(fc.integer({ min: 0, max: 4 }), { minLength: frames, maxLength: frames }),
    )
    .map(([codes, owners, orders, lru]) => {
      const snapshot = new FrameSnapshot(frames);
      snapshot.codes.set(codes);
      snapshot.owners.set(owners);
      snapshot.blockOrder.set(orders);
      snapshot.lru.set(lru);
      return snapshot;
    });

function same(a: FrameSnapshot, b: FrameSnapshot): boolean {
  return a.arrays.every((array, i) => array.every((v, pfn) => v === b.arrays[i]![pfn]));
}

describe('frame history', () => {
  it('runs decode to the array they encode', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: -3, max: 3 })), (values) => {
        const array = Int32Array.from(values);
        const back = new Int32Array(array.length);
        decodeRuns(encodeRuns(array), back);
        expect([...back]).toEqual([...array]);
      }),
    );
  });

  it('a diff takes one snapshot to the next; merged diffs do both in one', () => {
    fc.assert(
      fc.property(snapshots(40), snapshots(40), snapshots(40), (a, b, c) => {
        const rebuilt = copyOf(a);
        applyDiff(mergeDiffs(diffOf(a, b), diffOf(b, c)), rebuilt);
        expect(same(rebuilt, c)).toBe(true);
      }),
    );
  });
});

describe('timeline', () => {
  it('rebuilds the frames of every moment it keeps, bounded, first and last kept', () => {
    fc.assert(
      fc.property(
        fc.array(snapshots(24), { minLength: 1, maxLength: 150 }),
        fc.integer({ min: 2, max: 20 }),
        (pictures, capacity) => {
          const timeline = new Timeline(capacity);
          const sim = new Simulation({ memory: '16M', workload: 'fork-cow', seed: 1 });
          pictures.forEach((picture, step) => {
            timeline.record({ ...captureMoment(sim, null), step }, picture);
          });
          expect(timeline.length).toBeLessThanOrEqual(capacity);
          expect(timeline.moment(0).step).toBe(0);
          expect(timeline.moment(timeline.length - 1).step).toBe(pictures.length - 1);
          for (let i = 0; i < timeline.length; i++) {
            const step = timeline.moment(i).step;
            if (i > 0) expect(step).toBeGreaterThan(timeline.moment(i - 1).step);
            const frames = new FrameSnapshot(24);
            timeline.framesAt(i, frames);
            expect(same(frames, pictures[step]!)).toBe(true);
            expect(timeline.indexOfStep(step)).toBe(i);
          }
        },
      ),
      { numRuns: 60 },
    );
  });

  it('a moment of a real run rebuilds to what a replayed machine shows at its step', () => {
    const options = { memory: '32M', workload: 'mixed', seed: 7 };
    const sim = new Simulation(options);
    const timeline = new Timeline(64);
    timeline.record(captureMoment(sim, null), sim.snapshot);
    while (!sim.finished && sim.steps < 300) {
      sim.step(1);
      timeline.record(captureMoment(sim, null), sim.snapshot);
    }
    for (const index of [0, 5, Math.floor(timeline.length / 2), timeline.length - 1]) {
      const moment = timeline.moment(index);
      const replica = Simulation.replayed(options, moment.step);
      const frames = new FrameSnapshot(sim.snapshot.frames);
      timeline.framesAt(index, frames);
      expect(same(frames, replica.snapshot)).toBe(true);
      expect(moment.freeFrames).toBe(replica.machine.frames.freeFrames);
      expect(moment.processes.map((p) => p.pid)).toEqual(replica.processes.map((p) => p.pid));
    }
  });
});

describe('folded frame map', () => {
  it('keeps every used frame, folds each long free run into one cell, maps frames to cells', () => {
    const codes = fc.array(
      fc.oneof(
        fc.constant(FrameCode.FREE),
        fc.constant(FrameCode.KERNEL),
        fc.constant(FrameCode.HOLE),
      ),
      { maxLength: 400 },
    );
    fc.assert(
      fc.property(codes, fc.integer({ min: 2, max: 20 }), (list, minRun) => {
        const array = Uint8Array.from(list.flatMap((code, i) => Array(1 + (i % 9)).fill(code)));
        const fold = FrameFold.of(array, minRun);
        let frame = 0;
        for (let cell = 0; cell < fold.cells; cell++) {
          expect(fold.firstFrame[cell]).toBe(frame);
          const count = fold.frameCount[cell]!;
          if (fold.codes[cell] === FrameCode.FOLDED) {
            expect(count).toBeGreaterThanOrEqual(minRun);
            expect([FrameCode.FREE, FrameCode.HOLE]).toContain(array[frame]);
          } else {
            expect(count).toBe(1);
            expect(fold.codes[cell]).toBe(array[frame]);
          }
          for (let f = frame; f < frame + count; f++) expect(fold.cellOf(f)).toBe(cell);
          frame += count;
        }
        expect(frame).toBe(array.length);
      }),
    );
  });
});

describe('walk notes', () => {
  it('name copy-on-write, PROT_NONE, not-yet-faulted and locked pages', () => {
    const machine = Machine.boot({ memory: '32M' });
    const seen: Record<string, string[]> = {};
    const walker = new ProcessWalker(machine);
    const notesAt = (ctx: UserContext, va: number) =>
      walkNotes(machine, machine.process(ctx.pid)!, walker.walk(machine.process(ctx.pid)!, va));
    machine.spawn(
      function* parent(ctx: UserContext) {
        const rw = PROT_READ | PROT_WRITE;
        const area = ctx.mmap(0, 4 * PAGE_SIZE, rw, MAP_PRIVATE | MAP_ANONYMOUS);
        ctx.store8(area, 1);
        ctx.store8(area + PAGE_SIZE, 1);
        ctx.mprotect(area + PAGE_SIZE, PAGE_SIZE, PROT_NONE);
        const child = ctx.fork(function* (c: UserContext) {
          yield;
          return c.load8(area);
        });
        seen.cow = notesAt(ctx, area);
        seen.protNone = notesAt(ctx, area + PAGE_SIZE);
        seen.untouched = notesAt(ctx, area + 2 * PAGE_SIZE);
        seen.nowhere = notesAt(ctx, 0x1000);
        ctx.mlock(area + 3 * PAGE_SIZE, PAGE_SIZE);
        seen.locked = notesAt(ctx, area + 3 * PAGE_SIZE);
        yield;
        ctx.wait(child);
      },
      { name: 'notes' },
    );
    machine.run();
    expect(seen.cow).toEqual([
      'copy-on-write: the frame is shared (2 references); the first write copies it',
    ]);
    expect(seen.protNone).toEqual(['PROT_NONE: the frame is kept, but any access faults']);
    expect(seen.untouched![0]).toMatch(/^not faulted in yet/);
    expect(seen.nowhere).toEqual(['no VMA covers this address: an access is a SIGSEGV']);
    expect(seen.locked).toContain('locked (mlock): reclaim never takes this page');
  });
});
