/**
 * The reverse map: which virtual pages of a process map a given frame (Linux's rmap answers the
 * same question for page reclaim). Found by reading the user half of the process's page tables
 * from RAM, so clicking a frame can show the walk that leads to it.
 *
 * ```
 *  va = Σ index(level) · span(level)     PML4 index · 512 GiB + PDPT index · 1 GiB
 *                                        + PD index · 2 MiB + PT index · 4 KiB
 * ```
 */
import { ENTRIES_PER_TABLE, PAGE_SIZE, PTE_SIZE } from '../../hw/constants.js';
import {
  entryAddress,
  levelSpan,
  type PageLevel,
  PTE_P,
  PTE_PS,
  TOP_LEVEL,
} from '../../hw/paging.js';
import type { PhysicalMemory } from '../../hw/ram.js';
import type { Process } from '../../kernel/process.js';
import { PTE_PROT_NONE } from '../../virtual/address-space.js';
import { KERNEL_PML4_FIRST } from '../../virtual/page-tables.js';

/** Every user virtual page of `process` that maps the frame at `pfn`, lowest first. */
export function mappingsOf(ram: PhysicalMemory, process: Process, pfn: number): number[] {
  const found: number[] = [];
  const target = pfn * PAGE_SIZE;
  const visit = (table: number, level: PageLevel, base: number, entries: number): void => {
    const span = levelSpan(level);
    for (let i = 0; i < entries; i++) {
      const at = table + i * PTE_SIZE;
      const low = ram.load32(at);
      const high = ram.load32(at + 4);
      if (low === 0 && high === 0) continue;
      const va = base + i * span;
      const address = entryAddress(low, high);
      if (level > 1 && (low & PTE_PS) === 0) {
        if ((low & PTE_P) !== 0) visit(address, (level - 1) as PageLevel, va, ENTRIES_PER_TABLE);
      } else if (
        (low & (PTE_P | PTE_PROT_NONE)) !== 0 &&
        target >= address &&
        target < address + span
      ) {
        found.push(va + (target - address));
      }
    }
  };
  if (!process.ended) visit(process.space.tables.root, TOP_LEVEL, 0, KERNEL_PML4_FIRST);
  return found;
}
