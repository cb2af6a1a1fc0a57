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
    public start: number,
    public end: number,
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

// A list of a few hundred areas at most: moving its elements by hand costs less than
// `splice`, which allocates the array of what it removed on every call.

/** Inserts `item` at index `at` of `list`, moving the later ones up. */
function insertAt<T>(list: T[], at: number, item: T): void {
  list.push(item);
  for (let i = list.length - 1; i > at; i--) list[i] = list[i - 1]!;
  list[at] = item;
}

/** Removes the element at index `at` of `list`, moving the later ones down. */
function removeAt<T>(list: T[], at: number): void {
  for (let i = at; i < list.length - 1; i++) list[i] = list[i + 1]!;
  list.pop();
}

/** Lowercase hex without padding beyond 8 digits, as /proc/PID/maps prints addresses. */
function hex(va: number): string {
  return va.toString(16).padStart(8, '0');
}

/**
 * A sorted list of non-overlapping VMAs, and their total size (Linux's `mm->total_vm`, VmSize),
 * kept as areas come, go and change their extent, so reading it costs no walk: every change of
 * an area's start or end goes through this list ({@link resize}).
 */
export class VmaList {
  readonly items: Vma[] = [];
  /** Bytes the areas cover: the sum of their lengths (the checker verifies it). */
  totalBytes = 0;

  /** The area containing `va`, or undefined. */
  find(va: number): Vma | undefined {
    const i = this.indexAfter(va) - 1;
    const vma = this.items[i];
    return vma?.contains(va) ? vma : undefined;
  }

  /** Index of the first area that starts above `va`. */
  indexAfter(va: number): number {
    let lo = 0;
    let hi = this.items.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.items[mid]!.start <= va) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** The areas overlapping `[start, end)`, in order. */
  overlapping(start: number, end: number): Vma[] {
    const out: Vma[] = [];
    for (let i = Math.max(0, this.indexAfter(start) - 1); i < this.items.length; i++) {
      const vma = this.items[i]!;
      if (vma.start >= end) break;
      if (vma.end > start) out.push(vma);
    }
    return out;
  }

  /** True when some area overlaps `[start, end)`. */
  overlaps(start: number, end: number): boolean {
    return this.overlapping(start, end).length > 0;
  }

  insert(vma: Vma): void {
    insertAt(this.items, this.indexAfter(vma.start), vma);
    this.totalBytes += vma.length;
  }

  /** Removes `vma` (found by binary search on its start: areas never overlap). */
  remove(vma: Vma): void {
    const i = this.indexAfter(vma.start) - 1;
    if (this.items[i] !== vma) return;
    removeAt(this.items, i);
    this.totalBytes -= vma.length;
  }

  /**
   * Gives the listed `vma` the extent `[start, end)`, which must leave the list sorted and
   * free of overlaps (an area growing into a free range, or shrinking).
   */
  resize(vma: Vma, start: number, end: number): void {
    this.totalBytes += end - start - vma.length;
    vma.start = start;
    vma.end = end;
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
    vma.end = va;
    insertAt(this.items, at + 1, upper);
    return upper;
  }

  /** Removes the areas at indices `[from, to)`. */
  removeRun(from: number, to: number): void {
    const items = this.items;
    const count = to - from;
    if (count <= 0) return;
    for (let i = from; i < to; i++) this.totalBytes -= items[i]!.length;
    for (let i = from; i + count < items.length; i++) items[i] = items[i + count]!;
    for (let i = 0; i < count; i++) items.pop();
  }

  /** Removes every area. */
  clear(): void {
    this.items.length = 0;
    this.totalBytes = 0;
  }

  /** Merges neighbours with identical attributes around `[start, end)`; returns the removed. */
  mergeAround(start: number, end: number): Vma[] {
    const removed: Vma[] = [];
    let i = Math.max(0, this.indexAfter(start) - 2);
    while (i + 1 < this.items.length && this.items[i]!.start <= end) {
      const a = this.items[i]!;
      const b = this.items[i + 1]!;
      if (a.canMergeWith(b)) {
        a.end = b.end;
        removeAt(this.items, i + 1);
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
    let ceiling = high;
    for (let i = this.indexAfter(high - 1) - 1; ; i--) {
      const vma = this.items[i];
      const floor = vma === undefined ? low : Math.max(low, vma.end);
      if (ceiling - floor >= length) return ceiling - length;
      if (vma === undefined || vma.start <= low) return -1;
      ceiling = Math.min(ceiling, vma.start);
    }
  }
}
