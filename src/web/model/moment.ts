/**
 * One moment of a run: everything the page's panels draw, read from the machine between two
 * scheduler steps. Every panel draws from the moment shown (the latest while running, any
 * earlier one when the timeline is scrubbed back), so no two panels can disagree.
 *
 * The frames themselves are kept apart, compactly (frame-history.ts); the rest is small.
 */
import type { PageWalk } from '../../hw/mmu.js';
import type { Process } from '../../kernel/process.js';
import type { MallInfo } from '../../user-alloc/user-allocator.js';
import type { Vma } from '../../virtual/vma.js';
import { freeListSeries, type ZoneSeries } from './buddy-histogram.js';
import type { CounterSample } from './counters.js';
import { encodeRuns, type Runs } from './frame-history.js';
import { type HeapSegment, heapSegments, residentPages } from './heap-view.js';
import type { Simulation } from './simulation.js';
import { type SlabCacheView, slabCacheViews } from './slab-view.js';
import { walkNotes } from './walk-notes.js';

/** One VMA as the address-space table shows it. */
export interface VmaView {
  readonly start: number;
  readonly end: number;
  readonly rights: string;
  readonly kind: string;
  readonly length: number;
  /** Pages with a page-table entry (resident, or kept under PROT_NONE). */
  readonly resident: number;
  /** The first such page, else the start: the walk worth showing. */
  readonly firstResident: number;
  readonly name: string;
  readonly locked: boolean;
}

/** A process's heap as the heap panel draws it. */
export interface HeapView {
  readonly brkStart: number;
  readonly brk: number;
  /** Blocks the program holds and their usable bytes together. */
  readonly blocks: number;
  readonly heldBytes: number;
  readonly segments: readonly HeapSegment[];
  readonly info: MallInfo | null;
  /** One flag per page of [brkStart, brk): 1 where resident. */
  readonly residentPages: Uint8Array;
  /** Blocks in their own mappings: [address, bytes]. */
  readonly mmapped: readonly (readonly [number, number])[];
}

/** A live process at one moment. */
export interface ProcessView {
  readonly pid: number;
  readonly ppid: number;
  readonly name: string;
  readonly state: string;
  readonly rssPages: number;
  readonly vmas: readonly VmaView[];
  readonly heap: HeapView;
}

/** A page walk, with what it means for the page (copy-on-write, swapped, locked). */
export interface WalkView {
  readonly pid: number | null;
  readonly address: number;
  readonly walk: PageWalk;
  readonly notes: readonly string[];
}

/** The swap device at one moment: which slots hold a page. */
export interface SwapView {
  /** Slots pages can use (slot 0 is the header). */
  readonly usableSlots: number;
  readonly usedSlots: number;
  /** Per slot 1..slots-1: 1 when in use, run-length encoded. */
  readonly used: Runs;
  /** Pages reclaim tracks on its active and inactive lists, and the mlocked ones. */
  readonly active: number;
  readonly inactive: number;
  readonly unevictable: number;
  /** Frames in the swap cache. */
  readonly swapCache: number;
}

/** Everything but the frames, at one moment. */
export interface Moment {
  /** Scheduler steps run so far. */
  readonly step: number;
  readonly finished: boolean;
  readonly totalFrames: number;
  readonly freeFrames: number;
  readonly counters: CounterSample;
  readonly buddy: readonly ZoneSeries[];
  readonly slabs: readonly SlabCacheView[];
  /** Live processes, by pid. */
  readonly processes: readonly ProcessView[];
  /** The walk the page had asked for when the moment was taken, or null. */
  readonly walk: WalkView | null;
  /** The swap device and reclaim's lists, or null on a machine without swap. */
  readonly swap: SwapView | null;
}

/** What the page asks to be walked: an address in a process (null: the kernel's tables). */
export interface WalkRequest {
  readonly pid: number | null;
  readonly address: number;
}

/** The moment `sim` is at now (its frame snapshot must be current). */
export function captureMoment(sim: Simulation, request: WalkRequest | null): Moment {
  const machine = sim.machine;
  const stats = machine.frames.stats();
  return {
    step: sim.steps,
    finished: sim.finished,
    totalFrames: stats.totalFrames,
    freeFrames: stats.freeFrames,
    counters: sim.sample(),
    buddy: freeListSeries(stats),
    slabs: slabCacheViews(machine.slab),
    processes: sim.processes.map((process) => processView(sim, process)),
    walk: request === null ? null : walkView(sim, request),
    swap: swapView(sim),
  };
}

function swapView(sim: Simulation): SwapView | null {
  const reclaim = sim.machine.vm.reclaim;
  if (reclaim === undefined || reclaim === null) return null;
  const device = reclaim.device;
  const used = new Uint8Array(device.slots - 1);
  device.forEachUsed((slot) => {
    used[slot - 1] = 1;
  });
  return {
    usableSlots: device.usableSlots,
    usedSlots: device.usedSlots,
    used: encodeRuns(used),
    active: reclaim.policy.activeSize,
    inactive: reclaim.policy.size - reclaim.policy.activeSize,
    unevictable: reclaim.unevictable,
    swapCache: reclaim.cache.size,
  };
}

/** The walk of `request` on `sim`'s machine now. */
export function walkView(sim: Simulation, request: WalkRequest): WalkView {
  const process = request.pid === null ? undefined : sim.machine.process(request.pid);
  const live = process !== undefined && !process.ended ? process : null;
  const walk = sim.walker.walk(live, request.address);
  return {
    pid: live?.pid ?? null,
    address: request.address,
    walk,
    notes: walkNotes(sim.machine, live, walk),
  };
}

function processView(sim: Simulation, process: Process): ProcessView {
  return {
    pid: process.pid,
    ppid: process.ppid,
    name: process.name,
    state: process.state,
    rssPages: process.space.rss,
    vmas: process.space.vmas.items.map((vma) => vmaView(process, vma)),
    heap: heapView(sim, process),
  };
}

function vmaView(process: Process, vma: Vma): VmaView {
  let resident = 0;
  let first = -1;
  process.space.tables.forEachLeaf(vma.start, vma.end, (_, va) => {
    if (first < 0) first = va;
    resident++;
  });
  return {
    start: vma.start,
    end: vma.end,
    rights: vma.perms,
    kind: vma.kind,
    length: vma.length,
    resident,
    firstResident: first < 0 ? vma.start : first,
    name: vma.name,
    locked: vma.locked,
  };
}

function heapView(sim: Simulation, process: Process): HeapView {
  const { brkStart, brk } = process.space;
  const record = sim.heaps.get(process.pid);
  const chunks = record?.chunks ?? [];
  let heldBytes = 0;
  for (const size of record?.blocks.values() ?? []) heldBytes += size;
  return {
    brkStart,
    brk,
    blocks: record?.blocks.size ?? 0,
    heldBytes,
    segments: heapSegments(brkStart, brk, chunks),
    info: record?.info ?? null,
    residentPages: residentPages(sim.walker, process, brkStart, brk),
    mmapped: chunks.filter((c) => c.state === 'mmapped').map((c) => [c.address, c.size] as const),
  };
}
