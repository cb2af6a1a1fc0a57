import { describe, expect, it } from 'vitest';
import { GiB, PAGE_SIZE, TiB } from '../../src/hw/constants.js';
import { NO_OWNER, PageOwnerMap } from '../../src/kernel-alloc/page-owners.js';
import { DIRECT_MAP_BASE } from '../../src/virtual/layout.js';

describe('page owner table', () => {
  it('finds the owner of any byte of a page, above 4 GiB too', () => {
    const owners = new PageOwnerMap();
    for (const physical of [0, 5 * GiB + 3 * PAGE_SIZE, 2 * TiB - PAGE_SIZE]) {
      const page = DIRECT_MAP_BASE + physical;
      owners.set(page, 2, 7);
      expect(owners.get(page)).toBe(7);
      expect(owners.get(page + 2 * PAGE_SIZE - 1)).toBe(7);
      expect(owners.get(page + 2 * PAGE_SIZE)).toBe(NO_OWNER);
      expect(owners.get(page + 4 * GiB)).toBe(NO_OWNER); // same low 32 bits, other chunk
      owners.set(page, 2, NO_OWNER);
      expect(owners.get(page)).toBe(NO_OWNER);
    }
  });

  it('has no owner outside the direct map', () => {
    const owners = new PageOwnerMap();
    owners.set(DIRECT_MAP_BASE, 1, 3);
    for (const address of [
      DIRECT_MAP_BASE - 1,
      0,
      16,
      -1,
      Number.NaN,
      DIRECT_MAP_BASE + 64 * TiB,
    ]) {
      expect(owners.get(address)).toBe(NO_OWNER);
    }
  });
});
