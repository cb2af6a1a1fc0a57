/** Sizes of the x86-64 paging hardware. */

export const PAGE_SHIFT = 12;
/** A 4 KiB page: the unit of a page-table leaf at level 1 and of a physical frame. */
export const PAGE_SIZE = 1 << PAGE_SHIFT;
export const PAGE_MASK = PAGE_SIZE - 1;

export const LARGE_PAGE_SHIFT = 21;
/** A 2 MiB page: a leaf in a page directory (PS = 1). */
export const LARGE_PAGE_SIZE = 1 << LARGE_PAGE_SHIFT;

export const HUGE_PAGE_SHIFT = 30;
/** A 1 GiB page: a leaf in a page-directory-pointer table (PS = 1). */
export const HUGE_PAGE_SIZE = 2 ** HUGE_PAGE_SHIFT;

/** Entries in one page table of any level (4 KiB / 8 bytes). */
export const ENTRIES_PER_TABLE = 512;
export const PTE_SIZE = 8;

export const KiB = 1024;
export const MiB = 1024 * KiB;
export const GiB = 1024 * MiB;
export const TiB = 1024 * GiB;
