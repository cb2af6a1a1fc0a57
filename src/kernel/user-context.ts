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
 * The malloc family follows C: `malloc` returns 0 (NULL) when it fails and `ctx.errno` says
 * why. Every method is bound, so `const { malloc, free } = ctx` works.
 */
import { ERRNO, errnoName, SIGKILL, SIGSEGV } from '../linux-abi.js';
import { SyscallError } from './errors.js';
import type { Machine } from './machine.js';
import type { Process, Program } from './process.js';
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

const STDIN = 0;
const STDOUT = 1;
const STDERR = 2;

export class UserContext {
  constructor(
    private readonly machine: Machine,
    private readonly process: Process,
    /** The process's memory, as its code reaches it. */
    readonly memory: UserMemory,
  ) {}

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
    this.memory.writeBytes(this.address(va), Uint8Array.from(bytes));
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
  getpid = (): number => this.syscall('getpid');
  getppid = (): number => this.syscall('getppid');
  exit = (code = 0): never => {
    this.syscall('exit', code);
    throw new Error('unreachable: exit returned');
  };
  write = (fd: number, va: number, length: number): number =>
    this.check('write', this.syscall('write', fd, va, length));
  read = (fd: number, va: number, length: number): number =>
    this.check('read', this.syscall('read', fd, va, length));

  /** Starts a child with a copy-on-write copy of this address space running `childProgram`. */
  fork = (childProgram: Program): number => this.check('fork', this.syscall('fork', childProgram));

  /** Waits for child `pid` (-1: any child) to end, running other processes meanwhile. */
  wait = (pid = -1): WaitStatus => {
    this.checkAlive();
    const child = this.machine.enterKernel(() => this.waitChild(pid));
    if (typeof child === 'number') throw new SyscallError('wait', errnoName(-child) ?? 'EINVAL');
    return child;
  };

  private check(name: string, result: number): number {
    if (result >= 0) return result;
    throw new SyscallError(name, errnoName(-result) ?? 'EINVAL');
  }

  private checkAlive(): void {
    if (this.process.ended) this.machine.kill(this.process, this.process.signal ?? SIGKILL);
  }

  // ─── the raw system call ────────────────────────────────────────────────────────────────

  /** The raw system call `name`: its Linux return value, a negative errno on failure. */
  syscall = (name: string, ...args: unknown[]): number => {
    this.checkAlive();
    const n = (i: number): number =>
      typeof args[i] === 'number' ? (args[i] as number) : Number.NaN;
    const process = this.process;
    const space = process.space;
    return this.machine.enterKernel(() => {
      switch (name) {
        case 'getpid':
          return process.pid;
        case 'getppid':
          return process.ppid;
        case 'brk': {
          const brk = space.setBrk(n(0));
          this.machine.syncMm(process);
          return brk;
        }
        case 'mmap': {
          const result = space.mmap(n(0), n(1), n(2), n(3));
          this.machine.syncMm(process);
          return result;
        }
        case 'munmap':
          return this.synced(space.munmap(n(0), n(1)));
        case 'mprotect':
          return this.synced(space.mprotect(n(0), n(1), n(2)));
        case 'write':
          return this.sysWrite(n(0), n(1), n(2));
        case 'read':
          return this.sysRead(n(0), n(1), n(2));
        case 'sbrk':
          return this.sysSbrk(n(0));
        case 'exit':
        case 'exit_group':
          return this.machine.terminate(process, n(0));
        case 'fork':
          return this.sysFork(args[0]);
        case 'wait':
        case 'waitpid':
        case 'wait4':
          return this.sysWait4(args.length === 0 ? -1 : n(0), args.length > 1 ? n(1) : 0);
        default:
          return -ERRNO.ENOSYS;
      }
    });
  };

  private synced(result: number): number {
    this.machine.syncMm(this.process);
    return result;
  }

  /** sbrk as a raw call: the previous break, or -ENOMEM. */
  private sysSbrk(increment: number): number {
    const old = this.process.space.moveBreak(increment);
    this.machine.syncMm(this.process);
    return old < 0 ? -ERRNO.ENOMEM : old;
  }

  private sysWrite(fd: number, va: number, length: number): number {
    const stream =
      fd === STDOUT ? this.process.stdout : fd === STDERR ? this.process.stderr : undefined;
    if (stream === undefined) return -ERRNO.EBADF;
    const bytes = this.machine.vm.copyFromUser(this.process.space, va, length);
    if (typeof bytes === 'number') return bytes;
    for (const byte of bytes) stream.push(byte);
    return bytes.length;
  }

  private sysRead(fd: number, va: number, length: number): number {
    if (fd !== STDIN) return -ERRNO.EBADF;
    if (!Number.isSafeInteger(length) || length < 0) return -ERRNO.EINVAL;
    const process = this.process;
    const available = process.stdin.subarray(process.stdinOffset, process.stdinOffset + length);
    const status = this.machine.vm.copyToUser(process.space, va, available);
    if (status < 0) return status;
    process.stdinOffset += available.length;
    return available.length;
  }

  private sysFork(childProgram: unknown): number {
    if (typeof childProgram !== 'function') return -ERRNO.EINVAL;
    const parent = this.process;
    const space = parent.space.fork();
    if (space === undefined) return -ERRNO.ENOMEM;
    const child = this.machine.createProcess(
      space,
      parent,
      parent.name,
      childProgram as Program,
      new Uint8Array(0),
    );
    if (child === undefined) {
      space.destroy();
      return -ERRNO.ENOMEM;
    }
    if (parent.heap !== null) child.heap = parent.heap.fork(this.machine.heapHostOf(child));
    return child.pid;
  }

  /** wait4(2) without rusage: the child's pid, its status stored at `statusVa` if non-zero. */
  private sysWait4(pid: number, statusVa: number): number {
    const child = this.waitChild(pid);
    if (typeof child === 'number') return child;
    if (statusVa !== 0 && !Number.isNaN(statusVa)) {
      const word = new Uint8Array(new Uint32Array([child.status]).buffer);
      const status = this.machine.vm.copyToUser(this.process.space, statusVa, word);
      if (status < 0) return status;
    }
    return child.pid;
  }

  private waitChild(pid: number): WaitStatus | number {
    const parent = this.process;
    const child = [...parent.children].find((c) => pid === -1 || c.pid === pid);
    if (child === undefined) return -ERRNO.ECHILD;
    if (!child.ended) {
      parent.state = 'waiting';
      try {
        this.machine.schedule(() => child.ended);
      } finally {
        parent.state = 'running';
      }
      if (!child.ended) return -ERRNO.ECHILD;
    }
    const result = {
      pid: child.pid,
      exitCode: child.exitCode,
      signal: child.signal,
      status: child.waitStatus,
    };
    this.machine.reap(child);
    return result;
  }
}
