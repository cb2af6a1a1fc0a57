/** The lab's policies by name, and replaying a trace through them. */
import { ArcPolicy } from './arc.js';
import { LruPolicy } from './lru.js';
import { OptPolicy } from './opt.js';
import type { PageTrace } from './page-trace.js';
import { POLICY_NAMES, type PolicyName, type ReplacementPolicy } from './policy.js';
import { ReclaimReplacement } from './reclaim-adapter.js';
import { createReclaimPolicy, isReclaimPolicyName } from './reclaim-policies.js';

/** True when `name` is one of the lab's policies. */
export function isPolicyName(name: string): name is PolicyName {
  return (POLICY_NAMES as readonly string[]).includes(name);
}

/**
 * A fresh policy with `frames` frames for replaying `trace` (OPT needs the trace itself;
 * `nextUse` lets several OPT sizes share one backward pass).
 */
export function createReplacementPolicy(
  name: PolicyName,
  frames: number,
  trace: PageTrace,
  nextUse?: Int32Array,
): ReplacementPolicy {
  if (!Number.isInteger(frames) || frames < 1) {
    throw new RangeError(`frames must be a positive integer, not ${frames}`);
  }
  if (isReclaimPolicyName(name)) {
    return new ReclaimReplacement(
      createReclaimPolicy(name, trace.distinct),
      frames,
      trace.distinct,
    );
  }
  switch (name) {
    case 'lru':
      return new LruPolicy(frames, trace.distinct);
    case 'opt':
      return new OptPolicy(frames, trace, nextUse);
    case 'arc':
      return new ArcPolicy(frames, trace.distinct);
  }
}

/** Replays every reference of `trace` through `policy`; returns the hits. */
export function countHits(policy: ReplacementPolicy, trace: PageTrace): number {
  const pages = trace.pages;
  let hits = 0;
  for (let t = 0; t < pages.length; t++) if (policy.reference(pages[t]!)) hits++;
  return hits;
}
