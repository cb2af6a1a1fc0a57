import { describe, expect, it } from 'vitest';
import { PAGE_SIZE } from '../../src/hw/constants.js';
import { Machine } from '../../src/kernel/machine.js';
import type { UserContext } from '../../src/kernel/user-context.js';
import { MAP_ANONYMOUS, MAP_PRIVATE, PROT_READ, PROT_WRITE } from '../../src/linux-abi.js';
import { DIRECT_MAP_BASE, directMapToPhysical } from '../../src/virtual/layout.js';
import { freeListSeries } from '../../src/web/model/buddy-histogram.js';
import { describeFrame } from '../../src/web/model/frame-details.js';
import { FrameSnapshot } from '../../src/web/model/frame-snapshot.js';
import { residentPages } from '../../src/web/model/heap-view.js';
import {
  entryBits,
  formatEntry,
  ProcessWalker,
  walkRows,
  walkSummary,
} from '../../src/web/model/page-walk.js';
import { slabCacheViews } from '../../src/web/model/slab-view.js';
import { mappingsOf } from '../../src/web/model/user-leaves.js';

const RW = PROT_READ | PROT_WRITE;
const ANON = MAP_PRIVATE | MAP_ANONYMOUS;

/** A machine with one process that mapped 4 pages and touched the first two, then paused. */
function machineWithMapping() {
  const machine = Machine.boot({ memory: '32M' });
  const mapping = { address: 0 };
  machine.spawn(function* (ctx: UserContext) {
    mapping.address = ctx.mmap(0, 4 * PAGE_SIZE, RW, ANON);
    ctx.store8(mapping.address, 1);
    ctx.store8(mapping.address + PAGE_SIZE, 2);
    yield;
  });
  let steps = 0;
  machine.schedule(() => steps++ === 1);
  const process = machine.processList[0]!;
  return { machine, process, address: mapping.address };
}

describe('page walk view', () => {
  it('names every flag bit and prints entries high half first', () => {
    const bits = entryBits(0x8000_0067, 0x8000_0000);
    const set = bits.filter((b) => b.set).map((b) => b.name);
    expect(set).toEqual(['P', 'RW', 'US', 'A', 'D', 'NX']);
    expect(bits.find((b) => b.name === 'NX')!.bit).toBe(63);
    expect(formatEntry(0x0000_1067, 0x8000_0001)).toBe('8000000100001067');
  });

  it('walks another process without touching the CPU, and agrees with the tables in RAM', () => {
    const { machine, process, address } = machineWithMapping();
    const cr3 = machine.cpu.cr3;
    const walker = new ProcessWalker(machine);
    const walk = walker.walk(process, address + PAGE_SIZE + 5);
    expect(machine.cpu.cr3).toBe(cr3);
    expect(walk.outcome).toBe('mapped');
    const rows = walkRows(walk);
    expect(rows.map((r) => r.table)).toEqual(['PML4', 'PDPT', 'PD', 'PT']);
    for (const [i, step] of walk.steps.entries()) {
      const low = machine.ram.load32(step.entryAddress);
      const high = machine.ram.load32(step.entryAddress + 4);
      expect(rows[i]!.raw).toBe(formatEntry(low, high));
    }
    expect(rows[3]!.leaf).toBe(true);
    expect(walkSummary(walk)).toMatch(/→ 0x[0-9a-f]+ \(4 KiB page, rw- user\)$/);
    const untouched = walker.walk(process, address + 3 * PAGE_SIZE);
    expect(untouched.outcome).toBe('not-present');
    expect(walkSummary(untouched)).toContain('not-present at PT[');
  });

  it("walks the kernel's own tables when given no process: the direct map is supervisor-only", () => {
    const machine = Machine.boot({ memory: '32M' });
    const walk = new ProcessWalker(machine).walk(null, DIRECT_MAP_BASE + PAGE_SIZE);
    expect(walk.outcome).toBe('mapped');
    expect(walk.physicalAddress).toBe(PAGE_SIZE);
    expect(walk.user).toBe(false);
    expect(walkSummary(walk)).toMatch(/→ 0x0*1000 \((4 KiB|2 MiB|1 GiB) page, rw[-x] kernel\)$/);
  });

  it('reverse-maps a frame to the virtual pages that map it', () => {
    const { machine, process, address } = machineWithMapping();
    const walker = new ProcessWalker(machine);
    for (const page of [address, address + PAGE_SIZE]) {
      const pfn = walker.walk(process, page).physicalAddress! / PAGE_SIZE;
      expect(mappingsOf(machine.ram, process, pfn)).toEqual([page]);
    }
    const table = walker.walk(process, address).steps[3]!.tableAddress / PAGE_SIZE;
    expect(mappingsOf(machine.ram, process, table)).toEqual([]);
  });

  it('finds exactly the resident pages of a range', () => {
    const { machine, process, address } = machineWithMapping();
    const pages = residentPages(
      new ProcessWalker(machine),
      process,
      address,
      address + 4 * PAGE_SIZE,
    );
    expect([...pages]).toEqual([1, 1, 0, 0]);
  });
});

describe('frame details', () => {
  it('describes a user frame with its owner and a free frame with its block', () => {
    const { machine, process, address } = machineWithMapping();
    const snapshot = FrameSnapshot.of(machine);
    snapshot.capture(machine);
    const pa = new ProcessWalker(machine).walk(process, address).physicalAddress!;
    const lines = describeFrame(machine, snapshot, pa / PAGE_SIZE);
    expect(lines[0]).toContain(`frame ${pa / PAGE_SIZE} at`);
    expect(lines).toContain(`mapped by pid ${process.pid} (${process.name})`);
    expect(lines).toContain('references: 1');
    const table = new ProcessWalker(machine).walk(process, address).steps[3]!.tableAddress;
    expect(describeFrame(machine, snapshot, table / PAGE_SIZE)).toContain(
      `a page table of pid ${process.pid} (${process.name})`,
    );
    let freeHead = -1;
    machine.frames.forEachFreeBlock((head, order) => {
      if (order >= 1 && freeHead < 0) freeHead = head / PAGE_SIZE;
    });
    const inside = describeFrame(machine, snapshot, freeHead + 1);
    expect(inside.some((l) => l.includes(`at frame ${freeHead}`))).toBe(true);
  });
});

describe('buddy histogram', () => {
  it('has a series per zone with RAM, adding up to the free frames', () => {
    const machine = Machine.boot({ memory: '64M' });
    const series = freeListSeries(machine.frames.stats());
    expect(series.map((s) => s.zone)).toEqual(['DMA', 'DMA32']);
    expect(series.reduce((sum, s) => sum + s.freeFrames, 0)).toBe(machine.frames.freeFrames);
  });
});

describe('slab view', () => {
  it('splits each cache into full, partial and empty slabs with their object counts', () => {
    const machine = Machine.boot({ memory: '32M' });
    const cache = machine.slab.createCache('web-test', 512, 8);
    const perSlab = cache.geometry.objectsPerSlab;
    const objects = Array.from({ length: 2 * perSlab + 3 }, () => cache.alloc());
    for (const object of objects.slice(perSlab, 2 * perSlab)) cache.free(object);
    const cached = slabCacheViews(machine.slab).find((v) => v.name === 'web-test')!;
    // Freed into the CPU array (with what its last refill left): their slab stays full.
    expect(cached.arrayObjects).toBeGreaterThanOrEqual(perSlab);
    expect(cached.empty).toBe(0);
    expect(cached.slabFill.reduce((a, b) => a + b, 0)).toBe(
      cached.activeObjects + cached.arrayObjects,
    );
    cache.drainArray();
    const view = slabCacheViews(machine.slab).find((v) => v.name === 'web-test')!;
    expect([view.full, view.partial, view.empty]).toEqual([1, 1, 1]);
    expect(view.slabFill).toEqual([perSlab, 3, 0]);
    expect(view.activeObjects).toBe(perSlab + 3);
    const snapshot = FrameSnapshot.of(machine);
    snapshot.capture(machine);
    const partialPage = Math.floor(directMapToPhysical(objects[objects.length - 1]!) / PAGE_SIZE);
    expect(describeFrame(machine, snapshot, partialPage)).toContain(
      `slab of web-test: 3 of ${perSlab} objects in use`,
    );
    for (const v of slabCacheViews(machine.slab)) {
      const c = machine.slab.caches().find((x) => x.name === v.name)!;
      expect(v.full + v.partial + v.empty).toBe(c.slabCount);
      expect(v.slabFill.reduce((a, b) => a + b, 0)).toBe(c.activeObjects + c.arrayObjects);
    }
  });
});
