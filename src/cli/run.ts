/**
 * `wallos-mem run`: boot a machine, run a workload, and report what memory did.
 *
 * The machine is driven through `machine.schedule(done)`, whose `done` test runs before every
 * scheduling step: that is where the run samples each process (new pids, heap footprints) and
 * snapshots /proc at the moment free memory is lowest. After the last exit come the teardown
 * checks: `machine.check()` and, once empty slabs are dropped, free frames back at their boot
 * count.
 */
import { existsSync } from 'node:fs';
import { PAGE_SIZE } from '../hw/constants.js';
import { formatBytes } from '../hw/size.js';
import type { StandardFiles } from '../kernel/files/open-file.js';
import type { Machine } from '../kernel/machine.js';
import type { Process } from '../kernel/process.js';
import type { ReclaimPolicyName } from '../replacement/policy.js';
import type { ReplayResult } from '../trace/index.js';
import { bootMachine } from './arguments.js';
import {
  expectedSignal,
  REPLAY_PROCESS,
  spawnWorkload,
  WORKLOAD_NAMES,
  type WorkloadName,
} from './demo.js';
import { UsageError } from './errors.js';
import {
  formatPressure,
  isOomKill,
  type PressureReport,
  pressureReport,
  swapUsedBytes,
} from './pressure.js';
import { formatCount, formatTable, type Painter, Progress, signalName } from './terminal.js';
import { BUNDLED_TRACE, readTraceFile } from './trace-file.js';

/** What `run` was asked to do. */
export interface RunOptions {
  memory: number;
  seed: number;
  /** CPUs of the machine (default 1). */
  cpus?: number;
  /** A workload name, or the path of a trace file to replay in the trace program. */
  workload: string;
  /** `proc PATH` commands to run on the machine after the workload (`--then`). */
  procCommands: string[];
  /** Bytes of swap (0: none); by default as much as RAM for `pressure`, else none. */
  swap?: number;
  /** The reclaim policy (default `linux`). */
  reclaim?: ReclaimPolicyName;
}

/** One process of the run, as the report shows it. */
export interface ProcessRow {
  pid: number;
  ppid: number;
  name: string;
  /** `exit 0`, `SIGSEGV`… */
  status: string;
  exitCode: number | null;
  signal: number | null;
  peakRssBytes: number;
  faults: number;
  /** Faults that read the page back from swap. */
  majorFaults: number;
  cowBreaks: number;
  /** Largest heap footprint (brk heap + mmapped blocks) seen. */
  heapPeakBytes: number;
  /** Whether it ended as its program meant to (the faulting demo is meant to die). */
  asExpected: boolean;
  /** What it wrote to stdout, and to stderr (where the kernel's segfault notice goes too),
   * with what the children it forked wrote there (they share its open files); empty for a
   * forked child, whose output shows in its ancestor's row. */
  stdout: string;
  stderr: string;
  /** Why the kernel killed it (`out of memory`), or what the program threw; else null. */
  error: string | null;
}

/** /proc as it was when free memory was lowest. */
export interface PeakSnapshot {
  freeFrames: number;
  processesAlive: number;
  meminfo: Record<string, number>;
  buddyinfo: string;
  slabinfo: SlabRow[];
}

/** One line of /proc/slabinfo. */
export interface SlabRow {
  name: string;
  activeObjects: number;
  objects: number;
  objectSize: number;
  slabs: number;
  pagesPerSlab: number;
}

/** Whether all memory came back after the last process ended. */
export interface Teardown {
  freeFrames: number;
  bootFreeFrames: number;
  memoryReturned: boolean;
  /** `machine.check()`'s complaint, or null when it passed. */
  checkFailure: string | null;
  kernelOopses: string[];
  ok: boolean;
}

/** One CPU at the end of the run: the TLB-shootdown IPIs it received, its user TLB entries. */
export interface CpuRow {
  cpu: number;
  shootdownsReceived: number;
  userTlbEntries: number;
}

/** Everything `run` found out; also its `--json` output. */
export interface RunReport {
  memoryBytes: number;
  seed: number;
  cpus: CpuRow[];
  /** TLB-shootdown IPIs sent in all. */
  ipisSent: number;
  workload: string;
  bootLog: string[];
  processes: ProcessRow[];
  replay: ReplayResult | null;
  peak: PeakSnapshot | null;
  teardown: Teardown;
  /** What reclaim did, on a machine with swap or under the pressure workload; else null. */
  pressure: PressureReport | null;
  /** The `--then` commands and what they printed. */
  afterRun: { command: string; output: string }[];
}

/** The meminfo fields the report shows. */
const MEMINFO_HIGHLIGHTS = [
  'MemTotal',
  'MemFree',
  'MemAvailable',
  'AnonPages',
  'PageTables',
  'KernelStack',
  'Slab',
  'VmallocUsed',
] as const;

const PROC_COMMAND = /^proc\s+(\S+)$/;

/** The /proc files of `--then` commands (`proc meminfo`, `proc /proc/1/maps`); a usage error for anything else. */
export function parseThenCommands(commands: readonly string[]): string[] {
  return commands.map((command) => {
    const match = PROC_COMMAND.exec(command.trim());
    if (match === null) {
      throw new UsageError(`--then '${command}': expected 'proc FILE' (e.g. 'proc meminfo')`);
    }
    return match[1]!;
  });
}

/** Boots, runs the workload, tears down and returns the report. */
export function runWorkload(options: RunOptions): RunReport {
  const procPaths = parseThenCommands(options.procCommands);
  const { name, tracePath } = resolveWorkload(options.workload);
  const trace = readTraceFile(tracePath);
  const swap = options.swap ?? (name === 'pressure' ? options.memory : 0);
  const policy = options.reclaim ?? 'linux';
  const machine = bootMachine(options.memory, options.seed, {
    cpus: options.cpus ?? 1,
    swap,
    reclaim: policy,
  });
  const results = spawnWorkload(machine, name, trace, options.seed);
  const watcher = new Watcher(machine);
  const progress = new Progress('processes', 1);
  machine.schedule(() => {
    watcher.sample();
    progress.update(watcher.ended(), watcher.seen.size);
    return false;
  });
  progress.stop();
  watcher.sample();
  const cpus = cpuRows(machine);
  const pressure =
    swap > 0 || name === 'pressure'
      ? pressureReport(machine, policy, watcher.peakSwapUsedBytes)
      : null;
  const teardown = tearDown(machine);
  return {
    memoryBytes: options.memory,
    seed: options.seed,
    cpus,
    ipisSent: machine.vm.cpus.ipisSent,
    workload: options.workload,
    bootLog: [...machine.bootLog],
    processes: watcher.rows(results.replay, name === 'pressure' && swap === 0),
    replay: results.replay,
    peak: watcher.peak,
    teardown,
    pressure,
    afterRun: procPaths.map((path) => ({
      command: `proc ${path}`,
      output: machine.procfs.read(path),
    })),
  };
}

/** A workload name, or a trace path (the trace program replays it alone). */
function resolveWorkload(workload: string): { name: WorkloadName; tracePath: string } {
  const names: readonly string[] = WORKLOAD_NAMES;
  if (names.includes(workload)) {
    return { name: workload as WorkloadName, tracePath: BUNDLED_TRACE };
  }
  // Any existing file is read as a trace: if it is none, the parser says what is wrong with it.
  if (/\.trace(\.gz)?$/.test(workload) || existsSync(workload)) {
    return { name: 'trace', tracePath: workload };
  }
  throw new UsageError(
    `unknown workload '${workload}': expected one of ${names.join(', ')} or a .trace[.gz] file`,
  );
}

/** Follows the processes of a run from the scheduler's hook. */
class Watcher {
  readonly seen = new Map<number, Process>();
  private readonly heapPeaks = new Map<number, number>();
  peak: PeakSnapshot | null = null;
  peakSwapUsedBytes = 0;

  constructor(private readonly machine: Machine) {}

  sample(): void {
    const alive = this.machine.processList;
    for (const process of alive) {
      this.seen.set(process.pid, process);
      const footprint = process.heap?.footprint() ?? 0;
      if (footprint > (this.heapPeaks.get(process.pid) ?? 0)) {
        this.heapPeaks.set(process.pid, footprint);
      }
    }
    this.peakSwapUsedBytes = Math.max(this.peakSwapUsedBytes, swapUsedBytes(this.machine));
    const free = this.machine.frames.freeFrames;
    if (alive.length > 0 && (this.peak === null || free < this.peak.freeFrames)) {
      this.peak = snapshot(this.machine, alive.length);
    }
  }

  ended(): number {
    let ended = 0;
    for (const process of this.seen.values()) if (process.ended) ended++;
    return ended;
  }

  /** The processes' rows; with `oomExpected`, an OOM kill is how a process may end. */
  rows(replay: ReplayResult | null, oomExpected: boolean): ProcessRow[] {
    const shown = new Set<StandardFiles>();
    return [...this.seen.values()].map((process) => {
      const sampled = this.heapPeaks.get(process.pid) ?? 0;
      const replayed = process.name === REPLAY_PROCESS ? (replay?.maxFootprintBytes ?? 0) : 0;
      const showsOutput = !shown.has(process.standard);
      shown.add(process.standard);
      const row = processRow(process, Math.max(sampled, replayed), showsOutput);
      if (oomExpected && isOomKill(process)) row.asExpected = true;
      return row;
    });
  }
}

function processRow(process: Process, heapPeakBytes: number, showsOutput: boolean): ProcessRow {
  const space = process.space;
  const signal = expectedSignal(process.name);
  return {
    pid: process.pid,
    ppid: process.ppid,
    name: process.name,
    status: statusOf(process),
    exitCode: process.exitCode,
    signal: process.signal,
    peakRssBytes: space.peakRss * PAGE_SIZE,
    faults: space.minorFaults,
    majorFaults: space.majorFaults,
    cowBreaks: space.cowBreaks,
    heapPeakBytes,
    asExpected:
      signal === null
        ? process.exitCode === 0
        : process.signal === signal && process.exitCode === null,
    stdout: showsOutput ? process.stdout.text() : '',
    stderr: showsOutput ? process.stderr.text() : '',
    error: process.error,
  };
}

function statusOf(process: Process): string {
  if (!process.ended) return process.state;
  if (process.signal !== null) return signalName(process.signal);
  return `exit ${process.exitCode}`;
}

function snapshot(machine: Machine, processesAlive: number): PeakSnapshot {
  return {
    freeFrames: machine.frames.freeFrames,
    processesAlive,
    meminfo: parseMeminfo(machine.procfs.read('/proc/meminfo')),
    buddyinfo: machine.procfs.read('/proc/buddyinfo'),
    slabinfo: parseSlabinfo(machine.procfs.read('/proc/slabinfo')),
  };
}

/** `Key:   123 kB` lines as numbers (kB, or a plain count). */
function parseMeminfo(text: string): Record<string, number> {
  const fields: Record<string, number> = {};
  for (const line of text.split('\n')) {
    const match = /^([^:]+):\s+(\d+)/.exec(line);
    if (match !== null) fields[match[1]!] = Number(match[2]);
  }
  return fields;
}

/** The cache lines of slabinfo 2.1 (the two header lines skipped). */
function parseSlabinfo(text: string): SlabRow[] {
  return text
    .split('\n')
    .filter((line) => line !== '' && !line.startsWith('slabinfo') && !line.startsWith('#'))
    .map((line) => {
      const f = line.split(/\s+/);
      return {
        name: f[0]!,
        activeObjects: Number(f[1]),
        objects: Number(f[2]),
        objectSize: Number(f[3]),
        pagesPerSlab: Number(f[5]),
        slabs: Number(f[14]),
      };
    });
}

/** Each CPU's shootdowns and the user translations its TLB still holds. */
function cpuRows(machine: Machine): CpuRow[] {
  return machine.vm.cpus.all.map((cpu) => ({
    cpu: cpu.id,
    shootdownsReceived: cpu.shootdownsReceived,
    userTlbEntries: cpu.mmu.tlb.entries().filter((entry) => entry.user).length,
  }));
}

/** After the last exit: check every layer, drop caches, count the free frames. */
function tearDown(machine: Machine): Teardown {
  let checkFailure: string | null = null;
  try {
    machine.check();
  } catch (error) {
    checkFailure = error instanceof Error ? error.message : String(error);
  }
  machine.dropCaches();
  const freeFrames = machine.frames.freeFrames;
  const memoryReturned = freeFrames === machine.bootFreeFrames;
  const kernelOopses = machine.oopses.map((oops) => oops.message);
  return {
    freeFrames,
    bootFreeFrames: machine.bootFreeFrames,
    memoryReturned,
    checkFailure,
    kernelOopses,
    ok: memoryReturned && checkFailure === null && kernelOopses.length === 0,
  };
}

// ─── the text report ──────────────────────────────────────────────────────────────────────

/** The report for people, section by section. */
export function formatRunReport(report: RunReport, painter: Painter): string {
  const sections = [
    `wallos-mem run: ${formatBytes(report.memoryBytes)} of RAM, ${plural(report.cpus.length, 'CPU', 'CPUs')}, seed ${report.seed}, workload ${report.workload}`,
    `${painter.heading('Boot')}\n${report.bootLog.join('\n')}`,
    `${painter.heading('Processes')}\n${processTable(report.processes, painter)}`,
    programOutput(report.processes, painter),
    cpuSection(report, painter),
  ];
  if (report.replay !== null) sections.push(replaySection(report.replay, painter));
  if (report.peak !== null) sections.push(peakSection(report.peak, painter));
  if (report.pressure !== null) sections.push(formatPressure(report.pressure, painter));
  sections.push(`${painter.heading('Teardown')}\n${teardownLine(report, painter)}`);
  for (const { command, output } of report.afterRun) {
    sections.push(`${painter.heading(command)}\n${output.trimEnd()}`);
  }
  return `${sections.join('\n\n')}\n`;
}

function processTable(rows: ProcessRow[], painter: Painter): string {
  return formatTable(
    painter,
    ['PID', 'PPID', 'NAME', 'STATUS', 'PEAK RSS', 'FAULTS', 'MAJOR', 'COW BREAKS', 'HEAP PEAK'],
    rows.map((row) => [
      row.pid,
      row.ppid,
      row.name,
      painter.paint(row.asExpected ? 'green' : 'red', row.status),
      formatBytes(row.peakRssBytes),
      formatCount(row.faults),
      formatCount(row.majorFaults),
      formatCount(row.cowBreaks),
      formatBytes(row.heapPeakBytes),
    ]),
    ['right', 'right', 'left', 'left', 'right', 'right', 'right', 'right', 'right'],
  );
}

function cpuSection(report: RunReport, painter: Painter): string {
  const table = formatTable(
    painter,
    ['CPU', 'TLB SHOOTDOWNS RECEIVED', 'USER TLB ENTRIES'],
    report.cpus.map((row) => [
      row.cpu,
      formatCount(row.shootdownsReceived),
      formatCount(row.userTlbEntries),
    ]),
    ['right', 'right', 'right'],
  );
  const sent = `${formatCount(report.ipisSent)} TLB-shootdown IPIs sent in all`;
  return `${painter.heading('CPUs')}\n${table}\n${sent}`;
}

function programOutput(rows: ProcessRow[], painter: Painter): string {
  const lines = rows.flatMap((row) => [
    ...linesOf(row.stdout).map((line) => `${row.name}[${row.pid}]: ${line}`),
    ...linesOf(row.stderr).map((line) => painter.paint('yellow', line)),
    ...(row.error !== null && !row.stderr.includes(row.error)
      ? [painter.paint('yellow', `${row.name}[${row.pid}]: killed: ${row.error}`)]
      : []),
  ]);
  return `${painter.heading('Program output')}\n${lines.join('\n') || '(none)'}`;
}

function linesOf(text: string): string[] {
  return text.split('\n').filter((line) => line !== '');
}

function replaySection(replay: ReplayResult, painter: Painter): string {
  const ratio = replay.peakFootprintBytes / Math.max(1, replay.peakLiveBytes);
  return (
    `${painter.heading('Trace replay (py-replay, inside its process)')}\n` +
    `${formatCount(replay.ops)} ops, peak live ${formatBytes(replay.peakLiveBytes)}, ` +
    `peak footprint ${formatBytes(replay.peakFootprintBytes)} (ratio ${ratio.toFixed(3)}), ` +
    `every block's contents verified: ${replay.verified ? 'yes' : `NO (${replay.failure})`}`
  );
}

function peakSection(peak: PeakSnapshot, painter: Painter): string {
  const meminfo = formatTable(
    painter,
    ['MEMINFO', 'kB'],
    MEMINFO_HIGHLIGHTS.filter((key) => key in peak.meminfo).map((key) => [
      key,
      formatCount(peak.meminfo[key]!),
    ]),
    ['left', 'right'],
  );
  const slabs = formatTable(
    painter,
    ['CACHE', 'ACTIVE', 'OBJECTS', 'OBJ SIZE', 'SLABS', 'MEMORY'],
    peak.slabinfo
      .filter((slab) => slab.objects > 0)
      .map((slab) => [
        slab.name,
        formatCount(slab.activeObjects),
        formatCount(slab.objects),
        slab.objectSize,
        slab.slabs,
        formatBytes(slab.slabs * slab.pagesPerSlab * PAGE_SIZE),
      ]),
    ['left', 'right', 'right', 'right', 'right', 'right'],
  );
  return (
    `${painter.heading(`Memory at its lowest (${formatCount(peak.freeFrames)} free frames, ${plural(peak.processesAlive, 'process', 'processes')} alive)`)}\n` +
    `${meminfo}\n/proc/buddyinfo:\n${peak.buddyinfo.trimEnd()}\nslabinfo (caches in use):\n${slabs}`
  );
}

/** `1 process`, `3 processes`. */
function plural(count: number, one: string, many: string): string {
  return `${count} ${count === 1 ? one : many}`;
}

function teardownLine(report: RunReport, painter: Painter): string {
  const t = report.teardown;
  const harmed = report.processes.filter((row) => !row.asExpected);
  const frames = `${formatCount(t.freeFrames)} free frames after all exits and drop_caches, ${formatCount(t.bootFreeFrames)} at boot`;
  const lines: string[] = [];
  if (t.ok) {
    lines.push(painter.paint('green', `All memory came back: ${frames}; machine.check() passed.`));
  } else {
    if (!t.memoryReturned) lines.push(painter.paint('red', `Memory leaked: ${frames}.`));
    if (t.checkFailure !== null) {
      lines.push(painter.paint('red', `machine.check() failed: ${t.checkFailure}`));
    }
    for (const oops of t.kernelOopses) lines.push(painter.paint('red', `kernel oops: ${oops}`));
  }
  for (const row of harmed) {
    lines.push(painter.paint('red', `${row.name}[${row.pid}] ended unexpectedly: ${row.status}`));
  }
  return lines.join('\n');
}

/** Whether the run went as it should: memory back, checks passed, no process harmed. */
export function runSucceeded(report: RunReport): boolean {
  return report.teardown.ok && report.processes.every((row) => row.asExpected);
}
