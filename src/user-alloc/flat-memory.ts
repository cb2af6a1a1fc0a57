/**
 * A {@link MemoryAccess} over one ArrayBuffer: address `a` is byte offset `a` of the buffer.
 *
 * This is what the user allocator sees when it runs standalone, outside any simulated process.
 * Aligned 32-bit accesses (the allocator's metadata is all aligned) go through a `Uint32Array`;
 * unaligned ones fall back to a `DataView`. An access outside the buffer throws a
 * {@link FlatMemoryFaultError} instead of reading `undefined` as a typed array would.
 *
 * `load32` and `store32` are the allocator's every metadata access, so they are written for V8:
 * one typed-array access at `address / 4` checks alignment, range and integrality at once (any
 * other address reads `undefined`), and `load32` stays under the 27 bytes of bytecode that V8
 * always inlines (docs/performance.md). Their slow paths are module functions, cheaper to call
 * than methods. The one address this single check misreads is a negative one so close to zero
 * (|address| < 1e-323) that its quarter rounds to -0: it reads and writes address 0.
 *
 * ```
 *   0                                              byteLength
 *   ┌──────────────────────────────────────────────┐
 *   │ bytes of the ArrayBuffer, little-endian words │
 *   └──────────────────────────────────────────────┘
 * ```
 */
import { WallosError } from '../errors.js';
import type { MemoryAccess, WordWindows } from '../hw/memory-access.js';

/** An access outside the flat buffer: the standalone analogue of a segmentation fault. */
export class FlatMemoryFaultError extends WallosError {
  constructor(
    readonly address: number,
    readonly length: number,
  ) {
    super('EFAULT', `${length}-byte access at ${address} is outside the flat memory`);
  }
}

const WORD_BYTES = 4;
/**
 * A flat memory's window is its whole buffer, up to this offset mask: the word of address `a`
 * is `i32[a >> 2]`. Addresses from 2^31 on (a buffer that large) have no window.
 */
const WINDOW_MASK = 0x7fffffff;
/** {@link FlatMemory.writableWindow} outside the buffer: no words. */
const NO_WINDOW = new Int32Array(0);

/** Loads and stores over one ArrayBuffer (see the module comment). */
export class FlatMemory implements MemoryAccess, WordWindows {
  private u8: Uint8Array;
  private u32: Uint32Array;
  /** The buffer's words again, signed: its window ({@link WordWindows}). */
  private i32: Int32Array;
  private view: DataView;
  /** The buffer's length in bytes: every valid address is below it. */
  byteLength: number;
  /** One past the last address with a window. */
  private windowEnd: number;
  readonly windowMask = WINDOW_MASK;

  constructor(buffer: ArrayBuffer) {
    this.u8 = new Uint8Array(buffer);
    this.u32 = new Uint32Array(buffer, 0, buffer.byteLength >>> 2);
    this.i32 = new Int32Array(buffer, 0, buffer.byteLength >>> 2);
    this.view = new DataView(buffer);
    this.byteLength = buffer.byteLength;
    this.windowEnd = Math.min(buffer.byteLength, WINDOW_MASK + 1);
  }

  /** The current backing buffer (replaced by {@link FlatMemory.replaceBuffer} when it grows). */
  get buffer(): ArrayBuffer {
    return this.u8.buffer as ArrayBuffer;
  }

  /**
   * Switches to a larger buffer that already holds the old contents, as
   * `WebAssembly.Memory.prototype.grow` provides.
   */
  replaceBuffer(buffer: ArrayBuffer): void {
    this.u8 = new Uint8Array(buffer);
    this.u32 = new Uint32Array(buffer, 0, buffer.byteLength >>> 2);
    this.i32 = new Int32Array(buffer, 0, buffer.byteLength >>> 2);
    this.view = new DataView(buffer);
    this.byteLength = buffer.byteLength;
    this.windowEnd = Math.min(buffer.byteLength, WINDOW_MASK + 1);
  }

  /**
   * The whole buffer's words, for any address inside it ({@link WordWindows}): a flat memory
   * has no protection, so every word is writable.
   */
  writableWindow(address: number): Int32Array {
    return address >= 0 && address < this.windowEnd ? this.i32 : NO_WINDOW;
  }

  load8(address: number): number {
    return this.u8[address] ?? load8Slow(this, address);
  }

  load16(address: number): number {
    this.check(address, 2);
    return this.view.getUint16(address, true);
  }

  load32(address: number): number {
    // The literal 4 (WORD_BYTES) keeps this under V8's always-inline size; a constant costs 2 bytes.
    return this.u32[address / 4] ?? load32Slow(this, address);
  }

  store8(address: number, value: number): void {
    const bytes = this.u8;
    // A store at a bad index would be dropped silently: the load finds it out first.
    if (bytes[address] === undefined) store8Slow(this, address, value);
    else bytes[address] = value;
  }

  store16(address: number, value: number): void {
    this.check(address, 2);
    this.view.setUint16(address, value, true);
  }

  store32(address: number, value: number): void {
    const words = this.u32;
    const index = address / WORD_BYTES;
    // A store at a bad index would be dropped silently: the load finds it out first.
    if (words[index] === undefined) store32Slow(this, address, value);
    else words[index] = value;
  }

  readBytes(address: number, length: number): Uint8Array {
    this.check(address, length);
    return this.u8.slice(address, address + length);
  }

  writeBytes(address: number, bytes: Uint8Array): void {
    this.check(address, bytes.length);
    this.u8.set(bytes, address);
  }

  fill(address: number, length: number, byte: number): void {
    this.check(address, length);
    this.u8.fill(byte, address, address + length);
  }

  /** Copies `length` bytes from `from` to `to` (the ranges may overlap), like memmove. */
  copyWithin(to: number, from: number, length: number): void {
    this.check(from, length);
    this.check(to, length);
    this.u8.copyWithin(to, from, from + length);
  }

  /** Throws unless `[address, address + length)` lies inside the buffer. */
  private check(address: number, length: number): void {
    checkInside(this, address, length);
  }
}

/** Throws unless `[address, address + length)` lies inside `memory`. */
function checkInside(memory: FlatMemory, address: number, length: number): void {
  if (!(address >= 0 && address + length <= memory.byteLength)) {
    throw new FlatMemoryFaultError(address, length);
  }
}

/** {@link FlatMemory.load8} off its fast path: a fractional address, or a fault. */
function load8Slow(memory: FlatMemory, address: number): number {
  checkInside(memory, address, 1);
  return new DataView(memory.buffer).getUint8(address);
}

/** {@link FlatMemory.store8} off its fast path: a fractional address, or a fault. */
function store8Slow(memory: FlatMemory, address: number, value: number): void {
  checkInside(memory, address, 1);
  new DataView(memory.buffer).setUint8(address, value);
}

/** {@link FlatMemory.load32} off its fast path: an unaligned word, or a fault. */
function load32Slow(memory: FlatMemory, address: number): number {
  checkInside(memory, address, WORD_BYTES);
  return new DataView(memory.buffer).getUint32(address, true);
}

/** {@link FlatMemory.store32} off its fast path: an unaligned word, or a fault. */
function store32Slow(memory: FlatMemory, address: number, value: number): void {
  checkInside(memory, address, WORD_BYTES);
  new DataView(memory.buffer).setUint32(address, value, true);
}
