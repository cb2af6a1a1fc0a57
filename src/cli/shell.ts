/**
 * `wallos-mem shell`: a terminal on a live machine, in the spirit of WallOS's.
 *
 * Processes here live until killed: each runs a *resident* program, a generator that loops
 * forever taking jobs from its own queue, one per `yield`. A command that acts inside a
 * process (alloc, free, touch, mmap, fork) queues a job there and runs the scheduler until
 * the job is done or the process is dead — so the work really happens in user mode, in that
 * process's address space, and a bad `touch` gets the process killed by SIGSEGV.
 *
 * ```
 *  shell ──queue──► resident(pid 2) ── ctx.malloc / ctx.store8 / ctx.fork … ──► kernel
 *        ◄─result──       (reaps its exited children each time round, like a SIGCHLD handler)
 * ```
 */
import { createInterface, type Interface } from 'node:readline';
import { formatAddress, parseAddress } from '../hw/address.js';
import { PAGE_SIZE } from '../hw/constants.js';
import type { PageWalk } from '../hw/mmu.js';
import { formatBytes, parseSize } from '../hw/size.js';
import { ProcessTermination } from '../kernel/errors.js';
import { Machine } from '../kernel/machine.js';
import type { Process } from '../kernel/process.js';
import type { UserContext } from '../kernel/user-context.js';
import {
  errnoName,
  MADV_PAGEOUT,
  MAP_ANONYMOUS,
  MAP_PRIVATE,
  PROT_READ,
  PROT_WRITE,
  SIGKILL,
} from '../linux-abi.js';
import { formatLru, formatSwapon, LRU_ROWS_SHOWN } from './shell-reclaim.js';
import { formatCount, formatTable, Painter, signalName } from './terminal.js';

const HISTORY_SIZE = 1000;
const TLB_ROWS_SHOWN = 32;

/** A bad command: its message is printed and the shell goes on. */
class ShellError extends Error {}

/** Work queued for a resident process; `run` executes inside it. */
interface Job {
  run(ctx: UserContext): string;
  done: boolean;
  result: string;
}

/** The queue of one resident process, and the children it has forked (to reap). */
class Resident {
  readonly jobs: Job[] = [];
  readonly children: number[] = [];
}

const HELP = `commands:
  spawn NAME            start a resident process
  ps                    list processes
  alloc PID SIZE        malloc(SIZE) in PID
  free PID ADDR         free(ADDR) in PID
  mmap PID SIZE         map SIZE bytes of anonymous read-write memory in PID
  touch PID ADDR [SIZE] write one byte in every page of [ADDR, ADDR+SIZE) in PID
  fork PID              fork PID (the child is resident too)
  kill PID              send SIGKILL
  cat FILE              print a /proc file (meminfo, buddyinfo, vmstat, swaps, PID/maps, PID/smaps…)
  walk PID VA           the page walk of VA in PID's page tables, level by level
  cpus                  every CPU: what its CR3 holds, shootdowns received, TLB entries
  cpu N                 look at CPU N (the one 'tlb' shows)
  tlb                   the cached translations of that CPU's TLB
  pageout PID ADDR [SIZE]  madvise(MADV_PAGEOUT) in PID: its pages there go to swap now
  swapon                the swap device, as swapon --show prints it
  lru [N]               reclaim's lists, newest first (N pages of each, default ${LRU_ROWS_SHOWN})
  boot [SIZE]           reboot a fresh machine
  history               the commands so far
  help                  this text
  exit                  leave (or Ctrl-D; Ctrl-C clears the line)

A script piped in runs to its end; the shell then exits 1 if any command failed.`;

/** The shell's state: the machine, its resident processes, the command history. */
export class Shell {
  private readonly residents = new Map<number, Resident>();
  private readonly history: string[] = [];
  private ended = false;
  /** The CPU whose TLB `tlb` shows. */
  private cpu = 0;

  /** A shell on `machine`, which has `memoryBytes` of RAM (what `boot` reboots with). */
  constructor(
    private machine: Machine,
    private memoryBytes: number,
    private readonly painter = new Painter(),
  ) {}

  /** True once `exit` (or `quit`) has been run. */
  get done(): boolean {
    return this.ended;
  }

  /** Runs one command line; returns what to print. @throws ShellError for a bad command. */
  execute(line: string): string {
    const words = line
      .trim()
      .split(/\s+/)
      .filter((w) => w !== '');
    if (words.length === 0) return '';
    this.history.push(line.trim());
    const [command, ...args] = words as [string, ...string[]];
    switch (command) {
      case 'help':
        return HELP;
      case 'exit':
      case 'quit':
        this.ended = true;
        return '';
      case 'history':
        return this.history.map((entry, i) => `${String(i + 1).padStart(4)}  ${entry}`).join('\n');
      case 'boot':
        return this.boot(args);
      case 'spawn':
        return this.spawn(args);
      case 'ps':
        return this.ps();
      case 'alloc':
        return this.alloc(args);
      case 'free':
        return this.free(args);
      case 'mmap':
        return this.mmap(args);
      case 'touch':
        return this.touch(args);
      case 'fork':
        return this.fork(args);
      case 'kill':
        return this.kill(args);
      case 'cat':
        return this.cat(args);
      case 'walk':
        return this.walk(args);
      case 'cpus':
        return this.cpus();
      case 'cpu':
        return this.selectCpu(args);
      case 'tlb':
        return this.tlb();
      case 'pageout':
        return this.pageout(args);
      case 'swapon':
        expectArgs(args, 0, 0, 'swapon');
        return formatSwapon(this.machine, this.painter);
      case 'lru':
        return this.lru(args);
      default:
        throw new ShellError(`unknown command '${command}' (try 'help')`);
    }
  }

  // ─── machine and processes ──────────────────────────────────────────────────────────────

  private boot(args: string[]): string {
    expectArgs(args, 0, 1, 'boot [SIZE]');
    const memory = args[0] === undefined ? this.memoryBytes : sizeArg(args[0]);
    // The new machine keeps the old one's CPUs and swap device.
    const swapSlots = this.machine.vm.reclaim?.device.slots ?? 0;
    const swap = swapSlots > 0 ? { swap: swapSlots * PAGE_SIZE } : {};
    try {
      this.machine = Machine.boot({ memory, cpus: this.machine.cpuCount, ...swap });
    } catch (error) {
      throw new ShellError((error as Error).message);
    }
    this.memoryBytes = memory;
    this.residents.clear();
    this.cpu = 0;
    return this.machine.bootLog.join('\n');
  }

  private spawn(args: string[]): string {
    expectArgs(args, 1, 1, 'spawn NAME');
    const resident = new Resident();
    const handle = this.machine.spawn(this.residentProgram(resident), { name: args[0]! });
    this.residents.set(handle.pid, resident);
    return `[${handle.pid}] ${args[0]}`;
  }

  /** The program of a resident process: run queued jobs, reap exited children, yield. */
  private residentProgram(resident: Resident) {
    const machine = this.machine;
    return function* residentLoop(ctx: UserContext) {
      for (;;) {
        reapChildren(ctx, machine, resident);
        const job = resident.jobs.shift();
        if (job !== undefined) {
          job.result = runJob(job, ctx);
          job.done = true;
        }
        yield;
      }
    };
  }

  private ps(): string {
    const rows = this.machine.processList.map((p) => [
      p.pid,
      p.ppid,
      p.name,
      p.state,
      formatBytes(p.ended ? 0 : p.space.rss * PAGE_SIZE),
      formatCount(p.space.minorFaults),
      formatCount(p.space.cowBreaks),
      formatBytes(p.heap?.footprint() ?? 0),
    ]);
    return formatTable(
      this.painter,
      ['PID', 'PPID', 'NAME', 'STATE', 'RSS', 'FAULTS', 'COW', 'HEAP'],
      rows,
      ['right', 'right', 'left', 'left', 'right', 'right', 'right', 'right'],
    );
  }

  private alloc(args: string[]): string {
    expectArgs(args, 2, 2, 'alloc PID SIZE');
    const size = sizeArg(args[1]!);
    return this.inProcess(args[0]!, (ctx) => {
      const p = ctx.malloc(size);
      if (p === 0)
        return `malloc(${size}) = NULL (${errnoName(ctx.errno) ?? `errno ${ctx.errno}`})`;
      return `malloc(${size}) = ${formatAddress(p)}`;
    });
  }

  private free(args: string[]): string {
    expectArgs(args, 2, 2, 'free PID ADDR');
    const address = addressArg(args[1]!);
    return this.inProcess(args[0]!, (ctx) => {
      ctx.free(address);
      return `free(${formatAddress(address)})`;
    });
  }

  private mmap(args: string[]): string {
    expectArgs(args, 2, 2, 'mmap PID SIZE');
    const size = sizeArg(args[1]!);
    return this.inProcess(args[0]!, (ctx) => {
      const p = ctx.mmap(0, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS);
      return `mmap(${size}) = ${formatAddress(p)}`;
    });
  }

  private touch(args: string[]): string {
    expectArgs(args, 2, 3, 'touch PID ADDR [SIZE]');
    const start = addressArg(args[1]!);
    const size = args[2] === undefined ? 1 : sizeArg(args[2]);
    const process = this.resident(args[0]!);
    const faultsBefore = process.space.minorFaults;
    const majorBefore = process.space.majorFaults;
    return this.inProcess(args[0]!, (ctx) => {
      let pages = 0;
      for (let page = start - (start % PAGE_SIZE); page < start + size; page += PAGE_SIZE) {
        ctx.store8(Math.max(page, start), 1);
        pages++;
      }
      const faults = process.space.minorFaults - faultsBefore;
      const major = process.space.majorFaults - majorBefore;
      const reads = major > 0 ? `, ${major} major (read back from swap)` : '';
      return `touched ${pages} page(s) from ${formatAddress(start)}: ${faults} page fault(s)${reads}`;
    });
  }

  private fork(args: string[]): string {
    expectArgs(args, 1, 1, 'fork PID');
    const child = new Resident();
    const parent = this.residents.get(this.resident(args[0]!).pid)!;
    const program = this.residentProgram(child);
    return this.inProcess(args[0]!, (ctx) => {
      const pid = ctx.fork(program);
      this.residents.set(pid, child);
      parent.children.push(pid);
      return `fork() = ${pid}`;
    });
  }

  private kill(args: string[]): string {
    expectArgs(args, 1, 1, 'kill PID');
    const process = this.resident(args[0]!);
    try {
      this.machine.kill(process, SIGKILL);
    } catch (error) {
      if (!(error instanceof ProcessTermination)) throw error;
    }
    this.residents.delete(process.pid);
    return `[${process.pid}] ${process.name} killed (SIGKILL)`;
  }

  /** madvise(ADDR, SIZE, MADV_PAGEOUT) inside the process: how many pages went to swap. */
  private pageout(args: string[]): string {
    expectArgs(args, 2, 3, 'pageout PID ADDR [SIZE]');
    const start = addressArg(args[1]!);
    const size = args[2] === undefined ? PAGE_SIZE : sizeArg(args[2]);
    const process = this.resident(args[0]!);
    const swappedBefore = process.space.swapEntries;
    return this.inProcess(args[0]!, (ctx) => {
      ctx.madvise(start, size, MADV_PAGEOUT);
      const out = process.space.swapEntries - swappedBefore;
      return `madvise(${formatAddress(start)}, ${size}, MADV_PAGEOUT) = 0: ${out} page(s) now in swap`;
    });
  }

  private lru(args: string[]): string {
    expectArgs(args, 0, 1, 'lru [N]');
    const limit = args[0] === undefined ? LRU_ROWS_SHOWN : countArg(args[0]);
    return formatLru(this.machine, this.painter, limit);
  }

  /** Runs `work` inside resident `pidText` and waits for it; reports a death instead. */
  private inProcess(pidText: string, work: (ctx: UserContext) => string): string {
    const process = this.resident(pidText);
    const job: Job = { run: work, done: false, result: '' };
    this.residents.get(process.pid)!.jobs.push(job);
    this.machine.schedule(() => job.done || process.ended);
    if (job.done) return job.result;
    this.residents.delete(process.pid);
    throw new ShellError(`[${process.pid}] ${process.name} died: ${deathOf(process)}`);
  }

  private resident(pidText: string): Process {
    const pid = pidArg(pidText);
    const process = this.machine.process(pid);
    if (process === undefined || process.ended) throw new ShellError(`no process ${pid}`);
    if (!this.residents.has(pid)) throw new ShellError(`process ${pid} is not resident`);
    return process;
  }

  // ─── looking at memory ──────────────────────────────────────────────────────────────────

  private cat(args: string[]): string {
    expectArgs(args, 1, 1, 'cat FILE');
    try {
      return this.machine.procfs.read(args[0]!).trimEnd();
    } catch (error) {
      throw new ShellError((error as Error).message);
    }
  }

  private walk(args: string[]): string {
    expectArgs(args, 2, 2, 'walk PID VA');
    const process = this.resident(args[0]!);
    const va = addressArg(args[1]!);
    const vm = this.machine.vm;
    const previous = vm.active;
    vm.switchTo(process.space);
    let walk: PageWalk;
    try {
      walk = this.machine.mmu.walk(va);
    } finally {
      vm.switchTo(previous);
    }
    return formatWalk(walk, process, this.painter);
  }

  private cpus(): string {
    const processes = this.machine.processList;
    return formatTable(
      this.painter,
      ['', 'CPU', 'CR3 HOLDS', 'TLB SHOOTDOWNS', 'TLB ENTRIES'],
      this.machine.vm.cpus.all.map((cpu) => {
        const loaded = cpu.loadedSpace;
        const owner = processes.find((p) => !p.ended && p.space === loaded);
        const holds = owner === undefined ? 'kernel tables' : `[${owner.pid}] ${owner.name}`;
        return [
          cpu.id === this.cpu ? '*' : '',
          cpu.id,
          cpu.lazy ? `${holds} (lazy)` : holds,
          formatCount(cpu.shootdownsReceived),
          formatCount(cpu.mmu.tlb.entries().length),
        ];
      }),
      ['left', 'right', 'left', 'right', 'right'],
    );
  }

  private selectCpu(args: string[]): string {
    expectArgs(args, 1, 1, 'cpu N');
    const cpu = Number(args[0]);
    if (!/^\d+$/.test(args[0]!) || cpu >= this.machine.cpuCount) {
      throw new ShellError(`no CPU ${args[0]} (the machine has ${this.machine.cpuCount})`);
    }
    this.cpu = cpu;
    return `looking at CPU ${cpu}`;
  }

  private tlb(): string {
    const tlb = this.machine.mmus[this.cpu]!.tlb;
    const entries = tlb.entries();
    const table = formatTable(
      this.painter,
      ['VIRTUAL PAGE', 'PHYSICAL', 'PAGE', 'FLAGS'],
      entries
        .slice(0, TLB_ROWS_SHOWN)
        .map((e) => [
          formatAddress(e.virtualPage),
          formatAddress(e.physicalFrame),
          formatBytes(e.pageSize),
          [
            e.writable ? 'RW' : 'RO',
            e.user ? 'US' : 'S',
            e.noExecute ? 'NX' : 'X',
            e.dirty ? 'D' : '',
            e.global ? 'G' : '',
          ]
            .filter((f) => f !== '')
            .join(' '),
        ]),
    );
    const more =
      entries.length > TLB_ROWS_SHOWN ? `\n… and ${entries.length - TLB_ROWS_SHOWN} more` : '';
    // Hits are not shown: a process's loads and stores hit without counting (see Tlb.hits).
    const walks = `${formatCount(tlb.misses)} misses (page walks)`;
    return `CPU ${this.cpu} TLB: ${entries.length} entries cached, ${walks}\n${table}${more}`;
  }
}

/** Runs a job inside its process; errors of the call (not deaths) become its result. */
function runJob(job: Job, ctx: UserContext): string {
  try {
    return job.run(ctx);
  } catch (error) {
    if (error instanceof ProcessTermination) throw error;
    const code = (error as { code?: unknown }).code;
    return `error: ${typeof code === 'string' ? `${code}: ` : ''}${(error as Error).message}`;
  }
}

/** Waits for every child of `resident` that has exited, as a SIGCHLD handler would. */
function reapChildren(ctx: UserContext, machine: Machine, resident: Resident): void {
  for (let i = resident.children.length - 1; i >= 0; i--) {
    const child = machine.process(resident.children[i]!);
    if (child === undefined || child.ended) {
      if (child !== undefined) ctx.wait(child.pid);
      resident.children.splice(i, 1);
    }
  }
}

function deathOf(process: Process): string {
  if (process.fault !== null) return process.fault.message;
  if (process.signal !== null) {
    return `${signalName(process.signal)}${process.error ? ` (${process.error})` : ''}`;
  }
  return `exit ${process.exitCode}`;
}

function formatWalk(walk: PageWalk, process: Process, painter: Painter): string {
  const rows = walk.steps.map((step) => [
    step.tableName,
    step.index,
    formatAddress(step.entryAddress),
    `0x${(step.high >>> 0).toString(16).padStart(8, '0')}${(step.low >>> 0).toString(16).padStart(8, '0')}`,
    step.flags,
    step.present ? `${step.leaf ? 'page' : 'table'} ${formatAddress(step.target)}` : '-',
  ]);
  const table = formatTable(
    painter,
    ['LEVEL', 'INDEX', 'ENTRY AT', 'ENTRY', 'FLAGS', 'POINTS TO'],
    rows,
    ['left', 'right'],
  );
  const head = `walk of ${formatAddress(walk.virtualAddress)} in [${process.pid}] ${process.name}`;
  const outcome =
    walk.outcome === 'mapped'
      ? `=> ${formatAddress(walk.physicalAddress!)} (${formatBytes(walk.pageSize!)} page, ` +
        `${walk.user ? 'user' : 'supervisor'}, ${walk.writable ? 'writable' : 'read-only'}, ` +
        `${walk.noExecute ? 'no-execute' : 'executable'})`
      : `=> ${walk.outcome}: an access would page-fault`;
  return `${head}\n${table}\n${outcome}`;
}

function expectArgs(args: string[], min: number, max: number, usage: string): void {
  if (args.length < min || args.length > max) throw new ShellError(`usage: ${usage}`);
}

function pidArg(text: string): number {
  if (!/^\d+$/.test(text)) throw new ShellError(`'${text}' is not a pid`);
  return Number(text);
}

function countArg(text: string): number {
  if (!/^\d+$/.test(text)) throw new ShellError(`'${text}' is not a count`);
  return Number(text);
}

function sizeArg(text: string): number {
  try {
    return parseSize(text);
  } catch (error) {
    throw new ShellError((error as Error).message);
  }
}

function addressArg(text: string): number {
  try {
    return parseAddress(text);
  } catch (error) {
    throw new ShellError((error as Error).message);
  }
}

/**
 * Runs the shell on stdin/stdout until `exit` or the end of input (Ctrl-D). Prompts and history
 * only on a TTY, where Ctrl-C clears the line being typed instead of quitting (the machine is
 * kept). Piped, it reads one command a line, so scripts and tests can drive it; after a failed
 * command the script goes on, and the shell exits 1 at the end, as `sh` does with `false`.
 */
export async function runShell(machine: Machine, memoryBytes: number): Promise<void> {
  const interactive = process.stdin.isTTY === true;
  const shell = new Shell(machine, memoryBytes);
  const lines = createInterface({
    input: process.stdin,
    output: interactive ? process.stdout : undefined,
    terminal: interactive,
    historySize: HISTORY_SIZE,
    prompt: PROMPT,
  });
  if (interactive) {
    process.stdout.write(
      `wallos-mem shell on ${formatBytes(memoryBytes)} of RAM; 'help' lists commands\n`,
    );
    lines.on('SIGINT', () => clearLine(lines));
    lines.prompt();
  }
  let failed = false;
  for await (const line of lines) {
    try {
      const output = shell.execute(line);
      if (output !== '') process.stdout.write(`${output}\n`);
    } catch (error) {
      if (!(error instanceof ShellError)) throw error;
      process.stderr.write(`error: ${error.message}\n`);
      failed = true;
    }
    if (shell.done) break;
    if (interactive) lines.prompt();
  }
  lines.close();
  if (failed && !interactive) process.exitCode = SCRIPT_FAILED;
}

const PROMPT = 'wallos> ';
/** Exit status of a piped script in which a command failed. */
const SCRIPT_FAILED = 1;

/** Ctrl-C at the prompt: drop what was typed and prompt again on a new line, as bash does. */
function clearLine(lines: Interface): void {
  // `line` and `cursor` are plain fields of Node's Interface (typed read-only): resetting them
  // works on every terminal, a dumb one included, where readline's own editing keys do not.
  Object.assign(lines, { line: '', cursor: 0 });
  process.stdout.write('^C\n');
  lines.prompt();
}
