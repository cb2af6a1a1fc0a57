/**
 * The frame map: every physical frame as a cell of a canvas, coloured by use, with buddy blocks
 * outlined on an overlay canvas when cells are large enough to show an outline: every free block,
 * and every allocated block of more than one frame (a single frame needs no outline).
 */
import {
  DMA_END_PFN,
  DMA32_END_PFN,
  MAX_ORDER,
  ZONE_DMA32,
  ZONE_NAMES,
  ZONE_NORMAL,
} from '../../physical/constants.js';
import { FrameCode, packedPalette } from '../model/frame-colours.js';
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

/** The frame-map canvas pair (cells below, outlines and markers above) of one machine. */
export class FrameMapView {
  readonly layout: GridLayout;
  private readonly context: CanvasRenderingContext2D;
  private readonly overlayContext: CanvasRenderingContext2D;
  private readonly image: ImageData;
  private readonly pixels: Uint32Array;
  private readonly drawn: Uint8Array;
  private readonly palette = packedPalette();
  /** Frame under the pointer, or -1. */
  hovered = -1;
  /** Frame the page walk ended at, or -1. */
  marked = -1;

  constructor(
    canvas: HTMLCanvasElement,
    private readonly overlay: HTMLCanvasElement,
    frames: number,
    maxWidth: number,
    maxHeight: number,
  ) {
    this.layout = new GridLayout(frames, maxWidth, maxHeight);
    for (const c of [canvas, overlay]) {
      c.width = this.layout.width;
      c.height = this.layout.height;
    }
    this.context = canvas.getContext('2d')!;
    this.overlayContext = overlay.getContext('2d')!;
    this.image = this.context.createImageData(this.layout.width, this.layout.height);
    this.pixels = new Uint32Array(this.image.data.buffer);
    this.drawn = new Uint8Array(frames).fill(NEVER_DRAWN);
  }

  /** Repaints the cells that changed and the outlines; returns how many cells changed. */
  draw(snapshot: FrameSnapshot): number {
    const dirty = paintChangedCells(
      snapshot.codes,
      this.drawn,
      this.pixels,
      this.layout,
      this.palette,
    );
    if (dirty.changed > 0) {
      const cell = this.layout.cell;
      const y = dirty.firstRow * cell;
      const height = (dirty.lastRow - dirty.firstRow + 1) * cell;
      this.context.putImageData(this.image, 0, 0, 0, y, this.layout.width, height);
    }
    this.drawOverlay(snapshot);
    return dirty.changed;
  }

  /** Redraws the overlay only (outlines, hover, walk marker): the cells have not changed. */
  drawOverlay(snapshot: FrameSnapshot): void {
    const context = this.overlayContext;
    context.clearRect(0, 0, this.overlay.width, this.overlay.height);
    if (this.layout.cell >= OUTLINE_MIN_CELL) {
      context.lineWidth = 1;
      this.outlineBlocks(snapshot, true, OUTLINE_COLOUR);
      this.outlineBlocks(snapshot, false, ALLOCATED_OUTLINE_COLOUR);
    }
    this.drawZoneBoundaries();
    this.outlineHovered(snapshot);
    this.outlineMarked();
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
      if (first >= this.layout.frames) continue;
      const r = this.layout.blockRect(first, 0);
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
    if (this.marked < 0 || this.marked >= this.layout.frames) return;
    const r = this.layout.blockRect(this.marked, 0);
    const context = this.overlayContext;
    context.strokeStyle = MARK_COLOUR;
    context.lineWidth = MARK_WIDTH;
    context.beginPath();
    context.arc(r.x + r.width / 2, r.y + r.height / 2, MARK_RADIUS, 0, 2 * Math.PI);
    context.stroke();
  }

  private outlineHovered(snapshot: FrameSnapshot): void {
    if (this.hovered < 0) return;
    const block = snapshot.blockOf(this.hovered, MAX_ORDER);
    this.overlayContext.strokeStyle = HOVER_COLOUR;
    this.overlayContext.lineWidth = 1;
    this.outline(block?.[0] ?? this.hovered, block?.[1] ?? 0);
  }

  private outline(pfn: number, order: number): void {
    const r = this.layout.blockRect(pfn, order);
    this.overlayContext.strokeRect(r.x + 0.5, r.y + 0.5, r.width - 1, r.height - 1);
  }

  /** The frame under a pointer event, or -1. */
  frameAtEvent(event: MouseEvent): number {
    const box = this.overlay.getBoundingClientRect();
    const scale = this.overlay.width / box.width;
    return this.layout.frameAt(
      (event.clientX - box.left) * scale,
      (event.clientY - box.top) * scale,
    );
  }
}
