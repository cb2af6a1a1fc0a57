/**
 * A test host with both a break and an mmap area, over one FlatMemory, like a tiny process:
 *
 * ```
 *  0x0 ... BRK_START ── heap (brk) ──▶ ... BRK_LIMIT │ MMAP_START ── page slots ── MMAP_END
 * ```
 */
import { PAGE_SIZE } from '../../src/hw/constants.js';
import { FlatMemory } from '../../src/user-alloc/flat-memory.js';
import { HeapCorruptionError, type HeapHost } from '../../src/user-alloc/heap-host.js';

export const BRK_START = 0x10008; // deliberately not 16-aligned
export const BRK_LIMIT = 8 * 1024 * 1024;
export const MMAP_START = BRK_LIMIT;
export const MMAP_END = 16 * 1024 * 1024;

export class TestHost implements HeapHost {
  readonly memory = new FlatMemory(new ArrayBuffer(MMAP_END));
  brk = BRK_START;
  brkLimit = BRK_LIMIT;
  /** One entry per page of the mmap area: the mapping length at its first page, -1 inside. */
  private readonly pages = new Int32Array((MMAP_END - MMAP_START) / PAGE_SIZE);
  mmapAllowed = true;
  mremapAllowed = true;
  mmapCalls = 0;
  mremapCalls = 0;
  munmapCalls = 0;
  aborts: string[] = [];

  sbrk(increment: number): number {
    const previous = this.brk;
    if (previous + increment < BRK_START || previous + increment > this.brkLimit) return -1;
    this.brk += increment;
    return previous;
  }

  mmap(length: number): number {
    if (!this.mmapAllowed || length % PAGE_SIZE !== 0) return -1;
    const count = length / PAGE_SIZE;
    for (let first = 0; first + count <= this.pages.length; first++) {
      let free = true;
      for (let k = 0; k < count && free; k++) free = this.pages[first + k] === 0;
      if (!free) continue;
      this.pages.fill(-1, first, first + count);
      this.pages[first] = count;
      this.mmapCalls++;
      const address = MMAP_START + first * PAGE_SIZE;
      this.memory.fill(address, length, 0);
      return address;
    }
    return -1;
  }

  munmap(address: number, length: number): number {
    const first = (address - MMAP_START) / PAGE_SIZE;
    if (this.pages[first] !== length / PAGE_SIZE) return -1;
    this.pages.fill(0, first, first + length / PAGE_SIZE);
    this.munmapCalls++;
    return 0;
  }

  /**
   * mremap with MREMAP_MAYMOVE over the page slots: shrinks or grows in place when the pages
   * after are free, else moves (here by copying the bytes: a flat buffer has no page tables).
   */
  mremap(address: number, oldLength: number, newLength: number): number {
    if (!this.mremapAllowed || oldLength % PAGE_SIZE !== 0 || newLength % PAGE_SIZE !== 0) {
      return -1;
    }
    const first = (address - MMAP_START) / PAGE_SIZE;
    const oldCount = oldLength / PAGE_SIZE;
    const newCount = newLength / PAGE_SIZE;
    if (this.pages[first] !== oldCount) return -1;
    this.mremapCalls++;
    if (newCount <= oldCount || this.freePages(first + oldCount, newCount - oldCount)) {
      this.pages.fill(0, first, first + oldCount);
      this.pages.fill(-1, first, first + newCount);
      this.pages[first] = newCount;
      if (newCount > oldCount) this.memory.fill(address + oldLength, newLength - oldLength, 0);
      return address;
    }
    const moved = this.mmap(newLength);
    if (moved === -1) return -1;
    this.mmapCalls--;
    this.memory.copyWithin(moved, address, oldLength);
    this.pages.fill(0, first, first + oldCount);
    return moved;
  }

  private freePages(first: number, count: number): boolean {
    if (first + count > this.pages.length) return false;
    for (let k = 0; k < count; k++) if (this.pages[first + k] !== 0) return false;
    return true;
  }

  /** Bytes currently mapped. */
  mappedBytes(): number {
    let pages = 0;
    for (const p of this.pages) if (p !== 0) pages++;
    return pages * PAGE_SIZE;
  }

  abort(message: string): never {
    this.aborts.push(message);
    throw new HeapCorruptionError(message);
  }
}
