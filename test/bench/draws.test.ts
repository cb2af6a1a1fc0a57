import { describe, expect, it } from 'vitest';
import { drawB2Order, drawH2Size } from '../../src/bench/draws.js';
import { mulberry32 } from '../../src/random.js';

const TWO_32 = 2 ** 32;
const specB2 = (r: number) => Math.min(10, Math.floor(-Math.log2(1 - r)));
const specH2 = (r: number) => Math.floor(8 * 2 ** (r * 11));

/** Every `u / 2^32` near a power of two, and near every 2^16-aligned bucket edge. */
function edgeCases(): number[] {
  const us: number[] = [];
  for (let k = 0; k <= 32; k++) {
    for (const d of [-2, -1, 0, 1, 2]) us.push(2 ** 32 - 2 ** k + d, 2 ** k + d);
  }
  for (let bucket = 0; bucket < 2 ** 16; bucket += 7) {
    for (const d of [-1, 0, 1, 65535]) us.push(bucket * 2 ** 16 + d);
  }
  return us.filter((u) => u >= 0 && u < TWO_32).map((u) => u / TWO_32);
}

describe('the exact fast draws', () => {
  it("equal the spec's expressions on two million generator outputs", () => {
    const r = mulberry32(42);
    for (let i = 0; i < 2_000_000; i++) {
      const x = r();
      if (drawB2Order(x) !== specB2(x)) expect([x, drawB2Order(x)]).toEqual([x, specB2(x)]);
      if (drawH2Size(x) !== specH2(x)) expect([x, drawH2Size(x)]).toEqual([x, specH2(x)]);
    }
  });

  it("equal the spec's expressions at every power-of-two and bucket edge", () => {
    // Compared with ===: the spec's B2 gives -0 for r = 0, the same order as 0.
    for (const x of edgeCases()) {
      if (drawB2Order(x) !== specB2(x)) expect([x, drawB2Order(x)]).toEqual([x, specB2(x)]);
      if (drawH2Size(x) !== specH2(x)) expect([x, drawH2Size(x)]).toEqual([x, specH2(x)]);
    }
    expect(edgeCases().length).toBeGreaterThan(30_000);
  });

  it("equal the spec's H2 expression around every 7th size boundary, where libm decides", () => {
    /** The first u whose spec size is at least `size` (the spec is non-decreasing in u). */
    const boundary = (size: number): number => {
      let [low, high] = [0, TWO_32];
      while (low < high) {
        const middle = Math.floor((low + high) / 2);
        if (specH2(middle / TWO_32) >= size) high = middle;
        else low = middle + 1;
      }
      return low;
    };
    let checked = 0;
    for (let size = 9; size < 16_384; size += 7) {
      const edge = boundary(size);
      for (let d = -3; d <= 3; d++) {
        const x = (edge + d) / TWO_32;
        if (drawH2Size(x) !== specH2(x)) expect([x, drawH2Size(x)]).toEqual([x, specH2(x)]);
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(16_000);
  });

  it('cover every order and the whole size range', () => {
    const orders = new Set<number>();
    let [smallest, largest] = [Infinity, 0];
    const r = mulberry32(7);
    for (let i = 0; i < 200_000; i++) {
      const x = r();
      orders.add(drawB2Order(x));
      smallest = Math.min(smallest, drawH2Size(x));
      largest = Math.max(largest, drawH2Size(x));
    }
    expect([...orders].sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(smallest).toBe(8);
    expect(largest).toBeGreaterThan(16_000);
    expect(largest).toBeLessThan(16_384);
  });
});
