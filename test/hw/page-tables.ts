/** Test helper: builds x86-64 page tables by hand in simulated RAM. */
import { PAGE_SIZE, PTE_SIZE } from '../../src/hw/constants.js';
import {
  entryAddress,
  entryHigh,
  entryLow,
  type PageLevel,
  PTE_P,
  PTE_PS,
  PTE_RW,
  PTE_US,
  tableIndex,
} from '../../src/hw/paging.js';
import type { PhysicalMemory } from '../../src/hw/ram.js';

/** Where the builder's tables start in physical memory. */
export const TABLES_BASE = 0x10000;
/** Flags of an entry that allows everything: present, writable, user. */
export const ALL = PTE_P | PTE_RW | PTE_US;

export interface MapOptions {
  /** 1 = 4 KiB page (default), 2 = 2 MiB, 3 = 1 GiB. */
  readonly leafLevel?: PageLevel;
  /** Low-half flags per level (default {@link ALL}); PS is added to large leaves. */
  readonly flags?: Partial<Record<PageLevel, number>>;
  /** NX per level. */
  readonly nx?: Partial<Record<PageLevel, boolean>>;
}

export class PageTableBuilder {
  readonly root: number;
  private next: number;

  constructor(
    readonly ram: PhysicalMemory,
    base = TABLES_BASE,
  ) {
    this.next = base;
    this.root = this.allocTable();
  }

  /** A fresh zeroed table. */
  allocTable(): number {
    const table = this.next;
    this.next += PAGE_SIZE;
    this.ram.fill(table, PAGE_SIZE, 0);
    return table;
  }

  /** Maps `va` to `pa`, creating tables on the way and (re)writing every entry's flags. */
  map(va: number, pa: number, options: MapOptions = {}): void {
    const leafLevel = options.leafLevel ?? 1;
    let table = this.root;
    for (let level = 4 as PageLevel; level >= leafLevel; level = (level - 1) as PageLevel) {
      const at = table + tableIndex(va, level) * PTE_SIZE;
      const flags = options.flags?.[level] ?? ALL;
      const nx = options.nx?.[level] ?? false;
      if (level === leafLevel) {
        const ps = leafLevel > 1 ? PTE_PS : 0;
        this.write(at, entryLow(pa, flags | ps), entryHigh(pa, nx));
        return;
      }
      const low = this.ram.load32(at);
      const next =
        (low & PTE_P) !== 0 ? entryAddress(low, this.ram.load32(at + 4)) : this.allocTable();
      this.write(at, entryLow(next, flags), entryHigh(next, nx));
      table = next;
    }
  }

  /** Physical address of the entry for `va` at `level` (the tables above must exist). */
  entryFor(va: number, level: PageLevel): number {
    let table = this.root;
    for (let l = 4 as PageLevel; l > level; l = (l - 1) as PageLevel) {
      const at = table + tableIndex(va, l) * PTE_SIZE;
      table = entryAddress(this.ram.load32(at), this.ram.load32(at + 4));
    }
    return table + tableIndex(va, level) * PTE_SIZE;
  }

  /** The low half of the entry for `va` at `level`. */
  low(va: number, level: PageLevel): number {
    return this.ram.load32(this.entryFor(va, level));
  }

  write(at: number, low: number, high: number): void {
    this.ram.store32(at, low);
    this.ram.store32(at + 4, high);
  }
}
