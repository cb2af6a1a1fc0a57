import { readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { POLICY_NAMES } from '../../src/replacement/policy.js';
import { computeLab, curveSeries, LAB_SAMPLES, traceBytes } from '../../src/web/lab/lab-model.js';

const encode = (text: string) => new TextEncoder().encode(text);

function sampleBytes(name: string): Uint8Array {
  const source = LAB_SAMPLES.find((sample) => sample.name === name)!.source;
  return typeof source === 'string' ? encode(source) : readFileSync(source);
}

describe('the lab model', () => {
  it('offers the shipped samples, each with sizes that parse, and Belady string', () => {
    expect(LAB_SAMPLES.map((sample) => sample.name)).toEqual(['cpp', 'ps', 'belady']);
    for (const sample of LAB_SAMPLES) {
      const answer = computeLab({
        bytes: sampleBytes(sample.name),
        policies: ['lru'],
        frames: sample.frames,
      });
      expect(answer.ok).toBe(true);
    }
    const cpp = computeLab({ bytes: sampleBytes('cpp'), policies: ['opt'], frames: '1223' });
    expect(cpp).toMatchObject({ ok: true, refs: 9047, distinct: 1223 });
    const untyped = computeLab({ bytes: sampleBytes('belady'), policies: ['fifo'], frames: ' ' });
    expect(untyped).toMatchObject({ ok: true, frames: '1..5' });
    expect(untyped.ok && untyped.results.map((result) => result.frames)).toEqual([1, 2, 3, 4, 5]);
  });

  it("reports FIFO's anomaly on Belady's string only when FIFO is plotted", () => {
    const bytes = sampleBytes('belady');
    const withFifo = computeLab({ bytes, policies: ['fifo', 'opt'], frames: '1..6' });
    expect(withFifo.ok && withFifo.anomalies).toEqual([
      { smaller: 3, larger: 4, missesSmaller: 9, missesLarger: 10 },
    ]);
    const withoutFifo = computeLab({ bytes, policies: ['lru'], frames: '1..6' });
    expect(withoutFifo.ok && withoutFifo.anomalies).toEqual([]);
  });

  it('answers a bad line, a bad size or no policy with one line instead of throwing', () => {
    expect(computeLab({ bytes: encode('1\nx\n'), policies: ['lru'], frames: '2' })).toEqual({
      ok: false,
      error: 'line 2: "x" is not a page number',
    });
    expect(computeLab({ bytes: encode('1\n'), policies: ['lru'], frames: '2..1' })).toEqual({
      ok: false,
      error: "range '2..1' runs backwards",
    });
    expect(computeLab({ bytes: encode('1\n'), policies: [], frames: '2' })).toEqual({
      ok: false,
      error: 'choose at least one policy',
    });
  });

  it('gives one miss-ratio series per policy, a point per size, in order', () => {
    fc.assert(
      fc.property(
        fc.array(fc.nat(20), { minLength: 1, maxLength: 200 }),
        fc.subarray([...POLICY_NAMES], { minLength: 1 }),
        (pages, policies) => {
          const answer = computeLab({ bytes: encode(pages.join('\n')), policies, frames: '1..8' });
          if (!answer.ok) throw new Error(answer.error);
          const series = curveSeries(answer.results);
          expect(series.map((line) => line.policy)).toEqual(policies);
          for (const line of series) {
            expect(line.points.map((point) => point.x)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
            for (const point of line.points) expect(point.y).toBeGreaterThanOrEqual(0);
          }
          const opt = series.find((line) => line.policy === 'opt');
          for (const line of series) {
            line.points.forEach((point, i) => {
              if (opt) expect(point.y).toBeGreaterThanOrEqual(opt.points[i]!.y);
            });
          }
        },
      ),
      { numRuns: 60 },
    );
  });

  it('gunzips a dropped .gz file and passes plain text through', async () => {
    const text = sampleBytes('cpp');
    expect(await traceBytes(gzipSync(text))).toEqual(new Uint8Array(text));
    expect(await traceBytes(text)).toBe(text);
  });
});
