/**
 * The page-replacement lab's benchmark: references per second of each policy replaying a trace
 * at a spread of memory sizes, `lru-cache` (the npm LRU most JavaScript picks) replaying the
 * same trace at the same capacities as the peer row, and the time of a whole miss-ratio curve
 * (20 sizes × 6 policies) on a 1 M-reference trace.
 *
 * Each figure is the median of `reps` timed runs after one warm-up, each run replaying at least
 * {@link MIN_REFERENCES_PER_RUN} references; the peer must hit exactly as often as our `lru`,
 * or the row says so. Rates are taken on two clocks passed in (isomorphic): wall time, and the
 * process's CPU time when the host has one — on a shared, overloaded machine the CPU time is
 * the figure of the code, the wall time that of the code and its neighbours.
 */
import { LRUCache } from 'lru-cache';
import { Mulberry32 } from '../random.js';
import { replayPolicies } from '../replacement/lab.js';
import type { PageTrace } from '../replacement/page-trace.js';
import { POLICY_NAMES } from '../replacement/policy.js';
import { type BenchRow, OUR_IMPLEMENTATION } from './workloads.js';

/** The implementation name of the peer rows. */
export const LRU_CACHE_PEER = 'lru-cache';
/** Sizes each trace is replayed at: these fractions of its distinct pages. */
const SIZE_FRACTIONS = [0.02, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.7, 0.9, 1];
/** The synthetic curve: 1 M references, 20 sizes. */
const CURVE_REFERENCES = 1_000_000;
const CURVE_SIZES = Array.from({ length: 20 }, (_, i) => (i + 1) * 500);
const CURVE_SEED = 42;
/** A timed run replays the trace as many times as it takes to reach this many references. */
const MIN_REFERENCES_PER_RUN = 2_000_000;

/** One implementation replaying one trace at every size of the row. */
export interface ReplacementBenchRow {
  trace: string;
  implementation: string;
  /** References replayed in one run: the trace's length × the number of sizes. */
  refs: number;
  /** Hits over all sizes, and their share of `refs`. */
  hits: number;
  hitRatio: number;
  /** References per second of wall time, and of CPU time (when measured). */
  refsPerSec: number;
  refsPerCpuSec?: number;
}

/** The whole-curve target: seconds for every policy at every size. */
export interface CurveBenchRow {
  trace: string;
  refs: number;
  sizes: number;
  policies: number;
  seconds: number;
  cpuSeconds?: number;
}

/** Milliseconds now: wall time, and the process's CPU time when the host can tell. */
export interface Clocks {
  wall: () => number;
  cpu?: () => number;
}

/** The median times of one measurement, in seconds. */
interface Timing {
  seconds: number;
  cpuSeconds?: number;
}

/** The sizes a trace is benchmarked at (fractions of its distinct pages, at least 1). */
export function benchSizes(trace: PageTrace): number[] {
  return [...new Set(SIZE_FRACTIONS.map((f) => Math.max(1, Math.round(f * trace.distinct))))];
}

/** One row per policy and one for `lru-cache`, on `trace` named `name`. */
export function benchReplacement(
  name: string,
  trace: PageTrace,
  clocks: Clocks,
  reps: number,
): ReplacementBenchRow[] {
  const sizes = benchSizes(trace);
  const refs = trace.pages.length * sizes.length;
  const runs = Math.max(1, Math.ceil(MIN_REFERENCES_PER_RUN / refs));
  const row = (implementation: string, replay: () => number): ReplacementBenchRow => {
    let hits = 0;
    const timing = medianTiming(
      () => {
        for (let run = 0; run < runs; run++) hits = replay();
      },
      clocks,
      reps,
    );
    const rates = {
      refsPerSec: (runs * refs) / timing.seconds,
      ...(timing.cpuSeconds === undefined
        ? {}
        : { refsPerCpuSec: (runs * refs) / timing.cpuSeconds }),
    };
    return { trace: name, implementation, refs, hits, hitRatio: hits / refs, ...rates };
  };
  const rows = POLICY_NAMES.map((policy) =>
    row(policy, () => sumHits(replayPolicies(trace, [policy], sizes))),
  );
  rows.push(row(LRU_CACHE_PEER, () => lruCacheHits(trace, sizes)));
  return rows;
}

/** The workload name of `wallos-mem bench`'s page-replacement rows. */
export const PAGES_WORKLOAD = 'PR';

/**
 * {@link benchReplacement} on each named trace as `wallos-mem bench` rows (`PR cpp`, …): one
 * per policy (`wallos-memory (lru)`) and the `lru-cache` peer, ns and operations being
 * references. The hit ratios and the whole-curve time are `pages --bench`'s.
 */
export function benchReplacementRows(
  traces: readonly { name: string; trace: PageTrace }[],
  now: () => number,
  reps: number,
): BenchRow[] {
  return traces.flatMap(({ name, trace }) =>
    benchReplacement(name, trace, { wall: now }, reps).map((row) => ({
      workload: `${PAGES_WORKLOAD} ${name}`,
      implementation:
        row.implementation === LRU_CACHE_PEER
          ? LRU_CACHE_PEER
          : `${OUR_IMPLEMENTATION} (${row.implementation})`,
      nsPerOp: 1e9 / row.refsPerSec,
      opsPerSec: row.refsPerSec,
    })),
  );
}

/** The time of a 20-size miss-ratio curve of all six policies on a 1 M-reference trace. */
export function benchCurve(clocks: Clocks, reps: number): CurveBenchRow {
  const trace = syntheticTrace(CURVE_REFERENCES, CURVE_SEED);
  const timing = medianTiming(() => replayPolicies(trace, POLICY_NAMES, CURVE_SIZES), clocks, reps);
  return {
    trace: `synthetic (${trace.distinct} pages)`,
    refs: trace.pages.length,
    sizes: CURVE_SIZES.length,
    policies: POLICY_NAMES.length,
    ...timing,
  };
}

function sumHits(results: { hits: number }[]): number {
  return results.reduce((sum, result) => sum + result.hits, 0);
}

/** `lru-cache` as a page cache: a `get` per reference, a `set` on each miss. */
function lruCacheHits(trace: PageTrace, sizes: number[]): number {
  const pages = trace.pages;
  let hits = 0;
  for (const frames of sizes) {
    const cache = new LRUCache<number, true>({ max: frames });
    for (let t = 0; t < pages.length; t++) {
      const page = pages[t]!;
      if (cache.get(page)) hits++;
      else cache.set(page, true);
    }
  }
  return hits;
}

/** The median wall and CPU times of `reps` runs of `run` after a warm-up. */
function medianTiming(run: () => unknown, clocks: Clocks, reps: number): Timing {
  run();
  const wall: number[] = [];
  const cpu: number[] = [];
  for (let rep = 0; rep < reps; rep++) {
    const [wallStart, cpuStart] = [clocks.wall(), clocks.cpu?.() ?? 0];
    run();
    wall.push((clocks.wall() - wallStart) / 1000);
    cpu.push(((clocks.cpu?.() ?? 0) - cpuStart) / 1000);
  }
  return {
    seconds: median(wall),
    ...(clocks.cpu === undefined ? {} : { cpuSeconds: median(cpu) }),
  };
}

function median(values: number[]): number {
  return [...values].sort((a, b) => a - b)[values.length >> 1]!;
}

/** Pages of each phase's hot set, of the loop, and references per phase. */
const HOT_PAGES = 4000;
const LOOP_PAGES = 2500;
const PHASE_REFERENCES = 100_000;

/**
 * A reproducible trace with the patterns of real ones: 60% of references to a hot set drawn
 * with a skew (the square of a uniform number) that moves every phase, 25% a loop over a fixed
 * range (like `cpp`'s), 15% a scan of pages never seen again (like `ps`'s).
 */
export function syntheticTrace(references: number, seed: number): PageTrace {
  const rng = new Mulberry32(seed);
  const pages = new Int32Array(references);
  const dense = new Map<number, number>();
  let loop = 0;
  let scan = 0;
  for (let t = 0; t < references; t++) {
    const phase = Math.floor(t / PHASE_REFERENCES);
    const r = rng.next();
    let page: number;
    if (r < 0.6)
      page = LOOP_PAGES + phase * (HOT_PAGES / 2) + Math.floor(rng.next() ** 2 * HOT_PAGES);
    else if (r < 0.85) page = loop++ % LOOP_PAGES;
    else page = -1 - scan++;
    let id = dense.get(page);
    if (id === undefined) {
      id = dense.size;
      dense.set(page, id);
    }
    pages[t] = id;
  }
  return { pages, distinct: dense.size };
}
