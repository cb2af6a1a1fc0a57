/**
 * The malloc family of one process (or one flat heap), running in user space.
 *
 * All of its metadata lives in the managed memory, reached through `host.memory`: chunk headers,
 * boundary tags, free-list links and list heads (see `chunk.ts` for the layout). The JS object
 * only caches what can be rebuilt from memory: where the heap and its top chunk are, the list
 * bitmaps and the set of mmapped blocks. A program that scribbles over the heap therefore
 * corrupts it for real, and every operation checks what it reads before trusting it, aborting
 * through `host.abort` with a glibc-like message before a block could be handed out twice.
 *
 * The heap grows with sbrk:
 *
 * ```
 *  base                                                                           break
 *  ┌────────────────────────┬───────┬──────┬───────┬─────┬───────┬───────────────┐
 *  │ heap header:           │ chunk │ free │ chunk │ ... │ chunk │ top chunk     │
 *  │ +16   768 list heads   │(used) │chunk │(cached│     │(used) │ (never listed)│
 *  │ +3088 64 cache heads   │       │      │ = used│     │       │               │
 *  └────────────────────────┴───────┴──────┴───────┴─────┴───────┴───────────────┘
 * ```
 * Small frees and mallocs (chunks under 1 KiB) first try a per-size cache of recently freed
 * chunks, like glibc's tcache: a LIFO pop or push, no coalescing. Otherwise allocation takes the
 * best-fitting list (segregated fit, O(1) via bitmaps), else carves the top chunk, else grows
 * the break. Free coalesces at once with free neighbours (boundary tags); a chunk reaching the
 * top merges into it, and a top past the trim threshold shrinks the break. Blocks of at least
 * the mmap threshold get their own mapping, returned by munmap on free.
 *
 * Headers are read and written in place where the memory offers windows of words
 * ({@link WordWindows}): a chunk's head and seal (and links) as one access to the words of
 * their page, one check for all of them, as a CPU's TLB hit serves every access to its page.
 * The cache's pop and push, most calls of a real program, do all their work so: two checks,
 * one for the cache's head and one for the chunk, where word by word took seven. In a process
 * a window is a page the TLB maps user-writable and dirty; a flat memory's is its buffer.
 * Otherwise (a TLB miss, a read-only COW page, a memory without windows) the same code goes
 * word by word through `host.memory`, with the same checks, and ends in the same state.
 */
import { InvalidArgumentError } from '../errors.js';
import { PAGE_SIZE as IMPORTED_PAGE_SIZE } from '../hw/constants.js';
import type { MemoryAccess, WordWindows } from '../hw/memory-access.js';
import { ERRNO } from '../linux-abi.js';
import * as chunkLayout from './chunk.js';
import type { HeapHost } from './heap-host.js';

/*
 * Module-local copies of what the hot paths import (as in the buddy allocator): V8 (Node 20)
 * reads an imported binding through its module cell, with a TDZ check, at every use, but folds
 * a module's own constants into the compiled code. A tcache malloc+free got ~25% faster.
 */
const {
  ALIGNMENT,
  ALIGNMENT_MASK,
  BIN_COUNT,
  BK,
  binOf,
  CACHED,
  FD,
  FL_COUNT,
  FLAG_MASK,
  HEAD,
  HEAP_OVERHEAD,
  INUSE,
  isAligned,
  LINEAR_LIMIT,
  lowestBit,
  MAX_CHUNK,
  MIN_CHUNK,
  MIN_TOP,
  MMAP_OVERHEAD,
  MMAPPED,
  PAYLOAD,
  PREV_INUSE,
  PREV_SIZE,
  SEAL,
  SL_COUNT,
  SL_SHIFT,
  SMALL_ALIGNED,
  sealOf,
} = chunkLayout;
const PAGE_SIZE = IMPORTED_PAGE_SIZE;

/**
 * Where a chunk's words are in its window's words ({@link WordWindows}): the chunk's own index
 * there ({@link UserAllocator.wordIndex}) plus these.
 */
const WORD_SHIFT = 2;
const HEAD_WORD = HEAD >> WORD_SHIFT;
const SEAL_WORD = SEAL >> WORD_SHIFT;
const FD_WORD = FD >> WORD_SHIFT;
const BK_WORD = BK >> WORD_SHIFT;
/** What {@link UserAllocator.sealedHead} returns for a header whose seal does not match. */
const UNSEALED = -1;

/** Tunables, named after glibc's mallopt parameters. */
export interface UserAllocatorOptions {
  /** Requests of at least this many bytes get their own mmap (glibc M_MMAP_THRESHOLD, 128 KiB). */
  mmapThreshold?: number;
  /** A top chunk larger than this is given back with a negative sbrk (M_TRIM_THRESHOLD, 128 KiB). */
  trimThreshold?: number;
  /** Extra bytes asked for each time the break grows, and kept when trimming (M_TOP_PAD). */
  topPad?: number;
  /**
   * Freed chunks kept per small size for fast reuse (64 by default, at most 255; glibc keeps 7
   * in its tcache plus unbounded fastbins), at most 8 for chunks from 512 bytes to 1 KiB; 0
   * disables the caches. They are flushed before the heap grows, so cached chunks never make
   * the footprint larger. An integer; InvalidArgumentError otherwise.
   */
  cacheLimit?: number;
  /** Seed of the secret that seals chunk headers; random when absent. */
  seed?: number;
}

/** One chunk as {@link UserAllocator.forEachChunk} reports it. */
export interface HeapChunk {
  /** Where the chunk starts; a block's payload is 16 bytes further. */
  readonly address: number;
  /** Bytes from `address` to the next chunk (for `mmapped`, the whole mapping). */
  readonly size: number;
  /**
   * `used`: a block the program holds; `cached`: freed, parked in a per-size cache; `free`: on
   * a free list; `top`: the top chunk, up to the break; `mmapped`: a block with its own mapping.
   */
  readonly state: 'used' | 'cached' | 'free' | 'top' | 'mmapped';
}

/** glibc's `struct mallinfo2`: statistics of the heap, in bytes and chunk counts. */
export interface MallInfo {
  /** Bytes of the sbrk heap (header, chunks and top). */
  arena: number;
  /** Free chunks, the top chunk included. */
  ordblks: number;
  /** Free fastbin chunks (always 0: there are no fastbins). */
  smblks: number;
  /** Blocks served by their own mmap. */
  hblks: number;
  /** Bytes of those mappings. */
  hblkhd: number;
  /** Always 0 (unused by glibc too). */
  usmblks: number;
  /** Bytes in fastbins (always 0). */
  fsmblks: number;
  /** Bytes of the sbrk heap in use (arena - fordblks). */
  uordblks: number;
  /** Bytes of the sbrk heap free, the top chunk included. */
  fordblks: number;
  /** Bytes that trimming could give back: the top chunk. */
  keepcost: number;
}

const DEFAULT_MMAP_THRESHOLD = 128 * 1024;
const DEFAULT_TRIM_THRESHOLD = 128 * 1024;
const DEFAULT_TOP_PAD = 16 * 1024;
/** Requests up to this take the integer fast path of {@link UserAllocator.chunkSizeFor}. */
const SMALL_REQUEST = 2 ** 30;
/** The largest request: a chunk of it plus page rounding must fit the 32-bit head word. */
export const MAX_REQUEST = MAX_CHUNK - PAGE_SIZE - MMAP_OVERHEAD;
/** The list heads sit right after a 16-byte heap header word area. */
const HEADS_OFFSET = 16;
/** Heads of the per-size caches follow: one per 16-byte chunk size below CACHE_CHUNK_LIMIT. */
const CACHE_OFFSET = HEADS_OFFSET + BIN_COUNT * 4;
/**
 * Chunks below 1 KiB are cached (glibc's tcache stops at 1032 bytes too). Their bins are exact:
 * the linear ones, then the first power-of-two range, whose 32 lists are 16 bytes apart.
 */
const CACHE_CHUNK_LIMIT = 2 * LINEAR_LIMIT;
const CACHE_BINS = CACHE_CHUNK_LIMIT / ALIGNMENT;
const HEAP_HEADER_SIZE = CACHE_OFFSET + CACHE_BINS * 4;
/** Bytes of one thread's cache heads (a word per cached size), in its thread control block. */
export const THREAD_CACHE_BYTES = CACHE_BINS * 4;
/** The key of the process's first thread's caches, whose heads are in the heap header. */
const MAIN_THREAD = 0;

/** One thread's per-size caches: where their list heads are, and how many chunks each holds. */
interface ThreadCache {
  heads: number;
  readonly counts: Uint8Array;
}
/** Requests up to this have chunks of a cached size. */
const CACHE_MAX_REQUEST = CACHE_CHUNK_LIMIT - ALIGNMENT - HEAP_OVERHEAD;
/** Added to a request before dividing by 16: room for the header word, rounded up. */
const CHUNK_ROUNDING = HEAP_OVERHEAD + ALIGNMENT_MASK;
/** Chunks per cache: enough for ~98% hits on H1, low enough to keep trace fragmentation down. */
const DEFAULT_CACHE_LIMIT = 64;
/**
 * Chunks per cache for sizes from 512 bytes to 1 KiB: few (glibc keeps 7 of every size), so
 * parked chunks do not keep memory from other sizes on traces.
 */
const LARGE_CACHE_LIMIT = 8;
/** Cache counts are bytes. */
const MAX_CACHE_LIMIT = 255;
/** How many entries of the requested size's own list are tried before moving up a list. */
const FIT_SCAN_LIMIT = 8;
/** Copies longer than this go through one readBytes/writeBytes instead of a word loop. */
const BULK_COPY_BYTES = 256;
const POINTER_HIGH = 2 ** 32;
/** Alignments beyond this cannot be honoured within MAX_CHUNK. */
const MAX_ALIGNMENT = 2 ** 30;

/** Heap life cycle: the break is only touched on the first allocation. */
const HEAP_UNTRIED = 0;
const HEAP_READY = 1;
const HEAP_UNAVAILABLE = 2;

/**
 * A malloc/free/realloc/memalign allocator over a {@link HeapHost}. One per process or flat heap.
 * Pointers are plain numbers; 0 is NULL, and after a failure `errno` says why.
 */
export class UserAllocator<H extends HeapHost = HeapHost> {
  /** The environment: memory, break, mappings and abort. */
  readonly host: H;
  /** `ERRNO.ENOMEM` or `ERRNO.EINVAL` after a failed call; never cleared by a successful one. */
  errno = 0;
  private readonly m: MemoryAccess;
  /** The memory's windows, where headers are read and written in place (none: word by word). */
  private readonly windows: WordWindows;
  /** Their offset mask, one load away. */
  private readonly windowMask: number;
  /** The memory again when it can move bytes itself (a FlatMemory), for realloc's copies. */
  private readonly mover: ByteMover | null;
  private readonly mmapThreshold: number;
  private readonly trimThreshold: number;
  private readonly topPad: number;
  private key: number;
  private heapState = HEAP_UNTRIED;
  /** The break when the heap was set up (the heap header follows, aligned to 16). */
  private start = 0;
  /** Address of the heap header; free-list links are stored as offsets from it. */
  private base = 0;
  private firstChunk = 0;
  private top = 0;
  /** The break: one past the top chunk. */
  private end = 0;
  /** Cache of which lists are non-empty (rebuildable from the list heads in memory). */
  private flBitmap = 0;
  private readonly slBitmaps = new Uint32Array(FL_COUNT);
  /** Cache of the live mmapped chunks: chunk address → mapping length. */
  private readonly mapped = new Map<number, number>();
  private mappedBytes = 0;
  private readonly cacheLimit: number;
  /** Chunks each per-size cache keeps at most: cacheLimit, fewer for the larger sizes. */
  private readonly cacheLimits = new Uint8Array(CACHE_BINS);
  /** Cache of how many chunks each per-size cache list of the running thread holds. */
  private cacheCounts: Uint8Array = new Uint8Array(CACHE_BINS);
  /** Where the running thread's cache heads are (the first thread's: in the heap header). */
  private cacheHeads = 0;
  /** The running thread's key (0: the first thread), and every thread's caches by key. */
  private cacheKey = MAIN_THREAD;
  private readonly threadCaches = new Map<number, ThreadCache>();

  constructor(host: H, options: UserAllocatorOptions = {}) {
    this.host = host;
    this.m = host.memory;
    this.mover = isByteMover(host.memory) ? host.memory : null;
    this.windows = hasWordWindows(host.memory) ? host.memory : NO_WORD_WINDOWS;
    this.windowMask = this.windows.windowMask;
    this.mmapThreshold = options.mmapThreshold ?? DEFAULT_MMAP_THRESHOLD;
    this.trimThreshold = options.trimThreshold ?? DEFAULT_TRIM_THRESHOLD;
    this.topPad = roundUpToPage(options.topPad ?? DEFAULT_TOP_PAD);
    this.key = secretKey(options.seed);
    this.cacheLimit = cacheLimitOption(options.cacheLimit);
    for (let bin = 0; bin < CACHE_BINS; bin++) {
      const large = bin * ALIGNMENT >= LINEAR_LIMIT;
      this.cacheLimits[bin] = large
        ? Math.min(this.cacheLimit, LARGE_CACHE_LIMIT)
        : this.cacheLimit;
    }
    this.threadCaches.set(MAIN_THREAD, { heads: 0, counts: this.cacheCounts });
  }

  /** The memory the allocator manages (the host's). */
  get memory(): H['memory'] {
    return this.host.memory;
  }

  /** A copy of this allocator's bookkeeping over `host`, for a forked copy of the same memory. */
  fork<C extends HeapHost>(host: C): UserAllocator<C> {
    const child = new UserAllocator(host, {
      mmapThreshold: this.mmapThreshold,
      trimThreshold: this.trimThreshold,
      topPad: this.topPad,
      cacheLimit: this.cacheLimit,
    });
    child.key = this.key;
    child.heapState = this.heapState;
    child.start = this.start;
    child.base = this.base;
    child.firstChunk = this.firstChunk;
    child.top = this.top;
    child.end = this.end;
    child.flBitmap = this.flBitmap;
    child.mappedBytes = this.mappedBytes;
    child.slBitmaps.set(this.slBitmaps);
    // The child's one thread is the one that forked: its caches become the child's first
    // thread's; the other threads' cached chunks stay in use in the child, as with glibc.
    child.cacheCounts.set(this.cacheCounts);
    child.cacheHeads = this.cacheHeads;
    child.threadCaches.get(MAIN_THREAD)!.heads = this.cacheHeads;
    for (const [address, length] of this.mapped) child.mapped.set(address, length);
    return child;
  }

  // ─── The malloc family ──────────────────────────────────────────────────────────────────────

  /** Allocates `size` bytes aligned to 16; 0 (errno ENOMEM) when it cannot. */
  malloc(size: number): number {
    if (size <= CACHE_MAX_REQUEST && size >= 0 && (size | 0) === size) {
      const bin = (size <= MIN_CHUNK - HEAP_OVERHEAD ? MIN_CHUNK : size + CHUNK_ROUNDING) >>> 4;
      if (this.cacheCounts[bin] !== 0) return this.popCache(bin);
    }
    return this.mallocSlow(size);
  }

  /** malloc without a cached chunk at hand: lists, top, growth, mmap. */
  private mallocSlow(size: number): number {
    const need = this.chunkSizeFor(size);
    if (need === 0) return this.fail(ERRNO.ENOMEM);
    if (need >= this.mmapThreshold) {
      const p = this.mmapChunk(need, ALIGNMENT);
      if (p !== 0) return p;
    }
    const chunk = this.allocateChunk(need);
    if (chunk !== 0) return chunk + PAYLOAD;
    return need < this.mmapThreshold ? this.mallocFallback(need) : this.fail(ERRNO.ENOMEM);
  }

  /**
   * A heap chunk of `need` bytes: from the lists, else from the top chunk. The break only grows
   * once the caches have been flushed (their chunks coalesced) and still nothing fits, so cached
   * memory never inflates the footprint; flushing only then keeps it off the common path.
   */
  private allocateChunk(need: number): number {
    const chunk = this.allocateFromLists(need, false);
    if (chunk !== 0) return chunk;
    if (this.flushCaches()) {
      const retried = this.allocateFromLists(need, false);
      if (retried !== 0) return retried;
    }
    return this.carveTop(need, true);
  }

  /**
   * Frees a block from malloc & co. `free(0)` does nothing; anything else invalid aborts.
   *
   * Fast path: a sealed small chunk in use, whose cache has room, goes onto its cache, read and
   * written in place when the windows of its header and of its cache's head are at hand
   * ({@link WordWindows}). The seal proves the header was written by us at this very
   * address, so the size can be trusted without more checks.
   */
  free(p: number): void {
    const chunk = p - PAYLOAD;
    const offset = chunk - this.base;
    if (chunk >= this.firstChunk && chunk < this.top && (offset & SMALL_ALIGNED) === offset) {
      const words = this.windows.writableWindow(chunk);
      const at = this.wordIndex(chunk);
      const inPlace = at + FD_WORD < words.length;
      const head = inPlace ? words[at + HEAD_WORD]! >>> 0 : this.m.load32(chunk + HEAD);
      const bin = head >>> 4;
      if (
        (head & (INUSE | CACHED)) === INUSE &&
        bin < CACHE_BINS &&
        this.cacheCounts[bin]! < this.cacheLimits[bin]! &&
        (inPlace ? words[at + SEAL_WORD]! : this.m.load32(chunk + SEAL) | 0) ===
          sealOf(chunk, head, this.key) &&
        bin >= MIN_CHUNK >>> 4
      ) {
        if (!inPlace || !this.pushCacheInPlace(words, at, chunk, head, bin)) {
          this.pushCache(chunk, head, bin);
        }
        return;
      }
    }
    this.freeSlow(p);
  }

  /** free with every check: bad pointers, mmapped chunks, full caches, coalescing. */
  private freeSlow(p: number): void {
    if (p === 0) return;
    const chunk = p - PAYLOAD;
    if (chunk >= this.firstChunk && chunk < this.top) {
      const head = this.checkOwnHead(chunk, 'free');
      const size = sizeOf(head);
      const bin = size >>> 4;
      if (size < CACHE_CHUNK_LIMIT && this.cacheCounts[bin]! < this.cacheLimits[bin]!) {
        this.pushCache(chunk, head, bin);
      } else {
        this.freeChunk(chunk, head);
      }
    } else if (chunk === this.top && this.heapState === HEAP_READY) {
      this.corrupt('free(): double free detected');
    } else {
      this.unmapChunk(chunk, 'free');
    }
  }

  /** Allocates `count * size` zeroed bytes; 0 (ENOMEM) if the product overflows. */
  calloc(count: number, size: number): number {
    checkInteger(count, 'calloc count');
    checkInteger(size, 'calloc size');
    const bytes = count * size;
    if (!(bytes <= MAX_REQUEST)) return this.fail(ERRNO.ENOMEM);
    const p = this.malloc(bytes);
    // Fresh mappings are zero already; reused heap memory is not.
    if (p !== 0 && p - PAYLOAD >= this.firstChunk && p - PAYLOAD < this.top) {
      this.m.fill(p, bytes, 0);
    }
    return p;
  }

  /**
   * Resizes a block, in place when it can (shrinking, or growing into a free successor or the
   * top), else by moving it. `realloc(0, n)` is malloc; `realloc(p, 0)` frees p and returns 0.
   * On failure returns 0 with ENOMEM and leaves p untouched.
   */
  realloc(p: number, size: number): number {
    if (p === 0) return this.malloc(size);
    const chunk = p - PAYLOAD;
    const inHeap = chunk >= this.firstChunk && chunk < this.top;
    const head = inHeap ? this.checkInUse(chunk, 'realloc') : this.checkMapped(chunk, 'realloc');
    if (size === 0) {
      this.free(p);
      return 0;
    }
    const need = this.chunkSizeFor(size);
    if (need === 0) return this.fail(ERRNO.ENOMEM);
    // A failed resizeInPlace leaves the header as checked: `head` still holds.
    if (inHeap && this.resizeInPlace(chunk, need)) return p;
    if (!inHeap) {
      const remapped = this.remapChunk(chunk, head, need);
      if (remapped !== 0) return remapped + PAYLOAD;
    }
    const usable = sizeOf(head) - (inHeap ? HEAP_OVERHEAD : MMAP_OVERHEAD);
    if (!inHeap && need <= usable + MMAP_OVERHEAD && need >= this.mmapThreshold) return p;
    const q = this.malloc(size);
    if (q === 0) return 0;
    this.copy(q, p, Math.min(usable, size)); // what both blocks hold: q offers at least `size`
    this.free(p);
    return q;
  }

  /**
   * Allocates `size` bytes at a multiple of `alignment` (rounded up to a power of two, as glibc
   * does). 0 with EINVAL for an alignment that is not a positive integer, or ENOMEM.
   */
  memalign(alignment: number, size: number): number {
    if (!Number.isInteger(alignment) || alignment <= 0) return this.fail(ERRNO.EINVAL);
    if (alignment <= ALIGNMENT) return this.malloc(size);
    if (alignment > MAX_ALIGNMENT) return this.fail(ERRNO.ENOMEM);
    const align = 2 ** Math.ceil(Math.log2(alignment));
    const need = this.chunkSizeFor(size);
    if (need === 0 || need + align + MIN_CHUNK > MAX_REQUEST) return this.fail(ERRNO.ENOMEM);
    if (need >= this.mmapThreshold) {
      const p = this.mmapChunk(need, align);
      if (p !== 0) return p;
    }
    const chunk = this.allocateChunk(need + align + MIN_CHUNK);
    if (chunk === 0) return this.mmapChunk(need, align) || this.fail(ERRNO.ENOMEM);
    return this.alignWithin(chunk, need, align) + PAYLOAD;
  }

  /** C11 aligned_alloc: `alignment` must be a power of two (else 0, EINVAL). */
  alignedAlloc(alignment: number, size: number): number {
    if (!isPowerOfTwo(alignment)) return this.fail(ERRNO.EINVAL);
    return this.memalign(alignment, size);
  }

  /**
   * POSIX posix_memalign: stores the 64-bit pointer at `memptr` (in the managed memory) and
   * returns 0, or returns EINVAL (alignment not a power-of-two multiple of 8) or ENOMEM.
   */
  posixMemalign(memptr: number, alignment: number, size: number): number {
    if (!isPowerOfTwo(alignment) || alignment % 8 !== 0) return ERRNO.EINVAL;
    const p = this.memalign(alignment, size);
    if (p === 0) return ERRNO.ENOMEM;
    this.m.store32(memptr, p % POINTER_HIGH);
    this.m.store32(memptr + 4, Math.floor(p / POINTER_HIGH));
    return 0;
  }

  /** malloc_usable_size: bytes the block really offers (≥ what was asked); 0 for NULL. */
  usableSize(p: number): number {
    if (p === 0) return 0;
    const chunk = p - PAYLOAD;
    if (chunk >= this.firstChunk && chunk < this.top) {
      return sizeOf(this.checkInUse(chunk, 'malloc_usable_size')) - HEAP_OVERHEAD;
    }
    return sizeOf(this.checkMapped(chunk, 'malloc_usable_size')) - MMAP_OVERHEAD;
  }

  /**
   * glibc's malloc_trim: frees every cached chunk (so they coalesce) and gives the top chunk back
   * to the host down to `pad` bytes. True if memory was returned.
   */
  trim(pad = 0): boolean {
    if (this.heapState !== HEAP_READY) return false;
    this.flushCaches();
    return this.trimTop(pad);
  }

  /** Bytes the allocator holds from its host: the sbrk heap plus mmapped blocks. O(1). */
  footprint(): number {
    return this.end - this.start + this.mappedBytes;
  }

  /** glibc's mallinfo2(), computed by walking the heap. */
  mallinfo(): MallInfo {
    let freeChunks = 0;
    let freeBytes = 0;
    this.forEachChunk((chunk) => {
      if (chunk.state !== 'free') return;
      freeChunks++;
      freeBytes += chunk.size;
    });
    const arena = this.end - this.start;
    const topSize = this.end - this.top;
    return {
      arena,
      ordblks: freeChunks + (arena > 0 ? 1 : 0),
      smblks: 0,
      hblks: this.mapped.size,
      hblkhd: this.mappedBytes,
      usmblks: 0,
      fsmblks: 0,
      uordblks: arena - freeBytes - topSize,
      fordblks: freeBytes + topSize,
      keepcost: topSize,
    };
  }

  /**
   * Calls `visit` for every chunk in address order (reading the heap's own headers), then the top
   * chunk, then each mmapped block: what the heap is made of, for pictures and statistics.
   * Aborts like free() when a header's size is corrupt.
   */
  forEachChunk(visit: (chunk: HeapChunk) => void): void {
    for (let chunk = this.firstChunk; chunk < this.top; ) {
      const head = this.m.load32(chunk + HEAD);
      const size = sizeOf(head);
      if (size < MIN_CHUNK || chunk + size > this.top) this.corrupt('heap walk: corrupted size');
      visit({ address: chunk, size, state: chunkState(head) });
      chunk += size;
    }
    if (this.heapState === HEAP_READY) {
      visit({ address: this.top, size: this.end - this.top, state: 'top' });
    }
    for (const [address, size] of this.mapped) visit({ address, size, state: 'mmapped' });
  }

  /**
   * Walks the whole heap and every free list, verifying every invariant; aborts through the host
   * on the first violation. For tests and debugging: O(heap size).
   */
  check(): void {
    const freeCount = this.checkChunks();
    const listed = this.checkLists();
    this.checkCaches();
    if (listed !== freeCount) this.corrupt(`check(): ${freeCount} free chunks, ${listed} listed`);
    for (const [chunk, length] of this.mapped) {
      const head = this.checkMapped(chunk, 'check');
      if (sizeOf(head) + this.m.load32(chunk + PREV_SIZE) !== length) {
        this.corrupt('check(): mmapped chunk size does not match its mapping');
      }
    }
  }

  // ─── Sizes and validation ───────────────────────────────────────────────────────────────────

  /** The chunk size serving a request of `size` bytes, or 0 if no chunk can. */
  private chunkSizeFor(size: number): number {
    if (size >= 0 && size <= SMALL_REQUEST && (size | 0) === size) {
      return size <= MIN_CHUNK - HEAP_OVERHEAD
        ? MIN_CHUNK
        : (size + HEAP_OVERHEAD + ALIGNMENT_MASK) & ~ALIGNMENT_MASK;
    }
    checkNumber(size);
    if (!(size >= 0 && size <= MAX_REQUEST)) return 0;
    return Math.ceil((size + HEAP_OVERHEAD) / ALIGNMENT) * ALIGNMENT;
  }

  private fail(errno: number): number {
    this.errno = errno;
    return 0;
  }

  /** Aborts unless `chunk` is a sealed, in-use heap chunk with a sane successor; its head word. */
  private checkInUse(chunk: number, who: string): number {
    const head = this.checkOwnHead(chunk, who);
    const next = chunk + sizeOf(head);
    const nextHead = this.sealedHead(next);
    if (nextHead === UNSEALED) {
      this.corruptIn(who, '(): invalid next size');
    }
    if ((nextHead & PREV_INUSE) === 0) this.corruptIn(who, '(): double free or corruption (!prev)');
    return head;
  }

  /** Aborts unless `chunk` carries a sealed in-use (not cached) header of sane size; the head. */
  private checkOwnHead(chunk: number, who: string): number {
    // Not `&`: a fractional pointer must fail too.
    if (!isAligned(chunk - this.base)) this.corruptIn(who, '(): invalid pointer');
    const head = this.sealedHead(chunk);
    if (head === UNSEALED) {
      this.corruptIn(who, '(): invalid pointer');
    }
    if ((head & (INUSE | CACHED)) !== INUSE) {
      this.corruptIn(who, who === 'free' ? '(): double free detected' : '(): invalid pointer');
    }
    const size = sizeOf(head);
    if (size < MIN_CHUNK || chunk + size > this.top) this.corruptIn(who, '(): invalid size');
    return head;
  }

  /** Aborts unless `chunk` is a live mmapped chunk this allocator made; its head word. */
  private checkMapped(chunk: number, who: string): number {
    const length = this.mapped.get(chunk);
    if (length === undefined) return this.corruptIn(who, '(): invalid pointer');
    const head = this.sealedHead(chunk);
    if (head === UNSEALED || (head & MMAPPED) === 0) {
      this.corrupt(`munmap_chunk(): invalid pointer`);
    }
    return head;
  }

  /** Checks a free chunk found through a list or a boundary tag before using it. */
  private checkFree(chunk: number, who: string): number {
    if (chunk < this.firstChunk || chunk >= this.top || !isAligned(chunk - this.base)) {
      this.corruptIn(who, ': corrupted free list');
    }
    const head = this.sealedHead(chunk);
    if (head === UNSEALED || (head & INUSE) !== 0) {
      this.corruptIn(who, ': memory corruption');
    }
    const size = sizeOf(head);
    if (size < MIN_CHUNK || chunk + size > this.top) this.corruptIn(who, ': corrupted size');
    if (this.m.load32(chunk + size + PREV_SIZE) !== size) {
      this.corruptIn(who, ': corrupted size vs. prev_size');
    }
    return size;
  }

  private corrupt(message: string): never {
    return this.host.abort(message);
  }

  /** Aborts with `who + what`, built only when it happens (keeps callers small for inlining). */
  private corruptIn(who: string, what: string): never {
    return this.host.abort(who + what);
  }

  // ─── Free lists ─────────────────────────────────────────────────────────────────────────────

  private headAddress(bin: number): number {
    return this.base + HEADS_OFFSET + bin * 4;
  }

  /** The chunk at link offset `link` (0 = none), checked to lie in the heap. */
  private chunkAt(link: number): number {
    return link === 0 ? 0 : this.linkTarget(link);
  }

  /**
   * Lists the free chunk `chunk` (`head`, of `size` bytes) first in its bin, writing its header
   * and links last: in place when its window is at hand, after every access that may fault.
   */
  private insert(chunk: number, head: number, size: number): void {
    const bin = binOf(size);
    const headAddress = this.headAddress(bin);
    const first = this.m.load32(headAddress);
    const link = chunk - this.base;
    if (first !== 0) this.m.store32(this.base + first + BK, link);
    this.m.store32(headAddress, link);
    this.writeFreeHeader(chunk, head, first, 0);
    const fl = bin >>> SL_SHIFT;
    this.slBitmaps[fl]! |= 1 << (bin & (SL_COUNT - 1));
    this.flBitmap |= 1 << fl;
  }

  /** Removes a free chunk of `size` from its list, with glibc's safe-unlinking checks. */
  private unlink(chunk: number, size: number): void {
    const link = chunk - this.base;
    const words = this.windows.writableWindow(chunk);
    const at = this.wordIndex(chunk);
    const inPlace = at + BK_WORD < words.length;
    const fd = inPlace ? words[at + FD_WORD]! >>> 0 : this.m.load32(chunk + FD);
    const bk = inPlace ? words[at + BK_WORD]! >>> 0 : this.m.load32(chunk + BK);
    if (fd !== 0 && this.m.load32(this.linkTarget(fd) + BK) !== link) {
      this.corrupt('corrupted double-linked list');
    }
    const bin = binOf(size);
    if (bk === 0) {
      const headAddress = this.headAddress(bin);
      if (this.m.load32(headAddress) !== link) this.corrupt('corrupted double-linked list');
      this.m.store32(headAddress, fd);
      if (fd === 0) this.clearBit(bin);
    } else {
      if (this.m.load32(this.linkTarget(bk) + FD) !== link) {
        this.corrupt('corrupted double-linked list');
      }
      this.m.store32(this.base + bk + FD, fd);
    }
    if (fd !== 0) this.m.store32(this.base + fd + BK, bk);
  }

  /** The chunk a stored link points to, aborting if it cannot be a chunk of this heap. */
  private linkTarget(link: number): number {
    const chunk = this.base + link;
    if (chunk < this.firstChunk || chunk >= this.top || (link & ALIGNMENT_MASK) !== 0) {
      this.corrupt('corrupted double-linked list');
    }
    return chunk;
  }

  private clearBit(bin: number): void {
    const fl = bin >>> SL_SHIFT;
    const bits = this.slBitmaps[fl]! & ~(1 << (bin & (SL_COUNT - 1)));
    this.slBitmaps[fl] = bits;
    if (bits === 0) this.flBitmap &= ~(1 << fl);
  }

  /** The first non-empty bin above `bin`, or -1. */
  private binAbove(bin: number): number {
    const fl = bin >>> SL_SHIFT;
    const sl = bin & (SL_COUNT - 1);
    const above = sl === SL_COUNT - 1 ? 0 : this.slBitmaps[fl]! & (-1 << (sl + 1));
    if (above !== 0) return fl * SL_COUNT + lowestBit(above);
    const higher = this.flBitmap & (-1 << (fl + 1));
    if (higher === 0) return -1;
    const next = lowestBit(higher);
    return next * SL_COUNT + lowestBit(this.slBitmaps[next]!);
  }

  /** A listed free chunk of at least `need` bytes, or 0: its own list (bounded scan), then up. */
  private findFree(need: number): number {
    const bin = binOf(need);
    let chunk = this.chunkAt(this.m.load32(this.headAddress(bin)));
    if (chunk !== 0 && need >= LINEAR_LIMIT) chunk = this.firstFit(chunk, need);
    if (chunk === 0) {
      const above = this.binAbove(bin);
      if (above < 0) return 0;
      chunk = this.base + this.m.load32(this.headAddress(above));
    }
    return chunk;
  }

  /** The first of up to FIT_SCAN_LIMIT chunks of a list, from `chunk` on, that holds `need`. */
  private firstFit(chunk: number, need: number): number {
    for (let i = 0; i < FIT_SCAN_LIMIT && chunk !== 0; i++) {
      if (sizeOf(this.m.load32(chunk + HEAD)) >= need) return chunk;
      const fd = this.m.load32(chunk + FD);
      chunk = fd === 0 ? 0 : this.linkTarget(fd);
    }
    return 0;
  }

  // ─── Per-size caches (tcache) ───────────────────────────────────────────────────────────────

  /**
   * Caches keep recently freed small chunks for reuse by the next malloc of the same size, as
   * glibc's tcache does: a cached chunk stays "in use" for its neighbours (flag CACHED), so both
   * operations skip coalescing. Each cache is a LIFO list through the chunks' fd words, its head
   * in the heap header; at most `cacheLimit` chunks per size, flushed before the heap grows.
   */
  private cacheHeadAddress(bin: number): number {
    return this.cacheHeads + bin * 4;
  }

  /**
   * The calls that follow come from thread `key` (0: the process's first thread, whose cache
   * heads are in the heap header), whose cache heads are the {@link THREAD_CACHE_BYTES} zeroed
   * bytes at `heads` (in its thread control block) when it is new: each thread has its own
   * caches, as glibc's tcache is per thread.
   */
  useThreadCache(key: number, heads: number): void {
    if (key === this.cacheKey) return;
    let cache = this.threadCaches.get(key);
    if (cache === undefined) {
      cache = { heads, counts: new Uint8Array(CACHE_BINS) };
      this.threadCaches.set(key, cache);
    }
    this.cacheKey = key;
    this.cacheHeads = cache.heads;
    this.cacheCounts = cache.counts;
  }

  /**
   * Thread `key` is ending: its cached chunks are really freed (glibc's
   * tcache_thread_shutdown), from its own context, before its control block goes.
   */
  releaseThreadCache(key: number): void {
    const running = this.cacheKey;
    const cache = this.threadCaches.get(key);
    if (cache === undefined || key === MAIN_THREAD) return;
    this.useThreadCache(key, cache.heads);
    this.flushRunningCaches();
    this.forgetThreadCache(key);
    if (running !== key) this.useThreadCache(running, 0);
  }

  /** Thread `key` ended without releasing its caches (a raw exit): their chunks stay in use. */
  forgetThreadCache(key: number): void {
    if (key === MAIN_THREAD || !this.threadCaches.delete(key)) return;
    if (this.cacheKey === key) this.useThreadCache(MAIN_THREAD, 0);
  }

  /**
   * Caches `chunk` (`head`, sealed, in use) on `bin`, its header at `at` of its window's
   * `words`, when the cache's head's window is at hand too; false (nothing changed) otherwise.
   */
  private pushCacheInPlace(
    words: Int32Array,
    at: number,
    chunk: number,
    head: number,
    bin: number,
  ): boolean {
    const headAddress = this.cacheHeadAddress(bin);
    const heads = this.windows.writableWindow(headAddress);
    const first = this.wordIndex(headAddress);
    if (first >= heads.length) return false;
    this.setHeadInPlace(words, at, chunk, head | CACHED);
    words[at + FD_WORD] = heads[first]!;
    heads[first] = chunk - this.base;
    this.cacheCounts[bin]!++;
    return true;
  }

  /** {@link pushCacheInPlace} word by word, through the memory's loads and stores. */
  private pushCache(chunk: number, head: number, bin: number): void {
    const headAddress = this.cacheHeadAddress(bin);
    this.setHead(chunk, head | CACHED);
    this.m.store32(chunk + FD, this.m.load32(headAddress));
    this.m.store32(headAddress, chunk - this.base);
    this.cacheCounts[bin]!++;
  }

  /**
   * Takes the most recently cached chunk of `bin`, checking it really is one; its payload. Read
   * and written in place when the windows of the cache's head and of the chunk's header are at
   * hand ({@link WordWindows}), else word by word.
   */
  private popCache(bin: number): number {
    const headAddress = this.cacheHeadAddress(bin);
    const heads = this.windows.writableWindow(headAddress);
    const first = this.wordIndex(headAddress);
    if (first < heads.length) {
      const chunk = this.linkTarget(heads[first]! >>> 0);
      const words = this.windows.writableWindow(chunk);
      const at = this.wordIndex(chunk);
      if (at + FD_WORD < words.length) {
        const head = words[at + HEAD_WORD]! >>> 0;
        this.checkCached(chunk, head, words[at + SEAL_WORD]!, bin);
        heads[first] = words[at + FD_WORD]!;
        this.setHeadInPlace(words, at, chunk, head & ~CACHED);
        this.cacheCounts[bin]!--;
        return chunk + PAYLOAD;
      }
    }
    return this.popCacheWordByWord(bin);
  }

  /** {@link popCache} through the memory's loads and stores. */
  private popCacheWordByWord(bin: number): number {
    const headAddress = this.cacheHeadAddress(bin);
    const chunk = this.linkTarget(this.m.load32(headAddress));
    const head = this.m.load32(chunk + HEAD);
    this.checkCached(chunk, head, this.m.load32(chunk + SEAL) | 0, bin);
    this.m.store32(headAddress, this.m.load32(chunk + FD));
    this.setHead(chunk, head & ~CACHED);
    this.cacheCounts[bin]!--;
    return chunk + PAYLOAD;
  }

  /**
   * Aborts unless `head` and `seal` (signed) are those of a chunk of `bin` cached at `chunk`:
   * a cache link that was corrupted to point elsewhere.
   */
  private checkCached(chunk: number, head: number, seal: number, bin: number): void {
    if (
      seal !== sealOf(chunk, head, this.key) ||
      (head & (INUSE | CACHED)) !== (INUSE | CACHED) ||
      head >>> 4 !== bin
    ) {
      this.corrupt('malloc(): tcache chunk corrupted');
    }
  }

  /**
   * Really frees every cached chunk, so they can coalesce (before failing for lack of memory).
   * @returns true when a chunk was cached.
   */
  private flushCaches(): boolean {
    const running = this.cacheKey;
    let flushed = false;
    for (const [key, cache] of this.threadCaches) {
      this.useThreadCache(key, cache.heads);
      flushed = this.flushRunningCaches() || flushed;
    }
    this.useThreadCache(running, 0);
    return flushed;
  }

  /** {@link flushCaches} of the running thread's caches alone. */
  private flushRunningCaches(): boolean {
    let flushed = false;
    for (let bin = 0; bin < CACHE_BINS; bin++) {
      while (this.cacheCounts[bin] !== 0) {
        const chunk = this.popCache(bin) - PAYLOAD;
        this.freeChunk(chunk, this.m.load32(chunk + HEAD));
        flushed = true;
      }
    }
    return flushed;
  }

  // ─── Chunks ─────────────────────────────────────────────────────────────────────────────────

  /**
   * The head word of `chunk` when its seal authenticates it at that address, else
   * {@link UNSEALED}. Both words are read in place when their window is at hand (one check),
   * else one by one.
   */
  private sealedHead(chunk: number): number {
    const words = this.windows.writableWindow(chunk);
    const at = this.wordIndex(chunk);
    const inPlace = at + SEAL_WORD < words.length;
    const head = inPlace ? words[at + HEAD_WORD]! >>> 0 : this.m.load32(chunk + HEAD);
    const seal = inPlace ? words[at + SEAL_WORD]! : this.m.load32(chunk + SEAL) | 0;
    return seal === sealOf(chunk, head, this.key) ? head : UNSEALED;
  }

  /** Writes `chunk`'s head word and its seal: in place when their window is at hand. */
  private setHead(chunk: number, head: number): void {
    const words = this.windows.writableWindow(chunk);
    const at = this.wordIndex(chunk);
    if (at + SEAL_WORD < words.length) {
      this.setHeadInPlace(words, at, chunk, head);
    } else {
      this.m.store32(chunk + HEAD, head);
      this.m.store32(chunk + SEAL, sealOf(chunk, head, this.key));
    }
  }

  /** The index of `address`'s word in the words of its window. */
  private wordIndex(address: number): number {
    return (address & this.windowMask) >> WORD_SHIFT;
  }

  /** {@link setHead} of the chunk whose words start at `at` of its window's `words`. */
  private setHeadInPlace(words: Int32Array, at: number, chunk: number, head: number): void {
    words[at + HEAD_WORD] = head;
    words[at + SEAL_WORD] = sealOf(chunk, head, this.key);
  }

  /** Marks the chunk after `chunk` (of `size`) as following a used chunk. */
  private setPrevInUse(next: number): void {
    this.setHead(next, this.m.load32(next + HEAD) | PREV_INUSE);
  }

  /** Makes `[chunk, chunk + size)` a free chunk (previous in use), with footer, and lists it. */
  private makeFree(chunk: number, size: number): void {
    this.m.store32(chunk + size + PREV_SIZE, size);
    this.insert(chunk, size | PREV_INUSE, size);
  }

  /** Writes a free chunk's header (`head`, sealed) and list links: in place when at hand. */
  private writeFreeHeader(chunk: number, head: number, fd: number, bk: number): void {
    const words = this.windows.writableWindow(chunk);
    const at = this.wordIndex(chunk);
    if (at + BK_WORD < words.length) {
      this.setHeadInPlace(words, at, chunk, head);
      words[at + FD_WORD] = fd;
      words[at + BK_WORD] = bk;
    } else {
      this.setHead(chunk, head);
      this.m.store32(chunk + FD, fd);
      this.m.store32(chunk + BK, bk);
    }
  }

  /** A used heap chunk of exactly or a little more than `need` bytes, or 0. */
  private allocateFromLists(need: number, grow: boolean): number {
    const chunk = this.heapState === HEAP_READY ? this.findFree(need) : 0;
    if (chunk === 0) return this.carveTop(need, grow);
    const size = this.checkFree(chunk, 'malloc()');
    if (size < need) this.corrupt('malloc(): corrupted free list');
    this.unlink(chunk, size);
    // A free chunk always follows a used one (free neighbours coalesce), hence PREV_INUSE.
    if (size - need >= MIN_CHUNK) {
      this.makeFree(chunk + need, size - need);
      this.setHead(chunk, need | INUSE | PREV_INUSE);
    } else {
      this.setHead(chunk, size | INUSE | PREV_INUSE);
      this.setPrevInUse(chunk + size);
    }
    return chunk;
  }

  /** Carves `need` bytes off the top chunk, growing the heap if it is too small; or 0. */
  private carveTop(need: number, grow: boolean): number {
    if (this.heapState !== HEAP_READY && !this.initHeap()) return 0;
    this.checkTop();
    if (this.end - this.top < need + MIN_TOP && !(grow && this.growTop(need))) return 0;
    const chunk = this.top;
    this.top = chunk + need;
    this.setHead(chunk, need | INUSE | PREV_INUSE);
    this.writeTop();
    return chunk;
  }

  private writeTop(): void {
    this.setHead(this.top, (this.end - this.top) | PREV_INUSE);
  }

  /** glibc's "corrupted top size": the top chunk's header must describe exactly [top, break). */
  private checkTop(): void {
    const head = this.sealedHead(this.top);
    if (head !== ((this.end - this.top) | PREV_INUSE)) {
      this.corrupt('malloc(): corrupted top size');
    }
  }

  /** Grows the break so the top chunk holds `need` bytes more than its minimum. */
  private growTop(need: number): boolean {
    const missing = need + MIN_TOP - (this.end - this.top);
    if (this.end + missing - this.base > MAX_CHUNK) return false;
    return this.extendBreak(roundUpToPage(missing + this.topPad)) || this.extendBreak(missing);
  }

  /** Moves the break up by `increment`; false if the host refuses or is not contiguous. */
  private extendBreak(increment: number): boolean {
    const previous = this.host.sbrk(increment);
    if (previous === -1) return false;
    if (previous !== this.end) {
      this.host.sbrk(-increment);
      return false;
    }
    this.end += increment;
    this.writeTop();
    return true;
  }

  /** Sets the heap up at the current break (first use): header, list heads, empty top. */
  private initHeap(): boolean {
    if (this.heapState === HEAP_UNAVAILABLE) return false;
    this.heapState = HEAP_UNAVAILABLE;
    const start = this.host.sbrk(0);
    if (start === -1) return false;
    const base = Math.ceil(start / ALIGNMENT) * ALIGNMENT;
    const increment = base - start + HEAP_HEADER_SIZE + MIN_TOP;
    if (this.host.sbrk(increment) !== start) return false;
    this.start = start;
    this.base = base;
    this.firstChunk = base + HEAP_HEADER_SIZE;
    this.top = this.firstChunk;
    this.end = start + increment;
    const main = this.threadCaches.get(MAIN_THREAD)!;
    main.heads = base + CACHE_OFFSET;
    if (this.cacheKey === MAIN_THREAD) this.cacheHeads = main.heads;
    for (let bin = 0; bin < BIN_COUNT; bin++) this.m.store32(this.headAddress(bin), 0);
    for (let bin = 0; bin < CACHE_BINS; bin++) this.m.store32(main.heads + bin * 4, 0);
    this.writeTop();
    this.heapState = HEAP_READY;
    return true;
  }

  /** Frees a checked in-use heap chunk: coalesce, then list it or merge it into the top. */
  private freeChunk(chunk: number, head: number): void {
    let size = sizeOf(head);
    const next = chunk + size;
    const nextHead = this.checkSuccessor(next);
    if ((head & PREV_INUSE) === 0) {
      const prevSize = this.m.load32(chunk + PREV_SIZE);
      const prev = chunk - prevSize;
      if (prevSize < MIN_CHUNK || prevSize % ALIGNMENT !== 0 || prev < this.firstChunk) {
        this.corrupt('free(): corrupted size vs. prev_size');
      }
      if (this.checkFree(prev, 'free()') !== prevSize) {
        this.corrupt('free(): corrupted size vs. prev_size');
      }
      this.unlink(prev, prevSize);
      this.bury(chunk);
      chunk = prev;
      size += prevSize;
    }
    if (next === this.top) {
      // The old top header needs no burying: no list reaches it, and it now lies past the top.
      if (nextHead !== ((this.end - next) | PREV_INUSE)) this.corrupt('free(): corrupted top size');
      this.top = chunk;
      this.writeTop();
      if (this.end - this.top > this.trimThreshold) this.trimTop(this.topPad);
      return;
    }
    if ((nextHead & INUSE) === 0) {
      const nextSize = this.checkFree(next, 'free()');
      this.unlink(next, nextSize);
      this.bury(next);
      size += nextSize;
    } else {
      this.setHead(next, nextHead & ~PREV_INUSE);
    }
    this.makeFree(chunk, size);
  }

  /**
   * The head word of the chunk after one being freed, checked first: re-sealing it must never
   * launder a header an overflow has scribbled over, and it must know its predecessor in use.
   */
  private checkSuccessor(next: number): number {
    const nextHead = this.sealedHead(next);
    if (nextHead === UNSEALED) {
      this.corrupt('free(): invalid next size');
    }
    if ((nextHead & PREV_INUSE) === 0) this.corrupt('free(): double free or corruption (!prev)');
    return nextHead;
  }

  /**
   * Leaves a sealed "dead" header (size 0, not in use) where a chunk was absorbed by a neighbour,
   * so that freeing its stale pointer again reads as the double free it is.
   */
  private bury(chunk: number): void {
    this.setHead(chunk, 0);
  }

  /** Gives the top chunk back to the host down to its pad, whole pages at a time. */
  private trimTop(pad: number): boolean {
    const spare = this.end - this.top - MIN_TOP - pad;
    const release = Math.floor(spare / PAGE_SIZE) * PAGE_SIZE;
    if (release <= 0 || this.host.sbrk(-release) === -1) return false;
    this.end -= release;
    this.writeTop();
    return true;
  }

  /** Resizes a checked in-use heap chunk to `need` without moving it; false if it cannot. */
  private resizeInPlace(chunk: number, need: number): boolean {
    const head = this.m.load32(chunk + HEAD);
    const size = sizeOf(head);
    if (need <= size) {
      this.shrink(chunk, head, need);
      return true;
    }
    const next = chunk + size;
    if (next === this.top) {
      this.checkTop();
      if (this.end - this.top < need - size + MIN_TOP && !this.growTop(need - size)) return false;
      this.top = chunk + need;
      this.setHead(chunk, need | (head & FLAG_MASK));
      this.writeTop();
      return true;
    }
    const nextHead = this.m.load32(next + HEAD);
    if ((nextHead & INUSE) !== 0) return false;
    const nextSize = this.checkFree(next, 'realloc()');
    if (size + nextSize < need) return false;
    this.unlink(next, nextSize);
    this.bury(next);
    this.setHead(chunk, (size + nextSize) | (head & FLAG_MASK));
    this.setPrevInUse(chunk + size + nextSize);
    this.shrink(chunk, this.m.load32(chunk + HEAD), need);
    return true;
  }

  /** Cuts an in-use chunk down to `need`, freeing the tail if it makes a chunk of its own. */
  private shrink(chunk: number, head: number, need: number): void {
    const size = sizeOf(head);
    if (size - need < MIN_CHUNK) return;
    this.setHead(chunk, need | (head & FLAG_MASK));
    const tail = (size - need) | INUSE | PREV_INUSE;
    this.setHead(chunk + need, tail);
    this.freeChunk(chunk + need, tail);
  }

  /**
   * Places an aligned chunk of `need` bytes inside the used chunk `chunk` (sized for
   * need + align + MIN_CHUNK): frees the lead before the aligned payload and the tail after it.
   *
   * ```
   *  chunk            aligned (payload % align == 0)
   *  ├── lead (free) ─┼── need ──┼── tail (freed by shrink) ──┤
   * ```
   */
  private alignWithin(chunk: number, need: number, align: number): number {
    const payload = chunk + PAYLOAD;
    if (payload % align === 0) {
      this.shrink(chunk, this.m.load32(chunk + HEAD), need);
      return chunk;
    }
    const aligned = Math.ceil((payload + MIN_CHUNK) / align) * align - PAYLOAD;
    const lead = aligned - chunk;
    const head = this.m.load32(chunk + HEAD);
    const size = sizeOf(head);
    const leadHead = lead | INUSE | (head & PREV_INUSE);
    this.setHead(chunk, leadHead);
    this.setHead(aligned, (size - lead) | INUSE | PREV_INUSE);
    this.freeChunk(chunk, leadHead);
    this.shrink(aligned, this.m.load32(aligned + HEAD), need);
    return aligned;
  }

  /** When the heap cannot grow, a small block may still come from its own mapping (as glibc). */
  private mallocFallback(need: number): number {
    return this.mmapChunk(need, ALIGNMENT) || this.fail(ERRNO.ENOMEM);
  }

  // ─── mmapped chunks ─────────────────────────────────────────────────────────────────────────

  /**
   * A block of `need` chunk bytes in its own mapping, payload aligned to `align`; 0 on failure.
   *
   * ```
   *  mapping ─┬─ lead ─┬─ chunk: prev_size = lead, head = (length - lead) | MMAPPED | INUSE ──┐
   * ```
   */
  private mmapChunk(need: number, align: number): number {
    const length = roundUpToPage(need + MMAP_OVERHEAD + (align > ALIGNMENT ? align : 0));
    if (length > MAX_CHUNK) return 0;
    const mapping = this.host.mmap(length);
    if (mapping === -1) return 0;
    const payload = Math.ceil((mapping + PAYLOAD) / align) * align;
    const chunk = payload - PAYLOAD;
    const lead = chunk - mapping;
    this.m.store32(chunk + PREV_SIZE, lead);
    this.setHead(chunk, (length - lead) | MMAPPED | INUSE);
    this.mapped.set(chunk, length);
    this.mappedBytes += length;
    return payload;
  }

  /**
   * glibc's mremap_chunk: resizes the mapping of the mmapped `chunk` (head word `head`) to hold
   * `need` chunk bytes with the host's mremap, which moves its pages (page tables, not bytes)
   * when it cannot grow in place. The chunk (perhaps at a new address), or 0 when the host has
   * no mremap or it failed (realloc then copies).
   */
  private remapChunk(chunk: number, head: number, need: number): number {
    if (this.host.mremap === undefined) return 0;
    const lead = this.m.load32(chunk + PREV_SIZE);
    const length = sizeOf(head) + lead;
    const newLength = roundUpToPage(lead + need + MMAP_OVERHEAD);
    if (newLength === length) return chunk;
    if (newLength > MAX_CHUNK) return 0;
    const mapping = this.host.mremap(chunk - lead, length, newLength);
    if (mapping === -1) return 0;
    const moved = mapping + lead;
    this.mapped.delete(chunk);
    this.mapped.set(moved, newLength);
    this.mappedBytes += newLength - length;
    this.setHead(moved, (newLength - lead) | MMAPPED | INUSE);
    return moved;
  }

  private unmapChunk(chunk: number, who: string): void {
    const head = this.checkMapped(chunk, who);
    const lead = this.m.load32(chunk + PREV_SIZE);
    const length = this.mapped.get(chunk)!;
    if (sizeOf(head) + lead !== length) this.corrupt('munmap_chunk(): invalid pointer');
    this.mapped.delete(chunk);
    this.mappedBytes -= length;
    // As glibc's munmap_chunk, a failed munmap (the kernel could not split a VMA: ENOMEM) is
    // not the heap's corruption: the block is no longer ours, the mapping merely leaks.
    this.host.munmap(chunk - lead, length);
  }

  // ─── Helpers ────────────────────────────────────────────────────────────────────────────────

  /** Copies `length` bytes (a multiple of 8) from payload `from` to payload `to`. */
  private copy(to: number, from: number, length: number): void {
    if (this.mover !== null) {
      this.mover.copyWithin(to, from, length);
      return;
    }
    if (length > BULK_COPY_BYTES) {
      this.m.writeBytes(to, this.m.readBytes(from, length));
      return;
    }
    for (let i = 0; i < length; i += 4) this.m.store32(to + i, this.m.load32(from + i));
  }

  /** Walks the heap checking every chunk; the number of free chunks. */
  private checkChunks(): number {
    if (this.heapState !== HEAP_READY) return 0;
    let free = 0;
    let prevInUse = true;
    let chunk = this.firstChunk;
    while (chunk < this.top) {
      const head = this.sealedHead(chunk);
      if (head === UNSEALED) this.corrupt(`check(): bad seal at ${chunk}`);
      const size = sizeOf(head);
      if (size < MIN_CHUNK || chunk + size > this.top)
        this.corrupt(`check(): bad size at ${chunk}`);
      if (((head & PREV_INUSE) !== 0) !== prevInUse)
        this.corrupt(`check(): bad PREV_INUSE at ${chunk}`);
      const inUse = (head & INUSE) !== 0;
      if (!inUse) {
        if (!prevInUse) this.corrupt(`check(): two free chunks side by side at ${chunk}`);
        this.checkFree(chunk, 'check()');
        free++;
      }
      prevInUse = inUse;
      chunk += size;
    }
    if (chunk !== this.top || !prevInUse) this.corrupt('check(): heap does not end at the top');
    this.checkTop();
    return free;
  }

  /** Walks every thread's cache lists: sealed cached chunks of the right size, as counted. */
  private checkCaches(): void {
    if (this.heapState !== HEAP_READY) return;
    const running = this.cacheKey;
    for (const [key, cache] of this.threadCaches) {
      this.useThreadCache(key, cache.heads);
      this.checkRunningCaches();
    }
    this.useThreadCache(running, 0);
  }

  /** {@link checkCaches} of the running thread's caches alone. */
  private checkRunningCaches(): void {
    for (let bin = 0; bin < CACHE_BINS; bin++) {
      let count = 0;
      for (let link = this.m.load32(this.cacheHeadAddress(bin)); link !== 0; count++) {
        const chunk = this.linkTarget(link);
        const head = this.m.load32(chunk + HEAD);
        if ((head & CACHED) === 0 || head >>> 4 !== bin) this.corrupt('check(): bad cached chunk');
        if (count > this.cacheLimits[bin]!) this.corrupt('check(): cache list loops');
        link = this.m.load32(chunk + FD);
      }
      if (count !== this.cacheCounts[bin]) this.corrupt(`check(): cache ${bin} count mismatch`);
    }
  }

  /** Walks every free list checking links, bins and bitmaps; the number of listed chunks. */
  private checkLists(): number {
    if (this.heapState !== HEAP_READY) return 0;
    let listed = 0;
    for (let bin = 0; bin < BIN_COUNT; bin++) {
      const first = this.m.load32(this.headAddress(bin));
      const bit = (this.slBitmaps[bin >>> SL_SHIFT]! >>> (bin & (SL_COUNT - 1))) & 1;
      if ((first !== 0) !== (bit === 1)) this.corrupt(`check(): bitmap disagrees at bin ${bin}`);
      let previous = 0;
      for (let link = first; link !== 0; ) {
        const chunk = this.linkTarget(link);
        const size = this.checkFree(chunk, 'check()');
        if (binOf(size) !== bin) this.corrupt(`check(): chunk in the wrong bin ${bin}`);
        if (this.m.load32(chunk + BK) !== previous) this.corrupt('check(): bad back link');
        previous = link;
        link = this.m.load32(chunk + FD);
        listed++;
      }
    }
    for (let fl = 0; fl < FL_COUNT; fl++) {
      if (((this.flBitmap >>> fl) & 1) !== (this.slBitmaps[fl]! !== 0 ? 1 : 0)) {
        this.corrupt('check(): first-level bitmap disagrees');
      }
    }
    return listed;
  }
}

/** The windows of a memory that has none: every header is read and written word by word. */
const NO_WORD_WINDOWS: WordWindows = {
  windowMask: 0,
  writableWindow: () => NO_WORDS,
};
const NO_WORDS = new Int32Array(0);

function hasWordWindows(memory: MemoryAccess): memory is MemoryAccess & WordWindows {
  return typeof (memory as Partial<WordWindows>).writableWindow === 'function';
}

/** A memory that copies a range within itself in one call (memmove). */
interface ByteMover {
  copyWithin(to: number, from: number, length: number): void;
}

function isByteMover(memory: MemoryAccess): memory is MemoryAccess & ByteMover {
  return typeof (memory as Partial<ByteMover>).copyWithin === 'function';
}

/** The size part of a head word (which may exceed 2^31, so no sign-changing bit operations). */
function sizeOf(head: number): number {
  return head - (head & FLAG_MASK);
}

function roundUpToPage(bytes: number): number {
  return Math.ceil(bytes / PAGE_SIZE) * PAGE_SIZE;
}

function isPowerOfTwo(n: number): boolean {
  return Number.isInteger(n) && n > 0 && 2 ** Math.round(Math.log2(n)) === n;
}

/** Sizes are numbers; NaN and fractions are programming errors, not memory pressure. */
function checkNumber(size: number): void {
  if (
    typeof size !== 'number' ||
    Number.isNaN(size) ||
    (Number.isFinite(size) && !Number.isInteger(size))
  ) {
    throw new InvalidArgumentError(`size must be an integer, got ${size}`);
  }
}

function checkInteger(n: number, what: string): void {
  if (typeof n !== 'number' || Number.isNaN(n) || (Number.isFinite(n) && !Number.isInteger(n))) {
    throw new InvalidArgumentError(`${what} must be an integer, got ${n}`);
  }
}

/** What a heap chunk's head word says it is. */
function chunkState(head: number): HeapChunk['state'] {
  if ((head & INUSE) === 0) return 'free';
  return (head & CACHED) !== 0 ? 'cached' : 'used';
}

/**
 * The `cacheLimit` option, checked: an integer from 0 to MAX_CACHE_LIMIT (larger values are
 * capped), the default when absent.
 * @throws InvalidArgumentError for anything else.
 */
function cacheLimitOption(limit: number | undefined): number {
  if (limit === undefined) return DEFAULT_CACHE_LIMIT;
  if (!Number.isInteger(limit) || limit < 0) {
    throw new InvalidArgumentError(`cacheLimit ${limit} is not a non-negative integer`);
  }
  return Math.min(limit, MAX_CACHE_LIMIT);
}

/** The per-heap secret of the chunk seals. */
function secretKey(seed: number | undefined): number {
  const x = seed === undefined ? Math.floor(Math.random() * POINTER_HIGH) : seed;
  let h = Math.imul(x ^ (x >>> 16), 0x45d9f3b);
  h = Math.imul(h ^ (h >>> 16), 0x45d9f3b);
  return (h ^ (h >>> 16)) & KEY_MASK;
}

/**
 * The secret keeps 30 bits: a small integer to V8 in every process, so every heap object has the
 * same layout and the same optimized code (a random 32-bit key made the field a boxed double in
 * three processes out of four).
 */
const KEY_MASK = 0x3fffffff;
