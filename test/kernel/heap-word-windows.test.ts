/**
 * In a process, the heap reads and writes chunk headers (and its caches' heads) in place, in the
 * words of their pages (WordWindows), when the TLB maps them user-writable and dirty;
 * otherwise word by word through the faulting loads and stores. Both forms must do exactly the
 * same thing: same blocks, same bytes, same aborts.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Machine } from '../../src/kernel/machine.js';
import { SIGABRT } from '../../src/linux-abi.js';
import { mulberry32 } from '../../src/random.js';
import type { UserAllocator } from '../../src/user-alloc/user-allocator.js';

const SLOTS = 64;

/** One random heap call on `heap`, the same for the same `draw`; its result (0 for free). */
function randomCall(heap: UserAllocator, blocks: Float64Array, r: () => number): number {
  const slot = Math.floor(r() * SLOTS);
  const size = r() < 0.9 ? Math.floor(r() * 1100) : Math.floor(r() * 40_000);
  const p = blocks[slot]!;
  if (p === 0) {
    const q = r() < 0.8 ? heap.malloc(size) : heap.calloc(1, size);
    if (q !== 0) heap.memory.fill(q, Math.min(size, 64), slot + 1);
    blocks[slot] = q;
    return q;
  }
  if (r() < 0.2) {
    blocks[slot] = heap.realloc(p, size);
    return blocks[slot]!;
  }
  heap.free(p);
  blocks[slot] = 0;
  return 0;
}

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
      results.push(randomCall(heap, blocks, r));
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
