import { describe, expect, it } from 'vitest';
import { cpuRows, TLB_ENTRIES_SHOWN } from '../../src/web/model/cpu-view.js';
import { Simulation } from '../../src/web/model/simulation.js';
import { THREAD_CPUS } from '../../src/web/model/threads-workload.js';

describe('the CPU view', () => {
  it('shows the threads workload on its CPUs, their TLBs and the shootdowns they received', () => {
    const sim = new Simulation({ memory: '64M', workload: 'threads', seed: 1 });
    expect(sim.machine.cpuCount).toBe(THREAD_CPUS);
    sim.step(20);
    const rows = cpuRows(sim.machine);
    expect(rows.map((row) => row.holds)).toEqual(new Array(THREAD_CPUS).fill('[1] threads'));
    expect(rows.some((row) => row.shootdownsReceived > 0)).toBe(true);
    for (const row of rows) {
      expect(row.entries.length).toBe(Math.min(row.userEntries, TLB_ENTRIES_SHOWN));
      const tlb = sim.machine.mmus[row.cpu]!.tlb.entries().filter((e) => e.user);
      expect(row.userEntries).toBe(tlb.length);
    }
    while (!sim.finished) sim.step(100);
    const [handle] = sim.handles;
    expect(handle!.exitCode).toBe(0);
    sim.machine.check();
  });

  it('one CPU on the other workloads', () => {
    const sim = new Simulation({ memory: '64M', workload: 'mixed', seed: 1 });
    expect(cpuRows(sim.machine)).toHaveLength(1);
  });
});
