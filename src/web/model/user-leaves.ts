/**
 * The leaves of the user half of a process's page tables, read straight from RAM table by
 * table, as a debugger would: a present table costs 512 entry reads however sparse it is, a
 * missing one costs nothing. The frame snapshot uses it to find who owns each user frame; the
 * reverse map to find which virtual pages map a frame (Linux's rmap answers that for reclaim).
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
import { KERNEL_PML4_FIRST } from '../../virtual/page-tables.js';
import { PTE_PROT_NONE } from '../../virtual/swap/swap-entry.js';

/** Called per leaf: the page's virtual address, its frame's physical address, its size. */
export type LeafVisitor = (va: number, frame: number, bytes: number) => void;
/** Called per table of the walk (its physical address and level), the PML4 first. */
export type TableVisitor = (table: number, level: PageLevel) => void;

/**
 * Calls `visit` for every leaf of `process`'s user half that holds a frame: present, or kept
 * non-present under PROT_NONE; and `onTable` for the PML4 and every user-half table below it.
 * Nothing for an ended process.
 */
export function forEachUserLeaf(
  ram: PhysicalMemory,
  process: Process,
  visit: LeafVisitor,
  onTable: TableVisitor = ignoreTable,
): void {
  if (process.ended) return;
  const root = process.space.tables.root;
  visitTable(ram, root, TOP_LEVEL, 0, KERNEL_PML4_FIRST, visit, onTable);
}

function ignoreTable(): void {}

function visitTable(
  ram: PhysicalMemory,
  table: number,
  level: PageLevel,
  base: number,
  entries: number,
  visit: LeafVisitor,
  onTable: TableVisitor,
): void {
  onTable(table, level);
  const span = levelSpan(level);
  for (let i = 0; i < entries; i++) {
    const at = table + i * PTE_SIZE;
    const low = ram.load32(at);
    const high = ram.load32(at + 4);
    if (low === 0 && high === 0) continue;
    const va = base + i * span;
    const address = entryAddress(low, high);
    if (level > 1 && (low & PTE_PS) === 0) {
      if ((low & PTE_P) !== 0) {
        const next = (level - 1) as PageLevel;
        visitTable(ram, address, next, va, ENTRIES_PER_TABLE, visit, onTable);
      }
    } else if ((low & (PTE_P | PTE_PROT_NONE)) !== 0) {
      visit(va, address, span);
    }
  }
}

/** Every user virtual page of `process` that maps the frame at `pfn`, lowest first. */
export function mappingsOf(ram: PhysicalMemory, process: Process, pfn: number): number[] {
  const found: number[] = [];
  const target = pfn * PAGE_SIZE;
  forEachUserLeaf(ram, process, (va, frame, bytes) => {
    if (target >= frame && target < frame + bytes) found.push(va + (target - frame));
  });
  return found;
}
