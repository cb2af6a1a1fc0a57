import { describe, expect, it } from 'vitest';
import { buddyBenchAllocator, buddyWorkloadTarget } from '../../src/bench/buddy.js';
import { runWorkload, WORKLOADS } from '../../src/bench/workloads.js';
import { freeLayout } from './machines.js';

describe('buddy workload target', () => {
  for (const workload of WORKLOADS.filter((w) => w.layer === 'buddy')) {
    it(`runs a shortened ${workload.name} and leaves the allocator as it found it`, () => {
      const allocator = buddyBenchAllocator();
      const boot = freeLayout(allocator);
      runWorkload({ ...workload, ops: 20_000, slots: 500 }, buddyWorkloadTarget(allocator));
      allocator.check();
      expect(allocator.counters.pgfree).toBeGreaterThan(0);
      expect(allocator.freeFrames).toBe(allocator.managedFrames);
      expect(freeLayout(allocator)).toEqual(boot);
    });
  }
});
