/**
 * `machine.check()`: every layer's books must agree with every other layer's.
 *
 * - physical: the buddy allocator's own invariants (free lists, counts, refcounts);
 * - every user frame is referenced exactly `refCount` times by leaves of live page tables,
 *   owned as USER, and every USER frame is referenced;
 * - page-table frames = the kernel's tables + every live address space's tables;
 * - each address space's RSS equals its leaves, and each leaf lies inside a VMA;
 * - the kernel half of every PML4 is identical to the kernel's own;
 * - slab caches validate, and kernel stacks match the live tasks;
 * - every VMA's vm_area_struct holds its fields, and those records are all the cache holds;
 * - each open file's reference count equals the fds that refer to it in live fd tables;
 * - swap: every slot's count equals the swap entries plus the swap-cache frame referring to
 *   it, free and used slots add up, each space's VmSwap equals its swap entries; every frame
 *   on the reclaim lists is mapped, and every mapped frame is on them or unevictable;
 * - no CPU's TLB holds a user translation its loaded tables no longer give.
 */
import { formatAddress, USER_TOP } from '../hw/address.js';
import { ENTRIES_PER_TABLE, PAGE_SIZE, PTE_SIZE } from '../hw/constants.js';
import { entryAddress, PTE_A, PTE_D } from '../hw/paging.js';
import { FrameUse } from '../physical/index.js';
import { KERNEL_PML4_FIRST } from '../virtual/page-tables.js';
import type { Reclaim } from '../virtual/reclaim/reclaim.js';
import { isSwapEntry, swapEntryOffset } from '../virtual/swap/swap-entry.js';
import { InvariantError } from './errors.js';
import type { OpenFile } from './files/open-file.js';
import { KERNEL_STACK_SIZE, mmFieldsOf } from './kernel-objects.js';
import type { Machine } from './machine.js';
import type { Process } from './process.js';

export function checkMachine(machine: Machine): void {
  const problems: string[] = [];
  try {
    machine.frames.check();
  } catch (error) {
    problems.push(`physical: ${(error as Error).message}`);
  }
  const slabErrors = machine.slab.validate();
  if (slabErrors !== 0) problems.push(`slab: validate() found ${slabErrors} errors`);
  const references = new Map<number, number>();
  const slotReferences = new Map<number, number>();
  let tablePages = machine.vm.kernelTablePages;
  const live = machine.processList.filter((p) => !p.ended);
  for (const process of live) {
    tablePages += checkAddressSpace(machine, process, references, slotReferences, problems);
  }
  const reclaim = machine.vm.reclaim;
  const cached =
    reclaim === null ? new Set<number>() : checkSwap(reclaim, slotReferences, problems);
  if (reclaim === null && slotReferences.size > 0) problems.push('swap entries without swap');
  if (reclaim !== null) checkLists(reclaim, references, problems);
  for (const frame of cached) countOne(references, frame);
  checkFrameUse(machine, references, tablePages, live, problems);
  checkVmaRecords(machine, problems);
  checkMmRecords(live, machine, problems);
  problems.push(...checkOpenFiles(machine));
  problems.push(...staleTranslations(machine));
  if (problems.length > 0) throw new InvariantError(problems);
}

/**
 * One live process's address space: each leaf inside a VMA, RSS and VmSwap equal to its
 * leaves and swap entries, VmSize and the VMA list's copy of the bounds (kept as areas
 * change) equal to its areas, every entry in a group its table's occupancy marks, the kernel
 * half shared. Counts the frames its leaves map into
 * `references` and the slots its swap entries name into `slotReferences`; returns its
 * page-table pages.
 */
function checkAddressSpace(
  machine: Machine,
  process: Process,
  references: Map<number, number>,
  slotReferences: Map<number, number>,
  problems: string[],
): number {
  const space = process.space;
  let leaves = 0;
  let swapEntries = 0;
  space.tables.forEachLeaf(0, USER_TOP, (at, va) => {
    const low = space.tables.low(at);
    const high = space.tables.high(at);
    if (space.vmas.find(va) === undefined)
      problems.push(`pid ${process.pid}: leaf at ${va} outside any VMA`);
    if (isSwapEntry(low, high)) {
      countOne(slotReferences, swapEntryOffset(low, high));
      swapEntries++;
      return;
    }
    countOne(references, entryAddress(low, high));
    leaves++;
  });
  if (leaves !== space.rss)
    problems.push(`pid ${process.pid}: rss ${space.rss} but ${leaves} leaves`);
  if (swapEntries !== space.swapEntries)
    problems.push(`pid ${process.pid}: VmSwap ${space.swapEntries} but ${swapEntries} entries`);
  let areaBytes = 0;
  for (const vma of space.vmas.items) areaBytes += vma.length;
  if (areaBytes !== space.mappedBytes)
    problems.push(`pid ${process.pid}: VmSize ${space.mappedBytes} but areas of ${areaBytes}`);
  if (!space.vmas.boundsAgree())
    problems.push(`pid ${process.pid}: the VMA list's bounds differ from its areas`);
  if (!space.tables.occupancyHolds())
    problems.push(`pid ${process.pid}: a page-table entry lies in a group marked empty`);
  if (!sameKernelHalf(machine, space.tables.root))
    problems.push(`pid ${process.pid}: kernel half differs`);
  return space.tables.tablePages;
}

/**
 * Each area of each process not yet reaped against its vm_area_struct in kernel memory, and
 * their number against the objects the vm_area_struct cache has handed out.
 */
function checkVmaRecords(machine: Machine, problems: string[]): void {
  let areas = 0;
  for (const process of machine.processList) {
    for (const vma of process.space.vmas.items) {
      areas++;
      if (!machine.objects.holds(machine.ram, vma))
        problems.push(
          `pid ${process.pid}: VMA ${formatAddress(vma.start)} differs from its record`,
        );
    }
  }
  const records = machine.objects.vmas.activeObjects;
  if (records !== areas) problems.push(`${records} vm_area_struct records, ${areas} VMAs`);
}

/** Each live process's mm_struct in kernel memory against its address space. */
function checkMmRecords(live: readonly Process[], machine: Machine, problems: string[]): void {
  for (const process of live) {
    if (!machine.objects.mmHolds(machine.ram, process.mmRecord, mmFieldsOf(process.space)))
      problems.push(`pid ${process.pid}: its mm_struct differs from its address space`);
  }
}

/**
 * Frame owners against their users: each referenced frame is USER with that many references,
 * every USER frame is referenced, PAGE_TABLE frames are the trees' `tablePages`, and
 * KERNEL_STACK frames are one kernel stack per live task.
 */
function checkFrameUse(
  machine: Machine,
  references: Map<number, number>,
  tablePages: number,
  live: readonly Process[],
  problems: string[],
): void {
  for (const [frame, count] of references) {
    const refs = machine.frames.refCount(frame);
    if (refs !== count) problems.push(`frame ${frame}: refcount ${refs}, mapped ${count} times`);
    if (machine.frames.frameUse(frame) !== FrameUse.USER)
      problems.push(`frame ${frame}: mapped but not USER`);
  }
  const userFrames = machine.frames.framesByUse(FrameUse.USER);
  if (userFrames !== references.size)
    problems.push(`${userFrames} USER frames, ${references.size} mapped`);
  const tableFrames = machine.frames.framesByUse(FrameUse.PAGE_TABLE);
  if (tableFrames !== tablePages)
    problems.push(`${tableFrames} PAGE_TABLE frames, ${tablePages} in trees`);
  const stackFrames = machine.frames.framesByUse(FrameUse.KERNEL_STACK);
  const tasks = live.reduce((sum, p) => sum + 1 + p.threads.filter((t) => !t.ended).length, 0);
  const expectedStacks = (tasks * KERNEL_STACK_SIZE) / PAGE_SIZE;
  if (stackFrames !== expectedStacks)
    problems.push(`${stackFrames} KERNEL_STACK frames, expected ${expectedStacks}`);
}

/** One more of `key` in the tally `counts`. */
function countOne(counts: Map<number, number>, key: number): void {
  counts.set(key, (counts.get(key) ?? 0) + 1);
}

/** Every open file a process was started with or holds an fd to: its `refs` against the fds. */
function checkOpenFiles(machine: Machine): string[] {
  const fds = new Map<OpenFile, number>();
  for (const process of machine.processList) {
    const { stdin, stdout, stderr } = process.standard;
    for (const file of [stdin, stdout, stderr]) fds.set(file, fds.get(file) ?? 0);
    for (const file of process.files.openFiles()) fds.set(file, (fds.get(file) ?? 0) + 1);
  }
  return [...fds]
    .filter(([file, count]) => file.refs !== count)
    .map(([file, count]) => `open file: refs ${file.refs}, ${count} fds refer to it`);
}

/**
 * Swap slots against their references: swap entries (counted in `slotReferences`) and the swap
 * cache. Returns the cached frames, each of which holds one frame reference.
 */
function checkSwap(
  reclaim: Reclaim,
  slotReferences: Map<number, number>,
  problems: string[],
): Set<number> {
  const device = reclaim.device;
  const cached = new Set<number>();
  reclaim.cache.forEach((slot, frame) => {
    cached.add(frame);
    countOne(slotReferences, slot);
    if (reclaim.cache.slotOf(frame) !== slot)
      problems.push(`swap cache: frame ${frame} caches slot ${slot} one way only`);
  });
  if (cached.size !== reclaim.cache.size)
    problems.push(`swap cache: size ${reclaim.cache.size}, ${cached.size} frames`);
  let used = 0;
  device.forEachUsed((slot, count) => {
    used++;
    const expected = slotReferences.get(slot) ?? 0;
    if (count !== expected) problems.push(`swap slot ${slot}: count ${count}, ${expected} users`);
  });
  for (const slot of slotReferences.keys()) {
    if (device.count(slot) === 0) problems.push(`swap slot ${slot}: referred to but free`);
  }
  if (used !== device.usedSlots || used + device.freeSlots !== device.usableSlots)
    problems.push(`swap: ${used} used + ${device.freeSlots} free of ${device.usableSlots}`);
  return cached;
}

/** Every page on the reclaim lists is mapped; every mapped page is on them or unevictable. */
function checkLists(reclaim: Reclaim, references: Map<number, number>, problems: string[]): void {
  let listed = 0;
  for (const frame of references.keys()) {
    const pfn = frame / PAGE_SIZE;
    if (reclaim.policy.has(pfn)) listed++;
    else if (!reclaim.isUnevictable(frame)) problems.push(`frame ${frame}: mapped, not on the LRU`);
  }
  if (listed !== reclaim.policy.size)
    problems.push(`LRU: ${reclaim.policy.size} pages, ${listed} of them mapped`);
}

/**
 * TLB coherence: every user translation any CPU caches must still be in the page tables of
 * the address space that CPU has loaded, to the same frame and with no right the tables no
 * longer give. The one exception is a lazy CPU a shootdown skipped: it flushes before it can
 * use a user translation again.
 */
export function staleTranslations(machine: Machine): string[] {
  const problems: string[] = [];
  for (const cpu of machine.vm.cpus.all) {
    if (cpu.flushWhenBack) continue;
    for (const entry of cpu.mmu.tlb.entries()) {
      if (!entry.user || entry.global) continue;
      const walk = cpu.mmu.walk(entry.virtualPage);
      const at = `CPU ${cpu.id}: TLB entry ${formatAddress(entry.virtualPage)}`;
      if (walk.outcome !== 'mapped') problems.push(`${at} is no longer mapped`);
      else if (walk.physicalAddress !== entry.physicalFrame)
        problems.push(`${at} maps ${entry.physicalFrame}, the tables ${walk.physicalAddress}`);
      else if ((entry.writable && !walk.writable) || (!entry.noExecute && walk.noExecute))
        problems.push(`${at} keeps rights the tables took away`);
    }
  }
  return problems;
}

/**
 * True when the kernel half of the PML4 at `root` points where the kernel's does, with the
 * same rights. The Accessed and Dirty bits are left out: the MMU sets them in whichever copy
 * of an entry it walked through, so they legitimately differ between address spaces.
 */
function sameKernelHalf(machine: Machine, root: number): boolean {
  const kernel = machine.vm.kernelTables.root;
  const walkerBits = PTE_A | PTE_D;
  for (let i = KERNEL_PML4_FIRST; i < ENTRIES_PER_TABLE; i++) {
    const at = i * PTE_SIZE;
    const low = machine.ram.load32(root + at) & ~walkerBits;
    if (low !== (machine.ram.load32(kernel + at) & ~walkerBits)) return false;
    if (machine.ram.load32(root + at + 4) !== machine.ram.load32(kernel + at + 4)) return false;
  }
  return true;
}
