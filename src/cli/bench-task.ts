/**
 * One `bench` measurement in a process of its own: `node bench-task.js '<BenchTask JSON>'`
 * prints the rows it measured as JSON.
 *
 * Each row gets a fresh V8, as the native reference runs each workload in a process of its own:
 * in one shared process the workload loop's call sites would see every allocator measured
 * before, and JIT code specialised for one would slow down the next.
 */
import { basename } from 'node:path';
import { pathToFileURL } from 'node:url';
import { buddyWorkloadTarget } from '../bench/buddy.js';
import { FlatHeapSlots, measureHeapInProcess, ThingMallocSlots } from '../bench/heap.js';
import { benchTranslatedLoad } from '../bench/mmu.js';
import { benchReplacementRows } from '../bench/pages.js';
import { benchPressure } from '../bench/pressure.js';
import { createSlabS1 } from '../bench/slab.js';
import { benchShootdowns } from '../bench/smp.js';
import { benchVirtualMemory } from '../bench/vm.js';
import {
  type BenchRow,
  measureWorkload,
  OUR_IMPLEMENTATION,
  type SlotAllocator,
  WORKLOADS,
  type Workload,
} from '../bench/workloads.js';
import { readPageTrace, SAMPLE_PAGE_TRACES } from './pages.js';

/** What one task measures: a standard workload on one implementation, or MMU / VM / SMP. */
export interface BenchTask {
  kind: 'ours' | 'process' | 'peer' | 'mmu' | 'vm' | 'smp' | 'pressure' | 'pages';
  /** The workload's name (for ours, process and peer). */
  workload?: string;
  /** Steps instead of the workload's standard count. */
  ops?: number;
  reps: number;
}

/**
 * @thi.ng/malloc scans a free list per call (tens of µs a step at 10,000 slots), so it runs at
 * most this many steps, once after its warm-up: past ~3 × slots steps the live set is steady,
 * so its ns/step holds for the full count.
 */
export const PEER_MAX_OPS = 50_000;
const PEER_REPS = 1;

const now = (): number => performance.now();

/** Runs `task` in this process and returns its rows. */
export function runBenchTask(task: BenchTask): BenchRow[] {
  if (task.kind === 'mmu') return benchTranslatedLoad(now);
  if (task.kind === 'vm') return benchVirtualMemory(now);
  if (task.kind === 'smp') return benchShootdowns(now);
  if (task.kind === 'pressure') return benchPressure(now, task.reps);
  if (task.kind === 'pages') return benchReplacementRows(samplePageTraces(), now, task.reps);
  const standard = WORKLOADS.find((w) => w.name === task.workload);
  if (standard === undefined) throw new Error(`no workload '${task.workload}'`);
  const workload: Workload = { ...standard, ops: task.ops ?? standard.ops };
  if (task.kind === 'process') return [measureHeapInProcess(workload, now, task.reps)];
  if (task.kind === 'peer') return [measurePeer(workload)];
  return [measureWorkload(workload, OUR_IMPLEMENTATION, ourTarget(workload), now, task.reps)];
}

/** The lab's sample traces (cpp, ps), parsed. */
function samplePageTraces() {
  return SAMPLE_PAGE_TRACES.map((path) => ({
    name: basename(path, '.trace'),
    trace: readPageTrace(path),
  }));
}

/** Our allocator of the workload's layer, fresh. */
function ourTarget(workload: Workload): SlotAllocator {
  if (workload.layer === 'buddy') return buddyWorkloadTarget();
  if (workload.layer === 'slab') return createSlabS1().slots;
  return new FlatHeapSlots();
}

function measurePeer(workload: Workload): BenchRow {
  const capped = { ...workload, ops: Math.min(workload.ops, PEER_MAX_OPS) };
  const row = measureWorkload(capped, '@thi.ng/malloc', new ThingMallocSlots(), now, PEER_REPS);
  return { ...row, workload: workload.name };
}

const runAsScript =
  process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href;
if (runAsScript) {
  process.stdout.write(JSON.stringify(runBenchTask(JSON.parse(process.argv[2]) as BenchTask)));
}
