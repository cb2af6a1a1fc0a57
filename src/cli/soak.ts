/**
 * `wallos-mem soak --ops N --seed S`: the reliability suite's whole-machine stress workload
 * (src/reliability/stress.ts) for as long as you like. It prints progress at each
 * `machine.check()`, and on failure the seed, what went wrong, the last operations before it
 * and the command that reproduces it.
 */
import { parseSize } from '../hw/size.js';
import { Machine } from '../kernel/machine.js';
import { runStress, SeededChoices, type StressReport } from '../reliability/stress.js';

/** What a soak run does. */
export interface SoakOptions {
  ops: number;
  seed: number;
  /** RAM of the machine (default 32 MiB; small sizes exercise the out-of-memory paths). */
  memory?: string | number;
  /** Processes kept alive (default 4). */
  processes?: number;
  /** Largest mmap in pages (default 32). */
  maxMappingPages?: number;
  /** Print progress after every this many operations (default 100 000). */
  progressEvery?: number;
}

const DEFAULT_MEMORY = '32M';
const DEFAULT_PROGRESS_EVERY = 100_000;
/** Operations before a failure the report prints. */
const FAILURE_LOG_LENGTH = 60;

/** Runs a soak and writes its report line by line; true when the machine held up. */
export function runSoak(options: SoakOptions, write: (line: string) => void): boolean {
  const memory = options.memory ?? DEFAULT_MEMORY;
  const progressEvery = options.progressEvery ?? DEFAULT_PROGRESS_EVERY;
  const started = Date.now();
  let reported = 0;
  const report = soakOnce(options, memory, 0, (ops) => {
    if (ops - reported < progressEvery) return;
    reported = ops;
    const seconds = (Date.now() - started) / 1000;
    write(`soak: ${ops} ops, ${Math.round(ops / seconds)} ops/s`);
  });
  write(summary(report, options.seed, (Date.now() - started) / 1000));
  if (report.failures.length === 0) return true;
  const replay = soakOnce(options, memory, FAILURE_LOG_LENGTH);
  for (const failure of replay.failures) write(`FAILED ${failure}`);
  write(`last ${replay.log.length} operations ([pid] op = result):`);
  for (const line of replay.log) write(`  ${line}`);
  write(
    `reproduce: npm run soak -- --ops ${options.ops} --seed ${options.seed} --memory ${memory}`,
  );
  return false;
}

function soakOnce(
  options: SoakOptions,
  memory: string | number,
  logLength: number,
  progress?: (ops: number) => void,
): StressReport {
  const machine = Machine.boot({ memory: parseSize(memory), seed: options.seed });
  return runStress(machine, new SeededChoices(options.seed), {
    ops: options.ops,
    processes: options.processes,
    maxMappingPages: options.maxMappingPages,
    logLength,
    progress,
  });
}

function summary(report: StressReport, seed: number, seconds: number): string {
  const ops = Object.entries(report.byOp)
    .map(([name, count]) => `${name} ${count}`)
    .join(', ');
  return (
    `soak seed ${seed}: ${report.ops} ops in ${seconds.toFixed(1)} s (${ops}); ` +
    `${report.checks} checks, ${report.enomem} ENOMEM, ${report.oomKills} OOM kills, ` +
    `${report.spawnFailures} failed spawns: ${report.failures.length === 0 ? 'OK' : 'FAILED'}`
  );
}
