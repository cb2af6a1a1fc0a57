/**
 * The lifetime of page tables when reclaim drops pages, against a model. Random stores, loads,
 * MADV_FREE, MADV_PAGEOUT, munmap and mmap over a window that straddles two page tables, on a
 * machine with swap. Clearing a leaf frees the table it empties at once; reclaim never frees a
 * table (as Linux's try_to_unmap), so a table whose last entry MADV_PAGEOUT dropped (a lazily
 * freed page) stays, empty, until an munmap or mmap over its range frees it (as Linux's
 * free_pgtables). After every step: each table exists exactly when the model says, check()
 * holds, and the contents are the model's; at the end memory is back to its boot value.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PAGE_SIZE } from '../../src/hw/constants.js';
import type { Machine } from '../../src/kernel/machine.js';
import type { UserContext } from '../../src/kernel/user-context.js';
import {
  MADV_FREE,
  MADV_PAGEOUT,
  MAP_ANONYMOUS,
  MAP_FIXED,
  MAP_PRIVATE,
  PROT_READ,
  PROT_WRITE,
} from '../../src/linux-abi.js';
import { inProcess } from './helpers.js';

/** The addresses one page table maps. */
const TABLE_SPAN = 512 * PAGE_SIZE;
/** Pages of the window in each of its two tables. */
const PAGES_PER_TABLE = 4;
const PAGES = 2 * PAGES_PER_TABLE;
const WINDOW = 0x4000_0000 + TABLE_SPAN - PAGES_PER_TABLE * PAGE_SIZE;
const va = (page: number) => WINDOW + page * PAGE_SIZE;
const tableOf = (page: number) => Math.floor(page / PAGES_PER_TABLE);

interface Page {
  /** Where its contents are: nowhere yet (no entry, reads zero), in RAM, or in swap. */
  state: 'none' | 'resident' | 'swapped';
  /** MADV_FREE'd and not written since: reclaim drops it rather than swapping it. */
  lazy: boolean;
  value: number;
}

interface Model {
  pages: (Page | null)[];
  /** By table: reclaim dropped its last entry, and no unmap of its range freed it yet. */
  emptied: boolean[];
}

type Op =
  | { kind: 'store'; page: number; value: number }
  | { kind: 'load'; page: number }
  | { kind: 'free' | 'pageout' | 'munmap' | 'mmap'; page: number; count: number };

const pageArb = fc.nat(PAGES - 1);
const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    arbitrary: fc.record({
      kind: fc.constant('store' as const),
      page: pageArb,
      value: fc.integer({ min: 1, max: 255 }),
    }),
    weight: 4,
  },
  fc.record({ kind: fc.constant('load' as const), page: pageArb }),
  {
    arbitrary: fc.record({
      kind: fc.constantFrom('free' as const, 'pageout' as const),
      page: pageArb,
      count: fc.integer({ min: 1, max: PAGES }),
    }),
    weight: 4,
  },
  fc.record({
    kind: fc.constantFrom('munmap' as const, 'mmap' as const),
    page: pageArb,
    count: fc.integer({ min: 1, max: 3 }),
  }),
);

/** The pages of `[page, page + count)` inside the window. */
function pagesOf(op: { page: number; count: number }): number[] {
  const out: number[] = [];
  for (let p = op.page; p < Math.min(PAGES, op.page + op.count); p++) out.push(p);
  return out;
}

function fresh(): Page {
  return { state: 'none', lazy: false, value: 0 };
}

function hasEntries(model: Model, table: number): boolean {
  return model.pages.some(
    (page, p) => tableOf(p) === table && page !== null && page.state !== 'none',
  );
}

/** Applies `op` to the model's pages. */
function apply(model: Model, op: Op): void {
  const { pages } = model;
  switch (op.kind) {
    case 'store': {
      const page = pages[op.page];
      if (page == null) return;
      Object.assign(page, { state: 'resident', lazy: false, value: op.value });
      return;
    }
    case 'load': {
      const page = pages[op.page];
      if (page != null) page.state = 'resident';
      return;
    }
    case 'free':
      for (const page of pagesOf(op).map((p) => pages[p])) {
        if (page == null) continue;
        if (page.state === 'swapped') Object.assign(page, fresh());
        else if (page.state === 'resident') page.lazy = true;
      }
      return;
    case 'pageout':
      for (const page of pagesOf(op).map((p) => pages[p])) {
        if (page == null || page.state !== 'resident') continue;
        if (page.lazy) Object.assign(page, fresh());
        else page.state = 'swapped';
      }
      return;
    case 'munmap':
    case 'mmap':
      for (const p of pagesOf(op)) pages[p] = op.kind === 'mmap' ? fresh() : null;
      return;
  }
}

/** Which tables the model says exist after `op`, given which had entries before it. */
function noteTables(model: Model, op: Op, hadEntries: boolean[]): boolean[] {
  return model.emptied.map((_, table) => {
    const entries = hasEntries(model, table);
    const unmapped =
      (op.kind === 'munmap' || op.kind === 'mmap') && pagesOf(op).some((p) => tableOf(p) === table);
    if (entries || unmapped) model.emptied[table] = false;
    else if (op.kind === 'pageout' && hadEntries[table]) model.emptied[table] = true;
    return entries || model.emptied[table]!;
  });
}

/** Runs `op` in the process (madvise page by page, over the mapped pages only). */
function run(ctx: UserContext, model: Model, op: Op): void {
  switch (op.kind) {
    case 'store':
      if (model.pages[op.page] !== null) ctx.store8(va(op.page), op.value);
      return;
    case 'load':
      if (model.pages[op.page] !== null) ctx.load8(va(op.page));
      return;
    case 'free':
    case 'pageout':
      for (const p of pagesOf(op)) {
        if (model.pages[p] === null) continue;
        const advice = op.kind === 'free' ? MADV_FREE : MADV_PAGEOUT;
        expect(ctx.syscall('madvise', va(p), PAGE_SIZE, advice)).toBe(0);
      }
      return;
    case 'munmap':
      expect(ctx.syscall('munmap', va(op.page), pagesOf(op).length * PAGE_SIZE)).toBe(0);
      return;
    case 'mmap': {
      const flags = MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED;
      const length = pagesOf(op).length * PAGE_SIZE;
      expect(ctx.syscall('mmap', va(op.page), length, PROT_READ | PROT_WRITE, flags)).toBe(
        va(op.page),
      );
      return;
    }
  }
}

/** True when the page table that maps `page` exists. */
function hasTable(machine: Machine, ctx: UserContext, table: number): boolean {
  const first = va(table * PAGES_PER_TABLE);
  return machine.process(ctx.pid)!.space.tables.entry(first, 1, false, true) >= 0;
}

describe('page tables emptied by reclaim, against a model', () => {
  it('stay until an unmap of their range frees them; contents and check() hold', () => {
    fc.assert(
      fc.property(fc.array(opArb, { minLength: 10, maxLength: 40 }), (ops) => {
        inProcess(
          (ctx, machine) => {
            const model: Model = { pages: new Array(PAGES).fill(null), emptied: [false, false] };
            const mapAll: Op = { kind: 'mmap', page: 0, count: PAGES };
            for (const op of [mapAll, ...ops]) {
              const hadEntries = model.emptied.map((_, table) => hasEntries(model, table));
              run(ctx, model, op);
              apply(model, op);
              machine.check();
              const tables = noteTables(model, op, hadEntries);
              tables.forEach((exists, table) => {
                const where = `table ${table} after ${JSON.stringify(op)}`;
                expect(hasTable(machine, ctx, table), where).toBe(exists);
              });
            }
            model.pages.forEach((page, p) => {
              if (page !== null) expect(ctx.load8(va(p)), `page ${p}`).toBe(page.value);
            });
          },
          { memory: '16M', swap: '16M' },
        );
      }),
      { numRuns: 100 },
    );
  });
});
