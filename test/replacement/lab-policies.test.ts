import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { LRUCache } from 'lru-cache';
import { describe, expect, it } from 'vitest';
import { ArcPolicy, B1, B2, T1, T2 } from '../../src/replacement/arc.js';
import {
  defaultAnomalySizes,
  defaultCurveSpec,
  findBeladyAnomalies,
  parseFrameSizes,
  replayPolicies,
} from '../../src/replacement/lab.js';
import { type PageTrace, parsePageTrace } from '../../src/replacement/page-trace.js';
import { POLICY_NAMES, type PolicyName } from '../../src/replacement/policy.js';
import { countHits, createReplacementPolicy } from '../../src/replacement/replacement-policies.js';

/** A trace of `pages` already dense (0..max), as the parser would renumber it. */
function traceOf(pages: number[]): PageTrace {
  return parsePageTrace(pages.join('\n'));
}

const traceArbitrary = fc
  .array(fc.nat(11), { minLength: 1, maxLength: 160 })
  .map((pages) => traceOf(pages));
const framesArbitrary = fc.integer({ min: 1, max: 14 });

/** The policies as plain arrays scanned in full on every reference: index 0 is the oldest. */
type Model = (pages: Int32Array, frames: number) => boolean[];

function fifoModel(pages: Int32Array, frames: number): boolean[] {
  const queue: number[] = [];
  return [...pages].map((page) => {
    if (queue.includes(page)) return true;
    if (queue.length === frames) queue.shift();
    queue.push(page);
    return false;
  });
}

function lruModel(pages: Int32Array, frames: number): boolean[] {
  const recency: number[] = [];
  return [...pages].map((page) => {
    const hit = recency.includes(page);
    if (hit) recency.splice(recency.indexOf(page), 1);
    else if (recency.length === frames) recency.shift();
    recency.push(page);
    return hit;
  });
}

function clockModel(pages: Int32Array, frames: number): boolean[] {
  const circle: { page: number; referenced: boolean }[] = [];
  return [...pages].map((page) => {
    const resident = circle.find((entry) => entry.page === page);
    if (resident) {
      resident.referenced = true;
      return true;
    }
    if (circle.length === frames) {
      while (circle[0]!.referenced) {
        circle[0]!.referenced = false;
        circle.push(circle.shift()!);
      }
      circle.shift();
    }
    circle.push({ page, referenced: true });
    return false;
  });
}

function optModel(pages: Int32Array, frames: number): boolean[] {
  const resident: number[] = [];
  const nextUse = (page: number, after: number) => {
    const at = pages.indexOf(page, after + 1);
    return at < 0 ? Number.POSITIVE_INFINITY : at;
  };
  return [...pages].map((page, t) => {
    if (resident.includes(page)) return true;
    if (resident.length === frames) {
      let victim = 0;
      for (let i = 1; i < resident.length; i++) {
        if (nextUse(resident[i]!, t) > nextUse(resident[victim]!, t)) victim = i;
      }
      resident.splice(victim, 1);
    }
    resident.push(page);
    return false;
  });
}

/** ARC as the paper's pseudo-code, with arrays (index 0 = LRU end) and a real-valued p. */
function arcModel(pages: Int32Array, c: number): boolean[] {
  const t1: number[] = [];
  const t2: number[] = [];
  const b1: number[] = [];
  const b2: number[] = [];
  let p = 0;
  const take = (list: number[], page: number) => list.splice(list.indexOf(page), 1);
  const replace = (inB2: boolean) => {
    if (t1.length >= 1 && ((inB2 && t1.length === p) || t1.length > p)) b1.push(t1.shift()!);
    else b2.push(t2.shift()!);
  };
  return [...pages].map((x) => {
    if (t1.includes(x) || t2.includes(x)) {
      take(t1.includes(x) ? t1 : t2, x);
      t2.push(x);
      return true;
    }
    if (b1.includes(x)) {
      p = Math.min(p + (b1.length >= b2.length ? 1 : b2.length / b1.length), c);
      replace(false);
      take(b1, x);
      t2.push(x);
    } else if (b2.includes(x)) {
      p = Math.max(p - (b2.length >= b1.length ? 1 : b1.length / b2.length), 0);
      replace(true);
      take(b2, x);
      t2.push(x);
    } else {
      if (t1.length + b1.length === c) {
        if (t1.length < c) {
          b1.shift();
          replace(false);
        } else {
          t1.shift();
        }
      } else if (t1.length + t2.length + b1.length + b2.length >= c) {
        if (t1.length + t2.length + b1.length + b2.length === 2 * c) b2.shift();
        replace(false);
      }
      t1.push(x);
    }
    return false;
  });
}

/** The kernel's two lists with PG_referenced, fed the lab's referenced bits. */
function linuxModel(pages: Int32Array, frames: number): boolean[] {
  let inactive: number[] = [];
  let active: number[] = [];
  const accessed = new Set<number>();
  const marked = new Set<number>();
  const testAndClear = (page: number) => accessed.delete(page);
  const evict = () => {
    for (;;) {
      while (inactive.length < active.length) {
        const page = active.shift()!;
        testAndClear(page);
        inactive.push(page);
      }
      const page = inactive.shift()!;
      const wasMarked = marked.delete(page);
      if (!testAndClear(page)) return;
      marked.add(page);
      (wasMarked ? active : inactive).push(page);
    }
  };
  return [...pages].map((page) => {
    if (inactive.includes(page) || active.includes(page)) {
      accessed.add(page);
      return true;
    }
    if (inactive.length + active.length === frames) evict();
    inactive = inactive.filter((resident) => resident !== page);
    active = active.filter((resident) => resident !== page);
    marked.delete(page);
    accessed.add(page);
    inactive.push(page);
    return false;
  });
}

const MODELS: Record<PolicyName, Model> = {
  fifo: fifoModel,
  lru: lruModel,
  clock: clockModel,
  opt: optModel,
  arc: arcModel,
  linux: linuxModel,
};

function hitsAndMisses(name: PolicyName, trace: PageTrace, frames: number): boolean[] {
  const policy = createReplacementPolicy(name, frames, trace);
  return [...trace.pages].map((page) => policy.reference(page));
}

describe.each(POLICY_NAMES)('the lab policy %s', (name) => {
  it('hits and misses exactly as a plain array model on random traces', () => {
    fc.assert(
      fc.property(traceArbitrary, framesArbitrary, (trace, frames) => {
        expect(hitsAndMisses(name, trace, frames)).toEqual(MODELS[name](trace.pages, frames));
      }),
      { numRuns: 300 },
    );
  });

  it('counts cold misses: with frames for every page, the hits are refs - distinct', () => {
    fc.assert(
      fc.property(traceArbitrary, (trace) => {
        const policy = createReplacementPolicy(name, trace.distinct, trace);
        expect(countHits(policy, trace)).toBe(trace.pages.length - trace.distinct);
      }),
    );
  });
});

describe('policy properties', () => {
  it('OPT never has fewer hits than any other policy', () => {
    fc.assert(
      fc.property(traceArbitrary, framesArbitrary, (trace, frames) => {
        const results = replayPolicies(trace, POLICY_NAMES, [frames]);
        const opt = results.find((result) => result.policy === 'opt')!;
        for (const result of results) expect(opt.hits).toBeGreaterThanOrEqual(result.hits);
      }),
      { numRuns: 300 },
    );
  });

  it("LRU's hits never fall as frames grow (the stack property)", () => {
    fc.assert(
      fc.property(traceArbitrary, (trace) => {
        const sizes = Array.from({ length: trace.distinct + 1 }, (_, i) => i + 1);
        const hits = replayPolicies(trace, ['lru', 'opt'], sizes).map((result) => result.hits);
        const lru = hits.slice(0, sizes.length);
        const opt = hits.slice(sizes.length);
        for (let i = 1; i < sizes.length; i++) {
          expect(lru[i]).toBeGreaterThanOrEqual(lru[i - 1]!);
          expect(opt[i]).toBeGreaterThanOrEqual(opt[i - 1]!);
        }
      }),
      { numRuns: 200 },
    );
  });

  it("FIFO lacks it: Belady's string misses 9 times with 3 frames and 10 with 4", () => {
    const belady = traceOf([1, 2, 3, 4, 1, 2, 5, 1, 2, 3, 4, 5]);
    const fifo = replayPolicies(belady, ['fifo', 'lru'], [3, 4]);
    expect(fifo.map((result) => result.refs - result.hits)).toEqual([9, 10, 10, 8]);
    expect(findBeladyAnomalies(belady, [1, 2, 3, 4, 5])).toEqual([
      { smaller: 3, larger: 4, missesSmaller: 9, missesLarger: 10 },
    ]);
  });

  it("gives the textbook's fault counts on Silberschatz's reference string with 3 frames", () => {
    // Operating System Concepts, ch. 10 (virtual memory): FIFO 15, OPT 9, LRU 12 page faults.
    const string = traceOf([7, 0, 1, 2, 0, 3, 0, 4, 2, 3, 0, 3, 2, 1, 2, 0, 1, 7, 0, 1]);
    const faults = replayPolicies(string, ['fifo', 'opt', 'lru'], [3]).map((r) => r.refs - r.hits);
    expect(faults).toEqual([15, 9, 12]);
  });

  it("gives Stallings' fault counts on his reference string with 3 frames, CLOCK included", () => {
    // Operating Systems: Internals and Design Principles, "Behavior of four page replacement
    // algorithms": after the 3 frames fill, OPT 3, LRU 4, FIFO 6 and CLOCK 5 faults.
    const string = traceOf([2, 3, 2, 1, 5, 2, 4, 5, 3, 2, 5, 2]);
    const results = replayPolicies(string, ['opt', 'lru', 'fifo', 'clock'], [3]);
    expect(results.map((r) => r.refs - r.hits - 3)).toEqual([3, 4, 6, 5]);
  });

  it("keeps ARC's directory invariants after every reference", () => {
    fc.assert(
      fc.property(traceArbitrary, framesArbitrary, (trace, c) => {
        const arc = new ArcPolicy(c, trace.distinct);
        for (const page of trace.pages) {
          arc.reference(page);
          const [t1, t2, b1, b2] = [T1, T2, B1, B2].map((list) => arc.length(list));
          expect(t1! + t2!).toBeLessThanOrEqual(c);
          expect(t1! + b1!).toBeLessThanOrEqual(c);
          expect(t1! + t2! + b1! + b2!).toBeLessThanOrEqual(2 * c);
          expect(arc.p).toBeGreaterThanOrEqual(0);
          expect(arc.p).toBeLessThanOrEqual(c);
          expect(arc.listOf(page) === T1 || arc.listOf(page) === T2).toBe(true);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('OPT replays only its own trace, in order', () => {
    const trace = traceOf([1, 2, 3]);
    const opt = createReplacementPolicy('opt', 2, trace);
    expect(() => opt.reference(1)).toThrow(/reference 0 is not page 1/);
  });

  it('rejects a size that is not a positive integer', () => {
    const trace = traceOf([1, 2]);
    for (const frames of [0, -3, 1.5, Number.NaN]) {
      expect(() => createReplacementPolicy('lru', frames, trace)).toThrow(RangeError);
    }
  });
});

describe('the sample traces', () => {
  const sample = (name: string) =>
    parsePageTrace(readFileSync(new URL(`../../assets/pagetraces/${name}.trace`, import.meta.url)));

  it('have the references and distinct pages the LIRS study lists', () => {
    expect([sample('cpp').pages.length, sample('cpp').distinct]).toEqual([9047, 1223]);
    expect([sample('ps').pages.length, sample('ps').distinct]).toEqual([10448, 3083]);
  });

  it.each(['cpp', 'ps'])('%s: our lru agrees with lru-cache at every size', (name) => {
    const trace = sample(name);
    for (const frames of [1, 10, 100, 250, 500, 1000, 2000]) {
      const cache = new LRUCache<number, true>({ max: frames });
      let peerHits = 0;
      for (const page of trace.pages) {
        if (cache.get(page)) peerHits++;
        else cache.set(page, true);
      }
      const [ours] = replayPolicies(trace, ['lru'], [frames]);
      expect(ours!.hits).toBe(peerHits);
    }
  });
});

describe('sizes', () => {
  it('parses sizes and ranges into ascending sizes without repeats', () => {
    expect(parseFrameSizes('100..300/100, 50,200')).toEqual([50, 100, 200, 300]);
    expect(parseFrameSizes('3..5')).toEqual([3, 4, 5]);
    expect(() => parseFrameSizes('1..1000001')).toThrow(/more than 100000 sizes/);
  });

  it('proposes 20 sizes up to about the distinct pages when none are given', () => {
    expect(defaultCurveSpec(0)).toBe('1..1');
    expect(defaultCurveSpec(5)).toBe('1..5');
    expect(defaultCurveSpec(1223)).toBe('62..1240/62');
    expect(parseFrameSizes(defaultCurveSpec(3083))).toHaveLength(20);
  });

  it('searches FIFO up to the distinct pages, fewer on a long trace', () => {
    expect(defaultAnomalySizes(traceOf([5, 6, 7, 5]))).toEqual([1, 2, 3]);
    // Only the length counts: 100 M references would cost 5 sizes the budget.
    const long = { pages: { length: 100_000_000 } as Int32Array, distinct: 100 };
    expect(defaultAnomalySizes(long)).toEqual([1, 2, 3, 4, 5]);
  });

  it('gives OPT with more frames than pages no more heap than the pages', () => {
    const trace = traceOf([1, 2, 1, 3]);
    const opt = createReplacementPolicy('opt', 2 ** 31 - 1, trace);
    expect(countHits(opt, trace)).toBe(1);
  });
});
