/**
 * Miss-ratio curves as a standalone SVG, for slides and reports (`pages --svg FILE`).
 *
 * ```
 *  miss ratio                            ┌ legend ──────┐
 *   1.0 ┤                                │ ── fifo      │
 *       │╲___                            │ ── lru …     │
 *       │    ╲____  policies             │ ┄┄ opt (floor)│
 *       │░░░░░░░░╲______________         └──────────────┘
 *   0.0 ┼──────────────────────── frames
 * ```
 *
 * One polyline per policy over the sizes replayed; OPT is dashed with the region below it
 * shaded, since no policy can miss less. Isomorphic: a string, no DOM.
 */
import type { LabResult } from './lab.js';
import type { PolicyName } from './policy.js';

const WIDTH = 760;
const HEIGHT = 460;
const MARGIN = { left: 70, right: 170, top: 48, bottom: 56 };
const PLOT_WIDTH = WIDTH - MARGIN.left - MARGIN.right;
const PLOT_HEIGHT = HEIGHT - MARGIN.top - MARGIN.bottom;
const TARGET_TICKS = 6;
/** Curves with more points than this are drawn without a dot on each. */
const MAX_MARKED_POINTS = 40;

/** One colour per policy (colour-blind-safe Okabe–Ito), OPT black. */
export const POLICY_COLOURS: Record<PolicyName, string> = {
  fifo: '#E69F00',
  lru: '#0072B2',
  clock: '#009E73',
  opt: '#000000',
  arc: '#CC79A7',
  linux: '#D55E00',
};

/** The curves of `results` (any policies and sizes) as an SVG document titled `title`. */
export function missRatioSvg(results: readonly LabResult[], title: string): string {
  const sizes = results.map((result) => result.frames);
  const minFrames = Math.min(...sizes);
  const maxFrames = Math.max(minFrames + 1, ...sizes);
  const worst = Math.max(0.1, ...results.map(missRatio));
  const yStep = niceStep(worst, TARGET_TICKS);
  const yMax = Math.ceil(worst / yStep) * yStep;
  const x = (frames: number) =>
    MARGIN.left + ((frames - minFrames) / (maxFrames - minFrames)) * PLOT_WIDTH;
  const y = (ratio: number) => MARGIN.top + (1 - ratio / yMax) * PLOT_HEIGHT;
  const curves = byPolicy(results);
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" viewBox="0 0 ${WIDTH} ${HEIGHT}" font-family="sans-serif" font-size="12">`,
    `<rect width="${WIDTH}" height="${HEIGHT}" fill="#ffffff"/>`,
    `<text x="${WIDTH / 2}" y="24" text-anchor="middle" font-size="15">${escapeXml(title)}</text>`,
    ...optFloor(curves.get('opt'), x, y),
    ...axes(minFrames, maxFrames, yMax, yStep, x, y),
    ...[...curves].map(([policy, points]) => curve(policy, points, x, y)),
    ...legend([...curves.keys()]),
    '</svg>',
    '',
  ].join('\n');
}

function missRatio(result: LabResult): number {
  return result.refs === 0 ? 0 : 1 - result.hits / result.refs;
}

function byPolicy(results: readonly LabResult[]): Map<PolicyName, LabResult[]> {
  const curves = new Map<PolicyName, LabResult[]>();
  for (const result of results) {
    const points = curves.get(result.policy) ?? [];
    points.push(result);
    curves.set(result.policy, points);
  }
  for (const points of curves.values()) points.sort((a, b) => a.frames - b.frames);
  return curves;
}

/** A step of 1, 2 or 5 × 10^k giving about `count` ticks over `range`. */
function niceStep(range: number, count: number): number {
  const rough = range / count;
  const power = 10 ** Math.floor(Math.log10(rough));
  const step = [1, 2, 5, 10].find((m) => m * power >= rough)!;
  return step * power;
}

type Scale = (value: number) => number;

function axes(
  minFrames: number,
  maxFrames: number,
  yMax: number,
  yStep: number,
  x: Scale,
  y: Scale,
): string[] {
  const bottom = MARGIN.top + PLOT_HEIGHT;
  const right = MARGIN.left + PLOT_WIDTH;
  const lines = [
    `<path d="M${MARGIN.left},${MARGIN.top} V${bottom} H${right}" fill="none" stroke="#333"/>`,
    `<text x="${MARGIN.left + PLOT_WIDTH / 2}" y="${HEIGHT - 14}" text-anchor="middle">frames</text>`,
    `<text transform="translate(18,${MARGIN.top + PLOT_HEIGHT / 2}) rotate(-90)" text-anchor="middle">miss ratio</text>`,
  ];
  for (let tick = 0; tick <= yMax + yStep / 2; tick += yStep) {
    const at = y(tick).toFixed(1);
    lines.push(
      `<line x1="${MARGIN.left}" x2="${right}" y1="${at}" y2="${at}" stroke="#e4e4e4"/>`,
      `<text x="${MARGIN.left - 8}" y="${at}" dy="4" text-anchor="end">${tick.toFixed(yStep < 0.1 ? 2 : 1)}</text>`,
    );
  }
  const xStep = Math.max(1, niceStep(maxFrames - minFrames, TARGET_TICKS));
  for (let tick = Math.ceil(minFrames / xStep) * xStep; tick <= maxFrames; tick += xStep) {
    const at = x(tick).toFixed(1);
    lines.push(
      `<line x1="${at}" x2="${at}" y1="${bottom}" y2="${bottom + 5}" stroke="#333"/>`,
      `<text x="${at}" y="${bottom + 20}" text-anchor="middle">${tick}</text>`,
    );
  }
  return lines;
}

/** The region under OPT's curve: misses no policy can avoid. */
function optFloor(points: LabResult[] | undefined, x: Scale, y: Scale): string[] {
  if (points === undefined) return [];
  const path = points.map((p) => `${x(p.frames).toFixed(1)},${y(missRatio(p)).toFixed(1)}`);
  const base = y(0).toFixed(1);
  const first = x(points[0]!.frames).toFixed(1);
  const last = x(points[points.length - 1]!.frames).toFixed(1);
  return [
    `<polygon points="${first},${base} ${path.join(' ')} ${last},${base}" fill="#000" fill-opacity="0.07"/>`,
    `<text x="${last}" y="${(y(0) - 6).toFixed(1)}" text-anchor="end" fill="#555">unavoidable misses (OPT)</text>`,
  ];
}

function curve(policy: PolicyName, points: LabResult[], x: Scale, y: Scale): string {
  const path = points.map((p) => `${x(p.frames).toFixed(1)},${y(missRatio(p)).toFixed(1)}`);
  const dash = policy === 'opt' ? ' stroke-dasharray="6 4"' : '';
  const marks =
    points.length <= MAX_MARKED_POINTS ? points.map((p) => mark(p, x, y, policy)).join('') : '';
  return `<g><polyline points="${path.join(' ')}" fill="none" stroke="${POLICY_COLOURS[policy]}" stroke-width="2"${dash}/>${marks}</g>`;
}

function mark(point: LabResult, x: Scale, y: Scale, policy: PolicyName): string {
  const cx = x(point.frames).toFixed(1);
  const cy = y(missRatio(point)).toFixed(1);
  return `<circle cx="${cx}" cy="${cy}" r="2.5" fill="${POLICY_COLOURS[policy]}"/>`;
}

function legend(policies: PolicyName[]): string[] {
  const left = WIDTH - MARGIN.right + 20;
  return policies.flatMap((policy, i) => {
    const top = MARGIN.top + 10 + i * 22;
    const dash = policy === 'opt' ? ' stroke-dasharray="6 4"' : '';
    const label = policy === 'opt' ? 'opt (the floor)' : policy;
    return [
      `<line x1="${left}" x2="${left + 28}" y1="${top}" y2="${top}" stroke="${POLICY_COLOURS[policy]}" stroke-width="2"${dash}/>`,
      `<text x="${left + 36}" y="${top + 4}">${label}</text>`,
    ];
  });
}

function escapeXml(text: string): string {
  return text.replace(
    /[&<>"]/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!,
  );
}
