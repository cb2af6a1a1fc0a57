import { describe, expect, it } from 'vitest';
import { entryAddress, entryHigh, entryLow, PTE_P, PTE_PS } from '../../src/hw/paging.js';
import {
  isSwapEntry,
  PTE_PROT_NONE,
  SWP_OFFSET_BITS,
  SWP_OFFSET_MAX,
  SWP_TYPE_MAX,
  swapEntryHigh,
  swapEntryLow,
  swapEntryOffset,
  swapEntryType,
} from '../../src/virtual/swap/swap-entry.js';

/** The entry as a 64-bit value, for comparing with Linux's formula. */
function asBigInt(low: number, high: number): bigint {
  return (BigInt(high) << 32n) | BigInt(low);
}

/** Linux's __swp_entry(type, offset) on x86-64, written with BigInt as the reference. */
function linuxSwpEntry(type: number, offset: number): bigint {
  const mask64 = (1n << 64n) - 1n;
  const inverted = ~BigInt(offset) & mask64;
  return ((BigInt(type) << 59n) | (((inverted << 14n) & mask64) >> 5n)) & mask64;
}

describe('swap entries', () => {
  it('round-trip every offset bit and every type, and match Linux’s __swp_entry', () => {
    const offsets = [0, 1, SWP_OFFSET_MAX];
    for (let bit = 0; bit < SWP_OFFSET_BITS; bit++) offsets.push(2 ** bit);
    for (let type = 0; type <= SWP_TYPE_MAX; type++) {
      for (const offset of offsets) {
        if (offset > SWP_OFFSET_MAX) continue;
        const low = swapEntryLow(offset);
        const high = swapEntryHigh(type, offset);
        expect(swapEntryOffset(low, high)).toBe(offset);
        expect(swapEntryType(high)).toBe(type);
        expect(asBigInt(low, high)).toBe(linuxSwpEntry(type, offset));
        expect(isSwapEntry(low, high)).toBe(true);
        expect(low & (PTE_P | PTE_PS | PTE_PROT_NONE)).toBe(0);
      }
    }
  });

  it('never collide with a PROT_NONE entry or the empty entry', () => {
    const frame = 0x12345000;
    const protNone = entryLow(frame, PTE_PROT_NONE);
    expect(isSwapEntry(protNone, entryHigh(frame))).toBe(false);
    expect(entryAddress(protNone, entryHigh(frame))).toBe(frame);
    expect(isSwapEntry(entryLow(frame, PTE_P), entryHigh(frame))).toBe(false);
    expect(isSwapEntry(0, 0)).toBe(false);
    // The one offset Linux cannot use either: all ones of type 0 is the empty entry.
    const past = SWP_OFFSET_MAX + 1;
    expect(swapEntryLow(past) | swapEntryHigh(0, past)).toBe(0);
  });

  it('store the offset inverted, so a small slot sets high address bits (L1TF)', () => {
    expect(swapEntryHigh(0, 1) & 0x07ffffff).toBe(0x07ffffff);
    expect(swapEntryLow(1)).toBe(0xfffffc00);
  });
});
