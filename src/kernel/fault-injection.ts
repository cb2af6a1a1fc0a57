/**
 * Fault injection, like Linux's `fail_page_alloc` / `failslab`: make the Nth page allocation,
 * or the Nth slab allocation, counted from when it was armed, fail once (`fail-nth`), or make
 * every Nth one fail (the fault attribute `interval`).
 *
 * The injector sits where allocations enter the allocators, so none needs a hook of its own:
 * installed on a machine, it shadows instance methods with counting wrappers. As Linux's
 * should_fail_alloc_page, an injected page failure fails the whole allocation: no reclaim,
 * no OOM killer, no retry.
 *
 * ```
 *  machine.vm.kernelFrames.tryAllocPages(order, use, …)   every page allocation of the kernel
 *  machine.vm.allocUserFrame(zero)                         (page tables, user frames, slab
 *     └─ wrapper: count it; the armed Nth call returns -1    pages, vmalloc, kernel stacks)
 *        (out of memory) without touching the allocator
 *
 *  cache.alloc() of every slab cache live at install time   task_struct, mm_struct,
 *     └─ wrapper: count it; the armed Nth call returns 0     vm_area_struct and the kmalloc
 *        (NULL) without touching the cache                   caches (kmalloc ≤ 8 KiB goes here)
 *
 *  machine.vm.reclaim.device.write(slot, ram, pa)          every page written to swap
 *     └─ wrapper: count it; the armed Nth call returns       (an I/O error: reclaim must keep
 *        false without writing                                the page resident)
 * ```
 *
 * A kmalloc above 8 KiB takes whole pages and counts as a page allocation. Caches created after
 * `install` are not wrapped. `uninstall` removes the wrappers, and the original methods take
 * over again, so a machine without an injector pays nothing.
 */

import type { PhysicalMemory } from '../hw/ram.js';
import type { SlabCache } from '../kernel-alloc/index.js';
import type { FrameSource, FrameUse } from '../physical/index.js';
import type { SwapDevice } from '../virtual/swap/swap-device.js';
import type { VirtualMemory } from '../virtual/virtual-memory.js';
import type { Machine } from './machine.js';

/** The calls of {@link FaultInjector} that count and can fail. */
export type InjectionSite = 'page' | 'slab' | 'swap';

/** What {@link FaultInjector.arm} is waiting for: no failure armed. */
export const NEVER = 0;

type TryAllocPages = FrameSource['tryAllocPages'];

/** Counts page and slab allocations of a machine and fails the armed Nth one of each site. */
export class FaultInjector {
  /** Page allocations seen since the last {@link reset}. */
  pageAllocations = 0;
  /** Slab object allocations seen since the last {@link reset}. */
  slabAllocations = 0;
  /** Swap writes seen since the last {@link reset} (0 on a machine without swap). */
  swapWrites = 0;
  /** Failures injected since the last {@link reset}. */
  injected = 0;
  private failPageAt = NEVER;
  private failSlabAt = NEVER;
  private pageInterval = NEVER;
  private slabInterval = NEVER;
  private failSwapAt = NEVER;
  private swapInterval = NEVER;
  private readonly wrappedCaches: SlabCache[] = [];
  /** What `vm.kernelFrames.tryAllocPages` was before the wrapper (an own property, put back). */
  private readonly kernelFramesAlloc: TryAllocPages;
  private installed = true;

  private constructor(private readonly machine: Machine) {
    this.kernelFramesAlloc = machine.vm.kernelFrames.tryAllocPages;
    this.wrapPages(machine.vm);
    for (const cache of machine.slab.caches()) this.wrapCache(cache);
    if (machine.vm.reclaim !== null) this.wrapSwap(machine.vm.reclaim.device);
  }

  /**
   * Installs an injector on `machine`: from now on its allocations are counted. One injector
   * per machine at a time: uninstall it before installing another.
   */
  static install(machine: Machine): FaultInjector {
    return new FaultInjector(machine);
  }

  /**
   * Arms `site` so that its `n`th allocation from now fails once (`n` ≥ 1), as writing `n` to
   * `/proc/self/fail-nth` does; {@link NEVER} disarms it. Resets that site's count.
   */
  arm(site: InjectionSite, n: number): void {
    if (!Number.isSafeInteger(n) || n < NEVER) throw new RangeError(`fail-nth: bad count ${n}`);
    if (site === 'page') {
      this.failPageAt = n;
      this.pageAllocations = 0;
    } else if (site === 'slab') {
      this.failSlabAt = n;
      this.slabAllocations = 0;
    } else {
      this.failSwapAt = n;
      this.swapWrites = 0;
    }
  }

  /**
   * Makes every `interval`th allocation at `site` fail from now on, as Linux's fault-attr
   * `interval` does (with probability 100); {@link NEVER} stops it. Resets that site's count.
   */
  failEvery(site: InjectionSite, interval: number): void {
    if (!Number.isSafeInteger(interval) || interval < NEVER)
      throw new RangeError(`fail interval: bad count ${interval}`);
    if (site === 'page') {
      this.pageInterval = interval;
      this.pageAllocations = 0;
    } else if (site === 'slab') {
      this.slabInterval = interval;
      this.slabAllocations = 0;
    } else {
      this.swapInterval = interval;
      this.swapWrites = 0;
    }
  }

  /** Disarms every site and zeroes every count. */
  reset(): void {
    this.failPageAt = NEVER;
    this.failSlabAt = NEVER;
    this.failSwapAt = NEVER;
    this.pageInterval = NEVER;
    this.slabInterval = NEVER;
    this.swapInterval = NEVER;
    this.pageAllocations = 0;
    this.slabAllocations = 0;
    this.swapWrites = 0;
    this.injected = 0;
  }

  /** Removes the wrappers: the allocators are exactly as before {@link install}. */
  uninstall(): void {
    if (!this.installed) return;
    this.installed = false;
    this.machine.vm.kernelFrames.tryAllocPages = this.kernelFramesAlloc;
    Reflect.deleteProperty(this.machine.vm, 'allocUserFrame');
    for (const cache of this.wrappedCaches) Reflect.deleteProperty(cache, 'alloc');
    this.wrappedCaches.length = 0;
    if (this.machine.vm.reclaim !== null)
      Reflect.deleteProperty(this.machine.vm.reclaim.device, 'write');
  }

  private wrapPages(vm: VirtualMemory): void {
    const kernelFrames = vm.kernelFrames;
    const original = this.kernelFramesAlloc;
    kernelFrames.tryAllocPages = (order: number, use: FrameUse, zone?: number, zero?: boolean) =>
      this.pageFails() ? this.fail(-1) : original.call(kernelFrames, order, use, zone, zero);
    const allocUserFrame = vm.allocUserFrame;
    vm.allocUserFrame = (zero: boolean) =>
      this.pageFails() ? this.fail(-1) : allocUserFrame.call(vm, zero);
  }

  /** Counts a page allocation: true when it is the one to fail. */
  private pageFails(): boolean {
    const n = ++this.pageAllocations;
    return n === this.failPageAt || hits(n, this.pageInterval);
  }

  private wrapCache(cache: SlabCache): void {
    const original = cache.alloc;
    cache.alloc = () => {
      const n = ++this.slabAllocations;
      if (n === this.failSlabAt || hits(n, this.slabInterval)) return this.fail(0);
      return original.call(cache);
    };
    this.wrappedCaches.push(cache);
  }

  private wrapSwap(device: SwapDevice): void {
    const original = device.write;
    device.write = (slot: number, ram: PhysicalMemory, pa: number) => {
      const n = ++this.swapWrites;
      if (n === this.failSwapAt || hits(n, this.swapInterval)) {
        this.injected++;
        return false;
      }
      return original.call(device, slot, ram, pa);
    };
  }

  /** Counts an injected failure and returns the allocator's failure value. */
  private fail(value: number): number {
    this.injected++;
    return value;
  }
}

/** True when the `n`th call is a multiple of a (non-zero) `interval`. */
function hits(n: number, interval: number): boolean {
  return interval !== NEVER && n % interval === 0;
}
