/**
 * mremap(2): resizes a mapping and, when it may, moves it, by moving page-table entries, never
 * bytes (Linux's mm/mremap.c).
 *
 * ```
 *  shrink                 [ old ........ ][ unmapped ]          the tail is unmapped
 *  grow in place          [ old ........ ][ + grown ]           the range after it is free
 *  move (MREMAP_MAYMOVE)  [ old ........ ]     ──PTEs──►       [ new ................ ]
 *                          unmapped, or still mapped and empty with MREMAP_DONTUNMAP
 * ```
 *
 * A move hands every leaf of the old range to the same offset of the new one as it is:
 * resident, copy-on-write shared, PROT_NONE-held or swapped out; frames and swap slots keep
 * their reference counts, the process its RSS and swap usage, and the reverse map learns each
 * frame's new address. The old range's translations go in one TLB flush. A locked area's lock
 * moves with it (MREMAP_DONTUNMAP leaves the old range unlocked, as Linux), and a locked area's
 * growth is faulted in. Every way the call can fail (bad arguments, no room, no kernel memory
 * for VMA records or page tables) is found before anything changes, so a failure changes
 * nothing.
 */
import { isPageAligned, pageUp, USER_TOP } from '../hw/address.js';
import { PAGE_SIZE, PTE_SIZE } from '../hw/constants.js';
import { entryAddress, levelSpan } from '../hw/paging.js';
import { ERRNO, MREMAP_DONTUNMAP, MREMAP_FIXED, MREMAP_MAYMOVE } from '../linux-abi.js';
import type { AddressSpace } from './address-space.js';
import { STACK_GUARD_GAP, USER_MIN } from './layout.js';
import { FaultResult } from './stats.js';
import { isSwapEntry, swapEntryOffset } from './swap/swap-entry.js';
import { Vma } from './vma.js';

const KNOWN_FLAGS = MREMAP_MAYMOVE | MREMAP_FIXED | MREMAP_DONTUNMAP;
/** The addresses one page table (level 1) maps: 512 pages, 2 MiB. */
const PAGE_TABLE_SPAN = levelSpan(2);

/** One move, decided and checked: the old range, the new one, and what happens to the old. */
interface Move {
  /** The area holding the old range. */
  readonly source: Vma;
  readonly from: number;
  readonly oldLength: number;
  readonly to: number;
  readonly newLength: number;
  /** The new range replaces whatever was mapped there (MREMAP_FIXED). */
  readonly fixed: boolean;
  /** The old range stays mapped, emptied of its pages (MREMAP_DONTUNMAP). */
  readonly keepOld: boolean;
}

/**
 * mremap(2) in `space`: the mapping's (possibly new) address, or a negative errno. Lengths are
 * rounded up to pages; `newAddress` is the target with MREMAP_FIXED, a hint with
 * MREMAP_DONTUNMAP alone, and ignored otherwise.
 */
export function mremap(
  space: AddressSpace,
  address: number,
  oldLength: number,
  newLength: number,
  flags: number,
  newAddress: number,
): number {
  const invalid = checkArguments(address, oldLength, newLength, flags);
  if (invalid !== 0) return invalid;
  const oldSize = pageUp(oldLength);
  const newSize = pageUp(newLength);
  const source = space.vmas.find(address);
  if (source === undefined) return -ERRNO.EFAULT;
  // Linux refuses to "duplicate" a private mapping with a zero old length.
  if (oldSize === 0) return -ERRNO.EINVAL;
  if (flags & (MREMAP_FIXED | MREMAP_DONTUNMAP)) {
    return remapTo(space, source, address, oldSize, newSize, flags, newAddress);
  }
  if (newSize <= oldSize) return shrink(space, address, oldSize, newSize);
  if (address + oldSize > source.end) return -ERRNO.EFAULT;
  if (address + oldSize === source.end && growInPlace(space, source, newSize - oldSize)) {
    return address;
  }
  if (!(flags & MREMAP_MAYMOVE)) return -ERRNO.ENOMEM;
  const to = space.placeMapping(0, newSize);
  if (to < 0) return -ERRNO.ENOMEM;
  return move(space, {
    source,
    from: address,
    oldLength: oldSize,
    to,
    newLength: newSize,
    fixed: false,
    keepOld: false,
  });
}

/** Linux's checks on the flags, the address and the lengths alone: 0, or -EINVAL. */
function checkArguments(
  address: number,
  oldLength: number,
  newLength: number,
  flags: number,
): number {
  if (![address, oldLength, newLength, flags].every(Number.isSafeInteger)) return -ERRNO.EINVAL;
  if (flags < 0 || (flags & ~KNOWN_FLAGS) !== 0) return -ERRNO.EINVAL;
  if (flags & MREMAP_FIXED && !(flags & MREMAP_MAYMOVE)) return -ERRNO.EINVAL;
  // A DONTUNMAP remap is always a move, and never resizes.
  if (flags & MREMAP_DONTUNMAP && (!(flags & MREMAP_MAYMOVE) || oldLength !== newLength)) {
    return -ERRNO.EINVAL;
  }
  if (address < 0 || !isPageAligned(address)) return -ERRNO.EINVAL;
  if (oldLength < 0 || newLength <= 0 || oldLength > USER_TOP || newLength > USER_TOP) {
    return -ERRNO.EINVAL;
  }
  return 0;
}

/** The tail of the old range is unmapped; the mapping stays where it is. */
function shrink(space: AddressSpace, address: number, oldSize: number, newSize: number): number {
  if (newSize === oldSize) return address;
  const status = space.munmap(address + newSize, oldSize - newSize);
  return status < 0 ? status : address;
}

/**
 * Grows `vma` by `delta` bytes where it ends, when nothing is mapped there (and the stack's
 * guard gap stays free); false when it cannot.
 */
function growInPlace(space: AddressSpace, vma: Vma, delta: number): boolean {
  const end = vma.end + delta;
  if (end > USER_TOP || space.vmas.overlaps(vma.end, end)) return false;
  const at = space.vmas.indexAfter(vma.start) - 1;
  const next = space.vmas.items[at + 1];
  if (next !== undefined && next.kind === 'stack' && end + STACK_GUARD_GAP > next.start) {
    return false;
  }
  const grown = vma.end;
  space.vmas.resizeAt(at, vma.start, end);
  space.mergeAround(vma.start, end); // writes the record of every area around: this one's too
  space.populateLocked(grown, end, vma.lockFlags);
  return true;
}

/** MREMAP_FIXED and MREMAP_DONTUNMAP: always a move, to `newAddress` or near its hint. */
function remapTo(
  space: AddressSpace,
  source: Vma,
  from: number,
  oldSize: number,
  newSize: number,
  flags: number,
  newAddress: number,
): number {
  if (!Number.isSafeInteger(newAddress) || newAddress < 0 || !isPageAligned(newAddress)) {
    return -ERRNO.EINVAL;
  }
  if (newAddress + newSize > USER_TOP) return -ERRNO.EINVAL;
  if (from + oldSize > newAddress && newAddress + newSize > from) return -ERRNO.EINVAL;
  const fixed = (flags & MREMAP_FIXED) !== 0;
  if (fixed && newAddress < USER_MIN) return -ERRNO.EPERM;
  if (from + Math.min(oldSize, newSize) > source.end) return -ERRNO.EFAULT;
  const to = fixed ? newAddress : space.placeMapping(newAddress, newSize);
  if (to < 0) return -ERRNO.ENOMEM;
  const keepOld = (flags & MREMAP_DONTUNMAP) !== 0;
  return move(space, { source, from, oldLength: oldSize, to, newLength: newSize, fixed, keepOld });
}

/**
 * Linux's move_vma: a new area at `to` with the source's attributes, the old range's leaves
 * moved into it, the old range unmapped (or kept, empty). Everything that can fail is reserved
 * first: VMA records and the page tables the leaves move into.
 */
function move(space: AddressSpace, plan: Move): number {
  const { source, from, oldLength, to, newLength } = plan;
  const moved = Math.min(oldLength, newLength);
  const edges = plan.fixed ? [to, to + newLength] : [];
  // The old range is cut out of its area: to be unmapped, or (kept) to be unlocked.
  if (!plan.keepOld || source.lockFlags !== 0) edges.push(from, from + moved, from + oldLength);
  const spare = space.reserveRecordsAt(edges, 1);
  if (spare === undefined) return -ERRNO.ENOMEM;
  const sharedCopy = plan.keepOld && source.shared;
  if (sharedCopy && space.populate(from, from + moved) !== FaultResult.HANDLED) {
    space.releaseRecords(spare);
    return -ERRNO.ENOMEM;
  }
  const held = holdTargetTables(space, from, from + moved, to - from);
  if (held === undefined) {
    space.releaseRecords(spare);
    return -ERRNO.ENOMEM;
  }
  // Nothing below can fail.
  if (plan.fixed) space.removeRange(to, to + newLength, spare);
  if (oldLength > newLength) space.removeRange(from + newLength, from + oldLength, spare);
  space.insertVma(targetArea(source, to, newLength, spare.pop()!));
  if (sharedCopy) shareLeaves(space, from, from + moved, to - from);
  else moveLeaves(space, from, from + moved, to - from);
  for (const va of held) space.tables.releasePageTable(va);
  if (!plan.keepOld) space.removeRange(from, from + moved, spare);
  else if (source.lockFlags !== 0) unlock(space, from, from + moved, spare);
  space.mmuGather.finish(); // the moved leaves' flush, unless the unmap above did it
  space.mergeAround(to, to + newLength);
  space.releaseRecords(spare);
  space.populateLocked(to + moved, to + newLength, source.lockFlags);
  return to;
}

/**
 * The area a move creates: the source's rights and kind, except that a piece of the heap or
 * the stack moved elsewhere is plain anonymous memory (as Linux names [heap] and [stack] by
 * where they are).
 */
function targetArea(source: Vma, start: number, length: number, record: number): Vma {
  const special = source.kind === 'heap' || source.kind === 'stack';
  const kind = special ? 'anon' : source.kind;
  const name = special ? '' : source.name;
  const { prot, shared, lockFlags } = source;
  return new Vma(start, start + length, prot, shared, kind, name, record, lockFlags);
}

/** The old range of a MREMAP_DONTUNMAP move of a locked area: its pages left, and its lock. */
function unlock(space: AddressSpace, start: number, end: number, spare: number[]): void {
  space.splitEdges(start, end, spare);
  for (const vma of space.vmas.overlapping(start, end)) {
    vma.lockFlags = 0;
    space.vm.syncRecord(vma);
  }
  space.mergeAround(start, end);
}

/**
 * Holds the page table each leaf of `[start, end)` moves into (at `distance` bytes from it),
 * creating the missing ones: the addresses held, one per table, or undefined (with nothing
 * held) when memory for a table is exhausted.
 */
function holdTargetTables(
  space: AddressSpace,
  start: number,
  end: number,
  distance: number,
): number[] | undefined {
  const held: number[] = [];
  let lastTable = -1;
  let ok = true;
  space.tables.forEachLeaf(start, end, (_at, va) => {
    const target = va + distance;
    const table = Math.floor(target / PAGE_TABLE_SPAN);
    if (!ok || table === lastTable) return;
    lastTable = table;
    if (space.tables.holdPageTable(target)) held.push(target);
    else ok = false;
  });
  if (ok) return held;
  for (const va of held) space.tables.releasePageTable(va);
  return undefined;
}

/**
 * Linux's move_ptes: each leaf of `[start, end)` goes `distance` bytes up (or down), as is;
 * the reverse map follows each frame (a swap entry names a slot, not an address). The old
 * addresses' flush, and the tables they leave empty, wait in the space's MMU gather.
 */
function moveLeaves(space: AddressSpace, start: number, end: number, distance: number): void {
  const tables = space.tables;
  const rmap = space.vm.reclaim?.rmap;
  const targets = new TargetEntries(space, distance);
  tables.forEachLeaf(start, end, (at, va) => {
    const target = targets.entryFor(va);
    tables.write(target, tables.low(at), tables.high(at));
    tables.clearLeaf(at, va, space.mmuGather);
    space.mmuGather.flushPage(va);
    const frame = space.residentFrame(target);
    if (rmap !== undefined && frame >= 0) rmap.move(frame, space, va, va + distance);
  });
}

/**
 * Where the leaves of a move go: the target entry of each source address, walking the tables
 * once per target page table (2 MiB) instead of once per page.
 */
class TargetEntries {
  private span = -1;
  private table = -1;

  constructor(
    private readonly space: AddressSpace,
    private readonly distance: number,
  ) {}

  /** Physical address of the (held, so existing) target entry of source address `va`. */
  entryFor(va: number): number {
    const target = va + this.distance;
    const span = Math.floor(target / PAGE_TABLE_SPAN);
    if (span !== this.span) {
      const first = this.space.tables.entry(span * PAGE_TABLE_SPAN, 1, false, true);
      this.span = span;
      this.table = first;
    }
    return this.table + ((target % PAGE_TABLE_SPAN) / PAGE_SIZE) * PTE_SIZE;
  }
}

/**
 * A shared area's MREMAP_DONTUNMAP: the new range maps the same frames as the old (which was
 * populated first), so both keep seeing the same memory, as with a shared-memory file.
 */
function shareLeaves(space: AddressSpace, start: number, end: number, distance: number): void {
  const tables = space.tables;
  const reclaim = space.vm.reclaim;
  const targets = new TargetEntries(space, distance);
  tables.forEachLeaf(start, end, (at, va) => {
    const target = targets.entryFor(va);
    const low = tables.low(at);
    const high = tables.high(at);
    tables.write(target, low, high);
    if (isSwapEntry(low, high)) {
      reclaim!.device.duplicate(swapEntryOffset(low, high));
      space.swapEntries++;
      return;
    }
    const frame = entryAddress(low, high);
    space.vm.frames.getPage(frame);
    reclaim?.rmap.noteMapping(frame, va + distance);
    space.rss++;
  });
  if (space.rss > space.peakRss) space.peakRss = space.rss;
}
