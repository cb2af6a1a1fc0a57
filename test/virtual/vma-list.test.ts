/**
 * The VMA list against a plain model (a sorted array of page ranges): random inserts, removals,
 * resizes, splits and merges, and after each one every query the kernel asks of the list (find,
 * overlaps, the top-down gap search, the splits an unmap makes), its total and its own copy of
 * the bounds.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PAGE_SIZE } from '../../src/hw/constants.js';
import { PROT_READ, PROT_WRITE } from '../../src/linux-abi.js';
import { Vma, VmaList } from '../../src/virtual/vma.js';

/** Pages of the window the areas live in. */
const PAGES = 64;
const BASE = 0x4000_0000;
const va = (page: number) => BASE + page * PAGE_SIZE;

interface Area {
  start: number;
  end: number;
  prot: number;
}

type Op =
  | { kind: 'insert'; page: number; count: number; prot: number }
  | { kind: 'remove' | 'split'; pick: number; at: number }
  | { kind: 'resize'; pick: number; down: number; up: number }
  | { kind: 'merge'; page: number; count: number }
  | { kind: 'clear' };

const page = fc.nat(PAGES - 1);
const prot = fc.constantFrom(PROT_READ, PROT_READ | PROT_WRITE);
const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 20,
    arbitrary: fc.record({
      kind: fc.constant('insert' as const),
      page,
      count: fc.integer({ min: 1, max: 8 }),
      prot,
    }),
  },
  {
    weight: 5,
    arbitrary: fc.record({ kind: fc.constant('remove' as const), pick: fc.nat(), at: fc.nat() }),
  },
  {
    weight: 10,
    arbitrary: fc.record({ kind: fc.constant('split' as const), pick: fc.nat(), at: fc.nat() }),
  },
  {
    weight: 15,
    arbitrary: fc.record({
      kind: fc.constant('resize' as const),
      pick: fc.nat(),
      down: fc.integer({ min: -4, max: 4 }),
      up: fc.integer({ min: -4, max: 4 }),
    }),
  },
  {
    weight: 5,
    arbitrary: fc.record({
      kind: fc.constant('merge' as const),
      page,
      count: fc.integer({ min: 1, max: 16 }),
    }),
  },
  { weight: 1, arbitrary: fc.constant({ kind: 'clear' as const }) },
);

/** Applies `op` to the list and the model alike (an op that does not fit changes nothing). */
function apply(list: VmaList, model: Area[], op: Op): void {
  const free = (start: number, end: number) =>
    start >= 0 &&
    end <= PAGES &&
    start < end &&
    model.every((a) => a.end <= start || a.start >= end);
  const pick = (n: number) => n % model.length;
  switch (op.kind) {
    case 'insert': {
      const end = op.page + op.count;
      if (!free(op.page, end)) return;
      list.insert(new Vma(va(op.page), va(end), op.prot, false, 'anon', ''));
      model.push({ start: op.page, end, prot: op.prot });
      break;
    }
    case 'remove': {
      if (model.length === 0) return;
      const i = pick(op.pick);
      list.removeRun(i, i + 1);
      model.splice(i, 1);
      break;
    }
    case 'split': {
      if (model.length === 0) return;
      const i = pick(op.pick);
      const area = model[i]!;
      if (area.end - area.start < 2) return;
      const at = area.start + 1 + (op.at % (area.end - area.start - 1));
      list.splitAt(i, va(at), 0);
      model.splice(i + 1, 0, { start: at, end: area.end, prot: area.prot });
      area.end = at;
      break;
    }
    case 'resize': {
      if (model.length === 0) return;
      const i = pick(op.pick);
      const area = model[i]!;
      const start = area.start - op.down;
      const end = area.end + op.up;
      const low = i > 0 ? model[i - 1]!.end : 0;
      const high = i + 1 < model.length ? model[i + 1]!.start : PAGES;
      if (start < low || end > high || start >= end) return;
      list.resizeAt(i, va(start), va(end));
      area.start = start;
      area.end = end;
      break;
    }
    case 'merge': {
      list.mergeAround(va(op.page), va(op.page + op.count));
      mergeModel(model, op.page, op.page + op.count);
      break;
    }
    case 'clear':
      list.clear();
      model.length = 0;
      break;
  }
  model.sort((a, b) => a.start - b.start);
}

/** The model's mergeAround: neighbours alike that meet, from the area before `start` on. */
function mergeModel(model: Area[], start: number, end: number): void {
  let atStart = -1;
  model.forEach((a, i) => {
    if (a.start <= start) atStart = i;
  });
  let i = Math.max(0, atStart - 1);
  while (i + 1 < model.length && model[i]!.start <= end) {
    const [a, b] = [model[i]!, model[i + 1]!];
    if (a.end === b.start && a.prot === b.prot) {
      a.end = b.end;
      model.splice(i + 1, 1);
    } else {
      i++;
    }
  }
}

/** Linux's placement, from the model: the top of the highest free range of `[low, high)` that fits. */
function gapTopDown(model: Area[], length: number, low: number, high: number): number {
  const bounds = [{ start: Number.NEGATIVE_INFINITY, end: Number.NEGATIVE_INFINITY }, ...model];
  for (let i = bounds.length - 1; i >= 0; i--) {
    const ceiling = Math.min(high, i + 1 < bounds.length ? bounds[i + 1]!.start : high);
    const floor = Math.max(low, bounds[i]!.end);
    if (ceiling - floor >= length) return ceiling - length;
  }
  return -1;
}

/** The splits Linux's munmap of `[start, end)` makes, from the model. */
function splitsToUnmap(model: Area[], start: number, end: number): number {
  const inside = (edge: number) => model.find((a) => a.start < edge && edge < a.end);
  const [first, last] = [inside(start), inside(end)];
  if (first !== undefined && first === last) return 1;
  return (first ? 1 : 0) + (last ? 1 : 0);
}

function expectAgrees(list: VmaList, model: Area[], probe: number[]): void {
  const pages = (vma: Vma) => [(vma.start - BASE) / PAGE_SIZE, (vma.end - BASE) / PAGE_SIZE];
  expect(list.items.map(pages)).toEqual(model.map((a) => [a.start, a.end]));
  expect(list.boundsAgree()).toBe(true);
  const total = model.reduce((sum, a) => sum + a.end - a.start, 0);
  expect(list.totalBytes).toBe(total * PAGE_SIZE);
  const [p, q, length, low, high] = probe as [number, number, number, number, number];
  const [start, end] = [Math.min(p, q), Math.max(p, q) + 1];
  const holder = model.find((a) => a.start <= p && p < a.end);
  const found = list.find(va(p) + 123);
  expect(found === undefined ? undefined : pages(found)).toEqual(
    holder && [holder.start, holder.end],
  );
  const overlapping = model.some((a) => a.start < end && start < a.end);
  expect(list.overlaps(va(start), va(end))).toBe(overlapping);
  expect(list.overlapping(va(start), va(end)).length).toBe(
    model.filter((a) => a.start < end && start < a.end).length,
  );
  expect(list.splitsToUnmap(va(start), va(end))).toBe(splitsToUnmap(model, start, end));
  const [lo, hi] = [Math.min(low, high), Math.max(low, high) + 1];
  const placed = list.findGapTopDown(length * PAGE_SIZE, va(lo), va(hi));
  const expected = gapTopDown(model, length, lo, hi);
  expect(placed).toBe(expected < 0 ? -1 : va(expected));
}

describe('VmaList against a model', () => {
  it('answers every query as the model does, after any sequence of changes', () => {
    const probe = fc.tuple(page, page, fc.integer({ min: 1, max: 12 }), page, page);
    fc.assert(
      fc.property(fc.array(fc.tuple(opArb, probe), { maxLength: 80 }), (steps) => {
        const list = new VmaList();
        const model: Area[] = [];
        for (const [op, at] of steps) {
          apply(list, model, op);
          expectAgrees(list, model, at);
        }
      }),
      { numRuns: 200 },
    );
  });
});
