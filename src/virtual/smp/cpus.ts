/**
 * The CPUs as the virtual-memory layer sees them: each CPU's MMU (with its own registers, TLB
 * and paging-structure caches) and Linux's per-CPU `cpu_tlbstate`: which address space's tables
 * are loaded in its CR3, and whether it only borrows them (lazy TLB mode). An address space's
 * CPU mask (Linux's `mm_cpumask`) is the set of CPUs that have it loaded.
 *
 * ```
 *             CPU 0               CPU 1                CPU 2                 CPU 3
 *  CR3 ──►    space A             space A (lazy)       space B               kernel tables
 *  TLB        A's pages           A's pages, stale?    B's pages             global only
 *
 *  mm_cpumask(A) = {0, 1}         a change to A's PTEs on CPU 0: invlpg on CPU 0, an IPI to
 *  mm_cpumask(B) = {2}            CPU 1 only if page tables were freed (else CPU 1 flushes
 *                                 when it leaves lazy mode), nothing for CPUs 2 and 3
 * ```
 *
 * The simulator runs one CPU at a time: {@link Cpus.current} is the CPU whose code is running
 * (kernel code included); a shootdown runs the IPI handler of each target CPU at once, so the
 * change completes only after every CPU that could hold the old translation has dropped it.
 */
import type { Mmu } from '../../hw/mmu.js';
import type { AddressSpace } from '../address-space.js';
import type { VmEvents } from '../stats.js';

/**
 * Linux's `tlb_single_page_flush_ceiling`: a flush of up to this many pages is done with one
 * `invlpg` each, a larger one reloads CR3 (one full flush) instead.
 */
export const TLB_SINGLE_PAGE_FLUSH_CEILING = 33;

/** The most CPUs a machine may have (a mask of them fits Linux's smallest NR_CPUS, 64). */
export const MAX_CPUS = 64;

/** One CPU: its MMU and its TLB state (Linux's per-CPU `cpu_tlbstate`). */
export class CpuTlbState {
  /** The address space whose PML4 is in CR3 (`loaded_mm`); null: the kernel's own tables. */
  loadedSpace: AddressSpace | null = null;
  /** Lazy TLB mode (`is_lazy`): a kernel task runs on the borrowed tables of `loadedSpace`. */
  lazy = false;
  /** A shootdown skipped this CPU while it was lazy: flush before user code runs again. */
  flushWhenBack = false;
  /** TLB-shootdown interrupts received: the CPU's column of /proc/interrupts' `TLB:` row. */
  shootdownsReceived = 0;

  constructor(
    readonly id: number,
    readonly mmu: Mmu,
  ) {}
}

export class Cpus {
  readonly all: readonly CpuTlbState[];
  /** The CPU whose code the simulator is running. */
  current: CpuTlbState;
  /**
   * Test hook: when false, PTE changes flush only the CPU that makes them, as a kernel
   * without SMP TLB shootdowns would; other CPUs keep their stale translations.
   */
  shootdownsEnabled = true;
  constructor(
    mmus: readonly Mmu[],
    private readonly events: VmEvents,
  ) {
    this.all = mmus.map((mmu, id) => new CpuTlbState(id, mmu));
    this.current = this.all[0]!;
  }

  get count(): number {
    return this.all.length;
  }

  /** Inter-processor interrupts sent for TLB shootdowns, in all. */
  get ipisSent(): number {
    return this.events.tlbShootdownIpis;
  }

  /** The simulator now runs CPU `id`'s code. */
  runOn(id: number): void {
    this.current = this.all[id]!;
  }

  /**
   * `switch_mm` on the current CPU: loads `space`'s tables (the kernel's when null) unless they
   * are loaded already, as Linux does between threads of one process; leaving lazy mode
   * flushes first if a shootdown skipped this CPU meanwhile.
   */
  switchTo(space: AddressSpace | null, kernelRoot: number): void {
    const cpu = this.current;
    cpu.lazy = false;
    if (cpu.loadedSpace === space && space !== null) {
      if (cpu.flushWhenBack) this.flushFull(cpu);
      cpu.flushWhenBack = false;
      return;
    }
    cpu.loadedSpace = space;
    cpu.flushWhenBack = false;
    cpu.mmu.loadCr3(space === null ? kernelRoot : space.tables.root);
    this.events.tlbFullFlushes++;
  }

  /** The current CPU goes on running kernel code on the tables it has (`enter_lazy_tlb`). */
  enterLazy(): void {
    if (this.current.loadedSpace !== null) this.current.lazy = true;
  }

  /** Every CPU holding `space`'s tables switches to the kernel's (before the space is freed). */
  unload(space: AddressSpace, kernelRoot: number): void {
    for (const cpu of this.all) {
      if (cpu.loadedSpace !== space) continue;
      cpu.loadedSpace = null;
      cpu.lazy = false;
      cpu.flushWhenBack = false;
      cpu.mmu.loadCr3(kernelRoot);
      this.events.tlbFullFlushes++;
    }
  }

  /**
   * Flushes the translations of `space` that changed: `pages` (when `full` is false) or all of
   * them, on every CPU in its mask. The current CPU flushes itself; each other CPU gets an IPI
   * whose handler flushes it, except lazy CPUs when no page table was freed: they cannot use
   * user translations before leaving lazy mode, which flushes then (Linux skips their IPIs the
   * same way). Freed page tables must reach them too: their paging-structure caches could
   * still walk through a freed table.
   */
  flush(space: AddressSpace, pages: readonly number[], full: boolean, freedTables: boolean): void {
    for (const cpu of this.all) {
      if (cpu.loadedSpace !== space) continue;
      if (cpu !== this.current && !this.interrupt(cpu, freedTables)) continue;
      if (full) this.flushFull(cpu);
      else this.flushPages(cpu, pages);
    }
  }

  /**
   * Kernel mappings (global, in every address space) were removed: every CPU flushes `pages`,
   * the others by IPI, lazy or not (Linux's `flush_tlb_kernel_range`).
   */
  flushKernelRange(pages: readonly number[]): void {
    for (const cpu of this.all) {
      if (cpu !== this.current && !this.interrupt(cpu, true)) continue;
      this.flushPages(cpu, pages);
    }
  }

  /**
   * The TLB-shootdown IPI to `cpu`, whose handler flushes it: true when sent. None with
   * shootdowns off (the test hook), nor to a lazy CPU unless `evenLazy`: that one owes a flush
   * before it runs user code again instead.
   */
  private interrupt(cpu: CpuTlbState, evenLazy: boolean): boolean {
    if (!this.shootdownsEnabled) return false;
    if (cpu.lazy && !evenLazy) {
      cpu.flushWhenBack = true;
      return false;
    }
    cpu.shootdownsReceived++;
    this.events.tlbShootdownIpis++;
    return true;
  }

  /** `invlpg` of each page on `cpu` (counted as Linux does: local flushes only). */
  private flushPages(cpu: CpuTlbState, pages: readonly number[]): void {
    for (const va of pages) cpu.mmu.invlpg(va);
    if (cpu === this.current) this.events.tlbSinglePageFlushes += pages.length;
  }

  /** A CR3 reload with the same tables on `cpu`: every non-global entry goes. */
  private flushFull(cpu: CpuTlbState): void {
    cpu.mmu.loadCr3(cpu.mmu.cpu.cr3);
    if (cpu === this.current) this.events.tlbFullFlushes++;
  }
}
