import { describe, expect, it } from 'vitest';
import {
  POISON_END,
  POISON_FREE,
  POISON_INUSE,
  RED_ACTIVE,
  RED_INACTIVE,
} from '../../src/kernel-alloc/debug.js';
import type { SlabError } from '../../src/kernel-alloc/errors.js';
import { RED_ZONE_BYTES } from '../../src/kernel-alloc/geometry.js';
import type { SlabCache } from '../../src/kernel-alloc/slab-cache.js';
import { codeOf, makeKernel, type TestKernel } from './helpers.js';

/** A debug kernel, its kmalloc-64 cache and the geometry numbers the tests poke at. */
function debugKernel(): TestKernel & {
  cache: SlabCache;
  left: number;
  link: (o: number) => number;
} {
  const kernel = makeKernel({ debug: true });
  const cache = kernel.slab.kmallocCache(64);
  const g = cache.geometry;
  return { ...kernel, cache, left: g.objectOffset, link: (o) => o - g.objectOffset + g.linkOffset };
}

function errors(kernel: TestKernel): SlabError[] {
  const found: SlabError[] = [];
  const count = kernel.slab.validate((error) => found.push(error));
  expect(count).toBe(found.length);
  return found;
}

describe('debug patterns', () => {
  it('paints red zones 0xcc around allocated objects and fills fresh ones with 0x5a', () => {
    const { slab, memory, left } = debugKernel();
    const object = slab.kmalloc(64);
    expect([...memory.readBytes(object - left, left)]).toEqual(Array(left).fill(RED_ACTIVE));
    expect([...memory.readBytes(object + 64, RED_ZONE_BYTES)]).toEqual(
      Array(RED_ZONE_BYTES).fill(RED_ACTIVE),
    );
    expect([...memory.readBytes(object, 64)]).toEqual(Array(64).fill(POISON_INUSE));
  });

  it('poisons free objects 0x6b … 0xa5 inside 0xbb red zones', () => {
    const { slab, memory, left } = debugKernel();
    const object = slab.kmalloc(64);
    slab.kfree(object);
    expect([...memory.readBytes(object - left, left)]).toEqual(Array(left).fill(RED_INACTIVE));
    expect([...memory.readBytes(object, 64)]).toEqual([...Array(63).fill(POISON_FREE), POISON_END]);
    expect(slab.validate()).toBe(0);
  });

  it('does not poison constructed objects', () => {
    const { slab, memory } = makeKernel({ debug: true });
    const cache = slab.createCache('ctor-debug', 32, 8, (a) => memory.fill(a, 32, 0x11));
    const object = cache.alloc();
    cache.free(object);
    expect([...memory.readBytes(object, 32)]).toEqual(Array(32).fill(0x11));
    expect(cache.alloc()).toBe(object);
    expect([...memory.readBytes(object, 32)]).toEqual(Array(32).fill(0x11));
    expect(slab.validate()).toBe(0);
  });

  it('can be turned on for one cache only', () => {
    const { slab, memory } = makeKernel();
    const plain = slab.createCache('plain', 32);
    const checked = slab.createCache('checked', 32, 8, undefined, { debug: true });
    const a = checked.alloc();
    memory.store8(a + 32, 0);
    const p = plain.alloc();
    plain.alloc();
    memory.store8(p + 32, 0); // overflows into an allocated neighbour: nothing to detect
    expect(slab.validate()).toBe(1);
    expect(codeOf(() => checked.free(a))).toBe('REDZONE');
  });
});

describe('debug detections', () => {
  it('red-zone overwrite after and before an object: one error each, free refused', () => {
    const kernel = debugKernel();
    const { slab, memory, cache } = kernel;
    const [a, b, c] = [slab.kmalloc(64), slab.kmalloc(64), slab.kmalloc(64)];
    memory.store8(a + 64, 0); // overflow by one byte
    memory.store8(b - 1, 0); // underflow by one byte
    const found = errors(kernel);
    expect(found.map((e) => [e.code, e.address, e.cacheName])).toEqual(
      expect.arrayContaining([
        ['REDZONE', a, 'kmalloc-64'],
        ['REDZONE', b, 'kmalloc-64'],
      ]),
    );
    expect(found.length).toBe(2);
    expect(codeOf(() => slab.kfree(a))).toBe('REDZONE');
    expect(codeOf(() => slab.kfree(b))).toBe('REDZONE');
    slab.kfree(c);
    expect(cache.activeObjects).toBe(2);
    expect(slab.validate()).toBe(2);
  });

  it('double free, wherever the object is on the free list', () => {
    const kernel = debugKernel();
    const { slab, cache } = kernel;
    const [a, b] = [slab.kmalloc(64), slab.kmalloc(64)];
    slab.kfree(a);
    slab.kfree(b); // a is no longer the list head
    expect(codeOf(() => slab.kfree(a))).toBe('DOUBLE_FREE');
    expect(codeOf(() => cache.free(b))).toBe('DOUBLE_FREE');
    expect(cache.activeObjects).toBe(0);
    expect(slab.validate()).toBe(0);
  });

  it('write after free: one POISON error, and the object is never handed out again', () => {
    const kernel = debugKernel();
    const { slab, memory } = kernel;
    const victim = slab.kmalloc(64);
    const others = Array.from({ length: 10 }, () => slab.kmalloc(64));
    slab.kfree(victim);
    memory.store32(victim + 8, 0xdead);
    expect(errors(kernel).map((e) => [e.code, e.address])).toEqual([['POISON', victim]]);
    expect(codeOf(() => slab.kmalloc(64))).toBe('POISON');
    const later = Array.from({ length: 200 }, () => slab.kmalloc(64));
    expect(later).not.toContain(victim);
    expect(new Set([...later, ...others]).size).toBe(210);
    expect(slab.validate()).toBe(1); // the damage is still there
  });

  it('corrupted free-list link: one error, nothing handed out twice', () => {
    const kernel = debugKernel();
    const { slab, memory, link, cache } = kernel;
    const held = Array.from({ length: 5 }, () => slab.kmalloc(64));
    const freed = [held.pop()!, held.pop()!];
    for (const object of freed) slab.kfree(object);
    memory.store32(link(freed[1]!), 0x12345);
    expect(errors(kernel).map((e) => e.code)).toEqual(['FREELIST_CORRUPT']);
    expect(codeOf(() => slab.kmalloc(64))).toBe('FREELIST_CORRUPT');
    const later = Array.from({ length: cache.geometry.objectsPerSlab }, () => slab.kmalloc(64));
    for (const object of [...freed, ...held]) expect(later).not.toContain(object);
    for (const object of held) slab.kfree(object); // the callers' objects still free normally
    expect(slab.validate()).toBe(0);
  });

  it('a link to an allocated object is caught before that object is handed out twice', () => {
    const kernel = debugKernel();
    const { slab, memory, link } = kernel;
    const [a, b, c] = [slab.kmalloc(64), slab.kmalloc(64), slab.kmalloc(64)];
    slab.kfree(c);
    memory.store32(link(c), 0); // c's link now names a (index 0), which is allocated
    expect(errors(kernel).map((e) => e.code)).toEqual(['FREELIST_CORRUPT']);
    expect(slab.kmalloc(64)).toBe(c);
    expect(codeOf(() => slab.kmalloc(64))).toBe('FREELIST_CORRUPT');
    const later = Array.from({ length: 100 }, () => slab.kmalloc(64));
    expect(later).not.toContain(a);
    expect(later).not.toContain(b);
  });

  it('foreign pointers: inside an object, outside any slab, another cache', () => {
    const kernel = debugKernel();
    const { slab, cache } = kernel;
    const a = slab.kmalloc(64);
    const other = slab.kmalloc(100);
    expect(codeOf(() => slab.kfree(a + 1))).toBe('INVALID_POINTER');
    expect(codeOf(() => slab.kfree(a - 1))).toBe('INVALID_POINTER');
    expect(codeOf(() => slab.kfree(-1))).toBe('INVALID_POINTER');
    expect(codeOf(() => cache.free(other))).toBe('CROSS_CACHE_FREE');
    expect(slab.validate()).toBe(0);
  });

  it('non-debug caches still catch an out-of-range free-list link', () => {
    const kernel = makeKernel();
    const { slab, memory } = kernel;
    const a = slab.kmalloc(32);
    slab.kmalloc(32);
    slab.kfree(a);
    slab.kmallocCache(32).drainArray(); // a heads its slab's free list now
    memory.store32(a, 0xffff); // the link lives in the free object's first word
    expect(slab.validate()).toBe(1);
    expect(codeOf(() => slab.kmalloc(32))).toBe('FREELIST_CORRUPT');
    expect(slab.validate()).toBe(0);
  });
});
