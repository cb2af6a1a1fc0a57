/**
 * The x86-64 virtual address layout of WallOS, as Linux lays out 4-level paging.
 *
 * ```
 *  0xffffffffffffffff ┌───────────────────────────┐
 *                     │ kernel image (text, data) │  KERNEL_IMAGE_VA = 0xffffffff80000000
 *  0xffffffff80000000 ├───────────────────────────┤  (WallOS's KERNEL_VIRTUAL_BASE)
 *                     │            ...            │
 *  0xffffc90000000000 ├───────────────────────────┤
 *                     │ vmalloc area (32 TiB)     │  virtually contiguous kernel memory
 *                     │            ...            │
 *  0xffff888000000000 ├───────────────────────────┤
 *                     │ direct map of all RAM     │  kernel VA = DIRECT_MAP_BASE + physical
 *  0xffff800000000000 ├───────────────────────────┤  lowest canonical kernel address
 *                     │  non-canonical hole       │
 *  0x00007fffffffffff ├───────────────────────────┤
 *                     │ stack (grows down, 8 MiB) │  STACK_TOP
 *                     │ guard gap                 │
 *                     │ mmap area (grows down)    │  MMAP_BASE
 *                     │            ...            │
 *                     │ heap (brk, grows up)      │  ┐ a PIE image (ET_DYN) and its heap:
 *                     │ PIE program image         │  ┘ ELF_ET_DYN_BASE = 0x555555554000
 *                     │            ...            │
 *                     │ heap (brk, grows up)      │
 *                     │ program image (non-PIE)   │  IMAGE_BASE = 0x400000
 *  0x0000000000010000 ├───────────────────────────┤  USER_MIN: nothing mapped below 64 KiB
 *  0x0000000000000000 └───────────────────────────┘
 * ```
 *
 * Kernel addresses are held sign-extended (DESIGN.md), so the constants below are negative.
 */
import { pageDown, USER_TOP } from '../hw/address.js';
import { MiB, PAGE_SIZE, TiB } from '../hw/constants.js';

/** `0xffff888000000000`: physical address 0 in the kernel's direct map. */
export const DIRECT_MAP_BASE = -0x778000000000;
/** `0xffffc90000000000`: start of the vmalloc area. */
export const VMALLOC_BASE = -0x370000000000;
export const VMALLOC_SIZE = 32 * TiB;
/** `0xffffffff80000000`: where the kernel image is mapped (physical 0 + offset). */
export const KERNEL_IMAGE_VA = -0x80000000;

/** Nothing is ever mapped below this (null-pointer guard), like Linux's mmap_min_addr. */
export const USER_MIN = 0x10000;
/** Where a non-PIE program's image (text, data, bss) is loaded: ld's x86-64 default. */
export const IMAGE_BASE = 0x400000;
/** Sizes of the program image that every process gets (text, then data and bss). */
export const IMAGE_TEXT_SIZE = 16 * 1024;
export const IMAGE_DATA_SIZE = 8 * 1024;
export const IMAGE_SIZE = IMAGE_TEXT_SIZE + IMAGE_DATA_SIZE;
/** End of the non-PIE image: where the heap (brk) starts in the fixed layout. */
export const IMAGE_END = IMAGE_BASE + IMAGE_SIZE;
/** The 47-bit user space less its last page (Linux's DEFAULT_MAP_WINDOW on x86-64). */
const DEFAULT_MAP_WINDOW = USER_TOP - PAGE_SIZE;
/**
 * Where a position-independent (ET_DYN) program's image goes before ASLR moves it: 2/3 of the
 * user space (arch/x86/include/asm/elf.h ELF_ET_DYN_BASE, `DEFAULT_MAP_WINDOW / 3 * 2` =
 * 0x555555554aaa), page-aligned as load_elf_binary's ELF_PAGESTART leaves the load bias.
 */
export const ELF_ET_DYN_BASE = pageDown(Math.floor(DEFAULT_MAP_WINDOW / 3) * 2);
/** One past the highest user stack byte: the last page of user space is never mapped. */
export const STACK_TOP = USER_TOP - PAGE_SIZE;
/** The largest stack (RLIMIT_STACK default). */
export const STACK_LIMIT = 8 * MiB;
/** Pages of the stack mapped when a process starts. */
export const INITIAL_STACK_SIZE = 32 * 1024;
/** Gap kept between the stack and any mapping below it, as Linux's stack_guard_gap. */
export const STACK_GUARD_GAP = 256 * PAGE_SIZE;
/** Top of the mmap area: below the largest stack and its guard gap. */
export const MMAP_BASE = STACK_TOP - STACK_LIMIT - STACK_GUARD_GAP - 128 * MiB;

/**
 * Where one address space's regions are (the image's load address, Linux's mm->mmap_base, the
 * stack top, mm->start_brk): the fixed layout above, or one that ASLR moved (aslr.ts).
 */
export interface UserLayout {
  /** First byte of the program image: its text, then its data and bss. */
  readonly imageBase: number;
  /** Top of the mmap area: mappings without a fixed address go top-down below it. */
  readonly mmapBase: number;
  /** One past the highest stack byte. */
  readonly stackTop: number;
  /** First byte of the heap. */
  readonly brkStart: number;
}

/** The layout without randomization (`randomize_va_space` 0) of a non-PIE program. */
export const FIXED_LAYOUT: UserLayout = {
  imageBase: IMAGE_BASE,
  mmapBase: MMAP_BASE,
  stackTop: STACK_TOP,
  brkStart: IMAGE_END,
};

/** The program image's text, as [start, end). */
export function imageText(layout: UserLayout): [number, number] {
  return [layout.imageBase, layout.imageBase + IMAGE_TEXT_SIZE];
}

/** The program image's data and bss, as [start, end): the heap starts at or above the end. */
export function imageData(layout: UserLayout): [number, number] {
  return [layout.imageBase + IMAGE_TEXT_SIZE, layout.imageBase + IMAGE_SIZE];
}

/** Physical address of a direct-map kernel address. */
export function directMapToPhysical(va: number): number {
  return va - DIRECT_MAP_BASE;
}

/** Direct-map kernel address of a physical address. */
export function physicalToDirectMap(pa: number): number {
  return pa + DIRECT_MAP_BASE;
}
