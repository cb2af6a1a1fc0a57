/**
 * The slab descriptors of every cache ("struct slab", Bonwick's off-slab descriptor), one
 * 32-byte record per slab id in a single typed array, so one cache line holds everything an
 * allocation or a free needs. The objects and their free list live in simulated RAM; only this
 * bookkeeping lives in the host.
 *
 * ```
 *  record of slab s: words[8s .. 8s+7]
 *  ┌───────────┬────────┬──────┬──────┬───────┬──────┬──────────────────────────┐
 *  │ freeHead  │ inUse  │ next │ prev │ cache │ list │ firstSlot (float64)      │
 *  └───────────┴────────┴──────┴──────┴───────┴──────┴──────────────────────────┘
 *   index of the first free object (-1: none)          address of object slot 0
 * ```
 *
 * A cache keeps its slabs on three doubly linked lists threaded through `next`/`prev`:
 *
 * ```
 *   heads[FULL]    ─▶ slab ⇄ slab ⇄ slab      every object allocated
 *   heads[PARTIAL] ─▶ slab ⇄ slab             some free: allocation takes from here
 *   heads[EMPTY]   ─▶ slab                    all free: kept for reuse until shrink
 * ```
 *
 * Ids of released slabs are reused (a stack threaded through `next`), and the table doubles when
 * full, so it never allocates per operation.
 */

/** "No slab": the end of a list, or an empty list (also the empty free list). */
export const NO_SLAB = -1;

/** Which list a slab is on. */
export const FULL = 0;
export const PARTIAL = 1;
export const EMPTY = 2;
/** Number of lists per cache (the length of a cache's `heads`). */
export const LIST_KINDS = 3;

const RECORD_SHIFT = 3;
const FREE_HEAD = 0;
const IN_USE = 1;
const NEXT = 2;
const PREV = 3;
const CACHE = 4;
const LIST = 5;
/** firstSlot is the 4th float64 of the record (words 6 and 7). */
const FIRST_SLOT = 3;
const DOUBLES_SHIFT = 2;
const INITIAL_CAPACITY = 64;

/** Per-slab bookkeeping shared by all caches of one allocator. */
export class SlabTable {
  private words = new Int32Array(INITIAL_CAPACITY << RECORD_SHIFT);
  private doubles = new Float64Array(this.words.buffer);
  /** Page-aligned start of each slab (cold: release and reports only). */
  private bases = new Float64Array(INITIAL_CAPACITY);
  private used = 0;
  private released = NO_SLAB;

  /** Index of the first free object of `slab`, or -1 when none is free. */
  freeHead(slab: number): number {
    return this.words[(slab << RECORD_SHIFT) + FREE_HEAD]!;
  }
  setFreeHead(slab: number, index: number): void {
    this.words[(slab << RECORD_SHIFT) + FREE_HEAD] = index;
  }
  /** Objects of `slab` handed out and not freed. */
  inUse(slab: number): number {
    return this.words[(slab << RECORD_SHIFT) + IN_USE]!;
  }
  setInUse(slab: number, count: number): void {
    this.words[(slab << RECORD_SHIFT) + IN_USE] = count;
  }
  /** Id of the cache owning `slab`. */
  cacheOf(slab: number): number {
    return this.words[(slab << RECORD_SHIFT) + CACHE]!;
  }
  /** The list `slab` is on: FULL, PARTIAL or EMPTY. */
  listOf(slab: number): number {
    return this.words[(slab << RECORD_SHIFT) + LIST]!;
  }
  /** The next slab on the same list. */
  next(slab: number): number {
    return this.words[(slab << RECORD_SHIFT) + NEXT]!;
  }
  /** Address of the slab's first object slot: its base plus its colour. */
  firstSlot(slab: number): number {
    return this.doubles[(slab << DOUBLES_SHIFT) + FIRST_SLOT]!;
  }
  /** Kernel virtual address of the slab's first page. */
  base(slab: number): number {
    return this.bases[slab]!;
  }

  /** A fresh slab id for `cache` at `base`, its first slot at `firstSlot`, not on any list. */
  create(cache: number, base: number, firstSlot: number): number {
    const slab = this.takeId();
    const record = slab << RECORD_SHIFT;
    this.words[record + FREE_HEAD] = 0;
    this.words[record + IN_USE] = 0;
    this.words[record + CACHE] = cache;
    this.doubles[(slab << DOUBLES_SHIFT) + FIRST_SLOT] = firstSlot;
    this.bases[slab] = base;
    return slab;
  }

  /** Returns a slab id (already unlinked) for reuse. */
  release(slab: number): void {
    this.words[(slab << RECORD_SHIFT) + CACHE] = NO_SLAB;
    this.words[(slab << RECORD_SHIFT) + NEXT] = this.released;
    this.released = slab;
  }

  /** Pushes `slab` on the front of list `kind` of the cache whose list heads are `heads`. */
  link(slab: number, kind: number, heads: Int32Array): void {
    const words = this.words;
    const record = slab << RECORD_SHIFT;
    const head = heads[kind]!;
    words[record + LIST] = kind;
    words[record + PREV] = NO_SLAB;
    words[record + NEXT] = head;
    if (head !== NO_SLAB) words[(head << RECORD_SHIFT) + PREV] = slab;
    heads[kind] = slab;
  }

  /** Takes `slab` off whichever list of its cache it is on. */
  unlink(slab: number, heads: Int32Array): void {
    const words = this.words;
    const record = slab << RECORD_SHIFT;
    const prev = words[record + PREV]!;
    const next = words[record + NEXT]!;
    if (prev === NO_SLAB) heads[words[record + LIST]!] = next;
    else words[(prev << RECORD_SHIFT) + NEXT] = next;
    if (next !== NO_SLAB) words[(next << RECORD_SHIFT) + PREV] = prev;
  }

  /** Moves `slab` to the front of list `kind`. */
  move(slab: number, kind: number, heads: Int32Array): void {
    this.unlink(slab, heads);
    this.link(slab, kind, heads);
  }

  /** Slabs on list `kind` (walks the list: for statistics, not hot paths). */
  length(kind: number, heads: Int32Array): number {
    let count = 0;
    for (let slab = heads[kind]!; slab !== NO_SLAB; slab = this.next(slab)) count++;
    return count;
  }

  private takeId(): number {
    if (this.released !== NO_SLAB) {
      const slab = this.released;
      this.released = this.next(slab);
      return slab;
    }
    if (this.used === this.bases.length) this.grow();
    return this.used++;
  }

  private grow(): void {
    const words = new Int32Array(this.words.length * 2);
    words.set(this.words);
    this.words = words;
    this.doubles = new Float64Array(words.buffer);
    const bases = new Float64Array(this.bases.length * 2);
    bases.set(this.bases);
    this.bases = bases;
  }
}
