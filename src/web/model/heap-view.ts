/**
 * A process's heap laid out along its address range: the blocks the program holds (as its
 * malloc returned them, with `malloc_usable_size`), the gaps between them (free chunks, chunk
 * headers and the top chunk), and which pages of the range are resident.
 *
 * ```
 *  brk start                                                              break
 *  ├──hdr──┬──used──┬─gap─┬────used────┬──used──┬────────── gap (top) ────┤
 *  pages:  ■■■■■■■■■■■■■■■■■■■■■■■■■■■■■■■■■■■■■■■■■■■■■□□□□□□□□□□□□□□□□□□  ■ resident
 * ```
 */
import { PAGE_SIZE } from '../../hw/constants.js';
import type { Process } from '../../kernel/process.js';
import type { MallInfo } from '../../user-alloc/user-allocator.js';
import type { ProcessWalker } from './page-walk.js';

/** One stretch of the heap range. */
export interface HeapSegment {
  readonly start: number;
  readonly end: number;
  readonly used: boolean;
}

/** The blocks one program holds, recorded as it allocates and frees them. */
export class HeapRecord {
  /** Live blocks in the brk heap and in their own mappings: payload address → usable bytes. */
  readonly blocks = new Map<number, number>();
  /** The allocator's own statistics (mallinfo2), as the program last read them. */
  info: MallInfo | null = null;

  /** Notes a block `malloc` returned (0 is ignored) with its usable size. */
  allocated(pointer: number, usable: number): void {
    if (pointer !== 0) this.blocks.set(pointer, usable);
  }

  /** Notes that `pointer` was freed. */
  freed(pointer: number): void {
    this.blocks.delete(pointer);
  }
}

/**
 * Cuts `[start, end)` into used and free segments from the blocks inside it (blocks outside
 * the range, e.g. mmapped ones, are left out; overlapping blocks are merged).
 */
export function heapSegments(
  start: number,
  end: number,
  blocks: ReadonlyMap<number, number>,
): HeapSegment[] {
  const inside = [...blocks]
    .filter(([pointer, size]) => pointer >= start && pointer + size <= end)
    .sort((a, b) => a[0] - b[0]);
  const segments: HeapSegment[] = [];
  let at = start;
  for (const [pointer, size] of inside) {
    if (pointer > at) segments.push({ start: at, end: pointer, used: false });
    const blockEnd = Math.max(at, pointer + size);
    if (blockEnd > Math.max(at, pointer)) {
      const last = segments[segments.length - 1];
      if (last?.used === true && last.end >= pointer)
        segments[segments.length - 1] = { ...last, end: blockEnd };
      else segments.push({ start: Math.max(at, pointer), end: blockEnd, used: true });
    }
    at = blockEnd;
  }
  if (at < end) segments.push({ start: at, end, used: false });
  return segments;
}

/** One flag per page of `[start, end)`: 1 where `process` has the page resident. */
export function residentPages(
  walker: ProcessWalker,
  process: Process,
  start: number,
  end: number,
): Uint8Array {
  const first = Math.floor(start / PAGE_SIZE);
  const pages = new Uint8Array(Math.max(0, Math.ceil(end / PAGE_SIZE) - first));
  for (let i = 0; i < pages.length; i++) {
    pages[i] = walker.walk(process, (first + i) * PAGE_SIZE).outcome === 'mapped' ? 1 : 0;
  }
  return pages;
}
