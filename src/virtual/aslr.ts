/**
 * Address-space layout randomization as Linux does it on x86-64, by `randomize_va_space`
 * level (`/proc/sys/kernel/randomize_va_space`):
 *
 * ```
 *  0  nothing moves: the fixed layout of layout.ts
 *  1  the stack top and the mmap base move
 *  2  the heap start (brk) moves too — Linux's default
 *
 *  stack top = STACK_TOP − r₂₂ pages                 r₂₂: 22 random bits (STACK_RND_MASK
 *                                                        0x3fffff): up to 16 GiB lower
 *  mmap base = STACK_TOP − gap − r₂₈ pages           r₂₈: 28 random bits (mmap_rnd_bits):
 *              gap = RLIMIT_STACK + the stack's           up to 1 TiB lower
 *              whole random range + stack_guard_gap
 *              (≥ 128 MiB), so the lowest stack still has room to grow
 *  brk start = image end + r pages,                  r < 1 GiB / 4 KiB (2¹⁸ pages):
 *                                                        arch_randomize_brk for 64-bit
 * ```
 *
 * (arch/x86/mm/mmap.c mmap_base and arch_mmap_rnd, fs/binfmt_elf.c randomize_stack_top,
 * arch/x86/kernel/process.c arch_randomize_brk.) The program image itself stays at 0x400000,
 * a non-PIE executable's address; the sub-page offset Linux also gives the initial stack
 * pointer (arch_align_stack) has no counterpart here, where no stack pointer is simulated.
 */
import { GiB, MiB, PAGE_SIZE } from '../hw/constants.js';
import {
  FIXED_LAYOUT,
  IMAGE_END,
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

/** A layout at `level`, drawing what it randomizes from `random` (nothing at level 0). */
export function randomizeLayout(level: RandomizeLevel, random: RandomBits): UserLayout {
  if (level === 0) return FIXED_LAYOUT;
  const stackTop = STACK_TOP - pages(random(STACK_RND_BITS));
  const stackRange = pages(2 ** STACK_RND_BITS - 1);
  const gap = Math.max(STACK_LIMIT + stackRange + STACK_GUARD_GAP, MMAP_GAP_MIN);
  const mmapBase = STACK_TOP - gap - pages(random(MMAP_RND_BITS));
  const brkStart = level === 2 ? randomizePage(IMAGE_END, BRK_RND_RANGE, random) : IMAGE_END;
  return { mmapBase, stackTop, brkStart };
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
