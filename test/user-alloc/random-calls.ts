/**
 * One random heap call at a time, the same for the same draws: the replay that the tests of
 * the heap's two ways of reaching its headers (in place, word by word) run side by side.
 */
import type { UserAllocator } from '../../src/user-alloc/user-allocator.js';

/** Blocks a replay keeps at once: `blocks` has this many slots. */
export const SLOTS = 64;

/**
 * One random call on `heap` over the slots of `blocks` (0: empty): a malloc or calloc into an
 * empty slot (its first bytes then tagged slot + 1), else a realloc or a free of the slot's
 * block. Its result: the block the slot holds after it (0 after a free or a failure).
 */
export function randomHeapCall(heap: UserAllocator, blocks: Float64Array, r: () => number): number {
  const slot = Math.floor(r() * SLOTS);
  const size = r() < 0.9 ? Math.floor(r() * 1100) : Math.floor(r() * 40_000);
  const p = blocks[slot]!;
  if (p === 0) {
    const q = r() < 0.8 ? heap.malloc(size) : heap.calloc(1, size);
    if (q !== 0) heap.memory.fill(q, Math.min(size, 64), slot + 1);
    blocks[slot] = q;
  } else if (r() < 0.2) {
    blocks[slot] = heap.realloc(p, size);
  } else {
    heap.free(p);
    blocks[slot] = 0;
  }
  return blocks[slot]!;
}
