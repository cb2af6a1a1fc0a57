import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { beforeAll, describe, expect, it } from 'vitest';
import { type CliResult, cli, ensureBuilt, ROOT } from './helpers.js';

const CPP = join(ROOT, 'assets', 'pagetraces', 'cpp.trace');
/** Belady, Nelson & Shedler's string: FIFO misses 9 times with 3 frames, 10 with 4. */
const BELADY = '1\n2\n3\n4\n1\n2\n5\n1\n2\n3\n4\n5\n';
const EXIT_USAGE = 2;

let scratch: string;

beforeAll(() => {
  ensureBuilt();
  scratch = mkdtempSync(join(tmpdir(), 'wallos-pages-'));
});

function scratchFile(name: string, contents: string | Uint8Array): string {
  const path = join(scratch, name);
  writeFileSync(path, contents);
  return path;
}

interface Row {
  policy: string;
  frames: number;
  refs: number;
  hits: number;
  hitRatio: number;
}

async function pagesJson(args: string[]): Promise<Row[]> {
  const result = await cli(['pages', ...args, '--json']);
  expect(result.stderr).toBe('');
  expect(result.code).toBe(0);
  return JSON.parse(result.stdout) as Row[];
}

function expectUsageError(result: CliResult, pattern: RegExp): void {
  expect(result.code).toBe(EXIT_USAGE);
  expect(result.stdout).toBe('');
  const lines = result.stderr.split('\n').filter((line) => line !== '');
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(pattern);
}

describe('wallos-mem pages', () => {
  it('prints { policy, frames, refs, hits, hitRatio } for each policy and size', async () => {
    const rows = await pagesJson([CPP, '--policy', 'lru,opt', '--frames', '100,200']);
    expect(rows.map((row) => Object.keys(row))).toEqual(
      Array(4).fill(['policy', 'frames', 'refs', 'hits', 'hitRatio']),
    );
    expect(rows.map((row) => [row.policy, row.frames, row.refs])).toEqual([
      ['lru', 100, 9047],
      ['lru', 200, 9047],
      ['opt', 100, 9047],
      ['opt', 200, 9047],
    ]);
    for (const row of rows) expect(row.hitRatio).toBe(row.hits / row.refs);
    expect(rows[2]!.hits).toBeGreaterThan(rows[0]!.hits);
  });

  it('counts cold misses: one frame per page leaves refs - distinct hits for every policy', async () => {
    const rows = await pagesJson([CPP, '--policy', 'all', '--frames', '1223']);
    expect(rows.map((row) => row.policy)).toEqual(['fifo', 'lru', 'clock', 'opt', 'arc', 'linux']);
    for (const row of rows) expect(row.hits).toBe(9047 - 1223);
  });

  it('takes a range of sizes and reads gzip like plain text', async () => {
    const gzipped = scratchFile('cpp.trace.gz', gzipSync(readFileSync(CPP)));
    const plain = await pagesJson([CPP, '--policy', 'clock', '--frames', '100..200/50']);
    const fromGzip = await pagesJson([gzipped, '--policy', 'clock', '--frames', '100..200/50']);
    expect(plain.map((row) => row.frames)).toEqual([100, 150, 200]);
    expect(fromGzip).toEqual(plain);
  });

  it('prints a table of hits and hit ratios, one column per policy', async () => {
    const trace = scratchFile('belady.trace', BELADY);
    const result = await cli(['pages', trace, '--policy', 'fifo,lru', '--frames', '3,4']);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('12 references, 5 distinct pages');
    expect(result.stdout).toMatch(/│\s+3 │\s+3\s+25\.00% │\s+2\s+16\.67% │/);
    expect(result.stdout).toMatch(/│\s+4 │\s+2\s+16\.67% │\s+4\s+33\.33% │/);
  });

  it.each([
    [['--policy', 'lfu', '--frames', '4'], /unknown policy 'lfu'/],
    [['--frames', '0'], /'0' is not a number of frames/],
    [['--frames', '10..5'], /range '10..5' runs backwards/],
    [['--frames', 'many'], /'many' is not a number of frames/],
  ])('rejects %j with one line and exit 2', async (args, pattern) => {
    const trace = scratchFile('small.trace', BELADY);
    expectUsageError(await cli(['pages', trace, ...args]), pattern);
  });

  it('draws 20 sizes up to the distinct pages when no --frames is given', async () => {
    const rows = await pagesJson([CPP, '--policy', 'lru']);
    expect(rows.map((row) => row.frames)).toEqual(
      Array.from({ length: 20 }, (_, i) => 62 * (i + 1)),
    );
  });

  it('names the line of a bad trace, and a missing file', async () => {
    const bad = scratchFile('bad.trace', '# header\n1\n2\n3 4\nR 17\n');
    expectUsageError(
      await cli(['pages', bad, '--frames', '2']),
      /bad\.trace: line 5: "R 17" is not a page number$/,
    );
    expectUsageError(
      await cli(['pages', join(scratch, 'none.trace'), '--frames', '2']),
      /cannot read trace .*none\.trace: no such file/,
    );
  });

  it("finds Belady's anomaly by searching FIFO over the sizes", async () => {
    const trace = scratchFile('anomaly.trace', BELADY);
    const text = await cli(['pages', '--anomaly', trace]);
    expect(text.code).toBe(0);
    expect(text.stdout).toContain("FIFO over 1..5 frames: Belady's anomaly at 1 size");
    expect(text.stdout).toContain('3 → 4 frames: 9 → 10 misses');
    const json = await cli(['pages', '--anomaly', trace, '--json']);
    expect(JSON.parse(json.stdout)).toEqual([
      { smaller: 3, larger: 4, missesSmaller: 9, missesLarger: 10 },
    ]);
    const none = await cli(['pages', '--anomaly', trace, '--frames', '4..5', '--json']);
    expect(JSON.parse(none.stdout)).toEqual([]);
  });

  it('writes the miss-ratio curves as an SVG, one curve per policy, OPT as the floor', async () => {
    const svg = join(scratch, 'curves.svg');
    const rows = await pagesJson([
      CPP,
      '--policy',
      'lru,opt,arc',
      '--frames',
      '50..300/50',
      '--svg',
      svg,
    ]);
    expect(rows).toHaveLength(18);
    const document = readFileSync(svg, 'utf8');
    expect(document).toMatch(/^<svg xmlns="http:\/\/www.w3.org\/2000\/svg"/);
    // Well-formed enough for XML readers: no element repeats an attribute.
    for (const [tag] of document.matchAll(/<[a-z]+(\s[^>]*)?>/g)) {
      const names = [...tag.matchAll(/\s([a-z-]+)=/g)].map((match) => match[1]);
      expect(new Set(names).size).toBe(names.length);
    }
    expect(document.match(/<polyline /g)).toHaveLength(3);
    expect(document).toContain('opt (the floor)');
    expect(document).toContain('unavoidable misses (OPT)');
    expect(document).toContain('>frames</text>');
    expect(document).toContain('>miss ratio</text>');
    expect(document).toContain('cpp.trace: 9,047 references, 1,223 pages');
  });

  it('gives wallos-mem bench a PR row per policy and the lru-cache peer on each sample', async () => {
    const result = await cli(['bench', 'PR', '--reps', '1', '--forks', '1', '--json']);
    expect(result.code).toBe(0);
    const rows = JSON.parse(result.stdout) as {
      workload: string;
      implementation: string;
      nsPerOp: number;
    }[];
    const implementations = [
      ...['fifo', 'lru', 'clock', 'opt', 'arc', 'linux'].map((p) => `wallos-memory (${p})`),
      'lru-cache',
    ];
    expect(rows.map((row) => `${row.workload} ${row.implementation}`)).toEqual([
      ...implementations.map((name) => `PR cpp ${name}`),
      ...implementations.map((name) => `PR ps ${name}`),
    ]);
    for (const row of rows) expect(row.nsPerOp).toBeGreaterThan(0);
  });
});
