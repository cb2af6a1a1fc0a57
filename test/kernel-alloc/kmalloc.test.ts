import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '../../src/errors.js';
import { PAGE_SIZE } from '../../src/hw/constants.js';
import { KMALLOC_SIZES } from '../../src/kernel-alloc/size-classes.js';
import { KMALLOC_MAX_SIZE, ZERO_SIZE_PTR } from '../../src/kernel-alloc/slab-allocator.js';
import { NULL } from '../../src/kernel-alloc/slab-cache.js';
import { codeOf, fillPattern, hasPattern, makeKernel } from './helpers.js';

const NAMES = [
  'kmem_cache',
  'kmalloc-8',
  'kmalloc-16',
  'kmalloc-32',
  'kmalloc-64',
  'kmalloc-96',
  'kmalloc-128',
  'kmalloc-192',
  'kmalloc-256',
  'kmalloc-512',
  'kmalloc-1k',
  'kmalloc-2k',
  'kmalloc-4k',
  'kmalloc-8k',
];

describe('kmalloc size classes', () => {
  it('has the Linux caches, the cache of caches first', () => {
    const { slab } = makeKernel();
    expect(slab.caches().map((cache) => cache.name)).toEqual(NAMES);
  });

  it('serves every size from the smallest class that fits', () => {
    const { slab } = makeKernel();
    for (let size = 1; size <= 8192; size++) {
      const expected = KMALLOC_SIZES.find((s) => s >= size)!;
      expect(slab.kmallocCache(size).objectSize).toBe(expected);
    }
  });

  it('rounds requests at the class boundaries', () => {
    const { slab } = makeKernel();
    const cases: [number, number][] = [
      [1, 8],
      [8, 8],
      [9, 16],
      [33, 64],
      [64, 64],
      [65, 96],
      [96, 96],
      [97, 128],
      [129, 192],
      [192, 192],
      [193, 256],
      [257, 512],
      [1025, 2048],
      [4097, 8192],
      [8192, 8192],
    ];
    for (const [size, usable] of cases) {
      const address = slab.kmalloc(size);
      expect(slab.ksize(address)).toBe(usable);
      slab.kfree(address);
    }
  });

  it('aligns power-of-two sizes naturally', () => {
    const { slab } = makeKernel();
    for (const size of [8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096]) {
      expect(slab.kmalloc(size) & (size - 1)).toBe(0);
    }
  });
});

describe('kmalloc edges', () => {
  it('kmalloc(0) is ZERO_SIZE_PTR; kfree of it and of NULL does nothing', () => {
    const { slab, pages, boot } = makeKernel();
    expect(slab.kmalloc(0)).toBe(ZERO_SIZE_PTR);
    expect(slab.ksize(ZERO_SIZE_PTR)).toBe(0);
    slab.kfree(ZERO_SIZE_PTR);
    slab.kfree(NULL);
    expect(pages.allocatedPages).toBe(boot.pages);
  });

  it('rejects sizes that are not non-negative integers', () => {
    const { slab, boot } = makeKernel();
    for (const size of [-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(() => slab.kmalloc(size)).toThrow(InvalidArgumentError);
    }
    expect(slab.stats().activeObjects).toBe(boot.objects);
  });

  it('serves sizes above 8 KiB with whole pages and frees them', () => {
    const { slab, pages, boot } = makeKernel();
    const big = slab.kmalloc(8193);
    expect(big & (PAGE_SIZE - 1)).toBe(0);
    expect(slab.ksize(big)).toBe(4 * PAGE_SIZE);
    expect(pages.allocatedPages).toBe(boot.pages + 4);
    expect(slab.stats().largeBytes).toBe(4 * PAGE_SIZE);
    expect(codeOf(() => slab.kfree(big + PAGE_SIZE))).toBe('INVALID_POINTER');
    expect(codeOf(() => slab.kfree(big + 8))).toBe('INVALID_POINTER');
    slab.kfree(big);
    expect(pages.allocatedPages).toBe(boot.pages);
    expect(codeOf(() => slab.kfree(big))).toBe('INVALID_POINTER');
  });

  it('returns NULL beyond the largest kmalloc and when pages run out', () => {
    const { slab, boot } = makeKernel({ pageCount: 8 });
    expect(slab.kmalloc(KMALLOC_MAX_SIZE + 1)).toBe(NULL);
    expect(slab.kmalloc(16 * PAGE_SIZE)).toBe(NULL);
    expect(slab.stats().pages).toBe(boot.pages);
  });
});

describe('krealloc', () => {
  it('keeps the block while it fits, moves it with its contents otherwise', () => {
    const { slab, memory, boot } = makeKernel();
    const a = slab.kmalloc(40);
    fillPattern(memory, a, 40, 3);
    expect(slab.krealloc(a, 64)).toBe(a);
    const b = slab.krealloc(a, 500);
    expect(b).not.toBe(a);
    expect(slab.ksize(b)).toBe(512);
    expect(hasPattern(memory, b, 40, 3)).toBe(true);
    expect(slab.kmallocCache(64).activeObjects).toBe(0);
    const c = slab.krealloc(b, 20_000);
    expect(hasPattern(memory, c, 40, 3)).toBe(true);
    expect(slab.krealloc(c, 0)).toBe(ZERO_SIZE_PTR);
    expect(slab.stats().pages).toBe(slab.stats().slabBytes / PAGE_SIZE);
    expect(slab.stats().activeObjects).toBe(boot.objects);
    expect(slab.stats().largeBytes).toBe(0);
  });

  it('acts as kmalloc on NULL and ZERO_SIZE_PTR, and keeps the old block on failure', () => {
    const { slab, memory } = makeKernel({ pageCount: 3 }); // kmem_cache's, then one each
    const a = slab.krealloc(NULL, 100);
    expect(slab.ksize(a)).toBe(128);
    expect(slab.ksize(slab.krealloc(ZERO_SIZE_PTR, 10))).toBe(16);
    fillPattern(memory, a, 100, 9);
    expect(slab.krealloc(a, 50_000)).toBe(NULL);
    expect(hasPattern(memory, a, 100, 9)).toBe(true);
    expect(slab.ksize(a)).toBe(128);
  });
});
