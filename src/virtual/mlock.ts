/**
 * mlock(2), munlock(2), mlockall(2) and munlockall(2): the lock bits of VMAs (Linux's VM_LOCKED
 * and VM_LOCKONFAULT). A locked area's pages are faulted in when it is locked (unless it locks
 * on fault) and reclaim never evicts them; a lock is an attribute of the area, so locking part
 * of one splits it and unlocking merges it back, exactly as mprotect does:
 *
 * ```
 *  mlock(b, len)     [ a rw- ][ b rw- locked ][ c rw- ]     three VMAs
 *  munlock(b, len)   [          a rw-                 ]     one VMA again
 * ```
 *
 * Each call checks everything before it changes anything, so a failed call leaves the address
 * space as it was. Locks are not inherited across fork (the child's areas start unlocked).
 */
import { pageDown, pageUp, USER_TOP } from '../hw/address.js';
import { ERRNO, MCL_CURRENT, MCL_FUTURE, MCL_ONFAULT } from '../linux-abi.js';
import type { AddressSpace } from './address-space.js';
import { FaultResult } from './stats.js';
import { VM_LOCKED, VM_LOCKED_MASK, VM_LOCKONFAULT, type Vma } from './vma.js';

/** The page range a lock call covers: `addr` rounded down, `addr + len` rounded up. */
interface LockRange {
  start: number;
  end: number;
}

/**
 * The range of mlock/munlock's arguments, or a negative errno: EINVAL for a wrapped or
 * non-integer range, ENOMEM when it runs past user space. Unaligned addresses are rounded.
 */
function lockRange(address: number, length: number): LockRange | number {
  if (!Number.isSafeInteger(address) || !Number.isSafeInteger(length)) return -ERRNO.EINVAL;
  if (address < 0 || length < 0) return -ERRNO.EINVAL;
  const start = pageDown(address);
  const end = pageUp(address + length);
  if (end > USER_TOP) return -ERRNO.ENOMEM;
  return { start, end };
}

/** mlock(2): locks `[address, address + length)`, faulting its pages in. 0 or a negative errno. */
export function mlock(space: AddressSpace, address: number, length: number): number {
  return lockPages(space, address, length, VM_LOCKED);
}

/** mlock2(2) with MLOCK_ONFAULT: locks the range, and each page as it is faulted in. */
export function mlockOnFault(space: AddressSpace, address: number, length: number): number {
  return lockPages(space, address, length, VM_LOCKED | VM_LOCKONFAULT);
}

/** munlock(2): unlocks `[address, address + length)`. 0 or a negative errno. */
export function munlock(space: AddressSpace, address: number, length: number): number {
  return lockPages(space, address, length, 0);
}

/**
 * Sets the lock bits of every area in the range to `lockFlags` and populates what became
 * locked. ENOMEM when part of the range is unmapped or records run out; EAGAIN when the pages
 * cannot all be faulted in (as Linux reports a failed populate), the old lock bits restored.
 */
function lockPages(space: AddressSpace, address: number, length: number, lockFlags: number) {
  const range = lockRange(address, length);
  if (typeof range === 'number') return range;
  const { start, end } = range;
  if (start === end) return 0;
  if (!space.covers(start, end)) return -ERRNO.ENOMEM;
  const before = space.vmas.overlapping(start, end).map((vma) => vma.lockFlags);
  if (!setLockFlags(space, start, end, () => lockFlags)) return -ERRNO.ENOMEM;
  if (lockFlags === 0) putBack(space, start, end);
  if (populateLockedAreas(space, start, end) === FaultResult.HANDLED) {
    if (lockFlags !== 0) takeOffLists(space, start, end);
    return 0;
  }
  // Restoring needs no new record: the edges are split already, and merging only frees.
  setLockFlags(space, start, end, (_vma, i) => before[i] ?? 0);
  return -ERRNO.EAGAIN;
}

/**
 * Gives each area of `[start, end)` the lock bits `flagsOf(vma, index)`, splitting the areas
 * at the edges first and merging alike neighbours after. False (nothing changed) when the
 * records for the splits cannot be had.
 */
function setLockFlags(
  space: AddressSpace,
  start: number,
  end: number,
  flagsOf: (vma: Vma, index: number) => number,
): boolean {
  const spare = space.reserveRecords(start, end);
  if (spare === undefined) return false;
  space.splitEdges(start, end, spare);
  space.releaseRecords(spare);
  space.vmas.overlapping(start, end).forEach((vma, i) => {
    vma.lockFlags = flagsOf(vma, i);
    space.vm.syncRecord(vma);
  });
  space.mergeAround(start, end);
  return true;
}

/**
 * Faults in the pages of the areas of `[start, end)` that are locked and not on-fault: the
 * first failure, or HANDLED. With `ignoreErrors` (mlockall, as Linux's `__mm_populate`) an area
 * that cannot be faulted in does not stop the areas after it.
 */
function populateLockedAreas(
  space: AddressSpace,
  start: number,
  end: number,
  ignoreErrors = false,
): FaultResult {
  for (const vma of space.vmas.overlapping(start, end)) {
    if ((vma.lockFlags & VM_LOCKED_MASK) !== VM_LOCKED) continue;
    const result = space.populate(Math.max(start, vma.start), Math.min(end, vma.end));
    if (result !== FaultResult.HANDLED && !ignoreErrors) return result;
  }
  return FaultResult.HANDLED;
}

/**
 * mlockall(2): MCL_CURRENT locks every area now (faulting it in unless MCL_ONFAULT), and
 * MCL_FUTURE every area mapped from now on; a call without MCL_FUTURE cancels an earlier one.
 * EINVAL for no flag, unknown flags or MCL_ONFAULT alone. As in Linux, pages that cannot be
 * faulted in do not fail the call.
 */
export function mlockall(space: AddressSpace, flags: number): number {
  const known = MCL_CURRENT | MCL_FUTURE | MCL_ONFAULT;
  if (!Number.isInteger(flags) || flags <= 0 || (flags & ~known) !== 0 || flags === MCL_ONFAULT)
    return -ERRNO.EINVAL;
  const lockFlags = flags & MCL_ONFAULT ? VM_LOCKED | VM_LOCKONFAULT : VM_LOCKED;
  space.defaultLockFlags = flags & MCL_FUTURE ? lockFlags : 0;
  if (flags & MCL_CURRENT) {
    lockEveryArea(space, lockFlags);
    populateLockedAreas(space, 0, USER_TOP, true);
    takeOffLists(space, 0, USER_TOP);
  }
  return 0;
}

/** munlockall(2): unlocks every area and cancels MCL_FUTURE. */
export function munlockall(space: AddressSpace): number {
  space.defaultLockFlags = 0;
  lockEveryArea(space, 0);
  putBack(space, 0, USER_TOP);
  return 0;
}

/** Takes the resident pages of the locked range `[start, end)` off reclaim's lists. */
function takeOffLists(space: AddressSpace, start: number, end: number): void {
  const reclaim = space.vm.reclaim;
  if (reclaim === null) return;
  space.tables.forEachLeaf(start, end, (at) => {
    const frame = space.residentFrame(at);
    if (frame >= 0) reclaim.mlockFrame(frame);
  });
}

/** Hands the resident pages of the unlocked range `[start, end)` back to reclaim's lists. */
function putBack(space: AddressSpace, start: number, end: number): void {
  const reclaim = space.vm.reclaim;
  if (reclaim === null) return;
  space.tables.forEachLeaf(start, end, (at) => {
    const frame = space.residentFrame(at);
    if (frame >= 0) reclaim.putback(frame);
  });
}

/** Sets the lock bits of every whole area (no split needed) and merges what became alike. */
function lockEveryArea(space: AddressSpace, lockFlags: number): void {
  for (const vma of space.vmas.items) {
    vma.lockFlags = lockFlags;
    space.vm.syncRecord(vma);
  }
  space.mergeAround(0, USER_TOP);
}

/** Bytes of the locked areas of `space` (VmLck: Linux's mm->locked_vm, resident or not). */
export function lockedBytes(space: AddressSpace): number {
  let bytes = 0;
  for (const vma of space.vmas.items) if (vma.locked) bytes += vma.length;
  return bytes;
}

/**
 * Resident frames mapped by locked areas of any of `spaces`, each frame counted once however
 * many locked mappings share it (meminfo's Mlocked: Linux counts mlocked pages, not mappings).
 */
export function mlockedFrames(spaces: Iterable<AddressSpace>): number {
  const frames = new Set<number>();
  for (const space of spaces) {
    for (const vma of space.vmas.items) {
      if (!vma.locked) continue;
      space.tables.forEachLeaf(vma.start, vma.end, (at) => {
        const frame = space.residentFrame(at);
        if (frame >= 0) frames.add(frame);
      });
    }
  }
  return frames.size;
}
