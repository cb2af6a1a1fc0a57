/**
 * Painting frame codes into ImageData pixels, touching only cells whose code changed since the
 * last paint: a 4 GiB machine has 1M cells, and a scheduler step changes a handful of them.
 *
 * ```
 *  codes     ─┐  compare   ┌─ changed cell: fill its cell×cell pixels with palette[code]
 *  drawn     ─┘  per frame └─ drawn[pfn] = code; the rows painted widen the dirty band
 *
 *  pixels (Uint32Array over the ImageData, row-major, `layout.width` per row)
 * ```
 */
import type { GridLayout } from './grid-layout.js';

/** Which rows of cells a paint changed (empty when `firstRow > lastRow`). */
export interface DirtyRows {
  /** Cells repainted. */
  changed: number;
  firstRow: number;
  lastRow: number;
}

/** A code no frame has: `drawn` starts filled with it so the first paint draws everything. */
export const NEVER_DRAWN = 0xff;

/**
 * Repaints every cell whose code differs from `drawn`, updating `drawn`. Both arrays must start
 * on a 4-byte boundary of their buffers (fresh typed arrays do).
 * @param pixels one packed RGBA pixel per canvas pixel (`layout.width × layout.height`).
 * @param palette packed pixel of each code.
 */
export function paintChangedCells(
  codes: Uint8Array,
  drawn: Uint8Array,
  pixels: Uint32Array,
  layout: GridLayout,
  palette: Uint32Array,
): DirtyRows {
  const dirty: DirtyRows = { changed: 0, firstRow: layout.rows, lastRow: -1 };
  // Compare four frames at a time: between two steps almost every word is unchanged.
  const words = codes.length >>> WORD_SHIFT;
  const codeWords = new Uint32Array(codes.buffer, codes.byteOffset, words);
  const drawnWords = new Uint32Array(drawn.buffer, drawn.byteOffset, words);
  for (let word = 0; word < words; word++) {
    if (codeWords[word] === drawnWords[word]) continue;
    const first = word << WORD_SHIFT;
    paintRange(codes, drawn, pixels, layout, palette, first, first + FRAMES_PER_WORD, dirty);
  }
  paintRange(codes, drawn, pixels, layout, palette, words << WORD_SHIFT, codes.length, dirty);
  return dirty;
}

/** Frames (one byte each) compared per 32-bit word. */
const FRAMES_PER_WORD = 4;
const WORD_SHIFT = 2;

function paintRange(
  codes: Uint8Array,
  drawn: Uint8Array,
  pixels: Uint32Array,
  layout: GridLayout,
  palette: Uint32Array,
  from: number,
  to: number,
  dirty: DirtyRows,
): void {
  const { columns, cell, width } = layout;
  for (let pfn = from; pfn < to; pfn++) {
    const code = codes[pfn]!;
    if (code === drawn[pfn]) continue;
    drawn[pfn] = code;
    const row = Math.floor(pfn / columns);
    paintCell(pixels, width, (pfn - row * columns) * cell, row * cell, cell, palette[code]!);
    dirty.changed++;
    if (row < dirty.firstRow) dirty.firstRow = row;
    if (row > dirty.lastRow) dirty.lastRow = row;
  }
}

function paintCell(
  pixels: Uint32Array,
  width: number,
  x: number,
  y: number,
  cell: number,
  colour: number,
): void {
  for (let dy = 0; dy < cell; dy++) {
    const start = (y + dy) * width + x;
    pixels.fill(colour, start, start + cell);
  }
}
