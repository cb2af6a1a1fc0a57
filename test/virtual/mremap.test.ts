/**
 * mremap(2) case by case, after the cases of Linux's selftests (tools/testing/selftests/mm/
 * mremap_test.c and mremap_dontunmap.c): growing in place, moving, shrinking, MREMAP_FIXED,
 * MREMAP_DONTUNMAP, merging, and every error with nothing changed.
 */
import { describe, expect, it, vi } from 'vitest';
import { PAGE_SIZE } from '../../src/hw/constants.js';
import { FaultInjector } from '../../src/kernel/fault-injection.js';
import { Machine } from '../../src/kernel/machine.js';
import type { UserContext } from '../../src/kernel/user-context.js';
import {
  MAP_ANONYMOUS,
  MAP_FIXED,
  MAP_LOCKED,
  MAP_PRIVATE,
  MAP_SHARED,
  MREMAP_DONTUNMAP,
  MREMAP_FIXED,
  MREMAP_MAYMOVE,
  PROT_NONE,
  PROT_READ,
  PROT_WRITE,
  SIGSEGV,
} from '../../src/linux-abi.js';
import { MMAP_BASE } from '../../src/virtual/layout.js';
import { expectClean, finish, inProcess } from '../kernel/helpers.js';

const RW = PROT_READ | PROT_WRITE;
const ANONYMOUS = MAP_PRIVATE | MAP_ANONYMOUS;
const MAYMOVE = MREMAP_MAYMOVE;
const FIXED = MREMAP_MAYMOVE | MREMAP_FIXED;
const DONTUNMAP = MREMAP_MAYMOVE | MREMAP_DONTUNMAP;
const EINVAL = -22;
const EFAULT = -14;
const ENOMEM = -12;
const EPERM = -1;

/** Fills page `i` of `[va, +pages)` with bytes of value `seed + i` (never 0). */
function fillPages(ctx: UserContext, va: number, pages: number, seed: number): void {
  for (let i = 0; i < pages; i++) ctx.fill(va + i * PAGE_SIZE, PAGE_SIZE, ((seed + i) % 255) + 1);
}

/** True when every page `i` of `[va, +pages)` holds only `seed + i` (0: only zeros). */
function holds(ctx: UserContext, va: number, pages: number, seed: number | 0): boolean {
  for (let i = 0; i < pages; i++) {
    const expected = seed === 0 ? 0 : ((seed + i) % 255) + 1;
    const bytes = ctx.readBytes(va + i * PAGE_SIZE, PAGE_SIZE);
    if (!bytes.every((b) => b === expected)) return false;
  }
  return true;
}

function maps(machine: Machine, ctx: UserContext): string[] {
  return machine.procfs.read(`/proc/${ctx.pid}/maps`).trimEnd().split('\n');
}

/** The /proc/PID/maps line of the area holding `va`, or undefined. */
function areaAt(machine: Machine, ctx: UserContext, va: number): string | undefined {
  return maps(machine, ctx).find((line) => {
    const [start, end] = line
      .split(' ')[0]!
      .split('-')
      .map((h) => Number.parseInt(h, 16));
    return va >= start! && va < end!;
  });
}

/** The physical frame `va` maps right now (from the page tables, not the TLB). */
function frameAt(machine: Machine, va: number): number | undefined {
  return machine.atCpl0(() => machine.mmu.walk(va).physicalAddress);
}

/** Reserves `pages` of address space and returns it unmapped, so a test can place at will. */
function freeRange(ctx: UserContext, pages: number): number {
  const va = ctx.mmap(0, pages * PAGE_SIZE, PROT_NONE, ANONYMOUS);
  ctx.munmap(va, pages * PAGE_SIZE);
  return va;
}

describe('mremap: resizing', () => {
  it('grows in place when the range after the mapping is free, keeping the contents', () => {
    inProcess((ctx, machine) => {
      const va = freeRange(ctx, 8);
      ctx.mmap(va, 2 * PAGE_SIZE, RW, ANONYMOUS | MAP_FIXED);
      fillPages(ctx, va, 2, 10);
      expect(ctx.mremap(va, 2 * PAGE_SIZE, 8 * PAGE_SIZE, 0)).toBe(va);
      expect(holds(ctx, va, 2, 10)).toBe(true);
      expect(holds(ctx, va + 2 * PAGE_SIZE, 6, 0)).toBe(true);
      expect(areaAt(machine, ctx, va)).toMatch(
        new RegExp(`^${hex(va)}-${hex(va + 8 * PAGE_SIZE)} rw-p`),
      );
    });
  });

  it('grows in place writing the area record once: the merge around it writes it whole', () => {
    inProcess((ctx, machine) => {
      const va = freeRange(ctx, 8);
      ctx.mmap(va, 2 * PAGE_SIZE, RW, ANONYMOUS | MAP_FIXED);
      const record = machine.process(ctx.pid)!.space.vmas.find(va)!.record;
      const writes = vi.spyOn(machine.objects, 'write');
      const boundWrites = vi.spyOn(machine.objects, 'writeBounds'); // write() makes one too
      expect(ctx.mremap(va, 2 * PAGE_SIZE, 4 * PAGE_SIZE, 0)).toBe(va);
      const ofRecord = (calls: unknown[][]) => calls.filter(([at]) => at === record).length;
      expect([ofRecord(writes.mock.calls), ofRecord(boundWrites.mock.calls)]).toEqual([1, 1]);
      writes.mockRestore();
      boundWrites.mockRestore();
      machine.check(); // the record holds the new bounds
    });
  });

  it('grows in place into a hole and merges with the area after it (mremap_expand_merge)', () => {
    inProcess((ctx, machine) => {
      const va = ctx.mmap(0, 3 * PAGE_SIZE, RW, ANONYMOUS);
      ctx.munmap(va + PAGE_SIZE, PAGE_SIZE);
      const before = maps(machine, ctx).length;
      expect(ctx.mremap(va, PAGE_SIZE, 2 * PAGE_SIZE, 0)).toBe(va);
      expect(maps(machine, ctx).length).toBe(before - 1);
      expect(areaAt(machine, ctx, va)).toMatch(
        new RegExp(`^${hex(va)}-${hex(va + 3 * PAGE_SIZE)} `),
      );
    });
  });

  it('without MREMAP_MAYMOVE a grow that does not fit is ENOMEM and changes nothing', () => {
    inProcess((ctx, machine) => {
      const va = ctx.mmap(0, 4 * PAGE_SIZE, RW, ANONYMOUS);
      ctx.munmap(va + 2 * PAGE_SIZE, PAGE_SIZE); // [va, +2) and [va+3, +1): no room for 4 pages
      fillPages(ctx, va, 2, 20);
      const layout = maps(machine, ctx);
      expect(ctx.syscall('mremap', va, 2 * PAGE_SIZE, 4 * PAGE_SIZE, 0)).toBe(ENOMEM);
      expect(maps(machine, ctx)).toEqual(layout);
      expect(holds(ctx, va, 2, 20)).toBe(true);
    });
  });

  it('shrinks in place: the tail is unmapped and its frames freed', () => {
    inProcess((ctx, machine) => {
      const va = ctx.mmap(0, 8 * PAGE_SIZE, RW, ANONYMOUS);
      fillPages(ctx, va, 8, 30);
      const free = machine.frames.freeFrames;
      expect(ctx.mremap(va, 8 * PAGE_SIZE, 3 * PAGE_SIZE, MAYMOVE)).toBe(va);
      expect(machine.frames.freeFrames).toBe(free + 5);
      expect(holds(ctx, va, 3, 30)).toBe(true);
      expect(areaAt(machine, ctx, va + 3 * PAGE_SIZE)).toBeUndefined();
    });
  });

  it('rounds unaligned lengths up to pages, as Linux does', () => {
    inProcess((ctx) => {
      const va = freeRange(ctx, 2);
      ctx.mmap(va, PAGE_SIZE, RW, ANONYMOUS | MAP_FIXED);
      expect(ctx.mremap(va, 1, PAGE_SIZE + 1, 0)).toBe(va);
      expect(ctx.mremap(va, 2 * PAGE_SIZE, 1, 0)).toBe(va);
      expect(ctx.syscall('mremap', va + PAGE_SIZE, 1, 1, 0)).toBe(EFAULT);
    });
  });

  it('growing a part of an area that does not end it cannot be in place (Linux: ENOMEM)', () => {
    inProcess((ctx) => {
      const va = ctx.mmap(0, 4 * PAGE_SIZE, RW, ANONYMOUS);
      expect(ctx.syscall('mremap', va, PAGE_SIZE, 2 * PAGE_SIZE, 0)).toBe(ENOMEM);
    });
  });
});

describe('mremap: moving', () => {
  it('moves a blocked mapping by its page tables: same frames, no fault, no copy', () => {
    inProcess((ctx, machine) => {
      const pages = 64;
      const va = ctx.mmap(0, pages * PAGE_SIZE, RW, ANONYMOUS);
      ctx.mmap(va + pages * PAGE_SIZE, PAGE_SIZE, PROT_READ, ANONYMOUS | MAP_FIXED); // a wall
      fillPages(ctx, va, pages, 40);
      const frames = Array.from({ length: pages }, (_, i) => frameAt(machine, va + i * PAGE_SIZE));
      const faults = machine.vm.events.pgfault;
      const free = machine.frames.freeFrames;
      const moved = ctx.mremap(va, pages * PAGE_SIZE, 2 * pages * PAGE_SIZE, MAYMOVE);
      expect(moved).not.toBe(va);
      expect(machine.vm.events.pgfault).toBe(faults);
      // Only page tables may come or go; no frame is copied or allocated for the data.
      expect(Math.abs(machine.frames.freeFrames - free)).toBeLessThanOrEqual(4);
      for (let i = 0; i < pages; i++)
        expect(frameAt(machine, moved + i * PAGE_SIZE)).toBe(frames[i]);
      expect(holds(ctx, moved, pages, 40)).toBe(true);
      expect(holds(ctx, moved + pages * PAGE_SIZE, pages, 0)).toBe(true);
      expect(areaAt(machine, ctx, va)).toBeUndefined();
    });
  });

  it('the old range faults after a move: its translations were flushed', () => {
    const machine = Machine.boot({ memory: '64M' });
    let old = 0;
    const handle = machine.spawn((ctx) => {
      old = ctx.mmap(0, 4 * PAGE_SIZE, RW, ANONYMOUS);
      ctx.mmap(old + 4 * PAGE_SIZE, PAGE_SIZE, PROT_READ, ANONYMOUS | MAP_FIXED);
      fillPages(ctx, old, 4, 50);
      ctx.load32(old); // in the TLB now
      ctx.mremap(old, 4 * PAGE_SIZE, 8 * PAGE_SIZE, MAYMOVE);
      ctx.load32(old);
    });
    machine.run();
    expect(handle.signal).toBe(SIGSEGV);
    expect(machine.processList.length).toBe(0);
    expect(machine.oopses).toEqual([]);
    machine.check();
  });

  it('a large move costs one TLB flush, not one per page', () => {
    inProcess((ctx, machine) => {
      const pages = 512;
      const va = ctx.mmap(0, pages * PAGE_SIZE, RW, ANONYMOUS);
      ctx.fill(va, pages * PAGE_SIZE, 7);
      const events = machine.vm.events;
      const single = events.tlbSinglePageFlushes;
      const full = events.tlbFullFlushes;
      const to = freeRange(ctx, pages);
      expect(ctx.mremap(va, pages * PAGE_SIZE, pages * PAGE_SIZE, FIXED, to)).toBe(to);
      expect(events.tlbFullFlushes - full).toBe(1);
      expect(events.tlbSinglePageFlushes - single).toBe(0);
      expect(ctx.load8(to + pages * PAGE_SIZE - 1)).toBe(7);
    });
  });

  it('moves PROT_NONE-held, untouched and resident pages alike', () => {
    inProcess((ctx, machine) => {
      const va = ctx.mmap(0, 6 * PAGE_SIZE, RW, ANONYMOUS);
      fillPages(ctx, va, 4, 60); // pages 4 and 5 never touched
      ctx.mprotect(va, 6 * PAGE_SIZE, PROT_NONE);
      const to = freeRange(ctx, 6);
      const rss = machine.process(ctx.pid)!.space.rss;
      expect(ctx.mremap(va, 6 * PAGE_SIZE, 6 * PAGE_SIZE, FIXED, to)).toBe(to);
      expect(machine.process(ctx.pid)!.space.rss).toBe(rss);
      expect(areaAt(machine, ctx, to)).toMatch(/ ---p /);
      ctx.mprotect(to, 6 * PAGE_SIZE, RW);
      expect(holds(ctx, to, 4, 60)).toBe(true);
      expect(holds(ctx, to + 4 * PAGE_SIZE, 2, 0)).toBe(true);
    });
  });

  it('moves a part of an area, splitting it; the pieces left keep their pages', () => {
    inProcess((ctx, machine) => {
      const va = ctx.mmap(0, 10 * PAGE_SIZE, RW, ANONYMOUS);
      fillPages(ctx, va, 10, 70);
      const to = freeRange(ctx, 3);
      expect(ctx.mremap(va + 4 * PAGE_SIZE, 3 * PAGE_SIZE, 3 * PAGE_SIZE, FIXED, to)).toBe(to);
      expect(holds(ctx, va, 4, 70)).toBe(true);
      expect(holds(ctx, va + 7 * PAGE_SIZE, 3, 77)).toBe(true);
      expect(holds(ctx, to, 3, 74)).toBe(true);
      expect(areaAt(machine, ctx, va + 4 * PAGE_SIZE)).toBeUndefined();
    });
  });

  it('MREMAP_FIXED replaces what was mapped at the target and frees its frames', () => {
    inProcess((ctx, machine) => {
      const source = ctx.mmap(0, 4 * PAGE_SIZE, RW, ANONYMOUS);
      const target = ctx.mmap(0, 6 * PAGE_SIZE, RW, ANONYMOUS);
      fillPages(ctx, source, 4, 80);
      fillPages(ctx, target, 6, 90);
      const free = machine.frames.freeFrames;
      expect(ctx.mremap(source, 4 * PAGE_SIZE, 4 * PAGE_SIZE, FIXED, target)).toBe(target);
      expect(machine.frames.freeFrames).toBeGreaterThanOrEqual(free + 4);
      expect(holds(ctx, target, 4, 80)).toBe(true);
      expect(holds(ctx, target + 4 * PAGE_SIZE, 2, 94)).toBe(true);
    });
  });

  it('MREMAP_FIXED to a smaller size unmaps the tail of the source', () => {
    inProcess((ctx, machine) => {
      const source = ctx.mmap(0, 6 * PAGE_SIZE, RW, ANONYMOUS);
      fillPages(ctx, source, 6, 100);
      const to = freeRange(ctx, 2);
      expect(ctx.mremap(source, 6 * PAGE_SIZE, 2 * PAGE_SIZE, FIXED, to)).toBe(to);
      expect(holds(ctx, to, 2, 100)).toBe(true);
      expect(areaAt(machine, ctx, source)).toBeUndefined();
      expect(areaAt(machine, ctx, source + 5 * PAGE_SIZE)).toBeUndefined();
    });
  });

  it('a moved piece of the heap is plain anonymous memory', () => {
    inProcess((ctx, machine) => {
      const start = ctx.sbrk(0);
      ctx.sbrk(4 * PAGE_SIZE);
      const base = Math.ceil(start / PAGE_SIZE) * PAGE_SIZE;
      fillPages(ctx, base, 2, 110);
      const to = freeRange(ctx, 2);
      expect(ctx.mremap(base, 2 * PAGE_SIZE, 2 * PAGE_SIZE, FIXED, to)).toBe(to);
      expect(areaAt(machine, ctx, to)).not.toMatch(/\[heap\]/);
      expect(holds(ctx, to, 2, 110)).toBe(true);
    });
  });
});

describe('mremap: MREMAP_DONTUNMAP (mremap_dontunmap.c)', () => {
  it('moves the pages and leaves the old range mapped and empty', () => {
    inProcess((ctx, machine) => {
      const source = ctx.mmap(0, 5 * PAGE_SIZE, RW, ANONYMOUS);
      fillPages(ctx, source, 5, 120);
      const dest = ctx.mremap(source, 5 * PAGE_SIZE, 5 * PAGE_SIZE, DONTUNMAP);
      expect(dest).not.toBe(source);
      expect(holds(ctx, dest, 5, 120)).toBe(true);
      expect(areaAt(machine, ctx, source)).toBeDefined();
      expect(holds(ctx, source, 5, 0)).toBe(true);
    });
  });

  it('with MREMAP_FIXED, onto an existing mapping', () => {
    inProcess((ctx) => {
      const dest = ctx.mmap(0, 5 * PAGE_SIZE, RW, ANONYMOUS);
      fillPages(ctx, dest, 5, 130);
      const source = ctx.mmap(0, 5 * PAGE_SIZE, RW, ANONYMOUS);
      fillPages(ctx, source, 5, 140);
      const flags = DONTUNMAP | MREMAP_FIXED;
      expect(ctx.mremap(source, 5 * PAGE_SIZE, 5 * PAGE_SIZE, flags, dest)).toBe(dest);
      expect(holds(ctx, dest, 5, 140)).toBe(true);
      expect(holds(ctx, source, 5, 0)).toBe(true);
    });
  });

  it('of a part of a mapping', () => {
    inProcess((ctx) => {
      const source = ctx.mmap(0, 10 * PAGE_SIZE, RW, ANONYMOUS);
      fillPages(ctx, source, 10, 150);
      const dest = ctx.mremap(source + 5 * PAGE_SIZE, 5 * PAGE_SIZE, 5 * PAGE_SIZE, DONTUNMAP);
      expect(holds(ctx, source, 5, 150)).toBe(true);
      expect(holds(ctx, source + 5 * PAGE_SIZE, 5, 0)).toBe(true);
      expect(holds(ctx, dest, 5, 155)).toBe(true);
    });
  });

  it('over a part of a larger mapping, which keeps the rest', () => {
    inProcess((ctx) => {
      const source = ctx.mmap(0, 5 * PAGE_SIZE, RW, ANONYMOUS);
      fillPages(ctx, source, 5, 160);
      const dest = ctx.mmap(0, 10 * PAGE_SIZE, RW, ANONYMOUS);
      fillPages(ctx, dest, 10, 170);
      const flags = DONTUNMAP | MREMAP_FIXED;
      expect(ctx.mremap(source, 5 * PAGE_SIZE, 5 * PAGE_SIZE, flags, dest)).toBe(dest);
      expect(holds(ctx, source, 5, 0)).toBe(true);
      expect(holds(ctx, dest, 5, 160)).toBe(true);
      expect(holds(ctx, dest + 5 * PAGE_SIZE, 5, 175)).toBe(true);
    });
  });

  it('takes a free hint as the new address', () => {
    inProcess((ctx) => {
      const source = ctx.mmap(0, 2 * PAGE_SIZE, RW, ANONYMOUS);
      const hint = freeRange(ctx, 2);
      expect(ctx.mremap(source, 2 * PAGE_SIZE, 2 * PAGE_SIZE, DONTUNMAP, hint)).toBe(hint);
    });
  });

  it('of a shared mapping: both ranges see the same memory', () => {
    inProcess((ctx) => {
      const source = ctx.mmap(0, 5 * PAGE_SIZE, RW, MAP_SHARED | MAP_ANONYMOUS);
      fillPages(ctx, source, 3, 180); // two pages never touched
      const dest = ctx.mremap(source, 5 * PAGE_SIZE, 5 * PAGE_SIZE, DONTUNMAP);
      expect(holds(ctx, dest, 3, 180)).toBe(true);
      expect(holds(ctx, source, 3, 180)).toBe(true);
      ctx.store32(dest + 4 * PAGE_SIZE, 0x1234);
      expect(ctx.load32(source + 4 * PAGE_SIZE)).toBe(0x1234);
    });
  });
});

describe('mremap: copy-on-write', () => {
  it('moving COW-shared pages after fork leaves the child its copy and breaks COW on write', () => {
    inProcess((ctx) => {
      const va = ctx.mmap(0, 4 * PAGE_SIZE, RW, ANONYMOUS);
      fillPages(ctx, va, 4, 190);
      // The child runs only when the parent waits, after the move and the writes.
      const child = ctx.fork((c) => (holds(c, va, 4, 190) ? 0 : 1));
      const to = freeRange(ctx, 4);
      expect(ctx.mremap(va, 4 * PAGE_SIZE, 4 * PAGE_SIZE, FIXED, to)).toBe(to);
      fillPages(ctx, to, 4, 200);
      expect(holds(ctx, to, 4, 200)).toBe(true);
      expect(ctx.wait(child).exitCode).toBe(0);
    });
  });
});

describe("mremap: Linux's errors, nothing changed", () => {
  it('rejects bad flags, unaligned addresses, zero lengths and overlaps with EINVAL', () => {
    inProcess((ctx, machine) => {
      const va = ctx.mmap(0, 4 * PAGE_SIZE, RW, ANONYMOUS);
      fillPages(ctx, va, 4, 210);
      const layout = maps(machine, ctx);
      const P = PAGE_SIZE;
      const other = freeRange(ctx, 4);
      const cases: [number, number, number, number, number][] = [
        [va, P, P, 8, 0], // unknown flag
        [va, P, P, MREMAP_FIXED, other], // FIXED without MAYMOVE
        [va, P, P, MREMAP_DONTUNMAP, 0], // DONTUNMAP without MAYMOVE
        [va, P, 2 * P, DONTUNMAP, 0], // DONTUNMAP resizing
        [va + 1, P, P, MAYMOVE, 0], // unaligned address
        [va, P, 0, MAYMOVE, 0], // zero new length
        [va, P, P, FIXED, other + 1], // unaligned new address
        [va, 2 * P, 2 * P, FIXED, va + P], // overlap
        [va, 0, P, MAYMOVE, 0], // duplicating a private mapping
      ];
      for (const [address, oldLength, newLength, flags, to] of cases) {
        expect(ctx.syscall('mremap', address, oldLength, newLength, flags, to)).toBe(EINVAL);
      }
      expect(ctx.syscall('mremap', va, P, P, MAYMOVE, 0, 'x')).toBe(va); // extra args ignored
      expect(ctx.syscall('mremap', va, Number.NaN, P, 0)).toBe(EINVAL);
      expect(maps(machine, ctx).filter((l) => !l.startsWith(hex(other)))).toEqual(layout);
      expect(holds(ctx, va, 4, 210)).toBe(true);
    });
  });

  it('an unmapped source, or one crossing areas, is EFAULT', () => {
    inProcess((ctx) => {
      const hole = freeRange(ctx, 4);
      expect(ctx.syscall('mremap', hole, PAGE_SIZE, 2 * PAGE_SIZE, MAYMOVE)).toBe(EFAULT);
      expect(ctx.syscall('mremap', hole, PAGE_SIZE, PAGE_SIZE, MAYMOVE)).toBe(EFAULT);
      expect(() => ctx.mremap(hole, PAGE_SIZE, PAGE_SIZE, MAYMOVE)).toThrow(/EFAULT/);
      const va = ctx.mmap(0, 4 * PAGE_SIZE, RW, ANONYMOUS);
      ctx.mprotect(va + 2 * PAGE_SIZE, 2 * PAGE_SIZE, PROT_READ);
      expect(ctx.syscall('mremap', va, 4 * PAGE_SIZE, 8 * PAGE_SIZE, MAYMOVE)).toBe(EFAULT);
      const to = freeRange(ctx, 4);
      expect(ctx.syscall('mremap', va, 4 * PAGE_SIZE, 4 * PAGE_SIZE, FIXED, to)).toBe(EFAULT);
    });
  });

  it('MREMAP_FIXED below the lowest mappable address is EPERM, past user space EINVAL', () => {
    inProcess((ctx) => {
      const va = ctx.mmap(0, PAGE_SIZE, RW, ANONYMOUS);
      expect(ctx.syscall('mremap', va, PAGE_SIZE, PAGE_SIZE, FIXED, PAGE_SIZE)).toBe(EPERM);
      expect(ctx.syscall('mremap', va, PAGE_SIZE, PAGE_SIZE, FIXED, 2 ** 47)).toBe(EINVAL);
    });
  });

  it('no room anywhere for the grown mapping is ENOMEM', () => {
    inProcess((ctx) => {
      const va = ctx.mmap(0, PAGE_SIZE, RW, ANONYMOUS);
      ctx.mmap(va + PAGE_SIZE, PAGE_SIZE, RW, ANONYMOUS | MAP_FIXED);
      expect(ctx.syscall('mremap', va, PAGE_SIZE, MMAP_BASE, MAYMOVE)).toBe(ENOMEM);
    });
  });

  it('running out of kernel memory part-way changes nothing (VMA records, page tables)', () => {
    const failures = { slab: 0, page: 0 };
    for (const site of ['slab', 'page'] as const) {
      for (let nth = 1; nth <= 4; nth++) {
        const machine = Machine.boot({ memory: '64M' });
        const injector = FaultInjector.install(machine);
        const handle = machine.spawn((ctx) => {
          const va = ctx.mmap(0, 8 * PAGE_SIZE, RW, ANONYMOUS);
          fillPages(ctx, va, 8, 220);
          // 2 GiB below: its page directory and page table do not exist yet.
          const to = va - 2 ** 31;
          const layout = maps(machine, ctx);
          const free = machine.frames.freeFrames;
          injector.arm(site, nth);
          const result = ctx.syscall(
            'mremap',
            va + PAGE_SIZE,
            PAGE_SIZE * 4,
            4 * PAGE_SIZE,
            FIXED,
            to,
          );
          injector.uninstall();
          if (result === ENOMEM) {
            failures[site]++;
            expect(maps(machine, ctx)).toEqual(layout);
            expect(machine.frames.freeFrames).toBe(free);
            expect(holds(ctx, va, 8, 220)).toBe(true);
          } else {
            expect(result).toBe(to);
            expect(holds(ctx, to, 4, 221)).toBe(true);
          }
          machine.check();
        });
        finish(machine);
        expectClean(handle);
      }
    }
    // Three VMA records (the new area, two splits of the old) and two page tables.
    expect(failures).toEqual({ slab: 3, page: 2 });
  });
});

describe('mremap: swapped, reverse-mapped and locked pages', () => {
  const WITH_SWAP = { memory: '64M', swap: '16M' };

  /** Sends the page at `va` of the caller to swap now (MADV_PAGEOUT's kernel side). */
  function pageOut(machine: Machine, ctx: UserContext, va: number): boolean {
    const space = machine.process(ctx.pid)!.space;
    return machine.atCpl0(() => machine.vm.reclaim!.pageOut(space, va));
  }

  function swapped(machine: Machine, ctx: UserContext): number {
    return machine.process(ctx.pid)!.space.swapEntries;
  }

  it('swap entries move as they are and read back at the new address', () => {
    inProcess((ctx, machine) => {
      const va = ctx.mmap(0, 6 * PAGE_SIZE, RW, ANONYMOUS);
      fillPages(ctx, va, 6, 230);
      for (let i = 0; i < 3; i++) expect(pageOut(machine, ctx, va + 2 * i * PAGE_SIZE)).toBe(true);
      expect(swapped(machine, ctx)).toBe(3);
      const to = freeRange(ctx, 12);
      expect(ctx.mremap(va, 6 * PAGE_SIZE, 12 * PAGE_SIZE, FIXED, to)).toBe(to);
      expect(swapped(machine, ctx)).toBe(3);
      machine.check();
      const major = machine.vm.events.pgmajfault;
      expect(holds(ctx, to, 6, 230)).toBe(true);
      expect(machine.vm.events.pgmajfault - major).toBeGreaterThan(0);
      expect(swapped(machine, ctx)).toBe(0);
    }, WITH_SWAP);
  });

  it('the reverse map follows moved frames: they can go to swap from their new address', () => {
    inProcess((ctx, machine) => {
      const va = ctx.mmap(0, 4 * PAGE_SIZE, RW, ANONYMOUS);
      fillPages(ctx, va, 4, 240);
      const to = freeRange(ctx, 4);
      ctx.mremap(va, 4 * PAGE_SIZE, 4 * PAGE_SIZE, FIXED, to);
      for (let i = 0; i < 4; i++) expect(pageOut(machine, ctx, to + i * PAGE_SIZE)).toBe(true);
      expect(swapped(machine, ctx)).toBe(4);
      machine.check();
      expect(holds(ctx, to, 4, 240)).toBe(true);
    }, WITH_SWAP);
  });

  it('COW-shared and swapped pages moved after fork: each process keeps its contents', () => {
    inProcess((ctx, machine) => {
      const va = ctx.mmap(0, 4 * PAGE_SIZE, RW, ANONYMOUS);
      fillPages(ctx, va, 4, 250);
      const child = ctx.fork((c) => (holds(c, va, 4, 250) ? 0 : 1));
      expect(pageOut(machine, ctx, va)).toBe(true); // shared by both: swapped for both
      const to = freeRange(ctx, 4);
      ctx.mremap(va, 4 * PAGE_SIZE, 4 * PAGE_SIZE, FIXED, to);
      machine.check();
      expect(pageOut(machine, ctx, to + PAGE_SIZE)).toBe(true);
      machine.check();
      expect(holds(ctx, to, 4, 250)).toBe(true);
      fillPages(ctx, to, 4, 5);
      expect(ctx.wait(child).exitCode).toBe(0);
      expect(holds(ctx, to, 4, 5)).toBe(true);
    }, WITH_SWAP);
  });

  it('a child forked after a move of shared pages is found by reclaim at the new address', () => {
    // The reverse map once knew a moved address for the mover alone: the second child's entry
    // was missed, the page could not go to swap and fell off the LRU.
    const machine = Machine.boot({ memory: '64M', swap: '16M' });
    const handle = machine.spawn((ctx) => {
      const va = ctx.mmap(0, 2 * PAGE_SIZE, RW, ANONYMOUS);
      fillPages(ctx, va, 2, 255);
      const first = ctx.fork((c) => (holds(c, va, 2, 255) ? 0 : 1));
      const to = freeRange(ctx, 2);
      ctx.mremap(va, 2 * PAGE_SIZE, 2 * PAGE_SIZE, FIXED, to);
      const second = ctx.fork((c) => (holds(c, to, 2, 255) ? 0 : 1));
      expect(pageOut(machine, ctx, to)).toBe(true);
      machine.check();
      expect(ctx.wait(first).exitCode).toBe(0);
      expect(ctx.wait(second).exitCode).toBe(0);
      expect(holds(ctx, to, 2, 255)).toBe(true);
    });
    finish(machine);
    expectClean(handle);
  });

  it("a locked area's growth is faulted in and its lock moves; DONTUNMAP unlocks the old range", () => {
    inProcess((ctx, machine) => {
      const va = ctx.mmap(0, 2 * PAGE_SIZE, RW, ANONYMOUS | MAP_LOCKED);
      ctx.mmap(va + 2 * PAGE_SIZE, PAGE_SIZE, PROT_READ, ANONYMOUS | MAP_FIXED); // a wall
      const moved = ctx.mremap(va, 2 * PAGE_SIZE, 6 * PAGE_SIZE, MAYMOVE);
      expect(residentIn(machine, ctx, moved, 6)).toBe(6);
      expect(status(machine, ctx, 'VmLck')).toBe(24);
      const kept = ctx.mremap(moved, 6 * PAGE_SIZE, 6 * PAGE_SIZE, DONTUNMAP);
      expect(status(machine, ctx, 'VmLck')).toBe(24);
      expect(areaAt(machine, ctx, moved)).toBeDefined();
      expect(holds(ctx, kept, 6, 0)).toBe(true);
    });
  });
});

/** Resident pages of the caller in `[va, +pages)`. */
function residentIn(machine: Machine, ctx: UserContext, va: number, pages: number): number {
  const space = machine.process(ctx.pid)!.space;
  let resident = 0;
  for (let i = 0; i < pages; i++) if (space.frameAt(va + i * PAGE_SIZE) >= 0) resident++;
  return resident;
}

/** A `/proc/PID/status` field in kB. */
function status(machine: Machine, ctx: UserContext, field: string): number {
  const text = machine.procfs.read(`/proc/${ctx.pid}/status`);
  const line = text.split('\n').find((l) => l.startsWith(`${field}:`))!;
  return Number.parseInt(line.split(/\s+/)[1]!, 10);
}

function hex(va: number): string {
  return va.toString(16).padStart(8, '0');
}
