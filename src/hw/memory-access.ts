/**
 * The one shape of "something you can load from and store to", shared by every view of memory:
 * physical RAM (addresses are physical), the kernel's direct map (kernel virtual addresses), a
 * user address space through the MMU (user virtual addresses), and a flat ArrayBuffer (offsets).
 *
 * Upper layers (the slab and heap allocators) are written against this interface only, so the
 * same allocator code runs over any of them. Loads return unsigned values; stores keep the low
 * bits of the value (like a C cast to uint8_t / uint16_t / uint32_t). Multi-byte values are
 * little-endian.
 */
export interface MemoryAccess {
  load8(address: number): number;
  load16(address: number): number;
  load32(address: number): number;
  store8(address: number, value: number): void;
  store16(address: number, value: number): void;
  store32(address: number, value: number): void;
  /** Copies `length` bytes out into a new array. */
  readBytes(address: number, length: number): Uint8Array;
  /** Copies `bytes` in, starting at `address`. */
  writeBytes(address: number, bytes: Uint8Array): void;
  /** Sets `length` bytes starting at `address` to `byte`. */
  fill(address: number, length: number, byte: number): void;
}

/**
 * Direct access to the words behind a window of memory (a 4 KiB page through an MMU, the whole
 * buffer of a flat memory), for code that makes several accesses to one small structure (a heap
 * chunk's header, a list head): one permission check for all of them instead of one per word,
 * as a CPU's TLB hit serves every access to the page it maps.
 *
 * ```
 *   writableWindow(a) ─▶ the window's words, little-endian; a's word at i = (a & windowMask) >> 2
 *   ┌──────┬──────┬─────┬──────┬────────┬─────┬─────────────┐
 *   │ w[0] │ w[1] │ ... │ w[i] │ w[i+1] │ ... │ w[length-1] │   (a page: length 1024, mask 0xfff)
 *   └──────┴──────┴─────┴──────┴────────┴─────┴─────────────┘
 * ```
 */
export interface WordWindows {
  /** The address bits that give an address's byte offset in its window (0xfff: a page). */
  readonly windowMask: number;
  /**
   * The 32-bit words of the window that holds `address` (a multiple of 4), its word at index
   * `(address & windowMask) >> 2`, when this view may read and write them now with neither a
   * fault nor a page walk; else an empty array, and the caller makes its accesses one by one.
   * A window ends where its array does: check every index against its length. The array is
   * valid until the caller's next access that may fault (a fault may reclaim or copy a page).
   */
  writableWindow(address: number): Int32Array;
}
