/**
 * Each workload measured in a Node process of its own, as the native reference is.
 *
 * One shared driver (`runWorkload`) that calls the buddy, slab and heap adapters in turn has
 * megamorphic call sites: V8 stops inlining the allocators into the loop, and every workload
 * measured after the first runs 40–70% slower than alone. A fresh process per workload keeps
 * each driver monomorphic, so the figures are the allocators' own.
 *
 * ```
 *  parent (CLI)                                   child: node isolated.js S1 slab 5
 *  measureIsolated({ workload: 'S1', ... }) ──►   measureHere(...) → one JSON BenchRow line
 *                                           ◄──   {"workload":"S1","implementation":...}
 * ```
 */
import { execFileSync } from 'node:child_process';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { InvalidArgumentError } from '../errors.js';
import { buddyWorkloadTarget } from './buddy.js';
import { FlatHeapSlots, measureHeapInProcess } from './heap.js';
import { createSlabS1 } from './slab.js';
import { type BenchRow, measureWorkload, WORKLOADS, type Workload } from './workloads.js';

/** What runs a workload: our allocator of its layer, or the heap inside a simulated process. */
export type BenchTarget = 'buddy' | 'slab' | 'heap' | 'heap-process';

const TARGETS: readonly BenchTarget[] = ['buddy', 'slab', 'heap', 'heap-process'];
const IMPLEMENTATION = 'wallos-memory';

/** One measurement to make. */
export interface IsolatedRequest {
  /** A workload name of `WORKLOADS` (B1, B2, S1, H1, H2). */
  readonly workload: string;
  /** What runs it; must match the workload's layer (`heap-process` for heap workloads). */
  readonly target: BenchTarget;
  /** Timed runs after the warm-up (the median is reported). */
  readonly reps: number;
  /** Steps instead of the workload's standard count. */
  readonly ops?: number;
}

/**
 * Measures `request` in this process (`now()` in milliseconds): what the child process runs.
 * @throws InvalidArgumentError for an unknown workload, a target of another layer, or a
 *   non-positive count.
 */
export function measureHere(request: IsolatedRequest, now: () => number): BenchRow {
  const workload = requestedWorkload(request);
  switch (request.target) {
    case 'buddy':
      return measureWorkload(workload, IMPLEMENTATION, buddyWorkloadTarget(), now, request.reps);
    case 'slab':
      return measureWorkload(workload, IMPLEMENTATION, createSlabS1().slots, now, request.reps);
    case 'heap':
      return measureWorkload(workload, IMPLEMENTATION, new FlatHeapSlots(), now, request.reps);
    case 'heap-process':
      return measureHeapInProcess(workload, now, request.reps);
  }
}

/**
 * Measures `request` in a fresh Node process running this module (from the built package).
 * @throws Error when the child fails; its stderr is in the message.
 */
export function measureIsolated(request: IsolatedRequest): BenchRow {
  requestedWorkload(request);
  const output = execFileSync(
    process.execPath,
    [fileURLToPath(import.meta.url), ...requestArguments(request)],
    { encoding: 'utf8' },
  );
  return JSON.parse(output.trim().split('\n').pop() ?? '') as BenchRow;
}

/** The command-line arguments of the child process for `request`. */
export function requestArguments(request: IsolatedRequest): string[] {
  const args = [request.workload, request.target, String(request.reps)];
  if (request.ops !== undefined) args.push(String(request.ops));
  return args;
}

/**
 * The request named by `args` (`WORKLOAD TARGET REPS [OPS]`), validated.
 * @throws InvalidArgumentError for missing or bad arguments.
 */
export function parseRequest(args: readonly string[]): IsolatedRequest {
  const [workload, target, reps, ops] = args;
  if (workload === undefined || target === undefined || reps === undefined) {
    throw new InvalidArgumentError('usage: isolated WORKLOAD TARGET REPS [OPS]');
  }
  if (!TARGETS.includes(target as BenchTarget)) {
    throw new InvalidArgumentError(`unknown target '${target}': expected ${TARGETS.join(', ')}`);
  }
  const request: IsolatedRequest = {
    workload,
    target: target as BenchTarget,
    reps: Number(reps),
    ...(ops === undefined ? {} : { ops: Number(ops) }),
  };
  requestedWorkload(request);
  return request;
}

/** The workload `request` runs (with its step count), after checking the request. */
function requestedWorkload(request: IsolatedRequest): Workload {
  const standard = WORKLOADS.find((w) => w.name === request.workload);
  if (standard === undefined) {
    const names = WORKLOADS.map((w) => w.name).join(', ');
    throw new InvalidArgumentError(`unknown workload '${request.workload}': expected ${names}`);
  }
  const layer = request.target === 'heap-process' ? 'heap' : request.target;
  if (standard.layer !== layer) {
    throw new InvalidArgumentError(`${standard.name} is a ${standard.layer} workload`);
  }
  checkCount('reps', request.reps);
  if (request.ops !== undefined) checkCount('ops', request.ops);
  return { ...standard, ops: request.ops ?? standard.ops };
}

function checkCount(name: string, value: number): void {
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new InvalidArgumentError(`${name} must be a positive integer, not ${value}`);
  }
}

/** Run as a program: measure the request of the command line, print its row as JSON. */
if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const row = measureHere(parseRequest(process.argv.slice(2)), () => performance.now());
  process.stdout.write(`${JSON.stringify(row)}\n`);
}
