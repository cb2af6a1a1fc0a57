/**
 * Random sequences of mmap, munmap, mprotect, loads, stores, madvise, mincore and the mlock
 * family in one process, against a model of every page of a window: mapped or not, its rights,
 * locked or not, in RAM, in swap or nowhere, lazily freed or not, and its contents. Every
 * call's result (errno included) must be the model's; a failed call must change nothing;
 * check() holds after every step and memory (and swap) is back to its boot value at the end.
 * It runs on a machine without swap and on one with swap, where MADV_PAGEOUT, MADV_FREE and
 * MADV_WILLNEED move pages between RAM and the swap device.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PAGE_SIZE } from '../../src/hw/constants.js';
import type { Machine } from '../../src/kernel/machine.js';
import type { UserContext } from '../../src/kernel/user-context.js';
import {
  ERRNO,
  MADV_COLD,
  MADV_DONTNEED,
  MADV_FREE,
  MADV_PAGEOUT,
  MADV_POPULATE_READ,
  MADV_POPULATE_WRITE,
  MADV_WILLNEED,
  MAP_ANONYMOUS,
  MAP_FIXED,
  MAP_LOCKED,
  MAP_PRIVATE,
  MCL_CURRENT,
  MCL_FUTURE,
  PROT_NONE,
  PROT_READ,
  PROT_WRITE,
} from '../../src/linux-abi.js';
import { inProcess } from './helpers.js';

const WINDOW = 0x4000_0000;
const PAGES = 12;
const va = (page: number) => WINDOW + page * PAGE_SIZE;

interface Page {
  prot: number;
  locked: boolean;
  /** Where its contents are: nowhere yet (reads zero), in RAM, or on the swap device. */
  state: 'none' | 'resident' | 'swapped';
  /** MADV_FREE'd and not written since: reclaim drops it rather than swapping it. */
  lazy: boolean;
  value: number;
}

type Model = { pages: (Page | null)[]; futureLock: boolean; swap: boolean };

type RangeOp =
  | { kind: 'munmap' | 'mlock' | 'munlock' | 'mincore'; page: number; count: number }
  | { kind: 'mprotect'; page: number; count: number; prot: number }
  | { kind: 'madvise'; page: number; count: number; advice: number };
type Op =
  | RangeOp
  | { kind: 'mmap'; page: number; count: number; prot: number; locked: boolean }
  | { kind: 'store'; page: number; value: number }
  | { kind: 'load'; page: number }
  | { kind: 'mlockall'; future: boolean }
  | { kind: 'munlockall' };

const range = { page: fc.nat(PAGES - 1), count: fc.integer({ min: 1, max: 6 }) };
const protArb = fc.constantFrom(PROT_NONE, PROT_READ, PROT_WRITE, PROT_READ | PROT_WRITE);
const adviceArb = fc.constantFrom(
  MADV_DONTNEED,
  MADV_FREE,
  MADV_FREE,
  MADV_COLD,
  MADV_PAGEOUT,
  MADV_PAGEOUT,
  MADV_WILLNEED,
  MADV_POPULATE_READ,
  MADV_POPULATE_WRITE,
  1000,
);
/** Every run starts with the whole window mapped read-write. */
const MAP_WINDOW: Op = {
  kind: 'mmap',
  page: 0,
  count: PAGES,
  prot: PROT_READ | PROT_WRITE,
  locked: false,
};
const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ kind: fc.constant('mmap' as const), ...range, prot: protArb, locked: fc.boolean() }),
  fc.record({
    kind: fc.constantFrom('munmap' as const, 'mlock' as const, 'munlock' as const),
    ...range,
  }),
  fc.record({ kind: fc.constant('mincore' as const), ...range }),
  fc.record({ kind: fc.constant('mprotect' as const), ...range, prot: protArb }),
  {
    arbitrary: fc.record({ kind: fc.constant('madvise' as const), ...range, advice: adviceArb }),
    weight: 6,
  },
  {
    arbitrary: fc.record({
      kind: fc.constant('store' as const),
      page: range.page,
      value: fc.integer({ min: 1, max: 255 }),
    }),
    weight: 4,
  },
  { arbitrary: fc.record({ kind: fc.constant('load' as const), page: range.page }), weight: 2 },
  fc.record({ kind: fc.constant('mlockall' as const), future: fc.boolean() }),
  // Unlocked oftener than locked: locked pages refuse most advice.
  { arbitrary: fc.constant({ kind: 'munlockall' as const }), weight: 3 },
);

/** The pages of an op's range that lie in the window (the range is cut at its end). */
function pagesOf(op: { page: number; count: number }): number[] {
  const out: number[] = [];
  for (let p = op.page; p < Math.min(PAGES, op.page + op.count); p++) out.push(p);
  return out;
}

function lengthOf(op: { page: number; count: number }): number {
  return pagesOf(op).length * PAGE_SIZE;
}

/** Makes a page resident, as faulting it in does (nothing for an inaccessible page). */
function faultIn(page: Page): void {
  if (page.prot !== PROT_NONE) page.state = 'resident';
}

/** The page's contents are gone: it reads as zero, from a fresh frame at the next touch. */
function drop(page: Page): void {
  page.state = 'none';
  page.value = 0;
  page.lazy = false;
}

/**
 * Applies `op` to the model and returns what the call must return (0, a value, or a negative
 * errno), or undefined for an access the model says would kill the process (not generated).
 */
function expected(model: Model, op: Op): number | undefined {
  const { pages } = model;
  switch (op.kind) {
    case 'mmap':
      for (const p of pagesOf(op)) {
        const locked = op.locked || model.futureLock;
        pages[p] = { prot: op.prot, locked, state: 'none', lazy: false, value: 0 };
        if (locked) faultIn(pages[p]!);
      }
      return va(op.page);
    case 'munmap':
      for (const p of pagesOf(op)) pages[p] = null;
      return 0;
    case 'store': {
      const page = pages[op.page];
      if (page == null || !(page.prot & PROT_WRITE)) return undefined;
      page.value = op.value;
      page.state = 'resident';
      page.lazy = false;
      return 0;
    }
    case 'load': {
      const page = pages[op.page];
      if (page == null || !(page.prot & PROT_READ)) return undefined;
      page.state = 'resident';
      return page.value;
    }
    case 'mincore':
    case 'mprotect':
    case 'mlock':
    case 'munlock':
    case 'madvise':
      return rangeCall(model, op);
    case 'mlockall':
      model.futureLock = op.future;
      for (const page of pages) {
        if (page === null) continue;
        page.locked = true;
        faultIn(page);
      }
      return 0;
    case 'munlockall':
      model.futureLock = false;
      for (const page of pages) if (page !== null) page.locked = false;
      return 0;
  }
}

function rangeCall(model: Model, op: Exclude<RangeOp, { kind: 'munmap' }>): number {
  const range = pagesOf(op).map((p) => model.pages[p]);
  if (op.kind === 'madvise') {
    const invalid = (page: Page) => {
      switch (op.advice) {
        case MADV_DONTNEED:
        case MADV_FREE:
        case MADV_COLD:
        case MADV_PAGEOUT:
          return page.locked;
        case MADV_POPULATE_READ:
          return !(page.prot & PROT_READ);
        case MADV_POPULATE_WRITE:
          return !(page.prot & PROT_WRITE);
        case MADV_WILLNEED:
          return false;
        default:
          return true;
      }
    };
    if (op.advice === 1000 || range.some((page) => page != null && invalid(page)))
      return -ERRNO.EINVAL;
  }
  if (range.some((page) => page == null)) return -ERRNO.ENOMEM;
  for (const page of range as Page[]) {
    if (op.kind === 'mprotect') page.prot = op.prot;
    if (op.kind === 'mlock') {
      page.locked = true;
      faultIn(page);
    }
    if (op.kind === 'munlock') page.locked = false;
    if (op.kind === 'madvise') advise(model, page, op.advice);
  }
  return 0;
}

/** What `advice` does to `page` (mapped, and the advice valid for it). */
function advise(model: Model, page: Page, advice: number): void {
  switch (advice) {
    case MADV_DONTNEED:
      drop(page);
      return;
    case MADV_POPULATE_READ:
    case MADV_POPULATE_WRITE:
      page.state = 'resident';
      return;
    case MADV_FREE:
      if (page.state === 'swapped') drop(page);
      else if (page.state === 'resident' && page.prot !== PROT_NONE && model.swap) page.lazy = true;
      return;
    case MADV_PAGEOUT:
      if (!model.swap || page.state !== 'resident') return;
      if (page.lazy) drop(page);
      else page.state = 'swapped';
      return;
    case MADV_WILLNEED:
      if (page.state === 'swapped') faultIn(page);
      return;
  }
}

/** Runs `op` through the process's context: its result, a negative errno on failure. */
function run(ctx: UserContext, op: Op): number {
  switch (op.kind) {
    case 'mmap': {
      const flags = MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | (op.locked ? MAP_LOCKED : 0);
      return ctx.syscall('mmap', va(op.page), lengthOf(op), op.prot, flags);
    }
    case 'munmap':
      return ctx.syscall('munmap', va(op.page), lengthOf(op));
    case 'mprotect':
      return ctx.syscall('mprotect', va(op.page), lengthOf(op), op.prot);
    case 'mlock':
      return ctx.syscall('mlock', va(op.page), lengthOf(op));
    case 'munlock':
      return ctx.syscall('munlock', va(op.page), lengthOf(op));
    case 'madvise':
      return ctx.syscall('madvise', va(op.page), lengthOf(op), op.advice);
    case 'mincore':
      try {
        ctx.mincore(va(op.page), lengthOf(op));
        return 0;
      } catch (error) {
        return -ERRNO[(error as { code: keyof typeof ERRNO }).code];
      }
    case 'store':
      ctx.store8(va(op.page), op.value);
      return 0;
    case 'load':
      return ctx.load8(va(op.page));
    case 'mlockall':
      return ctx.syscall('mlockall', MCL_CURRENT | (op.future ? MCL_FUTURE : 0));
    case 'munlockall':
      return ctx.syscall('munlockall');
  }
}

/** The model's residency of every mapped window page against mincore, and VmLck. */
function compare(machine: Machine, ctx: UserContext, model: Model): void {
  const space = machine.process(ctx.pid)!.space;
  let windowLocked = 0;
  let windowMapped = 0;
  model.pages.forEach((page, p) => {
    if (page === null) return;
    windowMapped++;
    if (page.locked) windowLocked++;
    const resident = page.state === 'resident' ? 1 : 0;
    expect(ctx.mincore(va(p), PAGE_SIZE)[0], `page ${p} resident`).toBe(resident);
  });
  const locked = machine.procfs.read(`/proc/${ctx.pid}/status`).match(/VmLck:\s+(\d+)/)![1];
  const outside = space.mappedBytes - windowMapped * PAGE_SIZE;
  const othersLocked = space.vmas.items.some((v) => v.kind === 'stack' && v.locked);
  const expectedLocked = windowLocked * PAGE_SIZE + (othersLocked ? outside : 0);
  expect(Number(locked) * 1024).toBe(expectedLocked);
}

describe('madvise, mincore and mlock against a model', () => {
  it.each([
    ['without swap', false],
    ['with swap', true],
  ])('agree on results, residency, locks and contents, %s; failures change nothing', (_, swap) => {
    fc.assert(
      fc.property(fc.array(opArb, { minLength: 20, maxLength: 60 }), (ops) => {
        inProcess(
          (ctx, machine) => {
            const model: Model = { pages: new Array(PAGES).fill(null), futureLock: false, swap };
            for (const op of [MAP_WINDOW, ...ops]) {
              const want = expected(model, op);
              if (want === undefined) continue;
              expect(run(ctx, op), JSON.stringify(op)).toBe(want);
              machine.check();
              compare(machine, ctx, model);
            }
            model.pages.forEach((page, p) => {
              if (page !== null && page.prot & PROT_READ)
                expect(ctx.load8(va(p)), `page ${p}`).toBe(page.value);
            });
          },
          { memory: '16M', swap: swap ? '16M' : undefined },
        );
      }),
      { numRuns: 60 },
    );
  });
});
