#!/usr/bin/env node
/**
 * The `wallos-mem` command line: run, replay, proc, shell, bench, soak, pages and serve
 * (commander).
 *
 * Exit codes: 0 success, 1 the command failed ({@link EXIT_FAILURE}), 2 the command line was
 * wrong ({@link EXIT_USAGE}). Every error is one line on stderr, never a stack trace.
 */
import { readFileSync } from 'node:fs';
import { Command, CommanderError, Option } from 'commander';
import { MiB } from '../hw/constants.js';
import { RECLAIM_POLICY_NAMES, type ReclaimPolicyName } from '../replacement/policy.js';
import { SYNTHETIC_SHAPES } from '../trace/synthetic.js';
import {
  bootMachine,
  cpusArgument,
  integerArgument,
  portArgument,
  positiveIntegerArgument,
  reclaimPoliciesArgument,
  sizeArgument,
} from './arguments.js';
import { type BenchOptions, benchRows, formatBench } from './bench.js';
import { WORKLOAD_NAMES } from './demo.js';
import { EXIT_FAILURE, EXIT_OK, EXIT_USAGE, UsageError } from './errors.js';
import { definePages } from './pages.js';
import { DEFAULT_BUDGET_MS, type PassCounts, TIMED_RUNS } from './pass-schedule.js';
import { formatPolicyComparison, type PolicyRun } from './pressure.js';
import { formatReplay, replayFlat, replayInProcess, replayJson } from './replay.js';
import { formatRunReport, type RunOptions, runSucceeded, runWorkload } from './run.js';
import { serve } from './serve.js';
import { runShell } from './shell.js';
import { runSoak } from './soak.js';
import { Painter } from './terminal.js';
import { readTraceFile, SYNTHETIC_PREFIX } from './trace-file.js';

const DEFAULT_MEMORY = 256 * MiB;
const DEFAULT_REPLAY_MEMORY = 1024 * MiB;
const DEFAULT_PORT = 8080;

function packageVersion(): string {
  const path = new URL('../../package.json', import.meta.url);
  return (JSON.parse(readFileSync(path, 'utf8')) as { version: string }).version;
}

function memoryOption(defaultBytes: number, shown: string): Option {
  return new Option('--memory <size>', 'RAM of the machine (K, M, G suffixes)')
    .argParser(sizeArgument)
    .default(defaultBytes, shown);
}

function cpusOption(): Option {
  return new Option('--cpus <n>', 'CPUs of the machine (1..64)').argParser(cpusArgument).default(1);
}

function seedOption(): Option {
  return new Option(
    '--seed <n>',
    "seed of the workload and the machine (ASLR, the order of the CPUs' turns)",
  )
    .argParser(integerArgument)
    .default(0);
}

function workloadOption(): Option {
  return new Option(
    '--workload <name|file>',
    `${WORKLOAD_NAMES.join(', ')}, or a .trace[.gz] file to replay in a process`,
  ).default('demo');
}

/** The flags of `run` as commander parses them. */
interface RunFlags extends Omit<RunOptions, 'procCommands' | 'reclaim'> {
  then: string[];
  json?: boolean;
  reclaim?: ReclaimPolicyName[];
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

/** `run`: boot, run a workload, report (text or JSON); exit 1 when memory did not come back. */
function defineRun(program: Command): void {
  program
    .command('run')
    .description('boot a machine, run a workload (the demo by default) and report on memory')
    .addOption(memoryOption(DEFAULT_MEMORY, '256M'))
    .addOption(cpusOption())
    .addOption(seedOption())
    .addOption(workloadOption())
    .addOption(
      new Option(
        '--swap <size>',
        'a swap device of this size (pressure: as much as RAM)',
      ).argParser(sizeArgument),
    )
    .addOption(
      new Option(
        '--reclaim <policy>',
        `reclaim policy: ${RECLAIM_POLICY_NAMES.join(', ')}; several (comma-separated) are compared`,
      ).argParser(reclaimPoliciesArgument),
    )
    .option('--then <command>', "after the run, e.g. 'proc buddyinfo' (repeatable)", collect, [])
    .option('--json', 'print the report as JSON')
    .action((options: RunFlags) => {
      const { reclaim: policies = [], then, json, ...run } = options;
      if (policies.length > 1) {
        comparePolicies(run, policies, json === true);
        return;
      }
      const policy = policies.length === 1 ? { reclaim: policies[0]! } : {};
      const report = runWorkload({ ...run, procCommands: then, ...policy });
      if (json) printJson(report);
      else process.stdout.write(formatRunReport(report, new Painter()));
      if (!runSucceeded(report)) process.exitCode = EXIT_FAILURE;
    });
}

/** `run --reclaim a,b,…`: the workload once per policy, reclaim's figures side by side. */
function comparePolicies(
  options: Omit<RunOptions, 'procCommands' | 'reclaim'>,
  policies: readonly ReclaimPolicyName[],
  json: boolean,
): void {
  const runs: PolicyRun[] = policies.map((policy) => {
    const report = runWorkload({ ...options, procCommands: [], reclaim: policy });
    if (report.pressure === null) {
      throw new UsageError('--reclaim compares policies under reclaim: add --swap SIZE');
    }
    return { policy, pressure: report.pressure, ok: runSucceeded(report) };
  });
  if (json) printJson(runs);
  else process.stdout.write(formatPolicyComparison(runs, new Painter()));
  if (!runs.every((run) => run.ok)) process.exitCode = EXIT_FAILURE;
}

/** `replay TRACE`: a verified replay in a process (or `--flat`), then timed passes. */
function defineReplay(program: Command): void {
  program
    .command('replay')
    .description('replay an allocation trace through the malloc of a simulated process, verified')
    .addHelpText(
      'after',
      `\nns/op times the bare calls (no memory touched), each pass in a fresh process (or on a fresh heap with\n--flat), in a Node process of their own: untimed warm-up passes until the compiled code is stable, then\nthe median of up to ${TIMED_RUNS} timed passes, all within ${DEFAULT_BUDGET_MS / 1000} s by default (--budget); --warmup and --passes\nset exact counts instead. Synthetic traces: ${SYNTHETIC_SHAPES.map((s) => `${SYNTHETIC_PREFIX}${s.name}`).join(', ')}.`,
    )
    .argument('<trace>', `a wallos-trace v1 file, plain or gzipped, or ${SYNTHETIC_PREFIX}NAME`)
    .addOption(memoryOption(DEFAULT_REPLAY_MEMORY, '1G'))
    .option('--json', 'print { ops, peakLiveBytes, peakFootprintBytes, nsPerOp, verified }')
    .option('--flat', 'run the allocator standalone over an ArrayBuffer (at most --memory)')
    .addOption(
      new Option('--warmup <n>', 'exactly n untimed warm-up passes').argParser(integerArgument),
    )
    .addOption(
      new Option('--passes <n>', 'exactly n timed passes (ns/op is their median)').argParser(
        positiveIntegerArgument,
      ),
    )
    .addOption(
      new Option('--budget <seconds>', 'time for warm-up and timing left to the budget')
        .argParser(positiveIntegerArgument)
        .default(DEFAULT_BUDGET_MS / 1000),
    )
    .action((path: string, options: ReplayFlags) => {
      const trace = readTraceFile(path);
      const counts: PassCounts = {
        budgetMs: options.budget * 1000,
        ...(options.warmup === undefined ? {} : { warmUp: options.warmup }),
        ...(options.passes === undefined ? {} : { passes: options.passes }),
      };
      const replay = options.flat
        ? replayFlat(trace, options.memory, counts)
        : replayInProcess(trace, options.memory, counts);
      if (options.json) process.stdout.write(`${JSON.stringify(replayJson(replay.result))}\n`);
      else
        process.stdout.write(formatReplay(path, trace, replay, options.flat ? 'flat' : 'process'));
      if (!replay.result.verified) process.exitCode = EXIT_FAILURE;
    });
}

interface ReplayFlags {
  memory: number;
  json?: boolean;
  flat?: boolean;
  warmup?: number;
  passes?: number;
  budget: number;
}

/** `proc PATH`: a /proc file of a machine after a workload. */
function defineProc(program: Command): void {
  program
    .command('proc')
    .description('print a /proc file of a machine after a workload (none: right after boot)')
    .argument('<file>', 'meminfo, buddyinfo, slabinfo, vmstat, PID/maps, PID/status (or /proc/…)')
    .addOption(memoryOption(DEFAULT_MEMORY, '256M'))
    .addOption(seedOption())
    .addOption(workloadOption().default('none'))
    .action((path: string, options: Omit<RunOptions, 'procCommands'>) => {
      const report = runWorkload({ ...options, procCommands: [`proc ${path}`] });
      process.stdout.write(report.afterRun[0]!.output);
    });
}

/** `shell`: the REPL on a fresh machine. */
function defineShell(program: Command): void {
  program
    .command('shell')
    .description('an interactive shell on a running machine (reads commands from stdin)')
    .addOption(memoryOption(DEFAULT_MEMORY, '256M'))
    .addOption(cpusOption())
    .addOption(
      new Option('--swap <size>', 'a swap device of this size (none by default)').argParser(
        sizeArgument,
      ),
    )
    .action(async (options: { memory: number; cpus: number; swap?: number }) => {
      const shape = { cpus: options.cpus, swap: options.swap ?? 0 };
      await runShell(bootMachine(options.memory, 0, shape), options.memory);
    });
}

/** `bench [NAME...]`: the standard workloads, peers and native reference alongside. */
function defineBench(program: Command): void {
  program
    .command('bench')
    .description('run the standard benchmark workloads, with peers measured in the same run')
    .argument('[names...]', 'workloads (B1 B2 S1 H1 H2 MMU VM SMP P1 PR), all by default')
    .option('--json', 'print [{ workload, implementation, nsPerOp, opsPerSec }]')
    .addOption(
      new Option(
        '--ops <n>',
        'steps per workload instead of the standard count (quick runs)',
      ).argParser(positiveIntegerArgument),
    )
    .addOption(
      new Option('--reps <n>', 'timed runs per row (the median is reported)')
        .argParser(positiveIntegerArgument)
        .default(5),
    )
    .addOption(
      new Option('--forks <n>', 'fresh processes per row of ours (the median is reported)')
        .argParser(positiveIntegerArgument)
        .default(3),
    )
    .option('--no-native', 'skip the native reference even when it is there')
    .option('--no-peers', 'skip the JavaScript peers (@thi.ng/malloc, lru-cache)')
    .action((names: string[], options: Omit<BenchOptions, 'names'> & { json?: boolean }) => {
      const rows = benchRows({ ...options, names });
      if (options.json) printJson(rows);
      else process.stdout.write(formatBench(rows, new Painter(), options));
    });
}

/** `soak`: the whole-machine stress workload for as long as asked; exit 1 on any failure. */
function defineSoak(program: Command): void {
  program
    .command('soak')
    .description('run the seeded whole-machine stress workload, checking every layer as it goes')
    .addOption(
      new Option('--ops <n>', 'operations to run')
        .argParser(positiveIntegerArgument)
        .default(1_000_000),
    )
    .addOption(seedOption())
    .addOption(memoryOption(32 * MiB, '32M'))
    .addOption(
      new Option('--processes <n>', 'worker processes kept alive').argParser(
        positiveIntegerArgument,
      ),
    )
    .addOption(
      new Option('--mapping-pages <n>', 'largest mmap, in pages').argParser(
        positiveIntegerArgument,
      ),
    )
    .action(
      (options: {
        ops: number;
        seed: number;
        memory: number;
        processes?: number;
        mappingPages?: number;
      }) => {
        const ok = runSoak(
          {
            ops: options.ops,
            seed: options.seed,
            memory: options.memory,
            ...(options.processes === undefined ? {} : { processes: options.processes }),
            ...(options.mappingPages === undefined
              ? {}
              : { maxMappingPages: options.mappingPages }),
          },
          (line) => process.stdout.write(`${line}\n`),
        );
        if (!ok) process.exitCode = EXIT_FAILURE;
      },
    );
}

/** `serve`: the visualizer, on 127.0.0.1 (it runs until interrupted). */
function defineServe(program: Command): void {
  program
    .command('serve')
    .description('serve the visualizer (the simulator running in your browser) on 127.0.0.1')
    .addOption(
      new Option('--port <n>', 'TCP port (0: any free one)')
        .argParser(portArgument)
        .default(DEFAULT_PORT),
    )
    .action(async (options: { port: number }) => {
      await serve({ port: options.port });
    });
}

/** The commander program: global options, then each command (which inherits them). */
function buildProgram(): Command {
  const program = new Command('wallos-mem')
    .description('The WallOS memory system on a simulated x86-64 machine')
    .version(packageVersion())
    .showSuggestionAfterError(true)
    .exitOverride()
    .configureOutput({
      // Commander's errors become one line: `wallos-mem: error: unknown option '--x' (Did you…)`.
      outputError: (text, write) => write(`wallos-mem: ${text.trim().replace(/\s*\n\s*/g, ' ')}\n`),
    });
  for (const define of [
    defineRun,
    defineReplay,
    defineProc,
    defineShell,
    defineBench,
    defineSoak,
    defineServe,
    definePages,
  ]) {
    define(program);
  }
  return program;
}

/** Ends the process with the exit code `error` calls for, after one line on stderr. */
function fail(error: unknown): void {
  if (error instanceof CommanderError) {
    // Commander has printed its message (or the help, or the version) already.
    process.exitCode = error.exitCode === 0 ? EXIT_OK : EXIT_USAGE;
    return;
  }
  const message = error instanceof Error ? error.message : String(error);
  process.stderr.write(`wallos-mem: ${message.split('\n')[0]}\n`);
  process.exitCode = error instanceof UsageError ? EXIT_USAGE : EXIT_FAILURE;
}

// `wallos-mem run | head` closes the pipe early: stop quietly, as Unix tools do.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code !== 'EPIPE') throw error;
  process.exit(EXIT_OK);
});

try {
  await buildProgram().parseAsync(process.argv);
} catch (error) {
  fail(error);
}
