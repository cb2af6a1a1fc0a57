import fc from 'fast-check';
import { describe, expect, it, vi } from 'vitest';
import { PAGE_SIZE } from '../../src/hw/constants.js';
import { FaultInjector } from '../../src/kernel/fault-injection.js';
import { Machine } from '../../src/kernel/machine.js';
import { OOM_SCORE_ADJ_MIN } from '../../src/kernel/oom-killer.js';
import {
  ERRNO,
  MAP_ANONYMOUS,
  MAP_FIXED,
  MAP_FIXED_NOREPLACE,
  MAP_POPULATE,
  MAP_PRIVATE,
  MAP_SHARED,
  PROT_EXEC,
  PROT_NONE,
  PROT_READ,
  PROT_WRITE,
} from '../../src/linux-abi.js';
import { FrameUse } from '../../src/physical/index.js';
import { STACK_LIMIT, STACK_TOP, USER_MIN } from '../../src/virtual/layout.js';
import { FaultResult } from '../../src/virtual/stats.js';
import { inProcess } from '../kernel/helpers.js';
import { makeVm, peek, poke, user } from './helpers.js';

const RW = PROT_READ | PROT_WRITE;
const ANON = MAP_PRIVATE | MAP_ANONYMOUS;

function setup(memory = '64M') {
  const env = makeVm(memory);
  const space = env.vm.createAddressSpace('test')!;
  return { ...env, space };
}

describe('demand-zero paging', () => {
  it('commits a frame only at first touch, and it reads zero', () => {
    const { vm, frames, space } = setup();
    const base = space.mmap(0, 16 * PAGE_SIZE, RW, ANON);
    expect(base).toBeGreaterThan(0);
    const free = frames.freeFrames;
    expect(space.rss).toBe(0);
    expect(peek(vm, space, base + 5 * PAGE_SIZE)).toBe(0);
    expect(space.rss).toBe(1);
    expect(frames.freeFrames).toBeLessThan(free);
    poke(vm, space, base + 5 * PAGE_SIZE + 8, 42);
    expect(peek(vm, space, base + 5 * PAGE_SIZE + 8)).toBe(42);
    expect(space.rss).toBe(1);
  });

  it('lazy sbrk of 1 GiB uses only the touched frames (xv6 lazy tests)', () => {
    const { vm, frames, space } = setup('64M');
    const start = space.brk;
    expect(space.setBrk(start + 2 ** 30)).toBe(start + 2 ** 30);
    const free = frames.freeFrames;
    for (let i = 0; i < 10; i++) poke(vm, space, start + i * 100 * PAGE_SIZE, i + 1);
    expect(space.rss).toBe(10);
    const tables = space.tables.tablePages;
    expect(free - frames.freeFrames).toBeLessThanOrEqual(10 + tables);
    for (let i = 0; i < 10; i++) expect(peek(vm, space, start + i * 100 * PAGE_SIZE)).toBe(i + 1);
  });

  it('shrinking brk frees pages; touching beyond the break faults; regrowing reads zeros', () => {
    const { vm, frames, space } = setup();
    const start = space.brk;
    space.setBrk(start + 8 * PAGE_SIZE);
    for (let i = 0; i < 8; i++) poke(vm, space, start + i * PAGE_SIZE, 0xabcd);
    const free = frames.freeFrames;
    expect(space.setBrk(start + 2 * PAGE_SIZE)).toBe(start + 2 * PAGE_SIZE);
    expect(frames.freeFrames - free).toBeGreaterThanOrEqual(6);
    expect(space.rss).toBe(2);
    const outcome = user(vm, space, () => vm.mmu.load32(start + 4 * PAGE_SIZE));
    expect(outcome).toEqual({ ok: false, result: FaultResult.SEGV_MAPERR });
    space.setBrk(start + 8 * PAGE_SIZE);
    expect(peek(vm, space, start + 4 * PAGE_SIZE)).toBe(0);
    expect(peek(vm, space, start + PAGE_SIZE)).toBe(0xabcd);
  });

  it('refuses to move brk below its start or into a mapping', () => {
    const { space } = setup();
    const start = space.brk;
    expect(space.setBrk(start - PAGE_SIZE)).toBe(start);
    const blocker = space.mmap(start + 4 * PAGE_SIZE, PAGE_SIZE, RW, ANON | MAP_FIXED);
    expect(blocker).toBe(start + 4 * PAGE_SIZE);
    expect(space.setBrk(start + 8 * PAGE_SIZE)).toBe(start);
    expect(space.setBrk(start + 3 * PAGE_SIZE)).toBe(start + 3 * PAGE_SIZE);
  });
});

describe('mmap, munmap, mprotect', () => {
  it('places mappings top-down, honours a free hint, and validates arguments', () => {
    const { space } = setup();
    const a = space.mmap(0, PAGE_SIZE, RW, ANON);
    const b = space.mmap(0, PAGE_SIZE, RW, ANON);
    expect(b).toBe(a - PAGE_SIZE);
    expect(space.mmap(0x2000_0000, PAGE_SIZE, RW, ANON)).toBe(0x2000_0000);
    expect(space.mmap(0, 0, RW, ANON)).toBe(-ERRNO.EINVAL);
    expect(space.mmap(0, PAGE_SIZE, RW, MAP_ANONYMOUS)).toBe(-ERRNO.EINVAL);
    expect(space.mmap(0, PAGE_SIZE, RW, MAP_PRIVATE)).toBe(-ERRNO.EBADF);
    expect(space.mmap(0, PAGE_SIZE, 0x80, ANON)).toBe(-ERRNO.EINVAL);
    expect(space.mmap(0x1001, PAGE_SIZE, RW, ANON | MAP_FIXED)).toBe(-ERRNO.EINVAL);
    expect(space.mmap(0x1000, PAGE_SIZE, RW, ANON | MAP_FIXED)).toBe(-ERRNO.EPERM);
    expect(space.mmap(0, 2 ** 48, RW, ANON)).toBe(-ERRNO.ENOMEM);
  });

  it('an area alike its neighbours grows them in place: no VMA record, so no failure for one', () => {
    // Linux's mmap_region merges before it allocates a vm_area_struct.
    const machine = Machine.boot({ memory: '16M' });
    const injector = FaultInjector.install(machine);
    const p = machine.spawn((ctx) => {
      const space = machine.process(ctx.pid)!.space;
      const areas = () => space.vmas.items.map((v) => [v.start, v.end, v.prot]);
      const high = ctx.mmap(0, 4 * PAGE_SIZE, RW, ANON);
      const low = ctx.mmap(high - 8 * PAGE_SIZE, 4 * PAGE_SIZE, RW, ANON);
      expect(low).toBe(high - 8 * PAGE_SIZE);
      const before = areas().length;
      injector.arm('slab', 1);
      // Between the two, alike both: one area from low to high's end, one record fewer.
      expect(ctx.mmap(high - 4 * PAGE_SIZE, 4 * PAGE_SIZE, RW, ANON)).toBe(high - 4 * PAGE_SIZE);
      expect(injector.injected).toBe(0);
      expect(areas().length).toBe(before - 1);
      expect(space.vmas.find(low)).toMatchObject({ start: low, end: high + 4 * PAGE_SIZE });
      // Below low, alike: low's area grows down.
      expect(ctx.mmap(0, PAGE_SIZE, RW, ANON)).toBe(low - PAGE_SIZE);
      expect(injector.injected).toBe(0);
      expect(space.vmas.find(low - PAGE_SIZE)?.end).toBe(high + 4 * PAGE_SIZE);
      // Read-only is not alike: it needs a record, and without one nothing changes.
      const layout = areas();
      expect(ctx.syscall('mmap', 0, PAGE_SIZE, PROT_READ, ANON, -1, 0)).toBe(-ERRNO.ENOMEM);
      expect(injector.injected).toBe(1);
      expect(areas()).toEqual(layout);
      ctx.store32(low - PAGE_SIZE, 1);
      ctx.store32(high + 3 * PAGE_SIZE, 2);
      machine.check(); // the grown areas' records included
      return 0;
    });
    machine.run();
    injector.uninstall();
    expect(p.exitCode).toBe(0);
    machine.check();
  });

  it('a hole in the middle of one area takes one VMA record: the area and a new one above', () => {
    const machine = Machine.boot({ memory: '16M' });
    const injector = FaultInjector.install(machine);
    const p = machine.spawn((ctx) => {
      const space = machine.process(ctx.pid)!.space;
      const areas = () => space.vmas.items.map((v) => [v.start, v.end]);
      const base = ctx.mmap(0, 8 * PAGE_SIZE, RW, ANON);
      for (let i = 0; i < 8; i++) ctx.store32(base + i * PAGE_SIZE, i + 1);
      const before = areas();
      injector.arm('slab', 1);
      expect(ctx.syscall('munmap', base + 2 * PAGE_SIZE, 3 * PAGE_SIZE)).toBe(-ERRNO.ENOMEM);
      expect(areas()).toEqual(before);
      injector.arm('slab', 2);
      expect(ctx.syscall('munmap', base + 2 * PAGE_SIZE, 3 * PAGE_SIZE)).toBe(0);
      expect(injector.injected).toBe(1); // armed, never reached: the first record sufficed
      expect(space.vmas.find(base)).toMatchObject({ start: base, end: base + 2 * PAGE_SIZE });
      expect(space.vmas.find(base + 5 * PAGE_SIZE)).toMatchObject({
        start: base + 5 * PAGE_SIZE,
        end: base + 8 * PAGE_SIZE,
      });
      expect(space.vmas.find(base + 2 * PAGE_SIZE)).toBeUndefined();
      expect([0, 1, 5, 6, 7].map((i) => ctx.load32(base + i * PAGE_SIZE))).toEqual([1, 2, 6, 7, 8]);
      machine.check(); // both pieces' records included
      return 0;
    });
    machine.run();
    injector.uninstall();
    expect(p.exitCode).toBe(0);
    machine.check();
  });

  it('munmap trims an area it covers at one end in place: it keeps its record, only its bounds are written, no split', () => {
    const machine = Machine.boot({ memory: '16M' });
    const injector = FaultInjector.install(machine);
    const p = machine.spawn((ctx) => {
      const space = machine.process(ctx.pid)!.space;
      const splits = vi.spyOn(space.vmas, 'splitAt');
      const page = (i: number) => base + i * PAGE_SIZE;
      const base = ctx.mmap(0, 16 * PAGE_SIZE, RW, ANON);
      for (let i = 0; i < 16; i++) ctx.store32(page(i), i + 1);
      const record = space.vmas.find(base)!.record;
      const writes = vi.spyOn(machine.objects, 'write');
      const boundWrites = vi.spyOn(machine.objects, 'writeBounds');
      expect(ctx.syscall('munmap', page(14), 2 * PAGE_SIZE)).toBe(0); // the top
      expect(ctx.syscall('munmap', page(0), 2 * PAGE_SIZE)).toBe(0); // the bottom
      expect(space.vmas.find(page(2))).toMatchObject({ start: page(2), end: page(14), record });
      // Each trim rewrote the area's bounds in its record, and nothing else.
      expect([writes.mock.calls.length, boundWrites.mock.calls.length]).toEqual([0, 2]);
      // Linux's munmap splits at such an edge (__split_vma), which needs a record: without
      // one, the trim fails as it would, and nothing changes.
      injector.arm('slab', 1);
      expect(ctx.syscall('munmap', page(12), 2 * PAGE_SIZE)).toBe(-ERRNO.ENOMEM);
      expect(space.vmas.find(page(2))).toMatchObject({ start: page(2), end: page(14), record });
      // Over three areas: the lowest keeps its bottom, the middle one goes, the highest its top.
      ctx.mprotect(page(6), 4 * PAGE_SIZE, PROT_READ);
      const top = space.vmas.find(page(10))!.record;
      expect(ctx.syscall('munmap', page(4), 8 * PAGE_SIZE)).toBe(0);
      expect(space.vmas.overlapping(base, page(16)).map((v) => [v.start, v.end, v.record])).toEqual(
        [
          [page(2), page(4), record],
          [page(12), page(14), top],
        ],
      );
      expect(splits).toHaveBeenCalledTimes(2); // mprotect's two; none by munmap
      expect([2, 3, 12, 13].map((i) => ctx.load32(page(i)))).toEqual([3, 4, 13, 14]);
      // Each munmap searches the list twice: for the records to reserve, then to remove.
      const searches = vi.spyOn(space.vmas, 'indexAfter');
      expect(ctx.syscall('munmap', page(13), PAGE_SIZE)).toBe(0);
      expect(ctx.syscall('munmap', page(0), 4 * PAGE_SIZE)).toBe(0);
      expect(searches).toHaveBeenCalledTimes(2 * 2);
      machine.check(); // the trimmed areas' records and VmSize included
      return 0;
    });
    machine.run();
    injector.uninstall();
    expect(p.exitCode).toBe(0);
    machine.check();
  });

  it('MAP_FIXED that runs out of VMA records at any allocation: ENOMEM with the old areas and contents as they were', () => {
    const WINDOW = 0x4000_0000;
    const PAGES = 8;
    const page = fc.nat(PAGES - 1);
    const protArb = fc.constantFrom(PROT_NONE, PROT_READ, RW);
    const scenario = fc.record({
      // What each window page is before: unmapped (-1) or mapped with these rights.
      layout: fc.array(fc.oneof(fc.constant(-1), protArb), { minLength: PAGES, maxLength: PAGES }),
      first: page,
      count: fc.integer({ min: 1, max: PAGES }),
      prot: protArb,
      failAt: fc.integer({ min: 1, max: 4 }),
    });
    fc.assert(
      fc.property(scenario, ({ layout, first, count, prot, failAt }) => {
        inProcess((ctx, machine) => {
          const injector = FaultInjector.install(machine);
          const space = machine.process(ctx.pid)!.space;
          const at = (i: number) => WINDOW + i * PAGE_SIZE;
          const flags = ANON | MAP_FIXED;
          layout.forEach((rights, i) => {
            if (rights >= 0)
              expect(ctx.syscall('mmap', at(i), PAGE_SIZE, rights, flags)).toBe(at(i));
            if (rights === RW) ctx.store32(at(i), i + 1);
          });
          const areas = () => space.vmas.items.map((v) => [v.start, v.end, v.prot]);
          const before = areas();
          const length = Math.min(count, PAGES - first) * PAGE_SIZE;
          injector.arm('slab', failAt);
          const result = ctx.syscall('mmap', at(first), length, prot, flags);
          injector.reset();
          const replaced = (i: number) => i >= first && at(i) < at(first) + length;
          if (result === -ERRNO.ENOMEM) expect(areas()).toEqual(before);
          else expect(result).toBe(at(first));
          layout.forEach((rights, i) => {
            const rightsNow = result < 0 || !replaced(i) ? rights : prot;
            if (rightsNow < 0 || !(rightsNow & PROT_READ)) return;
            const value = rights === RW && (result < 0 || !replaced(i)) ? i + 1 : 0;
            expect(ctx.load32(at(i)), `page ${i}`).toBe(value);
          });
          injector.uninstall();
          machine.check();
        });
      }),
      { numRuns: 200 },
    );
  });

  it('MAP_FIXED with kernel memory exhausted but for one VMA record: ENOMEM, the old area whole', () => {
    inProcess(
      (ctx, machine) => {
        const space = machine.process(ctx.pid)!.space;
        const base = ctx.mmap(0, 3 * PAGE_SIZE, RW, ANON);
        // The middle page untouched: unmapping it frees no frame a new record could take.
        ctx.store32(base, 1);
        ctx.store32(base + 2 * PAGE_SIZE, 3);
        const vmaCache = machine.slab.caches().find((cache) => cache.name === 'vm_area_struct')!;
        const { records, frames } = machine.atCpl0(() => {
          machine.dropCaches();
          const frames: number[] = [];
          for (let pa = 0; pa >= 0; ) {
            pa = machine.frames.tryAllocPages(0, FrameUse.KERNEL);
            if (pa >= 0) frames.push(pa);
          }
          const records: number[] = [];
          for (let r = vmaCache.alloc(); r !== 0; r = vmaCache.alloc()) records.push(r);
          vmaCache.free(records.pop()!); // one record left: the split's, not the new area's
          return { records, frames };
        });
        // A read-only page in the middle: a split of the area, and a new area with its record.
        const result = ctx.syscall(
          'mmap',
          base + PAGE_SIZE,
          PAGE_SIZE,
          PROT_READ,
          ANON | MAP_FIXED,
        );
        machine.atCpl0(() => {
          for (const record of records) vmaCache.free(record);
          for (const pa of frames) machine.frames.freePages(pa, 0);
        });
        expect(result).toBe(-ERRNO.ENOMEM);
        expect(space.vmas.find(base)).toMatchObject({ start: base, end: base + 3 * PAGE_SIZE });
        expect([0, 1, 2].map((i) => ctx.load32(base + i * PAGE_SIZE))).toEqual([1, 0, 3]);
        machine.check();
      },
      undefined,
      { oomScoreAdj: OOM_SCORE_ADJ_MIN },
    ); // the OOM killer may not take it: ENOMEM
  });

  it('MAP_FIXED | MAP_POPULATE that runs out of memory half-way still maps (mm_populate ignores the failure): no hole', () => {
    inProcess((ctx, machine) => {
      const space = machine.process(ctx.pid)!.space;
      // A fifth page beyond the range keeps the page table: populate allocates frames only.
      const base = ctx.mmap(0, 5 * PAGE_SIZE, RW, ANON);
      for (let i = 0; i < 5; i++) ctx.store32(base + i * PAGE_SIZE, i + 1);
      const injector = FaultInjector.install(machine);
      injector.arm('page', 3); // the third page populate faults in
      const flags = ANON | MAP_FIXED | MAP_POPULATE;
      const result = ctx.syscall('mmap', base, 4 * PAGE_SIZE, RW, flags);
      injector.uninstall();
      expect(injector.injected).toBe(1);
      expect(result).toBe(base);
      expect(space.vmas.find(base)).toMatchObject({ start: base, end: base + 5 * PAGE_SIZE });
      expect([...ctx.mincore(base, 5 * PAGE_SIZE)]).toEqual([1, 1, 0, 0, 1]);
      const values = [0, 1, 2, 3, 4].map((i) => ctx.load32(base + i * PAGE_SIZE));
      expect(values).toEqual([0, 0, 0, 0, 5]);
      machine.check();
    });
  });

  it('MAP_FIXED replaces, MAP_FIXED_NOREPLACE refuses with EEXIST (Linux selftest)', () => {
    const { vm, space } = setup();
    const base = 0x3000_0000;
    expect(space.mmap(base, 3 * PAGE_SIZE, RW, ANON | MAP_FIXED)).toBe(base);
    poke(vm, space, base + PAGE_SIZE, 7);
    expect(space.mmap(base + PAGE_SIZE, PAGE_SIZE, RW, ANON | MAP_FIXED_NOREPLACE)).toBe(
      -ERRNO.EEXIST,
    );
    expect(space.mmap(base + 3 * PAGE_SIZE, PAGE_SIZE, RW, ANON | MAP_FIXED_NOREPLACE)).toBe(
      base + 3 * PAGE_SIZE,
    );
    expect(peek(vm, space, base + PAGE_SIZE)).toBe(7);
    expect(space.mmap(base + PAGE_SIZE, PAGE_SIZE, RW, ANON | MAP_FIXED)).toBe(base + PAGE_SIZE);
    expect(peek(vm, space, base + PAGE_SIZE)).toBe(0);
  });

  it('munmap punches holes, splitting the area; unaligned is EINVAL; nothing mapped is fine', () => {
    const { vm, space, frames } = setup();
    const base = space.mmap(0x4000_0000, 4 * PAGE_SIZE, RW, ANON | MAP_FIXED);
    for (let i = 0; i < 4; i++) poke(vm, space, base + i * PAGE_SIZE, i + 1);
    const free = frames.freeFrames;
    expect(space.munmap(base + PAGE_SIZE, PAGE_SIZE)).toBe(0);
    expect(frames.freeFrames).toBe(free + 1);
    expect(space.vmas.overlapping(base, base + 4 * PAGE_SIZE).map((v) => [v.start, v.end])).toEqual(
      [
        [base, base + PAGE_SIZE],
        [base + 2 * PAGE_SIZE, base + 4 * PAGE_SIZE],
      ],
    );
    expect(user(vm, space, () => vm.mmu.load32(base + PAGE_SIZE))).toEqual({
      ok: false,
      result: FaultResult.SEGV_MAPERR,
    });
    expect(peek(vm, space, base + 3 * PAGE_SIZE)).toBe(4);
    expect(space.munmap(base + 1, PAGE_SIZE)).toBe(-ERRNO.EINVAL);
    expect(space.munmap(base, 0)).toBe(-ERRNO.EINVAL);
    expect(space.munmap(0x5000_0000, PAGE_SIZE)).toBe(0);
  });

  it('mprotect splits and merges areas (Linux selftest) and enforces the new rights', () => {
    const { vm, space } = setup();
    const base = space.mmap(0x4000_0000, 3 * PAGE_SIZE, RW, ANON | MAP_FIXED);
    poke(vm, space, base + PAGE_SIZE, 9);
    expect(space.mprotect(base + PAGE_SIZE, PAGE_SIZE, PROT_READ)).toBe(0);
    expect(space.vmas.overlapping(base, base + 3 * PAGE_SIZE).length).toBe(3);
    expect(user(vm, space, () => vm.mmu.store32(base + PAGE_SIZE, 1))).toEqual({
      ok: false,
      result: FaultResult.SEGV_ACCERR,
    });
    expect(peek(vm, space, base + PAGE_SIZE)).toBe(9);
    poke(vm, space, base, 1);
    expect(space.mprotect(base + PAGE_SIZE, PAGE_SIZE, RW)).toBe(0);
    expect(space.vmas.overlapping(base, base + 3 * PAGE_SIZE).length).toBe(1);
    poke(vm, space, base + PAGE_SIZE, 10);
    expect(peek(vm, space, base + PAGE_SIZE)).toBe(10);
    expect(space.mprotect(base + 1, PAGE_SIZE, PROT_READ)).toBe(-ERRNO.EINVAL);
    expect(space.mprotect(base, 4 * PAGE_SIZE, PROT_READ)).toBe(-ERRNO.ENOMEM);
  });

  it('PROT_NONE keeps the contents but forbids every access; PROT_EXEC is needed to run', () => {
    const { vm, space } = setup();
    const base = space.mmap(0x4000_0000, PAGE_SIZE, RW, ANON | MAP_FIXED);
    poke(vm, space, base, 77);
    expect(space.mprotect(base, PAGE_SIZE, PROT_NONE)).toBe(0);
    expect(user(vm, space, () => vm.mmu.load32(base))).toEqual({
      ok: false,
      result: FaultResult.SEGV_ACCERR,
    });
    expect(user(vm, space, () => vm.mmu.fetch(base))).toEqual({
      ok: false,
      result: FaultResult.SEGV_ACCERR,
    });
    expect(space.mprotect(base, PAGE_SIZE, PROT_READ | PROT_EXEC)).toBe(0);
    expect(peek(vm, space, base)).toBe(77);
    expect(user(vm, space, () => vm.mmu.fetch(base)).ok).toBe(true);
  });

  it('MAP_POPULATE commits every page at once', () => {
    const { space } = setup();
    expect(space.mmap(0, 5 * PAGE_SIZE, RW, ANON | MAP_POPULATE)).toBeGreaterThan(0);
    expect(space.rss).toBe(5);
  });

  it('formats /proc/PID/maps lines like Linux', () => {
    const { space } = setup();
    space.setBrk(space.brk + PAGE_SIZE);
    const lines = space.vmas.items.map((v) => v.mapsLine());
    expect(lines[0]).toBe(`00400000-00404000 r-xp 00000000 00:00 0${' '.repeat(34)}/bin/test`);
    expect(lines).toContain(`00406000-00407000 rw-p 00000000 00:00 0${' '.repeat(34)}[heap]`);
    expect(lines.at(-1)).toMatch(/^7fffffff7000-7ffffffff000 rw-p 00000000 00:00 0 +\[stack\]$/);
  });
});

describe('the stack', () => {
  it('grows down on faults up to 8 MiB, and no further', () => {
    const { vm, space } = setup();
    poke(vm, space, STACK_TOP - 1024 * 1024, 1);
    expect(space.stack!.start).toBe(STACK_TOP - 1024 * 1024);
    poke(vm, space, STACK_TOP - STACK_LIMIT, 2);
    expect(user(vm, space, () => vm.mmu.store32(STACK_TOP - STACK_LIMIT - PAGE_SIZE, 3))).toEqual({
      ok: false,
      result: FaultResult.SEGV_MAPERR,
    });
  });

  it('keeps a guard gap: it does not grow into a mapping just below', () => {
    const { vm, space } = setup();
    const below = STACK_TOP - 2 * 1024 * 1024;
    expect(space.mmap(below, PAGE_SIZE, RW, ANON | MAP_FIXED)).toBe(below);
    expect(user(vm, space, () => vm.mmu.store32(below + PAGE_SIZE + 16, 1))).toEqual({
      ok: false,
      result: FaultResult.SEGV_MAPERR,
    });
  });

  it('never maps anything below 64 KiB', () => {
    const { vm, space } = setup();
    expect(user(vm, space, () => vm.mmu.load32(0))).toEqual({
      ok: false,
      result: FaultResult.SEGV_MAPERR,
    });
    expect(space.mmap(USER_MIN - PAGE_SIZE, PAGE_SIZE, RW, ANON | MAP_FIXED)).toBe(-ERRNO.EPERM);
    const hinted = space.mmap(PAGE_SIZE, PAGE_SIZE, RW, ANON);
    expect(hinted).toBeGreaterThanOrEqual(USER_MIN);
  });
});

describe('copy-on-write fork', () => {
  it('parent and child see their own writes only, both directions (cowtest)', () => {
    const { vm, space: parent } = setup();
    const base = parent.mmap(0, 4 * PAGE_SIZE, RW, ANON);
    for (let i = 0; i < 4; i++) poke(vm, parent, base + i * PAGE_SIZE, 100 + i);
    const child = parent.fork()!;
    expect(child.rss).toBe(parent.rss);
    poke(vm, parent, base, 1);
    poke(vm, child, base + PAGE_SIZE, 2);
    expect(peek(vm, parent, base)).toBe(1);
    expect(peek(vm, child, base)).toBe(100);
    expect(peek(vm, child, base + PAGE_SIZE)).toBe(2);
    expect(peek(vm, parent, base + PAGE_SIZE)).toBe(101);
    expect(peek(vm, child, base + 2 * PAGE_SIZE)).toBe(102);
  });

  it('shares frames with refcounts and reuses in place when the last sharer writes', () => {
    const { vm, frames, space: parent } = setup();
    const base = parent.mmap(0, PAGE_SIZE, RW, ANON);
    poke(vm, parent, base, 5);
    const child = parent.fork()!;
    const used = frames.framesByUse(FrameUse.USER);
    poke(vm, child, base, 6);
    expect(frames.framesByUse(FrameUse.USER)).toBe(used + 1);
    const events = vm.events.cowReuses;
    poke(vm, parent, base, 7);
    expect(vm.events.cowReuses).toBe(events + 1);
    expect(frames.framesByUse(FrameUse.USER)).toBe(used + 1);
  });

  it('three generations stay isolated, and everything is freed when all exit', () => {
    const { vm, frames, space: a } = setup();
    const baseline = frames.freeFrames;
    const base = a.mmap(0, 2 * PAGE_SIZE, RW, ANON);
    poke(vm, a, base, 1);
    const b = a.fork()!;
    const c = b.fork()!;
    poke(vm, b, base, 2);
    poke(vm, c, base, 3);
    expect([peek(vm, a, base), peek(vm, b, base), peek(vm, c, base)]).toEqual([1, 2, 3]);
    for (const s of [c, b]) {
      vm.switchTo(null);
      s.destroy();
    }
    expect(peek(vm, a, base)).toBe(1);
    vm.switchTo(null);
    a.destroy();
    expect(frames.freeFrames).toBeGreaterThan(baseline);
    frames.check();
    expect(frames.framesByUse(FrameUse.USER)).toBe(0);
  });

  it('a MAP_SHARED area stays shared across fork', () => {
    const { vm, space: parent } = setup();
    const base = parent.mmap(0, PAGE_SIZE, RW, MAP_SHARED | MAP_ANONYMOUS);
    const child = parent.fork()!;
    poke(vm, child, base, 55);
    expect(peek(vm, parent, base)).toBe(55);
  });

  it('after mprotect RO→RW in the child the parent still keeps its copy', () => {
    const { vm, space: parent } = setup();
    const base = parent.mmap(0, PAGE_SIZE, PROT_READ | PROT_WRITE, ANON);
    poke(vm, parent, base, 8);
    parent.mprotect(base, PAGE_SIZE, PROT_READ);
    const child = parent.fork()!;
    expect(child.mprotect(base, PAGE_SIZE, RW)).toBe(0);
    poke(vm, child, base, 9);
    expect(peek(vm, parent, base)).toBe(8);
    expect(peek(vm, child, base)).toBe(9);
  });
});

describe('user copies', () => {
  it('copy megabytes exactly, and stop at the first unmapped page of a long range', () => {
    const { vm, space } = setup();
    vm.switchTo(space);
    const length = 3 * 1024 * 1024 + 123; // past the copy buffer's first size, unaligned
    const base = space.mmap(0, length + PAGE_SIZE, RW, ANON);
    const bytes = Uint8Array.from({ length }, (_, i) => (i * 7 + (i >> 12)) & 0xff);
    expect(vm.copyToUser(space, base + 5, bytes)).toBe(0);
    expect(vm.copyFromUser(space, base + 5, length)).toEqual(bytes);
    space.munmap(base + 2 * PAGE_SIZE, PAGE_SIZE);
    expect(vm.copyFromUser(space, base, length)).toBe(-ERRNO.EFAULT);
  });

  it('fault pages in, break COW, and give EFAULT for bad pointers', () => {
    const { vm, space } = setup();
    vm.switchTo(space);
    const base = space.mmap(0, 2 * PAGE_SIZE, RW, ANON);
    expect(vm.copyToUser(space, base + PAGE_SIZE - 2, new Uint8Array([1, 2, 3, 4]))).toBe(0);
    expect(Array.from(vm.copyFromUser(space, base + PAGE_SIZE - 2, 4) as Uint8Array)).toEqual([
      1, 2, 3, 4,
    ]);
    expect(vm.copyFromUser(space, 0, 4)).toBe(-ERRNO.EFAULT);
    expect(vm.copyFromUser(space, -0x80000000, 4)).toBe(-ERRNO.EFAULT);
    expect(vm.copyFromUser(space, 2 ** 47 - 2, 4)).toBe(-ERRNO.EFAULT);
    expect(vm.copyFromUser(space, base + PAGE_SIZE, 2 * PAGE_SIZE)).toBe(-ERRNO.EFAULT);
    space.mprotect(base, PAGE_SIZE, PROT_READ);
    expect(vm.copyToUser(space, base, new Uint8Array([9]))).toBe(-ERRNO.EFAULT);
    const child = space.fork()!;
    vm.switchTo(child);
    expect(vm.copyToUser(child, base + PAGE_SIZE, new Uint8Array([7]))).toBe(0);
    vm.switchTo(space);
    expect((vm.copyFromUser(space, base + PAGE_SIZE, 1) as Uint8Array)[0]).toBe(3);
  });
});

describe('kernel half and isolation', () => {
  it('maps all RAM in the direct map with large pages, unreachable from user mode', () => {
    const { vm, space, mmu } = setup('64M');
    expect(vm.directMap.large).toBeGreaterThan(0);
    vm.switchTo(space);
    const kernelVa = -0x778000000000 + 0x500000;
    vm.cpu.cpl = 0;
    mmu.store32(kernelVa, 0x1234);
    expect(user(vm, space, () => mmu.load32(kernelVa))).toEqual({
      ok: false,
      result: FaultResult.SEGV_MAPERR,
    });
    vm.cpu.cpl = 0;
    expect(mmu.load32(kernelVa)).toBe(0x1234);
  });

  it('vmalloc gives contiguous virtual memory and vfree unmaps it (global TLB entries flushed)', () => {
    const { vm, mmu, frames } = setup();
    const free = frames.freeFrames;
    const va = vm.vmalloc(3 * PAGE_SIZE);
    expect(va).toBeLessThan(0);
    mmu.store32(va + 2 * PAGE_SIZE, 99);
    expect(mmu.load32(va + 2 * PAGE_SIZE)).toBe(99);
    vm.vfree(va);
    expect(() => mmu.load32(va + 2 * PAGE_SIZE)).toThrow(/page fault/);
    expect(frames.freeFrames).toBe(free);
  });

  it('a stale TLB entry would let a write through: the flush in mprotect is what stops it', () => {
    const run = (skipFlush: boolean) => {
      const { vm, mmu, space } = setup();
      const base = space.mmap(0, PAGE_SIZE, RW, ANON);
      poke(vm, space, base, 1);
      const invlpg = mmu.invlpg.bind(mmu);
      if (skipFlush) mmu.invlpg = () => {};
      space.mprotect(base, PAGE_SIZE, PROT_READ);
      mmu.invlpg = invlpg;
      return user(vm, space, () => mmu.store32(base, 2)).ok;
    };
    expect(run(false)).toBe(false);
    expect(run(true)).toBe(true);
  });
});

describe('kernel mappings', () => {
  it('the direct map is writable data, never executable, even for the kernel', () => {
    const { mmu } = setup();
    const va = -0x778000000000 + 0x500000;
    expect(() => mmu.fetch(va)).toThrow(/page fault/);
    expect(() => mmu.fetch(-0x80000000 + 0x100000)).not.toThrow();
  });
});
