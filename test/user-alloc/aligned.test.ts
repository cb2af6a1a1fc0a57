import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ALIGNMENT, isAligned } from '../../src/user-alloc/chunk.js';

describe('isAligned', () => {
  it('agrees with offset % ALIGNMENT === 0 on every number', () => {
    const numbers = fc.oneof(
      fc.double(),
      fc.integer().map((n) => n * ALIGNMENT),
      fc.constantFrom(0, -0, 8, -16, 2 ** 47, 2 ** 53, Number.NaN, Infinity, -Infinity),
      fc.tuple(fc.nat(2 ** 32), fc.nat(2 ** 20)).map(([base, offset]) => base * 2 ** 14 + offset),
    );
    fc.assert(
      fc.property(numbers, (offset) => {
        expect(isAligned(offset)).toBe(offset % ALIGNMENT === 0);
      }),
    );
  });

  it('rejects fractions and offsets between two alignment steps', () => {
    expect(isAligned(16.5)).toBe(false);
    expect(isAligned(0x5555_5555_4008)).toBe(false);
    expect(isAligned(0x5555_5555_4010)).toBe(true);
  });
});
