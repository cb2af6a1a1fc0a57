import { describe, expect, it } from 'vitest';
import { LARGE_PAGE_SIZE, PAGE_SIZE } from '../../src/hw/constants.js';
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
});
