/**
 * Where each frame sits on the frame-map canvas.
 *
 * Frames are laid out row by row, a power of two of them per row, so every naturally aligned
 * buddy block is a rectangle: a run inside one row when it is at most a row long, whole rows
 * otherwise.
 *
 * ```
 *  columns = 8, cell = 1 px                     order-2 block at pfn 4: one run of 4 cells
 *  ┌─┬─┬─┬─┬─┬─┬─┬─┐ pfn 0..7                    order-4 block at pfn 16: rows 2..3
 *  │ │ │ │ │■│■│■│■│
 *  ├─┼─┼─┼─┼─┼─┼─┼─┤ pfn 8..15
 *  │ │ │ │ │ │ │ │ │
 *  ├─┼─┼─┼─┼─┼─┼─┼─┤ pfn 16..23
 *  │■│■│■│■│■│■│■│■│
 *  │■│■│■│■│■│■│■│■│ pfn 24..31
 *  └─┴─┴─┴─┴─┴─┴─┴─┘
 * ```
 */

/** A rectangle in canvas pixels. */
export interface Rect {
  readonly x: number;
  readonly y: number;
  readonly width: number;
  readonly height: number;
}

/** Cells never get larger than this many pixels a side (small machines stay readable). */
export const MAX_CELL_SIZE = 8;

/** The grid of one frame map: how many frames a row and how many pixels a cell. */
export class GridLayout {
  /** Frames per row: a power of two. */
  readonly columns: number;
  readonly rows: number;
  /** Pixels per cell side. */
  readonly cell: number;

  /**
   * Fits `frames` cells into about `maxWidth` × `maxHeight` pixels: rows as long as the square
   * root of the frame count allows (rounded up to a power of two, at most `maxWidth` cells),
   * each cell as large as fits, from 1 to {@link MAX_CELL_SIZE} pixels (one pixel a frame may
   * exceed `maxHeight`: every frame stays visible).
   */
  constructor(
    readonly frames: number,
    maxWidth: number,
    maxHeight = Number.POSITIVE_INFINITY,
  ) {
    const square = 2 ** Math.ceil(Math.log2(Math.max(1, Math.sqrt(frames))));
    const widest = 2 ** Math.floor(Math.log2(Math.max(1, maxWidth)));
    this.columns = Math.min(square, widest);
    this.rows = Math.ceil(frames / this.columns);
    const fits = Math.min(Math.floor(maxWidth / this.columns), Math.floor(maxHeight / this.rows));
    this.cell = Math.max(1, Math.min(MAX_CELL_SIZE, fits));
  }

  /** Canvas width in pixels. */
  get width(): number {
    return this.columns * this.cell;
  }

  /** Canvas height in pixels. */
  get height(): number {
    return this.rows * this.cell;
  }

  /** Column of frame `pfn`. */
  columnOf(pfn: number): number {
    return pfn % this.columns;
  }

  /** Row of frame `pfn`. */
  rowOf(pfn: number): number {
    return Math.floor(pfn / this.columns);
  }

  /** The frame under canvas pixel (x, y), or -1 outside every frame. */
  frameAt(x: number, y: number): number {
    const column = Math.floor(x / this.cell);
    const row = Math.floor(y / this.cell);
    if (x < 0 || y < 0 || column >= this.columns || row >= this.rows) return -1;
    const pfn = row * this.columns + column;
    return pfn < this.frames ? pfn : -1;
  }

  /** The rectangle covered by the naturally aligned block of 2^order frames at `pfn`. */
  blockRect(pfn: number, order: number): Rect {
    const length = 2 ** order;
    const cell = this.cell;
    if (length <= this.columns) {
      return {
        x: this.columnOf(pfn) * cell,
        y: this.rowOf(pfn) * cell,
        width: length * cell,
        height: cell,
      };
    }
    return {
      x: 0,
      y: this.rowOf(pfn) * cell,
      width: this.width,
      height: (length / this.columns) * cell,
    };
  }
}
