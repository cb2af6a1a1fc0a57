import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ERRNO } from '../../src/linux-abi.js';
import { createFlatHeap } from '../../src/user-alloc/flat-heap.js';

const KiB = 1024;
const MiB = 1024 * KiB;
const WASM_PAGE = 64 * KiB;

/** `new ArrayBuffer(bytes, { maxByteLength })` (ES2024; the project's types are ES2022). */
function resizableBuffer(bytes: number, maxByteLength: number): ArrayBuffer {
  const Resizable = ArrayBuffer as unknown as new (
    bytes: number,
    options: { maxByteLength: number },
  ) => ArrayBuffer;
  return new Resizable(bytes, { maxByteLength });
}

/** Allocates `sizes`, each block filled with its own byte; returns [pointer, size, byte]. */
function fillBlocks(heap: ReturnType<typeof createFlatHeap>, sizes: readonly number[]) {
  return sizes.map((size, i) => {
    const pointer = heap.malloc(size);
    expect(pointer).not.toBe(0);
    heap.memory.fill(pointer, size, i & 0xff);
    return [pointer, size, i & 0xff] as const;
  });
}

function expectIntact(
  heap: ReturnType<typeof createFlatHeap>,
  blocks: readonly (readonly [number, number, number])[],
): void {
  for (const [pointer, size, byte] of blocks) {
    expect(heap.memory.readBytes(pointer, size).every((b) => b === byte)).toBe(true);
  }
  heap.check();
}

describe('a flat heap grows by itself over memory that can grow', () => {
  it('a resizable ArrayBuffer: resized up to maxByteLength, contents kept, then ENOMEM', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 96 * KiB }), { maxLength: 60 }), (sizes) => {
        const buffer = resizableBuffer(64 * KiB, 4 * MiB);
        const heap = createFlatHeap(buffer);
        const fits = sizes.filter((size) => size <= 64 * KiB);
        const blocks = fillBlocks(heap, fits);
        expect(heap.memory.byteLength).toBe(buffer.byteLength);
        expect(buffer.byteLength).toBeLessThanOrEqual(4 * MiB);
        expectIntact(heap, blocks);
      }),
      { numRuns: 40 },
    );
    const buffer = resizableBuffer(64 * KiB, 1 * MiB);
    const heap = createFlatHeap(buffer);
    expect(heap.malloc(512 * KiB)).not.toBe(0);
    expect(buffer.byteLength).toBeGreaterThan(512 * KiB);
    expect(heap.malloc(1 * MiB)).toBe(0);
    expect(heap.errno).toBe(ERRNO.ENOMEM);
    heap.check();
  });

  it('a WebAssembly.Memory: grown by whole pages, up to its maximum', () => {
    const memory = new WebAssembly.Memory({ initial: 1, maximum: 20 });
    const heap = createFlatHeap(memory);
    const blocks = fillBlocks(heap, [40 * KiB, 100 * KiB, 300 * KiB, 7]);
    expect(memory.buffer.byteLength % WASM_PAGE).toBe(0);
    expect(heap.memory.buffer).toBe(memory.buffer);
    expectIntact(heap, blocks);
    // 20 pages at most: a block of a megabyte cannot fit, and the heap is left as it was.
    const before = memory.buffer.byteLength;
    expect(heap.malloc(1 * MiB)).toBe(0);
    expect(heap.errno).toBe(ERRNO.ENOMEM);
    expect(memory.buffer.byteLength).toBeLessThanOrEqual(20 * WASM_PAGE);
    expect(memory.buffer.byteLength).toBeGreaterThanOrEqual(before);
    expectIntact(heap, blocks);
  });

  it('a plain ArrayBuffer does not grow: malloc fails with ENOMEM', () => {
    const buffer = new ArrayBuffer(64 * KiB);
    const heap = createFlatHeap(buffer);
    expect(heap.malloc(128 * KiB)).toBe(0);
    expect(heap.errno).toBe(ERRNO.ENOMEM);
    expect(heap.memory.byteLength).toBe(64 * KiB);
  });

  it('a grow callback overrides the buffer’s own growth', () => {
    const buffer = resizableBuffer(64 * KiB, 4 * MiB);
    const heap = createFlatHeap(buffer, { grow: () => null });
    expect(heap.malloc(128 * KiB)).toBe(0);
    expect(buffer.byteLength).toBe(64 * KiB);
  });
});
