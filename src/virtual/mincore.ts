/**
 * mincore(2): which pages of a range are resident in RAM, one byte per page, bit 0 set for a
 * resident page (the other bits are reserved and zero, as in Linux). A page is resident when
 * its leaf holds a frame, present or kept under PROT_NONE, or when it is swapped out but its
 * page is still in the swap cache; a page never touched, or only on the swap device, is not.
 */
import { isPageAligned, pageUp, USER_TOP } from '../hw/address.js';
import { PAGE_SIZE } from '../hw/constants.js';
import { ERRNO } from '../linux-abi.js';
import type { AddressSpace } from './address-space.js';
import { isSwapEntry, swapEntryOffset } from './swap/swap-entry.js';

/** Bit 0 of a mincore byte: the page is resident. */
export const MINCORE_RESIDENT = 1;

/**
 * The residency vector of `[address, address + length)`, or a negative errno: EINVAL for an
 * unaligned or non-integer address, ENOMEM when the range leaves user space or holds a page
 * that no VMA maps. The length is rounded up to whole pages.
 */
export function mincore(space: AddressSpace, address: number, length: number): Uint8Array | number {
  if (!Number.isSafeInteger(address) || !Number.isSafeInteger(length)) return -ERRNO.EINVAL;
  if (!isPageAligned(address)) return -ERRNO.EINVAL;
  if (address < 0 || length < 0 || address + length > USER_TOP) return -ERRNO.ENOMEM;
  const end = address + pageUp(length);
  if (!space.covers(address, end)) return -ERRNO.ENOMEM;
  const vector = new Uint8Array((end - address) / PAGE_SIZE);
  space.tables.forEachLeaf(address, end, (at, va) => {
    if (isResident(space, at)) vector[(va - address) / PAGE_SIZE] = MINCORE_RESIDENT;
  });
  return vector;
}

function isResident(space: AddressSpace, at: number): boolean {
  if (space.residentFrame(at) >= 0) return true;
  const lo = space.tables.low(at);
  const hi = space.tables.high(at);
  const cache = space.vm.reclaim?.cache;
  return cache !== undefined && isSwapEntry(lo, hi) && cache.lookup(swapEntryOffset(lo, hi)) >= 0;
}
