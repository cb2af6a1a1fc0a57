/**
 * `P1`, memory under pressure (issue 16): one process cycles over a working set of 1.5x RAM on
 * a machine with swap, deterministically.
 *
 * ```
 *  machine: 64 MiB RAM, 256 MiB swap, reclaim policy `linux`
 *  working set: 1.5 x the managed frames, one anonymous mapping
 *  fill:   write one word to every page (the excess goes to swap)
 *  warm-up passes, then timed passes: read one word of every page, in order
 * ```
 *
 * A sequential cycle larger than RAM defeats any LRU-like policy, so in the steady state every
 * read is a major fault: the page comes back from swap (a 4 KiB copy) and, to make room,
 * reclaim takes the least recently used page — clean, since it was read back and not written
 * since, so it is dropped without a write while its swap copy stays valid. Two rows:
 * - `P1-majfault`: ns per major fault (swap-in, the copy, and the reclaim that freed its frame);
 * - `P1-reclaim`: ns per page reclaimed; its ops/s is pages reclaimed per second.
 */
import { PAGE_SIZE } from '../hw/constants.js';
import { Machine } from '../kernel/machine.js';
import { MAP_ANONYMOUS, MAP_PRIVATE, PROT_READ, PROT_WRITE } from '../linux-abi.js';
import { type BenchRow, OUR_IMPLEMENTATION } from './workloads.js';

/** The machine of P1. */
export const PRESSURE_MEMORY = '64M';
export const PRESSURE_SWAP = '256M';
/** The working set over RAM. */
export const WORKING_SET_RATIO = 1.5;
const WARMUP_PASSES = 2;

function row(workload: string, ms: number, ops: number): BenchRow {
  const nsPerOp = (ms * 1e6) / ops;
  return { workload, implementation: OUR_IMPLEMENTATION, nsPerOp, opsPerSec: 1e9 / nsPerOp };
}

/** Runs P1 with `reps` timed passes (the median pass is reported). */
export function benchPressure(now: () => number, reps = 5): BenchRow[] {
  const machine = Machine.boot({ memory: PRESSURE_MEMORY, swap: PRESSURE_SWAP });
  const reclaim = machine.vm.reclaim!;
  const pages = Math.floor(machine.frames.managedFrames * WORKING_SET_RATIO);
  const passes: { ms: number; majors: number; reclaimed: number }[] = [];
  const stolen = () => reclaim.events.pgstealDirect + reclaim.events.pgstealKswapd;
  machine.spawn((ctx) => {
    const bytes = pages * PAGE_SIZE;
    const base = ctx.mmap(0, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS);
    for (let va = base; va < base + bytes; va += PAGE_SIZE) ctx.store32(va, va);
    let sum = 0;
    for (let pass = 0; pass < WARMUP_PASSES + reps; pass++) {
      const majors = machine.vm.events.pgmajfault;
      const reclaimed = stolen();
      const start = now();
      for (let va = base; va < base + bytes; va += PAGE_SIZE) sum += ctx.load32(va);
      const ms = now() - start;
      if (pass >= WARMUP_PASSES)
        passes.push({
          ms,
          majors: machine.vm.events.pgmajfault - majors,
          reclaimed: stolen() - reclaimed,
        });
    }
    return sum === 0 ? 1 : 0;
  });
  machine.run();
  passes.sort((a, b) => a.ms / a.majors - b.ms / b.majors);
  const median = passes[passes.length >> 1]!;
  return [
    row('P1-majfault', median.ms, median.majors),
    row('P1-reclaim', median.ms, median.reclaimed),
  ];
}
