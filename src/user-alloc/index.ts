/** The userspace allocator: the malloc family over a {@link HeapHost}, and its flat-buffer host. */
export { ALIGNMENT } from './chunk.js';
export {
  createFlatHeap,
  type FlatHeapBacking,
  FlatHeapHost,
  type FlatHeapOptions,
  type GrowBuffer,
} from './flat-heap.js';
export { FlatMemory, FlatMemoryFaultError } from './flat-memory.js';
export { HeapCorruptionError, type HeapHost } from './heap-host.js';
export {
  MAX_REQUEST,
  type MallInfo,
  THREAD_CACHE_BYTES,
  UserAllocator,
  type UserAllocatorOptions,
} from './user-allocator.js';
