/**
 * A page-table walk for one process and one address, as rows a person can read: each level's
 * table, index, raw entry and every flag bit, PML4 → PDPT → PD → PT → frame.
 */
import { formatAddress, formatPhysical } from '../../hw/address.js';
import { Cpu } from '../../hw/cpu.js';
import { Mmu, type PageWalk } from '../../hw/mmu.js';
import {
  PTE_A,
  PTE_D,
  PTE_G,
  PTE_NX_HIGH,
  PTE_P,
  PTE_PCD,
  PTE_PS,
  PTE_PWT,
  PTE_RW,
  PTE_US,
} from '../../hw/paging.js';
import { formatBytes } from '../../hw/size.js';
import type { Machine } from '../../kernel/machine.js';
import type { Process } from '../../kernel/process.js';

/** One flag bit of a page-table entry. */
export interface EntryBit {
  readonly name: string;
  /** Bit number in the 64-bit entry. */
  readonly bit: number;
  readonly set: boolean;
}

/** One level of a walk, formatted. */
export interface WalkRow {
  /** `PML4`, `PDPT`, `PD` or `PT`. */
  readonly table: string;
  /** Physical address of the table. */
  readonly tableAddress: string;
  /** Index of the entry in the table, 0..511. */
  readonly index: number;
  /** The 64-bit entry as 16 hex digits. */
  readonly raw: string;
  readonly bits: readonly EntryBit[];
  /** Where the entry points (next table or page), or `—` when not present. */
  readonly target: string;
  readonly leaf: boolean;
}

/** Bit numbers of the flags shown, low half first, NX (bit 63) last. */
const LOW_FLAGS: readonly (readonly [string, number, number])[] = [
  ['P', 0, PTE_P],
  ['RW', 1, PTE_RW],
  ['US', 2, PTE_US],
  ['PWT', 3, PTE_PWT],
  ['PCD', 4, PTE_PCD],
  ['A', 5, PTE_A],
  ['D', 6, PTE_D],
  ['PS', 7, PTE_PS],
  ['G', 8, PTE_G],
];
const NX_BIT = 63;
const HEX_DIGITS_PER_HALF = 8;

/** Every flag bit of the entry (`low`, `high` are its 32-bit halves). */
export function entryBits(low: number, high: number): EntryBit[] {
  const bits = LOW_FLAGS.map(([name, bit, mask]) => ({ name, bit, set: (low & mask) !== 0 }));
  bits.push({ name: 'NX', bit: NX_BIT, set: (high & PTE_NX_HIGH) !== 0 });
  return bits;
}

/** The entry as 16 hex digits, high half first. */
export function formatEntry(low: number, high: number): string {
  const half = (word: number) => (word >>> 0).toString(16).padStart(HEX_DIGITS_PER_HALF, '0');
  return `${half(high)}${half(low)}`;
}

/** The rows of a walk, PML4 first. */
export function walkRows(walk: PageWalk): WalkRow[] {
  return walk.steps.map((step) => ({
    table: step.tableName,
    tableAddress: formatPhysical(step.tableAddress),
    index: step.index,
    raw: formatEntry(step.low, step.high),
    bits: entryBits(step.low, step.high),
    target: step.present ? formatPhysical(step.target) : '—',
    leaf: step.leaf,
  }));
}

/** One line saying where the walk ended, e.g. `0x…401000 → 0x3f2000 (4 KiB page, rw- user)`. */
export function walkSummary(walk: PageWalk): string {
  const va = formatAddress(walk.virtualAddress);
  if (walk.outcome !== 'mapped') {
    const last = walk.steps[walk.steps.length - 1];
    const where = last === undefined ? '' : ` at ${last.tableName}[${last.index}]`;
    return `${va}: ${walk.outcome}${where}`;
  }
  const size = `${formatBytes(walk.pageSize!)} page`;
  const rights = `r${walk.writable ? 'w' : '-'}${walk.noExecute ? '-' : 'x'}`;
  const mode = walk.user ? 'user' : 'kernel';
  return `${va} → ${formatPhysical(walk.physicalAddress!)} (${size}, ${rights} ${mode})`;
}

/**
 * Walks any process's page tables without disturbing the machine: a second MMU over the same
 * RAM with its own CPU state, so the running CPU's CR3, TLB and A/D bits are left alone
 * (`Mmu.walk` reads RAM only).
 */
export class ProcessWalker {
  private readonly cpu = new Cpu();
  private readonly mmu: Mmu;

  constructor(private readonly machine: Machine) {
    this.mmu = new Mmu(machine.ram, this.cpu);
  }

  /** The walk of `va` in `process`'s tables (the kernel's when null). */
  walk(process: Process | null, va: number): PageWalk {
    this.cpu.eferNxe = this.machine.cpu.eferNxe;
    this.cpu.cr3 =
      process === null || process.ended
        ? this.machine.vm.kernelTables.root
        : process.space.tables.root;
    return this.mmu.walk(va);
  }
}
