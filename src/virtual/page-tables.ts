/**
 * One 4-level page-table tree in simulated RAM, in the real x86-64 format.
 *
 * ```
 *   CR3 ─► PML4 (level 4)      PDPT (level 3)     PD (level 2)        PT (level 1)
 *          ┌──────────┐ ┌────► ┌──────────┐ ┌───► ┌──────────┐ ┌───► ┌──────────┐
 *   va[47:39]│ entry ───┼─┘ va[38:30] ───┼─┘      │ entry ───┼─┘     │ PTE ─────┼──► 4 KiB frame
 *          │  ...     │      │ PS=1 ────┼► 1 GiB │ PS=1 ────┼► 2 MiB│          │   + va[11:0]
 *          └──────────┘      └──────────┘        └──────────┘       └──────────┘
 *   each table: one 4 KiB frame of 512 eight-byte entries, read as two 32-bit halves
 * ```
 *
 * Tables come from the physical allocator (use PAGE_TABLE, zeroed) and go back to it as soon as
 * a cleared entry leaves them empty (a table reclaim empties waits for the munmap of its range,
 * see {@link PageTables.freeEmptyTablesIn}). The top half of every user PML4 (entries
 * 256..511) points at the kernel's shared tables, which are never freed from here. This class
 * only edits entries: TLB invalidation is the caller's job, because only the caller knows
 * whether the tree is live.
 */
import { ENTRIES_PER_TABLE, PAGE_SIZE, PTE_SIZE } from '../hw/constants.js';
import {
  entryAddress,
  entryHigh,
  entryLow,
  levelSpan,
  type PageLevel,
  PTE_P,
  PTE_PS,
  PTE_RW,
  PTE_US,
  tableIndex,
} from '../hw/paging.js';
import type { PhysicalMemory } from '../hw/ram.js';
import { type FrameSource, FrameUse, ZONE_NORMAL } from '../physical/index.js';

/** The first PML4 entry of the kernel half (address 0xffff800000000000). */
export const KERNEL_PML4_FIRST = ENTRIES_PER_TABLE / 2;
const TABLE_MASK = PAGE_SIZE - 1;
/** log2 of the bytes of a 32-bit word: an entry's byte offset in its table, shifted, is its word. */
const WORD_SHIFT = 2;
/** The addresses one page table (level 1) maps: 512 pages, 2 MiB. */
const PAGE_TABLE_SPAN = levelSpan(2);
/** 32-bit words in an entry. */
const PTE_WORDS = PTE_SIZE >> WORD_SHIFT;

/** The count of a frame that is not a counted table: never freed by emptying (PML4s, pinned). */
const NOT_COUNTED = -1;
/** Groups of entries a table's occupancy word covers, one bit each. */
const OCCUPANCY_GROUPS = 32;
/** log2 of the words of one group: 16 entries, 128 bytes (two cache lines), 64 KiB of addresses. */
const GROUP_WORD_SHIFT = Math.log2((ENTRIES_PER_TABLE / OCCUPANCY_GROUPS) * PTE_WORDS);
const GROUP_WORDS = 1 << GROUP_WORD_SHIFT;

/**
 * What the machine keeps on each page-table page, by frame number. One set serves every tree of
 * a machine, as a frame is a table of one tree at a time; typed arrays spare each PTE write the
 * hash lookups of a map keyed by table.
 *
 * ```
 *  entries[frame]     non-zero entries of the table (NOT_COUNTED: not a counted table), what
 *                     Linux keeps in the table's own struct page: the table goes when it empties
 *  occupancy[frame]   bit g set: entries 16g..16g+15 may hold a non-zero one (bit g clear: they
 *                     are all zero). Set as an entry becomes non-zero; cleared by a scan that
 *                     finds the group empty. A sparse range is walked without reading its zeros.
 *                     bit 31 ... bit 1 bit 0
 *                     [496-511] ... [16-31] [0-15]
 * ```
 */
export interface TableCounts {
  readonly entries: Int32Array;
  readonly occupancy: Int32Array;
}

/** The bookkeeping of the page-table pages of `ram` (see {@link TableCounts}). */
export function tableCounts(ram: PhysicalMemory): TableCounts {
  const frames = Math.ceil(ram.top / PAGE_SIZE);
  return {
    entries: new Int32Array(frames).fill(NOT_COUNTED),
    occupancy: new Int32Array(frames),
  };
}

/** Where {@link PageTables.clear} leaves the tables it empties (an MMU gather). */
export interface TableGather {
  removeTable(table: number): void;
}

export class PageTables {
  /** Physical address of the PML4: what CR3 holds while this tree is live. */
  readonly root: number;
  /** Table frames this tree owns (its PML4 and user-half tables): VmPTE. */
  tablePages = 1;
  /**
   * Counted tables of this tree that hold no entry: a fresh table until its first entry, or
   * one whose last entry reclaim dropped ({@link freeEmptyTablesIn} frees those).
   */
  private emptyTables = 0;
  /**
   * Non-zero entries of each table this tree owns below the PML4, by frame number (see
   * {@link TableCounts}): a table is freed when it empties.
   */
  private readonly counts: Int32Array;
  /** Which groups of entries of each table may be non-zero, by frame (see {@link TableCounts}). */
  private readonly occupancy: Int32Array;
  private constructor(
    readonly ram: PhysicalMemory,
    readonly frames: FrameSource,
    root: number,
    /** The bookkeeping of every table page (shared with the machine's other trees). */
    book: TableCounts,
  ) {
    this.root = root;
    this.counts = book.entries;
    this.occupancy = book.occupancy;
  }

  /**
   * A tree with an empty PML4, or undefined when no frame is left. Trees over the same frames
   * share one `counts` array.
   */
  static create(
    ram: PhysicalMemory,
    frames: FrameSource,
    counts: TableCounts = tableCounts(ram),
  ): PageTables | undefined {
    const root = frames.tryAllocPages(0, FrameUse.PAGE_TABLE, ZONE_NORMAL, true);
    return root < 0 ? undefined : new PageTables(ram, frames, root, counts);
  }

  /** Copies the kernel half of `kernel`'s PML4 into this one (shared kernel tables). */
  shareKernelHalf(kernel: PageTables): void {
    for (let i = KERNEL_PML4_FIRST; i < ENTRIES_PER_TABLE; i++) {
      const from = kernel.root + i * PTE_SIZE;
      const to = this.root + i * PTE_SIZE;
      this.ram.store32(to, this.ram.load32(from));
      this.ram.store32(to + 4, this.ram.load32(from + 4));
    }
  }

  /**
   * Physical address of the entry at `level` that maps `va`. With `create`, missing tables on
   * the way are allocated (user tables when `user`); returns -1 when a table is missing (or
   * cannot be allocated) or a large-page leaf sits above `level`. A walk that runs out of
   * memory half-way frees the tables it had added, so a failure leaves the tree as it was.
   */
  entry(va: number, level: PageLevel, create: boolean, user: boolean): number {
    let table = this.root;
    let firstLink = -1;
    let firstLinkLevel: PageLevel = 4;
    for (let l: PageLevel = 4; l > level; l = (l - 1) as PageLevel) {
      const at = table + tableIndex(va, l) * PTE_SIZE;
      const lo = this.ram.load32(at);
      if ((lo & PTE_P) === 0) {
        if (!create) return -1;
        const fresh = this.newTable();
        if (fresh < 0) {
          if (firstLink >= 0) this.unlinkNewTables(firstLink, firstLinkLevel);
          return -1;
        }
        if (firstLink < 0) {
          firstLink = at;
          firstLinkLevel = l;
        }
        this.write(at, entryLow(fresh, PTE_P | PTE_RW | (user ? PTE_US : 0)), entryHigh(fresh));
        table = fresh;
        continue;
      }
      if (l < 4 && (lo & PTE_PS) !== 0) return -1;
      table = entryAddress(lo, this.ram.load32(at + 4));
    }
    return table + tableIndex(va, level) * PTE_SIZE;
  }

  /** The low half of the entry at physical address `at`. */
  low(at: number): number {
    return this.ram.load32(at);
  }

  /** The high half of the entry at physical address `at`. */
  high(at: number): number {
    return this.ram.load32(at + 4);
  }

  /** Writes an entry, keeping the per-table count of non-zero entries. */
  write(at: number, lo: number, hi: number): void {
    const wasZero = (this.ram.load32(at) | this.ram.load32(at + 4)) === 0;
    const isZero = (lo | hi) === 0;
    this.ram.store32(at, lo);
    this.ram.store32(at + 4, hi);
    if (wasZero === isZero) return; // rewriting an entry in place (most writes): no count moves
    const frame = frameOf(at);
    if (!isZero)
      this.occupancy[frame]! |= 1 << ((at & TABLE_MASK) >> (GROUP_WORD_SHIFT + WORD_SHIFT));
    this.countEntries(frame, isZero ? -1 : 1);
  }

  /** Adds `delta` to the entries of the table in `frame`, if counted, noting when it empties. */
  private countEntries(frame: number, delta: number): void {
    const count = this.counts[frame]!;
    if (count === NOT_COUNTED) return;
    this.counts[frame] = count + delta;
    if (count === 0) this.emptyTables--;
    else if (count + delta === 0) this.emptyTables++;
  }

  /**
   * Clears the entry at `level` for `va` and frees every table that this leaves empty, up to
   * (not including) the PML4. With `gather`, the emptied tables are unlinked at once but freed
   * by it, after the TLB flush: another CPU's paging-structure caches may still point at them.
   */
  clear(va: number, level: PageLevel, gather?: TableGather): void {
    const at = this.entry(va, level, false, false);
    if (at < 0) return;
    this.write(at, 0, 0);
    this.freeEmptyTables(va, level, gather);
  }

  /**
   * {@link clear} of the leaf at physical address `at` (which maps `va`), for a caller that
   * already holds it: no walk unless the leaf was its table's last entry.
   */
  clearLeaf(at: number, va: number, gather?: TableGather): void {
    this.write(at, 0, 0);
    if (this.counts[frameOf(at)] === 0) this.freeEmptyTables(va, 1, gather);
  }

  /**
   * Makes sure the page table (level 1) mapping `va` exists and keeps it, and the tables above
   * it, until {@link releasePageTable}: the table counts one extra entry, so emptying it does
   * not free it. mremap holds the tables it moves entries into before it changes anything, so
   * running out of memory for them can only happen while nothing is changed yet. False (with
   * nothing held) when memory for a table is exhausted.
   */
  holdPageTable(va: number): boolean {
    const at = this.entry(va, 1, true, true);
    if (at < 0) return false;
    this.countEntries(frameOf(at), 1);
    return true;
  }

  /** Drops a hold of {@link holdPageTable}, freeing the tables it leaves empty. */
  releasePageTable(va: number): void {
    const at = this.entry(va, 1, false, false);
    this.countEntries(frameOf(at), -1);
    this.freeEmptyTables(va, 1);
  }

  /**
   * Frees the tables over `[start, end)` that hold no entry, through `gather` (Linux's
   * free_pgtables at munmap). Clearing a leaf frees the tables it empties at once, but reclaim
   * never frees a table (nor does Linux's try_to_unmap: a fault may be about to fill it), so a
   * table whose last page reclaim dropped stays until its range is unmapped, or the tree goes.
   */
  freeEmptyTablesIn(start: number, end: number, gather: TableGather): void {
    let va = start;
    while (va < end && this.emptyTables > 0) va = this.freeEmptyTableOn(va, gather);
  }

  /**
   * Frees the first table on `va`'s walk that holds no entry (and the tables above that this
   * empties); returns the end of the span the walk has dealt with.
   */
  private freeEmptyTableOn(va: number, gather: TableGather): number {
    let table = this.root;
    for (let l: PageLevel = 4; l > 1; l = (l - 1) as PageLevel) {
      const at = table + tableIndex(va, l) * PTE_SIZE;
      const lo = this.ram.load32(at);
      const span = levelSpan(l);
      if ((lo & PTE_P) === 0 || (l < 4 && (lo & PTE_PS) !== 0)) return nextSpan(va, span);
      table = entryAddress(lo, this.ram.load32(at + 4));
      if (this.counts[frameOf(table)] === 0) {
        this.freeEmptyTables(va, (l - 1) as PageLevel, gather);
        return nextSpan(va, span);
      }
    }
    return nextSpan(va, PAGE_TABLE_SPAN);
  }

  /**
   * Frees the table of the level-`level` entry of `va` if it is empty, and so on upwards;
   * through `gather` (after the TLB flush) when given.
   */
  private freeEmptyTables(va: number, level: PageLevel, gather?: TableGather): void {
    for (let l: PageLevel = level; l < 4; l = (l + 1) as PageLevel) {
      const child = this.entry(va, l, false, false);
      const table = child - (child & TABLE_MASK);
      if (this.counts[frameOf(table)] !== 0) return;
      this.write(this.entry(va, (l + 1) as PageLevel, false, false), 0, 0);
      if (gather === undefined) {
        this.freeTable(table);
      } else {
        this.forgetTable(table);
        gather.removeTable(table);
      }
    }
  }

  /**
   * Calls `visit(entryAddress, va)` for every non-zero level-1 entry of `[start, end)`, skipping
   * whole missing tables (and large-page leaves). `visit` may clear the entry it is given.
   */
  forEachLeaf(start: number, end: number, visit: (at: number, va: number) => void): void {
    let va = start;
    while (va < end) {
      const table = this.pageTableOn(va);
      if (table < 0) {
        va = nextSpan(va, -table);
        continue;
      }
      // The rest of this page table in one pass, instead of a walk from the root per page. A
      // visit that empties the table frees it: the pass ends and the walk starts afresh.
      const first = table + tableIndex(va, 1) * PTE_SIZE;
      const tableEnd = Math.min(end, nextSpan(va, PAGE_TABLE_SPAN));
      // The table's words straight from RAM's backing array: a sparse range (a big mapping
      // with a few pages touched) is scanned at array speed, in small integers (a user `va` is
      // a double). A visit may change RAM's backing, so the view is taken again after each;
      // none means the page is all zeros.
      const firstWord = (first & TABLE_MASK) >> WORD_SHIFT;
      const endWord = firstWord + Math.ceil((tableEnd - va) / PAGE_SIZE) * PTE_WORDS;
      const tableVa = va - (firstWord / PTE_WORDS) * PAGE_SIZE;
      for (let word = firstWord; ; word += PTE_WORDS) {
        const words = this.ram.pageWordsAt(table);
        word = words === undefined ? endWord : this.nextLeafWord(words, table, word, endWord);
        if (word === endWord) {
          va = tableEnd;
          break;
        }
        va = tableVa + (word / PTE_WORDS) * PAGE_SIZE;
        visit(table + (word << WORD_SHIFT), va);
        va += PAGE_SIZE;
        if (this.counts[frameOf(table)] === NOT_COUNTED) break;
      }
    }
  }

  /**
   * The first word at or after `from` (an entry's low word) of a non-zero entry of `table`,
   * whose words are `words`, or `to`. Groups its occupancy marks empty are skipped unread; a
   * marked group the scan leaves without a find is checked whole (its two cache lines are at
   * hand) and unmarked when it is empty.
   */
  private nextLeafWord(words: Int32Array, table: number, from: number, to: number): number {
    const frame = frameOf(table);
    for (let word = from; word < to; ) {
      const group = word >> GROUP_WORD_SHIFT;
      const groupStart = group << GROUP_WORD_SHIFT;
      const groupEnd = groupStart + GROUP_WORDS;
      if ((this.occupancy[frame]! & (1 << group)) !== 0) {
        const scanEnd = Math.min(to, groupEnd);
        const found = nextNonZeroEntry(words, word, scanEnd);
        if (found < scanEnd) return found;
        const empty =
          nextNonZeroEntry(words, groupStart, word) === word &&
          nextNonZeroEntry(words, scanEnd, groupEnd) === groupEnd;
        if (empty) this.occupancy[frame]! &= ~(1 << group);
      }
      word = groupEnd;
    }
    return to;
  }

  /**
   * Keeps the table holding the level-`level` entry of `va` for good: it is never freed when it
   * empties (the kernel's shared PDPTs, which every user PML4 points at).
   */
  pin(va: number, level: PageLevel): void {
    const at = this.entry(va, level, false, false);
    if (at < 0) return;
    if (this.counts[frameOf(at)] === 0) this.emptyTables--;
    this.counts[frameOf(at)] = NOT_COUNTED;
  }

  /** Frees every table of the user half and the PML4 itself. Leaves must already be gone. */
  destroy(): void {
    for (let i = 0; i < KERNEL_PML4_FIRST; i++) this.freeSubtree(this.root + i * PTE_SIZE, 3);
    this.frames.freePages(this.root, 0);
    this.tablePages = 0;
    this.emptyTables = 0;
  }

  /**
   * The page table (level 1) on `va`'s walk, or minus the span of the first entry on the way
   * that leads to none (not present, or a large-page leaf): one walk tells both.
   */
  private pageTableOn(va: number): number {
    let table = this.root;
    for (let l: PageLevel = 4; l > 1; l = (l - 1) as PageLevel) {
      const at = table + tableIndex(va, l) * PTE_SIZE;
      const lo = this.ram.load32(at);
      if ((lo & PTE_P) === 0 || (l < 4 && (lo & PTE_PS) !== 0)) return -levelSpan(l);
      table = entryAddress(lo, this.ram.load32(at + 4));
    }
    return table;
  }

  /**
   * For the checker: true when every non-zero entry of the user half's page tables lies in a
   * group its table's occupancy word marks (a walk skips the unmarked groups unread).
   */
  occupancyHolds(): boolean {
    for (let i = 0; i < KERNEL_PML4_FIRST; i++) {
      if (!this.occupancyHoldsBelow(this.root + i * PTE_SIZE, 3)) return false;
    }
    return true;
  }

  /** {@link occupancyHolds} for the table of `level` the entry at `at` points to, and below. */
  private occupancyHoldsBelow(at: number, level: number): boolean {
    const lo = this.ram.load32(at);
    if ((lo & PTE_P) === 0 || (lo & PTE_PS) !== 0) return true;
    const table = entryAddress(lo, this.ram.load32(at + 4));
    if (level > 1) {
      for (let i = 0; i < ENTRIES_PER_TABLE; i++) {
        if (!this.occupancyHoldsBelow(table + i * PTE_SIZE, level - 1)) return false;
      }
      return true;
    }
    const words = this.ram.pageWordsAt(table);
    const marked = this.occupancy[frameOf(table)]!;
    for (
      let word = 0;
      words !== undefined && word < ENTRIES_PER_TABLE * PTE_WORDS;
      word += PTE_WORDS
    ) {
      const unmarked = (marked & (1 << (word >> GROUP_WORD_SHIFT))) === 0;
      if (unmarked && (words[word]! | words[word + 1]!) !== 0) return false;
    }
    return true;
  }

  /**
   * Undoes the tables a failed walk added: the entry at `at` (in a table of `level`) and the
   * chain of fresh, otherwise empty tables below it.
   */
  private unlinkNewTables(at: number, level: PageLevel): void {
    this.freeSubtree(at, level - 1);
    this.countEntries(frameOf(at), -1);
  }

  /** Frees the table an entry at `level` points to, and every table below it. */
  private freeSubtree(at: number, level: number): void {
    const lo = this.ram.load32(at);
    const hi = this.ram.load32(at + 4);
    if ((lo & PTE_P) === 0) return;
    this.ram.store32(at, 0);
    this.ram.store32(at + 4, 0);
    if ((lo & PTE_PS) !== 0) return; // a large-page leaf: its frame is not a table
    const table = entryAddress(lo, hi);
    if (level > 1) {
      for (let i = 0; i < ENTRIES_PER_TABLE; i++) this.freeSubtree(table + i * PTE_SIZE, level - 1);
    }
    this.freeTable(table);
  }

  private newTable(): number {
    const pa = this.frames.tryAllocPages(0, FrameUse.PAGE_TABLE, ZONE_NORMAL, true);
    if (pa < 0) return -1;
    this.counts[frameOf(pa)] = 0;
    this.occupancy[frameOf(pa)] = 0;
    this.emptyTables++;
    this.tablePages++;
    return pa;
  }

  private freeTable(pa: number): void {
    this.forgetTable(pa);
    this.frames.freePages(pa, 0);
  }

  /** Drops `pa` from this tree's tables, leaving its frame to the caller. */
  private forgetTable(pa: number): void {
    if (this.counts[frameOf(pa)] === 0) this.emptyTables--;
    this.counts[frameOf(pa)] = NOT_COUNTED;
    this.tablePages--;
  }
}

/** The number of the frame holding physical address `pa`. */
function frameOf(pa: number): number {
  return Math.floor(pa / PAGE_SIZE);
}

/** The start of the `span`-aligned block after the one holding `va`. */
function nextSpan(va: number, span: number): number {
  return (Math.floor(va / span) + 1) * span;
}

/** The first word at or after `from` (an entry's low word) of a non-zero entry in `words`, or `to`. */
function nextNonZeroEntry(words: Int32Array, from: number, to: number): number {
  let word = from;
  while (word < to && (words[word]! | words[word + 1]!) === 0) word += PTE_WORDS;
  return word;
}
