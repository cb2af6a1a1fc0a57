/**
 * One object cache in Bonwick's design: slabs of equal objects on full / partial / empty lists,
 * the free list of each slab threaded through its free objects in simulated RAM (see
 * geometry.ts for the layout), constructors run once per object when a slab is populated.
 *
 * Allocation takes the first free object of the first partial slab; a free pushes the object on
 * its slab's free list. Both are O(1): the slab of an object comes from the page-owner table.
 *
 * In front of the slabs sits the CPU's array of recently freed objects (Linux SLAB's per-CPU
 * `array_cache`, Bonwick's magazine): a free pushes the object there, an allocation pops the
 * most recently freed one, still warm in the cache. Only when the array is empty or full do
 * `batch` objects move between it and the slabs at once.
 *
 * ```
 *   alloc() ◄─pop── ┌──────────────┐ top (most recently freed)       limit: 120 for objects
 *   free()  ──push─►│ object addr. │                                 up to 256 bytes, fewer
 *                   │     ...      │                                 for larger ones
 *                   │ object addr. │ bottom (coldest)
 *                   └──────────────┘
 *      empty on alloc ──► take `batch` objects off the partial slabs' free lists
 *      full on free   ──► put the `batch` coldest back on their slabs' free lists
 * ```
 * The array holds object addresses, as Linux's does: an allocation is one load. A flush finds
 * each object's slab again from the page-owner table.
 *
 * Objects in the array are free to the caller but allocated as far as their slabs know; debug
 * caches have no array, so every operation is checked against the slab.
 *
 * There is one array per CPU, as in Linux: `array` and `arrayCount` are the running CPU's
 * (the hot paths touch only those), the other CPUs' wait in `parked` until
 * {@link SlabCache.useCpu} brings them in. A cross-CPU double free (an object in two CPUs'
 * arrays) escapes the free path's cheap check, as in Linux SLAB; `validate` finds it.
 */
import { InvalidArgumentError } from '../errors.js';
import { formatAddress } from '../hw/address.js';
import type { MemoryAccess } from '../hw/memory-access.js';
import {
  POISON_INUSE,
  paintRedZones,
  poisonFree,
  poisonIntact,
  RED_ACTIVE,
  RED_INACTIVE,
  RedZoneState,
  redZoneState,
} from './debug.js';
import { SlabError, type SlabErrorCode } from './errors.js';
import { FREE_LIST_END, type SlabGeometry } from './geometry.js';
import { isDirectMapPage, NO_OWNER, type PageOwnerMap, slabOwner } from './page-owners.js';
import { type KernelPageSource, NO_PAGES } from './page-source.js';
import { EMPTY, FULL, LIST_KINDS, NO_SLAB, PARTIAL, type SlabTable } from './slab-table.js';

/** What `alloc` and `kmalloc` return when memory is exhausted (C's NULL). */
export const NULL = 0;

/** A constructor: puts a fresh object at `address` into its initial (constructed) state. */
export type ObjectConstructor = (address: number) => void;

/** Per-cache options of `SlabAllocator.createCache`. */
export interface CacheOptions {
  /** Red zones, poisoning and full checks on every operation (Linux's SLAB_DEBUG flags). */
  debug?: boolean;
  /** Count the cache's pages as reclaimable (`SReclaimable`, Linux's SLAB_RECLAIM_ACCOUNT). */
  reclaimable?: boolean;
}

/**
 * What a cache shares with the allocator that made it.
 * @internal
 */
export interface SlabContext {
  readonly pages: KernelPageSource;
  readonly memory: MemoryAccess;
  readonly slabs: SlabTable;
  readonly owners: PageOwnerMap;
  /** Whether `cache` may be destroyed (kmalloc's caches may not). */
  destroyable(cache: SlabCache): boolean;
  /** Drops a destroyed cache. */
  forget(cache: SlabCache): void;
  /** The name of the cache with id `id`. */
  cacheName(id: number): string;
  /** How many CPUs there are (one array each), and the one running now. */
  readonly cpus: number;
  readonly cpu: number;
}

/** One slab as {@link SlabCache.forEachSlab} reports it. */
export interface SlabInfo {
  /** Kernel (direct-map) address of the slab's first page. */
  readonly base: number;
  /** Objects the slab has handed out, those parked in the per-CPU array included. */
  readonly inUse: number;
  /** The list the slab is on. */
  readonly list: 'full' | 'partial' | 'empty';
}

/** List names by list kind (FULL, PARTIAL, EMPTY). */
const LIST_NAMES: readonly SlabInfo['list'][] = ['full', 'partial', 'empty'];

/** A cache of equal-size kernel objects. Made by `SlabAllocator.createCache`. */
export class SlabCache {
  /** Bytes the caller may use in each object. */
  readonly objectSize: number;
  /** Every object address is a multiple of this. */
  readonly align: number;
  /** Whether the cache's pages count as reclaimable. */
  readonly reclaimable: boolean;
  private readonly memory: MemoryAccess;
  private readonly slabs: SlabTable;
  private readonly owners: PageOwnerMap;
  private readonly pages: KernelPageSource;
  // Copies of the geometry for the hot paths.
  private readonly stride: number;
  private readonly inverseStride: number;
  private readonly objectOffset: number;
  private readonly linkOffset: number;
  private readonly objectsPerSlab: number;
  private readonly poison: boolean;
  private readonly heads = new Int32Array(LIST_KINDS).fill(NO_SLAB);
  /** Objects the per-CPU array holds at most (slabinfo's `limit`); 0 in a debug cache. */
  readonly arrayLimit: number;
  /** Objects moved at once between the array and the slabs (slabinfo's `batchcount`). */
  readonly arrayBatch: number;
  /** The running CPU's array: object addresses, bottom first (Linux's `array_cache.entry`). */
  private array: Float64Array;
  /** Every CPU's array, by CPU, and the counts of those not running (the running one's is `arrayCount`). */
  private readonly parked: Float64Array[];
  private readonly parkedCounts: Int32Array;
  /** The CPU whose array `array` is. */
  private cpu: number;
  /**
   * A flush's hash set of the array entries it keeps (entry + 1; 0 is an empty slot): at least
   * twice as many slots as the array has entries, a power of two.
   */
  private readonly seenEntries: Int32Array;
  private arrayCount = 0;
  private slabTotal = 0;
  private active = 0;
  private nextColour = 0;
  private destroyed = false;

  /** @internal Use `SlabAllocator.createCache`. */
  constructor(
    /** The cache's name, as slabinfo shows it. */
    readonly name: string,
    /** The cache's index in its allocator. */
    readonly id: number,
    /** Slot, slab and colour layout. */
    readonly geometry: SlabGeometry,
    private readonly ctor: ObjectConstructor | undefined,
    /** Whether red zones, poisoning and full checks are on. */
    readonly debug: boolean,
    reclaimable: boolean,
    private readonly context: SlabContext,
    /** Kernel address of the cache's `struct kmem_cache` (an object of the kmem_cache cache;
     * for kmem_cache itself, its static descriptor, or NULL when it has none in memory). */
    readonly descriptor: number,
  ) {
    this.objectSize = geometry.objectSize;
    this.align = geometry.align;
    this.reclaimable = reclaimable;
    this.memory = context.memory;
    this.slabs = context.slabs;
    this.owners = context.owners;
    this.pages = context.pages;
    this.stride = geometry.stride;
    this.inverseStride = 1 / geometry.stride;
    this.objectOffset = geometry.objectOffset;
    this.linkOffset = geometry.linkOffset;
    this.objectsPerSlab = geometry.objectsPerSlab;
    this.poison = debug && ctor === undefined;
    this.arrayLimit = debug ? 0 : arrayLimitFor(geometry.objectSize);
    this.arrayBatch = (this.arrayLimit + 1) >> 1;
    this.parked = Array.from({ length: context.cpus }, () => new Float64Array(this.arrayLimit));
    this.parkedCounts = new Int32Array(context.cpus);
    this.cpu = context.cpu;
    this.array = this.parked[this.cpu]!;
    this.seenEntries = new Int32Array(2 ** Math.ceil(Math.log2(2 * this.arrayLimit + 1)));
  }

  /** Objects handed out and not yet freed. */
  get activeObjects(): number {
    return this.active;
  }

  /** Free objects parked in the per-CPU arrays: free to callers, in use as their slabs see it. */
  get arrayObjects(): number {
    let objects = this.arrayCount;
    for (let cpu = 0; cpu < this.parked.length; cpu++) {
      if (cpu !== this.cpu) objects += this.parkedCounts[cpu]!;
    }
    return objects;
  }

  /** The allocations and frees that follow run on CPU `cpu`: they use its array. */
  useCpu(cpu: number): void {
    if (cpu === this.cpu) return;
    this.parkedCounts[this.cpu] = this.arrayCount;
    this.array = this.parked[cpu]!;
    this.arrayCount = this.parkedCounts[cpu]!;
    this.cpu = cpu;
  }

  /** Objects in all slabs, free or not. */
  get totalObjects(): number {
    return this.slabCount * this.objectsPerSlab;
  }

  /** Slabs the cache holds. */
  get slabCount(): number {
    return this.slabTotal;
  }

  /** Slabs with at least one object in use. */
  get activeSlabs(): number {
    return this.slabTotal - this.slabs.length(EMPTY, this.heads);
  }

  /** Pages the cache holds. */
  get pageCount(): number {
    return this.slabCount * this.geometry.pagesPerSlab;
  }

  /** Calls `visit` for every slab of the cache: full ones, then partial, then empty. */
  forEachSlab(visit: (slab: SlabInfo) => void): void {
    this.forEachSlabId((slab) => visit(this.slabInfo(slab)));
  }

  /** Calls `visit` with the id of every slab of the cache, list by list. */
  private forEachSlabId(visit: (slab: number) => void): void {
    for (let kind = 0; kind < LIST_KINDS; kind++) {
      for (let slab = this.heads[kind]!; slab !== NO_SLAB; slab = this.slabs.next(slab)) {
        visit(slab);
      }
    }
  }

  /**
   * What `slab` (a slab of this cache) looks like now.
   * @internal Use forEachSlab or SlabAllocator.slabAt.
   */
  slabInfo(slab: number): SlabInfo {
    const slabs = this.slabs;
    return {
      base: slabs.base(slab),
      inUse: slabs.inUse(slab),
      list: LIST_NAMES[slabs.listOf(slab)]!,
    };
  }

  /**
   * Allocates one object and returns its kernel virtual address, or {@link NULL} (0) when no
   * page can be had (after reclaiming every cache's empty slabs). The object is constructed if
   * the cache has a constructor, otherwise its contents are undefined (0x5a bytes in debug mode).
   * @throws SlabError (debug or corruption) when the next free object is damaged; the slab is
   *   then taken out of service (its free objects are never handed out) and the call may be
   *   retried.
   */
  alloc(): number {
    return this.arrayCount > 0 ? this.popArray() : this.allocFromSlab();
  }

  /** Hands out the top object of the (non-empty) array. */
  private popArray(): number {
    const count = this.arrayCount - 1;
    this.arrayCount = count;
    this.active++;
    return this.array[count]!;
  }

  /** The slow path of {@link alloc}: the array is empty (or the cache has none). */
  private allocFromSlab(): number {
    if (this.arrayLimit > 0) {
      this.fillArray();
      return this.arrayCount === 0 ? NULL : this.popArray();
    }
    const slab = this.partialSlab();
    if (slab === NO_SLAB) return NULL;
    const index = this.takeFree(slab);
    this.active++;
    return this.addressOf(slab, index);
  }

  /**
   * Moves up to a batch of free objects from the slabs to the (empty) array. Like Linux's
   * cache_alloc_refill, it makes at most one new slab, and only when it found no free object.
   */
  private fillArray(): void {
    const taken = this.arrayBatch;
    // Written from the top down: the first object taken is the first handed out.
    let count = 0;
    try {
      while (count < taken) {
        const slab = count === 0 ? this.partialSlab() : this.slabWithoutGrowing();
        if (slab === NO_SLAB) break;
        this.array[taken - 1 - count] = this.addressOf(slab, this.takeFree(slab));
        count++;
      }
    } finally {
      this.array.copyWithin(0, taken - count, taken);
      this.arrayCount = count;
    }
  }

  /** The first partial slab, made from an empty or new one if needed; NO_SLAB when out of pages. */
  private partialSlab(): number {
    const slab = this.heads[PARTIAL]!;
    return slab === NO_SLAB ? this.refill() : slab;
  }

  /** The first partial slab, or an empty one made partial; NO_SLAB rather than a new slab. */
  private slabWithoutGrowing(): number {
    if (this.heads[PARTIAL] === NO_SLAB && this.heads[EMPTY] === NO_SLAB) return NO_SLAB;
    return this.partialSlab();
  }

  /**
   * Frees an object of this cache.
   * @throws SlabError `INVALID_POINTER` (not an object start), `CROSS_CACHE_FREE`,
   *   `DOUBLE_FREE` (in debug mode always; otherwise when the object is the last one freed or
   *   heads its slab's free list, and late, from a later free, when the array is flushed),
   *   `REDZONE` (debug: the object overflowed; it stays allocated). Nothing changes on error,
   *   except for a late DOUBLE_FREE, thrown once the free that found it is done.
   */
  free(address: number): void {
    const owner = this.owners.get(address);
    const slab = owner - 1;
    if (owner <= NO_OWNER || this.slabs.cacheOf(slab) !== this.id) {
      throw this.foreignPointer(address, owner);
    }
    this.freeObject(slab, this.objectIndex(slab, address), address);
  }

  /**
   * Frees object `index` of `slab` (a slab of this cache), at `address`: onto the array, or
   * straight back to its slab in a debug cache.
   * @internal
   */
  freeObject(slab: number, index: number, address: number): void {
    const count = this.arrayCount;
    if (count === this.arrayLimit) {
      this.freeObjectSlow(slab, index, address);
      return;
    }
    this.refuseFreed(slab, index, address);
    this.array[count] = address;
    this.arrayCount = count + 1;
    this.active--;
  }

  /** {@link freeObject} when the array is full (or absent: debug caches have none). */
  private freeObjectSlow(slab: number, index: number, address: number): void {
    if (this.arrayLimit === 0) {
      this.releaseObject(slab, index);
      this.active--;
      return;
    }
    this.refuseFreed(slab, index, address);
    const late = this.flushArray(this.arrayBatch);
    this.freeObject(slab, index, address);
    if (late !== undefined) throw late;
  }

  /**
   * Throws DOUBLE_FREE when object `index` of `slab` (at `address`) is the last object freed
   * into the array or heads its slab's free list (the cheap checks; debug caches check every
   * free fully).
   */
  private refuseFreed(slab: number, index: number, address: number): void {
    const count = this.arrayCount;
    if ((count > 0 && this.array[count - 1] === address) || this.slabs.freeHead(slab) === index) {
      throw this.doubleFree(address);
    }
  }

  /**
   * Puts the `objects` coldest objects of the array back on their slabs' free lists, after
   * dropping any object the array holds twice (freed twice while in it).
   * @returns the DOUBLE_FREE of the first duplicate found (its second free undone in the
   *   counts); the caller throws it once its own work is done.
   */
  private flushArray(objects: number): SlabError | undefined {
    const late = this.dropDuplicates();
    const flushed = Math.min(objects, this.arrayCount);
    for (let entry = 0; entry < flushed; entry++) {
      const address = this.array[entry]!;
      const slab = this.owners.get(address) - 1; // checked when the object was freed
      this.releaseObject(slab, this.objectIndex(slab, address));
    }
    this.array.copyWithin(0, flushed, this.arrayCount);
    this.arrayCount -= flushed;
    return late;
  }

  /**
   * Removes repeated entries from the array (rare: a flush's price for catching them). Entries
   * kept so far are remembered in {@link seenEntries}, an open-addressing hash set cleared per
   * flush, so a flush allocates nothing.
   */
  private dropDuplicates(): SlabError | undefined {
    this.seenEntries.fill(0);
    let late: SlabError | undefined;
    let kept = 0;
    for (let entry = 0; entry < this.arrayCount; entry++) {
      const address = this.array[entry]!;
      if (this.keptBefore(address, kept)) {
        this.active++; // the second free, counted when it was pushed
        late ??= this.doubleFree(address);
        continue;
      }
      this.array[kept++] = address;
    }
    this.arrayCount = kept;
    return late;
  }

  /**
   * True when the object at `address` is among the first `kept` entries of the array; otherwise
   * records it as entry `kept` (about to be written there).
   */
  private keptBefore(address: number, kept: number): boolean {
    const mask = this.seenEntries.length - 1;
    // `address | 0` keeps the low 32 bits of the (integer) address: distinct for the objects of
    // one array, which all lie within a few MiB.
    let at = (Math.imul(address | 0, HASH_MIX) >>> HASH_SHIFT) & mask;
    for (; ; at = (at + 1) & mask) {
      const entry = this.seenEntries[at]! - 1;
      if (entry < 0) {
        this.seenEntries[at] = kept + 1;
        return false;
      }
      if (this.array[entry] === address) return true;
    }
  }

  /**
   * Puts every object of every CPU's array back on its slab's free list (Linux's
   * drain_cpu_caches), so the slab lists show exactly which objects callers hold.
   */
  drainArray(): void {
    const running = this.cpu;
    for (let cpu = 0; cpu < this.parked.length; cpu++) {
      this.useCpu(cpu);
      this.drainThisCpu();
    }
    this.useCpu(running);
  }

  /** Puts every object of the running CPU's array back on its slab (the CPU went idle). */
  drainThisCpu(): void {
    const late = this.flushArray(this.arrayCount);
    if (late !== undefined) throw late;
  }

  /**
   * Gives every empty slab's pages back to the page source (the per-CPU array drained first).
   * @returns pages freed.
   */
  shrink(): number {
    this.drainArray();
    let freed = 0;
    for (let slab = this.heads[EMPTY]!; slab !== NO_SLAB; slab = this.heads[EMPTY]!) {
      this.releaseSlab(slab);
      freed += this.geometry.pagesPerSlab;
    }
    return freed;
  }

  /**
   * Frees the cache's pages and removes it from its allocator; any later `alloc` throws.
   * @throws SlabError `CACHE_BUSY` while objects are still allocated (the cache stays usable).
   * @throws InvalidArgumentError for a kmalloc cache.
   */
  destroy(): void {
    if (!this.context.destroyable(this)) {
      throw new InvalidArgumentError(
        `${this.name} is a boot cache (kmem_cache, kmalloc) and cannot be destroyed`,
      );
    }
    if (this.active > 0) {
      const reason = `${this.active} objects still allocated, cannot destroy`;
      throw new SlabError('CACHE_BUSY', this.name, NULL, reason);
    }
    this.shrink();
    this.destroyed = true;
    this.context.forget(this);
  }

  /**
   * Checks every slab: free-list links (in range, no cycle, as many free objects as the counts
   * say) and, in debug mode, every object's red zones and every free object's poison.
   * @param report called with each problem found.
   * @returns the number of problems: one for a per-CPU array naming anything but distinct objects
   *   its slabs count as allocated, one per corrupt free list, plus one per object with damaged
   *   red zones or (free objects) damaged poison.
   */
  validate(report?: (error: SlabError) => void): number {
    const problems = [this.checkArray()];
    const visited = new Uint8Array(this.objectsPerSlab);
    this.forEachSlabId((slab) => {
      problems.push(this.checkFreeList(slab, visited), ...this.checkObjects(slab));
    });
    const found = problems.filter((problem) => problem !== undefined);
    for (const problem of found) report?.(problem);
    return found.length;
  }

  /**
   * The index of the object at `address` in `slab`.
   * @throws SlabError `INVALID_POINTER` when `address` is not the start of an object.
   * @internal
   */
  objectIndex(slab: number, address: number): number {
    const offset = address - this.objectOffset - this.slabs.firstSlot(slab);
    // offset / stride, by multiplication: half an object-to-be past an integer offset keeps the
    // product (error ~2^-52 relative) well away from the next integer, so truncation is exact for
    // every offset within a slab (at most 128 KiB).
    const index = ((offset + 0.5) * this.inverseStride) | 0;
    if (offset >= 0 && index < this.objectsPerSlab && index * this.stride === offset) return index;
    throw this.strayPointer(slab, address, offset, index);
  }

  /**
   * Puts object `index` of `slab` (a slab of this cache) back on the slab's free list.
   * Addresses are recomputed here rather than passed in: calls carrying only small integers
   * cost no boxing when the JIT does not inline them.
   */
  private releaseObject(slab: number, index: number): void {
    const slabs = this.slabs;
    const slot = slabs.firstSlot(slab) + index * this.stride;
    const head = slabs.freeHead(slab);
    if (this.debug) this.checkAllocatedSlot(slot, slot + this.objectOffset);
    else if (head === index) throw this.doubleFree(slot + this.objectOffset);
    this.memory.store32(slot + this.linkOffset, head); // -1 (empty list) stores FREE_LIST_END
    if (this.debug) this.markFree(slot, slot + this.objectOffset);
    slabs.setFreeHead(slab, index);
    const inUse = slabs.inUse(slab) - 1;
    slabs.setInUse(slab, inUse);
    if (inUse === 0) slabs.move(slab, EMPTY, this.heads);
    else if (inUse === this.objectsPerSlab - 1) slabs.move(slab, PARTIAL, this.heads);
  }

  /** Takes the first free object off `slab` (which has one) and returns its index. */
  private takeFree(slab: number): number {
    const slabs = this.slabs;
    const index = slabs.freeHead(slab);
    const slot = slabs.firstSlot(slab) + index * this.stride;
    if (this.debug) this.checkFreeSlot(slab, slot);
    const link = this.memory.load32(slot + this.linkOffset);
    const inUse = slabs.inUse(slab) + 1;
    // The slab's last free object must end the list; any other link must name an object.
    if (inUse === this.objectsPerSlab ? link !== FREE_LIST_END : link >= this.objectsPerSlab) {
      throw this.isolate(slab, 'FREELIST_CORRUPT', slot + this.objectOffset, 'bad free-list link');
    }
    slabs.setFreeHead(slab, link | 0); // FREE_LIST_END becomes -1, the empty list
    slabs.setInUse(slab, inUse);
    if (inUse === this.objectsPerSlab) slabs.move(slab, FULL, this.heads);
    if (this.debug) this.markAllocated(slot, slot + this.objectOffset);
    return index;
  }

  /** A slab with a free object, from the empty list or freshly made; NO_SLAB when out of pages. */
  private refill(): number {
    let slab = this.heads[EMPTY]!;
    if (slab !== NO_SLAB) {
      this.slabs.move(slab, PARTIAL, this.heads);
      return slab;
    }
    if (this.destroyed) {
      throw new SlabError('CACHE_DESTROYED', this.name, NULL, 'cache was destroyed');
    }
    slab = this.grow();
    if (slab === NO_SLAB) return NO_SLAB;
    this.slabs.link(slab, PARTIAL, this.heads);
    this.slabTotal++;
    return slab;
  }

  /**
   * A new slab, populated, on no list; NO_SLAB when the page source has no pages (even after
   * its reclaim: the slab never reclaims on its own).
   */
  private grow(): number {
    const g = this.geometry;
    const base = this.pages.allocKernelPages(g.order);
    if (base === NO_PAGES) return NO_SLAB;
    if (!isDirectMapPage(base)) {
      throw new InvalidArgumentError(
        `page source returned ${formatAddress(base)}, not a page of the direct map`,
      );
    }
    const first = base + this.nextColour * g.colourUnit;
    const slab = this.slabs.create(this.id, base, first);
    try {
      this.populate(first);
    } catch (error) {
      this.slabs.release(slab);
      this.pages.freeKernelPages(base, g.order);
      throw error;
    }
    this.nextColour = (this.nextColour + 1) % g.colours;
    this.owners.set(base, g.pagesPerSlab, slabOwner(slab));
    return slab;
  }

  /** Threads the free list through a fresh slab's objects and constructs them. */
  private populate(first: number): void {
    const last = this.objectsPerSlab - 1;
    for (let index = 0; index <= last; index++) {
      const slot = first + index * this.stride;
      const object = slot + this.objectOffset;
      if (this.debug) this.markFree(slot, object);
      this.ctor?.(object);
      this.memory.store32(slot + this.linkOffset, index < last ? index + 1 : FREE_LIST_END);
    }
  }

  private releaseSlab(slab: number): void {
    const base = this.slabs.base(slab);
    this.slabs.unlink(slab, this.heads);
    this.slabs.release(slab);
    this.slabTotal--;
    this.owners.set(base, this.geometry.pagesPerSlab, NO_OWNER);
    this.pages.freeKernelPages(base, this.geometry.order);
  }

  /**
   * Takes a slab whose free list cannot be trusted out of service, as SLUB does: every object
   * counts as allocated, so none of its free objects is ever handed out again. Objects the
   * callers really hold can still be freed, and the slab refills with those only.
   */
  private isolate(slab: number, code: SlabErrorCode, address: number, reason: string): SlabError {
    const slabs = this.slabs;
    this.active += this.objectsPerSlab - slabs.inUse(slab);
    slabs.setInUse(slab, this.objectsPerSlab);
    slabs.setFreeHead(slab, NO_SLAB);
    if (slabs.listOf(slab) !== FULL) slabs.move(slab, FULL, this.heads);
    const where = formatAddress(slabs.base(slab));
    return new SlabError(code, this.name, address, `${reason}; slab ${where} taken out of service`);
  }

  /** Debug: the object about to be handed out must be intact and marked free. */
  private checkFreeSlot(slab: number, slot: number): void {
    const object = slot + this.objectOffset;
    const state = redZoneState(this.memory, slot, this.geometry);
    if (state === RedZoneState.Active) {
      throw this.isolate(slab, 'FREELIST_CORRUPT', object, 'allocated object on the free list');
    }
    if (state === RedZoneState.Damaged) {
      throw this.isolate(slab, 'REDZONE', object, 'red zone overwritten while free');
    }
    if (this.poison && !poisonIntact(this.memory, object, this.objectSize)) {
      throw this.isolate(slab, 'POISON', object, 'written after free (poison damaged)');
    }
  }

  /** Debug: the object being freed must be marked allocated with intact red zones. */
  private checkAllocatedSlot(slot: number, object: number): void {
    const state = redZoneState(this.memory, slot, this.geometry);
    if (state === RedZoneState.Inactive) throw this.doubleFree(object);
    if (state === RedZoneState.Damaged) {
      throw new SlabError('REDZONE', this.name, object, 'red zone overwritten (buffer overflow)');
    }
  }

  private markAllocated(slot: number, object: number): void {
    paintRedZones(this.memory, slot, this.geometry, RED_ACTIVE);
    if (this.poison) this.memory.fill(object, this.objectSize, POISON_INUSE);
  }

  private markFree(slot: number, object: number): void {
    paintRedZones(this.memory, slot, this.geometry, RED_INACTIVE);
    if (this.poison) poisonFree(this.memory, object, this.objectSize);
  }

  /** The error for freeing what is not an object of this cache (`owner`: its page's owner). */
  private foreignPointer(address: number, owner: number): SlabError {
    if (owner <= NO_OWNER) {
      return new SlabError('INVALID_POINTER', this.name, address, 'not in any slab');
    }
    const reason = `object of ${this.context.cacheName(this.slabs.cacheOf(owner - 1))}`;
    return new SlabError('CROSS_CACHE_FREE', this.name, address, reason);
  }

  /** The address of object `index` of `slab`. */
  private addressOf(slab: number, index: number): number {
    return this.slabs.firstSlot(slab) + index * this.stride + this.objectOffset;
  }

  private doubleFree(address: number): SlabError {
    return new SlabError('DOUBLE_FREE', this.name, address, 'already free');
  }

  /** The error for an address in a slab that is not an object start. */
  private strayPointer(slab: number, address: number, offset: number, index: number): SlabError {
    if (
      index >= 0 &&
      index < this.objectsPerSlab &&
      offset - index * this.stride < this.objectSize
    ) {
      const object = this.slabs.firstSlot(slab) + this.objectOffset + index * this.stride;
      const reason = `pointer ${formatAddress(address)} is ${offset - index * this.stride} bytes into the object`;
      return new SlabError('INVALID_POINTER', this.name, object, reason);
    }
    return new SlabError('INVALID_POINTER', this.name, address, 'not an object (slab padding)');
  }

  /** One error if the free list of `slab` is corrupt. */
  private checkFreeList(slab: number, visited: Uint8Array): SlabError | undefined {
    const slabs = this.slabs;
    visited.fill(0);
    let free = 0;
    for (let index = slabs.freeHead(slab); index !== NO_SLAB; free++) {
      const slot = slabs.firstSlot(slab) + index * this.stride;
      if (index < 0 || index >= this.objectsPerSlab || visited[index] === 1) {
        return this.listError(slab, `link ${index >>> 0} leaves the slab or loops`);
      }
      visited[index] = 1;
      if (this.debug && redZoneState(this.memory, slot, this.geometry) === RedZoneState.Active) {
        return this.listError(slab, `allocated object ${formatAddress(slot)} on the free list`);
      }
      index = this.memory.load32(slot + this.linkOffset) | 0;
    }
    const expected = this.objectsPerSlab - slabs.inUse(slab);
    if (free !== expected)
      return this.listError(slab, `${free} free objects listed, ${expected} free`);
    return undefined;
  }

  /** {@link objectIndex}, or NO_INDEX when `address` is not an object of `slab` (no throw). */
  private indexOrNone(slab: number, address: number): number {
    try {
      return this.objectIndex(slab, address);
    } catch {
      return NO_INDEX;
    }
  }

  /** One error if the per-CPU array holds anything but distinct allocated objects of the cache. */
  private checkArray(): SlabError | undefined {
    let inUse = 0;
    this.forEachSlabId((slab) => {
      inUse += this.slabs.inUse(slab);
    });
    const parked = this.arrayObjects;
    this.parkedCounts[this.cpu] = this.arrayCount;
    if (inUse !== this.active + parked || this.parkedCounts.some((n) => n > this.arrayLimit)) {
      const reason = `${inUse} objects in use in slabs, ${this.active} held and ${parked} in the per-CPU arrays`;
      return new SlabError('FREELIST_CORRUPT', this.name, NULL, reason);
    }
    const seen = new Set<number>();
    for (const [cpu, array] of this.parked.entries()) {
      const error = this.checkArrayEntries(array, this.parkedCounts[cpu]!, seen);
      if (error !== undefined) return error;
    }
    return undefined;
  }

  /** One error if `count` entries of `array` are not distinct allocated objects, unseen before. */
  private checkArrayEntries(
    array: Float64Array,
    count: number,
    seen: Set<number>,
  ): SlabError | undefined {
    for (let entry = 0; entry < count; entry++) {
      const address = array[entry]!;
      const owner = this.owners.get(address);
      const slab = owner - 1;
      const ours = owner > NO_OWNER && this.slabs.cacheOf(slab) === this.id;
      const index = ours ? this.indexOrNone(slab, address) : NO_INDEX;
      if (index === NO_INDEX || seen.has(address) || this.isListedFree(slab, index)) {
        const reason = `per-CPU array entry ${entry} is not an allocated object`;
        return new SlabError('FREELIST_CORRUPT', this.name, address, reason);
      }
      seen.add(address);
    }
    return undefined;
  }

  /** True when object `index` is on the free list of `slab` (a walk bounded by the slab's size). */
  private isListedFree(slab: number, index: number): boolean {
    let at = this.slabs.freeHead(slab);
    for (let steps = 0; at !== NO_SLAB && steps < this.objectsPerSlab; steps++) {
      if (at === index) return true;
      at = this.memory.load32(this.slabs.firstSlot(slab) + at * this.stride + this.linkOffset) | 0;
    }
    return false;
  }

  private listError(slab: number, reason: string): SlabError {
    return new SlabError('FREELIST_CORRUPT', this.name, this.slabs.base(slab), reason);
  }

  /** Debug: one error per object with damaged red zones or, when free, damaged poison. */
  private checkObjects(slab: number): SlabError[] {
    if (!this.debug) return [];
    const errors: SlabError[] = [];
    const first = this.slabs.firstSlot(slab);
    for (let index = 0; index < this.objectsPerSlab; index++) {
      const slot = first + index * this.stride;
      const object = slot + this.objectOffset;
      const state = redZoneState(this.memory, slot, this.geometry);
      if (state === RedZoneState.Damaged) {
        errors.push(new SlabError('REDZONE', this.name, object, 'red zone overwritten'));
      } else if (
        state === RedZoneState.Inactive &&
        this.poison &&
        !poisonIntact(this.memory, object, this.objectSize)
      ) {
        errors.push(new SlabError('POISON', this.name, object, 'written after free'));
      }
    }
    return errors;
  }
}

/** What {@link SlabCache.indexOrNone} returns for an address that is not an object. */
const NO_INDEX = -1;
/** Spreads addresses over the hash set of a flush (the golden ratio, as a 32-bit integer)... */
const HASH_MIX = 0x9e3779b1;
/** ...whose slot is taken from the product's middle bits, the best mixed. */
const HASH_SHIFT = 16;

/** Linux SLAB's per-CPU array limit for objects of `size` bytes (enable_cpucache). */
function arrayLimitFor(size: number): number {
  if (size > 128 * 1024) return 1;
  if (size > 4096) return 8;
  if (size > 1024) return 24;
  if (size > 256) return 54;
  return 120;
}
