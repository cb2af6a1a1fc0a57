/**
 * The kernel's own allocations (page tables, slab pages, kernel stacks) wait for direct reclaim
 * when no frame is free, as Linux's GFP_KERNEL allocations do: while user pages can go to swap,
 * fork, mmap and munmap do not fail with ENOMEM.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PAGE_SIZE } from '../../src/hw/constants.js';
import { Machine } from '../../src/kernel/machine.js';
import {
  MADV_FREE,
  MAP_ANONYMOUS,
  MAP_FIXED,
  MAP_PRIVATE,
  PROT_READ,
  PROT_WRITE,
} from '../../src/linux-abi.js';
import { FrameUse } from '../../src/physical/constants.js';
import { VMALLOC_BASE } from '../../src/virtual/layout.js';
import { holdEveryFrame, releaseFrames } from '../kernel/helpers.js';

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;
const RAM = 10 * MiB;
const SWAP = 48 * MiB;
const ANON = MAP_PRIVATE | MAP_ANONYMOUS;
/** An address in a 1 GiB region no other area of a fresh process uses. */
const FORK_AREA = 0x40_0000_0000;

/** A machine of {@link RAM}, with `swap` bytes of swap (none when 0). */
function pressedMachine(swap: number): Machine {
  return Machine.boot({ memory: RAM, seed: 3, ...(swap > 0 ? { swap } : {}) });
}

describe('kernel allocations under memory pressure', () => {
  it('fork reclaims user pages to swap for the child’s page tables instead of failing', () => {
    const results = [0, SWAP].map((swap) => {
      const machine = pressedMachine(swap);
      const forks: number[] = [];
      machine.spawn((ctx) => {
        const length = 20 * MiB;
        const area = ctx.mmap(0, length, PROT_READ | PROT_WRITE, ANON, -1, 0);
        const touched = swap > 0 ? length : 6 * MiB; // without swap: what RAM can hold
        for (let offset = 0; offset < touched; offset += PAGE_SIZE) ctx.store32(area + offset, 1);
        for (let i = 0; i < 12; i++) forks.push(ctx.syscall('fork', () => 0));
      });
      machine.run();
      machine.check();
      expect(machine.oopses).toEqual([]);
      return { forks, stalls: machine.vm.reclaim?.events.allocStalls ?? 0 };
    });
    const [withoutSwap, withSwap] = results;
    expect(withSwap!.forks.every((pid) => pid > 0)).toBe(true);
    expect(withSwap!.stalls).toBeGreaterThan(0);
    expect(withoutSwap!.forks.every((pid) => pid > 0)).toBe(true); // no pressure: no change
  });

  it('forks and area splits after touching more than RAM: never ENOMEM while swap has room, state sound', () => {
    const scenario = fc.record({
      pages: fc.integer({ min: 3_000, max: 6_000 }), // 12-24 MiB, RAM is 10
      steps: fc.array(fc.oneof(fc.constant(-1), fc.nat()), { minLength: 4, maxLength: 30 }),
      childWrites: fc.integer({ min: 0, max: 200 }),
    });
    fc.assert(
      fc.property(scenario, ({ pages, steps, childWrites }) => {
        const machine = pressedMachine(SWAP);
        const failures: number[] = [];
        const parent = machine.spawn((ctx) => {
          const area = ctx.mmap(0, pages * PAGE_SIZE, PROT_READ | PROT_WRITE, ANON, -1, 0);
          for (let page = 0; page < pages; page++) ctx.store32(area + page * PAGE_SIZE, page);
          const child = (): number => {
            // Breaks COW on some pages (user frames, through reclaim), then checks one.
            for (let page = 0; page < childWrites; page++) {
              ctx.store32(area + page * PAGE_SIZE, page + 1);
            }
            return 0;
          };
          for (const step of steps) {
            // -1: fork; else unmap the page `step` in the middle of what is left (a VMA split).
            const result =
              step < 0
                ? ctx.syscall('fork', child)
                : ctx.syscall('munmap', area + (1 + (step % (pages - 2))) * PAGE_SIZE, PAGE_SIZE);
            if (result < 0) failures.push(result);
          }
          return 0;
        });
        machine.run();
        expect(machine.oopses).toEqual([]);
        machine.check();
        expect(failures).toEqual([]);
        expect(parent.exitCode).toBe(0);
      }),
      { numRuns: 25 },
    );
  });

  it('fork copies each parent leaf as it is after the reclaim of the child’s page-table allocation: a MADV_FREE page discarded then is not copied', () => {
    const machine = pressedMachine(SWAP);
    const pages = 4;
    const outcome: { childLeaves: number[]; parentValues: number[] } = {
      childLeaves: [],
      parentValues: [],
    };
    const parent = machine.spawn((ctx) => {
      const space = machine.process(ctx.pid)!.space;
      // Alone in its 1 GiB region: the child's first leaf there needs a new directory and table.
      const area = ctx.mmap(FORK_AREA, pages * PAGE_SIZE, PROT_READ | PROT_WRITE, ANON | MAP_FIXED);
      for (let page = 0; page < pages; page++) ctx.store32(area + page * PAGE_SIZE, page + 1);
      ctx.madvise(area, pages * PAGE_SIZE, MADV_FREE); // clean: reclaim discards them
      machine.enterKernel(() => {
        // No frame free but one, the child's PML4: the tables under its first leaf reclaim.
        const held: number[] = [];
        for (let pa = 0; pa >= 0; ) {
          pa = machine.frames.tryAllocPages(0, FrameUse.KERNEL);
          if (pa >= 0) held.push(pa);
        }
        machine.frames.freePages(held.pop()!, 0);
        const child = space.fork()!;
        for (const pa of held) machine.frames.freePages(pa, 0);
        for (let page = 0; page < pages; page++) {
          const at = child.tables.entry(area + page * PAGE_SIZE, 1, false, true);
          outcome.childLeaves.push(at < 0 ? 0 : child.tables.low(at) | child.tables.high(at));
        }
        child.destroy();
      });
      for (let page = 0; page < pages; page++) {
        outcome.parentValues.push(ctx.load32(area + page * PAGE_SIZE));
      }
      return 0;
    });
    machine.run();
    expect(machine.oopses).toEqual([]);
    expect(parent.exitCode).toBe(0);
    expect(machine.vm.reclaim!.events.allocStalls).toBeGreaterThan(0);
    // Discarded while the child was made: gone in both, read as zero.
    expect(outcome.parentValues).toEqual([0, 0, 0, 0]);
    expect(outcome.childLeaves).toEqual([0, 0, 0, 0]);
    machine.check();
  });

  it('a slab that finds no page stalls in direct reclaim once: the slab does not reclaim and retry on its own', () => {
    const machine = pressedMachine(SWAP);
    const stalls = machine.atCpl0(() => {
      const cache = machine.slab.createCache('no-room', 2048);
      machine.dropCaches(); // no empty slab left for the shrinker to free
      const held = holdEveryFrame(machine);
      const before = machine.vm.reclaim!.events.allocStalls;
      const object = cache.alloc();
      const stalled = machine.vm.reclaim!.events.allocStalls - before;
      releaseFrames(machine, held);
      expect(object).toBe(0); // NULL: nothing to reclaim
      cache.destroy();
      return stalled;
    });
    expect(stalls).toBe(1);
    expect(machine.oopses).toEqual([]);
    machine.check();
  });

  it('without swap, kernel allocations get the empty slabs back: fork succeeds when only they are free', () => {
    const machine = pressedMachine(0);
    let child = 0;
    const parent = machine.spawn((ctx) => {
      const held = machine.atCpl0(() => {
        const cache = machine.slab.createCache('emptied', 2048);
        const objects = Array.from({ length: 256 }, () => cache.alloc());
        for (const object of objects) cache.free(object);
        return holdEveryFrame(machine); // free memory now: 128 empty slab pages
      });
      child = ctx.syscall('fork', () => 0);
      releaseFrames(machine, held);
      if (child > 0) ctx.wait(child);
      return 0;
    });
    machine.run();
    expect(machine.oopses).toEqual([]);
    expect(parent.exitCode).toBe(0);
    expect(child).toBeGreaterThan(0);
    machine.check();
  });

  it('the kernel’s own page tables reclaim too: a new vmalloc region gets its tables when no frame is free', () => {
    const machine = pressedMachine(SWAP);
    let entry = -1;
    const process = machine.spawn((ctx) => {
      const area = ctx.mmap(0, MiB, PROT_READ | PROT_WRITE, ANON, -1, 0);
      for (let offset = 0; offset < MiB; offset += PAGE_SIZE) ctx.store32(area + offset, 1);
      machine.enterKernel(() => {
        const held: number[] = [];
        for (let pa = 0; pa >= 0; ) {
          pa = machine.frames.tryAllocPages(0, FrameUse.KERNEL);
          if (pa >= 0) held.push(pa);
        }
        // A page directory and a page table no vmalloc area has needed yet.
        const va = VMALLOC_BASE + 300 * GiB;
        const tables = machine.vm.kernelTables;
        entry = tables.entry(va, 1, true, false);
        if (entry >= 0) tables.clear(va, 1);
        for (const pa of held) machine.frames.freePages(pa, 0);
      });
      return 0;
    });
    machine.run();
    expect(machine.oopses).toEqual([]);
    expect(process.exitCode).toBe(0);
    expect(entry).toBeGreaterThanOrEqual(0);
    machine.check();
  });
});
