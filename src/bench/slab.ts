/**
 * Workload S1 (docs/workloads.md) on the slab allocator: one 64-byte cache whose slabs come from
 * a {@link FlatPageSource}; objects and free lists are touched only through a MemoryAccess of the
 * direct map, backed by a flat buffer or by the simulated sparse RAM.
 */
import { MiB, PAGE_SIZE } from '../hw/constants.js';
import { PhysicalMemory } from '../hw/ram.js';
import { SlabAllocator } from '../kernel-alloc/slab-allocator.js';
import { NULL, type SlabCache } from '../kernel-alloc/slab-cache.js';
import { DirectMapMemory, FlatKernelMemory, FlatPageSource } from '../kernel-alloc/standalone.js';
import { DIRECT_MAP_BASE } from '../virtual/layout.js';
import type { SlotAllocator } from './workloads.js';

/** RAM behind the S1 cache: S1 peaks near 50,000 live objects (3.2 MiB of slabs). */
const S1_RAM_BYTES = 16 * MiB;
const S1_OBJECT_SIZE = 64;

/**
 * S1's slots hold objects of one 64-byte cache. A handle is the object's offset in the direct
 * map (its physical address, below 2 GiB) so that the slot table can keep it as an int32.
 */
export class SlabSlots implements SlotAllocator {
  readonly int32Handles = true;
  constructor(readonly cache: SlabCache) {}

  allocate(): number | null {
    const object = this.cache.alloc();
    return object === NULL ? null : object - DIRECT_MAP_BASE;
  }

  release(handle: number): void {
    this.cache.free(handle + DIRECT_MAP_BASE);
  }
}

/**
 * A fresh allocator and its S1 adapter, over a flat buffer (`flat`, the default) or over the
 * simulated sparse RAM through the direct map.
 */
export function createSlabS1(memory: 'flat' | 'ram' = 'flat'): {
  allocator: SlabAllocator;
  slots: SlabSlots;
} {
  const pages = new FlatPageSource(0, S1_RAM_BYTES / PAGE_SIZE);
  const access =
    memory === 'flat'
      ? new FlatKernelMemory(S1_RAM_BYTES)
      : new DirectMapMemory(PhysicalMemory.flat(S1_RAM_BYTES));
  const allocator = new SlabAllocator(pages, access);
  const cache = allocator.createCache('bench-64', S1_OBJECT_SIZE, S1_OBJECT_SIZE);
  return { allocator, slots: new SlabSlots(cache) };
}
