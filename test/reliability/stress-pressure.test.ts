/**
 * Stress under memory pressure (ENOMEM and the OOM killer on every path), in debug mode (slab
 * red zones and poison, poisoned free frames), with injected allocation failures, and from
 * fast-check choice lists, which shrink a failure to a minimal reproduction.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ListChoices, SeededChoices } from '../../src/reliability/stress.js';
import { STRESS_TIMEOUT_MS, stress } from './stress-runner.js';

const PRESSURE_OPS = 100_000;
const DEBUG_OPS = 60_000;
const INJECTED_OPS = 60_000;
/** Fail every this many page / slab allocations (primes, so the two drift against each other). */
const FAIL_PAGES_EVERY = 97;
const FAIL_SLAB_EVERY = 13;
const PROPERTY_OPS = 2000;
const PROPERTY_RUNS = 50;

describe('stress under pressure', () => {
  it.each([4, 5])(
    `seed %i: ${PRESSURE_OPS} operations on 6 MiB with 1 MiB mappings`,
    (seed) => {
      const report = stress('6M', `seed ${seed}`, () => new SeededChoices(seed), {
        ops: PRESSURE_OPS,
        processes: 8,
        maxMappingPages: 256,
      });
      console.log(`stress pressure seed ${seed}:`, JSON.stringify(report));
      // The run must have reached the out-of-memory paths it is meant to test. Without injected
      // failures they end in the OOM killer, not in ENOMEM: as on Linux, a kernel allocation
      // either gets another process killed or has its own process chosen, which dies on its
      // way back to user mode without seeing the error (the injected runs below see ENOMEM).
      expect(report.oomKills).toBeGreaterThan(0);
    },
    STRESS_TIMEOUT_MS,
  );

  it(
    `debug mode, seed 6: ${DEBUG_OPS} operations with red zones, poison and frame poisoning`,
    () => {
      const report = stress(
        '12M',
        'debug seed 6',
        () => new SeededChoices(6),
        { ops: DEBUG_OPS, maxMappingPages: 128 },
        true,
      );
      console.log('stress debug seed 6:', JSON.stringify(report));
    },
    STRESS_TIMEOUT_MS,
  );

  it(
    `injected failures, seed 7: ${INJECTED_OPS} operations, every ${FAIL_PAGES_EVERY}th page and ${FAIL_SLAB_EVERY}th slab allocation failing`,
    () => {
      const report = stress('32M', 'injected seed 7', () => new SeededChoices(7), {
        ops: INJECTED_OPS,
        failPagesEvery: FAIL_PAGES_EVERY,
        failSlabEvery: FAIL_SLAB_EVERY,
      });
      console.log('stress injected seed 7:', JSON.stringify(report));
      expect(report.enomem).toBeGreaterThan(0);
      expect(report.oomKills).toBeGreaterThan(0);
      expect(report.spawnFailures).toBeGreaterThan(0);
    },
    STRESS_TIMEOUT_MS,
  );

  it(
    `fast-check choice lists: ${PROPERTY_RUNS} runs of ${PROPERTY_OPS} operations`,
    () => {
      fc.assert(
        fc.property(fc.array(fc.nat(), { minLength: 1, maxLength: PROPERTY_OPS }), (values) => {
          stress('8M', `choices ${JSON.stringify(values)}`, () => new ListChoices(values), {
            ops: PROPERTY_OPS,
            checkEvery: 250,
            processes: 3,
            maxProcesses: 6,
            maxMappingPages: 64,
          });
        }),
        { numRuns: PROPERTY_RUNS },
      );
    },
    STRESS_TIMEOUT_MS,
  );
});
