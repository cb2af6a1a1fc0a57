/**
 * The page-replacement lab: replay a trace through policies at memory sizes (a miss-ratio
 * curve), and search FIFO for Belady's anomaly.
 */
import { InvalidArgumentError } from '../errors.js';
import { nextUses } from './opt.js';
import type { PageTrace } from './page-trace.js';
import { POLICY_NAMES, type PolicyName } from './policy.js';
import { countHits, createReplacementPolicy, isPolicyName } from './replacement-policies.js';

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

/** References FIFO replays at most (over all sizes) when searching the default range. */
const ANOMALY_SEARCH_BUDGET = 500_000_000;

/**
 * The sizes `--anomaly` searches by default: 1 up to the trace's distinct pages (FIFO cannot
 * miss more beyond: every page then stays), cut short when replaying them all would take more
 * than {@link ANOMALY_SEARCH_BUDGET} references.
 */
export function defaultAnomalySizes(trace: PageTrace): number[] {
  const affordable = Math.floor(ANOMALY_SEARCH_BUDGET / Math.max(1, trace.pages.length));
  const largest = Math.max(1, Math.min(trace.distinct, affordable));
  return Array.from({ length: largest }, (_, i) => i + 1);
}

/** Sizes of the curve drawn when none are asked for. */
const DEFAULT_CURVE_SIZES = 20;

/**
 * The sizes of a curve when none are given, in `--frames` syntax: {@link DEFAULT_CURVE_SIZES}
 * evenly spaced sizes up to about the trace's distinct pages (beyond them nothing changes).
 */
export function defaultCurveSpec(distinct: number): string {
  if (distinct <= DEFAULT_CURVE_SIZES) return `1..${Math.max(1, distinct)}`;
  const step = Math.ceil(distinct / DEFAULT_CURVE_SIZES);
  return `${step}..${step * DEFAULT_CURVE_SIZES}/${step}`;
}

/** More memory sizes than one curve should hold (a typo such as `1..10000000`). */
const MAX_SIZES = 100_000;

/**
 * Memory sizes from `N[,N…]`, each item a size or a range `A..B` or `A..B/STEP` (from A to B
 * inclusive): `100..2000/100` is twenty sizes. Sorted ascending, without repeats.
 * @throws InvalidArgumentError naming the bad item.
 */
export function parseFrameSizes(spec: string): number[] {
  const sizes = new Set<number>();
  for (const item of spec.split(',')) {
    const range = /^(\d+)\.\.(\d+)(?:\/(\d+))?$/.exec(item.trim());
    if (range === null) {
      sizes.add(frameCount(item));
      continue;
    }
    const [from, to, step] = [range[1]!, range[2]!, range[3] ?? '1'].map(frameCount);
    if (from! > to!) throw new InvalidArgumentError(`range '${item}' runs backwards`);
    if ((to! - from!) / step! >= MAX_SIZES) {
      throw new InvalidArgumentError(`range '${item}' has more than ${MAX_SIZES} sizes`);
    }
    for (let frames = from!; frames <= to!; frames += step!) sizes.add(frames);
  }
  return [...sizes].sort((a, b) => a - b);
}

function frameCount(text: string): number {
  const frames = Number(text.trim());
  if (!/^\s*\d+\s*$/.test(text) || !Number.isSafeInteger(frames) || frames < 1) {
    throw new InvalidArgumentError(
      `'${text}' is not a number of frames (a positive integer, or a range like 100..2000/100)`,
    );
  }
  return frames;
}

/**
 * Policies from `P[,P…]` (`all` for every one), in the order given, without repeats.
 * @throws InvalidArgumentError naming an unknown policy.
 */
export function parsePolicyNames(spec: string): PolicyName[] {
  const names = new Set<PolicyName>();
  for (const item of spec.split(',').map((name) => name.trim().toLowerCase())) {
    if (item === 'all') for (const name of POLICY_NAMES) names.add(name);
    else if (isPolicyName(item)) names.add(item);
    else
      throw new InvalidArgumentError(`unknown policy '${item}' (${POLICY_NAMES.join(', ')}, all)`);
  }
  return [...names];
}
