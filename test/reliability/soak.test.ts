import { describe, expect, it } from 'vitest';
import { runSoak } from '../../src/cli/soak.js';

describe('soak', () => {
  it('reports progress and a summary, and holds up', () => {
    const lines: string[] = [];
    const ok = runSoak({ ops: 6000, seed: 11, memory: '16M', progressEvery: 2000 }, (line) =>
      lines.push(line),
    );
    expect(ok).toBe(true);
    expect(lines.filter((line) => line.startsWith('soak: ')).length).toBe(3);
    expect(lines.at(-1)).toMatch(/^soak seed 11: 6000 ops in .* OK$/);
  });

  it('an impossible machine size is an error, not a run', () => {
    expect(() => runSoak({ ops: 10, seed: 1, memory: '1K' }, () => {})).toThrow();
  });
});
