/**
 * The shape of one system call in the table: a small function of the calling process and the
 * raw arguments, returning the Linux value (a negative errno on failure). Handlers run inside
 * the kernel (at CPL 0, through `machine.enterKernel`); a handler that throws is an oops.
 */
import type { Machine } from '../machine.js';
import type { Process } from '../process.js';
import type { Task } from '../thread.js';

/** Who makes the call: the machine it runs on, the calling process and task (thread). */
export interface SyscallCaller {
  readonly machine: Machine;
  readonly process: Process;
  readonly task: Task;
}

/** The arguments exactly as the program passed them: numbers, or anything at all. */
export type SyscallArgs = readonly unknown[];

export type SyscallHandler = (caller: SyscallCaller, args: SyscallArgs) => number;

/** Argument `index` as a number; anything else (missing, a string…) is NaN, which every call
 * rejects as it would a garbage register. */
export function numberArg(args: SyscallArgs, index: number): number {
  const value = args[index];
  return typeof value === 'number' ? value : Number.NaN;
}
