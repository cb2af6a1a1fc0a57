/**
 * The stress harness must be able to fail: bugs planted in the middle of a run are caught and
 * reported with the operations that led to them.
 */
import { describe, expect, it } from 'vitest';
import { USER_TOP } from '../../src/hw/address.js';
import { entryAddress } from '../../src/hw/paging.js';
import { Machine } from '../../src/kernel/machine.js';
import { FrameUse } from '../../src/physical/index.js';
import { runStress, SeededChoices } from '../../src/reliability/stress.js';

const OPS = 6000;
const LOG_LENGTH = 10;

describe('the stress harness', () => {
  it('a clean run reports no failure and every operation', () => {
    const report = runStress(Machine.boot({ memory: '16M' }), new SeededChoices(9), {
      ops: OPS,
    });
    expect(report.failures).toEqual([]);
    expect(report.ops).toBe(OPS);
    expect(Object.values(report.byOp).reduce((a, b) => a + b, 0)).toBe(OPS);
  });

  it('catches a frame leaked mid-run, with the last operations', () => {
    const machine = Machine.boot({ memory: '16M' });
    let planted = false;
    const report = runStress(machine, new SeededChoices(9), {
      ops: OPS,
      logLength: LOG_LENGTH,
      progress: () => {
        if (planted) return;
        planted = true;
        machine.frames.allocPages(0, FrameUse.KERNEL);
      },
    });
    expect(report.failures).toEqual([`after ${OPS} ops: 1 frames leaked`]);
    expect(report.log.length).toBe(LOG_LENGTH);
  });

  it('catches a corrupted reference count at the next check, and stops', () => {
    const machine = Machine.boot({ memory: '16M' });
    let planted = false;
    const report = runStress(machine, new SeededChoices(9), {
      ops: OPS,
      progress: () => {
        const frame = planted ? undefined : privateFrame(machine);
        if (frame === undefined) return;
        machine.frames.getPage(frame);
        planted = true;
      },
    });
    expect(planted).toBe(true);
    // The frame's owner may have ended before the check: its unmapping then left the frame at
    // refcount 1 and mapped nowhere, a USER frame too many, which the check catches first.
    expect(report.failures[0]).toMatch(
      /refcount 2, mapped 1 times|(\d+) USER frames, (?!\1)\d+ mapped/,
    );
    expect(report.ops).toBeLessThan(OPS);
  });
});

/** A user frame mapped by exactly one leaf of a live process, if any. */
function privateFrame(machine: Machine): number | undefined {
  let found: number | undefined;
  for (const process of machine.processList.filter((p) => !p.ended)) {
    const tables = process.space.tables;
    tables.forEachLeaf(0, USER_TOP, (at) => {
      const frame = entryAddress(tables.low(at), tables.high(at));
      if (found === undefined && machine.frames.refCount(frame) === 1) found = frame;
    });
  }
  return found;
}
