/**
 * Page reclaim (Linux's mm/vmscan.c for anonymous memory): when free memory runs low, pick
 * resident user pages by age and move them to swap.
 *
 * ```
 *   fault ─► allocUserFrame ─┬─ free < low ──► wake kswapd (runs at the next scheduling point,
 *                            │                  reclaims until free ≥ high)
 *                            ├─ free < min ──► direct reclaim in the faulting process
 *                            └─ no frame ────► direct reclaim, then (caller) the OOM killer
 *
 *   shrink: policy.selectVictim(referenced) ─► victim ─► shrinkFrame
 *             referenced = test-and-clear Accessed        ├─ in a VM_LOCKED area: unevictable
 *             through every mapping (rmap)               ├─ lazily freed and still clean:
 *                                                        │    every PTE cleared, frame freed
 *                                                        ├─ swap slot (swap cache), write if dirty
 *                                                        └─ every PTE ─► swap entry, frame freed
 * ```
 *
 * The policy (src/replacement: `linux` active/inactive lists by default, `clock`, `fifo`)
 * decides what a referenced bit buys; this file does what Linux's shrink_folio_list does with
 * the victim. Slab caches give back empty slabs through the shrinkers the VM runs after the
 * lists ({@link VirtualMemory.shrinkSlab}), which run on a machine without swap as well.
 *
 * The rest of the kernel talks to reclaim through a small API:
 * - {@link mapped} when a fault maps a fresh frame, {@link unmapOne} when an entry that maps a
 *   frame goes away (unmap, exit, COW break), {@link allocUserFrame} for user frames;
 * - {@link pageOut} (MADV_PAGEOUT: reclaim this page now), {@link deactivate} (MADV_COLD) and
 *   {@link markLazyFree} (MADV_FREE: drop this page rather than swap it, unless written again);
 * - {@link putback} when pages of a range stop being locked (munlock): pages found in a
 *   `locked` VMA are never evicted and leave the lists until then.
 */
import { PAGE_SIZE } from '../../hw/constants.js';
import { PTE_A, PTE_D } from '../../hw/paging.js';
import { FrameUse, ZONE_NORMAL } from '../../physical/index.js';
import type { ReclaimPolicy } from '../../replacement/policy.js';
import type { AddressSpace } from '../address-space.js';
import type { SwapCache } from '../swap/swap-cache.js';
import { SWAP_TYPE, type SwapDevice } from '../swap/swap-device.js';
import { swapEntryHigh, swapEntryLow } from '../swap/swap-entry.js';
import type { VirtualMemory } from '../virtual-memory.js';
import type { Vma } from '../vma.js';
import { Mappings, ReverseMap } from './rmap.js';
import type { Watermarks } from './watermarks.js';

/** Pages one reclaim pass aims to free (Linux's SWAP_CLUSTER_MAX). */
export const SWAP_CLUSTER_MAX = 32;

/** Who is reclaiming, for vmstat's pgscan_* / pgsteal_* split. */
export const KSWAPD = 0;
export const DIRECT = 1;
export type Reclaimer = typeof KSWAPD | typeof DIRECT;
/** A shrinker gives back cached kernel memory: returns the pages it freed. */
export type Shrinker = () => number;

/** Reclaim's event counters (vmstat names). */
export class ReclaimEvents {
  pgscanKswapd = 0;
  pgscanDirect = 0;
  pgstealKswapd = 0;
  pgstealDirect = 0;
  /** Times kswapd was woken and ran (vmstat's pageoutrun). */
  kswapdRuns = 0;
  /** Times an allocation stalled in direct reclaim (vmstat's allocstall_normal). */
  allocStalls = 0;
  /** Swap writes that failed (the page stayed resident). */
  writeErrors = 0;
}

export class Reclaim {
  readonly rmap: ReverseMap;
  readonly events = new ReclaimEvents();
  /** Set when free memory fell below `low`; the scheduler runs kswapd at its next switch. */
  kswapdWoken = false;
  /** True while {@link shrink} runs: what it allocates must not reclaim again. */
  private shrinking = false;
  /** Frames taken off the lists because a locked area maps them (meminfo Unevictable). */
  unevictable = 0;
  private readonly unevictableFrames: Uint8Array;
  /** Frames given up with MADV_FREE (Linux's lazyfree: PG_swapbacked cleared), by pfn. */
  private readonly lazyFrames: Uint8Array;
  private readonly mappings = new Mappings();
  private readonly referenced = (pfn: number) => this.testAndClearYoung(pfn * PAGE_SIZE);

  constructor(
    private readonly vm: VirtualMemory,
    readonly device: SwapDevice,
    readonly cache: SwapCache,
    readonly policy: ReclaimPolicy,
    readonly watermarks: Watermarks,
  ) {
    this.rmap = new ReverseMap(vm.frames.spannedFrames);
    this.unevictableFrames = new Uint8Array(vm.frames.spannedFrames);
    this.lazyFrames = new Uint8Array(vm.frames.spannedFrames);
  }

  // ─── what the fault handler and unmapping tell reclaim ─────────────────────────────────

  /** A fresh frame `pa` is now mapped at `va` of `space`, inside `vma`. */
  mapped(pa: number, space: AddressSpace, va: number, vma: Vma): void {
    this.rmap.add(pa, space.family!, va);
    if (vma.locked) this.makeUnevictable(pa);
    else this.policy.add(pa / PAGE_SIZE);
  }

  /**
   * One entry mapping `pa` is gone (its `low` half given, for the Dirty bit); drops that
   * reference. A frame left only in the swap cache leaves it too (written back first while
   * other entries still hold its slot), so every cached frame stays mapped.
   */
  unmapOne(pa: number, low: number): void {
    const cache = this.cache;
    const slot = cache.slotOf(pa);
    this.noteDirty(pa, low);
    if (this.vm.frames.putPage(pa)) {
      this.forget(pa);
      return;
    }
    if (slot === 0 || this.vm.frames.refCount(pa) !== 1) return;
    if (this.device.count(slot) > 1 && cache.isDirty(pa)) {
      if (!this.device.write(slot, this.vm.ram, pa)) {
        this.events.writeErrors++;
        this.policy.remove(pa / PAGE_SIZE); // kept in the cache alone until the slot's users fault
        return;
      }
    }
    cache.delete(pa);
    this.forget(pa);
  }

  /**
   * A swap entry for `slot` is gone (unmap, exit): its reference to the slot goes, and a frame
   * left caching the slot for no one (its write-back failed when its last mapping went) goes
   * with the slot's last user.
   */
  releaseSwapEntry(slot: number): void {
    this.device.release(slot);
    if (this.device.count(slot) !== 1) return;
    const pa = this.cache.lookup(slot);
    if (pa < 0 || this.vm.frames.refCount(pa) !== 1) return;
    this.cache.delete(pa);
    this.forget(pa);
  }

  /** Frames mapped in `pa`'s place are not on the lists any more. */
  private forget(pa: number): void {
    const pfn = pa / PAGE_SIZE;
    this.policy.remove(pfn);
    this.lazyFrames[pfn] = 0;
    this.makeEvictable(pa);
    this.rmap.remove(pa);
  }

  /** Entries mapping the frame `pa` (the swap cache's own reference left out). */
  mapCount(pa: number): number {
    const references = this.vm.frames.refCount(pa);
    return this.cache.slotOf(pa) === 0 ? references : references - 1;
  }

  /**
   * True when one entry alone maps `pa` and no swap entry elsewhere still refers to its swap
   * copy: the one mapper may write it without anyone else seeing the write.
   */
  isExclusive(pa: number): boolean {
    const slot = this.cache.slotOf(pa);
    if (slot === 0) return this.vm.frames.refCount(pa) === 1;
    return this.vm.frames.refCount(pa) === 2 && this.device.count(slot) === 1;
  }

  /** Frees the swap copy of an exclusive frame about to be written (it would go stale). */
  dropSwapCopy(pa: number): void {
    if (this.cache.slotOf(pa) !== 0) this.cache.delete(pa);
  }

  /**
   * A leaf whose low half is `low` is rewritten: keeps its Dirty bit for a cached frame, and a
   * lazily freed frame that was written is not lazily freed any more.
   */
  noteDirty(pa: number, low: number): void {
    if ((low & PTE_D) === 0) return;
    this.lazyFrames[pa / PAGE_SIZE] = 0;
    if (this.cache.slotOf(pa) !== 0) this.cache.setDirty(pa, true);
  }

  /**
   * A frame found in the swap cache is mapped again at `va` (by a member of its family): back
   * on the lists if it had left them, and known to the reverse map if `va` is not where it was
   * first mapped.
   */
  remapped(pa: number, va: number): void {
    const pfn = pa / PAGE_SIZE;
    this.rmap.noteMapping(pa, va);
    if (!this.policy.has(pfn) && this.unevictableFrames[pfn] === 0) this.policy.add(pfn);
  }

  // ─── allocation and the watermarks ─────────────────────────────────────────────────────

  /**
   * A user frame (zeroed when `zero`), reclaiming first when free memory is below `min` and
   * waking kswapd below `low`; -1 when even direct reclaim freed nothing.
   */
  allocUserFrame(zero: boolean): number {
    const frames = this.vm.frames;
    const free = frames.freeFrames;
    if (free < this.watermarks.low) this.kswapdWoken = true;
    if (free < this.watermarks.min) this.shrink(SWAP_CLUSTER_MAX, DIRECT);
    let pa = frames.tryAllocPages(0, FrameUse.USER, ZONE_NORMAL, zero);
    if (pa < 0 && this.shrink(SWAP_CLUSTER_MAX, DIRECT) > 0)
      pa = frames.tryAllocPages(0, FrameUse.USER, ZONE_NORMAL, zero);
    return pa;
  }

  /**
   * True while reclaim runs: an allocation made from within it must not reclaim again
   * (Linux's PF_MEMALLOC).
   */
  get running(): boolean {
    return this.shrinking;
  }

  /** kswapd: if woken, reclaims until free memory is back above `high`. */
  runKswapd(): void {
    if (!this.kswapdWoken) return;
    this.kswapdWoken = false;
    this.events.kswapdRuns++;
    while (this.vm.frames.freeFrames < this.watermarks.high) {
      if (this.shrink(SWAP_CLUSTER_MAX, KSWAPD) === 0) return;
    }
  }

  /**
   * Frees up to `target` pages: victims from the policy, then the shrinkers. Returns the pages
   * freed. Scans at most two rounds of the lists, so pages all referenced get their second
   * chance and then go.
   */
  shrink(target: number, who: Reclaimer): number {
    const outer = this.shrinking;
    this.shrinking = true;
    try {
      return this.shrinkLists(target, who);
    } finally {
      this.shrinking = outer;
    }
  }

  /** {@link shrink}'s work, marked as reclaim's own so that its allocations never reclaim. */
  private shrinkLists(target: number, who: Reclaimer): number {
    const policy = this.policy;
    const scannedBefore = policy.counters.scanned;
    let budget = 2 * policy.size + 1;
    // With swap full only frames that keep their slot can go: do not rotate the lists for nothing.
    if (this.device.freeSlots === 0) budget = Math.min(budget, 2 * this.cache.size);
    let freed = 0;
    while (freed < target && budget-- > 0) {
      const pfn = policy.selectVictim(this.referenced);
      if (pfn < 0) break;
      if (this.shrinkFrame(pfn * PAGE_SIZE)) freed++;
    }
    this.mappings.clear();
    const scanned = policy.counters.scanned - scannedBefore;
    if (who === KSWAPD) {
      this.events.pgscanKswapd += scanned;
      this.events.pgstealKswapd += freed;
    } else {
      this.events.allocStalls++;
      this.events.pgscanDirect += scanned;
      this.events.pgstealDirect += freed;
    }
    return freed + this.vm.shrinkSlab();
  }

  /**
   * A fault is about to copy the frame `pa` (breaking COW): it leaves the lists until
   * {@link putbackCopied}, so the reclaim the copy's allocation may run cannot evict the very
   * page being copied (Linux's fault holds a reference that keeps reclaim from freeing it).
   * Evicted there, the write would swap it back in and copy again, round and round. True when
   * `pa` was on the lists.
   */
  isolateForCopy(pa: number): boolean {
    const pfn = pa / PAGE_SIZE;
    if (!this.policy.has(pfn)) return false;
    this.policy.remove(pfn);
    return true;
  }

  /** The frame `pa` that {@link isolateForCopy} took off the lists goes back on them. */
  putbackCopied(pa: number): void {
    this.policy.add(pa / PAGE_SIZE);
  }

  // ─── the madvise interface ─────────────────────────────────────────────────────────────

  /**
   * MADV_PAGEOUT for the page at `va` of `space`: reclaims its frame now, whatever its age.
   * True when the page went to swap; false when it is not resident, locked, or swap is full.
   */
  pageOut(space: AddressSpace, va: number): boolean {
    const pa = space.frameAt(va);
    if (pa < 0 || !this.policy.has(pa / PAGE_SIZE)) return false;
    this.policy.remove(pa / PAGE_SIZE);
    this.mappings.clear();
    return this.shrinkFrame(pa);
  }

  /** MADV_COLD for the page at `va` of `space`: clears its Accessed bits and makes it the
   * newest inactive page, so it is among the next to go. */
  deactivate(space: AddressSpace, va: number): void {
    const pa = space.frameAt(va);
    if (pa < 0 || !this.policy.has(pa / PAGE_SIZE)) return;
    this.testAndClearYoung(pa);
    this.mappings.clear();
    this.policy.remove(pa / PAGE_SIZE);
    this.policy.add(pa / PAGE_SIZE);
  }

  /**
   * MADV_FREE for the frame at `pa`, whose entries the caller made clean: it may be dropped
   * instead of swapped while no one writes it again. Its swap copy goes (a write would make it
   * stale, and no write needs it), and it becomes the newest inactive page.
   */
  markLazyFree(pa: number): void {
    const pfn = pa / PAGE_SIZE;
    if (!this.policy.has(pfn)) return;
    if (this.cache.slotOf(pa) !== 0) this.cache.delete(pa);
    this.lazyFrames[pfn] = 1;
    this.policy.remove(pfn);
    this.policy.add(pfn);
  }

  /**
   * mlock of a page already in RAM: the frame at `pa` leaves the lists until munlock (Linux's
   * mlock_folio), as a page faulted into a locked area never joins them.
   */
  mlockFrame(pa: number): void {
    if (this.isUnevictable(pa)) return;
    this.policy.remove(pa / PAGE_SIZE);
    this.makeUnevictable(pa);
  }

  /** munlock of a page in RAM: the frame at `pa` may be reclaimed again (back on the lists). */
  putback(pa: number): void {
    if (this.makeEvictable(pa)) this.policy.add(pa / PAGE_SIZE);
  }

  // ─── evicting one frame ────────────────────────────────────────────────────────────────

  /** True when the frame `pa` was taken off the lists because a locked area maps it. */
  isUnevictable(pa: number): boolean {
    return this.unevictableFrames[pa / PAGE_SIZE] === 1;
  }

  private makeUnevictable(pa: number): void {
    this.unevictableFrames[pa / PAGE_SIZE] = 1;
    this.unevictable++;
  }

  /** The frame `pa` is no longer held by a locked area; true when it was. */
  private makeEvictable(pa: number): boolean {
    const pfn = pa / PAGE_SIZE;
    if (this.unevictableFrames[pfn] !== 1) return false;
    this.unevictableFrames[pfn] = 0;
    this.unevictable--;
    return true;
  }

  /** Test-and-clear of the Accessed bit in every entry mapping `pa`: was it referenced? */
  private testAndClearYoung(pa: number): boolean {
    const m = this.mappings;
    this.rmap.collect(pa, m); // kept: the victim is usually the page asked about last
    let young = false;
    for (let i = 0; i < m.count; i++) {
      const tables = m.spaces[i]!.tables;
      const at = m.entries[i]!;
      const low = tables.low(at);
      if ((low & PTE_A) === 0) continue;
      young = true;
      // As x86 Linux: no TLB flush (a stale entry only delays the next Accessed bit).
      tables.write(at, (low & ~PTE_A) >>> 0, tables.high(at));
    }
    return young;
  }

  /**
   * Evicts the frame `pa`, which the caller took off the lists: gives it a swap slot (or uses
   * the one it caches), writes it if dirty, turns every entry mapping it into a swap entry and
   * frees it. False when it stays resident (locked, swap full, write error).
   */
  private shrinkFrame(pa: number): boolean {
    const m = this.mappings;
    if (m.frame !== pa) this.rmap.collect(pa, m);
    if (m.count === 0) throw new Error(`reclaim: frame ${pa} on the LRU but not mapped`);
    try {
      if (this.lockedMapping(m)) {
        this.makeUnevictable(pa);
        return false;
      }
      if (this.lazyFrames[pa / PAGE_SIZE] === 1) {
        this.lazyFrames[pa / PAGE_SIZE] = 0;
        if (!this.writtenSince(pa, m)) return this.discard(pa, m);
      }
      const slot = this.writeOut(pa, m);
      if (slot === 0) {
        this.policy.add(pa / PAGE_SIZE);
        return false;
      }
      this.unmapAll(pa, slot, m);
      return this.cache.delete(pa);
    } finally {
      m.clear();
    }
  }

  /** True when an entry mapping `pa` (or the swap cache) saw a write since it was last clean. */
  private writtenSince(pa: number, m: Mappings): boolean {
    if (this.cache.isDirty(pa)) return true;
    for (let i = 0; i < m.count; i++) {
      if ((m.spaces[i]!.tables.low(m.entries[i]!) & PTE_D) !== 0) return true;
    }
    return false;
  }

  /**
   * Frees a lazily freed frame no one wrote since MADV_FREE, without writing it anywhere: every
   * entry mapping it is cleared, so its pages read as zero from now on (Linux's lazyfree
   * discard in try_to_unmap_one). Always true.
   *
   * A page table this empties is not freed here: as Linux's try_to_unmap (which frees no page
   * table, free_pgtables does at munmap and exit), reclaim may run inside a fault that is about
   * to fill that very table. It stays, counted in VmPTE, until its range is unmapped.
   */
  private discard(pa: number, m: Mappings): boolean {
    this.forget(pa);
    for (let i = 0; i < m.count; i++) {
      const space = m.spaces[i]!;
      space.tables.write(m.entries[i]!, 0, 0);
      space.rss--;
      space.invalidate(m.vas[i]!);
      this.vm.frames.putPage(pa);
    }
    return true;
  }

  private lockedMapping(m: Mappings): boolean {
    for (let i = 0; i < m.count; i++) if (m.spaces[i]!.vmas.find(m.vas[i]!)?.locked) return true;
    return false;
  }

  /**
   * Makes sure slot holds the frame's contents: a new slot (the frame joins the swap cache) and
   * a write, or the cached slot, written only if the frame is dirty. The slot, or 0 when swap
   * is full or the write failed (nothing changed then).
   */
  private writeOut(pa: number, m: Mappings): number {
    const cache = this.cache;
    let slot = cache.slotOf(pa);
    const fresh = slot === 0;
    const dirty = fresh || this.writtenSince(pa, m);
    if (fresh) {
      slot = this.device.allocSlot();
      if (slot < 0) return 0;
      cache.add(slot, pa, true);
    }
    if (dirty && !this.device.write(slot, this.vm.ram, pa)) {
      this.events.writeErrors++;
      if (fresh) cache.delete(pa);
      return 0;
    }
    cache.setDirty(pa, false);
    return slot;
  }

  /** Replaces every entry mapping `pa` by the swap entry of `slot` (Linux's try_to_unmap). */
  private unmapAll(pa: number, slot: number, m: Mappings): void {
    const low = swapEntryLow(slot);
    const high = swapEntryHigh(SWAP_TYPE, slot);
    for (let i = 0; i < m.count; i++) {
      const space = m.spaces[i]!;
      space.tables.write(m.entries[i]!, low, high);
      this.device.duplicate(slot);
      space.rss--;
      space.swapEntries++;
      space.invalidate(m.vas[i]!);
      this.vm.frames.putPage(pa);
    }
  }
}
