/**
 * The CLI as a new user meets it (issue 19): short /proc names, errors that say what is wrong
 * and what would be right, scripts that fail loudly, errno names, one unit per message.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { cli, ensureBuilt } from './helpers.js';

beforeAll(() => {
  ensureBuilt();
});

/** The one line a failed command printed on stderr. */
function errorLine(stderr: string): string {
  const lines = stderr.split('\n').filter((line) => line !== '');
  expect(lines).toHaveLength(1);
  return lines[0]!;
}

describe.concurrent('/proc by its short names', () => {
  it('`proc meminfo` prints /proc/meminfo', async () => {
    const short = await cli(['proc', 'meminfo', '--memory', '64M']);
    expect(short.stderr).toBe('');
    expect(short.code).toBe(0);
    expect(short.stdout).toMatch(/^MemTotal:\s+\d+ kB$/m);
    expect(short.stdout).toBe((await cli(['proc', '/proc/meminfo', '--memory', '64M'])).stdout);
  });

  it('a miss lists the files /proc has', async () => {
    const result = await cli(['proc', 'nothing', '--memory', '64M']);
    expect(result.code).toBe(1);
    expect(errorLine(result.stderr)).toBe(
      'wallos-mem: /proc/nothing: no such file in /proc (it has: meminfo, buddyinfo, slabinfo, vmstat, swaps, zoneinfo, cpuinfo, interrupts, sys/kernel/randomize_va_space)',
    );
  });

  it('`--then` takes them too', async () => {
    const result = await cli(['run', '--memory', '64M', '--then', 'proc buddyinfo']);
    expect(result.stdout).toMatch(/== proc buddyinfo ==\nNode 0, zone\s+DMA/);
  });

  it('the shell’s `cat meminfo`, `cat 1/status` and `cat /proc/vmstat` all read /proc', async () => {
    const result = await cli(['shell', '--memory', '32M'], {
      input: 'spawn a\ncat meminfo\ncat 1/status\ncat /proc/vmstat\n',
    });
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^MemTotal:/m);
    expect(result.stdout).toMatch(/^Name:\ta$/m);
    expect(result.stdout).toMatch(/^pgfault \d+$/m);
  });
});

describe.concurrent('the shell, piped', () => {
  it('runs a script to its end, then exits 1 when a command failed', async () => {
    const result = await cli(['shell', '--memory', '32M'], {
      input: 'spawn a\ncat nothing\nps\n',
    });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(
      'error: /proc/nothing: no such file in /proc (it has: meminfo, buddyinfo, slabinfo, vmstat, swaps, zoneinfo, cpuinfo, interrupts, sys/kernel/randomize_va_space, PID/maps, PID/status, PID/stat, PID/smaps, PID/oom_score, PID/oom_score_adj (PID: 1))',
    );
    expect(result.stdout).toMatch(/│ +1 │ +0 │ a /);
  });

  it('exits 0 when every command succeeded', async () => {
    const result = await cli(['shell', '--memory', '32M'], { input: 'spawn a\nps\nexit\n' });
    expect(result.code).toBe(0);
  });

  it('names errno values: a malloc too large is ENOMEM', async () => {
    const result = await cli(['shell', '--memory', '32M'], { input: 'spawn a\nalloc 1 10G\n' });
    expect(result.stdout).toContain('malloc(10737418240) = NULL (ENOMEM)');
  });
});

describe.concurrent('errors that say what is wrong', () => {
  it('a workload file that exists but is no trace: the trace parser says why', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'wallos-newcomer-')), 'notes.txt');
    writeFileSync(path, 'hello\n');
    const result = await cli(['run', '--workload', path]);
    expect(result.code).toBe(1);
    expect(errorLine(result.stderr)).toMatch(/notes\.txt: trace line 1: .*wallos-trace v1/);
  });

  it('--memory 0: sizes in one unit each', async () => {
    const result = await cli(['run', '--memory', '0']);
    expect(result.code).toBe(2);
    expect(errorLine(result.stderr)).toBe(
      'wallos-mem: --memory: memory size 0 B is outside the supported 1 MiB .. 128 GiB',
    );
  });

  it('one process alive is singular', async () => {
    const result = await cli(['run', '--memory', '64M', '--workload', 'segfault']);
    expect(result.stdout).toMatch(/Memory at its lowest \([\d,]+ free frames, 1 process alive\)/);
  });

  it('bench without a native reference says so in one line', async () => {
    const result = await cli(['bench', 'S1', '--ops', '2000', '--reps', '1', '--forks', '1'], {
      env: { WALLOS_NATIVE_REF: '/nonexistent/native-ref' },
    });
    expect(result.code).toBe(0);
    const notes = result.stdout.split('\n').filter((line) => line.startsWith('native-ref'));
    expect(notes).toEqual([expect.stringMatching(/^native-ref absent: .*WALLOS_NATIVE_REF/)]);
  });
});
