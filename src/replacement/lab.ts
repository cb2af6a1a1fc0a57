/**
 * The page-replacement lab: replay a trace through policies at memory sizes (a miss-ratio
 * curve), and search FIFO for Belady's anomaly.
 */
import { nextUses } from './opt.js';
import type { PageTrace } from './page-trace.js';
import type { PolicyName } from './policy.js';
import { countHits, createReplacementPolicy } from './replacement-policies.js';

/** One policy at one size over a whole trace; cold misses count as misses. */
export interface LabResult {
  policy: PolicyName;
  frames: number;
  refs: number;
  hits: number;
  hitRatio: number;
}

/** Replays `trace` through each policy at each size, policy by policy. */
export function replayPolicies(
  trace: PageTrace,
  policies: readonly PolicyName[],
  sizes: readonly number[],
): LabResult[] {
  const nextUse = policies.includes('opt') ? nextUses(trace) : undefined;
  const refs = trace.pages.length;
  const results: LabResult[] = [];
  for (const policy of policies) {
    for (const frames of sizes) {
      const hits = countHits(createReplacementPolicy(policy, frames, trace, nextUse), trace);
      results.push({ policy, frames, refs, hits, hitRatio: refs === 0 ? 0 : hits / refs });
    }
  }
  return results;
}

/** FIFO missing more with `larger` frames than with `smaller` (Belady, Nelson & Shedler 1969). */
export interface BeladyAnomaly {
  smaller: number;
  larger: number;
  missesSmaller: number;
  missesLarger: number;
}

/**
 * Replays FIFO at every size in `sizes` (ascending) and reports each step up in memory that
 * brought more misses. FIFO's queue runs from the reclaim policy the kernel uses.
 */
export function findBeladyAnomalies(trace: PageTrace, sizes: readonly number[]): BeladyAnomaly[] {
  const anomalies: BeladyAnomaly[] = [];
  let previous = -1;
  let previousMisses = 0;
  for (const frames of sizes) {
    const misses =
      trace.pages.length - countHits(createReplacementPolicy('fifo', frames, trace), trace);
    if (previous > 0 && misses > previousMisses) {
      anomalies.push({
        smaller: previous,
        larger: frames,
        missesSmaller: previousMisses,
        missesLarger: misses,
      });
    }
    previous = frames;
    previousMisses = misses;
  }
  return anomalies;
}
