/**
 * OPT (Belady's MIN, 1966): on a miss, evict the resident page whose next reference is
 * farthest in the future (or that is never referenced again). No policy has fewer misses.
 *
 * ```
 *   trace   a  b  c  a  d  b  …        one backward pass: nextUse[i] = the index of the next
 *   i       0  1  2  3  4  5           reference to pages[i], or NEVER (= the trace's length)
 *   nextUse 3  5  …  …  …  …
 *
 *   resident pages in a max-heap keyed by next use:    root = the victim
 * ```
 *
 * A reference at time `t` to a resident page finds it keyed `t` (that was its next use) and
 * re-keys it to `nextUse[t]`, a larger key, so it sifts up; a miss pops the root. O(log frames)
 * per reference. OPT sees the future, so it replays only the trace it was built for, in order.
 */
import type { PageTrace } from './page-trace.js';
import type { ReplacementPolicy } from './policy.js';

const NOT_RESIDENT = -1;

/** For each reference, the index of the next reference to the same page (or the length). */
export function nextUses(trace: PageTrace): Int32Array {
  const { pages, distinct } = trace;
  const never = pages.length;
  const next = new Int32Array(pages.length);
  const upcoming = new Int32Array(distinct).fill(never);
  for (let t = pages.length - 1; t >= 0; t--) {
    const page = pages[t]!;
    next[t] = upcoming[page]!;
    upcoming[page] = t;
  }
  return next;
}

export class OptPolicy implements ReplacementPolicy {
  readonly name = 'opt';
  private readonly pages: Int32Array;
  private readonly nextUse: Int32Array;
  /** The heap: resident pages and their next-use keys, the largest key at index 0. */
  private readonly heapPages: Int32Array;
  private readonly heapKeys: Int32Array;
  /** Each page's index in the heap, or NOT_RESIDENT. */
  private readonly slot: Int32Array;
  private resident = 0;
  private time = 0;

  /** `capacity` frames replaying `trace`; `nextUse` may be shared between sizes. */
  constructor(
    readonly capacity: number,
    trace: PageTrace,
    nextUse: Int32Array = nextUses(trace),
  ) {
    this.pages = trace.pages;
    this.nextUse = nextUse;
    // More frames than pages never fill: the heap needs no more room than the trace's pages.
    const heapSize = Math.min(capacity, trace.distinct);
    this.heapPages = new Int32Array(heapSize);
    this.heapKeys = new Int32Array(heapSize);
    this.slot = new Int32Array(trace.distinct).fill(NOT_RESIDENT);
  }

  reference(page: number): boolean {
    const t = this.time++;
    if (this.pages[t] !== page) {
      throw new RangeError(`opt replays its trace in order: reference ${t} is not page ${page}`);
    }
    const key = this.nextUse[t]!;
    const at = this.slot[page]!;
    if (at !== NOT_RESIDENT) {
      this.heapKeys[at] = key;
      this.siftUp(at);
      return true;
    }
    if (this.resident === this.capacity) this.replaceRoot(page, key);
    else this.push(page, key);
    return false;
  }

  private push(page: number, key: number): void {
    const at = this.resident++;
    this.place(at, page, key);
    this.siftUp(at);
  }

  /** Evicts the page used farthest in the future and puts `page` in its place. */
  private replaceRoot(page: number, key: number): void {
    this.slot[this.heapPages[0]!] = NOT_RESIDENT;
    this.place(0, page, key);
    this.siftDown(0);
  }

  private place(at: number, page: number, key: number): void {
    this.heapPages[at] = page;
    this.heapKeys[at] = key;
    this.slot[page] = at;
  }

  private siftUp(at: number): void {
    const page = this.heapPages[at]!;
    const key = this.heapKeys[at]!;
    while (at > 0) {
      const parent = (at - 1) >> 1;
      if (this.heapKeys[parent]! >= key) break;
      this.place(at, this.heapPages[parent]!, this.heapKeys[parent]!);
      at = parent;
    }
    this.place(at, page, key);
  }

  private siftDown(at: number): void {
    const page = this.heapPages[at]!;
    const key = this.heapKeys[at]!;
    for (;;) {
      let child = 2 * at + 1;
      if (child >= this.resident) break;
      if (child + 1 < this.resident && this.heapKeys[child + 1]! > this.heapKeys[child]!) child++;
      if (this.heapKeys[child]! <= key) break;
      this.place(at, this.heapPages[child]!, this.heapKeys[child]!);
      at = child;
    }
    this.place(at, page, key);
  }
}
