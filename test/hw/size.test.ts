import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatSize, parseSize } from '../../src/hw/size.js';

describe('parseSize', () => {
  it('reads binary suffixes', () => {
    expect(parseSize('256M')).toBe(256 * 2 ** 20);
    expect(parseSize('4G')).toBe(4 * 2 ** 30);
    expect(parseSize('64KiB')).toBe(64 * 1024);
    expect(parseSize('1.5k')).toBe(1536);
    expect(parseSize(4096)).toBe(4096);
  });

  it('rejects what is not a size', () => {
    for (const bad of ['12Q', '', 'M', '-1M', '0.3', 'abc']) {
      expect(() => parseSize(bad)).toThrow(/invalid size/);
    }
    expect(() => parseSize(-1)).toThrow(/invalid size/);
  });

  it('round-trips with formatSize', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 40 }), (n) => {
        const [value, unit] = formatSize(n).split(' ');
        expect(parseSize(`${value}${unit === 'B' ? '' : unit}`)).toBe(n);
      }),
    );
  });
});
