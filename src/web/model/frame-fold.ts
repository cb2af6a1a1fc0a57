/**
 * The frame map's folded view: every used frame keeps its cell, but a long run of free frames
 * (or of holes) shrinks to one marker cell, so what is in use fills the map even on a machine
 * that is 99% free.
 *
 * ```
 *  frames  U U F F F F F F F F F F … F U K U        (a free run of ≥ FOLD_MIN_RUN frames)
 *  cells   U U ▒ U K U                              ▒ = one FOLDED cell for the whole run
 * ```
 */
import { FrameCode } from './frame-colours.js';

/** Free runs at least this long fold into one cell. */
export const FOLD_MIN_RUN = 64;

/** Which frames each cell of the folded map shows, and back. */
export class FrameFold {
  /** Per cell: its frame, or for a fold marker the first frame of the folded run. */
  readonly firstFrame: Int32Array;
  /** Per cell: how many frames it stands for (1, or the run's length for a marker). */
  readonly frameCount: Int32Array;
  /** Per cell: the code to paint (the frame's, or {@link FrameCode.FOLDED}). */
  readonly codes: Uint8Array;

  private constructor(first: number[], count: number[], codes: number[]) {
    this.firstFrame = Int32Array.from(first);
    this.frameCount = Int32Array.from(count);
    this.codes = Uint8Array.from(codes);
  }

  /** Folds the free and hole runs of `codes` of at least `minRun` frames. */
  static of(codes: Uint8Array, minRun = FOLD_MIN_RUN): FrameFold {
    const first: number[] = [];
    const count: number[] = [];
    const cells: number[] = [];
    let pfn = 0;
    while (pfn < codes.length) {
      const end = runEnd(codes, pfn);
      const foldable = codes[pfn] === FrameCode.FREE || codes[pfn] === FrameCode.HOLE;
      if (foldable && end - pfn >= minRun) {
        first.push(pfn);
        count.push(end - pfn);
        cells.push(FrameCode.FOLDED);
      } else {
        for (let frame = pfn; frame < end; frame++) {
          first.push(frame);
          count.push(1);
          cells.push(codes[frame]!);
        }
      }
      pfn = end;
    }
    return new FrameFold(first, count, cells);
  }

  /** Number of cells. */
  get cells(): number {
    return this.codes.length;
  }

  /** The cell showing frame `pfn` (binary search: cells are in frame order). */
  cellOf(pfn: number): number {
    let low = 0;
    let high = this.firstFrame.length - 1;
    while (low < high) {
      const middle = (low + high + 1) >> 1;
      if (this.firstFrame[middle]! <= pfn) low = middle;
      else high = middle - 1;
    }
    return low;
  }
}

/** The end of the run of equal codes starting at `start`. */
function runEnd(codes: Uint8Array, start: number): number {
  const code = codes[start];
  let end = start + 1;
  while (end < codes.length && codes[end] === code) end++;
  return end;
}
