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
 * Repaints every cell whose code differs from `drawn`, updating `drawn`.
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
  const { columns, cell, width } = layout;
  for (let pfn = 0; pfn < codes.length; pfn++) {
    const code = codes[pfn]!;
    if (code === drawn[pfn]) continue;
    drawn[pfn] = code;
    const row = Math.floor(pfn / columns);
    paintCell(pixels, width, (pfn - row * columns) * cell, row * cell, cell, palette[code]!);
    dirty.changed++;
    if (row < dirty.firstRow) dirty.firstRow = row;
    if (row > dirty.lastRow) dirty.lastRow = row;
  }
  return dirty;
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
