/**
 * The demo workload of `wallos-mem run`: several processes alive at once on one machine.
 *
 * ```
 *  pid 1  sh          forks 4 children (one at a time, yielding), then waits for each
 *  pid 2  py-replay   replays the bundled CPython trace through its own malloc, verified
 *  pid 3  mapper      mmaps buffers, fills them, mprotects half read-only, reads, unmaps
 *  pid 4  segv        maps a page read-only and writes to it: killed by SIGSEGV
 *  pid 5… sh          the children: read the parent's buffer (shared copy-on-write), write
 *                     their own slot of it (a COW break), churn their inherited heap, exit 0
 * ```
 *
 * The `threads` workload (not part of `demo`) is one process of several threads, one per CPU:
 *
 * ```
 *  threads   maps a shared buffer, a page per thread; starts the workers; each round makes one
 *            worker's page read-only and the last one's writable again (shootdowns of rights)
 *  worker i  each round: maps a private buffer, touches it, checks every shared page, writes
 *            its own while writable, unmaps the buffer (a shootdown to the other CPUs)
 * ```
 *
 * Their mmap, munmap and mprotect calls go through `ctx.sys`: each is a preemption point, so
 * the threads interleave at every one of those system calls, in the order the seed draws.
 *
 * Everything random is drawn from mulberry32 seeded with `--seed`, so a seed gives one run.
 */
import { PAGE_SIZE } from '../hw/constants.js';
import type { Machine } from '../kernel/machine.js';
import type { Process } from '../kernel/process.js';
import type { UserContext } from '../kernel/user-context.js';
import { MAP_ANONYMOUS, MAP_PRIVATE, PROT_READ, PROT_WRITE, SIGSEGV } from '../linux-abi.js';
import { mulberry32 } from '../random.js';
import { type ReplayResult, replayTrace, type Trace } from '../trace/index.js';
import { spawnPressure } from './pressure.js';

/** The processes a workload starts (`pressure`: see pressure.ts). */
export const WORKLOAD_NAMES = [
  'demo',
  'fork',
  'trace',
  'mmap',
  'segfault',
  'threads',
  'pressure',
  'none',
] as const;
/** One of {@link WORKLOAD_NAMES}: `demo` starts them all, `none` nothing. */
export type WorkloadName = (typeof WORKLOAD_NAMES)[number];

/** The name of the process that replays the trace. */
export const REPLAY_PROCESS = 'py-replay';
/** The name of the process that faults on purpose. */
export const FAULTING_PROCESS = 'segv';

/** How a demo process named `name` is meant to end: killed by a signal, or else exit 0. */
export function expectedSignal(name: string): number | null {
  return name === FAULTING_PROCESS ? SIGSEGV : null;
}

const RW = PROT_READ | PROT_WRITE;
const ANON = MAP_PRIVATE | MAP_ANONYMOUS;

/** Children the shell forks. */
const SHELL_CHILDREN = 4;
/** The shell's environment block, inherited by every child (one slot a page per child). */
const ENV_BYTES = SHELL_CHILDREN * PAGE_SIZE;
const ENV_BYTE = 0x45;
/** Blocks each child allocates and frees, and the largest of them. */
const CHILD_BLOCKS = 200;
const CHILD_MAX_BLOCK = 2048;
/** Buffers the mapper maps, and the most pages one may have. */
const MAPPER_BUFFERS = 6;
const MAPPER_MAX_PAGES = 48;
/** Rounds of the threads workload, and the pages of each worker's private buffer. */
const THREAD_ROUNDS = 8;
const WORKER_PAGES = 16;
/** Workers of the threads workload on a 1-CPU machine (else one per CPU). */
const MIN_WORKERS = 2;

/** What the workload's programs report back to the CLI (the programs see only their context). */
export interface DemoResults {
  /** The verified replay of the trace program, once it has run. */
  replay: ReplayResult | null;
}

/** Starts the processes of workload `name` on `machine`; `trace` feeds the replay program. */
export function spawnWorkload(
  machine: Machine,
  name: WorkloadName,
  trace: Trace,
  seed: number,
): DemoResults {
  const results: DemoResults = { replay: null };
  const all = name === 'demo';
  if (all || name === 'fork') machine.spawn(shellProgram(seed), { name: 'sh' });
  if (all || name === 'trace') {
    machine.spawn(replayProgram(machine, trace, results), { name: REPLAY_PROCESS });
  }
  if (all || name === 'mmap') machine.spawn(mapperProgram(seed), { name: 'mapper' });
  if (all || name === 'segfault') machine.spawn(segfaultProgram, { name: FAULTING_PROCESS });
  if (name === 'threads') {
    const workers = Math.max(MIN_WORKERS, machine.cpuCount);
    machine.spawn(threadsProgram(workers, machine.cpuCount), { name: 'threads' });
  }
  if (name === 'pressure') spawnPressure(machine, seed);
  return results;
}

/** Writes `text` to stdout through a heap buffer, as a C program's printf would. */
function say(ctx: UserContext, text: string): void {
  const bytes = new TextEncoder().encode(text);
  const buffer = ctx.malloc(bytes.length);
  ctx.writeBytes(buffer, bytes);
  ctx.write(1, buffer, bytes.length);
  ctx.free(buffer);
}

/** A shell-like parent: forks children that share its memory copy-on-write, and waits. */
function shellProgram(seed: number) {
  return function* sh(ctx: UserContext) {
    const random = mulberry32(seed);
    const env = ctx.malloc(ENV_BYTES);
    ctx.fill(env, ENV_BYTES, ENV_BYTE);
    const pids: number[] = [];
    for (let i = 0; i < SHELL_CHILDREN; i++) {
      pids.push(ctx.fork(childProgram(i, env, mulberry32(Math.floor(random() * 2 ** 32)))));
      yield;
    }
    let failures = 0;
    for (const pid of pids) {
      if (ctx.wait(pid).exitCode !== 0) failures++;
      yield;
    }
    const untouched = ctx.load8(env) === ENV_BYTE && ctx.load8(env + ENV_BYTES - 1) === ENV_BYTE;
    ctx.free(env);
    say(ctx, `${pids.length} children, ${failures} failed, environment intact: ${untouched}\n`);
    return failures === 0 && untouched ? 0 : 1;
  };
}

/** A child of the shell: checks what it inherited, writes its own page of it, churns the heap. */
function childProgram(index: number, env: number, random: () => number) {
  return function* child(ctx: UserContext) {
    const slot = env + index * PAGE_SIZE;
    if (ctx.load8(slot) !== ENV_BYTE) return 2;
    ctx.fill(slot, PAGE_SIZE, index); // the first write breaks copy-on-write sharing
    yield;
    const blocks: number[] = [];
    for (let i = 0; i < CHILD_BLOCKS; i++) {
      const block = ctx.malloc(1 + Math.floor(random() * CHILD_MAX_BLOCK));
      ctx.store8(block, i & 0xff);
      blocks.push(block);
    }
    yield;
    let intact = true;
    blocks.forEach((block, i) => {
      intact &&= ctx.load8(block) === (i & 0xff);
      ctx.free(block);
    });
    say(ctx, `child ${index}: ${CHILD_BLOCKS} blocks intact: ${intact}\n`);
    return intact ? 0 : 3;
  };
}

/** Replays `trace` through the process's own malloc, verified; yields once before exiting. */
function replayProgram(machine: Machine, trace: Trace, results: DemoResults) {
  return function* pyReplay(ctx: UserContext) {
    const self = machine.process(ctx.getpid()) as Process;
    const result = replayTrace(trace, machine.heapOf(self));
    results.replay = result;
    say(ctx, `replayed ${trace.ops} ops, verified: ${result.verified}\n`);
    yield; // still holding the trace's live blocks: the report samples memory here
    return result.verified ? 0 : 1;
  };
}

/** Maps buffers, fills them, makes half read-only, checks them, and unmaps them. */
function mapperProgram(seed: number) {
  return function* mapper(ctx: UserContext) {
    const random = mulberry32(seed ^ 0x5eed);
    const buffers: { base: number; bytes: number }[] = [];
    for (let i = 0; i < MAPPER_BUFFERS; i++) {
      const bytes = (1 + Math.floor(random() * MAPPER_MAX_PAGES)) * PAGE_SIZE;
      const base = ctx.mmap(0, bytes, RW, ANON);
      for (let page = 0; page < bytes / PAGE_SIZE; page++) {
        ctx.store32(base + page * PAGE_SIZE, stamp(i, page));
      }
      buffers.push({ base, bytes });
      yield;
    }
    buffers.forEach(({ base, bytes }, i) => {
      if (i % 2 === 0) ctx.mprotect(base, bytes, PROT_READ);
    });
    yield;
    let intact = true;
    buffers.forEach(({ base, bytes }, i) => {
      for (let page = 0; page < bytes / PAGE_SIZE; page++) {
        intact &&= ctx.load32(base + page * PAGE_SIZE) === stamp(i, page);
      }
      ctx.munmap(base, bytes);
    });
    say(ctx, `${buffers.length} buffers mapped, protected and unmapped, intact: ${intact}\n`);
    return intact ? 0 : 1;
  };
}

/** The word the mapper writes at the start of page `page` of buffer `buffer`. */
function stamp(buffer: number, page: number): number {
  return buffer * MAPPER_MAX_PAGES + page;
}

/**
 * One process, `workers` threads sharing a buffer of one page per worker: see the module's
 * comment. The JS array `writable` is the program's own bookkeeping of which shared pages it
 * made read-only, as a real program would keep it in a variable.
 */
function threadsProgram(workers: number, cpus: number) {
  return function* threads(ctx: UserContext) {
    const shared = ctx.mmap(0, workers * PAGE_SIZE, RW, ANON);
    for (let i = 0; i < workers; i++) ctx.store32(shared + i * PAGE_SIZE, stamp(i, 0));
    const writable = new Array<boolean>(workers).fill(true);
    const state = { shared, writable, failures: 0 };
    const tids = Array.from({ length: workers }, (_, i) => ctx.thread(workerProgram(i, state)));
    for (let round = 0; round < THREAD_ROUNDS; round++) {
      const locked = round % workers;
      const unlocked = (round + workers - 1) % workers;
      // Preempted at each call's entry: its bookkeeping follows the call in the same slice.
      yield* ctx.sys.mprotect(shared + locked * PAGE_SIZE, PAGE_SIZE, PROT_READ);
      writable[locked] = false;
      yield* ctx.sys.mprotect(shared + unlocked * PAGE_SIZE, PAGE_SIZE, RW);
      writable[unlocked] = true;
    }
    for (const tid of tids) state.failures += ctx.join(tid);
    ctx.munmap(shared, workers * PAGE_SIZE);
    const intact = state.failures === 0;
    say(
      ctx,
      `${workers} threads on ${cpus} CPUs mapped, shared, protected and unmapped, intact: ${intact}\n`,
    );
    return intact ? 0 : 1;
  };
}

/** A worker of {@link threadsProgram}: its exit value is the mismatches it saw. */
function workerProgram(
  index: number,
  state: { shared: number; writable: boolean[]; failures: number },
) {
  return function* worker(ctx: UserContext) {
    const { shared, writable } = state;
    let failures = 0;
    let version = 0; // the round whose stamp its shared page holds
    for (let round = 0; round < THREAD_ROUNDS; round++) {
      const own = yield* ctx.sys.mmap(0, WORKER_PAGES * PAGE_SIZE, RW, ANON);
      for (let page = 0; page < WORKER_PAGES; page++) ctx.store32(own + page * PAGE_SIZE, page);
      for (let page = 0; page < WORKER_PAGES; page++) {
        if (ctx.load32(own + page * PAGE_SIZE) !== page) failures++;
      }
      const mine = shared + index * PAGE_SIZE;
      if (ctx.load32(mine) !== stamp(index, version)) failures++;
      if (writable[index]) {
        version = round + 1;
        ctx.store32(mine, stamp(index, version));
      }
      yield* ctx.sys.munmap(own, WORKER_PAGES * PAGE_SIZE);
    }
    return failures;
  };
}

/** Writes to a page it made read-only: the kernel kills it with SIGSEGV (SEGV_ACCERR). */
function* segfaultProgram(ctx: UserContext) {
  const page = ctx.mmap(0, PAGE_SIZE, RW, ANON);
  ctx.store32(page, 1);
  ctx.mprotect(page, PAGE_SIZE, PROT_READ);
  yield;
  ctx.store32(page, 2);
  return 0;
}
