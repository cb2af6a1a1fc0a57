/**
 * `wallos-mem replay TRACE`: a trace replayed through the malloc of a simulated process.
 *
 * ```
 *  pid 1  replay   the verified pass: every call through the process's own heap (user mode,
 *                  every load and store through the MMU), every block's contents checked
 *  pid 2…8 timed   the bare calls only, each pass in a fresh process; ns/op is their median
 * ```
 *
 * Timing separate processes, rather than the verified pass, leaves the content checks out of
 * ns/op, as the glibc reference replayer does.
 */

import { WallosError } from '../errors.js';
import type { Machine } from '../kernel/machine.js';
import type { ProcessHandle } from '../kernel/process.js';
import {
  type ReplayResult,
  replayTrace,
  type Trace,
  type TraceAllocator,
  timeBareCalls,
} from '../trace/index.js';
import { createFlatHeap, type FlatHeapHost, type UserAllocator } from '../user-alloc/index.js';
import { bootMachine } from './arguments.js';
import { formatBytes, formatCount, Progress, signalName } from './terminal.js';

/**
 * Timed passes whose median is reported: 7, as the glibc reference replayer runs. A pass is
 * short (~330k calls), so the first passes still run partly in V8's lower tiers; a median of
 * 7 measures the allocator rather than the JIT's warm-up.
 */
export const TIMED_RUNS = 7;
/** Ops between two progress updates of the verified pass. */
const PROGRESS_INTERVAL = 4096;

/** The replaying process died or its allocator failed: the replay has no result. */
export class ReplayFailedError extends WallosError {
  constructor(message: string) {
    super('REPLAY_FAILED', message);
  }
}

/**
 * Replays `trace` in a process of a machine with `memoryBytes` of RAM: verified, then timed.
 * @throws ReplayFailedError when a replaying process ends without a result.
 */
export function replayInProcess(trace: Trace, memoryBytes: number): ReplayResult {
  const machine = bootMachine(memoryBytes);
  const progress = new Progress('replay', trace.ops * (1 + TIMED_RUNS));
  let result: ReplayResult | null = null;
  const verifier = machine.spawn(
    (ctx) => {
      const heap = heapOfPid(machine, ctx.pid);
      result = replayTrace(trace, new ProgressAllocator(heap, progress));
    },
    { name: 'replay' },
  );
  machine.run();
  if (result === null) throw new ReplayFailedError(`the replay ${deathOf(verifier)}`);
  const verified: ReplayResult = result;
  if (verified.verified) verified.nsPerOp = timeInProcesses(machine, trace, progress);
  progress.stop();
  return verified;
}

/** A flat heap starts this large and doubles as it grows (up to the `--memory` limit). */
const FLAT_INITIAL_BYTES = 16 * 1024 * 1024;

/**
 * Replays `trace` through the same allocator standalone, over an ArrayBuffer that grows up to
 * `limitBytes`: verified, then timed on fresh heaps (the replayer's own timed passes).
 */
export function replayFlat(trace: Trace, limitBytes: number): ReplayResult {
  const progress = new Progress('replay', trace.ops * (1 + TIMED_RUNS));
  const result = replayTrace(trace, new ProgressAllocator(growingFlatHeap(limitBytes), progress), {
    freshAllocator: () => growingFlatHeap(limitBytes),
    timedRuns: TIMED_RUNS,
  });
  progress.stop();
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

/** The timed passes' clock (ms): one function for all of them, so their call site sees one. */
const clock = (): number => performance.now();

/** ns/op: the median over {@link TIMED_RUNS} fresh processes running the bare calls. */
function timeInProcesses(machine: Machine, trace: Trace, progress: Progress): number {
  const times: number[] = [];
  for (let run = 0; run < TIMED_RUNS; run++) {
    const timer = machine.spawn(
      (ctx) => {
        times.push(timeBareCalls(trace, heapOfPid(machine, ctx.pid), clock));
      },
      { name: 'replay-timed' },
    );
    machine.run();
    if (times.length !== run + 1) {
      throw new ReplayFailedError(`timed pass ${run + 1} ${deathOf(timer)}`);
    }
    progress.update(trace.ops * (run + 2));
  }
  times.sort((a, b) => a - b);
  return (times[times.length >> 1]! * 1e6) / Math.max(1, trace.ops);
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
      ? `speed:          ${result.nsPerOp.toFixed(1)} ns/op (bare calls ${where === 'process' ? 'inside a process' : 'over a flat ArrayBuffer'}, median of ${TIMED_RUNS} runs)`
      : `speed:          ${result.nsPerOp.toFixed(1)} ns/op (the verified pass, checks included)`,
    `verified:       ${result.verified ? 'yes, every block intact' : `NO: ${result.failure}`}`,
  ];
  return `${lines.join('\n')}\n`;
}
