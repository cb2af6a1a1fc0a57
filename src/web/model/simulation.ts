/**
 * A booted machine with a workload on it, advanced a few scheduler steps at a time so the page
 * can redraw in between.
 */
import { parseSize } from '../../hw/size.js';
import { Machine } from '../../kernel/machine.js';
import type { Process, ProcessHandle } from '../../kernel/process.js';
import { type CounterSample, sampleCounters } from './counters.js';
import { FrameSnapshot } from './frame-snapshot.js';
import { ProcessWalker } from './page-walk.js';
import { type HeapRecords, workloadNamed } from './workloads.js';

/** What to boot and run. */
export interface SimulationOptions {
  /** RAM size, e.g. `256M`. */
  readonly memory: string;
  /** A workload name from WEB_WORKLOADS. */
  readonly workload: string;
  readonly seed: number;
}

/** One machine, its workload, and the views' shared state (frame snapshot, walker, heaps). */
export class Simulation {
  readonly machine: Machine;
  readonly walker: ProcessWalker;
  readonly snapshot: FrameSnapshot;
  /** Blocks each program holds, by pid. */
  readonly heaps: HeapRecords = new Map();
  /** The workload's first processes (children they fork are not listed). */
  readonly handles: readonly ProcessHandle[];
  /** Scheduler steps run so far. */
  steps = 0;

  constructor(readonly options: SimulationOptions) {
    const workload = workloadNamed(options.workload);
    const cpus = workload.cpus ?? 1;
    const ram = parseSize(options.memory);
    const swap =
      workload.swapShare === undefined ? {} : { swap: Math.floor(ram * workload.swapShare) };
    this.machine = Machine.boot({ memory: options.memory, seed: options.seed, cpus, ...swap });
    this.walker = new ProcessWalker(this.machine);
    this.snapshot = FrameSnapshot.of(this.machine);
    this.handles = workload.start(this.machine, options.seed, this.heaps);
    this.snapshot.capture(this.machine);
  }

  /**
   * A second machine at step `steps` of the same run: boot and workload are seeded, so
   * replaying the steps rebuilds the state exactly (for walking the page tables of a moment the
   * timeline went back to). See {@link step} for why the batching of steps does not matter.
   */
  static replayed(options: SimulationOptions, steps: number): Simulation {
    const replica = new Simulation(options);
    replica.step(steps);
    return replica;
  }

  /** True when no process can run any more. */
  get finished(): boolean {
    return !this.machine.processList.some((p) => p.state === 'runnable');
  }

  /** Live processes (not yet ended), by pid. */
  get processes(): Process[] {
    return this.machine.processList.filter((p) => !p.ended);
  }

  /**
   * Runs up to `count` scheduler steps (one task's slice each: until its next `yield` or
   * `yield* ctx.sys.…` call, or its end), stopping early once `budgetMs` have passed (after at
   * least one step) so a page keeps its frame rate; then re-reads the frames. Returns the
   * number of steps run.
   */
  step(count: number, budgetMs = Number.POSITIVE_INFINITY): number {
    const deadline = performance.now() + budgetMs;
    let ran = 0;
    // A run must not depend on how it is watched, or a replay would not rebuild it. Capturing
    // frames reads the buddy free lists, which drains the per-CPU page lists (as Linux's
    // drain_all_pages before reading them): so every step drains them, captured or not. A step
    // is one slice; the scheduler keeps its place (the round's turns, each run queue's
    // round-robin) from one call to the next.
    while (ran < count && !this.finished && (ran === 0 || performance.now() < deadline)) {
      let stepped = false;
      this.machine.schedule(() => {
        if (stepped) return true;
        stepped = true;
        return false;
      });
      this.machine.frames.drainPerCpuPages();
      ran++;
    }
    this.steps += ran;
    this.snapshot.capture(this.machine);
    return ran;
  }

  /** The machine's counters now. */
  sample(): CounterSample {
    return sampleCounters(this.machine, this.steps);
  }
}
