import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Mulberry32, mulberry32, mulberry32Step, mulberry32Unit } from '../src/random.js';
import { specMulberry32 } from './spec-mulberry32.js';

const DRAWS = 64;

describe('mulberry32', () => {
  it("the object, the closure and the two pure steps all give the spec's sequence", () => {
    fc.assert(
      fc.property(fc.integer({ min: -(2 ** 32), max: 2 ** 32 }), (seed) => {
        const spec = specMulberry32(seed);
        const object = new Mulberry32(seed);
        const closure = mulberry32(seed);
        let state = seed | 0;
        for (let i = 0; i < DRAWS; i++) {
          const expected = spec();
          state = mulberry32Step(state);
          expect([object.next(), closure(), mulberry32Unit(state)]).toEqual([
            expected,
            expected,
            expected,
          ]);
          expect(expected).toBeGreaterThanOrEqual(0);
          expect(expected).toBeLessThan(1);
        }
      }),
    );
  });
});
