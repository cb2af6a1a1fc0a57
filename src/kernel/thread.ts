/**
 * A thread: one more task in a process's thread group (Linux's clone with CLONE_VM |
 * CLONE_THREAD). It shares everything of its process — address space, heap, fds — but has
 * its own program, its own place in the scheduler and its own stack mapping:
 *
 * ```
 *  process (thread group, tgid = pid)         address space
 *   ├─ leader task (tid = pid)  ── runs ──►   [stack]              the process's stack
 *   ├─ thread  (tid 7)          ── runs ──►   rw-p  8 MiB          its stack (struct pthread
 *   │                                         ---p  4 KiB guard      at the top, as glibc)
 *   └─ thread  (tid 9)          ── runs ──►   rw-p / ---p          another stack and guard
 * ```
 *
 * A thread's end (its program returns, or raw `exit`) ends only it; `exit_group` and any fatal
 * fault end the whole group; the group ends when its last task has ended.
 */
import { THREAD_CACHE_BYTES } from '../user-alloc/index.js';
import type { Process, Program } from './process.js';
import type { UserContext } from './user-context.js';

export type ThreadState = 'runnable' | 'running' | 'waiting' | 'dead';

/**
 * Bytes of the thread control block at the top of a thread's stack (glibc's struct pthread),
 * its tid the first word; the heads of its malloc caches (its tcache) lie right below.
 */
export const PTHREAD_DESCRIPTOR_SIZE = 64;

export class Thread {
  state: ThreadState = 'runnable';
  /** The running generator, once the program has been started. */
  iterator: Iterator<unknown> | null = null;
  started = false;
  /** The program's view of the machine, made when the program starts. */
  context: UserContext | null = null;
  /** The CPU whose run queue holds this thread. */
  cpu = 0;
  /** What the program returned (an integer, else 0): what `join` hands back. */
  exitValue = 0;

  constructor(
    readonly tid: number,
    readonly process: Process,
    readonly program: Program,
    /** The thread's stack mapping: its guard page first, then the stack. */
    readonly stackBase: number,
    readonly stackLength: number,
    /** Kernel address of its `task_struct`. */
    readonly descriptor: number,
    /** Base of its kernel stack in the vmalloc area. */
    readonly kernelStack: number,
  ) {}

  get ended(): boolean {
    return this.state === 'dead';
  }

  /** Where its thread control block (tid first) is: the top of its stack. */
  get descriptorAddress(): number {
    return this.stackBase + this.stackLength - PTHREAD_DESCRIPTOR_SIZE;
  }

  /** Where the heads of its malloc caches are: right below its control block. */
  get cacheHeads(): number {
    return this.descriptorAddress - THREAD_CACHE_BYTES;
  }
}

/** What the scheduler runs: a process's leader task, or one of its threads. */
export type Task = Process | Thread;
