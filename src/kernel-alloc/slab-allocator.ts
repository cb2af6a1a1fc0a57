/**
 * The kernel allocator: named slab caches (Bonwick) plus kmalloc, whose requests up to 8 KiB go
 * to the `kmalloc-*` caches and larger ones straight to whole pages of the page source.
 *
 * ```
 *  kmalloc(size) ──▶ size class ──▶ kmalloc-8 … kmalloc-8k ──┐
 *  createCache("task_struct", …).alloc() ────────────────────┼─▶ SlabCache ──▶ KernelPageSource
 *  kmalloc(size > 8 KiB) ───────────────── 2^order pages ────┘                 (virtual layer)
 * ```
 *
 * The first cache is the cache of caches, `kmem_cache`: every other cache's descriptor (the
 * kmalloc caches' included) is one of its objects, allocated by createCache and freed by
 * destroy. Its own descriptor cannot come from itself; it is static (see cache-descriptor.ts).
 *
 * Memory is touched only through the given {@link MemoryAccess} at kernel virtual addresses;
 * the page source must return direct-map pages, whose owner (slab or large allocation) is kept
 * in a table so that kfree finds any object's slab in O(1).
 *
 * Errors: misuse and corruption throw a {@link SlabError} (nothing changes); out of memory is
 * not an error but a {@link NULL} return, as in C, once the page source has no pages even after
 * its own reclaim (which gives back every cache's empty slabs through {@link shrinkAll}, when
 * wired so). The slab never reclaims on its own: one path reclaims, the page source's.
 */
import { InvalidArgumentError } from '../errors.js';
import { PAGE_MASK, PAGE_SIZE } from '../hw/constants.js';
import type { MemoryAccess } from '../hw/memory-access.js';
import {
  describesCache,
  KMEM_CACHE_ALIGN,
  KMEM_CACHE_NAME,
  KMEM_CACHE_SIZE,
  writeCacheDescriptor,
} from './cache-descriptor.js';
import { SlabError } from './errors.js';
import { MIN_ALIGN, SlabGeometry } from './geometry.js';
import { LARGE_TAIL, largeOrder, largeOwner, NO_OWNER, PageOwnerMap } from './page-owners.js';
import { type KernelPageSource, MAX_PAGE_ORDER, NO_PAGES } from './page-source.js';
import {
  KMALLOC_MAX_CACHE_SIZE,
  KMALLOC_SIZES,
  kmallocCacheName,
  sizeClassIndex,
} from './size-classes.js';
import {
  type CacheOptions,
  NULL,
  type ObjectConstructor,
  SlabCache,
  type SlabContext,
  type SlabInfo,
} from './slab-cache.js';
import { SlabTable } from './slab-table.js';
import { formatSlabinfo } from './slabinfo.js';

/** What `kmalloc(0)` returns: a distinct non-NULL pointer in the unmapped first page, like Linux's `((void *)16)`. */
export const ZERO_SIZE_PTR = 16;
/** The largest kmalloc: 2^MAX_PAGE_ORDER pages (4 MiB). */
export const KMALLOC_MAX_SIZE = PAGE_SIZE << MAX_PAGE_ORDER;
/** The largest alignment a cache may ask for. */
export const MAX_ALIGN = PAGE_SIZE;

/** Options of a {@link SlabAllocator}. */
export interface SlabAllocatorOptions {
  /** Debug mode (red zones, poisoning, full checks) for every cache, kmalloc's included. */
  debug?: boolean;
  /**
   * Static kernel memory (KMEM_CACHE_SIZE bytes, e.g. in the kernel image's data) for the
   * descriptor of the `kmem_cache` cache itself; without it that one descriptor is not kept in
   * simulated memory (every other one still is).
   */
  bootDescriptor?: number;
  /** CPUs, each with its own array of recently freed objects in every cache (default 1). */
  cpus?: number;
}

/** Kernel memory held by the allocator, for `/proc/meminfo` and tests. */
export interface SlabStats {
  /** All slab pages plus large kmallocs, in bytes (meminfo `Slab`). */
  slabBytes: number;
  /** Pages of reclaimable caches, in bytes (meminfo `SReclaimable`). */
  reclaimableBytes: number;
  /** Everything else, large kmallocs included (meminfo `SUnreclaim`), in bytes. */
  unreclaimableBytes: number;
  /** Bytes of kmallocs above 8 KiB (whole pages). */
  largeBytes: number;
  /** Pages held: slabs plus large kmallocs. */
  pages: number;
  /** Objects allocated from all caches. */
  activeObjects: number;
  /** Objects in all slabs, free or not. */
  totalObjects: number;
}

/** The slab allocator and kmalloc family of one kernel. */
export class SlabAllocator implements SlabContext {
  /** @internal */
  readonly slabs = new SlabTable();
  /** @internal */
  readonly owners = new PageOwnerMap();
  private readonly byId: (SlabCache | undefined)[] = [];
  /** The cache of cache descriptors, made first. */
  private readonly cacheCache: SlabCache;
  private readonly kmallocCaches: SlabCache[];
  private readonly debug: boolean;
  private largePages = 0;
  /** CPUs, and the one whose arrays the caches use now. */
  readonly cpus: number;
  cpu = 0;

  /**
   * @param pages where slabs and large kmallocs get their pages (direct-map addresses).
   * @param memory kernel virtual memory, through which objects and free lists are read/written.
   */
  constructor(
    readonly pages: KernelPageSource,
    readonly memory: MemoryAccess,
    options: SlabAllocatorOptions = {},
  ) {
    this.debug = options.debug ?? false;
    this.cpus = options.cpus ?? 1;
    this.cacheCache = this.bootstrap(options.bootDescriptor ?? NULL);
    this.kmallocCaches = KMALLOC_SIZES.map((size) =>
      this.createCache(kmallocCacheName(size), size, naturalAlignment(size)),
    );
  }

  /**
   * Creates a cache of `objectSize`-byte objects.
   * @param name unique among live caches, no white space (slabinfo's first column).
   * @param align power of two up to 4096; raised to 8 (every object is pointer-aligned).
   * @param ctor runs once per object when a slab is populated, not on every allocation; objects
   *   should be freed back in their constructed state.
   * @param options `debug` (default: the allocator's), `reclaimable` (default false).
   * @throws InvalidArgumentError for a bad name, size or alignment; nothing is created.
   */
  createCache(
    name: string,
    objectSize: number,
    align = MIN_ALIGN,
    ctor?: ObjectConstructor,
    options: CacheOptions = {},
  ): SlabCache {
    this.checkCacheArguments(name, objectSize, align);
    const debug = options.debug ?? this.debug;
    const geometry = this.geometryFor(objectSize, align, debug, ctor);
    const descriptor = this.cacheCache.alloc();
    if (descriptor === NULL) {
      throw new SlabError('OUT_OF_MEMORY', KMEM_CACHE_NAME, NULL, `no memory to create ${name}`);
    }
    const reclaimable = options.reclaimable ?? false;
    const id = this.byId.length;
    const cache = new SlabCache(name, id, geometry, ctor, debug, reclaimable, this, descriptor);
    writeCacheDescriptor(this.memory, descriptor, cache);
    this.byId.push(cache);
    return cache;
  }

  /**
   * Makes the cache of caches by hand, as Linux's kmem_cache_init does: its descriptor is the
   * static one at `descriptor` (NULL: none in memory), not an object of any cache.
   */
  private bootstrap(descriptor: number): SlabCache {
    const geometry = this.geometryFor(KMEM_CACHE_SIZE, KMEM_CACHE_ALIGN, this.debug, undefined);
    const cache = new SlabCache(
      KMEM_CACHE_NAME,
      this.byId.length,
      geometry,
      undefined,
      this.debug,
      false,
      this,
      descriptor,
    );
    if (descriptor !== NULL) writeCacheDescriptor(this.memory, descriptor, cache);
    this.byId.push(cache);
    return cache;
  }

  /** The layout of a cache's slabs. @throws InvalidArgumentError when an object cannot fit. */
  private geometryFor(
    objectSize: number,
    align: number,
    debug: boolean,
    ctor: ObjectConstructor | undefined,
  ): SlabGeometry {
    const alignment = Math.max(align, MIN_ALIGN);
    const geometry = new SlabGeometry(objectSize, alignment, debug, debug || ctor !== undefined);
    if (geometry.stride > SlabGeometry.maxStride) {
      throw new InvalidArgumentError(`objects of ${objectSize} bytes do not fit in a slab`);
    }
    return geometry;
  }

  /**
   * Allocates `size` bytes: from the smallest kmalloc cache that fits, or whole pages above
   * 8 KiB. Returns {@link ZERO_SIZE_PTR} for 0 bytes and {@link NULL} when memory is exhausted
   * or `size` exceeds {@link KMALLOC_MAX_SIZE}.
   * @throws InvalidArgumentError when `size` is not a non-negative integer.
   */
  kmalloc(size: number): number {
    if (size > 0 && size <= KMALLOC_MAX_CACHE_SIZE && Number.isInteger(size)) {
      return this.kmallocCaches[sizeClassIndex(size)]!.alloc();
    }
    if (size === 0) return ZERO_SIZE_PTR;
    if (!Number.isSafeInteger(size) || size < 0) {
      throw new InvalidArgumentError(`kmalloc size ${size} is not a non-negative integer`);
    }
    return size > KMALLOC_MAX_SIZE ? NULL : this.allocLarge(size);
  }

  /**
   * Frees what kmalloc (or any cache) returned. NULL and ZERO_SIZE_PTR are ignored.
   * @throws SlabError `INVALID_POINTER`, `DOUBLE_FREE`, `REDZONE` (see SlabCache.free).
   */
  kfree(address: number): void {
    if (address === NULL || address === ZERO_SIZE_PTR) return;
    const owner = this.owners.get(address);
    if (owner > NO_OWNER) {
      const slab = owner - 1;
      const cache = this.byId[this.slabs.cacheOf(slab)]!;
      cache.freeObject(slab, cache.objectIndex(slab, address), address);
      return;
    }
    const order = this.largeBlockOrder(address, owner);
    this.owners.set(address, 1 << order, NO_OWNER);
    this.largePages -= 1 << order;
    this.pages.freeKernelPages(address, order);
  }

  /**
   * The slab holding kernel address `address`, with its cache; undefined when no slab does (a
   * large kmalloc block, or memory the slab allocator does not own).
   */
  slabAt(address: number): { cache: SlabCache; slab: SlabInfo } | undefined {
    const owner = this.owners.get(address);
    if (owner <= NO_OWNER) return undefined;
    const cache = this.byId[this.slabs.cacheOf(owner - 1)];
    return cache === undefined ? undefined : { cache, slab: cache.slabInfo(owner - 1) };
  }

  /**
   * Resizes a kmalloc'd block: the same address while it still fits, otherwise a new block with
   * the old contents (the old one freed). NULL and ZERO_SIZE_PTR act as kmalloc(size); size 0
   * frees and returns ZERO_SIZE_PTR. Returns {@link NULL} on out of memory, the old block intact.
   */
  krealloc(address: number, size: number): number {
    if (address === NULL || address === ZERO_SIZE_PTR) return this.kmalloc(size);
    const usable = this.ksize(address);
    if (size === 0) {
      this.kfree(address);
      return ZERO_SIZE_PTR;
    }
    if (Number.isInteger(size) && size > 0 && size <= usable) return address;
    const fresh = this.kmalloc(size);
    if (fresh === NULL) return NULL;
    this.memory.writeBytes(fresh, this.memory.readBytes(address, usable));
    this.kfree(address);
    return fresh;
  }

  /**
   * Bytes usable at `address` (the object size of its cache, or the whole pages of a large
   * kmalloc); 0 for NULL and ZERO_SIZE_PTR.
   * @throws SlabError `INVALID_POINTER` when `address` is not an object.
   */
  ksize(address: number): number {
    if (address === NULL || address === ZERO_SIZE_PTR) return 0;
    const owner = this.owners.get(address);
    if (owner > NO_OWNER) {
      const slab = owner - 1;
      const cache = this.byId[this.slabs.cacheOf(slab)]!;
      cache.objectIndex(slab, address);
      return cache.objectSize;
    }
    return PAGE_SIZE << this.largeBlockOrder(address, owner);
  }

  /** The allocations and frees that follow run on CPU `cpu`: every cache uses its array. */
  useCpu(cpu: number): void {
    if (cpu === this.cpu) return;
    this.cpu = cpu;
    for (const cache of this.caches()) cache.useCpu(cpu);
  }

  /** Puts the running CPU's arrays back on their slabs (a CPU going idle does). */
  drainThisCpu(): void {
    for (const cache of this.caches()) cache.drainThisCpu();
  }

  /**
   * Gives every cache's empty slabs back to the page source.
   * @returns pages freed.
   */
  shrinkAll(): number {
    let freed = 0;
    for (const cache of this.caches()) freed += cache.shrink();
    return freed;
  }

  /**
   * Checks every cache (see SlabCache.validate), and that its descriptor in kernel memory still
   * describes it (`DESCRIPTOR_CORRUPT` otherwise).
   * @param report called with each problem found.
   * @returns the number of problems; 0 when all is well.
   */
  validate(report?: (error: SlabError) => void): number {
    let errors = 0;
    for (const cache of this.caches()) {
      errors += cache.validate(report);
      const descriptor = cache.descriptor;
      if (descriptor !== NULL && !describesCache(this.memory, descriptor, cache)) {
        report?.(new SlabError('DESCRIPTOR_CORRUPT', cache.name, descriptor, 'overwritten'));
        errors++;
      }
    }
    return errors;
  }

  /** Live caches, oldest first (the kmalloc caches first). */
  caches(): readonly SlabCache[] {
    return this.byId.filter((cache) => cache !== undefined);
  }

  /** The cache serving kmalloc requests of `size` bytes (1..8192). */
  kmallocCache(size: number): SlabCache {
    if (!(Number.isInteger(size) && size > 0 && size <= KMALLOC_MAX_CACHE_SIZE)) {
      throw new InvalidArgumentError(`no kmalloc cache serves ${size} bytes`);
    }
    return this.kmallocCaches[sizeClassIndex(size)]!;
  }

  /** Kernel memory held, split as `/proc/meminfo` reports it. */
  stats(): SlabStats {
    let reclaimablePages = 0;
    let slabPages = 0;
    let activeObjects = 0;
    let totalObjects = 0;
    for (const cache of this.caches()) {
      slabPages += cache.pageCount;
      if (cache.reclaimable) reclaimablePages += cache.pageCount;
      activeObjects += cache.activeObjects;
      totalObjects += cache.totalObjects;
    }
    const pages = slabPages + this.largePages;
    return {
      slabBytes: pages * PAGE_SIZE,
      reclaimableBytes: reclaimablePages * PAGE_SIZE,
      unreclaimableBytes: (pages - reclaimablePages) * PAGE_SIZE,
      largeBytes: this.largePages * PAGE_SIZE,
      pages,
      activeObjects,
      totalObjects,
    };
  }

  /** `/proc/slabinfo` (version 2.1), newest cache first as Linux lists them. */
  slabinfo(): string {
    return formatSlabinfo([...this.caches()].reverse());
  }

  /** @internal */
  destroyable(cache: SlabCache): boolean {
    return cache !== this.cacheCache && !this.kmallocCaches.includes(cache);
  }

  /** @internal Drops a destroyed cache and frees its descriptor. */
  forget(cache: SlabCache): void {
    this.byId[cache.id] = undefined;
    this.cacheCache.free(cache.descriptor);
  }

  /** @internal */
  cacheName(id: number): string {
    return this.byId[id]?.name ?? '(destroyed cache)';
  }

  private allocLarge(size: number): number {
    const pages = Math.ceil(size / PAGE_SIZE);
    const order = pages === 1 ? 0 : 32 - Math.clz32(pages - 1);
    const base = this.pages.allocKernelPages(order);
    if (base === NO_PAGES) return NULL;
    this.owners.set(base, 1 << order, LARGE_TAIL);
    this.owners.set(base, 1, largeOwner(order));
    this.largePages += 1 << order;
    return base;
  }

  /** The order of the large kmalloc starting at `address`, whose page owner is `owner`. */
  private largeBlockOrder(address: number, owner: number): number {
    if (owner < NO_OWNER && owner !== LARGE_TAIL && (address & PAGE_MASK) === 0) {
      return largeOrder(owner);
    }
    const reason = owner === NO_OWNER ? 'not in any slab' : 'inside a large kmalloc block';
    throw new SlabError('INVALID_POINTER', '(none)', address, reason);
  }

  private checkCacheArguments(name: string, objectSize: number, align: number): void {
    if (typeof name !== 'string' || !/^\S+$/.test(name)) {
      throw new InvalidArgumentError(`cache name '${name}' must be non-empty without spaces`);
    }
    if (this.byId.some((cache) => cache?.name === name)) {
      throw new InvalidArgumentError(`a cache named '${name}' already exists`);
    }
    if (!Number.isSafeInteger(objectSize) || objectSize < 1) {
      throw new InvalidArgumentError(`object size ${objectSize} is not a positive integer`);
    }
    if (!Number.isInteger(align) || align < 1 || align > MAX_ALIGN || (align & (align - 1)) !== 0) {
      throw new InvalidArgumentError(`alignment ${align} is not a power of two up to ${MAX_ALIGN}`);
    }
  }
}

/** kmalloc's guarantee: power-of-two sizes are aligned to their size (up to a page). */
function naturalAlignment(size: number): number {
  return Math.min(size & -size, MAX_ALIGN);
}
