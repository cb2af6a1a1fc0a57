import { describe, expect, it } from 'vitest';
import {
  benchReplacement,
  benchSizes,
  LRU_CACHE_PEER,
  syntheticTrace,
} from '../../src/bench/pages.js';
import { replayPolicies } from '../../src/replacement/lab.js';
import { POLICY_NAMES } from '../../src/replacement/policy.js';

/** A clock that advances one millisecond per reading: timings are counted, not measured. */
function tickingClock(): () => number {
  let now = 0;
  return () => ++now;
}

describe('the page-replacement bench', () => {
  const trace = syntheticTrace(20_000, 7);

  it('draws the same synthetic trace for the same seed, with hot, loop and scan pages', () => {
    expect(syntheticTrace(20_000, 7)).toEqual(trace);
    expect(syntheticTrace(20_000, 8).pages).not.toEqual(trace.pages);
    // 15% of references scan pages never seen again: most pages are referenced once.
    expect(trace.distinct).toBeGreaterThan(3_000);
    expect(trace.distinct).toBeLessThan(20_000);
  });

  it('reports a row per policy and the lru-cache peer, which hits exactly as our lru', () => {
    const rows = benchReplacement('synthetic', trace, { wall: tickingClock() }, 1);
    expect(rows.map((row) => row.implementation)).toEqual([...POLICY_NAMES, LRU_CACHE_PEER]);
    const sizes = benchSizes(trace);
    const lru = replayPolicies(trace, ['lru'], sizes).reduce((sum, r) => sum + r.hits, 0);
    for (const row of rows) {
      expect(row.refs).toBe(trace.pages.length * sizes.length);
      expect(row.hitRatio).toBe(row.hits / row.refs);
      expect(row.refsPerSec).toBeGreaterThan(0);
      expect(row.refsPerCpuSec).toBeUndefined();
    }
    expect(rows.find((row) => row.implementation === 'lru')!.hits).toBe(lru);
    expect(rows.find((row) => row.implementation === LRU_CACHE_PEER)!.hits).toBe(lru);
  });
});
