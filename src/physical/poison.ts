/**
 * Debug-mode poisoning of free frames (like Linux's `page_poisoning`): a freed block is filled
 * with {@link POISON_BYTE}; when it is handed out again every poisoned frame must still hold the
 * pattern, otherwise something wrote into memory it no longer owned.
 */
import { PAGE_SIZE } from '../hw/constants.js';
import type { PhysicalMemory } from '../hw/ram.js';

/** The byte a free frame is filled with (Linux's PAGE_POISON is 0xaa too). */
export const POISON_BYTE = 0xaa;
/** Four poison bytes as one little-endian word, for checking 32 bits at a time. */
const POISON_WORD = 0xaaaaaaaa;
const WORD_BYTES = 4;

/** A poisoned free frame found modified when it was about to be handed out. */
export interface PoisonReport {
  /** Physical address of the frame (it is quarantined: never handed out again). */
  readonly frame: number;
  /** Offset in the frame of the first byte that lost the poison. */
  readonly offset: number;
  /** The byte found there. */
  readonly found: number;
}

/** Fills `[pa, pa + bytes)` with the poison pattern. */
export function poison(ram: PhysicalMemory, pa: number, bytes: number): void {
  ram.fill(pa, bytes, POISON_BYTE);
}

/** The offset of the first byte of the frame at `pa` that is not poison, or -1. */
export function firstUnpoisonedByte(ram: PhysicalMemory, pa: number): number {
  for (let offset = 0; offset < PAGE_SIZE; offset += WORD_BYTES) {
    if (ram.load32(pa + offset) !== POISON_WORD) {
      while (ram.load8(pa + offset) === POISON_BYTE) offset++;
      return offset;
    }
  }
  return -1;
}
