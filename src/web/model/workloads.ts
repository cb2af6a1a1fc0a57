/**
 * The programs the page can run. Each is a generator: it does a bounded amount of work, then
 * `yield`s, so the scheduler interleaves processes and the page can redraw between steps.
 * Programs note the blocks they hold, and now and then the allocator's chunks, in a
 * {@link HeapRecord}, which the heap view draws.
 */
import { PAGE_SIZE } from '../../hw/constants.js';
import type { Machine } from '../../kernel/machine.js';
import type { ProcessHandle, Program } from '../../kernel/process.js';
import type { UserContext } from '../../kernel/user-context.js';
import { MAP_ANONYMOUS, MAP_PRIVATE, PROT_READ, PROT_WRITE } from '../../linux-abi.js';
import { mulberry32 } from '../../random.js';
import { HeapRecord } from './heap-view.js';
import { THREAD_CPUS, threadsProgram } from './threads-workload.js';

/** Where programs publish the blocks they hold, by pid. */
export type HeapRecords = Map<number, HeapRecord>;

/** A workload: a name, a description and how to start it on a machine. */
export interface WebWorkload {
  readonly name: string;
  readonly description: string;
  /** Swap the machine needs, as a share of its RAM (none when absent). */
  readonly swapShare?: number;
  /** Spawns the workload's processes; returns their handles. */
  start(machine: Machine, seed: number, records: HeapRecords): ProcessHandle[];
  /** CPUs of the machine it runs on (default 1). */
  readonly cpus?: number;
}

const RW = PROT_READ | PROT_WRITE;
const ANON = MAP_PRIVATE | MAP_ANONYMOUS;

/** malloc that fills the block (so its pages are really touched) and records it. */
function allocate(ctx: UserContext, record: HeapRecord, size: number, byte: number): number {
  const pointer = ctx.malloc(size);
  if (pointer === 0) return 0;
  ctx.fill(pointer, size, byte);
  record.allocated(pointer, ctx.usableSize(pointer));
  return pointer;
}

function release(ctx: UserContext, record: HeapRecord, pointer: number): void {
  ctx.free(pointer);
  record.freed(pointer);
}

/** Notes the allocator's own view of the heap; runs inside the process (its memory is current). */
function observeHeap(machine: Machine, ctx: UserContext, record: HeapRecord): void {
  record.observe(machine.heapOf(machine.process(ctx.pid)!));
}

/** Request mix: [share of requests (cumulative), smallest size, largest size). */
const SMALL_REQUESTS = [0.7, 16, 512] as const;
const MEDIUM_REQUESTS = [0.96, 512, 16 * 1024 + 512] as const;
/** The rest: large, a good part of them above glibc's 128 KiB mmap threshold. */
const LARGE_REQUESTS = [1, 64 * 1024, 256 * 1024] as const;

/** A request size: mostly small, some medium, a few above the 128 KiB mmap threshold. */
function requestSize(random: () => number): number {
  const p = random();
  for (const [share, low, high] of [SMALL_REQUESTS, MEDIUM_REQUESTS, LARGE_REQUESTS]) {
    if (p < share) return low + Math.floor(random() * (high - low));
  }
  return LARGE_REQUESTS[1];
}

const CHURN_ROUNDS = 300;
const CHURN_OPS_PER_ROUND = 8;
const CHURN_TARGET_LIVE = 120;
/** Below the target, this share of operations allocates (the rest free). */
const CHURN_ALLOC_SHARE = 0.6;

/** Random malloc/free with a slowly varying number of live blocks, then frees everything. */
function heapChurn(machine: Machine, seed: number, records: HeapRecords): Program {
  return function* churn(ctx: UserContext) {
    const random = mulberry32(seed);
    const record = new HeapRecord();
    records.set(ctx.pid, record);
    const live: number[] = [];
    for (let round = 0; round < CHURN_ROUNDS; round++) {
      for (let op = 0; op < CHURN_OPS_PER_ROUND; op++) {
        if (live.length < CHURN_TARGET_LIVE && random() < CHURN_ALLOC_SHARE) {
          const pointer = allocate(ctx, record, requestSize(random), round & 0xff);
          if (pointer !== 0) live.push(pointer);
        } else if (live.length > 0) {
          const index = Math.floor(random() * live.length);
          release(ctx, record, live[index]!);
          live[index] = live[live.length - 1]!;
          live.pop();
        }
      }
      observeHeap(machine, ctx, record);
      yield;
    }
    for (const pointer of live) release(ctx, record, pointer);
    observeHeap(machine, ctx, record);
    yield;
  };
}

const COW_BUFFER_BYTES = 2 * 1024 * 1024;
const COW_CHILDREN = 3;
const COW_PAGES_PER_STEP = 4;
const COW_PARENT_STEPS = 400;

/** A parent fills a buffer and forks children that each rewrite part of it, page by page. */
function forkCow(machine: Machine, records: HeapRecords): Program {
  return function* parent(ctx: UserContext) {
    const record = new HeapRecord();
    records.set(ctx.pid, record);
    const buffer = allocate(ctx, record, COW_BUFFER_BYTES, 0x11);
    if (buffer === 0) return 1;
    observeHeap(machine, ctx, record);
    yield;
    for (let child = 0; child < COW_CHILDREN; child++) {
      ctx.fork(function* writer(childCtx: UserContext) {
        const childRecord = new HeapRecord();
        for (const [pointer, size] of record.blocks) childRecord.allocated(pointer, size);
        records.set(childCtx.pid, childRecord);
        const pages = COW_BUFFER_BYTES / PAGE_SIZE;
        const share = Math.floor(pages / (child + 2));
        for (let page = 0; page < share; page++) {
          childCtx.store32(buffer + page * PAGE_SIZE, childCtx.pid);
          if (page % COW_PAGES_PER_STEP === 0) yield;
        }
      });
      yield;
    }
    for (let step = 0; step < COW_PARENT_STEPS; step++) {
      if (step % 16 === 0) ctx.store32(buffer + ((step / 16) % 32) * PAGE_SIZE, step);
      yield;
    }
    release(ctx, record, buffer);
    return 0;
  };
}

const MMAP_ROUNDS = 200;
const MMAP_MAX_REGIONS = 4;
const MMAP_MAX_PAGES = 1024;
const MMAP_TOUCH_PER_STEP = 16;
/** Per step: chance of mapping one more region (below the maximum)… */
const MMAP_MAP_CHANCE = 0.1;
/** …and, at the maximum, of unmapping the oldest. */
const MMAP_UNMAP_CHANCE = 0.05;
const MMAP_MIN_PAGES = 16;

/** Maps anonymous regions, touches their pages a few at a time, unmaps the oldest. */
function mmapPages(seed: number): Program {
  return function* mapper(ctx: UserContext) {
    const random = mulberry32(seed);
    const regions: { address: number; pages: number; touched: number }[] = [];
    for (let round = 0; round < MMAP_ROUNDS; round++) {
      if (
        regions.length === 0 ||
        (regions.length < MMAP_MAX_REGIONS && random() < MMAP_MAP_CHANCE)
      ) {
        const pages = MMAP_MIN_PAGES + Math.floor(random() * (MMAP_MAX_PAGES - MMAP_MIN_PAGES));
        regions.push({ address: ctx.mmap(0, pages * PAGE_SIZE, RW, ANON), pages, touched: 0 });
      }
      const region = regions[Math.floor(random() * regions.length)]!;
      const end = Math.min(region.pages, region.touched + MMAP_TOUCH_PER_STEP);
      for (; region.touched < end; region.touched++) {
        ctx.store8(region.address + region.touched * PAGE_SIZE, round & 0xff);
      }
      if (regions.length === MMAP_MAX_REGIONS && random() < MMAP_UNMAP_CHANCE) {
        const oldest = regions.shift()!;
        ctx.munmap(oldest.address, oldest.pages * PAGE_SIZE);
      }
      yield;
    }
  };
}

/** The pressure workload touches this share of RAM in all, so reclaim must swap the rest. */
const PRESSURE_SHARE = 1.25;
/** It touches its pages in about this many steps, whatever the RAM. */
const PRESSURE_TOUCH_STEPS = 600;
/** Every this many pages it later reads back (swap-ins, major faults). */
const PRESSURE_REREAD_STRIDE = 8;
/** Pages it keeps mlocked throughout (unevictable). */
const PRESSURE_LOCKED_PAGES = 64;

/**
 * Maps more anonymous memory than the machine has RAM, locks a little of it, writes every page,
 * then reads some back: kswapd and direct reclaim move the oldest pages to swap, and the reads
 * fault them back in.
 */
function swapPressure(machine: Machine): Program {
  return function* pressure(ctx: UserContext) {
    const pages = Math.floor(machine.frames.totalFrames * PRESSURE_SHARE);
    const perStep = Math.max(1, Math.ceil(pages / PRESSURE_TOUCH_STEPS));
    const area = ctx.mmap(0, pages * PAGE_SIZE, RW, ANON);
    ctx.mlock(area, PRESSURE_LOCKED_PAGES * PAGE_SIZE);
    for (let page = 0; page < pages; page++) {
      ctx.store8(area + page * PAGE_SIZE, page & 0xff);
      if (page % perStep === perStep - 1) yield;
    }
    for (let page = 0; page < pages; page += PRESSURE_REREAD_STRIDE) {
      if (ctx.load8(area + page * PAGE_SIZE) !== (page & 0xff)) return 1;
      if ((page / PRESSURE_REREAD_STRIDE) % perStep === perStep - 1) yield;
    }
    ctx.munmap(area, pages * PAGE_SIZE);
    return 0;
  };
}

const CHURN_PROCESSES = 3;
const MAPPERS = 2;

/** Every workload the page offers. */
export const WEB_WORKLOADS: readonly WebWorkload[] = [
  {
    name: 'heap-churn',
    description: `${CHURN_PROCESSES} processes malloc and free random sizes`,
    start(machine, seed, records) {
      return Array.from({ length: CHURN_PROCESSES }, (_, i) =>
        machine.spawn(heapChurn(machine, seed + i, records), { name: `churn${i}` }),
      );
    },
  },
  {
    name: 'fork-cow',
    description: 'a parent forks children that break copy-on-write page by page',
    start(machine, _seed, records) {
      return [machine.spawn(forkCow(machine, records), { name: 'cow' })];
    },
  },
  {
    name: 'mmap-pages',
    description: `${MAPPERS} processes map regions and fault their pages in`,
    start(machine, seed) {
      return Array.from({ length: MAPPERS }, (_, i) =>
        machine.spawn(mmapPages(seed + i), { name: `mapper${i}` }),
      );
    },
  },
  {
    name: 'swap-pressure',
    description: 'one process writes 1.25× RAM: reclaim swaps, reads swap back in',
    swapShare: 1,
    start(machine) {
      return [machine.spawn(swapPressure(machine), { name: 'pressure' })];
    },
  },
  {
    name: 'mixed',
    description: 'heap-churn, fork-cow and mmap-pages at once',
    start(machine, seed, records) {
      const alone = (w: WebWorkload) =>
        w.name === 'mixed' || w.cpus !== undefined || w.swapShare !== undefined;
      return WEB_WORKLOADS.filter((w) => !alone(w)).flatMap((w) => w.start(machine, seed, records));
    },
  },
  {
    name: 'threads',
    description: `a thread on each of ${THREAD_CPUS} CPUs maps, unmaps and protects shared pages`,
    cpus: THREAD_CPUS,
    start(machine) {
      return [machine.spawn(threadsProgram(), { name: 'threads' })];
    },
  },
];

/** The workload called `name`. @throws Error for an unknown name. */
export function workloadNamed(name: string): WebWorkload {
  const workload = WEB_WORKLOADS.find((w) => w.name === name);
  if (workload === undefined) throw new Error(`unknown workload ${name}`);
  return workload;
}
