/**
 * Whole-machine stress: seeded random workloads of many processes (fork, exit, wait, malloc,
 * free, realloc, calloc, mmap, munmap, mprotect, sbrk, loads and stores), `machine.check()`
 * every 2000 operations, and the boot baseline exactly at the end. A failure names its seed
 * and the operations that led to it; the fast-check run shrinks its choice list to a minimal
 * reproduction.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Machine } from '../../src/kernel/machine.js';
import {
  type ChoiceSource,
  ListChoices,
  runStress,
  SeededChoices,
  type StressOptions,
  type StressReport,
} from '../../src/reliability/stress.js';

/** Operations of the last run before a failure that the report prints. */
const LOG_LENGTH = 40;
const STRESS_TIMEOUT_MS = 120_000;

/** Runs a workload; on failure, replays it with the log on and fails with seed and op list. */
function stress(
  memory: string,
  name: string,
  choices: () => ChoiceSource,
  options: StressOptions,
): StressReport {
  const report = runStress(Machine.boot({ memory }), choices(), options);
  if (report.failures.length > 0) {
    const replay = runStress(Machine.boot({ memory }), choices(), {
      ...options,
      logLength: LOG_LENGTH,
    });
    const detail = [...replay.failures, 'last operations:', ...replay.log].join('\n  ');
    expect.fail(`stress ${name} on ${memory} failed:\n  ${detail}`);
  }
  expect(report.ops).toBe(options.ops);
  return report;
}

describe('stress', () => {
  it.each([
    { seed: 1, ops: 200_000 },
    { seed: 2, ops: 200_000 },
    { seed: 3, ops: 200_000 },
  ])(
    'seed $seed: $ops operations over 12 processes on 32 MiB',
    ({ seed, ops }) => {
      const report = stress('32M', `seed ${seed}`, () => new SeededChoices(seed), { ops });
      expect(report.byOp.fork).toBeGreaterThan(0);
      expect(report.byOp.sbrk).toBeGreaterThan(0);
      expect(report.checks).toBeGreaterThanOrEqual(ops / 2000);
    },
    STRESS_TIMEOUT_MS,
  );

  it.each([
    { seed: 4, ops: 100_000 },
    { seed: 5, ops: 100_000 },
  ])(
    'seed $seed: $ops operations under memory pressure (6 MiB, 1 MiB mappings)',
    ({ seed, ops }) => {
      const report = stress('6M', `seed ${seed}`, () => new SeededChoices(seed), {
        ops,
        processes: 8,
        maxMappingPages: 256,
      });
      // the run must have reached the out-of-memory paths it is meant to test
      expect(report.enomem).toBeGreaterThan(0);
      expect(report.oomKills).toBeGreaterThan(0);
    },
    STRESS_TIMEOUT_MS,
  );

  it(
    'fast-check choice lists (shrinking to a minimal reproduction)',
    () => {
      fc.assert(
        fc.property(fc.array(fc.nat(), { minLength: 1, maxLength: 2000 }), (values) => {
          stress('8M', `choices ${JSON.stringify(values)}`, () => new ListChoices(values), {
            ops: 2000,
            checkEvery: 250,
            processes: 3,
            maxProcesses: 6,
            maxMappingPages: 64,
          });
        }),
        { numRuns: 40 },
      );
    },
    STRESS_TIMEOUT_MS,
  );
});
