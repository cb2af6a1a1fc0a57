/** Errors of the physical layer. Each one is thrown before any state changes. */
import { WallosError } from '../errors.js';
import { formatPhysical } from '../hw/address.js';
import { ZONE_NAMES } from './constants.js';

/**
 * No free block of the requested order in any zone the caller accepts. Thrown by
 * `allocPages`; `tryAllocPages` returns -1 instead. The allocator is unchanged either way, so
 * the caller may reclaim and retry, or fail its own request with ENOMEM.
 */
export class OutOfMemoryError extends WallosError {
  constructor(
    readonly order: number,
    readonly highestZone: number,
  ) {
    super(
      'ENOMEM',
      `out of memory: no free block of order ${order} in zone ${ZONE_NAMES[highestZone]} or below`,
    );
  }
}

/**
 * Why a free was refused:
 * - `INVALID_FREE`: the address is not the start of an allocated block (never allocated,
 *   reserved, unaligned, inside a block, outside RAM);
 * - `DOUBLE_FREE`: the frame is already free;
 * - `WRONG_ORDER`: the block was allocated with another order;
 * - `FREE_SHARED`: the block has more than one reference (use `putPage`).
 */
export type InvalidFreeCode = 'INVALID_FREE' | 'DOUBLE_FREE' | 'WRONG_ORDER' | 'FREE_SHARED';

/** A free (or a reference drop) the allocator refuses; nothing was changed. */
export class InvalidFreeError extends WallosError {
  declare readonly code: InvalidFreeCode;

  constructor(
    code: InvalidFreeCode,
    readonly address: number,
    reason: string,
  ) {
    super(code, `cannot free ${describe(address)}: ${reason}`);
  }
}

/** An operation on a frame that needs an allocated block (getPage, setFrameUse...). */
export class InvalidFrameError extends WallosError {
  constructor(
    readonly address: number,
    reason: string,
  ) {
    super('INVALID_FRAME', `bad frame ${describe(address)}: ${reason}`);
  }
}

function describe(address: number): string {
  return Number.isSafeInteger(address) && address >= 0 ? formatPhysical(address) : String(address);
}

/** The allocator's own state is inconsistent (found by `check()`): a bug or memory corruption. */
export class PhysicalInvariantError extends WallosError {
  constructor(violation: string) {
    super('INVARIANT', `physical allocator invariant violated: ${violation}`);
  }
}
