/**
 * The virtual-memory layer: the kernel's own page tables (shared by every address space),
 * kernel pages for the allocators above, the vmalloc area, user address spaces, and the only
 * sanctioned way for kernel code to touch user memory (`copyFromUser` / `copyToUser`).
 *
 * Boot builds the kernel half once:
 *
 * ```
 *  PML4[273] ─► PDPT (pinned) ─► 1 GiB / 2 MiB / 4 KiB leaves: direct map of all RAM
 *  PML4[402] ─► PDPT (pinned) ─► tables made on demand:        vmalloc area
 *  PML4[511] ─► PDPT (pinned) ─► PD ─► PT:                     kernel image (text RX, data NX)
 * ```
 *
 * Every user PML4 copies these entries when it is created; since the PDPTs are never freed or
 * replaced, the kernel half stays identical in every address space without any syncing.
 * All kernel leaves are global (they survive CR3 reloads), so unmapping one needs `invlpg`.
 */

import { isUserAddress, USER_TOP } from '../hw/address.js';
import { HUGE_PAGE_SIZE, LARGE_PAGE_SIZE, PAGE_SIZE } from '../hw/constants.js';
import type { Cpu } from '../hw/cpu.js';
import type { BootMemoryMap } from '../hw/memory-map.js';
import { ACCESS_READ, type Mmu, PageFault } from '../hw/mmu.js';
import {
  entryAddress,
  entryHigh,
  entryLow,
  levelSpan,
  type PageLevel,
  PTE_G,
  PTE_P,
  PTE_PS,
  PTE_RW,
} from '../hw/paging.js';
import type { PhysicalMemory, PhysicalRange } from '../hw/ram.js';
import { ERRNO } from '../linux-abi.js';
import {
  type FrameSource,
  FrameUse,
  type PhysicalAllocator,
  ZONE_NORMAL,
} from '../physical/index.js';
import { AddressSpace } from './address-space.js';
import {
  DIRECT_MAP_BASE,
  KERNEL_IMAGE_VA,
  physicalToDirectMap,
  type UserLayout,
  VMALLOC_BASE,
} from './layout.js';
import { PageTables, type TableCounts, tableCounts } from './page-tables.js';
import { DIRECT, type Reclaim, type Shrinker, SWAP_CLUSTER_MAX } from './reclaim/reclaim.js';
import { Cpus } from './smp/cpus.js';
import { FaultResult, VmEvents } from './stats.js';
import type { Vma } from './vma.js';

/** Where VMA records live: a slab cache, wired in by the kernel once the slab allocator runs. */
export interface RecordStore {
  /** Kernel address of a fresh record, or 0 (NULL) when memory is exhausted. */
  alloc(): number;
  free(address: number): void;
  /** Writes the fields of `vma` into its record. */
  write(address: number, vma: Vma): void;
  /** Writes only the bounds of `vma` (start, end) into its record. */
  writeBounds(address: number, vma: Vma): void;
}

/** The level of the largest leaf that can map `pa` without passing `end`: 3, 2 or 1. */
function largestLeafAt(pa: number, end: number): PageLevel {
  if (pa % HUGE_PAGE_SIZE === 0 && pa + HUGE_PAGE_SIZE <= end) return 3;
  if (pa % LARGE_PAGE_SIZE === 0 && pa + LARGE_PAGE_SIZE <= end) return 2;
  return 1;
}

/** The vmalloc area actually used: one PML4 slot (512 GiB) behind a pinned PDPT. */
const VMALLOC_SPAN = levelSpan(4);
/** Unmapped page left after every vmalloc area, so overruns fault instead of corrupting. */
const VMALLOC_GUARD = PAGE_SIZE;

/** Bytes copyFromUser allocates up front; its buffer doubles from there as pages are copied. */
const COPY_BUFFER_START = 1024 * 1024;

/** Direct reclaim rounds a kernel allocation waits for before it fails (Linux's MAX_RECLAIM_RETRIES). */
const MAX_RECLAIM_RETRIES = 16;
/** Orders above this fail rather than invoke the OOM killer (Linux's PAGE_ALLOC_COSTLY_ORDER). */
const PAGE_ALLOC_COSTLY_ORDER = 3;

export class VirtualMemory {
  readonly kernelTables: PageTables;
  /** The entry counts and occupancy of every page-table page of the machine (shared by all trees). */
  readonly pageTableCounts: TableCounts;
  readonly events = new VmEvents();
  /** Every CPU's MMU and TLB state; `cpus.current` is the one running. */
  readonly cpus: Cpus;
  /** Bytes of RAM the direct map covers with 4 KiB, 2 MiB and 1 GiB pages. */
  readonly directMap = { small: 0, large: 0, huge: 0 };
  /** Pages handed out through vmalloc (areas, by start address → size in pages). */
  private readonly vmallocAreas = new Map<number, number>();
  private records: RecordStore | null = null;
  /** What gives back cached kernel memory under pressure (the slab's empty slabs). */
  private readonly shrinkers: Shrinker[] = [];
  /** Reclaim and swap, when the machine has a swap device (null: anonymous memory stays put). */
  reclaim: Reclaim | null = null;
  /**
   * What a kernel allocation that reclaim could not satisfy does before it fails (the kernel's
   * out_of_memory): true when the OOM killer freed memory, so the allocation is worth
   * retrying; false when the victim is the current process, or none may be killed.
   */
  onKernelOutOfMemory: (() => boolean) | null = null;
  /** Kernel address of the image's data section, where static kernel variables live; 0 when
   * the machine is too small for a kernel image. */
  readonly kernelData: number;

  /**
   * Builds the kernel's page tables and switches every CPU (the MMU of each: `mmus`, or the
   * single `mmu`) onto them, with NX, SMEP and SMAP on.
   */
  constructor(
    readonly ram: PhysicalMemory,
    mmus: Mmu | readonly Mmu[],
    readonly frames: PhysicalAllocator,
    map: BootMemoryMap,
  ) {
    this.pageTableCounts = tableCounts(ram);
    const tables = PageTables.create(ram, this.kernelFrames, this.pageTableCounts);
    if (tables === undefined) throw new Error('no memory for the kernel page tables');
    this.kernelTables = tables;
    this.cpus = new Cpus(Array.isArray(mmus) ? mmus : [mmus as Mmu], this.events);
    for (const base of [DIRECT_MAP_BASE, VMALLOC_BASE, KERNEL_IMAGE_VA]) this.pinKernelSlot(base);
    for (const range of map.installed) this.mapDirect(range);
    if (map.kernelImage !== undefined) this.mapKernelImage(map.kernelImage);
    this.kernelData =
      map.kernelImage === undefined ? 0 : KERNEL_IMAGE_VA + dataStart(map.kernelImage);
    for (const { mmu } of this.cpus.all) {
      const cpu = mmu.cpu;
      cpu.eferNxe = true;
      cpu.cr0Wp = true;
      mmu.loadCr3(tables.root);
      cpu.cr4Smep = true;
      cpu.cr4Smap = true;
    }
  }

  /** The MMU of the CPU running now. */
  get mmu(): Mmu {
    return this.cpus.current.mmu;
  }

  /** The registers of the CPU running now. */
  get cpu(): Cpu {
    return this.cpus.current.mmu.cpu;
  }

  /** The address space whose PML4 is in the running CPU's CR3 (null: the kernel's own tables). */
  get active(): AddressSpace | null {
    return this.cpus.current.loadedSpace;
  }

  /** Page-table pages of the kernel half (counted once: they are shared). */
  get kernelTablePages(): number {
    return this.kernelTables.tablePages;
  }

  /** Gives the layer a place for VMA records (the kernel's `vm_area_struct` cache). */
  useRecordStore(store: RecordStore): void {
    this.records = store;
  }

  // ─── boot ───────────────────────────────────────────────────────────────────────────────

  private pinKernelSlot(base: number): void {
    if (this.kernelTables.entry(base, 3, true, false) < 0) throw new Error('no memory for a PDPT');
    this.kernelTables.pin(base, 3);
  }

  /** Maps `range` of RAM at DIRECT_MAP_BASE + pa with the largest pages that fit. */
  private mapDirect(range: PhysicalRange): void {
    const end = range.base + range.length;
    let pa = range.base;
    while (pa < end) {
      const level = largestLeafAt(pa, end);
      this.mapKernelLeaf(physicalToDirectMap(pa), pa, level, true, true);
      const span = levelSpan(level);
      if (level === 3) this.directMap.huge += span;
      else if (level === 2) this.directMap.large += span;
      else this.directMap.small += span;
      pa += span;
    }
  }

  /** Maps the kernel image at KERNEL_IMAGE_VA + pa: first half text (RX), second half data (RW, NX). */
  private mapKernelImage(image: PhysicalRange): void {
    const textEnd = dataStart(image);
    for (let pa = image.base; pa < image.base + image.length; pa += PAGE_SIZE) {
      const text = pa < textEnd;
      this.mapKernelLeaf(KERNEL_IMAGE_VA + pa, pa, 1, !text, !text);
    }
  }

  private mapKernelLeaf(
    va: number,
    pa: number,
    level: PageLevel,
    writable: boolean,
    noExec: boolean,
  ): void {
    const at = this.kernelTables.entry(va, level, true, false);
    if (at < 0) throw new Error('no memory for kernel page tables');
    const flags = PTE_P | PTE_G | (writable ? PTE_RW : 0) | (level > 1 ? PTE_PS : 0);
    this.kernelTables.write(at, entryLow(pa, flags), entryHigh(pa, noExec));
  }

  // ─── kernel pages ───────────────────────────────────────────────────────────────────────

  /** Direct-map address of 2^order contiguous slab pages, or -1 when memory is exhausted. */
  allocKernelPages(order: number): number {
    const pa = this.kernelFrames.tryAllocPages(order, FrameUse.SLAB, ZONE_NORMAL, false);
    return pa < 0 ? -1 : physicalToDirectMap(pa);
  }

  freeKernelPages(address: number, order: number): void {
    this.frames.freePages(address - DIRECT_MAP_BASE, order);
  }

  /**
   * Virtually contiguous kernel memory of `size` bytes (rounded up to pages) in the vmalloc
   * area, each page its own frame of `use`; 0 (NULL) when memory or address space is exhausted.
   */
  vmalloc(size: number, use: FrameUse = FrameUse.VMALLOC): number {
    const pages = Math.ceil(size / PAGE_SIZE);
    const start = this.findVmallocGap(pages * PAGE_SIZE + VMALLOC_GUARD);
    if (pages <= 0 || start === 0) return 0;
    for (let i = 0; i < pages; i++) {
      const frame = this.kernelFrames.tryAllocPages(0, use, ZONE_NORMAL, true);
      if (frame < 0 || this.kernelTables.entry(start + i * PAGE_SIZE, 1, true, false) < 0) {
        if (frame >= 0) this.frames.freePages(frame, 0);
        this.unmapVmalloc(start, i);
        return 0;
      }
      this.mapKernelLeaf(start + i * PAGE_SIZE, frame, 1, true, true);
    }
    this.vmallocAreas.set(start, pages);
    return start;
  }

  /** Frees a vmalloc area and flushes its (global) translations. */
  vfree(address: number): void {
    const pages = this.vmallocAreas.get(address);
    if (pages === undefined) throw new Error(`vfree of ${address}: not a vmalloc area`);
    this.vmallocAreas.delete(address);
    this.unmapVmalloc(address, pages);
  }

  /** Bytes currently held through vmalloc (meminfo VmallocUsed). */
  get vmallocBytes(): number {
    let pages = 0;
    for (const n of this.vmallocAreas.values()) pages += n;
    return pages * PAGE_SIZE;
  }

  /** Unmaps `pages` pages of a vmalloc area: one flush of them on every CPU, then the frees. */
  private unmapVmalloc(start: number, pages: number): void {
    const vas: number[] = [];
    const frames: number[] = [];
    for (let i = 0; i < pages; i++) {
      const va = start + i * PAGE_SIZE;
      const at = this.kernelTables.entry(va, 1, false, false);
      frames.push(entryAddress(this.kernelTables.low(at), this.kernelTables.high(at)));
      this.kernelTables.clear(va, 1);
      vas.push(va);
    }
    this.cpus.flushKernelRange(vas);
    for (const frame of frames) this.frames.freePages(frame, 0);
  }

  /** The lowest free stretch of `size` bytes in the vmalloc area, or 0. */
  private findVmallocGap(size: number): number {
    const areas = [...this.vmallocAreas].sort((a, b) => a[0] - b[0]);
    let candidate = VMALLOC_BASE;
    for (const [start, pages] of areas) {
      if (candidate + size <= start) break;
      candidate = Math.max(candidate, start + pages * PAGE_SIZE + VMALLOC_GUARD);
    }
    return candidate + size <= VMALLOC_BASE + VMALLOC_SPAN ? candidate : 0;
  }

  /**
   * Frames for the kernel's own use (slab pages, page tables, vmalloc): the buddy
   * allocator's, and when it has none, what direct reclaim frees, as a GFP_KERNEL allocation
   * waits for reclaim rather than fail while user pages could go to swap.
   */
  readonly kernelFrames: FrameSource = {
    tryAllocPages: (order, use, highestZone = ZONE_NORMAL, zero = false) => {
      const pa = this.frames.tryAllocPages(order, use, highestZone, zero);
      return pa >= 0 ? pa : this.allocKernelFramesSlow(order, use, highestZone, zero);
    },
    freePages: (pa, order) => this.frames.freePages(pa, order),
  };

  /**
   * {@link kernelFrames} when no frame was free, as Linux's allocation slow path for
   * GFP_KERNEL: direct reclaim and a retry, while reclaim makes progress and at most
   * {@link MAX_RECLAIM_RETRIES} times; then, for an order up to {@link PAGE_ALLOC_COSTLY_ORDER},
   * a last try (memory may have come back meanwhile: Linux's __alloc_pages_may_oom tries the
   * free lists once more) and the OOM killer, and all that again for as long as it kills a
   * process other than the current one.
   * The one place kernel allocations reclaim: the slab, page tables and vmalloc only ask. -1
   * when all that frees nothing, and at once from within reclaim itself (PF_MEMALLOC: reclaim
   * never recurses into reclaim or the OOM killer).
   */
  private allocKernelFramesSlow(order: number, use: FrameUse, zone: number, zero: boolean): number {
    if (this.reclaim?.running === true) return -1;
    for (;;) {
      const reclaimed = this.allocAfterReclaim(order, use, zone, zero);
      if (reclaimed >= 0 || order > PAGE_ALLOC_COSTLY_ORDER) return reclaimed;
      const last = this.frames.tryAllocPages(order, use, zone, zero);
      if (last >= 0 || this.onKernelOutOfMemory?.() !== true) return last;
    }
  }

  /** Direct reclaim and a retry, while reclaim makes progress: the frames, or -1. */
  private allocAfterReclaim(order: number, use: FrameUse, zone: number, zero: boolean): number {
    for (let retry = 0; retry < MAX_RECLAIM_RETRIES; retry++) {
      if (this.tryToFreePages(Math.max(SWAP_CLUSTER_MAX, 1 << order)) === 0) return -1;
      const pa = this.frames.tryAllocPages(order, use, zone, zero);
      if (pa >= 0) return pa;
    }
    return -1;
  }

  /**
   * Direct reclaim of about `target` pages for an allocation that found none (Linux's
   * try_to_free_pages): user pages to swap when the machine has swap, and the shrinkers'
   * caches, with or without swap. The pages freed; 0 when called from within reclaim itself
   * (PF_MEMALLOC: reclaim never recurses into reclaim).
   */
  tryToFreePages(target: number): number {
    if (this.reclaim === null) return this.shrinkSlab();
    return this.reclaim.running ? 0 : this.reclaim.shrink(target, DIRECT);
  }

  /** `shrinker` gives back cached kernel memory when direct reclaim or kswapd runs. */
  registerShrinker(shrinker: Shrinker): void {
    this.shrinkers.push(shrinker);
  }

  /** Runs every shrinker (Linux's shrink_slab); the pages they freed. */
  shrinkSlab(): number {
    let freed = 0;
    for (const shrinker of this.shrinkers) freed += shrinker();
    return freed;
  }

  /**
   * A frame for user memory (zeroed when `zero`), through reclaim's watermarks when the
   * machine has swap; -1 when memory is exhausted.
   */
  allocUserFrame(zero: boolean): number {
    if (this.reclaim !== null) return this.reclaim.allocUserFrame(zero);
    return this.frames.tryAllocPages(0, FrameUse.USER, ZONE_NORMAL, zero);
  }

  // ─── address spaces ─────────────────────────────────────────────────────────────────────

  /** A new user address space for a program called `name` (fixed layout unless `layout` is
   * given), or undefined on OOM. */
  createAddressSpace(name: string, layout?: UserLayout): AddressSpace | undefined {
    return AddressSpace.create(this, name, layout);
  }

  /**
   * Loads `space`'s PML4 into the running CPU's CR3 (the kernel's when null): non-global TLB
   * entries go. Nothing is reloaded when the CPU has `space` loaded already.
   */
  switchTo(space: AddressSpace | null): void {
    this.cpus.switchTo(space, this.kernelTables.root);
  }

  /** Every CPU drops `space`'s tables for the kernel's, before the space is freed. */
  unloadEverywhere(space: AddressSpace): void {
    this.cpus.unload(space, this.kernelTables.root);
  }

  /**
   * A fresh VMA record: its kernel address, 0 when the layer keeps no records (no store wired
   * in), or null when kernel memory is exhausted.
   */
  allocRecord(): number | null {
    if (this.records === null) return 0;
    const address = this.records.alloc();
    return address === 0 ? null : address;
  }

  freeRecord(address: number): void {
    if (this.records !== null && address !== 0) this.records.free(address);
  }

  syncRecord(vma: Vma): void {
    if (this.records !== null && vma.record !== 0) this.records.write(vma.record, vma);
  }

  /**
   * {@link syncRecord} of an area that only grew or shrank: its bounds are all that changed,
   * and all that is written (two of the record's four stores of its fields).
   */
  syncBounds(vma: Vma): void {
    if (this.records !== null && vma.record !== 0) this.records.writeBounds(vma.record, vma);
  }

  // ─── user copies ────────────────────────────────────────────────────────────────────────

  /**
   * Copies `length` bytes from user address `va` of `space` (the active one) into the kernel.
   * Faults are handled like user faults (demand paging); an address that cannot be made
   * readable gives -EFAULT instead of a kernel crash, as Linux's exception tables do. So does a
   * length larger than all of RAM (one address space maps each frame at most once, so it could
   * never be read in full), before the buffer for it is allocated.
   */
  copyFromUser(space: AddressSpace, va: number, length: number): Uint8Array | number {
    if (!this.isUserRange(va, length)) return -ERRNO.EFAULT;
    if (length > this.frames.managedFrames * PAGE_SIZE) return -ERRNO.EFAULT;
    // The buffer grows with what was really copied: a long range that faults early costs an
    // allocation of at most COPY_BUFFER_START (or twice what it read), not of `length`.
    let out = new Uint8Array(Math.min(length, COPY_BUFFER_START));
    const status = this.eachUserPage(space, va, length, (at, done, count) => {
      if (done + count > out.length) {
        const grown = new Uint8Array(Math.min(length, Math.max(2 * out.length, done + count)));
        grown.set(out.subarray(0, done));
        out = grown;
      }
      this.ram.readInto(this.mmu.translate(at, ACCESS_READ), out, done, count);
    });
    return status === 0 ? out : status;
  }

  /** Copies `bytes` to user address `va` of `space`: 0, or -EFAULT. */
  copyToUser(space: AddressSpace, va: number, bytes: Uint8Array): number {
    if (!this.isUserRange(va, bytes.length)) return -ERRNO.EFAULT;
    return this.eachUserPage(space, va, bytes.length, (at, done, count) => {
      this.mmu.writeBytes(at, bytes.subarray(done, done + count));
    });
  }

  /** True when `[va, va + length)` lies wholly in user space (no wrap, no kernel half). */
  isUserRange(va: number, length: number): boolean {
    return (
      Number.isSafeInteger(va) &&
      Number.isSafeInteger(length) &&
      length >= 0 &&
      isUserAddress(va) &&
      va + length <= USER_TOP
    );
  }

  /**
   * A fault of a copy to or from user memory found no memory: true when the copy is worth
   * retrying. Direct reclaim gets the `firstRound`, then the OOM killer of kernel allocations:
   * another process's memory is reaped, or the current process is chosen and dies on its way
   * back to user mode while the copy fails (EFAULT). It is never unwound in the middle of a
   * system call, which would leave what the call had begun half done (as Linux, where a
   * kernel-mode fault out of memory takes the copy's fixup, not pagefault_out_of_memory).
   */
  private copyOutOfMemory(firstRound: boolean): boolean {
    if (firstRound && this.tryToFreePages(SWAP_CLUSTER_MAX) > 0) return true;
    return this.onKernelOutOfMemory?.() === true;
  }

  /**
   * Runs `copy` page by page with RFLAGS.AC set (SMAP's `stac`), resolving faults through the
   * fault handler; the one place where a kernel-mode fault on a user address is legal.
   */
  private eachUserPage(
    space: AddressSpace,
    va: number,
    length: number,
    copy: (at: number, done: number, count: number) => void,
  ): number {
    const cpu = this.mmu.cpu;
    let done = 0;
    /** Out-of-memory rounds of the access at `done` (reclaim gets the first only). */
    let oomRounds = 0;
    cpu.rflagsAc = true;
    try {
      while (done < length) {
        const at = va + done;
        const count = Math.min(length - done, PAGE_SIZE - (at % PAGE_SIZE));
        try {
          copy(at, done, count);
          done += count;
          oomRounds = 0;
        } catch (error) {
          if (!(error instanceof PageFault)) throw error;
          const result = space.handleFault(error.cr2, error.errorCode);
          if (result === FaultResult.OUT_OF_MEMORY && this.copyOutOfMemory(oomRounds++ === 0)) {
            continue;
          }
          if (result !== FaultResult.HANDLED) return -ERRNO.EFAULT;
        }
      }
      return 0;
    } finally {
      cpu.rflagsAc = false;
    }
  }
}

/** Physical start of the kernel image's data: its second half (the first is text). */
function dataStart(image: PhysicalRange): number {
  return image.base + image.length / 2;
}
