import { describe, expect, it } from 'vitest';
import {
  type BenchTarget,
  measureHere,
  parseRequest,
  requestArguments,
} from '../../src/bench/isolated.js';
import { InvalidArgumentError } from '../../src/errors.js';

/** A clock that advances one millisecond per reading, so every run takes exactly 1 ms. */
function tickingClock(): () => number {
  let ms = 0;
  return () => ms++;
}

describe('isolated workload requests', () => {
  it('round-trips a request through its command-line arguments', () => {
    const request = { workload: 'H2', target: 'heap-process' as const, reps: 3, ops: 1000 };
    expect(parseRequest(requestArguments(request))).toEqual(request);
    expect(parseRequest(['B1', 'buddy', '5'])).toEqual({
      workload: 'B1',
      target: 'buddy',
      reps: 5,
    });
  });

  it.each([
    [[], 'usage'],
    [['B1', 'buddy'], 'usage'],
    [['X9', 'buddy', '5'], "unknown workload 'X9'"],
    [['B1', 'gpu', '5'], "unknown target 'gpu'"],
    [['B1', 'slab', '5'], 'B1 is a buddy workload'],
    [['S1', 'heap-process', '5'], 'S1 is a slab workload'],
    [['H1', 'heap', '0'], 'reps must be a positive integer'],
    [['H1', 'heap', '2', '1.5'], 'ops must be a positive integer'],
  ])('rejects %j', (args, message) => {
    expect(() => parseRequest(args)).toThrow(InvalidArgumentError);
    expect(() => parseRequest(args)).toThrow(message);
  });

  const cases: [string, BenchTarget, string][] = [
    ['B2', 'buddy', 'wallos-memory'],
    ['S1', 'slab', 'wallos-memory'],
    ['H2', 'heap', 'wallos-memory'],
    ['H1', 'heap-process', 'wallos-memory/process'],
  ];
  it.each(cases)('measures a shortened %s on %s in this process', (workload, target, name) => {
    const ops = 2000;
    const row = measureHere({ workload, target, reps: 3, ops }, tickingClock());
    expect(row).toEqual({
      workload,
      implementation: name,
      nsPerOp: 1e6 / ops,
      opsPerSec: ops * 1000,
    });
  });
});
