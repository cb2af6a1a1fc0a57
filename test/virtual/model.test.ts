/**
 * Random mmap/munmap/mprotect/load/store/fork sequences against a model of which pages are
 * mapped, with what rights and what contents.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PAGE_SIZE } from '../../src/hw/constants.js';
import {
  MAP_ANONYMOUS,
  MAP_FIXED,
  MAP_PRIVATE,
  PROT_EXEC,
  PROT_READ,
  PROT_WRITE,
} from '../../src/linux-abi.js';
import type { AddressSpace } from '../../src/virtual/address-space.js';
import { FaultResult } from '../../src/virtual/stats.js';
import { makeVm, user } from './helpers.js';

const WINDOW = 0x4000_0000;
const PAGES = 48;
const va = (page: number) => WINDOW + page * PAGE_SIZE;

type Op =
  | { kind: 'mmap' | 'munmap'; page: number; count: number; prot: number }
  | { kind: 'mprotect'; page: number; count: number; prot: number }
  | { kind: 'load' | 'store' | 'fork'; page: number; value: number };

const protArb = fc.constantFrom(0, PROT_READ, PROT_READ | PROT_WRITE, PROT_READ | PROT_EXEC, 7);
const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({
    kind: fc.constantFrom('mmap' as const, 'munmap' as const, 'mprotect' as const),
    page: fc.nat(PAGES - 1),
    count: fc.integer({ min: 1, max: 8 }),
    prot: protArb,
  }),
  fc.record({
    kind: fc.constantFrom('load' as const, 'store' as const, 'store' as const, 'fork' as const),
    page: fc.nat(PAGES - 1),
    value: fc.integer({ min: 1, max: 0x7fffffff }),
  }),
);

interface PageModel {
  prot: number;
  value: number;
}

describe('address space against a model', () => {
  it('agrees on mappings, rights and contents after every operation', () => {
    fc.assert(
      fc.property(fc.array(opArb, { minLength: 1, maxLength: 60 }), (ops) => {
        const { vm, frames } = makeVm('32M');
        const baseline = frames.freeFrames;
        const space = vm.createAddressSpace('model')!;
        const model = new Map<number, PageModel>();
        for (const op of ops) apply(space, model, op);
        vm.switchTo(null);
        space.destroy();
        frames.check();
        expect(frames.freeFrames).toBe(baseline);
      }),
      { numRuns: 60 },
    );

    function apply(space: AddressSpace, model: Map<number, PageModel>, op: Op): void {
      const { vm } = space;
      const end = 'count' in op ? Math.min(PAGES, op.page + op.count) : op.page + 1;
      switch (op.kind) {
        case 'mmap':
          expect(
            space.mmap(
              va(op.page),
              (end - op.page) * PAGE_SIZE,
              op.prot,
              MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED,
            ),
          ).toBe(va(op.page));
          for (let p = op.page; p < end; p++) model.set(p, { prot: op.prot, value: 0 });
          break;
        case 'munmap':
          expect(space.munmap(va(op.page), (end - op.page) * PAGE_SIZE)).toBe(0);
          for (let p = op.page; p < end; p++) model.delete(p);
          break;
        case 'mprotect': {
          let covered = true;
          for (let p = op.page; p < end; p++) covered &&= model.has(p);
          const result = space.mprotect(va(op.page), (end - op.page) * PAGE_SIZE, op.prot);
          expect(result).toBe(covered ? 0 : -12);
          if (covered) for (let p = op.page; p < end; p++) model.get(p)!.prot = op.prot;
          break;
        }
        case 'load': {
          const page = model.get(op.page);
          const outcome = user(vm, space, () => vm.mmu.load32(va(op.page)));
          if (page === undefined)
            expect(outcome).toEqual({ ok: false, result: FaultResult.SEGV_MAPERR });
          else if (page.prot === 0)
            expect(outcome).toEqual({ ok: false, result: FaultResult.SEGV_ACCERR });
          else expect(outcome).toEqual({ ok: true, value: page.value });
          break;
        }
        case 'store': {
          const page = model.get(op.page);
          const outcome = user(vm, space, () => vm.mmu.store32(va(op.page), op.value));
          if (page === undefined) expect(outcome.ok).toBe(false);
          else if (!(page.prot & PROT_WRITE))
            expect(outcome).toEqual({ ok: false, result: FaultResult.SEGV_ACCERR });
          else {
            expect(outcome.ok).toBe(true);
            page.value = op.value;
          }
          break;
        }
        case 'fork': {
          const child = space.fork()!;
          for (const [p, page] of model) {
            if (page.prot === 0) continue;
            expect(user(vm, child, () => vm.mmu.load32(va(p)))).toEqual({
              ok: true,
              value: page.value,
            });
            if (page.prot & PROT_WRITE) user(vm, child, () => vm.mmu.store32(va(p), op.value));
          }
          vm.switchTo(null);
          child.destroy();
          vm.switchTo(space);
          break;
        }
      }
      const expected = [...model.keys()].sort((a, b) => a - b);
      const mapped: number[] = [];
      for (const vma of space.vmas.overlapping(WINDOW, va(PAGES))) {
        for (let a = vma.start; a < vma.end; a += PAGE_SIZE) {
          mapped.push((a - WINDOW) / PAGE_SIZE);
          expect(vma.prot).toBe(model.get((a - WINDOW) / PAGE_SIZE)!.prot);
        }
      }
      expect(mapped).toEqual(expected);
    }
  });
});
