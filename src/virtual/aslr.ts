/**
 * Address-space layout randomization as Linux does it on x86-64, by `randomize_va_space`
 * level (`/proc/sys/kernel/randomize_va_space`):
 *
 * ```
 *  0  nothing moves: the fixed layout of layout.ts
 *  1  the stack top, the mmap base and a PIE program's image move
 *  2  the heap start (brk) moves too — Linux's default
 *
 *  stack top = STACK_TOP − r₂₂ pages                 r₂₂: 22 random bits (STACK_RND_MASK
 *                                                        0x3fffff): up to 16 GiB lower
 *  mmap base = STACK_TOP − gap − r₂₈ pages           r₂₈: 28 random bits (mmap_rnd_bits):
 *              gap = RLIMIT_STACK + the stack's           up to 1 TiB lower
 *              whole random range + stack_guard_gap
 *              (≥ 128 MiB), so the lowest stack still has room to grow
 *  image     = 0x400000                               a non-PIE program (ET_EXEC): fixed
 *            = ELF_ET_DYN_BASE + r₂₈ pages            a PIE program (ET_DYN): arch_mmap_rnd,
 *              (0x555555554000)                           up to 1 TiB higher
 *  brk start = image end + r pages,                  r < 1 GiB / 4 KiB (2¹⁸ pages):
 *                                                        arch_randomize_brk for 64-bit
 * ```
 *
 * (arch/x86/mm/mmap.c mmap_base and arch_mmap_rnd, fs/binfmt_elf.c randomize_stack_top and
 * load_elf_binary's load_bias, arch/x86/kernel/process.c arch_randomize_brk.) The draws come in
 * the order stack, mmap, image, brk, so a non-PIE program's layout is the same with or without
 * PIE support. The sub-page offset Linux also gives the initial stack pointer
 * (arch_align_stack) has no counterpart here, where no stack pointer is simulated.
 */
import { GiB, MiB, PAGE_SIZE } from '../hw/constants.js';
import {
  ELF_ET_DYN_BASE,
  FIXED_LAYOUT,
  IMAGE_BASE,
  IMAGE_SIZE,
  STACK_GUARD_GAP,
  STACK_LIMIT,
  STACK_TOP,
  type UserLayout,
} from './layout.js';

/** `randomize_va_space`: 0 off, 1 stack and mmap, 2 also brk. */
export type RandomizeLevel = 0 | 1 | 2;
export const RANDOMIZE_LEVELS: readonly RandomizeLevel[] = [0, 1, 2];

/** Random bits of the stack top, in pages (x86-64 STACK_RND_MASK = 0x3fffff). */
export const STACK_RND_BITS = 22;
/** Random bits of the mmap base, in pages (mmap_rnd_bits' x86-64 default and minimum). */
export const MMAP_RND_BITS = 28;
/** The range the heap start is placed in above the image, for a 64-bit task. */
export const BRK_RND_RANGE = 1 * GiB;
/** Linux's smallest gap between the stack top and the mmap base. */
const MMAP_GAP_MIN = 128 * MiB;

/** `bits` uniformly random bits (1..32) as a non-negative integer. */
export type RandomBits = (bits: number) => number;

/**
 * The layout of a new program at `level`, drawing what it randomizes from `random` (nothing at
 * level 0); `pie`: a position-independent program image, which ASLR moves too.
 */
export function randomizeLayout(
  level: RandomizeLevel,
  random: RandomBits,
  pie = false,
): UserLayout {
  const imageLoad = pie ? ELF_ET_DYN_BASE : IMAGE_BASE;
  if (level === 0)
    return { ...FIXED_LAYOUT, imageBase: imageLoad, brkStart: imageLoad + IMAGE_SIZE };
  const stackTop = STACK_TOP - pages(random(STACK_RND_BITS));
  const stackRange = pages(2 ** STACK_RND_BITS - 1);
  const gap = Math.max(STACK_LIMIT + stackRange + STACK_GUARD_GAP, MMAP_GAP_MIN);
  const mmapBase = STACK_TOP - gap - pages(random(MMAP_RND_BITS));
  const imageBase = pie ? imageLoad + pages(random(MMAP_RND_BITS)) : imageLoad;
  const imageEnd = imageBase + IMAGE_SIZE;
  const brkStart = level === 2 ? randomizePage(imageEnd, BRK_RND_RANGE, random) : imageEnd;
  return { imageBase, mmapBase, stackTop, brkStart };
}

/**
 * Linux's randomize_page: a page-aligned address in [start, start + range); `range` is a
 * power-of-two number of pages here, so the draw is that many bits.
 */
function randomizePage(start: number, range: number, random: RandomBits): number {
  return start + pages(random(Math.log2(range / PAGE_SIZE)));
}

/** Bytes of `count` pages. */
function pages(count: number): number {
  return count * PAGE_SIZE;
}
