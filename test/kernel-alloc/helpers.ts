/** A small kernel for the slab allocator's tests: flat RAM, its direct map, a page source. */
import { PAGE_SIZE } from '../../src/hw/constants.js';
import { PhysicalMemory, RAM_CHUNK_SIZE } from '../../src/hw/ram.js';
import { SlabAllocator } from '../../src/kernel-alloc/slab-allocator.js';
import { DirectMapMemory, FlatPageSource } from '../../src/kernel-alloc/standalone.js';

export interface TestKernel {
  ram: PhysicalMemory;
  memory: DirectMapMemory;
  pages: FlatPageSource;
  slab: SlabAllocator;
  /** What the fresh allocator holds for itself: the kmem_cache slab of the boot caches'
   * descriptors (pages, and objects in use), the baseline everything comes back to. */
  boot: { pages: number; objects: number };
}

/** An allocator over `pageCount` pages of RAM (physical 0 up). */
export function makeKernel(
  options: { pageCount?: number; debug?: boolean; cpus?: number } = {},
): TestKernel {
  const pageCount = options.pageCount ?? 1024;
  const ram = PhysicalMemory.flat(
    Math.ceil((pageCount * PAGE_SIZE) / RAM_CHUNK_SIZE) * RAM_CHUNK_SIZE,
  );
  const memory = new DirectMapMemory(ram);
  const pages = new FlatPageSource(0, pageCount);
  const slab = new SlabAllocator(pages, memory, {
    debug: options.debug ?? false,
    cpus: options.cpus ?? 1,
  });
  pages.registerShrinker(() => slab.shrinkAll());
  const boot = { pages: pages.allocatedPages, objects: slab.stats().activeObjects };
  return { ram, memory, pages, slab, boot };
}

/** Writes a pattern derived from `seed` into `length` bytes at `address`. */
export function fillPattern(
  memory: DirectMapMemory,
  address: number,
  length: number,
  seed: number,
): void {
  const bytes = new Uint8Array(length);
  for (let i = 0; i < length; i++) bytes[i] = (seed * 31 + i * 7) & 0xff;
  memory.writeBytes(address, bytes);
}

/** True when the pattern of `seed` is still at `address`. */
export function hasPattern(
  memory: DirectMapMemory,
  address: number,
  length: number,
  seed: number,
): boolean {
  const bytes = memory.readBytes(address, length);
  for (let i = 0; i < length; i++) if (bytes[i] !== ((seed * 31 + i * 7) & 0xff)) return false;
  return true;
}

/** Calls `fn` and returns the `code` of what it threw (undefined when it did not throw). */
export function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (error) {
    return (error as { code?: string }).code;
  }
  return undefined;
}
