import { describe, expect, it } from 'vitest';
import { PAGE_SIZE } from '../../src/hw/constants.js';
import { makeKernel } from './helpers.js';

const HEADER = [
  'slabinfo - version: 2.1',
  '# name            <active_objs> <num_objs> <objsize> <objperslab> <pagesperslab> : tunables <limit> <batchcount> <sharedfactor> : slabdata <active_slabs> <num_slabs> <sharedavail>',
];

describe('slabinfo', () => {
  it('prints the version 2.1 header and one line per cache, newest first', () => {
    const { slab } = makeKernel();
    for (let i = 0; i < 3; i++) slab.kmalloc(64);
    slab.createCache('task_struct', 1000);
    const lines = slab.slabinfo().split('\n');
    expect(lines.slice(0, 2)).toEqual(HEADER);
    expect(lines[2]!.startsWith('task_struct ')).toBe(true);
    expect(lines).toContain(
      // 3 objects held, 57 more of the first refill's 60 parked in the per-CPU array
      'kmalloc-64            60     64     64   64    1 : tunables  120   60    0 : slabdata      1      1      0',
    );
    expect(lines.at(-1)).toBe('');
    expect(lines.length).toBe(2 + slab.caches().length + 1);
  });

  it('counts objects, slot size and slabs as the cache holds them', () => {
    const { slab } = makeKernel();
    const cache = slab.createCache('dentry', 192, 64);
    const g = cache.geometry;
    const objects = Array.from({ length: g.objectsPerSlab + 1 }, () => cache.alloc());
    for (const object of objects.slice(0, 1)) cache.free(object);
    const extra = Array.from({ length: 2 * g.objectsPerSlab }, () => cache.alloc());
    for (const object of extra) cache.free(object);
    cache.drainArray(); // leaves one empty slab
    const line = slab
      .slabinfo()
      .split('\n')
      .find((l) => l.startsWith('dentry '))!;
    const fields = line
      .split(/[\s:]+/)
      .filter((f) => f !== '' && !/^[a-z]/.test(f))
      .map(Number);
    const slabs = cache.slabCount;
    expect(fields).toEqual([
      g.objectsPerSlab, // active objects
      slabs * g.objectsPerSlab,
      g.stride,
      g.objectsPerSlab,
      1,
      cache.arrayLimit,
      cache.arrayBatch,
      0,
      slabs - 1, // active slabs: the empty one is not
      slabs,
      0,
    ]);
  });
});

describe('meminfo figures', () => {
  it('splits slab memory into reclaimable and unreclaimable, large kmallocs included', () => {
    const { slab, boot } = makeKernel();
    const dentries = slab.createCache('dentry', 192, 8, undefined, { reclaimable: true });
    dentries.alloc();
    slab.kmalloc(100);
    slab.kmalloc(5 * PAGE_SIZE);
    const stats = slab.stats();
    expect(stats.reclaimableBytes).toBe(dentries.pageCount * PAGE_SIZE);
    expect(stats.largeBytes).toBe(8 * PAGE_SIZE);
    expect(stats.unreclaimableBytes).toBe(
      (boot.pages + slab.kmallocCache(100).pageCount + 8) * PAGE_SIZE,
    );
    expect(stats.slabBytes).toBe(stats.reclaimableBytes + stats.unreclaimableBytes);
    expect(stats.activeObjects).toBe(boot.objects + 1 + 2); // dentry's descriptor, two objects
  });
});
