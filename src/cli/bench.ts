/**
 * `wallos-mem bench`: the workloads of docs/workloads.md, our rows and the peers'
 * measured in the same run (the machines are shared and noisy: only ratios taken together hold).
 * Each row of ours is the median of several fresh processes (`--forks`, 3 by default), each
 * reporting the median of `--reps` timed runs after one warm-up.
 *
 * ```
 *  B1 B2  wallos-memory (buddy)                                  native-ref (buddy)
 *  S1     wallos-memory (slab, flat buffer)                      native-ref (slab)
 *  H1 H2  wallos-memory (flat heap)  wallos-memory/process       native-ref (glibc)
 *         @thi.ng/malloc
 *  MMU    wallos-memory (TLB-hit load32)  Uint32Array (raw load)
 *  VM     wallos-memory (VM-fault, VM-fork, VM-copy, VM-mremap)   native-ref (pagefault: the
 *                                                                Linux kernel's own VM-fault)
 *  SMP    wallos-memory (SMP-shootdown: munmap of 1 page on 4 CPUs; SMP-shootdown-512;
 *         SMP-munmap-1cpu, the same munmap on 1 CPU), with the IPIs each munmap sent
 *  P1     wallos-memory (P1-majfault: ns per major fault cycling 1.5x RAM through swap;
 *         P1-reclaim: ns per page reclaimed, its ops/s pages reclaimed per second)
 *  PR     wallos-memory (fifo … linux): ns per reference replaying the cpp and ps page traces
 *         at ten sizes                                            lru-cache (the npm LRU)
 * ```
 */
import { execFileSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LRU_CACHE_PEER, PAGES_WORKLOAD } from '../bench/pages.js';
import {
  type BenchRow,
  OUR_IMPLEMENTATION,
  PROCESS_IMPLEMENTATION,
  WORKLOADS,
} from '../bench/workloads.js';
import { type BenchTask, PEER_MAX_OPS } from './bench-task.js';
import { UsageError } from './errors.js';
import { measuringCommand, measuringNodeCommand } from './measuring.js';
import { formatCount, formatTable, type Painter, Progress } from './terminal.js';

/** What `bench` was asked to run. */
export interface BenchOptions {
  /** Workload names; all of them when empty. */
  names: string[];
  /** Steps per workload instead of the standard count (then the native reference is skipped). */
  ops?: number;
  reps: number;
  /** Fresh processes per measurement of ours (JMH's forks); the median of theirs is reported. */
  forks: number;
  native: boolean;
  peers: boolean;
}

const MMU_WORKLOAD = 'MMU';
/** The virtual-memory benchmarks: demand-zero fault, fork of 64 MiB, copyFromUser. */
const VM_WORKLOAD = 'VM';
/** The TLB-shootdown benchmarks: munmap in an address space live on 4 CPUs. */
const SMP_WORKLOAD = 'SMP';
/** Memory under pressure: a working set of 1.5x RAM cycled through swap (rows P1-*). */
const PRESSURE_WORKLOAD = 'P1';
const ALL_NAMES = [
  ...WORKLOADS.map((w) => w.name),
  MMU_WORKLOAD,
  VM_WORKLOAD,
  SMP_WORKLOAD,
  PRESSURE_WORKLOAD,
  PAGES_WORKLOAD,
];
/** The script that runs one {@link BenchTask} in a fresh process. */
const TASK_SCRIPT = fileURLToPath(new URL('./bench-task.js', import.meta.url));
/** Which native implementation runs each workload (`native-ref/bench list`). */
const NATIVE_IMPLEMENTATIONS: Record<string, string> = {
  B1: 'buddy',
  B2: 'buddy',
  S1: 'slab',
  H1: 'glibc',
  H2: 'glibc',
};
const NATIVE_REPS = '5';
/** The native demand-zero fault's mapping, in MiB: as many pages as VM-fault touches (64 MiB). */
const NATIVE_FAULT_MIB = '64';
/** Our row that `native-ref/pagefault` measures natively. */
const FAULT_ROW = 'VM-fault';
/** The implementation name of the native reference's rows. */
const NATIVE_IMPLEMENTATION = 'native-ref';

/**
 * Runs the benchmarks, each of our measurements in a fresh process (see bench-task.ts); one row
 * per (workload, implementation).
 */
export function benchRows(options: BenchOptions): BenchRow[] {
  const names = options.names.length === 0 ? ALL_NAMES : options.names;
  for (const name of names) {
    if (!ALL_NAMES.includes(name)) {
      throw new UsageError(`unknown workload '${name}': expected ${ALL_NAMES.join(', ')}`);
    }
  }
  const native = options.native && options.ops === undefined ? nativeReferenceFolder() : null;
  const tasks = names.flatMap((name) => tasksFor(name, options, native));
  const progress = new Progress('bench', tasks.length);
  const rows: BenchRow[] = [];
  tasks.forEach((task, done) => {
    progress.update(done);
    rows.push(...task());
  });
  progress.stop();
  return rows;
}

type Task = () => BenchRow[];

/** The tasks of workload `name`: ours, ours in a process, the peer, the native reference. */
function tasksFor(name: string, options: BenchOptions, native: string | null): Task[] {
  const forks = options.forks;
  if (name === MMU_WORKLOAD) return [isolated({ kind: 'mmu', reps: options.reps }, forks)];
  if (name === SMP_WORKLOAD) return [isolated({ kind: 'smp', reps: options.reps }, forks)];
  if (name === PRESSURE_WORKLOAD)
    return [isolated({ kind: 'pressure', reps: options.reps }, forks)];
  if (name === PAGES_WORKLOAD) {
    // Each policy and its lru-cache peer in the same process, as pages --bench measures them.
    const rows = isolated({ kind: 'pages', reps: options.reps }, forks);
    return options.peers
      ? [rows]
      : [() => rows().filter((r) => r.implementation !== LRU_CACHE_PEER)];
  }
  if (name === VM_WORKLOAD) {
    const tasks = [isolated({ kind: 'vm', reps: options.reps }, forks)];
    const pagefault = native === null ? null : nativeTool(native, 'pagefault');
    if (pagefault !== null) tasks.push(() => [measureNativeFault(pagefault)]);
    return tasks;
  }
  const layer = WORKLOADS.find((w) => w.name === name)!.layer;
  const task = { workload: name, ops: options.ops, reps: options.reps };
  const tasks = [isolated({ ...task, kind: 'ours' }, forks)];
  if (layer === 'heap') {
    tasks.push(isolated({ ...task, kind: 'process' }, forks));
    // The peer is measured once: its figure is far from ours either way.
    if (options.peers) tasks.push(isolated({ ...task, kind: 'peer' }, 1));
  }
  const bench = native === null ? null : nativeTool(native, 'bench');
  if (bench !== null) tasks.push(() => [measureNative(bench, name)]);
  return tasks;
}

/**
 * A task run by bench-task.js in `forks` fresh processes, one after the other; each row's
 * figure is the median over them. V8 does not compile the same code the same way in every
 * process (where it inlines, when it re-optimizes), so one process can be 20–40% off its
 * siblings; like JMH's forks, several processes make the figure one of the code, not of one
 * compilation.
 */
function isolated(task: BenchTask, forks: number): Task {
  return () => medianRows(Array.from({ length: forks }, () => runInFreshProcess(task)));
}

function runInFreshProcess(task: BenchTask): BenchRow[] {
  const output = execFileSync(...measuringNodeCommand([TASK_SCRIPT, JSON.stringify(task)]), {
    encoding: 'utf8',
    maxBuffer: 1 << 20,
  });
  return JSON.parse(output) as BenchRow[];
}

/** Row by row, the run with the median ns/op (every run yields the same rows in order). */
function medianRows(runs: readonly BenchRow[][]): BenchRow[] {
  return runs[0]!.map((_, row) => {
    const sorted = runs.map((run) => run[row]!).sort((a, b) => a.nsPerOp - b.nsPerOp);
    return sorted[sorted.length >> 1]!;
  });
}

/**
 * The folder of the native reference, an optional external tool (the C measuring stick of the
 * course, not part of this repository): `$WALLOS_NATIVE_REF` (the folder, or a binary in it),
 * else `../shared/native-ref` beside the package's folder; null when absent. It holds `bench`
 * (the standard workloads) and `pagefault` (the Linux kernel's demand-zero fault).
 */
function nativeReferenceFolder(): string | null {
  const configured = process.env.WALLOS_NATIVE_REF;
  const root = fileURLToPath(new URL('../../', import.meta.url));
  const candidate = configured ?? join(root, '..', 'shared', 'native-ref');
  if (!existsSync(candidate)) return null;
  return statSync(candidate).isDirectory() ? candidate : dirname(candidate);
}

/** The native reference's binary `name`, or null when its folder lacks it. */
function nativeTool(folder: string, name: string): string | null {
  const binary = join(folder, name);
  return existsSync(binary) ? binary : null;
}

/**
 * The Linux kernel's demand-zero fault on this machine, from `pagefault MiB reps`: its JSON
 * line's median ns per page, as the native row of {@link FAULT_ROW}.
 */
function measureNativeFault(binary: string): BenchRow {
  const args = [NATIVE_FAULT_MIB, NATIVE_REPS];
  const output = execFileSync(...measuringCommand(binary, args), { encoding: 'utf8' });
  const line = output.trim().split('\n').pop() ?? '';
  const nsPerOp = (JSON.parse(line) as { median_ns_page: number }).median_ns_page;
  return {
    workload: FAULT_ROW,
    implementation: NATIVE_IMPLEMENTATION,
    nsPerOp,
    opsPerSec: 1e9 / nsPerOp,
  };
}

/** One row from the native reference: its JSON line's median ns per step. */
function measureNative(binary: string, workload: string): BenchRow {
  const implementation = NATIVE_IMPLEMENTATIONS[workload]!;
  const args = [implementation, workload, '--reps', NATIVE_REPS];
  const output = execFileSync(...measuringCommand(binary, args), {
    encoding: 'utf8',
  });
  const line = output.trim().split('\n').pop() ?? '';
  const nsPerOp = (JSON.parse(line) as { median_ns_op: number }).median_ns_op;
  return { workload, implementation: NATIVE_IMPLEMENTATION, nsPerOp, opsPerSec: 1e9 / nsPerOp };
}

/**
 * The rows as a table, each with its speed relative to the native reference of its workload, and
 * each in-process row also relative to our flat row (the "at most 3x flat").
 */
export function formatBench(
  rows: readonly BenchRow[],
  painter: Painter,
  options: Pick<BenchOptions, 'ops' | 'native'>,
): string {
  const nativeOf = nsPerOpOf(rows, NATIVE_IMPLEMENTATION);
  const flatOf = nsPerOpOf(rows, OUR_IMPLEMENTATION);
  const table = formatTable(
    painter,
    ['WORKLOAD', 'IMPLEMENTATION', 'NS/OP', 'OPS/SEC', 'VS NATIVE', 'VS FLAT'],
    rows.map((row) => {
      const native = nativeOf.get(row.workload);
      const flat =
        row.implementation === PROCESS_IMPLEMENTATION ? flatOf.get(row.workload) : undefined;
      return [
        row.workload,
        row.implementation,
        row.nsPerOp.toFixed(1),
        formatCount(Math.round(row.opsPerSec)),
        native === undefined ? '' : formatRatio(row.nsPerOp / native),
        flat === undefined ? '' : formatRatio(row.nsPerOp / flat),
      ];
    }),
    ['left', 'left', 'right', 'right', 'right', 'right'],
  );
  const notes: string[] = [];
  if (rows.some((r) => r.implementation === '@thi.ng/malloc')) {
    notes.push(
      `@thi.ng/malloc runs at most ${formatCount(PEER_MAX_OPS)} steps once (it is too slow for the full count).`,
    );
  }
  for (const row of rows) {
    if (row.ipisPerOp !== undefined) {
      notes.push(`${row.workload}: ${formatCount(row.ipisPerOp)} TLB-shootdown IPIs per munmap.`);
    }
  }
  const native = nativeNote(rows, options);
  if (native !== null) notes.push(native);
  return `${[table, ...notes].join('\n')}\n`;
}

/**
 * Why there is no native row (or no VM-fault one), in one line; null when they are there or
 * none was asked for. With `--ops` it is skipped if installed (it runs the standard step counts
 * only); else it is absent.
 */
function nativeNote(
  rows: readonly BenchRow[],
  options: Pick<BenchOptions, 'ops' | 'native'>,
): string | null {
  if (!options.native) return null;
  const nativeRows = rows.filter((r) => r.implementation === NATIVE_IMPLEMENTATION);
  if (nativeRows.length > 0) {
    const faultless =
      rows.some((r) => r.workload === FAULT_ROW) &&
      !nativeRows.some((r) => r.workload === FAULT_ROW);
    return faultless ? `native-ref has no pagefault: ${FAULT_ROW} has no native row.` : null;
  }
  if (options.ops !== undefined && nativeReferenceFolder() !== null) {
    return 'native-ref skipped: it runs the standard step counts only (drop --ops).';
  }
  return 'native-ref absent: no ../shared/native-ref beside the package and no $WALLOS_NATIVE_REF, so no native row (see docs/workloads.md).';
}

/** Workload → ns/op of `implementation`'s row. */
function nsPerOpOf(rows: readonly BenchRow[], implementation: string): Map<string, number> {
  const rowsOf = rows.filter((r) => r.implementation === implementation);
  return new Map(rowsOf.map((r) => [r.workload, r.nsPerOp]));
}

function formatRatio(ratio: number): string {
  return `${ratio.toFixed(2)}×`;
}
