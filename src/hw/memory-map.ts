/**
 * The boot memory map, as firmware hands it to the kernel (BIOS e820 / multiboot2 style).
 *
 * Generated for a RAM size like a PC's firmware lays it out:
 *
 * ```
 *  0x000000000 ┌──────────────────────────┐
 *              │ usable (639 KiB)         │  real-mode low memory
 *  0x00009fc00 ├──────────────────────────┤
 *              │ reserved: EBDA, VGA, ROM │  the low-memory hole, 640 KiB .. 1 MiB
 *  0x000100000 ├──────────────────────────┤
 *              │ kernel image (2 MiB)     │  where the boot loader put the kernel
 *  0x000300000 ├──────────────────────────┤
 *              │ usable                   │
 *              ├──────────────────────────┤
 *              │ ACPI reclaimable, NVS    │  firmware tables at the top of low RAM
 *  min(RAM,3G) ├──────────────────────────┤
 *              │ (PCI hole: no RAM)       │  only when RAM > 3 GiB: devices' MMIO
 *  0x100000000 ├──────────────────────────┤
 *              │ usable: RAM above 3 GiB, │  remapped above 4 GiB
 *              │ remapped                 │
 *              └──────────────────────────┘
 * ```
 *
 * A map can also be given by the user; it is validated (no overlap, no empty region, 1 KiB
 * granularity like real e820 maps) and the kernel image is carved out of it.
 */
import { InvalidArgumentError } from '../errors.js';
import { formatPhysical } from './address.js';
import { GiB, KiB, MiB } from './constants.js';
import { type PhysicalRange, RAM_CHUNK_SIZE } from './ram.js';
import { formatSize } from './size.js';

export type RegionType = 'usable' | 'reserved' | 'acpi-reclaimable' | 'acpi-nvs' | 'bad' | 'kernel';

export interface MemoryRegion {
  readonly base: number;
  readonly length: number;
  readonly type: RegionType;
}

export interface BootMemoryMap {
  /** Sorted, non-overlapping regions; the kernel image appears as a `kernel` region. */
  readonly regions: readonly MemoryRegion[];
  /** Where RAM is physically installed (64 KiB granular), for {@link PhysicalMemory}. */
  readonly installed: readonly PhysicalRange[];
  /** The kernel image, or undefined when the machine is too small to hold one. */
  readonly kernelImage: PhysicalRange | undefined;
}

export const LOW_MEMORY_TOP = 0x9fc00;
export const LOW_HOLE_END = 1 * MiB;
export const KERNEL_IMAGE_BASE = 1 * MiB;
export const KERNEL_IMAGE_SIZE = 2 * MiB;
export const PCI_HOLE_START = 3 * GiB;
export const PCI_HOLE_END = 4 * GiB;
/** Firmware's ACPI tables at the top of low RAM (reclaimable, then NVS). */
export const ACPI_TABLES_SIZE = 64 * KiB;
/** Smallest and largest RAM the generator builds a map for. */
export const MIN_RAM = 1 * MiB;
export const MAX_RAM = 128 * GiB;
/** Region edges in a given map must be multiples of this (e820 maps are 1 KiB granular). */
export const REGION_GRANULE = 1 * KiB;

/** Builds the firmware map of a PC with `ramBytes` of RAM (a multiple of 64 KiB). */
export function generateMemoryMap(ramBytes: number): BootMemoryMap {
  if (!Number.isSafeInteger(ramBytes) || ramBytes < MIN_RAM || ramBytes > MAX_RAM) {
    throw new InvalidArgumentError(
      `memory size ${formatSize(ramBytes)} is outside the supported ${formatSize(MIN_RAM)} .. ${formatSize(MAX_RAM)}`,
    );
  }
  if (ramBytes % RAM_CHUNK_SIZE !== 0) {
    throw new InvalidArgumentError(
      `memory size ${formatSize(ramBytes)} is not a multiple of ${formatSize(RAM_CHUNK_SIZE)}`,
    );
  }
  const lowTop = Math.min(ramBytes, PCI_HOLE_START);
  const regions: MemoryRegion[] = [
    { base: 0, length: LOW_MEMORY_TOP, type: 'usable' },
    {
      base: LOW_MEMORY_TOP,
      length: Math.min(lowTop, LOW_HOLE_END) - LOW_MEMORY_TOP,
      type: 'reserved',
    },
  ];
  // Firmware puts its ACPI tables at the top of low RAM when there is room above 1 MiB.
  const tablesBase = lowTop - 2 * ACPI_TABLES_SIZE;
  const hasTables = tablesBase > LOW_HOLE_END;
  const usableTop = hasTables ? tablesBase : lowTop;
  if (usableTop > LOW_HOLE_END) {
    regions.push({ base: LOW_HOLE_END, length: usableTop - LOW_HOLE_END, type: 'usable' });
  }
  if (hasTables) {
    regions.push({ base: tablesBase, length: ACPI_TABLES_SIZE, type: 'acpi-reclaimable' });
    regions.push({
      base: tablesBase + ACPI_TABLES_SIZE,
      length: ACPI_TABLES_SIZE,
      type: 'acpi-nvs',
    });
  }
  const installed: PhysicalRange[] = [{ base: 0, length: lowTop }];
  if (ramBytes > PCI_HOLE_START) {
    const high = ramBytes - PCI_HOLE_START;
    regions.push({ base: PCI_HOLE_END, length: high, type: 'usable' });
    installed.push({ base: PCI_HOLE_END, length: high });
  }
  return withKernelImage(regions, installed);
}

/**
 * Validates a user-given map and carves the kernel image out of it. RAM is taken to be
 * installed under every region (rounded out to 64 KiB).
 */
export function memoryMapFromRegions(given: readonly MemoryRegion[]): BootMemoryMap {
  const regions = [...given].sort((a, b) => a.base - b.base);
  if (regions.length === 0) throw new InvalidArgumentError('memory map is empty');
  let end = 0;
  for (const r of regions) {
    const where = `memory map region ${formatPhysical(r.base)}+${r.length} (${r.type})`;
    if (!Number.isSafeInteger(r.base) || !Number.isSafeInteger(r.length) || r.base < 0) {
      throw new InvalidArgumentError(`${where}: base and length must be non-negative integers`);
    }
    if (!Object.hasOwn(E820_NAMES, r.type)) {
      throw new InvalidArgumentError(`${where}: unknown region type`);
    }
    if (r.length <= 0) throw new InvalidArgumentError(`${where} is empty`);
    if (r.base % REGION_GRANULE !== 0 || r.length % REGION_GRANULE !== 0) {
      throw new InvalidArgumentError(`${where} is not aligned to 1 KiB`);
    }
    if (r.base < end) throw new InvalidArgumentError(`${where} overlaps the region before it`);
    if (r.base + r.length > MAX_RAM * 2) {
      throw new InvalidArgumentError(`${where} lies beyond the supported physical range`);
    }
    end = r.base + r.length;
  }
  return withKernelImage(regions, installedUnder(regions));
}

/** Linux's boot-log lines: `BIOS-e820: [mem 0x0000000000000000-0x000000000009fbff] usable`. */
export function formatE820(map: BootMemoryMap): string[] {
  return map.regions.map((r) => {
    const first = r.base.toString(16).padStart(16, '0');
    const last = (r.base + r.length - 1).toString(16).padStart(16, '0');
    return `BIOS-e820: [mem 0x${first}-0x${last}] ${E820_NAMES[r.type]}`;
  });
}

const E820_NAMES: Record<RegionType, string> = {
  usable: 'usable',
  reserved: 'reserved',
  'acpi-reclaimable': 'ACPI data',
  'acpi-nvs': 'ACPI NVS',
  bad: 'unusable',
  kernel: 'reserved (kernel image)',
};

/** Marks `[KERNEL_IMAGE_BASE, +KERNEL_IMAGE_SIZE)` as `kernel` when a usable region holds it. */
function withKernelImage(
  regions: readonly MemoryRegion[],
  installed: readonly PhysicalRange[],
): BootMemoryMap {
  const imageEnd = KERNEL_IMAGE_BASE + KERNEL_IMAGE_SIZE;
  const host = regions.find(
    (r) => r.type === 'usable' && r.base <= KERNEL_IMAGE_BASE && r.base + r.length >= imageEnd,
  );
  if (host === undefined) return { regions, installed, kernelImage: undefined };
  const carved: MemoryRegion[] = [];
  for (const r of regions) {
    if (r !== host) {
      carved.push(r);
      continue;
    }
    if (r.base < KERNEL_IMAGE_BASE) {
      carved.push({ base: r.base, length: KERNEL_IMAGE_BASE - r.base, type: 'usable' });
    }
    carved.push({ base: KERNEL_IMAGE_BASE, length: KERNEL_IMAGE_SIZE, type: 'kernel' });
    if (r.base + r.length > imageEnd) {
      carved.push({ base: imageEnd, length: r.base + r.length - imageEnd, type: 'usable' });
    }
  }
  return {
    regions: carved,
    installed,
    kernelImage: { base: KERNEL_IMAGE_BASE, length: KERNEL_IMAGE_SIZE },
  };
}

/** The 64 KiB-granular ranges covering every region, merged. */
function installedUnder(regions: readonly MemoryRegion[]): PhysicalRange[] {
  const ranges: PhysicalRange[] = [];
  for (const r of regions) {
    const base = Math.floor(r.base / RAM_CHUNK_SIZE) * RAM_CHUNK_SIZE;
    const end = Math.ceil((r.base + r.length) / RAM_CHUNK_SIZE) * RAM_CHUNK_SIZE;
    const last = ranges[ranges.length - 1];
    if (last !== undefined && base <= last.base + last.length) {
      ranges[ranges.length - 1] = {
        base: last.base,
        length: Math.max(end, last.base + last.length) - last.base,
      };
    } else {
      ranges.push({ base, length: end - base });
    }
  }
  return ranges;
}
