import { describe, expect, it } from 'vitest';
import { benchShootdowns } from '../../src/bench/smp.js';

describe('bench SMP', () => {
  it('counts one IPI per other CPU per munmap, however many pages it unmaps', () => {
    let clock = 0;
    const rows = benchShootdowns(() => clock++);
    expect(rows.map((r) => [r.workload, r.ipisPerOp])).toEqual([
      ['SMP-shootdown', 3],
      ['SMP-shootdown-512', 3],
      ['SMP-munmap-1cpu', 0],
    ]);
    for (const row of rows) expect(row.nsPerOp).toBeGreaterThan(0);
  });
});
