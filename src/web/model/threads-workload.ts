/**
 * The page's multi-CPU workload: one process with a thread on each of {@link THREAD_CPUS}
 * CPUs. Each worker maps a private buffer, touches it, checks and writes its page of a shared
 * buffer, and unmaps the buffer again (a TLB shootdown to the CPUs running the other threads);
 * the leader keeps taking one shared page's write right away and giving another's back
 * (mprotect: a shootdown when a right goes). The CPU view shows the shootdowns arrive.
 *
 * Their mmap, munmap and mprotect calls go through `ctx.sys`: each is a preemption point, so
 * the threads interleave at every one of those system calls, in the order the seed draws.
 */
import { PAGE_SIZE } from '../../hw/constants.js';
import type { Program } from '../../kernel/process.js';
import type { UserContext } from '../../kernel/user-context.js';
import { MAP_ANONYMOUS, MAP_PRIVATE, PROT_READ, PROT_WRITE } from '../../linux-abi.js';

/** CPUs of the machine this workload boots, one worker thread each. */
export const THREAD_CPUS = 4;
const ROUNDS = 24;
const BUFFER_PAGES = 8;
const RW = PROT_READ | PROT_WRITE;
const ANON = MAP_PRIVATE | MAP_ANONYMOUS;

/** What the leader and its workers share (the program's own variables). */
interface Shared {
  readonly base: number;
  readonly writable: boolean[];
  finished: number;
}

/** The leader: starts the workers, rotates the shared pages' rights until they end. */
export function threadsProgram(): Program {
  return function* threads(ctx: UserContext) {
    const base = ctx.mmap(0, THREAD_CPUS * PAGE_SIZE, RW, ANON);
    const shared: Shared = {
      base,
      writable: new Array<boolean>(THREAD_CPUS).fill(true),
      finished: 0,
    };
    const tids = Array.from({ length: THREAD_CPUS }, (_, i) => ctx.thread(worker(i, shared)));
    // It stays runnable until they are done (joining earlier would run them inside one step).
    for (let round = 0; shared.finished < THREAD_CPUS; round++) {
      const locked = round % THREAD_CPUS;
      const unlocked = (round + THREAD_CPUS - 1) % THREAD_CPUS;
      // Preempted at each call's entry: its bookkeeping follows the call in the same slice.
      yield* ctx.sys.mprotect(base + locked * PAGE_SIZE, PAGE_SIZE, PROT_READ);
      shared.writable[locked] = false;
      yield* ctx.sys.mprotect(base + unlocked * PAGE_SIZE, PAGE_SIZE, RW);
      shared.writable[unlocked] = true;
    }
    for (const tid of tids) ctx.join(tid);
    ctx.munmap(base, THREAD_CPUS * PAGE_SIZE);
  };
}

function worker(index: number, shared: Shared): Program {
  return function* work(ctx: UserContext) {
    const mine = shared.base + index * PAGE_SIZE;
    for (let round = 0; round < ROUNDS; round++) {
      const buffer = yield* ctx.sys.mmap(0, BUFFER_PAGES * PAGE_SIZE, RW, ANON);
      for (let page = 0; page < BUFFER_PAGES; page++) ctx.store32(buffer + page * PAGE_SIZE, page);
      ctx.load32(mine);
      if (shared.writable[index]) ctx.store32(mine, round);
      yield* ctx.sys.munmap(buffer, BUFFER_PAGES * PAGE_SIZE);
    }
    shared.finished++;
  };
}
