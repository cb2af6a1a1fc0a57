/**
 * From the firmware's memory map to the frames the buddy allocator manages.
 *
 * ```
 *  usable regions (bytes)   ├──────────┤ ├kernel┤ ├────────────────────────────┤
 *  rounded in to frames       ├────────┤            ├──────────────────────────┤
 *  minus the frame table                            ├─────────────────┤▒▒▒▒▒▒▒▒┤ ← metadata,
 *  = managed frame ranges     ├────────┤            ├─────────────────┤   taken from the top
 * ```
 *
 * Like Linux's memblock, the frame table is carved top-down out of the highest usable memory:
 * it has to live in RAM on a real machine, and taking it from the top leaves the scarce DMA
 * zones to the devices that need them.
 */
import { InvalidArgumentError } from '../errors.js';
import { PAGE_SIZE } from '../hw/constants.js';
import type { BootMemoryMap } from '../hw/memory-map.js';
import { MAX_ORDER } from './constants.js';

/** A half-open range of frame numbers `[start, end)`. */
export interface FrameRange {
  readonly start: number;
  readonly end: number;
}

/**
 * The whole frames inside usable memory, excluding the kernel image. Touching usable regions are
 * merged first, so a frame that straddles two of them still counts.
 */
export function usableFrameRanges(map: BootMemoryMap): FrameRange[] {
  const byteRanges: { base: number; end: number }[] = [];
  for (const region of map.regions) {
    if (region.type !== 'usable') continue;
    const last = byteRanges[byteRanges.length - 1];
    const end = region.base + region.length;
    if (last !== undefined && last.end === region.base) last.end = end;
    else byteRanges.push({ base: region.base, end });
  }
  const image = map.kernelImage;
  const frames: FrameRange[] = [];
  for (const range of byteRanges) {
    for (const piece of image === undefined
      ? [range]
      : minus(range, image.base, image.base + image.length)) {
      const start = Math.ceil(piece.base / PAGE_SIZE);
      const end = Math.floor(piece.end / PAGE_SIZE);
      if (end > start) frames.push({ start, end });
    }
  }
  return frames;
}

/** `range` without `[cutBase, cutEnd)`: zero, one or two pieces. */
function minus(
  range: { base: number; end: number },
  cutBase: number,
  cutEnd: number,
): { base: number; end: number }[] {
  if (cutEnd <= range.base || cutBase >= range.end) return [range];
  const pieces = [];
  if (range.base < cutBase) pieces.push({ base: range.base, end: cutBase });
  if (cutEnd < range.end) pieces.push({ base: cutEnd, end: range.end });
  return pieces;
}

/**
 * Splits `frames` frames off the top of `ranges` (sorted by address).
 * @returns the ranges left to manage and the ranges taken, both sorted by address.
 * @throws InvalidArgumentError when the ranges hold fewer frames than asked for.
 */
export function takeFromTop(
  ranges: readonly FrameRange[],
  frames: number,
): { kept: FrameRange[]; taken: FrameRange[] } {
  const kept = [...ranges];
  const taken: FrameRange[] = [];
  let needed = frames;
  while (needed > 0) {
    const top = kept.pop();
    if (top === undefined) {
      throw new InvalidArgumentError(
        `not enough usable memory for the frame table (${frames} frames needed)`,
      );
    }
    const size = top.end - top.start;
    const cut = Math.min(size, needed);
    taken.unshift({ start: top.end - cut, end: top.end });
    if (cut < size) kept.push({ start: top.start, end: top.end - cut });
    needed -= cut;
  }
  return { kept, taken };
}

/**
 * Calls `visit` for the maximal naturally aligned blocks that tile `[start, end)`: each block
 * is as large as its alignment, the remaining length and MAX_ORDER allow. This is the layout
 * freeing every frame one by one would coalesce into, built in O(blocks) instead of O(frames).
 */
export function forEachMaximalBlock(
  start: number,
  end: number,
  visit: (pfn: number, order: number) => void,
): void {
  let pfn = start;
  while (pfn < end) {
    let order = MAX_ORDER;
    while (pfn % 2 ** order !== 0 || pfn + 2 ** order > end) order--;
    visit(pfn, order);
    pfn += 2 ** order;
  }
}
