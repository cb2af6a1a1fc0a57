/**
 * LRU: evict the page whose last reference is oldest.
 *
 * ```
 *   hit or miss ──► head (most recent) ⇄ … ⇄ tail (least recent) ──► victim
 * ```
 *
 * One list in recency order: a reference moves its page to the head, a miss with every frame
 * in use evicts the tail. LRU is a stack algorithm (Mattson et al. 1970): the pages resident
 * with `n` frames are always among those resident with `n + 1`, so hits never fall as memory
 * grows. It needs every reference, which is why kernels only approximate it.
 */
import { NONE, PageLists } from './page-lists.js';
import type { ReplacementPolicy } from './policy.js';

const RECENCY = 0;

export class LruPolicy implements ReplacementPolicy {
  readonly name = 'lru';
  private readonly recency: PageLists;

  /** `capacity` frames for pages `0 <= page < universe`. */
  constructor(
    readonly capacity: number,
    universe: number,
  ) {
    this.recency = new PageLists(universe, 1);
  }

  reference(page: number): boolean {
    const recency = this.recency;
    if (recency.listOf(page) !== NONE) {
      recency.moveToHead(RECENCY, page);
      return true;
    }
    if (recency.length(RECENCY) === this.capacity) recency.unlink(recency.tail(RECENCY));
    recency.pushHead(RECENCY, page);
    return false;
  }
}
