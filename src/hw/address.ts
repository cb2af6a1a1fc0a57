/**
 * Addresses are plain JS numbers (see DESIGN.md, "Addresses are plain numbers").
 *
 * Physical addresses are non-negative safe integers. Virtual addresses are x86-64 canonical
 * 48-bit addresses held as their *sign-extended* value, so every canonical address is an exact
 * number and the two halves of the address space sit either side of zero:
 *
 * ```
 *   0xffffffffffffffff  ->            -1  ┐
 *   0xffffffff80000000  ->  -0x80000000   │ kernel half  [-2^47, 0)
 *   0xffff800000000000  ->       -2^47    ┘
 *          (non-canonical hole: not representable, rejected)
 *   0x00007fffffffffff  ->    2^47 - 1    ┐ user half    [0, 2^47)
 *   0x0000000000000000  ->            0   ┘
 * ```
 *
 * Bit fields still come out right: `va & 0xfff` is the page offset and
 * `Math.floor(va / 2 ** 39) & 511` is the PML4 index in both halves, because JS bitwise
 * operators reduce modulo 2^32 (two's complement).
 */
import { InvalidArgumentError } from '../errors.js';
import { PAGE_SIZE } from './constants.js';

/** Bits of virtual address implemented by 4-level paging. */
export const VIRTUAL_ADDRESS_BITS = 48;
/** First address above the user half; the lowest canonical kernel address is `-USER_TOP`. */
export const USER_TOP = 2 ** (VIRTUAL_ADDRESS_BITS - 1);
/** The lowest canonical kernel address, `0xffff800000000000`. */
export const KERNEL_BOTTOM = -USER_TOP;
/** Physical addresses are below 2^52 (MAXPHYADDR of x86-64). */
export const PHYSICAL_ADDRESS_LIMIT = 2 ** 52;

/** `n` rounded up to a whole number of pages (Linux's PAGE_ALIGN). */
export function pageUp(n: number): number {
  return Math.ceil(n / PAGE_SIZE) * PAGE_SIZE;
}

/** The start of the page holding address `n` (Linux's PAGE_ALIGN_DOWN, for n >= 0). */
export function pageDown(n: number): number {
  return n - (n % PAGE_SIZE);
}

/** True when `n` is a multiple of the page size (Linux's PAGE_ALIGNED). */
export function isPageAligned(n: number): boolean {
  return n % PAGE_SIZE === 0;
}

const TWO_POW_48 = 2 ** 48;
const TWO_POW_64 = 1n << 64n;
const TWO_POW_63 = 1n << 63n;

/** True when `va` is a canonical virtual address in the sign-extended representation. */
export function isCanonical(va: number): boolean {
  return Number.isSafeInteger(va) && va >= KERNEL_BOTTOM && va < USER_TOP;
}

/** True when `va` is in the user half `[0, 2^47)`. */
export function isUserAddress(va: number): boolean {
  return va >= 0 && va < USER_TOP;
}

/** True when `va` is in the canonical kernel half `[-2^47, 0)`. */
export function isKernelAddress(va: number): boolean {
  return va < 0 && va >= KERNEL_BOTTOM;
}

/**
 * Converts a raw unsigned 64-bit value to the sign-extended number form.
 * @throws InvalidArgumentError when the value is not a canonical address.
 */
export function fromUnsigned64(raw: bigint): number {
  if (raw < 0n || raw >= TWO_POW_64) {
    throw new InvalidArgumentError(`address ${raw} does not fit in 64 bits`);
  }
  const signed = raw >= TWO_POW_63 ? raw - TWO_POW_64 : raw;
  const va = Number(signed);
  if (BigInt(va) !== signed || !isCanonical(va)) {
    throw new InvalidArgumentError(`address 0x${raw.toString(16)} is not canonical`);
  }
  return va;
}

/** The raw unsigned 64-bit value of a sign-extended address, as a bigint. */
export function toUnsigned64(va: number): bigint {
  const big = BigInt(va);
  return big < 0n ? big + TWO_POW_64 : big;
}

/**
 * Formats an address for people: `0x` and 16 lowercase hex digits, kernel addresses with their
 * sign-extended top bits (`-0x80000000` prints as `0xffffffff80000000`). A number that is no
 * address at all (a fraction, NaN) prints as itself.
 */
export function formatAddress(va: number): string {
  if (!Number.isSafeInteger(va)) return String(va);
  if (va >= 0) return `0x${va.toString(16).padStart(16, '0')}`;
  if (va >= KERNEL_BOTTOM) return `0xffff${(va + TWO_POW_48).toString(16).padStart(12, '0')}`;
  return `0x${toUnsigned64(va).toString(16).padStart(16, '0')}`;
}

/** Formats a physical address for people: `0x` and at least 9 hex digits (covers 64 GiB). */
export function formatPhysical(pa: number): string {
  return `0x${pa.toString(16).padStart(9, '0')}`;
}

/**
 * Parses an address given by a person or a caller at the edge of the library: a number (already
 * sign-extended), a bigint (raw unsigned 64-bit or negative), or a string in hex (`0x…`, `_`
 * separators allowed) or decimal.
 * @throws InvalidArgumentError for malformed or non-canonical input.
 */
export function parseAddress(input: string | number | bigint): number {
  if (typeof input === 'number') {
    if (!isCanonical(input)) throw new InvalidArgumentError(`address ${input} is not canonical`);
    return input;
  }
  if (typeof input === 'bigint') return fromUnsigned64(input < 0n ? input + TWO_POW_64 : input);
  const text = input.trim().replaceAll('_', '');
  if (!/^(0x[0-9a-f]+|[0-9]+)$/i.test(text)) {
    throw new InvalidArgumentError(`'${input}' is not an address (expected hex like 0x1000)`);
  }
  return fromUnsigned64(BigInt(text));
}
