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

  it('keeps visiting exactly the non-zero leaves over a history of writes, clears and walks', () => {
    // One tree over a long run: entries set and cleared one by one, and walks (some clearing
    // what they visit, some setting a leaf further on) of any range, against a set of pages.
    // Groups of entries marked empty are skipped unread, so a mark left wrong would show here.
    const base = 0x7f00_0000_0000;
    const pages = 2 * ENTRIES_PER_TABLE;
    const page = fc.nat(pages - 1);
    const op = fc.oneof(
      fc.record({ kind: fc.constant('set' as const), page }),
      fc.record({ kind: fc.constant('clear' as const), page }),
      fc.record({
        kind: fc.constantFrom('walk' as const, 'walk-clearing' as const, 'walk-setting' as const),
        from: page,
        to: page,
      }),
    );
    const { ram, frames } = makeVm('64M');
    const frame = frames.allocPages(0, FrameUse.USER);
    fc.assert(
      fc.property(fc.array(op, { maxLength: 120 }), (ops) => {
        const tables = PageTables.create(ram, frames)!;
        const model = new Set<number>();
        const set = (p: number) => {
          tables.write(
            tables.entry(base + p * PAGE_SIZE, 1, true, true),
            entryLow(frame, PTE_P),
            0,
          );
          model.add(p);
        };
        const clear = (p: number) => {
          tables.clear(base + p * PAGE_SIZE, 1);
          model.delete(p);
        };
        for (const o of ops) {
          if (o.kind === 'set') set(o.page);
          else if (o.kind === 'clear') clear(o.page);
          else {
            const [first, last] = [Math.min(o.from, o.to), Math.max(o.from, o.to) + 1];
            const inRange = () =>
              [...model].filter((p) => p >= first && p < last).sort((x, y) => x - y);
            const before = inRange();
            const seen: number[] = [];
            tables.forEachLeaf(base + first * PAGE_SIZE, base + last * PAGE_SIZE, (_at, va) => {
              const p = (va - base) / PAGE_SIZE;
              seen.push(p);
              if (o.kind === 'walk-clearing') clear(p);
              if (o.kind === 'walk-setting' && p + 1 < pages) set(p + 1);
            });
            // A walk that sets the next leaf as it goes visits that one too.
            expect(seen).toEqual(o.kind === 'walk-setting' ? inRange() : before);
          }
        }
        for (const p of [...model]) clear(p);
        tables.destroy();
      }),
    );
  });

  it('reads only the groups of 16 entries that hold leaves when it walks a sparse range', () => {
    // A 2 MiB table with two leaves far apart (a mapping of 512 pages with two touched): the
    // walk reads the words of the two groups (16 entries each) that hold them, not all 1024.
    const { ram, frames } = makeVm('64M');
    const tables = PageTables.create(ram, frames)!;
    const frame = frames.allocPages(0, FrameUse.USER);
    const base = 0x4000_0000;
    const leaves = [3, 300];
    for (const p of leaves) {
      tables.write(tables.entry(base + p * PAGE_SIZE, 1, true, true), entryLow(frame, PTE_P), 0);
    }
    let reads = 0;
    const pageWordsAt = ram.pageWordsAt.bind(ram);
    ram.pageWordsAt = (address: number) => {
      const words = pageWordsAt(address);
      if (words === undefined) return undefined;
      return new Proxy(words, {
        get(target, key) {
          if (typeof key === 'string' && /^\d+$/.test(key)) reads++;
          return Reflect.get(target, key);
        },
      });
    };
    const seen: number[] = [];
    tables.forEachLeaf(base, base + ENTRIES_PER_TABLE * PAGE_SIZE, (_at, va) => seen.push(va));
    expect(seen).toEqual(leaves.map((p) => base + p * PAGE_SIZE));
    const groupWords = (ENTRIES_PER_TABLE / 32) * 2; // 16 entries of two 32-bit words
    // Each group holding a leaf is read once through, and once more in part to find it empty.
    expect(reads).toBeLessThanOrEqual(leaves.length * 2 * groupWords);
    // Cleared, the leaves' groups are read once more and found empty; after that, none is read.
    for (const p of leaves) tables.write(tables.entry(base + p * PAGE_SIZE, 1, false, true), 0, 0);
    tables.forEachLeaf(base, base + ENTRIES_PER_TABLE * PAGE_SIZE, () => {});
    reads = 0;
    tables.forEachLeaf(base, base + ENTRIES_PER_TABLE * PAGE_SIZE, () => {});
    expect(reads).toBe(0);
  });

  it('walks from the root once for each page table it scans', () => {
    // Three page tables with a leaf each (2 MiB apart): each pass finds its table by one walk
    // through the PML4, the PDPT and the PD, two 32-bit reads at each level.
    const { ram, frames } = makeVm('64M');
    const tables = PageTables.create(ram, frames)!;
    const frame = frames.allocPages(0, FrameUse.USER);
    const base = 0x4000_0000;
    const leaves = [0, 1, 2].map((i) => base + i * LARGE_PAGE_SIZE + 5 * PAGE_SIZE);
    for (const va of leaves) {
      tables.write(tables.entry(va, 1, true, true), entryLow(frame, PTE_P), 0);
    }
    let loads = 0;
    const load32 = ram.load32.bind(ram);
    ram.load32 = (address: number) => {
      loads++;
      return load32(address);
    };
    const seen: number[] = [];
    tables.forEachLeaf(base, base + 3 * LARGE_PAGE_SIZE, (_at, va) => seen.push(va));
    expect(seen).toEqual(leaves);
    expect(loads).toBe(leaves.length * 3 * 2);
  });
});
