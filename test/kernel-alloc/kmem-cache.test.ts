/**
 * The cache of caches: kmem_cache is bootstrapped by hand with a static descriptor, and every
 * other cache's descriptor is one of its objects, its fields stored in kernel memory.
 */
import { describe, expect, it } from 'vitest';
import { Machine } from '../../src/kernel/machine.js';
import {
  KMEM_CACHE_SIZE,
  readCacheDescriptor,
  SLAB_POISON,
  SLAB_RECLAIM_ACCOUNT,
  SLAB_RED_ZONE,
} from '../../src/kernel-alloc/cache-descriptor.js';
import { SlabError } from '../../src/kernel-alloc/errors.js';
import { SlabAllocator } from '../../src/kernel-alloc/slab-allocator.js';
import type { SlabCache } from '../../src/kernel-alloc/slab-cache.js';
import { kbField } from '../procfs/fields.js';
import { codeOf, makeKernel } from './helpers.js';

/** What `cache`'s descriptor must read back as. */
function expectedDescriptor(cache: SlabCache) {
  const g = cache.geometry;
  return {
    batchcount: cache.arrayBatch,
    limit: cache.arrayLimit,
    size: g.stride,
    objectSize: cache.objectSize,
    align: cache.align,
    num: g.objectsPerSlab,
    gfporder: g.order,
    colour: g.colours,
    colourOff: g.colourUnit,
    id: cache.id,
    name: cache.name,
  };
}

describe('kmem_cache, the cache of caches', () => {
  it('holds the descriptor of every other cache as an object, fields in kernel memory', () => {
    const { slab, memory } = makeKernel();
    slab.createCache('dentry', 192, 64, undefined, { reclaimable: true });
    slab.createCache('debugged', 40, 8, undefined, { debug: true });
    const [cacheCache, ...others] = slab.caches();
    expect(cacheCache!.name).toBe('kmem_cache');
    expect(cacheCache!.objectSize).toBe(KMEM_CACHE_SIZE);
    expect(cacheCache!.activeObjects).toBe(others.length);
    for (const cache of others) {
      expect(slab.slabAt(cache.descriptor)?.cache).toBe(cacheCache);
      expect(readCacheDescriptor(memory, cache.descriptor)).toMatchObject(
        expectedDescriptor(cache),
      );
    }
    expect(new Set(others.map((c) => c.descriptor)).size).toBe(others.length);
    const flags = (name: string) =>
      readCacheDescriptor(memory, others.find((c) => c.name === name)!.descriptor).flags;
    expect(flags('dentry')).toBe(SLAB_RECLAIM_ACCOUNT);
    expect(flags('debugged')).toBe(SLAB_RED_ZONE | SLAB_POISON);
    expect(flags('kmalloc-64')).toBe(0);
  });

  it('keeps its own descriptor in the static memory it is given, not in a slab', () => {
    const { memory, pages } = makeKernel({ pageCount: 16 });
    const staticMemory = pages.allocKernelPages(0); // stands in for the kernel image's data
    const slab = new SlabAllocator(pages, memory, { bootDescriptor: staticMemory });
    const cacheCache = slab.caches()[0]!;
    expect(cacheCache.descriptor).toBe(staticMemory);
    expect(slab.slabAt(staticMemory)).toBeUndefined();
    expect(readCacheDescriptor(memory, staticMemory)).toMatchObject(expectedDescriptor(cacheCache));
  });

  it('fails createCache with OUT_OF_MEMORY when no descriptor can be had, changing nothing', () => {
    const { slab } = makeKernel({ pageCount: 1 }); // the one page holds the boot descriptors
    const made: SlabCache[] = [];
    let error: unknown;
    for (let i = 0; error === undefined; i++) {
      try {
        made.push(slab.createCache(`c${i}`, 64));
      } catch (thrown) {
        error = thrown;
      }
    }
    const cacheCache = slab.caches()[0]!;
    expect(error).toBeInstanceOf(SlabError);
    expect((error as SlabError).code).toBe('OUT_OF_MEMORY');
    expect(slab.caches().length).toBe(cacheCache.activeObjects + 1);
    expect(cacheCache.totalObjects).toBe(cacheCache.activeObjects + cacheCache.arrayObjects);
    for (const cache of made) cache.destroy();
    expect(codeOf(() => slab.createCache('again', 64))).toBeUndefined();
    expect(slab.validate()).toBe(0);
  });
});

describe('the descriptors in kernel memory', () => {
  it('are checked by validate: an overwritten field or name is DESCRIPTOR_CORRUPT', () => {
    const { slab, memory } = makeKernel();
    const cache = slab.createCache('victim', 100);
    const found: SlabError[] = [];
    expect(slab.validate()).toBe(0);
    const objectSize = cache.descriptor + 12;
    memory.store32(objectSize, 4096);
    expect(slab.validate((error) => found.push(error))).toBe(1);
    expect(found.map((e) => [e.code, e.cacheName, e.address])).toEqual([
      ['DESCRIPTOR_CORRUPT', 'victim', cache.descriptor],
    ]);
    memory.store32(objectSize, 100);
    expect(slab.validate()).toBe(0);
    memory.store8(cache.descriptor + 48, 'V'.charCodeAt(0)); // name[0]
    expect(slab.validate()).toBe(1);
  });

  it("make machine.check() fail when the kernel's own descriptor is overwritten", () => {
    const machine = Machine.boot({ memory: '16M' });
    const tasks = machine.objects.tasks.descriptor;
    machine.check();
    machine.atCpl0(() => machine.mmu.store32(tasks + 24, 0)); // num: objects per slab
    expect(() => machine.check()).toThrow(/slab: validate\(\) found 1 errors/);
  });
});

describe('a machine right after boot', () => {
  it('lists the boot slabs in /proc/slabinfo and counts them in meminfo Slab', () => {
    const machine = Machine.boot({ memory: '64M' });
    const slabinfo = machine.procfs.read('/proc/slabinfo');
    const line = (name: string) =>
      slabinfo
        .split('\n')
        .find((l) => l.startsWith(`${name} `))
        ?.split(/\s+/);
    const kmemCache = line('kmem_cache')!;
    const caches = machine.slab.caches().length;
    expect(Number(kmemCache[1])).toBeGreaterThanOrEqual(caches - 1); // active_objs
    expect(Number(kmemCache[3])).toBe(KMEM_CACHE_SIZE); // objsize
    expect(Number(kmemCache.at(-2))).toBeGreaterThan(0); // num_slabs
    for (const name of ['task_struct', 'mm_struct', 'vm_area_struct', 'kmalloc-64'])
      expect(line(name)).toBeDefined();
    const meminfo = machine.procfs.read('/proc/meminfo');
    const kB = (name: string) => kbField(meminfo, name);
    expect(kB('Slab')).toBeGreaterThan(0);
    expect(kB('SUnreclaim')).toBe(kB('Slab'));
    expect(kB('Slab')).toBe((machine.slab.stats().pages * 4096) / 1024);
  });

  it("keeps kmem_cache's own descriptor in the kernel image's data, read back through the MMU", () => {
    const machine = Machine.boot({ memory: '64M' });
    const cacheCache = machine.slab.caches()[0]!;
    expect(cacheCache.descriptor).toBe(machine.vm.kernelData);
    expect(machine.vm.kernelData).toBeLessThan(0); // a kernel (sign-extended) address
    const read = machine.atCpl0(() => readCacheDescriptor(machine.mmu, cacheCache.descriptor));
    expect(read).toMatchObject(expectedDescriptor(cacheCache));
    const task = machine.objects.tasks;
    expect(machine.atCpl0(() => readCacheDescriptor(machine.mmu, task.descriptor).name)).toBe(
      'task_struct',
    );
  });
});
