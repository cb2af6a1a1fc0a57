/**
 * `wallos-mem run --workload pressure`: processes that together want 1.5 × RAM, with swap
 * (reclaim's figures in the report, every page's stamp checked by its process) and without
 * (the OOM killer), and `--reclaim` comparing policies.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { PolicyRun } from '../../src/cli/pressure.js';
import type { RunReport } from '../../src/cli/run.js';
import { cli, ensureBuilt } from './helpers.js';

beforeAll(ensureBuilt, 120_000);

const SMALL = ['--memory', '16M'];

describe('run --workload pressure', () => {
  it('with swap: every process ends well, through major faults, swap-out and scans', async () => {
    const result = await cli(['run', '--workload', 'pressure', ...SMALL, '--json']);
    expect(result.code).toBe(0);
    const report = JSON.parse(result.stdout) as RunReport;
    expect(report.processes).toHaveLength(3);
    for (const row of report.processes) {
      expect(row.status).toBe('exit 0');
      expect(row.majorFaults).toBeGreaterThan(0);
    }
    const pressure = report.pressure!;
    // As much swap as RAM by default, less its header page (as swapon reports it).
    expect(pressure.swapBytes).toBe(16 * 1024 * 1024 - 4096);
    expect(pressure.policy).toBe('linux');
    const c = pressure.counters;
    expect(c.pswpout).toBeGreaterThan(0);
    expect(c.pswpin).toBe(c.pgmajfault);
    expect(c.pgmajfault).toBe(report.processes.reduce((sum, row) => sum + row.majorFaults, 0));
    expect(c.pgscan_kswapd + c.pgscan_direct).toBeGreaterThanOrEqual(c.pgsteal_kswapd);
    expect(c.oom_kill).toBe(0);
    expect(pressure.peakSwapUsedBytes).toBeGreaterThan(0);
    expect(report.teardown.ok).toBe(true);
  }, 60_000);

  it('without swap: the OOM killer kills, as expected, and says so in the kernel log', async () => {
    const result = await cli(['run', '--workload', 'pressure', ...SMALL, '--swap', '0']);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('== Memory pressure ==');
    expect(result.stdout).toContain('no swap');
    expect(result.stdout).toMatch(/Out of memory: Killed process \d+ \(pressure-\d\)/);
    expect(result.stdout).toMatch(/│ oom_kill +│ +[1-9]/);
    expect(result.stdout).toMatch(/pressure-\d +│ SIGKILL/);
    expect(result.stdout).toContain('All memory came back');
  }, 60_000);

  it('--reclaim compares policies: fifo, blind to the hot pages, takes the most major faults', async () => {
    const args = ['run', '--workload', 'pressure', ...SMALL, '--reclaim', 'linux,fifo', '--json'];
    const result = await cli(args);
    expect(result.code).toBe(0);
    const runs = JSON.parse(result.stdout) as PolicyRun[];
    expect(runs.map((run) => run.policy)).toEqual(['linux', 'fifo']);
    expect(runs.every((run) => run.ok)).toBe(true);
    const [linux, fifo] = runs.map((run) => run.pressure.counters.pgmajfault) as [number, number];
    expect(linux).toBeGreaterThan(0);
    expect(fifo).toBeGreaterThan(linux);
    const text = await cli(['run', '--workload', 'pressure', ...SMALL, '--reclaim', 'clock,fifo']);
    expect(text.stdout).toMatch(/POLICY +│ MAJOR FAULTS/);
    expect(text.stdout).toMatch(/│ clock +│ +[\d,]+ │/);
  }, 120_000);

  it('a policy that does not exist, or a comparison without swap, is a usage error', async () => {
    const bogus = await cli(['run', '--workload', 'pressure', '--reclaim', 'lru']);
    expect(bogus.code).toBe(2);
    expect(bogus.stderr).toContain("'lru' is not a reclaim policy (linux, clock, fifo)");
    const swapless = await cli(['run', '--workload', 'none', '--reclaim', 'linux,clock']);
    expect(swapless.code).toBe(2);
    expect(swapless.stderr).toContain('--swap');
  }, 60_000);
});
