/**
 * How tasks and processes end, as Linux's kernel/exit.c: a thread's own exit, the whole
 * group's (exit_group), the zombie left for the parent, reaping it (release_task), and
 * pthread_join's wait for a thread.
 *
 * ```
 *  endTask(thread) ─► releaseThread ──────────┐
 *  endTask(leader) ─► leaves its exit code ───┴─► last task of the process? ─► exit
 *  exit ─► threads, address space, files, kernel stack freed; children handed to init
 *       ─► zombie ─► the parent's wait ─► reap (at once when no process is its parent)
 * ```
 */
import { ERRNO } from '../linux-abi.js';
import { TASK_STATE_CODES } from './kernel-objects.js';
import type { Machine } from './machine.js';
import type { Process } from './process.js';
import { type Task, Thread } from './thread.js';

export class ProcessExit {
  constructor(
    private readonly machine: Machine,
    /** The machine's process table, by pid: reaping takes a process out of it. */
    private readonly processes: Map<number, Process>,
  ) {}

  /**
   * Ends one task with `code` (its program returned, or raw `exit`): a thread ends alone, the
   * leader leaves its code for the process; the last task to end ends the process.
   */
  endTask(task: Task, code: number): void {
    const process = task.process;
    if (process.ended) return;
    if (task instanceof Thread) {
      task.exitValue = code;
      process.heap?.forgetThreadCache(task.tid);
      this.releaseThread(task);
      this.machine.syncMm(process);
    } else {
      process.leaderExitCode = code;
      process.state = 'waiting';
    }
    if (process.threadCount === 0) this.exit(process, process.leaderExitCode ?? 0, null);
  }

  /**
   * pthread_join: waits until thread `tid` of the caller's process has ended, running the
   * other tasks meanwhile, and forgets it. Its exit value, or a negative errno: ESRCH (no such
   * thread, or joined already), EDEADLK (itself, or it can never end).
   */
  joinThread(caller: Task, tid: number): number {
    const process = caller.process;
    const thread = threadOf(process, tid);
    if (thread === undefined) return -ERRNO.ESRCH;
    if (thread === caller) return -ERRNO.EDEADLK;
    if (!thread.ended) this.machine.block(caller, () => thread.ended || process.dying);
    if (!thread.ended) return -ERRNO.EDEADLK;
    // Another task may have joined it while this one waited: it is forgotten already.
    const index = process.threads.indexOf(thread);
    if (index < 0) return -ERRNO.ESRCH;
    process.threads.splice(index, 1);
    return thread.exitValue;
  }

  /**
   * Ends a process and every thread of it (exit_group): frees its address space and kernel
   * stacks, hands its children to init (reaping the dead ones), and leaves a zombie for its
   * parent — or reaps it at once when no process is its parent.
   */
  exit(process: Process, exitCode: number | null, signal: number | null): void {
    if (process.ended) return;
    process.exitCode = signal === null ? (exitCode ?? 0) : null;
    process.signal = signal;
    for (const thread of process.threads) if (!thread.ended) this.releaseThread(thread, false);
    process.space.destroy();
    process.files.closeAll();
    this.machine.vm.vfree(process.kernelStack);
    this.machine.objects.mms.free(process.mmRecord);
    for (const child of process.children) {
      child.parent = null;
      if (child.state === 'zombie') this.reap(child);
    }
    process.children.clear();
    process.state = 'zombie';
    this.machine.objects.writeTaskState(
      process.descriptor,
      TASK_STATE_CODES.zombie,
      process.waitStatus,
    );
    if (process.parent === null) this.reap(process);
  }

  /** Frees a zombie's descriptor: it is gone from the process table. */
  reap(process: Process): void {
    process.state = 'reaped';
    process.parent?.children.delete(process);
    this.machine.objects.tasks.free(process.descriptor);
    this.processes.delete(process.pid);
  }

  /**
   * Frees what a thread held: its kernel stack, its task_struct and, unless the whole address
   * space is about to go (`withStack` false), its stack mapping.
   */
  releaseThread(thread: Thread, withStack = true): void {
    thread.state = 'dead';
    if (withStack) thread.process.space.munmap(thread.stackBase, thread.stackLength);
    this.machine.vm.vfree(thread.kernelStack);
    this.machine.objects.tasks.free(thread.descriptor);
  }
}

/** Whether pthread_join(`tid`) from `caller` would block now: its thread exists and runs. */
export function joinWouldBlock(caller: Task, tid: number): boolean {
  const thread = threadOf(caller.process, tid);
  return thread !== undefined && thread !== caller && !thread.ended;
}

/** Thread `tid` of `process`, not yet joined. */
function threadOf(process: Process, tid: number): Thread | undefined {
  return process.threads.find((thread) => thread.tid === tid);
}
