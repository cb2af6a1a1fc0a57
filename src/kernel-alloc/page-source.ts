/**
 * Where the slab allocator gets its memory: whole pages of kernel virtual memory, given by the
 * virtual-memory layer. The slab allocator never talks to the buddy allocator itself.
 */
export interface KernelPageSource {
  /**
   * Kernel virtual address (in the direct map) of 2^order contiguous pages, or -1 when memory
   * is exhausted even after the source's reclaim (its shrinkers, the slab's empty slabs among
   * them): the slab allocator does not reclaim and retry on its own.
   */
  allocKernelPages(order: number): number;
  /** Gives back pages that `allocKernelPages(order)` returned at `address`. */
  freeKernelPages(address: number, order: number): void;
}

/** What `allocKernelPages` returns when memory is exhausted. */
export const NO_PAGES = -1;

/** Largest block kernel pages come in: 2^10 pages (Linux's MAX_PAGE_ORDER). */
export const MAX_PAGE_ORDER = 10;
