/**
 * Random sequences of mremap (grow, shrink, move, MREMAP_FIXED, MREMAP_DONTUNMAP, and calls that
 * must fail) mixed with mmap, munmap, mprotect, stores, page-outs to swap and forks, in one
 * process, against a model of every page: mapped or not, its rights, the word it holds. Every
 * mremap's result (errno included) must be the model's, a failed one changes nothing, every
 * page holds what the model says after every step (children check theirs, taken at fork),
 * check() holds throughout, and memory and swap are back to their boot values at the end.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PAGE_SIZE } from '../../src/hw/constants.js';
import type { Machine } from '../../src/kernel/machine.js';
import type { UserContext } from '../../src/kernel/user-context.js';
import {
  ERRNO,
  MAP_ANONYMOUS,
  MAP_FIXED,
  MAP_PRIVATE,
  MREMAP_DONTUNMAP,
  MREMAP_FIXED,
  MREMAP_MAYMOVE,
  PROT_NONE,
  PROT_READ,
  PROT_WRITE,
} from '../../src/linux-abi.js';
import { inProcess } from '../kernel/helpers.js';

const WINDOW = 0x4000_0000;
const PAGES = 32;
const at = (page: number) => WINDOW + page * PAGE_SIZE;
const RW = PROT_READ | PROT_WRITE;

interface Page {
  prot: number;
  /** The word at the page's start (0 until written). */
  value: number;
}
/** Every mapped page the program made, by address. */
type Model = Map<number, Page>;

type Op =
  | { kind: 'mmap'; page: number; count: number; prot: number }
  | { kind: 'munmap'; page: number; count: number }
  | { kind: 'mprotect'; page: number; count: number; prot: number }
  | { kind: 'store'; page: number; value: number }
  | { kind: 'pageout'; page: number }
  | { kind: 'fork' }
  | {
      kind: 'mremap';
      page: number;
      /**
       * How `page` and `old` are read: `raw` as they are; `page`: `page` indexes the mapped
       * pages; `area`: that, and `old` ends within the source's area (most calls then succeed).
       */
      aim: 'raw' | 'page' | 'area';
      old: number;
      new: number;
      /** new = old (a plain move; the only size MREMAP_DONTUNMAP accepts). */
      sameSize: boolean;
      flags: number;
      target: number;
    };

const protArb = fc.constantFrom(PROT_NONE, PROT_READ, PROT_READ | PROT_WRITE, PROT_WRITE);
const count = fc.integer({ min: 1, max: 6 });
const flagsArb = fc.constantFrom(
  0,
  MREMAP_MAYMOVE,
  MREMAP_MAYMOVE,
  MREMAP_MAYMOVE | MREMAP_FIXED,
  MREMAP_MAYMOVE | MREMAP_FIXED,
  MREMAP_MAYMOVE | MREMAP_DONTUNMAP,
  MREMAP_MAYMOVE | MREMAP_DONTUNMAP | MREMAP_FIXED,
  MREMAP_FIXED,
);
const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('mmap' as const),
      page: fc.nat(PAGES - 1),
      count,
      prot: protArb,
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constant('munmap' as const), page: fc.nat(PAGES - 1), count }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('mprotect' as const),
      page: fc.nat(PAGES - 1),
      count,
      prot: protArb,
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('store' as const),
      page: fc.nat(PAGES - 1),
      value: fc.integer({ min: 1, max: 0x7fffffff }),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constant('pageout' as const), page: fc.nat(PAGES - 1) }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('fork' as const) }) },
  {
    weight: 5,
    arbitrary: fc.record({
      kind: fc.constant('mremap' as const),
      page: fc.nat(PAGES - 1),
      aim: fc.constantFrom('raw' as const, 'page' as const, 'area' as const, 'area' as const),
      old: count,
      new: count,
      sameSize: fc.boolean(),
      flags: flagsArb,
      target: fc.nat(PAGES - 1),
    }),
  },
);

describe('mremap against a model', () => {
  it('agrees on results, mappings, rights and contents, with swap and fork', () => {
    fc.assert(
      fc.property(fc.array(opArb, { minLength: 5, maxLength: 40, size: 'medium' }), (ops) => {
        const machine = inProcess(
          (ctx, machine) => {
            const model: Model = new Map();
            const children: number[] = [];
            const start: Op = { kind: 'mmap', page: PAGES / 4, count: PAGES / 4, prot: RW };
            for (const op of [start, ...ops]) {
              apply(machine, ctx, model, op, children);
              expectAgrees(machine, ctx, model);
              machine.check();
            }
            for (const child of children) expect(ctx.wait(child).exitCode).toBe(0);
          },
          { memory: '32M', swap: '8M' },
        );
        expect(machine.vm.reclaim!.device.usedSlots).toBe(0);
      }),
      { numRuns: 40 },
    );
  });
});

function apply(machine: Machine, ctx: UserContext, model: Model, op: Op, children: number[]) {
  const space = machine.process(ctx.pid)!.space;
  switch (op.kind) {
    case 'mmap':
      ctx.mmap(at(op.page), op.count * PAGE_SIZE, op.prot, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED);
      for (let i = 0; i < op.count; i++) model.set(at(op.page + i), { prot: op.prot, value: 0 });
      return;
    case 'munmap':
      ctx.munmap(at(op.page), op.count * PAGE_SIZE);
      for (let i = 0; i < op.count; i++) model.delete(at(op.page + i));
      return;
    case 'mprotect': {
      const result = ctx.syscall('mprotect', at(op.page), op.count * PAGE_SIZE, op.prot);
      const pages = range(at(op.page), op.count).map((va) => model.get(va));
      expect(result).toBe(pages.every((p) => p !== undefined) ? 0 : -ERRNO.ENOMEM);
      if (result === 0) for (const page of pages) page!.prot = op.prot;
      return;
    }
    case 'store': {
      const page = model.get(at(op.page));
      if (page === undefined || (page.prot & PROT_WRITE) === 0) return;
      ctx.store32(at(op.page), op.value);
      page.value = op.value;
      return;
    }
    case 'pageout':
      machine.atCpl0(() => machine.vm.reclaim!.pageOut(space, at(op.page)));
      return;
    case 'fork': {
      const snapshot = new Map([...model].map(([va, page]) => [va, { ...page }]));
      children.push(ctx.fork((child) => (agrees(child, snapshot) ? 0 : 1)));
      return;
    }
    case 'mremap':
      return remap(ctx, model, op);
  }
}

/** Runs the mremap of `op` and checks its result against the model's, then updates the model. */
function remap(ctx: UserContext, model: Model, call: Extract<Op, { kind: 'mremap' }>): void {
  const mapped = [...model.keys()].sort((a, b) => a - b);
  const aimed = call.aim !== 'raw' && mapped.length > 0;
  const from = aimed ? mapped[call.page % mapped.length]! : at(call.page);
  const areaPages = aimed ? (endOfArea(model, from) - from) / PAGE_SIZE : call.old;
  const old = call.aim === 'area' ? Math.min(call.old, areaPages) : call.old;
  const op = { ...call, old, new: call.sameSize ? old : call.new };
  const oldSize = op.old * PAGE_SIZE;
  const newSize = op.new * PAGE_SIZE;
  const target = at(op.target);
  const result = ctx.syscall('mremap', from, oldSize, newSize, op.flags, target);
  const expected = expectedRemap(model, op, from, target);
  if (expected.errno !== 0) {
    expect(result).toBe(-expected.errno);
    return;
  }
  if (expected.to !== undefined) expect(result).toBe(expected.to);
  else {
    // The kernel picks: an aligned range where nothing was mapped.
    expect(result % PAGE_SIZE).toBe(0);
    for (const va of range(result, op.new)) expect(model.has(va)).toBe(false);
  }
  const to = result;
  const source = model.get(from)!;
  const moved = Math.min(op.old, op.new);
  if (expected.inPlace) {
    const grown = range(from + oldSize, Math.max(0, op.new - op.old));
    for (const va of grown) model.set(va, { prot: source.prot, value: 0 });
    for (const va of range(from + newSize, Math.max(0, op.old - op.new))) model.delete(va);
    return;
  }
  const pages = range(from, moved).map((va) => ({ ...model.get(va)! }));
  for (const va of range(to, op.new)) model.delete(va);
  const keepOld = (op.flags & MREMAP_DONTUNMAP) !== 0;
  for (const va of range(from, op.old)) {
    if (keepOld) model.get(va)!.value = 0;
    else model.delete(va);
  }
  range(to, op.new).forEach((va, i) => {
    model.set(va, i < moved ? pages[i]! : { prot: source.prot, value: 0 });
  });
}

interface Expected {
  errno: number;
  /** The new address when the model knows it (undefined: the kernel chooses). */
  to?: number;
  /** Resized where it is (shrink or grow in place). */
  inPlace?: boolean;
}

/** What Linux answers, from the model alone. */
function expectedRemap(
  model: Model,
  op: Extract<Op, { kind: 'mremap' }>,
  from: number,
  target: number,
): Expected {
  const { flags } = op;
  const fixed = (flags & MREMAP_FIXED) !== 0;
  const maymove = (flags & MREMAP_MAYMOVE) !== 0;
  const dontUnmap = (flags & MREMAP_DONTUNMAP) !== 0;
  if (fixed && !maymove) return { errno: ERRNO.EINVAL };
  if (dontUnmap && op.old !== op.new) return { errno: ERRNO.EINVAL };
  const source = model.get(from);
  if (source === undefined) return { errno: ERRNO.EFAULT };
  const areaEnd = endOfArea(model, from);
  if (fixed || dontUnmap) {
    const oldEnd = from + op.old * PAGE_SIZE;
    if (oldEnd > target && target + op.new * PAGE_SIZE > from) return { errno: ERRNO.EINVAL };
    if (from + Math.min(op.old, op.new) * PAGE_SIZE > areaEnd) return { errno: ERRNO.EFAULT };
    if (fixed || range(target, op.new).every((va) => !model.has(va)))
      return { errno: 0, to: target };
    return { errno: 0 };
  }
  if (op.new <= op.old) return { errno: 0, to: from, inPlace: true };
  if (from + op.old * PAGE_SIZE > areaEnd) return { errno: ERRNO.EFAULT };
  const growth = range(areaEnd, op.new - op.old);
  if (from + op.old * PAGE_SIZE === areaEnd && growth.every((va) => !model.has(va))) {
    return { errno: 0, to: from, inPlace: true };
  }
  return maymove ? { errno: 0 } : { errno: ERRNO.ENOMEM };
}

/** Where the area holding `va` ends: its run of mapped pages with the same rights. */
function endOfArea(model: Model, va: number): number {
  const prot = model.get(va)!.prot;
  let end = va;
  while (model.get(end)?.prot === prot) end += PAGE_SIZE;
  return end;
}

function range(start: number, pages: number): number[] {
  return Array.from({ length: pages }, (_, i) => start + i * PAGE_SIZE);
}

/** Every modelled page is mapped with its rights and (when readable) holds its word. */
function expectAgrees(machine: Machine, ctx: UserContext, model: Model): void {
  const space = machine.process(ctx.pid)!.space;
  for (const [va, page] of model) expect(space.vmas.find(va)?.prot).toBe(page.prot);
  for (let p = 0; p < PAGES; p++) {
    if (!model.has(at(p))) expect(space.vmas.find(at(p))).toBeUndefined();
  }
  expect(agrees(ctx, model)).toBe(true);
}

/** True when every readable modelled page holds its word. */
function agrees(ctx: UserContext, model: Model): boolean {
  for (const [va, page] of model) {
    if (page.prot !== PROT_NONE && ctx.load32(va) !== page.value) return false;
  }
  return true;
}
