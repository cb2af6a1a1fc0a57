/**
 * A synthetic big-realloc trace replayed in a process: the growing block moves by mremap, so no
 * byte of it is copied. Proven by counting, not timing: each of its pages faults once (when the
 * replayer fills the grown part), and the process never holds two copies (its peak RSS, VmHWM,
 * stays near the final size); MemFree comes back to its boot value.
 */
import { describe, expect, it } from 'vitest';
import { PAGE_SIZE } from '../../src/hw/constants.js';
import { Machine } from '../../src/kernel/machine.js';
import { parseTrace, type ReplayResult, replayTrace } from '../../src/trace/index.js';
import { growMany, largeLive, reallocLadder, SYNTHETIC_SHAPES } from '../../src/trace/synthetic.js';
import { finish } from '../kernel/helpers.js';

const FINAL_BYTES = 8_000_000;
const FINAL_PAGES = Math.ceil(FINAL_BYTES / PAGE_SIZE);
/**
 * Pages of everything else: the small objects' heap (which grows), the block's copies while it
 * is small enough to live on the heap (below the mmap threshold: ~64 pages in all), page
 * tables, the image and the stack. Copying the mapped block instead would add ~6000 faults and
 * ~1300 pages of peak RSS.
 */
const OTHER_PAGES = 320;

describe('a big-realloc trace replayed in a process', () => {
  it('moves the block by its page tables: one fault per page, never two copies', () => {
    const trace = parseTrace(reallocLadder(4096, FINAL_BYTES, 30, 200));
    const machine = Machine.boot({ memory: '64M' });
    let result: ReplayResult | undefined;
    let peakRss = 0;
    const faults = machine.vm.events.pgfault;
    machine.spawn((ctx) => {
      const process = machine.process(ctx.pid)!;
      result = replayTrace(trace, machine.heapOf(process));
      peakRss = process.space.peakRss;
    });
    finish(machine);
    expect(result?.verified).toBe(true);
    // Copying would fault every page of each new copy: about twice the final size in all.
    expect(machine.vm.events.pgfault - faults).toBeLessThan(FINAL_PAGES + OTHER_PAGES);
    expect(peakRss).toBeLessThan(FINAL_PAGES + OTHER_PAGES);
  });
});

describe('the synthetic traces', () => {
  it('are valid wallos-trace v1 whose header figures match their ops', () => {
    const small = [
      reallocLadder(4096, 1_000_000, 10, 50),
      growMany(20, 5, 4096, 300_000, 6),
      largeLive(2_000_000, 2000),
    ];
    for (const text of small) {
      const trace = parseTrace(text);
      expect(trace.ops).toBe(text.split('\n').filter((l) => /^[a-z]/.test(l)).length);
    }
    const ladder = parseTrace(reallocLadder(4096, 1_000_000, 10, 50));
    expect(ladder.peakLiveBytes).toBeGreaterThanOrEqual(1_000_000);
    expect(SYNTHETIC_SHAPES.map((s) => s.name)).toEqual([
      'realloc-ladder',
      'grow-400',
      'live-100m',
    ]);
  });
});
