import { describe, expect, it } from 'vitest';
import { PAGE_SIZE } from '../../src/hw/constants.js';
import { Machine } from '../../src/kernel/machine.js';
import type { UserContext } from '../../src/kernel/user-context.js';
import {
  MAP_ANONYMOUS,
  MAP_LOCKED,
  MAP_POPULATE,
  MAP_PRIVATE,
  MAP_SHARED,
  MCL_CURRENT,
  MCL_FUTURE,
  PROT_READ,
  PROT_WRITE,
} from '../../src/linux-abi.js';
import type { Reclaim } from '../../src/virtual/reclaim/reclaim.js';
import { Watermarks } from '../../src/virtual/reclaim/watermarks.js';
import { finish } from '../kernel/helpers.js';
import { kbField } from '../procfs/fields.js';

const RW = PROT_READ | PROT_WRITE;
const ANON = MAP_PRIVATE | MAP_ANONYMOUS;

/** A page of bytes that only page `index` of generation `generation` has. */
function pattern(index: number, generation = 0): Uint8Array {
  const page = new Uint8Array(PAGE_SIZE);
  let x = (index * 2654435761 + generation * 40503 + 1) >>> 0;
  for (let i = 0; i < PAGE_SIZE; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    page[i] = x >>> 24;
  }
  return page;
}

function samePage(ctx: UserContext, va: number, expected: Uint8Array): boolean {
  const got = ctx.readBytes(va, PAGE_SIZE);
  return got.every((byte, i) => byte === expected[i]);
}

function small(): { machine: Machine; reclaim: Reclaim } {
  const machine = Machine.boot({ memory: '16M', swap: '32M' });
  return { machine, reclaim: machine.vm.reclaim! };
}

/** Pages out the page at `va` of the running process (what MADV_PAGEOUT asks reclaim for). */
function pageOut(machine: Machine, va: number): boolean {
  return machine.vm.reclaim!.pageOut(machine.current!.space, va);
}

function meminfoKb(machine: Machine, name: string): number {
  return kbField(machine.procfs.read('/proc/meminfo'), name);
}

describe('swap', () => {
  it('runs a working set of 1.5x RAM with every page intact, and gives everything back', () => {
    const { machine, reclaim } = small();
    const pages = Math.floor(machine.frames.managedFrames * 1.5);
    let majorFaults = 0;
    const handle = machine.spawn((ctx) => {
      const base = ctx.mmap(0, pages * PAGE_SIZE, RW, ANON);
      for (let i = 0; i < pages; i++) ctx.writeBytes(base + i * PAGE_SIZE, pattern(i));
      machine.check();
      for (let i = 0; i < pages; i++)
        if (!samePage(ctx, base + i * PAGE_SIZE, pattern(i))) return 1;
      majorFaults = machine.current!.space.majorFaults;
      expect(meminfoKb(machine, 'SwapFree')).toBeLessThan(meminfoKb(machine, 'SwapTotal'));
      return 0;
    });
    finish(machine);
    expect(handle.exitCode).toBe(0);
    expect(majorFaults).toBeGreaterThan(0);
    expect(machine.vm.events.pgmajfault).toBeGreaterThanOrEqual(majorFaults);
    expect(reclaim.device.pswpout).toBeGreaterThan(pages - machine.frames.managedFrames);
    expect(reclaim.device.usedSlots).toBe(0);
    expect(reclaim.cache.size).toBe(0);
    expect(meminfoKb(machine, 'SwapFree')).toBe(meminfoKb(machine, 'SwapTotal'));
    // One process with no scheduling point: all of it was direct reclaim.
    const vmstat = machine.procfs.read('/proc/vmstat');
    expect(reclaim.events.allocStalls).toBeGreaterThan(0);
    expect(vmstat).toMatch(new RegExp(`^allocstall_normal ${reclaim.events.allocStalls}$`, 'm'));
    expect(vmstat).toMatch(/^pgscan_kswapd 0$/m);
    expect(machine.procfs.read('/proc/swaps')).toMatch(
      /^Filename\t+Type\t+Size\t+Used\t+Priority\n\/dev\/vdb +partition\t32764\t\t0\t\t-2\n$/,
    );
  });

  it('a COW-shared page swapped out stays shared; a write breaks it (cow selftest)', () => {
    const { machine, reclaim } = small();
    const before = pattern(7, 0);
    const after = pattern(7, 1);
    const handle = machine.spawn((ctx) => {
      const va = ctx.mmap(0, PAGE_SIZE, RW, ANON);
      ctx.writeBytes(va, before);
      const child = ctx.fork((c) => {
        // Both entries now hold one swap slot with count 2 (plus nothing cached).
        expect(pageOut(machine, va)).toBe(true);
        const slotUsers = [...Array(reclaim.device.slots).keys()].filter(
          (s) => s > 0 && reclaim.device.count(s) > 0,
        );
        expect(slotUsers.map((s) => reclaim.device.count(s))).toEqual([2]);
        machine.check();
        c.writeBytes(va, after);
        return samePage(c, va, after) ? 0 : 1;
      });
      const status = ctx.wait(child);
      if (status.exitCode !== 0) return 2;
      return samePage(ctx, va, before) ? 0 : 3;
    });
    finish(machine);
    expect(handle.exitCode).toBe(0);
  });

  it('a MAP_SHARED page stays shared through swap: a write after swap-in is seen by all', () => {
    const { machine } = small();
    const handle = machine.spawn(function* (ctx) {
      const va = ctx.mmap(0, PAGE_SIZE, RW, MAP_SHARED | MAP_ANONYMOUS);
      ctx.store32(va, 1);
      const child = ctx.fork(function* (c) {
        expect(pageOut(machine, va)).toBe(true); // both mappings now hold its swap entry
        c.store32(va, 2); // read back, written: the parent must see 2, not its slot's 1
        yield;
        expect(pageOut(machine, va)).toBe(true); // dirty: written to the slot again
        yield;
        return c.load32(va) === 3 ? 0 : 1;
      });
      yield;
      if (ctx.load32(va) !== 2) return 1;
      yield;
      ctx.store32(va, 3);
      machine.check();
      return ctx.wait(child).exitCode === 0 ? 0 : 2;
    });
    finish(machine);
    expect(handle.error).toBe(null);
    expect(handle.exitCode).toBe(0);
  });

  it('reads a page shared by two processes from swap once (the swap cache)', () => {
    const { machine, reclaim } = small();
    const page = pattern(3);
    let childRead = false;
    const handle = machine.spawn(function* (ctx) {
      const va = ctx.mmap(0, PAGE_SIZE, RW, ANON);
      ctx.writeBytes(va, page);
      const child = ctx.fork(function* (c) {
        expect(pageOut(machine, va)).toBe(true);
        const reads = reclaim.device.pswpin;
        childRead = samePage(c, va, page);
        expect(reclaim.device.pswpin).toBe(reads + 1);
        expect(meminfoKb(machine, 'SwapCached')).toBe(4);
        yield; // the parent runs while this process still maps the page
        return 0;
      });
      yield; // the child runs until its yield
      const reads = reclaim.device.pswpin;
      const majors = machine.vm.events.pgmajfault;
      if (!samePage(ctx, va, page)) return 1;
      expect(reclaim.device.pswpin).toBe(reads);
      expect(machine.vm.events.pgmajfault).toBe(majors);
      machine.check();
      ctx.wait(child);
      return 0;
    });
    finish(machine);
    expect(handle.error).toBe(null);
    expect(handle.exitCode).toBe(0);
    expect(childRead).toBe(true);
  });

  it('drops a clean page read back from swap without writing it again', () => {
    const { machine, reclaim } = small();
    const handle = machine.spawn((ctx) => {
      const va = ctx.mmap(0, PAGE_SIZE, RW, ANON);
      ctx.writeBytes(va, pattern(1));
      expect(pageOut(machine, va)).toBe(true);
      const writes = reclaim.device.pswpout;
      expect(samePage(ctx, va, pattern(1))).toBe(true); // read back: clean, still cached
      expect(pageOut(machine, va)).toBe(true);
      expect(reclaim.device.pswpout).toBe(writes);
      ctx.writeBytes(va, pattern(1, 2)); // written after the read: dirty
      expect(pageOut(machine, va)).toBe(true);
      expect(reclaim.device.pswpout).toBe(writes + 1);
      return samePage(ctx, va, pattern(1, 2)) ? 0 : 1;
    });
    finish(machine);
    expect(handle.exitCode).toBe(0);
  });

  it('a write to a COW-shared page breaks COW even when that page is all reclaim can evict', () => {
    // Everything else locked and free memory below `min`: the copy's allocation reclaims, and
    // the only page on the lists is the one being copied. Evicting it sent the write back to
    // swap-in and round again: a fault loop (found by a randomized campaign).
    const { machine, reclaim } = small();
    const handle = machine.spawn(function* (ctx) {
      const va = ctx.mmap(0, PAGE_SIZE, RW, ANON);
      ctx.store32(va, 0x1234);
      ctx.mlockall(MCL_CURRENT | MCL_FUTURE);
      ctx.munlock(va, PAGE_SIZE);
      let parentDone = false;
      const child = ctx.fork(function* (c) {
        for (let turn = 0; turn < 1000 && !parentDone; turn++) yield;
        return c.load32(va) === 0x1234 ? 0 : 1;
      });
      while (machine.frames.freeFrames >= reclaim.watermarks.min - 2) {
        ctx.mmap(0, PAGE_SIZE, RW, ANON); // locked and populated (MCL_FUTURE)
      }
      ctx.store32(va, 0x5678);
      const ok = ctx.load32(va) === 0x5678;
      ctx.munlockall();
      parentDone = true;
      yield;
      const status = ctx.wait(child);
      return ok && status.exitCode === 0 ? 0 : 2;
    });
    finish(machine);
    expect(handle.exitCode).toBe(0);
  });

  it('a COW break with no frame for the copy kills by OOM, not by reclaiming the page it copies', () => {
    // One frame left, all else locked: the copy's allocation fails, and reclaim on the OOM
    // path could free only the page being copied, which the retried write swapped back in,
    // round and round to the fault-loop oops (found by a randomized campaign). The second
    // time round it is the OOM killer's turn: it kills the one killable process, whose
    // locked frames make room for the copy.
    const { machine } = small();
    let victimReady = false;
    let done = false;
    let childExit: number | null = null;
    const victim = machine.spawn(function* (ctx) {
      ctx.mmap(0, 16 * PAGE_SIZE, RW, ANON | MAP_LOCKED | MAP_POPULATE);
      victimReady = true;
      for (let turn = 0; turn < 100_000 && !done; turn++) yield;
    });
    const handle = machine.spawn(
      function* (ctx) {
        while (!victimReady) yield;
        const va = ctx.mmap(0, PAGE_SIZE, RW, ANON);
        ctx.store32(va, 0x1234);
        ctx.mlockall(MCL_CURRENT | MCL_FUTURE);
        ctx.munlock(va, PAGE_SIZE);
        const child = ctx.fork(function* (c) {
          for (let turn = 0; turn < 100_000 && !done; turn++) yield;
          return c.load32(va) === 0x1234 ? 0 : 1;
        });
        while (machine.frames.freeFrames > 1) ctx.mmap(0, PAGE_SIZE, RW, ANON);
        if (ctx.load32(va) !== 0x1234) return 1;
        ctx.store32(va, 0x5678);
        if (ctx.load32(va) !== 0x5678) return 2;
        done = true;
        childExit = ctx.wait(child).exitCode;
        return 0;
      },
      { oomScoreAdj: -1000 },
    );
    finish(machine);
    expect(handle.exitCode).toBe(0);
    expect(childExit).toBe(0);
    expect(victim.signal).toBe(9);
    expect(machine.oomKills).toBe(1);
  });

  it('never evicts locked pages or page tables, and wakes kswapd below the low watermark', () => {
    const { machine, reclaim } = small();
    const lockedPages = 64;
    const handle = machine.spawn(function* (ctx) {
      const locked = ctx.mmap(0, lockedPages * PAGE_SIZE, RW, ANON);
      for (let i = 0; i < lockedPages; i++) ctx.writeBytes(locked + i * PAGE_SIZE, pattern(i, 9));
      ctx.mlock(locked, lockedPages * PAGE_SIZE);
      const pages = machine.frames.managedFrames;
      const filler = ctx.mmap(0, pages * PAGE_SIZE, RW, ANON);
      for (let i = 0; i < pages; i++) {
        ctx.store32(filler + i * PAGE_SIZE, i);
        if (i % 256 === 0) yield; // scheduling points: kswapd runs here when woken
      }
      const resident = ctx.mincore(locked, lockedPages * PAGE_SIZE);
      if (!resident.every((b) => (b & 1) === 1)) return 1;
      for (let i = 0; i < lockedPages; i++)
        if (!samePage(ctx, locked + i * PAGE_SIZE, pattern(i, 9))) return 2;
      expect(pageOut(machine, locked)).toBe(false);
      return 0;
    });
    finish(machine);
    expect(handle.exitCode).toBe(0);
    expect(reclaim.events.kswapdRuns).toBeGreaterThan(0);
    expect(reclaim.events.pgstealKswapd).toBeGreaterThan(0);
    const vmstat = machine.procfs.read('/proc/vmstat');
    expect(vmstat).toMatch(new RegExp(`^pgsteal_kswapd ${reclaim.events.pgstealKswapd}$`, 'm'));
    expect(vmstat).toMatch(new RegExp(`^pswpout ${reclaim.device.pswpout}$`, 'm'));
    expect(vmstat).toMatch(new RegExp(`^pageoutrun ${reclaim.events.kswapdRuns}$`, 'm'));
  });

  it.each(['linux', 'clock', 'fifo'] as const)(
    'reclaims with the %s policy, every page intact',
    (policy) => {
      const machine = Machine.boot({ memory: '16M', swap: '32M', reclaim: policy });
      expect(machine.vm.reclaim!.policy.name).toBe(policy);
      const pages = Math.floor(machine.frames.managedFrames * 1.3);
      const handle = machine.spawn((ctx) => {
        const base = ctx.mmap(0, pages * PAGE_SIZE, RW, ANON);
        for (let pass = 0; pass < 2; pass++) {
          for (let i = 0; i < pages; i++) ctx.store32(base + i * PAGE_SIZE, i + pass);
          for (let i = 0; i < pages; i++)
            if (ctx.load32(base + i * PAGE_SIZE) !== i + pass) return 1;
        }
        return 0;
      });
      finish(machine);
      expect(handle.exitCode).toBe(0);
      expect(machine.vm.reclaim!.events.pgstealDirect).toBeGreaterThan(0);
    },
  );

  it('refuses an unknown reclaim policy', () => {
    expect(() => Machine.boot({ memory: '16M', reclaim: 'lru' as 'linux' })).toThrow(
      /reclaim policy lru/,
    );
  });

  it('gives empty slabs back under pressure (the slab shrinker)', () => {
    const { machine, reclaim } = small();
    for (let i = 0; i < 200; i++) machine.spawn(() => 0);
    machine.run(); // 200 processes' task_struct, mm_struct and VMA records: empty slabs now
    const cached = machine.slab.stats().slabBytes;
    const pages = machine.frames.managedFrames;
    let underPressure = 0;
    machine.spawn((ctx) => {
      const base = ctx.mmap(0, pages * PAGE_SIZE, RW, ANON);
      for (let i = 0; i < pages; i++) ctx.store32(base + i * PAGE_SIZE, i);
      underPressure = machine.slab.stats().slabBytes;
    });
    finish(machine);
    expect(reclaim.events.pgstealDirect).toBeGreaterThan(0);
    expect(underPressure).toBeLessThan(cached);
  });

  it('derives watermarks as Linux does and prints them in /proc/zoneinfo', () => {
    const machine = Machine.boot({ memory: '256M' });
    const managed = machine.frames.stats().zones.reduce((sum, z) => sum + z.managedFrames, 0);
    const minFreeKb = Math.floor(Math.sqrt(managed * 4 * 16));
    expect(machine.watermarks.minFreeKbytes).toBe(minFreeKb);
    const zoneinfo = machine.procfs.read('/proc/zoneinfo');
    const dma32 = zoneinfo.split('Node 0, zone    DMA32')[1]!;
    const value = (name: string) => Number(new RegExp(`\\n +${name} +(\\d+)`).exec(dma32)![1]);
    const zoneManaged = value('managed');
    const min = value('min');
    expect(min).toBe(Math.floor((Math.floor(minFreeKb / 4) * zoneManaged) / managed));
    const gap = Math.max(Math.floor(min / 4), Math.floor((zoneManaged * 10) / 10000));
    expect(value('low')).toBe(min + gap);
    expect(value('high')).toBe(min + 2 * gap);
    expect(zoneinfo).toMatch(/^Node 0, zone {6}DMA\n {2}per-node stats\n/);
    expect(value('pages free')).toBeGreaterThan(0);
  });

  it('clamps min_free_kbytes to 128 .. 262144 kB', () => {
    expect(new Watermarks([200]).minFreeKbytes).toBe(128);
    expect(new Watermarks([1024 * 1024 * 1024]).minFreeKbytes).toBe(262144);
  });
});
