/**
 * ASLR (`Machine.boot({ aslr })`, Linux's randomize_va_space): where each new program's stack,
 * mmap area and heap start, as the program itself sees them (its maps, brk(0), its first mmap).
 */
import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '../../src/errors.js';
import { pageUp } from '../../src/hw/address.js';
import { MiB, PAGE_SIZE } from '../../src/hw/constants.js';
import { Machine } from '../../src/kernel/machine.js';
import type { UserContext } from '../../src/kernel/user-context.js';
import { MAP_ANONYMOUS, MAP_PRIVATE, PROT_READ, PROT_WRITE } from '../../src/linux-abi.js';
import {
  BRK_RND_RANGE,
  MMAP_RND_BITS,
  type RandomizeLevel,
  randomizeLayout,
  STACK_RND_BITS,
} from '../../src/virtual/aslr.js';
import {
  ELF_ET_DYN_BASE,
  FIXED_LAYOUT,
  IMAGE_BASE,
  IMAGE_END,
  IMAGE_SIZE,
  IMAGE_TEXT_SIZE,
  STACK_GUARD_GAP,
  STACK_LIMIT,
  STACK_TOP,
  type UserLayout,
} from '../../src/virtual/layout.js';
import { finish } from './helpers.js';

const RW = PROT_READ | PROT_WRITE;
const ANON = MAP_PRIVATE | MAP_ANONYMOUS;
/** Linux's gap between the stack top and the mmap base when the stack is randomized. */
const MMAP_GAP = STACK_LIMIT + (2 ** STACK_RND_BITS - 1) * PAGE_SIZE + STACK_GUARD_GAP;

/** The start and end of the first line of `maps` that `match` finds. */
function area(maps: string, match: RegExp): [number, number] {
  const line = maps.split('\n').find((l) => match.test(l))!;
  const [start, end] = line.split(/[- ]/);
  return [Number.parseInt(start!, 16), Number.parseInt(end!, 16)];
}

/**
 * What a program sees of its layout: where its text is, its stack's top, brk(0), the end of its
 * first mmap.
 */
function observe(ctx: UserContext, machine: Machine): UserLayout & { maps: string } {
  const maps = machine.procfs.read('/proc/self/maps');
  return {
    imageBase: area(maps, / r-xp .* \/bin\//)[0],
    stackTop: area(maps, /\[stack\]$/)[1],
    brkStart: ctx.brk(0),
    mmapBase: ctx.mmap(0, PAGE_SIZE, RW, ANON) + PAGE_SIZE,
    maps,
  };
}

/**
 * The layout the first program of a machine booted with `seed` and `aslr` gets (`pie`: a
 * position-independent one).
 */
function layoutOf(
  seed: number,
  aslr?: RandomizeLevel,
  pie?: boolean,
): UserLayout & { maps: string } {
  const machine = Machine.boot({ memory: '16M', seed, aslr });
  let seen: ReturnType<typeof observe> | undefined;
  machine.spawn(
    (ctx) => {
      seen = observe(ctx, machine);
    },
    { pie },
  );
  finish(machine);
  return seen!;
}

const SEEDS = Array.from({ length: 48 }, (_, i) => i + 1);

describe('ASLR at level 2, the default', () => {
  const layouts = SEEDS.map((seed) => layoutOf(seed));

  it('moves the stack, the mmap base and the heap start from seed to seed, not a non-PIE image', () => {
    for (const field of ['stackTop', 'mmapBase', 'brkStart'] as const) {
      expect(new Set(layouts.map((layout) => layout[field])).size, field).toBe(SEEDS.length);
      expect(layouts.map((layout) => layout[field])).not.toContain(FIXED_LAYOUT[field]);
    }
    expect(new Set(layouts.map((layout) => layout.imageBase))).toEqual(new Set([IMAGE_BASE]));
  });

  it('gives one seed one layout', () => {
    expect(layoutOf(SEEDS[5]!)).toEqual(layouts[5]);
    expect(layoutOf(12345)).toEqual(layoutOf(12345));
  });

  it("stays within Linux's x86-64 ranges, and uses them: 22 bits of stack, 28 of mmap, 1 GiB of brk", () => {
    const ranges = {
      stackTop: { offsets: layouts.map((l) => STACK_TOP - l.stackTop), pages: 2 ** STACK_RND_BITS },
      mmapBase: {
        offsets: layouts.map((l) => STACK_TOP - MMAP_GAP - l.mmapBase),
        pages: 2 ** MMAP_RND_BITS,
      },
      brkStart: {
        offsets: layouts.map((l) => l.brkStart - IMAGE_END),
        pages: BRK_RND_RANGE / PAGE_SIZE,
      },
    };
    for (const [field, { offsets, pages }] of Object.entries(ranges)) {
      for (const offset of offsets) {
        expect(offset % PAGE_SIZE, field).toBe(0);
        expect(offset, field).toBeGreaterThanOrEqual(0);
        expect(offset, field).toBeLessThan(pages * PAGE_SIZE);
      }
      // Both halves of the range, and odd pages: the draw spans all its bits.
      expect(Math.max(...offsets), field).toBeGreaterThan((pages * PAGE_SIZE) / 2);
      expect(Math.min(...offsets), field).toBeLessThan((pages * PAGE_SIZE) / 2);
      expect(
        offsets.some((offset) => (offset / PAGE_SIZE) % 2 === 1),
        field,
      ).toBe(true);
    }
  });

  it('lays every program out anew, and a forked child keeps its parent layout', () => {
    const machine = Machine.boot({ memory: '16M', seed: 3 });
    const seen: ReturnType<typeof observe>[] = [];
    machine.spawn((ctx) => {
      seen.push(observe(ctx, machine));
      ctx.wait(ctx.fork((child) => void seen.push(observe(child, machine))));
    });
    machine.spawn((ctx) => void seen.push(observe(ctx, machine)));
    finish(machine);
    const [parent, second, child] = seen;
    const lines = (maps: string) => maps.trimEnd().split('\n');
    // The same areas, and the page the parent mapped before forking.
    expect(lines(child!.maps)).toEqual(expect.arrayContaining(lines(parent!.maps)));
    expect(lines(child!.maps)).toHaveLength(lines(parent!.maps).length + 1);
    expect([child!.stackTop, child!.brkStart]).toEqual([parent!.stackTop, parent!.brkStart]);
    expect(child!.mmapBase).toBe(parent!.mmapBase - PAGE_SIZE); // below the inherited page
    expect(second!.stackTop).not.toBe(parent!.stackTop);
  });

  it('honours an mmap hint anywhere in user space that is free, as Linux does, but not in the guard gap below the stack', () => {
    const machine = Machine.boot({ memory: '16M', seed: 21 });
    const placed: Record<string, [number, number]> = {};
    machine.spawn((ctx) => {
      const { stackTop, mmapBase } = observe(ctx, machine);
      const stackBottom = stackTop - 8 * PAGE_SIZE; // the initial 32 KiB stack
      const hints = {
        aboveMmapBase: mmapBase + 64 * PAGE_SIZE,
        aboveStack: stackTop + PAGE_SIZE,
        inStackGuardGap: stackBottom - STACK_GUARD_GAP / 2,
      };
      for (const [name, hint] of Object.entries(hints))
        placed[name] = [hint, ctx.mmap(hint, PAGE_SIZE, RW, ANON)];
    });
    finish(machine);
    expect(placed.aboveMmapBase![1]).toBe(placed.aboveMmapBase![0]);
    expect(placed.aboveStack![1]).toBe(placed.aboveStack![0]);
    expect(placed.inStackGuardGap![1]).not.toBe(placed.inStackGuardGap![0]);
  });

  it('runs programs as before: the stack grows, the heap and mappings work, all memory comes back', () => {
    const machine = Machine.boot({ memory: '32M', seed: 9 });
    const handle = machine.spawn((ctx) => {
      const { stackTop } = observe(ctx, machine);
      ctx.store32(stackTop - MiB, 7);
      const block = ctx.malloc(200_000);
      ctx.fill(block, 200_000, 1);
      ctx.sbrk(64 * PAGE_SIZE);
      return ctx.load32(stackTop - MiB) === 7 ? 0 : 1;
    });
    finish(machine);
    expect([handle.exitCode, handle.signal]).toEqual([0, null]);
  });
});

describe('ASLR levels', () => {
  it('0 gives the fixed layout for every seed', () => {
    for (const seed of [1, 2, 99]) {
      expect(layoutOf(seed, 0)).toMatchObject(FIXED_LAYOUT);
    }
    expect(layoutOf(1, 0).maps).toBe(layoutOf(2, 0).maps);
  });

  it('1 moves the stack and the mmap base but not the heap start', () => {
    const layouts = [1, 2, 3].map((seed) => layoutOf(seed, 1));
    expect(new Set(layouts.map((l) => l.stackTop)).size).toBe(3);
    expect(new Set(layouts.map((l) => l.mmapBase)).size).toBe(3);
    expect(layouts.map((l) => l.brkStart)).toEqual([IMAGE_END, IMAGE_END, IMAGE_END]);
  });

  it('reads in /proc/sys/kernel/randomize_va_space, and nothing else is a level', () => {
    expect(Machine.boot({ memory: '16M' }).procfs.read('/proc/sys/kernel/randomize_va_space')).toBe(
      '2\n',
    );
    for (const level of [0, 1, 2] as const) {
      const machine = Machine.boot({ memory: '16M', aslr: level });
      expect(machine.procfs.read('sys/kernel/randomize_va_space')).toBe(`${level}\n`);
    }
    for (const bad of [3, -1, 1.5, '2'])
      expect(() => Machine.boot({ memory: '16M', aslr: bad as RandomizeLevel })).toThrow(
        InvalidArgumentError,
      );
  });

  it("draws Linux's number of bits for each region, and reaches each range's ends", () => {
    const asked: number[] = [];
    const all = randomizeLayout(2, (bits) => {
      asked.push(bits);
      return 2 ** bits - 1;
    });
    expect(asked).toEqual([STACK_RND_BITS, MMAP_RND_BITS, 18]);
    expect(all).toEqual({
      imageBase: IMAGE_BASE,
      stackTop: STACK_TOP - (2 ** 22 - 1) * PAGE_SIZE,
      mmapBase: STACK_TOP - MMAP_GAP - (2 ** 28 - 1) * PAGE_SIZE,
      brkStart: IMAGE_END + BRK_RND_RANGE - PAGE_SIZE,
    });
    expect(randomizeLayout(2, () => 0)).toEqual({
      imageBase: IMAGE_BASE,
      stackTop: STACK_TOP,
      mmapBase: STACK_TOP - MMAP_GAP,
      brkStart: IMAGE_END,
    });
    // The lowest stack and its whole growth stay above the highest mmap base.
    expect(all.stackTop - STACK_LIMIT - STACK_GUARD_GAP).toBeGreaterThanOrEqual(
      STACK_TOP - MMAP_GAP,
    );
  });
});

describe('a position-independent program image (spawn with pie)', () => {
  const layouts = SEEDS.map((seed) => layoutOf(seed, 2, true));
  const RANGE = 2 ** MMAP_RND_BITS * PAGE_SIZE;

  it("loads at Linux's ELF_ET_DYN_BASE, 2/3 of the 47-bit space, when nothing is randomized", () => {
    expect(ELF_ET_DYN_BASE).toBe(0x555555554000);
    for (const seed of [1, 2]) {
      const layout = layoutOf(seed, 0, true);
      expect(layout.imageBase).toBe(ELF_ET_DYN_BASE);
      expect(layout.brkStart).toBe(ELF_ET_DYN_BASE + IMAGE_SIZE);
      expect(layout).toMatchObject({ stackTop: STACK_TOP, mmapBase: FIXED_LAYOUT.mmapBase });
    }
  });

  it('moves from seed to seed, by 28 random bits of pages (arch_mmap_rnd), the same for one seed', () => {
    const offsets = layouts.map((layout) => layout.imageBase - ELF_ET_DYN_BASE);
    expect(new Set(offsets).size).toBe(SEEDS.length);
    for (const offset of offsets) {
      expect(offset % PAGE_SIZE).toBe(0);
      expect(offset).toBeGreaterThanOrEqual(0);
      expect(offset).toBeLessThan(RANGE);
    }
    expect(Math.max(...offsets)).toBeGreaterThan(RANGE / 2);
    expect(Math.min(...offsets)).toBeLessThan(RANGE / 2);
    expect(offsets.some((offset) => (offset / PAGE_SIZE) % 2 === 1)).toBe(true);
    expect(layoutOf(SEEDS[7]!, 2, true)).toEqual(layouts[7]);
  });

  it('puts the heap above the moved image: randomized on top at level 2, right after it at 1', () => {
    for (const layout of layouts) {
      const above = layout.brkStart - (layout.imageBase + IMAGE_SIZE);
      expect(above % PAGE_SIZE).toBe(0);
      expect(above).toBeGreaterThanOrEqual(0);
      expect(above).toBeLessThan(BRK_RND_RANGE);
    }
    expect(new Set(layouts.map((l) => l.brkStart - l.imageBase)).size).toBeGreaterThan(1);
    for (const seed of [1, 2, 3]) {
      const layout = layoutOf(seed, 1, true);
      expect(layout.imageBase).not.toBe(ELF_ET_DYN_BASE);
      expect(layout.brkStart).toBe(layout.imageBase + IMAGE_SIZE);
    }
  });

  it('draws the image after the stack and the mmap base, so a non-PIE layout is unchanged', () => {
    const asked: number[] = [];
    const all = randomizeLayout(
      2,
      (bits) => {
        asked.push(bits);
        return 2 ** bits - 1;
      },
      true,
    );
    expect(asked).toEqual([STACK_RND_BITS, MMAP_RND_BITS, MMAP_RND_BITS, 18]);
    expect(all.imageBase).toBe(ELF_ET_DYN_BASE + RANGE - PAGE_SIZE);
    expect(all.brkStart).toBe(all.imageBase + IMAGE_SIZE + BRK_RND_RANGE - PAGE_SIZE);
    // The highest image and its whole heap range stay below the lowest mmap base.
    expect(all.brkStart).toBeLessThan(all.mmapBase);
  });

  it('shows in /proc/PID/maps and stat where it is; a PIE and a non-PIE program run side by side', () => {
    const machine = Machine.boot({ memory: '32M', seed: 5 });
    const seen: Record<string, { layout: ReturnType<typeof observe>; stat: string[] }> = {};
    const program = (name: string) => (ctx: UserContext) => {
      const layout = observe(ctx, machine);
      const stat = machine.procfs.read('/proc/self/stat');
      seen[name] = { layout, stat: stat.slice(stat.lastIndexOf(')') + 2).split(' ') };
    };
    machine.spawn(program('pie'), { pie: true, name: 'pie' });
    machine.spawn(program('fixed'), { name: 'fixed' });
    finish(machine);
    const { layout, stat } = seen.pie!;
    const text = layout.imageBase;
    expect(text).toBeGreaterThan(ELF_ET_DYN_BASE);
    const hex = (n: number) => n.toString(16).padStart(8, '0');
    const data = text + IMAGE_TEXT_SIZE;
    expect(layout.maps).toContain(`${hex(text)}-${hex(data)} r-xp 00000000 00:00 0`);
    expect(layout.maps).toMatch(
      new RegExp(`^${hex(data)}-${hex(text + IMAGE_SIZE)} rw-p .*/bin/pie$`, 'm'),
    );
    // Fields 26, 27 (startcode, endcode) and 45, 46 (start_data, end_data), counted from 1.
    const field = (n: number) => Number(stat[n - 3]);
    expect([field(26), field(27), field(45), field(46)]).toEqual([
      text,
      data,
      data,
      text + IMAGE_SIZE,
    ]);
    expect(field(47)).toBe(layout.brkStart);
    expect(seen.fixed!.layout.imageBase).toBe(IMAGE_BASE);
    expect(Number(seen.fixed!.stat[26 - 3])).toBe(IMAGE_BASE);
  });

  it('runs a program: malloc and brk grow the heap above the image, its text is read-only, a forked child keeps the layout', () => {
    const machine = Machine.boot({ memory: '32M', seed: 11 });
    const seen: ReturnType<typeof observe>[] = [];
    let heap: [number, number] = [0, 0];
    let block = 0;
    let brk = 0;
    const handle = machine.spawn(
      (ctx) => {
        const layout = observe(ctx, machine);
        seen.push(layout);
        block = ctx.malloc(100);
        ctx.fill(block, 100, 7);
        ctx.sbrk(16 * PAGE_SIZE);
        heap = area(machine.procfs.read('/proc/self/maps'), /\[heap\]$/);
        brk = ctx.brk(0);
        const child = ctx.wait(
          ctx.fork((c) => {
            seen.push(observe(c, machine));
            c.store32(layout.imageBase, 1); // text: SIGSEGV
          }),
        );
        return child.signal === 11 && ctx.load8(block + 99) === 7 ? 0 : 1;
      },
      { pie: true },
    );
    finish(machine);
    expect([handle.exitCode, handle.signal]).toEqual([0, null]);
    const [parent, child] = seen;
    expect(heap[0]).toBe(parent!.brkStart);
    expect(block).toBeGreaterThanOrEqual(heap[0]);
    expect(block).toBeLessThan(heap[1]);
    expect(child!.imageBase).toBe(parent!.imageBase);
    expect(child!.stackTop).toBe(parent!.stackTop);
    expect(heap[1]).toBe(pageUp(brk));
    expect(child!.brkStart).toBe(brk); // brk(0): where the parent left it
  });

  it('is a boolean', () => {
    const machine = Machine.boot({ memory: '16M' });
    expect(() => machine.spawn(() => 0, { pie: 1 as unknown as boolean })).toThrow(/EINVAL/);
    expect(machine.processList).toEqual([]);
  });
});
