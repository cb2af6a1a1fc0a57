/**
 * Zone watermarks, derived as Linux's mm/page_alloc.c does (init_per_zone_wmark_min and
 * __setup_per_zone_wmarks):
 *
 * ```
 *  min_free_kbytes = clamp(int_sqrt(lowmem_kbytes * 16), 128, 262144)
 *  min(zone)  = pages_min * managed(zone) / managed(all)      its share of the reserve
 *  gap(zone)  = max(min(zone) / 4, managed(zone) * watermark_scale_factor / 10000)
 *  low(zone)  = min + gap                                     kswapd wakes below it
 *  high(zone) = low + gap                                     kswapd sleeps above it
 *
 *  free ▲ ─────────────── high ── kswapd stops
 *       │ ─────────────── low ─── kswapd wakes
 *       │ ─────────────── min ─── the allocating process reclaims itself (direct reclaim)
 * ```
 *
 * Reclaim compares free memory with the sum over the zones (one node).
 */
import { KiB, PAGE_SIZE } from '../../hw/constants.js';
import { pagesToKb } from '../../hw/size.js';

/** Linux's bounds of min_free_kbytes when derived from memory size. */
export const MIN_FREE_KBYTES_FLOOR = 128;
export const MIN_FREE_KBYTES_CEILING = 262144;
/** vm.watermark_scale_factor's default: 0.1 % of a zone between watermarks. */
export const WATERMARK_SCALE_FACTOR = 10;
const SCALE_DIVISOR = 10000;

export interface ZoneWatermarks {
  readonly min: number;
  readonly low: number;
  readonly high: number;
}

export class Watermarks {
  readonly minFreeKbytes: number;
  /** Per zone, in pages. */
  readonly zones: readonly ZoneWatermarks[];
  /** Sums over the zones, in pages. */
  readonly min: number;
  readonly low: number;
  readonly high: number;

  /** @param managedByZone pages the allocator manages in each zone */
  constructor(managedByZone: readonly number[]) {
    const lowmemPages = managedByZone.reduce((sum, n) => sum + n, 0);
    const lowmemKbytes = pagesToKb(lowmemPages);
    this.minFreeKbytes = Math.min(
      MIN_FREE_KBYTES_CEILING,
      Math.max(MIN_FREE_KBYTES_FLOOR, Math.floor(Math.sqrt(lowmemKbytes * 16))),
    );
    const pagesMin = Math.floor((this.minFreeKbytes * KiB) / PAGE_SIZE);
    this.zones = managedByZone.map((managed) => {
      const min = lowmemPages === 0 ? 0 : Math.floor((pagesMin * managed) / lowmemPages);
      const gap = Math.max(
        Math.floor(min / 4),
        Math.floor((managed * WATERMARK_SCALE_FACTOR) / SCALE_DIVISOR),
      );
      return { min, low: min + gap, high: min + 2 * gap };
    });
    this.min = this.zones.reduce((sum, z) => sum + z.min, 0);
    this.low = this.zones.reduce((sum, z) => sum + z.low, 0);
    this.high = this.zones.reduce((sum, z) => sum + z.high, 0);
  }
}
