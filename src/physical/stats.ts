/** Statistics of the physical layer and their Linux text form (`/proc/buddyinfo`). */
import { MAX_ORDER } from './constants.js';

/** One zone's counters, like a section of `/proc/zoneinfo`. */
export interface ZoneStats {
  /** The zone's index (ZONE_DMA, ZONE_DMA32, ZONE_NORMAL). */
  readonly zone: number;
  /** `DMA`, `DMA32` or `Normal`. */
  readonly name: string;
  /** Frames of installed RAM in the zone, reserved ones included (Linux's present_pages). */
  readonly presentFrames: number;
  /** Frames the allocator was given at boot (Linux's managed_pages). */
  readonly managedFrames: number;
  /** Frames now free. */
  readonly freeFrames: number;
  /** Free blocks of each order 0..MAX_ORDER (Linux's `free_area[order].nr_free`). */
  readonly freeBlocks: readonly number[];
}

/** Machine-wide counters: what `/proc/meminfo` is built from. */
export interface PhysicalMemoryStats {
  /** Frames of installed RAM. */
  readonly totalFrames: number;
  /** Frames managed by the allocator: `MemTotal` (Linux's totalram_pages). */
  readonly managedFrames: number;
  /** Free frames: `MemFree`. */
  readonly freeFrames: number;
  /** Frames taken out of service because their poison was found modified (debug mode). */
  readonly quarantinedFrames: number;
  /** Frames per use, indexed by FrameUse; they add up to `totalFrames`. */
  readonly framesByUse: readonly number[];
  /** Per zone, for every zone (also empty ones). */
  readonly zones: readonly ZoneStats[];
}

/** Width of each count column in `/proc/buddyinfo` (`%6lu `). */
const COUNT_WIDTH = 6;
/** Width of the zone name column (`zone %8s`). */
const ZONE_NAME_WIDTH = 8;

/**
 * `/proc/buddyinfo`: one line per zone that has memory, free blocks per order 0..10, exactly as
 * Linux's `frag_show_print` writes them: `Node 0, zone      DMA      1      0 ... \n`.
 */
export function formatBuddyinfo(zones: readonly ZoneStats[]): string {
  let text = '';
  for (const zone of zones) {
    if (zone.presentFrames === 0) continue;
    text += `Node 0, zone ${zone.name.padStart(ZONE_NAME_WIDTH)} `;
    for (let order = 0; order <= MAX_ORDER; order++) {
      text += `${String(zone.freeBlocks[order]).padStart(COUNT_WIDTH)} `;
    }
    text += '\n';
  }
  return text;
}
