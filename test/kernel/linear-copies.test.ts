/**
 * Bulk copies that fault as they go cost work linear in their length: each page faults once
 * and is translated a bounded number of times, however long the copy. Work is counted (faults
 * taken, translations the MMU made), never timed. A copy that restarted from its start after
 * each fault (as these once did) translates ~pages²/2 times.
 */
import { describe, expect, it } from 'vitest';
import { PAGE_SIZE } from '../../src/hw/constants.js';
import type { UserContext } from '../../src/kernel/user-context.js';
import { MAP_ANONYMOUS, MAP_PRIVATE, PROT_READ, PROT_WRITE } from '../../src/linux-abi.js';
import { inProcess } from './helpers.js';

const RW = PROT_READ | PROT_WRITE;
const ANONYMOUS = MAP_PRIVATE | MAP_ANONYMOUS;
/** Two lengths far apart: the work per page must not grow with the length. */
const SIZES_IN_PAGES = [32, 1024];
/** Translations a faulting page may cost: the one that faults, the retry, one spare. */
const TRANSLATIONS_PER_PAGE = 3;

/**
 * Translations a page of an in-memory copy may cost: source and target, both again after the
 * target's fault, and a spare for the TLB's PDE-cache and slot conflicts.
 */
const TRANSLATIONS_PER_COPIED_PAGE = 6;
/** Translations of malloc's and free's header work around realloc's copy (no TLB hits yet). */
const HEAP_BOOKKEEPING_TRANSLATIONS = 48;

interface Work {
  faults: number;
  translations: number;
}

/** A copy to count: `prepare` runs first, uncounted, and returns the copy and its check. */
type Copy = (ctx: UserContext) => { copy: () => void; verify: () => void };

/** The faults and MMU translations a copy takes inside a fresh process; then it is verified. */
function measure(prepare: Copy): Work {
  let result: Work = { faults: 0, translations: 0 };
  inProcess((ctx, machine) => {
    const { copy, verify } = prepare(ctx);
    const events = machine.vm.events;
    const tlb = machine.mmu.tlb;
    const faults = events.pgfault;
    const translations = tlb.hits + tlb.misses;
    copy();
    result = {
      faults: events.pgfault - faults,
      translations: tlb.hits + tlb.misses - translations,
    };
    verify();
  });
  return result;
}

/** Asserts `pages` faults and at most a few translations per page, at every size. */
function expectLinear(copyOf: (ctx: UserContext, pages: number) => ReturnType<Copy>): void {
  for (const pages of SIZES_IN_PAGES) {
    const work = measure((ctx) => copyOf(ctx, pages));
    expect(work.faults).toBe(pages);
    expect(work.translations).toBeLessThanOrEqual(TRANSLATIONS_PER_PAGE * pages);
  }
}

function fresh(ctx: UserContext, pages: number): number {
  return ctx.mmap(0, pages * PAGE_SIZE, RW, ANONYMOUS);
}

/** Bytes with a different value on every page (and not zero, so RAM really stores them). */
function pattern(length: number): Uint8Array {
  const bytes = new Uint8Array(length);
  for (let i = 0; i < length; i++) bytes[i] = ((i >>> 12) + i) % 251 || 1;
  return bytes;
}

/** Byte arrays equal (Buffer.compare: vitest's deep equality is slow on megabytes). */
function expectBytes(actual: Uint8Array, expected: Uint8Array): void {
  expect(actual.length).toBe(expected.length);
  expect(Buffer.compare(actual, expected)).toBe(0);
}

describe('copies that fault as they go are linear in their length', () => {
  it('writeBytes into a fresh mapping: one fault per page, contents intact', () => {
    expectLinear((ctx, pages) => {
      const va = fresh(ctx, pages);
      const bytes = pattern(pages * PAGE_SIZE);
      return {
        copy: () => ctx.writeBytes(va, bytes),
        verify: () => expectBytes(ctx.readBytes(va, bytes.length), bytes),
      };
    });
  });

  it('writeBytes starting mid-page resumes at the page that faulted', () => {
    const work = measure((ctx) => {
      const va = fresh(ctx, 9) + 100;
      const bytes = pattern(8 * PAGE_SIZE);
      return {
        copy: () => ctx.writeBytes(va, bytes),
        verify: () => expectBytes(ctx.readBytes(va, bytes.length), bytes),
      };
    });
    expect(work.faults).toBe(9);
  });

  it('readBytes of a fresh mapping reads zeros, one fault per page', () => {
    expectLinear((ctx, pages) => {
      const va = fresh(ctx, pages);
      let bytes: Uint8Array = new Uint8Array(0);
      return {
        copy: () => {
          bytes = ctx.readBytes(va, pages * PAGE_SIZE);
        },
        verify: () =>
          expect(bytes.length === pages * PAGE_SIZE && bytes.every((b) => b === 0)).toBe(true),
      };
    });
  });

  it('fill of a fresh mapping', () => {
    expectLinear((ctx, pages) => {
      const va = fresh(ctx, pages);
      return {
        copy: () => ctx.fill(va, pages * PAGE_SIZE, 0x5a),
        verify: () => {
          const bytes = ctx.readBytes(va, pages * PAGE_SIZE);
          expect(bytes.every((b) => b === 0x5a)).toBe(true);
        },
      };
    });
  });

  it('copy_from_user (write(2)) of a fresh mapping', () => {
    expectLinear((ctx, pages) => {
      const va = fresh(ctx, pages);
      let written = 0;
      return {
        copy: () => {
          written = ctx.write(1, va, pages * PAGE_SIZE);
        },
        verify: () => expect(written).toBe(pages * PAGE_SIZE),
      };
    });
  });

  it('copy_to_user (read(2) of stdin) into a fresh mapping', () => {
    const pages = 256;
    const input = pattern(pages * PAGE_SIZE);
    inProcess(
      (ctx, machine) => {
        const va = fresh(ctx, pages);
        const faults = machine.vm.events.pgfault;
        const translations = machine.mmu.tlb.hits + machine.mmu.tlb.misses;
        expect(ctx.read(0, va, input.length)).toBe(input.length);
        expect(machine.vm.events.pgfault - faults).toBe(pages);
        const done = machine.mmu.tlb.hits + machine.mmu.tlb.misses - translations;
        expect(done).toBeLessThanOrEqual(TRANSLATIONS_PER_PAGE * pages);
        expectBytes(ctx.readBytes(va, input.length), input);
      },
      { memory: '64M' },
      { stdin: input },
    );
  });

  it("realloc's copy into fresh heap pages: the new pages fault once each", () => {
    for (const pages of [8, 24]) {
      const size = pages * PAGE_SIZE;
      let copied = 0;
      const work = measure((ctx) => {
        // Below the mmap threshold: the block lives on the brk heap, and a neighbour keeps it
        // from growing in place, so realloc copies it into fresh heap pages.
        const block = ctx.malloc(size);
        const bytes = pattern(size);
        ctx.writeBytes(block, bytes);
        const neighbour = ctx.malloc(16);
        let moved = 0;
        return {
          copy: () => {
            moved = ctx.realloc(block, 2 * size);
          },
          verify: () => {
            copied = moved === block ? 0 : size;
            expectBytes(ctx.readBytes(moved, size), bytes);
            ctx.free(moved);
            ctx.free(neighbour);
          },
        };
      });
      expect(copied).toBe(size);
      // The target's pages fault once each, the source is resident; the heap's bookkeeping
      // (the new top's header) adds a page.
      expect(work.faults).toBe(pages + 1);
      expect(work.translations).toBeLessThanOrEqual(
        TRANSLATIONS_PER_COPIED_PAGE * pages + HEAP_BOOKKEEPING_TRANSLATIONS,
      );
    }
  });
});
