/**
 * /proc/PID/smaps: per VMA its maps line, then what its page-table entries hold, in Linux's
 * format (fs/proc/task_mmu.c): each value in kB, right-aligned so the units line up.
 *
 * Pss shares each page among the entries mapping it (COW after fork), SwapPss each swap slot
 * among the entries holding it; a page is dirty when its entry's Dirty bit says so or the swap
 * cache knows it was written after its last write to swap.
 */
import { PAGE_SIZE } from '../hw/constants.js';
import { entryAddress, PTE_A, PTE_D } from '../hw/paging.js';
import type { Process } from '../kernel/process.js';
import { PROT_EXEC, PROT_READ, PROT_WRITE } from '../linux-abi.js';
import type { AddressSpace } from '../virtual/address-space.js';
import { isSwapEntry, swapEntryOffset } from '../virtual/swap/swap-entry.js';
import type { Vma } from '../virtual/vma.js';
import { kb } from './format.js';

/** Bytes of what one VMA's entries hold (Linux's mem_size_stats). */
class SmapsTotals {
  rss = 0;
  pss = 0;
  pssDirty = 0;
  sharedClean = 0;
  sharedDirty = 0;
  privateClean = 0;
  privateDirty = 0;
  referenced = 0;
  swap = 0;
  swapPss = 0;
}

/** The width of a smaps line up to the value's end ("Size:" padded to 16, the value to 8). */
const LINE_WIDTH = 24;

function line(label: string, bytes: number): string {
  const head = `${label}:`;
  const value = String(kb(bytes));
  return `${head}${value.padStart(Math.max(LINE_WIDTH - head.length, value.length + 1))} kB\n`;
}

export function formatSmaps(process: Process): string {
  if (process.ended) return '';
  const space = process.space;
  return space.vmas.items.map((vma) => smapsOf(space, vma)).join('');
}

function smapsOf(space: AddressSpace, vma: Vma): string {
  const t = measure(space, vma);
  return (
    `${vma.mapsLine()}\n` +
    line('Size', vma.length) +
    line('KernelPageSize', PAGE_SIZE) +
    line('MMUPageSize', PAGE_SIZE) +
    line('Rss', t.rss) +
    line('Pss', t.pss) +
    line('Pss_Dirty', t.pssDirty) +
    line('Shared_Clean', t.sharedClean) +
    line('Shared_Dirty', t.sharedDirty) +
    line('Private_Clean', t.privateClean) +
    line('Private_Dirty', t.privateDirty) +
    line('Referenced', t.referenced) +
    line('Anonymous', t.rss) +
    line('KSM', 0) +
    line('LazyFree', 0) +
    line('AnonHugePages', 0) +
    line('ShmemPmdMapped', 0) +
    line('FilePmdMapped', 0) +
    line('Shared_Hugetlb', 0) +
    line('Private_Hugetlb', 0) +
    line('Swap', t.swap) +
    line('SwapPss', t.swapPss) +
    line('Locked', vma.locked ? t.pss : 0) +
    `${'THPeligible:'}${'0'.padStart(LINE_WIDTH - 12)}\n` +
    `VmFlags: ${vmFlags(vma)} \n`
  );
}

function measure(space: AddressSpace, vma: Vma): SmapsTotals {
  const t = new SmapsTotals();
  const { tables, vm } = space;
  const reclaim = vm.reclaim;
  tables.forEachLeaf(vma.start, vma.end, (at) => {
    const low = tables.low(at);
    const high = tables.high(at);
    if (isSwapEntry(low, high)) {
      const slot = swapEntryOffset(low, high);
      const device = reclaim!.device;
      const users = device.count(slot) - (reclaim!.cache.lookup(slot) >= 0 ? 1 : 0);
      t.swap += PAGE_SIZE;
      t.swapPss += PAGE_SIZE / Math.max(1, users);
      return;
    }
    const frame = entryAddress(low, high);
    const mappers = reclaim?.mapCount(frame) ?? vm.frames.refCount(frame);
    const dirty = (low & PTE_D) !== 0 || reclaim?.cache.isDirty(frame) === true;
    const share = PAGE_SIZE / mappers;
    t.rss += PAGE_SIZE;
    t.pss += share;
    if (dirty) t.pssDirty += share;
    if ((low & PTE_A) !== 0) t.referenced += PAGE_SIZE;
    if (mappers > 1) {
      if (dirty) t.sharedDirty += PAGE_SIZE;
      else t.sharedClean += PAGE_SIZE;
    } else if (dirty) t.privateDirty += PAGE_SIZE;
    else t.privateClean += PAGE_SIZE;
  });
  return t;
}

/** The VmFlags mnemonics of fs/proc/task_mmu.c, in its order. */
function vmFlags(vma: Vma): string {
  const flags: string[] = [];
  if (vma.prot & PROT_READ) flags.push('rd');
  if (vma.prot & PROT_WRITE) flags.push('wr');
  if (vma.prot & PROT_EXEC) flags.push('ex');
  if (vma.shared) flags.push('sh');
  flags.push('mr', 'mw', 'me');
  if (vma.shared) flags.push('ms');
  if (vma.kind === 'stack') flags.push('gd');
  if (vma.locked) flags.push('lo');
  if (!vma.shared && vma.prot & PROT_WRITE) flags.push('ac');
  return flags.join(' ');
}
