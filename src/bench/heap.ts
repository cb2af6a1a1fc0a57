/**
 * Heap workloads H1 and H2 (docs/workloads.md) for our flat heap and for the JS peer
 * `@thi.ng/malloc` (its `MemPool`), both over a 64 MiB ArrayBuffer. Each adapter writes one byte
 * into every block it hands out, so memory is touched as the workloads require.
 */
import { MemPool } from '@thi.ng/malloc';
import type { MemoryAccess } from '../hw/memory-access.js';
import { Machine } from '../kernel/machine.js';
import type { UserContext } from '../kernel/user-context.js';
import { createFlatHeap } from '../user-alloc/flat-heap.js';
import type { UserAllocator } from '../user-alloc/user-allocator.js';
import {
  type BenchRow,
  HEAP_POOL_BYTES,
  measureWorkload,
  PROCESS_IMPLEMENTATION,
  type SlotAllocator,
  type Workload,
} from './workloads.js';

/** The byte written into every block handed out. */
const TOUCH = 1;

/** Our allocator over a flat 64 MiB buffer. */
export class FlatHeapSlots implements SlotAllocator {
  readonly int32Handles = true;
  private readonly heap: UserAllocator;
  private readonly memory: MemoryAccess;

  constructor(heap: UserAllocator = createFlatHeap(HEAP_POOL_BYTES)) {
    this.heap = heap;
    this.memory = heap.memory;
  }

  allocate(size: number): number | null {
    const p = this.heap.malloc(size);
    if (p === 0) return null;
    this.memory.store8(p, TOUCH);
    return p;
  }

  release(handle: number): void {
    this.heap.free(handle);
  }
}

/** `@thi.ng/malloc`'s MemPool over a 64 MiB buffer (its default 8-byte alignment). */
export class ThingMallocSlots implements SlotAllocator {
  private readonly pool = new MemPool({ size: HEAP_POOL_BYTES });
  private readonly bytes = new Uint8Array(this.pool.buf);

  allocate(size: number): number | null {
    const p = this.pool.malloc(size);
    if (p === 0) return null;
    this.bytes[p] = TOUCH;
    return p;
  }

  release(handle: number): void {
    this.pool.free(handle);
  }
}

/** Heap slots through a process's own malloc and memory (user mode, through the MMU). */
export class ProcessHeapSlots implements SlotAllocator {
  constructor(private readonly ctx: UserContext) {}

  allocate(size: number): number | null {
    const p = this.ctx.malloc(size);
    if (p === 0) return null;
    this.ctx.store8(p, TOUCH);
    return p;
  }

  release(handle: number): void {
    this.ctx.free(handle);
  }
}

/** RAM of the machine whose process runs a heap workload. */
export const PROCESS_BENCH_MEMORY = '256M';

/**
 * Measures `workload` run by a program inside a simulated process (its malloc in user space,
 * every byte written through the MMU): implementation `wallos-memory/process`.
 * @throws Error when the process dies (out of memory, a fault).
 */
export function measureHeapInProcess(workload: Workload, now: () => number, reps = 5): BenchRow {
  const machine = Machine.boot({ memory: PROCESS_BENCH_MEMORY });
  let row: BenchRow | null = null;
  const handle = machine.spawn(
    (ctx) => {
      const slots = new ProcessHeapSlots(ctx);
      row = measureWorkload(workload, PROCESS_IMPLEMENTATION, slots, now, reps);
    },
    { name: `bench-${workload.name}` },
  );
  machine.run();
  if (row === null) {
    throw new Error(`the ${workload.name} process died: ${handle.fault?.message ?? handle.error}`);
  }
  return row;
}
