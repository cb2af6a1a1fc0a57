/**
 * The replay's pass schedule, fed made-up pass times: exact counts are exact, the budget bounds
 * the rest, warm-up ends when the times settle, and every replay gets at least one timed pass.
 */
import { describe, expect, it } from 'vitest';
import {
  MAX_WARM_UP_RUNS,
  type PassCounts,
  type PassKind,
  PassSchedule,
  TIMED_RUNS,
} from '../../src/cli/pass-schedule.js';

/** Runs a schedule whose n-th pass takes `timeOf(n)` ms; the kinds it asked for, in order. */
function run(counts: PassCounts, timeOf: (pass: number) => number): [PassSchedule, PassKind[]] {
  const schedule = new PassSchedule(counts);
  const kinds: PassKind[] = [];
  for (let kind = schedule.next(); kind !== 'done'; kind = schedule.next()) {
    kinds.push(kind);
    schedule.record(kind, timeOf(kinds.length));
    if (kinds.length > 1000) throw new Error('the schedule never ends');
  }
  return [schedule, kinds];
}

const repeat = (kind: PassKind, n: number): PassKind[] => Array(n).fill(kind);

describe('PassSchedule', () => {
  it('runs exactly --warmup and --passes passes, whatever they cost', () => {
    const [schedule, kinds] = run({ warmUp: 3, passes: 2, budgetMs: 1 }, () => 1000);
    expect(kinds).toEqual([...repeat('warm-up', 3), ...repeat('timed', 2)]);
    expect(schedule.times).toEqual([1000, 1000]);
  });

  it('--warmup 0 times at once', () => {
    const [, kinds] = run({ warmUp: 0, passes: 1 }, () => 10);
    expect(kinds).toEqual(['timed']);
  });

  it('warms up until three passes agree and beat nothing before them, then times', () => {
    // Compiling: each pass faster, then steady at 30 ms.
    const times = [200, 120, 80, 50, 30, 30, 31, 30, 30, 30, 30, 30, 30, 30, 30];
    const [schedule, kinds] = run({ budgetMs: 5000 }, (n) => times[n - 1] ?? 30);
    // Passes 6-8 agree, and pass 5 reached their speed already: stable after 8.
    expect(schedule.warmUps).toBe(8);
    expect(schedule.stable).toBe(true);
    expect(kinds.slice(8)).toEqual(repeat('timed', TIMED_RUNS));
    expect(schedule.medianMs()).toBe(30);
  });

  it('stops warming up at its share of the budget, still times within it', () => {
    // Never settles (alternating), 100 ms a pass, 1 s budget: 6 warm-ups (60%), then timed
    // passes while the budget lasts.
    const [schedule, kinds] = run({ budgetMs: 1000 }, (n) => (n % 2 === 0 ? 100 : 150));
    expect(schedule.stable).toBe(false);
    expect(kinds.filter((k) => k === 'warm-up').length).toBeLessThanOrEqual(6);
    expect(schedule.times.length).toBeGreaterThanOrEqual(1);
    expect(schedule.progress.elapsedMs).toBeLessThanOrEqual(1000 + 150);
  });

  it('a pass longer than the whole budget: one warm-up and one timed pass', () => {
    const [schedule, kinds] = run({ budgetMs: 1000 }, () => 5000);
    expect(kinds).toEqual(['warm-up', 'timed']);
    expect(schedule.medianMs()).toBe(5000);
  });

  it('never warms up more than the old fixed count', () => {
    const [schedule] = run({ budgetMs: 1e9 }, (n) => 1000 * 0.9 ** n); // 10% faster each time
    expect(schedule.warmUps).toBe(MAX_WARM_UP_RUNS);
  });

  it('--passes with a budgeted warm-up', () => {
    const [schedule, kinds] = run({ passes: 3, budgetMs: 1000 }, () => 10);
    expect(kinds.filter((k) => k === 'timed')).toEqual(repeat('timed', 3));
    expect(schedule.stable).toBe(true);
  });
});
