/**
 * The user allocator standalone, over one ArrayBuffer: the break starts at address 0 (the heap
 * header sits there, so no block is ever NULL) and moves up through the buffer. When it would
 * pass the end, an optional `grow` callback may supply a larger buffer holding the old contents,
 * as `WebAssembly.Memory.prototype.grow` does. A flat heap has no separate mmap area: mmap fails,
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
  grow?: (minBytes: number) => ArrayBuffer | null;
}

/** A {@link HeapHost} over a {@link FlatMemory}: sbrk moves a break inside the buffer. */
export class FlatHeapHost implements HeapHost {
  readonly memory: FlatMemory;
  private brk = 0;
  private readonly grow: ((minBytes: number) => ArrayBuffer | null) | undefined;

  constructor(memory: FlatMemory, grow?: (minBytes: number) => ArrayBuffer | null) {
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
 * A malloc-family allocator over an ArrayBuffer (or a new one of `initial` bytes).
 * `heap.memory` reads and writes the blocks; corruption throws a {@link HeapCorruptionError}.
 */
export function createFlatHeap(
  initial: ArrayBuffer | number,
  options: FlatHeapOptions = {},
): UserAllocator<FlatHeapHost> {
  const buffer = typeof initial === 'number' ? new ArrayBuffer(initial) : initial;
  const host = new FlatHeapHost(new FlatMemory(buffer), options.grow);
  return new UserAllocator(host, options);
}
