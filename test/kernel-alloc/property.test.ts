import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ZERO_SIZE_PTR } from '../../src/kernel-alloc/slab-allocator.js';
import { NULL, type SlabCache } from '../../src/kernel-alloc/slab-cache.js';
import { fillPattern, hasPattern, makeKernel } from './helpers.js';

/** One step of a random run. */
type Op =
  | { kind: 'kmalloc'; size: number }
  | { kind: 'cache'; cache: number }
  | { kind: 'free'; pick: number }
  | { kind: 'realloc'; pick: number; size: number }
  | { kind: 'shrink' };

const op: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant('kmalloc' as const),
      size: fc.oneof(fc.integer({ min: 0, max: 300 }), fc.integer({ min: 0, max: 20_000 })),
    }),
  },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('cache' as const), cache: fc.nat(2) }) },
  { weight: 5, arbitrary: fc.record({ kind: fc.constant('free' as const), pick: fc.nat() }) },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('realloc' as const),
      pick: fc.nat(),
      size: fc.integer({ min: 0, max: 3000 }),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('shrink' as const) }) },
);

interface Block {
  address: number;
  size: number;
  seed: number;
  cache: SlabCache | undefined;
}

function run(ops: Op[], debug: boolean, pageCount: number): void {
  const kernel = makeKernel({ debug, pageCount });
  const { slab, memory, pages, boot } = kernel;
  const baseline = pages.allocatedPages;
  const caches = [
    slab.createCache('inode', 120, 8),
    slab.createCache('dentry', 192, 64),
    slab.createCache('vma', 40, 8, (a) => memory.store32(a, 0x7e57)),
  ];
  const held: Block[] = [];
  let seed = 0;
  const record = (address: number, size: number, cache?: SlabCache): void => {
    if (address === NULL || address === ZERO_SIZE_PTR) return;
    seed++;
    held.push({ address, size, seed, cache });
    fillPattern(memory, address, size, seed);
  };
  for (const step of ops) {
    if (step.kind === 'kmalloc') {
      const address = slab.kmalloc(step.size);
      if (step.size === 0) expect(address).toBe(ZERO_SIZE_PTR);
      if (address !== NULL && address !== ZERO_SIZE_PTR) {
        expect(slab.ksize(address)).toBeGreaterThanOrEqual(step.size);
      }
      record(address, step.size);
    } else if (step.kind === 'cache') {
      const cache = caches[step.cache]!;
      const address = cache.alloc();
      if (address !== NULL) {
        expect(address & (cache.align - 1)).toBe(0);
        if (cache.name === 'vma') expect(memory.load32(address)).toBe(0x7e57);
      }
      record(address, cache.objectSize, cache);
    } else if (step.kind === 'free' && held.length > 0) {
      const [block] = held.splice(step.pick % held.length, 1);
      expect(hasPattern(memory, block!.address, block!.size, block!.seed)).toBe(true);
      if (block!.cache?.name === 'vma') memory.store32(block!.address, 0x7e57); // constructed state
      if (block!.cache) block!.cache.free(block!.address);
      else slab.kfree(block!.address);
    } else if (step.kind === 'realloc' && held.length > 0) {
      const index = step.pick % held.length;
      const block = held[index]!;
      if (block.cache) continue;
      const moved = slab.krealloc(block.address, step.size);
      if (moved === NULL) continue;
      held.splice(index, 1);
      if (moved === ZERO_SIZE_PTR) continue;
      const kept = Math.min(block.size, step.size);
      expect(hasPattern(memory, moved, kept, block.seed)).toBe(true);
      record(moved, step.size);
    } else if (step.kind === 'shrink') {
      slab.shrinkAll();
    }
  }
  checkNoOverlap(held);
  for (const block of held) {
    expect(hasPattern(memory, block.address, block.size, block.seed)).toBe(true);
  }
  expect(slab.validate()).toBe(0);
  for (const cache of caches) {
    expect(cache.activeObjects).toBe(held.filter((b) => b.cache === cache).length);
  }
  const stats = slab.stats();
  expect(stats.pages).toBe(pages.allocatedPages);
  expect(stats.reclaimableBytes + stats.unreclaimableBytes).toBe(stats.slabBytes);
  for (const block of held) {
    if (block.cache) block.cache.free(block.address);
    else slab.kfree(block.address);
  }
  expect(slab.stats().activeObjects).toBe(boot.objects + caches.length);
  for (const cache of caches) cache.destroy();
  expect(slab.stats().activeObjects).toBe(boot.objects);
  slab.shrinkAll();
  expect(pages.allocatedPages).toBe(baseline);
  expect(slab.stats().pages).toBe(boot.pages);
  expect(slab.validate()).toBe(0);
}

function checkNoOverlap(held: Block[]): void {
  const sorted = [...held].sort((a, b) => a.address - b.address);
  for (let i = 1; i < sorted.length; i++) {
    expect(sorted[i - 1]!.address + sorted[i - 1]!.size).toBeLessThanOrEqual(sorted[i]!.address);
  }
}

describe('random alloc/free against a shadow model', () => {
  it('keeps every invariant (plain caches)', () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 400, size: 'max' }), (ops) => run(ops, false, 2048)),
      { numRuns: 60 },
    );
  });

  it('keeps every invariant (debug caches)', () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 300, size: 'max' }), (ops) => run(ops, true, 2048)),
      { numRuns: 30 },
    );
  });

  it('keeps every invariant when memory runs out', () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 300, size: 'max' }), (ops) => run(ops, false, 24)),
      { numRuns: 40 },
    );
  });
});
