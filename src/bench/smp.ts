/**
 * Benchmarks of TLB shootdowns (issue 18), in a 4-CPU machine where one process has a thread
 * on every CPU, so its address space is loaded on all four:
 * - `SMP-shootdown`: munmap of one touched page, per munmap: the shootdown of one page to the
 *   three other CPUs (an IPI each, an `invlpg` there) with the unmap around it;
 * - `SMP-shootdown-512`: munmap of 512 touched pages at once, per munmap: still one IPI per
 *   other CPU (the MMU gather batches the pages; past 33 pages each CPU flushes in full).
 * - `SMP-munmap-1cpu`: the munmap of one page on a machine of one CPU, the yardstick: what
 *   the first row costs beyond it is the shootdown.
 * Each row carries the IPIs one munmap sent, counted by the machine. The median of
 * {@link ROUNDS} rounds after one warm-up round. Isomorphic: the caller passes a ms clock.
 */
import { PAGE_SIZE } from '../hw/constants.js';
import { Machine } from '../kernel/machine.js';
import type { UserContext } from '../kernel/user-context.js';
import { MAP_ANONYMOUS, MAP_PRIVATE, PROT_READ, PROT_WRITE } from '../linux-abi.js';
import { type BenchRow, OUR_IMPLEMENTATION } from './workloads.js';

const CPUS = 4;
/** Pages each round maps and touches, then unmaps. */
const ROUND_PAGES = 4096;
const BATCH_PAGES = 512;
const ROUNDS = 5;

/** What one round measured: ms in munmap, munmaps made, IPIs they sent. */
interface Round {
  ms: number;
  munmaps: number;
  ipis: number;
}

/** The three rows. */
export function benchShootdowns(now: () => number): BenchRow[] {
  const smp = measure(CPUS, now);
  const uniprocessor = measure(1, now);
  return [
    row('SMP-shootdown', smp.single),
    row('SMP-shootdown-512', smp.batched),
    row('SMP-munmap-1cpu', uniprocessor.single),
  ];
}

/** Rounds of both kinds in a machine of `cpus` whose process has a thread on every CPU. */
function measure(cpus: number, now: () => number): { single: Round[]; batched: Round[] } {
  const machine = Machine.boot({ memory: '256M', cpus });
  const rounds = { single: [] as Round[], batched: [] as Round[] };
  let spinning = 0;
  let done = false;
  machine.spawn(function* main(ctx: UserContext) {
    const tids: number[] = [];
    for (let cpu = 1; cpu < cpus; cpu++) {
      tids.push(
        ctx.thread(function* spinner() {
          spinning++;
          while (!done) yield;
        }),
      );
    }
    while (spinning < cpus - 1) yield;
    for (let round = 0; round <= ROUNDS; round++) {
      rounds.single.push(unmapRound(machine, ctx, 1, now));
      rounds.batched.push(unmapRound(machine, ctx, BATCH_PAGES, now));
    }
    done = true;
    for (const tid of tids) ctx.join(tid);
  });
  machine.run();
  return rounds;
}

/** Maps and touches {@link ROUND_PAGES} pages, then times their munmap `pages` at a time. */
function unmapRound(machine: Machine, ctx: UserContext, pages: number, now: () => number): Round {
  const length = ROUND_PAGES * PAGE_SIZE;
  const base = ctx.mmap(0, length, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS);
  for (let va = base; va < base + length; va += PAGE_SIZE) ctx.store8(va, 1);
  const cpus = machine.vm.cpus;
  const ipis = cpus.ipisSent;
  const start = now();
  // From the top down: each munmap trims the area's end, no VMA split.
  for (let end = base + length; end > base; end -= pages * PAGE_SIZE) {
    ctx.munmap(end - pages * PAGE_SIZE, pages * PAGE_SIZE);
  }
  const ms = now() - start;
  return { ms, munmaps: ROUND_PAGES / pages, ipis: cpus.ipisSent - ipis };
}

/** The median round after the warm-up, per munmap, with its IPIs per munmap. */
function row(workload: string, rounds: readonly Round[]): BenchRow {
  const timed = rounds.slice(1).sort((a, b) => a.ms / a.munmaps - b.ms / b.munmaps);
  const median = timed[timed.length >> 1]!;
  const nsPerOp = (median.ms * 1e6) / median.munmaps;
  return {
    workload,
    implementation: OUR_IMPLEMENTATION,
    nsPerOp,
    opsPerSec: 1e9 / nsPerOp,
    ipisPerOp: median.ipis / median.munmaps,
  };
}
