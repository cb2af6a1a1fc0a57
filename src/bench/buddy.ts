/**
 * Workloads B1 and B2 (docs/workloads.md) over the buddy allocator of a 1 GiB
 * machine: each slot holds one block allocated for a user page, freed with its order.
 */
import { GiB } from '../hw/constants.js';
import { memoryMapFromRegions } from '../hw/memory-map.js';
import { PhysicalMemory } from '../hw/ram.js';
import { PhysicalAllocator } from '../physical/allocator.js';
import { FrameUse } from '../physical/constants.js';
import type { SlotAllocator } from './workloads.js';

/** What the benchmark's blocks are for (a module-local copy: imports cost a cell load). */
const USE: FrameUse = FrameUse.USER;
/** RAM of the benchmark machine: 262,144 frames, as the workloads specify. */
const BENCH_RAM = 1 * GiB;

/** Drives a {@link PhysicalAllocator} from the workload loop: sizes are block orders. */
class BuddySlotAllocator implements SlotAllocator {
  readonly int32Handles = true;
  constructor(private readonly allocator: PhysicalAllocator) {}

  allocate(order: number): number | null {
    const pa = this.allocator.tryAllocPages(order, USE);
    return pa < 0 ? null : pa;
  }

  release(pa: number, order: number): void {
    this.allocator.freePages(pa, order);
  }
}

/**
 * The allocator of a machine with 1 GiB of flat usable RAM. The kernel image and the frame
 * table are carved out of it, so slightly fewer than 262,144 frames are managed.
 */
export function buddyBenchAllocator(): PhysicalAllocator {
  const map = memoryMapFromRegions([{ base: 0, length: BENCH_RAM, type: 'usable' }]);
  return new PhysicalAllocator(new PhysicalMemory(map.installed), map);
}

/** A workload target over `allocator` (a fresh 1 GiB machine by default). */
export function buddyWorkloadTarget(allocator = buddyBenchAllocator()): SlotAllocator {
  return new BuddySlotAllocator(allocator);
}
