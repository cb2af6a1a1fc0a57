/**
 * The `pressure` workload of `wallos-mem run`: processes that together want more memory than
 * the machine has, and the report of what reclaim did about it.
 *
 * ```
 *  pid 1..3  pressure-N  maps half of RAM and writes a stamp into every page; then sweeps it
 *                        again SWEEPS times, checking each page's stamp and writing the next,
 *                        and between pages touches one page of its hot eighth (seeded); yields
 *                        every SLICE pages, so the three interleave
 * ```
 *
 * Together they want 1.5 × RAM. With swap, reclaim moves the pages not in use to the swap
 * device and major faults bring them back, every stamp checked; the hot pages show what a
 * policy that ages pages (`linux`, `clock`) saves over one that does not (`fifo`). Without
 * swap memory runs out, and the OOM killer kills (SIGKILL) the process with the highest
 * badness: in that scenario such a kill is the expected end.
 */
import { PAGE_SIZE } from '../hw/constants.js';
import { formatBytes } from '../hw/size.js';
import type { Machine } from '../kernel/machine.js';
import { OOM_KILL_LINE } from '../kernel/oom-killer.js';
import type { Process } from '../kernel/process.js';
import type { UserContext } from '../kernel/user-context.js';
import { MAP_ANONYMOUS, MAP_PRIVATE, PROT_READ, PROT_WRITE, SIGKILL } from '../linux-abi.js';
import { mulberry32 } from '../random.js';
import type { ReclaimPolicyName } from '../replacement/policy.js';
import { formatCount, formatTable, type Painter } from './terminal.js';

/** The processes of the workload, each with half of RAM. */
const PRESSURE_PROCESSES = 3;
const WORKING_SET_SHARE = 0.5;
/** Sweeps over the working set after the first, writing one. */
const SWEEPS = 2;
/** Pages a process touches between two yields. */
const SLICE = 64;
/** The share of its pages a process keeps hot (touched between every two pages of a sweep). */
const HOT_SHARE = 1 / 8;
/** The name prefix of the workload's processes. */
const PRESSURE_PREFIX = 'pressure-';

/** The /proc/vmstat counters the report shows, in this order. */
export const PRESSURE_COUNTERS = [
  'pgmajfault',
  'pswpin',
  'pswpout',
  'pgscan_kswapd',
  'pgscan_direct',
  'pgsteal_kswapd',
  'pgsteal_direct',
  'oom_kill',
] as const;

/** What reclaim did during a run. */
export interface PressureReport {
  /** Size of the swap device (0: none). */
  swapBytes: number;
  /** The reclaim policy (meaningful with swap). */
  policy: ReclaimPolicyName;
  /** Most swap in use at once. */
  peakSwapUsedBytes: number;
  /** The vmstat counters of {@link PRESSURE_COUNTERS} after the run. */
  counters: Record<(typeof PRESSURE_COUNTERS)[number], number>;
  /** The OOM killer's lines of the kernel log. */
  oomKills: string[];
}

/** Starts the workload's processes on `machine`. */
export function spawnPressure(machine: Machine, seed: number): void {
  const ram = machine.frames.managedFrames * PAGE_SIZE;
  const pages = Math.floor((ram * WORKING_SET_SHARE) / PAGE_SIZE);
  for (let i = 0; i < PRESSURE_PROCESSES; i++) {
    machine.spawn(pressureProgram(i, pages, mulberry32(seed + i)), {
      name: `${PRESSURE_PREFIX}${i + 1}`,
    });
  }
}

/** True for a process of the pressure workload killed by the OOM killer. */
export function isOomKill(process: Process): boolean {
  return process.name.startsWith(PRESSURE_PREFIX) && process.signal === SIGKILL;
}

/** The stamp page `page` of process `index` holds after sweep `sweep`. */
function stamp(index: number, page: number, sweep: number): number {
  return (((index + 1) << 24) ^ (page << 2) ^ sweep) >>> 0;
}

/** One process of the workload: its working set written, then swept and checked. */
function pressureProgram(index: number, pages: number, random: () => number) {
  return function* pressure(ctx: UserContext) {
    const base = ctx.mmap(
      0,
      pages * PAGE_SIZE,
      PROT_READ | PROT_WRITE,
      MAP_PRIVATE | MAP_ANONYMOUS,
    );
    const hotPages = Math.max(1, Math.floor(pages * HOT_SHARE));
    const hot = new Uint32Array(hotPages).map(() => Math.floor(random() * pages));
    let bad = 0;
    for (let sweep = 0; sweep <= SWEEPS; sweep++) {
      for (let page = 0; page < pages; page++) {
        const va = base + page * PAGE_SIZE;
        if (sweep > 0 && ctx.load32(va) !== stamp(index, page, sweep - 1)) bad++;
        ctx.store32(va, stamp(index, page, sweep));
        ctx.load8(base + hot[page % hotPages]! * PAGE_SIZE + 4);
        if (page % SLICE === SLICE - 1) yield;
      }
    }
    ctx.munmap(base, pages * PAGE_SIZE);
    return bad === 0 ? 0 : 1;
  };
}

/** The counters and swap use of `machine` after a run whose swap peak was `peakSwapUsed`. */
export function pressureReport(
  machine: Machine,
  policy: ReclaimPolicyName,
  peakSwapUsedBytes: number,
): PressureReport {
  const vmstat = machine.procfs.read('/proc/vmstat');
  const counter = (name: string) => Number(new RegExp(`^${name} (\\d+)$`, 'm').exec(vmstat)?.[1]);
  const device = machine.vm.reclaim?.device;
  return {
    swapBytes: (device?.usableSlots ?? 0) * PAGE_SIZE,
    policy,
    peakSwapUsedBytes,
    counters: Object.fromEntries(
      PRESSURE_COUNTERS.map((name) => [name, counter(name)]),
    ) as PressureReport['counters'],
    oomKills: machine.bootLog.filter((line) => line.startsWith(OOM_KILL_LINE)),
  };
}

/** Swap in use on `machine` now, in bytes. */
export function swapUsedBytes(machine: Machine): number {
  return (machine.vm.reclaim?.device.usedSlots ?? 0) * PAGE_SIZE;
}

/** The report's section on reclaim. */
export function formatPressure(pressure: PressureReport, painter: Painter): string {
  const swap =
    pressure.swapBytes === 0
      ? 'no swap: what does not fit is the OOM killer'
      : `swap ${formatBytes(pressure.swapBytes)}, at most ${formatBytes(pressure.peakSwapUsedBytes)} used; reclaim policy ${pressure.policy}`;
  const table = formatTable(
    painter,
    ['VMSTAT', 'COUNT'],
    PRESSURE_COUNTERS.map((name) => [name, formatCount(pressure.counters[name])]),
    ['left', 'right'],
  );
  const kills = pressure.oomKills.map((line) => `${painter.paint('yellow', line)}\n`).join('');
  return `${painter.heading('Memory pressure')}\n${swap}\n${kills}${table}`;
}

/** One policy's run in a comparison of policies. */
export interface PolicyRun {
  policy: ReclaimPolicyName;
  pressure: PressureReport;
  /** Memory came back, the checks passed and every process ended as it should. */
  ok: boolean;
}

/** The policies side by side: major faults first. */
export function formatPolicyComparison(runs: readonly PolicyRun[], painter: Painter): string {
  const table = formatTable(
    painter,
    ['POLICY', 'MAJOR FAULTS', 'PSWPIN', 'PSWPOUT', 'SCANNED', 'STOLEN', 'PEAK SWAP', 'RUN'],
    runs.map(({ policy, pressure, ok }) => {
      const c = pressure.counters;
      return [
        policy,
        formatCount(c.pgmajfault),
        formatCount(c.pswpin),
        formatCount(c.pswpout),
        formatCount(c.pgscan_kswapd + c.pgscan_direct),
        formatCount(c.pgsteal_kswapd + c.pgsteal_direct),
        formatBytes(pressure.peakSwapUsedBytes),
        painter.paint(ok ? 'green' : 'red', ok ? 'ok' : 'FAILED'),
      ];
    }),
    ['left', 'right', 'right', 'right', 'right', 'right', 'right', 'left'],
  );
  return `${painter.heading('Reclaim policies compared')}\n${table}\n`;
}
