/**
 * Differential property test: random operation sequences against a shadow model of live blocks.
 * After every op: alignment, usable ≥ requested; at every free/realloc: contents intact (realloc
 * keeps the prefix); every CHECK_EVERY ops: no two live blocks overlap and check() passes.
 * Teardown frees everything and the heap must be back to its baseline.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { mulberry32 } from '../../src/random.js';
import { createFlatHeap } from '../../src/user-alloc/flat-heap.js';
import { UserAllocator } from '../../src/user-alloc/user-allocator.js';
import { TestHost } from './hosts.js';

const CHECK_EVERY = 2_000;
const SLOTS = 256;

interface Shadow {
  ptr: Float64Array;
  size: Float64Array;
  align: Float64Array;
}

function byteFor(slot: number, generation: number): number {
  return ((slot * 31 + generation * 7) & 0xff) | 1;
}

function drawSize(r: () => number, maxSize: number): number {
  const kind = r();
  if (kind < 0.7) return Math.floor(r() * 128);
  if (kind < 0.98) return Math.floor(r() * 2048);
  return Math.floor(r() * maxSize);
}

function expectContents(heap: UserAllocator, p: number, bytes: number, byte: number): void {
  const contents = heap.memory.readBytes(p, bytes);
  for (let k = 0; k < bytes; k++) {
    if (contents[k] !== byte)
      throw new Error(`byte ${k} of block ${p} is ${contents[k]}, not ${byte}`);
  }
}

function expectNoOverlap(heap: UserAllocator, shadow: Shadow): void {
  const blocks: [number, number][] = [];
  for (let s = 0; s < SLOTS; s++) {
    const p = shadow.ptr[s]!;
    if (p !== 0) blocks.push([p, p + heap.usableSize(p)]);
  }
  blocks.sort((a, b) => a[0] - b[0]);
  for (let k = 1; k < blocks.length; k++) {
    if (blocks[k]![0] < blocks[k - 1]![1]) throw new Error(`blocks overlap at ${blocks[k]![0]}`);
  }
}

/** Runs `ops` random operations; returns nothing, throws on the first discrepancy. */
function runSequence(heap: UserAllocator, seed: number, ops: number, maxSize: number): void {
  const r = mulberry32(seed);
  const shadow: Shadow = {
    ptr: new Float64Array(SLOTS),
    size: new Float64Array(SLOTS),
    align: new Float64Array(SLOTS),
  };
  const generation = new Uint32Array(SLOTS);
  const baseline = heap.mallinfo();
  const place = (slot: number, p: number, size: number, align: number) => {
    if (p === 0 || p % align !== 0) throw new Error(`block ${p} not aligned to ${align}`);
    if (heap.usableSize(p) < size) throw new Error(`block ${p} smaller than ${size}`);
    generation[slot]!++;
    heap.memory.fill(p, size, byteFor(slot, generation[slot]!));
    shadow.ptr[slot] = p;
    shadow.size[slot] = size;
    shadow.align[slot] = align;
  };
  for (let op = 0; op < ops; op++) {
    const slot = Math.floor(r() * SLOTS);
    const p = shadow.ptr[slot]!;
    const choice = r();
    if (p === 0) {
      const size = drawSize(r, maxSize);
      if (choice < 0.7) {
        place(slot, heap.malloc(size), size, 16);
      } else if (choice < 0.85) {
        const count = 1 + Math.floor(r() * 4);
        const each = size >> 2;
        const q = heap.calloc(count, each);
        expectContents(heap, q, count * each, 0);
        place(slot, q, count * each, 16);
      } else {
        const align = 2 ** Math.floor(r() * 13);
        place(slot, heap.memalign(align, size), size, Math.max(align, 16));
      }
    } else if (choice < 0.3) {
      const size = 1 + drawSize(r, maxSize);
      const kept = Math.min(size, shadow.size[slot]!);
      const q = heap.realloc(p, size);
      expectContents(heap, q, kept, byteFor(slot, generation[slot]!));
      place(slot, q, size, 16);
    } else {
      expectContents(heap, p, shadow.size[slot]!, byteFor(slot, generation[slot]!));
      heap.free(p);
      shadow.ptr[slot] = 0;
    }
    if (op % CHECK_EVERY === 0) {
      heap.check();
      expectNoOverlap(heap, shadow);
    }
  }
  heap.check();
  expectNoOverlap(heap, shadow);
  for (let slot = 0; slot < SLOTS; slot++) if (shadow.ptr[slot] !== 0) heap.free(shadow.ptr[slot]!);
  heap.trim();
  heap.check();
  const after = heap.mallinfo();
  expect(after.uordblks).toBe(baseline.uordblks);
  expect(after.ordblks).toBe(1);
  expect(after.hblks).toBe(0);
}

describe('UserAllocator against a shadow model', () => {
  it('flat heap: 600k random operations over 30 sequences', () => {
    fc.assert(
      fc.property(fc.integer(), fc.integer({ min: 0, max: 80 }), (seed, cacheLimit) => {
        const heap = createFlatHeap(32 * 1024 * 1024, { cacheLimit, seed });
        heap.free(heap.malloc(1)); // the baseline starts with the heap set up
        heap.trim();
        runSequence(heap, seed, 20_000, 64 * 1024);
      }),
      { numRuns: 30 },
    );
  });

  it('heap with mmap and small thresholds: 400k random operations over 20 sequences', () => {
    fc.assert(
      fc.property(
        fc.integer(),
        fc.integer({ min: 4096, max: 65536 }),
        fc.integer({ min: 0, max: 256 * 1024 }),
        (seed, mmapThreshold, trimThreshold) => {
          const host = new TestHost();
          const heap = new UserAllocator(host, {
            mmapThreshold,
            trimThreshold,
            seed,
          });
          heap.free(heap.malloc(1));
          heap.trim();
          runSequence(heap, seed, 20_000, 200 * 1024);
          expect(host.mappedBytes()).toBe(0);
        },
      ),
      { numRuns: 20 },
    );
  });

  it('large reallocs of mmapped blocks through mremap (and without it, by copying)', () => {
    fc.assert(
      fc.property(fc.integer(), fc.boolean(), (seed, mremapAllowed) => {
        const host = new TestHost();
        host.mremapAllowed = mremapAllowed;
        const heap = new UserAllocator(host, { mmapThreshold: 64 * 1024, seed });
        heap.free(heap.malloc(1));
        heap.trim();
        runSequence(heap, seed, 10_000, 1024 * 1024);
        expect(host.mappedBytes()).toBe(0);
        expect(host.mremapCalls > 0).toBe(mremapAllowed);
      }),
      { numRuns: 10 },
    );
  });
});
