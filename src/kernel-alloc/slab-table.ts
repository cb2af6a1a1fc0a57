/**
 * The slab descriptors of every cache, as parallel typed arrays indexed by slab id (one
 * "struct slab" per index, like Linux keeps in `struct page`; Bonwick's off-slab descriptor).
 * The objects and their free list live in simulated RAM; only this bookkeeping lives in the host.
 *
 * A cache keeps its slabs on three doubly linked lists threaded through `next`/`prev`:
 *
 * ```
 *   heads[FULL]    ─▶ slab ⇄ slab ⇄ slab      every object allocated
 *   heads[PARTIAL] ─▶ slab ⇄ slab             some free: allocation takes from here
 *   heads[EMPTY]   ─▶ slab                    all free: kept for reuse until shrink
 * ```
 *
 * Ids of released slabs are reused (a stack threaded through `next`), and the arrays double when
 * full, so the table never allocates per operation.
 */

/** "No slab": the end of a list, or an empty list. */
export const NO_SLAB = -1;

/** Which list a slab is on. */
export const FULL = 0;
export const PARTIAL = 1;
export const EMPTY = 2;
/** Number of lists per cache (the length of a cache's `heads`). */
export const LIST_KINDS = 3;

const INITIAL_CAPACITY = 64;

/** Per-slab bookkeeping shared by all caches of one allocator. */
export class SlabTable {
  /** Kernel virtual address of the slab's first page. */
  base = new Float64Array(INITIAL_CAPACITY);
  /** Address of the first object slot: `base` plus the slab's colour. */
  firstSlot = new Float64Array(INITIAL_CAPACITY);
  /** Index of the first free object, or -1 when none is free. */
  freeHead = new Int32Array(INITIAL_CAPACITY);
  /** Objects handed out (and not freed) from this slab. */
  inUse = new Int32Array(INITIAL_CAPACITY);
  /** Id of the owning cache. */
  cache = new Int32Array(INITIAL_CAPACITY);
  /** List the slab is on: FULL, PARTIAL or EMPTY. */
  list = new Uint8Array(INITIAL_CAPACITY);
  next = new Int32Array(INITIAL_CAPACITY);
  prev = new Int32Array(INITIAL_CAPACITY);
  private used = 0;
  private released = NO_SLAB;

  /** A fresh slab id for `cache` at `base`, its first slot at `firstSlot`, not on any list. */
  create(cache: number, base: number, firstSlot: number, freeHead: number): number {
    const slab = this.takeId();
    this.base[slab] = base;
    this.firstSlot[slab] = firstSlot;
    this.freeHead[slab] = freeHead;
    this.inUse[slab] = 0;
    this.cache[slab] = cache;
    return slab;
  }

  /** Returns a slab id (already unlinked) for reuse. */
  release(slab: number): void {
    this.cache[slab] = NO_SLAB;
    this.next[slab] = this.released;
    this.released = slab;
  }

  /** Pushes `slab` on the front of list `kind` of the cache whose list heads are `heads`. */
  link(slab: number, kind: number, heads: Int32Array): void {
    const head = heads[kind]!;
    this.list[slab] = kind;
    this.prev[slab] = NO_SLAB;
    this.next[slab] = head;
    if (head !== NO_SLAB) this.prev[head] = slab;
    heads[kind] = slab;
  }

  /** Takes `slab` off whichever list of its cache it is on. */
  unlink(slab: number, heads: Int32Array): void {
    const prev = this.prev[slab]!;
    const next = this.next[slab]!;
    if (prev === NO_SLAB) heads[this.list[slab]!] = next;
    else this.next[prev] = next;
    if (next !== NO_SLAB) this.prev[next] = prev;
  }

  /** Moves `slab` to the front of list `kind`. */
  move(slab: number, kind: number, heads: Int32Array): void {
    this.unlink(slab, heads);
    this.link(slab, kind, heads);
  }

  /** Slabs on list `kind` (walks the list: for statistics, not hot paths). */
  length(kind: number, heads: Int32Array): number {
    let count = 0;
    for (let slab = heads[kind]!; slab !== NO_SLAB; slab = this.next[slab]!) count++;
    return count;
  }

  private takeId(): number {
    if (this.released !== NO_SLAB) {
      const slab = this.released;
      this.released = this.next[slab]!;
      return slab;
    }
    if (this.used === this.base.length) this.grow();
    return this.used++;
  }

  private grow(): void {
    const capacity = this.base.length * 2;
    this.base = resized(this.base, new Float64Array(capacity));
    this.firstSlot = resized(this.firstSlot, new Float64Array(capacity));
    this.freeHead = resized(this.freeHead, new Int32Array(capacity));
    this.inUse = resized(this.inUse, new Int32Array(capacity));
    this.cache = resized(this.cache, new Int32Array(capacity));
    this.list = resized(this.list, new Uint8Array(capacity));
    this.next = resized(this.next, new Int32Array(capacity));
    this.prev = resized(this.prev, new Int32Array(capacity));
  }
}

function resized<T extends Float64Array | Int32Array | Uint8Array>(old: T, fresh: T): T {
  fresh.set(old as never);
  return fresh;
}
