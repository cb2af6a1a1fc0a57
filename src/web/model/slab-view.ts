/**
 * The slab caches as the page shows them: per cache, its slabs on the full, partial and empty
 * lists and how many objects each slab has in use.
 */

import type { SlabAllocator } from '../../kernel-alloc/slab-allocator.js';
import type { SlabCache } from '../../kernel-alloc/slab-cache.js';
import { EMPTY, FULL, PARTIAL } from '../../kernel-alloc/slab-table.js';

/** One cache's summary. */
export interface SlabCacheView {
  readonly name: string;
  readonly objectSize: number;
  readonly objectsPerSlab: number;
  readonly pagesPerSlab: number;
  readonly activeObjects: number;
  /** Free objects in the cache's per-CPU array (counted in use by their slabs). */
  readonly arrayObjects: number;
  readonly totalObjects: number;
  readonly full: number;
  readonly partial: number;
  readonly empty: number;
  /** Objects in use of each slab (the array's included), full first, then partial, then empty. */
  readonly slabFill: readonly number[];
}

/** True when a slab record's list agrees with its object count (unused table slots do not). */
function consistent(list: number, inUse: number, perSlab: number): boolean {
  if (list === FULL) return inUse === perSlab;
  if (list === PARTIAL) return inUse > 0 && inUse < perSlab;
  return list === EMPTY && inUse === 0;
}

/**
 * Every cache with its slabs, read from the allocator's slab table (one record per slab id;
 * released ids belong to no cache, never-used ones fail the consistency test). Caches without
 * slabs are left out unless `withEmpty`.
 */
export function slabCacheViews(allocator: SlabAllocator, withEmpty = false): SlabCacheView[] {
  const caches = allocator.caches();
  const byId = new Map<number, SlabCache>(caches.map((cache) => [cache.id, cache]));
  const fills = new Map<number, number[][]>(caches.map((cache) => [cache.id, [[], [], []]]));
  const table = allocator.slabs;
  for (let slab = 0; table.cacheOf(slab) !== undefined; slab++) {
    const cache = byId.get(table.cacheOf(slab));
    if (cache === undefined) continue;
    const list = table.listOf(slab);
    const inUse = table.inUse(slab);
    if (!consistent(list, inUse, cache.geometry.objectsPerSlab)) continue;
    fills.get(cache.id)![list]!.push(inUse);
  }
  return caches
    .filter((cache) => withEmpty || cache.slabCount > 0)
    .map((cache) => viewOf(cache, fills.get(cache.id)!));
}

function viewOf(cache: SlabCache, lists: number[][]): SlabCacheView {
  const partial = lists[PARTIAL]!.sort((a, b) => b - a);
  return {
    name: cache.name,
    objectSize: cache.objectSize,
    objectsPerSlab: cache.geometry.objectsPerSlab,
    pagesPerSlab: cache.geometry.pagesPerSlab,
    activeObjects: cache.activeObjects,
    arrayObjects: cache.arrayObjects,
    totalObjects: cache.totalObjects,
    full: lists[FULL]!.length,
    partial: partial.length,
    empty: lists[EMPTY]!.length,
    slabFill: [...lists[FULL]!, ...partial, ...lists[EMPTY]!],
  };
}
