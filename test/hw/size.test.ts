import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatBytes, formatSize, parseSize } from '../../src/hw/size.js';

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

describe('formatBytes', () => {
  it('picks the largest unit below the value, whole units without decimals', () => {
    const sizes = [512, 1023, 4096, 945_312, 1536 * 1024, 3 * 2 ** 30, 2 ** 40];
    expect(sizes.map(formatBytes)).toEqual([
      '512 B',
      '1023 B',
      '4 KiB',
      '923.2 KiB',
      '1.5 MiB',
      '3 GiB',
      '1 TiB',
    ]);
  });

  it('always reads back within the rounding of its one decimal', () => {
    const scale: Record<string, number> = {
      B: 1,
      KiB: 2 ** 10,
      MiB: 2 ** 20,
      GiB: 2 ** 30,
      TiB: 2 ** 40,
    };
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 50 }), (bytes) => {
        const [value, unit] = formatBytes(bytes).split(' ') as [string, string];
        const unitBytes = scale[unit]!;
        expect(Math.abs(Number(value) * unitBytes - bytes)).toBeLessThanOrEqual(0.05 * unitBytes);
        expect(bytes < 1024 || Number(value) >= 1).toBe(true);
      }),
    );
  });
});
