/**
 * The seed chooses the interleaving: on several CPUs each scheduling round gives every CPU one
 * turn, in an order drawn from the machine's seed, while each CPU serves its run queue
 * round-robin. One seed, one interleaving; one CPU, the plain round-robin of every seed.
 */
import { describe, expect, it } from 'vitest';
import { PAGE_SIZE } from '../../src/hw/constants.js';
import { Machine } from '../../src/kernel/machine.js';
import type { UserContext } from '../../src/kernel/user-context.js';
import { MAP_ANONYMOUS, MAP_PRIVATE, PROT_READ, PROT_WRITE } from '../../src/linux-abi.js';
import { expectClean, finish } from './helpers.js';

const RW = PROT_READ | PROT_WRITE;
const ANON = MAP_PRIVATE | MAP_ANONYMOUS;
const THREADS = 7;
const SLICES = 4;

/**
 * One process whose leader and seven threads (two tasks per CPU of four) each map a page,
 * write their name from it to the shared stdout, unmap the page (a shootdown to the other CPUs the
 * process runs on) and yield, four times. What the run shows: stdout and /proc/interrupts.
 */
function threadsRun(seed: number, cpus = 4): { stdout: string; tlb: string } {
  const machine = Machine.boot({ memory: '64M', cpus, seed });
  const worker = (name: string) =>
    function* (ctx: UserContext) {
      for (let slice = 0; slice < SLICES; slice++) {
        const page = ctx.mmap(0, PAGE_SIZE, RW, ANON);
        const text = new TextEncoder().encode(`${name}${slice} `);
        ctx.writeBytes(page, text);
        ctx.write(1, page, text.length);
        ctx.munmap(page, PAGE_SIZE);
        yield;
      }
    };
  const handle = machine.spawn(function* main(ctx: UserContext) {
    const tids = Array.from({ length: THREADS }, (_, i) => ctx.thread(worker(`t${i + 1}.`)));
    yield* worker('main.')(ctx);
    for (const tid of tids) ctx.join(tid);
  });
  finish(machine);
  expectClean(handle);
  const interrupts = machine.procfs.read('/proc/interrupts').split('\n');
  const tlb = interrupts.find((line) => line.includes('TLB:'))!;
  return { stdout: handle.stdout, tlb };
}

/** Each slice a process gets: its name and the CPU it ran on, in the order they ran. */
interface Slice {
  name: string;
  cpu: number;
}

/**
 * `processes` processes spawned before the machine runs, each recording every slice it gets
 * (`yields` yields, then one last slice in which it returns).
 */
function slicesOf(seed: number, cpus: number, processes: number, yields: number): Slice[] {
  const machine = Machine.boot({ memory: '64M', cpus, seed });
  const slices: Slice[] = [];
  const handles = Array.from({ length: processes }, (_, i) =>
    machine.spawn(
      function* spinner() {
        for (let turn = 0; turn < yields; turn++) {
          slices.push({ name: `p${i}`, cpu: machine.vm.cpus.current.id });
          yield;
        }
        slices.push({ name: `p${i}`, cpu: machine.vm.cpus.current.id });
      },
      { name: `p${i}` },
    ),
  );
  finish(machine);
  for (const handle of handles) expectClean(handle);
  return slices;
}

const SEEDS = [1, 2, 3, 4, 5];

describe('the seed chooses the interleaving on several CPUs', () => {
  it('gives one seed one interleaving: the same stdout and the same TLB shootdown counts', () => {
    for (const seed of [0, 7]) {
      const first = threadsRun(seed);
      expect(first.stdout.trim().split(' ')).toHaveLength((THREADS + 1) * SLICES);
      expect(threadsRun(seed)).toEqual(first);
    }
  });

  it('gives different seeds different interleavings', () => {
    const runs = SEEDS.map((seed) => threadsRun(seed).stdout);
    expect(new Set(runs).size).toBeGreaterThanOrEqual(2);
    // The same writes, only their order differs.
    const sorted = runs.map((stdout) => stdout.trim().split(' ').sort().join(' '));
    expect(new Set(sorted).size).toBe(1);
  });

  it('every round gives each CPU one turn, and the seed draws the order of the turns', () => {
    const cpus = 4;
    const orders = new Set<string>();
    for (const seed of SEEDS) {
      // Two processes per CPU, all busy to the end: every turn runs a slice.
      const slices = slicesOf(seed, cpus, 2 * cpus, 6);
      expect(slices).toHaveLength(2 * cpus * 7);
      for (let round = 0; round < slices.length / cpus; round++) {
        const turns = slices.slice(round * cpus, (round + 1) * cpus).map((slice) => slice.cpu);
        expect([...turns].sort()).toEqual([0, 1, 2, 3]);
        orders.add(turns.join());
      }
    }
    expect(orders.size).toBeGreaterThan(2);
  });

  it('is fair: each CPU serves its queue round-robin, and no two tasks ever differ by more than one slice', () => {
    for (const seed of SEEDS) {
      const slices = slicesOf(seed, 4, 8, 10);
      const given = new Map<string, number>();
      const lastOn = new Map<number, string>();
      for (const { name, cpu } of slices) {
        given.set(name, (given.get(name) ?? 0) + 1);
        const counts = [...given.values()];
        if (given.size === 8) expect(Math.max(...counts) - Math.min(...counts)).toBeLessThan(2);
        expect(lastOn.get(cpu)).not.toBe(name); // its queue's other task ran in between
        lastOn.set(cpu, name);
      }
      expect([...given.values()]).toEqual(Array(8).fill(11));
    }
  });
});

describe('one CPU', () => {
  it('runs the plain round-robin, whatever the seed', () => {
    const expected = Array.from({ length: 4 }, () => ['p0', 'p1', 'p2']).flat();
    for (const seed of [0, ...SEEDS]) {
      const slices = slicesOf(seed, 1, 3, 3);
      expect(slices.map((slice) => slice.name)).toEqual(expected);
      expect(slices.every((slice) => slice.cpu === 0)).toBe(true);
    }
    expect(new Set(SEEDS.map((seed) => threadsRun(seed, 1).stdout)).size).toBe(1);
  });
});

describe('round-robin by tid', () => {
  it('a forked child runs while its parent and the parent’s thread keep yielding (no starvation)', () => {
    for (const cpus of [1, 2]) {
      const machine = Machine.boot({ memory: '32M', cpus });
      let childRan = false;
      const parent = machine.spawn(function* parent(ctx: UserContext) {
        ctx.fork(() => {
          childRan = true;
        });
        ctx.thread(function* spinner() {
          while (!childRan) yield;
        });
        while (!childRan) yield;
      });
      let slices = 0;
      machine.schedule(() => childRan || ++slices > 100);
      expect({ cpus, childRan }).toEqual({ cpus, childRan: true });
      finish(machine);
      expectClean(parent);
    }
  });
});
