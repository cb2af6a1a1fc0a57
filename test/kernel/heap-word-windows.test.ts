/**
 * In a process, the heap reads and writes chunk headers (and its caches' heads) in place, in the
 * words of their pages (WordWindows), when the TLB maps them user-writable and dirty;
 * otherwise word by word through the faulting loads and stores. Both forms must do exactly the
 * same thing: same blocks, same bytes, same aborts.
 */
import fc from 'fast-check';
import { describe, expect, expectTypeOf, it } from 'vitest';
import { PAGE_SIZE } from '../../src/hw/constants.js';
import { Machine } from '../../src/kernel/machine.js';
import type { Process } from '../../src/kernel/process.js';
import type { ProgramMemory } from '../../src/kernel/user-context.js';
import {
  MAP_ANONYMOUS,
  MAP_PRIVATE,
  PROT_READ,
  PROT_WRITE,
  SIGABRT,
  SIGSEGV,
} from '../../src/linux-abi.js';
import { mulberry32 } from '../../src/random.js';
import { randomHeapCall, SLOTS } from '../user-alloc/random-calls.js';
import { expectClean, finish } from './helpers.js';

/**
 * Runs `calls` random heap calls in a process of a fresh machine (same seed, same layout),
 * emptying the TLB before a call when `flushes()` says so: after a flush every page the call
 * needs is missing, so its fast paths go word by word. Returns every call's result and the
 * heap's bytes at the end, from the start of the break to the break.
 */
function replayInProcess(
  seed: number,
  flushes: () => boolean,
): { results: number[]; heap: Uint8Array } {
  const machine = Machine.boot({ memory: 64 * 1024 * 1024, seed });
  const results: number[] = [];
  let heapBytes: Uint8Array = new Uint8Array(0);
  const replayer = machine.spawn((ctx) => {
    const process = machine.process(ctx.pid)!;
    const heap = machine.heapOf(process);
    const r = mulberry32(seed);
    const blocks = new Float64Array(SLOTS);
    for (let call = 0; call < 3_000; call++) {
      if (flushes()) machine.mmu.tlb.flushAll();
      results.push(randomHeapCall(heap, blocks, r));
    }
    heap.check();
    const start = process.space.brkStart;
    heapBytes = ctx.readBytes(start, ctx.sbrk(0) - start);
  });
  machine.run();
  expect(machine.oopses).toEqual([]);
  expect([replayer.signal, replayer.stderr, replayer.exitCode]).toEqual([null, '', 0]);
  return { results, heap: heapBytes };
}

/**
 * Direct reclaim at its worst: the first fault of each access of a process first pages out
 * every other page of its heap (the heap header, with the caches' heads, included). A page's
 * words that the heap kept across a faulting access would then be the words of a freed frame.
 */
function pageOutHeapOnEveryFault(machine: Machine): void {
  const handleFault = machine.userPageFault.bind(machine);
  machine.userPageFault = (process: Process, cr2: number, errorCode: number, faults: number) => {
    if (faults === 1) {
      const { space } = process;
      const faulting = cr2 - (cr2 % PAGE_SIZE);
      const first = space.brkStart - (space.brkStart % PAGE_SIZE);
      machine.enterKernel(() => {
        for (let va = first; va < space.brk; va += PAGE_SIZE) {
          if (va !== faulting) machine.vm.reclaim!.pageOut(space, va);
        }
      });
    }
    handleFault(process, cr2, errorCode, faults);
  };
}

describe('the heap reading and writing pages in place', () => {
  it('does exactly what it does word by word (the TLB emptied before a random share of calls): same blocks, same bytes', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 2 ** 31 }),
        fc.double({ min: 0, max: 1 }),
        (seed, share) => {
          const inPlace = replayInProcess(seed, () => false);
          const flips = mulberry32(seed + 1);
          const mixed = replayInProcess(seed, () => flips() < share);
          expect(mixed.results).toEqual(inPlace.results);
          expect(Buffer.compare(mixed.heap, inPlace.heap)).toBe(0);
        },
      ),
      { numRuns: 12 },
    );
  });

  it('never keeps the words of a page across a fault: faults that page out the rest of the heap leave every block intact', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 31 }), (seed) => {
        const machine = Machine.boot({ memory: '16M', swap: '64M', seed });
        pageOutHeapOnEveryFault(machine);
        const handle = machine.spawn((ctx) => {
          const heap = machine.heapOf(machine.process(ctx.pid)!);
          const r = mulberry32(seed);
          const blocks = new Float64Array(SLOTS);
          const sizes = new Float64Array(SLOTS);
          /** Every byte of block `slot` holds its tag, slot + 1. */
          const expectIntact = (slot: number, length: number) => {
            const bytes = ctx.readBytes(blocks[slot]!, length);
            expect(bytes.every((byte) => byte === slot + 1)).toBe(true);
          };
          for (let call = 0; call < 1_200; call++) {
            const slot = Math.floor(r() * SLOTS);
            const size = r() < 0.9 ? Math.floor(r() * 1100) : Math.floor(r() * 40_000);
            if (blocks[slot] === 0) {
              blocks[slot] = heap.malloc(size);
            } else if (r() < 0.3) {
              expectIntact(slot, Math.min(size, sizes[slot]!));
              blocks[slot] = heap.realloc(blocks[slot]!, size);
            } else {
              expectIntact(slot, sizes[slot]!);
              heap.free(blocks[slot]!);
              blocks[slot] = 0;
              continue;
            }
            sizes[slot] = size;
            ctx.fill(blocks[slot]!, size, slot + 1);
          }
          heap.check();
        });
        finish(machine);
        expectClean(handle);
      }),
      { numRuns: 4 },
    );
  });

  it('gives a program no window of RAM words, only accesses the MMU checks: its store after munmap faults', () => {
    // A window is valid only until the next fault: one kept across the munmap below would
    // write into the frame the other process gets.
    expectTypeOf<ProgramMemory>().not.toHaveProperty('writableWindow');
    const machine = Machine.boot({ memory: '16M', seed: 1 });
    const anonymous = [PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS] as const;
    const attacker = machine.spawn(function* (ctx) {
      const page = ctx.mmap(0, PAGE_SIZE, ...anonymous);
      ctx.store32(page, 1);
      ctx.munmap(page, PAGE_SIZE);
      yield; // the other process takes the frame
      ctx.memory.store32(page, 0x41414141);
    });
    let intact = false;
    machine.spawn(function* (ctx) {
      const length = 16 * PAGE_SIZE;
      const block = ctx.mmap(0, length, ...anonymous);
      ctx.fill(block, length, 5);
      yield;
      yield;
      intact = ctx.readBytes(block, length).every((byte) => byte === 5);
    });
    finish(machine);
    expect([attacker.signal, intact]).toEqual([SIGSEGV, true]);
  });

  it('catches a corrupted cache link either way, with the same message', () => {
    const messages = [false, true].map((flushing) => {
      const machine = Machine.boot({ memory: 16 * 1024 * 1024, seed: 7 });
      const victimProcess = machine.spawn((ctx) => {
        const victim = ctx.malloc(40);
        const a = ctx.malloc(40);
        const b = ctx.malloc(40);
        ctx.free(a);
        ctx.free(b); // cache: b → a
        ctx.store32(b, ctx.load32(b) - (a - victim)); // use after free: b's link → victim
        ctx.malloc(40);
        if (flushing) machine.mmu.tlb.flushAll();
        ctx.malloc(40);
      });
      machine.run();
      expect(victimProcess.signal).toBe(SIGABRT);
      return victimProcess.stderr;
    });
    expect(messages[0]).toMatch(/malloc\(\): tcache chunk corrupted/);
    expect(messages[1]).toBe(messages[0]);
  });
});
