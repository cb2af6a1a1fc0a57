/**
 * A user address space: its page tables, its VMAs, its program break; the page-fault handler
 * that makes the two agree lazily (demand-zero paging, copy-on-write, swap-in, stack growth)
 * is in fault.ts.
 *
 * Leaf entries of user memory take one of four forms (bit layouts in swap/swap-entry.ts):
 *
 * ```
 *  0                                   nothing: the first touch faults and maps a zeroed frame
 *  frame | P | US | [RW] | [NX] | A D  present: RW is clear while the frame is shared (COW)
 *  frame | PTE_PROT_NONE               held but inaccessible (PROT_NONE): P = 0, so any access
 *                                      faults, yet the frame and its contents stay ours
 *  type | ~slot                        swapped out: a touch is a major fault that reads the
 *                                      page back from swap slot `slot`
 * ```
 *
 * Every frame a leaf holds counts one reference in the physical allocator, every swap entry
 * one on its swap slot; fork adds one per shared frame or slot, unmapping drops one. Syscall-style methods return Linux values (negative errno).
 * Helpers marked "VM layer" serve the layer's operations kept in files of their own
 * (fault.ts, mremap.ts); nothing outside src/virtual calls them.
 */
import { isPageAligned, pageDown, pageUp, USER_TOP } from '../hw/address.js';
import { PAGE_SIZE } from '../hw/constants.js';
import {
  entryAddress,
  entryHigh,
  entryLow,
  PTE_NX_HIGH,
  PTE_P,
  PTE_RW,
  PTE_US,
} from '../hw/paging.js';
import {
  ERRNO,
  MAP_ANONYMOUS,
  MAP_FIXED,
  MAP_FIXED_NOREPLACE,
  MAP_GROWSDOWN,
  MAP_LOCKED,
  MAP_NORESERVE,
  MAP_POPULATE,
  MAP_PRIVATE,
  MAP_SHARED,
  PROT_EXEC,
  PROT_READ,
  PROT_WRITE,
} from '../linux-abi.js';
import { faultIn, handleFault } from './fault.js';
import {
  FIXED_LAYOUT,
  INITIAL_STACK_SIZE,
  imageData,
  imageText,
  STACK_GUARD_GAP,
  STACK_TOP,
  USER_MIN,
  type UserLayout,
} from './layout.js';
import { mremap } from './mremap.js';
import { PageTables } from './page-tables.js';
import type { ForkFamily } from './reclaim/rmap.js';
import { MmuGather } from './smp/mmu-gather.js';
import { FaultResult } from './stats.js';
import { isSwapEntry, PTE_PROT_NONE, swapEntryOffset } from './swap/swap-entry.js';
import type { VirtualMemory } from './virtual-memory.js';
import { VM_LOCKED, VM_LOCKED_MASK, Vma, type VmaKind, VmaList } from './vma.js';

const PROT_ALL = PROT_READ | PROT_WRITE | PROT_EXEC;
/** mmap flags understood here; MAP_GROWSDOWN and MAP_NORESERVE are accepted and ignored. */
const KNOWN_MAP_FLAGS =
  MAP_SHARED |
  MAP_PRIVATE |
  MAP_FIXED |
  MAP_ANONYMOUS |
  MAP_FIXED_NOREPLACE |
  MAP_POPULATE |
  MAP_GROWSDOWN |
  MAP_LOCKED |
  MAP_NORESERVE;

/**
 * True when a leaf rewritten from `low`/`high` to `newLow`/`newHigh` lost something a TLB may
 * have cached: presence, write permission, execute permission (NX set) or its frame.
 */
function losesRights(low: number, high: number, newLow: number, newHigh: number): boolean {
  if ((low & PTE_P) === 0) return false;
  if ((newLow & PTE_P) === 0) return true;
  if ((low & PTE_RW) !== 0 && (newLow & PTE_RW) === 0) return true;
  if ((high & PTE_NX_HIGH) === 0 && (newHigh & PTE_NX_HIGH) !== 0) return true;
  return entryAddress(low, high) !== entryAddress(newLow, newHigh);
}

/**
 * True when `[start, end)` lies strictly inside `vma`, with room on both sides: unmapping it
 * cuts a hole in the area.
 */
function cutsHole(vma: Vma | undefined, start: number, end: number): boolean {
  return vma !== undefined && vma.start < start && end < vma.end;
}

export class AddressSpace {
  readonly vmas = new VmaList();
  /** First byte of the heap: the program break never goes below it. */
  readonly brkStart: number;
  /** The program break (may be unaligned; the heap VMA ends at it rounded up). */
  brk: number;
  /** Resident user frames mapped here (VmRSS / 4 KiB). */
  rss = 0;
  /** Highest `rss` seen (VmHWM). */
  peakRss = 0;
  minorFaults = 0;
  /** Faults that read a page back from swap (maj_flt). */
  majorFaults = 0;
  cowBreaks = 0;
  /** Swap entries in this space's page tables (VmSwap / 4 KiB). */
  swapEntries = 0;
  /** The fork family the reverse map finds this space's frames through (null: no reclaim). */
  family: ForkFamily | null = null;
  /** Lock flags every new mapping gets (Linux's mm->def_flags; set by mlockall MCL_FUTURE). */
  defaultLockFlags = 0;
  /**
   * The one path of every PTE change to the TLBs: queue the pages whose translations changed
   * (and the frames and tables they freed) here, then `finish()` flushes every CPU holding this
   * space's tables and only then frees them. See {@link MmuGather}; {@link invalidate} is the
   * one-page form.
   */
  readonly mmuGather: MmuGather = new MmuGather(this);

  private constructor(
    readonly vm: VirtualMemory,
    readonly tables: PageTables,
    /** Where the mmap area, the stack and the heap are (fixed, or moved by ASLR). */
    readonly layout: UserLayout,
  ) {
    this.brkStart = layout.brkStart;
    this.brk = layout.brkStart;
  }

  /**
   * A fresh address space with a program image named `name` and a stack, laid out as `layout`
   * says, or undefined when memory is exhausted (nothing is left allocated then).
   */
  static create(
    vm: VirtualMemory,
    name: string,
    layout: UserLayout = FIXED_LAYOUT,
  ): AddressSpace | undefined {
    const tables = PageTables.create(vm.ram, vm.kernelFrames, vm.pageTableCounts);
    if (tables === undefined) return undefined;
    tables.shareKernelHalf(vm.kernelTables);
    const space = new AddressSpace(vm, tables, layout);
    if (vm.reclaim !== null) space.family = vm.reclaim.rmap.newFamily(space);
    const path = `/bin/${name}`;
    const [text, textEnd] = imageText(layout);
    const [data, dataEnd] = imageData(layout);
    const ok =
      space.addVma(text, textEnd - text, PROT_READ | PROT_EXEC, false, 'image', path) &&
      space.addVma(data, dataEnd - data, PROT_READ | PROT_WRITE, false, 'image', path) &&
      space.addVma(
        layout.stackTop - INITIAL_STACK_SIZE,
        INITIAL_STACK_SIZE,
        PROT_READ | PROT_WRITE,
        false,
        'stack',
        '[stack]',
      );
    if (!ok) {
      space.destroy();
      return undefined;
    }
    return space;
  }

  /** True while this space's PML4 is in the running CPU's CR3. */
  get isActive(): boolean {
    return this.vm.active === this;
  }

  /** Bytes of user address space mapped (VmSize). */
  get mappedBytes(): number {
    return this.vmas.totalBytes;
  }

  /** Bytes of private writable areas other than the stack (VmData). */
  get dataBytes(): number {
    let total = 0;
    for (const vma of this.vmas.items) {
      if (vma.prot & PROT_WRITE && !vma.shared && vma.kind !== 'stack') total += vma.length;
    }
    return total;
  }

  /** Bytes of executable program image (VmExe). */
  get textBytes(): number {
    let total = 0;
    for (const vma of this.vmas.items)
      if (vma.kind === 'image' && vma.prot & PROT_EXEC) total += vma.length;
    return total;
  }

  /** The stack area, if the process still has one. */
  get stack(): Vma | undefined {
    return this.vmas.items.find((v) => v.kind === 'stack');
  }

  // ─── the page-fault handler (fault.ts) ─────────────────────────────────────────────────

  /**
   * Resolves a fault at `va` with x86 error code `errorCode` (see {@link handleFault} in
   * fault.ts): grow the stack, map a zeroed frame, swap in, break copy-on-write, or SEGV.
   */
  handleFault(va: number, errorCode: number): FaultResult {
    return handleFault(this, va, errorCode);
  }

  /** VM layer: one more resident frame (VmRSS), and VmHWM when it is a new high. */
  addRss(): void {
    this.rss++;
    if (this.rss > this.peakRss) this.peakRss = this.rss;
  }

  // ─── leaves ─────────────────────────────────────────────────────────────────────────────

  /**
   * VM layer: writes the leaf for `frame` under `prot`. RW is set only when `exclusive` (the frame is
   * ours alone or the area is shared); PROT_NONE keeps the frame in a non-present entry.
   */
  writeLeaf(at: number, frame: number, prot: number, exclusive: boolean): void {
    if (prot === 0) {
      this.tables.write(at, entryLow(frame, PTE_PROT_NONE), entryHigh(frame));
      return;
    }
    const rw = prot & PROT_WRITE && exclusive ? PTE_RW : 0;
    const noExec = !(prot & PROT_EXEC) && this.vm.cpu.eferNxe;
    this.tables.write(at, entryLow(frame, PTE_P | PTE_US | rw), entryHigh(frame, noExec));
  }

  /**
   * The frame the leaf at `at` holds in RAM (present, or kept under PROT_NONE), or -1 when it
   * holds none: mincore's "resident", the frames mlock accounts.
   */
  residentFrame(at: number): number {
    const lo = this.tables.low(at);
    if ((lo & (PTE_P | PTE_PROT_NONE)) === 0) return -1;
    return entryAddress(lo, this.tables.high(at));
  }

  /** The frame in RAM for the page at `va` (see {@link residentFrame}), or -1. */
  frameAt(va: number): number {
    const at = this.tables.entry(va, 1, false, true);
    return at < 0 ? -1 : this.residentFrame(at);
  }

  /**
   * Drops every frame and swap entry in `[start, end)` and the tables left empty (Linux's
   * zap_page_range: munmap, exit, MADV_DONTNEED).
   */
  releasePages(start: number, end: number): void {
    this.zapRange(start, end);
    this.mmuGather.finish();
  }

  /**
   * {@link releasePages} without its end: the frames and emptied tables wait in the gather
   * for the caller's `finish()`, so one flush covers a whole munmap.
   */
  private zapRange(start: number, end: number): void {
    const gather = this.mmuGather;
    this.tables.forEachLeaf(start, end, (at, va) => {
      const lo = this.tables.low(at);
      const hi = this.tables.high(at);
      this.tables.clearLeaf(at, va, gather);
      if (isSwapEntry(lo, hi)) {
        this.vm.reclaim!.releaseSwapEntry(swapEntryOffset(lo, hi));
        this.swapEntries--;
        return;
      }
      gather.removePage(va, entryAddress(lo, hi), lo);
      this.rss--;
    });
  }

  /**
   * Drops the reference of a leaf (whose low half was `lo`) to `frame`, once no TLB can reach
   * it through that leaf any more (the gather calls it after the flush).
   */
  unmapFrame(frame: number, lo: number): void {
    if (this.vm.reclaim === null) this.vm.frames.putPage(frame);
    else this.vm.reclaim.unmapOne(frame, lo);
  }

  /** True when this space alone may write `frame`: no other entry maps it or its swap slot. */
  isExclusive(frame: number): boolean {
    return this.vm.reclaim?.isExclusive(frame) ?? this.vm.frames.refCount(frame) === 1;
  }

  /**
   * Re-derives the leaves of `[start, end)` from `prot` (mprotect); swap entries stay. Only
   * leaves that lost a right need a flush: a right added shows as a spurious fault, which
   * flushes locally. The caller finishes the gather.
   */
  private reprotect(start: number, end: number, prot: number, shared: boolean): void {
    this.tables.forEachLeaf(start, end, (at, va) => {
      const lo = this.tables.low(at);
      const hi = this.tables.high(at);
      if (isSwapEntry(lo, hi)) return;
      const frame = entryAddress(lo, hi);
      this.vm.reclaim?.noteDirty(frame, lo);
      this.writeLeaf(at, frame, prot, shared || this.isExclusive(frame));
      if (losesRights(lo, hi, this.tables.low(at), this.tables.high(at))) {
        this.mmuGather.flushPage(va);
      }
    });
  }

  /**
   * The leaf of the user page at `va` changed: every CPU holding this space's tables drops its
   * translation before this returns (IPIs to the others). A loop over many leaves queues them
   * on {@link mmuGather} instead and finishes once, for one IPI per CPU.
   */
  invalidate(va: number): void {
    this.mmuGather.flushPage(va);
    this.mmuGather.finish();
  }

  /**
   * VM layer: drops the running CPU's translation of `va`, when this space is loaded: after a fault that
   * gave the page a translation it had not (or more rights), no other CPU can hold one to
   * flush, and a CPU that held an older one takes a spurious fault and lands here itself.
   */
  flushLocal(va: number): void {
    if (!this.isActive) return;
    this.vm.mmu.invlpg(va);
    this.vm.events.tlbSinglePageFlushes++;
  }

  // ─── VMAs ───────────────────────────────────────────────────────────────────────────────

  private addVma(
    start: number,
    length: number,
    prot: number,
    shared: boolean,
    kind: VmaKind,
    name: string,
    lockFlags = 0,
  ): Vma | undefined {
    const record = this.vm.allocRecord();
    if (record === null) return undefined;
    const vma = new Vma(start, start + length, prot, shared, kind, name, record, lockFlags);
    this.insertVma(vma);
    return vma;
  }

  /** VM layer: adds `vma`, whose record (`vma.record`) is already reserved, and writes it. */
  insertVma(vma: Vma): void {
    this.vmas.insert(vma);
    this.vm.syncRecord(vma);
  }

  /**
   * VM layer: removes `[start, end)` from the VMAs and releases its pages. An area the range
   * cuts a hole in keeps what lies below, a new area with a record from `spare` takes what lies
   * above; an area the range covers at one end is trimmed to what lies outside (keeping its
   * record); the areas inside go. One search finds the first area; the others follow it.
   *
   * ```
   *            start                                 end
   *  hole:   [ ..│............ area ...................│.... ]  → [ area ] hole [ new area ]
   *  else:   [ area│..]  [ inside ]  [ inside ]  [ ....│area ]  → [ area ]  hole  [ area ]
   * ```
   */
  removeRange(start: number, end: number, spare: number[]): void {
    const items = this.vmas.items;
    let first = this.vmas.indexAfter(start);
    const below = items[first - 1];
    if (cutsHole(below, start, end)) {
      this.punchHole(first - 1, start, end, spare.pop()!);
    } else {
      if (below?.start === start) first--;
      else if (below !== undefined && start < below.end) this.trimEnd(first - 1, start);
      let last = first;
      for (; last < items.length && items[last]!.end <= end; last++) {
        this.zapRange(items[last]!.start, items[last]!.end);
        this.vm.freeRecord(items[last]!.record);
      }
      if (last < items.length && items[last]!.start < end) this.trimStart(last, end);
      this.vmas.removeRun(first, last);
    }
    this.tables.freeEmptyTablesIn(start, end, this.mmuGather);
    this.mmuGather.finish();
  }

  /**
   * Cuts `[start, end)` out of the middle of the area at index `at`: the area keeps what lies
   * below, a new one with `record` takes what lies above. One split, where cutting at both edges
   * would make a piece between only to drop it.
   */
  private punchHole(at: number, start: number, end: number, record: number): void {
    const lower = this.vmas.items[at]!;
    const upper = this.vmas.splitAt(at, end, record);
    this.vmas.resizeAt(at, lower.start, start);
    this.zapRange(start, end);
    this.vm.syncBounds(lower);
    this.vm.syncRecord(upper);
  }

  /** Unmaps the top of the area at index `at` from `edge` (inside it) up: it ends at `edge`. */
  private trimEnd(at: number, edge: number): void {
    const vma = this.vmas.items[at]!;
    this.zapRange(edge, vma.end);
    this.vmas.resizeAt(at, vma.start, edge);
    this.vm.syncBounds(vma);
  }

  /** Unmaps the bottom of the area at index `at` up to `edge` (inside it): it starts there. */
  private trimStart(at: number, edge: number): void {
    const vma = this.vmas.items[at]!;
    this.zapRange(vma.start, edge);
    this.vmas.resizeAt(at, edge, vma.end);
    this.vm.syncBounds(vma);
  }

  /** Splits the VMAs at `start` and `end`, taking each new record from `spare`. */
  splitEdges(start: number, end: number, spare: number[]): void {
    this.splitEdge(start, spare);
    this.splitEdge(end, spare);
  }

  /**
   * Splits the VMA strictly containing `edge`, if any, the upper piece taking a record from
   * `spare`. The index of the first area at or above `edge` then (one search serves both).
   */
  private splitEdge(edge: number, spare: number[]): number {
    const above = this.vmas.indexAfter(edge);
    const lower = this.vmas.items[above - 1];
    if (lower === undefined || lower.end <= edge) return above;
    if (lower.start === edge) return above - 1;
    const upper = this.vmas.splitAt(above - 1, edge, spare.pop()!);
    this.vm.syncBounds(lower);
    this.vm.syncRecord(upper);
    return above;
  }

  /**
   * Maps a new area `[start, end)` where no VMA is, as Linux's mmap_region: where it continues
   * a neighbour alike (same rights, kind, name and lock), that neighbour grows over it, or
   * both neighbours become one, and no record is needed; else the area gets a VMA and a record
   * of its own, from `spare` if the caller reserved one. False (nothing changed) when no record
   * is left.
   */
  private mapArea(
    start: number,
    end: number,
    prot: number,
    shared: boolean,
    kind: VmaKind,
    name: string,
    lockFlags: number,
    spare?: number[],
  ): boolean {
    const next = this.vmas.indexAfter(start);
    const before = this.vmas.items[next - 1];
    const after = this.vmas.items[next];
    const joinsBefore =
      before?.end === start && before.isAlike(prot, shared, kind, name, lockFlags);
    const joinsAfter = after?.start === end && after.isAlike(prot, shared, kind, name, lockFlags);
    if (joinsBefore && joinsAfter) {
      const joinedEnd = after.end;
      this.vmas.removeRun(next, next + 1);
      this.vmas.resizeAt(next - 1, before.start, joinedEnd);
      this.vm.freeRecord(after.record);
    } else if (joinsBefore) {
      this.vmas.resizeAt(next - 1, before.start, end);
    } else if (joinsAfter) {
      this.vmas.resizeAt(next, start, after.end);
    } else {
      const record = spare?.pop() ?? this.vm.allocRecord();
      if (record === null) return false;
      this.insertVma(new Vma(start, end, prot, shared, kind, name, record, lockFlags));
      return true;
    }
    this.vm.syncBounds(joinsBefore ? before : after);
    return true;
  }

  /** Merges the VMAs in and around `[start, end)` that have become alike, syncing records. */
  mergeAround(start: number, end: number): void {
    for (const gone of this.vmas.mergeAround(start, end)) this.vm.freeRecord(gone.record);
    for (const vma of this.vmas.overlapping(start - 1, end + 1)) this.vm.syncRecord(vma);
  }

  /**
   * Reserves the VMA records that splitting the VMAs at `start` and `end` needs: one per edge
   * that falls strictly inside a VMA. Undefined when kernel memory is exhausted.
   */
  reserveRecords(start: number, end: number): number[] | undefined {
    return this.allocRecords(this.splitsAt(start) + (end !== start ? this.splitsAt(end) : 0));
  }

  /**
   * Reserves the VMA records Linux's munmap of `[start, end)` allocates (see
   * {@link VmaList.splitsToUnmap}; as Linux, an unmap that splits nothing cannot fail for lack
   * of memory), plus `extra` for areas that replace the range (MAP_FIXED). {@link removeRange}
   * uses a hole's; it trims an area cut at one edge in place, and that edge's record goes back
   * unused: reserved all the same, so the unmap fails where Linux's can. Undefined when kernel
   * memory is exhausted.
   */
  private reserveRecordsToRemove(start: number, end: number, extra = 0): number[] | undefined {
    return this.allocRecords(this.vmas.splitsToUnmap(start, end) + extra);
  }

  /**
   * VM layer: reserves the records that cutting the VMAs at each of `edges` needs (one per
   * distinct edge strictly inside a VMA) plus `extra` for new areas; undefined when kernel
   * memory is exhausted (nothing is kept then).
   */
  reserveRecordsAt(edges: readonly number[], extra: number): number[] | undefined {
    let needed = extra;
    edges.forEach((edge, i) => {
      if (edges.indexOf(edge) === i) needed += this.splitsAt(edge);
    });
    return this.allocRecords(needed);
  }

  /** `count` VMA records, or undefined (none kept) when kernel memory is exhausted. */
  private allocRecords(count: number): number[] | undefined {
    const records: number[] = [];
    for (let i = 0; i < count; i++) {
      const record = this.vm.allocRecord();
      if (record === null) {
        this.releaseRecords(records);
        return undefined;
      }
      records.push(record);
    }
    return records;
  }

  /** 1 when a VMA would have to be split at `edge`, else 0. */
  private splitsAt(edge: number): number {
    const vma = this.vmas.find(edge);
    return vma !== undefined && vma.start < edge ? 1 : 0;
  }

  /** Gives back the records {@link reserveRecords} reserved and the splits did not use. */
  releaseRecords(spare: number[]): void {
    for (const record of spare) this.vm.freeRecord(record);
  }

  // ─── system calls ───────────────────────────────────────────────────────────────────────

  /** brk(2): moves the program break; returns the new break, or the old one on failure. */
  setBrk(requested: number): number {
    if (!Number.isSafeInteger(requested) || requested < this.brkStart) return this.brk;
    const oldEnd = pageUp(this.brk);
    const newEnd = pageUp(requested);
    if (newEnd > oldEnd) {
      if (newEnd > this.layout.mmapBase || this.vmas.overlaps(oldEnd, newEnd)) return this.brk;
      const rw = PROT_READ | PROT_WRITE;
      const lockFlags = this.defaultLockFlags;
      if (!this.mapArea(oldEnd, newEnd, rw, false, 'heap', '[heap]', lockFlags)) return this.brk;
      this.populateLocked(oldEnd, newEnd, lockFlags);
    } else if (newEnd < oldEnd) {
      if (!this.unmap(newEnd, oldEnd)) return this.brk;
    }
    this.brk = requested;
    return this.brk;
  }

  /** sbrk(3): moves the break by `increment`; the previous break, or -1 when it cannot. */
  moveBreak(increment: number): number {
    const old = this.brk;
    return this.setBrk(old + increment) === old + increment ? old : -1;
  }

  /** mmap(2) of anonymous memory: the address, or a negative errno. */
  mmap(address: number, length: number, prot: number, flags: number): number {
    const sharing = flags & (MAP_SHARED | MAP_PRIVATE);
    if (!Number.isSafeInteger(length) || length <= 0 || !Number.isSafeInteger(address))
      return -ERRNO.EINVAL;
    if (sharing === 0 || sharing === (MAP_SHARED | MAP_PRIVATE)) return -ERRNO.EINVAL;
    if ((prot & ~PROT_ALL) !== 0 || (flags & ~KNOWN_MAP_FLAGS) !== 0) {
      return -ERRNO.EINVAL;
    }
    if (!(flags & MAP_ANONYMOUS)) return -ERRNO.EBADF;
    const size = pageUp(length);
    if (size > USER_TOP) return -ERRNO.ENOMEM;
    const fixed = (flags & (MAP_FIXED | MAP_FIXED_NOREPLACE)) !== 0;
    let start: number;
    if (fixed) {
      if (!isPageAligned(address) || address < 0) return -ERRNO.EINVAL;
      if (address + size > USER_TOP) return -ERRNO.ENOMEM;
      if (address < USER_MIN) return -ERRNO.EPERM;
      if (flags & MAP_FIXED_NOREPLACE && this.vmas.overlaps(address, address + size))
        return -ERRNO.EEXIST;
      start = address;
    } else {
      start = this.placeMapping(address, size);
      if (start < 0) return -ERRNO.ENOMEM;
    }
    // A fixed mapping takes every record it may need (the new area's too) before it removes
    // anything: a failure then changes nothing (as Linux's mmap_region since 6.12, which puts
    // the old areas back).
    const spare = fixed ? this.reserveRecordsToRemove(start, start + size, 1) : [];
    if (spare === undefined) return -ERRNO.ENOMEM;
    if (fixed) this.removeRange(start, start + size, spare);
    const lockFlags = (flags & MAP_LOCKED ? VM_LOCKED : 0) | this.defaultLockFlags;
    const shared = sharing === MAP_SHARED;
    const mapped = this.mapArea(start, start + size, prot, shared, 'anon', '', lockFlags, spare);
    this.releaseRecords(spare);
    if (!mapped) return -ERRNO.ENOMEM;
    // As Linux's mm_populate, a failure to populate is ignored: the mapping stays (it replaced
    // any old one), populated as far as memory allowed, and its later faults take their chance.
    if (flags & MAP_POPULATE) this.populate(start, start + size);
    this.populateLocked(start, start + size, lockFlags);
    return start;
  }

  /**
   * Faults in a new locked area (MAP_LOCKED, mlockall MCL_FUTURE, mremap's growth) unless it
   * locks on fault. As in Linux, a failure leaves the mapping in place, populated as far as
   * memory allowed.
   */
  populateLocked(start: number, end: number, lockFlags: number): void {
    if ((lockFlags & VM_LOCKED_MASK) === VM_LOCKED) this.populate(start, end);
  }

  /**
   * Where a non-fixed mapping goes: the hint if it fits, else top-down below the mmap base;
   * -1 when no gap is left.
   */
  placeMapping(hint: number, size: number): number {
    const start = pageDown(hint);
    if (this.hintFits(start, start + size)) return start;
    const mmapBase = this.layout.mmapBase;
    return this.vmas.findGapTopDown(size, Math.max(USER_MIN, pageUp(this.brk)), mmapBase);
  }

  /**
   * Linux's test of a hint: anywhere in user space (not only below the mmap base, which ASLR
   * moves), free, and not inside the guard gap below the stack (vm_start_gap).
   */
  private hintFits(start: number, end: number): boolean {
    if (start < USER_MIN || end > STACK_TOP || this.vmas.overlaps(start, end)) return false;
    const stack = this.stack;
    return stack === undefined || start >= stack.end || end <= stack.start - STACK_GUARD_GAP;
  }

  /** munmap(2): 0 or a negative errno. Unmapping nothing is not an error. */
  munmap(address: number, length: number): number {
    if (!Number.isSafeInteger(address) || !Number.isSafeInteger(length)) return -ERRNO.EINVAL;
    if (!isPageAligned(address) || length <= 0 || address < 0) return -ERRNO.EINVAL;
    const end = pageUp(address + length);
    if (end > USER_TOP) return -ERRNO.EINVAL;
    return this.unmap(address, end) ? 0 : -ERRNO.ENOMEM;
  }

  /**
   * Unmaps the page-aligned `[start, end)`: false, with nothing changed, when kernel memory for
   * the VMA records it takes is exhausted.
   */
  private unmap(start: number, end: number): boolean {
    const spare = this.reserveRecordsToRemove(start, end);
    if (spare === undefined) return false;
    this.removeRange(start, end, spare);
    this.releaseRecords(spare);
    return true;
  }

  /** mprotect(2): 0 or a negative errno (ENOMEM when part of the range is not mapped). */
  mprotect(address: number, length: number, prot: number): number {
    if (!Number.isSafeInteger(address) || !Number.isSafeInteger(length)) return -ERRNO.EINVAL;
    if (!isPageAligned(address) || length < 0 || address < 0 || (prot & ~PROT_ALL) !== 0) {
      return -ERRNO.EINVAL;
    }
    const end = pageUp(address + length);
    if (end > USER_TOP) return -ERRNO.ENOMEM;
    if (end === address) return 0;
    if (!this.covers(address, end)) return -ERRNO.ENOMEM;
    const spare = this.reserveRecords(address, end);
    if (spare === undefined) return -ERRNO.ENOMEM;
    this.splitEdges(address, end, spare);
    this.releaseRecords(spare);
    for (const vma of this.vmas.overlapping(address, end)) {
      vma.prot = prot;
      this.reprotect(vma.start, vma.end, prot, vma.shared);
      this.vm.syncRecord(vma);
    }
    this.mmuGather.finish();
    this.mergeAround(address, end);
    return 0;
  }

  /**
   * mremap(2): resizes the mapping at `address` and moves it if `flags` allow (mremap.ts); its
   * address, or a negative errno.
   */
  mremap(
    address: number,
    oldLength: number,
    newLength: number,
    flags: number,
    newAddress = 0,
  ): number {
    return mremap(this, address, oldLength, newLength, flags, newAddress);
  }

  /** True when `[start, end)` is mapped without holes. */
  covers(start: number, end: number): boolean {
    let at = start;
    for (const vma of this.vmas.overlapping(start, end)) {
      if (vma.start > at) return false;
      at = vma.end;
    }
    return at >= end;
  }

  /**
   * Faults in every page of the mapped range `[start, end)` ahead of any access (MAP_POPULATE,
   * mlock, MADV_POPULATE_*, a shared area before fork). `write` makes each page writable (and
   * private: copy-on-write broken); by default a page is written where its area is private and
   * writable, as Linux's populate does. An inaccessible (PROT_NONE) area has nothing to fault
   * in. Stops at the first page memory cannot be found for.
   */
  populate(start: number, end: number, write?: boolean): FaultResult {
    let vma: Vma | undefined;
    for (let va = start; va < end; va += PAGE_SIZE) {
      if (vma === undefined || va >= vma.end) vma = this.vmas.find(va)!;
      if (vma.prot === 0) {
        va = vma.end - PAGE_SIZE;
        continue;
      }
      const asWrite = write ?? ((vma.prot & PROT_WRITE) !== 0 && !vma.shared);
      const at = this.tables.entry(va, 1, false, true);
      if (at >= 0 && this.isPopulated(at, asWrite)) continue;
      const result = faultIn(this, vma, va, asWrite);
      if (result !== FaultResult.HANDLED) return result;
    }
    return FaultResult.HANDLED;
  }

  /**
   * True when the leaf at `at` already serves the access: it holds a frame (swapped out is not
   * populated), and for a write one that is not COW-shared.
   */
  private isPopulated(at: number, write: boolean): boolean {
    const lo = this.tables.low(at);
    const hi = this.tables.high(at);
    if ((lo | hi) === 0 || isSwapEntry(lo, hi)) return false;
    return !write || (lo & PTE_P) === 0 || (lo & PTE_RW) !== 0;
  }

  // ─── fork and exit ──────────────────────────────────────────────────────────────────────

  /**
   * A copy-on-write copy of this space: every private frame becomes read-only and shared by
   * both; shared areas share their (first populated) frames writable. Undefined on OOM, with
   * nothing leaked.
   */
  fork(): AddressSpace | undefined {
    const tables = PageTables.create(this.vm.ram, this.vm.kernelFrames, this.vm.pageTableCounts);
    if (tables === undefined) return undefined;
    tables.shareKernelHalf(this.vm.kernelTables);
    const child = new AddressSpace(this.vm, tables, this.layout);
    child.brk = this.brk;
    if (this.family !== null) {
      child.family = this.family;
      this.vm.reclaim!.rmap.join(this.family, child);
    }
    for (const vma of this.vmas.items) {
      if (!this.forkArea(vma, child)) {
        child.destroy();
        this.flushAfterFork();
        return undefined;
      }
    }
    child.peakRss = child.rss;
    this.flushAfterFork();
    return child;
  }

  /**
   * Write-protecting the parent's private pages took away rights its threads may have cached
   * on any CPU: one full flush of every CPU holding it (Linux's flush_tlb_mm in dup_mmap), once
   * every page is protected (a flush in between, by reclaim run for a frame, would not cover
   * the pages protected after it).
   */
  private flushAfterFork(): void {
    this.mmuGather.flushAll();
    this.mmuGather.finish();
  }

  private forkArea(vma: Vma, child: AddressSpace): boolean {
    if (vma.shared && this.populate(vma.start, vma.end) !== FaultResult.HANDLED) return false;
    const copy = child.addVma(vma.start, vma.length, vma.prot, vma.shared, vma.kind, vma.name);
    if (copy === undefined) return false;
    let ok = true;
    this.tables.forEachLeaf(vma.start, vma.end, (at, va) => {
      if (!ok) return;
      const target = child.tables.entry(va, 1, true, true);
      if (target < 0) {
        ok = false;
        return;
      }
      // Read only now: the child's table may have come from reclaim, which can have swapped
      // this page out or discarded it (MADV_FREE) since the walk found it.
      let lo = this.tables.low(at);
      const hi = this.tables.high(at);
      if ((lo | hi) === 0) return;
      if (isSwapEntry(lo, hi)) {
        this.vm.reclaim!.device.duplicate(swapEntryOffset(lo, hi));
        child.tables.write(target, lo, hi);
        child.swapEntries++;
        return;
      }
      if (!vma.shared && (lo & PTE_RW) !== 0) {
        lo &= ~PTE_RW;
        this.tables.write(at, lo, hi);
      }
      child.tables.write(target, lo, hi);
      this.vm.frames.getPage(entryAddress(lo, hi));
      child.rss++;
    });
    return ok;
  }

  /**
   * Releases every frame, VMA record and page-table page of this space, once no CPU has its
   * tables loaded any more.
   */
  destroy(): void {
    this.vm.unloadEverywhere(this);
    for (const vma of this.vmas.items) {
      this.zapRange(vma.start, vma.end);
      this.vm.freeRecord(vma.record);
    }
    this.mmuGather.finish();
    this.vmas.clear();
    this.tables.destroy();
    if (this.family !== null) this.vm.reclaim!.rmap.leave(this.family, this);
    this.family = null;
  }
}
