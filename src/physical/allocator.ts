/**
 * The buddy allocator of physical page frames (the seed's `physical_mem`).
 *
 * Memory is handed out in blocks of 2^order contiguous frames (order 0..10, 4 KiB .. 4 MiB),
 * each naturally aligned. A block's buddy is the other half of the block one order up, found
 * by flipping one bit of the frame number: `buddy = pfn ^ (1 << order)`. Allocation splits a
 * larger free block down to the requested order; freeing merges a block with its buddy for as
 * long as the buddy is free and of the same order.
 *
 * ```
 *  order 2 block at pfn 8 (free)        allocate order 0: split twice, hand out pfn 8
 *  ┌──────┬──────┬──────┬──────┐        ┌──────┬──────┬─────────────┐
 *  │  8   │  9   │  10  │  11  │   ──►  │ 8 use│ 9 o0 │   10 o1     │  9 and 10 go on the
 *  └──────┴──────┴──────┴──────┘        └──────┴──────┴─────────────┘  order-0/1 free lists
 * ```
 *
 * Per-frame metadata (Linux's `mem_map`, 64 bytes a frame there) lives in typed arrays,
 * 13 bytes a frame (14 in debug mode):
 *
 * ```
 *  state    Uint8Array   1  order + 1 | SHARED | FrameUse, one byte (see below)
 *  extraRefs Int32Array  4  references to an allocated block beyond the first (head only)
 *  links    Int32Array   8  next, prev: free-list links (free block heads only), in FreeLists
 *  poisoned Uint8Array  (1) debug mode: the frame holds the poison pattern
 *
 *   7       4    3      2   0
 *  ┌─────────┬────────┬─────┐   order+1 | FREE          head of a free block, in its list
 *  │ order+1 │ SHARED │ use │   order+1 | use           head of an allocated block
 *  └─────────┴────────┴─────┘   order+1 | SHARED | use  ... with more than one reference
 *                               TAIL (0)                any other frame of a block
 *                               RESERVED (1)            not managed (firmware, holes, kernel
 *                                                       image, this table), or quarantined
 * ```
 *
 * A zero upper nibble means "not a block head". Packing order, sharing and use in one byte
 * makes the hot paths touch one byte a frame: the buddy test of the merge loop is
 * `state[buddy] === freeHead(order)`, and a free checks order, owner and sharing with one
 * load. Reference counts are kept as *extra* references, zero for a block with one owner, so
 * allocating and freeing an unshared block never touch that array.
 *
 * The table covers every frame up to the top of RAM (a flat `mem_map`, holes included: the
 * PCI hole of a PC costs 3.25 MiB of table per GiB) and, as on a real machine, occupies RAM:
 * `ceil(frames * bytesPerFrame / PAGE_SIZE)` frames are taken from the top of usable memory at
 * boot and show as RESERVED.
 */
import { InvalidArgumentError } from '../errors.js';
import { formatPhysical } from '../hw/address.js';
import { PAGE_SIZE as IMPORTED_PAGE_SIZE } from '../hw/constants.js';
import type { BootMemoryMap } from '../hw/memory-map.js';
import type { PhysicalMemory } from '../hw/ram.js';
import {
  type FrameRange,
  forEachMaximalBlock,
  takeFromTop,
  usableFrameRanges,
} from './boot-layout.js';
import {
  DMA_END_PFN,
  DMA32_END_PFN,
  FrameUse,
  FRAME_USE_COUNT as IMPORTED_FRAME_USE_COUNT,
  MAX_ORDER as IMPORTED_MAX_ORDER,
  ZONE_COUNT as IMPORTED_ZONE_COUNT,
  ZONE_NORMAL as IMPORTED_ZONE_NORMAL,
  ZONE_NAMES,
  zoneOfPfn,
} from './constants.js';
import {
  InvalidFrameError,
  InvalidFreeError,
  OutOfMemoryError,
  PhysicalInvariantError,
} from './errors.js';
import { FreeLists, NIL as IMPORTED_NIL } from './free-lists.js';
import {
  batchBlocks,
  PCP_MAX_ORDER as IMPORTED_PCP_MAX_ORDER,
  PCP_BATCH,
  PCP_HIGH,
  PerCpuPages,
} from './per-cpu-pages.js';
import { firstUnpoisonedByte, type PoisonReport, poison } from './poison.js';
import { formatBuddyinfo, type PhysicalMemoryStats, type ZoneStats } from './stats.js';

/*
 * Module-local copies of the imported constants the hot paths use: V8 (Node 20) reads an
 * imported binding through its module cell on every use, but keeps a module's own constants
 * close. Measured on the alloc+free loop: about 20% faster.
 */
const PAGE_SIZE = IMPORTED_PAGE_SIZE;
const MAX_ORDER = IMPORTED_MAX_ORDER;
const ZONE_COUNT = IMPORTED_ZONE_COUNT;
const ZONE_NORMAL = IMPORTED_ZONE_NORMAL;
const FRAME_USE_COUNT = IMPORTED_FRAME_USE_COUNT;
const NIL = IMPORTED_NIL;
const FREE: FrameUse = FrameUse.FREE;
const PCP_MAX_ORDER = IMPORTED_PCP_MAX_ORDER;
/** 1 / PAGE_SIZE, a power of two: multiplying by it is exact. */
const FRAMES_PER_BYTE = 1 / PAGE_SIZE;

/** Host bytes of metadata per frame: state, extra references, next, prev. */
export const BYTES_PER_FRAME = 1 + 4 + 4 + 4;
/** Debug mode adds one byte a frame: whether the frame holds poison. */
export const DEBUG_BYTES_PER_FRAME = BYTES_PER_FRAME + 1;

/** State bits holding the frame's {@link FrameUse}. */
const USE_MASK = 0x07;
/** State bit of an allocated head: the block has more than one reference. */
const SHARED = 0x08;
/** Where a head's block order (plus one) sits in its state byte. */
const ORDER_SHIFT = 4;
/** The smallest state of a block head (order 0, free). */
const FIRST_HEAD_STATE = 1 << ORDER_SHIFT;
/** State of a frame inside a block, after its head. */
const TAIL = 0;
/**
 * State of the head of a free block of `order` parked in the per-CPU cache: a free head with the
 * SHARED bit, a combination no listed free block has, so it never merges while cached.
 */
function cachedHead(order: number): number {
  return freeHead(order) | SHARED;
}

/** True for the state of a cached free block's head. */
function isCachedHead(state: number): boolean {
  return isHead(state) && (state & (USE_MASK | SHARED)) === SHARED;
}
/** Marks of `checkFreeLists`: a head on a buddy free list, a frame in a per-CPU stack. */
const ON_FREE_LIST = 1;
const IN_CACHE = 2;

/** State of the head of a block of `order` owned once by `use` (FREE for a free block). */
function headState(order: number, use: number): number {
  return ((order + 1) << ORDER_SHIFT) | use;
}

/** State of the head of a free block of `order`. */
function freeHead(order: number): number {
  return headState(order, FREE);
}

/** True when the state is a block head's. */
function isHead(state: number): boolean {
  return state >= FIRST_HEAD_STATE;
}

/** The block order kept in a head's state. */
function orderOf(state: number): number {
  return (state >>> ORDER_SHIFT) - 1;
}

/** True for the state of a free block's head. */
function isFreeHead(state: number): boolean {
  return isHead(state) && (state & USE_MASK) === FREE;
}

/** Refcounts stop here rather than wrap (Linux warns on refcount saturation too). */
const MAX_EXTRA_REFS = 0x7fffffff - 1;

/** Where `checkFrames` counts quarantined frames, after the per-use counts. */
const QUARANTINE_SLOT = FRAME_USE_COUNT;

/** Page events since boot, as `/proc/vmstat` counts them (in frames). */
export interface PhysicalCounters {
  /** Frames allocated from each zone, indexed by zone (pgalloc_dma, _dma32, _normal). */
  readonly pgalloc: readonly number[];
  /** Frames freed (pgfree). */
  readonly pgfree: number;
}

/** A block of frames as {@link PhysicalAllocator.blockAt} reports it. */
export interface BuddyBlock {
  /** Physical address of its first frame. */
  readonly start: number;
  /** It spans 2^order frames. */
  readonly order: number;
  /** What it is used for (FREE when free). */
  readonly use: FrameUse;
  /** References to it: 0 when free, more than 1 when shared (copy-on-write). */
  readonly references: number;
  /** A free block parked in a per-CPU stack rather than on a free list. */
  readonly cached: boolean;
}

/** Options of {@link PhysicalAllocator}. */
export interface PhysicalAllocatorOptions {
  /** Poison freed frames and verify the poison when they are handed out again. */
  debug?: boolean;
  /** Debug mode: called once per free frame found modified (it is quarantined first). */
  onPoison?: (report: PoisonReport) => void;
  /** CPUs, each with its own per-CPU page lists (default 1). */
  cpus?: number;
}

/**
 * Where frames come from and go back to, as the layers above need it: the buddy allocator
 * itself, or the kernel's frames that reclaim before they fail (`VirtualMemory.kernelFrames`).
 */
export type FrameSource = Pick<PhysicalAllocator, 'tryAllocPages' | 'freePages'>;

/** The buddy allocator of one machine's physical frames. */
export class PhysicalAllocator {
  /** Frames of installed RAM (reserved ones included). */
  readonly totalFrames: number;
  /** Frames given to the allocator at boot: usable RAM minus the kernel and the frame table. */
  readonly managedFrames: number;
  /** Frames the metadata table describes: every frame below the top of RAM. */
  readonly spannedFrames: number;
  /** Frames of RAM the metadata table occupies (reserved at boot from the top of usable RAM). */
  readonly metadataFrames: number;
  /** Host bytes of metadata per frame (see the table in this file's header). */
  readonly bytesPerFrame: number;
  /** Whether freed frames are poisoned and checked when handed out again. */
  readonly debug: boolean;
  /** Debug mode: every corrupted free frame found, in the order found. */
  readonly poisonReports: PoisonReport[] = [];

  private readonly ram: PhysicalMemory;
  private readonly state: Uint8Array;
  /** References beyond the first, per allocated head (0 for every other frame). */
  private readonly extraRefs: Int32Array;
  private readonly lists: FreeLists;
  /** Each CPU's page lists (Linux's per-cpu pagesets), and the running CPU's. */
  private readonly caches: readonly PerCpuPages[];
  private cache: PerCpuPages;
  /** Where {@link refillCache} collects a batch of blocks. */
  private readonly batch = new Int32Array(PCP_BATCH);
  private readonly poisoned: Uint8Array;
  private readonly useCounts = new Int32Array(FRAME_USE_COUNT);
  private readonly managedRanges: readonly FrameRange[];
  private readonly presentByZone: number[];
  private readonly managedByZone: number[];
  /** For each zone, the highest zone at or below it that has managed frames (else DMA). */
  private readonly populatedZoneUpTo = new Int32Array(ZONE_COUNT);
  private readonly onPoison: ((report: PoisonReport) => void) | undefined;
  private quarantined = 0;
  /** Frames allocated from each zone since boot (vmstat's pgalloc_*). */
  private readonly pgalloc = new Float64Array(ZONE_COUNT);
  /** Frames freed since boot (vmstat's pgfree). */
  private pgfree = 0;

  /**
   * Boots the allocator: every whole usable frame of `map` outside the kernel image is managed,
   * less the frames the metadata table takes; free memory starts as maximal aligned blocks.
   * @throws InvalidArgumentError when a usable region has no RAM behind it in `ram`, or usable
   *   memory cannot hold the metadata table.
   */
  constructor(ram: PhysicalMemory, map: BootMemoryMap, options: PhysicalAllocatorOptions = {}) {
    this.ram = ram;
    this.debug = options.debug === true;
    this.onPoison = options.onPoison;
    this.caches = Array.from({ length: options.cpus ?? 1 }, () => new PerCpuPages());
    this.cache = this.caches[0]!;
    this.spannedFrames = ram.top / PAGE_SIZE;
    this.totalFrames = ram.installedBytes / PAGE_SIZE;
    this.bytesPerFrame = this.debug ? DEBUG_BYTES_PER_FRAME : BYTES_PER_FRAME;
    this.metadataFrames = Math.ceil((this.spannedFrames * this.bytesPerFrame) / PAGE_SIZE);

    const usable = usableFrameRanges(map);
    for (const range of usable) this.checkInstalled(range);
    this.managedRanges = takeFromTop(usable, this.metadataFrames).kept;

    const frames = this.spannedFrames;
    this.state = new Uint8Array(frames); // all TAIL (0) until blocks are linked
    this.extraRefs = new Int32Array(frames);
    this.lists = new FreeLists(frames);
    this.poisoned = new Uint8Array(this.debug ? frames : 0);

    let managed = 0;
    let unmanagedFrom = 0;
    for (const range of this.managedRanges) {
      this.state.fill(FrameUse.RESERVED, unmanagedFrom, range.start);
      forEachMaximalBlock(range.start, range.end, (pfn, order) => this.linkFree(pfn, order));
      managed += range.end - range.start;
      unmanagedFrom = range.end;
    }
    this.state.fill(FrameUse.RESERVED, unmanagedFrom, frames);
    this.managedFrames = managed;
    this.useCounts[FrameUse.RESERVED] = this.totalFrames - managed;
    this.presentByZone = framesPerZone(ram.ranges.map(toFrameRange));
    this.managedByZone = framesPerZone(this.managedRanges);
    for (let zone = 1; zone < ZONE_COUNT; zone++) {
      const populated = this.managedByZone[zone]! > 0;
      this.populatedZoneUpTo[zone] = populated ? zone : this.populatedZoneUpTo[zone - 1]!;
    }
  }

  /**
   * Free frames (MemFree): every frame not counted for a use. The hot paths count only the used
   * frames, so each allocation and free updates one counter, not two.
   */
  get freeFrames(): number {
    let used = 0;
    for (let use = 0; use < FRAME_USE_COUNT; use++) used += use === FREE ? 0 : this.useCounts[use]!;
    return this.totalFrames - used;
  }

  /** Frames quarantined in debug mode because their poison was overwritten. */
  get quarantinedFrames(): number {
    return this.quarantined;
  }

  /** Event counters since boot, for `/proc/vmstat`. */
  get counters(): PhysicalCounters {
    return { pgalloc: Array.from(this.pgalloc), pgfree: this.pgfree };
  }

  /**
   * Allocates 2^order contiguous, naturally aligned frames from `highestZone` or, when it has
   * no block large enough, from the zones below it (Normal → DMA32 → DMA).
   * @param use what the block is for (not FREE); its head frame starts with refcount 1.
   * @param zero fill the block with zeros before returning it.
   * @returns the block's physical address, or -1 when no zone can serve the request (nothing
   *   changed then, except that debug mode quarantines any corrupted free frame it met).
   * @throws InvalidArgumentError for an order outside 0..MAX_ORDER, a bad use or zone.
   */
  tryAllocPages(order: number, use: FrameUse, highestZone = ZONE_NORMAL, zero = false): number {
    if (order <= PCP_MAX_ORDER && !this.debug) {
      const pfn = this.takeCached(order, use, highestZone);
      if (pfn !== NIL) {
        if (zero) this.ram.fill(pfn * PAGE_SIZE, PAGE_SIZE << order, 0);
        return pfn * PAGE_SIZE;
      }
    }
    return this.allocBlock(order, use, highestZone, zero);
  }

  /**
   * The fast path of a small allocation, small enough for V8 to inline into callers: the top of
   * the per-CPU stack of `order` of the first zone (from `highestZone` down) with a block that
   * large, refilled from that zone's free lists when empty. NIL when no zone has such a block
   * or the request is bad: the general path decides then.
   */
  private takeCached(order: number, use: number, highestZone: number): number {
    if (order >>> 0 !== order || use >>> 0 !== use || use === FREE || use >= FRAME_USE_COUNT) {
      return NIL;
    }
    if (highestZone >>> 0 !== highestZone || highestZone >= ZONE_COUNT) return NIL;
    let zone = this.populatedZoneUpTo[highestZone]!;
    while (this.cache.countOf(zone, order) === 0) {
      if (this.lists.nonEmpty[zone]! >> order !== 0) this.refillCache(zone, order);
      else if (this.drainZone(zone))
        continue; // its cached blocks may merge into one that fits
      else if (zone === 0) return NIL;
      else zone--;
    }
    const pfn = this.cache.pop(zone, order);
    this.state[pfn] = headState(order, use);
    const frames = 1 << order;
    this.useCounts[use] += frames;
    this.pgalloc[zone] += frames;
    return pfn;
  }

  /** The general path of {@link tryAllocPages}: any order, zone limit, zeroing, debug mode. */
  private allocBlock(order: number, use: FrameUse, highestZone: number, zero: boolean): number {
    if (
      order >>> 0 !== order ||
      order > MAX_ORDER ||
      use >>> 0 !== use ||
      use === FREE ||
      use >= FRAME_USE_COUNT ||
      highestZone >>> 0 !== highestZone ||
      highestZone >= ZONE_COUNT
    ) {
      rejectRequest(order, use, highestZone);
    }
    const pfn = this.takeBlock(order, highestZone);
    if (pfn === NIL) return -1;
    this.state[pfn] = headState(order, use);
    const frames = 1 << order;
    this.useCounts[use] += frames;
    this.pgalloc[zoneOfPfn(pfn)] += frames;
    const pa = pfn * PAGE_SIZE;
    if (zero) this.ram.fill(pa, frames * PAGE_SIZE, 0);
    return pa;
  }

  /**
   * Like {@link tryAllocPages}, but out of memory is an error.
   * @throws OutOfMemoryError (code `ENOMEM`) when no zone can serve the request.
   */
  allocPages(order: number, use: FrameUse, highestZone = ZONE_NORMAL, zero = false): number {
    const pa = this.tryAllocPages(order, use, highestZone, zero);
    if (pa < 0) throw new OutOfMemoryError(order, highestZone);
    return pa;
  }

  /**
   * Frees the block of 2^order frames at `pa`, merging it with its free buddies.
   * @throws InvalidFreeError unless `pa` starts an allocated block of exactly this order whose
   *   refcount is 1 (see {@link InvalidFreeCode}); InvalidArgumentError for a bad order.
   *   Nothing changes when it throws.
   */
  freePages(pa: number, order: number): void {
    // Times the exact reciprocal: the same frame number as a division, at a fraction of its cost.
    const pfn = pa * FRAMES_PER_BYTE;
    if (order <= PCP_MAX_ORDER && !this.debug && this.cacheFree(pfn, order)) return;
    this.freeBlock(pa, pfn, order);
  }

  /**
   * The fast path of freeing a small block, small enough for V8 to inline into callers: an
   * unshared block of `order` goes onto its zone's per-CPU stack (the coldest cached blocks go
   * back to the free lists first when the stack is full). False for a bad free: the general
   * path explains it.
   */
  private cacheFree(pfn: number, order: number): boolean {
    // The state of a frame number that is not an index of the table (a fraction, negative, too
    // large) reads undefined, so `use` is NaN and fails the range test below.
    const state = this.state[pfn];
    // One subtraction checks head, order, not shared and not free: use must be 1..USE_MASK.
    const use = (state as number) - freeHead(order);
    if (!(use >= 1 && use <= USE_MASK) || order >>> 0 !== order) return false;
    const zone = zoneOfPfn(pfn);
    if (this.cache.isFull(zone, order)) this.drainCache(zone, order, batchBlocks(order));
    this.state[pfn] = cachedHead(order);
    this.cache.push(zone, order, pfn);
    const frames = 1 << order;
    this.useCounts[use] -= frames;
    this.pgfree += frames;
    return true;
  }

  /** Moves a batch of blocks of `order` from `zone`'s free lists to its (empty) stack. */
  private refillCache(zone: number, order: number): void {
    let taken = 0;
    while (taken < batchBlocks(order)) {
      const pfn = this.splitIn(zone, order);
      if (pfn === NIL) break;
      this.state[pfn] = cachedHead(order);
      this.batch[taken++] = pfn;
    }
    // The first block taken goes on top: a fresh block is handed out in address order.
    while (taken > 0) this.cache.push(zone, order, this.batch[--taken]!);
  }

  /** Returns up to `blocks` of the coldest blocks of a per-CPU stack to the free lists. */
  private drainCache(zone: number, order: number, blocks: number): void {
    for (const pfn of this.cache.takeColdest(zone, order, blocks)) this.mergeAndLink(pfn, order);
  }

  /**
   * Returns every frame of the per-CPU stacks to the free lists, where they merge with their
   * buddies (Linux's `drain_all_pages`). Whatever reads the free lists does this first.
   * @returns true when a frame was cached.
   */
  drainPerCpuPages(): boolean {
    const running = this.cache;
    let drained = false;
    for (const cache of this.caches) {
      this.cache = cache;
      for (let zone = 0; zone < ZONE_COUNT; zone++) drained = this.drainZone(zone) || drained;
    }
    this.cache = running;
    return drained;
  }

  /** Frames CPU `cpu`'s page lists hold. */
  perCpuFrames(cpu: number): number {
    return this.caches[cpu]!.total;
  }

  /** The allocations and frees that follow run on CPU `cpu`: they use its page lists. */
  useCpu(cpu: number): void {
    this.cache = this.caches[cpu]!;
  }

  /** Returns the running CPU's cached frames to the free lists (a CPU going idle does). */
  drainThisCpu(): void {
    for (let zone = 0; zone < ZONE_COUNT; zone++) this.drainZone(zone);
  }

  /** Returns every block the running CPU caches for `zone` to its free lists; true if one. */
  private drainZone(zone: number): boolean {
    if (this.cache.framesIn(zone) === 0) return false;
    for (let order = 0; order <= PCP_MAX_ORDER; order++) this.drainCache(zone, order, PCP_HIGH);
    return true;
  }

  /** The general path of {@link freePages}. */
  private freeBlock(pa: number, pfn: number, order: number): void {
    if (pfn >>> 0 !== pfn || pfn >= this.spannedFrames) this.rejectFree(pa, order);
    const state = this.state[pfn]!;
    if (
      !isHead(state) ||
      orderOf(state) !== order ||
      (state & SHARED) !== 0 ||
      (state & USE_MASK) === FREE
    ) {
      this.rejectFree(pa, order);
    }
    this.release(pfn, order, state & USE_MASK);
  }

  /**
   * The block holding the frame at `pa` (any address in it): where it starts, its order, what
   * it is used for and its references (0 when free; a cached free block is in a per-CPU stack);
   * undefined for a frame the allocator does not manage.
   * @throws InvalidArgumentError outside RAM.
   */
  blockAt(pa: number): BuddyBlock | undefined {
    const head = this.blockOf(this.frameAt(pa));
    if (head === NIL) return undefined;
    const state = this.state[head]!;
    return {
      start: head * PAGE_SIZE,
      order: orderOf(state),
      use: (state & USE_MASK) as FrameUse,
      references: this.referencesOf(head),
      cached: isCachedHead(state),
    };
  }

  /** References to the block holding the frame at `pa` (any address in it); 0 when free. */
  refCount(pa: number): number {
    const head = this.blockOf(this.frameAt(pa));
    return head === NIL ? 0 : this.referencesOf(head);
  }

  /** References to the block headed by frame `head`: 0 when it is free. */
  private referencesOf(head: number): number {
    return isFreeHead(this.state[head]!) ? 0 : this.extraRefs[head]! + 1;
  }

  /**
   * Takes one more reference to the allocated block holding `pa` (a copy-on-write share).
   * @throws InvalidFrameError when the frame is not in an allocated block.
   */
  getPage(pa: number): void {
    const head = this.blockOf(this.frameAt(pa));
    if (head === NIL || isFreeHead(this.state[head]!)) {
      throw new InvalidFrameError(pa, 'not in an allocated block');
    }
    if (this.extraRefs[head] === MAX_EXTRA_REFS) {
      throw new InvalidFrameError(pa, 'reference count would overflow');
    }
    this.extraRefs[head]!++;
    this.state[head]! |= SHARED;
  }

  /**
   * Drops one reference to the allocated block holding `pa`; the last one frees the block.
   * @returns true when the block was freed.
   * @throws InvalidFreeError when the frame is not in an allocated block (nothing changes).
   */
  putPage(pa: number): boolean {
    const pfn = this.frameAt(pa);
    const head = this.blockOf(pfn);
    if (head === NIL || isFreeHead(this.state[head]!)) this.rejectFree(pfn * PAGE_SIZE, 0);
    const state = this.state[head]!;
    if (this.extraRefs[head]! > 0) {
      if (--this.extraRefs[head]! === 0) this.state[head] = state & ~SHARED;
      return false;
    }
    // The last reference: the block goes where a free would put it (small ones onto the
    // per-CPU lists, as Linux's free_unref_page), so the next allocation reuses it hot.
    this.freePages(head * PAGE_SIZE, orderOf(state));
    return true;
  }

  /** What the frame at `pa` (any address in it) is used for. */
  frameUse(pa: number): FrameUse {
    const head = this.blockOf(this.frameAt(pa));
    if (head === NIL) return FrameUse.RESERVED;
    return (this.state[head]! & USE_MASK) as FrameUse;
  }

  /**
   * Re-labels the allocated block of 2^order frames at `pa` (e.g. a frame allocated for the
   * kernel that becomes a page table).
   * @throws InvalidFrameError unless `pa` starts an allocated block of this order;
   *   InvalidArgumentError for a bad use.
   */
  setFrameUse(pa: number, order: number, use: FrameUse): void {
    if (use >>> 0 !== use || use === FREE || use >= FRAME_USE_COUNT) {
      throw new InvalidArgumentError(`frame use ${use} is not an allocated FrameUse`);
    }
    const pfn = this.frameAt(pa);
    const state = this.state[pfn]!;
    if (pfn * PAGE_SIZE !== pa || !isHead(state) || isFreeHead(state)) {
      throw new InvalidFrameError(pa, 'not the start of an allocated block');
    }
    if (orderOf(state) !== order) {
      throw new InvalidFrameError(pa, `block has order ${orderOf(state)}, not ${order}`);
    }
    const frames = 1 << order;
    this.useCounts[state & USE_MASK] -= frames;
    this.useCounts[use] += frames;
    this.state[pfn] = (state & ~USE_MASK) | use;
  }

  /** Frames now used for `use` (FREE: free frames; RESERVED: also unmanaged RAM). */
  framesByUse(use: FrameUse): number {
    if (use >>> 0 !== use || use >= FRAME_USE_COUNT) {
      throw new InvalidArgumentError(`frame use ${use} is not a FrameUse`);
    }
    return use === FREE ? this.freeFrames : this.useCounts[use]!;
  }

  /** Free blocks of `order` in `zone` (Linux's nr_free). @throws InvalidArgumentError */
  freeBlocks(zone: number, order: number): number {
    if (zone >>> 0 !== zone || zone >= ZONE_COUNT || order >>> 0 !== order || order > MAX_ORDER) {
      throw new InvalidArgumentError(`no free list for zone ${zone}, order ${order}`);
    }
    this.drainPerCpuPages();
    return this.lists.countOf(zone, order);
  }

  /** Calls `visit` for every free block, list by list (zone, then order, then list order). */
  forEachFreeBlock(visit: (pa: number, order: number, zone: number) => void): void {
    this.drainPerCpuPages();
    for (let zone = 0; zone < ZONE_COUNT; zone++) {
      for (let order = 0; order <= MAX_ORDER; order++) {
        for (
          let pfn = this.lists.firstOf(zone, order);
          pfn !== NIL;
          pfn = this.lists.nextOf(pfn, order)
        ) {
          visit(pfn * PAGE_SIZE, order, zone);
        }
      }
    }
  }

  /**
   * Calls `visit` for every block in address order: its address, order and use (FREE for a free
   * block). Blocks tile the managed frames; a quarantined frame is in none. The per-CPU stacks are
   * drained first, as for {@link forEachFreeBlock}, so free blocks are the buddy lists' blocks.
   */
  forEachBlock(visit: (pa: number, order: number, use: FrameUse) => void): void {
    this.drainPerCpuPages();
    for (const range of this.managedRanges) {
      for (let pfn = range.start; pfn < range.end; ) {
        const state = this.state[pfn]!;
        if (!isHead(state)) {
          pfn++; // quarantined
          continue;
        }
        const order = orderOf(state);
        visit(pfn * PAGE_SIZE, order, (state & USE_MASK) as FrameUse);
        pfn += 1 << order;
      }
    }
  }

  /** Counters for `/proc/meminfo`, `/proc/zoneinfo` and `/proc/buddyinfo`. */
  stats(): PhysicalMemoryStats {
    this.drainPerCpuPages();
    return {
      totalFrames: this.totalFrames,
      managedFrames: this.managedFrames,
      freeFrames: this.freeFrames,
      quarantinedFrames: this.quarantined,
      framesByUse: Array.from(this.useCounts, (frames, use) =>
        use === FREE ? this.freeFrames : frames,
      ),
      zones: ZONE_NAMES.map((name, zone) => this.zoneStats(zone, name)),
    };
  }

  /** The exact text of `/proc/buddyinfo`. */
  buddyinfo(): string {
    return formatBuddyinfo(this.stats().zones);
  }

  /**
   * Verifies every invariant of the allocator: each free list is a consistent doubly linked
   * list of free, aligned heads of its order and zone; no frame is in two blocks; no two free
   * buddies were left unmerged; allocated blocks have refcount ≥ 1; every counter matches.
   * O(frames): for tests and debugging.
   * @throws PhysicalInvariantError describing the first violation found.
   */
  check(): void {
    const listed = this.checkFreeLists();
    const counted = this.checkFrames(listed);
    this.checkCounts(counted);
  }

  /** Takes a free block of at least `order` (split down to `order`), or returns NIL. */
  private takeBlock(order: number, highestZone: number): number {
    for (;;) {
      const pfn = this.splitFrom(order, highestZone);
      if (pfn === NIL || !this.debug || this.poisonIntact(pfn, order)) return pfn;
      this.quarantine(pfn, order);
    }
  }

  /**
   * Unlinks the smallest fitting free block of the highest usable zone and splits it. A zone's
   * cached blocks are drained before a lower zone is tried: merged, they may fit (Linux drains
   * its pcp lists before falling back too), and lower memory is the scarcer.
   */
  private splitFrom(order: number, highestZone: number): number {
    for (let zone = highestZone; zone >= 0; zone--) {
      let pfn = this.splitIn(zone, order);
      if (pfn === NIL && this.drainZone(zone)) pfn = this.splitIn(zone, order);
      if (pfn !== NIL) return pfn;
    }
    return NIL;
  }

  /** Unlinks the smallest free block of `zone` of at least `order` and splits it down to `order`. */
  private splitIn(zone: number, order: number): number {
    let found = this.lists.smallestOrderFrom(zone, order);
    if (found < 0) return NIL;
    const pfn = this.lists.pop(zone, found);
    while (found > order) {
      found--;
      const upperHalf = pfn + (1 << found);
      this.state[upperHalf] = freeHead(found);
      this.lists.push(zone, found, upperHalf);
    }
    return pfn;
  }

  /** Returns an allocated block to the free lists, merging it with free buddies. */
  private release(pfn: number, order: number, use: number): void {
    const frames = 1 << order;
    this.useCounts[use] -= frames;
    this.pgfree += frames;
    if (this.debug) this.poisonBlock(pfn, frames);
    this.mergeAndLink(pfn, order);
  }

  /** Links the free block at `pfn`, first merging it with its buddy for as long as possible. */
  private mergeAndLink(pfn: number, order: number): void {
    this.state[pfn] = TAIL;
    const zone = zoneOfPfn(pfn);
    while (order < MAX_ORDER) {
      const buddy = pfn ^ (1 << order);
      // A free head is always managed, and the zone limits are multiples of the largest block,
      // so a free buddy of the same order is in the same zone.
      if (buddy >= this.spannedFrames || this.state[buddy] !== freeHead(order)) break;
      this.lists.remove(zone, order, buddy);
      this.state[buddy] = TAIL;
      pfn &= ~(1 << order);
      order++;
    }
    this.linkFree(pfn, order);
  }

  /** Makes `pfn` the head of a free block of `order` and links it. */
  private linkFree(pfn: number, order: number): void {
    this.state[pfn] = freeHead(order);
    this.lists.push(zoneOfPfn(pfn), order, pfn);
  }

  /** Fills a freed block with poison and remembers which frames hold it. */
  private poisonBlock(pfn: number, frames: number): void {
    poison(this.ram, pfn * PAGE_SIZE, frames * PAGE_SIZE);
    this.poisoned.fill(1, pfn, pfn + frames);
  }

  /** True when every poisoned frame of the block still holds the poison (clears the marks). */
  private poisonIntact(pfn: number, order: number): boolean {
    const end = pfn + (1 << order);
    for (let frame = pfn; frame < end; frame++) {
      if (this.poisoned[frame] === 1 && firstUnpoisonedByte(this.ram, frame * PAGE_SIZE) >= 0) {
        return false;
      }
    }
    this.poisoned.fill(0, pfn, end);
    return true;
  }

  /**
   * Takes the corrupted frames of a block just unlinked out of service for good (reported,
   * marked RESERVED) and returns the intact ones to the free lists.
   */
  private quarantine(pfn: number, order: number): void {
    const end = pfn + (1 << order);
    this.state.fill(TAIL, pfn, end);
    for (let frame = pfn; frame < end; frame++) {
      const offset =
        this.poisoned[frame] === 1 ? firstUnpoisonedByte(this.ram, frame * PAGE_SIZE) : -1;
      if (offset < 0) {
        this.mergeAndLink(frame, 0);
        continue;
      }
      this.poisoned[frame] = 0;
      this.state[frame] = FrameUse.RESERVED;
      this.useCounts[FrameUse.RESERVED]++;
      this.quarantined++;
      const report = {
        frame: frame * PAGE_SIZE,
        offset,
        found: this.ram.load8(frame * PAGE_SIZE + offset),
      };
      this.poisonReports.push(report);
      this.onPoison?.(report);
    }
  }

  /** The frame number holding physical address `pa`. @throws InvalidArgumentError outside RAM. */
  private frameAt(pa: number): number {
    if (!Number.isSafeInteger(pa) || pa < 0 || pa >= this.spannedFrames * PAGE_SIZE) {
      throw new InvalidArgumentError(`physical address ${pa} is outside RAM`);
    }
    return Math.floor(pa / PAGE_SIZE);
  }

  /**
   * The head of the managed block (free or allocated) holding frame `pfn`, or NIL for a frame
   * the allocator does not manage. A block's head is its frame number with the low `order`
   * bits cleared, so at most MAX_ORDER candidates are tried.
   */
  private blockOf(pfn: number): number {
    const state = this.state[pfn]!;
    if (isHead(state)) return pfn;
    if (state !== TAIL) return NIL;
    for (let order = 1; order <= MAX_ORDER; order++) {
      const head = pfn - (pfn % 2 ** order);
      const state = this.state[head]!;
      if (isHead(state) && orderOf(state) >= order) return head;
    }
    throw new PhysicalInvariantError(
      `frame ${formatPhysical(pfn * PAGE_SIZE)} is a tail without a head`,
    );
  }

  /** Explains why a free is refused, as a typed error (the cold path of freePages/putPage). */
  private rejectFree(pa: number, order: number): never {
    if (order >>> 0 !== order || order > MAX_ORDER) {
      throw new InvalidArgumentError(`order ${order} is not an integer in 0..${MAX_ORDER}`);
    }
    if (!Number.isSafeInteger(pa) || pa < 0 || pa >= this.spannedFrames * PAGE_SIZE) {
      throw new InvalidFreeError('INVALID_FREE', pa, 'outside RAM');
    }
    if (pa % PAGE_SIZE !== 0) throw new InvalidFreeError('INVALID_FREE', pa, 'not page-aligned');
    const pfn = pa / PAGE_SIZE;
    const head = this.blockOf(pfn);
    if (head === NIL) {
      throw new InvalidFreeError('INVALID_FREE', pa, 'frame is reserved, not managed');
    }
    const state = this.state[head]!;
    const where = `block of order ${orderOf(state)} at ${formatPhysical(head * PAGE_SIZE)}`;
    if (isFreeHead(state)) {
      throw new InvalidFreeError('DOUBLE_FREE', pa, `already free (in the free ${where})`);
    }
    if (head !== pfn) throw new InvalidFreeError('INVALID_FREE', pa, `inside the ${where}`);
    if (orderOf(state) !== order) {
      throw new InvalidFreeError('WRONG_ORDER', pa, `${where}, freed with order ${order}`);
    }
    throw new InvalidFreeError(
      'FREE_SHARED',
      pa,
      `block has ${this.extraRefs[pfn]! + 1} references; drop them with putPage`,
    );
  }

  /** @throws InvalidArgumentError when a usable range has no installed RAM behind it. */
  private checkInstalled(range: FrameRange): void {
    const base = range.start * PAGE_SIZE;
    const length = (range.end - range.start) * PAGE_SIZE;
    if (!this.ram.isInstalled(base, length)) {
      throw new InvalidArgumentError(
        `usable memory ${formatPhysical(base)}+${length} has no RAM installed behind it`,
      );
    }
  }

  private zoneStats(zone: number, name: string): ZoneStats {
    const freeBlocks: number[] = [];
    let freeFrames = 0;
    for (let order = 0; order <= MAX_ORDER; order++) {
      const blocks = this.lists.countOf(zone, order);
      freeBlocks.push(blocks);
      freeFrames += blocks * 2 ** order;
    }
    return {
      zone,
      name,
      presentFrames: this.presentByZone[zone]!,
      managedFrames: this.managedByZone[zone]!,
      freeFrames,
      freeBlocks,
    };
  }

  /** Walks every free list; returns a mark per frame: 1 for each listed head. */
  private checkFreeLists(): Uint8Array {
    const listed = new Uint8Array(this.spannedFrames);
    for (let zone = 0; zone < ZONE_COUNT; zone++) {
      for (let order = 0; order <= MAX_ORDER; order++) {
        let before = NIL;
        let blocks = 0;
        for (
          let pfn = this.lists.firstOf(zone, order);
          pfn !== NIL;
          pfn = this.lists.nextOf(pfn, order)
        ) {
          const at = `free list ${ZONE_NAMES[zone]}/${order}: frame ${pfn}`;
          if (pfn < 0 || pfn >= this.spannedFrames) invariant(`${at} is outside RAM`);
          if (listed[pfn] !== 0) invariant(`${at} is listed twice (or the list loops)`);
          listed[pfn] = ON_FREE_LIST;
          if (this.lists.prevOf(pfn, order) !== before) invariant(`${at} has a wrong back link`);
          if (this.state[pfn] !== freeHead(order))
            invariant(`${at} is not a free head of its order`);
          if (pfn % 2 ** order !== 0) invariant(`${at} is not aligned to its order`);
          if (zoneOfPfn(pfn) !== zone) invariant(`${at} belongs to another zone`);
          before = pfn;
          blocks++;
        }
        const hasBlocks = (this.lists.nonEmpty[zone]! >> order) & 1;
        if (blocks !== this.lists.countOf(zone, order) || hasBlocks !== (blocks > 0 ? 1 : 0)) {
          const counted = this.lists.countOf(zone, order);
          invariant(
            `free list ${ZONE_NAMES[zone]}/${order} holds ${blocks} blocks, ${counted} counted`,
          );
        }
      }
    }
    for (const [cpu, cache] of this.caches.entries()) this.checkCache(cache, cpu, listed);
    return listed;
  }

  /** Marks the blocks of CPU `cpu`'s stacks in `listed`, checking each. */
  private checkCache(cache: PerCpuPages, cpu: number, listed: Uint8Array): void {
    cache.forEach((pfn, order, zone) => {
      const at = `CPU ${cpu}'s per-CPU stack ${ZONE_NAMES[zone]}/${order}: frame ${pfn}`;
      if (pfn < 0 || pfn >= this.spannedFrames) invariant(`${at} is outside RAM`);
      if (listed[pfn] !== 0) invariant(`${at} is cached twice or also on a free list`);
      listed[pfn] = IN_CACHE;
      if (this.state[pfn] !== cachedHead(order))
        invariant(`${at} is not a cached head of its order`);
      if (pfn % 2 ** order !== 0) invariant(`${at} is not aligned to its order`);
      if (zoneOfPfn(pfn) !== zone) invariant(`${at} belongs to another zone`);
    });
  }

  /**
   * Walks every frame: blocks tile managed memory, the rest is reserved. Counts frames per use
   * (quarantined ones in QUARANTINE_SLOT).
   */
  private checkFrames(listed: Uint8Array): Int32Array {
    const counted = new Int32Array(QUARANTINE_SLOT + 1);
    let pfn = 0;
    for (const range of this.managedRanges) {
      this.checkReserved(pfn, range.start);
      pfn = range.start;
      while (pfn < range.end) pfn = this.checkBlock(pfn, range.end, listed, counted);
    }
    this.checkReserved(pfn, this.spannedFrames);
    return counted;
  }

  /** Checks the block (or quarantined frame) at `pfn`; returns the frame after it. */
  private checkBlock(pfn: number, end: number, listed: Uint8Array, counted: Int32Array): number {
    const state = this.state[pfn]!;
    const at = `frame ${formatPhysical(pfn * PAGE_SIZE)}`;
    if (state === FrameUse.RESERVED) {
      counted[QUARANTINE_SLOT]!++;
      return pfn + 1;
    }
    if (!isHead(state)) invariant(`${at} is a tail with no block head before it`);
    const order = orderOf(state);
    const frames = 2 ** order;
    if (pfn % frames !== 0 || pfn + frames > end)
      invariant(`${at}: misplaced order-${order} block`);
    for (let tail = pfn + 1; tail < pfn + frames; tail++) {
      if (this.state[tail] !== TAIL || this.extraRefs[tail] !== 0) {
        invariant(`frame ${formatPhysical(tail * PAGE_SIZE)} is in two blocks`);
      }
    }
    counted[state & USE_MASK]! += frames;
    if (isFreeHead(state)) this.checkFreeBlock(pfn, order, listed, at);
    else if (this.extraRefs[pfn]! > 0 !== ((state & SHARED) !== 0) || this.extraRefs[pfn]! < 0) {
      invariant(`${at}: SHARED does not match ${this.extraRefs[pfn]} extra references`);
    }
    return pfn + frames;
  }

  private checkFreeBlock(pfn: number, order: number, listed: Uint8Array, at: string): void {
    if (isCachedHead(this.state[pfn]!)) {
      if (listed[pfn] !== IN_CACHE) invariant(`${at} is marked cached but in no per-CPU stack`);
      return;
    }
    if (listed[pfn] !== ON_FREE_LIST) invariant(`${at} is a free head on no free list`);
    if (this.extraRefs[pfn] !== 0) invariant(`${at} is free with references`);
    const buddy = pfn ^ (1 << order);
    if (order < MAX_ORDER && this.state[buddy] === freeHead(order)) {
      invariant(`${at} and its buddy are both free at order ${order}, not merged`);
    }
  }

  private checkReserved(from: number, to: number): void {
    for (let pfn = from; pfn < to; pfn++) {
      if (this.state[pfn] !== FrameUse.RESERVED) {
        invariant(`unmanaged frame ${formatPhysical(pfn * PAGE_SIZE)} is in use by the allocator`);
      }
    }
  }

  private checkCounts(counted: Int32Array): void {
    const quarantined = counted[QUARANTINE_SLOT]!;
    if (quarantined !== this.quarantined) {
      invariant(`${quarantined} frames are quarantined, ${this.quarantined} counted`);
    }
    const unmanaged = this.totalFrames - this.managedFrames;
    for (let use = 0; use < FRAME_USE_COUNT; use++) {
      const reserved = use === FrameUse.RESERVED ? unmanaged + quarantined : 0;
      const expected = counted[use]! + reserved;
      const counter = this.framesByUse(use as FrameUse);
      if (counter !== expected) {
        invariant(`${counter} frames counted as use ${use}, ${expected} found`);
      }
    }
    let listedFrames = 0;
    for (let zone = 0; zone < ZONE_COUNT; zone++) {
      for (let order = 0; order <= MAX_ORDER; order++) {
        listedFrames += this.lists.countOf(zone, order) * 2 ** order;
      }
    }
    const cached = this.caches.reduce((sum, cache) => sum + cache.total, 0);
    if (listedFrames + cached !== this.freeFrames) {
      invariant(
        `free lists hold ${listedFrames} frames and per-CPU stacks ${cached}, ${this.freeFrames} counted free`,
      );
    }
  }
}

function invariant(violation: string): never {
  throw new PhysicalInvariantError(violation);
}

function rejectRequest(order: number, use: number, highestZone: number): never {
  if (order >>> 0 !== order || order > MAX_ORDER) {
    throw new InvalidArgumentError(`order ${order} is not an integer in 0..${MAX_ORDER}`);
  }
  if (highestZone >>> 0 !== highestZone || highestZone >= ZONE_COUNT) {
    throw new InvalidArgumentError(`zone ${highestZone} is not a zone (0..${ZONE_COUNT - 1})`);
  }
  throw new InvalidArgumentError(`frame use ${use} is not an allocated FrameUse`);
}

function toFrameRange(range: { base: number; length: number }): FrameRange {
  return { start: range.base / PAGE_SIZE, end: (range.base + range.length) / PAGE_SIZE };
}

/** Frames of `ranges` that fall in each zone. */
function framesPerZone(ranges: readonly FrameRange[]): number[] {
  const limits = [DMA_END_PFN, DMA32_END_PFN, Number.POSITIVE_INFINITY];
  return limits.map((end, zone) => {
    const start = zone === 0 ? 0 : limits[zone - 1]!;
    let frames = 0;
    for (const r of ranges) frames += Math.max(0, Math.min(r.end, end) - Math.max(r.start, start));
    return frames;
  });
}
