import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseAddress, USER_TOP } from '../../src/hw/address.js';
import { GiB, MiB, PAGE_SIZE } from '../../src/hw/constants.js';
import { Cpu } from '../../src/hw/cpu.js';
import {
  ACCESS_EXECUTE,
  ACCESS_READ,
  ACCESS_WRITE,
  type AccessKind,
  GeneralProtectionFault,
  Mmu,
  PAGE_FAULTED,
  PageFault,
  UserModeMemory,
} from '../../src/hw/mmu.js';
import {
  entryHigh,
  entryLow,
  type PageLevel,
  PF_ID,
  PF_P,
  PF_RSVD,
  PF_U,
  PF_W,
  PTE_A,
  PTE_D,
  PTE_G,
  PTE_NX_HIGH,
  PTE_P,
  PTE_PS,
  PTE_RW,
  PTE_US,
} from '../../src/hw/paging.js';
import { PhysicalMemory } from '../../src/hw/ram.js';
import { PDE_CACHE_ENTRIES, TLB_ENTRIES } from '../../src/hw/tlb.js';
import { ALL, PageTableBuilder } from './page-tables.js';

const USER_VA = 0x0000_4000_0020_3000;
const KERNEL_VA = parseAddress('0xffffffff80000000');
const FRAME = 0x40_0000;
const LARGE_FRAME = 0x60_0000;

interface Machine {
  ram: PhysicalMemory;
  cpu: Cpu;
  mmu: Mmu;
  tables: PageTableBuilder;
}

function machine(ramBytes = 8 * MiB): Machine {
  const ram = PhysicalMemory.flat(ramBytes);
  const cpu = new Cpu();
  const tables = new PageTableBuilder(ram);
  cpu.cr3 = tables.root;
  return { ram, cpu, mmu: new Mmu(ram, cpu), tables };
}

/** The fault `f` raises, or undefined when it succeeds. */
function faultOf(f: () => unknown): PageFault | undefined {
  try {
    f();
    return undefined;
  } catch (error) {
    if (error instanceof PageFault) return error;
    throw error;
  }
}

interface CpuMode {
  cpl: 0 | 3;
  wp: boolean;
  smep: boolean;
  smap: boolean;
  ac: boolean;
  nxe: boolean;
}

function setMode(cpu: Cpu, mode: CpuMode): void {
  cpu.cpl = mode.cpl;
  cpu.cr0Wp = mode.wp;
  cpu.cr4Smep = mode.smep;
  cpu.cr4Smap = mode.smap;
  cpu.rflagsAc = mode.ac;
  cpu.eferNxe = mode.nxe;
}

const ALL_MODES: CpuMode[] = [];
for (let bits = 0; bits < 64; bits++) {
  ALL_MODES.push({
    cpl: bits & 1 ? 3 : 0,
    wp: (bits & 2) !== 0,
    smep: (bits & 4) !== 0,
    smap: (bits & 8) !== 0,
    ac: (bits & 16) !== 0,
    nxe: (bits & 32) !== 0,
  });
}
const ACCESSES: AccessKind[] = [ACCESS_READ, ACCESS_WRITE, ACCESS_EXECUTE];
const USER_MODE: CpuMode = { cpl: 3, wp: true, smep: true, smap: true, ac: false, nxe: true };

interface LevelRights {
  rw: boolean;
  us: boolean;
  nx: boolean;
}
const ALL_RIGHTS: LevelRights = { rw: true, us: true, nx: false };

/**
 * The oracle: the error code the SDM (vol. 3, 4.6 and 4.7) prescribes for an access through
 * entries with `levels` rights, or 0 when the access is allowed. Written as the SDM's tables
 * read, independently of the MMU's code.
 */
function expectedCode(levels: LevelRights[], mode: CpuMode, access: AccessKind): number {
  const userBit = mode.cpl === 3 ? PF_U : 0;
  const writeBit = access === ACCESS_WRITE ? PF_W : 0;
  const fetchBit = access === ACCESS_EXECUTE && (mode.nxe || mode.smep) ? PF_ID : 0;
  const code = (base: number) => base | userBit | writeBit | fetchBit;
  if (!mode.nxe && levels.some((l) => l.nx)) return code(PF_P | PF_RSVD);
  const writable = levels.every((l) => l.rw);
  const userPage = levels.every((l) => l.us);
  const executeDisabled = mode.nxe && levels.some((l) => l.nx);
  let ok: boolean;
  if (mode.cpl === 3) {
    if (access === ACCESS_READ) ok = userPage;
    else if (access === ACCESS_WRITE) ok = userPage && writable;
    else ok = userPage && !executeDisabled;
  } else if (access === ACCESS_EXECUTE) {
    ok = !(userPage && mode.smep) && !executeDisabled;
  } else {
    const smapBlocks = userPage && mode.smap && !mode.ac;
    if (access === ACCESS_READ) ok = !smapBlocks;
    else ok = !smapBlocks && (writable || !mode.wp);
  }
  return ok ? 0 : code(PF_P);
}

/** Clears the Accessed bit of the entry that maps `va` at every level. */
function clearAccessedBits(m: Machine, va: number): void {
  for (const level of [4, 3, 2, 1] as PageLevel[]) {
    const at = m.tables.entryFor(va, level);
    m.ram.store32(at, m.ram.load32(at) & ~PTE_A);
  }
}

function mapWithRights(m: Machine, va: number, leafLevel: PageLevel, levels: LevelRights[]): void {
  const flags: Partial<Record<PageLevel, number>> = {};
  const nx: Partial<Record<PageLevel, boolean>> = {};
  levels.forEach((l, i) => {
    const level = (4 - i) as PageLevel;
    flags[level] = PTE_P | (l.rw ? PTE_RW : 0) | (l.us ? PTE_US : 0);
    nx[level] = l.nx;
  });
  const pa = leafLevel === 1 ? FRAME : leafLevel === 2 ? LARGE_FRAME : 0;
  m.tables.map(va, pa, { leafLevel, flags, nx });
}

function checkAccess(m: Machine, va: number, access: AccessKind, expected: number): void {
  m.mmu.tlb.flushAll();
  m.cpu.cr2 = 0;
  const fault = faultOf(() => m.mmu.translate(va, access));
  if (expected === 0) {
    expect(fault).toBeUndefined();
  } else {
    expect(fault?.errorCode).toBe(expected);
    expect(fault?.cr2).toBe(va);
    expect(m.cpu.cr2).toBe(va);
  }
}

/** Rights at the four levels: all open but one, which takes each RW/US/NX combination. */
function* oneLevelRestricted(): Generator<LevelRights[]> {
  for (let level = 0; level < 4; level++) {
    for (let combo = 0; combo < 8; combo++) {
      yield [0, 1, 2, 3].map((i) =>
        i === level
          ? { rw: (combo & 1) !== 0, us: (combo & 2) !== 0, nx: (combo & 4) !== 0 }
          : { rw: true, us: true, nx: false },
      );
    }
  }
}

describe('permission rules (Intel SDM vol. 3, 4.6)', () => {
  it('every RW/US/NX combination at each level, in every CPU mode, for every access', () => {
    const m = machine();
    for (const levels of oneLevelRestricted()) {
      mapWithRights(m, USER_VA, 1, levels);
      for (const mode of ALL_MODES) {
        setMode(m.cpu, mode);
        for (const access of ACCESSES) {
          checkAccess(m, USER_VA, access, expectedCode(levels, mode, access));
        }
      }
    }
  });

  it('random rights at all levels, with 4 KiB, 2 MiB and 1 GiB leaves, match the oracle', () => {
    const rights = fc.record({ rw: fc.boolean(), us: fc.boolean(), nx: fc.boolean() });
    fc.assert(
      fc.property(
        fc.constantFrom<PageLevel>(1, 2, 3),
        fc.array(rights, { minLength: 3, maxLength: 3 }),
        rights,
        fc.constantFrom(...ALL_MODES),
        fc.constantFrom(...ACCESSES),
        (leafLevel, upper, extra, mode, access) => {
          const m = machine();
          const levels = [...upper, extra].slice(0, 5 - leafLevel);
          mapWithRights(m, USER_VA, leafLevel, levels);
          setMode(m.cpu, mode);
          checkAccess(m, USER_VA, access, expectedCode(levels, mode, access));
        },
      ),
      { numRuns: 300 },
    );
  });

  it('loads and stores that hit the TLB obey the same oracle in every mode', () => {
    const m = machine();
    const dataAccesses: [AccessKind, (va: number) => unknown][] = [
      [ACCESS_READ, (va) => m.mmu.load32(va)],
      [ACCESS_READ, (va) => m.mmu.load8(va + 1)],
      [ACCESS_WRITE, (va) => m.mmu.store32(va, 0x01020304)],
      [ACCESS_WRITE, (va) => m.mmu.store8(va + 1, 0xff)],
    ];
    for (const levels of oneLevelRestricted()) {
      mapWithRights(m, USER_VA, 1, levels);
      for (const mode of ALL_MODES) {
        for (const [access, run] of dataAccesses) {
          // Warm the entry (dirty, RAM words attached) in a mode allowed every data access.
          setMode(m.cpu, { cpl: 0, wp: false, smep: false, smap: false, ac: false, nxe: true });
          m.mmu.tlb.flushAll();
          if (levels.some((l) => l.nx) && !mode.nxe) continue; // reserved: never cached
          m.mmu.store32(USER_VA, 7);
          setMode(m.cpu, mode);
          const fault = faultOf(() => run(USER_VA));
          expect(fault?.errorCode ?? 0).toBe(expectedCode(levels, mode, access));
        }
      }
    }
  });

  it('the user-mode hit paths answer with the cached user rights, not reading the CPL (words: aligned)', () => {
    const m = machine();
    const user = new MissRecorder(m.mmu);
    for (let combo = 0; combo < 4; combo++) {
      const leaf = { rw: (combo & 1) !== 0, us: (combo & 2) !== 0, nx: false };
      const levels: LevelRights[] = [ALL_RIGHTS, ALL_RIGHTS, ALL_RIGHTS, leaf];
      mapWithRights(m, USER_VA, 1, levels);
      for (const cpl of [0, 3] as const) {
        for (const offset of [0, 1, 2, 3]) {
          setMode(m.cpu, { cpl: 0, wp: false, smep: false, smap: false, ac: false, nxe: true });
          m.mmu.tlb.flushAll();
          m.mmu.store32(USER_VA + 8, 0x1234); // cached, dirty, RAM words attached
          m.cpu.cpl = cpl;
          const aligned = (offset & 3) === 0;
          // The view is user code's: it serves what user mode may do, whatever the CPL says.
          const readable = aligned && expectedCode(levels, USER_MODE, ACCESS_READ) === 0;
          const writable = aligned && expectedCode(levels, USER_MODE, ACCESS_WRITE) === 0;
          expect(user.load32(USER_VA + 8 + offset)).toBe(readable ? 0x1234 : MissRecorder.MISSED);
          const byteReadable = expectedCode(levels, USER_MODE, ACCESS_READ) === 0;
          const byte = (0x1234 >>> (offset * 8)) & 0xff;
          expect(user.load8(USER_VA + 8 + offset)).toBe(byteReadable ? byte : MissRecorder.MISSED);
          user.misses = 0;
          user.store32(USER_VA + 8 + offset, 0x5678);
          expect(user.misses).toBe(writable ? 0 : 1);
          expect(m.ram.load32(FRAME + 8)).toBe(writable ? 0x5678 : 0x1234);
          const byteWritable = expectedCode(levels, USER_MODE, ACCESS_WRITE) === 0;
          m.ram.store8(FRAME + 16 + offset, 0);
          user.store8(USER_VA + 16 + offset, 0xab);
          expect(user.misses).toBe((writable ? 0 : 1) + (byteWritable ? 0 : 1));
          expect(m.ram.load8(FRAME + 16 + offset)).toBe(byteWritable ? 0xab : 0);
        }
      }
    }
  });

  it('the user-mode hit paths serve every TLB slot (their literal masks match the TLB)', () => {
    const m = machine();
    const user = new MissRecorder(m.mmu);
    const base = USER_VA - (USER_VA % (TLB_ENTRIES * PAGE_SIZE)); // slot 0
    for (const slot of [0, 1, TLB_ENTRIES / 2, TLB_ENTRIES - 1]) {
      const va = base + slot * PAGE_SIZE;
      m.tables.map(va, FRAME);
      m.cpu.cpl = 0;
      m.mmu.store32(va + 8, 0x1234 + slot); // cached, dirty, RAM words attached
      m.cpu.cpl = 3;
      user.misses = 0;
      expect(user.load32(va + 8)).toBe(0x1234 + slot);
      expect(user.load8(va + 8)).toBe((0x1234 + slot) & 0xff);
      user.store32(va + 12, slot);
      user.store8(va + 16, 7);
      expect([slot, user.misses]).toEqual([slot, 0]);
      expect(m.ram.load32(FRAME + 12)).toBe(slot);
    }
  });

  it('the user-mode copy runs alone only on TLB hits of every page it touches, word-aligned, apart', () => {
    const m = machine();
    const user = new MissRecorder(m.mmu);
    const SOURCE = USER_VA;
    const TARGET = USER_VA + PAGE_SIZE;
    m.tables.map(SOURCE, FRAME);
    m.tables.map(TARGET, FRAME + PAGE_SIZE, { flags: { 1: PTE_P | PTE_US } }); // read-only
    m.tables.map(TARGET + PAGE_SIZE, FRAME + 2 * PAGE_SIZE);
    const warm = (): void => {
      m.cpu.cpl = 0;
      m.mmu.tlb.flushAll();
      for (let page = 0; page < 3; page++) m.mmu.load32(SOURCE + page * PAGE_SIZE);
      m.mmu.store32(SOURCE + 8, 0x1234); // source: cached, RAM words attached
      m.mmu.store32(TARGET + PAGE_SIZE, 0); // a writable, dirty target page
      m.cpu.cpl = 3;
      user.misses = 0;
    };
    const cases: [string, number, number, number, boolean][] = [
      ['hits', TARGET + PAGE_SIZE + 16, SOURCE + 8, 8, true],
      ['read-only target', TARGET + 16, SOURCE + 8, 8, false],
      ['unaligned', TARGET + PAGE_SIZE + 17, SOURCE + 8, 8, false],
      ['target crosses into an unmapped page', TARGET + 2 * PAGE_SIZE - 4, SOURCE + 8, 8, false],
      ['target crosses from a read-only page', TARGET + PAGE_SIZE - 4, SOURCE + 8, 8, false],
      ['overlapping', SOURCE + 12, SOURCE + 8, 8, false],
      ['negative length', TARGET + PAGE_SIZE + 16, SOURCE + 8, -4, false],
      ['long (native copies do better)', TARGET + PAGE_SIZE + 16, SOURCE + 8, 260, false],
    ];
    for (const [what, to, from, length, hits] of cases) {
      warm();
      user.copyWithin(to, from, length);
      expect([what, user.misses]).toEqual([what, hits ? 0 : 1]);
      if (hits) expect(m.ram.load32(FRAME + 2 * PAGE_SIZE + 16)).toBe(0x1234);
    }
  });

  it('the user-mode fill runs alone only on writable, dirty TLB hits, from a word', () => {
    const m = machine();
    const user = new MissRecorder(m.mmu);
    m.tables.map(USER_VA, FRAME);
    m.tables.map(USER_VA + PAGE_SIZE, FRAME + PAGE_SIZE, { flags: { 1: PTE_P | PTE_US } }); // read-only
    const warm = (): void => {
      m.cpu.cpl = 0;
      m.mmu.tlb.flushAll();
      for (let word = 0; word < 1024; word++) m.mmu.store32(USER_VA + word * 4, 0x11223344);
      m.mmu.load32(USER_VA + PAGE_SIZE);
      m.cpu.cpl = 3;
      user.misses = 0;
    };
    // Every length up to the limit and then some, at an aligned start: the bytes set are
    // exactly [va, va + length), little-endian tail included, or nothing is and it misses.
    for (const length of [0, 1, 2, 3, 4, 5, 7, 8, 13, 255, 256, 257]) {
      warm();
      user.fill(USER_VA + 64, length, 0xab);
      expect([length, user.misses]).toEqual([length, length <= 256 ? 0 : 1]);
      const bytes = m.ram.readBytes(FRAME + 60, 264);
      const expected = new Uint8Array(264).fill(0);
      const background = [0x44, 0x33, 0x22, 0x11];
      for (let k = 0; k < 264; k++) {
        const inside = k >= 4 && k < 4 + length && length <= 256;
        expected[k] = inside ? 0xab : background[k % 4]!;
      }
      expect([length, ...bytes]).toEqual([length, ...expected]);
    }
    const misses: [string, number, number][] = [
      ['unaligned start', USER_VA + 65, 8],
      ['crosses into a read-only page', USER_VA + PAGE_SIZE - 8, 16],
      ['read-only page', USER_VA + PAGE_SIZE + 16, 8],
      ['negative length', USER_VA + 64, -4],
    ];
    for (const [what, va, length] of misses) {
      warm();
      user.fill(va, length, 0);
      expect([what, user.misses]).toEqual([what, 1]);
    }
    expect(m.ram.load32(FRAME + 64)).toBe(0x11223344); // none of them wrote
  });

  it('short copies and fills across a page boundary are served alone when every page hits, bytes as memmove and memset', () => {
    const m = machine();
    const user = new MissRecorder(m.mmu);
    const SOURCE = USER_VA; // two pages
    const TARGET = USER_VA + 4 * PAGE_SIZE; // two pages, in other frames
    for (let page = 0; page < 2; page++) {
      m.tables.map(SOURCE + page * PAGE_SIZE, FRAME + page * PAGE_SIZE);
      m.tables.map(TARGET + page * PAGE_SIZE, FRAME + (4 + page) * PAGE_SIZE);
    }
    // Word offsets in the two pages, a third of them just below the boundary.
    const word = fc.oneof(
      fc.nat(2 * (PAGE_SIZE / 4) - 64).map((n) => n * 4),
      fc.integer({ min: 1, max: 64 }).map((n) => PAGE_SIZE - n * 4),
    );
    fc.assert(
      fc.property(
        word,
        word,
        fc.nat(64).map((n) => n * 4),
        fc.boolean(),
        (to, from, length, fill) => {
          m.cpu.cpl = 0;
          m.mmu.tlb.flushAll();
          for (let at = 0; at < 2 * PAGE_SIZE; at += 4) {
            m.mmu.store32(SOURCE + at, (at * 0x9e3779b1) | 0);
            m.mmu.store32(TARGET + at, 0);
          }
          const expected = m.ram.readBytes(FRAME + 4 * PAGE_SIZE, 2 * PAGE_SIZE);
          if (fill) expected.fill(0xab, to, to + length);
          else expected.set(m.ram.readBytes(FRAME + from, length), to);
          m.cpu.cpl = 3;
          user.misses = 0;
          if (fill) user.fill(TARGET + to, length, 0xab);
          else user.copyWithin(TARGET + to, SOURCE + from, length);
          expect(user.misses).toBe(0);
          expect(m.ram.readBytes(FRAME + 4 * PAGE_SIZE, 2 * PAGE_SIZE)).toEqual(expected);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('the user-mode windows are the RAM words of a page the TLB maps user-writable and dirty, else none', () => {
    const m = machine();
    const user = new MissRecorder(m.mmu);
    const WRITABLE = USER_VA;
    const READ_ONLY = USER_VA + PAGE_SIZE;
    const SUPERVISOR = USER_VA + 2 * PAGE_SIZE;
    const CLEAN = USER_VA + 3 * PAGE_SIZE;
    m.tables.map(WRITABLE, FRAME);
    m.tables.map(READ_ONLY, FRAME + PAGE_SIZE, { flags: { 1: PTE_P | PTE_US } });
    m.tables.map(SUPERVISOR, FRAME + 2 * PAGE_SIZE, { flags: { 1: PTE_P | PTE_RW } });
    m.tables.map(CLEAN, FRAME + 3 * PAGE_SIZE);
    m.cpu.cpl = 0;
    for (const va of [WRITABLE, SUPERVISOR]) m.mmu.store32(va + 8, 0x1234); // dirty, words attached
    for (const va of [READ_ONLY, CLEAN]) m.mmu.load32(va + 8); // cached, not dirty
    m.cpu.cpl = 3;

    expect(user.windowMask).toBe(PAGE_SIZE - 1);
    const words = user.writableWindow(WRITABLE + 0xff8);
    expect(words.length).toBe(PAGE_SIZE / 4);
    expect(words[2]).toBe(0x1234); // the word at page offset 8
    words[(0xff8 >> 2) + 1] = 0x5678; // page offset 0xffc
    expect(m.ram.load32(FRAME + 0xffc)).toBe(0x5678);
    expect(user.misses).toBe(0);

    for (const va of [READ_ONLY, SUPERVISOR, CLEAN, USER_VA + 4 * PAGE_SIZE]) {
      expect([va, user.writableWindow(va + 8).length]).toEqual([va, 0]);
    }
    m.mmu.tlb.flushAll();
    expect(user.writableWindow(WRITABLE + 8).length).toBe(0); // a miss: no walk here
  });

  it('user write to a read-only page: error code P|W|U and CR2', () => {
    const m = machine();
    m.tables.map(USER_VA, FRAME, { flags: { 1: PTE_P | PTE_US } });
    m.cpu.cpl = 3;
    expect(m.mmu.load32(USER_VA + 8)).toBe(0);
    const fault = faultOf(() => m.mmu.store32(USER_VA + 8, 1));
    expect(fault?.errorCode).toBe(PF_P | PF_W | PF_U);
    expect(fault?.cr2).toBe(USER_VA + 8);
    expect(fault?.code).toBe('PAGE_FAULT');
    expect(fault?.message).toBe(
      'page fault at 0x0000400000203008 (user write, protection violation)',
    );
  });

  it('supervisor writes to read-only pages only with CR0.WP clear', () => {
    const m = machine();
    m.tables.map(KERNEL_VA, FRAME, { flags: { 1: PTE_P } });
    expect(faultOf(() => m.mmu.store8(KERNEL_VA, 1))?.errorCode).toBe(PF_P | PF_W);
    m.cpu.cr0Wp = false;
    m.mmu.store8(KERNEL_VA, 7);
    expect(m.ram.load8(FRAME)).toBe(7);
  });

  it('user access to a supervisor page faults', () => {
    const m = machine();
    m.tables.map(KERNEL_VA, FRAME, { flags: { 4: PTE_P | PTE_RW } });
    m.cpu.cpl = 3;
    expect(faultOf(() => m.mmu.load8(KERNEL_VA))?.errorCode).toBe(PF_P | PF_U);
    m.cpu.cpl = 0;
    expect(m.mmu.load8(KERNEL_VA)).toBe(0);
  });

  it('SMAP blocks supervisor data access to user pages unless RFLAGS.AC', () => {
    const m = machine();
    m.tables.map(USER_VA, FRAME);
    m.cpu.cr4Smap = true;
    expect(faultOf(() => m.mmu.load8(USER_VA))?.errorCode).toBe(PF_P);
    expect(faultOf(() => m.mmu.store8(USER_VA, 1))?.errorCode).toBe(PF_P | PF_W);
    m.cpu.rflagsAc = true;
    m.mmu.store8(USER_VA, 9);
    expect(m.mmu.load8(USER_VA)).toBe(9);
  });

  it('SMEP blocks supervisor fetches from user pages; I/D is reported', () => {
    const m = machine();
    m.tables.map(USER_VA, FRAME);
    m.ram.store8(FRAME, 0x90);
    expect(m.mmu.fetch(USER_VA)).toBe(0x90);
    m.cpu.cr4Smep = true;
    expect(faultOf(() => m.mmu.fetch(USER_VA))?.errorCode).toBe(PF_P | PF_ID);
    m.cpu.cpl = 3;
    expect(m.mmu.fetch(USER_VA)).toBe(0x90);
  });

  it('NX faults fetches with EFER.NXE, and is a reserved bit without it', () => {
    const m = machine();
    m.tables.map(USER_VA, FRAME, { nx: { 1: true } });
    m.cpu.cpl = 3;
    expect(faultOf(() => m.mmu.load8(USER_VA))?.errorCode).toBe(PF_P | PF_RSVD | PF_U);
    m.cpu.eferNxe = true;
    expect(m.mmu.load8(USER_VA)).toBe(0);
    expect(faultOf(() => m.mmu.fetch(USER_VA))?.errorCode).toBe(PF_P | PF_U | PF_ID);
  });

  it('I/D is clear for a fetch fault when neither NXE nor SMEP is on', () => {
    const m = machine();
    m.cpu.cpl = 3;
    expect(faultOf(() => m.mmu.fetch(USER_VA))?.errorCode).toBe(PF_U);
    m.cpu.eferNxe = true;
    expect(faultOf(() => m.mmu.fetch(USER_VA))?.errorCode).toBe(PF_U | PF_ID);
  });
});

describe('page walk', () => {
  it('a missing entry at each level faults with P clear', () => {
    for (const level of [4, 3, 2, 1] as PageLevel[]) {
      const m = machine();
      m.tables.map(USER_VA, FRAME);
      m.ram.store32(m.tables.entryFor(USER_VA, level), 0);
      m.cpu.cpl = 3;
      expect(faultOf(() => m.mmu.store16(USER_VA + 2, 1))?.errorCode).toBe(PF_W | PF_U);
      expect(m.cpu.cr2).toBe(USER_VA + 2);
      expect(m.mmu.walk(USER_VA).steps).toHaveLength(5 - level);
    }
  });

  it('translates 4 KiB, 2 MiB and 1 GiB leaves, in both halves', () => {
    const m = machine();
    m.tables.map(USER_VA, FRAME);
    m.tables.map(2 * GiB + 2 * MiB, LARGE_FRAME, { leafLevel: 2 });
    m.tables.map(-GiB, 0, { leafLevel: 3 });
    expect(m.mmu.translate(USER_VA + 0x123, ACCESS_READ)).toBe(FRAME + 0x123);
    expect(m.mmu.translate(2 * GiB + 2 * MiB + 0x1_2345, ACCESS_READ)).toBe(LARGE_FRAME + 0x1_2345);
    expect(m.mmu.translate(-GiB + 0x7_6543, ACCESS_WRITE)).toBe(0x7_6543);
    m.mmu.store32(-GiB + 0x30_0000, 0xdeadbeef);
    expect(m.ram.load32(0x30_0000)).toBe(0xdeadbeef);
    expect(m.mmu.load32(2 * GiB + 2 * MiB)).toBe(0);
  });

  it('faults with RSVD for reserved bits at every level', () => {
    const cases: { level: PageLevel; lowBits: number; highBits: number; leafLevel: PageLevel }[] =
      [];
    for (const level of [4, 3, 2, 1] as PageLevel[]) {
      for (let bit = 46; bit <= 51; bit++) {
        cases.push({ level, lowBits: 0, highBits: 1 << (bit - 32), leafLevel: 1 });
      }
    }
    cases.push({ level: 4, lowBits: PTE_PS, highBits: 0, leafLevel: 1 });
    for (let bit = 13; bit <= 20; bit++) {
      cases.push({ level: 2, lowBits: 1 << bit, highBits: 0, leafLevel: 2 });
    }
    for (let bit = 13; bit <= 29; bit++) {
      cases.push({ level: 3, lowBits: 1 << bit, highBits: 0, leafLevel: 3 });
    }
    for (const c of cases) {
      const m = machine();
      m.tables.map(USER_VA, c.leafLevel === 1 ? FRAME : 0, { leafLevel: c.leafLevel });
      const at = m.tables.entryFor(USER_VA, c.level);
      m.ram.store32(at, m.ram.load32(at) | c.lowBits);
      m.ram.store32(at + 4, m.ram.load32(at + 4) | c.highBits);
      m.cpu.cpl = 3;
      const fault = faultOf(() => m.mmu.load8(USER_VA));
      expect(fault?.errorCode, JSON.stringify(c)).toBe(PF_P | PF_RSVD | PF_U);
      expect(m.mmu.walk(USER_VA).outcome).toBe('reserved-bit');
    }
  });

  it('PAT (bit 12) of a large leaf is not reserved, and not part of the frame', () => {
    const m = machine();
    m.tables.map(2 * MiB * 5, LARGE_FRAME, { leafLevel: 2 });
    const at = m.tables.entryFor(2 * MiB * 5, 2);
    m.ram.store32(at, m.ram.load32(at) | 0x1000);
    expect(m.mmu.translate(2 * MiB * 5 + 4, ACCESS_READ)).toBe(LARGE_FRAME + 4);
  });

  it('sets A at every level and D in the leaf on write, only when the access succeeds', () => {
    const m = machine();
    m.tables.map(USER_VA, FRAME, { flags: { 1: PTE_P | PTE_US } });
    const levels = [4, 3, 2, 1] as PageLevel[];
    m.cpu.cpl = 3;
    m.cpu.cr4Smap = true;
    expect(faultOf(() => m.mmu.store8(USER_VA, 1))).toBeDefined();
    for (const l of levels) expect(m.tables.low(USER_VA, l) & (PTE_A | PTE_D)).toBe(0);
    m.mmu.load8(USER_VA);
    for (const l of levels) expect(m.tables.low(USER_VA, l) & (PTE_A | PTE_D)).toBe(PTE_A);
    m.tables.map(USER_VA, FRAME);
    m.mmu.tlb.flushAll();
    m.mmu.store8(USER_VA, 1);
    for (const l of [4, 3, 2] as PageLevel[]) {
      expect(m.tables.low(USER_VA, l) & (PTE_A | PTE_D)).toBe(PTE_A);
    }
    expect(m.tables.low(USER_VA, 1) & (PTE_A | PTE_D)).toBe(PTE_A | PTE_D);
  });

  it('a recursive PML4 entry walked at every level gets A and D once, its frame kept', () => {
    const m = machine();
    const slot = 5;
    const self = m.tables.root + slot * 8;
    m.ram.store32(self, m.tables.root | PTE_P | PTE_RW | PTE_US);
    m.ram.store32(self + 4, 0);
    const va = slot * 2 ** 39 + slot * 2 ** 30 + slot * 2 ** 21 + slot * 2 ** 12;
    m.mmu.store32(va + 8, 0x42); // the PML4 seen as a page: its entry 1
    expect(m.ram.load32(self)).toBe(
      (m.tables.root | PTE_P | PTE_RW | PTE_US | PTE_A | PTE_D) >>> 0,
    );
    expect(m.ram.load32(m.tables.root + 8)).toBe(0x42);
  });

  it('a write through a clean cached entry walks again to set D', () => {
    const m = machine();
    m.tables.map(USER_VA, FRAME);
    m.mmu.load32(USER_VA);
    expect(m.tables.low(USER_VA, 1) & PTE_D).toBe(0);
    m.mmu.store32(USER_VA, 5);
    expect(m.tables.low(USER_VA, 1) & PTE_D).toBe(PTE_D);
    expect(m.mmu.tlb.entries()[0]?.dirty).toBe(true);
  });

  it('sets D in a 2 MiB leaf', () => {
    const m = machine();
    m.tables.map(2 * MiB, LARGE_FRAME, { leafLevel: 2 });
    m.mmu.store8(2 * MiB + 5, 1);
    expect(m.tables.low(2 * MiB, 2) & (PTE_A | PTE_D)).toBe(PTE_A | PTE_D);
  });

  it('non-canonical addresses raise #GP, not #PF, and leave CR2 alone', () => {
    const m = machine();
    m.tables.map(USER_TOP - PAGE_SIZE, FRAME);
    m.cpu.cr2 = 0x1234;
    for (const va of [USER_TOP, -USER_TOP - 1, 2 ** 60, 0.5, Number.NaN]) {
      expect(() => m.mmu.load8(va)).toThrow(GeneralProtectionFault);
    }
    expect(() => m.mmu.load32(USER_TOP - 2)).toThrow(GeneralProtectionFault);
    expect(() => m.mmu.readBytes(USER_TOP - 4, 8)).toThrow(GeneralProtectionFault);
    const gp = (() => {
      try {
        m.mmu.store8(USER_TOP, 0);
      } catch (error) {
        return error as GeneralProtectionFault;
      }
    })();
    expect(gp?.code).toBe('GENERAL_PROTECTION');
    expect(gp?.address).toBe(USER_TOP);
    expect(m.cpu.cr2).toBe(0x1234);
  });

  it('walk() describes each level and changes nothing', () => {
    const m = machine();
    m.tables.map(KERNEL_VA, FRAME, { flags: { 1: PTE_P | PTE_RW | PTE_G } });
    const before = m.ram.readBytes(m.tables.root, PAGE_SIZE);
    const walk = m.mmu.walk(KERNEL_VA + 0x10);
    expect(walk.outcome).toBe('mapped');
    expect(walk.physicalAddress).toBe(FRAME + 0x10);
    expect(walk.pageSize).toBe(PAGE_SIZE);
    expect(walk.user).toBe(false);
    expect(walk.writable).toBe(true);
    expect(walk.steps.map((s) => [s.tableName, s.index])).toEqual([
      ['PML4', 511],
      ['PDPT', 510],
      ['PD', 0],
      ['PT', 0],
    ]);
    expect(walk.steps[0]?.tableAddress).toBe(m.tables.root);
    expect(walk.steps[0]?.entryAddress).toBe(m.tables.root + 511 * 8);
    expect(walk.steps[3]).toMatchObject({ leaf: true, global: true, flags: 'P RW G' });
    expect(m.ram.readBytes(m.tables.root, PAGE_SIZE)).toEqual(before);
    expect(m.mmu.tlb.entries()).toHaveLength(0);
    expect(m.mmu.walk(USER_VA).outcome).toBe('not-present');
    expect(m.mmu.walk(USER_TOP).outcome).toBe('non-canonical');
  });
});

describe('accesses', () => {
  it('crossing into an unmapped page faults at the boundary; a store writes nothing', () => {
    const m = machine();
    m.tables.map(USER_VA, FRAME);
    m.cpu.cpl = 3;
    const last = USER_VA + PAGE_SIZE - 2;
    expect(faultOf(() => m.mmu.load32(last))?.cr2).toBe(USER_VA + PAGE_SIZE);
    expect(faultOf(() => m.mmu.store32(last, 0xffffffff))?.errorCode).toBe(PF_W | PF_U);
    expect(m.ram.load16(FRAME + PAGE_SIZE - 2)).toBe(0);
  });

  it('accesses crossing a page boundary go to both frames, little-endian', () => {
    const m = machine();
    m.tables.map(USER_VA, FRAME);
    m.tables.map(USER_VA + PAGE_SIZE, FRAME + 5 * PAGE_SIZE);
    const edge = USER_VA + PAGE_SIZE - 1;
    m.mmu.store32(edge, 0x44332211);
    expect(m.ram.load8(FRAME + PAGE_SIZE - 1)).toBe(0x11);
    expect(m.ram.load16(FRAME + 5 * PAGE_SIZE)).toBe(0x3322);
    expect(m.mmu.load32(edge)).toBe(0x44332211);
    m.mmu.store16(edge, 0xbeef);
    expect(m.mmu.load16(edge)).toBe(0xbeef);
    m.mmu.writeBytes(edge - 2, Uint8Array.of(1, 2, 3, 4, 5));
    expect([...m.mmu.readBytes(edge - 2, 5)]).toEqual([1, 2, 3, 4, 5]);
    m.mmu.fill(USER_VA + 10, 2 * PAGE_SIZE - 20, 0xab);
    expect(m.ram.load8(FRAME + 5 * PAGE_SIZE + PAGE_SIZE - 11)).toBe(0xab);
    expect(m.ram.load8(FRAME + 5 * PAGE_SIZE + PAGE_SIZE - 10)).toBe(0);
  });

  it('unaligned 32-bit accesses within a page work through the TLB', () => {
    const m = machine();
    m.tables.map(USER_VA, FRAME);
    m.mmu.store32(USER_VA + 1, 0xcafebabe);
    expect(m.mmu.load32(USER_VA + 1)).toBe(0xcafebabe);
    expect(m.ram.load32(FRAME + 1)).toBe(0xcafebabe);
  });

  it('keeps a hit on its attached words while other chunks get or lose host memory; drops only its own', () => {
    const m = machine();
    const other = USER_VA + 16 * PAGE_SIZE; // a frame in another chunk
    m.tables.map(USER_VA, FRAME);
    m.tables.map(other, FRAME + 16 * PAGE_SIZE);
    m.mmu.store32(USER_VA, 7); // cached, dirty, words attached
    m.cpu.cpl = 3;
    const user = new MissRecorder(m.mmu);
    m.ram.store32(FRAME + 32 * PAGE_SIZE, 1); // a third chunk gets host memory
    m.ram.store32(FRAME + 16 * PAGE_SIZE, 1);
    m.ram.fill(FRAME + 16 * PAGE_SIZE, 16 * PAGE_SIZE, 0); // the other chunk is released
    expect(user.load32(USER_VA)).toBe(7);
    expect(user.misses).toBe(0);
    m.ram.fill(FRAME, 16 * PAGE_SIZE, 0); // its own chunk is released
    expect(user.load32(USER_VA)).toBe(MissRecorder.MISSED);
    expect(m.mmu.load32(USER_VA)).toBe(0);
  });

  it('sees RAM changed behind its back, even after RAM replaces a chunk', () => {
    const m = machine();
    m.tables.map(USER_VA, FRAME);
    m.mmu.store32(USER_VA, 7);
    expect(m.mmu.load32(USER_VA)).toBe(7);
    m.ram.fill(FRAME - (FRAME % 0x10000), 0x10000, 0);
    expect(m.mmu.load32(USER_VA)).toBe(0);
    m.ram.store32(FRAME + 4, 9);
    expect(m.mmu.load32(USER_VA + 4)).toBe(9);
    m.mmu.store32(USER_VA + 8, 3);
    expect(m.ram.load32(FRAME + 8)).toBe(3);
  });

  it('a detached MMU no longer hears from RAM', () => {
    const m = machine();
    m.tables.map(USER_VA, FRAME);
    m.mmu.store32(USER_VA, 1);
    m.mmu.detach();
    const fresh = new Mmu(m.ram, m.cpu);
    m.ram.fill(FRAME - (FRAME % 0x10000), 0x10000, 0);
    expect(m.mmu.tlb.wordTags.some((t) => !Number.isNaN(t))).toBe(true);
    expect(fresh.load32(USER_VA)).toBe(0);
  });

  it('copyWithin copies across pages on both sides, and overlapping ranges like memmove', () => {
    const m = machine();
    for (let i = 0; i < 4; i++) m.tables.map(USER_VA + i * PAGE_SIZE, FRAME + i * PAGE_SIZE);
    const data = Uint8Array.from({ length: 2 * PAGE_SIZE }, (_, i) => (i * 7 + 1) & 0xff);
    m.mmu.writeBytes(USER_VA + 100, data.subarray(0, 5000));
    m.mmu.copyWithin(USER_VA + 2 * PAGE_SIZE + 3000, USER_VA + 100, 5000);
    expect([...m.mmu.readBytes(USER_VA + 2 * PAGE_SIZE + 3000, 5000)]).toEqual([
      ...data.subarray(0, 5000),
    ]);
    m.mmu.copyWithin(USER_VA + 110, USER_VA + 100, 5000); // overlapping, forward
    expect([...m.mmu.readBytes(USER_VA + 110, 5000)]).toEqual([...data.subarray(0, 5000)]);
    m.mmu.copyWithin(USER_VA + 100, USER_VA + 110, 5000); // overlapping, backward
    expect([...m.mmu.readBytes(USER_VA + 100, 5000)]).toEqual([...data.subarray(0, 5000)]);
  });

  it('copyWithin faults part-way like rep movsb: earlier pages are copied', () => {
    const m = machine();
    m.tables.map(USER_VA, FRAME);
    m.tables.map(USER_VA + 2 * PAGE_SIZE, FRAME + 2 * PAGE_SIZE);
    m.mmu.fill(USER_VA, PAGE_SIZE, 0x5a);
    const target = USER_VA + 2 * PAGE_SIZE;
    const fault = faultOf(() => m.mmu.copyWithin(target, USER_VA, 2 * PAGE_SIZE));
    expect(fault?.cr2).toBe(USER_VA + PAGE_SIZE);
    expect(m.mmu.load8(target + PAGE_SIZE - 1)).toBe(0x5a);
    expect(() => m.mmu.copyWithin(target, USER_VA, -1)).toThrow(/length/);
  });

  it('rejects negative lengths', () => {
    const m = machine();
    expect(() => m.mmu.readBytes(USER_VA, -1)).toThrow(/length/);
    expect(() => m.mmu.fill(USER_VA, 1.5, 0)).toThrow(/length/);
  });

  it('loadCr3 rejects what is not a physical address', () => {
    const m = machine();
    expect(() => m.mmu.loadCr3(-4096)).toThrow(/CR3/);
    expect(() => m.mmu.loadCr3(2 ** 46)).toThrow(/CR3/);
  });
});

describe('TLB', () => {
  it('goes stale when a PTE changes, until invlpg', () => {
    const m = machine();
    m.tables.map(USER_VA, FRAME);
    m.ram.store32(FRAME, 1);
    m.ram.store32(FRAME + PAGE_SIZE, 2);
    expect(m.mmu.load32(USER_VA)).toBe(1);
    m.tables.map(USER_VA, FRAME + PAGE_SIZE);
    expect(m.mmu.load32(USER_VA)).toBe(1);
    m.mmu.invlpg(USER_VA + 0x800);
    expect(m.mmu.load32(USER_VA)).toBe(2);
  });

  it('keeps stale permissions: a page made read-only can still be written', () => {
    const m = machine();
    m.tables.map(USER_VA, FRAME);
    m.cpu.cpl = 3;
    m.mmu.store8(USER_VA, 1);
    m.tables.map(USER_VA, FRAME, { flags: { 1: PTE_P | PTE_US | PTE_A | PTE_D } });
    m.mmu.store8(USER_VA, 2);
    expect(m.ram.load8(FRAME)).toBe(2);
    m.mmu.invlpg(USER_VA);
    expect(faultOf(() => m.mmu.store8(USER_VA, 3))?.errorCode).toBe(PF_P | PF_W | PF_U);
  });

  it('a cached denial faults once (spurious fault); the fault drops the entry', () => {
    const m = machine();
    m.tables.map(USER_VA, FRAME, { flags: { 1: PTE_P | PTE_US } });
    m.cpu.cpl = 3;
    m.mmu.load8(USER_VA);
    m.tables.map(USER_VA, FRAME);
    expect(faultOf(() => m.mmu.store8(USER_VA, 1))?.errorCode).toBe(PF_P | PF_W | PF_U);
    m.mmu.store8(USER_VA, 1);
    expect(m.ram.load8(FRAME)).toBe(1);
  });

  it('CR3 reload drops non-global entries and keeps global ones; flushAll drops both', () => {
    const m = machine();
    m.tables.map(USER_VA, FRAME);
    m.tables.map(KERNEL_VA, FRAME + PAGE_SIZE, { flags: { 1: PTE_P | PTE_RW | PTE_G } });
    m.ram.store32(FRAME, 1);
    m.ram.store32(FRAME + PAGE_SIZE, 2);
    expect(m.mmu.load32(USER_VA) + m.mmu.load32(KERNEL_VA)).toBe(3);
    const other = new PageTableBuilder(m.ram, 0x20_0000);
    other.map(USER_VA, FRAME + 2 * PAGE_SIZE);
    other.map(KERNEL_VA, FRAME + 2 * PAGE_SIZE);
    m.mmu.loadCr3(other.root);
    expect(m.cpu.cr3).toBe(other.root);
    expect(m.mmu.load32(USER_VA)).toBe(0);
    expect(m.mmu.load32(KERNEL_VA)).toBe(2);
    expect(m.mmu.tlb.entries().map((e) => e.global)).toContain(true);
    m.mmu.tlb.flushAll();
    expect(m.mmu.tlb.entries()).toHaveLength(0);
    expect(m.mmu.load32(KERNEL_VA)).toBe(0);
  });

  it('invlpg anywhere in a large page drops every cached piece of it', () => {
    const m = machine();
    const base = 4 * MiB;
    m.tables.map(base, LARGE_FRAME, { leafLevel: 2 });
    m.mmu.load8(base);
    m.mmu.load8(base + 0x10_0000);
    m.mmu.load8(base + 0x1f_f000);
    expect(m.mmu.tlb.entries().filter((e) => e.pageSize === 2 * MiB)).toHaveLength(3);
    m.tables.map(base, LARGE_FRAME - 2 * MiB, { leafLevel: 2 });
    m.mmu.invlpg(base + 0x12_3456);
    expect(m.mmu.tlb.entries()).toHaveLength(0);
    expect(m.mmu.translate(base + 0x10_0000, ACCESS_READ)).toBe(LARGE_FRAME - 2 * MiB + 0x10_0000);
  });

  it('invlpg anywhere in a kernel large page drops its pieces; user invlpg leaves them', () => {
    const m = machine();
    const base = KERNEL_VA - (KERNEL_VA % (2 * MiB));
    m.tables.map(base, LARGE_FRAME, { leafLevel: 2 });
    m.mmu.load8(base);
    m.mmu.load8(base + 0x10_0000);
    m.mmu.invlpg(USER_VA);
    expect(m.mmu.tlb.entries().filter((e) => e.pageSize === 2 * MiB)).toHaveLength(2);
    m.mmu.invlpg(base + 0x1f_f000);
    expect(m.mmu.tlb.entries()).toHaveLength(0);
  });

  /**
   * Intel SDM 4.10.3's paging-structure caches, each set up alike: USER_VA (holding 1) and
   * `other`, in the next region of the cached level (holding 2 at the same offsets), mapped and
   * touched; then `evicting` loaded, which takes USER_VA's TLB slot (and for the PDPTE cache,
   * 64 MiB on, its PDE-cache slot too) while USER_VA's entry of that level stays cached; then
   * that entry in RAM is rewritten to point where `other`'s does.
   */
  const pagingStructureCaches = [
    {
      cache: 'PDE',
      level: 2,
      other: USER_VA + 2 * MiB,
      evicting: USER_VA + TLB_ENTRIES * PAGE_SIZE,
    },
    {
      cache: 'PDPTE',
      level: 3,
      other: USER_VA + GiB,
      evicting: USER_VA + PDE_CACHE_ENTRIES * 2 * MiB,
    },
  ] as const;

  function cachedEntryRewritten(level: PageLevel, other: number, evicting: number) {
    const m = machine();
    m.tables.map(USER_VA, FRAME);
    m.tables.map(other, FRAME + 8 * PAGE_SIZE);
    m.tables.map(evicting, FRAME + 16 * PAGE_SIZE);
    m.mmu.store32(other, 2);
    m.mmu.store32(USER_VA, 1);
    m.mmu.load32(evicting);
    const entry = m.tables.entryFor(USER_VA, level);
    const otherEntry = m.tables.entryFor(other, level);
    m.ram.store32(entry, m.ram.load32(otherEntry));
    m.ram.store32(entry + 4, m.ram.load32(otherEntry + 4));
    return m;
  }

  for (const { cache, level, other, evicting } of pagingStructureCaches) {
    it(`a cached ${cache} outlives a changed ${cache} in RAM until any invlpg (the ${cache} cache)`, () => {
      const m = cachedEntryRewritten(level, other, evicting);
      expect(m.mmu.load32(USER_VA)).toBe(1); // through the cached entry, not the one in RAM
      m.mmu.load32(evicting);
      m.mmu.invlpg(other); // another page: the cache goes all the same
      expect(m.mmu.load32(USER_VA)).toBe(2);
    });

    it(`a page fault drops the cached ${cache} of its own region only (SDM 4.10.4.1)`, () => {
      const m = cachedEntryRewritten(level, other, evicting);
      m.cpu.cpl = 3;
      expect(faultOf(() => m.mmu.load32(other + 5 * PAGE_SIZE))?.errorCode).toBe(PF_U);
      expect(m.mmu.load32(USER_VA)).toBe(1); // its region's cached entry survived
      m.mmu.load32(evicting);
      expect(faultOf(() => m.mmu.load32(USER_VA + 5 * PAGE_SIZE))?.errorCode).toBe(PF_U);
      expect(m.mmu.load32(USER_VA)).toBe(2); // the fault in its region dropped it
    });
  }

  it('a TLB miss through a cached PDPTE reads and marks the PDE and the PTE alone', () => {
    const m = machine();
    const evicting = USER_VA + PDE_CACHE_ENTRIES * 2 * MiB;
    m.tables.map(USER_VA, FRAME);
    m.tables.map(evicting, FRAME + PAGE_SIZE);
    m.mmu.load32(USER_VA);
    m.mmu.load32(evicting);
    clearAccessedBits(m, USER_VA);
    m.mmu.load32(USER_VA);
    for (const level of [2, 1] as PageLevel[])
      expect(m.tables.low(USER_VA, level) & PTE_A).toBe(PTE_A);
    for (const level of [4, 3] as PageLevel[]) expect(m.tables.low(USER_VA, level) & PTE_A).toBe(0);
  });

  it('try-accessors report a page fault as PAGE_FAULTED with CR2 and the error code', () => {
    const m = machine();
    m.tables.map(USER_VA, FRAME, { flags: { 1: PTE_P | PTE_US } });
    m.cpu.cpl = 3;
    expect(m.mmu.tryStore8(USER_VA + 3, 1)).toBe(false);
    expect(m.cpu.cr2).toBe(USER_VA + 3);
    expect(m.mmu.faultErrorCode).toBe(PF_P | PF_W | PF_U);
    expect(m.ram.load8(FRAME + 3)).toBe(0);
    expect(m.mmu.tryLoad32(USER_VA + PAGE_SIZE)).toBe(PAGE_FAULTED);
    expect(m.cpu.cr2).toBe(USER_VA + PAGE_SIZE);
    expect(m.mmu.faultErrorCode).toBe(PF_U);
    expect(m.mmu.tryStore32(USER_VA + PAGE_SIZE, 7)).toBe(false);
    expect(m.mmu.faultErrorCode).toBe(PF_W | PF_U);
    expect(m.mmu.tryLoad8(USER_VA + 3)).toBe(0);
    expect(() => m.mmu.tryLoad8(2 ** 47)).toThrow(GeneralProtectionFault);
    expect(faultOf(() => m.mmu.store8(USER_VA, 1))?.cr2).toBe(USER_VA);
  });

  it('a TLB miss through a cached PDE reads and marks the PTE alone', () => {
    const m = machine();
    const conflicting = USER_VA + TLB_ENTRIES * PAGE_SIZE;
    m.tables.map(USER_VA, FRAME);
    m.tables.map(conflicting, FRAME + PAGE_SIZE);
    m.mmu.load32(USER_VA);
    m.mmu.load32(conflicting);
    clearAccessedBits(m, USER_VA);
    m.mmu.load32(USER_VA);
    expect(m.tables.low(USER_VA, 1) & PTE_A).toBe(PTE_A);
    for (const level of [4, 3, 2] as PageLevel[])
      expect(m.tables.low(USER_VA, level) & PTE_A).toBe(0);
    m.mmu.loadCr3(m.cpu.cr3);
    m.mmu.load32(USER_VA);
    for (const level of [4, 3, 2] as PageLevel[]) {
      expect(m.tables.low(USER_VA, level) & PTE_A).toBe(PTE_A);
    }
  });

  it('invlpg of another page keeps the entry', () => {
    const m = machine();
    m.tables.map(USER_VA, FRAME);
    m.mmu.load8(USER_VA);
    m.mmu.invlpg(USER_VA + PAGE_SIZE);
    expect(m.mmu.tlb.entries()).toHaveLength(1);
  });

  it('counts hits and misses and lists entries', () => {
    const m = machine();
    m.tables.map(USER_VA, FRAME, { nx: { 1: true } });
    m.cpu.eferNxe = true;
    m.mmu.load32(USER_VA);
    m.mmu.load32(USER_VA + 4);
    m.mmu.load8(USER_VA + 8);
    expect(m.mmu.tlb.misses).toBe(1);
    expect(m.mmu.tlb.hits).toBe(2);
    expect(m.mmu.tlb.entries()).toEqual([
      {
        virtualPage: USER_VA,
        physicalFrame: FRAME,
        pageSize: PAGE_SIZE,
        writable: true,
        user: true,
        noExecute: true,
        dirty: false,
        global: false,
      },
    ]);
  });

  it('a PTE rewritten in RAM with NX set is seen only after invalidation', () => {
    const m = machine();
    m.cpu.eferNxe = true;
    m.tables.map(USER_VA, FRAME);
    m.mmu.fetch(USER_VA);
    const at = m.tables.entryFor(USER_VA, 1);
    m.ram.store32(at + 4, PTE_NX_HIGH);
    expect(m.mmu.fetch(USER_VA)).toBe(0);
    m.mmu.invlpg(USER_VA);
    expect(faultOf(() => m.mmu.fetch(USER_VA))?.errorCode).toBe(PF_P | PF_ID);
  });
});

describe("the page walker's refill of a user miss (Mmu.refill)", () => {
  /** Bit 51 of an entry: reserved, as MAXPHYADDR is below 52. */
  const RESERVED_HIGH_BIT = 1 << (51 - 32);
  /** 4 KiB pages in two 2 MiB regions, each sharing its TLB slot with a page of the other. */
  const PAGES = [0, 1, 2, 3, TLB_ENTRIES, TLB_ENTRIES + 1, TLB_ENTRIES + 2, TLB_ENTRIES + 3].map(
    (page) => USER_VA + page * PAGE_SIZE,
  );
  /** A 2 MiB page in another 1 GiB region: the refill leaves large pages to the full walk. */
  const LARGE_VA = USER_VA - (USER_VA % GiB) + GiB;
  const TARGETS = [...PAGES, LARGE_VA];
  /** Mostly true (mostly false): most pages usable, so that misses reach the refill. */
  const mostly = (value: boolean) => fc.nat(7).map((n) => n > 0 === value);
  const leafFlags = fc.record({
    present: mostly(true),
    rw: mostly(true),
    us: mostly(true),
    accessed: fc.boolean(),
    dirty: fc.boolean(),
    global: mostly(false),
    nx: mostly(false),
    reserved: mostly(false),
  });
  type LeafFlags = typeof leafFlags extends fc.Arbitrary<infer T> ? T : never;
  const target = fc.nat(TARGETS.length - 1);
  const level = fc.constantFrom<PageLevel>(1, 2, 3, 4);
  const step = fc.oneof(
    { weight: 4, arbitrary: fc.record({ op: fc.constant('load' as const), target, level }) },
    { weight: 4, arbitrary: fc.record({ op: fc.constant('store' as const), target, level }) },
    fc.record({ op: fc.constant('invlpg' as const), target, level }),
    fc.record({ op: fc.constant('clearAD' as const), target, level }),
    fc.record({ op: fc.constant('toggleRW' as const), target, level }),
    fc.record({ op: fc.constant('toggleUS' as const), target, level }),
    fc.record({ op: fc.constant('toggleNX' as const), target, level }),
    fc.record({ op: fc.constant('toggleReserved' as const), target, level }),
  );
  /** The bit each rewriting step flips (clears, for clearAD), and in which half of the entry. */
  const REWRITES = {
    clearAD: { bits: PTE_A | PTE_D, high: false },
    toggleRW: { bits: PTE_RW, high: false },
    toggleUS: { bits: PTE_US, high: false },
    toggleNX: { bits: PTE_NX_HIGH, high: true },
    toggleReserved: { bits: RESERVED_HIGH_BIT, high: true },
  } as const;

  function twin(flags: LeafFlags[], nxe: boolean): Machine {
    const m = machine();
    PAGES.forEach((va, i) => {
      const f = flags[i]!;
      const low =
        (f.present ? PTE_P : 0) |
        (f.rw ? PTE_RW : 0) |
        (f.us ? PTE_US : 0) |
        (f.accessed ? PTE_A : 0) |
        (f.dirty ? PTE_D : 0) |
        (f.global ? PTE_G : 0);
      m.tables.map(va, FRAME + i * PAGE_SIZE);
      const at = m.tables.entryFor(va, 1);
      const high = (f.nx ? PTE_NX_HIGH : 0) | (f.reserved ? RESERVED_HIGH_BIT : 0);
      m.tables.write(at, entryLow(FRAME + i * PAGE_SIZE, low), high >>> 0);
      m.ram.store32(FRAME + i * PAGE_SIZE, i + 1);
    });
    m.tables.map(LARGE_VA, LARGE_FRAME, { leafLevel: 2 });
    // What a walk that took the 2 MiB leaf for a table pointer would read as its PTE.
    m.tables.write(LARGE_FRAME, entryLow(FRAME, ALL | PTE_A | PTE_D), 0);
    setMode(m.cpu, { ...USER_MODE, nxe });
    return m;
  }

  /** The levels of entries on the way to `target`'s page. */
  function levelsOf(target: number): PageLevel[] {
    return target < PAGES.length ? [4, 3, 2, 1] : [4, 3, 2];
  }

  /**
   * Every entry on the way to each page (their A and D bits), the words the steps use, and
   * what the paging-structure caches hold for each page.
   */
  function stateOf(m: Machine): number[] {
    return TARGETS.flatMap((va, i) => [
      ...levelsOf(i).map((level) => m.tables.low(va, level)),
      m.mmu.tlb.cachedPageTable(va),
      m.mmu.tlb.cachedDirectory(va),
      m.ram.load32(i < PAGES.length ? FRAME + i * PAGE_SIZE + 8 : LARGE_FRAME + 8),
    ]);
  }

  /** A process's view whose misses take the MMU's full path, as the kernel's UserMemory does. */
  class FullPathOnMiss extends UserModeMemory {
    protected load8Miss(va: number): number {
      return this.mmu.tryLoad8(va);
    }
    protected load32Miss(va: number): number {
      return this.mmu.tryLoad32(va);
    }
    protected store8Miss(va: number, value: number): void {
      this.mmu.tryStore8(va, value);
    }
    protected store32Miss(va: number, value: number): void {
      this.mmu.tryStore32(va, value);
    }
    protected copyMiss(): void {}
    protected fillMiss(): void {}
  }

  it('leaves the TLB, the A/D bits, the values and the faults exactly as the full walk does', () => {
    fc.assert(
      fc.property(
        fc.array(leafFlags, { minLength: PAGES.length, maxLength: PAGES.length }),
        fc.boolean(),
        fc.array(step, { minLength: 20, maxLength: 100 }),
        (flags, nxe, steps) => {
          const viaUser = twin(flags, nxe);
          const viaMmu = twin(flags, nxe);
          const user = new FullPathOnMiss(viaUser.mmu);
          for (const [n, { op, target, level }] of steps.entries()) {
            const va = TARGETS[target]! + 8;
            for (const m of [viaUser, viaMmu]) m.cpu.cr2 = 0;
            if (op === 'load') {
              const value = user.load32(va);
              expect(value).toBe(viaMmu.mmu.tryLoad32(va) >>> 0);
            } else if (op === 'store') {
              user.store32(va, n);
              viaMmu.mmu.tryStore32(va, n);
            } else if (op === 'invlpg') {
              for (const m of [viaUser, viaMmu]) m.mmu.invlpg(va);
            } else {
              // Software rewrites an entry without invlpg: what is cached keeps deciding.
              const at = Math.max(level, levelsOf(target).at(-1)!) as PageLevel;
              const { bits, high } = REWRITES[op];
              for (const m of [viaUser, viaMmu]) {
                const word = m.tables.entryFor(va, at) + (high ? 4 : 0);
                const value = m.ram.load32(word);
                m.ram.store32(word, (op === 'clearAD' ? value & ~bits : value ^ bits) >>> 0);
              }
            }
            expect(viaUser.cpu.cr2).toBe(viaMmu.cpu.cr2);
            expect(viaUser.mmu.faultErrorCode).toBe(viaMmu.mmu.faultErrorCode);
            expect(viaUser.mmu.tlb.entries()).toEqual(viaMmu.mmu.tlb.entries());
            expect(viaUser.mmu.tlb.misses).toBe(viaMmu.mmu.tlb.misses);
            expect(stateOf(viaUser)).toEqual(stateOf(viaMmu));
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it('leaves a page the TLB holds to the full path: its cached rights decide (a spurious fault)', () => {
    const m = machine();
    m.tables.map(USER_VA, FRAME, { flags: { 1: PTE_P | PTE_US } });
    m.ram.store32(FRAME, 1); // RAM has words for the page
    m.mmu.load32(USER_VA); // cached read-only, its PDE too
    const at = m.tables.entryFor(USER_VA, 1);
    m.ram.store32(at, m.ram.load32(at) | PTE_RW | PTE_D); // made writable without invlpg
    m.cpu.cpl = 3;
    const user = new MissRecorder(m.mmu);
    user.store32(USER_VA + 8, 0x5678);
    expect(user.misses).toBe(1);
    expect(m.ram.load32(FRAME + 8)).toBe(0);
  });

  it('serves a miss whose PDE is cached and whose PTE needs no A or D bit without the full path', () => {
    const m = machine();
    const conflicting = USER_VA + TLB_ENTRIES * PAGE_SIZE;
    m.tables.map(USER_VA, FRAME);
    m.tables.map(conflicting, FRAME + PAGE_SIZE);
    m.ram.store32(FRAME + 8, 0x1234);
    m.mmu.store32(USER_VA, 1); // A and D set; the PDE cached
    m.mmu.load32(conflicting); // evicts the TLB entry of USER_VA, not its PDE
    m.cpu.cpl = 3;
    const user = new MissRecorder(m.mmu);
    const misses = m.mmu.tlb.misses;
    expect(user.load32(USER_VA + 8)).toBe(0x1234);
    user.store32(USER_VA + 12, 0x5678);
    expect(user.writableWindow(USER_VA)[3]).toBe(0x5678);
    expect([user.misses, m.mmu.tlb.misses - misses]).toEqual([0, 1]); // one walk, by the refill
    clearAccessedBits(m, USER_VA);
    m.mmu.invlpg(conflicting); // drops the PDE cache: the refill cannot serve the next miss
    m.mmu.load32(conflicting);
    expect(user.load32(USER_VA + 8)).toBe(MissRecorder.MISSED);
    expect(user.writableWindow(USER_VA).length).toBe(0);
  });

  it('leaves an address that is no canonical integer to the full path, which raises #GP', () => {
    const m = machine();
    m.tables.map(USER_VA, FRAME);
    m.ram.store32(FRAME + 8, 0x1234);
    m.mmu.store32(USER_VA, 1); // A and D set; the PML4E, PDPTE and PDE cached
    m.cpu.cpl = 3;
    const user = new MissRecorder(m.mmu);
    // 2^48 above it, the walk would read the same entries; half a byte above, the same PTE.
    for (const va of [USER_VA + 8 + 2 ** 48, USER_VA + 8.5, USER_VA + 8 - 2 ** 48]) {
      m.mmu.invlpg(USER_VA);
      expect(m.mmu.refill(va, ACCESS_READ)).toBe(false);
      expect(m.mmu.refill(va, ACCESS_WRITE)).toBe(false);
      expect(user.load32(va)).toBe(MissRecorder.MISSED);
      user.store32(va, 0x5678);
      expect(() => m.mmu.load32(va)).toThrow(GeneralProtectionFault);
    }
    expect(user.misses).toBe(6);
    expect(m.mmu.tlb.entries()).toEqual([]); // no tag that invlpg of the page could not drop
    expect(m.ram.load32(FRAME + 8)).toBe(0x1234);
  });
});

describe('entries built with the paging helpers', () => {
  it('round-trip frames above 4 GiB', () => {
    const pa = 0x12_3456_7000;
    expect(entryLow(pa, ALL)).toBe(0x3456_7007);
    expect(entryHigh(pa, true)).toBe((0x12 | PTE_NX_HIGH) >>> 0);
  });
});

/** User-mode memory whose misses only count: what the TLB-hit paths answer alone shows. */
class MissRecorder extends UserModeMemory {
  /** What a load that missed returns. */
  static readonly MISSED = 0xdead;
  misses = 0;

  protected load8Miss(): number {
    this.misses++;
    return MissRecorder.MISSED;
  }

  protected load32Miss(): number {
    this.misses++;
    return MissRecorder.MISSED;
  }

  protected store8Miss(): void {
    this.misses++;
  }

  protected store32Miss(): void {
    this.misses++;
  }

  protected copyMiss(): void {
    this.misses++;
  }

  protected fillMiss(): void {
    this.misses++;
  }
}
