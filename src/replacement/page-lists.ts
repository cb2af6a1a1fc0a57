/**
 * Intrusive doubly linked lists of pages in typed arrays: the `struct list_head` of every
 * policy here, with no allocation per operation.
 *
 * Pages are `0 <= page < universe`; list `L` has a sentinel node `universe + L`, and each list
 * is a ring through its sentinel, so insertion and unlinking never branch on emptiness:
 *
 * ```
 *            next →              next →          next →
 *   sentinel(L) ──── head (newest) ──── … ──── tail (oldest) ──┐
 *       ▲                                                      │
 *       └──────────────────────────── next ────────────────────┘
 * ```
 *
 * As in Linux's LRU lists, pages enter at the head and reclaim scans from the tail. A page is
 * on at most one list at a time; `listOf(page)` says which.
 */

/** `listOf` of a page on no list; `head`/`tail` of an empty list. */
export const NONE = -1;

export class PageLists {
  private readonly next: Int32Array;
  private readonly prev: Int32Array;
  private readonly owner: Int8Array;
  private readonly lengths: Int32Array;
  /** Pages on any list. */
  private listed = 0;

  constructor(
    readonly universe: number,
    lists: number,
  ) {
    this.next = new Int32Array(universe + lists);
    this.prev = new Int32Array(universe + lists);
    this.owner = new Int8Array(universe).fill(NONE);
    this.lengths = new Int32Array(lists);
    for (let list = 0; list < lists; list++) {
      const sentinel = universe + list;
      this.next[sentinel] = sentinel;
      this.prev[sentinel] = sentinel;
    }
  }

  /** The list `page` is on, or {@link NONE}. */
  listOf(page: number): number {
    return this.owner[page]!;
  }

  /** True when `page` is in the universe and on a list. */
  holds(page: number): boolean {
    return page >= 0 && page < this.universe && this.owner[page] !== NONE;
  }

  length(list: number): number {
    return this.lengths[list]!;
  }

  /** Pages on all the lists together. */
  get total(): number {
    return this.listed;
  }

  /** The newest page of `list`, or {@link NONE} when it is empty. */
  head(list: number): number {
    const node = this.next[this.universe + list]!;
    return node >= this.universe ? NONE : node;
  }

  /** The oldest page of `list`, or {@link NONE} when it is empty. */
  tail(list: number): number {
    const node = this.prev[this.universe + list]!;
    return node >= this.universe ? NONE : node;
  }

  /** Throws unless `page` is in the universe and on no list: what `add` may be given. */
  checkUnlisted(page: number): void {
    if (!(page >= 0 && page < this.universe) || !Number.isInteger(page)) {
      throw new RangeError(`page ${page} is outside 0..${this.universe - 1}`);
    }
    if (this.owner[page] !== NONE) throw new RangeError(`page ${page} is already tracked`);
  }

  /** Puts `page` (on no list) at the head of `list`. */
  pushHead(list: number, page: number): void {
    this.insertAfter(this.universe + list, page, list);
  }

  /** Puts `page` (on no list) at the tail of `list`. */
  pushTail(list: number, page: number): void {
    this.insertAfter(this.prev[this.universe + list]!, page, list);
  }

  /** Takes `page` off its list. */
  unlink(page: number): void {
    const before = this.prev[page]!;
    const after = this.next[page]!;
    this.next[before] = after;
    this.prev[after] = before;
    this.lengths[this.owner[page]!]!--;
    this.listed--;
    this.owner[page] = NONE;
  }

  /** Calls `visit` for every page of `list`, from the head (newest) to the tail (oldest). */
  forEach(list: number, visit: (page: number) => void): void {
    for (let node = this.next[this.universe + list]!; node < this.universe; node = this.next[node]!)
      visit(node);
  }

  /** Moves `page` (on any list) to the head of `list`. */
  moveToHead(list: number, page: number): void {
    this.unlink(page);
    this.pushHead(list, page);
  }

  private insertAfter(node: number, page: number, list: number): void {
    const after = this.next[node]!;
    this.prev[page] = node;
    this.next[page] = after;
    this.next[node] = page;
    this.prev[after] = page;
    this.owner[page] = list;
    this.lengths[list]!++;
    this.listed++;
  }
}
