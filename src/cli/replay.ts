/**
 * `wallos-mem replay TRACE`: a trace replayed through the malloc of a simulated process.
 *
 * ```
 *  this Node process                        a fresh Node process (--no-concurrent-recompilation)
 *  pid 1 replay  the verified pass: every   pid 1…40   warm-up  the bare calls, untimed
 *                call through the process's pid 41…47  timed    the bare calls, each pass in a
 *                heap (user mode, every                         fresh process; ns/op is the
 *                load and store through                         median of the 7
 *                the MMU), every block's
 *                contents checked          ──trace──►           ◄──ns/op──
 * ```
 *
 * Timing separate passes, rather than the verified pass, leaves the content checks out of
 * ns/op, as the glibc reference replayer does. The timed passes run in a Node process of their
 * own, with V8 set up as `bench` sets up its measuring processes, and after warm-up passes;
 * see {@link measuringNodeCommand} and {@link WARM_UP_RUNS}. `--flat` is timed the same way.
 */

import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { deserialize, serialize } from 'node:v8';
import { WallosError } from '../errors.js';
import type { Machine } from '../kernel/machine.js';
import type { ProcessHandle } from '../kernel/process.js';
import { type ReplayResult, replayTrace, type Trace, type TraceAllocator } from '../trace/index.js';
import { timeBareCalls, warmUpBareCalls } from '../trace/replay.js';
import { createFlatHeap, type FlatHeapHost, type UserAllocator } from '../user-alloc/index.js';
import { bootMachine } from './arguments.js';
import { measuringNodeCommand } from './measuring.js';
import { formatBytes, formatCount, Progress, signalName } from './terminal.js';

/** Timed passes whose median is reported: 7, as the glibc reference replayer runs. */
export const TIMED_RUNS = 7;
/**
 * Untimed passes before the timed ones, each in a fresh process like them. V8 optimizes a
 * function once it has run enough, and in the timing process the compile runs on the main
 * thread, inside whichever pass it falls in. The replay's own loop is hot at once, but the
 * page-fault, brk and TLB-miss paths run a few hundred times a pass, and some functions once
 * per process (the heap's setup, process exit): on sqlite3-small the passes take 480, 210,
 * then ~140 ns/op for five passes while those compile, and functions still reach the compiler
 * at passes 11, 14, 16, 22 and later (3–13 ms each, a pass being ~27 ms). After 10 warm-up
 * passes the timed ones read 85 103 80 80 95 80 95; after 40, 82 82 80 81 81 79 80. glibc's
 * replayer has no JIT to warm up; JMH warms up likewise.
 */
export const WARM_UP_RUNS = 40;
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
}

/**
 * Replays `trace` in a process of a machine with `memoryBytes` of RAM: verified, then timed.
 * @throws ReplayFailedError when a replaying process ends without a result.
 */
export function replayInProcess(trace: Trace, memoryBytes: number): ReplayResult {
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
  const verified: ReplayResult = result;
  if (verified.verified)
    verified.nsPerOp = timeInFreshNode({ trace, where: 'process', memoryBytes });
  return verified;
}

/** A flat heap starts this large and doubles as it grows (up to the `--memory` limit). */
const FLAT_INITIAL_BYTES = 16 * 1024 * 1024;

/**
 * Replays `trace` through the same allocator standalone, over an ArrayBuffer that grows up to
 * `limitBytes`: verified, then timed on fresh heaps, like {@link replayInProcess}.
 */
export function replayFlat(trace: Trace, limitBytes: number): ReplayResult {
  const progress = new Progress('replay', trace.ops);
  const result = replayTrace(trace, new ProgressAllocator(growingFlatHeap(limitBytes), progress));
  progress.stop();
  if (result.verified) {
    result.nsPerOp = timeInFreshNode({ trace, where: 'flat', memoryBytes: limitBytes });
  }
  return result;
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
function timeInFreshNode(job: TimingJob): number {
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
  return answer.nsPerOp;
}

/** What the timing process prints on stdout (JSON): the median ns/op, or why it has none. */
interface TimingAnswer {
  readonly nsPerOp: number;
  readonly failure?: string;
}

/**
 * The timing process's side of {@link timeInFreshNode}: reads a {@link TimingJob} from stdin,
 * runs {@link WARM_UP_RUNS} untimed and {@link TIMED_RUNS} timed passes, each on a fresh heap,
 * and prints a {@link TimingAnswer}. Not for other uses.
 */
export function runTimingJob(): void {
  let answer: TimingAnswer;
  try {
    const job = deserialize(readFileSync(0)) as TimingJob;
    const progress = new Progress('timing', WARM_UP_RUNS + TIMED_RUNS);
    const times =
      job.where === 'flat' ? timeFlatPasses(job, progress) : timeProcessPasses(job, progress);
    progress.stop();
    times.sort((a, b) => a - b);
    answer = { nsPerOp: (times[times.length >> 1]! * 1e6) / Math.max(1, job.trace.ops) };
  } catch (error) {
    answer = { nsPerOp: 0, failure: error instanceof Error ? error.message : String(error) };
  }
  process.stdout.write(`${JSON.stringify(answer)}\n`);
}

/** The timed passes' clock (ms): one function for all of them, so their call site sees one. */
const clock = (): number => performance.now();

/** Each timed pass's time in ms, every pass in a fresh process of one machine. */
function timeProcessPasses({ trace, memoryBytes }: TimingJob, progress: Progress): number[] {
  const machine = bootMachine(memoryBytes);
  const times: number[] = [];
  for (let run = 0; run < WARM_UP_RUNS + TIMED_RUNS; run++) {
    const timed = run >= WARM_UP_RUNS;
    let finished = false;
    const pass = machine.spawn(
      (ctx) => {
        const heap = heapOfPid(machine, ctx.pid);
        if (timed) times.push(timeBareCalls(trace, heap, clock));
        else warmUpBareCalls(trace, heap);
        finished = true;
      },
      { name: timed ? 'replay-timed' : 'replay-warm-up' },
    );
    machine.run();
    if (!finished) throw new ReplayFailedError(`pass ${run + 1} ${deathOf(pass)}`);
    progress.update(run + 1);
  }
  return times;
}

/** Each timed pass's time in ms, every pass on a fresh flat heap. */
function timeFlatPasses({ trace, memoryBytes }: TimingJob, progress: Progress): number[] {
  const times: number[] = [];
  for (let run = 0; run < WARM_UP_RUNS + TIMED_RUNS; run++) {
    const heap = growingFlatHeap(memoryBytes);
    if (run >= WARM_UP_RUNS) times.push(timeBareCalls(trace, heap, clock));
    else warmUpBareCalls(trace, heap);
    progress.update(run + 1);
  }
  return times;
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
  result: ReplayResult,
  where: 'process' | 'flat',
): string {
  const ratio = result.peakFootprintBytes / Math.max(1, result.peakLiveBytes);
  const lines = [
    `trace:          ${path} (${trace.program})`,
    `ops:            ${formatCount(result.ops)}`,
    `peak live:      ${formatBytes(result.peakLiveBytes)} (${formatCount(result.peakLiveBytes)} bytes)`,
    `peak footprint: ${formatBytes(result.peakFootprintBytes)} (${formatCount(result.peakFootprintBytes)} bytes), ratio ${ratio.toFixed(3)}`,
    result.verified
      ? `speed:          ${result.nsPerOp.toFixed(1)} ns/op (bare calls ${where === 'process' ? 'inside a process' : 'over a flat ArrayBuffer'}, median of ${TIMED_RUNS} runs after ${WARM_UP_RUNS} warm-up runs)`
      : `speed:          ${result.nsPerOp.toFixed(1)} ns/op (the verified pass, checks included)`,
    `verified:       ${result.verified ? 'yes, every block intact' : `NO: ${result.failure}`}`,
  ];
  return `${lines.join('\n')}\n`;
}
