/**
 * A process's heap laid out along its address range, as its allocator sees it: the heap header,
 * then every chunk (in use, parked in a per-size cache, free, the top chunk), and which pages of
 * the range are resident.
 *
 * ```
 *  brk start                                                              break
 *  ├─hdr─┬─used─┬cached┬──free──┬────used────┬used┬───────── top ──────────┤
 *  pages: ■■■■■■■■■■■■■■■■■■■■■■■■■■■■■■■■■■■■■■■■■■■■■□□□□□□□□□□□□□□□□□□  ■ resident
 * ```
 */
import { PAGE_SIZE } from '../../hw/constants.js';
import type { Process } from '../../kernel/process.js';
import type { HeapChunk, MallInfo, UserAllocator } from '../../user-alloc/user-allocator.js';
import type { ProcessWalker } from './page-walk.js';

/** One stretch of the heap range: a chunk, or the heap's own header before the first one. */
export interface HeapSegment {
  readonly start: number;
  readonly end: number;
  readonly state: HeapChunk['state'] | 'header';
}

/** What one program holds and what its allocator last showed of the heap. */
export class HeapRecord {
  /** Live blocks in the brk heap and in their own mappings: payload address → usable bytes. */
  readonly blocks = new Map<number, number>();
  /** The allocator's statistics (mallinfo2) when last observed. */
  info: MallInfo | null = null;
  /** The allocator's chunks when last observed, in address order, mmapped blocks last. */
  chunks: readonly HeapChunk[] = [];

  /** Notes a block `malloc` returned (0 is ignored) with its usable size. */
  allocated(pointer: number, usable: number): void {
    if (pointer !== 0) this.blocks.set(pointer, usable);
  }

  /** Notes that `pointer` was freed. */
  freed(pointer: number): void {
    this.blocks.delete(pointer);
  }

  /** Reads the allocator's statistics and chunks; call it from inside the process. */
  observe(heap: UserAllocator): void {
    this.info = heap.mallinfo();
    const chunks: HeapChunk[] = [];
    heap.forEachChunk((chunk) => chunks.push(chunk));
    this.chunks = chunks;
  }
}

/**
 * Cuts `[start, end)` into the chunks that lie in it, the stretch before the first chunk being
 * the heap header (mmapped blocks and chunks outside the range are left out).
 */
export function heapSegments(
  start: number,
  end: number,
  chunks: readonly HeapChunk[],
): HeapSegment[] {
  const inside = chunks.filter(
    (c) => c.state !== 'mmapped' && c.address >= start && c.address + c.size <= end,
  );
  const segments: HeapSegment[] = [];
  if (inside.length > 0 && inside[0]!.address > start) {
    segments.push({ start, end: inside[0]!.address, state: 'header' });
  }
  for (const chunk of inside) {
    segments.push({ start: chunk.address, end: chunk.address + chunk.size, state: chunk.state });
  }
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
