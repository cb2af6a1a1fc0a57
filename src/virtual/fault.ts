/**
 * The page-fault handler of a user address space (Linux's handle_mm_fault and its helpers):
 * makes the page tables catch up lazily with what the VMAs promise.
 *
 * ```
 *  handleFault(va, error code)
 *    no VMA at va ─► growStack ─► none ─────────────────────────► SEGV_MAPERR
 *    access the VMA's rights forbid (write, fetch, PROT_NONE) ────► SEGV_ACCERR
 *    faultIn: the leaf at va is
 *      0            ─► mapZeroedFrame   demand-zero: a zeroed frame, RW by the area's rights
 *      swap entry   ─► swapIn           from the swap cache (minor) or the device (major)
 *      present, RO, and a write ─► breakCow   reuse the frame if ours alone, else copy it
 *      present otherwise        ─► a stale TLB entry: flush this CPU's, retry
 * ```
 *
 * populate (MAP_POPULATE, mlock, MADV_POPULATE_*) calls `faultIn` directly, ahead of any
 * access. These functions reach the space through its "VM layer" helpers (writeLeaf, addRss,
 * flushLocal), as mremap.ts does; AddressSpace.handleFault is the entry point callers use.
 */
import { pageDown } from '../hw/address.js';
import { PAGE_SIZE } from '../hw/constants.js';
import { entryAddress, PF_ID, PF_W, PTE_P, PTE_RW } from '../hw/paging.js';
import { PROT_EXEC, PROT_WRITE } from '../linux-abi.js';
import type { AddressSpace } from './address-space.js';
import { STACK_GUARD_GAP, STACK_LIMIT } from './layout.js';
import { FaultResult } from './stats.js';
import { SWAP_TYPE } from './swap/swap-device.js';
import { isSwapEntry, swapEntryOffset, swapEntryType } from './swap/swap-entry.js';
import type { Vma } from './vma.js';

/**
 * Resolves a fault at `va` with x86 error code `errorCode`. Decides from the VMA: grow the
 * stack, map a zeroed frame, break copy-on-write, or report a segmentation fault.
 */
export function handleFault(space: AddressSpace, va: number, errorCode: number): FaultResult {
  space.vm.events.pgfault++;
  const vma = space.vmas.find(va) ?? growStack(space, va);
  if (vma === undefined) return segv(space, FaultResult.SEGV_MAPERR);
  const write = (errorCode & PF_W) !== 0;
  const fetch = (errorCode & PF_ID) !== 0;
  if ((write && !(vma.prot & PROT_WRITE)) || (fetch && !(vma.prot & PROT_EXEC)) || vma.prot === 0) {
    return segv(space, FaultResult.SEGV_ACCERR);
  }
  const majorFaults = space.majorFaults;
  const result = faultIn(space, vma, va, write);
  if (result === FaultResult.HANDLED && space.majorFaults === majorFaults) space.minorFaults++;
  return result;
}

/**
 * Makes the page at `va` (inside `vma`, whose rights allow the access) present, and writable
 * when `write`: maps a zeroed frame, reads it back from swap or breaks copy-on-write. The
 * fault handler's work, also done ahead of any access by populate (MAP_POPULATE, mlock,
 * MADV_POPULATE_*).
 */
export function faultIn(space: AddressSpace, vma: Vma, va: number, write: boolean): FaultResult {
  const at = space.tables.entry(va, 1, true, true);
  if (at < 0) return FaultResult.OUT_OF_MEMORY;
  const page = pageDown(va);
  const lo = space.tables.low(at);
  const hi = space.tables.high(at);
  // A TLB never holds a non-present entry: mapping a page where none was needs no flush.
  if (lo === 0 && hi === 0) return mapZeroedFrame(space, at, vma, page);
  if (isSwapEntry(lo, hi)) return swapIn(space, at, vma, page, write);
  let result: FaultResult = FaultResult.HANDLED; // already resolved: a stale TLB entry
  if (write && (lo & PTE_P) !== 0 && (lo & PTE_RW) === 0) result = breakCow(space, at, vma, page);
  // A copied COW page: every CPU drops the old frame. Else only this CPU's entry is stale.
  if (space.mmuGather.pending) space.mmuGather.finish();
  else if (result === FaultResult.HANDLED) space.flushLocal(page);
  return result;
}

function segv(space: AddressSpace, result: FaultResult): FaultResult {
  space.vm.events.segvs++;
  return result;
}

function mapZeroedFrame(space: AddressSpace, at: number, vma: Vma, page: number): FaultResult {
  const frame = space.vm.allocUserFrame(true);
  if (frame < 0) return FaultResult.OUT_OF_MEMORY;
  space.writeLeaf(at, frame, vma.prot, true);
  space.vm.reclaim?.mapped(frame, space, page, vma);
  space.vm.events.demandZero++;
  space.addRss();
  return FaultResult.HANDLED;
}

/**
 * A write to a present read-only page of a writable area: the frame is shared (COW), or
 * cached for swap with its slot still needed by others.
 */
function breakCow(space: AddressSpace, at: number, vma: Vma, page: number): FaultResult {
  const lo = space.tables.low(at);
  const old = entryAddress(lo, space.tables.high(at));
  space.vm.events.cowFaults++;
  space.cowBreaks++;
  if (space.isExclusive(old)) {
    space.vm.reclaim?.dropSwapCopy(old);
    space.vm.events.cowReuses++;
    space.writeLeaf(at, old, vma.prot, true);
    return FaultResult.HANDLED;
  }
  const reclaim = space.vm.reclaim;
  const isolated = reclaim?.isolateForCopy(old) ?? false;
  const copy = space.vm.allocUserFrame(false);
  if (isolated) reclaim!.putbackCopied(old);
  if (copy < 0) return FaultResult.OUT_OF_MEMORY;
  space.vm.ram.copy(copy, old, PAGE_SIZE);
  space.writeLeaf(at, copy, vma.prot, true);
  space.vm.reclaim?.mapped(copy, space, page, vma);
  // Other CPUs may still read the old frame through its read-only translation.
  space.mmuGather.removePage(page, old, lo);
  return FaultResult.HANDLED;
}

/**
 * A swap entry: the page comes back from the swap cache (minor fault) or from the device
 * (major fault), mapped with the area's rights — writable only while no one else shares it.
 * A write fault on an unshared page also frees its swap copy, which the write makes stale.
 */
function swapIn(
  space: AddressSpace,
  at: number,
  vma: Vma,
  page: number,
  write: boolean,
): FaultResult {
  const reclaim = space.vm.reclaim!;
  const lo = space.tables.low(at);
  const hi = space.tables.high(at);
  const slot = swapEntryOffset(lo, hi);
  if (swapEntryType(hi) !== SWAP_TYPE) throw new Error(`bad swap entry at ${page}`);
  let frame = reclaim.cache.lookup(slot);
  if (frame >= 0) {
    space.vm.frames.getPage(frame);
    reclaim.remapped(frame, page);
  } else {
    frame = space.vm.allocUserFrame(false);
    if (frame < 0) return FaultResult.OUT_OF_MEMORY;
    reclaim.device.read(slot, space.vm.ram, frame);
    reclaim.device.duplicate(slot); // the swap cache's reference
    reclaim.cache.add(slot, frame, false);
    reclaim.mapped(frame, space, page, vma);
    space.vm.events.pgmajfault++;
    space.majorFaults++;
  }
  reclaim.device.release(slot);
  space.swapEntries--;
  const exclusive = reclaim.isExclusive(frame);
  if (write && exclusive) reclaim.dropSwapCopy(frame);
  space.writeLeaf(at, frame, vma.prot, exclusive || vma.shared);
  space.addRss();
  return FaultResult.HANDLED;
}

/** Extends the stack down to cover `va` if the stack limit and the guard gap allow it. */
function growStack(space: AddressSpace, va: number): Vma | undefined {
  const stack = space.stack;
  if (stack === undefined || va >= stack.start || va < space.layout.stackTop - STACK_LIMIT)
    return undefined;
  const start = pageDown(va);
  const below = space.vmas.items[space.vmas.indexAfter(start) - 1];
  if (below !== undefined && below !== stack && below.end + STACK_GUARD_GAP > start)
    return undefined;
  space.vmas.resizeAt(space.vmas.indexAfter(stack.start) - 1, start, stack.end);
  space.vm.syncBounds(stack);
  space.vm.events.stackGrowths++;
  return stack;
}
