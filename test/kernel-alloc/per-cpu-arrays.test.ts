import { describe, expect, it } from 'vitest';
import { makeKernel } from './helpers.js';

describe('per-CPU arrays', () => {
  it('each CPU reuses what it freed itself; the counts cover every CPU', () => {
    const { slab } = makeKernel({ cpus: 2 });
    const cache = slab.createCache('objects', 64);
    const batch = cache.arrayBatch; // what an empty array takes from the slabs at once
    const a = cache.alloc();
    cache.free(a);
    expect(cache.arrayObjects).toBe(batch);
    slab.useCpu(1);
    const b = cache.alloc();
    expect(b).not.toBe(a); // a waits in CPU 0's array
    cache.free(b);
    expect(cache.arrayObjects).toBeGreaterThan(batch); // both arrays hold objects
    slab.useCpu(0);
    expect(cache.alloc()).toBe(a);
    slab.useCpu(1);
    expect(cache.alloc()).toBe(b);
    cache.free(a);
    cache.free(b);
    expect(slab.validate()).toBe(0);
  });

  it('an idle CPU drains only its own array; shrink drains them all', () => {
    const { slab } = makeKernel({ cpus: 3 });
    const cache = slab.createCache('objects', 64);
    for (const cpu of [0, 1, 2]) {
      slab.useCpu(cpu);
      cache.free(cache.alloc());
    }
    slab.useCpu(1);
    slab.drainThisCpu();
    expect(cache.arrayObjects).toBe(2 * cache.arrayBatch);
    slab.shrinkAll();
    expect(cache.arrayObjects).toBe(0);
    expect(cache.activeObjects).toBe(0);
    expect(slab.validate()).toBe(0);
  });

  it('validate finds an object freed on two CPUs (in both arrays)', () => {
    const { slab } = makeKernel({ cpus: 2 });
    const cache = slab.createCache('objects', 64);
    const a = cache.alloc();
    cache.free(a);
    slab.useCpu(1);
    cache.free(a);
    const errors: string[] = [];
    expect(slab.validate((error) => errors.push(error.message))).toBeGreaterThan(0);
    expect(errors.join('\n')).toMatch(/objects/);
  });
});
