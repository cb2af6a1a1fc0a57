/**
 * A process: an address space, a kernel stack and descriptor, a user context for its program,
 * and — once it ends — its exit status, kept until the parent reaps it.
 */
import type { UserAllocator } from '../user-alloc/index.js';
import type { AddressSpace } from '../virtual/address-space.js';
import type { FdTable } from './files/fd-table.js';
import type { OutputFile, StandardFiles } from './files/open-file.js';
import { type MmFields, TASK_COMM_LENGTH, unwrittenMm } from './kernel-objects.js';
import type { Thread } from './thread.js';
import type { UserContext } from './user-context.js';
import type { UserMemory } from './user-memory.js';

/**
 * A program: a plain function (runs until it blocks in `wait`/`join` or returns) or a generator
 * function (preempted at each `yield` and each `yield* ctx.sys.…` system call, so tasks
 * interleave). Its return value, if an integer, is the exit code.
 */
export type Program = (ctx: UserContext) => unknown;

export type ProcessState = 'runnable' | 'running' | 'waiting' | 'zombie' | 'reaped';

/** Why a process was killed by SIGSEGV. */
export interface FaultReport {
  /** The faulting virtual address (CR2). */
  readonly address: number;
  /** `SEGV_MAPERR` (nothing mapped) or `SEGV_ACCERR` (mapped, but not for this access). */
  readonly kind: 'SEGV_MAPERR' | 'SEGV_ACCERR';
  readonly access: 'read' | 'write' | 'execute';
  readonly message: string;
}

export class Process {
  state: ProcessState = 'runnable';
  exitCode: number | null = null;
  signal: number | null = null;
  fault: FaultReport | null = null;
  /** The message of a heap abort (SIGABRT), or of an exception the program threw. */
  error: string | null = null;
  readonly children = new Set<Process>();
  /** The running generator, once the program has been started. */
  iterator: Iterator<unknown> | null = null;
  started = false;
  heap: UserAllocator | null = null;
  /** The program's view of the machine, made when the program starts. */
  context: UserContext | null = null;
  /** The memory of the process as its code reaches it, shared by all its threads. */
  memory: UserMemory | null = null;
  /** The other tasks of its thread group, until they end and are joined. */
  readonly threads: Thread[] = [];
  /** The CPU whose run queue holds the leader task. */
  cpu = 0;
  /**
   * The leader's program returned while other threads still ran: its exit code, which the
   * process ends with once they have ended too. Null while the leader runs.
   */
  leaderExitCode: number | null = null;
  /** Largest VmSize seen (VmPeak). */
  peakVmSize = 0;
  /** The fields its mm_struct (`mmRecord`) last got. */
  readonly mmWritten: MmFields = unwrittenMm();
  /** oom_score_adj: -1000 (never chosen by the OOM killer) .. 1000; inherited by fork. */
  oomScoreAdj = 0;
  /**
   * Chosen by the OOM killer from within a kernel allocation (Linux's tsk_is_oom_victim): its
   * user memory was reaped at once, and it dies at the next return to user mode.
   */
  oomVictim = false;

  constructor(
    readonly pid: number,
    public parent: Process | null,
    readonly name: string,
    readonly program: Program,
    readonly space: AddressSpace,
    /** Kernel address of this process's `task_struct`. */
    readonly descriptor: number,
    /** Kernel address of its `mm_struct`. */
    readonly mmRecord: number,
    /** Base of its kernel stack in the vmalloc area. */
    readonly kernelStack: number,
    /** The files it was started with (a forked child: its parent's): where whoever spawned it
     * reads its output, and where the kernel reports its death. */
    readonly standard: StandardFiles,
    /** Its file descriptors (fd 0, 1, 2 at the start; closed at exit). */
    readonly files: FdTable,
  ) {}

  /** Its name as the kernel keeps and shows it (`task_struct.comm`: cut to 15 characters). */
  get comm(): string {
    return this.name.slice(0, TASK_COMM_LENGTH - 1);
  }

  /** The stdout it was started with: its own writes and its forked children's, in order. */
  get stdout(): OutputFile {
    return this.standard.stdout;
  }

  get stderr(): OutputFile {
    return this.standard.stderr;
  }

  get ppid(): number {
    return this.parent?.pid ?? 0;
  }

  /** The thread group a task belongs to: for the leader task, the process itself. */
  get process(): Process {
    return this;
  }

  /** The leader's task id: the pid (`tgid`). */
  get tid(): number {
    return this.pid;
  }

  /** Tasks of the thread group still running: /proc/PID/status `Threads:`. */
  get threadCount(): number {
    let live = this.ended || this.leaderExitCode !== null ? 0 : 1;
    for (const thread of this.threads) if (!thread.ended) live++;
    return live;
  }

  get ended(): boolean {
    return this.state === 'zombie' || this.state === 'reaped';
  }

  /** Ended, or about to (an OOM victim): a wait ends early (Linux's fatal_signal_pending). */
  get dying(): boolean {
    return this.ended || this.oomVictim;
  }

  /** Linux's wait status word: exit code in bits 8..15, or the signal in bits 0..6. */
  get waitStatus(): number {
    return this.signal !== null ? this.signal : (this.exitCode ?? 0) << 8;
  }
}

/** What `machine.spawn` returns: a live view of a process, like Node's ChildProcess. */
export class ProcessHandle {
  constructor(private readonly process: Process) {}

  get pid(): number {
    return this.process.pid;
  }

  get name(): string {
    return this.process.name;
  }

  /** The exit code after a normal exit; null while running or when killed by a signal. */
  get exitCode(): number | null {
    return this.process.exitCode;
  }

  /** The signal that killed it (11 SIGSEGV, 6 SIGABRT, 9 SIGKILL), or null. */
  get signal(): number | null {
    return this.process.signal;
  }

  get state(): ProcessState {
    return this.process.state;
  }

  get ended(): boolean {
    return this.process.ended;
  }

  /** What the process and the children it forked wrote to fd 1, decoded as UTF-8. */
  get stdout(): string {
    return this.process.stdout.text();
  }

  /** What they wrote to fd 2 (and heap-abort and fault messages), decoded as UTF-8. */
  get stderr(): string {
    return this.process.stderr.text();
  }

  /** Where and why it was killed by SIGSEGV, or null. */
  get fault(): FaultReport | null {
    return this.process.fault;
  }

  /** A heap-abort message or an exception the program threw, or null. */
  get error(): string | null {
    return this.process.error;
  }
}
