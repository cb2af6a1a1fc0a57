/**
 * Model-based property test of memory under pressure: random processes touch, read, fork,
 * page out, drop (MADV_DONTNEED) and exit on a small machine with swap, whose memory the
 * processes' pages together exceed; they also write, read and page out a MAP_SHARED area that
 * all of them share (one content, kept through swap by the swap cache). A shadow model holds every page's expected word; every
 * read is checked against it, `check()` runs after every batch of steps, and once everything
 * has ended RAM and swap are back at their boot values.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PAGE_SIZE } from '../../src/hw/constants.js';
import { Machine } from '../../src/kernel/machine.js';
import { ProcessHandle } from '../../src/kernel/process.js';
import type { UserContext } from '../../src/kernel/user-context.js';
import {
  MADV_DONTNEED,
  MAP_ANONYMOUS,
  MAP_PRIVATE,
  MAP_SHARED,
  PROT_READ,
  PROT_WRITE,
} from '../../src/linux-abi.js';
import { finish } from '../kernel/helpers.js';

/** Pages of the area every process maps (the first one's, inherited by fork). */
const AREA_PAGES = 2000;
/** Pages of a MAP_SHARED area every process shares (one content for all, through swap too). */
const SHARED_PAGES = 200;
const BATCH = 8;

type Command =
  | { kind: 'write'; page: number; value: number }
  | { kind: 'read'; page: number }
  | { kind: 'sweep'; from: number; count: number; value: number }
  | { kind: 'fork' }
  | { kind: 'pageout'; page: number }
  | { kind: 'dontneed'; page: number }
  | { kind: 'shared-write'; page: number; value: number }
  | { kind: 'shared-read'; page: number }
  | { kind: 'shared-pageout'; page: number }
  | { kind: 'exit' };

type Op = { proc: number; command: Command };

const commandArb: fc.Arbitrary<Command> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant('write' as const),
      page: fc.nat(AREA_PAGES - 1),
      value: fc.integer({ min: 1, max: 0xffffff }),
    }),
  },
  {
    weight: 4,
    arbitrary: fc.record({ kind: fc.constant('read' as const), page: fc.nat(AREA_PAGES - 1) }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('sweep' as const),
      from: fc.nat(AREA_PAGES - 1),
      count: fc.integer({ min: 100, max: 1500 }),
      value: fc.integer({ min: 1, max: 0xffff }),
    }),
  },
  { weight: 1, arbitrary: fc.constant({ kind: 'fork' as const }) },
  {
    weight: 2,
    arbitrary: fc.record({ kind: fc.constant('pageout' as const), page: fc.nat(AREA_PAGES - 1) }),
  },
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constant('dontneed' as const), page: fc.nat(AREA_PAGES - 1) }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('shared-write' as const),
      page: fc.nat(SHARED_PAGES - 1),
      value: fc.integer({ min: 1, max: 0xffffff }),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('shared-read' as const),
      page: fc.nat(SHARED_PAGES - 1),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('shared-pageout' as const),
      page: fc.nat(SHARED_PAGES - 1),
    }),
  },
  { weight: 1, arbitrary: fc.constant({ kind: 'exit' as const }) },
);
const opArb: fc.Arbitrary<Op> = fc.record({ proc: fc.nat(7), command: commandArb });

/** A process of the test: its commands to run and its shadow of the area. */
interface Sim {
  handle: ProcessHandle | null;
  queue: Command[];
  shadow: Uint32Array;
}

/**
 * Every run starts by writing the whole area, more than the machine's RAM holds, so that each
 * is under pressure whatever the draws (random runs alone sometimes swapped out too little for
 * the totals below).
 */
const FILL_THE_AREA: Op = {
  proc: 0,
  command: { kind: 'sweep', from: 0, count: AREA_PAGES, value: 1 },
};

/** What the runs did in total: proof that they put the machine under pressure. */
const totals = { pswpout: 0, pswpin: 0, majorFaults: 0, oomKills: 0 };

function run(ops: Op[]): void {
  const machine = Machine.boot({ memory: '8M', swap: '16M' });
  const reclaim = machine.vm.reclaim!;
  const mismatches: string[] = [];
  const sims: Sim[] = [];
  const shared = new Uint32Array(SHARED_PAGES);
  let area = 0;
  let sharedArea = 0;

  const program = (sim: Sim) =>
    function* (ctx: UserContext): Generator<void, number> {
      if (area === 0)
        area = ctx.mmap(
          0,
          AREA_PAGES * PAGE_SIZE,
          PROT_READ | PROT_WRITE,
          MAP_PRIVATE | MAP_ANONYMOUS,
        );
      if (sharedArea === 0)
        sharedArea = ctx.mmap(
          0,
          SHARED_PAGES * PAGE_SIZE,
          PROT_READ | PROT_WRITE,
          MAP_SHARED | MAP_ANONYMOUS,
        );
      for (;;) {
        const command = sim.queue.shift();
        if (command === undefined) {
          yield;
          continue;
        }
        const va = (page: number) => area + page * PAGE_SIZE;
        const sharedVa = (page: number) => sharedArea + page * PAGE_SIZE;
        switch (command.kind) {
          case 'write':
            ctx.store32(va(command.page), command.value);
            sim.shadow[command.page] = command.value;
            break;
          case 'read': {
            const got = ctx.load32(va(command.page));
            if (got !== sim.shadow[command.page])
              mismatches.push(
                `pid ${ctx.getpid()} page ${command.page}: ${got} != ${sim.shadow[command.page]}`,
              );
            break;
          }
          case 'sweep':
            for (let i = 0; i < command.count; i++) {
              const page = (command.from + i) % AREA_PAGES;
              ctx.store32(va(page), command.value + i);
              sim.shadow[page] = command.value + i;
            }
            break;
          case 'fork': {
            const child: Sim = { handle: null, queue: [], shadow: sim.shadow.slice() };
            sims.push(child);
            child.handle = new ProcessHandle(machine.process(ctx.fork(program(child)))!);
            break;
          }
          case 'pageout':
            reclaim.pageOut(machine.current!.space, va(command.page));
            break;
          case 'dontneed':
            ctx.madvise(va(command.page), PAGE_SIZE, MADV_DONTNEED);
            sim.shadow[command.page] = 0;
            break;
          case 'shared-write':
            ctx.store32(sharedVa(command.page), command.value);
            shared[command.page] = command.value;
            break;
          case 'shared-read': {
            const got = ctx.load32(sharedVa(command.page));
            if (got !== shared[command.page])
              mismatches.push(`shared page ${command.page}: ${got} != ${shared[command.page]}`);
            break;
          }
          case 'shared-pageout':
            reclaim.pageOut(machine.current!.space, sharedVa(command.page));
            break;
          case 'exit':
            return 0;
        }
      }
    };

  const first: Sim = { handle: null, queue: [], shadow: new Uint32Array(AREA_PAGES) };
  sims.push(first);
  first.handle = machine.spawn(program(first), { name: 'p0' });

  const live = () => sims.filter((s) => s.handle !== null && !s.handle.ended);
  let step = 0;
  for (const op of ops) {
    const alive = live();
    if (alive.length === 0) break;
    const sim = alive[op.proc % alive.length]!;
    sim.queue.push(op.command);
    machine.schedule(() => sim.queue.length === 0 || sim.handle!.ended);
    if (++step % BATCH === 0) machine.check();
  }
  for (const s of live()) s.queue.push({ kind: 'exit' });
  finish(machine);
  expect(mismatches).toEqual([]);
  for (const s of sims) expect([0, null]).toContain(s.handle?.exitCode ?? null);
  for (const s of sims) if (s.handle?.signal != null) expect(s.handle.signal).toBe(9);
  expect(reclaim.device.usedSlots).toBe(0);
  expect(reclaim.cache.size).toBe(0);
  totals.pswpout += reclaim.device.pswpout;
  totals.pswpin += reclaim.device.pswpin;
  totals.majorFaults += machine.vm.events.pgmajfault;
  totals.oomKills += machine.oomKills;
}

describe('memory under pressure (model-based)', () => {
  it('keeps every page of every process intact through swap, forks and exits', () => {
    fc.assert(
      fc.property(fc.array(opArb, { minLength: 10, maxLength: 60 }), (ops) =>
        run([FILL_THE_AREA, ...ops]),
      ),
      { numRuns: 25 },
    );
    expect(totals.pswpout).toBeGreaterThan(5000);
    expect(totals.pswpin).toBeGreaterThan(100);
    expect(totals.majorFaults).toBe(totals.pswpin);
  });
});
