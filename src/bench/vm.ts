/**
 * Benchmarks of the virtual-memory layer, inside a booted machine (issue 4):
 * - `VM-fault`: one demand-zero page fault (a first write to a page of a fresh anonymous
 *   mapping), per fault: the median of {@link FAULT_REPS} rounds after {@link FAULT_WARMUPS}
 *   warm-up rounds (the first touch of simulated RAM also pays the host's own page faults, and
 *   the fault path is compiled); what `native-ref/pagefault` measures of the Linux kernel;
 * - `VM-fork`: fork of a process with 64 MiB touched, per page shared copy-on-write;
 * - `VM-copy`: `copyFromUser` of resident memory, per 4 KiB page copied;
 * - `VM-mremap`: moving the 64 MiB touched mapping with mremap (MREMAP_FIXED, back and forth
 *   between two ranges), per page moved: page-table entries move, no 4 KiB is copied; the
 *   median of {@link REMAP_REPS} moves after {@link REMAP_WARMUPS}.
 * Isomorphic: the caller passes a millisecond clock.
 */
import { PAGE_SIZE } from '../hw/constants.js';
import { Machine } from '../kernel/machine.js';
import {
  MAP_ANONYMOUS,
  MAP_PRIVATE,
  MREMAP_FIXED,
  MREMAP_MAYMOVE,
  PROT_NONE,
  PROT_READ,
  PROT_WRITE,
} from '../linux-abi.js';
import { type BenchRow, OUR_IMPLEMENTATION } from './workloads.js';

const TOUCHED_BYTES = 64 * 1024 * 1024;
const COPY_BYTES = 1024 * 1024;
const COPY_ROUNDS = 32;
/** Untimed rounds of VM-fault, then timed ones (each a fresh mapping, unmapped after). */
const FAULT_WARMUPS = 4;
const FAULT_REPS = 5;
/** Untimed moves of VM-mremap (the first few run while the move path compiles), then timed ones. */
const REMAP_WARMUPS = 8;
const REMAP_REPS = 5;

function row(workload: string, ms: number, ops: number): BenchRow {
  const nsPerOp = (ms * 1e6) / ops;
  return { workload, implementation: OUR_IMPLEMENTATION, nsPerOp, opsPerSec: 1e9 / nsPerOp };
}

/** Runs the four virtual-memory benchmarks in one 256 MiB machine. */
export function benchVirtualMemory(now: () => number): BenchRow[] {
  const machine = Machine.boot({ memory: '256M' });
  const rows: BenchRow[] = [];
  machine.spawn((ctx) => {
    const pages = TOUCHED_BYTES / PAGE_SIZE;
    const touchAll = (): number => {
      const base = ctx.mmap(0, TOUCHED_BYTES, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS);
      for (let va = base; va < base + TOUCHED_BYTES; va += PAGE_SIZE) ctx.store8(va, 1);
      return base;
    };
    for (let round = 0; round < FAULT_WARMUPS; round++) ctx.munmap(touchAll(), TOUCHED_BYTES);
    const times: number[] = [];
    for (let round = 0; round < FAULT_REPS; round++) {
      const start = now();
      const mapping = touchAll();
      times.push(now() - start);
      ctx.munmap(mapping, TOUCHED_BYTES);
    }
    times.sort((a, b) => a - b);
    rows.push(row('VM-fault', times[FAULT_REPS >> 1]!, pages));

    const base = touchAll();
    let start = now();
    const child = ctx.fork((c) => c.exit(0));
    rows.push(row('VM-fork', now() - start, pages));
    ctx.wait(child);

    const space = machine.process(ctx.getpid())!.space;
    start = now();
    for (let round = 0; round < COPY_ROUNDS; round++)
      machine.vm.copyFromUser(space, base, COPY_BYTES);
    rows.push(row('VM-copy', now() - start, (COPY_ROUNDS * COPY_BYTES) / PAGE_SIZE));

    // A free range as large, reserved then given back, to move the mapping to and from.
    const other = ctx.mmap(0, TOUCHED_BYTES, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS);
    ctx.munmap(other, TOUCHED_BYTES);
    let at = base;
    const move = (): number => {
      const to = at === base ? other : base;
      const begin = now();
      ctx.mremap(at, TOUCHED_BYTES, TOUCHED_BYTES, MREMAP_MAYMOVE | MREMAP_FIXED, to);
      at = to;
      return now() - begin;
    };
    for (let round = 0; round < REMAP_WARMUPS; round++) move();
    const moves = Array.from({ length: REMAP_REPS }, move).sort((a, b) => a - b);
    rows.push(row('VM-mremap', moves[REMAP_REPS >> 1]!, pages));
  });
  machine.run();
  return rows;
}
