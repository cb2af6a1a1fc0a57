import { describe, expect, it } from 'vitest';
import { createSlabS1 } from '../../src/bench/slab.js';
import { runWorkload, WORKLOADS } from '../../src/bench/workloads.js';
import { InvalidArgumentError } from '../../src/errors.js';
import { PAGE_SIZE } from '../../src/hw/constants.js';
import { FlatKernelMemory, FlatPageSource } from '../../src/kernel-alloc/standalone.js';
import { DIRECT_MAP_BASE } from '../../src/virtual/layout.js';

describe('flat kernel memory', () => {
  it('reads back little-endian values at any alignment', () => {
    const memory = new FlatKernelMemory(PAGE_SIZE);
    const at = DIRECT_MAP_BASE + 100;
    memory.store32(at + 1, 0x11223344);
    expect(memory.load8(at + 1)).toBe(0x44);
    expect(memory.load16(at + 3)).toBe(0x1122);
    expect(memory.load32(at + 1)).toBe(0x11223344);
    memory.store32(at + 8, -1);
    expect(memory.load32(at + 8)).toBe(0xffffffff);
    memory.fill(at, 4, 0xab);
    expect([...memory.readBytes(at, 5)]).toEqual([0xab, 0xab, 0xab, 0xab, 0x11]);
  });

  it('refuses accesses outside its buffer', () => {
    const memory = new FlatKernelMemory(PAGE_SIZE);
    expect(() => memory.load32(DIRECT_MAP_BASE + PAGE_SIZE)).toThrow(RangeError);
    expect(() => memory.load32(DIRECT_MAP_BASE + PAGE_SIZE - 2)).toThrow(RangeError);
    expect(() => memory.store8(DIRECT_MAP_BASE - 1, 0)).toThrow(RangeError);
    expect(() => memory.fill(DIRECT_MAP_BASE, PAGE_SIZE + 1, 0)).toThrow(RangeError);
  });
});

describe('flat page source', () => {
  it('hands out blocks of the asked order and takes back only those', () => {
    const pages = new FlatPageSource(0, 8);
    const a = pages.allocKernelPages(2);
    const b = pages.allocKernelPages(1);
    expect(b - a).toBe(4 * PAGE_SIZE);
    expect(pages.allocatedPages).toBe(6);
    expect(() => pages.freeKernelPages(a, 1)).toThrow(InvalidArgumentError);
    expect(() => pages.freeKernelPages(a + PAGE_SIZE, 0)).toThrow(InvalidArgumentError);
    expect(pages.allocKernelPages(2)).toBe(-1);
    pages.freeKernelPages(a, 2);
    expect(() => pages.freeKernelPages(a, 2)).toThrow(InvalidArgumentError);
    expect(pages.allocKernelPages(2)).toBe(a);
    expect(() => pages.allocKernelPages(11)).toThrow(InvalidArgumentError);
  });
});

describe('S1 benchmark adapter', () => {
  it('runs a short S1 and leaves the allocator as it found it', () => {
    const s1 = { ...WORKLOADS.find((w) => w.name === 'S1')!, ops: 20_000, slots: 2_000 };
    const { allocator, slots } = createSlabS1();
    runWorkload(s1, slots);
    expect(slots.cache.activeObjects).toBe(0);
    expect(allocator.validate()).toBe(0);
    expect(allocator.shrinkAll()).toBeGreaterThan(0);
    expect(allocator.stats().pages).toBe(1); // the kmem_cache slab of the caches' descriptors
  });
});
