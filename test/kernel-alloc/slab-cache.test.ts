import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '../../src/errors.js';
import { PAGE_SIZE } from '../../src/hw/constants.js';
import { CACHE_LINE_SIZE, WASTE_FRACTION } from '../../src/kernel-alloc/geometry.js';
import { NULL, type SlabInfo } from '../../src/kernel-alloc/slab-cache.js';
import { codeOf, makeKernel } from './helpers.js';

describe('slab geometry', () => {
  it('picks the smallest order that wastes at most 1/8 of a slab', () => {
    const { slab } = makeKernel();
    for (const size of [8, 24, 100, 700, 1000, 1500, 3000, 5000, 9000, 20000, 40000]) {
      const g = slab.createCache(`c${size}`, size).geometry;
      const waste = g.slabBytes - g.objectsPerSlab * g.stride;
      expect(g.objectsPerSlab).toBeGreaterThan(0);
      expect(waste * WASTE_FRACTION).toBeLessThanOrEqual(g.slabBytes);
      if (g.order > 0) {
        const smaller = PAGE_SIZE << (g.order - 1);
        const fit = Math.floor(smaller / g.stride);
        expect(fit === 0 || (smaller - fit * g.stride) * WASTE_FRACTION > smaller).toBe(true);
      }
    }
  });

  it('cycles the colour of successive slabs through the leftover in cache lines', () => {
    const { slab } = makeKernel();
    const cache = slab.createCache('colour', 200); // 20 objects, 96 bytes left: 2 colours
    const g = cache.geometry;
    expect(g.colours).toBe(2);
    const firstOffsets: number[] = [];
    for (let s = 0; s < 4; s++) {
      const objects = Array.from({ length: g.objectsPerSlab }, () => cache.alloc());
      firstOffsets.push(Math.min(...objects.map((a) => a & (PAGE_SIZE - 1))));
    }
    expect(firstOffsets).toEqual([0, CACHE_LINE_SIZE, 0, CACHE_LINE_SIZE]);
  });

  it('aligns every object to the requested alignment', () => {
    const { slab } = makeKernel();
    const cache = slab.createCache('aligned', 40, 128);
    for (let i = 0; i < 100; i++) expect(cache.alloc() & 127).toBe(0);
  });

  it('rejects bad cache arguments and creates nothing', () => {
    const { slab } = makeKernel();
    const before = slab.caches().length;
    slab.createCache('twice', 32);
    expect(() => slab.createCache('twice', 32)).toThrow(InvalidArgumentError);
    expect(() => slab.createCache('has space', 32)).toThrow(InvalidArgumentError);
    expect(() => slab.createCache('', 32)).toThrow(InvalidArgumentError);
    expect(() => slab.createCache('zero', 0)).toThrow(InvalidArgumentError);
    expect(() => slab.createCache('frac', 2.5)).toThrow(InvalidArgumentError);
    expect(() => slab.createCache('odd-align', 32, 24)).toThrow(InvalidArgumentError);
    expect(() => slab.createCache('huge-align', 32, 2 * PAGE_SIZE)).toThrow(InvalidArgumentError);
    expect(() => slab.createCache('huge', 200_000)).toThrow(InvalidArgumentError);
    expect(slab.caches().length).toBe(before + 1);
  });
});

describe('constructors', () => {
  it('run once per object when a slab is populated, not per allocation', () => {
    const { slab, memory } = makeKernel();
    const constructed: number[] = [];
    const cache = slab.createCache('ctor', 48, 8, (address) => {
      constructed.push(address);
      memory.store32(address, 0xc0ffee);
    });
    const perSlab = cache.geometry.objectsPerSlab;
    const a = cache.alloc();
    expect(constructed.length).toBe(perSlab);
    expect(memory.load32(a)).toBe(0xc0ffee);
    cache.free(a);
    expect(cache.alloc()).toBe(a);
    expect(memory.load32(a)).toBe(0xc0ffee); // freed and reallocated: still constructed
    for (let i = 1; i < perSlab; i++) cache.alloc();
    expect(constructed.length).toBe(perSlab);
    cache.alloc();
    expect(constructed.length).toBe(2 * perSlab);
    expect(new Set(constructed).size).toBe(2 * perSlab);
  });

  it('a throwing constructor returns the pages and leaves the cache empty', () => {
    const { slab, pages, boot } = makeKernel();
    const cache = slab.createCache('bad-ctor', 64, 8, () => {
      throw new Error('no');
    });
    expect(() => cache.alloc()).toThrow('no');
    expect(pages.allocatedPages).toBe(boot.pages);
    expect(cache.slabCount).toBe(0);
    expect(slab.validate()).toBe(0);
  });
});

describe('the per-CPU array', () => {
  it('hands out the last freed object first and moves objects to the slabs in batches', () => {
    const { slab, pages, boot } = makeKernel();
    const cache = slab.createCache('array', 64);
    expect([cache.arrayLimit, cache.arrayBatch]).toEqual([120, 60]);
    const x = cache.alloc();
    cache.free(x);
    expect(cache.alloc()).toBe(x);
    const objects = [x, ...Array.from({ length: 2 * cache.arrayLimit }, () => cache.alloc())];
    for (const object of objects) cache.free(object); // overflows the array: batches go back
    expect(cache.activeObjects).toBe(0);
    expect(cache.validate()).toBe(0);
    expect(cache.activeSlabs).toBeGreaterThan(0); // the array's objects still hold their slabs
    cache.drainArray();
    expect(cache.activeSlabs).toBe(0);
    expect(cache.shrink()).toBe(
      cache.geometry.pagesPerSlab * Math.ceil(objects.length / cache.geometry.objectsPerSlab),
    );
    expect(pages.allocatedPages).toBe(boot.pages);
  });

  it('refuses a second free of the object it just took, changing nothing', () => {
    const { slab } = makeKernel();
    const cache = slab.createCache('twice', 64);
    const [a, b] = [cache.alloc(), cache.alloc()];
    cache.free(a);
    expect(codeOf(() => cache.free(a))).toBe('DOUBLE_FREE');
    expect(cache.activeObjects).toBe(1);
    expect(cache.validate()).toBe(0);
    expect(cache.alloc()).toBe(a);
    expect([a, b]).not.toContain(cache.alloc());
  });

  it('catches a double free hidden in the array when it is flushed, after the free at hand', () => {
    const { slab } = makeKernel();
    const cache = slab.createCache('late', 64);
    const [a, b] = [cache.alloc(), cache.alloc()];
    const others = Array.from({ length: cache.arrayLimit }, () => cache.alloc());
    cache.free(a);
    cache.free(b);
    cache.free(a); // neither the last freed nor on a slab's free list: not seen yet
    let late: unknown;
    for (const object of others) {
      try {
        cache.free(object);
      } catch (error) {
        late ??= error;
      }
    }
    expect(late).toMatchObject({ code: 'DOUBLE_FREE', address: a });
    expect(cache.activeObjects).toBe(0); // every free done, the duplicate undone
    expect(cache.validate()).toBe(0);
    cache.drainArray();
    expect(cache.activeSlabs).toBe(0);
  });

  it('drops every duplicate hidden in a full array at the flush, and counts each free once', () => {
    const { slab } = makeKernel();
    const cache = slab.createCache('dupes', 64);
    const objects = Array.from({ length: cache.arrayLimit - 3 }, () => cache.alloc());
    cache.drainArray(); // the objects a refill left in the array go back to their slabs
    for (const object of objects) cache.free(object);
    // Three objects deep in the array (neither the last freed nor heading a slab's free list)
    // are freed again: the array is then full, holding each of them twice.
    const twice = [objects[0]!, objects[40]!, objects[80]!];
    for (const object of twice) cache.free(object);
    expect(cache.arrayObjects).toBe(cache.arrayLimit);
    let late: unknown;
    try {
      cache.drainArray();
    } catch (error) {
      late = error;
    }
    expect(late).toMatchObject({ code: 'DOUBLE_FREE', address: twice[0] });
    expect(cache.activeObjects).toBe(0);
    expect(cache.arrayObjects).toBe(0);
    expect(cache.validate()).toBe(0);
    const again = Array.from({ length: objects.length }, () => cache.alloc());
    expect(new Set(again).size).toBe(objects.length); // no object handed out twice
  });

  it('is validated entry by entry: a repeated address or one inside an object is reported', () => {
    const { slab } = makeKernel();
    const cache = slab.createCache('checked-array', 64);
    const objects = Array.from({ length: 4 }, () => cache.alloc());
    cache.drainArray();
    for (const object of objects) cache.free(object);
    // The array is private: reach it as a stray kernel write would.
    const array = (cache as unknown as { array: Float64Array }).array;
    for (const corrupt of [objects[1]!, objects[0]! + 8]) {
      array[0] = corrupt;
      const reports: string[] = [];
      expect(cache.validate((error) => reports.push(error.code))).toBe(1);
      expect(reports).toEqual(['FREELIST_CORRUPT']);
    }
    array[0] = objects[0]!;
    expect(cache.validate()).toBe(0);
  });

  it("refuses a free of an object on its slab's free list", () => {
    const { slab } = makeKernel();
    const cache = slab.createCache('listed', 64);
    const a = cache.alloc();
    cache.free(a);
    cache.drainArray(); // a heads its slab's free list
    expect(codeOf(() => cache.free(a))).toBe('DOUBLE_FREE');
    expect(cache.validate()).toBe(0);
  });

  it('is sized by object size as Linux SLAB sizes it, and absent in debug caches', () => {
    const { slab } = makeKernel();
    const limits = [200, 1000, 2000, 8000].map(
      (size) => slab.createCache(`s${size}`, size).arrayLimit,
    );
    expect(limits).toEqual([120, 54, 24, 8]);
    expect(slab.createCache('checked', 64, 8, undefined, { debug: true }).arrayLimit).toBe(0);
  });
});

describe('slab listing', () => {
  it('lists each slab with its list and objects in use, and finds the slab of an address', () => {
    const { slab } = makeKernel();
    const cache = slab.createCache('listing', 512);
    const perSlab = cache.geometry.objectsPerSlab;
    const objects = Array.from({ length: 2 * perSlab + 1 }, () => cache.alloc());
    for (const object of objects.slice(0, perSlab)) cache.free(object);
    cache.drainArray();
    const slabs: SlabInfo[] = [];
    cache.forEachSlab((info) => slabs.push(info));
    expect(slabs.map((s) => [s.list, s.inUse])).toEqual([
      ['full', perSlab],
      ['partial', 1],
      ['empty', 0],
    ]);
    const found = slab.slabAt(objects.at(-1)!)!;
    expect(found.cache).toBe(cache);
    expect(found.slab).toEqual(slabs[1]);
    expect(objects.at(-1)! - found.slab.base).toBeLessThan(cache.geometry.slabBytes);
    expect(slab.slabAt(slab.kmalloc(5 * PAGE_SIZE))).toBeUndefined();
    expect(slab.slabAt(12345)).toBeUndefined();
  });
});

describe('free errors', () => {
  it('refuses pointers inside an object, outside every slab and from another cache', () => {
    const { slab } = makeKernel();
    const a = slab.createCache('a', 64);
    const b = slab.createCache('b', 64);
    const x = a.alloc();
    const y = b.alloc();
    expect(codeOf(() => a.free(x + 8))).toBe('INVALID_POINTER');
    expect(codeOf(() => a.free(12345))).toBe('INVALID_POINTER');
    expect(codeOf(() => a.free(x + 64 * 200))).toBe('INVALID_POINTER');
    expect(codeOf(() => a.free(y))).toBe('CROSS_CACHE_FREE');
    expect(a.activeObjects).toBe(1);
    expect(b.activeObjects).toBe(1);
    a.free(x);
    b.free(y);
    expect(slab.validate()).toBe(0);
  });

  it('tells every object start from every other byte of a slab, for any object size', () => {
    const { slab } = makeKernel();
    for (const size of [8, 24, 48, 100, 192, 700, 3000, 5000]) {
      const cache = slab.createCache(`every-${size}`, size);
      const first = cache.alloc();
      const g = cache.geometry;
      const slabStart = first - g.objectOffset;
      let starts = 0;
      for (let offset = 0; offset < g.objectsPerSlab * g.stride; offset++) {
        const address = slabStart + offset;
        const isStart = offset % g.stride === 0;
        if (isStart) starts++;
        if (isStart) expect(slab.ksize(address + g.objectOffset)).toBe(size);
        else expect(codeOf(() => slab.ksize(address + g.objectOffset))).toBe('INVALID_POINTER');
      }
      expect(starts).toBe(g.objectsPerSlab);
    }
  });

  it('reports the cache name and the object address', () => {
    const { slab } = makeKernel();
    const cache = slab.createCache('named', 64);
    const x = cache.alloc();
    try {
      cache.free(x + 4);
      expect.unreachable();
    } catch (error) {
      expect(error).toMatchObject({ code: 'INVALID_POINTER', cacheName: 'named', address: x });
      expect(String(error)).toContain('named');
    }
  });

  it('catches the double free of the last freed object without debug', () => {
    const { slab } = makeKernel();
    const cache = slab.createCache('df', 64);
    const x = cache.alloc();
    cache.alloc();
    cache.free(x);
    expect(codeOf(() => cache.free(x))).toBe('DOUBLE_FREE');
    expect(cache.activeObjects).toBe(1);
    expect(slab.validate()).toBe(0);
  });
});

describe('shrink, destroy and out of memory', () => {
  it('keeps empty slabs until shrink, then returns every page', () => {
    const { slab, pages, boot } = makeKernel();
    const cache = slab.createCache('shrink', 256, 8, undefined, { reclaimable: true });
    const objects = Array.from({ length: 100 }, () => cache.alloc());
    const slabs = Math.ceil(100 / cache.geometry.objectsPerSlab);
    expect(cache.slabCount).toBe(slabs);
    expect(pages.allocatedPages).toBe(boot.pages + slabs);
    expect(slab.stats().reclaimableBytes).toBe(slabs * PAGE_SIZE);
    for (const object of objects) cache.free(object);
    expect(cache.activeObjects).toBe(0);
    expect(cache.slabCount).toBe(slabs);
    expect(cache.shrink()).toBe(slabs);
    expect(pages.allocatedPages).toBe(boot.pages);
    expect(cache.shrink()).toBe(0);
  });

  it('destroy refuses a busy cache and frees an idle one, its descriptor included', () => {
    const { slab, pages, boot } = makeKernel();
    const cache = slab.createCache('doomed', 128);
    const descriptors = slab.caches()[0]!;
    expect(descriptors.activeObjects).toBe(boot.objects + 1);
    const x = cache.alloc();
    expect(codeOf(() => cache.destroy())).toBe('CACHE_BUSY');
    expect(slab.caches()).toContain(cache);
    cache.free(x);
    cache.destroy();
    expect(pages.allocatedPages).toBe(boot.pages);
    expect(descriptors.activeObjects).toBe(boot.objects);
    expect(slab.caches()).not.toContain(cache);
    expect(codeOf(() => cache.alloc())).toBe('CACHE_DESTROYED');
    expect(slab.createCache('doomed', 128).objectSize).toBe(128); // the name is free again
  });

  it('kmalloc caches and the cache of caches cannot be destroyed', () => {
    const { slab } = makeKernel();
    expect(() => slab.kmallocCache(64).destroy()).toThrow(InvalidArgumentError);
    expect(() => slab.caches()[0]!.destroy()).toThrow(InvalidArgumentError);
    expect(slab.caches()[0]!.name).toBe('kmem_cache');
    expect(slab.kmalloc(64)).not.toBe(NULL);
  });

  it('returns NULL when pages run out, consistent and usable afterwards', () => {
    const { slab, pages } = makeKernel({ pageCount: 5 }); // 4 after kmem_cache's
    const cache = slab.createCache('oom', 1024);
    const objects: number[] = [];
    for (let object = cache.alloc(); object !== NULL; object = cache.alloc()) objects.push(object);
    expect(objects.length).toBe(4 * cache.geometry.objectsPerSlab);
    expect(cache.alloc()).toBe(NULL);
    expect(slab.validate()).toBe(0);
    cache.free(objects.pop()!);
    expect(cache.alloc()).not.toBe(NULL);
    expect(pages.allocatedPages).toBe(5);
  });

  it('reclaims empty slabs of other caches before giving up', () => {
    const { slab, pages, boot } = makeKernel({ pageCount: 3 }); // 2 after kmem_cache's
    const a = slab.createCache('a', 2048);
    const b = slab.createCache('b', 2048);
    const objects = [a.alloc(), a.alloc(), a.alloc(), a.alloc()];
    for (const object of objects) a.free(object);
    expect(a.slabCount).toBe(2);
    expect(b.alloc()).not.toBe(NULL);
    expect(a.slabCount).toBe(0);
    expect(pages.allocatedPages).toBe(boot.pages + 1);
  });
});
