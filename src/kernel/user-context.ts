/**
 * What a user program sees of the machine: its own memory (through the MMU at CPL 3), its
 * malloc heap (running in user space over that memory), and system calls. Nothing here hands
 * out kernel objects, physical addresses or another process's memory.
 *
 * Two forms of every system call, as in C:
 * - `ctx.syscall(name, ...args)` is the raw call: it returns the Linux value, a negative errno
 *   on failure (`-14` for EFAULT).
 * - the libc-style wrappers (`mmap`, `munmap`, `brk`, `write`, `wait`…) return the useful value
 *   and throw a {@link SyscallError} whose `code` is the errno name on failure.
 *
 * Generator programs have a third form, the preemptible one: `yield* ctx.sys.mmap(…)` (and
 * `yield* ctx.sys.syscall(name, …)`) yields to the scheduler at the call's entry and then
 * makes the same call, with the same result or error ({@link preemptibleSyscalls}). Where a
 * program can lose its CPU:
 * - a generator program: at each `yield` and each `yield* ctx.sys.…` call, and while it blocks
 *   in `wait` or `join`;
 * - a plain function: only while it blocks in `wait` or `join`; otherwise it runs until it
 *   returns, because JavaScript cannot suspend a plain function in the middle of a call.
 *
 * The malloc family follows C: `malloc` returns 0 (NULL) when it fails and `ctx.errno` says
 * why. Every method is bound, so `const { malloc, free } = ctx` works.
 */
import type { WordWindows } from '../hw/memory-access.js';
import { CLONE_PTHREAD_FLAGS, errnoName, SIGKILL, SIGSEGV } from '../linux-abi.js';
import { SyscallError } from './errors.js';
import type { Machine } from './machine.js';
import { type PreemptibleSyscalls, preemptibleSyscalls } from './preemptible-syscalls.js';
import type { Process, Program } from './process.js';
import type { SyscallCaller } from './syscalls/handler.js';
import { waitChild } from './syscalls/process.js';
import { residency } from './syscalls/residency.js';
import { dispatchSyscall } from './syscalls/table.js';
import type { Task } from './thread.js';
import type { UserMemory } from './user-memory.js';

/** The status `wait` returns for a child that ended. */
export interface WaitStatus {
  pid: number;
  /** Exit code after a normal exit, else null. */
  exitCode: number | null;
  /** The signal that killed it, else null. */
  signal: number | null;
  /** Linux's wait status word (`WEXITSTATUS` = status >> 8, `WTERMSIG` = status & 0x7f). */
  status: number;
}

/**
 * A program's memory: the accesses of {@link UserMemory}, each checked by the MMU as it is made.
 * Not its windows of RAM words ({@link WordWindows}): the process's heap uses one within a
 * call, but a window stays valid only until the next fault, and a program that kept one across
 * a munmap would write into a frame the kernel has given to another process or to a page
 * table. Nor `runOn`, which is the scheduler's.
 */
export type ProgramMemory = Omit<UserMemory, keyof WordWindows | 'runOn'>;

export class UserContext {
  /** Who the system calls of this context come from. */
  private readonly caller: SyscallCaller;

  constructor(
    private readonly machine: Machine,
    private readonly process: Process,
    /** The process's memory, as its code reaches it. */
    readonly memory: ProgramMemory,
    /** The task whose program this is: the process's leader, or one of its threads. */
    private readonly task: Task = process,
  ) {
    this.caller = { machine, process, task };
    this.sys = preemptibleSyscalls(this, this.caller);
  }

  /** errno of the last failed malloc-family call. */
  get errno(): number {
    return this.machine.heapOf(this.process).errno;
  }

  get pid(): number {
    return this.process.pid;
  }

  // ─── memory ─────────────────────────────────────────────────────────────────────────────

  load8 = (va: number): number => this.memory.load8(this.address(va));
  load16 = (va: number): number => this.memory.load16(this.address(va));
  load32 = (va: number): number => this.memory.load32(this.address(va));
  store8 = (va: number, value: number): void => this.memory.store8(this.address(va), value);
  store16 = (va: number, value: number): void => this.memory.store16(this.address(va), value);
  store32 = (va: number, value: number): void => this.memory.store32(this.address(va), value);
  readBytes = (va: number, length: number): Uint8Array =>
    this.memory.readBytes(this.address(va), this.length(length));
  writeBytes = (va: number, bytes: Uint8Array): void =>
    this.memory.writeBytes(this.address(va), new Uint8Array(bytes));
  /** Sets `length` bytes at `va` to `byte` (memset). */
  fill = (va: number, length: number, byte: number): void =>
    this.memory.fill(this.address(va), this.length(length), byte);
  /** Jumps to `va`: an instruction fetch there, which needs execute permission. */
  jump = (va: number): void => this.memory.fetch(this.address(va));

  /** An address must be an integer; anything else is a wild pointer and faults. */
  private address(va: number): number {
    if (Number.isSafeInteger(va)) return va;
    return this.machine.kill(this.process, SIGSEGV, `invalid address ${String(va)}`);
  }

  private length(length: number): number {
    if (Number.isSafeInteger(length) && length >= 0) return length;
    return this.machine.kill(this.process, SIGSEGV, `invalid length ${String(length)}`);
  }

  // ─── the malloc family (user space) ─────────────────────────────────────────────────────

  malloc = (size: number): number => this.heap.malloc(size);
  free = (pointer: number): void => this.heap.free(pointer);
  calloc = (count: number, size: number): number => this.heap.calloc(count, size);
  realloc = (pointer: number, size: number): number => this.heap.realloc(pointer, size);
  memalign = (alignment: number, size: number): number => this.heap.memalign(alignment, size);
  alignedAlloc = (alignment: number, size: number): number =>
    this.heap.alignedAlloc(alignment, size);
  usableSize = (pointer: number): number => this.heap.usableSize(pointer);
  mallinfo = () => this.heap.mallinfo();

  private get heap() {
    this.checkAlive();
    return this.machine.heapOf(this.process);
  }

  // ─── system calls: libc-style wrappers ──────────────────────────────────────────────────

  /** brk(2): moves the break to `address` and returns it; `brk(0)` returns the current break. */
  brk = (address: number): number => {
    const result = this.syscall('brk', address);
    if (address !== 0 && result !== address) throw new SyscallError('brk', 'ENOMEM');
    return result;
  };

  /** sbrk(3): moves the break by `increment`; returns the previous break. */
  sbrk = (increment: number): number => this.check('sbrk', this.syscall('sbrk', increment));

  mmap = (
    address: number,
    length: number,
    prot: number,
    flags: number,
    fd = -1,
    offset = 0,
  ): number => this.check('mmap', this.syscall('mmap', address, length, prot, flags, fd, offset));
  munmap = (address: number, length: number): number =>
    this.check('munmap', this.syscall('munmap', address, length));
  mprotect = (address: number, length: number, prot: number): number =>
    this.check('mprotect', this.syscall('mprotect', address, length, prot));
  /** madvise(2): advice (MADV_*) about how `[address, address + length)` will be used. */
  madvise = (address: number, length: number, advice: number): number =>
    this.check('madvise', this.syscall('madvise', address, length, advice));
  /** mincore(2): one byte per page of the range, bit 0 set where the page is resident. */
  mincore = (address: number, length: number): Uint8Array => {
    this.checkAlive();
    const vector = this.machine.enterKernel(() => residency(this.caller, address, length));
    return typeof vector === 'number' ? this.fail('mincore', vector) : vector;
  };
  mlock = (address: number, length: number): number =>
    this.check('mlock', this.syscall('mlock', address, length));
  /** mlock2(2): `flags` 0 is mlock; MLOCK_ONFAULT locks pages as they are faulted in. */
  mlock2 = (address: number, length: number, flags = 0): number =>
    this.check('mlock2', this.syscall('mlock2', address, length, flags));
  munlock = (address: number, length: number): number =>
    this.check('munlock', this.syscall('munlock', address, length));
  /** mlockall(2): MCL_CURRENT, MCL_FUTURE, MCL_ONFAULT. */
  mlockall = (flags: number): number => this.check('mlockall', this.syscall('mlockall', flags));
  munlockall = (): number => this.check('munlockall', this.syscall('munlockall'));
  /**
   * mremap(2): resizes the mapping at `address` from `oldLength` to `newLength` bytes, moving
   * its pages elsewhere (page tables, not copies) when `flags` has MREMAP_MAYMOVE and it cannot
   * grow in place; `newAddress` is the target with MREMAP_FIXED. Returns the mapping's address.
   */
  mremap = (
    address: number,
    oldLength: number,
    newLength: number,
    flags: number,
    newAddress = 0,
  ): number =>
    this.check('mremap', this.syscall('mremap', address, oldLength, newLength, flags, newAddress));
  getpid = (): number => this.syscall('getpid');
  getppid = (): number => this.syscall('getppid');
  /** exit(3): ends the whole process, every thread of it (exit_group, as glibc's exit). */
  exit = (code = 0): never => {
    this.syscall('exit_group', code);
    throw new Error('unreachable: exit returned');
  };
  write = (fd: number, va: number, length: number): number =>
    this.check('write', this.syscall('write', fd, va, length));
  read = (fd: number, va: number, length: number): number =>
    this.check('read', this.syscall('read', fd, va, length));
  close = (fd: number): number => this.check('close', this.syscall('close', fd));

  /** Starts a child with a copy-on-write copy of this address space running `childProgram`. */
  fork = (childProgram: Program): number => this.check('fork', this.syscall('fork', childProgram));

  /** Waits for child `pid` (-1: any child) to end, running other processes meanwhile. */
  wait = (pid = -1): WaitStatus => {
    this.checkAlive();
    const child = this.machine.enterKernel(() => waitChild(this.caller, pid));
    this.checkAlive();
    return typeof child === 'number' ? this.fail('wait', child) : child;
  };

  /**
   * pthread_create: starts `program` in a new thread of this process, sharing its address
   * space, heap and fds (clone with glibc's CLONE_VM | CLONE_THREAD | … flags); its tid.
   */
  thread = (program: Program): number =>
    this.check('clone', this.syscall('clone', program, CLONE_PTHREAD_FLAGS));

  /**
   * pthread_join: waits for thread `tid` of this process to end, running the other tasks
   * meanwhile (so it works from plain functions too); the thread's exit value.
   */
  join = (tid: number): number => {
    this.checkAlive();
    const result = this.machine.enterKernel(() => this.machine.joinThread(this.task, tid));
    this.checkAlive();
    return this.check('join', result);
  };

  /** gettid(2): this task's id (the pid for the process's first thread). */
  gettid = (): number => this.syscall('gettid');

  private check(name: string, result: number): number {
    return result >= 0 ? result : this.fail(name, result);
  }

  /** A wrapper's failure: the negative errno `result` as a {@link SyscallError}. */
  private fail(name: string, result: number): never {
    throw new SyscallError(name, errnoName(-result) ?? 'EINVAL');
  }

  private checkAlive(): void {
    if (this.process.dying) this.machine.kill(this.process, this.process.signal ?? SIGKILL);
  }

  /**
   * The system calls as preemption points, for generator programs: `yield* ctx.sys.munmap(p,
   * n)` lets the scheduler run other tasks, then calls `ctx.munmap(p, n)` (its result, or its
   * error thrown).
   */
  readonly sys: PreemptibleSyscalls;

  // ─── the raw system call ────────────────────────────────────────────────────────────────

  /** The raw system call `name`: its Linux return value, a negative errno on failure. */
  syscall = (name: string, ...args: unknown[]): number => {
    this.checkAlive();
    return this.machine.enterKernel(() => dispatchSyscall(this.caller, name, args));
  };
}
