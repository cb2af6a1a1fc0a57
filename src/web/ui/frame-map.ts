/**
 * The frame map: every physical frame as a cell of a canvas, coloured by use, with buddy blocks
 * outlined on an overlay canvas when cells are large enough to show an outline (every free
 * block, and every allocated block of more than one frame). Optionally folded (frame-fold.ts):
 * long free runs become one cell each, so used memory fills the map.
 *
 * The two canvases sit on a stage inside a viewport; the stage is scaled to fit the viewport's
 * width and then zoomed and panned by a CSS transform (wheel, drag, keyboard), which keeps
 * cells crisp (`image-rendering: pixelated`) and costs no repaint.
 *
 * ```
 *  viewport (overflow hidden, focusable)
 *   └ stage  transform: translate(pan) scale(zoom), width = canvas width × fit
 *       ├ canvas   cells (ImageData, changed cells repainted)
 *       └ overlay  outlines, zone lines, hover, walk marker
 * ```
 */
import {
  DMA_END_PFN,
  DMA32_END_PFN,
  MAX_ORDER,
  ZONE_DMA32,
  ZONE_NAMES,
  ZONE_NORMAL,
} from '../../physical/constants.js';
import { FrameCode, lruCode, packedPalette } from '../model/frame-colours.js';
import { FrameFold } from '../model/frame-fold.js';
import { NEVER_DRAWN, paintChangedCells } from '../model/frame-paint.js';
import type { FrameSnapshot } from '../model/frame-snapshot.js';
import { GridLayout } from '../model/grid-layout.js';

/** Cells smaller than this get no block outlines (an outline would hide the cell). */
const OUTLINE_MIN_CELL = 3;
const OUTLINE_COLOUR = 'rgba(120, 140, 170, 0.55)';
const ALLOCATED_OUTLINE_COLOUR = 'rgba(235, 235, 235, 0.7)';
const HOVER_COLOUR = '#ffffff';
const ZONE_COLOUR = '#e8e288';
const ZONE_FONT = '11px sans-serif';
const ZONE_LABEL_INSET = 3;
const ZONE_LABEL_BASELINE = 12;
/** The zones that start above frame 0, with their first frame. */
const ZONE_STARTS: readonly (readonly [number, number])[] = [
  [ZONE_DMA32, DMA_END_PFN],
  [ZONE_NORMAL, DMA32_END_PFN],
];
const MARK_COLOUR = '#ff4fd8';
const MARK_WIDTH = 2;
const MARK_RADIUS = 7;
/** Zoom limits. */
const MIN_ZOOM = 1;
const MAX_ZOOM = 64;
/** Zoom factor of one step (a wheel notch, a key, a button). */
export const ZOOM_STEP = 1.25;
/** A key press pans by this share of the viewport. */
const PAN_STEP = 0.1;
/** A press that moves less than this many pixels is a click, not a drag. */
const DRAG_THRESHOLD = 4;

/** The elements of the frame map in the page. */
export interface FrameMapElements {
  readonly viewport: HTMLElement;
  readonly stage: HTMLElement;
  readonly canvas: HTMLCanvasElement;
  readonly overlay: HTMLCanvasElement;
}

/** What the frame map reports to the page. */
export interface FrameMapEvents {
  /** The pointer is over frame `pfn` (-1: over none). */
  hover(pfn: number): void;
  /** Frame `pfn` was clicked (not dragged). */
  pick(pfn: number): void;
}

/** The frame map of the machine booted last ({@link FrameMapView.reset}), folded or not, zoomable. */
export class FrameMapView {
  layout: GridLayout;
  /** The folding of the frames drawn last, or null when unfolded. */
  fold: FrameFold | null = null;
  /** Frame under the pointer, or -1. */
  hovered = -1;
  /** Frame the page walk ended at, or -1. */
  marked = -1;
  /** Zoom factor over the fitted size, and the stage's offset in viewport pixels. */
  zoom = 1;
  panX = 0;
  panY = 0;
  private readonly context: CanvasRenderingContext2D;
  private readonly overlayContext: CanvasRenderingContext2D;
  private image!: ImageData;
  private pixels!: Uint32Array;
  private drawn!: Uint8Array;
  private readonly palette = packedPalette();
  private snapshot: FrameSnapshot | null = null;

  constructor(
    private readonly elements: FrameMapElements,
    public frames: number,
    private readonly maxWidth: number,
    private readonly maxHeight: number,
    events: FrameMapEvents,
  ) {
    this.context = elements.canvas.getContext('2d')!;
    this.overlayContext = elements.overlay.getContext('2d')!;
    this.layout = this.resize(frames);
    this.bindPointer(events);
    this.bindKeys();
  }

  /** Starts over for a machine of `frames` frames: nothing drawn, hovered or marked, fitted. */
  reset(frames: number): void {
    this.frames = frames;
    this.snapshot = null;
    this.fold = null;
    this.hovered = -1;
    this.marked = -1;
    this.layout = this.resize(frames);
    this.resetView();
  }

  /**
   * Draws `snapshot`, folded or not, its user pages coloured by process or by reclaim list:
   * changed cells and the overlay. Returns the cells repainted.
   */
  draw(snapshot: FrameSnapshot, folded: boolean, byLru = false): number {
    this.snapshot = snapshot;
    const frameCodes = byLru ? lruCodes(snapshot) : snapshot.codes;
    this.fold = folded ? FrameFold.of(frameCodes) : null;
    const codes = this.fold?.codes ?? frameCodes;
    if (codes.length !== this.layout.frames) this.layout = this.resize(codes.length);
    const dirty = paintChangedCells(codes, this.drawn, this.pixels, this.layout, this.palette);
    if (dirty.changed > 0) {
      const cell = this.layout.cell;
      const y = dirty.firstRow * cell;
      const height = (dirty.lastRow - dirty.firstRow + 1) * cell;
      this.context.putImageData(this.image, 0, 0, 0, y, this.layout.width, height);
    }
    this.drawOverlay();
    return dirty.changed;
  }

  /** The cell showing frame `pfn` in the current view. */
  cellOf(pfn: number): number {
    return this.fold === null ? pfn : this.fold.cellOf(pfn);
  }

  /** The frame a cell shows (a fold marker: the first of its run). */
  frameOfCell(cell: number): number {
    if (cell < 0) return -1;
    return this.fold === null ? cell : this.fold.firstFrame[cell]!;
  }

  /** Redraws the overlay only (outlines, hover, walk marker): the cells have not changed. */
  drawOverlay(): void {
    const snapshot = this.snapshot;
    const context = this.overlayContext;
    const { overlay } = this.elements;
    context.clearRect(0, 0, overlay.width, overlay.height);
    if (snapshot === null) return;
    if (this.fold === null && this.layout.cell >= OUTLINE_MIN_CELL) {
      context.lineWidth = 1;
      this.outlineBlocks(snapshot, true, OUTLINE_COLOUR);
      this.outlineBlocks(snapshot, false, ALLOCATED_OUTLINE_COLOUR);
    }
    this.drawZoneBoundaries();
    this.outlineHovered(snapshot);
    this.outlineMarked();
  }

  /** Zooms by `factor` around viewport point (x, y). */
  zoomBy(factor: number, x = this.viewportWidth() / 2, y = this.viewportHeight() / 2): void {
    const zoom = Math.min(MAX_ZOOM, Math.max(MIN_ZOOM, this.zoom * factor));
    const applied = zoom / this.zoom;
    this.panX = x - (x - this.panX) * applied;
    this.panY = y - (y - this.panY) * applied;
    this.zoom = zoom;
    this.applyTransform();
  }

  /** Moves the stage by (dx, dy) viewport pixels. */
  panBy(dx: number, dy: number): void {
    this.panX += dx;
    this.panY += dy;
    this.applyTransform();
  }

  /** Back to the whole map, fitted to the viewport. */
  resetView(): void {
    this.zoom = 1;
    this.panX = 0;
    this.panY = 0;
    this.applyTransform();
  }

  /** Fits the stage to the viewport's width again (after a window resize). */
  fit(): void {
    const { stage, canvas } = this.elements;
    const fit = this.viewportWidth() / Math.max(1, canvas.width);
    stage.style.width = `${canvas.width * fit}px`;
    stage.style.height = `${canvas.height * fit}px`;
    this.applyTransform();
  }

  /** The frame under a pointer event, or -1. */
  frameAtEvent(event: MouseEvent): number {
    const box = this.elements.overlay.getBoundingClientRect();
    const scale = this.elements.overlay.width / box.width;
    const cell = this.layout.frameAt(
      (event.clientX - box.left) * scale,
      (event.clientY - box.top) * scale,
    );
    return this.frameOfCell(cell);
  }

  /** A fresh grid, canvases and paint state for `cells` cells. */
  private resize(cells: number): GridLayout {
    const layout = new GridLayout(cells, this.maxWidth, this.maxHeight);
    for (const c of [this.elements.canvas, this.elements.overlay]) {
      c.width = layout.width;
      c.height = layout.height;
    }
    this.image = this.context.createImageData(layout.width, layout.height);
    this.pixels = new Uint32Array(this.image.data.buffer);
    this.drawn = new Uint8Array(cells).fill(NEVER_DRAWN);
    this.layout = layout;
    this.fit();
    return layout;
  }

  private applyTransform(): void {
    const { stage, viewport } = this.elements;
    // Keep some of the map in view: the stage may not leave the viewport entirely.
    const width = stage.offsetWidth * this.zoom;
    const height = stage.offsetHeight * this.zoom;
    this.panX = Math.min(0, Math.max(Math.min(0, viewport.clientWidth - width), this.panX));
    this.panY = Math.min(0, Math.max(Math.min(0, viewport.clientHeight - height), this.panY));
    stage.style.transform = `translate(${this.panX}px, ${this.panY}px) scale(${this.zoom})`;
  }

  private viewportWidth(): number {
    return this.elements.viewport.clientWidth || this.maxWidth;
  }

  private viewportHeight(): number {
    return this.elements.viewport.clientHeight || this.maxHeight;
  }

  /** Hover, click, drag to pan, wheel to zoom. */
  private bindPointer(events: FrameMapEvents): void {
    const { viewport, overlay } = this.elements;
    let press: { x: number; y: number; panX: number; panY: number; dragged: boolean } | null = null;
    overlay.addEventListener('pointerdown', (event) => {
      press = {
        x: event.clientX,
        y: event.clientY,
        panX: this.panX,
        panY: this.panY,
        dragged: false,
      };
      overlay.setPointerCapture(event.pointerId);
    });
    overlay.addEventListener('pointermove', (event) => {
      if (press !== null) {
        const dx = event.clientX - press.x;
        const dy = event.clientY - press.y;
        if (Math.hypot(dx, dy) >= DRAG_THRESHOLD) press.dragged = true;
        if (press.dragged) {
          this.panX = press.panX + dx;
          this.panY = press.panY + dy;
          this.applyTransform();
          return;
        }
      }
      this.hovered = this.frameAtEvent(event);
      events.hover(this.hovered);
      this.drawOverlay();
    });
    overlay.addEventListener('pointerup', (event) => {
      const clicked = press !== null && !press.dragged;
      press = null;
      if (clicked) events.pick(this.frameAtEvent(event));
    });
    overlay.addEventListener('pointerleave', () => {
      this.hovered = -1;
      events.hover(-1);
      this.drawOverlay();
    });
    viewport.addEventListener(
      'wheel',
      (event) => {
        event.preventDefault();
        const box = viewport.getBoundingClientRect();
        const factor = event.deltaY < 0 ? ZOOM_STEP : 1 / ZOOM_STEP;
        this.zoomBy(factor, event.clientX - box.left, event.clientY - box.top);
      },
      { passive: false },
    );
  }

  /** Keys on the focused map (it takes the focus like a control): + and - zoom, arrows pan, 0 resets. */
  private bindKeys(): void {
    this.elements.viewport.tabIndex = 0;
    this.elements.viewport.addEventListener('keydown', (event) => {
      const width = this.viewportWidth() * PAN_STEP;
      const height = this.viewportHeight() * PAN_STEP;
      const actions: Record<string, () => void> = {
        '+': () => this.zoomBy(ZOOM_STEP),
        '=': () => this.zoomBy(ZOOM_STEP),
        '-': () => this.zoomBy(1 / ZOOM_STEP),
        '0': () => this.resetView(),
        ArrowLeft: () => this.panBy(width, 0),
        ArrowRight: () => this.panBy(-width, 0),
        ArrowUp: () => this.panBy(0, height),
        ArrowDown: () => this.panBy(0, -height),
      };
      const action = actions[event.key];
      if (action === undefined) return;
      event.preventDefault();
      action();
    });
  }

  /** Outlines the free blocks (`free`), or the allocated blocks of more than one frame. */
  private outlineBlocks(snapshot: FrameSnapshot, free: boolean, colour: string): void {
    this.overlayContext.strokeStyle = colour;
    const orders = snapshot.blockOrder;
    for (let pfn = 0; pfn < orders.length; pfn++) {
      const order = orders[pfn]!;
      if (order < 0 || (snapshot.codes[pfn] === FrameCode.FREE) !== free) continue;
      if (free || order > 0) this.outline(pfn, order);
    }
  }

  /** A line where each zone starts above DMA (16 MiB: DMA32, 4 GiB: Normal), with its name. */
  private drawZoneBoundaries(): void {
    const context = this.overlayContext;
    context.strokeStyle = ZONE_COLOUR;
    context.fillStyle = ZONE_COLOUR;
    context.lineWidth = 1;
    context.font = ZONE_FONT;
    for (const [zone, first] of ZONE_STARTS) {
      if (first >= this.frames) continue;
      const r = this.layout.blockRect(this.cellOf(first), 0);
      context.beginPath();
      context.moveTo(r.x, r.y + 0.5);
      context.lineTo(this.layout.width, r.y + 0.5);
      context.moveTo(r.x + 0.5, r.y);
      context.lineTo(r.x + 0.5, r.y + r.height);
      context.stroke();
      context.fillText(`${ZONE_NAMES[zone]} ▸`, r.x + ZONE_LABEL_INSET, r.y + ZONE_LABEL_BASELINE);
    }
  }

  /** A ring around the walked frame, large enough to find on a 1-pixel-a-frame map. */
  private outlineMarked(): void {
    if (this.marked < 0 || this.marked >= this.frames) return;
    const r = this.layout.blockRect(this.cellOf(this.marked), 0);
    const context = this.overlayContext;
    context.strokeStyle = MARK_COLOUR;
    context.lineWidth = MARK_WIDTH;
    context.beginPath();
    context.arc(r.x + r.width / 2, r.y + r.height / 2, MARK_RADIUS, 0, 2 * Math.PI);
    context.stroke();
  }

  private outlineHovered(snapshot: FrameSnapshot): void {
    if (this.hovered < 0) return;
    this.overlayContext.strokeStyle = HOVER_COLOUR;
    this.overlayContext.lineWidth = 1;
    if (this.fold !== null) {
      this.outline(this.cellOf(this.hovered), 0);
      return;
    }
    const block = snapshot.blockOf(this.hovered, MAX_ORDER);
    this.outline(block?.[0] ?? this.hovered, block?.[1] ?? 0);
  }

  /** Outlines the aligned block of 2^order cells at `cell`. */
  private outline(cell: number, order: number): void {
    const r = this.layout.blockRect(cell, order);
    this.overlayContext.strokeRect(r.x + 0.5, r.y + 0.5, r.width - 1, r.height - 1);
  }
}

/** The codes of `snapshot` with every user page on a reclaim list coloured by that list. */
function lruCodes(snapshot: FrameSnapshot): Uint8Array {
  const codes = snapshot.codes.slice();
  for (let pfn = 0; pfn < codes.length; pfn++) {
    if (snapshot.lru[pfn] !== 0) codes[pfn] = lruCode(codes[pfn]!, snapshot.lru[pfn]!);
  }
  return codes;
}
