/**
 * The user allocator standalone, over one ArrayBuffer: the break starts at address 0 (the heap
 * header sits there, so no block is ever NULL) and moves up through the buffer. When it would
 * pass the end, the buffer grows if it can: a resizable ArrayBuffer (`maxByteLength`) is resized
 * up to its maximum, a `WebAssembly.Memory` is grown by whole 64 KiB pages, and a `grow`
 * callback may supply any larger buffer holding the old contents. A plain ArrayBuffer does not
 * grow: the break stops at its end (ENOMEM). A flat heap has no separate mmap area: mmap fails,
 * so large blocks fall back to the break like glibc does when mmap is refused.
 *
 * ```
 *  0                           break                     byteLength
 *  ├── heap (header, chunks, top)┤ ····· room to grow ····┤
 * ```
 */
import { FlatMemory } from './flat-memory.js';
import { HeapCorruptionError, type HeapHost } from './heap-host.js';
import { UserAllocator, type UserAllocatorOptions } from './user-allocator.js';

/** Options of {@link createFlatHeap}: the allocator's tunables plus how the buffer grows. */
export interface FlatHeapOptions extends UserAllocatorOptions {
  /**
   * Called when the break would pass the end of the buffer, with the byte length needed; returns
   * a buffer of at least that length holding the old contents, or null to refuse (ENOMEM).
   */
  grow?: GrowBuffer;
}

/** Gives a buffer of at least `minBytes` holding the old contents, or null (ENOMEM). */
export type GrowBuffer = (minBytes: number) => ArrayBuffer | null;

/** What a flat heap lives in: a size for a fresh buffer, a buffer, or a WebAssembly memory. */
export type FlatHeapBacking = number | ArrayBuffer | WebAssembly.Memory;

/** The ES2024 resizable ArrayBuffer, which the ES2022 library the project builds with lacks. */
interface ResizableArrayBuffer extends ArrayBuffer {
  readonly resizable: boolean;
  readonly maxByteLength: number;
  resize(byteLength: number): void;
}

/** Bytes of one WebAssembly page, the unit `WebAssembly.Memory.prototype.grow` counts in. */
const WASM_PAGE_BYTES = 64 * 1024;

/** A {@link HeapHost} over a {@link FlatMemory}: sbrk moves a break inside the buffer. */
export class FlatHeapHost implements HeapHost {
  readonly memory: FlatMemory;
  private brk = 0;
  private readonly grow: GrowBuffer | undefined;

  constructor(memory: FlatMemory, grow?: GrowBuffer) {
    this.memory = memory;
    this.grow = grow;
  }

  /** The current break. */
  get break(): number {
    return this.brk;
  }

  sbrk(increment: number): number {
    const previous = this.brk;
    const wanted = previous + increment;
    if (wanted < 0) return -1;
    if (wanted > this.memory.byteLength && !this.growTo(wanted)) return -1;
    this.brk = wanted;
    return previous;
  }

  /** A flat buffer has no second region to map: large blocks live on the break. */
  mmap(_length: number): number {
    return -1;
  }

  munmap(_address: number, _length: number): number {
    return -1;
  }

  abort(message: string): never {
    throw new HeapCorruptionError(message);
  }

  private growTo(minBytes: number): boolean {
    const buffer = this.grow?.(minBytes);
    if (!buffer || buffer.byteLength < minBytes) return false;
    this.memory.replaceBuffer(buffer);
    return true;
  }
}

/**
 * A malloc-family allocator over an ArrayBuffer (or a new one of `initial` bytes, or a
 * WebAssembly memory's buffer). A resizable buffer or a WebAssembly memory grows by itself
 * (unless `options.grow` says otherwise). `heap.memory` reads and writes the blocks; corruption
 * throws a {@link HeapCorruptionError}.
 */
export function createFlatHeap(
  initial: FlatHeapBacking,
  options: FlatHeapOptions = {},
): UserAllocator<FlatHeapHost> {
  const buffer = bufferOf(initial);
  const grow = options.grow ?? growerOf(initial);
  const host = new FlatHeapHost(new FlatMemory(buffer), grow);
  return new UserAllocator(host, options);
}

function bufferOf(backing: FlatHeapBacking): ArrayBuffer {
  if (typeof backing === 'number') return new ArrayBuffer(backing);
  return backing instanceof WebAssembly.Memory ? backing.buffer : backing;
}

/** How `backing` grows by itself; undefined for a buffer of fixed length. */
function growerOf(backing: FlatHeapBacking): GrowBuffer | undefined {
  if (backing instanceof WebAssembly.Memory) return (minBytes) => growWasm(backing, minBytes);
  if (typeof backing !== 'number' && isResizable(backing)) {
    return (minBytes) => growResizable(backing, minBytes);
  }
  return undefined;
}

function isResizable(buffer: ArrayBuffer): buffer is ResizableArrayBuffer {
  return (buffer as Partial<ResizableArrayBuffer>).resizable === true;
}

/**
 * Resizes in place to twice the length (fewer, larger steps, as a vector grows), or to what is
 * needed, never past `maxByteLength`.
 */
function growResizable(buffer: ResizableArrayBuffer, minBytes: number): ArrayBuffer | null {
  if (minBytes > buffer.maxByteLength) return null;
  buffer.resize(Math.min(buffer.maxByteLength, Math.max(minBytes, 2 * buffer.byteLength)));
  return buffer;
}

/**
 * Grows by as many pages again as the memory has, or by what is needed when its maximum refuses
 * that; the memory's new buffer holds the old contents (the old one is detached).
 */
function growWasm(memory: WebAssembly.Memory, minBytes: number): ArrayBuffer | null {
  const pages = memory.buffer.byteLength / WASM_PAGE_BYTES;
  const needed = Math.ceil(minBytes / WASM_PAGE_BYTES) - pages;
  for (const delta of [Math.max(needed, pages), needed]) {
    try {
      memory.grow(delta);
      return memory.buffer;
    } catch (error) {
      // Past the memory's maximum (or the engine's): a RangeError, and the memory is unchanged.
      if (!(error instanceof RangeError)) throw error;
    }
  }
  return null;
}
