/** The stress runner the stress tests share: runs, and on failure reports seed and op list. */
import { expect } from 'vitest';
import { Machine } from '../../src/kernel/machine.js';
import {
  type ChoiceSource,
  runStress,
  type StressOptions,
  type StressReport,
} from '../../src/reliability/stress.js';

/** Operations of the last run before a failure that the report prints. */
const LOG_LENGTH = 40;
/** Time one stress test may take on a loaded two-core machine. */
export const STRESS_TIMEOUT_MS = 120_000;

/** Runs a workload; on failure, replays it with the log on and fails with seed and op list. */
export function stress(
  memory: string,
  name: string,
  choices: () => ChoiceSource,
  options: StressOptions,
  debug = false,
): StressReport {
  const report = runStress(Machine.boot({ memory, debug }), choices(), options);
  if (report.failures.length > 0) {
    const replay = runStress(Machine.boot({ memory, debug }), choices(), {
      ...options,
      logLength: LOG_LENGTH,
    });
    const detail = [...replay.failures, 'last operations:', ...replay.log].join('\n  ');
    expect.fail(`stress ${name} on ${memory} failed:\n  ${detail}`);
  }
  expect(report.ops).toBe(options.ops);
  return report;
}
