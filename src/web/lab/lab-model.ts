/**
 * The page-replacement lab of the visualizer, without the DOM (unit-tested in Node): the
 * sample traces, reading a dropped file (gzip too), and computing the curves the chart draws.
 *
 * ```
 *  sample or dropped file ─► traceBytes (gunzip) ─► computeLab (in the worker) ─► curveSeries
 *                                                   parse, replay every policy    miss ratio
 *                                                   at every size, FIFO anomaly   per policy
 * ```
 */
import {
  type BeladyAnomaly,
  defaultCurveSpec,
  findBeladyAnomalies,
  type LabResult,
  parseFrameSizes,
  replayPolicies,
} from '../../replacement/lab.js';
import { parsePageTrace } from '../../replacement/page-trace.js';
import type { PolicyName } from '../../replacement/policy.js';

/** A trace the page offers without a file. */
export interface LabSample {
  name: string;
  description: string;
  /** Where its text is (shipped with the page), or the text itself. */
  source: URL | string;
  /** The memory sizes first proposed for it. */
  frames: string;
}

/** Belady, Nelson & Shedler's string: FIFO misses more with 4 frames than with 3. */
const BELADY_STRING = '1 2 3 4 1 2 5 1 2 3 4 5'.split(' ').join('\n');

export const LAB_SAMPLES: readonly LabSample[] = [
  {
    name: 'cpp',
    description: 'cpp — the GNU C preprocessor (LIRS study), 9,047 refs',
    source: new URL('../../../assets/pagetraces/cpp.trace', import.meta.url),
    frames: '10..600/10',
  },
  {
    name: 'ps',
    description: 'ps (LIRS study), 10,448 refs',
    source: new URL('../../../assets/pagetraces/ps.trace', import.meta.url),
    frames: '100..3100/100',
  },
  {
    name: 'belady',
    description: "Belady's string 1 2 3 4 1 2 5 1 2 3 4 5",
    source: BELADY_STRING,
    frames: '1..6',
  },
];

/** The first two bytes of every gzip member (RFC 1952). */
const GZIP_MAGIC = [0x1f, 0x8b] as const;

/** The bytes of a trace file, gunzipped (with the platform's DecompressionStream) if need be. */
export async function traceBytes(file: Uint8Array): Promise<Uint8Array> {
  if (file[0] !== GZIP_MAGIC[0] || file[1] !== GZIP_MAGIC[1]) return file;
  const stream = new Blob([file as Uint8Array<ArrayBuffer>])
    .stream()
    .pipeThrough(new DecompressionStream('gzip'));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

/** What the worker is asked: a trace's bytes, the policies, the sizes as typed (empty: a
 * default curve over the trace's pages). */
export interface LabRequest {
  bytes: Uint8Array;
  policies: PolicyName[];
  frames: string;
}

/** What the worker answers: the curves, or one line saying what was wrong. */
export type LabAnswer =
  | {
      ok: true;
      refs: number;
      distinct: number;
      /** The sizes replayed, in `--frames` syntax (the default's when none were typed). */
      frames: string;
      results: LabResult[];
      /** FIFO steps up in memory that missed more (only when FIFO was asked for). */
      anomalies: BeladyAnomaly[];
    }
  | { ok: false; error: string };

/** Parses the trace and replays it; errors (a bad line, a bad size) become the answer. */
export function computeLab(request: LabRequest): LabAnswer {
  try {
    const trace = parsePageTrace(request.bytes);
    const frames = request.frames.trim() === '' ? defaultCurveSpec(trace.distinct) : request.frames;
    const sizes = parseFrameSizes(frames);
    if (request.policies.length === 0) return { ok: false, error: 'choose at least one policy' };
    return {
      ok: true,
      refs: trace.pages.length,
      distinct: trace.distinct,
      frames,
      results: replayPolicies(trace, request.policies, sizes),
      anomalies: request.policies.includes('fifo') ? findBeladyAnomalies(trace, sizes) : [],
    };
  } catch (error) {
    return { ok: false, error: error instanceof Error ? error.message : String(error) };
  }
}

/** One line of the chart: a policy's miss ratio at each size. */
export interface CurveSeries {
  policy: PolicyName;
  points: { x: number; y: number }[];
}

/** The results as one miss-ratio series per policy, in the order they came. */
export function curveSeries(results: readonly LabResult[]): CurveSeries[] {
  const series = new Map<PolicyName, CurveSeries>();
  for (const result of results) {
    let line = series.get(result.policy);
    if (line === undefined) {
      line = { policy: result.policy, points: [] };
      series.set(result.policy, line);
    }
    line.points.push({ x: result.frames, y: result.refs === 0 ? 0 : 1 - result.hitRatio });
  }
  return [...series.values()];
}
