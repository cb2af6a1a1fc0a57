import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ENTRIES_PER_TABLE, LARGE_PAGE_SIZE, PAGE_SIZE } from '../../src/hw/constants.js';
import { ACCESS_READ, ACCESS_WRITE } from '../../src/hw/mmu.js';
import { entryHigh, entryLow, PTE_P, PTE_PS, PTE_RW, PTE_US } from '../../src/hw/paging.js';
import { FrameUse } from '../../src/physical/index.js';
import { PageTables } from '../../src/virtual/page-tables.js';
import { makeVm } from './helpers.js';

describe('PageTables', () => {
  it('maps, reprotects and unmaps 4 KiB and 2 MiB pages, freeing tables as they empty', () => {
    const { ram, frames, mmu, cpu } = makeVm('64M');
    const tables = PageTables.create(ram, frames)!;
    const tableFrames = frames.framesByUse(FrameUse.PAGE_TABLE);
    const small = frames.allocPages(0, FrameUse.USER);
    const large = frames.allocPages(9, FrameUse.USER);
    const smallVa = 0x1000_0000;
    const largeVa = 0x2000_0000;
    const user = PTE_P | PTE_US;
    tables.write(
      tables.entry(smallVa, 1, true, true),
      entryLow(small, user | PTE_RW),
      entryHigh(small),
    );
    tables.write(
      tables.entry(largeVa, 2, true, true),
      entryLow(large, user | PTE_PS),
      entryHigh(large),
    );
    expect(frames.framesByUse(FrameUse.PAGE_TABLE)).toBe(tableFrames + 3);
    mmu.loadCr3(tables.root);
    cpu.cpl = 3;
    expect(mmu.translate(smallVa + 8, ACCESS_WRITE)).toBe(small + 8);
    expect(mmu.translate(largeVa + LARGE_PAGE_SIZE - 4, ACCESS_READ)).toBe(
      large + LARGE_PAGE_SIZE - 4,
    );
    expect(() => mmu.translate(largeVa, ACCESS_WRITE)).toThrow(/protection/);
    tables.write(
      tables.entry(largeVa, 2, false, true),
      entryLow(large, user | PTE_PS | PTE_RW),
      entryHigh(large),
    );
    mmu.invlpg(largeVa);
    expect(mmu.translate(largeVa + PAGE_SIZE, ACCESS_WRITE)).toBe(large + PAGE_SIZE);
    tables.clear(smallVa, 1);
    tables.clear(largeVa, 2);
    mmu.invlpg(smallVa);
    mmu.invlpg(largeVa);
    expect(() => mmu.translate(smallVa, ACCESS_READ)).toThrow(/not present/);
    expect(frames.framesByUse(FrameUse.PAGE_TABLE)).toBe(tableFrames);
    cpu.cpl = 0;
    tables.destroy();
    expect(frames.framesByUse(FrameUse.PAGE_TABLE)).toBe(tableFrames - 1);
  });

  it('visits only existing leaves, skipping missing tables', () => {
    const { ram, frames } = makeVm('64M');
    const tables = PageTables.create(ram, frames)!;
    const frame = frames.allocPages(0, FrameUse.USER);
    const spots = [0x10000, 0x7000_0000_0000, 0x40_0000_0000];
    for (const va of spots)
      tables.write(tables.entry(va, 1, true, true), entryLow(frame, PTE_P), 0);
    const seen: number[] = [];
    tables.forEachLeaf(0, 2 ** 47, (_at, va) => seen.push(va));
    expect(seen).toEqual([...spots].sort((a, b) => a - b));
  });

  it('visits exactly the non-zero leaves of a range, in order, also when the visits clear them', () => {
    // Leaves around page-table boundaries (each table maps 2 MiB) and ranges starting and
    // ending at any page: the scan of a table's entries must see what a page-by-page walk sees,
    // and go on after a visit that empties and frees the table.
    const base = 0x7f00_0000_0000;
    const pages = 3 * ENTRIES_PER_TABLE;
    const { ram, frames } = makeVm('64M');
    const frame = frames.allocPages(0, FrameUse.USER);
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.nat(pages - 1), { maxLength: 40 }),
        fc.nat(pages),
        fc.nat(pages),
        fc.boolean(),
        (mapped, a, b, clearing) => {
          const tables = PageTables.create(ram, frames)!;
          const tableFrames = frames.framesByUse(FrameUse.PAGE_TABLE);
          for (const page of mapped) {
            const at = tables.entry(base + page * PAGE_SIZE, 1, true, true);
            tables.write(at, entryLow(frame, PTE_P | PTE_US), entryHigh(frame));
          }
          const [first, last] = [Math.min(a, b), Math.max(a, b)];
          const seen: number[] = [];
          tables.forEachLeaf(base + first * PAGE_SIZE, base + last * PAGE_SIZE, (at, va) => {
            expect(at).toBe(tables.entry(va, 1, false, false));
            seen.push(va);
            if (clearing) tables.clear(va, 1);
          });
          const inRange = mapped.filter((page) => page >= first && page < last);
          expect(seen).toEqual(
            inRange.sort((x, y) => x - y).map((page) => base + page * PAGE_SIZE),
          );
          if (clearing && inRange.length === mapped.length) {
            expect(frames.framesByUse(FrameUse.PAGE_TABLE)).toBe(tableFrames);
          }
          tables.destroy();
        },
      ),
    );
  });
});
