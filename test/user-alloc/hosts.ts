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
  mmapCalls = 0;
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
