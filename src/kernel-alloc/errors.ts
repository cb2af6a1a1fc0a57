/** Errors of the kernel allocator. Each one is thrown before the allocator's state changes. */
import { WallosError } from '../errors.js';
import { formatAddress } from '../hw/address.js';

/**
 * What went wrong, as a stable code:
 * - `DOUBLE_FREE`: the object is already free;
 * - `CROSS_CACHE_FREE`: the object belongs to another cache than the one asked to free it;
 * - `INVALID_POINTER`: the address is not the start of an object (inside one, in a slab's
 *   colour or tail padding, or outside every slab and large allocation);
 * - `REDZONE`: a red zone around the object was overwritten (a buffer overflow or underflow);
 * - `POISON`: a free object's poison pattern was changed (a write after free);
 * - `FREELIST_CORRUPT`: a free-list link in simulated RAM points outside the slab, to an
 *   allocated object, or ends the list too early;
 * - `CACHE_BUSY`: a cache still holding objects cannot be destroyed;
 * - `CACHE_DESTROYED`: the cache was destroyed and cannot allocate any more;
 * - `OUT_OF_MEMORY`: no memory for a new cache's descriptor (createCache);
 * - `DESCRIPTOR_CORRUPT`: a cache's `struct kmem_cache` in kernel memory was overwritten.
 */
export type SlabErrorCode =
  | 'DOUBLE_FREE'
  | 'CROSS_CACHE_FREE'
  | 'INVALID_POINTER'
  | 'REDZONE'
  | 'POISON'
  | 'FREELIST_CORRUPT'
  | 'CACHE_BUSY'
  | 'CACHE_DESTROYED'
  | 'OUT_OF_MEMORY'
  | 'DESCRIPTOR_CORRUPT';

/** A misuse of the slab allocator or a corruption it found, with the cache and object at fault. */
export class SlabError extends WallosError {
  declare readonly code: SlabErrorCode;

  /**
   * @param cacheName the cache involved, or `'(none)'` when the address is in no slab.
   * @param address the object (or pointer) at fault, a kernel virtual address.
   */
  constructor(
    code: SlabErrorCode,
    readonly cacheName: string,
    readonly address: number,
    reason: string,
  ) {
    super(code, `${cacheName}: ${describe(address)}: ${reason}`);
  }
}

function describe(address: number): string {
  return Number.isSafeInteger(address) ? `object ${formatAddress(address)}` : `pointer ${address}`;
}
