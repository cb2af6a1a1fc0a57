/**
 * In a process the heap starts after the program image (0x600000) and mmapped blocks sit near
 * 0x7f0000000000, far above 2^32: the allocator must use plain number arithmetic, not 32-bit ops.
 */
import { describe, expect, it } from 'vitest';
import { PAGE_SIZE } from '../../src/hw/constants.js';
import type { MemoryAccess } from '../../src/hw/memory-access.js';
import { FlatMemory } from '../../src/user-alloc/flat-memory.js';
import { HeapCorruptionError, type HeapHost } from '../../src/user-alloc/heap-host.js';
import { UserAllocator } from '../../src/user-alloc/user-allocator.js';

const HEAP_BASE = 0x600000;
const MMAP_BASE = 0x7f0000000000;
const REGION = 4 * 1024 * 1024;

/** Two windows of one flat buffer: [HEAP_BASE, +REGION) and [MMAP_BASE, +REGION). */
class SplitMemory implements MemoryAccess {
  readonly flat = new FlatMemory(new ArrayBuffer(2 * REGION));
  private at(address: number, length: number): number {
    if (address >= HEAP_BASE && address + length <= HEAP_BASE + REGION) return address - HEAP_BASE;
    if (address >= MMAP_BASE && address + length <= MMAP_BASE + REGION) {
      return address - MMAP_BASE + REGION;
    }
    throw new Error(`segfault at 0x${address.toString(16)}`);
  }
  load8(a: number) {
    return this.flat.load8(this.at(a, 1));
  }
  load16(a: number) {
    return this.flat.load16(this.at(a, 2));
  }
  load32(a: number) {
    return this.flat.load32(this.at(a, 4));
  }
  store8(a: number, v: number) {
    this.flat.store8(this.at(a, 1), v);
  }
  store16(a: number, v: number) {
    this.flat.store16(this.at(a, 2), v);
  }
  store32(a: number, v: number) {
    this.flat.store32(this.at(a, 4), v);
  }
  readBytes(a: number, n: number) {
    return this.flat.readBytes(this.at(a, n), n);
  }
  writeBytes(a: number, bytes: Uint8Array) {
    this.flat.writeBytes(this.at(a, bytes.length), bytes);
  }
  fill(a: number, n: number, byte: number) {
    this.flat.fill(this.at(a, n), n, byte);
  }
}

class ProcessLikeHost implements HeapHost {
  readonly memory = new SplitMemory();
  brk = HEAP_BASE + 0x123; // an unaligned program break
  nextMap = MMAP_BASE;
  sbrk(increment: number): number {
    const previous = this.brk;
    if (previous + increment > HEAP_BASE + REGION) return -1;
    this.brk += increment;
    return previous;
  }
  mmap(length: number): number {
    if (this.nextMap + length > MMAP_BASE + REGION) return -1;
    const address = this.nextMap;
    this.nextMap += length + PAGE_SIZE;
    return address;
  }
  munmap(): number {
    return 0;
  }
  abort(message: string): never {
    throw new HeapCorruptionError(message);
  }
}

describe('UserAllocator at process addresses', () => {
  it('serves heap and mmapped blocks above 2^32 with every check intact', () => {
    const host = new ProcessLikeHost();
    const heap = new UserAllocator(host, { seed: 9 });
    const blocks: number[] = [];
    for (let i = 0; i < 300; i++) {
      const p = i % 3 === 0 ? heap.memalign(256, 40 + i) : heap.malloc(8 + i * 13);
      expect(p % 16).toBe(0);
      heap.memory.fill(p, 8, i & 0xff);
      blocks.push(p);
    }
    const big = heap.malloc(300 * 1024);
    expect(big).toBeGreaterThan(2 ** 32);
    expect(big % 16).toBe(0);
    heap.memory.fill(big, 300 * 1024, 0xaa);
    const aligned = heap.memalign(65536, 200 * 1024);
    expect(aligned % 65536).toBe(0);
    for (let i = 0; i < blocks.length; i += 2) heap.free(blocks[i]!);
    heap.check();
    const memptr = blocks[1]!;
    expect(heap.posixMemalign(memptr, 64, 500 * 1024)).toBe(0);
    const p = heap.memory.load32(memptr) + heap.memory.load32(memptr + 4) * 2 ** 32;
    expect(p).toBeGreaterThan(2 ** 32);
    expect(heap.usableSize(p)).toBeGreaterThanOrEqual(500 * 1024);
    heap.free(p);
    expect(heap.realloc(big, 350 * 1024)).not.toBe(0);
    expect(() => heap.free(big)).toThrow(HeapCorruptionError);
    heap.free(aligned);
    expect(() => heap.free(aligned)).toThrow(/invalid pointer/);
    const small = heap.malloc(40);
    heap.memory.fill(small, 40, 0x5a);
    heap.malloc(16); // forces the next realloc to move
    const moved = heap.realloc(small, 3000);
    expect(moved).not.toBe(small);
    expect([...heap.memory.readBytes(moved, 40)].every((b) => b === 0x5a)).toBe(true);
    heap.check();
  });
});
