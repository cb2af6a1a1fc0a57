import { describe, expect, it } from 'vitest';
import { PAGE_SIZE } from '../../src/hw/constants.js';
import { FaultInjector } from '../../src/kernel/fault-injection.js';
import { Machine } from '../../src/kernel/machine.js';
import type { UserContext } from '../../src/kernel/user-context.js';
import {
  MAP_ANONYMOUS,
  MAP_PRIVATE,
  MAP_SHARED,
  PROT_READ,
  PROT_WRITE,
} from '../../src/linux-abi.js';
import { finish, touchPages } from './helpers.js';

const RW = PROT_READ | PROT_WRITE;
const ANON = MAP_PRIVATE | MAP_ANONYMOUS;

/** A process holding `pages` pages until `until()` holds. */
function holder(pages: number, until: () => boolean) {
  return function* (ctx: UserContext) {
    touchPages(ctx, pages);
    while (!until()) yield;
    return 0;
  };
}

describe('the OOM killer', () => {
  it('kills the process with the highest badness, never an oom_score_adj -1000 one', () => {
    const machine = Machine.boot({ memory: '16M' });
    const frames = machine.frames.managedFrames;
    let done = false; // set by the grower, which the OOM killer must spare here
    const protectedHog = machine.spawn(
      holder(Math.floor(frames * 0.4), () => done),
      {
        name: 'protected',
        oomScoreAdj: -1000,
      },
    );
    const big = machine.spawn(
      holder(Math.floor(frames * 0.3), () => done),
      { name: 'big' },
    );
    const small = machine.spawn(
      holder(Math.floor(frames * 0.05), () => done),
      { name: 'small' },
    );
    const grower = machine.spawn(
      function* (ctx) {
        yield; // the others take their memory first
        touchPages(ctx, Math.floor(frames * 0.35));
        done = true;
        return 0;
      },
      { name: 'grower' },
    );
    finish(machine);
    expect(big.signal).toBe(9);
    expect([protectedHog.exitCode, small.exitCode, grower.exitCode]).toEqual([0, 0, 0]);
    expect(machine.oomKills).toBe(1);
    expect(machine.procfs.read('/proc/vmstat')).toMatch(/^oom_kill 1$/m);
    const line = machine.bootLog.find((l) => l.startsWith('Out of memory'));
    expect(line).toMatch(
      new RegExp(
        `^Out of memory: Killed process ${big.pid} \\(big\\) total-vm:\\d+kB, anon-rss:\\d+kB, ` +
          'file-rss:0kB, shmem-rss:0kB, UID:0 pgtables:\\d+kB oom_score_adj:0$',
      ),
    );
  });

  it('prefers a process whose oom_score_adj is raised, and reads it back in /proc', () => {
    const machine = Machine.boot({ memory: '16M' });
    const frames = machine.frames.managedFrames;
    const ended = { grower: false };
    const big = machine.spawn(
      holder(Math.floor(frames * 0.3), () => ended.grower),
      { name: 'big' },
    );
    const favoured = machine.spawn(
      holder(Math.floor(frames * 0.1), () => ended.grower),
      {
        name: 'favoured',
        oomScoreAdj: 800,
      },
    );
    let scores: number[] = [];
    const grower = machine.spawn(function* (ctx) {
      yield;
      scores = [big.pid, favoured.pid].map((pid) =>
        Number(machine.procfs.read(`/proc/${pid}/oom_score`)),
      );
      expect(machine.procfs.read(`/proc/${favoured.pid}/oom_score_adj`)).toBe('800\n');
      try {
        touchPages(ctx, Math.floor(frames * 0.6));
      } finally {
        ended.grower = true;
      }
    });
    finish(machine);
    expect(scores[1]).toBeGreaterThan(scores[0]!);
    expect(favoured.signal).toBe(9);
    expect(big.exitCode).toBe(0);
    expect(grower.exitCode).toBe(0);
  });

  it('scores badness per mille of RAM + swap (0..1000), 0 for -1000', () => {
    const machine = Machine.boot({ memory: '64M', swap: '16M' });
    let score = -1;
    let expected = -1;
    const handle = machine.spawn(
      (ctx) => {
        touchPages(ctx, 100);
        const space = machine.current!.space;
        const badness = space.rss + space.swapEntries + space.tables.tablePages;
        const total = machine.frames.managedFrames + (16 * 1024 * 1024) / PAGE_SIZE - 1;
        expected = Math.trunc((badness * 1000) / total);
        score = Number(machine.procfs.read('/proc/self/oom_score'));
      },
      { name: 'scored' },
    );
    const immune = machine.spawn(
      function* () {
        yield;
      },
      { oomScoreAdj: -1000 },
    );
    const doomed = machine.spawn(
      function* () {
        yield;
      },
      { oomScoreAdj: 1000 },
    );
    let immuneScore = '';
    let doomedScore = '';
    machine.spawn(() => {
      immuneScore = machine.procfs.read(`/proc/${immune.pid}/oom_score`);
      doomedScore = machine.procfs.read(`/proc/${doomed.pid}/oom_score`);
    });
    finish(machine);
    expect(handle.exitCode).toBe(0);
    expect(score).toBe(expected);
    expect(immuneScore).toBe('0\n');
    // +1000 adds 1000 * floor(total / 1000) pages: nearly all of them, never more than 1000.
    expect(Number(doomedScore)).toBeGreaterThan(950);
    expect(Number(doomedScore)).toBeLessThanOrEqual(1000);
    expect(() => machine.spawn(() => 0, { oomScoreAdj: 1001 })).toThrow(
      expect.objectContaining({ code: 'EINVAL' }),
    );
  });

  it('can kill a parent blocked in wait (a plain function): the child goes on', () => {
    const machine = Machine.boot({ memory: '16M' });
    const frames = machine.frames.managedFrames;
    let childDone = false;
    const parent = machine.spawn(
      (ctx) => {
        const pages = Math.floor(frames * 0.6);
        const base = touchPages(ctx, pages);
        const child = ctx.fork((c) => {
          c.munmap(base, pages * PAGE_SIZE); // the child keeps none of them: the parent is bigger
          touchPages(c, Math.floor(frames * 0.5));
          childDone = true;
          return 0;
        });
        ctx.wait(child);
        return 1; // never: the OOM killer took this process while it waited
      },
      { name: 'parent' },
    );
    finish(machine);
    expect(parent.signal).toBe(9);
    expect(childDone).toBe(true);
    expect(machine.bootLog.some((l) => l.includes(`Killed process ${parent.pid} (parent)`))).toBe(
      true,
    );
  });

  it('kills when the swap device is exhausted, and frees the victim’s swap too', () => {
    const machine = Machine.boot({ memory: '16M', swap: '1M' });
    const frames = machine.frames.managedFrames;
    const handle = machine.spawn((ctx) => {
      touchPages(ctx, frames * 2);
    });
    finish(machine);
    expect(handle.signal).toBe(9);
    expect(machine.vm.reclaim!.device.pswpout).toBeGreaterThan(0);
    expect(machine.vm.reclaim!.device.usedSlots).toBe(0);
    expect(machine.oomKills).toBe(1);
  });
});

describe('swap under fault injection', () => {
  it('a failed swap write leaves the page resident and nothing is lost', () => {
    const machine = Machine.boot({ memory: '16M', swap: '32M' });
    const reclaim = machine.vm.reclaim!;
    const injector = FaultInjector.install(machine);
    const handle = machine.spawn((ctx) => {
      const va = ctx.mmap(0, PAGE_SIZE, RW, ANON);
      ctx.store32(va, 0xfeedf00d);
      const space = machine.current!.space;
      injector.arm('swap', 1);
      expect(reclaim.pageOut(space, va)).toBe(false);
      expect(injector.injected).toBe(1);
      expect(space.frameAt(va)).toBeGreaterThanOrEqual(0);
      expect(reclaim.device.usedSlots).toBe(0);
      machine.check();
      expect(reclaim.pageOut(space, va)).toBe(true); // still on the lists, and now it goes
      return ctx.load32(va) === 0xfeedf00d ? 0 : 1;
    });
    finish(machine);
    injector.uninstall();
    expect(handle.exitCode).toBe(0);
    expect(reclaim.events.writeErrors).toBe(1);
  });

  it('a shared page whose write-back fails stays cached for its other user, then goes', () => {
    const machine = Machine.boot({ memory: '16M', swap: '32M' });
    const reclaim = machine.vm.reclaim!;
    const injector = FaultInjector.install(machine);
    const handle = machine.spawn(function* (ctx) {
      const va = ctx.mmap(0, PAGE_SIZE, RW, MAP_SHARED | MAP_ANONYMOUS);
      ctx.store32(va, 1);
      const child = ctx.fork((c) => {
        expect(reclaim.pageOut(machine.current!.space, va)).toBe(true);
        c.store32(va, 2); // read back into the swap cache and written: dirty
        injector.arm('swap', 1); // its write-back when this process lets go of it fails
        return 0;
      });
      yield;
      ctx.wait(child);
      expect(injector.injected).toBe(1);
      expect(reclaim.cache.size).toBe(1); // kept for this process, which still holds the slot
      machine.check();
      if (ctx.load32(va) !== 2) return 1; // the child's write is not lost
      return 0;
    });
    machine.run();
    const second = machine.spawn(function* (ctx) {
      const va = ctx.mmap(0, PAGE_SIZE, RW, MAP_SHARED | MAP_ANONYMOUS);
      ctx.store32(va, 1);
      const child = ctx.fork((c) => {
        expect(reclaim.pageOut(machine.current!.space, va)).toBe(true);
        c.store32(va, 2);
        injector.arm('swap', 1);
        return 0;
      });
      yield;
      ctx.wait(child);
      return 0; // exits holding only the swap entry: slot and cached frame must both go
    });
    finish(machine);
    injector.uninstall();
    expect([handle.exitCode, second.exitCode]).toEqual([0, 0]);
    expect(reclaim.device.usedSlots).toBe(0);
    expect(reclaim.cache.size).toBe(0);
  });

  it('keeps every page intact when every 7th swap write and 13th page allocation fail', () => {
    const machine = Machine.boot({ memory: '16M', swap: '32M' });
    const injector = FaultInjector.install(machine);
    const pages = Math.floor(machine.frames.managedFrames * 1.3);
    injector.failEvery('swap', 7);
    const handle = machine.spawn((ctx) => {
      const base = touchPages(ctx, pages);
      injector.failEvery('page', 13);
      for (let i = 0; i < pages; i++) if (ctx.load32(base + i * PAGE_SIZE) !== i + 1) return 1;
      injector.reset();
      machine.check();
      return 0;
    });
    finish(machine);
    injector.uninstall();
    expect(handle.exitCode).toBe(0);
    expect(machine.vm.reclaim!.events.writeErrors).toBeGreaterThan(0);
  });
});
