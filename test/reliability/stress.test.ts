/**
 * Whole-machine stress: seeded random workloads of many processes (fork, exit, wait, malloc,
 * free, realloc, calloc, mmap, munmap, mprotect, sbrk, loads and stores), `machine.check()`
 * every 2000 operations, and the boot baseline exactly at the end. A failure names its seed
 * and the operations that led to it. Memory pressure, debug mode and fast-check shrinking are
 * in stress-pressure.test.ts (a second file, so the two run on both cores).
 */
import { describe, expect, it } from 'vitest';
import { SeededChoices } from '../../src/reliability/stress.js';
import { STRESS_TIMEOUT_MS, stress } from './stress-runner.js';

/** Operations per seeded run. */
const OPS = 200_000;
const CHECK_EVERY = 2000;

describe('stress', () => {
  it.each([1, 2, 3])(
    `seed %i: ${OPS} operations, up to 12 processes, on 32 MiB`,
    (seed) => {
      const report = stress('32M', `seed ${seed}`, () => new SeededChoices(seed), { ops: OPS });
      console.log(`stress seed ${seed}:`, JSON.stringify(report));
      expect(report.byOp.fork).toBeGreaterThan(0);
      expect(report.byOp.sbrk).toBeGreaterThan(0);
      expect(report.checks).toBeGreaterThanOrEqual(OPS / CHECK_EVERY);
    },
    STRESS_TIMEOUT_MS,
  );
});
