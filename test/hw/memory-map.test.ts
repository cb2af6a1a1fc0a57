import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { GiB, KiB, MiB } from '../../src/hw/constants.js';
import {
  type BootMemoryMap,
  formatE820,
  generateMemoryMap,
  KERNEL_IMAGE_BASE,
  KERNEL_IMAGE_SIZE,
  type MemoryRegion,
  memoryMapFromRegions,
  PCI_HOLE_END,
  PCI_HOLE_START,
} from '../../src/hw/memory-map.js';
import { PhysicalMemory, RAM_CHUNK_SIZE } from '../../src/hw/ram.js';

function overlaps(a: { base: number; length: number }, start: number, end: number): boolean {
  return a.base < end && start < a.base + a.length;
}

/** The invariants every generated map must hold for a machine of `ramBytes`. */
function checkGenerated(map: BootMemoryMap, ramBytes: number): void {
  const { regions, installed } = map;
  for (let i = 0; i < regions.length; i++) {
    expect(regions[i]!.length).toBeGreaterThan(0);
    if (i > 0)
      expect(regions[i]!.base).toBeGreaterThanOrEqual(
        regions[i - 1]!.base + regions[i - 1]!.length,
      );
  }
  const installedBytes = installed.reduce((sum, r) => sum + r.length, 0);
  expect(installedBytes).toBe(ramBytes);
  // Every installed byte is described by exactly one region.
  expect(regions.reduce((sum, r) => sum + r.length, 0)).toBe(ramBytes);
  for (const r of regions) {
    expect(installed.some((i) => r.base >= i.base && r.base + r.length <= i.base + i.length)).toBe(
      true,
    );
  }
  if (ramBytes > PCI_HOLE_START) {
    for (const r of [...regions, ...installed]) {
      expect(overlaps(r, PCI_HOLE_START, PCI_HOLE_END)).toBe(false);
    }
    expect(installed.at(-1)).toEqual({ base: PCI_HOLE_END, length: ramBytes - PCI_HOLE_START });
  } else {
    expect(installed).toEqual([{ base: 0, length: ramBytes }]);
  }
  if (ramBytes >= KERNEL_IMAGE_BASE + KERNEL_IMAGE_SIZE + 2 * 64 * KiB) {
    expect(map.kernelImage).toEqual({ base: KERNEL_IMAGE_BASE, length: KERNEL_IMAGE_SIZE });
    expect(regions).toContainEqual({ base: 1 * MiB, length: KERNEL_IMAGE_SIZE, type: 'kernel' });
  }
  expect(regions[0]).toEqual({ base: 0, length: 0x9fc00, type: 'usable' });
  expect(regions[1]).toMatchObject({ base: 0x9fc00, type: 'reserved' });
}

describe('generateMemoryMap', () => {
  it('holds its invariants for sizes from 1 MiB to 64 GiB', () => {
    const sizes = [1, 2, 3, 4, 16, 256, 1024, 3072, 3073, 4096, 8192, 65536].map((m) => m * MiB);
    for (const size of sizes) checkGenerated(generateMemoryMap(size), size);
    fc.assert(
      fc.property(fc.integer({ min: 16, max: (64 * GiB) / RAM_CHUNK_SIZE }), (chunks) => {
        const size = chunks * RAM_CHUNK_SIZE;
        checkGenerated(generateMemoryMap(size), size);
      }),
    );
  });

  it('lays out a 4 GiB PC like firmware does', () => {
    expect(formatE820(generateMemoryMap(4 * GiB))).toEqual([
      'BIOS-e820: [mem 0x0000000000000000-0x000000000009fbff] usable',
      'BIOS-e820: [mem 0x000000000009fc00-0x00000000000fffff] reserved',
      'BIOS-e820: [mem 0x0000000000100000-0x00000000002fffff] reserved (kernel image)',
      'BIOS-e820: [mem 0x0000000000300000-0x00000000bffdffff] usable',
      'BIOS-e820: [mem 0x00000000bffe0000-0x00000000bffeffff] ACPI data',
      'BIOS-e820: [mem 0x00000000bfff0000-0x00000000bfffffff] ACPI NVS',
      'BIOS-e820: [mem 0x0000000100000000-0x000000013fffffff] usable',
    ]);
  });

  it('backs a 64 GiB machine', () => {
    const map = generateMemoryMap(64 * GiB);
    const ram = new PhysicalMemory(map.installed);
    expect(ram.installedBytes).toBe(64 * GiB);
    expect(ram.top).toBe(65 * GiB);
  });

  it('rejects sizes it cannot build', () => {
    expect(() => generateMemoryMap(512 * KiB)).toThrow(/outside/);
    expect(() => generateMemoryMap(129 * GiB)).toThrow(/outside/);
    expect(() => generateMemoryMap(1 * MiB + 4 * KiB)).toThrow(/64 KiB/);
  });
});

describe('memoryMapFromRegions', () => {
  const usable = (base: number, length: number): MemoryRegion => ({ base, length, type: 'usable' });

  it('sorts a valid map, carves the kernel image out and installs RAM under it', () => {
    const map = memoryMapFromRegions([usable(16 * MiB, 16 * MiB), usable(0, 8 * MiB)]);
    expect(map.regions.map((r) => [r.base, r.type])).toEqual([
      [0, 'usable'],
      [1 * MiB, 'kernel'],
      [3 * MiB, 'usable'],
      [16 * MiB, 'usable'],
    ]);
    expect(map.installed).toEqual([
      { base: 0, length: 8 * MiB },
      { base: 16 * MiB, length: 16 * MiB },
    ]);
  });

  it('rejects overlapping regions', () => {
    expect(() => memoryMapFromRegions([usable(0, 2 * MiB), usable(1 * MiB, 2 * MiB)])).toThrow(
      /overlaps/,
    );
  });

  it('rejects unaligned regions', () => {
    expect(() => memoryMapFromRegions([usable(100, 4 * KiB)])).toThrow(/aligned/);
    expect(() => memoryMapFromRegions([usable(0, 4 * KiB + 1)])).toThrow(/aligned/);
  });

  it('rejects empty regions and an empty map', () => {
    expect(() => memoryMapFromRegions([usable(0, 0)])).toThrow(/empty/);
    expect(() => memoryMapFromRegions([])).toThrow(/empty/);
  });

  it('rejects negative, fractional and unknown input', () => {
    expect(() => memoryMapFromRegions([usable(-4096, 8192)])).toThrow(/non-negative/);
    expect(() => memoryMapFromRegions([usable(0, 1.5)])).toThrow(/non-negative/);
    const odd = { base: 0, length: 4096, type: 'ram' } as unknown as MemoryRegion;
    expect(() => memoryMapFromRegions([odd])).toThrow(/unknown region type/);
  });
});
