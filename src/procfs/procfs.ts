/**
 * /proc, in Linux's exact formats, generated on every read from the live state of the layers.
 * `read` is synchronous and may be called at any time, also from inside a running program.
 *
 *   /proc/meminfo  /proc/buddyinfo  /proc/slabinfo  /proc/vmstat  /proc/swaps  /proc/zoneinfo
 *   /proc/cpuinfo  /proc/interrupts
 *   /proc/sys/kernel/randomize_va_space
 *   /proc/PID/maps  /proc/PID/status  /proc/PID/stat  /proc/PID/smaps  /proc/PID/oom_score
 *   /proc/PID/oom_score_adj   (PID may be `self` inside a program)
 *
 * A file may be named without its `/proc/` prefix (`meminfo`, `1/maps`), as a shell's `cat`
 * after `cd /proc` would take it.
 */
import { WallosError } from '../errors.js';
import { oomScore } from '../kernel/oom-killer.js';
import type { Process } from '../kernel/process.js';
import type { KernelView } from './kernel-view.js';
import { formatMeminfo } from './meminfo.js';
import { formatSmaps } from './smaps.js';
import { formatCpuinfo, formatInterrupts } from './smp.js';
import { formatStat } from './stat.js';
import { formatStatus } from './status.js';
import { formatVmstat } from './vmstat.js';
import { formatZoneinfo } from './zoneinfo.js';

/** /proc/swaps with no swap device: the header alone. */
const SWAPS_HEADER = 'Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n';
/** The files about the whole machine, by their names under /proc. */
const SYSTEM_FILES = [
  'meminfo',
  'buddyinfo',
  'slabinfo',
  'vmstat',
  'swaps',
  'zoneinfo',
  'cpuinfo',
  'interrupts',
  'sys/kernel/randomize_va_space',
];
const PID_FILES = ['maps', 'status', 'stat', 'smaps', 'oom_score', 'oom_score_adj'];

/** A path that /proc does not have (or a process that does not exist); names the files it has. */
export class ProcFsError extends WallosError {
  constructor(path: string, files: readonly string[]) {
    super('ENOENT', `${path}: no such file in /proc (it has: ${files.join(', ')})`);
  }
}

const PROC_PREFIX = '/proc/';

/** `meminfo` → `/proc/meminfo`; a path that starts with `/` is kept as it is. */
export function procPath(name: string): string {
  return name.startsWith('/') ? name : `${PROC_PREFIX}${name}`;
}

const PID_PATH = new RegExp(`^/proc/(\\d+|self)/(${PID_FILES.join('|')})$`);

export class ProcFs {
  constructor(private readonly machine: KernelView) {}

  /**
   * The text of a /proc file, by its path or its name under /proc (`meminfo`, `1/maps`).
   * @throws ProcFsError for an unknown path or process.
   */
  read(path: string): string {
    return this.machine.atCpl0(() => this.generate(procPath(path)));
  }

  private generate(path: string): string {
    const m = this.machine;
    switch (path) {
      case '/proc/meminfo':
        return formatMeminfo(m);
      case '/proc/buddyinfo':
        return m.frames.buddyinfo();
      case '/proc/slabinfo':
        return m.slab.slabinfo();
      case '/proc/vmstat':
        return formatVmstat(m);
      case '/proc/swaps':
        return m.vm.reclaim?.device.procSwaps() ?? SWAPS_HEADER;
      case '/proc/zoneinfo':
        return formatZoneinfo(m);
      case '/proc/cpuinfo':
        return formatCpuinfo(m);
      case '/proc/interrupts':
        return formatInterrupts(m);
      case '/proc/sys/kernel/randomize_va_space':
        return `${m.randomizeVaSpace}\n`;
    }
    const match = PID_PATH.exec(path);
    const process = match === null ? undefined : this.processFor(match[1]!);
    if (match === null || process === undefined) throw new ProcFsError(path, this.names());
    switch (match[2]) {
      case 'maps':
        return mapsOf(process);
      case 'smaps':
        return formatSmaps(process);
      case 'stat':
        return formatStat(process);
      case 'oom_score':
        return `${oomScore(process, m.totalPages)}\n`;
      case 'oom_score_adj':
        return `${process.oomScoreAdj}\n`;
      default:
        return formatStatus(process, m.vm.cpus.count);
    }
  }

  /** The paths `read` accepts now (PID files for every process in the table). */
  list(): string[] {
    const paths = SYSTEM_FILES.map(procPath);
    for (const p of this.machine.processList)
      for (const file of PID_FILES) paths.push(`/proc/${p.pid}/${file}`);
    return paths;
  }

  /** What /proc holds, by short name (`meminfo`, `PID/maps`…), for an error message. */
  private names(): string[] {
    const pids = this.machine.processList.map((p) => p.pid);
    if (pids.length === 0) return SYSTEM_FILES;
    const perProcess = PID_FILES.map((file) => `PID/${file}`);
    return [
      ...SYSTEM_FILES,
      ...perProcess.slice(0, -1),
      `${perProcess.at(-1)} (PID: ${pids.join(' ')})`,
    ];
  }

  private processFor(pid: string): Process | undefined {
    if (pid === 'self') return this.machine.current ?? undefined;
    return this.machine.process(Number(pid));
  }
}

/** `/proc/PID/maps`: one line per VMA; a zombie has none, as on Linux. */
function mapsOf(process: Process): string {
  if (process.ended) return '';
  return process.space.vmas.items.map((vma) => `${vma.mapsLine()}\n`).join('');
}
