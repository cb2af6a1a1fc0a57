/**
 * The words the page puts next to its pictures: what each page-table flag bit means (Intel SDM
 * vol. 3, 4.5), what a buddy order is, what each slab column counts. Shown as tooltips.
 */
import { blockSizeLabel } from './buddy-histogram.js';

/** What each flag bit of a page-table entry means, by the name the walk shows. */
export const PTE_BIT_MEANINGS: Readonly<Record<string, string>> = {
  P: 'Present (bit 0): the entry maps something; clear, any access page-faults and the other bits are the kernel’s (a swap entry, PROT_NONE)',
  RW: 'Read/Write (bit 1): writes allowed; clear on a copy-on-write page, so the first write faults and copies it',
  US: 'User/Supervisor (bit 2): user mode (CPL 3) may access; clear on kernel memory',
  PWT: 'Page-level Write-Through (bit 3): caching policy of the page or table',
  PCD: 'Page-level Cache Disable (bit 4): the page or table is not cached',
  A: 'Accessed (bit 5): set by the CPU on any access through this entry; reclaim reads and clears it to tell recently used pages',
  D: 'Dirty (bit 6, leaves only): set by the CPU on a write; a dirty page must be written out before its frame is reused',
  PS: 'Page Size (bit 7): in a PDPT or PD entry, this entry maps a 1 GiB or 2 MiB page itself',
  G: 'Global (bit 8): the translation survives a CR3 switch in the TLB (kernel pages)',
  NX: 'No-eXecute (bit 63): instruction fetches fault (needs EFER.NXE)',
};

/** What order `order` of the buddy allocator is. */
export function orderMeaning(order: number): string {
  const frames = 2 ** order;
  return (
    `order ${order}: blocks of 2^${order} = ${frames} contiguous frame${frames === 1 ? '' : 's'} ` +
    `(${blockSizeLabel(order)}), aligned to their size; freeing a block merges it with its free ` +
    'buddy (the other half of the block one order up)'
  );
}

/** What each column of the slab table counts, by its header. */
export const SLAB_COLUMN_MEANINGS: Readonly<Record<string, string>> = {
  cache: 'the cache: one object size (kmalloc-N) or one kernel object type',
  object: 'bytes of one object, alignment included',
  'per slab': 'objects carved from one slab (one or more contiguous pages)',
  'objects used':
    'objects handed out / objects in all slabs. Objects resting in the per-CPU array (freed, kept for a fast next allocation) count as in use by their slabs, as in Linux SLAB’s active_objs: they are not on the slab’s free list',
  full: 'slabs with every object in use',
  partial: 'slabs with some objects in use: allocations come from these first',
  empty:
    'slabs with no object in use: kept for reuse, given back to the buddy allocator under memory pressure (or drop_caches)',
  slabs: 'one bar per slab, as tall as the share of its objects in use',
};
