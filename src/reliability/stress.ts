/**
 * A seeded random workload over the whole machine: many processes forking, exiting, using
 * malloc/free/realloc/calloc, mmap/munmap/mprotect, brk and plain loads and stores, while the
 * driver runs `machine.check()` at intervals and verifies the baseline at the end.
 *
 * Every random decision is one {@link ChoiceSource.pick}, so a run is a pure function of its
 * choice sequence: a seed gives one ({@link SeededChoices}), a fast-check array gives another
 * ({@link ListChoices}, which shrinks to a minimal reproduction), and the failure report
 * replays the same sequence with the operation log switched on.
 *
 * ```
 *  driver ── spawn workers ─► machine.schedule(until the next checkpoint) ─► machine.check()
 *     ▲                           │ each worker, at each turn:                     │
 *     └────── top up workers ─────┘   take one op budget unit, pick an op, do it,  │
 *                                     verify what it can see, yield                │
 *  end: machine.run() ─► check() ─► dropCaches() ─► free frames / slab objects = boot ◄┘
 * ```
 *
 * Blocks and pages carry tags (the block's or mapping's number, xored with the page index), so
 * any copy-on-write mistake, lost page or stale translation shows up as a wrong value.
 */
import { PAGE_SIZE } from '../hw/constants.js';
import { ProcessTermination, SyscallError } from '../kernel/errors.js';
import { FaultInjector, NEVER } from '../kernel/fault-injection.js';
import type { Machine } from '../kernel/machine.js';
import type { Process } from '../kernel/process.js';
import type { UserContext } from '../kernel/user-context.js';
import {
  ERRNO,
  MAP_ANONYMOUS,
  MAP_POPULATE,
  MAP_PRIVATE,
  PROT_READ,
  PROT_WRITE,
  SIGKILL,
  SIGSEGV,
} from '../linux-abi.js';
import { Mulberry32 } from '../random.js';
import { imageData, imageText, KERNEL_IMAGE_VA } from '../virtual/layout.js';

/** Where a run's random decisions come from. */
export interface ChoiceSource {
  /** An integer in `[0, bound)`. */
  pick(bound: number): number;
}

/** Choices from a mulberry32 stream seeded with `seed`. */
export class SeededChoices implements ChoiceSource {
  private readonly rng: Mulberry32;

  constructor(seed: number) {
    this.rng = new Mulberry32(seed);
  }

  pick(bound: number): number {
    return Math.floor(this.rng.next() * bound);
  }
}

/** Choices read from a list (each taken modulo the bound); 0 once the list runs out. */
export class ListChoices implements ChoiceSource {
  private next = 0;

  constructor(private readonly values: readonly number[]) {}

  pick(bound: number): number {
    const value = this.values[this.next++] ?? 0;
    return value % bound;
  }
}

/** How big and how busy a stress run is. */
export interface StressOptions {
  /** Operations to run in total, over all processes. */
  ops: number;
  /** Run `machine.check()` after every this many operations (default 2000). */
  checkEvery?: number;
  /** Processes the driver keeps alive (default 4); forks may add more up to `maxProcesses`. */
  processes?: number;
  /** Most processes alive at once (default 12): a fork beyond it is skipped. */
  maxProcesses?: number;
  /** Largest mmap in pages (default 32); larger ones put the machine under memory pressure. */
  maxMappingPages?: number;
  /**
   * Also fail every this many page allocations and slab allocations (a {@link FaultInjector}
   * with `failEvery`); 0 or absent: no injected failures.
   */
  failPagesEvery?: number;
  failSlabEvery?: number;
  /** Called after each `machine.check()` with the operations done so far. */
  progress?: (ops: number) => void;
  /** Keep the last this many operations as text for the failure report (default 0: none). */
  logLength?: number;
}

/** What a stress run did. */
export interface StressReport {
  ops: number;
  /** Count of each operation performed, by name. */
  byOp: Record<string, number>;
  /** System calls and mallocs that failed with ENOMEM (a documented outcome). */
  enomem: number;
  /** Processes killed by the kernel for lack of memory (SIGKILL). */
  oomKills: number;
  /** Children forked to make a wild access, each killed by SIGSEGV as it must be. */
  wildAccesses: number;
  /** `spawn` calls that threw because memory ran out. */
  spawnFailures: number;
  checks: number;
  /** What went wrong: empty on success. */
  failures: string[];
  /** The last operations before the end, when `logLength` was set. */
  log: string[];
}

const DEFAULT_CHECK_EVERY = 2000;
/** Kinds of wild access (see `wild`), and the addresses they use. */
const WILD_KINDS = 4;
const UNMAPPED = 0x1000;
/** How the kernel words the kill of a process at a page fault it had no memory for. */
const OOM_MESSAGE = 'out of memory';
const DEFAULT_PROCESSES = 4;
const DEFAULT_MAX_PROCESSES = 12;
const RW = PROT_READ | PROT_WRITE;
const ANONYMOUS = MAP_PRIVATE | MAP_ANONYMOUS;
/** Most operations a worker does in one turn before it yields the CPU. */
const MAX_BURST = 16;
/** Blocks and mappings a process keeps track of at most (beyond it, it frees instead). */
const MAX_BLOCKS = 64;
const MAX_MAPPINGS = 16;
const DEFAULT_MAX_MAPPING_PAGES = 32;
/** One mmap in this many is MAP_POPULATE: all its frames are allocated at once. */
const POPULATE_ODDS = 4;
const MAX_BRK_PAGES = 64;
const MAX_BRK_STEP_PAGES = 8;
/** Smallest malloc size: room for the head and tail tags. */
const MIN_BLOCK = 8;
const TAG_SIZE = 4;
/** A word in every user page that no operation writes: it must always read zero. */
const UNTOUCHED_OFFSET = PAGE_SIZE / 2;
/** Size classes of malloc requests: small, medium, large (some above the mmap threshold). */
const SMALL_LIMIT = 256;
const MEDIUM_LIMIT = 4096;
const LARGE_LIMIT = 256 * 1024;
const SIZE_CLASS_SUMS = cumulative([70, 25, 5]);
const SIZE_LIMITS = [SMALL_LIMIT, MEDIUM_LIMIT, LARGE_LIMIT] as const;
const MAX_CALLOC_COUNT = 16;
const MAX_CALLOC_SIZE = 64;

/** The operations a worker picks from, with their weights (heap workers; brk workers differ). */
const OPS = [
  'malloc',
  'free',
  'realloc',
  'calloc',
  'mmap',
  'touch',
  'munmap',
  'mprotect',
  'sbrk',
  'fork',
  'wait',
  'exit',
  'wild',
] as const;
type OpName = (typeof OPS)[number];
const HEAP_WEIGHTS: Record<OpName, number> = {
  malloc: 25,
  free: 18,
  realloc: 8,
  calloc: 3,
  mmap: 6,
  touch: 20,
  munmap: 6,
  mprotect: 4,
  sbrk: 0,
  fork: 2,
  wait: 1,
  exit: 1,
  wild: 1,
};
/** brk workers move the break themselves, so they never use malloc (which owns it otherwise). */
const BRK_WEIGHTS: Record<OpName, number> = {
  ...HEAP_WEIGHTS,
  malloc: 0,
  free: 0,
  realloc: 0,
  calloc: 0,
  sbrk: 20,
};
/** Every this many workers the driver spawns, one moves the break by hand (the first one). */
const BRK_WORKER_EVERY = 4;

interface Block {
  address: number;
  size: number;
  tag: number;
}

/** A piece of an mmap; `origin` is where the whole mapping began (pages are tagged from it). */
interface Mapping {
  start: number;
  pages: number;
  origin: number;
  tag: number;
  writable: boolean;
}

/** What one process knows about its memory; a forked child gets a copy. */
class WorkerState {
  blocks: Block[] = [];
  mappings: Mapping[] = [];
  brkPages = 0;
  brkBase = -1;

  constructor(
    readonly movesBreak: boolean,
    readonly brkTag: number,
  ) {}

  clone(): WorkerState {
    const copy = new WorkerState(this.movesBreak, this.brkTag);
    copy.blocks = this.blocks.map((b) => ({ ...b }));
    copy.mappings = this.mappings.map((m) => ({ ...m }));
    copy.brkPages = this.brkPages;
    copy.brkBase = this.brkBase;
    return copy;
  }
}

/** Runs a stress workload on `machine` with `choices`; never throws for a found problem. */
export function runStress(
  machine: Machine,
  choices: ChoiceSource,
  options: StressOptions,
): StressReport {
  return new StressDriver(machine, choices, options).run();
}

class StressDriver {
  private ops = 0;
  private nextCheck = 0;
  private spawned = 0;
  private nextTag = 1;
  /** Every process the run made (workers and their wild children), kept to read how it ended
   * after the kernel has reaped it: the OOM killer may end one while it is not running, so its
   * program never sees its death. */
  private readonly madeProcesses = new Map<number, Process>();
  private readonly report: StressReport;
  private readonly checkEvery: number;
  private readonly processes: number;
  private readonly maxProcesses: number;
  private readonly logLength: number;
  private readonly maxMappingPages: number;
  private readonly opWeights: readonly number[][];

  constructor(
    private readonly machine: Machine,
    private readonly choices: ChoiceSource,
    private readonly options: StressOptions,
  ) {
    this.checkEvery = options.checkEvery ?? DEFAULT_CHECK_EVERY;
    this.nextCheck = this.checkEvery;
    this.processes = options.processes ?? DEFAULT_PROCESSES;
    this.maxProcesses = options.maxProcesses ?? DEFAULT_MAX_PROCESSES;
    this.logLength = options.logLength ?? 0;
    this.maxMappingPages = options.maxMappingPages ?? DEFAULT_MAX_MAPPING_PAGES;
    this.opWeights = [
      cumulative(OPS.map((op) => HEAP_WEIGHTS[op])),
      cumulative(OPS.map((op) => BRK_WEIGHTS[op])),
    ];
    this.report = {
      ops: 0,
      byOp: Object.fromEntries(OPS.map((op) => [op, 0])),
      enomem: 0,
      oomKills: 0,
      wildAccesses: 0,
      spawnFailures: 0,
      checks: 0,
      failures: [],
      log: [],
    };
  }

  run(): StressReport {
    const machine = this.machine;
    const baseline = slabObjects(machine);
    const oomBefore = machine.oomKills;
    const segvsBefore = machine.vm.events.segvs;
    const injector = this.injectFaults();
    while (this.ops < this.options.ops && this.report.failures.length === 0) {
      this.topUp();
      const topUpAt = this.ops + this.checkEvery;
      machine.schedule(() => this.ops >= topUpAt || this.report.failures.length > 0);
    }
    machine.run();
    injector?.uninstall();
    this.verify();
    this.report.oomKills = machine.oomKills - oomBefore;
    const oomDeaths = this.oomDeaths();
    if (oomDeaths !== this.report.oomKills)
      this.fail(
        `${oomDeaths} processes killed for memory, the OOM killer counted ${this.report.oomKills}`,
      );
    const segvs = machine.vm.events.segvs - segvsBefore;
    if (segvs !== this.report.wildAccesses)
      this.fail(`${segvs} segmentation faults, ${this.report.wildAccesses} wild accesses`);
    machine.dropCaches();
    if (machine.frames.freeFrames !== machine.bootFreeFrames)
      this.fail(`${machine.bootFreeFrames - machine.frames.freeFrames} frames leaked`);
    if (slabObjects(machine) !== baseline)
      this.fail(`${slabObjects(machine) - baseline} slab objects leaked`);
    this.report.ops = this.ops;
    return this.report;
  }

  private injectFaults(): FaultInjector | undefined {
    const pages = this.options.failPagesEvery ?? NEVER;
    const slab = this.options.failSlabEvery ?? NEVER;
    if (pages === NEVER && slab === NEVER) return undefined;
    const injector = FaultInjector.install(this.machine);
    injector.failEvery('page', pages);
    injector.failEvery('slab', slab);
    return injector;
  }

  /** Spawns workers until `processes` are alive; spawn failing for lack of memory is counted. */
  private topUp(): void {
    let alive = this.machine.processList.filter((p) => !p.ended).length;
    for (; alive < this.processes; alive++) {
      const movesBreak = this.spawned++ % BRK_WORKER_EVERY === 0;
      const state = new WorkerState(movesBreak, this.tag());
      try {
        this.machine.spawn((ctx) => this.worker(ctx, state), { name: 'stress' });
      } catch (error) {
        if (!(error instanceof SyscallError) || error.code !== 'ENOMEM') throw error;
        this.report.spawnFailures++;
        return;
      }
    }
  }

  /** Checks the whole machine; runs between operations, at CPL 0. */
  private verify(): void {
    const machine = this.machine;
    this.nextCheck = this.ops + this.checkEvery;
    this.report.checks++;
    if (machine.oopses.length > 0) this.fail(`kernel oops: ${machine.oopses[0]!.message}`);
    try {
      machine.check();
    } catch (error) {
      this.fail((error as Error).message);
    }
    this.options.progress?.(this.ops);
  }

  private fail(problem: string): void {
    this.report.failures.push(`after ${this.ops} ops: ${problem}`);
  }

  private tag(): number {
    return this.nextTag++ >>> 0;
  }

  private log(ctx: UserContext, text: string): void {
    if (this.logLength === 0) return;
    const log = this.report.log;
    log.push(`[${ctx.pid}] ${text}`);
    if (log.length > this.logLength) log.shift();
  }

  // ─── the worker program ─────────────────────────────────────────────────────────────────

  private *worker(ctx: UserContext, state: WorkerState): Generator<void, number> {
    try {
      this.madeProcesses.set(ctx.pid, this.machine.process(ctx.pid)!);
      if (state.brkBase < 0) state.brkBase = ctx.syscall('brk', 0);
      let burst = 1;
      while (this.ops < this.options.ops && this.report.failures.length === 0) {
        this.ops++;
        const op = OPS[pickWeighted(this.choices, this.opWeights[state.movesBreak ? 1 : 0]!)]!;
        this.report.byOp[op]!++;
        if (op === 'exit') {
          this.log(ctx, 'exit');
          return 0;
        }
        this.perform(ctx, state, op);
        if (this.ops >= this.nextCheck) this.machine.enterKernel(() => this.verify());
        if (--burst > 0) continue;
        burst = 1 + this.choices.pick(MAX_BURST);
        yield;
      }
      return 0;
    } catch (error) {
      if (error instanceof ProcessTermination) {
        this.noteDeath(ctx);
        throw error;
      }
      this.fail(`worker threw ${error instanceof Error ? error.stack : String(error)}`);
      return 1;
    }
  }

  /** Processes of the run the OOM killer ended, whether they were running then or not. */
  private oomDeaths(): number {
    let deaths = 0;
    for (const process of this.madeProcesses.values()) if (isOomDeath(process)) deaths++;
    return deaths;
  }

  /** A worker was killed. The one documented outcome: the OOM killer (SIGKILL). */
  private noteDeath(ctx: UserContext): void {
    const process = this.machine.process(ctx.pid) ?? this.madeProcesses.get(ctx.pid);
    if (process === undefined || !isOomDeath(process))
      this.fail(`pid ${ctx.pid} died: signal ${process?.signal}, ${process?.error}`);
  }

  private perform(ctx: UserContext, state: WorkerState, op: OpName): void {
    switch (op) {
      case 'malloc':
        this.malloc(ctx, state);
        return;
      case 'free':
        this.free(ctx, state);
        return;
      case 'realloc':
        this.realloc(ctx, state);
        return;
      case 'calloc':
        this.calloc(ctx, state);
        return;
      case 'mmap':
        this.mmap(ctx, state);
        return;
      case 'touch':
        this.touch(ctx, state);
        return;
      case 'munmap':
        this.munmap(ctx, state);
        return;
      case 'mprotect':
        this.mprotect(ctx, state);
        return;
      case 'sbrk':
        this.sbrk(ctx, state);
        return;
      case 'fork':
        this.fork(ctx, state);
        return;
      case 'wait':
        this.wait(ctx);
        return;
      case 'wild':
        this.wild(ctx, state);
        return;
      default:
        return;
    }
  }

  private expect(ctx: UserContext, ok: boolean, problem: string): void {
    if (!ok) this.fail(`pid ${ctx.pid}: ${problem}`);
  }

  private enomem(ctx: UserContext, result: number, call: string): void {
    this.expect(ctx, result === -ERRNO.ENOMEM, `${call} returned ${result}`);
    this.report.enomem++;
  }

  // malloc family

  private mallocSize(): number {
    const limit = SIZE_LIMITS[pickWeighted(this.choices, SIZE_CLASS_SUMS)]!;
    return MIN_BLOCK + this.choices.pick(limit - MIN_BLOCK);
  }

  private malloc(ctx: UserContext, state: WorkerState): void {
    if (state.blocks.length >= MAX_BLOCKS) {
      this.free(ctx, state);
      return;
    }
    const size = this.mallocSize();
    const address = ctx.malloc(size);
    this.log(ctx, `malloc(${size}) = ${address}`);
    if (address === 0) {
      this.enomem(ctx, -ctx.errno, 'malloc');
      return;
    }
    const block = { address, size, tag: this.tag() };
    writeTags(ctx, block);
    state.blocks.push(block);
  }

  private free(ctx: UserContext, state: WorkerState): void {
    if (state.blocks.length === 0) return;
    const index = this.choices.pick(state.blocks.length);
    const block = state.blocks[index]!;
    this.checkTags(ctx, block, block.size);
    this.log(ctx, `free(${block.address})`);
    ctx.free(block.address);
    state.blocks[index] = state.blocks[state.blocks.length - 1]!;
    state.blocks.pop();
  }

  private realloc(ctx: UserContext, state: WorkerState): void {
    if (state.blocks.length === 0) {
      this.malloc(ctx, state);
      return;
    }
    const block = state.blocks[this.choices.pick(state.blocks.length)]!;
    const size = this.mallocSize();
    const address = ctx.realloc(block.address, size);
    this.log(ctx, `realloc(${block.address}, ${size}) = ${address}`);
    if (address === 0) {
      this.enomem(ctx, -ctx.errno, 'realloc');
      this.checkTags(ctx, block, block.size);
      return;
    }
    const head = ctx.load32(address);
    this.expect(ctx, head === block.tag, `realloc lost the head tag of ${block.address}`);
    block.address = address;
    block.size = size;
    writeTags(ctx, block);
  }

  private calloc(ctx: UserContext, state: WorkerState): void {
    if (state.blocks.length >= MAX_BLOCKS) {
      this.free(ctx, state);
      return;
    }
    const count = 1 + this.choices.pick(MAX_CALLOC_COUNT);
    const size = MIN_BLOCK + this.choices.pick(MAX_CALLOC_SIZE);
    const address = ctx.calloc(count, size);
    this.log(ctx, `calloc(${count}, ${size}) = ${address}`);
    if (address === 0) {
      this.enomem(ctx, -ctx.errno, 'calloc');
      return;
    }
    const middle = address + Math.floor((count * size) / 2 / TAG_SIZE) * TAG_SIZE;
    this.expect(ctx, ctx.load32(middle) === 0, `calloc block ${address} is not zeroed`);
    const block = { address, size: count * size, tag: this.tag() };
    writeTags(ctx, block);
    state.blocks.push(block);
  }

  private checkTags(ctx: UserContext, block: Block, size: number): void {
    const head = ctx.load32(block.address);
    const tail = ctx.load32(block.address + size - TAG_SIZE);
    this.expect(
      ctx,
      head === block.tag && tail === block.tag,
      `block ${block.address} (${size} B) lost its tags: ${head}/${tail}, expected ${block.tag}`,
    );
  }

  // mappings

  private mmap(ctx: UserContext, state: WorkerState): void {
    if (state.mappings.length >= MAX_MAPPINGS) {
      this.munmap(ctx, state);
      return;
    }
    const pages = 1 + this.choices.pick(this.maxMappingPages);
    const flags = ANONYMOUS | (this.choices.pick(POPULATE_ODDS) === 0 ? MAP_POPULATE : 0);
    const start = ctx.syscall('mmap', 0, pages * PAGE_SIZE, RW, flags, -1, 0);
    this.log(ctx, `mmap(${pages} pages, flags ${flags}) = ${start}`);
    if (start < 0) {
      this.enomem(ctx, start, 'mmap');
      return;
    }
    state.mappings.push({ start, pages, origin: start, tag: this.tag(), writable: true });
  }

  private touch(ctx: UserContext, state: WorkerState): void {
    const area = this.touchArea(state);
    if (area === undefined) return;
    const page = this.choices.pick(area.pages);
    const va = area.start + page * PAGE_SIZE;
    const expected = (area.tag ^ ((va - area.origin) / PAGE_SIZE)) >>> 0;
    const write = area.writable && this.choices.pick(2) === 0;
    this.log(ctx, `${write ? 'store' : 'load'} ${va}`);
    if (write) {
      ctx.store32(va, expected);
      return;
    }
    const value = ctx.load32(va);
    this.expect(ctx, value === 0 || value === expected, `page ${va} reads ${value}`);
    const untouched = ctx.load32(va + UNTOUCHED_OFFSET);
    this.expect(ctx, untouched === 0, `page ${va} has ${untouched} where nothing was written`);
  }

  /** A mapping to touch, or (for a brk worker, sometimes) its heap as one. */
  private touchArea(state: WorkerState): Mapping | undefined {
    const heapChoice = state.movesBreak && state.brkPages > 0 ? 1 : 0;
    const index = this.choices.pick(state.mappings.length + heapChoice);
    if (index < state.mappings.length) return state.mappings[index];
    if (heapChoice === 0) return undefined;
    const start = pageUp(state.brkBase);
    return { start, pages: state.brkPages, origin: start, tag: state.brkTag, writable: true };
  }

  /** Unmaps a random run of pages of a mapping: its head, its tail or a hole in the middle. */
  private munmap(ctx: UserContext, state: WorkerState): void {
    if (state.mappings.length === 0) return;
    const index = this.choices.pick(state.mappings.length);
    const area = state.mappings[index]!;
    const first = this.choices.pick(area.pages);
    const count = 1 + this.choices.pick(area.pages - first);
    const start = area.start + first * PAGE_SIZE;
    const result = ctx.syscall('munmap', start, count * PAGE_SIZE);
    this.log(ctx, `munmap(${start}, ${count} pages) = ${result}`);
    if (result !== 0) {
      this.enomem(ctx, result, 'munmap');
      return;
    }
    const pieces: Mapping[] = [];
    if (first > 0) pieces.push({ ...area, pages: first });
    const after = area.pages - first - count;
    if (after > 0) pieces.push({ ...area, start: start + count * PAGE_SIZE, pages: after });
    state.mappings.splice(index, 1, ...pieces);
  }

  private mprotect(ctx: UserContext, state: WorkerState): void {
    if (state.mappings.length === 0) return;
    const area = state.mappings[this.choices.pick(state.mappings.length)]!;
    const prot = area.writable ? PROT_READ : RW;
    const result = ctx.syscall('mprotect', area.start, area.pages * PAGE_SIZE, prot);
    this.log(ctx, `mprotect(${area.start}, ${area.pages} pages, ${prot}) = ${result}`);
    if (result !== 0) {
      this.enomem(ctx, result, 'mprotect');
      return;
    }
    area.writable = !area.writable;
  }

  /** Grows or shrinks the heap of a brk worker by a few pages. */
  private sbrk(ctx: UserContext, state: WorkerState): void {
    const grow = state.brkPages === 0 || (state.brkPages < MAX_BRK_PAGES && this.choices.pick(2));
    const pages = 1 + this.choices.pick(grow ? MAX_BRK_STEP_PAGES : state.brkPages);
    const increment = (grow ? pages : -pages) * PAGE_SIZE;
    const result = ctx.syscall('sbrk', increment);
    this.log(ctx, `sbrk(${increment}) = ${result}`);
    if (result < 0) {
      this.enomem(ctx, result, 'sbrk');
      return;
    }
    this.expect(ctx, result === state.brkBase + state.brkPages * PAGE_SIZE, `sbrk gave ${result}`);
    state.brkPages += grow ? pages : -pages;
  }

  // processes

  private fork(ctx: UserContext, state: WorkerState): void {
    const alive = this.machine.processList.filter((p) => !p.ended).length;
    if (alive >= this.maxProcesses) return;
    const child = state.clone();
    const pid = ctx.syscall('fork', (c: UserContext) => this.worker(c, child));
    this.log(ctx, `fork() = ${pid}`);
    if (pid < 0) this.enomem(ctx, pid, 'fork');
    // Tracked now, not when it first runs: the OOM killer may end it before it ever does.
    else this.madeProcesses.set(pid, this.machine.process(pid)!);
  }

  /**
   * Forks a child that reads kernel memory, writes an unmapped page or the program text, or
   * jumps into data; it must die of SIGSEGV, and nothing it shared may suffer.
   */
  private wild(ctx: UserContext, state: WorkerState): void {
    // The program's text (read-only) and data (no execute permission), where it was loaded.
    const layout = this.machine.process(ctx.pid)!.space.layout;
    const [text] = imageText(layout);
    const data = state.mappings[0]?.start ?? imageData(layout)[0];
    const kind = this.choices.pick(WILD_KINDS);
    const pid = ctx.syscall('fork', (child: UserContext) => {
      // counted here: the OOM killer may end the parent before its wait returns
      this.report.wildAccesses++;
      if (kind === 0) child.load32(KERNEL_IMAGE_VA);
      else if (kind === 1) child.store32(UNMAPPED, 1);
      else if (kind === 2) child.store32(text, 1);
      else child.jump(data);
      return 0;
    });
    this.log(ctx, `wild access ${kind} in child ${pid}`);
    if (pid < 0) {
      this.enomem(ctx, pid, 'fork');
      return;
    }
    const child = this.machine.process(pid)!;
    this.madeProcesses.set(pid, child);
    const status = ctx.wait(pid);
    this.expect(
      ctx,
      status.signal === SIGSEGV || isOomDeath(child),
      `wild child ${pid} ended with ${status.status}`,
    );
  }

  private wait(ctx: UserContext): void {
    const pid = ctx.syscall('wait', -1);
    this.log(ctx, `wait() = ${pid}`);
    this.expect(ctx, pid > 0 || pid === -ERRNO.ECHILD, `wait returned ${pid}`);
  }
}

/** The one way a process may die under memory pressure: the OOM killer's SIGKILL. */
function isOomDeath(process: Process): boolean {
  return process.signal === SIGKILL && process.error === OOM_MESSAGE;
}

function writeTags(ctx: UserContext, block: Block): void {
  ctx.store32(block.address, block.tag);
  ctx.store32(block.address + block.size - TAG_SIZE, block.tag);
}

function pageUp(n: number): number {
  return Math.ceil(n / PAGE_SIZE) * PAGE_SIZE;
}

/** Running sums of `weights`, for {@link pickWeighted}. */
function cumulative(weights: readonly number[]): number[] {
  let sum = 0;
  return weights.map((w) => (sum += w));
}

/** An index drawn with probability proportional to its weight. */
function pickWeighted(choices: ChoiceSource, sums: readonly number[]): number {
  const draw = choices.pick(sums[sums.length - 1]!);
  let index = 0;
  while (sums[index]! <= draw) index++;
  return index;
}

/** Slab objects in use in every cache. */
export function slabObjects(machine: Machine): number {
  let objects = 0;
  for (const cache of machine.slab.caches()) objects += cache.activeObjects;
  return objects;
}
