/**
 * The translation lookaside buffer: a direct-mapped cache of 4 KiB translations.
 *
 * Each slot holds one 4 KiB piece of a page (large pages are cached piece by piece) in
 * parallel typed arrays, indexed by bits 12.. of the virtual address:
 *
 * ```
 *  va ──► slot = (va >>> 12) & (TLB_ENTRIES - 1)
 *
 *  slot │ tags (Float64)     │ frames (Float64) │ rights (Uint8)      │ levels │ wordTags
 *  ─────┼────────────────────┼──────────────────┼─────────────────────┼────────┼───────────
 *    0  │ NaN (empty)        │                  │                     │        │ NaN
 *    1  │ 0x0000000000401000 │ 0x000203000      │ WRITABLE|USER|DIRTY │ 1: 4K  │ = tag
 *    2  │ 0xffffffff80002000 │ 0x000102000      │ GLOBAL|DIRTY        │ 2: 2M  │ NaN
 *   ... │                    │                  │                     │        │
 * ```
 *
 * A tag is the sign-extended virtual address of the 4 KiB piece. Rights are the permissions
 * combined down the walk when the entry was filled, plus the leaf's dirty state, so a first
 * write through a clean entry makes the MMU walk again to set D. Nothing here reads the page
 * tables: a changed entry stays invisible until software invalidates the slot, exactly like
 * hardware.
 *
 * `wordTags` and `words` are a host-side shortcut, not hardware: RAM's words backing the
 * piece (slot 1 above; slot 2's chunk was never written), so a hit reads them without RAM's
 * chunk lookup. RAM takes a chunk's host memory back when the whole chunk is zeroed, so the
 * TLB registers as RAM's {@link BackingObserver} and drops the arrays attached for the chunk
 * when that happens (a chunk given host memory had none to attach before).
 *
 * Beside the TLB sit two of the paging-structure caches of Intel SDM vol. 3, 4.10.3. The PDE
 * cache keeps, for a 2 MiB region (bits 47:21 of the address), the page table its PDE points to
 * and the rights of the three upper levels, so a TLB miss reads only the PTE:
 *
 * ```
 *  va ──► pde slot = (va >>> 21) & (PDE_CACHE_ENTRIES - 1)
 *
 *  slot │ pdeTags (Float64)  │ pdeTables   │ pdeRights (PML4E & PDPTE & PDE)
 *  ─────┼────────────────────┼─────────────┼────────────────────────────────
 *    2  │ 0x0000000000400000 │ 0x000207000 │ WRITABLE|USER
 *    7  │ NaN (empty)        │             │
 * ```
 *
 * The PDPTE cache keeps the same for a 1 GiB region (bits 47:30): the page directory its PDPTE
 * points to and the rights of PML4E and PDPTE, so a miss the PDE cache cannot serve reads the
 * PDE and the PTE instead of all four levels (every `invlpg` of a munmap empties the PDE cache,
 * and 32 entries reach 64 MiB):
 *
 * ```
 *  TLB miss ──► PDE cached? ──yes──► PTE
 *                 │ no
 *               PDPTE cached? ──yes──► PDE, PTE
 *                 │ no
 *               CR3: PML4E, PDPTE, PDE, PTE
 * ```
 *
 * As on hardware, an entry is made only from present entries without reserved bits, after the
 * walk has set their A bits, and only for an entry that references a table (not a large-page
 * leaf); `invlpg`, a CR3 load and a full flush drop all of them, a page fault those of its
 * address. Each cache is two typed arrays and a bit mask on purpose: the miss path reads them
 * with constant shifts, which a cache object parameterised by level measured dearer.
 */
import {
  HUGE_PAGE_SHIFT,
  HUGE_PAGE_SIZE,
  LARGE_PAGE_SHIFT,
  LARGE_PAGE_SIZE,
  PAGE_MASK,
  PAGE_SHIFT,
} from './constants.js';
import { levelSpan, type PageLevel } from './paging.js';
import type { BackingObserver, PhysicalMemory } from './ram.js';

/**
 * Number of slots; a power of two. 2048 entries (8 MiB of reach) as the second-level TLB of
 * recent x86 cores (Intel Sunny Cove, AMD Zen 2 and 3).
 */
export const TLB_ENTRIES = 2048;
const SLOT_MASK = TLB_ENTRIES - 1;
/**
 * Entries of the PDE cache; a power of two. Intel publishes no size (the SDM lets a CPU have
 * none); 32 entries cover 64 MiB of address space.
 */
export const PDE_CACHE_ENTRIES = 32;
const PDE_SLOT_MASK = PDE_CACHE_ENTRIES - 1;
const REGION_MASK = LARGE_PAGE_SIZE - 1;
/**
 * Entries of the PDPTE cache; a power of two, from bits 30..31 of the address. Intel publishes
 * no size either; 4 entries reach 4 GiB.
 */
export const PDPTE_CACHE_ENTRIES = 4;
const PDPTE_SLOT_MASK = PDPTE_CACHE_ENTRIES - 1;
const HUGE_REGION_MASK = HUGE_PAGE_SIZE - 1;
/** The tag of an empty slot: NaN equals nothing, so no address ever hits it. */
const EMPTY = Number.NaN;

/** Rights bit: writes allowed (RW set at every level). */
export const RIGHT_WRITABLE = 1;
/** Rights bit: a user page (US set at every level). */
export const RIGHT_USER = 2;
/** Rights bit: execute-disabled (NX set at some level, with EFER.NXE). */
export const RIGHT_NO_EXECUTE = 4;
/** Rights bit: the leaf's D bit was set when cached. */
export const RIGHT_DIRTY = 8;
/** Rights bit: the leaf is global (survives {@link Tlb.flushNonGlobal}). */
export const RIGHT_GLOBAL = 16;
/** The rights a user-mode write needs to go without a walk. */
const USER_WRITE_RIGHTS = RIGHT_USER | RIGHT_WRITABLE | RIGHT_DIRTY;

/** One cached translation, for display. */
export interface TlbEntry {
  /** The sign-extended virtual address of the cached 4 KiB piece. */
  readonly virtualPage: number;
  /** The physical address it maps to. */
  readonly physicalFrame: number;
  /** Size of the page the piece belongs to: 4 KiB, 2 MiB or 1 GiB. */
  readonly pageSize: number;
  readonly writable: boolean;
  readonly user: boolean;
  readonly noExecute: boolean;
  readonly dirty: boolean;
  readonly global: boolean;
}

/** A slot's words when it has none attached (its word tags are then empty, so none is read). */
const NO_WORDS = new Int32Array(0);

/**
 * A direct-mapped TLB. The MMU and {@link UserModeMemory} read the typed arrays directly on
 * their hot paths; the arrays are never replaced (only refilled), so they may keep them.
 */
export class Tlb implements BackingObserver {
  /** Virtual address of the piece in each slot, NaN when empty. */
  readonly tags = new Float64Array(TLB_ENTRIES).fill(EMPTY);
  /** Physical address of the piece in each slot. */
  readonly frames = new Float64Array(TLB_ENTRIES);
  /** `RIGHT_*` bits of each slot. */
  readonly rights = new Uint8Array(TLB_ENTRIES);
  /** The paging level of the leaf each slot came from (1 = 4 KiB, 2 = 2 MiB, 3 = 1 GiB). */
  readonly levels = new Uint8Array(TLB_ENTRIES);
  /**
   * The tag again, for slots that also hold RAM's backing words for their piece: a hit here
   * lets the MMU's 32-bit accesses skip RAM's chunk lookup. The MMU attaches words from
   * {@link PhysicalMemory.pageWordsAt}; those of a chunk RAM takes back are dropped then.
   */
  readonly wordTags = new Float64Array(TLB_ENTRIES).fill(EMPTY);
  /**
   * RAM's backing words of each slot with a `wordTags` entry: the piece's 1024 words, so the
   * word at page offset `o` is `words[slot][o >> 2]`; {@link NO_WORDS} where none is attached.
   * Never null, and filled with `Array.from`: a packed array of one element type spares each
   * user access its hole and null checks.
   */
  readonly words: Int32Array[] = Array.from({ length: TLB_ENTRIES }, () => NO_WORDS);
  /**
   * The `wordTags` entry again where the cached rights let user mode read (US), else NaN: the
   * rights check of a user load folded into its tag compare, see {@link UserModeMemory}.
   */
  readonly userReadTags = new Float64Array(TLB_ENTRIES).fill(EMPTY);
  /** Likewise where user mode may write without a walk (US, RW and D cached). */
  readonly userWriteTags = new Float64Array(TLB_ENTRIES).fill(EMPTY);
  /**
   * Lookups answered from the cache by the MMU's own paths. A process's loads and stores served
   * by {@link UserModeMemory} are not counted: a counter update per access is too dear there.
   */
  hits = 0;
  /** Lookups that needed a page walk. */
  misses = 0;
  /**
   * Slots holding a piece of a large page, in the user half [0] and the kernel half [1]:
   * `invalidate` scans the slots only when the half of its address has some. The kernel's
   * direct map fills the TLB with large-page pieces, and they must not make every user `invlpg`
   * (each page fault, each munmap'ed page) a scan of all slots.
   */
  private readonly largePieces = new Int32Array(2);
  /**
   * Which PDE-cache slots hold an entry, one bit each: dropping the whole cache (every invlpg,
   * so every page fault) clears one word instead of refilling the tags.
   */
  private pdeValid = 0;
  /** The 2 MiB region each valid PDE-cache entry translates (its base address). */
  readonly pdeTags = new Float64Array(PDE_CACHE_ENTRIES).fill(EMPTY);
  /** Physical address of the page table the cached PDE references. */
  readonly pdeTables = new Float64Array(PDE_CACHE_ENTRIES);
  /** `RIGHT_WRITABLE | RIGHT_USER | RIGHT_NO_EXECUTE` combined over PML4E, PDPTE and PDE. */
  readonly pdeRights = new Uint8Array(PDE_CACHE_ENTRIES);
  /** Which PDPTE-cache slots hold an entry, one bit each (as `pdeValid`). */
  private pdpteValid = 0;
  /** The 1 GiB region each valid PDPTE-cache entry translates (its base address). */
  readonly pdpteTags = new Float64Array(PDPTE_CACHE_ENTRIES).fill(EMPTY);
  /** Physical address of the page directory the cached PDPTE references. */
  readonly pdpteDirectories = new Float64Array(PDPTE_CACHE_ENTRIES);
  /** `RIGHT_WRITABLE | RIGHT_USER | RIGHT_NO_EXECUTE` combined over PML4E and PDPTE. */
  readonly pdpteRights = new Uint8Array(PDPTE_CACHE_ENTRIES);

  /** The slot that caches `va`. */
  static slotOf(va: number): number {
    return (va >>> PAGE_SHIFT) & SLOT_MASK;
  }

  /** The PDE-cache slot for `va`. */
  static pdeSlotOf(va: number): number {
    return (va >>> LARGE_PAGE_SHIFT) & PDE_SLOT_MASK;
  }

  /** The page table that the cached PDE for `va` references, or -1 when none is cached. */
  cachedPageTable(va: number): number {
    const slot = Tlb.pdeSlotOf(va);
    if ((this.pdeValid & (1 << slot)) === 0) return -1;
    return this.pdeTags[slot] === va - (va & REGION_MASK) ? this.pdeTables[slot]! : -1;
  }

  /** Caches the PDE for `va`: it references page table `table`; `rights` of the upper levels. */
  insertPde(va: number, table: number, rights: number): void {
    const slot = Tlb.pdeSlotOf(va);
    this.pdeValid |= 1 << slot;
    this.pdeTags[slot] = va - (va & REGION_MASK);
    this.pdeTables[slot] = table;
    this.pdeRights[slot] = rights;
  }

  /** The PDPTE-cache slot for `va` (bits 30..31: `>>>` reads them exactly from any address). */
  static pdpteSlotOf(va: number): number {
    return (va >>> HUGE_PAGE_SHIFT) & PDPTE_SLOT_MASK;
  }

  /** The page directory that the cached PDPTE for `va` references, or -1 when none is cached. */
  cachedDirectory(va: number): number {
    const slot = Tlb.pdpteSlotOf(va);
    if ((this.pdpteValid & (1 << slot)) === 0) return -1;
    return this.pdpteTags[slot] === va - (va & HUGE_REGION_MASK)
      ? this.pdpteDirectories[slot]!
      : -1;
  }

  /** Caches the PDPTE for `va`: it references page directory `directory`; `rights` down to it. */
  insertPdpte(va: number, directory: number, rights: number): void {
    const slot = Tlb.pdpteSlotOf(va);
    this.pdpteValid |= 1 << slot;
    this.pdpteTags[slot] = va - (va & HUGE_REGION_MASK);
    this.pdpteDirectories[slot] = directory;
    this.pdpteRights[slot] = rights;
  }

  /** Caches the 4 KiB piece holding `va` at physical `frame` (page-aligned). */
  insert(va: number, frame: number, rights: number, level: PageLevel): void {
    const slot = Tlb.slotOf(va);
    this.clearSlot(slot);
    this.tags[slot] = va - (va & PAGE_MASK);
    this.frames[slot] = frame;
    this.rights[slot] = rights;
    this.levels[slot] = level;
    if (level > 1) this.largePieces[halfOf(va)]!++;
  }

  /** Attaches RAM's backing `words` of its piece (1024 of them) to the slot of `va`. */
  attachWords(va: number, words: Int32Array): void {
    const slot = Tlb.slotOf(va);
    const tag = this.tags[slot]!;
    const rights = this.rights[slot]!;
    this.wordTags[slot] = tag;
    this.words[slot] = words;
    this.userReadTags[slot] = (rights & RIGHT_USER) !== 0 ? tag : EMPTY;
    this.userWriteTags[slot] = (rights & USER_WRITE_RIGHTS) === USER_WRITE_RIGHTS ? tag : EMPTY;
  }

  /** RAM took back the host memory of `[base, base + length)`: its attached words are stale. */
  backingReleased(base: number, length: number): void {
    for (let slot = 0; slot < TLB_ENTRIES; slot++) {
      const frame = this.frames[slot]!;
      if (this.words[slot] !== NO_WORDS && frame >= base && frame < base + length) {
        this.detachWords(slot);
      }
    }
  }

  /** Drops the words attached to `slot`: its hits take the MMU's path again. */
  private detachWords(slot: number): void {
    this.wordTags[slot] = EMPTY;
    this.userReadTags[slot] = EMPTY;
    this.userWriteTags[slot] = EMPTY;
    this.words[slot] = NO_WORDS;
  }

  /**
   * `invlpg`: drops the translation of `va`, every piece of the large page holding it, and (as
   * the SDM prescribes, since any upper entry may have changed) both paging-structure caches.
   */
  invalidate(va: number): void {
    this.dropPagingStructures();
    this.dropPage(va);
  }

  /**
   * What a page fault at `va` drops (SDM 4.10.4.1): the entries that would be used to translate
   * `va` — its page, the large page holding it, the PDE- and PDPTE-cache entries of its
   * regions — and no others, so the retried access and the next fault nearby walk from the
   * cached entries of other regions.
   */
  invalidateForFault(va: number): void {
    this.pdeValid &= ~(1 << Tlb.pdeSlotOf(va));
    this.pdpteValid &= ~(1 << Tlb.pdpteSlotOf(va));
    this.dropPage(va);
  }

  /** Drops the translation of `va` and every piece of the large page holding it. */
  private dropPage(va: number): void {
    const slot = Tlb.slotOf(va);
    if (this.tags[slot] === va - (va & PAGE_MASK)) this.clearSlot(slot);
    if (this.largePieces[halfOf(va)] === 0) return;
    for (let s = 0; s < TLB_ENTRIES; s++) {
      if (this.levels[s]! > 1 && this.coversInLargePage(s, va)) this.clearSlot(s);
    }
  }

  /** Drops every entry and the paging-structure caches (a CR4.PGE toggle or INVPCID all-context). */
  flushAll(): void {
    this.dropPagingStructures();
    for (let s = 0; s < TLB_ENTRIES; s++) this.clearSlot(s);
  }

  /** Drops every non-global entry and the paging-structure caches: what loading CR3 does. */
  flushNonGlobal(): void {
    this.dropPagingStructures();
    for (let s = 0; s < TLB_ENTRIES; s++) {
      if ((this.rights[s]! & RIGHT_GLOBAL) === 0) this.clearSlot(s);
    }
  }

  private dropPagingStructures(): void {
    this.pdeValid = 0;
    this.pdpteValid = 0;
  }

  /** The cached translations, in slot order. */
  entries(): TlbEntry[] {
    const list: TlbEntry[] = [];
    for (let s = 0; s < TLB_ENTRIES; s++) {
      if (Number.isNaN(this.tags[s]!)) continue;
      const rights = this.rights[s]!;
      list.push({
        virtualPage: this.tags[s]!,
        physicalFrame: this.frames[s]!,
        pageSize: levelSpan(this.levels[s] as PageLevel),
        writable: (rights & RIGHT_WRITABLE) !== 0,
        user: (rights & RIGHT_USER) !== 0,
        noExecute: (rights & RIGHT_NO_EXECUTE) !== 0,
        dirty: (rights & RIGHT_DIRTY) !== 0,
        global: (rights & RIGHT_GLOBAL) !== 0,
      });
    }
    return list;
  }

  /** True when slot `s` holds a piece of a large page that also contains `va`. */
  private coversInLargePage(s: number, va: number): boolean {
    const span = levelSpan(this.levels[s] as PageLevel);
    return Math.floor(this.tags[s]! / span) === Math.floor(va / span);
  }

  private clearSlot(slot: number): void {
    if (Number.isNaN(this.tags[slot]!)) return;
    if (this.levels[slot]! > 1) this.largePieces[halfOf(this.tags[slot]!)]!--;
    this.tags[slot] = EMPTY;
    this.rights[slot] = 0;
    this.levels[slot] = 0;
    this.detachWords(slot);
  }
}

/** Which half of the address space `va` is in: 0 user, 1 kernel (sign-extended, negative). */
function halfOf(va: number): number {
  return va < 0 ? 1 : 0;
}
