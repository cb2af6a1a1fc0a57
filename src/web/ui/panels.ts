/** The DOM panels: a process's VMAs and page walk, its heap, and the slab caches. */
import { formatAddress } from '../../hw/address.js';
import type { PageWalk } from '../../hw/mmu.js';
import type { Process } from '../../kernel/process.js';
import { PROT_EXEC, PROT_READ, PROT_WRITE } from '../../linux-abi.js';
import type { MallInfo } from '../../user-alloc/user-allocator.js';
import { isSwapEntry } from '../../virtual/swap/swap-entry.js';
import type { Vma } from '../../virtual/vma.js';
import { formatBytes } from '../model/format.js';
import {
  type HeapRecord,
  type HeapSegment,
  heapSegments,
  residentPages,
} from '../model/heap-view.js';
import { type ProcessWalker, walkRows, walkSummary } from '../model/page-walk.js';
import type { SlabCacheView } from '../model/slab-view.js';
import { el, fillTable } from './dom.js';

/** `r-x`-style rights of a VMA. */
export function vmaRights(vma: Vma): string {
  return (
    (vma.prot & PROT_READ ? 'r' : '-') +
    (vma.prot & PROT_WRITE ? 'w' : '-') +
    (vma.prot & PROT_EXEC ? 'x' : '-') +
    (vma.shared ? 's' : 'p')
  );
}

/** Pages of `vma` with a frame (resident or kept under PROT_NONE; swapped out ones are not). */
function residentIn(process: Process, vma: Vma): number {
  const tables = process.space.tables;
  let pages = 0;
  tables.forEachLeaf(vma.start, vma.end, (at) => {
    if (!isSwapEntry(tables.low(at), tables.high(at))) pages++;
  });
  return pages;
}

/** The first page of `vma` with a page-table entry, else its start: the walk worth showing. */
export function firstResident(process: Process, vma: Vma): number {
  let first = -1;
  process.space.tables.forEachLeaf(vma.start, vma.end, (_, va) => {
    if (first < 0) first = va;
  });
  return first < 0 ? vma.start : first;
}

/** The VMA table; clicking a row walks its first page. */
export function renderVmas(
  table: HTMLTableElement,
  process: Process | undefined,
  onPick: (va: number) => void,
): void {
  if (process === undefined || process.ended) {
    fillTable(table, ['no process'], []);
    return;
  }
  const vmas = process.space.vmas.items;
  const rows = fillTable(
    table,
    ['start', 'end', 'rights', 'kind', 'size', 'resident', 'name'],
    vmas.map((vma) => [
      formatAddress(vma.start),
      formatAddress(vma.end),
      vmaRights(vma),
      vma.kind,
      formatBytes(vma.length),
      `${residentIn(process, vma)} pages`,
      vma.name,
    ]),
  );
  rows.forEach((row, i) => {
    row.className = 'clickable';
    row.addEventListener('click', () => onPick(firstResident(process, vmas[i]!)));
  });
}

/** The walk, level by level: table, index, raw entry, each flag bit, target. */
export function renderWalk(container: HTMLElement, walk: PageWalk): void {
  const steps = walkRows(walk).map((row, i) => {
    const present = walk.steps[i]!.present;
    const state = row.leaf ? ' leaf' : present ? '' : ' absent';
    const bits = el(
      'div',
      'bits',
      ...row.bits.map((bit) => el('span', bit.set ? 'bit set' : 'bit', bit.name)),
    );
    const step = el(
      'div',
      `walk-step${state}`,
      `${row.table} @ ${row.tableAddress} [${row.index}] = ${row.raw} → ${row.target}`,
      bits,
    );
    step.dataset.level = row.table;
    step.dataset.raw = row.raw;
    return step;
  });
  const result = el('div', 'walk-result', walkSummary(walk));
  result.dataset.outcome = walk.outcome;
  container.replaceChildren(...steps, result);
}

/** The heap strip: used and free stretches of the brk heap, resident pages under them. */
export function renderHeap(
  summary: HTMLElement,
  canvas: HTMLCanvasElement,
  mapped: HTMLElement,
  walker: ProcessWalker,
  process: Process | undefined,
  record: HeapRecord | undefined,
): void {
  const context = canvas.getContext('2d')!;
  canvas.width = canvas.clientWidth || HEAP_STRIP_FALLBACK_WIDTH;
  context.clearRect(0, 0, canvas.width, canvas.height);
  if (process === undefined || process.ended) {
    summary.textContent = 'no process';
    mapped.textContent = '';
    return;
  }
  const { brkStart, brk } = process.space;
  const blocks = record?.blocks ?? new Map<number, number>();
  const chunks = record?.chunks ?? [];
  const segments = heapSegments(brkStart, brk, chunks);
  const heldBytes = [...blocks.values()].reduce((sum, size) => sum + size, 0);
  summary.textContent =
    `${formatAddress(brkStart)} … ${formatAddress(brk)}: ${formatBytes(brk - brkStart)} heap, ` +
    `the program holds ${blocks.size} blocks (${formatBytes(heldBytes)})` +
    describeChunks(segments) +
    describeInfo(record?.info ?? null);
  if (brk > brkStart)
    drawHeapStrip(context, canvas.width, brkStart, brk, segments, walker, process);
  const outside = chunks.filter((c) => c.state === 'mmapped');
  mapped.textContent =
    outside.length === 0
      ? ''
      : `mmapped blocks: ${outside.map((c) => `${formatAddress(c.address)} (${formatBytes(c.size)})`).join(', ')}`;
}

/** Chunks per state, as last observed. */
function describeChunks(segments: readonly HeapSegment[]): string {
  if (segments.length === 0) return '';
  const counts = CHUNK_STATES.map((state) => {
    const count = segments.filter((s) => s.state === state).length;
    return `${count} ${state}`;
  });
  return `\nchunks: ${counts.join(', ')}`;
}

const CHUNK_STATES = ['used', 'cached', 'free'] as const;

/** The allocator's own view (mallinfo2), when the program has read it. */
function describeInfo(info: MallInfo | null): string {
  if (info === null) return '';
  return (
    `\nmallinfo: arena ${formatBytes(info.arena)}, in use ${formatBytes(info.uordblks)}, ` +
    `free ${formatBytes(info.fordblks)} in ${info.ordblks} chunks (top ${formatBytes(info.keepcost)}), ` +
    `mmapped ${formatBytes(info.hblkhd)} in ${info.hblks} blocks`
  );
}

/** Width of the heap strip before the page has laid it out. */
const HEAP_STRIP_FALLBACK_WIDTH = 600;
const FREE_COLOUR = '#2a2f3a';
/** Colour of each kind of heap stretch (keep index.html's #heap-legend in step). */
const SEGMENT_COLOURS: Record<HeapSegment['state'], string> = {
  header: '#8e7cc3',
  used: '#3fb8af',
  cached: '#f0ad4e',
  free: FREE_COLOUR,
  top: '#1c2029',
  mmapped: '#3fb8af',
};
const RESIDENT_COLOUR = '#5bc0de';
const STRIP_HEIGHT = 30;
/** Chunks drawn wider than this many pixels get a gap after them. */
const CHUNK_GAP_MIN_WIDTH = 3;
const PAGE_ROW_Y = 34;
const PAGE_ROW_HEIGHT = 12;

function drawHeapStrip(
  context: CanvasRenderingContext2D,
  width: number,
  start: number,
  end: number,
  segments: readonly HeapSegment[],
  walker: ProcessWalker,
  process: Process,
): void {
  const scale = width / (end - start);
  for (const segment of segments) {
    context.fillStyle = SEGMENT_COLOURS[segment.state];
    const x = (segment.start - start) * scale;
    const width = (segment.end - segment.start) * scale;
    // Chunks wide enough keep a one-pixel gap, so neighbours of one state stay apart.
    context.fillRect(
      x,
      0,
      Math.max(1, width > CHUNK_GAP_MIN_WIDTH ? width - 1 : width),
      STRIP_HEIGHT,
    );
  }
  const pages = residentPages(walker, process, start, end);
  const pageWidth = width / pages.length;
  for (let i = 0; i < pages.length; i++) {
    context.fillStyle = pages[i] === 1 ? RESIDENT_COLOUR : FREE_COLOUR;
    context.fillRect(i * pageWidth, PAGE_ROW_Y, Math.max(1, pageWidth - 1), PAGE_ROW_HEIGHT);
  }
}

/** The slab caches: lists, objects, and a bar per slab showing how full it is. */
export function renderSlabs(table: HTMLTableElement, caches: readonly SlabCacheView[]): void {
  const rows = fillTable(
    table,
    ['cache', 'object', 'per slab', 'objects used', 'full', 'partial', 'empty', 'slabs'],
    caches.map((cache) => [
      cache.name,
      `${cache.objectSize} B`,
      cache.objectsPerSlab,
      `${cache.activeObjects} / ${cache.totalObjects}` +
        (cache.arrayObjects > 0 ? ` (+${cache.arrayObjects} in the CPU array)` : ''),
      cache.full,
      cache.partial,
      cache.empty,
      fillBars(cache),
    ]),
  );
  rows.forEach((row, i) => {
    row.dataset.cache = caches[i]!.name;
  });
}

/** Height in pixels of the bar of a full slab (the row's height), and of an empty one. */
const BAR_HEIGHT = 14;
const MIN_BAR_HEIGHT = 2;
/** Slabs shown per cache at most; the count column has the full figure. */
const MAX_SLAB_BARS = 64;

function fillBars(cache: SlabCacheView): HTMLElement {
  const bars = cache.slabFill.slice(0, MAX_SLAB_BARS).map((inUse) => {
    const bar = el('span', inUse === 0 ? 'empty-slab' : null);
    bar.style.height = `${Math.max(MIN_BAR_HEIGHT, (BAR_HEIGHT * inUse) / cache.objectsPerSlab)}px`;
    return bar;
  });
  const more =
    cache.slabFill.length > MAX_SLAB_BARS ? ` +${cache.slabFill.length - MAX_SLAB_BARS}` : '';
  return el('span', null, el('span', 'fill', ...bars), more);
}
