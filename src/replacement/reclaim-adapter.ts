/**
 * Runs a kernel {@link ReclaimPolicy} on a reference trace, as the MMU and a page fault would.
 *
 * ```
 *   reference(page) ── resident? ──yes──► set its referenced bit (the MMU's Accessed bit) ─► hit
 *                          │no
 *                          ▼
 *        all frames in use? ─yes─► reclaim.selectVictim(test-and-clear the bit) ─► evict
 *                          ▼
 *        reclaim.add(page), referenced bit set (the faulting access) ─────────────────► miss
 * ```
 *
 * The policy never learns of a hit; it sees only the bit, when it asks. So `fifo`, `clock` and
 * `linux` in the lab are the very code the kernel's reclaim runs. A page enters with its bit
 * set, because the access that faulted it in is retried and sets the Accessed bit (Linux even
 * maps it young): the textbook CLOCK's "use bit set to 1 when the page is first loaded"
 * (Stallings), and the "references from the instantiating fault" Linux's look-twice rule
 * expects.
 */
import type { PolicyName, ReclaimPolicy, ReplacementPolicy } from './policy.js';

export class ReclaimReplacement implements ReplacementPolicy {
  readonly name: PolicyName;
  private readonly referencedBits: Uint8Array;

  /** Runs `reclaim` (tracking pages `0 <= page < universe`) with `capacity` frames. */
  constructor(
    private readonly reclaim: ReclaimPolicy,
    readonly capacity: number,
    universe: number,
  ) {
    this.name = reclaim.name;
    this.referencedBits = new Uint8Array(universe);
  }

  reference(page: number): boolean {
    if (this.reclaim.has(page)) {
      this.referencedBits[page] = 1;
      return true;
    }
    if (this.reclaim.size === this.capacity) {
      this.referencedBits[this.reclaim.selectVictim(this.testAndClearReferenced)] = 0;
    }
    this.reclaim.add(page);
    this.referencedBits[page] = 1;
    return false;
  }

  private readonly testAndClearReferenced = (page: number): boolean => {
    const referenced = this.referencedBits[page] === 1;
    this.referencedBits[page] = 0;
    return referenced;
  };
}
