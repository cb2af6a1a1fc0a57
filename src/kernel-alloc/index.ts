/**
 * The kernel allocator: Bonwick slab caches and the kmalloc family, over pages from the
 * virtual-memory layer (see {@link SlabAllocator}).
 */
export { POISON_END, POISON_FREE, POISON_INUSE, RED_ACTIVE, RED_INACTIVE } from './debug.js';
export { SlabError, type SlabErrorCode } from './errors.js';
export { CACHE_LINE_SIZE, MAX_SLAB_ORDER, SlabGeometry } from './geometry.js';
export { type KernelPageSource, MAX_PAGE_ORDER, NO_PAGES } from './page-source.js';
export { KMALLOC_MAX_CACHE_SIZE, KMALLOC_SIZES, kmallocCacheName } from './size-classes.js';
export {
  KMALLOC_MAX_SIZE,
  MAX_ALIGN,
  SlabAllocator,
  type SlabAllocatorOptions,
  type SlabStats,
  ZERO_SIZE_PTR,
} from './slab-allocator.js';
export {
  type CacheOptions,
  NULL,
  type ObjectConstructor,
  SlabCache,
  type SlabInfo,
} from './slab-cache.js';
export { DirectMapMemory, FlatKernelMemory, FlatPageSource } from './standalone.js';
