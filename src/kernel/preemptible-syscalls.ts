/**
 * System calls as preemption points, for generator programs: `yield* ctx.sys.munmap(p, n)`.
 *
 * ```
 *  generator program             scheduler                        kernel
 *  yield* ctx.sys.munmap(p, n)
 *    ├─ yield ─────────────────► the slice ends: other tasks run,
 *    │                           on any CPU, in the turns the
 *    │                           seed draws
 *    ◄─ next() ─────────────────  the task's next slice
 *    ├─ ctx.munmap(p, n) ───────────────────────────────────────► sys_munmap
 *    ◄─ its value, or its SyscallError thrown ◄─────────────────
 * ```
 *
 * A kernel may switch tasks at every system call; the simulator can only where the program
 * gives control back, because JavaScript cannot suspend a plain function in the middle of a
 * call. A generator can: each call here yields first (the preemption point at syscall entry)
 * and then makes the call through the context's own wrapper, so its results and its errors are
 * exactly the wrapper's. A call that would block (`wait` for a child that still runs, `join`
 * of a running thread) sleeps first, yielding until it would not (see scheduler.ts), so the
 * wrapper then returns at once. A plain-function program keeps the wrappers and runs until it
 * blocks (`wait`, `join`) or returns.
 */
import { joinWouldBlock } from './exit.js';
import type { SyscallCaller } from './syscalls/handler.js';
import { waitWouldBlock } from './syscalls/process.js';
import type { UserContext } from './user-context.js';

/** The context's system-call wrappers, the raw `syscall` last: each has a preemptible form. */
export const PREEMPTIBLE_SYSCALLS = [
  'brk',
  'sbrk',
  'mmap',
  'munmap',
  'mprotect',
  'mremap',
  'madvise',
  'mincore',
  'mlock',
  'mlock2',
  'munlock',
  'mlockall',
  'munlockall',
  'read',
  'write',
  'close',
  'getpid',
  'getppid',
  'gettid',
  'fork',
  'wait',
  'thread',
  'join',
  'exit',
  'syscall',
] as const satisfies readonly (keyof UserContext)[];

type PreemptibleName = (typeof PREEMPTIBLE_SYSCALLS)[number];

/** A wrapper's preemptible form: the same arguments, a generator that returns its result. */
type Preemptible<Wrapper> = Wrapper extends (...args: infer Args) => infer Result
  ? (...args: Args) => Generator<undefined, Result, unknown>
  : never;

/** `ctx.sys`: the preemptible form of each of the context's system calls. */
export type PreemptibleSyscalls = {
  readonly [Name in PreemptibleName]: Preemptible<UserContext[Name]>;
};

/** The calls that block until another task ends, each with the test of whether it would now. */
const WOULD_BLOCK: {
  readonly [Name in PreemptibleName]?: (caller: SyscallCaller, id?: number) => boolean;
} = {
  wait: waitWouldBlock,
  join: ({ task }, tid) => joinWouldBlock(task, tid ?? 0),
};

/**
 * Builds `ctx.sys` from the list: one generator per wrapper, each calling `ctx`'s wrapper;
 * `caller` is who the calls come from.
 */
export function preemptibleSyscalls(ctx: UserContext, caller: SyscallCaller): PreemptibleSyscalls {
  const calls: Record<string, unknown> = {};
  for (const name of PREEMPTIBLE_SYSCALLS) {
    const wouldBlock = WOULD_BLOCK[name];
    calls[name] = function* preemptible(...args: unknown[]) {
      yield; // syscall entry: the scheduler may run other tasks first
      const id = args[0] as number | undefined;
      if (wouldBlock?.(caller, id) === true) {
        caller.machine.sleep(caller.task, () => !wouldBlock(caller, id));
        yield; // asleep until what it waits for has ended
      }
      return (ctx[name] as (...args: unknown[]) => unknown)(...args);
    };
  }
  return Object.freeze(calls) as PreemptibleSyscalls;
}
