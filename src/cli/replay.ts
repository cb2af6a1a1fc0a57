/**
 * `wallos-mem replay TRACE`: a trace replayed through the malloc of a simulated process.
 *
 * ```
 *  this Node process                        a fresh Node process (--no-concurrent-recompilation)
 *  pid 1 replay  the verified pass: every   warm-up  the bare calls, untimed, until the compiled
 *                call through the process's          code is stable (PassSchedule)
 *                heap (user mode, every     timed    the bare calls, each pass in a fresh
 *                load and store through              process; ns/op is the median
 *                the MMU), every block's
 *                contents checked          ──trace──►           ◄──ns/op──
 * ```
 *
 * Timing separate passes, rather than the verified pass, leaves the content checks out of
 * ns/op, as the glibc reference replayer does. The timed passes run in a Node process of their
 * own, with V8 set up as `bench` sets up its measuring processes, after warm-up passes; how
 * many of each is the {@link PassSchedule}'s call: a few seconds' budget by default, exact
 * counts with `--warmup N` / `--passes N`. `--flat` is timed the same way.
 */

import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { deserialize, serialize } from 'node:v8';
import { WallosError } from '../errors.js';
import { formatBytes } from '../hw/size.js';
import type { Machine } from '../kernel/machine.js';
import type { ProcessHandle } from '../kernel/process.js';
import { type ReplayResult, replayTrace, type Trace, type TraceAllocator } from '../trace/index.js';
import { timeBareCalls, warmUpBareCalls } from '../trace/replay.js';
import { createFlatHeap, type FlatHeapHost, type UserAllocator } from '../user-alloc/index.js';
import { bootMachine } from './arguments.js';
import { measuringNodeCommand } from './measuring.js';
import { type PassCounts, PassSchedule } from './pass-schedule.js';
import { formatCount, Progress, signalName } from './terminal.js';

/** Room for the timing process's answer (a line of JSON). */
const TIMING_OUTPUT_BYTES = 1 << 20;
/** Ops between two progress updates of the verified pass. */
const PROGRESS_INTERVAL = 4096;

/** The replaying process died or its allocator failed: the replay has no result. */
export class ReplayFailedError extends WallosError {
  constructor(message: string) {
    super('REPLAY_FAILED', message);
  }
}

/** What the timing process is sent on its stdin (v8-serialized): see {@link runTimingJob}. */
export interface TimingJob {
  readonly trace: Trace;
  /**
   * Where the passes run: in processes of a machine with `memoryBytes` of RAM, or over flat
   * heaps of at most `memoryBytes`.
   */
  readonly where: 'process' | 'flat';
  readonly memoryBytes: number;
  /** How many warm-up and timed passes, or the budget they share. */
  readonly counts: PassCounts;
}

/** How the timed figure was obtained: passes run, and whether warm-up reached stable code. */
export interface TimingSummary {
  readonly warmUps: number;
  readonly passes: number;
  readonly stable: boolean;
}

/** A replay's figures and, when it was timed, how. */
export interface TimedReplay {
  readonly result: ReplayResult;
  readonly timing: TimingSummary | null;
}

/**
 * Replays `trace` in a process of a machine with `memoryBytes` of RAM: verified, then timed.
 * @throws ReplayFailedError when a replaying process ends without a result.
 */
export function replayInProcess(
  trace: Trace,
  memoryBytes: number,
  counts: PassCounts = {},
): TimedReplay {
  const machine = bootMachine(memoryBytes);
  const progress = new Progress('replay', trace.ops);
  let result: ReplayResult | null = null;
  const verifier = machine.spawn(
    (ctx) => {
      const heap = heapOfPid(machine, ctx.pid);
      result = replayTrace(trace, new ProgressAllocator(heap, progress));
    },
    { name: 'replay' },
  );
  machine.run();
  progress.stop();
  if (result === null) throw new ReplayFailedError(`the replay ${deathOf(verifier)}`);
  return timed(result, { trace, where: 'process', memoryBytes, counts });
}

/** The verified result with ns/op from the timing process (when verified). */
function timed(result: ReplayResult, job: TimingJob): TimedReplay {
  if (!result.verified) return { result, timing: null };
  const answer = timeInFreshNode(job);
  result.nsPerOp = answer.nsPerOp;
  const { warmUps, passes, stable } = answer;
  return { result, timing: { warmUps, passes, stable } };
}

/** A flat heap starts this large and doubles as it grows (up to the `--memory` limit). */
const FLAT_INITIAL_BYTES = 16 * 1024 * 1024;

/**
 * Replays `trace` through the same allocator standalone, over an ArrayBuffer that grows up to
 * `limitBytes`: verified, then timed on fresh heaps, like {@link replayInProcess}.
 */
export function replayFlat(trace: Trace, limitBytes: number, counts: PassCounts = {}): TimedReplay {
  const progress = new Progress('replay', trace.ops);
  const result = replayTrace(trace, new ProgressAllocator(growingFlatHeap(limitBytes), progress));
  progress.stop();
  return timed(result, { trace, where: 'flat', memoryBytes: limitBytes, counts });
}

/** A flat heap whose buffer doubles (contents copied) while it stays within `limitBytes`. */
function growingFlatHeap(limitBytes: number): UserAllocator<FlatHeapHost> {
  const heap: UserAllocator<FlatHeapHost> = createFlatHeap(
    Math.min(FLAT_INITIAL_BYTES, limitBytes),
    {
      grow: (minBytes) => {
        let bytes = heap.memory.buffer.byteLength;
        while (bytes < minBytes) bytes *= 2;
        if (bytes > limitBytes) return null;
        const bigger = new ArrayBuffer(bytes);
        new Uint8Array(bigger).set(new Uint8Array(heap.memory.buffer));
        return bigger;
      },
    },
  );
  return heap;
}

/**
 * ns/op of the job's timed passes, measured in a fresh Node process ({@link measuringNodeCommand})
 * that runs this module's {@link runTimingJob} (and shows its own
 * progress on the shared stderr).
 * @throws ReplayFailedError when that process fails.
 */
function timeInFreshNode(job: TimingJob): TimingAnswer {
  const script = `import { runTimingJob } from ${JSON.stringify(import.meta.url)};\nrunTimingJob();`;
  let answer: TimingAnswer;
  try {
    const output = execFileSync(
      ...measuringNodeCommand(['--input-type=module', '--eval', script]),
      {
        input: serialize(job),
        encoding: 'utf8',
        maxBuffer: TIMING_OUTPUT_BYTES,
        stdio: ['pipe', 'pipe', 'inherit'],
      },
    );
    answer = JSON.parse(output) as TimingAnswer;
  } catch (error) {
    throw new ReplayFailedError(`the timing process failed: ${String(error)}`);
  }
  if (answer.failure !== undefined) throw new ReplayFailedError(answer.failure);
  return answer;
}

/** What the timing process prints on stdout (JSON): the median ns/op and how, or why not. */
interface TimingAnswer extends TimingSummary {
  readonly nsPerOp: number;
  readonly failure?: string;
}

/**
 * The timing process's side of {@link timeInFreshNode}: reads a {@link TimingJob} from stdin,
 * runs untimed warm-up and timed passes as its {@link PassSchedule} decides, each on a fresh
 * heap, and prints a {@link TimingAnswer}. Not for other uses.
 */
export function runTimingJob(): void {
  let answer: TimingAnswer;
  try {
    const job = deserialize(readFileSync(0)) as TimingJob;
    const schedule = new PassSchedule(job.counts);
    const progress = new TimingProgress(schedule, job.counts);
    if (job.where === 'flat') timeFlatPasses(job, schedule, progress);
    else timeProcessPasses(job, schedule, progress);
    progress.stop();
    answer = {
      nsPerOp: (schedule.medianMs() * 1e6) / Math.max(1, job.trace.ops),
      warmUps: schedule.warmUps,
      passes: schedule.times.length,
      stable: schedule.stable,
    };
  } catch (error) {
    const failure = error instanceof Error ? error.message : String(error);
    answer = { nsPerOp: 0, warmUps: 0, passes: 0, stable: false, failure };
  }
  process.stdout.write(`${JSON.stringify(answer)}\n`);
}

/**
 * The timing's progress bar: passes out of the exact counts, or milliseconds out of the budget
 * when it decides.
 */
class TimingProgress {
  private readonly bar = new Progress('timing', 1);
  private readonly exact: number | null;

  constructor(
    private readonly schedule: PassSchedule,
    counts: PassCounts,
  ) {
    const { warmUp, passes } = counts;
    this.exact = warmUp !== undefined && passes !== undefined ? warmUp + passes : null;
  }

  update(): void {
    const { schedule } = this;
    if (this.exact !== null) {
      this.bar.update(schedule.warmUps + schedule.times.length, this.exact);
      return;
    }
    const { elapsedMs, budgetMs } = schedule.progress;
    this.bar.update(Math.min(Math.round(elapsedMs), budgetMs), budgetMs);
  }

  stop(): void {
    this.bar.stop();
  }
}

/** The timed passes' clock (ms): one function for all of them, so their call site sees one. */
const clock = (): number => performance.now();

/**
 * Runs the schedule's passes, every one in a fresh process of one machine. A warm-up pass is
 * timed too (whole, for the schedule), a timed pass by {@link timeBareCalls} alone.
 */
function timeProcessPasses(
  { trace, memoryBytes }: TimingJob,
  schedule: PassSchedule,
  progress: TimingProgress,
): void {
  const machine = bootMachine(memoryBytes);
  for (let kind = schedule.next(), run = 1; kind !== 'done'; kind = schedule.next(), run++) {
    let ms = -1;
    const pass = machine.spawn(
      (ctx) => {
        const heap = heapOfPid(machine, ctx.pid);
        ms = kind === 'timed' ? timeBareCalls(trace, heap, clock) : warmUpTime(trace, heap);
      },
      { name: kind === 'timed' ? 'replay-timed' : 'replay-warm-up' },
    );
    machine.run();
    if (ms < 0) throw new ReplayFailedError(`pass ${run} ${deathOf(pass)}`);
    schedule.record(kind, ms);
    progress.update();
  }
}

/** Runs the schedule's passes, every one on a fresh flat heap. */
function timeFlatPasses(
  { trace, memoryBytes }: TimingJob,
  schedule: PassSchedule,
  progress: TimingProgress,
): void {
  for (let kind = schedule.next(); kind !== 'done'; kind = schedule.next()) {
    const heap = growingFlatHeap(memoryBytes);
    schedule.record(
      kind,
      kind === 'timed' ? timeBareCalls(trace, heap, clock) : warmUpTime(trace, heap),
    );
    progress.update();
  }
}

/** A warm-up pass's time in ms (the bare calls and freeing what is left). */
function warmUpTime(trace: Trace, heap: TraceAllocator): number {
  const start = clock();
  warmUpBareCalls(trace, heap);
  return clock() - start;
}

function heapOfPid(machine: Machine, pid: number): UserAllocator {
  const process = machine.process(pid);
  if (process === undefined) throw new Error(`pid ${pid} is not running`);
  return machine.heapOf(process);
}

function deathOf(handle: ProcessHandle): string {
  if (handle.fault !== null) return `process was killed: ${handle.fault.message}`;
  if (handle.error !== null) return `process failed: ${handle.error}`;
  return `process ended with ${handle.signal !== null ? signalName(handle.signal) : `exit code ${handle.exitCode}`}`;
}

/**
 * The process's heap as the replayer sees it. The verified pass samples `footprint()` once per
 * op, so counting those calls gives its progress without touching the replayer.
 */
class ProgressAllocator implements TraceAllocator {
  private ops = 0;

  constructor(
    private readonly heap: UserAllocator,
    private readonly progress: Progress,
  ) {}

  get memory() {
    return this.heap.memory;
  }

  malloc(size: number): number {
    return this.heap.malloc(size);
  }

  calloc(count: number, size: number): number {
    return this.heap.calloc(count, size);
  }

  realloc(p: number, size: number): number {
    return this.heap.realloc(p, size);
  }

  memalign(alignment: number, size: number): number {
    return this.heap.memalign(alignment, size);
  }

  free(p: number): void {
    this.heap.free(p);
  }

  footprint(): number {
    if (++this.ops % PROGRESS_INTERVAL === 0) this.progress.update(this.ops);
    return this.heap.footprint();
  }
}

/** The JSON of `replay --json`: the contract's five fields (and why, when not verified). */
export function replayJson(result: ReplayResult): object {
  const { ops, peakLiveBytes, peakFootprintBytes, nsPerOp, verified, failure } = result;
  const json = { ops, peakLiveBytes, peakFootprintBytes, nsPerOp, verified };
  return failure === undefined ? json : { ...json, failure };
}

/** The summary for people. */
export function formatReplay(
  path: string,
  trace: Trace,
  { result, timing }: TimedReplay,
  where: 'process' | 'flat',
): string {
  const ratio = result.peakFootprintBytes / Math.max(1, result.peakLiveBytes);
  const lines = [
    `trace:          ${path} (${trace.program})`,
    `ops:            ${formatCount(result.ops)}`,
    `peak live:      ${formatBytes(result.peakLiveBytes)} (${formatCount(result.peakLiveBytes)} bytes)`,
    `peak footprint: ${formatBytes(result.peakFootprintBytes)} (${formatCount(result.peakFootprintBytes)} bytes), ratio ${ratio.toFixed(3)}`,
    `max footprint:  ${formatBytes(result.maxFootprintBytes)} (${formatCount(result.maxFootprintBytes)} bytes, over every op)`,
    timing !== null
      ? `speed:          ${result.nsPerOp.toFixed(1)} ns/op (bare calls ${where === 'process' ? 'inside a process' : 'over a flat ArrayBuffer'}, ${describeTiming(timing)})`
      : `speed:          ${result.nsPerOp.toFixed(1)} ns/op (the verified pass, checks included)`,
    `verified:       ${result.verified ? 'yes, every block intact' : `NO: ${result.failure}`}`,
  ];
  return `${lines.join('\n')}\n`;
}

/** "median of 7 runs after 12 warm-up runs (stable)", as the summary says how it timed. */
function describeTiming({ warmUps, passes, stable }: TimingSummary): string {
  const runs = passes === 1 ? '1 run' : `median of ${passes} runs`;
  const warm = warmUps === 1 ? '1 warm-up run' : `${warmUps} warm-up runs`;
  return `${runs} after ${warm}${stable ? ', compiled code stable' : ''}`;
}
