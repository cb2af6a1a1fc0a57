/**
 * The slab caches as the page shows them: per cache, its slabs on the full, partial and empty
 * lists and how many objects each slab has in use.
 */

import type { SlabAllocator } from '../../kernel-alloc/slab-allocator.js';
import type { SlabCache, SlabInfo } from '../../kernel-alloc/slab-cache.js';

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

/** Every cache with its slabs; caches without slabs are left out unless `withEmpty`. */
export function slabCacheViews(allocator: SlabAllocator, withEmpty = false): SlabCacheView[] {
  return allocator
    .caches()
    .filter((cache) => withEmpty || cache.slabCount > 0)
    .map((cache) => {
      const lists: Record<SlabInfo['list'], number[]> = { full: [], partial: [], empty: [] };
      cache.forEachSlab((slab) => lists[slab.list].push(slab.inUse));
      return viewOf(cache, lists);
    });
}

function viewOf(cache: SlabCache, lists: Record<SlabInfo['list'], number[]>): SlabCacheView {
  const partial = lists.partial.sort((a, b) => b - a);
  return {
    name: cache.name,
    objectSize: cache.objectSize,
    objectsPerSlab: cache.geometry.objectsPerSlab,
    pagesPerSlab: cache.geometry.pagesPerSlab,
    activeObjects: cache.activeObjects,
    arrayObjects: cache.arrayObjects,
    totalObjects: cache.totalObjects,
    full: lists.full.length,
    partial: partial.length,
    empty: lists.empty.length,
    slabFill: [...lists.full, ...partial, ...lists.empty],
  };
}
