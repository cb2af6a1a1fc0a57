/**
 * The process family: getpid, getppid, exit, fork and wait4. `waitChild` is shared with the
 * libc-style `wait` wrapper, which returns the child's status as an object.
 */
import { ERRNO, SIGKILL } from '../../linux-abi.js';
import type { Process, Program } from '../process.js';
import type { WaitStatus } from '../user-context.js';
import { numberArg, type SyscallCaller, type SyscallHandler } from './handler.js';

export const sysGetpid: SyscallHandler = ({ process }) => process.pid;

export const sysGetppid: SyscallHandler = ({ process }) => process.ppid;

/** exit_group(2): never returns; the process, every thread of it, unwinds. */
export const sysExitGroup: SyscallHandler = ({ machine, process }, args) =>
  machine.terminate(process, numberArg(args, 0));

/** fork(2), with the child's program as its argument: the child's pid. */
export const sysFork: SyscallHandler = ({ machine, process: parent }, args) => {
  const childProgram = args[0];
  if (typeof childProgram !== 'function') return -ERRNO.EINVAL;
  const space = parent.space.fork();
  if (space === undefined) return -ERRNO.ENOMEM;
  const child = machine.createProcess(
    space,
    parent,
    parent.name,
    childProgram as Program,
    parent.standard,
  );
  if (child === undefined) {
    space.destroy();
    return -ERRNO.ENOMEM;
  }
  if (parent.heap !== null) child.heap = parent.heap.fork(machine.heapHostOf(child));
  return child.pid;
};

/** wait4(2) without rusage (also `wait` and `waitpid`): the child's pid, its status word
 * stored at `args[1]` if that is non-zero. No argument waits for any child. */
export const sysWait4: SyscallHandler = (caller, args) => {
  const pid = args.length === 0 ? -1 : numberArg(args, 0);
  const statusVa = args.length > 1 ? numberArg(args, 1) : 0;
  const child = waitChild(caller, pid);
  if (typeof child === 'number') return child;
  if (statusVa !== 0 && !Number.isNaN(statusVa)) {
    const word = new Uint8Array(new Uint32Array([child.status]).buffer);
    const status = caller.machine.vm.copyToUser(caller.process.space, statusVa, word);
    if (status < 0) return status;
  }
  return child.pid;
};

/**
 * Waits for child `pid` (-1: any) to end, running the other processes meanwhile, then reaps
 * it. Its status, or -ECHILD when there is no such child (or it can never end).
 */
export function waitChild(caller: SyscallCaller, pid: number): WaitStatus | number {
  const { machine, process: parent, task } = caller;
  if (waitWouldBlock(caller, pid)) {
    machine.block(task, () => parent.dying || !waitWouldBlock(caller, pid));
    // Killed while it waited (the OOM killer may pick a waiting parent): it dies, unwinding.
    if (parent.dying) machine.kill(parent, SIGKILL);
  }
  // Chosen again after the wait: another thread of the parent may have reaped the child.
  const child = childToWait(parent, pid);
  if (child === undefined || !child.ended) return -ERRNO.ECHILD; // none, or it can never end
  const result = {
    pid: child.pid,
    exitCode: child.exitCode,
    signal: child.signal,
    status: child.waitStatus,
  };
  machine.reap(child);
  return result;
}

/** Whether wait(`pid`) would block now: it has a child to wait for and that child still runs. */
export function waitWouldBlock({ process: parent }: SyscallCaller, pid = -1): boolean {
  const child = childToWait(parent, pid);
  return child !== undefined && !child.ended;
}

/** The child wait(`pid`) waits for: child `pid`, or for -1 an ended child first, as Linux. */
function childToWait(parent: Process, pid: number): Process | undefined {
  const children = [...parent.children].filter((child) => pid === -1 || child.pid === pid);
  return children.find((child) => child.ended) ?? children[0];
}
