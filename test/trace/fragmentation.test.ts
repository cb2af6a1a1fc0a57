/**
 * The sample traces replayed inside a process, as `wallos-mem replay` does: verified, and with
 * peak footprint / peak live bytes no worse than glibc's on the same trace;
 * afterwards every frame is back.
 */
import { describe, expect, it } from 'vitest';
import { Machine } from '../../src/kernel/machine.js';
import { parseTrace } from '../../src/trace/parse.js';
import { type ReplayResult, replayTrace } from '../../src/trace/replay.js';
import { finish } from '../kernel/helpers.js';
import { GLIBC_RATIO, readSampleTrace } from '../sample-traces.js';

describe('the sample traces in a process', () => {
  it.each(Object.keys(GLIBC_RATIO))('%s: verified, fragmentation no worse than glibc', (name) => {
    const trace = parseTrace(readSampleTrace(name));
    const machine = Machine.boot({ memory: '256M' });
    let result: ReplayResult | null = null;
    machine.spawn((ctx) => {
      const process = machine.process(ctx.pid)!;
      result = replayTrace(trace, machine.heapOf(process));
    });
    finish(machine);
    expect(result).toMatchObject({
      verified: true,
      ops: trace.ops,
      peakLiveBytes: trace.peakLiveBytes,
    });
    const ratio = result!.peakFootprintBytes / result!.peakLiveBytes;
    expect(ratio).toBeLessThanOrEqual(GLIBC_RATIO[name]!);
  });
});
