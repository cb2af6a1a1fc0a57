/**
 * Fault injection like Linux's fail-nth: for every N, the Nth page allocation (and, in a
 * separate sweep, the Nth slab allocation) of a workload fails, until a run passes with no
 * failure injected. Every run must end in success or a documented error — a system call or
 * malloc failing with ENOMEM, `spawn` throwing for lack of memory, a process killed by SIGKILL
 * at a page fault — and after teardown memory must be exactly the baseline: no frame, slab
 * object, VMA record or page-table page leaked, and `machine.check()` clean.
 */
import { describe, expect, it } from 'vitest';
import { PAGE_SIZE } from '../../src/hw/constants.js';
import { SyscallError } from '../../src/kernel/errors.js';
import { FaultInjector, type InjectionSite, NEVER } from '../../src/kernel/fault-injection.js';
import { Machine } from '../../src/kernel/machine.js';
import type { Program } from '../../src/kernel/process.js';
import type { UserContext } from '../../src/kernel/user-context.js';
import {
  ERRNO,
  MAP_ANONYMOUS,
  MAP_POPULATE,
  MAP_PRIVATE,
  MAP_SHARED,
  PROT_READ,
  PROT_WRITE,
  SIGKILL,
} from '../../src/linux-abi.js';
import { slabObjects } from '../../src/reliability/stress.js';
import { STACK_TOP } from '../../src/virtual/layout.js';

const RW = PROT_READ | PROT_WRITE;
const ANONYMOUS = MAP_PRIVATE | MAP_ANONYMOUS;
/** The exit code a workload uses when a call failed with ENOMEM. */
const EXIT_ENOMEM = ERRNO.ENOMEM;
/** The exit code a workload uses when it saw something wrong (never expected). */
const EXIT_WRONG = 1;
const DOCUMENTED_OUTCOMES = ['exit 0', 'exit ENOMEM', 'SIGKILL (OOM)', 'spawn ENOMEM'];
/** A workload that still hits an armed failure after this many N is not converging. */
const MAX_N = 2000;

/** Runs `body`; a libc-style call failing with ENOMEM (or malloc returning NULL) ends it 12. */
function orEnomem(body: (ctx: UserContext) => number): Program {
  return (ctx) => {
    try {
      return body(ctx);
    } catch (error) {
      if (error instanceof SyscallError && error.code === 'ENOMEM') return EXIT_ENOMEM;
      throw error;
    }
  };
}

function mustMalloc(ctx: UserContext, size: number): number {
  const block = ctx.malloc(size);
  if (block === 0) throw new SyscallError('malloc', 'ENOMEM');
  return block;
}

/** Writes a distinct word into every page of `[start, start + pages)`. */
function touch(ctx: UserContext, start: number, pages: number): void {
  for (let i = 0; i < pages; i++) ctx.store32(start + i * PAGE_SIZE, i + 1);
}

function intact(ctx: UserContext, start: number, pages: number): boolean {
  for (let i = 0; i < pages; i++) if (ctx.load32(start + i * PAGE_SIZE) !== i + 1) return false;
  return true;
}

/** A child's status is acceptable: success, ENOMEM, or killed by the OOM killer. */
function acceptable(status: { exitCode: number | null; signal: number | null }): boolean {
  return status.signal === SIGKILL || status.exitCode === 0 || status.exitCode === EXIT_ENOMEM;
}

const WORKLOADS: Record<string, Program> = {
  'mmap + touch': orEnomem((ctx) => {
    const area = ctx.mmap(0, 16 * PAGE_SIZE, RW, ANONYMOUS);
    touch(ctx, area, 16);
    ctx.mprotect(area, 8 * PAGE_SIZE, PROT_READ);
    const ok = intact(ctx, area, 16);
    ctx.munmap(area, 16 * PAGE_SIZE);
    return ok ? 0 : EXIT_WRONG;
  }),
  fork: orEnomem((ctx) => {
    const area = ctx.mmap(0, 8 * PAGE_SIZE, RW, ANONYMOUS);
    touch(ctx, area, 8);
    const block = mustMalloc(ctx, 100);
    ctx.store32(block, 7);
    const children = [0, 1].map((i) =>
      ctx.fork(
        orEnomem((child) => {
          child.store32(area + i * PAGE_SIZE, 99); // copy-on-write break
          child.free(block);
          return child.load32(area + 2 * PAGE_SIZE) === 3 ? 0 : EXIT_WRONG;
        }),
      ),
    );
    const statuses = children.map((pid) => ctx.wait(pid));
    const ok = statuses.every(acceptable) && intact(ctx, area, 8) && ctx.load32(block) === 7;
    return ok ? 0 : EXIT_WRONG;
  }),
  'munmap splitting': orEnomem((ctx) => {
    const area = ctx.mmap(0, 16 * PAGE_SIZE, RW, ANONYMOUS);
    touch(ctx, area, 16);
    for (const hole of [3, 7, 11]) ctx.munmap(area + hole * PAGE_SIZE, PAGE_SIZE);
    ctx.mprotect(area + 4 * PAGE_SIZE, 2 * PAGE_SIZE, PROT_READ);
    const ok = ctx.load32(area + 5 * PAGE_SIZE) === 6 && ctx.load32(area + 12 * PAGE_SIZE) === 13;
    ctx.munmap(area, 16 * PAGE_SIZE);
    return ok ? 0 : EXIT_WRONG;
  }),
  'brk growth': orEnomem((ctx) => {
    const base = ctx.sbrk(0);
    for (let step = 0; step < 4; step++) {
      const old = ctx.sbrk(8 * PAGE_SIZE);
      touch(ctx, old, 8);
    }
    const ok = intact(ctx, base + 8 * PAGE_SIZE, 8);
    ctx.sbrk(-16 * PAGE_SIZE);
    return ok ? 0 : EXIT_WRONG;
  }),
  'malloc growth': orEnomem((ctx) => {
    const blocks: number[] = [];
    for (const size of [64, 4000, 20_000, 70_000, 300_000, 100, 200_000]) {
      const block = mustMalloc(ctx, size);
      ctx.store32(block + size - 4, size);
      blocks.push(block);
    }
    const grown = ctx.realloc(blocks[0]!, 50_000);
    if (grown === 0) throw new SyscallError('realloc', 'ENOMEM');
    blocks[0] = grown;
    for (const block of blocks) ctx.free(block);
    return 0;
  }),
  'process spawn': () => 0,
  'MAP_POPULATE + shared fork': orEnomem((ctx) => {
    const populated = ctx.mmap(0, 8 * PAGE_SIZE, RW, ANONYMOUS | MAP_POPULATE);
    const shared = ctx.mmap(0, 4 * PAGE_SIZE, RW, MAP_SHARED | MAP_ANONYMOUS);
    ctx.store32(shared, 5);
    const writer = orEnomem((child) => {
      child.store32(shared + 4, 6);
      return 0;
    });
    const status = ctx.wait(ctx.fork(writer));
    const sees = status.exitCode === 0 ? ctx.load32(shared + 4) === 6 : true;
    return acceptable(status) && sees && ctx.load32(populated) === 0 ? 0 : EXIT_WRONG;
  }),
  'stack growth': orEnomem((ctx) => {
    for (let i = 1; i <= 16; i++) ctx.store32(STACK_TOP - i * 4 * PAGE_SIZE, i);
    return ctx.load32(STACK_TOP - 64 * PAGE_SIZE) === 16 ? 0 : EXIT_WRONG;
  }),
  'zombies and orphans': orEnomem((ctx) => {
    const orphaner = orEnomem((child) => {
      child.fork(() => 0); // never waited for: reparented when its parent exits
      return 0;
    });
    const pid = ctx.fork(orphaner);
    ctx.fork(() => 0); // never waited for: a zombie until this process exits
    return acceptable(ctx.wait(pid)) ? 0 : EXIT_WRONG;
  }),
};

interface SweepResult {
  runs: number;
  outcomes: Record<string, number>;
}

/**
 * Fails the Nth allocation at `site` of `workload` for N = 1, 2, … until none is injected. The
 * layout is fixed (no ASLR): the workloads touch the stack at known addresses.
 */
function sweep(name: string, program: Program, site: InjectionSite, debug: boolean): SweepResult {
  const machine = Machine.boot({ memory: '16M', debug, aslr: 0 });
  const baselineObjects = slabObjects(machine);
  const injector = FaultInjector.install(machine);
  const outcomes: Record<string, number> = {};
  for (let n = 1; n <= MAX_N; n++) {
    injector.reset();
    injector.arm(site, n);
    const outcome = runOnce(machine, program, name);
    injector.arm(site, NEVER);
    const where = `${name}, ${site} allocation #${n} failing`;
    expect(
      machine.oopses.map((o) => o.message),
      where,
    ).toEqual([]);
    machine.check();
    machine.dropCaches();
    expect(machine.frames.freeFrames, `${where}: free frames`).toBe(machine.bootFreeFrames);
    expect(slabObjects(machine), `${where}: slab objects`).toBe(baselineObjects);
    expect(DOCUMENTED_OUTCOMES, where).toContain(outcome);
    if (injector.injected === 0) {
      expect(outcome, `${name}: the run without an injected failure`).toBe('exit 0');
      injector.uninstall();
      return { runs: n, outcomes };
    }
    outcomes[outcome] = (outcomes[outcome] ?? 0) + 1;
  }
  throw new Error(`${name}: still failing after ${MAX_N} injections`);
}

function runOnce(machine: Machine, program: Program, name: string): string {
  let handle: ReturnType<Machine['spawn']>;
  try {
    handle = machine.spawn(program, { name });
  } catch (error) {
    if (error instanceof SyscallError && error.code === 'ENOMEM') return 'spawn ENOMEM';
    throw error;
  }
  machine.run();
  if (handle.signal === SIGKILL && machine.oopses.length === 0) return 'SIGKILL (OOM)';
  if (handle.exitCode === 0) return 'exit 0';
  if (handle.exitCode === EXIT_ENOMEM) return 'exit ENOMEM';
  return `exit ${handle.exitCode} signal ${handle.signal} ${handle.error ?? ''}${handle.stderr}`;
}

describe.each([
  ['page', false],
  ['slab', false],
  ['page', true],
  ['slab', true],
] as const)('fail the Nth %s allocation (debug mode: %s)', (site, debug) => {
  it.each(Object.keys(WORKLOADS))('%s', (name) => {
    const result = sweep(name, WORKLOADS[name]!, site, debug);
    console.log(
      `fail-nth ${site}${debug ? ' debug' : ''} / ${name}: ${result.runs} runs`,
      result.outcomes,
    );
    expect(result.runs).toBeGreaterThan(1);
  });
});

describe('the injector', () => {
  it('fails exactly the armed call, once, and uninstalls without a trace', () => {
    const machine = Machine.boot({ memory: '16M' });
    const kernelFrames = machine.vm.kernelFrames;
    const unwrapped = kernelFrames.tryAllocPages;
    const injector = FaultInjector.install(machine);
    injector.arm('page', 3);
    const results = [1, 2, 3, 4].map(() => kernelFrames.tryAllocPages(0, 1));
    expect(results.map((pa) => pa < 0)).toEqual([false, false, true, false]);
    expect([injector.pageAllocations, injector.injected]).toEqual([4, 1]);
    injector.arm('slab', 1);
    expect(machine.objects.tasks.alloc()).toBe(0);
    const task = machine.objects.tasks.alloc();
    expect(task).not.toBe(0);
    machine.objects.tasks.free(task);
    for (const pa of results) if (pa >= 0) machine.frames.freePages(pa, 0);
    injector.uninstall();
    machine.dropCaches();
    expect(kernelFrames.tryAllocPages).toBe(unwrapped);
    expect(Object.hasOwn(machine.vm, 'allocUserFrame')).toBe(false);
    expect(Object.hasOwn(machine.objects.tasks, 'alloc')).toBe(false);
    machine.check();
    expect(machine.frames.freeFrames).toBe(machine.bootFreeFrames);
  });

  it("counts an allocation that refills a cache's per-CPU array once", () => {
    const machine = Machine.boot({ memory: '64M' });
    const cache = machine.slab.kmallocCache(2000);
    const held: number[] = [];
    while (cache.arrayObjects > 0) held.push(machine.slab.kmalloc(2000));
    const injector = FaultInjector.install(machine);
    injector.arm('slab', 2);
    const first = machine.slab.kmalloc(2000); // refills the array
    expect(first).not.toBe(0);
    expect(machine.slab.kmalloc(2000)).toBe(0);
    expect([injector.slabAllocations, injector.injected]).toEqual([2, 1]);
    injector.uninstall();
    for (const p of [first, ...held]) machine.slab.kfree(p);
    machine.dropCaches();
    machine.check();
    expect(machine.frames.freeFrames).toBe(machine.bootFreeFrames);
  });

  it('failEvery fails every Nth call until stopped', () => {
    const machine = Machine.boot({ memory: '16M' });
    const injector = FaultInjector.install(machine);
    injector.failEvery('page', 2);
    const allocate = () => machine.vm.kernelFrames.tryAllocPages(0, 1);
    const results = [1, 2, 3, 4, 5].map(allocate);
    expect(results.map((pa) => pa < 0)).toEqual([false, true, false, true, false]);
    injector.failEvery('page', NEVER);
    const after = allocate();
    expect(after).toBeGreaterThanOrEqual(0);
    for (const pa of [...results, after]) if (pa >= 0) machine.frames.freePages(pa, 0);
    injector.uninstall();
    expect(machine.frames.freeFrames).toBe(machine.bootFreeFrames);
  });

  it('rejects a negative or fractional count', () => {
    const injector = FaultInjector.install(Machine.boot({ memory: '16M' }));
    expect(() => injector.arm('page', -1)).toThrow(RangeError);
    expect(() => injector.arm('slab', 1.5)).toThrow(RangeError);
    expect(() => injector.failEvery('page', -2)).toThrow(RangeError);
  });
});
