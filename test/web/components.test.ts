import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FRAME_USE_COUNT, FrameUse } from '../../src/physical/constants.js';
import { UserAllocator } from '../../src/user-alloc/user-allocator.js';
import { blockSizeLabel, orderLabels } from '../../src/web/model/buddy-histogram.js';
import { seriesRange } from '../../src/web/model/counters.js';
import { orderMeaning, PTE_BIT_MEANINGS } from '../../src/web/model/explain.js';
import {
  codeOfUse,
  colourOf,
  FRAME_CODE_COUNT,
  FrameCode,
  packedPalette,
  packRgba,
  USER_CODE_FIRST,
  userCode,
} from '../../src/web/model/frame-colours.js';
import { NEVER_DRAWN, paintChangedCells } from '../../src/web/model/frame-paint.js';
import { GridLayout, MAX_CELL_SIZE } from '../../src/web/model/grid-layout.js';
import { HeapRecord, heapSegments } from '../../src/web/model/heap-view.js';
import { entryBits } from '../../src/web/model/page-walk.js';
import { BRK_START, TestHost } from '../user-alloc/hosts.js';

describe('frame colours', () => {
  it('packs #rrggbb as opaque RGBA bytes in memory order', () => {
    const pixel = new Uint32Array([packRgba('#123456')]);
    expect([...new Uint8Array(pixel.buffer)]).toEqual([0x12, 0x34, 0x56, 0xff]);
  });

  it('gives every allocated use a non-free code and user pages per-process codes', () => {
    for (let use = 0; use < FRAME_USE_COUNT; use++) {
      const code = codeOfUse(use as FrameUse);
      expect(code === FrameCode.FREE).toBe(use === FrameUse.FREE);
    }
    expect(codeOfUse(FrameUse.USER)).toBe(FrameCode.USER_SHARED);
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 1 << 20 }), (pid) => {
        const code = userCode(pid);
        expect(code).toBeGreaterThanOrEqual(USER_CODE_FIRST);
        expect(code).toBeLessThan(FRAME_CODE_COUNT);
      }),
    );
  });

  it('has distinct colours for every fixed code and the palette matches colourOf', () => {
    const fixed = Array.from({ length: USER_CODE_FIRST }, (_, code) => colourOf(code));
    expect(new Set(fixed).size).toBe(USER_CODE_FIRST);
    const palette = packedPalette();
    for (let code = 0; code < FRAME_CODE_COUNT; code++) {
      expect(palette[code]).toBe(packRgba(colourOf(code)));
    }
  });
});

describe('grid layout', () => {
  const frameCounts = fc.integer({ min: 1, max: 1 << 20 });
  const widths = fc.integer({ min: 64, max: 2048 });

  it('rows are a power of two long and the grid fits the width', () => {
    fc.assert(
      fc.property(frameCounts, widths, (frames, width) => {
        const layout = new GridLayout(frames, width);
        expect(Number.isInteger(Math.log2(layout.columns))).toBe(true);
        expect(layout.width).toBeLessThanOrEqual(Math.max(width, layout.columns));
        expect(layout.cell).toBeGreaterThanOrEqual(1);
        expect(layout.cell).toBeLessThanOrEqual(MAX_CELL_SIZE);
        expect(layout.rows * layout.columns).toBeGreaterThanOrEqual(frames);
      }),
    );
  });

  it('cells shrink to fit the height, but never below one pixel', () => {
    fc.assert(
      fc.property(
        frameCounts,
        widths,
        fc.integer({ min: 64, max: 2048 }),
        (frames, width, height) => {
          const layout = new GridLayout(frames, width, height);
          if (layout.cell > 1) expect(layout.height).toBeLessThanOrEqual(height);
          expect(layout.cell).toBeLessThanOrEqual(new GridLayout(frames, width).cell);
        },
      ),
    );
    expect(new GridLayout(1 << 16, 1024, 800).cell).toBe(3);
  });

  it('frameAt finds the frame whose cell holds the pixel, -1 outside', () => {
    fc.assert(
      fc.property(frameCounts, widths, fc.nat(), (frames, width, seed) => {
        const layout = new GridLayout(frames, width);
        const pfn = seed % frames;
        const x = layout.columnOf(pfn) * layout.cell + (layout.cell - 1);
        const y = layout.rowOf(pfn) * layout.cell;
        expect(layout.frameAt(x, y)).toBe(pfn);
        expect(layout.frameAt(-1, y)).toBe(-1);
        expect(layout.frameAt(x, layout.height)).toBe(-1);
      }),
    );
  });

  it('an aligned buddy block is exactly the rectangle of its frames', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 10 }), fc.nat(1023), (order, slot) => {
        const layout = new GridLayout(1 << 16, 700);
        const size = 2 ** order;
        const pfn = (slot * size) % layout.frames;
        const r = layout.blockRect(pfn, order);
        expect((r.width / layout.cell) * (r.height / layout.cell)).toBe(size);
        for (const frame of [pfn, pfn + size - 1]) {
          const x = layout.columnOf(frame) * layout.cell;
          const y = layout.rowOf(frame) * layout.cell;
          expect(x >= r.x && x < r.x + r.width && y >= r.y && y < r.y + r.height).toBe(true);
        }
      }),
    );
  });
});

describe('painting changed cells', () => {
  it('paints exactly the changed cells and reports their rows', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 600 }),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: FRAME_CODE_COUNT - 1 }))),
        (frames, changes) => {
          const layout = new GridLayout(frames, 100);
          const palette = packedPalette();
          const pixels = new Uint32Array(layout.width * layout.height);
          const codes = new Uint8Array(frames);
          const drawn = new Uint8Array(frames).fill(NEVER_DRAWN);
          expect(paintChangedCells(codes, drawn, pixels, layout, palette).changed).toBe(frames);
          const before = Uint8Array.from(codes);
          for (const [at, code] of changes) codes[at % frames] = code;
          const changedFrames = codes.reduce((n, code, i) => n + (code !== before[i] ? 1 : 0), 0);
          const dirty = paintChangedCells(codes, drawn, pixels, layout, palette);
          expect(dirty.changed).toBe(changedFrames);
          expect(drawn).toEqual(codes);
          for (let pfn = 0; pfn < frames; pfn++) {
            const x = layout.columnOf(pfn) * layout.cell;
            const y = layout.rowOf(pfn) * layout.cell;
            const corner = (y + layout.cell - 1) * layout.width + x + layout.cell - 1;
            expect(pixels[y * layout.width + x]).toBe(palette[codes[pfn]!]);
            expect(pixels[corner]).toBe(palette[codes[pfn]!]);
            if (codes[pfn] !== before[pfn]) {
              expect(layout.rowOf(pfn)).toBeGreaterThanOrEqual(dirty.firstRow);
              expect(layout.rowOf(pfn)).toBeLessThanOrEqual(dirty.lastRow);
            }
          }
          expect(paintChangedCells(codes, drawn, pixels, layout, palette).changed).toBe(0);
        },
      ),
      { numRuns: 60 },
    );
  });
});

describe('heap segments', () => {
  it("tile the heap from its start to the break with the allocator's chunks", () => {
    const ops = fc.array(fc.tuple(fc.boolean(), fc.integer({ min: 1, max: 5000 })), {
      maxLength: 200,
    });
    fc.assert(
      fc.property(ops, (list) => {
        const host = new TestHost();
        const heap = new UserAllocator(host);
        const held: number[] = [];
        for (const [allocate, size] of list) {
          if (allocate || held.length === 0) held.push(heap.malloc(size));
          else heap.free(held.splice(size % held.length, 1)[0]!);
        }
        const record = new HeapRecord();
        record.observe(heap);
        if (list.length === 0) return; // the heap is set up by the first malloc
        const [start, end] = [BRK_START, host.brk];
        const segments = heapSegments(start, end, record.chunks);
        expect(segments[0]!.start).toBe(start);
        expect(segments.at(-1)!.end).toBe(end);
        for (let i = 1; i < segments.length; i++) {
          expect(segments[i]!.start).toBe(segments[i - 1]!.end);
        }
        expect(segments[0]!.state).toBe('header');
        expect(segments.at(-1)!.state).toBe('top');
        const used = segments.filter((s) => s.state === 'used').length;
        const mapped = record.chunks.filter((c) => c.state === 'mmapped').length;
        expect(used + mapped).toBe(held.length);
      }),
      { numRuns: 40 },
    );
  });

  it('records frees and ignores NULL', () => {
    const record = new HeapRecord();
    record.allocated(0, 100);
    record.allocated(4096, 32);
    record.freed(4096);
    expect(record.blocks.size).toBe(0);
  });
});

describe('labels and history', () => {
  it('explains a buddy order by its frames and size, and every PTE bit the walk shows', () => {
    expect(orderMeaning(0)).toMatch(/^order 0: blocks of 2\^0 = 1 contiguous frame \(4K\)/);
    expect(orderMeaning(10)).toMatch(/^order 10: blocks of 2\^10 = 1024 contiguous frames \(4M\)/);
    const shown = entryBits(0, 0).map((bit) => bit.name);
    for (const name of shown) expect(PTE_BIT_MEANINGS[name]).toMatch(/\(bits? \d+/);
  });

  it('names block sizes from 4K to 4M', () => {
    expect(orderLabels()).toHaveLength(11);
    expect([blockSizeLabel(0), blockSizeLabel(8), blockSizeLabel(10)]).toEqual(['4K', '1M', '4M']);
  });

  it('gives every counter a scale of its own: padded, never empty, never below zero', () => {
    fc.assert(
      fc.property(
        fc.array(fc.double({ min: 0, max: 1e6, noNaN: true }), { minLength: 1 }),
        (values) => {
          const { min, max } = seriesRange(values);
          expect(max).toBeGreaterThan(min);
          expect(min).toBeGreaterThanOrEqual(0);
          for (const v of values) expect(v >= min && v <= max).toBe(true);
        },
      ),
    );
    // A constant series is not drawn as a flat line on an axis from zero.
    expect(seriesRange([250, 250])).toEqual({ min: 247.5, max: 252.5 });
    expect(seriesRange([])).toEqual({ min: 0, max: 1 });
  });
});
