/**
 * A flat heap reads and writes chunk headers in place, in its buffer's words (the flat memory's
 * one window, WordWindows). A memory without windows makes the same heap go word by word. Both
 * must do exactly the same thing: same blocks, same bytes, same aborts.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { MemoryAccess } from '../../src/hw/memory-access.js';
import { mulberry32 } from '../../src/random.js';
import { FlatHeapHost } from '../../src/user-alloc/flat-heap.js';
import { FlatMemory } from '../../src/user-alloc/flat-memory.js';
import { HeapCorruptionError, type HeapHost } from '../../src/user-alloc/heap-host.js';
import { UserAllocator } from '../../src/user-alloc/user-allocator.js';
import { randomHeapCall, SLOTS } from './random-calls.js';

const HEAP_BYTES = 4 * 1024 * 1024;

/** A FlatMemory seen only through MemoryAccess (and memmove): it offers no windows. */
class WordByWordMemory implements MemoryAccess {
  constructor(private readonly inner: FlatMemory) {}
  load8(address: number): number {
    return this.inner.load8(address);
  }
  load16(address: number): number {
    return this.inner.load16(address);
  }
  load32(address: number): number {
    return this.inner.load32(address);
  }
  store8(address: number, value: number): void {
    this.inner.store8(address, value);
  }
  store16(address: number, value: number): void {
    this.inner.store16(address, value);
  }
  store32(address: number, value: number): void {
    this.inner.store32(address, value);
  }
  readBytes(address: number, length: number): Uint8Array {
    return this.inner.readBytes(address, length);
  }
  writeBytes(address: number, bytes: Uint8Array): void {
    this.inner.writeBytes(address, bytes);
  }
  fill(address: number, length: number, byte: number): void {
    this.inner.fill(address, length, byte);
  }
  copyWithin(to: number, from: number, length: number): void {
    this.inner.copyWithin(to, from, length);
  }
}

/** A flat heap's host over a buffer of its own, its memory seen word by word when asked. */
function flatHost(wordByWord: boolean): HeapHost & { buffer: ArrayBuffer } {
  const flat = new FlatHeapHost(new FlatMemory(new ArrayBuffer(HEAP_BYTES)));
  const memory = wordByWord ? new WordByWordMemory(flat.memory) : flat.memory;
  return {
    memory,
    buffer: flat.memory.buffer,
    sbrk: (increment) => flat.sbrk(increment),
    mmap: (length) => flat.mmap(length),
    munmap: (address, length) => flat.munmap(address, length),
    abort: (message) => flat.abort(message),
  };
}

describe('a flat heap reading and writing its buffer in place', () => {
  it('does exactly what it does word by word: same blocks, same bytes', () => {
    fc.assert(
      fc.property(fc.integer(), fc.integer({ min: 0, max: 16 }), (seed, cacheLimit) => {
        const hosts = [flatHost(false), flatHost(true)];
        const heaps = hosts.map((host) => new UserAllocator(host, { seed, cacheLimit }));
        const draws = hosts.map(() => mulberry32(seed));
        const blocks = hosts.map(() => new Float64Array(SLOTS));
        for (let call = 0; call < 3_000; call++) {
          const got = heaps.map((heap, k) => randomHeapCall(heap, blocks[k]!, draws[k]!));
          if (got[0] !== got[1]) expect([call, got[0]]).toEqual([call, got[1]]);
        }
        for (const heap of heaps) heap.check();
        const [inPlace, wordByWord] = hosts.map((host) => new Uint8Array(host.buffer));
        expect(Buffer.compare(inPlace!, wordByWord!)).toBe(0);
      }),
      { numRuns: 25 },
    );
  });

  it('catches a corrupted cache link either way, with the same message', () => {
    const messages = [false, true].map((wordByWord) => {
      const heap = new UserAllocator(flatHost(wordByWord), { seed: 7 });
      const victim = heap.malloc(40);
      const a = heap.malloc(40);
      const b = heap.malloc(40);
      heap.free(a);
      heap.free(b); // cache: b → a
      heap.memory.store32(b, heap.memory.load32(b) - (a - victim)); // use after free: b → victim
      heap.malloc(40);
      try {
        heap.malloc(40);
        return 'no abort';
      } catch (error) {
        return error instanceof HeapCorruptionError ? error.message : String(error);
      }
    });
    expect(messages).toEqual([
      'malloc(): tcache chunk corrupted',
      'malloc(): tcache chunk corrupted',
    ]);
  });
});

describe('FlatMemory windows', () => {
  it('are the whole buffer for an address inside it, none outside', () => {
    const memory = new FlatMemory(new ArrayBuffer(64 * 1024));
    memory.store32(4100, 0xabcd);
    const words = memory.writableWindow(4100);
    expect(words.length).toBe(16 * 1024);
    expect(words[(4100 & memory.windowMask) >> 2]).toBe(0xabcd);
    words[(4104 & memory.windowMask) >> 2] = -1;
    expect(memory.load32(4104)).toBe(0xffffffff);
    for (const outside of [64 * 1024, -4, 2 ** 32 + 4100, Number.NaN]) {
      expect([outside, memory.writableWindow(outside).length]).toEqual([outside, 0]);
    }
  });

  it('follow a replaced buffer', () => {
    const memory = new FlatMemory(new ArrayBuffer(4096));
    memory.store32(8, 1);
    const bigger = new ArrayBuffer(8192);
    new Uint8Array(bigger).set(new Uint8Array(memory.buffer));
    memory.replaceBuffer(bigger);
    memory.writableWindow(8)[2] = 2;
    expect(memory.load32(8)).toBe(2);
    expect(memory.writableWindow(4096).length).toBe(2048);
  });
});
