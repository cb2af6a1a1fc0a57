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
