import { beforeAll, describe, expect, it } from 'vitest';
import { cli, ensureBuilt } from './helpers.js';

beforeAll(() => {
  ensureBuilt();
});

describe('several CPUs on the command line', () => {
  it('run --cpus 4 --workload threads: every CPU receives shootdowns, all memory comes back', async () => {
    const result = await cli(['run', '--cpus', '4', '--workload', 'threads', '--json']);
    expect(result.code).toBe(0);
    const report = JSON.parse(result.stdout);
    expect(report.processes).toMatchObject([{ name: 'threads', status: 'exit 0' }]);
    expect(report.processes[0].stdout).toBe(
      '4 threads on 4 CPUs mapped, shared, protected and unmapped, intact: true\n',
    );
    const received = report.cpus.map(
      (cpu: { shootdownsReceived: number }) => cpu.shootdownsReceived,
    );
    expect(received).toHaveLength(4);
    for (const count of received) expect(count).toBeGreaterThan(0);
    expect(report.ipisSent).toBe(received.reduce((a: number, b: number) => a + b, 0));
    expect(report.teardown.ok).toBe(true);
  });

  it('--seed chooses the interleaving: one seed one run, other seeds other shootdown counts', async () => {
    const received = async (seed: number) => {
      const args = ['run', '--cpus', '4', '--workload', 'threads', '--seed', String(seed)];
      const report = JSON.parse((await cli([...args, '--json'])).stdout);
      return report.cpus.map((cpu: { shootdownsReceived: number }) => cpu.shootdownsReceived);
    };
    const runs = await Promise.all([1, 1, 2, 3].map(received));
    expect(runs[1]).toEqual(runs[0]);
    expect(new Set(runs.map((counts) => counts.join())).size).toBeGreaterThan(1);
  });

  it('the text report has a CPUs section, and --cpus must be 1..64', async () => {
    const text = await cli(['run', '--cpus', '2', '--workload', 'threads']);
    expect(text.stdout).toMatch(
      /== CPUs ==\n[\s\S]*TLB SHOOTDOWNS RECEIVED[\s\S]*IPIs sent in all/,
    );
    const bad = await cli(['run', '--cpus', '65']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--cpus <n>.*must be 1\.\.64/);
  });

  it('the shell lists the CPUs and shows the TLB of the one it looks at', async () => {
    const result = await cli(['shell', '--cpus', '2', '--memory', '64M'], {
      input: 'spawn a\nspawn b\nmmap 1 16K\nmmap 2 16K\ncpus\ncpu 1\ntlb\ncpu 2\n',
    });
    expect(result.stdout).toMatch(/│ \* │ +0 │ \[1\] a +│/);
    expect(result.stdout).toMatch(/│ {3}│ +1 │ \[2\] b +│/);
    expect(result.stdout).toMatch(/CPU 1 TLB: \d+ entries cached/);
    expect(result.stderr).toMatch(/no CPU 2 \(the machine has 2\)/);
  });
});
