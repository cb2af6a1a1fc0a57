/** Errors of the kernel layer: what syscall wrappers throw, and what must never happen. */
import { WallosError } from '../errors.js';
import { ERRNO, type ErrnoName } from '../linux-abi.js';

/**
 * A failed system call, as the libc-style wrappers of a user context report it: `code` is the
 * errno name (`'EFAULT'`, `'ENOMEM'`…), like Node's fs errors, and `errno` its number.
 */
export class SyscallError extends WallosError {
  readonly errno: number;
  readonly syscall: string;

  constructor(syscall: string, name: ErrnoName) {
    super(name, `${syscall}: ${name} (${ERRNO_TEXT[name] ?? 'error'})`);
    this.errno = ERRNO[name];
    this.syscall = syscall;
  }
}

const ERRNO_TEXT: Partial<Record<ErrnoName, string>> = {
  EPERM: 'operation not permitted',
  ESRCH: 'no such process',
  EBADF: 'bad file descriptor',
  ECHILD: 'no child processes',
  ENOMEM: 'cannot allocate memory',
  EACCES: 'permission denied',
  EFAULT: 'bad address',
  EEXIST: 'file exists',
  EINVAL: 'invalid argument',
  ENOSYS: 'function not implemented',
};

/**
 * A kernel bug: a kernel-mode fault outside the user-copy helpers, or a broken invariant. The
 * machine records it (like a kernel log's "Oops") and kills the process that was running.
 * Tests assert that none ever happens.
 */
export class KernelOops extends WallosError {
  constructor(
    message: string,
    /** What was thrown inside the kernel. */
    readonly fault?: unknown,
  ) {
    super('KERNEL_OOPS', `kernel oops: ${message}`);
  }
}

/** A `machine.check()` that found the layers disagreeing. */
export class InvariantError extends WallosError {
  constructor(readonly problems: readonly string[]) {
    super('INVARIANT', `machine check failed:\n  ${problems.join('\n  ')}`);
  }
}

/**
 * Thrown through a user program's stack to end it (exit, a fatal signal). It is not an error
 * a program should catch: if it does, every later call of its context throws it again.
 */
export class ProcessTermination extends Error {
  constructor(readonly pid: number) {
    super(`process ${pid} has ended`);
    this.name = 'ProcessTermination';
  }
}
