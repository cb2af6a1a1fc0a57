/**
 * `wallos-mem pages TRACE`: the page-replacement lab on the command line. Replays a
 * page-reference trace through policies at memory sizes (a table, `--json`, or miss-ratio
 * curves as `--svg`), or searches FIFO for Belady's anomaly (`--anomaly`).
 */
import { writeFileSync } from 'node:fs';
import { basename } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Command, InvalidArgumentError, Option } from 'commander';
import { WallosError } from '../errors.js';
import {
  defaultAnomalySizes,
  defaultCurveSpec,
  findBeladyAnomalies,
  type LabResult,
  parseFrameSizes,
  parsePolicyNames,
  replayPolicies,
} from '../replacement/lab.js';
import { missRatioSvg } from '../replacement/miss-ratio-svg.js';
import { type PageTrace, PageTraceError, parsePageTrace } from '../replacement/page-trace.js';
import { POLICY_NAMES, type PolicyName } from '../replacement/policy.js';
import { positiveIntegerArgument } from './arguments.js';
import { EXIT_FAILURE, UsageError } from './errors.js';
import { formatCount, formatTable, Painter } from './terminal.js';
import { readMaybeGzipped } from './trace-file.js';

interface PagesFlags {
  policy: PolicyName[];
  frames?: number[];
  json?: boolean;
  svg?: string;
  anomaly?: boolean;
  bench?: boolean;
  reps: number;
}

/** The sample traces shipped in assets/pagetraces (from the LIRS study). */
export const SAMPLE_PAGE_TRACES = ['cpp', 'ps'].map((name) =>
  fileURLToPath(new URL(`../../assets/pagetraces/${name}.trace`, import.meta.url)),
);
const DEFAULT_BENCH_REPS = 5;

/** A commander option parser from one of the lab's parsers (their errors become usage errors). */
function labArgument<T>(parse: (spec: string) => T): (value: string) => T {
  return (value) => {
    try {
      return parse(value);
    } catch (error) {
      throw new InvalidArgumentError((error as Error).message);
    }
  };
}

/** Registers `pages` on the program. */
export function definePages(program: Command): void {
  program
    .command('pages')
    .description(
      'replay a page-reference trace through replacement policies (hits per memory size)',
    )
    .argument('[trace]', 'one page (block) number per line, # comments; plain or gzipped')
    .addOption(
      new Option('--policy <names>', `comma-separated: ${POLICY_NAMES.join(', ')}, or all`)
        .argParser(labArgument(parsePolicyNames))
        .default([...POLICY_NAMES], 'all'),
    )
    .addOption(
      new Option(
        '--frames <sizes>',
        'memory sizes in frames: N[,N…] or a range A..B/STEP (default: 20 sizes up to the pages)',
      ).argParser(labArgument(parseFrameSizes)),
    )
    .option('--json', 'print [{ policy, frames, refs, hits, hitRatio }]')
    .option('--svg <file>', 'also write the miss-ratio curves as an SVG file')
    .option(
      '--anomaly',
      "search FIFO for Belady's anomaly (over --frames, 1..distinct pages by default)",
    )
    .option(
      '--bench',
      'references per second of each policy and of lru-cache (the samples by default)',
    )
    .addOption(
      new Option('--reps <n>', 'timed runs per --bench row (the median is reported)')
        .argParser(positiveIntegerArgument)
        .default(DEFAULT_BENCH_REPS),
    )
    .action(async (path: string | undefined, flags: PagesFlags) => {
      if (flags.bench) return bench(path === undefined ? SAMPLE_PAGE_TRACES : [path], flags);
      if (path === undefined) throw new UsageError('pages: a trace file is required');
      const trace = readPageTrace(path);
      if (flags.anomaly) return anomaly(path, trace, flags);
      const sizes = flags.frames ?? parseFrameSizes(defaultCurveSpec(trace.distinct));
      const results = replayPolicies(trace, flags.policy, sizes);
      if (flags.svg !== undefined)
        writeSvg(
          flags.svg,
          results,
          `${basename(path)}: ${formatCount(trace.pages.length)} references, ${formatCount(trace.distinct)} pages`,
        );
      if (flags.json) process.stdout.write(`${JSON.stringify(results, null, 2)}\n`);
      else process.stdout.write(formatResults(path, trace, results, flags.policy, new Painter()));
    });
}

/** Reads, gunzips and parses the trace at `path`; every problem is a one-line usage error. */
export function readPageTrace(path: string): PageTrace {
  const bytes = readMaybeGzipped(path);
  try {
    return parsePageTrace(bytes);
  } catch (error) {
    if (error instanceof PageTraceError) throw new UsageError(`${path}: ${error.message}`);
    throw error;
  }
}

function writeSvg(file: string, results: LabResult[], title: string): void {
  try {
    writeFileSync(file, missRatioSvg(results, title));
  } catch (error) {
    if (error instanceof WallosError) throw error;
    throw new UsageError(`cannot write ${file}: ${(error as NodeJS.ErrnoException).code ?? error}`);
  }
}

/** One row per size, one column per policy: hits and the hit ratio. */
function formatResults(
  path: string,
  trace: PageTrace,
  results: LabResult[],
  policies: PolicyName[],
  painter: Painter,
): string {
  const sizes = [...new Set(results.map((result) => result.frames))];
  const cell = new Map(results.map((r) => [`${r.policy}/${r.frames}`, r]));
  const rows = sizes.map((frames) => [
    frames,
    ...policies.map((policy) => {
      const result = cell.get(`${policy}/${frames}`)!;
      return `${formatCount(result.hits)}  ${(100 * result.hitRatio).toFixed(2)}%`;
    }),
  ]);
  const heading = `${path}: ${formatCount(trace.pages.length)} references, ${formatCount(trace.distinct)} distinct pages (hits, hit ratio; cold misses count)`;
  const table = formatTable(painter, ['frames', ...policies], rows, [
    'right',
    ...policies.map(() => 'right' as const),
  ]);
  return `${painter.heading(heading)}\n${table}\n`;
}

/** `--anomaly`: FIFO at every size, reporting each step up that brought more misses. */
function anomaly(path: string, trace: PageTrace, flags: PagesFlags): void {
  const sizes = flags.frames ?? defaultAnomalySizes(trace);
  const anomalies = findBeladyAnomalies(trace, sizes);
  if (flags.json) {
    process.stdout.write(`${JSON.stringify(anomalies, null, 2)}\n`);
    return;
  }
  const range = sizes.length === 0 ? 'no sizes' : `${sizes[0]}..${sizes[sizes.length - 1]} frames`;
  const found =
    anomalies.length === 0
      ? "no Belady's anomaly"
      : `Belady's anomaly at ${anomalies.length} size${anomalies.length === 1 ? '' : 's'}`;
  const lines = [`${path}: FIFO over ${range}: ${found}`];
  for (const a of anomalies) {
    lines.push(
      `  ${a.smaller} → ${a.larger} frames: ${formatCount(a.missesSmaller)} → ${formatCount(a.missesLarger)} misses`,
    );
  }
  if (flags.frames === undefined && sizes.length < trace.distinct) {
    lines.push(
      `(searched up to ${sizes.length} of ${formatCount(trace.distinct)} pages to bound the time; --frames searches others)`,
    );
  }
  process.stdout.write(`${lines.join('\n')}\n`);
}

/** `--bench`: the lab's speed on each trace with the lru-cache peer, then the 1 M curve. */
async function bench(paths: string[], flags: PagesFlags): Promise<void> {
  // Loaded only here: lru-cache is a devDependency, the lab itself needs none.
  const { benchCurve, benchReplacement, LRU_CACHE_PEER } = await import('../bench/pages.js');
  const clocks = {
    wall: () => performance.now(),
    cpu: () => {
      const { user, system } = process.cpuUsage();
      return (user + system) / 1000;
    },
  };
  const rows = paths.flatMap((path) =>
    benchReplacement(basename(path), readPageTrace(path), clocks, flags.reps),
  );
  const curve = benchCurve(clocks, flags.reps);
  const disagreeing = paths
    .map((path) => basename(path))
    .filter((trace) => {
      const hits = (implementation: string) =>
        rows.find((row) => row.trace === trace && row.implementation === implementation)!.hits;
      return hits('lru') !== hits(LRU_CACHE_PEER);
    });
  if (flags.json) {
    process.stdout.write(`${JSON.stringify({ rows, curve }, null, 2)}\n`);
  } else {
    const painter = new Painter();
    const table = formatTable(
      painter,
      ['trace', 'implementation', 'references', 'M refs/s', 'M refs/CPU s', 'hits', 'hit ratio'],
      rows.map((row) => [
        row.trace,
        row.implementation,
        formatCount(row.refs),
        (row.refsPerSec / 1e6).toFixed(1),
        ((row.refsPerCpuSec ?? 0) / 1e6).toFixed(1),
        formatCount(row.hits),
        `${(100 * row.hitRatio).toFixed(2)}%`,
      ]),
      ['left', 'left', 'right', 'right', 'right', 'right', 'right'],
    );
    const agreement =
      disagreeing.length === 0
        ? `${LRU_CACHE_PEER} hits exactly as our lru on every trace.`
        : `${LRU_CACHE_PEER} DISAGREES with our lru on ${disagreeing.join(', ')}.`;
    const curveLine = `Miss-ratio curve: ${curve.sizes} sizes × ${curve.policies} policies on ${formatCount(curve.refs)} references of a ${curve.trace} trace in ${curve.seconds.toFixed(2)} s (${(curve.cpuSeconds ?? 0).toFixed(2)} s of CPU).`;
    process.stdout.write(
      `${table}\n${agreement}\n${curveLine}\n(median of ${flags.reps} runs after a warm-up)\n`,
    );
  }
  if (disagreeing.length > 0) process.exitCode = EXIT_FAILURE;
}
