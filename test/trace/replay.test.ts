import { describe, expect, it } from 'vitest';
import { parseTrace } from '../../src/trace/parse.js';
import {
  replayTrace,
  type TraceAllocator,
  timeBareCalls,
  warmUpBareCalls,
} from '../../src/trace/replay.js';
import { createFlatHeap } from '../../src/user-alloc/flat-heap.js';
import { EXAMPLE_TRACE } from '../example-trace.js';
import { GLIBC_RATIO, readSampleTrace } from '../sample-traces.js';

const HEAP_BYTES = 64 * 1024 * 1024;

describe('replayTrace', () => {
  it('replays the docs/trace-format.md example verified', () => {
    const heap = createFlatHeap(1024 * 1024);
    const result = replayTrace(parseTrace(EXAMPLE_TRACE), heap);
    expect(result).toMatchObject({ ops: 6, peakLiveBytes: 4264, verified: true });
    expect(result.peakFootprintBytes).toBeGreaterThan(4264);
    heap.check();
  });

  it('samples the peak footprint where live bytes reach a new peak and at the end, as FORMAT.md defines it', () => {
    const heap = createFlatHeap(1024 * 1024);
    // Live bytes after each op of the example: 100, 164, 4164, 4264 (new peaks), 4200, 4000.
    const footprints = [1000, 2000, 9000, 5000, 20000, 3000];
    let op = 0;
    const scripted: TraceAllocator = {
      memory: heap.memory,
      malloc: (n) => heap.malloc(n),
      calloc: (n, s) => heap.calloc(n, s),
      memalign: (a, n) => heap.memalign(a, n),
      realloc: (p, n) => heap.realloc(p, n),
      free: (p) => heap.free(p),
      footprint: () => footprints[op++]!,
    };
    const result = replayTrace(parseTrace(EXAMPLE_TRACE), scripted);
    expect(result).toMatchObject({
      verified: true,
      peakFootprintBytes: 9000,
      maxFootprintBytes: 20000,
    });
    footprints[5] = 12000; // the end is sampled too
    op = 0;
    expect(replayTrace(parseTrace(EXAMPLE_TRACE), scripted).peakFootprintBytes).toBe(12000);
  });

  it('notices an allocator that corrupts contents', () => {
    const heap = createFlatHeap(1024 * 1024);
    const liar: TraceAllocator = {
      memory: heap.memory,
      malloc: (n) => heap.malloc(n),
      calloc: (n, s) => heap.calloc(n, s),
      memalign: (a, n) => heap.memalign(a, n),
      free: (p) => heap.free(p),
      footprint: () => heap.footprint(),
      realloc: (p, n) => {
        const q = heap.realloc(p, n);
        heap.memory.store8(q, 0);
        return q;
      },
    };
    const result = replayTrace(parseTrace(EXAMPLE_TRACE), liar);
    expect(result.verified).toBe(false);
    expect(result.failure).toMatch(/object 1 changed/);
  });

  it('notices an allocator that ignores alignment', () => {
    const heap = createFlatHeap(1024 * 1024);
    const sloppy: TraceAllocator = {
      memory: heap.memory,
      malloc: (n) => heap.malloc(n),
      calloc: (n, s) => heap.calloc(n, s),
      memalign: (_a, n) => heap.malloc(n + 64) + 16,
      free: (p) => heap.free(p),
      footprint: () => heap.footprint(),
      realloc: (p, n) => heap.realloc(p, n),
    };
    const result = replayTrace(parseTrace(EXAMPLE_TRACE), sloppy);
    expect(result.verified).toBe(false);
    expect(result.failure).toMatch(/aligned to 64/);
  });

  it.each(Object.keys(GLIBC_RATIO))('replays the sample %s verified on a flat heap', (name) => {
    const text = readSampleTrace(name);
    const trace = parseTrace(text);
    const heap = createFlatHeap(HEAP_BYTES);
    const result = replayTrace(trace, heap);
    heap.check();
    expect(result.verified).toBe(true);
    expect(result.ops).toBe(trace.ops);
    expect(result.peakLiveBytes).toBe(trace.peakLiveBytes);
    const ratio = result.peakFootprintBytes / result.peakLiveBytes;
    console.log(`${name}: fragmentation ${ratio.toFixed(3)} (glibc ${GLIBC_RATIO[name]})`);
    expect(ratio).toBeLessThanOrEqual(GLIBC_RATIO[name]!);
  });
});

describe('warmUpBareCalls', () => {
  /** Each object malloc'd, then realloc'd, then freed, far apart in the trace. */
  function longTrace(objects: number): string {
    const lines = ['# wallos-trace v1', '# program: long', `# ops: ${3 * objects}`];
    lines.push(`# peak_live_bytes: ${objects * 32}`, '# threads: 1');
    for (let id = 1; id <= objects; id++) lines.push(`a ${id} 16`);
    for (let id = 1; id <= objects; id++) lines.push(`r ${id} 32`);
    for (let id = 1; id <= objects; id++) lines.push(`f ${id}`);
    return `${lines.join('\n')}\n`;
  }

  /** An allocator that logs every call; its blocks are numbered, not placed. */
  function recorder(log: string[]): TraceAllocator {
    let blocks = 0;
    const block = (call: string): number => {
      log.push(call);
      return ++blocks * 16;
    };
    return {
      memory: createFlatHeap(64 * 1024).memory,
      malloc: (n) => block(`malloc ${n}`),
      calloc: (n, s) => block(`calloc ${n} ${s}`),
      memalign: (a, n) => block(`memalign ${a} ${n}`),
      realloc: (p, n) => block(`realloc ${p} ${n}`),
      free: (p) => {
        log.push(`free ${p}`);
      },
      footprint: () => 0,
    };
  }

  it('makes exactly the calls of one timed pass, across its slices', () => {
    const trace = parseTrace(longTrace(2000));
    const timed: string[] = [];
    const warm: string[] = [];
    timeBareCalls(trace, recorder(timed), () => 0);
    warmUpBareCalls(trace, recorder(warm));
    expect(timed).toHaveLength(trace.ops);
    expect(warm).toEqual(timed);
  });
});
