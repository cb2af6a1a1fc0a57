/** Small machines for the physical-layer tests, built from explicit memory maps. */
import { GiB, KiB, MiB } from '../../src/hw/constants.js';
import { type MemoryRegion, memoryMapFromRegions } from '../../src/hw/memory-map.js';
import { PhysicalMemory } from '../../src/hw/ram.js';
import { PhysicalAllocator, type PhysicalAllocatorOptions } from '../../src/physical/allocator.js';

/** An allocator over a machine whose firmware reports `regions`. */
export function machine(
  regions: readonly MemoryRegion[],
  options: PhysicalAllocatorOptions = {},
): PhysicalAllocator {
  const map = memoryMapFromRegions(regions);
  return new PhysicalAllocator(new PhysicalMemory(map.installed), map, options);
}

/** 24 MiB with a PC's low hole and unaligned edges: DMA and DMA32 frames. */
export const LOW_MACHINE: readonly MemoryRegion[] = [
  { base: 0, length: 0x9fc00, type: 'usable' },
  { base: 0x9fc00, length: 0x60400, type: 'reserved' },
  { base: 1 * MiB, length: 13 * MiB + 5 * KiB, type: 'usable' },
  { base: 14 * MiB + 5 * KiB, length: 4 * KiB, type: 'acpi-nvs' },
  { base: 14 * MiB + 9 * KiB, length: 10 * MiB - 9 * KiB, type: 'usable' },
];

/** LOW_MACHINE plus 32 MiB above 4 GiB (a Normal zone, minus the frame table) behind a hole. */
export const HIGH_MACHINE: readonly MemoryRegion[] = [
  ...LOW_MACHINE,
  { base: 4 * GiB, length: 32 * MiB, type: 'usable' },
];

/** Everything an outside observer can see of the allocator's state. */
export function snapshot(a: PhysicalAllocator): unknown {
  return { stats: a.stats(), blocks: freeLayout(a), info: a.buddyinfo() };
}

/** The free blocks as sorted `zone:order:address` strings (a set: list order is free to vary). */
export function freeLayout(a: PhysicalAllocator): string[] {
  const blocks: string[] = [];
  a.forEachFreeBlock((pa, order, zone) => blocks.push(`${zone}:${order}:${pa}`));
  return blocks.sort();
}
