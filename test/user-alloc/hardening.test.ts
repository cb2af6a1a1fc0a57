/**
 * Every integrity check: corrupt the heap through the same `memory` the program uses, then the
 * next operation must abort with a glibc-like message, before handing any block out.
 */
import { describe, expect, it } from 'vitest';
import { CACHED } from '../../src/user-alloc/chunk.js';
import { createFlatHeap } from '../../src/user-alloc/flat-heap.js';
import { HeapCorruptionError } from '../../src/user-alloc/heap-host.js';
import { UserAllocator } from '../../src/user-alloc/user-allocator.js';
import { TestHost } from './hosts.js';

/** Offsets from a payload pointer to its chunk's fields (see chunk.ts). */
const HEAD_FROM_PAYLOAD = -8;
const PREV_SIZE_FROM_PAYLOAD = -16;
const LARGE = 2000; // above the cached sizes (chunks under 1 KiB)

function heap(cacheLimit = 7) {
  return createFlatHeap(1024 * 1024, { seed: 1, cacheLimit });
}

function expectAbort(action: () => unknown, message: RegExp): void {
  let result: unknown;
  try {
    result = action();
  } catch (error) {
    expect(error).toBeInstanceOf(HeapCorruptionError);
    expect((error as HeapCorruptionError).code).toBe('HEAP_CORRUPTION');
    expect((error as Error).message).toMatch(message);
    return;
  }
  throw new Error(`expected an abort, got ${String(result)}`);
}

describe('double free', () => {
  it('of a cached small block', () => {
    const h = heap();
    const p = h.malloc(40);
    h.free(p);
    expectAbort(() => h.free(p), /^free\(\): double free detected$/);
  });

  it('of a block sitting in a free list', () => {
    const h = heap();
    const p = h.malloc(LARGE);
    h.malloc(16);
    h.free(p);
    expectAbort(() => h.free(p), /^free\(\): double free detected$/);
  });

  it('of a block that coalesced into its free predecessor', () => {
    const h = heap();
    const a = h.malloc(LARGE);
    const b = h.malloc(LARGE);
    h.malloc(16);
    h.free(a);
    h.free(b);
    expectAbort(() => h.free(b), /^free\(\): double free detected$/);
  });

  it('of a block that merged into the top chunk', () => {
    const h = heap();
    const a = h.malloc(LARGE);
    h.free(a);
    expectAbort(() => h.free(a), /^free\(\): double free detected$/);
  });

  it('through realloc of a freed block', () => {
    const h = heap();
    const p = h.malloc(LARGE);
    h.malloc(16);
    h.free(p);
    expectAbort(() => h.realloc(p, 10), /^realloc\(\): invalid pointer$/);
  });
});

describe('invalid pointers', () => {
  it('unaligned, inside a block, and foreign pointers abort', () => {
    const h = heap();
    const p = h.malloc(LARGE);
    expectAbort(() => h.free(p + 1), /^free\(\): invalid pointer$/);
    expectAbort(() => h.free(p + 8), /^free\(\): invalid pointer$/);
    expectAbort(() => h.free(p + 32), /^free\(\): invalid pointer$/);
    expectAbort(() => h.free(900_000), /^free\(\): invalid pointer$/);
    expectAbort(() => h.usableSize(p + 16), /^malloc_usable_size\(\): invalid pointer$/);
    h.free(p);
    // A small block's free takes the per-size cache's fast path: the same pointers abort there.
    const small = h.malloc(32);
    for (const bad of [small + 0.5, small + 1, small - 0.25]) {
      expectAbort(() => h.free(bad), /^free\(\): invalid pointer$/);
    }
    h.free(small);
    h.check();
  });

  it('a forged header without the secret seal is refused', () => {
    const h = heap();
    const p = h.malloc(256);
    // Fake a 64-byte in-use chunk inside p's payload.
    h.memory.store32(p + 64 + HEAD_FROM_PAYLOAD + 16, 64 | 3);
    expectAbort(() => h.free(p + 64 + 16), /invalid pointer/);
  });
});

describe('corrupted headers', () => {
  it('an overflow into the next header (size) is caught at its free', () => {
    const h = heap();
    const a = h.malloc(24);
    const b = h.malloc(24);
    h.memory.fill(a, 24 + 16, 0x41); // 16 bytes past a's usable size: b's size and seal
    expectAbort(() => h.free(b), /^free\(\): invalid pointer$/);
  });

  it('an overflow into the next header is caught when freeing the overflowing block', () => {
    const h = heap(0);
    const a = h.malloc(LARGE);
    h.malloc(16);
    h.memory.store32(a + h.usableSize(a) + 4, 0x41414141); // next chunk's seal
    expectAbort(() => h.free(a), /^free\(\): invalid next size$/);
  });

  it('a footer (prev_size) that disagrees with the free chunk before it', () => {
    const h = heap();
    const a = h.malloc(LARGE);
    const b = h.malloc(LARGE);
    h.malloc(16);
    h.free(a);
    h.memory.store32(b + PREV_SIZE_FROM_PAYLOAD, 999);
    expectAbort(() => h.free(b), /^free\(\): corrupted size vs\. prev_size$/);
    h.memory.store32(b + PREV_SIZE_FROM_PAYLOAD, 512);
    expectAbort(() => h.free(b), /^free\(\): /);
  });

  it('a corrupted free chunk size is caught before it is handed out', () => {
    const h = heap();
    const a = h.malloc(LARGE);
    h.malloc(16);
    h.free(a);
    h.memory.store32(a + HEAD_FROM_PAYLOAD, 4096 | 1);
    expectAbort(() => h.malloc(LARGE), /^malloc\(\): memory corruption$/);
  });

  it('the top chunk size', () => {
    const h = heap();
    const a = h.malloc(100);
    const top = a + h.usableSize(a) - 8; // the top chunk follows a
    h.memory.store32(top + 8, 0x7ffffff1);
    expectAbort(() => h.malloc(5000), /^malloc\(\): corrupted top size$/);
  });

  it('an mmapped chunk header', () => {
    const host = new TestHost();
    const h = new UserAllocator(host, { seed: 3 });
    const p = h.malloc(200_000);
    expect(host.mmapCalls).toBe(1);
    h.memory.store32(p + HEAD_FROM_PAYLOAD, 64);
    expectAbort(() => h.free(p), /^munmap_chunk\(\): invalid pointer$/);
    expect(host.munmapCalls).toBe(0);
  });
});

describe('corrupted free-list links (use after free)', () => {
  it('safe unlinking: a forward link whose target does not point back', () => {
    const h = heap();
    const a = h.malloc(LARGE);
    h.malloc(16);
    const b = h.malloc(LARGE);
    h.malloc(16);
    h.free(a);
    h.free(b); // b's list: b → a
    h.memory.store32(b, h.memory.load32(b) + 1024);
    expectAbort(() => h.malloc(LARGE), /corrupted double-linked list/);
  });

  it('safe unlinking: a back link whose target does not point forward', () => {
    const h = heap();
    const a = h.malloc(LARGE);
    h.malloc(16);
    const b = h.malloc(LARGE);
    h.malloc(16);
    h.free(a);
    h.free(b);
    h.memory.store32(a + 4, 16); // a.bk → the heap header
    expectAbort(() => h.malloc(LARGE), /corrupted double-linked list/);
  });

  it('a cache link pointing at a block in use is never handed out', () => {
    const h = heap();
    const victim = h.malloc(40);
    const a = h.malloc(40);
    const b = h.malloc(40);
    h.free(a);
    h.free(b); // cache: b → a
    const victimLink = h.memory.load32(b) - (a - victim);
    h.memory.store32(b, victimLink);
    expect(h.malloc(40)).toBe(b);
    expectAbort(() => h.malloc(40), /^malloc\(\): tcache chunk corrupted$/);
  });

  it('a cached chunk whose CACHED flag was cleared: the broken seal aborts its next free', () => {
    const h = heap();
    const p = h.malloc(40);
    h.free(p);
    const head = h.memory.load32(p + HEAD_FROM_PAYLOAD);
    h.memory.store32(p + HEAD_FROM_PAYLOAD, head & ~CACHED);
    expectAbort(() => h.free(p), /^free\(\): invalid pointer$/);
  });

  it('a cache link aimed at a block in use whose CACHED bit an overflow forged', () => {
    const h = heap();
    const before = h.malloc(40);
    const victim = h.malloc(40); // still held by the program
    const a = h.malloc(40);
    const b = h.malloc(40);
    h.free(a);
    h.free(b); // cache: b → a
    h.memory.store32(b, h.memory.load32(b) - (a - victim)); // use after free: b's link → victim
    const low = h.memory.load8(victim + HEAD_FROM_PAYLOAD);
    h.memory.store8(before + 40, low | CACHED); // off by one: the victim's head gains CACHED
    expect(h.malloc(40)).toBe(b);
    expectAbort(() => h.malloc(40), /^malloc\(\): tcache chunk corrupted$/);
  });

  it('a CACHED flag forged on a block in use makes its free abort', () => {
    const h = heap();
    const p = h.malloc(40);
    const head = h.memory.load32(p + HEAD_FROM_PAYLOAD);
    h.memory.store32(p + HEAD_FROM_PAYLOAD, head | CACHED);
    expectAbort(() => h.free(p), /^free\(\): invalid pointer$/);
  });

  it('a cache link pointing outside the heap', () => {
    const h = heap();
    const a = h.malloc(40);
    const b = h.malloc(40);
    h.free(a);
    h.free(b); // cache: b → a
    h.memory.store32(b, 0x7ffffff0);
    expect(h.malloc(40)).toBe(b);
    expectAbort(() => h.malloc(40), /corrupted/);
  });
});

describe('check()', () => {
  it('finds a scribbled header anywhere in the heap', () => {
    const h = heap();
    const blocks = Array.from({ length: 20 }, (_, i) => h.malloc(10 + i * 50));
    h.free(blocks[5]!);
    h.check();
    h.memory.store32(blocks[12]! + HEAD_FROM_PAYLOAD, 48 | 3);
    expectAbort(() => h.check(), /^check\(\)/);
  });
});

describe('cached blocks', () => {
  it('an overflow from a cached block into its neighbour is caught when the cache is flushed', () => {
    const h = heap();
    const a = h.malloc(40);
    const b = h.malloc(40);
    h.malloc(16);
    h.free(a); // cached
    h.memory.store32(b - 4, 0x41414141); // b's seal, as an overflow out of a would write it
    expectAbort(() => h.trim(), /^free\(\): invalid next size$/);
  });
});
