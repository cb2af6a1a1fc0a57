/**
 * Virtual memory areas: the ranges of a user address space that may be touched, with what
 * rights and of what kind. Page tables only cache what VMAs allow; a page fault is resolved by
 * asking the VMA at the faulting address.
 *
 * ```
 *  VmaList.items (sorted, never overlapping, page aligned)
 *  [ image r-x ][ image rw- ][ heap rw- ]   ...   [ anon rw- ][ anon r-- ]   ...  [ stack rw- ]
 *  0x400000                                                               guard gap ^
 * ```
 */
import { PROT_EXEC, PROT_READ, PROT_WRITE } from '../linux-abi.js';

export type VmaKind = 'image' | 'heap' | 'stack' | 'anon';

/** vm_flags bit of an mlocked area: its pages are resident and never reclaimed. */
export const VM_LOCKED = 0x2000;
/** With VM_LOCKED: pages are locked as they are faulted in, not populated up front. */
export const VM_LOCKONFAULT = 0x80000;
/** The lock bits of vm_flags that mlock/munlock/mlockall change. */
export const VM_LOCKED_MASK = VM_LOCKED | VM_LOCKONFAULT;

export class Vma {
  constructor(
    /** First byte (page aligned); only the {@link VmaList} holding the area changes its bounds. */
    readonly start: number,
    /** First byte past the area (page aligned). */
    readonly end: number,
    /** PROT_READ | PROT_WRITE | PROT_EXEC bits. */
    public prot: number,
    /** MAP_SHARED: children share the frames instead of copying on write. */
    public shared: boolean,
    public kind: VmaKind,
    /** The path column of /proc/PID/maps (`[heap]`, `[stack]`, the program), or ''. */
    public name: string,
    /** Kernel address of this area's record (a `vm_area_struct` from the slab), or 0. */
    public record = 0,
    /** {@link VM_LOCKED} and {@link VM_LOCKONFAULT}, or 0. */
    public lockFlags = 0,
  ) {}

  /** True when the area is mlocked (VM_LOCKED): reclaim must leave its pages alone. */
  get locked(): boolean {
    return (this.lockFlags & VM_LOCKED) !== 0;
  }

  get length(): number {
    return this.end - this.start;
  }

  contains(va: number): boolean {
    return va >= this.start && va < this.end;
  }

  /** Its rights as `/proc/PID/maps` prints them: `r-xp`, `p` private or `s` shared. */
  get perms(): string {
    return (
      (this.prot & PROT_READ ? 'r' : '-') +
      (this.prot & PROT_WRITE ? 'w' : '-') +
      (this.prot & PROT_EXEC ? 'x' : '-') +
      (this.shared ? 's' : 'p')
    );
  }

  /** A `/proc/PID/maps` line, in Linux's exact format. */
  mapsLine(): string {
    const head = `${hex(this.start)}-${hex(this.end)} ${this.perms} 00000000 00:00 0 `;
    return this.name === '' ? head : `${head.padEnd(73, ' ')}${this.name}`;
  }

  /** True when `next` continues this area with identical attributes (so they can merge). */
  canMergeWith(next: Vma): boolean {
    return (
      this.end === next.start &&
      this.isAlike(next.prot, next.shared, next.kind, next.name, next.lockFlags)
    );
  }

  /**
   * True when an area with these attributes can merge with this one, where they meet: they
   * are identical, and neither is the stack (which grows on its own).
   */
  isAlike(prot: number, shared: boolean, kind: VmaKind, name: string, lockFlags: number): boolean {
    return (
      this.prot === prot &&
      this.shared === shared &&
      this.kind === kind &&
      this.name === name &&
      this.lockFlags === lockFlags &&
      kind !== 'stack'
    );
  }
}

/** Lowercase hex without padding beyond 8 digits, as /proc/PID/maps prints addresses. */
function hex(va: number): string {
  return va.toString(16).padStart(8, '0');
}

/** Areas the bound arrays of a new list have room for (they double as needed). */
const INITIAL_CAPACITY = 64;

/**
 * Gives a listed area new bounds: only {@link VmaList} does, keeping its own copy of them
 * and its total right.
 */
function setBounds(vma: Vma, start: number, end: number): void {
  const bounds = vma as { start: number; end: number };
  bounds.start = start;
  bounds.end = end;
}

/**
 * A sorted list of non-overlapping VMAs, and their total size (Linux's `mm->total_vm`, VmSize),
 * kept as areas come, go and change their extent, so reading it costs no walk. Every change of
 * an area's start or end goes through this list ({@link resizeAt}).
 *
 * The list keeps the areas' bounds a second time, in two typed arrays beside `items`, as the
 * maple tree keeps its pivots in its nodes: the searches (find an address, the top-down gap
 * of mmap) read contiguous numbers instead of one object, and a boxed number in it, per area.
 *
 * ```
 *  items   [ Vma ][ Vma ][ Vma ] ...
 *  starts  [ s0  ][ s1  ][ s2  ] ...    starts[i] === items[i].start
 *  ends    [ e0  ][ e1  ][ e2  ] ...    ends[i]   === items[i].end
 * ```
 *
 * A list of a few hundred areas at most: moving elements by hand costs less than `splice`,
 * which allocates the array of what it removed on every call.
 */
export class VmaList {
  /** The areas, in order; written only here, where their bounds are kept beside them. */
  private readonly areas: Vma[] = [];
  /** The areas, in order: read-only outside, so the bounds arrays cannot go stale. */
  readonly items: readonly Vma[] = this.areas;
  /** Bytes the areas cover: the sum of their lengths (the checker verifies it). */
  totalBytes = 0;
  private starts = new Float64Array(INITIAL_CAPACITY);
  private ends = new Float64Array(INITIAL_CAPACITY);

  /** The area containing `va`, or undefined. */
  find(va: number): Vma | undefined {
    const i = this.indexAfter(va) - 1;
    return i >= 0 && va < this.ends[i]! ? this.items[i] : undefined;
  }

  /** Index of the first area that starts above `va`. */
  indexAfter(va: number): number {
    const starts = this.starts;
    let lo = 0;
    let hi = this.items.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (starts[mid]! <= va) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** The areas overlapping `[start, end)`, in order. */
  overlapping(start: number, end: number): Vma[] {
    const out: Vma[] = [];
    for (let i = Math.max(0, this.indexAfter(start) - 1); i < this.items.length; i++) {
      if (this.starts[i]! >= end) break;
      if (this.ends[i]! > start) out.push(this.items[i]!);
    }
    return out;
  }

  /**
   * How many areas Linux's munmap of `[start, end)` splits (its __split_vma): one for each edge
   * strictly inside an area, but one in all for a hole in the middle of one area. One search
   * finds the area at `start`; the areas up to `end` follow it.
   */
  splitsToUnmap(start: number, end: number): number {
    const { starts, ends } = this;
    const first = this.indexAfter(start) - 1;
    const startInside = first >= 0 && starts[first]! < start && start < ends[first]!;
    if (startInside && end < ends[first]!) return 1;
    let last = first;
    while (last + 1 < this.items.length && starts[last + 1]! < end) last++;
    const endInside = last >= 0 && starts[last]! < end && end < ends[last]!;
    return (startInside ? 1 : 0) + (endInside ? 1 : 0);
  }

  /** True when some area overlaps `[start, end)`. */
  overlaps(start: number, end: number): boolean {
    const i = this.indexAfter(start) - 1;
    if (i >= 0 && this.ends[i]! > start) return true;
    return i + 1 < this.items.length && this.starts[i + 1]! < end;
  }

  insert(vma: Vma): void {
    this.openSlot(this.indexAfter(vma.start), vma);
    this.totalBytes += vma.length;
  }

  /**
   * Gives the area at index `at` the extent `[start, end)`, which must leave the list sorted
   * and free of overlaps (an area growing into a free range, or shrinking).
   */
  resizeAt(at: number, start: number, end: number): void {
    const vma = this.items[at]!;
    this.totalBytes += end - start - vma.length;
    setBounds(vma, start, end);
    this.starts[at] = start;
    this.ends[at] = end;
  }

  /**
   * Splits the area at index `at`, which strictly contains `va`, in two at `va`. Returns the
   * upper piece, which gets `record` and index `at + 1`.
   */
  splitAt(at: number, va: number, record: number): Vma {
    const vma = this.items[at]!;
    const upper = new Vma(
      va,
      vma.end,
      vma.prot,
      vma.shared,
      vma.kind,
      vma.name,
      record,
      vma.lockFlags,
    );
    setBounds(vma, vma.start, va);
    this.ends[at] = va;
    this.openSlot(at + 1, upper);
    return upper;
  }

  /** Removes the areas at indices `[from, to)`. */
  removeRun(from: number, to: number): void {
    for (let i = from; i < to; i++) this.totalBytes -= this.items[i]!.length;
    this.closeSlots(from, to - from);
  }

  /** Removes every area. */
  clear(): void {
    this.areas.length = 0;
    this.totalBytes = 0;
  }

  /** Merges neighbours with identical attributes around `[start, end)`; returns the removed. */
  mergeAround(start: number, end: number): Vma[] {
    const removed: Vma[] = [];
    let i = Math.max(0, this.indexAfter(start) - 2);
    while (i + 1 < this.items.length && this.starts[i]! <= end) {
      const a = this.items[i]!;
      const b = this.items[i + 1]!;
      if (a.canMergeWith(b)) {
        setBounds(a, a.start, b.end);
        this.ends[i] = b.end;
        this.closeSlots(i + 1, 1);
        removed.push(b);
      } else {
        i++;
      }
    }
    return removed;
  }

  /**
   * The highest gap of `length` bytes that fits in `[low, high)` (top-down, like Linux's mmap
   * placement), or -1.
   */
  findGapTopDown(length: number, low: number, high: number): number {
    const { starts, ends } = this;
    // From the gap under the first area at or above `high` (its top clipped to `high`) down.
    let slot = this.indexAfter(high - 1);
    let ceiling = high;
    // A gap whose lower area starts above `low` is whole: one difference each.
    while (slot > 0 && starts[slot - 1]! > low) {
      if (ceiling - ends[slot - 1]! >= length) return ceiling - length;
      slot--;
      ceiling = starts[slot]!;
    }
    // The last gap to try: its floor is `low`, or the end of an area reaching above it.
    const floor = slot === 0 ? low : Math.max(low, ends[slot - 1]!);
    return ceiling - floor >= length ? ceiling - length : -1;
  }

  /** For the checker: true when the bounds the list keeps are its areas' own. */
  boundsAgree(): boolean {
    return this.items.every((vma, i) => this.starts[i] === vma.start && this.ends[i] === vma.end);
  }

  /** Puts `vma` at index `at`, moving the later areas (and their bounds) up. */
  private openSlot(at: number, vma: Vma): void {
    const items = this.areas;
    if (items.length === this.starts.length) this.growBounds();
    const { starts, ends } = this;
    items.push(vma);
    for (let i = items.length - 1; i > at; i--) {
      items[i] = items[i - 1]!;
      starts[i] = starts[i - 1]!;
      ends[i] = ends[i - 1]!;
    }
    items[at] = vma;
    starts[at] = vma.start;
    ends[at] = vma.end;
  }

  /** Drops the `count` areas from index `from`, moving the later ones (and bounds) down. */
  private closeSlots(from: number, count: number): void {
    if (count <= 0) return;
    const { areas: items, starts, ends } = this;
    for (let i = from; i + count < items.length; i++) {
      items[i] = items[i + count]!;
      starts[i] = starts[i + count]!;
      ends[i] = ends[i + count]!;
    }
    for (let i = 0; i < count; i++) items.pop();
  }

  /** Doubles the room of the bound arrays. */
  private growBounds(): void {
    const starts = new Float64Array(2 * this.starts.length);
    const ends = new Float64Array(2 * this.ends.length);
    starts.set(this.starts);
    ends.set(this.ends);
    this.starts = starts;
    this.ends = ends;
  }
}
