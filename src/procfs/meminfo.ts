/** /proc/meminfo, with Linux 6.x's fields in Linux's order. */
import { pagesToKb } from '../hw/size.js';
import { PROT_WRITE } from '../linux-abi.js';
import { FrameUse } from '../physical/index.js';
import { VMALLOC_SIZE } from '../virtual/layout.js';
import { anonMemory } from './anon-memory.js';
import { countLine, kb, kbLine } from './format.js';
import type { KernelView } from './kernel-view.js';

/** Linux's default vm.overcommit_ratio: CommitLimit is this share of RAM, plus all of swap. */
const OVERCOMMIT_RATIO = 50;
const HUGE_PAGE_KB = 2048;

export function formatMeminfo(machine: KernelView): string {
  const frames = machine.frames.stats();
  const used = (use: FrameUse) => frames.framesByUse[use] ?? 0;
  const slab = machine.slab.stats();
  const total = pagesToKb(frames.managedFrames);
  const free = pagesToKb(frames.freeFrames);
  const anon = pagesToKb(used(FrameUse.USER));
  const reclaimable = kb(slab.reclaimableBytes);
  const lists = anonMemory(machine);
  const mlocked = pagesToKb(lists.unevictable);
  const swapTotal = pagesToKb(lists.swapTotal);
  const rows: [string, number][] = [
    ['MemTotal', total],
    ['MemFree', free],
    ['MemAvailable', free + reclaimable],
    ['Buffers', 0],
    ['Cached', 0],
    ['SwapCached', pagesToKb(lists.swapCached)],
    ['Active', pagesToKb(lists.active)],
    ['Inactive', pagesToKb(lists.inactive)],
    ['Active(anon)', pagesToKb(lists.active)],
    ['Inactive(anon)', pagesToKb(lists.inactive)],
    ['Active(file)', 0],
    ['Inactive(file)', 0],
    ['Unevictable', mlocked],
    ['Mlocked', mlocked],
    ['SwapTotal', swapTotal],
    ['SwapFree', pagesToKb(lists.swapFree)],
    ['Zswap', 0],
    ['Zswapped', 0],
    ['Dirty', 0],
    ['Writeback', 0],
    ['AnonPages', anon],
    ['Mapped', 0],
    ['Shmem', 0],
    ['KReclaimable', reclaimable],
    ['Slab', kb(slab.slabBytes)],
    ['SReclaimable', reclaimable],
    ['SUnreclaim', kb(slab.unreclaimableBytes)],
    ['KernelStack', pagesToKb(used(FrameUse.KERNEL_STACK))],
    ['PageTables', pagesToKb(used(FrameUse.PAGE_TABLE))],
    ['SecPageTables', 0],
    ['NFS_Unstable', 0],
    ['Bounce', 0],
    ['WritebackTmp', 0],
    ['CommitLimit', Math.floor((total * OVERCOMMIT_RATIO) / 100) + swapTotal],
    ['Committed_AS', kb(committedBytes(machine))],
    ['VmallocTotal', kb(VMALLOC_SIZE)],
    ['VmallocUsed', kb(machine.vm.vmallocBytes)],
    ['VmallocChunk', 0],
    ['Percpu', 0],
    ['HardwareCorrupted', pagesToKb(frames.quarantinedFrames)],
    ['AnonHugePages', 0],
    ['ShmemHugePages', 0],
    ['ShmemPmdMapped', 0],
    ['FileHugePages', 0],
    ['FilePmdMapped', 0],
  ];
  let text = rows.map(([label, value]) => kbLine(label, value)).join('');
  for (const label of ['HugePages_Total', 'HugePages_Free', 'HugePages_Rsvd', 'HugePages_Surp']) {
    text += countLine(label, 0);
  }
  text += kbLine('Hugepagesize', HUGE_PAGE_KB);
  text += kbLine('Hugetlb', 0);
  text += kbLine('DirectMap4k', kb(machine.vm.directMap.small));
  text += kbLine('DirectMap2M', kb(machine.vm.directMap.large));
  text += kbLine('DirectMap1G', kb(machine.vm.directMap.huge));
  return text;
}

/** Committed_AS: the writable memory processes could touch (private writable and shared areas). */
function committedBytes(machine: KernelView): number {
  let bytes = 0;
  for (const process of machine.processList) {
    if (process.ended) continue;
    for (const vma of process.space.vmas.items) if (vma.prot & PROT_WRITE) bytes += vma.length;
  }
  return bytes;
}
