/**
 * The thread family: clone (threads only: fork makes processes), gettid, and exit, which ends
 * the calling thread alone (exit_group ends them all).
 */
import { CLONE_THREAD, CLONE_VM, ERRNO } from '../../linux-abi.js';
import { ProcessTermination } from '../errors.js';
import type { Program } from '../process.js';
import { numberArg, type SyscallHandler } from './handler.js';

/** What a clone must share to make a thread of the caller. */
const THREAD_FLAGS = CLONE_VM | CLONE_THREAD;

/**
 * clone(2) for threads, with the new thread's program first, then the flags: the tid. Flags
 * without CLONE_VM | CLONE_THREAD are EINVAL here (a new process is fork's job).
 */
export const sysClone: SyscallHandler = ({ machine, process }, args) => {
  const program = args[0];
  const flags = numberArg(args, 1);
  if (typeof program !== 'function') return -ERRNO.EINVAL;
  if (!Number.isInteger(flags) || (flags & THREAD_FLAGS) !== THREAD_FLAGS) return -ERRNO.EINVAL;
  return machine.createThread(process, program as Program);
};

export const sysGettid: SyscallHandler = ({ task }) => task.tid;

/** exit(2): ends the calling thread; the process ends with it when it was the last. */
export const sysExit: SyscallHandler = ({ machine, task }, args) => {
  const code = numberArg(args, 0);
  machine.endTask(task, Number.isInteger(code) ? code & 0xff : 0);
  throw new ProcessTermination(task.tid);
};
