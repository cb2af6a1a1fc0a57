/**
 * Physical RAM: little-endian, byte-addressed and sparse.
 *
 * Installed memory is split into 64 KiB chunks. A chunk gets host memory only when something
 * non-zero is first written to it; until then it reads as zeros from one shared, never-written
 * chunk. A 64 GiB machine therefore costs host memory only for what was touched.
 *
 * ```
 *  chunks[]  (one slot per 64 KiB of physical address space up to the top of RAM)
 *  ┌───────────┬───────────┬───────────┬───────────┬─────┬───────────┐
 *  │ Uint8Array│  ZERO     │  ZERO     │ undefined │ ... │ Uint8Array│
 *  │ (touched) │(untouched)│(untouched)│(PCI hole: │     │ (touched) │
 *  └───────────┴───────────┴───────────┴not RAM)───┴─────┴───────────┘
 * ```
 *
 * An access to an address with no RAM behind it (beyond the top, or in a hole such as the PCI
 * hole below 4 GiB) raises a {@link MachineCheckError}: real hardware would not silently read 0.
 */
import { InvalidArgumentError, WallosError } from '../errors.js';
import { formatPhysical } from './address.js';
import { PAGE_SIZE } from './constants.js';
import type { MemoryAccess } from './memory-access.js';

/** Bytes in one chunk of host backing. */
export const RAM_CHUNK_SHIFT = 16;
export const RAM_CHUNK_SIZE = 1 << RAM_CHUNK_SHIFT;
const CHUNK_MASK = RAM_CHUNK_SIZE - 1;
/** Copies up to this many bytes between two chunks go word by word (no subarray to allocate). */
const SMALL_COPY_BYTES = 1024;
/** Bytes in a 32-bit word, as a shift, and the offset bits that make a word unaligned. */
const WORD_SHIFT = 2;
const WORD_MISALIGNMENT = 3;
const BYTE_MASK = 0xff;
/** Chunks carved from one host ArrayBuffer (2 MiB). */
const BACKING_BLOCK_CHUNKS = 32;
/** 32-bit words in a 4 KiB page, and pages in a chunk. */
const PAGE_WORDS = PAGE_SIZE >> WORD_SHIFT;
const CHUNK_PAGES = RAM_CHUNK_SIZE / PAGE_SIZE;

/** A half-open range of physical addresses `[base, base + length)`. */
export interface PhysicalRange {
  readonly base: number;
  readonly length: number;
}

/** A cache of RAM's backing arrays, told when some go (see {@link PhysicalMemory.pageWordsAt}). */
export interface BackingObserver {
  /**
   * `[base, base + length)` lost its host memory (it reads as zeros again): drop the arrays
   * taken from `pageWordsAt` for it. A chunk that gets host memory needs no word: it had no
   * arrays to give before.
   */
  backingReleased(base: number, length: number): void;
}

/** An access to a physical address with no RAM behind it. */
export class MachineCheckError extends WallosError {
  constructor(
    readonly address: number,
    readonly length: number,
  ) {
    super(
      'MACHINE_CHECK',
      `machine check: ${length}-byte access at physical ${formatPhysical(address)} hits no installed RAM`,
    );
  }
}

/** Shared backing for chunks never written: reads as zeros, never handed out for writing. */
const ZERO_CHUNK = new Uint8Array(RAM_CHUNK_SIZE);
const ZERO_WORDS = new Int32Array(ZERO_CHUNK.buffer);

export class PhysicalMemory implements MemoryAccess {
  /** Bytes of installed RAM (the sum of the installed ranges). */
  readonly installedBytes: number;
  /** One past the highest installed physical address. */
  readonly top: number;
  readonly ranges: readonly PhysicalRange[];
  private readonly bytes: (Uint8Array | undefined)[];
  private readonly words: (Int32Array | undefined)[];
  /**
   * Per 4 KiB frame whose chunk has host memory, a view of its words (undefined elsewhere). One
   * flat array, indexed by frame number, so a TLB fill finds a page's words in one load rather
   * than a chunk's list and then the page in it (one array slot per frame of the address space).
   */
  private readonly frameWords: (Int32Array | undefined)[];
  private touched = 0;
  /** Host chunks given back by `release`, reused (zeroed) before new host memory is taken. */
  private readonly spareChunks: Uint8Array[] = [];
  private block = new ArrayBuffer(0);
  private blockUsed = BACKING_BLOCK_CHUNKS;
  private readonly observers: BackingObserver[] = [];

  /**
   * @param installed where RAM modules answer; every range must start and end on a 64 KiB
   *   boundary and ranges must not overlap.
   */
  constructor(installed: readonly PhysicalRange[]) {
    const sorted = [...installed].sort((a, b) => a.base - b.base);
    let top = 0;
    let total = 0;
    for (const r of sorted) {
      if (r.length <= 0 || r.base % RAM_CHUNK_SIZE !== 0 || r.length % RAM_CHUNK_SIZE !== 0) {
        throw new InvalidArgumentError(
          `RAM range ${formatPhysical(r.base)}+${r.length} is not 64 KiB aligned`,
        );
      }
      if (r.base < top)
        throw new InvalidArgumentError(`RAM range ${formatPhysical(r.base)} overlaps another`);
      top = r.base + r.length;
      total += r.length;
    }
    this.ranges = sorted;
    this.top = top;
    this.installedBytes = total;
    const slots = top / RAM_CHUNK_SIZE;
    this.bytes = new Array<Uint8Array | undefined>(slots).fill(undefined);
    this.words = new Array<Int32Array | undefined>(slots).fill(undefined);
    this.frameWords = new Array<Int32Array | undefined>(slots * CHUNK_PAGES).fill(undefined);
    for (const r of sorted) {
      for (let a = r.base; a < r.base + r.length; a += RAM_CHUNK_SIZE) {
        this.bytes[a / RAM_CHUNK_SIZE] = ZERO_CHUNK;
        this.words[a / RAM_CHUNK_SIZE] = ZERO_WORDS;
      }
    }
  }

  /** A machine with `size` bytes of RAM from address 0 (size a multiple of 64 KiB). */
  static flat(size: number): PhysicalMemory {
    return new PhysicalMemory([{ base: 0, length: size }]);
  }

  /** Host bytes actually allocated to back touched chunks. */
  get hostBytes(): number {
    return this.touched * RAM_CHUNK_SIZE;
  }

  /**
   * Registers a cache of arrays from {@link pageWordsAt} (the TLB is one): it is told whenever a
   * chunk loses its own host memory, and must then drop the arrays it holds for it.
   */
  addBackingObserver(observer: BackingObserver): void {
    this.observers.push(observer);
  }

  /** Stops telling `observer` about backing changes. */
  removeBackingObserver(observer: BackingObserver): void {
    const at = this.observers.indexOf(observer);
    if (at >= 0) this.observers.splice(at, 1);
  }

  /**
   * The 1024 words backing the 4 KiB page that holds `address` (a view of its chunk's words,
   * made with the chunk's host memory), or undefined when that chunk has none of its own yet
   * (untouched, or no RAM). Valid until the chunk is released ({@link BackingObserver}).
   */
  pageWordsAt(address: number): Int32Array | undefined {
    return this.frameWords[Math.floor(address / PAGE_SIZE)];
  }

  /** True when every byte of `[address, address + length)` has RAM behind it. */
  isInstalled(address: number, length = 1): boolean {
    if (!Number.isSafeInteger(address) || address < 0 || length < 0) return false;
    if (length === 0) return true;
    const end = address + length;
    for (let a = address - (address & CHUNK_MASK); a < end; a += RAM_CHUNK_SIZE) {
      if (this.bytes[a / RAM_CHUNK_SIZE] === undefined) return false;
    }
    return true;
  }

  load8(address: number): number {
    return this.readChunk(address, 1)[address & CHUNK_MASK]!;
  }

  load16(address: number): number {
    if ((address & 1) === 0) {
      const chunk = this.readChunk(address, 2);
      const o = address & CHUNK_MASK;
      return chunk[o]! | (chunk[o + 1]! << 8);
    }
    return this.load8(address) | (this.load8(address + 1) << 8);
  }

  load32(address: number): number {
    if ((address & 3) === 0) {
      const words = this.words[Math.floor(address / RAM_CHUNK_SIZE)];
      if (words === undefined || !Number.isInteger(address)) {
        throw new MachineCheckError(address, 4);
      }
      return words[(address & CHUNK_MASK) >> 2]! >>> 0;
    }
    return (this.load16(address) | (this.load16(address + 2) << 16)) >>> 0;
  }

  /** A 64-bit load as a number; throws RangeError when the value is 2^53 or more. */
  load64(address: number): number {
    // The low word first: an access outside RAM is a machine check whatever the value.
    const low = this.load32(address);
    const high = this.load32(address + 4);
    if (high >= 2 ** 21)
      throw new RangeError(`64-bit value at ${formatPhysical(address)} exceeds 2^53`);
    return high * 2 ** 32 + low;
  }

  store8(address: number, value: number): void {
    this.writeChunk(address, 1)[address & CHUNK_MASK] = value;
  }

  store16(address: number, value: number): void {
    if ((address & 1) === 0) {
      const chunk = this.writeChunk(address, 2);
      const o = address & CHUNK_MASK;
      chunk[o] = value;
      chunk[o + 1] = value >>> 8;
      return;
    }
    this.checkRange(address, 2); // all or nothing: a machine check must not tear the store
    this.store8(address, value);
    this.store8(address + 1, value >>> 8);
  }

  store32(address: number, value: number): void {
    if ((address & 3) === 0) {
      this.writeChunk(address, 4);
      this.words[Math.floor(address / RAM_CHUNK_SIZE)]![(address & CHUNK_MASK) >> 2] = value;
      return;
    }
    this.checkRange(address, 4);
    this.store16(address, value);
    this.store16(address + 2, value >>> 16);
  }

  /** A 64-bit store of a non-negative safe integer (as two little-endian 32-bit halves). */
  store64(address: number, value: number): void {
    if (!Number.isSafeInteger(value) || value < 0) {
      throw new InvalidArgumentError(`store64 value ${value} is not a non-negative safe integer`);
    }
    this.checkRange(address, 8);
    this.store32(address, value % 2 ** 32);
    this.store32(address + 4, Math.floor(value / 2 ** 32));
  }

  readBytes(address: number, length: number): Uint8Array {
    this.checkRange(address, length);
    const out = new Uint8Array(length);
    this.forEachSegment(address, length, (chunkIndex, offset, count, done) => {
      out.set(this.bytes[chunkIndex]!.subarray(offset, offset + count), done);
    });
    return out;
  }

  /** Copies `length` bytes at `address` into `target` at `targetOffset` (no allocation). */
  readInto(address: number, target: Uint8Array, targetOffset: number, length: number): void {
    this.checkRange(address, length);
    let done = 0;
    while (done < length) {
      const at = address + done;
      const offset = at & CHUNK_MASK;
      const count = Math.min(length - done, RAM_CHUNK_SIZE - offset);
      target.set(
        this.bytes[Math.floor(at / RAM_CHUNK_SIZE)]!.subarray(offset, offset + count),
        targetOffset + done,
      );
      done += count;
    }
  }

  writeBytes(address: number, data: Uint8Array): void {
    const offset = address & CHUNK_MASK;
    if (data.length > 0 && offset + data.length <= RAM_CHUNK_SIZE) {
      this.writeFrom(address, data, 0, data.length);
      return;
    }
    this.checkRange(address, data.length);
    this.forEachSegment(address, data.length, (chunkIndex, offset, count, done) => {
      this.materialize(chunkIndex).set(data.subarray(done, done + count), offset);
    });
  }

  /**
   * Copies `length` bytes of `source` from `sourceOffset` to `address` (a page read back from
   * swap, say); within one chunk without a per-segment closure.
   */
  writeFrom(address: number, source: Uint8Array, sourceOffset: number, length: number): void {
    const offset = address & CHUNK_MASK;
    if (offset + length > RAM_CHUNK_SIZE) {
      this.writeBytes(address, source.subarray(sourceOffset, sourceOffset + length));
      return;
    }
    this.checkRange(address, length);
    if (length === 0) return;
    const chunk = this.materialize(Math.floor(address / RAM_CHUNK_SIZE));
    chunk.set(source.subarray(sourceOffset, sourceOffset + length), offset);
  }

  fill(address: number, length: number, byte: number): void {
    const offset = address & CHUNK_MASK;
    if (length > 0 && (length | 0) === length && offset + length <= RAM_CHUNK_SIZE) {
      this.fillInChunk(address, length, byte & BYTE_MASK);
      return;
    }
    this.checkRange(address, length);
    const value = byte & BYTE_MASK;
    this.forEachSegment(address, length, (chunkIndex, offset, count) => {
      const chunk = this.bytes[chunkIndex]!;
      if (value === 0 && count === RAM_CHUNK_SIZE) {
        this.release(chunkIndex);
      } else if (value !== 0 || chunk !== ZERO_CHUNK) {
        this.materialize(chunkIndex).fill(value, offset, offset + count);
      }
    });
  }

  /** Copies `length` bytes from `source` to `destination`; overlapping ranges work like memmove. */
  copy(destination: number, source: number, length: number): void {
    const from = source & CHUNK_MASK;
    const to = destination & CHUNK_MASK;
    const small = length > 0 && (length | 0) === length;
    if (small && from + length <= RAM_CHUNK_SIZE && to + length <= RAM_CHUNK_SIZE) {
      this.copyInChunks(destination, source, length);
      return;
    }
    this.checkRange(source, length);
    this.checkRange(destination, length);
    const overlaps = destination < source + length && source < destination + length;
    if (overlaps) {
      this.writeBytes(destination, this.readBytes(source, length));
      return;
    }
    this.forEachSegment(source, length, (chunkIndex, offset, count, done) => {
      const chunk = this.bytes[chunkIndex]!;
      const from = chunk.subarray(offset, offset + count);
      if (chunk === ZERO_CHUNK || isAllZero(from)) {
        this.fill(destination + done, count, 0);
      } else {
        this.writeBytes(destination + done, from);
      }
    });
  }

  /** `fill` of a range that lies in one chunk (a page, say): no per-segment closure. */
  private fillInChunk(address: number, length: number, value: number): void {
    const chunk = this.readChunk(address, length);
    const index = Math.floor(address / RAM_CHUNK_SIZE);
    if (value === 0 && length === RAM_CHUNK_SIZE) this.release(index);
    else if (value !== 0 || chunk !== ZERO_CHUNK) {
      const offset = address & CHUNK_MASK;
      this.materialize(index).fill(value, offset, offset + length);
    }
  }

  /**
   * `copy` of a range that lies in one chunk, to a range in one chunk (a page copy, say): no
   * per-segment closures. A source chunk never written stays sparse: the target is zero-filled.
   */
  private copyInChunks(destination: number, source: number, length: number): void {
    const from = this.readChunk(source, length);
    this.readChunk(destination, length); // a machine check before anything is written
    const sourceOffset = source & CHUNK_MASK;
    const targetOffset = destination & CHUNK_MASK;
    if (from === ZERO_CHUNK) {
      this.fill(destination, length, 0);
      return;
    }
    const to = this.writeChunk(destination, length);
    if (to === from) {
      to.copyWithin(targetOffset, sourceOffset, sourceOffset + length);
    } else if (length > SMALL_COPY_BYTES) {
      to.set(from.subarray(sourceOffset, sourceOffset + length), targetOffset);
    } else if (((sourceOffset | targetOffset | length) & WORD_MISALIGNMENT) === 0) {
      const fromWords = this.words[Math.floor(source / RAM_CHUNK_SIZE)]!;
      const toWords = this.words[Math.floor(destination / RAM_CHUNK_SIZE)]!;
      const first = sourceOffset >> WORD_SHIFT;
      const target = targetOffset >> WORD_SHIFT;
      for (let i = 0; i < length >> WORD_SHIFT; i++) toWords[target + i] = fromWords[first + i]!;
    } else {
      for (let i = 0; i < length; i++) to[targetOffset + i] = from[sourceOffset + i]!;
    }
  }

  /** True when `[address, address + length)` reads as all zeros (cheap on untouched chunks). */
  isZero(address: number, length: number): boolean {
    this.checkRange(address, length);
    let zero = true;
    this.forEachSegment(address, length, (chunkIndex, offset, count) => {
      const chunk = this.bytes[chunkIndex]!;
      if (zero && chunk !== ZERO_CHUNK) zero = isAllZero(chunk.subarray(offset, offset + count));
    });
    return zero;
  }

  private checkRange(address: number, length: number): void {
    if (!Number.isSafeInteger(length) || length < 0 || !this.isInstalled(address, length)) {
      throw new MachineCheckError(address, length);
    }
  }

  private readChunk(address: number, length: number): Uint8Array {
    const chunk = this.bytes[Math.floor(address / RAM_CHUNK_SIZE)];
    if (chunk === undefined || !Number.isInteger(address))
      throw new MachineCheckError(address, length);
    return chunk;
  }

  private writeChunk(address: number, length: number): Uint8Array {
    const index = Math.floor(address / RAM_CHUNK_SIZE);
    const chunk = this.bytes[index];
    if (chunk === undefined || !Number.isInteger(address))
      throw new MachineCheckError(address, length);
    return chunk === ZERO_CHUNK ? this.materialize(index) : chunk;
  }

  /** Gives a chunk its own host memory (idempotent). */
  private materialize(index: number): Uint8Array {
    const chunk = this.bytes[index]!;
    if (chunk !== ZERO_CHUNK) return chunk;
    const fresh = this.newChunk();
    this.bytes[index] = fresh;
    const words = new Int32Array(fresh.buffer, fresh.byteOffset, RAM_CHUNK_SIZE >> 2);
    this.words[index] = words;
    const firstFrame = index * CHUNK_PAGES;
    for (let page = 0; page < CHUNK_PAGES; page++) {
      this.frameWords[firstFrame + page] = words.subarray(
        page * PAGE_WORDS,
        (page + 1) * PAGE_WORDS,
      );
    }
    this.touched++;
    return fresh;
  }

  /** Drops a chunk's host memory: it reads as zeros again. */
  private release(index: number): void {
    const chunk = this.bytes[index]!;
    if (chunk === ZERO_CHUNK) return;
    this.spareChunks.push(chunk);
    this.bytes[index] = ZERO_CHUNK;
    this.words[index] = ZERO_WORDS;
    this.frameWords.fill(undefined, index * CHUNK_PAGES, (index + 1) * CHUNK_PAGES);
    this.touched--;
    for (const observer of this.observers) {
      observer.backingReleased(index * RAM_CHUNK_SIZE, RAM_CHUNK_SIZE);
    }
  }

  /**
   * Host memory for one chunk, zeroed: a released chunk if there is one, else the next slice of
   * a block of BACKING_BLOCK_CHUNKS chunks (one host allocation per block, not per chunk:
   * allocating typed arrays is what made first touches slow).
   */
  private newChunk(): Uint8Array {
    const reused = this.spareChunks.pop();
    if (reused !== undefined) return reused.fill(0);
    if (this.blockUsed === BACKING_BLOCK_CHUNKS) {
      this.block = new ArrayBuffer(RAM_CHUNK_SIZE * BACKING_BLOCK_CHUNKS);
      this.blockUsed = 0;
    }
    return new Uint8Array(this.block, RAM_CHUNK_SIZE * this.blockUsed++, RAM_CHUNK_SIZE);
  }

  /** Calls `visit` once per chunk that `[address, address + length)` crosses. */
  private forEachSegment(
    address: number,
    length: number,
    visit: (chunkIndex: number, offset: number, count: number, done: number) => void,
  ): void {
    let done = 0;
    while (done < length) {
      const at = address + done;
      const offset = at & CHUNK_MASK;
      const count = Math.min(length - done, RAM_CHUNK_SIZE - offset);
      visit(Math.floor(at / RAM_CHUNK_SIZE), offset, count, done);
      done += count;
    }
  }
}

function isAllZero(bytes: Uint8Array): boolean {
  for (let i = 0; i < bytes.length; i++) if (bytes[i] !== 0) return false;
  return true;
}
