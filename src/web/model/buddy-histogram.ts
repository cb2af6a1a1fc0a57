/** The buddy free lists as histogram data: free blocks per order, one series per zone. */
import { MAX_ORDER } from '../../physical/constants.js';
import type { PhysicalMemoryStats } from '../../physical/stats.js';

/** One zone's free blocks per order. */
export interface ZoneSeries {
  readonly zone: string;
  /** Free blocks of each order 0..MAX_ORDER. */
  readonly blocks: readonly number[];
  /** Free frames those blocks hold (Σ blocks[order] · 2^order). */
  readonly freeFrames: number;
}

/** Labels of the orders, with the block size: `0 (4K)` … `10 (4M)`. */
export function orderLabels(): string[] {
  const labels: string[] = [];
  for (let order = 0; order <= MAX_ORDER; order++)
    labels.push(`${order} (${blockSizeLabel(order)})`);
  return labels;
}

const FRAME_KIB = 4;
const KIB_PER_MIB = 1024;

/** The size of a block of `order`, as `4K`, `8K` … `4M`. */
export function blockSizeLabel(order: number): string {
  const kib = FRAME_KIB * 2 ** order;
  return kib < KIB_PER_MIB ? `${kib}K` : `${kib / KIB_PER_MIB}M`;
}

/** A series for every zone that has RAM. */
export function freeListSeries(stats: PhysicalMemoryStats): ZoneSeries[] {
  return stats.zones
    .filter((zone) => zone.presentFrames > 0)
    .map((zone) => ({
      zone: zone.name,
      blocks: [...zone.freeBlocks],
      freeFrames: zone.freeBlocks.reduce((sum, count, order) => sum + count * 2 ** order, 0),
    }));
}
