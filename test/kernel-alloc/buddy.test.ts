import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MiB } from '../../src/hw/constants.js';
import { generateMemoryMap } from '../../src/hw/memory-map.js';
import { PhysicalMemory } from '../../src/hw/ram.js';
import type { KernelPageSource } from '../../src/kernel-alloc/page-source.js';
import { SlabAllocator } from '../../src/kernel-alloc/slab-allocator.js';
import { NULL } from '../../src/kernel-alloc/slab-cache.js';
import { DirectMapMemory } from '../../src/kernel-alloc/standalone.js';
import { FrameUse, PhysicalAllocator } from '../../src/physical/index.js';
import { DIRECT_MAP_BASE } from '../../src/virtual/layout.js';

/** Slab pages straight from the buddy allocator, as the virtual layer hands them out. */
function buddyPages(frames: PhysicalAllocator): KernelPageSource {
  return {
    allocKernelPages: (order) => {
      const pa = frames.tryAllocPages(order, FrameUse.SLAB);
      return pa < 0 ? -1 : pa + DIRECT_MAP_BASE;
    },
    freeKernelPages: (address, order) => frames.freePages(address - DIRECT_MAP_BASE, order),
  };
}

describe('over the real buddy allocator', () => {
  it('gives every frame back after random kmalloc/kfree and shrink', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.boolean(), fc.integer({ min: 1, max: 40_000 }), fc.nat()), {
          maxLength: 300,
          size: 'max',
        }),
        (steps) => {
          const ram = PhysicalMemory.flat(32 * MiB);
          const frames = new PhysicalAllocator(ram, generateMemoryMap(32 * MiB));
          const slab = new SlabAllocator(buddyPages(frames), new DirectMapMemory(ram));
          const baseline = frames.freeFrames + slab.stats().pages; // kmem_cache's slab included
          const held: number[] = [];
          for (const [allocate, size, pick] of steps) {
            if (allocate || held.length === 0) {
              const address = slab.kmalloc(size);
              if (address !== NULL) held.push(address);
            } else {
              slab.kfree(held.splice(pick % held.length, 1)[0]!);
            }
          }
          expect(slab.validate()).toBe(0);
          expect(baseline - frames.freeFrames).toBe(slab.stats().pages);
          expect(frames.framesByUse(FrameUse.SLAB)).toBe(slab.stats().pages);
          for (const address of held) slab.kfree(address);
          slab.shrinkAll();
          expect(frames.freeFrames + slab.stats().pages).toBe(baseline);
          expect(slab.stats().pages).toBe(1); // the boot caches' descriptors
          frames.check();
        },
      ),
      { numRuns: 15 },
    );
  });
});
