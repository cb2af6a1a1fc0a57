/**
 * /proc/zoneinfo: per zone its free pages, watermarks and sizes, in Linux's format
 * (mm/vmstat.c zoneinfo_show_print). The node's LRU counts print once, before the first
 * populated zone; an empty zone stops after its protection line, as on Linux.
 */
import { DMA_END_PFN, DMA32_END_PFN, ZONE_COUNT } from '../physical/index.js';
import { anonMemory } from './anon-memory.js';
import type { KernelView } from './kernel-view.js';

/** vm.lowmem_reserve_ratio's defaults for DMA, DMA32 and Normal. */
const LOWMEM_RESERVE_RATIO = [256, 256, 32];
/** The first frame of each zone. */
const ZONE_START_PFN = [0, DMA_END_PFN, DMA32_END_PFN];

export function formatZoneinfo(machine: KernelView): string {
  const zones = machine.frames.stats().zones;
  const marks = machine.watermarks.zones;
  const lists = anonMemory(machine);
  const topPfn = machine.frames.spannedFrames;
  const firstPopulated = zones.findIndex((z) => z.presentFrames > 0);
  let text = '';
  for (let i = 0; i < ZONE_COUNT; i++) {
    const zone = zones[i]!;
    const mark = marks[i]!;
    const start = ZONE_START_PFN[i]!;
    const end = i + 1 < ZONE_COUNT ? ZONE_START_PFN[i + 1]! : Number.POSITIVE_INFINITY;
    const spanned = Math.max(0, Math.min(end, topPfn) - start);
    text += `Node 0, zone ${zone.name.padStart(8)}`;
    if (i === firstPopulated) {
      text += '\n  per-node stats';
      const nodeStats: [string, number][] = [
        ['nr_inactive_anon', lists.inactive],
        ['nr_active_anon', lists.active],
        ['nr_inactive_file', 0],
        ['nr_active_file', 0],
        ['nr_unevictable', lists.unevictable],
        ['nr_anon_pages', lists.anon],
        ['nr_swapcached', lists.swapCached],
      ];
      for (const [name, value] of nodeStats) text += `\n      ${name.padEnd(12)} ${value}`;
    }
    text +=
      `\n  pages free     ${zone.freeFrames}` +
      '\n        boost    0' +
      `\n        min      ${mark.min}` +
      `\n        low      ${mark.low}` +
      `\n        high     ${mark.high}` +
      `\n        promo    ${mark.high + (mark.high - mark.low)}` +
      `\n        spanned  ${spanned}` +
      `\n        present  ${zone.presentFrames}` +
      `\n        managed  ${zone.managedFrames}` +
      '\n        cma      0' +
      `\n        protection: (${protection(
        zones.map((z) => z.managedFrames),
        i,
      ).join(', ')})`;
    if (zone.presentFrames === 0) {
      text += '\n';
      continue;
    }
    text +=
      `\n      ${'nr_free_pages'.padEnd(12)} ${zone.freeFrames}` +
      '\n  pagesets\n    cpu: 0\n              count: 0\n              high:  0\n              batch: 1' +
      '\n  vm stats threshold: 0' +
      '\n  node_unreclaimable:  0' +
      `\n  start_pfn:           ${start}\n`;
  }
  return text;
}

/**
 * Linux's lowmem_reserve: pages zone `zone` keeps back from allocations that could have used
 * each higher zone (the managed pages between them / the zone's ratio).
 */
function protection(managed: readonly number[], zone: number): number[] {
  return managed.map((_, j) => {
    if (j <= zone) return 0;
    let above = 0;
    for (let k = zone + 1; k <= j; k++) above += managed[k]!;
    return Math.floor(above / LOWMEM_RESERVE_RATIO[zone]!);
  });
}
