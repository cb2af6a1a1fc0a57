/**
 * What /proc reads of the kernel: a read-only view that the kernel hands to procfs at boot
 * (the Machine implements it), so procfs depends on this small interface and the layers'
 * classes, never on the Machine, and the Machine alone imports procfs.
 *
 * ```
 *  Machine ──implements──► KernelView ◄──reads── ProcFs ─► meminfo.ts, vmstat.ts, status.ts…
 *     └────────────── new ProcFs(this) ─────────────┘
 * ```
 *
 * A /proc file that needs more of the kernel adds one read-only member here.
 */

import type { Process } from '../kernel/process.js';
import type { SlabAllocator } from '../kernel-alloc/index.js';
import type { PhysicalAllocator } from '../physical/index.js';
import type { Watermarks } from '../virtual/reclaim/watermarks.js';
import type { VirtualMemory } from '../virtual/virtual-memory.js';

export interface KernelView {
  readonly frames: PhysicalAllocator;
  readonly vm: VirtualMemory;
  readonly slab: SlabAllocator;
  /** Zone watermarks (min, low, high). */
  readonly watermarks: Watermarks;
  /** Managed RAM plus swap, in pages (the OOM badness scale). */
  readonly totalPages: number;
  /** Processes killed by the OOM killer or for want of memory at a fault. */
  readonly oomKills: number;
  /** ASLR's level, `/proc/sys/kernel/randomize_va_space` (0, 1 or 2). */
  readonly randomizeVaSpace: number;
  /** The process on the CPU (`/proc/self`), or null. */
  readonly current: Process | null;
  /** Every process not yet reaped, by pid. */
  readonly processList: readonly Process[];
  /** The process with `pid`, if it has not been reaped. */
  process(pid: number): Process | undefined;
  /** Runs `work` at CPL 0 (a read of /proc is kernel work, also from inside a program). */
  atCpl0<T>(work: () => T): T;
}
