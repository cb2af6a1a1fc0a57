import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { KiB, MiB, PAGE_SIZE } from '../../src/hw/constants.js';
import { memoryMapFromRegions } from '../../src/hw/memory-map.js';
import {
  type FrameRange,
  forEachMaximalBlock,
  MAX_ORDER,
  takeFromTop,
  usableFrameRanges,
} from '../../src/physical/index.js';

describe('usableFrameRanges', () => {
  it('rounds unaligned edges inward, merges touching regions and skips the kernel', () => {
    const map = memoryMapFromRegions([
      { base: 0, length: 5 * KiB, type: 'usable' },
      { base: 5 * KiB, length: 6 * KiB, type: 'usable' },
      { base: 11 * KiB, length: 1 * KiB, type: 'reserved' },
      { base: 13 * KiB, length: 8 * MiB, type: 'usable' },
    ]);
    const kernel = map.kernelImage!;
    expect(usableFrameRanges(map)).toEqual([
      { start: 0, end: 2 }, // 0 .. 11 KiB: two whole frames
      { start: 4, end: kernel.base / PAGE_SIZE }, // from 16 KiB (13 KiB rounded up)
      {
        start: (kernel.base + kernel.length) / PAGE_SIZE,
        end: Math.floor((8 * MiB + 13 * KiB) / PAGE_SIZE),
      },
    ]);
  });
});

describe('takeFromTop', () => {
  it('takes frames from the highest ranges first, across range boundaries', () => {
    const ranges = [
      { start: 0, end: 10 },
      { start: 20, end: 23 },
    ];
    expect(takeFromTop(ranges, 5)).toEqual({
      kept: [{ start: 0, end: 8 }],
      taken: [
        { start: 8, end: 10 },
        { start: 20, end: 23 },
      ],
    });
    expect(() => takeFromTop(ranges, 14)).toThrow(/not enough usable memory/);
  });
});

describe('forEachMaximalBlock', () => {
  it('tiles a range with aligned blocks no two of which are free buddies', () => {
    fc.assert(
      fc.property(fc.nat(5000), fc.nat(5000), (start, length) => {
        const blocks: [number, number][] = [];
        forEachMaximalBlock(start, start + length, (pfn, order) => blocks.push([pfn, order]));
        let next = start;
        const heads = new Map<number, number>();
        for (const [pfn, order] of blocks) {
          expect(pfn).toBe(next);
          expect(order).toBeLessThanOrEqual(MAX_ORDER);
          expect(pfn % 2 ** order).toBe(0);
          heads.set(pfn, order);
          next = pfn + 2 ** order;
        }
        expect(next).toBe(start + Math.max(0, length));
        for (const [pfn, order] of blocks) {
          if (order < MAX_ORDER) expect(heads.get(pfn ^ (1 << order))).not.toBe(order);
        }
      }),
    );
  });

  it('uses O(blocks) steps for a huge range', () => {
    const range: FrameRange = { start: 3, end: 3 + 2 ** 24 };
    let blocks = 0;
    forEachMaximalBlock(range.start, range.end, () => blocks++);
    expect(blocks).toBeLessThan(2 ** 24 / 2 ** MAX_ORDER + 2 * MAX_ORDER + 2);
  });
});
