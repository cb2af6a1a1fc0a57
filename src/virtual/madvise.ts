/**
 * madvise(2): what a process tells the kernel about how it will use a range of its memory.
 *
 * ```
 *  MADV_DONTNEED        drop the pages now: private anonymous memory reads as zero afterwards
 *  MADV_FREE            the pages may be dropped lazily: reclaim discards them while they stay
 *                       clean (D bit clear); a write before that keeps them
 *  MADV_COLD            the pages are not needed soon: age them (clear A, newest inactive)
 *  MADV_PAGEOUT         reclaim the pages now (to swap)
 *  MADV_WILLNEED        the pages are needed soon: read swapped-out ones back ahead of time
 *  MADV_POPULATE_READ   fault every page in as a read would, ahead of any access
 *  MADV_POPULATE_WRITE  fault every page in as a write would (copy-on-write broken)
 *  MADV_NORMAL, _RANDOM, _SEQUENTIAL   read-ahead hints for file pages: nothing to do here
 * ```
 *
 * COLD, PAGEOUT and the lazy part of FREE hand pages to reclaim (src/virtual/reclaim), which
 * runs only on a machine with swap: without it they keep their pages where they are.
 *
 * As in Linux, `addr` must be page aligned and `len` is rounded up to whole pages; EINVAL for
 * an unknown advice or an area the advice does not apply to (a locked area for DONTNEED, FREE,
 * COLD and PAGEOUT; a shared one for FREE; one without the right for POPULATE_*), ENOMEM when
 * part of the range is not mapped. Every check is made before anything changes, so a failed
 * call leaves the address space as it was (Linux would have applied the advice to the areas
 * before a hole).
 */
import { isPageAligned, pageUp, USER_TOP } from '../hw/address.js';
import { PAGE_SIZE } from '../hw/constants.js';
import { PTE_A, PTE_D, PTE_P } from '../hw/paging.js';
import {
  ERRNO,
  MADV_COLD,
  MADV_DONTNEED,
  MADV_FREE,
  MADV_NORMAL,
  MADV_PAGEOUT,
  MADV_POPULATE_READ,
  MADV_POPULATE_WRITE,
  MADV_RANDOM,
  MADV_SEQUENTIAL,
  MADV_WILLNEED,
  PROT_READ,
  PROT_WRITE,
} from '../linux-abi.js';
import type { AddressSpace } from './address-space.js';
import type { Reclaim } from './reclaim/reclaim.js';
import { FaultResult } from './stats.js';
import { isSwapEntry } from './swap/swap-entry.js';
import type { Vma } from './vma.js';

/** madvise(2): 0 or a negative errno. */
export function madvise(
  space: AddressSpace,
  address: number,
  length: number,
  advice: number,
): number {
  if (!KNOWN_ADVICE.has(advice)) return -ERRNO.EINVAL;
  if (!Number.isSafeInteger(address) || !Number.isSafeInteger(length)) return -ERRNO.EINVAL;
  if (address < 0 || !isPageAligned(address) || length < 0) return -ERRNO.EINVAL;
  const end = address + pageUp(length);
  if (end === address) return 0;
  if (end > USER_TOP) return -ERRNO.ENOMEM;
  const areas = space.vmas.overlapping(address, end);
  if (areas.some((vma) => !appliesTo(advice, vma))) return -ERRNO.EINVAL;
  if (!space.covers(address, end)) return -ERRNO.ENOMEM;
  for (const vma of areas) {
    const result = advise(space, vma, Math.max(address, vma.start), Math.min(end, vma.end), advice);
    if (result < 0) return result;
  }
  return 0;
}

const KNOWN_ADVICE = new Set([
  MADV_NORMAL,
  MADV_RANDOM,
  MADV_SEQUENTIAL,
  MADV_WILLNEED,
  MADV_DONTNEED,
  MADV_FREE,
  MADV_COLD,
  MADV_PAGEOUT,
  MADV_POPULATE_READ,
  MADV_POPULATE_WRITE,
]);

/** False where Linux answers EINVAL for `advice` on `vma`. */
function appliesTo(advice: number, vma: Vma): boolean {
  switch (advice) {
    case MADV_DONTNEED:
    case MADV_COLD:
    case MADV_PAGEOUT:
      return !vma.locked;
    case MADV_FREE:
      return !vma.locked && !vma.shared;
    case MADV_POPULATE_READ:
      return (vma.prot & PROT_READ) !== 0;
    case MADV_POPULATE_WRITE:
      return (vma.prot & PROT_WRITE) !== 0;
    default:
      return true;
  }
}

/** Applies `advice` to `[start, end)`, which lies inside `vma`: 0 or a negative errno. */
function advise(space: AddressSpace, vma: Vma, start: number, end: number, advice: number) {
  switch (advice) {
    case MADV_DONTNEED:
      // A shared area's pages belong to every sharer (Linux keeps them in shmem): they stay.
      if (!vma.shared) space.releasePages(start, end);
      return 0;
    case MADV_FREE:
      freeLazily(space, start, end);
      return 0;
    case MADV_COLD:
      forEachOwnFrame(space, start, end, (reclaim, va) => reclaim.deactivate(space, va));
      return 0;
    case MADV_PAGEOUT:
      forEachOwnFrame(space, start, end, (reclaim, va) => reclaim.pageOut(space, va));
      return 0;
    case MADV_WILLNEED:
      swapInAhead(space, start, end);
      return 0;
    case MADV_POPULATE_READ:
    case MADV_POPULATE_WRITE: {
      const write = advice === MADV_POPULATE_WRITE;
      return space.populate(start, end, write) === FaultResult.HANDLED ? 0 : -ERRNO.ENOMEM;
    }
    default:
      return 0;
  }
}

/**
 * Calls `visit` for every page of `[start, end)` whose frame is in RAM and mapped by this
 * process alone: as Linux's MADV_COLD and MADV_PAGEOUT, a page others map too is left to them.
 * Nothing without swap: then there is no reclaim to hand pages to.
 */
function forEachOwnFrame(
  space: AddressSpace,
  start: number,
  end: number,
  visit: (reclaim: Reclaim, va: number) => void,
): void {
  const reclaim = space.vm.reclaim;
  if (reclaim === null) return;
  space.tables.forEachLeaf(start, end, (at, va) => {
    const frame = space.residentFrame(at);
    if (frame >= 0 && reclaim.mapCount(frame) === 1) visit(reclaim, va);
  });
}

/**
 * MADV_FREE: a swapped-out page is dropped now (its slot freed: it reads as zero); a page in
 * RAM that this process alone holds gets its Dirty and Accessed bits cleared and is handed to
 * reclaim as lazily freed, which drops it without a write unless it is written again first. A
 * page shared copy-on-write keeps its bits: its contents are still someone else's.
 */
function freeLazily(space: AddressSpace, start: number, end: number): void {
  const { tables } = space;
  const reclaim = space.vm.reclaim;
  tables.forEachLeaf(start, end, (at, va) => {
    const lo = tables.low(at);
    if (isSwapEntry(lo, tables.high(at))) {
      space.releasePages(va, va + PAGE_SIZE);
      return;
    }
    const frame = space.residentFrame(at);
    if ((lo & PTE_P) === 0 || !space.isExclusive(frame)) return;
    tables.write(at, lo & ~(PTE_A | PTE_D), tables.high(at));
    space.mmuGather.flushPage(va);
    reclaim?.markLazyFree(frame);
  });
  space.mmuGather.finish();
}

/**
 * MADV_WILLNEED: the swapped-out pages of the range are read back now, so the accesses to come
 * find them in RAM (Linux reads them into the swap cache; here they are mapped at once). As a
 * hint it gives up quietly where memory runs short.
 */
function swapInAhead(space: AddressSpace, start: number, end: number): void {
  const { tables } = space;
  if (space.vm.reclaim === null) return;
  tables.forEachLeaf(start, end, (at, va) => {
    if (isSwapEntry(tables.low(at), tables.high(at))) space.populate(va, va + PAGE_SIZE, false);
  });
}
