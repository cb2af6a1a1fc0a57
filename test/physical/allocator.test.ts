import { describe, expect, it } from 'vitest';
import { GiB, MiB, PAGE_SIZE } from '../../src/hw/constants.js';
import { generateMemoryMap } from '../../src/hw/memory-map.js';
import { PhysicalMemory } from '../../src/hw/ram.js';
import {
  BYTES_PER_FRAME,
  DMA_END_PFN,
  FrameUse,
  InvalidFreeError,
  MAX_ORDER,
  OutOfMemoryError,
  PCP_BATCH,
  PCP_HIGH,
  PCP_MAX_ORDER,
  PhysicalAllocator,
  POISON_BYTE,
  ZONE_DMA,
  ZONE_DMA32,
  ZONE_NORMAL,
} from '../../src/physical/index.js';
import { freeLayout, HIGH_MACHINE, LOW_MACHINE, machine, snapshot } from './machines.js';

const DMA_TOP = DMA_END_PFN * PAGE_SIZE;

describe('PhysicalAllocator boot', () => {
  it('manages usable RAM minus the kernel image and its own frame table', () => {
    const map = generateMemoryMap(64 * MiB);
    const a = new PhysicalAllocator(new PhysicalMemory(map.installed), map);
    a.check();
    expect(a.metadataFrames).toBe(Math.ceil((a.spannedFrames * BYTES_PER_FRAME) / PAGE_SIZE));
    const usable = map.regions
      .filter((r) => r.type === 'usable')
      .reduce(
        (n, r) => n + Math.floor((r.base + r.length) / PAGE_SIZE) - Math.ceil(r.base / PAGE_SIZE),
        0,
      );
    expect(a.managedFrames).toBe(usable - a.metadataFrames);
    expect(a.freeFrames).toBe(a.managedFrames);
    expect(a.framesByUse(FrameUse.RESERVED)).toBe(a.totalFrames - a.managedFrames);
    expect(a.frameUse(map.kernelImage!.base)).toBe(FrameUse.RESERVED);
  });

  it('never manages a frame that is only partly usable', () => {
    const a = machine(LOW_MACHINE);
    // 14 MiB + 5 KiB .. + 9 KiB is ACPI: the frames at 14 MiB + 4 KiB and + 8 KiB touch it.
    expect(a.frameUse(14 * MiB + 4096)).toBe(FrameUse.RESERVED);
    expect(a.frameUse(14 * MiB + 8192)).toBe(FrameUse.RESERVED);
    expect(a.frameUse(14 * MiB)).toBe(FrameUse.FREE);
    expect(a.frameUse(14 * MiB + 12288)).toBe(FrameUse.FREE);
    const seen = new Set<number>();
    while (a.freeFrames > 0) seen.add(a.allocPages(0, FrameUse.USER));
    expect(seen.has(14 * MiB + 4096) || seen.has(14 * MiB + 8192)).toBe(false);
    expect(seen.has(0x9e000)).toBe(true); // the last whole frame below the low hole
    expect(seen.has(0x9f000)).toBe(false); // ends in the hole (0x9fc00)
    a.check();
  });

  it('treats a hole in the physical address space as reserved', () => {
    const a = machine(HIGH_MACHINE);
    const hole = 1 * GiB;
    expect(a.frameUse(hole)).toBe(FrameUse.RESERVED);
    expect(a.refCount(hole)).toBe(0);
    expect(() => a.freePages(hole, 0)).toThrow(expect.objectContaining({ code: 'INVALID_FREE' }));
    expect(a.totalFrames).toBe((24 * MiB + 32 * MiB) / PAGE_SIZE);
    expect(a.spannedFrames).toBe((4 * GiB + 32 * MiB) / PAGE_SIZE);
    a.check();
  });

  it('refuses a map whose usable memory has no RAM behind it', () => {
    const map = generateMemoryMap(64 * MiB);
    expect(() => new PhysicalAllocator(PhysicalMemory.flat(32 * MiB), map)).toThrow(
      /no RAM installed/,
    );
  });

  it('prints /proc/buddyinfo for populated zones only, in Linux columns', () => {
    const a = machine(LOW_MACHINE);
    const lines = a.buddyinfo().split('\n');
    expect(lines).toHaveLength(3);
    expect(lines[2]).toBe('');
    expect(lines[0]).toMatch(/^Node 0, zone {6}DMA( {1,6}\d+){11} $/);
    expect(lines[1]).toMatch(/^Node 0, zone {4}DMA32( {1,6}\d+){11} $/);
    const counts = lines[1]!.slice('Node 0, zone    DMA32 '.length).trim().split(/\s+/).map(Number);
    expect(counts).toEqual(a.stats().zones[ZONE_DMA32]!.freeBlocks);
    expect(machine(HIGH_MACHINE).buddyinfo()).toMatch(/zone {3}Normal/);
  });

  it('boots a 64 GiB machine with 16 bytes a frame or less', () => {
    const map = generateMemoryMap(64 * GiB);
    const a = new PhysicalAllocator(new PhysicalMemory(map.installed), map);
    expect(BYTES_PER_FRAME).toBeLessThanOrEqual(16);
    expect(a.metadataFrames * PAGE_SIZE).toBeGreaterThanOrEqual(a.spannedFrames * BYTES_PER_FRAME);
    expect(a.stats().zones[ZONE_NORMAL]!.freeFrames).toBeGreaterThan(0);
    const pa = a.allocPages(MAX_ORDER, FrameUse.USER);
    expect(pa).toBeGreaterThanOrEqual(4 * GiB);
    a.freePages(pa, MAX_ORDER);
    expect(a.freeFrames).toBe(a.managedFrames);
  });
});

describe('allocation', () => {
  it('hands out naturally aligned blocks and splits and merges buddies', () => {
    const a = machine(LOW_MACHINE);
    const boot = freeLayout(a);
    for (let order = 0; order <= MAX_ORDER; order++) {
      const pa = a.allocPages(order, FrameUse.KERNEL);
      expect(pa % (PAGE_SIZE << order)).toBe(0);
      expect(a.frameUse(pa + (PAGE_SIZE << order) - 1)).toBe(FrameUse.KERNEL);
      expect(a.framesByUse(FrameUse.KERNEL)).toBe(1 << order);
      a.check();
      a.freePages(pa, order);
      expect(freeLayout(a)).toEqual(boot);
    }
  });

  it('prefers the highest zone allowed and falls back Normal → DMA32 → DMA', () => {
    const a = machine(HIGH_MACHINE);
    expect(a.allocPages(0, FrameUse.USER)).toBeGreaterThanOrEqual(4 * GiB);
    const dma32 = a.allocPages(0, FrameUse.USER, ZONE_DMA32);
    expect(dma32).toBeGreaterThanOrEqual(DMA_TOP);
    expect(dma32).toBeLessThan(4 * GiB);
    expect(a.allocPages(0, FrameUse.USER, ZONE_DMA)).toBeLessThan(DMA_TOP);
    while (a.stats().zones[ZONE_NORMAL]!.freeFrames > 0) a.allocPages(0, FrameUse.USER);
    const fallback = a.allocPages(0, FrameUse.USER);
    expect(fallback).toBeGreaterThanOrEqual(DMA_TOP);
    expect(fallback).toBeLessThan(4 * GiB);
    a.check();
  });

  it('zeroes a block on request', () => {
    const map = generateMemoryMap(32 * MiB);
    const ram = new PhysicalMemory(map.installed);
    const a = new PhysicalAllocator(ram, map);
    const pa = a.allocPages(1, FrameUse.KERNEL);
    ram.fill(pa, 2 * PAGE_SIZE, 0x5a);
    a.freePages(pa, 1);
    const again = a.allocPages(1, FrameUse.KERNEL, ZONE_NORMAL, true);
    expect(again).toBe(pa);
    expect(ram.isZero(again, 2 * PAGE_SIZE)).toBe(true);
  });

  it('reports exhaustion without changing anything, and recovers', () => {
    const a = machine(LOW_MACHINE);
    const held: number[] = [];
    for (
      let pa = a.tryAllocPages(2, FrameUse.USER);
      pa >= 0;
      pa = a.tryAllocPages(2, FrameUse.USER)
    ) {
      held.push(pa);
    }
    const before = snapshot(a);
    expect(() => a.allocPages(2, FrameUse.USER)).toThrow(OutOfMemoryError);
    expect(() => a.allocPages(MAX_ORDER, FrameUse.USER)).toThrow(
      expect.objectContaining({ code: 'ENOMEM' }),
    );
    expect(snapshot(a)).toEqual(before);
    expect(a.tryAllocPages(0, FrameUse.USER)).toBeGreaterThanOrEqual(0); // small remnants
    a.check();
    for (const pa of held) a.freePages(pa, 2);
    expect(a.allocPages(MAX_ORDER, FrameUse.USER)).toBeGreaterThanOrEqual(0);
    a.check();
  });

  it('finds no order-1 block when every other frame is held', () => {
    const a = machine(LOW_MACHINE);
    const frames: number[] = [];
    while (a.freeFrames > 0) frames.push(a.allocPages(0, FrameUse.USER));
    frames.sort((x, y) => x - y);
    const kept = frames.filter((pa) => (pa / PAGE_SIZE) % 2 === 0);
    for (const pa of frames) if ((pa / PAGE_SIZE) % 2 === 1) a.freePages(pa, 0);
    expect(a.freeFrames).toBe(frames.length - kept.length);
    expect(a.tryAllocPages(1, FrameUse.USER)).toBe(-1);
    a.check();
    const stats = a.stats();
    for (const zone of stats.zones)
      expect(zone.freeBlocks.slice(1).every((n) => n === 0)).toBe(true);
    a.freePages(kept[0]!, 0);
    expect(a.tryAllocPages(1, FrameUse.USER)).toBe(kept[0]);
  });
});

describe('the per-CPU cache of single frames', () => {
  it('hands the last freed frame out next, counted free but on no free list until drained', () => {
    const a = machine(LOW_MACHINE);
    const boot = freeLayout(a);
    const free = a.freeFrames;
    const pa = a.allocPages(0, FrameUse.USER);
    a.freePages(pa, 0);
    expect(a.freeFrames).toBe(free);
    a.check();
    expect(a.allocPages(0, FrameUse.USER)).toBe(pa);
    a.freePages(pa, 0);
    expect(a.drainPerCpuPages()).toBe(true);
    expect(a.drainPerCpuPages()).toBe(false);
    expect(freeLayout(a)).toEqual(boot);
    a.check();
  });

  it('sends the coldest frames back to the buddy lists when a stack fills', () => {
    const a = machine(LOW_MACHINE);
    const boot = freeLayout(a);
    const frames = Array.from({ length: PCP_HIGH + PCP_BATCH }, () =>
      a.allocPages(0, FrameUse.USER),
    );
    for (const pa of frames) {
      a.freePages(pa, 0);
      a.check();
    }
    // The newest frames are still cached: the next allocations take them, newest first.
    expect(a.allocPages(0, FrameUse.USER)).toBe(frames.at(-1));
    expect(a.allocPages(0, FrameUse.USER)).toBe(frames.at(-2));
    a.freePages(frames.at(-2)!, 0);
    a.freePages(frames.at(-1)!, 0);
    expect(freeLayout(a)).toEqual(boot);
  });

  it('drains before an allocation its zone cannot serve otherwise', () => {
    const a = machine(LOW_MACHINE);
    const largest = (x: typeof a) => {
      const blocks: number[] = [];
      for (let pa = x.tryAllocPages(MAX_ORDER, FrameUse.USER); pa >= 0; ) {
        blocks.push(pa);
        pa = x.tryAllocPages(MAX_ORDER, FrameUse.USER);
      }
      return blocks.length;
    };
    const expected = largest(machine(LOW_MACHINE));
    const frames: number[] = [];
    while (a.freeFrames > 0) frames.push(a.allocPages(0, FrameUse.USER));
    for (const pa of frames) a.freePages(pa, 0);
    expect(largest(a)).toBe(expected);
    a.check();
  });

  it('caches blocks up to order PCP_MAX_ORDER, each order on its own stack', () => {
    const a = machine(LOW_MACHINE);
    const boot = freeLayout(a);
    const blocks = [0, 1, 2, 3, 4].map((order) => a.allocPages(order, FrameUse.KERNEL));
    for (const [order, pa] of blocks.entries()) a.freePages(pa, order);
    a.check();
    for (let order = 0; order <= PCP_MAX_ORDER; order++) {
      expect(a.allocPages(order, FrameUse.USER)).toBe(blocks[order]);
    }
    expect(a.framesByUse(FrameUse.USER)).toBe(1 + 2 + 4 + 8);
    for (let order = 0; order <= PCP_MAX_ORDER; order++) a.freePages(blocks[order]!, order);
    expect(freeLayout(a)).toEqual(boot);
  });

  it('drains a zone before falling back to a lower one', () => {
    for (const order of [0, 1, 3, 6]) {
      const a = machine(HIGH_MACHINE);
      const normal: number[] = [];
      for (
        let pa = a.allocPages(0, FrameUse.USER);
        pa >= 4 * GiB;
        pa = a.allocPages(0, FrameUse.USER)
      ) {
        normal.push(pa);
      }
      for (const pa of normal.slice(0, 256)) a.freePages(pa, 0); // 1 MiB of Normal, cached
      expect(a.allocPages(order, FrameUse.KERNEL, ZONE_NORMAL)).toBeGreaterThanOrEqual(4 * GiB);
      a.check();
    }
  });

  it('rejects a second free of a cached frame, changing nothing', () => {
    const a = machine(LOW_MACHINE);
    const pa = a.allocPages(0, FrameUse.USER);
    a.freePages(pa, 0);
    expect(() => a.freePages(pa, 0)).toThrow(expect.objectContaining({ code: 'DOUBLE_FREE' }));
    expect(() => a.putPage(pa)).toThrow(expect.objectContaining({ code: 'DOUBLE_FREE' }));
    expect(() => a.getPage(pa)).toThrow(expect.objectContaining({ code: 'INVALID_FRAME' }));
    expect(a.refCount(pa)).toBe(0);
    expect(a.frameUse(pa)).toBe(FrameUse.FREE);
    a.check();
    expect(a.allocPages(0, FrameUse.USER)).toBe(pa);
    expect(a.tryAllocPages(0, FrameUse.USER)).not.toBe(pa);
  });
});

describe('statistics', () => {
  it('counts allocated frames per zone and freed frames, as vmstat does', () => {
    const a = machine(HIGH_MACHINE);
    const normal = a.allocPages(2, FrameUse.USER);
    const dma = a.allocPages(0, FrameUse.KERNEL, ZONE_DMA);
    a.freePages(normal, 2);
    expect(a.counters).toEqual({ pgalloc: [1, 0, 4], pgfree: 4 });
    a.getPage(dma);
    expect(a.putPage(dma)).toBe(false);
    expect(a.putPage(dma)).toBe(true);
    expect(a.counters.pgfree).toBe(5);
  });

  it('adds up: free frames per zone, per order and per use', () => {
    const a = machine(HIGH_MACHINE);
    a.allocPages(3, FrameUse.SLAB, ZONE_DMA32);
    const stats = a.stats();
    let free = 0;
    for (const zone of stats.zones) {
      const inLists = zone.freeBlocks.reduce((n, blocks, order) => n + blocks * 2 ** order, 0);
      expect(zone.freeFrames).toBe(inLists);
      expect(zone.freeBlocks[0]).toBe(a.freeBlocks(zone.zone, 0));
      free += zone.freeFrames;
    }
    expect(free).toBe(stats.freeFrames);
    expect(stats.framesByUse[FrameUse.SLAB]).toBe(8);
    expect(stats.framesByUse.reduce((x, y) => x + y, 0)).toBe(stats.totalFrames);
    expect(() => a.freeBlocks(3, 0)).toThrow(/no free list/);
    expect(() => a.freeBlocks(0, 11)).toThrow(/no free list/);
  });
});

describe('reference counts and uses', () => {
  it('counts shares and frees the block with the last reference', () => {
    const a = machine(LOW_MACHINE);
    const pa = a.allocPages(2, FrameUse.USER);
    expect(a.refCount(pa)).toBe(1);
    a.getPage(pa + 3 * PAGE_SIZE); // any frame of the block: the block's count
    expect(a.refCount(pa + PAGE_SIZE)).toBe(2);
    expect(() => a.freePages(pa, 2)).toThrow(expect.objectContaining({ code: 'FREE_SHARED' }));
    expect(a.putPage(pa)).toBe(false);
    expect(a.framesByUse(FrameUse.USER)).toBe(4);
    expect(a.putPage(pa)).toBe(true);
    expect(a.refCount(pa)).toBe(0);
    expect(a.freeFrames).toBe(a.managedFrames);
    expect(() => a.putPage(pa)).toThrow(expect.objectContaining({ code: 'DOUBLE_FREE' }));
    expect(() => a.getPage(pa)).toThrow(expect.objectContaining({ code: 'INVALID_FRAME' }));
    a.check();
  });

  it('refuses to free a shared single frame, then frees it with the last reference', () => {
    const a = machine(LOW_MACHINE);
    const pa = a.allocPages(0, FrameUse.KERNEL);
    a.getPage(pa);
    expect(() => a.freePages(pa, 0)).toThrow(expect.objectContaining({ code: 'FREE_SHARED' }));
    expect(a.refCount(pa)).toBe(2);
    expect(a.putPage(pa)).toBe(false);
    a.freePages(pa, 0);
    expect(a.freeFrames).toBe(a.managedFrames);
    a.check();
  });

  it('merges single frames with their free buddies however they are freed', () => {
    const a = machine(LOW_MACHINE);
    const first = a.allocPages(0, FrameUse.USER);
    const second = a.allocPages(0, FrameUse.USER);
    expect(first ^ second).toBe(PAGE_SIZE); // buddies: one split, both halves handed out
    a.freePages(first, 0); // buddy in use: straight onto the order-0 list
    a.check();
    a.freePages(second, 0); // buddy free: merged back up
    expect(a.freeFrames).toBe(a.managedFrames);
    a.check();
  });

  it('describes the block holding any frame: start, order, use, references, cached', () => {
    const a = machine(LOW_MACHINE);
    const block = a.allocPages(3, FrameUse.KERNEL);
    a.getPage(block);
    const inside = a.blockAt(block + 5 * PAGE_SIZE + 123);
    expect(inside).toEqual({
      start: block,
      order: 3,
      use: FrameUse.KERNEL,
      references: 2,
      cached: false,
    });
    a.putPage(block);
    a.freePages(block, 3);
    expect(a.blockAt(block)).toMatchObject({ start: block, use: FrameUse.FREE, references: 0 });
    expect(a.blockAt(block)!.cached).toBe(true); // order 3 is parked in its per-CPU stack
    a.drainPerCpuPages();
    expect(a.blockAt(block)).toMatchObject({ use: FrameUse.FREE, cached: false });
    expect(a.blockAt(block)!.order).toBeGreaterThanOrEqual(3);
    expect(a.blockAt(1 * MiB)).toBeUndefined(); // the kernel image: not managed
    expect(() => a.blockAt(1 * GiB)).toThrow(/outside RAM/);
  });

  it('relabels a block and accounts it by use', () => {
    const a = machine(LOW_MACHINE);
    const pa = a.allocPages(1, FrameUse.KERNEL);
    a.setFrameUse(pa, 1, FrameUse.PAGE_TABLE);
    expect(a.frameUse(pa)).toBe(FrameUse.PAGE_TABLE);
    expect(a.framesByUse(FrameUse.PAGE_TABLE)).toBe(2);
    expect(a.framesByUse(FrameUse.KERNEL)).toBe(0);
    expect(() => a.setFrameUse(pa, 0, FrameUse.SLAB)).toThrow(/order 1, not 0/);
    expect(() => a.setFrameUse(pa, 1, FrameUse.FREE)).toThrow(/not an allocated FrameUse/);
    expect(() => a.setFrameUse(pa + PAGE_SIZE, 0, FrameUse.SLAB)).toThrow(
      /INVALID_FRAME|bad frame/,
    );
    const stats = a.stats();
    expect(stats.framesByUse.reduce((x, y) => x + y, 0)).toBe(stats.totalFrames);
    a.check();
  });
});

describe('bad input is a typed error that changes nothing', () => {
  const a = machine(LOW_MACHINE);
  const block = a.allocPages(2, FrameUse.USER);
  const single = a.allocPages(0, FrameUse.USER);
  a.freePages(a.allocPages(0, FrameUse.USER), 0);
  const neverAllocated = a.allocPages(3, FrameUse.USER);
  a.freePages(neverAllocated, 3);
  const freed = a.allocPages(0, FrameUse.USER);
  a.freePages(freed, 0);

  const cases: [string, () => void, string][] = [
    ['never allocated', () => a.freePages(neverAllocated + 4 * PAGE_SIZE, 0), 'DOUBLE_FREE'],
    ['a reserved frame', () => a.freePages(0xa0000, 0), 'INVALID_FREE'],
    ['the kernel image', () => a.freePages(1 * MiB, 0), 'INVALID_FREE'],
    ['unaligned', () => a.freePages(block + 8, 2), 'INVALID_FREE'],
    ['inside a block', () => a.freePages(block + PAGE_SIZE, 0), 'INVALID_FREE'],
    ['the wrong order', () => a.freePages(block, 1), 'WRONG_ORDER'],
    ['a double free', () => a.freePages(freed, 0), 'DOUBLE_FREE'],
    ['order 11', () => a.freePages(single, 11), 'EINVAL'],
    ['order -1', () => a.freePages(single, -1), 'EINVAL'],
    ['order 0.5', () => a.freePages(single, 0.5), 'EINVAL'],
    ['a pa beyond RAM', () => a.freePages(1 * GiB, 0), 'INVALID_FREE'],
    ['a negative pa', () => a.freePages(-PAGE_SIZE, 0), 'INVALID_FREE'],
    ['NaN', () => a.freePages(Number.NaN, 0), 'INVALID_FREE'],
    ['put of a free frame', () => a.putPage(freed), 'DOUBLE_FREE'],
    ['put of a reserved frame', () => a.putPage(0xa0000), 'INVALID_FREE'],
    ['alloc of order 11', () => a.allocPages(11, FrameUse.USER), 'EINVAL'],
    ['alloc of order 1.5', () => a.allocPages(1.5, FrameUse.USER), 'EINVAL'],
    ['alloc for use FREE', () => a.allocPages(0, FrameUse.FREE), 'EINVAL'],
    ['alloc for use 8', () => a.allocPages(0, 8 as FrameUse), 'EINVAL'],
    ['alloc from zone 3', () => a.allocPages(0, FrameUse.USER, 3), 'EINVAL'],
    ['get of a reserved frame', () => a.getPage(0xa0000), 'INVALID_FRAME'],
    ['query beyond RAM', () => a.frameUse(1 * GiB), 'EINVAL'],
  ];
  for (const [name, call, code] of cases) {
    it(`rejects ${name} with ${code}`, () => {
      const before = snapshot(a);
      let caught: unknown;
      try {
        call();
      } catch (error) {
        caught = error;
      }
      expect(caught).toMatchObject({ code });
      if (code !== 'EINVAL' && code !== 'INVALID_FRAME')
        expect(caught).toBeInstanceOf(InvalidFreeError);
      expect(snapshot(a)).toEqual(before);
      a.check();
    });
  }
});

describe('debug mode', () => {
  it('poisons freed frames and quarantines one written while free', () => {
    const map = generateMemoryMap(32 * MiB);
    const ram = new PhysicalMemory(map.installed);
    const reports: unknown[] = [];
    const a = new PhysicalAllocator(ram, map, { debug: true, onPoison: (r) => reports.push(r) });
    const hostBefore = ram.hostBytes;
    expect(hostBefore).toBe(0); // boot poisons nothing: sparse RAM stays untouched
    const pa = a.allocPages(1, FrameUse.USER);
    a.freePages(pa, 1);
    expect(ram.load32(pa + PAGE_SIZE)).toBe(0xaaaaaaaa);
    expect(ram.load8(pa + 2 * PAGE_SIZE - 1)).toBe(POISON_BYTE);
    ram.store8(pa + PAGE_SIZE + 100, 0x42); // a stray write into a free frame
    const seen = new Set<number>();
    for (let i = 0; i < 8; i++) seen.add(a.allocPages(0, FrameUse.USER));
    expect(seen.has(pa + PAGE_SIZE)).toBe(false);
    expect(seen.has(pa)).toBe(true);
    expect(a.poisonReports).toEqual([{ frame: pa + PAGE_SIZE, offset: 100, found: 0x42 }]);
    expect(reports).toEqual(a.poisonReports);
    expect(a.quarantinedFrames).toBe(1);
    expect(a.frameUse(pa + PAGE_SIZE)).toBe(FrameUse.RESERVED);
    expect(() => a.freePages(pa + PAGE_SIZE, 0)).toThrow(InvalidFreeError);
    a.check();
    for (const frame of seen) a.freePages(frame, 0);
    expect(a.freeFrames).toBe(a.managedFrames - 1);
    a.check();
  });

  it('verifies intact poison silently', () => {
    const map = generateMemoryMap(8 * MiB);
    const a = new PhysicalAllocator(new PhysicalMemory(map.installed), map, { debug: true });
    const pa = a.allocPages(3, FrameUse.KERNEL);
    a.freePages(pa, 3);
    expect(a.allocPages(3, FrameUse.KERNEL)).toBe(pa);
    expect(a.poisonReports).toEqual([]);
    a.check();
  });
});
