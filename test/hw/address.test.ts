import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  formatAddress,
  fromUnsigned64,
  isCanonical,
  isKernelAddress,
  isUserAddress,
  KERNEL_BOTTOM,
  parseAddress,
  toUnsigned64,
  USER_TOP,
} from '../../src/hw/address.js';

describe('sign-extended addresses', () => {
  it('parses and formats the kernel base both ways', () => {
    const va = parseAddress('0xffffffff80000000');
    expect(va).toBe(-0x8000_0000);
    expect(formatAddress(va)).toBe('0xffffffff80000000');
    expect(parseAddress(0xffff_ffff_8000_0000n)).toBe(va);
    expect(parseAddress('0xffff_8880_0000_0000')).toBe(-0x7780_0000_0000);
  });

  it('round-trips every canonical address through text and bigint', () => {
    fc.assert(
      fc.property(fc.integer({ min: KERNEL_BOTTOM, max: USER_TOP - 1 }), (va) => {
        expect(parseAddress(formatAddress(va))).toBe(va);
        expect(fromUnsigned64(toUnsigned64(va))).toBe(va);
        expect(isUserAddress(va)).toBe(va >= 0);
        expect(isKernelAddress(va)).toBe(va < 0);
      }),
    );
  });

  it('rejects non-canonical and malformed addresses', () => {
    expect(isCanonical(USER_TOP)).toBe(false);
    expect(isCanonical(KERNEL_BOTTOM - 1)).toBe(false);
    expect(isCanonical(1.5)).toBe(false);
    expect(() => parseAddress('0x0000800000000000')).toThrow(/not canonical/);
    expect(() => parseAddress('0xfffg')).toThrow(/not an address/);
    expect(() => parseAddress(2 ** 64 + 1)).toThrow(/not canonical/);
    expect(() => fromUnsigned64(1n << 64n)).toThrow(/64 bits/);
  });

  it('formats what is not an address as itself', () => {
    expect(formatAddress(Number.NaN)).toBe('NaN');
    expect(formatAddress(0.5)).toBe('0.5');
  });
});
