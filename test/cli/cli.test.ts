import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { beforeAll, describe, expect, it } from 'vitest';
import { EXAMPLE_TRACE } from '../example-trace.js';
import { type CliResult, cli, collect, ensureBuilt, ROOT, start } from './helpers.js';

const DEMO_TRACE = join(ROOT, 'assets', 'demo.trace.gz');
/** The example of docs/trace-format.md: 6 ops, live bytes peaking at 4264. */
const SIGSEGV = 11;

let scratch: string;

beforeAll(() => {
  ensureBuilt();
  scratch = mkdtempSync(join(tmpdir(), 'wallos-cli-'));
});

function scratchFile(name: string, contents: string | Uint8Array): string {
  const path = join(scratch, name);
  writeFileSync(path, contents);
  return path;
}

/** A usage or runtime error: exactly one line on stderr, no stack trace, nothing on stdout. */
function expectOneLineError(result: CliResult, code: number, pattern: RegExp): void {
  expect(result.code).toBe(code);
  expect(result.stdout).toBe('');
  const lines = result.stderr.split('\n').filter((line) => line !== '');
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(pattern);
  expect(result.stderr).not.toMatch(/^\s+at /m);
}

interface ProcessRow {
  name: string;
  pid: number;
  ppid: number;
  status: string;
  signal: number | null;
  exitCode: number | null;
  faults: number;
  cowBreaks: number;
  peakRssBytes: number;
  heapPeakBytes: number;
  asExpected: boolean;
}

describe('run', () => {
  it('runs the demo: every report section, the segfault contained, all memory back', async () => {
    const result = await cli(['run', '--memory', '128M', '--then', 'proc /proc/buddyinfo']);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    for (const section of [
      '== Boot ==',
      'BIOS-e820',
      '== Processes ==',
      '== Program output ==',
      '== Trace replay',
      '== Memory at its lowest',
      'MemTotal',
      'slabinfo',
      '== Teardown ==',
      '== proc /proc/buddyinfo ==',
    ]) {
      expect(result.stdout).toContain(section);
    }
    expect(result.stdout).toMatch(/All memory came back: ([\d,]+) free frames .*, \1 at boot/);
    expect(result.stdout).toMatch(/segfault at 0x[0-9a-f]{16} \(write, SEGV_ACCERR\)/);
    expect(result.stdout).not.toContain('\x1b['); // piped and NO_COLOR: no colour
  });

  it('--json: one process per program and child, only the faulting one killed', async () => {
    const result = await cli(['run', '--memory', '128M', '--seed', '7', '--json']);
    expect(result.code).toBe(0);
    const report = JSON.parse(result.stdout);
    const rows = report.processes as ProcessRow[];
    const shell = rows.find((row) => row.name === 'sh' && row.ppid === 0)!;
    const children = rows.filter((row) => row.ppid === shell.pid);
    expect(children.length).toBeGreaterThan(1);
    for (const child of children) expect(child.cowBreaks).toBeGreaterThan(0);
    const segv = rows.find((row) => row.name === 'segv')!;
    expect([segv.signal, segv.exitCode, segv.status]).toEqual([SIGSEGV, null, 'SIGSEGV']);
    for (const row of rows.filter((r) => r !== segv)) {
      expect(row.status).toBe('exit 0');
      expect(row.asExpected).toBe(true);
    }
    expect(report.replay.verified).toBe(true);
    expect(report.peak.meminfo.MemTotal).toBeGreaterThan(report.peak.meminfo.MemFree);
    expect(report.teardown).toMatchObject({ memoryReturned: true, checkFailure: null, ok: true });
    expect(report.teardown.freeFrames).toBe(report.teardown.bootFreeFrames);
  });

  it('is deterministic given the seed, and the seed matters', async () => {
    const runs = await Promise.all(
      [1, 1, 2].map((seed) =>
        cli(['run', '--memory', '64M', '--workload', 'mmap', '--seed', String(seed), '--json']),
      ),
    );
    const [a, b, c] = runs.map((r) => JSON.parse(r.stdout).processes as ProcessRow[]);
    expect(a).toEqual(b);
    expect(a![0]!.peakRssBytes).not.toBe(c![0]!.peakRssBytes);
  });

  it('on a machine too small the OOM killer strikes: exit 1, yet all memory comes back', async () => {
    const result = await cli(['run', '--memory', '1M']);
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/killed: out of memory/);
    expect(result.stdout).toMatch(/ended unexpectedly: SIGKILL/);
    expect(result.stdout).toMatch(/All memory came back: ([\d,]+) free frames .*, \1 at boot/);
  });

  it('replays a trace file given as the workload', async () => {
    const path = scratchFile('small.trace', EXAMPLE_TRACE);
    const result = await cli(['run', '--memory', '32M', '--workload', path, '--json']);
    expect(result.code).toBe(0);
    const report = JSON.parse(result.stdout);
    expect(report.replay).toMatchObject({ ops: 6, peakLiveBytes: 4264, verified: true });
    expect(report.processes.map((p: ProcessRow) => p.name)).toEqual(['py-replay']);
  });

  it("the replaying process's heap peak is the replay's largest footprint, reached off a live peak", async () => {
    // Two 50 KiB holes kept apart, then a 60 KiB block that fits neither: the heap grows while
    // live bytes stay below their peak, so its largest footprint comes after the sampled one;
    // freed, it all merges into the top, which is trimmed.
    const ops = ['a 1 51200', 'a 2 2048', 'a 3 51200', 'a 4 2048', 'f 1', 'f 3', 'a 5 61440'];
    const freed = ['f 5', 'f 4', 'f 2'];
    const header = `# wallos-trace v1\n# program: holes\n# ops: ${ops.length + freed.length}\n`;
    const trace = `${header}# peak_live_bytes: 106496\n# threads: 1\n${[...ops, ...freed].join('\n')}\n`;
    const path = scratchFile('holes.trace', trace);
    const result = await cli(['run', '--memory', '32M', '--workload', path, '--json']);
    expect(result.code).toBe(0);
    const report = JSON.parse(result.stdout);
    expect(report.replay.maxFootprintBytes).toBeGreaterThan(report.replay.peakFootprintBytes);
    const [row] = report.processes as ProcessRow[];
    expect(row!.heapPeakBytes).toBe(report.replay.maxFootprintBytes);
  });
});

describe.concurrent('usage errors exit 2 with one line', () => {
  const cases: [string, string[], RegExp][] = [
    ['a bad size', ['run', '--memory', '12Q'], /--memory.*'12Q'/],
    ['an unknown flag', ['run', '--bogus'], /unknown option '--bogus'/],
    ['an unknown command', ['frobnicate'], /unknown command 'frobnicate'/],
    ['a negative seed', ['run', '--seed', '-3'], /--seed/],
    ['an unknown workload', ['run', '--workload', 'nope'], /unknown workload 'nope'/],
    ['a --then that is not proc', ['run', '--then', 'ls /'], /--then 'ls \/'/],
    ['a missing trace', ['replay', '/no/such/file.trace.gz'], /no such file/],
    ['replay without a trace', ['replay'], /missing required argument/],
    ['an unknown bench workload', ['bench', 'Z9'], /unknown workload 'Z9'/],
    ['a zero --ops', ['bench', 'H1', '--ops', '0'], /--ops/],
    ['a zero --forks', ['bench', 'H1', '--forks', '0'], /--forks/],
    ['a machine too small', ['run', '--memory', '1K'], /--memory: .*outside/],
    ['a port out of range', ['serve', '--port', '70000'], /--port.*not a port/],
  ];
  it.each(cases)('%s', async (_name, args, pattern) => {
    expectOneLineError(await cli(args), 2, pattern);
  });
});

describe('replay', () => {
  it('replays a tiny trace inside a process, plain and gzipped alike', async () => {
    const plain = scratchFile('tiny.trace', EXAMPLE_TRACE);
    const gzipped = scratchFile('tiny.trace.gz', gzipSync(EXAMPLE_TRACE));
    const results = await Promise.all([
      cli(['replay', plain, '--json', '--memory', '32M']),
      cli(['replay', gzipped, '--json', '--memory', '32M']),
    ]);
    const [a, b] = results.map((r) => {
      expect(r.code).toBe(0);
      return JSON.parse(r.stdout);
    });
    expect(Object.keys(a).sort()).toEqual(
      ['nsPerOp', 'ops', 'peakFootprintBytes', 'peakLiveBytes', 'verified'].sort(),
    );
    expect(a).toMatchObject({ ops: 6, peakLiveBytes: 4264, verified: true });
    expect(a.peakFootprintBytes).toBeGreaterThanOrEqual(4264);
    expect(a.nsPerOp).toBeGreaterThan(0);
    expect(b).toMatchObject({
      ops: 6,
      peakLiveBytes: 4264,
      peakFootprintBytes: a.peakFootprintBytes,
    });
  });

  it('replays the bundled demo trace: its header figures check out', async () => {
    const text = gunzipSync(readFileSync(DEMO_TRACE)).toString('latin1');
    const header = (key: string) => Number(new RegExp(`^# ${key}: (\\d+)$`, 'm').exec(text)![1]);
    const opLines = text.split('\n').filter((line) => /^[a-z]/.test(line)).length;
    expect(header('ops')).toBe(opLines);
    const result = await cli(['replay', DEMO_TRACE, '--json']);
    expect(result.code).toBe(0);
    const json = JSON.parse(result.stdout);
    expect(json).toMatchObject({
      ops: opLines,
      peakLiveBytes: header('peak_live_bytes'),
      verified: true,
    });
    expect(json.peakFootprintBytes).toBeGreaterThanOrEqual(json.peakLiveBytes);
  });

  it('prints a readable summary without --json', async () => {
    const path = scratchFile('summary.trace', EXAMPLE_TRACE);
    const result = await cli(['replay', path, '--memory', '32M']);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^ops:\s+6$/m);
    expect(result.stdout).toMatch(/^verified:\s+yes/m);
  });

  it('--warmup and --passes set exact pass counts, and the summary says how it timed', async () => {
    const path = scratchFile('counts.trace', EXAMPLE_TRACE);
    const result = await cli(['replay', path, '--memory', '32M', '--warmup', '1', '--passes', '3']);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^speed: .*median of 3 runs after 1 warm-up run\)$/m);
  });

  it('replays a synthetic trace by name; an unknown name is a usage error listing them', async () => {
    const result = await cli([
      'replay',
      'synthetic:realloc-ladder',
      '--json',
      '--warmup',
      '0',
      '--passes',
      '1',
    ]);
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ verified: true });
    expectOneLineError(await cli(['replay', 'synthetic:nope']), 2, /realloc-ladder, grow-400/);
  });

  it('--flat replays the same allocator standalone over an ArrayBuffer', async () => {
    const path = scratchFile('flat.trace', EXAMPLE_TRACE);
    const result = await cli(['replay', path, '--flat', '--json', '--memory', '1M']);
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({
      ops: 6,
      peakLiveBytes: 4264,
      verified: true,
    });
  });

  it('an allocation that fails for want of memory is a runtime error (exit 1)', async () => {
    const path = scratchFile('big.trace', EXAMPLE_TRACE.replace('a 1 100', 'a 1 1000000'));
    const fixed = readFileSync(path, 'utf8').replace(
      'peak_live_bytes: 4264',
      'peak_live_bytes: 1004064',
    );
    writeFileSync(path, fixed);
    expectOneLineError(
      await cli(['replay', path, '--flat', '--memory', '64K']),
      1,
      /returned NULL/,
    );
  });

  it('a malformed trace is a runtime error (exit 1) naming the line', async () => {
    const path = scratchFile('bad.trace', EXAMPLE_TRACE.replace('f 2\n', 'f 9\n'));
    expectOneLineError(await cli(['replay', path]), 1, /bad\.trace: trace line 10/);
  });

  it('a corrupt gzip file is a runtime error (exit 1)', async () => {
    const bytes = gzipSync(EXAMPLE_TRACE).subarray(0, 20);
    const path = scratchFile('cut.trace.gz', bytes);
    expectOneLineError(await cli(['replay', path]), 1, /cut\.trace\.gz: not a valid gzip file/);
  });
});

describe('proc', () => {
  it('prints a /proc file after a workload', async () => {
    const result = await cli(['proc', '/proc/meminfo', '--workload', 'fork', '--memory', '64M']);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^MemTotal:\s+\d+ kB$/m);
    const slab = await cli(['proc', '/proc/slabinfo', '--memory', '64M']);
    expect(slab.stdout.split('\n')[0]).toBe('slabinfo - version: 2.1');
  });

  it('an unknown path is one line and exit 1', async () => {
    expectOneLineError(
      await cli(['proc', '/proc/nothing', '--memory', '64M']),
      1,
      /\/proc\/nothing/,
    );
  });
});

describe('shell', () => {
  /** A shell driven line by line: each command waits for the output it should produce. */
  function session() {
    const child = start(['shell', '--memory', '64M']);
    const output = collect(child);
    const waitFor = async (stream: () => string, pattern: RegExp): Promise<RegExpExecArray> => {
      for (;;) {
        const match = pattern.exec(stream());
        if (match !== null) return match;
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    };
    return {
      send: (line: string) => child.stdin.write(`${line}\n`),
      out: (pattern: RegExp) => waitFor(output.stdout, pattern),
      err: (pattern: RegExp) => waitFor(output.stderr, pattern),
      end: () => {
        child.stdin.end('exit\n');
        return output.done;
      },
    };
  }

  it('spawns, allocates, walks the page tables, forks and kills, driven through stdin', async () => {
    const sh = session();
    sh.send('spawn worker');
    const pid = (await sh.out(/\[(\d+)\] worker/))[1]!;
    sh.send(`alloc ${pid} 64K`);
    const block = (await sh.out(/malloc\(65536\) = (0x[0-9a-f]{16})/))[1]!;
    sh.send(`touch ${pid} ${block} 64K`);
    await sh.out(/touched 1[67] page\(s\)/);
    sh.send(`walk ${pid} ${block}`);
    const walk = (await sh.out(/walk of [^\n]*\n[\s\S]*?\n=> [^\n]*\n/))[0];
    for (const level of ['PML4', 'PDPT', 'PD', 'PT'])
      expect(walk).toMatch(new RegExp(`│ ${level} `));
    expect(walk).toMatch(/=> 0x[0-9a-f]{16} \(4 KiB page, user, writable, no-execute\)/);
    sh.send(`fork ${pid}`);
    const child = (await sh.out(/fork\(\) = (\d+)/))[1]!;
    sh.send(`cat /proc/${child}/status`);
    await sh.out(new RegExp(`PPid:\\t${pid}\\n`));
    sh.send(`kill ${pid}`);
    await sh.out(/killed \(SIGKILL\)/);
    sh.send(`touch ${child} 0x10`);
    await sh.err(/\[\d+\] worker died: SEGV_MAPERR at 0x0000000000000010/);
    sh.send('ps');
    const ps = (await sh.out(/│ PID[\s\S]*?└/))[0];
    expect(ps).not.toMatch(new RegExp(`│\\s+${child} │`));
    sh.send('bogus');
    await sh.err(/unknown command 'bogus'/);
    sh.send('alloc x 10');
    await sh.err(/'x' is not a pid/);
    sh.send('tlb');
    await sh.out(/TLB: \d+ entries cached, [\d,]+ misses \(page walks\)/);
    const result = await sh.end();
    // Commands failed above ('bogus', 'alloc x 10'): a piped session exits 1 at its end.
    expect(result.code).toBe(1);
  });

  it('reads a whole piped script, with history and help', async () => {
    const result = await cli(['shell', '--memory', '32M'], {
      input: 'help\nspawn a\ncat /proc/buddyinfo\nhistory\nexit\nspawn never\n',
    });
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('walk PID VA');
    expect(result.stdout).toMatch(/Node 0, zone\s+DMA/);
    expect(result.stdout).toMatch(/ {3}3 {2}cat \/proc\/buddyinfo/);
    expect(result.stdout).not.toContain('never');
  });
});

describe('bench', () => {
  it('--json rows for ours, ours in a process, and the peer, in one run', async () => {
    const result = await cli(['bench', 'H1', 'S1', '--ops', '3000', '--reps', '1', '--json']);
    expect(result.code).toBe(0);
    const rows = JSON.parse(result.stdout) as Record<string, unknown>[];
    expect(rows.map((r) => `${r.workload} ${r.implementation}`)).toEqual([
      'H1 wallos-memory',
      'H1 wallos-memory/process',
      'H1 @thi.ng/malloc',
      'S1 wallos-memory',
    ]);
    for (const row of rows) {
      expect(Object.keys(row).sort()).toEqual([
        'implementation',
        'nsPerOp',
        'opsPerSec',
        'workload',
      ]);
      expect(row.nsPerOp).toBeGreaterThan(0);
      expect(row.opsPerSec as number).toBeCloseTo(1e9 / (row.nsPerOp as number), 3);
    }
  });

  it('prints a table', async () => {
    const result = await cli([
      'bench',
      'B2',
      '--ops',
      '2000',
      '--reps',
      '1',
      '--forks',
      '2',
      '--no-native',
    ]);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/│ B2 +│ wallos-memory +│ +[\d.]+ │/);
  });
});

describe.concurrent('--help and --version', () => {
  it('--version prints the package version', async () => {
    const { version } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
    const result = await cli(['--version']);
    expect([result.code, result.stdout.trim()]).toEqual([0, version]);
  });

  it.each(['run', 'replay', 'proc', 'shell', 'bench', 'serve'])('%s --help', async (command) => {
    const result = await cli([command, '--help']);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(`Usage: wallos-mem ${command}`);
  });
});
