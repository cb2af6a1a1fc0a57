import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseAddress, toUnsigned64, USER_TOP } from '../../src/hw/address.js';
import { Cpu } from '../../src/hw/cpu.js';
import {
  describeFaultCode,
  entryAddress,
  entryHigh,
  entryLow,
  formatEntryFlags,
  hasReservedBits,
  levelSpan,
  MAXPHYADDR,
  type PageLevel,
  PF_ID,
  PF_P,
  PF_RSVD,
  PF_U,
  PF_W,
  PTE_A,
  PTE_NX_HIGH,
  PTE_P,
  PTE_PS,
  PTE_RW,
  tableIndex,
} from '../../src/hw/paging.js';

const LEVELS: PageLevel[] = [4, 3, 2, 1];

describe('tableIndex', () => {
  it('cuts known addresses into their four indices', () => {
    const kernel = parseAddress('0xffffffff80000000');
    expect(LEVELS.map((l) => tableIndex(kernel, l))).toEqual([511, 510, 0, 0]);
    const directMap = parseAddress('0xffff888000000000');
    expect(LEVELS.map((l) => tableIndex(directMap, l))).toEqual([273, 0, 0, 0]);
    expect(LEVELS.map((l) => tableIndex(USER_TOP - 1, l))).toEqual([255, 511, 511, 511]);
    expect(LEVELS.map((l) => tableIndex(0x40_0000 + 0x5000, l))).toEqual([0, 0, 2, 5]);
  });

  it('agrees with bit extraction on the unsigned 64-bit form', () => {
    fc.assert(
      fc.property(fc.integer({ min: -USER_TOP, max: USER_TOP - 1 }), (va) => {
        const raw = toUnsigned64(va);
        for (const level of LEVELS) {
          const shift = BigInt(12 + 9 * (level - 1));
          expect(tableIndex(va, level)).toBe(Number((raw >> shift) & 511n));
        }
      }),
    );
  });

  it('levelSpan is the bytes one entry maps', () => {
    expect(LEVELS.map(levelSpan)).toEqual([2 ** 39, 2 ** 30, 2 ** 21, 2 ** 12]);
  });
});

describe('entries as two 32-bit halves', () => {
  it('round-trip every 4 KiB-aligned physical address below 2^MAXPHYADDR', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 2 ** (MAXPHYADDR - 12) - 1 }),
        fc.boolean(),
        (frame, nx) => {
          const pa = frame * 4096;
          const low = entryLow(pa, PTE_P | PTE_RW | PTE_A);
          const high = entryHigh(pa, nx);
          expect(entryAddress(low, high)).toBe(pa);
          expect(low & 0xfff).toBe(PTE_P | PTE_RW | PTE_A);
          expect((high & PTE_NX_HIGH) !== 0).toBe(nx);
        },
      ),
    );
  });

  it('entryAddress ignores flags, NX and the reserved bits', () => {
    expect(entryAddress(0x1234_5fff, 0xfff0_0001)).toBe(0x1_1234_5000);
  });

  it('formats flags for people', () => {
    expect(formatEntryFlags(PTE_P | PTE_RW | PTE_A | PTE_PS, PTE_NX_HIGH)).toBe('P RW A PS NX');
    expect(formatEntryFlags(0, 0)).toBe('');
  });
});

describe('hasReservedBits', () => {
  it('flags bits MAXPHYADDR..51 at every level', () => {
    for (const level of LEVELS) {
      expect(hasReservedBits(PTE_P, 1 << (MAXPHYADDR - 32), level, false)).toBe(true);
      expect(hasReservedBits(PTE_P, 1 << (51 - 32), level, false)).toBe(true);
      expect(hasReservedBits(PTE_P, 1 << (MAXPHYADDR - 33), level, false)).toBe(false);
      expect(hasReservedBits(PTE_P, 1 << (52 - 32), level, false)).toBe(false);
    }
  });

  it('flags NX only when EFER.NXE is clear', () => {
    expect(hasReservedBits(PTE_P, PTE_NX_HIGH, 1, false)).toBe(true);
    expect(hasReservedBits(PTE_P, PTE_NX_HIGH, 1, true)).toBe(false);
  });

  it('flags PS in a PML4E, and the bits under large frames, but not PAT', () => {
    expect(hasReservedBits(PTE_P | PTE_PS, 0, 4, true)).toBe(true);
    expect(hasReservedBits(PTE_P | PTE_PS, 0, 3, true)).toBe(false);
    expect(hasReservedBits(PTE_P | PTE_PS | 0x1000, 0, 2, true)).toBe(false);
    expect(hasReservedBits(PTE_P | PTE_PS | 0x2000, 0, 2, true)).toBe(true);
    expect(hasReservedBits(PTE_P | PTE_PS | 0x20_0000, 0, 2, true)).toBe(false);
    expect(hasReservedBits(PTE_P | PTE_PS | 0x20_0000, 0, 3, true)).toBe(true);
    expect(hasReservedBits(PTE_P | PTE_PS | 0x4000_0000, 0, 3, true)).toBe(false);
    expect(hasReservedBits(PTE_P | 0x2000, 0, 2, true)).toBe(false);
    expect(hasReservedBits(PTE_P | PTE_PS | 0x2000, 0, 1, true)).toBe(false);
  });
});

describe('describeFaultCode', () => {
  it('names each bit', () => {
    expect(describeFaultCode(0)).toBe('supervisor read, page not present');
    expect(describeFaultCode(PF_P | PF_W | PF_U)).toBe('user write, protection violation');
    expect(describeFaultCode(PF_P | PF_RSVD)).toBe('supervisor read, reserved bit set');
    expect(describeFaultCode(PF_U | PF_ID)).toBe('user instruction fetch, page not present');
  });
});

describe('Cpu', () => {
  it('boots in ring 0 with WP on and the optional protections off', () => {
    expect({ ...new Cpu() }).toEqual({
      cr3: 0,
      cr2: 0,
      cr0Wp: true,
      cr4Smep: false,
      cr4Smap: false,
      eferNxe: false,
      cpl: 0,
      rflagsAc: false,
    });
  });
});
