/**
 * Random programs of several threads on several CPUs: each thread maps, unmaps, protects,
 * stores, loads, pages out to swap and forks in a window of pages its process shares, against
 * one model of every page (mapped or not, its rights, the word it holds). The machine runs a
 * few time slices at a time, and after each batch `check()` walks every CPU's TLB against the
 * page tables it has loaded: no CPU may keep a translation its address space no longer has.
 * Every load must see the model's word; at the end memory and swap are back at boot values.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PAGE_SIZE } from '../../src/hw/constants.js';
import { staleTranslations } from '../../src/kernel/check.js';
import { Machine } from '../../src/kernel/machine.js';
import type { UserContext } from '../../src/kernel/user-context.js';
import {
  MADV_PAGEOUT,
  MAP_ANONYMOUS,
  MAP_FIXED,
  MAP_PRIVATE,
  PROT_NONE,
  PROT_READ,
  PROT_WRITE,
} from '../../src/linux-abi.js';
import { finish } from './helpers.js';

const WINDOW = 0x4000_0000;
const PAGES = 24;
const at = (page: number) => WINDOW + page * PAGE_SIZE;
const RW = PROT_READ | PROT_WRITE;
/** Time slices between two checks of every TLB. */
const BATCH = 3;

interface Page {
  prot: number;
  value: number;
}
type Model = Map<number, Page>;

type Op =
  | { kind: 'mmap'; page: number; count: number; prot: number }
  | { kind: 'munmap'; page: number; count: number }
  | { kind: 'mprotect'; page: number; count: number; prot: number }
  | { kind: 'store'; page: number; value: number }
  | { kind: 'load'; page: number }
  | { kind: 'pageout'; page: number }
  | { kind: 'fork' };

const page = fc.integer({ min: 0, max: PAGES - 1 });
const count = fc.integer({ min: 1, max: 6 });
const prot = fc.constantFrom(PROT_NONE, PROT_READ, RW);
const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('mmap' as const), page, count, prot }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('munmap' as const), page, count }) },
  {
    weight: 2,
    arbitrary: fc.record({ kind: fc.constant('mprotect' as const), page, count, prot }),
  },
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant('store' as const),
      page,
      value: fc.integer({ min: 1, max: 0x7fffffff }),
    }),
  },
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('load' as const), page }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('pageout' as const), page }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('fork' as const) }) },
);

/** Runs `op` in the thread of `ctx`, keeping `model` in step; mismatches go to `errors`. */
function apply(ctx: UserContext, model: Model, op: Op, errors: string[]): void {
  const pages = (from: number, n: number) =>
    Array.from({ length: Math.min(n, PAGES - from) }, (_, i) => from + i);
  switch (op.kind) {
    case 'mmap': {
      const span = pages(op.page, op.count);
      ctx.mmap(
        at(op.page),
        span.length * PAGE_SIZE,
        op.prot,
        MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED,
      );
      for (const p of span) model.set(p, { prot: op.prot, value: 0 });
      return;
    }
    case 'munmap': {
      const span = pages(op.page, op.count);
      ctx.munmap(at(op.page), span.length * PAGE_SIZE);
      for (const p of span) model.delete(p);
      return;
    }
    case 'mprotect': {
      const span = pages(op.page, op.count);
      if (!span.every((p) => model.has(p))) return;
      ctx.mprotect(at(op.page), span.length * PAGE_SIZE, op.prot);
      for (const p of span) model.get(p)!.prot = op.prot;
      return;
    }
    case 'store': {
      const entry = model.get(op.page);
      if (entry === undefined || entry.prot !== RW) return;
      ctx.store32(at(op.page), op.value);
      entry.value = op.value;
      return;
    }
    case 'load': {
      const entry = model.get(op.page);
      if (entry === undefined || (entry.prot & PROT_READ) === 0) return;
      const value = ctx.load32(at(op.page));
      if (value !== entry.value)
        errors.push(`page ${op.page}: read ${value}, model ${entry.value}`);
      return;
    }
    case 'pageout':
      if (model.has(op.page)) ctx.madvise(at(op.page), PAGE_SIZE, MADV_PAGEOUT);
      return;
    case 'fork': {
      const snapshot = [...model].filter(([, e]) => (e.prot & PROT_READ) !== 0);
      const copies = snapshot.map(([p, e]) => [p, e.value] as const);
      ctx.fork(function* child(c: UserContext) {
        for (const [p, value] of copies) {
          const seen = c.load32(at(p));
          if (seen !== value) errors.push(`child, page ${p}: read ${seen}, fork saw ${value}`);
          yield;
        }
      });
    }
  }
}

describe('several CPUs, against a model', () => {
  it('no TLB ever keeps a translation its address space lost, and every load sees the model', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 2, max: 4 }),
        fc.array(fc.array(op, { maxLength: 14 }), { minLength: 2, maxLength: 4 }),
        (cpus, scripts) => {
          const machine = Machine.boot({ memory: '32M', cpus, swap: '8M' });
          const model: Model = new Map();
          const errors: string[] = [];
          const run = (script: readonly Op[]) =>
            function* thread(ctx: UserContext) {
              for (const step of script) {
                apply(ctx, model, step, errors);
                yield;
              }
            };
          const [mainScript, ...threadScripts] = scripts;
          const handle = machine.spawn(function* main(ctx: UserContext) {
            const tids = threadScripts.map((script) => ctx.thread(run(script)));
            yield* run(mainScript!)(ctx);
            for (const tid of tids) ctx.join(tid);
          });
          while (!handle.ended) {
            let slices = 0;
            machine.schedule(() => slices++ >= BATCH);
            machine.check();
          }
          expect(errors).toEqual([]);
          expect(handle.exitCode).toBe(0);
          finish(machine);
        },
      ),
      { numRuns: 60 },
    );
  });

  it('the checker sees the stale translations a machine without shootdowns leaves', () => {
    const machine = Machine.boot({ memory: '32M', cpus: 2 });
    machine.vm.cpus.shootdownsEnabled = false;
    let stage = 0;
    machine.spawn(function* main(ctx: UserContext) {
      ctx.mmap(WINDOW, 2 * PAGE_SIZE, RW, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED);
      ctx.store32(WINDOW, 1);
      const tid = ctx.thread(function* reader(thread: UserContext) {
        thread.load32(WINDOW);
        stage = 1;
        while (stage < 2) yield;
      });
      while (stage < 1) yield;
      ctx.munmap(WINDOW, PAGE_SIZE);
      stage = 2;
      yield;
      ctx.join(tid);
    });
    machine.schedule(() => stage === 2);
    expect(staleTranslations(machine)).toEqual([
      'CPU 1: TLB entry 0x0000000040000000 is no longer mapped',
    ]);
    expect(() => machine.check()).toThrow(/CPU 1: TLB entry 0x0000000040000000/);
  });
});
