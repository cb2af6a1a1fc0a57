import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Mulberry32, mulberry32 } from '../src/random.js';
import { specMulberry32 } from './spec-mulberry32.js';

const DRAWS = 64;

describe('mulberry32', () => {
  it("the object and the closure both give the spec's sequence", () => {
    fc.assert(
      fc.property(fc.integer({ min: -(2 ** 32), max: 2 ** 32 }), (seed) => {
        const spec = specMulberry32(seed);
        const object = new Mulberry32(seed);
        const closure = mulberry32(seed);
        for (let i = 0; i < DRAWS; i++) {
          const expected = spec();
          expect([object.next(), closure()]).toEqual([expected, expected]);
          expect(expected).toBeGreaterThanOrEqual(0);
          expect(expected).toBeLessThan(1);
        }
      }),
    );
  });
});
