/**
 * The memory-management unit: every virtual access goes TLB → (on a miss) page walk → RAM.
 *
 * ```
 *  load32(va) ──► canonical? ──no──► #GP (GeneralProtectionFault)
 *                    │
 *                    ▼
 *               TLB hit with rights? ──yes──► RAM[frame + offset]
 *                    │ no
 *                    ▼
 *               PDE cached? ──yes──► read the PTE alone (Tlb's PDE cache) ──┐
 *                    │ no                                                    │
 *               PDPTE cached? ──yes──► read the PDE, then the PTE ───────────┤
 *                    │ no                                                    │
 *                    ▼                                                       │
 *               walk CR3 → PML4 → PDPT → PD → PT (stops early at a PS leaf)  │
 *                    │◄──────────────────────────────────────────────────────┘
 *                    │ not present / reserved bit / rights deny
 *                    ├──────────────────────────────► CR2 = va, #PF (PageFault, error code)
 *                    ▼
 *               set A in each entry (D in the leaf on a write), fill the TLB, RAM access
 * ```
 *
 * The TLB-hit test is the hot path of every simulated access, so it comes in small pieces V8
 * inlines into callers: `peek32`/`poke32` (any privilege), which answer or report
 * {@link TLB_MISS} and never fault, and {@link UserModeMemory} (a process's loads and stores,
 * one tag compare); the slow path behind them applies every rule.
 *
 * Permissions follow the Intel SDM (vol. 3, 4.6): RW and US are ANDed down the walk, NX ORed;
 * the CPU state in {@link Cpu} (CPL, CR0.WP, CR4.SMEP/SMAP, RFLAGS.AC, EFER.NXE) is read at
 * the moment of each access (a hit of {@link UserModeMemory}, user code's own view, is at CPL 3
 * by construction and reads none of it). Multi-byte accesses that cross a page translate both
 * pages before touching memory; bulk accesses go page by page, like `rep movsb`, so a fault
 * part-way leaves the earlier pages written.
 */
import { InvalidArgumentError, WallosError } from '../errors.js';
import { formatAddress, isCanonical } from './address.js';
import { PAGE_MASK, PAGE_SHIFT, PAGE_SIZE, PTE_SIZE } from './constants.js';
import { Cpu, USER_CPL } from './cpu.js';
import type { MemoryAccess, WordWindows } from './memory-access.js';
import {
  describeFaultCode,
  entryAddress,
  formatEntryFlags,
  hasReservedBits,
  LEVEL_NAMES,
  levelSpan,
  MAXPHYADDR,
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
  TOP_LEVEL,
  tableIndex,
} from './paging.js';
import type { PhysicalMemory } from './ram.js';
import {
  RIGHT_DIRTY,
  RIGHT_GLOBAL,
  RIGHT_NO_EXECUTE,
  RIGHT_USER,
  RIGHT_WRITABLE,
  TLB_ENTRIES,
  Tlb,
} from './tlb.js';

/** A data read. */
export const ACCESS_READ = 0;
/** A data write. */
export const ACCESS_WRITE = 1;
/** An instruction fetch. */
export const ACCESS_EXECUTE = 2;
/** The kind of a memory access, which decides the permission checked. */
export type AccessKind = typeof ACCESS_READ | typeof ACCESS_WRITE | typeof ACCESS_EXECUTE;

/** A #PF exception: CR2 holds the faulting address, `errorCode` the x86 `PF_*` bits. */
export class PageFault extends WallosError {
  /** The faulting linear address (sign-extended), as the CPU leaves it in CR2. */
  readonly cr2: number;
  /** The error code pushed by the CPU: `PF_P | PF_W | PF_U | PF_RSVD | PF_ID`. */
  readonly errorCode: number;

  constructor(cr2: number, errorCode: number) {
    // Page faults are routine (demand paging, copy-on-write): skip the costly stack capture.
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    super('PAGE_FAULT', describePageFault(cr2, errorCode));
    Error.stackTraceLimit = limit;
    this.cr2 = cr2;
    this.errorCode = errorCode;
  }
}

/** A page fault for people: `page fault at 0x… (not present, write, user)`. */
export function describePageFault(cr2: number, errorCode: number): string {
  return `page fault at ${formatAddress(cr2)} (${describeFaultCode(errorCode)})`;
}

/**
 * What the `try…` accesses of {@link Mmu} return for a page fault, which they record (CR2 and
 * {@link Mmu.faultErrorCode}) instead of throwing a {@link PageFault}: the CPU delivering #PF
 * to the kernel's handler, without the cost of an exception on every demand-zero fault.
 */
export const PAGE_FAULTED = -1;

/** A #GP exception: an access to a non-canonical address (never a page fault). */
export class GeneralProtectionFault extends WallosError {
  /** The offending address. */
  readonly address: number;

  constructor(address: number) {
    super(
      'GENERAL_PROTECTION',
      `general protection fault: ${formatAddress(address)} is not a canonical address`,
    );
    this.address = address;
  }
}

/** One level of a {@link PageWalk}. */
export interface PageWalkStep {
  readonly level: PageLevel;
  /** `PML4`, `PDPT`, `PD` or `PT`. */
  readonly tableName: string;
  /** Physical address of the table read at this level. */
  readonly tableAddress: number;
  /** Index of the entry within the table (0..511). */
  readonly index: number;
  /** Physical address of the entry. */
  readonly entryAddress: number;
  /** The entry's low and high 32-bit halves. */
  readonly low: number;
  readonly high: number;
  /** The set flags for people, e.g. `P RW US A`. */
  readonly flags: string;
  readonly present: boolean;
  readonly writable: boolean;
  readonly user: boolean;
  readonly noExecute: boolean;
  readonly accessed: boolean;
  readonly dirty: boolean;
  readonly global: boolean;
  /** True when this entry is the leaf (a PTE, or a PDE/PDPTE with PS). */
  readonly leaf: boolean;
  /** The address the entry points at: the next table, or the page for a leaf. */
  readonly target: number;
}

/** How a walk ended. */
export type WalkOutcome = 'mapped' | 'not-present' | 'reserved-bit' | 'non-canonical';

/** A side-effect-free description of how the MMU would translate an address. */
export interface PageWalk {
  readonly virtualAddress: number;
  readonly outcome: WalkOutcome;
  /** The entries read, from the PML4 down to where the walk stopped. */
  readonly steps: readonly PageWalkStep[];
  /** The translated address, when mapped. */
  readonly physicalAddress: number | undefined;
  /** Size of the mapping page (4 KiB, 2 MiB or 1 GiB), when mapped. */
  readonly pageSize: number | undefined;
  /** Effective rights (combined down the walk), meaningful when mapped. */
  readonly writable: boolean;
  readonly user: boolean;
  readonly noExecute: boolean;
}

const WALK_MAPPED = 0;
const WALK_NOT_PRESENT = 1;
const WALK_RESERVED = 2;
/** What `lookup` returns when the TLB cannot answer alone. */
const MISS = -1;
/** Rights a TLB hit needs for a write on the hot path (D cached: no walk needed to set it). */
const WRITE_HIT_RIGHTS = RIGHT_WRITABLE | RIGHT_DIRTY;
/** The rights bits the hot paths compare: those, and US. */
const WRITE_HIT_MASK = WRITE_HIT_RIGHTS | RIGHT_USER;
/** What the `peek` hot paths of {@link Mmu} return when the TLB cannot answer alone. */
export const TLB_MISS = -1;
const SLOT_MASK = TLB_ENTRIES - 1;
/** {@link UserModeMemory.writableWindow} on a miss: no words. */
const NO_WINDOW = new Int32Array(0);
const BYTE_BITS = 8;
/** log2 of BYTE_BITS: a byte's offset in its word, shifted by this, is its bit position. */
const BYTE_SHIFT = 3;
const BYTE_MASK = 0xff;
/** Times a byte, the 32-bit word of four copies of it. */
const BYTE_SPREAD = 0x01010101;
/** Bytes in a 32-bit word, as a shift, and the offset bits that make a word access unaligned. */
const WORD_SHIFT = 2;
const WORD_MISALIGNMENT = 3;
const BYTE_RANGE = 256;
/**
 * The longest copy {@link UserModeMemory} makes word by word; longer ones take the MMU's path,
 * whose page-sized pieces RAM moves with native copies.
 */
const WORD_COPY_LIMIT = 256;
/** 32-bit words in a page. */
const PAGE_WORDS = PAGE_SIZE >> WORD_SHIFT;
/** Words from which a copy between two pages' words is cheaper native than in a loop. */
const NATIVE_COPY_WORDS = 32;
/** Entries per table, as a mask of the index bits one level translates. */
const ENTRY_INDEX_MASK = 511;
/** The paging level of page directories, whose entries the PDE cache keeps. */
const PD_LEVEL = 2;
/** The paging level of page-directory-pointer tables, whose entries the PDPTE cache keeps. */
const PDPT_LEVEL = 3;
/**
 * The bytes one entry of each level maps (index = level) and their reciprocals, looked up on
 * the walk: `levelSpan` computes `2 ** n` with a variable exponent, a call to Math.pow, and a
 * division or `%` by a variable span is slow too. Scaling by the reciprocal of a power of two is
 * exact, so `Math.floor(x * scale)` is `Math.floor(x / span)` for every address.
 */
const LEVEL_SPANS: readonly number[] = [0, levelSpan(1), levelSpan(2), levelSpan(3), levelSpan(4)];
const LEVEL_SCALES: readonly number[] = LEVEL_SPANS.map((span) => (span === 0 ? 0 : 1 / span));

/**
 * The MMU of one CPU, translating virtual accesses into accesses to `ram`. One per CPU (not
 * per address space: switching address spaces is {@link Mmu.loadCr3}).
 */
export class Mmu implements MemoryAccess {
  readonly ram: PhysicalMemory;
  readonly cpu: Cpu;
  readonly tlb = new Tlb();

  // The last walk, kept in preallocated fields so a TLB miss allocates nothing.
  // Index 0 is the first entry read (the PML4 entry on a walk from CR3); `walkDepth` were read.
  private readonly walkEntries = new Float64Array(TOP_LEVEL);
  private readonly walkLows = new Uint32Array(TOP_LEVEL);
  private readonly walkHighs = new Uint32Array(TOP_LEVEL);
  private walkDepth = 0;
  private walkLevel: PageLevel = 1;
  private walkPage = 0;
  private walkRights = 0;
  /** The page table the last walk's PDE referenced (-1: none read), and the rights down to it. */
  private walkTable = -1;
  private walkTableRights = 0;
  /** The page directory the last walk's PDPTE referenced (-1: none read), and its rights. */
  private walkDirectory = -1;
  private walkDirectoryRights = 0;
  /** The error code of the last page fault (its address is in `cpu.cr2`). */
  faultErrorCode = 0;

  constructor(ram: PhysicalMemory, cpu: Cpu = new Cpu()) {
    this.ram = ram;
    this.cpu = cpu;
    ram.addBackingObserver(this.tlb);
  }

  /**
   * Translates `va` for an `access` at the CPU's current privilege, as the hardware would:
   * through the TLB, walking (and setting A/D bits) on a miss.
   * @returns the physical address.
   * @throws GeneralProtectionFault for a non-canonical address.
   * @throws PageFault (after setting `cpu.cr2`) when the access is not allowed.
   */
  translate(va: number, access: AccessKind): number {
    const pa = this.tryTranslate(va, access);
    return pa !== PAGE_FAULTED ? pa : this.raisePageFault();
  }

  /**
   * {@link translate} that records a page fault and returns {@link PAGE_FAULTED} instead of
   * throwing it. A non-canonical address still throws #GP.
   */
  tryTranslate(va: number, access: AccessKind): number {
    const pa = this.lookup(va, access);
    return pa !== MISS ? pa : this.translateMiss(va, access);
  }

  /** Throws the page fault the last `try…` access recorded. */
  raisePageFault(): never {
    throw new PageFault(this.cpu.cr2, this.faultErrorCode);
  }

  /** {@link load8} reporting a page fault as {@link PAGE_FAULTED}. */
  tryLoad8(va: number): number {
    const value = this.peek8(va);
    return value !== TLB_MISS ? value : this.tryLoad8Slow(va);
  }

  /** {@link load32} reporting a page fault as {@link PAGE_FAULTED} (a page-crossing word throws). */
  tryLoad32(va: number): number {
    const value = this.peek32(va);
    return value !== TLB_MISS ? value : this.tryLoad32Slow(va);
  }

  /** {@link store8}: false (nothing stored, the page fault recorded) where it would fault. */
  tryStore8(va: number, value: number): boolean {
    return this.poke8(va, value) || this.tryStore8Slow(va, value);
  }

  /** {@link store32}: false where it would fault (a page-crossing word throws). */
  tryStore32(va: number, value: number): boolean {
    return this.poke32(va, value) || this.tryStore32Slow(va, value);
  }

  load8(va: number): number {
    const value = this.peek8(va);
    return value !== TLB_MISS ? value : this.load8Slow(va);
  }

  load16(va: number): number {
    if ((va & PAGE_MASK) > PAGE_SIZE - 2) return this.loadSplit(va, 2);
    return this.ram.load16(this.translate(va, ACCESS_READ));
  }

  load32(va: number): number {
    const value = this.peek32(va);
    return value !== TLB_MISS ? value : this.load32Slow(va);
  }

  /**
   * The hot path of 32-bit reads: the word at `va` when the TLB alone can answer (a hit on an
   * aligned word whose RAM words are attached, see {@link Tlb.words}, in the common case of
   * {@link hitRights}), else {@link TLB_MISS}. Small enough for V8 to inline into callers such
   * as `UserMemory`, which then pay for the slow path (walk, fault) only when it is taken.
   */
  peek32(va: number): number {
    const tlb = this.tlb;
    const offset = va & PAGE_MASK;
    const slot = (va >>> PAGE_SHIFT) & SLOT_MASK;
    if (
      tlb.wordTags[slot] !== va - offset ||
      (offset & WORD_MISALIGNMENT) !== 0 ||
      (tlb.rights[slot]! & RIGHT_USER) !== this.hitRights(0)
    ) {
      return TLB_MISS;
    }
    tlb.hits++;
    return tlb.words[slot]![offset >> WORD_SHIFT]! >>> 0;
  }

  /** Like {@link peek32} for one byte. */
  peek8(va: number): number {
    const tlb = this.tlb;
    const offset = va & PAGE_MASK;
    const slot = (va >>> PAGE_SHIFT) & SLOT_MASK;
    if (
      tlb.wordTags[slot] !== va - offset ||
      (tlb.rights[slot]! & RIGHT_USER) !== this.hitRights(0)
    ) {
      return TLB_MISS;
    }
    tlb.hits++;
    const word = tlb.words[slot]![offset >> WORD_SHIFT]!;
    return (word >>> ((offset & WORD_MISALIGNMENT) << BYTE_SHIFT)) & BYTE_MASK;
  }

  store8(va: number, value: number): void {
    if (!this.poke8(va, value)) this.store8Slow(va, value);
  }

  store16(va: number, value: number): void {
    if ((va & PAGE_MASK) > PAGE_SIZE - 2) this.storeSplit(va, 2, value);
    else this.ram.store16(this.translate(va, ACCESS_WRITE), value);
  }

  store32(va: number, value: number): void {
    if (!this.poke32(va, value)) this.store32Slow(va, value);
  }

  /**
   * The hot path of 32-bit writes, like {@link peek32}: stores `value` and returns true when the
   * TLB alone allows it, else changes nothing and returns false. A clean entry (D not cached)
   * does not allow it: the slow path walks again so the CPU sets D in the leaf.
   */
  poke32(va: number, value: number): boolean {
    const tlb = this.tlb;
    const offset = va & PAGE_MASK;
    const slot = (va >>> PAGE_SHIFT) & SLOT_MASK;
    if (
      tlb.wordTags[slot] !== va - offset ||
      (offset & WORD_MISALIGNMENT) !== 0 ||
      (tlb.rights[slot]! & WRITE_HIT_MASK) !== this.hitRights(WRITE_HIT_RIGHTS)
    ) {
      return false;
    }
    tlb.hits++;
    tlb.words[slot]![offset >> WORD_SHIFT] = value;
    return true;
  }

  /** Like {@link poke32} for one byte (merged into its word: RAM is little-endian). */
  poke8(va: number, value: number): boolean {
    const tlb = this.tlb;
    const offset = va & PAGE_MASK;
    const slot = (va >>> PAGE_SHIFT) & SLOT_MASK;
    if (
      tlb.wordTags[slot] !== va - offset ||
      (tlb.rights[slot]! & WRITE_HIT_MASK) !== this.hitRights(WRITE_HIT_RIGHTS)
    ) {
      return false;
    }
    tlb.hits++;
    const words = tlb.words[slot]!;
    const at = offset >> WORD_SHIFT;
    const shift = (offset & WORD_MISALIGNMENT) << BYTE_SHIFT;
    words[at] = (words[at]! & ~(BYTE_MASK << shift)) | ((value & BYTE_MASK) << shift);
    return true;
  }

  /**
   * The rights a TLB hit must show for the hot paths: `access` rights, plus US exactly when the
   * CPU is in user mode. That covers the common cases (user code on user pages, the kernel on
   * its own pages) with one compare; every other case (SMAP, CR0.WP, denials) goes the slow way
   * through {@link allowed}, which decides it in full.
   */
  private hitRights(access: number): number {
    return this.cpu.cpl === USER_CPL ? access | RIGHT_USER : access;
  }

  /** An instruction fetch of the byte at `va`: needs execute permission. */
  fetch(va: number): number {
    return this.ram.load8(this.translate(va, ACCESS_EXECUTE));
  }

  readBytes(va: number, length: number): Uint8Array {
    checkLength(length);
    const out = new Uint8Array(length);
    this.readInto(va, out, 0, length);
    return out;
  }

  /** Reads `length` bytes at `va` into `target` from `targetOffset` on, page by page. */
  readInto(va: number, target: Uint8Array, targetOffset: number, length: number): void {
    if (this.tryReadInto(va, target, targetOffset, length) < length) this.raisePageFault();
  }

  writeBytes(va: number, bytes: Uint8Array): void {
    if (this.tryWriteBytes(va, bytes, 0) < bytes.length) this.raisePageFault();
  }

  fill(va: number, length: number, byte: number): void {
    if (this.tryFill(va, length, byte) < length) this.raisePageFault();
  }

  /**
   * Copies `length` bytes from `from` to `to` (memmove). Runs forward like `rep movsb`, in
   * pieces that cross no page on either side, each translated before it is copied, so a fault
   * part-way leaves the earlier pieces copied. Overlapping ranges are copied through a buffer.
   */
  copyWithin(to: number, from: number, length: number): void {
    checkLength(length);
    if (to < from + length && from < to + length) {
      this.writeBytes(to, this.readBytes(from, length));
      return;
    }
    if (this.tryCopy(to, from, length) < length) this.raisePageFault();
  }

  // The bulk accesses' resumable forms, for a caller that handles faults itself (a process's
  // memory): each works forward page by page and returns the bytes it did, all of them or up
  // to the page that faulted, that fault recorded as the `try…` accessors record one (CR2,
  // faultErrorCode), no exception thrown: as an interrupted `rep movsb` leaves its progress in
  // RSI, RDI and RCX, so the access resumes where it stopped.

  /** {@link readInto}: the bytes read. */
  tryReadInto(va: number, target: Uint8Array, targetOffset: number, length: number): number {
    checkLength(length);
    return this.tryPages(va, length, ACCESS_READ, (pa, done, count) =>
      this.ram.readInto(pa, target, targetOffset + done, count),
    );
  }

  /** Writes `bytes` from `offset` on at `va`: the bytes written. */
  tryWriteBytes(va: number, bytes: Uint8Array, offset: number): number {
    return this.tryPages(va, bytes.length - offset, ACCESS_WRITE, (pa, done, count) =>
      this.ram.writeBytes(pa, bytes.subarray(offset + done, offset + done + count)),
    );
  }

  /** {@link fill}: the bytes set. */
  tryFill(va: number, length: number, byte: number): number {
    checkLength(length);
    return this.tryPages(va, length, ACCESS_WRITE, (pa, _done, count) =>
      this.ram.fill(pa, count, byte),
    );
  }

  /**
   * The loop of the one-range bulk accesses: translates `[va, va + length)` for `access` a page
   * at a time and hands each piece to `piece` (its physical address, the bytes before it, its
   * length), stopping at the first page that faults. The bytes done.
   */
  private tryPages(
    va: number,
    length: number,
    access: AccessKind,
    piece: (pa: number, done: number, count: number) => void,
  ): number {
    let done = 0;
    while (done < length) {
      const count = bytesOnPage(va + done, length - done);
      const pa = this.tryTranslate(va + done, access);
      if (pa === PAGE_FAULTED) break;
      piece(pa, done, count);
      done += count;
    }
    return done;
  }

  /** {@link copyWithin} of ranges apart: the bytes copied. */
  tryCopy(to: number, from: number, length: number): number {
    checkLength(length);
    let done = 0;
    while (done < length) {
      const count = bytesOnPage(to + done, bytesOnPage(from + done, length - done));
      const source = this.tryTranslate(from + done, ACCESS_READ);
      if (source === PAGE_FAULTED) break;
      const target = this.tryTranslate(to + done, ACCESS_WRITE);
      if (target === PAGE_FAULTED) break;
      this.ram.copy(target, source, count);
      done += count;
    }
    return done;
  }

  /**
   * Unhooks this MMU's TLB from RAM (which tells it whenever chunk backing changes). Call it
   * when dropping an MMU while its RAM lives on; the MMU must not be used afterwards.
   */
  detach(): void {
    this.ram.removeBackingObserver(this.tlb);
  }

  /** `mov cr3, pa`: switches page tables and drops every non-global TLB entry. */
  loadCr3(pa: number): void {
    if (!Number.isSafeInteger(pa) || pa < 0 || pa >= 2 ** MAXPHYADDR) {
      throw new InvalidArgumentError(`CR3 value ${pa} is not a physical address`);
    }
    this.cpu.cr3 = pa;
    this.tlb.flushNonGlobal();
  }

  /** `invlpg va`: drops the TLB's translation of the page holding `va`. */
  invlpg(va: number): void {
    this.tlb.invalidate(va);
  }

  /**
   * Describes how `va` translates right now, reading the tables in RAM (never the TLB) and
   * changing nothing: no A/D bits, no CR2, no TLB fill.
   */
  walk(va: number): PageWalk {
    if (!isCanonical(va)) return describeWalk(va, 'non-canonical', [], undefined, undefined, 0);
    const status = this.resolve(va);
    const steps: PageWalkStep[] = [];
    for (let i = 0; i < this.walkDepth; i++) {
      const level = (TOP_LEVEL - i) as PageLevel;
      const at = this.walkEntries[i]!;
      steps.push(
        describeStep(level, at, tableIndex(va, level), this.walkLows[i]!, this.walkHighs[i]!),
      );
    }
    if (status === WALK_NOT_PRESENT) {
      return describeWalk(va, 'not-present', steps, undefined, undefined, 0);
    }
    if (status === WALK_RESERVED) {
      return describeWalk(va, 'reserved-bit', steps, undefined, undefined, 0);
    }
    const span = levelSpan(this.walkLevel);
    const pa = this.walkPage + offsetIn(va, this.walkLevel);
    return describeWalk(va, 'mapped', steps, pa, span, this.walkRights);
  }

  /** The TLB's answer for an allowed access, or MISS. The hot path: no allocation. */
  private lookup(va: number, access: AccessKind): number {
    const tlb = this.tlb;
    const offset = va & PAGE_MASK;
    const slot = (va >>> PAGE_SHIFT) & SLOT_MASK;
    if (tlb.tags[slot] !== va - offset) return MISS;
    const rights = tlb.rights[slot]!;
    if (!this.allowed(rights, access)) return MISS;
    // A first write through a clean entry walks again, so the D bit gets set in RAM.
    if (access === ACCESS_WRITE && (rights & RIGHT_DIRTY) === 0) return MISS;
    tlb.hits++;
    return tlb.frames[slot]! + offset;
  }

  /** Everything `lookup` could not answer: #GP, cached denials, walks, A/D updates, fills. */
  private translateMiss(va: number, access: AccessKind): number {
    if (!isCanonical(va)) throw new GeneralProtectionFault(va);
    const tlb = this.tlb;
    const slot = Tlb.slotOf(va);
    // Like Intel parts, a cached entry's rights decide without a re-walk (a "spurious" fault
    // when software raised the rights in RAM without flushing); the fault drops the entry.
    if (tlb.tags[slot] === va - (va & PAGE_MASK) && !this.allowed(tlb.rights[slot]!, access)) {
      return this.fault(va, this.faultCode(access, PF_P));
    }
    tlb.misses++;
    const status = this.resolveForAccess(va);
    if (status === WALK_NOT_PRESENT) return this.fault(va, this.faultCode(access, 0));
    if (status === WALK_RESERVED) return this.fault(va, this.faultCode(access, PF_P | PF_RSVD));
    if (!this.allowed(this.walkRights, access)) {
      return this.fault(va, this.faultCode(access, PF_P));
    }
    this.markAccessed(access === ACCESS_WRITE);
    // Only now are the A bits of the upper levels set, which the caches require.
    if (this.walkDirectory >= 0) tlb.insertPdpte(va, this.walkDirectory, this.walkDirectoryRights);
    if (this.walkTable >= 0) tlb.insertPde(va, this.walkTable, this.walkTableRights);
    const piece = this.walkPage + offsetIn(va, this.walkLevel) - (va & PAGE_MASK);
    tlb.insert(va, piece, this.walkRights, this.walkLevel);
    return piece + (va & PAGE_MASK);
  }

  /**
   * The page walk of a TLB miss in its common case, done without the general walker: from the
   * deepest cached paging structure (the PDE cache, else the PDPTE cache, else CR3) every entry
   * is present, accessed, without reserved bits and references a table, and the 4 KiB leaf is
   * accessed (and dirty, for a write) and allows `access` at the current privilege, so the walk
   * reads those entries and writes nothing. Fills the slot of `va` (RAM's words attached) and
   * the paging-structure caches as {@link translateMiss} would, and returns true. Returns
   * false, having changed nothing, in every other case, for the full path to decide: a fault,
   * an A or D bit to set, a large page, a slot that holds the page already (its cached rights
   * decide), RAM without words, an address that is no canonical integer (#GP: the walk would
   * read the entries of the address 2^48 below, or of the integer below, and cache a tag that
   * no invlpg of a page drops).
   */
  refill(va: number, access: AccessKind): boolean {
    const tlb = this.tlb;
    if (!isCanonical(va) || tlb.tags[Tlb.slotOf(va)] === va - (va & PAGE_MASK)) return false;
    let level = 1;
    let table = tlb.cachedPageTable(va);
    let rights = tlb.pdeRights[Tlb.pdeSlotOf(va)]!;
    if (table < 0) {
      level = 2;
      table = tlb.cachedDirectory(va);
      rights = tlb.pdpteRights[Tlb.pdpteSlotOf(va)]!;
    }
    if (table < 0) {
      level = TOP_LEVEL;
      table = this.cpu.cr3 - (this.cpu.cr3 & PAGE_MASK);
      rights = RIGHT_WRITABLE | RIGHT_USER;
    }
    const nxe = this.cpu.eferNxe;
    let directory = -1;
    let directoryRights = 0;
    let pageTable = -1;
    let pageTableRights = 0;
    for (; level > 1; level--) {
      const words = this.ram.pageWordsAt(table);
      if (words === undefined) return false;
      const at = entryIndex(va, level as PageLevel) << 1;
      const low = words[at]!;
      const high = words[at + 1]!;
      if ((low & (PTE_P | PTE_A | PTE_PS)) !== (PTE_P | PTE_A)) return false;
      if (hasReservedBits(low, high, level as PageLevel, nxe)) return false;
      rights = entryRights(rights, low, high);
      table = entryAddress(low, high);
      if (level === PDPT_LEVEL) {
        directory = table;
        directoryRights = rights;
      } else if (level === PD_LEVEL) {
        pageTable = table;
        pageTableRights = rights;
      }
    }
    const tableWords = this.ram.pageWordsAt(table);
    if (tableWords === undefined) return false;
    const at = ((va >>> PAGE_SHIFT) & ENTRY_INDEX_MASK) << 1;
    const low = tableWords[at]!;
    const high = tableWords[at + 1]!;
    const needed = access === ACCESS_WRITE ? PTE_P | PTE_A | PTE_D : PTE_P | PTE_A;
    if ((low & needed) !== needed || hasReservedBits(low, high, 1, nxe)) return false;
    const leaf = leafRights(rights, low, high);
    if (!this.allowed(leaf, access)) return false;
    const frame = entryAddress(low, high);
    const words = this.ram.pageWordsAt(frame);
    if (words === undefined) return false;
    tlb.misses++;
    if (directory >= 0) tlb.insertPdpte(va, directory, directoryRights);
    if (pageTable >= 0) tlb.insertPde(va, pageTable, pageTableRights);
    tlb.insert(va, frame, leaf, 1);
    tlb.attachWords(va, words);
    return true;
  }

  /**
   * Walks the tables from CR3 for `va`, recording each entry read; returns a WALK_* status.
   * Reads RAM only.
   */
  private resolve(va: number): number {
    const cr3 = this.cpu.cr3;
    return this.resolveFrom(va, cr3 - (cr3 & PAGE_MASK), TOP_LEVEL, RIGHT_WRITABLE | RIGHT_USER);
  }

  /**
   * The walk of a TLB miss: from the page table of a cached PDE when the PDE cache has one
   * (reading the PTE alone), else from the page directory of a cached PDPTE (the PDE and the
   * PTE), else from CR3.
   */
  private resolveForAccess(va: number): number {
    const tlb = this.tlb;
    const table = tlb.cachedPageTable(va);
    if (table >= 0) return this.resolveFrom(va, table, 1, tlb.pdeRights[Tlb.pdeSlotOf(va)]!);
    const directory = tlb.cachedDirectory(va);
    if (directory < 0) return this.resolve(va);
    return this.resolveFrom(va, directory, 2, tlb.pdpteRights[Tlb.pdpteSlotOf(va)]!);
  }

  /**
   * Walks from `table`, a table of `level`, down to the leaf for `va`; `rights` are those of
   * the levels above. Records each entry read (`walkEntries[0]` is the first) and, when the
   * walk passes a PDPTE or a PDE that references a table, that table and the rights down to it.
   */
  private resolveFrom(va: number, table: number, level: PageLevel, rights: number): number {
    const nxe = this.cpu.eferNxe;
    this.walkDepth = 0;
    this.walkTable = -1;
    this.walkDirectory = -1;
    for (let step = 0; level >= 1; step++, level--) {
      const at = table + entryIndex(va, level) * PTE_SIZE;
      const low = this.ram.load32(at);
      const high = this.ram.load32(at + 4);
      this.walkEntries[step] = at;
      this.walkLows[step] = low;
      this.walkHighs[step] = high;
      this.walkDepth = step + 1;
      if ((low & PTE_P) === 0) return WALK_NOT_PRESENT;
      if (hasReservedBits(low, high, level, nxe)) return WALK_RESERVED;
      const target = entryAddress(low, high);
      if (level === 1 || (low & PTE_PS) !== 0) {
        this.walkLevel = level as PageLevel;
        this.walkPage = target - offsetIn(target, level as PageLevel);
        this.walkRights = leafRights(rights, low, high);
        return WALK_MAPPED;
      }
      rights = entryRights(rights, low, high);
      if (level === PD_LEVEL) {
        this.walkTable = target;
        this.walkTableRights = rights;
      } else if (level === PDPT_LEVEL) {
        this.walkDirectory = target;
        this.walkDirectoryRights = rights;
      }
      table = target;
    }
    return WALK_NOT_PRESENT;
  }

  /**
   * Sets A in every entry of the last walk and D in its leaf on a write. Once an entry has been
   * written, the later ones are read again (a recursive mapping can make two levels share one
   * entry), as the CPU's locked OR does; until then the walk's own reads are current.
   */
  private markAccessed(write: boolean): void {
    const leaf = this.walkDepth - 1;
    let written = false;
    for (let i = 0; i <= leaf; i++) {
      const at = this.walkEntries[i]!;
      const low = written ? this.ram.load32(at) : this.walkLows[i]!;
      const wanted = (write && i === leaf ? low | PTE_A | PTE_D : low | PTE_A) >>> 0;
      if (wanted !== low) {
        this.ram.store32(at, wanted);
        written = true;
      }
    }
    if (write) this.walkRights |= RIGHT_DIRTY;
  }

  /** Whether rights combined down a walk let the current CPU state make `access`. */
  private allowed(rights: number, access: AccessKind): boolean {
    const cpu = this.cpu;
    const userPage = (rights & RIGHT_USER) !== 0;
    if (access === ACCESS_EXECUTE) {
      if ((rights & RIGHT_NO_EXECUTE) !== 0) return false;
      return cpu.cpl === 3 ? userPage : !(userPage && cpu.cr4Smep);
    }
    const writeOk = access === ACCESS_READ || (rights & RIGHT_WRITABLE) !== 0;
    if (cpu.cpl === 3) return userPage && writeOk;
    if (userPage && cpu.cr4Smap && !cpu.rflagsAc) return false;
    return writeOk || !cpu.cr0Wp;
  }

  /** The error code the CPU pushes for `access`, on top of `base` (P and RSVD). */
  private faultCode(access: AccessKind, base: number): number {
    const cpu = this.cpu;
    let code = base;
    if (access === ACCESS_WRITE) code |= PF_W;
    if (cpu.cpl === 3) code |= PF_U;
    // I/D is reported only when fetches can fault for being fetches (SDM 4.7).
    if (access === ACCESS_EXECUTE && (cpu.eferNxe || cpu.cr4Smep)) code |= PF_ID;
    return code;
  }

  /**
   * Records #PF: CR2 gets the address and {@link faultErrorCode} the error code; the TLB drops
   * the page, as a fault does on hardware. Returns {@link PAGE_FAULTED}.
   */
  private fault(va: number, errorCode: number): number {
    this.cpu.cr2 = va;
    this.faultErrorCode = errorCode;
    this.tlb.invalidateForFault(va);
    return PAGE_FAULTED;
  }

  private load8Slow(va: number): number {
    const value = this.tryLoad8Slow(va);
    return value !== PAGE_FAULTED ? value : this.raisePageFault();
  }

  private tryLoad8Slow(va: number): number {
    const pa = this.tryTranslate(va, ACCESS_READ);
    if (pa === PAGE_FAULTED) return PAGE_FAULTED;
    this.attachWords(va, pa);
    return this.ram.load8(pa);
  }

  private store8Slow(va: number, value: number): void {
    if (!this.tryStore8Slow(va, value)) this.raisePageFault();
  }

  private tryStore8Slow(va: number, value: number): boolean {
    const pa = this.tryTranslate(va, ACCESS_WRITE);
    if (pa === PAGE_FAULTED) return false;
    this.ram.store8(pa, value);
    this.attachWords(va, pa);
    return true;
  }

  private load32Slow(va: number): number {
    const value = this.tryLoad32Slow(va);
    return value !== PAGE_FAULTED ? value : this.raisePageFault();
  }

  private tryLoad32Slow(va: number): number {
    if ((va & PAGE_MASK) > PAGE_SIZE - 4) return this.loadSplit(va, 4);
    const pa = this.tryTranslate(va, ACCESS_READ);
    if (pa === PAGE_FAULTED) return PAGE_FAULTED;
    this.attachWords(va, pa);
    return this.ram.load32(pa);
  }

  private store32Slow(va: number, value: number): void {
    if (!this.tryStore32Slow(va, value)) this.raisePageFault();
  }

  private tryStore32Slow(va: number, value: number): boolean {
    if ((va & PAGE_MASK) > PAGE_SIZE - 4) {
      this.storeSplit(va, 4, value);
      return true;
    }
    const pa = this.tryTranslate(va, ACCESS_WRITE);
    if (pa === PAGE_FAULTED) return false;
    this.ram.store32(pa, value);
    this.attachWords(va, pa);
    return true;
  }

  /** Gives the TLB slot of `va` (just translated to `pa`) RAM's words, once RAM has them. */
  private attachWords(va: number, pa: number): void {
    const words = this.ram.pageWordsAt(pa);
    if (words !== undefined) this.tlb.attachWords(va, words);
  }

  /** A load that crosses into the next page: both pages are translated before reading. */
  private loadSplit(va: number, size: number): number {
    const first = PAGE_SIZE - (va & PAGE_MASK);
    const low = this.translate(va, ACCESS_READ);
    const high = this.translate(va + first, ACCESS_READ);
    let value = 0;
    for (let i = size - 1; i >= 0; i--) {
      const pa = i < first ? low + i : high + (i - first);
      value = value * BYTE_RANGE + this.ram.load8(pa);
    }
    return value;
  }

  /** A store that crosses into the next page: both pages are checked before writing. */
  private storeSplit(va: number, size: number, value: number): void {
    const first = PAGE_SIZE - (va & PAGE_MASK);
    const low = this.translate(va, ACCESS_WRITE);
    const high = this.translate(va + first, ACCESS_WRITE);
    for (let i = 0; i < size; i++) {
      const pa = i < first ? low + i : high + (i - first);
      this.ram.store8(pa, value >>> (i * BYTE_BITS));
    }
  }
}

/**
 * Memory as the code of a process reaches it: loads and stores at CPL 3. A TLB hit is served
 * here, from the TLB's own arrays; anything else goes to the subclass, which runs the MMU's full
 * path and hands a page fault to its kernel before retrying (as the CPU re-executes the
 * faulting instruction):
 *
 * ```
 *  load32(va) ──► slot = bits 22..12 of va
 *                 userReadTags[slot] is the page of va (and va an aligned word)?
 *                   │ yes                                          │ no
 *                   ▼                                              ▼
 *                 words[slot][offset / 4]                        load32Miss(va): Mmu.load32
 *                 (RAM's backing words: no call, no walk)        (walk, A/D, rights, #PF)
 * ```
 *
 * The user tags exist only for slots whose cached rights allow the access (US for reads; US,
 * RW and D for writes, so a first write still walks to set D), so the fast path decides nothing
 * the MMU would decide differently for user code. It does not read the CPL: this view is only
 * ever used by user code, which runs at CPL 3 (the kernel reaches user memory through
 * copyFromUser/copyToUser, and a task's code runs at CPL 3 from dispatch to its next kernel
 * entry). Checking it anyway cost ~9% of an in-process malloc.
 *
 * Each access is one small function that makes no call on a hit, on purpose: the heap
 * allocator makes about ten of them per malloc or free, and V8 inlines callees into an
 * optimised function only up to a cumulative budget of bytecode, so the size of this path
 * decides how many of them are inlined. For the same reason these hits are not counted in
 * {@link Tlb.hits}: a counter update per access made an in-process malloc 15% slower.
 */
export abstract class UserModeMemory implements WordWindows {
  protected mmu: Mmu;
  // The TLB's arrays (never replaced, only refilled), one load away.
  private readTags: Float64Array;
  private writeTags: Float64Array;
  private words: Int32Array[];
  /** A window is one 4 KiB page ({@link WordWindows}). */
  readonly windowMask = PAGE_MASK;

  constructor(mmu: Mmu) {
    this.mmu = mmu;
    this.readTags = mmu.tlb.userReadTags;
    this.writeTags = mmu.tlb.userWriteTags;
    this.words = mmu.tlb.words;
  }

  /**
   * Moves this view onto the CPU of `mmu` (a thread scheduled on another CPU): from now on its
   * accesses go through that CPU's registers and TLB.
   */
  runOn(mmu: Mmu): void {
    if (this.mmu === mmu) return;
    this.mmu = mmu;
    this.readTags = mmu.tlb.userReadTags;
    this.writeTags = mmu.tlb.userWriteTags;
    this.words = mmu.tlb.words;
  }

  // The loads, stores and writableWindow below spell their constants as literals: in bytecode
  // a module constant costs a load and a hole check at each use, in each of the ~10 inlined
  // copies per malloc; the 8 bytes that saved in load32 (118 -> 110 bytes; 79 since it reads no
  // CPL) measured 5% of an in-process malloc (sqlite3-small, 80 -> 76 ns/op). 12 = PAGE_SHIFT,
  // 2047 = SLOT_MASK (TLB_ENTRIES - 1), 0xfff = PAGE_MASK, 0xffc = PAGE_MASK & ~WORD_MISALIGNMENT
  // (an aligned word's offset), 3 = WORD_MISALIGNMENT (and BYTE_SHIFT), 2 = WORD_SHIFT,
  // 0xff = BYTE_MASK; the tests pin the TLB geometry they assume.

  load8(va: number): number {
    const slot = (va >>> 12) & 2047;
    const offset = va & 0xfff;
    if (this.readTags[slot] === va - offset) {
      const word = this.words[slot]![offset >> 2]!;
      return (word >>> ((offset & 3) << 3)) & 0xff;
    }
    return this.load8Miss(va);
  }

  /** The word at `va`; `va - (va & 0xffc)` is its page only when aligned, else it misses. */
  load32(va: number): number {
    const slot = (va >>> 12) & 2047;
    const word = va & 0xffc;
    if (this.readTags[slot] === va - word) {
      return this.words[slot]![word >> 2]! >>> 0;
    }
    // `>>> 0` changes nothing but tells V8 both branches give a uint32: their merge then stays
    // an unboxed word instead of a heap number for each value of 2^31 or more.
    return this.load32Refilled(va) >>> 0;
  }

  /**
   * {@link load32} on a miss: the page walker refills the TLB in its common case
   * ({@link Mmu.refill}) and the word comes from the words it attached; anything else
   * (a fault, an A bit to set, a word across pages) takes the subclass's full path.
   */
  private load32Refilled(va: number): number {
    const slot = (va >>> 12) & 2047;
    const word = va & 0xffc;
    if (this.mmu.refill(va, ACCESS_READ) && this.readTags[slot] === va - word) {
      return this.words[slot]![word >> 2]!;
    }
    return this.load32Miss(va);
  }

  /**
   * The page's words when the TLB maps it for a user write ({@link WordWindows}): the same tag
   * compare as a {@link store32} hit, once for every access the caller makes to the page.
   */
  writableWindow(va: number): Int32Array {
    const slot = (va >>> 12) & 2047;
    return this.writeTags[slot] === va - (va & 0xfff) ? this.words[slot]! : NO_WINDOW;
  }

  /** One byte, merged into its word (RAM is little-endian). */
  store8(va: number, value: number): void {
    const slot = (va >>> 12) & 2047;
    const offset = va & 0xfff;
    if (this.writeTags[slot] === va - offset) {
      const words = this.words[slot]!;
      const at = offset >> 2;
      const shift = (offset & 3) << 3;
      words[at] = (words[at]! & ~(0xff << shift)) | ((value & 0xff) << shift);
    } else {
      this.store8Miss(va, value);
    }
  }

  store32(va: number, value: number): void {
    const slot = (va >>> 12) & 2047;
    const word = va & 0xffc;
    if (this.writeTags[slot] === va - word) {
      this.words[slot]![word >> 2] = value;
    } else {
      this.store32Refilled(va, value);
    }
  }

  /** {@link store32} on a miss, as {@link load32Refilled}: D must be set already. */
  private store32Refilled(va: number, value: number): void {
    const slot = (va >>> 12) & 2047;
    const word = va & 0xffc;
    if (this.mmu.refill(va, ACCESS_WRITE) && this.writeTags[slot] === va - word) {
      this.words[slot]![word >> 2] = value;
    } else {
      this.store32Miss(va, value);
    }
  }

  /**
   * memmove of `length` bytes from `from` to `to` (realloc's copies). Served here from RAM's
   * backing words, a page piece at a time, when it is short ({@link WORD_COPY_LIMIT}),
   * word-aligned, apart, and the TLB maps every page of both ranges for the access (source
   * readable, target writable and dirty): nothing can fault then. Anything else goes to
   * {@link copyMiss}.
   */
  copyWithin(to: number, from: number, length: number): void {
    if (!this.copyWordsOnHit(to, from, length)) this.copyMiss(to, from, length);
  }

  /** The fast case of {@link copyWithin}: true when done, false (nothing written) otherwise. */
  private copyWordsOnHit(to: number, from: number, length: number): boolean {
    if ((length & WORD_MISALIGNMENT) !== 0 || (to < from + length && from < to + length)) {
      return false;
    }
    if (!this.shortRangeHits(from, length, this.readTags)) return false;
    if (!this.shortRangeHits(to, length, this.writeTags)) return false;
    const sourceAt = (from & PAGE_MASK) >> WORD_SHIFT;
    const targetAt = (to & PAGE_MASK) >> WORD_SHIFT;
    const words = length >> WORD_SHIFT;
    // Each range on one page (most copies): one piece, without the loop's per-piece arithmetic.
    if (sourceAt + words <= PAGE_WORDS && targetAt + words <= PAGE_WORDS) {
      const source = this.words[(from >>> PAGE_SHIFT) & SLOT_MASK]!;
      copyWords(source, sourceAt, this.words[(to >>> PAGE_SHIFT) & SLOT_MASK]!, targetAt, words);
      return true;
    }
    for (let done = 0; done < length; ) {
      const source = from + done;
      const target = to + done;
      const count = bytesOnPage(target, bytesOnPage(source, length - done));
      copyWords(
        this.words[(source >>> PAGE_SHIFT) & SLOT_MASK]!,
        (source & PAGE_MASK) >> WORD_SHIFT,
        this.words[(target >>> PAGE_SHIFT) & SLOT_MASK]!,
        (target & PAGE_MASK) >> WORD_SHIFT,
        count >> WORD_SHIFT,
      );
      done += count;
    }
    return true;
  }

  /**
   * Sets `length` bytes at `va` to `byte` (calloc's zeroing). Served here, a word at a time into
   * RAM's backing words, when it is short ({@link WORD_COPY_LIMIT}), starts on a word and the
   * TLB maps its pages (one or two) writable and dirty; anything else goes to {@link fillMiss}.
   */
  fill(va: number, length: number, byte: number): void {
    if (!this.fillWordsOnHit(va, length, byte)) this.fillMiss(va, length, byte);
  }

  /** The fast case of {@link fill}: true when done, false (nothing written) otherwise. */
  private fillWordsOnHit(va: number, length: number, byte: number): boolean {
    if (!this.shortRangeHits(va, length, this.writeTags)) return false;
    const pattern = Math.imul(byte & BYTE_MASK, BYTE_SPREAD);
    for (let done = 0; done < length; ) {
      const at = va + done;
      const count = bytesOnPage(at, length - done);
      fillWords(
        this.words[(at >>> PAGE_SHIFT) & SLOT_MASK]!,
        (at & PAGE_MASK) >> WORD_SHIFT,
        count,
        pattern,
      );
      done += count;
    }
    return true;
  }

  /**
   * True when `[va, va + length)` is short ({@link WORD_COPY_LIMIT}), starts on a word, and lies
   * on pages (one, or two when it crosses) that `tags` (the user read or write tags) allow.
   */
  private shortRangeHits(va: number, length: number, tags: Float64Array): boolean {
    if (length >>> 0 !== length || length > WORD_COPY_LIMIT || (va & WORD_MISALIGNMENT) !== 0) {
      return false;
    }
    const offset = va & PAGE_MASK;
    const next = va - offset + PAGE_SIZE;
    if (tags[(va >>> PAGE_SHIFT) & SLOT_MASK] !== next - PAGE_SIZE) return false;
    return offset + length <= PAGE_SIZE || tags[(next >>> PAGE_SHIFT) & SLOT_MASK] === next;
  }

  /** {@link load8} when the TLB cannot serve it alone: the MMU's full path, faults handled. */
  protected abstract load8Miss(va: number): number;
  /** {@link load32} when the TLB cannot serve it alone. */
  protected abstract load32Miss(va: number): number;
  /** {@link store8} when the TLB cannot serve it alone. */
  protected abstract store8Miss(va: number, value: number): void;
  /** {@link store32} when the TLB cannot serve it alone. */
  protected abstract store32Miss(va: number, value: number): void;
  /** {@link copyWithin} when the TLB cannot serve it alone (or the ranges overlap). */
  protected abstract copyMiss(to: number, from: number, length: number): void;
  /** {@link fill} when the TLB cannot serve it alone. */
  protected abstract fillMiss(va: number, length: number, byte: number): void;
}

/** `address`'s offset within the naturally aligned block one `level` entry maps (non-negative). */
function offsetIn(address: number, level: PageLevel): number {
  return address - Math.floor(address * LEVEL_SCALES[level]!) * LEVEL_SPANS[level]!;
}

/** `rights`, those of the levels above, narrowed by an entry's RW and US and marked by its NX. */
function entryRights(rights: number, low: number, high: number): number {
  let narrowed = rights;
  if ((low & PTE_RW) === 0) narrowed &= ~RIGHT_WRITABLE;
  if ((low & PTE_US) === 0) narrowed &= ~RIGHT_USER;
  if ((high & PTE_NX_HIGH) !== 0) narrowed |= RIGHT_NO_EXECUTE;
  return narrowed;
}

/** The rights a leaf gives, below levels that gave `rights`: its own, and its G and D bits. */
function leafRights(rights: number, low: number, high: number): number {
  let leaf = entryRights(rights, low, high);
  if ((low & PTE_G) !== 0) leaf |= RIGHT_GLOBAL;
  if ((low & PTE_D) !== 0) leaf |= RIGHT_DIRTY;
  return leaf;
}

/** The index into the `level` table for `va`: paging.ts's `tableIndex`, without Math.pow. */
function entryIndex(va: number, level: PageLevel): number {
  return Math.floor(va * LEVEL_SCALES[level]!) & ENTRY_INDEX_MASK;
}

/**
 * Copies `count` words from `source[at..]` to `target[into..]`, two RAM pages' words: a short
 * run word by word, a long one by a native copy between different frames (one page's words
 * copied into another's, which a `subarray` costs less than a loop past ~32 words). Within one
 * frame the loop always runs, forward, as `rep movsd` would over two mappings of one page.
 */
function copyWords(
  source: Int32Array,
  at: number,
  target: Int32Array,
  into: number,
  count: number,
): void {
  if (count >= NATIVE_COPY_WORDS && source !== target) {
    target.set(source.subarray(at, at + count), into);
    return;
  }
  for (let i = 0; i < count; i++) target[into + i] = source[at + i]!;
}

/** Sets `count` bytes from word `at` of a page's `words` to `pattern`'s (little-endian). */
function fillWords(words: Int32Array, at: number, count: number, pattern: number): void {
  const end = at + (count >> WORD_SHIFT);
  for (let i = at; i < end; i++) words[i] = pattern;
  const tailMask = (1 << ((count & WORD_MISALIGNMENT) << BYTE_SHIFT)) - 1;
  if (tailMask !== 0) words[end] = (words[end]! & ~tailMask) | (pattern & tailMask);
}

/** How many of `remaining` bytes from `va` lie on `va`'s page. */
function bytesOnPage(va: number, remaining: number): number {
  return Math.min(remaining, PAGE_SIZE - (va & PAGE_MASK));
}

/** Throws an {@link InvalidArgumentError} unless `length` is a non-negative safe integer. */
export function checkLength(length: number): void {
  if (!Number.isSafeInteger(length) || length < 0) {
    throw new InvalidArgumentError(`length ${length} is not a non-negative integer`);
  }
}

function describeStep(
  level: PageLevel,
  at: number,
  index: number,
  low: number,
  high: number,
): PageWalkStep {
  return {
    level,
    tableName: LEVEL_NAMES[level],
    tableAddress: at - index * PTE_SIZE,
    index,
    entryAddress: at,
    low,
    high,
    flags: formatEntryFlags(low, high),
    present: (low & PTE_P) !== 0,
    writable: (low & PTE_RW) !== 0,
    user: (low & PTE_US) !== 0,
    noExecute: (high & PTE_NX_HIGH) !== 0,
    accessed: (low & PTE_A) !== 0,
    dirty: (low & PTE_D) !== 0,
    global: (low & PTE_G) !== 0,
    leaf: (low & PTE_P) !== 0 && (level === 1 || (low & PTE_PS) !== 0),
    target: entryAddress(low, high),
  };
}

function describeWalk(
  va: number,
  outcome: WalkOutcome,
  steps: readonly PageWalkStep[],
  physicalAddress: number | undefined,
  pageSize: number | undefined,
  rights: number,
): PageWalk {
  return {
    virtualAddress: va,
    outcome,
    steps,
    physicalAddress,
    pageSize,
    writable: (rights & RIGHT_WRITABLE) !== 0,
    user: (rights & RIGHT_USER) !== 0,
    noExecute: (rights & RIGHT_NO_EXECUTE) !== 0,
  };
}
