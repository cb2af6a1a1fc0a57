/**
 * Kernel allocations (page tables, slab pages, kernel stacks) that reclaim cannot satisfy
 * invoke the OOM killer, as Linux's GFP_KERNEL slow path does for small orders: another process
 * chosen has its user memory reaped at once and the allocation goes on; when the process
 * allocating is the one chosen, its system call fails cleanly with ENOMEM and it dies by
 * SIGKILL on its way back to user mode. Machines without swap, so nothing else frees memory.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PAGE_SIZE } from '../../src/hw/constants.js';
import { FaultInjector } from '../../src/kernel/fault-injection.js';
import { Machine } from '../../src/kernel/machine.js';
import type { UserContext, WaitStatus } from '../../src/kernel/user-context.js';
import {
  CLONE_PTHREAD_FLAGS,
  ERRNO,
  MAP_ANONYMOUS,
  MAP_FIXED,
  MAP_PRIVATE,
  PROT_READ,
  PROT_WRITE,
  SIGKILL,
} from '../../src/linux-abi.js';
import { finish, holdEveryFrame, releaseFrames, touchPages } from './helpers.js';

const RW = PROT_READ | PROT_WRITE;
const ANON = MAP_PRIVATE | MAP_ANONYMOUS;
/** An address in a 1 GiB region no area of a fresh process uses: its page tables are missing. */
const FAR_AREA = 0x40_0000_0000;

/**
 * Takes every free frame after the empty slabs went back: nothing is left for reclaim to free
 * on a machine without swap.
 */
function holdAllMemory(machine: Machine): number[] {
  machine.atCpl0(() => machine.dropCaches());
  return holdEveryFrame(machine);
}

function killLines(machine: Machine): string[] {
  return machine.bootLog.filter((line) => line.startsWith('Out of memory: Killed process'));
}

/**
 * Runs a bystander (16 pages, checked at its end) and a hog (half of memory, the OOM killer's
 * choice) that makes the system call `prepare` returns with every frame taken; `prepare` gets
 * the hog's pages. Checks that only the hog was killed; returns both and what the call returned
 * to the hog (undefined: it never returned to user mode).
 */
function hogCallsWithNoMemory(prepare: (ctx: UserContext, hogPages: number) => () => number) {
  const machine = Machine.boot({ memory: '16M' });
  const frames = machine.frames.managedFrames;
  let result: number | undefined;
  let finished = false;
  const bystander = machine.spawn(
    function* (ctx) {
      const base = touchPages(ctx, 16);
      while (!finished) yield;
      for (let i = 0; i < 16; i++) expect(ctx.load32(base + i * PAGE_SIZE)).toBe(i + 1);
      return 0;
    },
    { name: 'bystander' },
  );
  const hog = machine.spawn(
    function* (ctx) {
      yield;
      const call = prepare(ctx, touchPages(ctx, Math.floor(frames * 0.5)));
      const held = holdAllMemory(machine);
      try {
        result = call();
      } finally {
        releaseFrames(machine, held);
        finished = true;
      }
      return 0;
    },
    { name: 'hog' },
  );
  finish(machine);
  expect(killLines(machine)).toEqual([expect.stringContaining(`process ${hog.pid} (hog)`)]);
  return { hog, bystander, result };
}

describe('the OOM killer, for kernel allocations', () => {
  it('fork with no frame left kills the process with the highest badness and succeeds', () => {
    const machine = Machine.boot({ memory: '16M' });
    const frames = machine.frames.managedFrames;
    let forked = false;
    const hog = machine.spawn(
      function* (ctx) {
        touchPages(ctx, Math.floor(frames * 0.5));
        while (!forked) yield;
        return 0;
      },
      { name: 'hog' },
    );
    let child = 0;
    let childRan = false;
    const forker = machine.spawn(
      function* (ctx) {
        yield; // the hog takes its memory first
        const base = touchPages(ctx, 8);
        const held = holdAllMemory(machine);
        try {
          child = ctx.syscall('fork', (c: UserContext) => {
            childRan = c.load32(base + 7 * PAGE_SIZE) === 8;
            return 0;
          });
        } finally {
          releaseFrames(machine, held);
          forked = true;
        }
        if (child > 0) ctx.wait(child);
        return 0;
      },
      { name: 'forker' },
    );
    finish(machine);
    expect(child).toBeGreaterThan(0);
    expect(childRan).toBe(true);
    expect(forker.exitCode).toBe(0);
    expect(hog.signal).toBe(SIGKILL);
    expect(hog.error).toBe('out of memory');
    expect(killLines(machine)).toEqual([expect.stringContaining(`process ${hog.pid} (hog)`)]);
    expect(machine.oomKills).toBe(1);
  });

  it('when the process allocating is the one chosen: its fork fails cleanly and it dies by SIGKILL', () => {
    const { hog, bystander, result } = hogCallsWithNoMemory(
      (ctx) => () => ctx.syscall('fork', () => 0),
    );
    expect(result).toBeUndefined(); // it never saw the result: it died returning from fork
    expect(hog.signal).toBe(SIGKILL);
    expect(hog.error).toBe('out of memory');
    expect(bystander.exitCode).toBe(0);
  });

  it('can choose a parent blocked in wait (a plain function): reaped at once, it dies when its wait ends early', () => {
    const machine = Machine.boot({ memory: '16M' });
    const frames = machine.frames.managedFrames;
    let grandchild = 0;
    let childDone = false;
    const parent = machine.spawn(
      (ctx) => {
        const pages = Math.floor(frames * 0.5);
        const base = touchPages(ctx, pages);
        const child = ctx.fork((c) => {
          c.munmap(base, pages * PAGE_SIZE); // the child keeps none of them: the parent is bigger
          const held = holdAllMemory(machine);
          try {
            grandchild = c.syscall('fork', () => 0);
          } finally {
            releaseFrames(machine, held);
          }
          if (grandchild > 0) c.wait(grandchild);
          childDone = true;
          return 0;
        });
        ctx.wait(child);
        return 1; // never: the OOM killer took this process while it waited
      },
      { name: 'parent' },
    );
    finish(machine);
    expect(grandchild).toBeGreaterThan(0);
    expect(childDone).toBe(true);
    expect(parent.signal).toBe(SIGKILL);
    expect(killLines(machine)).toEqual([expect.stringContaining(`process ${parent.pid} (parent)`)]);
  });

  it('a child chosen as it allocates while its parent waits in the kernel never returns to user mode', () => {
    const machine = Machine.boot({ memory: '16M' });
    const frames = machine.frames.managedFrames;
    let result: number | undefined;
    let child: WaitStatus | undefined;
    const parent = machine.spawn(
      (ctx) => {
        const pid = ctx.fork((c) => {
          touchPages(c, Math.floor(frames * 0.5)); // the biggest process: the OOM killer's choice
          const held = holdAllMemory(machine);
          try {
            result = c.syscall('fork', () => 0);
          } finally {
            releaseFrames(machine, held);
          }
          return 0;
        });
        child = ctx.wait(pid); // the child runs inside this wait: the kernel is entered twice
        return 0;
      },
      { name: 'parent' },
    );
    finish(machine);
    expect(result).toBeUndefined(); // it died returning from fork, though the parent's wait had not
    expect(child?.signal).toBe(SIGKILL);
    expect(parent.exitCode).toBe(0);
    expect(killLines(machine)).toEqual([expect.stringContaining(`process ${child?.pid} (parent)`)]);
  });

  it('a victim whose own copy to user memory then runs out of memory kills no other process', () => {
    const { hog, bystander, result } = hogCallsWithNoMemory((ctx, base) => {
      // mincore's vector in a 1 GiB region of its own: copying it out needs new page tables.
      const vector = ctx.mmap(FAR_AREA, PAGE_SIZE, RW, ANON | MAP_FIXED);
      return () => ctx.syscall('mincore', base, PAGE_SIZE, vector);
    });
    expect(result).toBeUndefined(); // it died returning from mincore
    expect(hog.signal).toBe(SIGKILL);
    expect(bystander.exitCode).toBe(0); // the fault path's OOM killer did not take it as well
  });

  it('a thread whose descriptor finds no page: the clone fails cleanly, nothing leaks, the process dies returning', () => {
    // Each page allocation of a clone fails in turn: the task_struct's slab, the kernel stack,
    // the new stack's page table and the page its descriptor is copied into (copy_to_user).
    const outcomes = new Set<string>();
    for (let n = 1; n <= 12; n++) {
      const machine = Machine.boot({ memory: '16M' });
      const frames = machine.frames.managedFrames;
      let tid: number | undefined;
      const p = machine.spawn((ctx) => {
        touchPages(ctx, Math.floor(frames * 0.3)); // the biggest process: the OOM killer's choice
        machine.dropCaches(); // no empty slab for reclaim to give back
        const injector = FaultInjector.install(machine);
        injector.arm('page', n);
        try {
          tid = ctx.syscall('clone', () => 0, CLONE_PTHREAD_FLAGS);
        } finally {
          injector.uninstall();
        }
        return 0;
      });
      finish(machine); // no oops, check() holds, every frame back: the thread's too
      const outcome =
        tid === undefined ? `${p.signal} ${p.error}` : tid > 0 ? 'created' : `errno ${-tid}`;
      expect(['created', `errno ${ERRNO.ENOMEM}`, `${SIGKILL} out of memory`]).toContain(outcome);
      outcomes.add(outcome);
    }
    // The copy that found no page chose the process: it died on its way back to user mode.
    expect(outcomes).toContain(`${SIGKILL} out of memory`);
  });

  it('an allocation that still finds nothing after every other process died fails with ENOMEM', () => {
    const machine = Machine.boot({ memory: '16M' });
    let result = 0;
    const alone = machine.spawn(
      (ctx) => {
        const held = holdAllMemory(machine);
        try {
          result = ctx.syscall('fork', () => 0);
        } finally {
          releaseFrames(machine, held);
        }
        return 0;
      },
      { name: 'alone', oomScoreAdj: -1000 },
    );
    finish(machine);
    expect(result).toBe(-ERRNO.ENOMEM);
    expect(alone.exitCode).toBe(0);
    expect(machine.oomKills).toBe(0);
  });

  type Op =
    | { kind: 'touch'; share: number }
    | { kind: 'fork'; share: number; turns: number; squeeze: boolean }
    | { kind: 'unmap' }
    | { kind: 'yield' };
  const opArb: fc.Arbitrary<Op> = fc.oneof(
    fc.record({ kind: fc.constant('touch' as const), share: fc.integer({ min: 1, max: 30 }) }),
    {
      arbitrary: fc.record({
        kind: fc.constant('fork' as const),
        share: fc.integer({ min: 0, max: 30 }),
        turns: fc.integer({ min: 0, max: 4 }),
        squeeze: fc.boolean(), // every frame taken while it forks: its kernel allocations fail
      }),
      weight: 3,
    },
    fc.constant({ kind: 'unmap' as const }),
    fc.constant({ kind: 'yield' as const }),
  );

  it('forks, mmaps and touches under small RAM without swap: no oops, check() holds, every frame back', () => {
    let kernelOoms = 0;
    fc.assert(
      fc.property(
        fc.array(fc.array(opArb, { minLength: 4, maxLength: 14 }), { minLength: 1, maxLength: 3 }),
        (programs) => {
          const machine = Machine.boot({ memory: '12M', seed: 7 });
          const onKernelOom = machine.vm.onKernelOutOfMemory!;
          machine.vm.onKernelOutOfMemory = () => {
            kernelOoms++;
            return onKernelOom();
          };
          const frames = machine.frames.managedFrames;
          const pagesOf = (share: number) => Math.floor((frames * share) / 100);
          /** What a process found wrong in its own memory (a reaped victim that ran on). */
          const wrong: string[] = [];
          /** Touches `pages` pages, and a check that they still hold what was written. */
          const touchChecked = (ctx: UserContext, pages: number) => {
            const base = touchPages(ctx, pages);
            return () => {
              const last = ctx.load32(base + (pages - 1) * PAGE_SIZE);
              if (last !== pages) wrong.push(`pid ${ctx.getpid()}: ${last}, not ${pages}`);
            };
          };
          /** A program running `ops`: every page it touched holds its index while it lives. */
          const program = (ops: readonly Op[]) =>
            function* (ctx: UserContext): Generator<unknown, number> {
              const areas: { base: number; pages: number }[] = [];
              const checks = () => {
                for (const { base, pages } of areas) {
                  const last = ctx.load32(base + (pages - 1) * PAGE_SIZE);
                  if (last !== pages) wrong.push(`pid ${ctx.getpid()}: ${last}, not ${pages}`);
                }
              };
              for (const op of ops) {
                if (op.kind === 'touch') {
                  const pages = Math.max(1, pagesOf(op.share));
                  areas.push({ base: touchPages(ctx, pages), pages });
                } else if (op.kind === 'unmap') {
                  const area = areas.pop();
                  if (area !== undefined) ctx.munmap(area.base, area.pages * PAGE_SIZE);
                } else if (op.kind === 'fork') {
                  const { share, turns } = op;
                  const held = op.squeeze ? holdAllMemory(machine) : [];
                  let pid: number;
                  try {
                    pid = ctx.syscall('fork', function* (c: UserContext) {
                      const check = share > 0 ? touchChecked(c, Math.max(1, pagesOf(share))) : null;
                      for (let turn = 0; turn < turns; turn++) {
                        yield;
                        check?.();
                      }
                      return 0;
                    });
                  } finally {
                    releaseFrames(machine, held);
                  }
                  if (!(pid === -ERRNO.ENOMEM || pid > 0)) wrong.push(`fork returned ${pid}`);
                } else {
                  yield;
                }
                checks();
              }
              return 0;
            };
          const handles = programs.map((ops) => machine.spawn(program(ops)));
          finish(machine);
          expect(wrong).toEqual([]);
          for (const handle of handles) {
            const { exitCode, signal, error } = handle;
            expect({ exitCode, signal, error }).toSatisfy(
              (end: typeof handle) =>
                (end.exitCode === 0 && end.error === null) ||
                (end.signal === SIGKILL && end.error === 'out of memory'),
            );
          }
        },
      ),
      { numRuns: 40 },
    );
    expect(kernelOoms).toBeGreaterThan(0); // the runs did reach the kernel allocations' OOM path
  });

  type NestedOp =
    | { kind: 'touch'; share: number }
    | { kind: 'unmap' }
    | { kind: 'fork'; share: number; squeeze: boolean; wait: boolean; depth: number };
  const nestedOpArb: fc.Arbitrary<NestedOp> = fc.oneof(
    fc.record({ kind: fc.constant('touch' as const), share: fc.integer({ min: 1, max: 25 }) }),
    fc.constant({ kind: 'unmap' as const }),
    {
      arbitrary: fc.record({
        kind: fc.constant('fork' as const),
        share: fc.integer({ min: 0, max: 25 }),
        squeeze: fc.boolean(),
        wait: fc.boolean(), // the parent waits: the child runs inside its kernel entry
        depth: fc.integer({ min: 0, max: 2 }), // the child forks in turn
      }),
      weight: 3,
    },
  );

  it('plain functions that wait for their children, nested under kernel OOM: no victim sees a result, no oops, every frame back', () => {
    let kills = 0;
    fc.assert(
      fc.property(
        fc.array(fc.array(nestedOpArb, { minLength: 3, maxLength: 10 }), {
          minLength: 1,
          maxLength: 3,
        }),
        (programs) => {
          const machine = Machine.boot({ memory: '12M', seed: 7 });
          const frames = machine.frames.managedFrames;
          const pagesOf = (share: number) => Math.max(1, Math.floor((frames * share) / 100));
          const wrong: string[] = [];
          const run = (ctx: UserContext, ops: readonly NestedOp[], depth: number): number => {
            const areas: { base: number; pages: number }[] = [];
            for (const op of ops) {
              if (op.kind === 'touch') {
                const pages = pagesOf(op.share);
                areas.push({ base: touchPages(ctx, pages), pages });
              } else if (op.kind === 'unmap') {
                const area = areas.pop();
                if (area !== undefined) ctx.munmap(area.base, area.pages * PAGE_SIZE);
              } else {
                const child = (c: UserContext) => {
                  if (op.share > 0) touchPages(c, pagesOf(op.share));
                  return depth < op.depth ? run(c, ops.slice(0, 3), depth + 1) : 0;
                };
                const held = op.squeeze ? holdAllMemory(machine) : [];
                let pid: number;
                try {
                  pid = ctx.syscall('fork', child);
                } finally {
                  releaseFrames(machine, held);
                }
                // A process the OOM killer chose never comes back to user mode to see this.
                if (machine.process(ctx.pid)!.dying) wrong.push(`pid ${ctx.pid} saw fork ${pid}`);
                if (!(pid === -ERRNO.ENOMEM || pid > 0)) wrong.push(`fork returned ${pid}`);
                if (pid > 0 && op.wait) ctx.wait(pid);
              }
              for (const { base, pages } of areas) {
                const last = ctx.load32(base + (pages - 1) * PAGE_SIZE);
                if (last !== pages) wrong.push(`pid ${ctx.pid}: ${last}, not ${pages}`);
              }
            }
            return 0;
          };
          const handles = programs.map((ops) => machine.spawn((ctx) => run(ctx, ops, 0)));
          finish(machine);
          kills += machine.oomKills;
          expect(wrong).toEqual([]);
          for (const { exitCode, signal, error } of handles) {
            const clean = exitCode === 0 && error === null;
            expect(clean || (signal === SIGKILL && error === 'out of memory')).toBe(true);
          }
        },
      ),
      { numRuns: 60 },
    );
    expect(kills).toBeGreaterThan(0); // the runs did reach the OOM killer
  });
});
