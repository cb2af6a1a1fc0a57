/**
 * ARC, the Adaptive Replacement Cache (Megiddo & Modha, FAST '03).
 *
 * ```
 *            ◄── L1: seen once recently ──►│◄── L2: seen at least twice recently ──►
 *   B1 ghosts (LRU … MRU)  T1 resident     │   T2 resident           B2 ghosts
 *   evicted from T1        (MRU … LRU)     │   (LRU … MRU)           evicted from T2
 *                          ◄──── p ────►◄──┴── c − p ──►
 *                          the target size of T1, adapted on every ghost hit
 * ```
 *
 * `c` frames hold T1 ∪ T2; B1 and B2 remember (without data) up to `c` pages recently evicted
 * from each. A hit moves the page to the MRU end of T2. A miss that hits a ghost in B1 means T1
 * was too small: p grows (by 1, or |B2|/|B1| when B1 is the smaller ghost list); a ghost hit
 * in B2 shrinks p the same way; either page is then fetched into T2. A miss on no list enters
 * T1. REPLACE makes room by demoting the LRU page of T1 to B1 when T1 is over its target p
 * (or exactly at it, for a B2 ghost hit), else the LRU page of T2 to B2. The directory keeps
 * |T1| + |B1| <= c and |T1| + |T2| + |B1| + |B2| <= 2c. Every step is O(1).
 */
import { PageLists } from './page-lists.js';
import type { ReplacementPolicy } from './policy.js';

/** The four lists (each with its MRU end at the head). */
export const T1 = 0;
export const T2 = 1;
export const B1 = 2;
export const B2 = 3;

export class ArcPolicy implements ReplacementPolicy {
  readonly name = 'arc';
  private readonly lists: PageLists;
  /** The target size of T1, a real number in [0, c]. */
  private target = 0;

  /** `capacity` frames (the paper's c) for pages `0 <= page < universe`. */
  constructor(
    readonly capacity: number,
    universe: number,
  ) {
    this.lists = new PageLists(universe, 4);
  }

  /** How many pages `list` (T1, T2, B1 or B2) holds. */
  length(list: number): number {
    return this.lists.length(list);
  }

  /** The list (T1, T2, B1, B2) `page` is on, or -1. */
  listOf(page: number): number {
    return this.lists.listOf(page);
  }

  /** The paper's p. */
  get p(): number {
    return this.target;
  }

  reference(page: number): boolean {
    const lists = this.lists;
    const list = lists.listOf(page);
    if (list === T1 || list === T2) {
      lists.moveToHead(T2, page);
      return true;
    }
    if (list === B1) this.ghostHitInB1(page);
    else if (list === B2) this.ghostHitInB2(page);
    else this.missEverywhere(page);
    return false;
  }

  /** Case II: L1 was too short; grow p, make room and fetch `page` into T2. */
  private ghostHitInB1(page: number): void {
    const b1 = this.lists.length(B1);
    const b2 = this.lists.length(B2);
    this.target = Math.min(this.target + (b1 >= b2 ? 1 : b2 / b1), this.capacity);
    this.replace(false);
    this.lists.moveToHead(T2, page);
  }

  /** Case III: L2 was too short; shrink p, make room and fetch `page` into T2. */
  private ghostHitInB2(page: number): void {
    const b1 = this.lists.length(B1);
    const b2 = this.lists.length(B2);
    this.target = Math.max(this.target - (b2 >= b1 ? 1 : b1 / b2), 0);
    this.replace(true);
    this.lists.moveToHead(T2, page);
  }

  /** Case IV: a page on no list; keep the directory within c + c and enter it into T1. */
  private missEverywhere(page: number): void {
    const lists = this.lists;
    const c = this.capacity;
    const t1 = lists.length(T1);
    const l1 = t1 + lists.length(B1);
    if (l1 === c) {
      if (t1 < c) {
        lists.unlink(lists.tail(B1));
        this.replace(false);
      } else {
        lists.unlink(lists.tail(T1));
      }
    } else {
      const total = l1 + lists.length(T2) + lists.length(B2);
      if (total >= c) {
        if (total === 2 * c) lists.unlink(lists.tail(B2));
        this.replace(false);
      }
    }
    lists.pushHead(T1, page);
  }

  /** REPLACE: demote the LRU page of T1 to B1 or of T2 to B2, as p says. */
  private replace(ghostHitInB2: boolean): void {
    const lists = this.lists;
    const t1 = lists.length(T1);
    if (t1 >= 1 && (t1 > this.target || (ghostHitInB2 && t1 === this.target))) {
      lists.moveToHead(B1, lists.tail(T1));
    } else {
      lists.moveToHead(B2, lists.tail(T2));
    }
  }
}
