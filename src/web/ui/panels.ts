/** The DOM panels: a process's VMAs and page walk, its heap, and the slab caches. */
import { formatAddress } from '../../hw/address.js';
import { PAGE_SIZE } from '../../hw/constants.js';
import { formatBytes } from '../../hw/size.js';
import type { MallInfo } from '../../user-alloc/user-allocator.js';
import { PTE_BIT_MEANINGS, SLAB_COLUMN_MEANINGS } from '../model/explain.js';
import { decodeRuns } from '../model/frame-history.js';
import type { HeapSegment } from '../model/heap-view.js';
import type { HeapView, ProcessView, SwapView, WalkView } from '../model/moment.js';
import { walkRows, walkSummary } from '../model/page-walk.js';
import type { SlabCacheView } from '../model/slab-view.js';
import { el, fillTable } from './dom.js';

/** The VMA table of `process` (undefined: none left); clicking a row walks its first page. */
export function renderVmas(
  table: HTMLTableElement,
  process: ProcessView | undefined,
  onPick: (va: number) => void,
): void {
  if (process === undefined) {
    fillTable(table, ['no process'], []);
    return;
  }
  const rows = fillTable(
    table,
    ['start', 'end', 'rights', 'kind', 'size', 'resident', 'name'],
    process.vmas.map((vma) => [
      formatAddress(vma.start),
      formatAddress(vma.end),
      vma.rights,
      vma.kind,
      formatBytes(vma.length),
      `${vma.resident} pages`,
      vma.locked ? `${vma.name} (locked)` : vma.name,
    ]),
  );
  rows.forEach((row, i) => {
    const vma = process.vmas[i]!;
    row.className = 'clickable';
    row.tabIndex = 0;
    row.dataset.start = formatAddress(vma.start);
    const pick = () => onPick(vma.firstResident);
    row.addEventListener('click', pick);
    row.addEventListener('keydown', (event) => {
      if (event.key === 'Enter' || event.key === ' ') {
        event.preventDefault();
        pick();
      }
    });
  });
}

/** The walk, level by level: table, index, raw entry, each flag bit, target; then its notes. */
export function renderWalk(container: HTMLElement, view: WalkView): void {
  const walk = view.walk;
  const steps = walkRows(walk).map((row, i) => {
    const present = walk.steps[i]!.present;
    const state = row.leaf ? ' leaf' : present ? '' : ' absent';
    const bits = el(
      'div',
      'bits',
      ...row.bits.map((bit) => {
        const span = el('span', bit.set ? 'bit set' : 'bit', bit.name);
        span.title = PTE_BIT_MEANINGS[bit.name] ?? `bit ${bit.bit}`;
        return span;
      }),
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
  const notes = view.notes.map((note) => el('div', 'walk-note', note));
  container.replaceChildren(...steps, result, ...notes);
}

/** The heap strip: used and free stretches of the brk heap, resident pages under them. */
export function renderHeap(
  summary: HTMLElement,
  canvas: HTMLCanvasElement,
  mapped: HTMLElement,
  heap: HeapView | undefined,
): void {
  const context = canvas.getContext('2d')!;
  canvas.width = canvas.clientWidth || HEAP_STRIP_FALLBACK_WIDTH;
  context.clearRect(0, 0, canvas.width, canvas.height);
  if (heap === undefined) {
    summary.textContent = 'no process';
    mapped.textContent = '';
    return;
  }
  const { brkStart, brk, segments } = heap;
  summary.textContent =
    `${formatAddress(brkStart)} … ${formatAddress(brk)}: ${formatBytes(brk - brkStart)} heap, ` +
    `the program holds ${heap.blocks} blocks (${formatBytes(heap.heldBytes)})` +
    describeChunks(segments) +
    describeInfo(heap.info);
  if (brk > brkStart) drawHeapStrip(context, canvas.width, heap);
  mapped.textContent =
    heap.mmapped.length === 0
      ? ''
      : `mmapped blocks: ${heap.mmapped.map(([address, size]) => `${formatAddress(address)} (${formatBytes(size)})`).join(', ')}`;
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

function drawHeapStrip(context: CanvasRenderingContext2D, width: number, heap: HeapView): void {
  const { brkStart: start, brk: end } = heap;
  const scale = width / (end - start);
  for (const segment of heap.segments) {
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
  const pages = heap.residentPages;
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
    SLAB_COLUMNS,
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
  table.querySelectorAll('th').forEach((th) => {
    th.title = SLAB_COLUMN_MEANINGS[th.textContent ?? ''] ?? '';
  });
}

const SLAB_COLUMNS = [
  'cache',
  'object',
  'per slab',
  'objects used',
  'full',
  'partial',
  'empty',
  'slabs',
] as const;

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

const SWAP_USED_COLOUR = '#c9a0ff';
const SWAP_FREE_COLOUR = '#2a2f3a';

/** The swap device: its slots in use as a strip, and reclaim's lists; hidden without swap. */
export function renderSwap(
  panel: HTMLElement,
  summary: HTMLElement,
  canvas: HTMLCanvasElement,
  swap: SwapView | null,
): void {
  panel.hidden = swap === null;
  if (swap === null) return;
  summary.textContent =
    `${swap.usedSlots} of ${swap.usableSlots} slots in use (${formatBytes(swap.usedSlots * PAGE_SIZE)}) · ` +
    `LRU: ${swap.active} active, ${swap.inactive} inactive, ${swap.unevictable} unevictable · ` +
    `${swap.swapCache} pages in the swap cache`;
  canvas.width = canvas.clientWidth || HEAP_STRIP_FALLBACK_WIDTH;
  const context = canvas.getContext('2d')!;
  const used = new Uint8Array(swap.used.length);
  decodeRuns(swap.used, used);
  const scale = canvas.width / Math.max(1, used.length);
  context.fillStyle = SWAP_FREE_COLOUR;
  context.fillRect(0, 0, canvas.width, canvas.height);
  context.fillStyle = SWAP_USED_COLOUR;
  for (let slot = 0; slot < used.length; slot++) {
    if (used[slot] === 1)
      context.fillRect(Math.floor(slot * scale), 0, Math.max(1, scale), canvas.height);
  }
}
