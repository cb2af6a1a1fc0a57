/**
 * `/proc/slabinfo` in Linux's version 2.1 format, the one procps `slabtop` reads:
 *
 * ```
 * slabinfo - version: 2.1
 * # name            <active_objs> <num_objs> <objsize> <objperslab> <pagesperslab> : tunables <limit> <batchcount> <sharedfactor> : slabdata <active_slabs> <num_slabs> <sharedavail>
 * kmalloc-64           120    128     64   64    1 : tunables  120   60    0 : slabdata      2      2      0
 * ```
 *
 * `objsize` is the slot size (object plus debug metadata and padding), as SLUB prints it. As on
 * Linux SLAB, `active_objs` counts every object the slabs have handed out, those parked in the
 * per-CPU array included, and the tunables are that array's `limit` and `batchcount` (0 for a
 * debug cache, which has none); there is no shared array, so `sharedfactor` and `sharedavail`
 * are 0.
 */
import type { SlabCache } from './slab-cache.js';

const HEADER =
  'slabinfo - version: 2.1\n' +
  '# name            <active_objs> <num_objs> <objsize> <objperslab> <pagesperslab>' +
  ' : tunables <limit> <batchcount> <sharedfactor>' +
  ' : slabdata <active_slabs> <num_slabs> <sharedavail>\n';

/** The whole slabinfo text for `caches`, listed in the given order. */
export function formatSlabinfo(caches: readonly SlabCache[]): string {
  return HEADER + caches.map(formatCacheLine).join('');
}

/** One cache's line: `%-17s %6lu %6lu %6u %4u %4d : tunables %4u %4u %4u : slabdata ...`. */
function formatCacheLine(cache: SlabCache): string {
  const g = cache.geometry;
  const inSlabs = cache.activeObjects + cache.arrayObjects;
  const objects = [inSlabs, cache.totalObjects, g.stride].map((n) => pad(n, 6));
  const perSlab = [g.objectsPerSlab, g.pagesPerSlab].map((n) => pad(n, 4));
  const tunables = [cache.arrayLimit, cache.arrayBatch, 0].map((n) => pad(n, 4));
  const slabdata = [cache.activeSlabs, cache.slabCount, 0].map((n) => pad(n, 6));
  return (
    `${cache.name.padEnd(17)} ${objects.join(' ')} ${perSlab.join(' ')}` +
    ` : tunables ${tunables.join(' ')} : slabdata ${slabdata.join(' ')}\n`
  );
}

function pad(value: number, width: number): string {
  return String(value).padStart(width);
}
