/**
 * What a page walk means for the page, in words: a read-only PTE in a writable private area is
 * a copy-on-write page, a non-present PTE holding a swap entry is a swapped-out page, an mlocked
 * area's pages are locked. The raw bits say it; a learner needs it said.
 */
import { PAGE_SIZE } from '../../hw/constants.js';
import type { PageWalk } from '../../hw/mmu.js';
import type { Machine } from '../../kernel/machine.js';
import type { Process } from '../../kernel/process.js';
import { PROT_WRITE } from '../../linux-abi.js';
import {
  isSwapEntry,
  PTE_PROT_NONE,
  swapEntryOffset,
  swapEntryType,
} from '../../virtual/swap/swap-entry.js';

/** The notes on `walk` of `process` (null: the kernel's tables) on `machine`. */
export function walkNotes(machine: Machine, process: Process | null, walk: PageWalk): string[] {
  if (process === null) return ['the kernel’s own page tables (no process selected)'];
  const va = walk.virtualAddress;
  const vma = process.space.vmas.find(va);
  if (vma === undefined) return ['no VMA covers this address: an access is a SIGSEGV'];
  const notes: string[] = [];
  const last = walk.steps[walk.steps.length - 1]!;
  if (walk.outcome === 'mapped') {
    const frame = walk.physicalAddress! - (walk.physicalAddress! % PAGE_SIZE);
    const refs = machine.frames.refCount(frame);
    const writableArea = (vma.prot & PROT_WRITE) !== 0 && !vma.shared;
    if (writableArea && !walk.writable) {
      notes.push(
        refs > 1
          ? `copy-on-write: the frame is shared (${refs} references); the first write copies it`
          : 'copy-on-write, no longer shared: the first write makes it writable in place',
      );
    }
  } else if (walk.outcome === 'not-present') {
    notes.push(notPresentNote(last.level, last.low, last.high));
  }
  if (vma.locked) notes.push('locked (mlock): reclaim never takes this page');
  return notes;
}

/** Why a walk stopped at a non-present entry of `level`. */
function notPresentNote(level: number, low: number, high: number): string {
  if (low === 0 && high === 0) {
    return level === 1
      ? 'not faulted in yet: the first access takes a page fault that maps a frame (demand paging)'
      : 'no table below this level yet: the first access builds it in the page fault';
  }
  if ((low & PTE_PROT_NONE) !== 0) return 'PROT_NONE: the frame is kept, but any access faults';
  if (isSwapEntry(low, high)) {
    return `swapped out: slot ${swapEntryOffset(low, high)} of swap device ${swapEntryType(high)}; an access is a major fault that reads it back`;
  }
  return 'not present';
}
