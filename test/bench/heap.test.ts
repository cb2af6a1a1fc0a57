import { describe, expect, it } from 'vitest';
import { measureHeapInProcess } from '../../src/bench/heap.js';
import { WORKLOADS } from '../../src/bench/workloads.js';

/** A clock that advances one millisecond per reading, so every run takes exactly 1 ms. */
function tickingClock(): () => number {
  let ms = 0;
  return () => ms++;
}

describe('heap workloads inside a process', () => {
  for (const standard of WORKLOADS.filter((w) => w.layer === 'heap')) {
    it(`runs a shortened ${standard.name} through the process's malloc`, () => {
      const ops = 2000;
      const row = measureHeapInProcess({ ...standard, ops }, tickingClock(), 3);
      expect(row).toEqual({
        workload: standard.name,
        implementation: 'wallos-memory/process',
        nsPerOp: 1e6 / ops,
        opsPerSec: ops * 1000,
      });
    });
  }
});
