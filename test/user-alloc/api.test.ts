import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '../../src/errors.js';
import { ERRNO } from '../../src/linux-abi.js';
import { createFlatHeap } from '../../src/user-alloc/flat-heap.js';
import { FlatMemory, FlatMemoryFaultError } from '../../src/user-alloc/flat-memory.js';
import { type HeapChunk, MAX_REQUEST, UserAllocator } from '../../src/user-alloc/user-allocator.js';
import { BRK_START, TestHost } from './hosts.js';

const KiB = 1024;

describe('malloc and free', () => {
  it('gives distinct, 16-aligned, non-NULL blocks, malloc(0) included', () => {
    const h = createFlatHeap(64 * KiB);
    const a = h.malloc(0);
    const b = h.malloc(0);
    expect(a).not.toBe(0);
    expect(b).not.toBe(a);
    expect(a % 16).toBe(0);
    expect(h.usableSize(a)).toBeGreaterThanOrEqual(0);
    h.free(a);
    h.free(b);
    h.free(0);
    h.check();
  });

  it('usable size is at least the request and the block is 8 bytes of overhead', () => {
    const h = createFlatHeap(64 * KiB);
    for (const n of [1, 24, 25, 100, 1000, 4000]) {
      const p = h.malloc(n);
      expect(h.usableSize(p)).toBeGreaterThanOrEqual(n);
      expect(h.usableSize(p)).toBeLessThan(n + 32);
    }
    expect(h.usableSize(0)).toBe(0);
  });

  it('reuses a freed block for the same size', () => {
    const h = createFlatHeap(64 * KiB);
    const p = h.malloc(100);
    h.free(p);
    expect(h.malloc(100)).toBe(p);
  });
});

describe('bad and overflowing sizes', () => {
  it.each([-1, 2 ** 53, MAX_REQUEST + 1, Number.POSITIVE_INFINITY])(
    'malloc(%d) returns NULL with ENOMEM and leaves the heap intact',
    (size) => {
      const h = createFlatHeap(64 * KiB);
      const keep = h.malloc(50);
      h.memory.fill(keep, 50, 7);
      const before = h.mallinfo();
      expect(h.malloc(size)).toBe(0);
      expect(h.errno).toBe(ERRNO.ENOMEM);
      expect(h.realloc(keep, size)).toBe(0);
      expect(h.memalign(64, size)).toBe(0);
      expect(h.mallinfo()).toEqual(before);
      expect([...h.memory.readBytes(keep, 50)].every((b) => b === 7)).toBe(true);
      h.check();
    },
  );

  it('calloc whose product overflows returns NULL with ENOMEM', () => {
    const h = createFlatHeap(64 * KiB);
    const before = h.mallinfo();
    expect(h.calloc(2 ** 32, 2 ** 32)).toBe(0);
    expect(h.calloc(2 ** 40, 2 ** 20)).toBe(0);
    expect(h.calloc(-1, 16)).toBe(0);
    expect(h.errno).toBe(ERRNO.ENOMEM);
    expect(h.mallinfo()).toEqual(before);
  });

  it('NaN and fractional sizes are programming errors', () => {
    const h = createFlatHeap(64 * KiB);
    expect(() => h.malloc(Number.NaN)).toThrow(InvalidArgumentError);
    expect(() => h.malloc(1.5)).toThrow(InvalidArgumentError);
    expect(() => h.calloc(2, 0.5)).toThrow(InvalidArgumentError);
  });
});

describe('calloc', () => {
  it('zeroes reused memory', () => {
    const h = createFlatHeap(64 * KiB);
    const p = h.malloc(200);
    h.memory.fill(p, 200, 0xff);
    h.free(p);
    const q = h.calloc(10, 20);
    expect(q).toBe(p);
    expect([...h.memory.readBytes(q, 200)].every((b) => b === 0)).toBe(true);
  });
});

describe('realloc', () => {
  it('realloc(NULL, n) allocates and realloc(p, 0) frees', () => {
    const h = createFlatHeap(64 * KiB);
    const p = h.realloc(0, 40);
    expect(p).not.toBe(0);
    expect(h.realloc(p, 0)).toBe(0);
    expect(() => h.free(p)).toThrow(/double free/);
  });

  it('lists its chunks: heap chunks tile the heap up to the break, each in its state', () => {
    const h = new UserAllocator(new TestHost());
    const small = [h.malloc(40), h.malloc(40), h.malloc(3000), h.malloc(3000), h.malloc(40)];
    const big = h.malloc(200 * KiB); // above the mmap threshold: its own mapping
    h.free(small[0]!); // cached
    h.free(small[2]!); // 3000 bytes: too large to cache, goes to a free list
    const chunks: HeapChunk[] = [];
    h.forEachChunk((chunk) => chunks.push(chunk));
    const heap = chunks.filter((c) => c.state !== 'mmapped');
    for (let i = 1; i < heap.length; i++) {
      expect(heap[i]!.address).toBe(heap[i - 1]!.address + heap[i - 1]!.size);
    }
    expect(heap.map((c) => c.state)).toEqual(['cached', 'used', 'free', 'used', 'used', 'top']);
    expect(heap.slice(0, -1).map((c) => c.address + 16)).toEqual(small);
    const mapped = chunks.filter((c) => c.state === 'mmapped');
    expect(mapped.map((c) => c.address + 16)).toEqual([big]);
    const info = h.mallinfo();
    expect(mapped[0]!.size).toBe(info.hblkhd);
    expect(info.keepcost).toBe(heap.at(-1)!.size);
    expect(info.ordblks).toBe(2); // the free chunk and the top
  });

  it('refuses a cacheLimit that is not a non-negative integer, and caps large ones', () => {
    for (const cacheLimit of [-1, 1.5, Number.NaN]) {
      expect(() => createFlatHeap(256 * KiB, { cacheLimit })).toThrow(InvalidArgumentError);
    }
    const h = createFlatHeap(256 * KiB, { cacheLimit: 1000 });
    const blocks = Array.from({ length: 300 }, () => h.malloc(40));
    for (const p of blocks) h.free(p);
    h.check();
    expect(h.mallinfo().uordblks).toBeLessThanOrEqual(255 * 48 + 4096);
  });

  it('shrinks in place and grows in place into the top and into a free neighbour', () => {
    const h = createFlatHeap(256 * KiB, { cacheLimit: 0 });
    const p = h.malloc(1000);
    h.memory.fill(p, 1000, 9);
    expect(h.realloc(p, 100)).toBe(p); // shrink
    expect(h.realloc(p, 5000)).toBe(p); // into the top
    const q = h.malloc(1000);
    const guard = h.malloc(16);
    h.free(q);
    const grown = h.realloc(p, 5000 + 800);
    expect(grown).toBe(p); // into the free neighbour q
    expect([...h.memory.readBytes(p, 100)].every((b) => b === 9)).toBe(true);
    h.free(guard);
    h.check();
  });

  it('moves when it must, keeping the prefix', () => {
    const h = createFlatHeap(256 * KiB);
    const p = h.malloc(64);
    h.memory.fill(p, 64, 5);
    h.malloc(64); // blocks growth in place
    const q = h.realloc(p, 4000);
    expect(q).not.toBe(p);
    expect([...h.memory.readBytes(q, 64)].every((b) => b === 5)).toBe(true);
    h.check();
  });

  it('a failed realloc leaves the block intact', () => {
    const h = createFlatHeap(64 * KiB);
    const p = h.malloc(100);
    h.memory.fill(p, 100, 3);
    h.malloc(16);
    expect(h.realloc(p, 10 * 1024 * KiB)).toBe(0);
    expect(h.errno).toBe(ERRNO.ENOMEM);
    expect([...h.memory.readBytes(p, 100)].every((b) => b === 3)).toBe(true);
    h.free(p);
    h.check();
  });
});

describe('aligned allocation', () => {
  it('memalign honours every power of two', () => {
    const h = createFlatHeap(16 * 1024 * KiB);
    for (let align = 1; align <= 1 << 20; align *= 2) {
      const p = h.memalign(align, 100);
      expect(p % Math.max(align, 16)).toBe(0);
      expect(h.usableSize(p)).toBeGreaterThanOrEqual(100);
      h.memory.fill(p, 100, 1);
    }
    h.check();
  });

  it('memalign rounds other alignments up; aligned_alloc refuses them', () => {
    const h = createFlatHeap(256 * KiB);
    expect(h.memalign(48, 10) % 64).toBe(0);
    expect(h.alignedAlloc(48, 10)).toBe(0);
    expect(h.errno).toBe(ERRNO.EINVAL);
    expect(h.memalign(0, 10)).toBe(0);
    expect(h.alignedAlloc(256, 10) % 256).toBe(0);
  });

  it('posix_memalign stores the pointer in memory and returns an errno', () => {
    const h = createFlatHeap(256 * KiB);
    const memptr = h.malloc(8);
    expect(h.posixMemalign(memptr, 4096, 100)).toBe(0);
    const p = h.memory.load32(memptr) + h.memory.load32(memptr + 4) * 2 ** 32;
    expect(p % 4096).toBe(0);
    expect(h.usableSize(p)).toBeGreaterThanOrEqual(100);
    expect(h.posixMemalign(memptr, 4, 100)).toBe(ERRNO.EINVAL);
    expect(h.posixMemalign(memptr, 24, 100)).toBe(ERRNO.EINVAL);
    expect(h.posixMemalign(memptr, 64, 2 ** 53)).toBe(ERRNO.ENOMEM);
  });
});

describe('exhaustion and recovery', () => {
  it('a heap that cannot grow fails with ENOMEM, then serves everything again once freed', () => {
    const h = createFlatHeap(1024 * KiB);
    const fillUp = () => {
      const blocks: number[] = [];
      for (;;) {
        const p = h.malloc(100 + (blocks.length % 7) * 300);
        if (p === 0) return blocks;
        blocks.push(p);
      }
    };
    const first = fillUp();
    expect(h.errno).toBe(ERRNO.ENOMEM);
    h.check();
    for (const p of first) h.free(p);
    h.check();
    const big = h.malloc(1000 * KiB);
    expect(big).not.toBe(0);
    h.free(big);
    const second = fillUp();
    expect(second.length).toBe(first.length);
    for (const p of second) h.free(p);
    h.trim();
    expect(h.mallinfo().ordblks).toBe(1);
  });

  it('a growable flat heap asks for a larger buffer and keeps the contents', () => {
    const grown: number[] = [];
    const h = createFlatHeap(64 * KiB, {
      grow: (minBytes) => {
        const bigger = new ArrayBuffer(minBytes * 2);
        new Uint8Array(bigger).set(new Uint8Array(h.memory.buffer));
        grown.push(bigger.byteLength);
        return bigger;
      },
    });
    const blocks: number[] = [];
    for (let i = 0; i < 200; i++) {
      const p = h.malloc(5000);
      h.memory.fill(p, 5000, i & 0xff);
      blocks.push(p);
    }
    expect(grown.length).toBeGreaterThan(0);
    blocks.forEach((p, i) => {
      expect(h.memory.load8(p + 4999)).toBe(i & 0xff);
    });
    h.check();
  });
});

describe('mmap and trim thresholds', () => {
  it('large blocks get their own mapping and give it back at free', () => {
    const host = new TestHost();
    const h = new UserAllocator(host);
    const p = h.malloc(200 * KiB);
    expect(host.mmapCalls).toBe(1);
    expect(h.mallinfo().hblks).toBe(1);
    expect(h.mallinfo().hblkhd).toBe(host.mappedBytes());
    expect(h.footprint()).toBe(h.mallinfo().arena + h.mallinfo().hblkhd);
    h.memory.fill(p, 200 * KiB, 1);
    expect(h.realloc(p, 190 * KiB)).toBe(p);
    h.free(p);
    expect(host.munmapCalls).toBe(1);
    expect(host.mappedBytes()).toBe(0);
    expect(h.mallinfo().hblks).toBe(0);
  });

  it('a munmap the kernel refuses leaks the mapping, as glibc does, without aborting', () => {
    const host = new TestHost();
    const h = new UserAllocator(host);
    const p = h.malloc(200 * KiB);
    host.munmap = () => -1;
    h.free(p);
    expect(h.mallinfo().hblks).toBe(0);
    expect(h.footprint()).toBe(h.mallinfo().arena);
    h.check();
  });

  it('the mmap threshold is tunable, and the heap serves large blocks when mmap fails', () => {
    const host = new TestHost();
    const h = new UserAllocator(host, { mmapThreshold: 1024 * KiB });
    h.free(h.malloc(200 * KiB));
    expect(host.mmapCalls).toBe(0);
    const refusing = new TestHost();
    refusing.mmapAllowed = false;
    const h2 = new UserAllocator(refusing);
    expect(h2.malloc(200 * KiB)).not.toBe(0);
    expect(h2.mallinfo().arena).toBeGreaterThan(200 * KiB);
  });

  it('small blocks come from mmap when the break cannot move', () => {
    const host = new TestHost();
    host.brkLimit = BRK_START;
    const h = new UserAllocator(host);
    const p = h.malloc(100);
    expect(p).not.toBe(0);
    expect(host.mmapCalls).toBe(1);
    h.free(p);
    expect(host.mappedBytes()).toBe(0);
  });

  it('a top chunk past the trim threshold goes back with a negative sbrk', () => {
    const host = new TestHost();
    const h = new UserAllocator(host, { mmapThreshold: 8 * 1024 * KiB, trimThreshold: 64 * KiB });
    const p = h.malloc(500 * KiB);
    const grownTo = host.brk;
    h.free(p);
    expect(host.brk).toBeLessThan(grownTo - 400 * KiB);
    expect(h.footprint()).toBe(h.mallinfo().arena);
    h.check();
    const keeping = new TestHost();
    const h2 = new UserAllocator(keeping, {
      mmapThreshold: 8 * 1024 * KiB,
      trimThreshold: 1024 * KiB,
    });
    h2.free(h2.malloc(500 * KiB));
    expect(keeping.brk).toBeGreaterThan(BRK_START + 500 * KiB);
  });
});

describe('per-size caches', () => {
  it('are flushed and coalesced before the heap grows, so they never inflate the footprint', () => {
    const h = createFlatHeap(1024 * KiB, { topPad: 0 });
    const blocks = Array.from({ length: 100 }, () => h.malloc(100));
    const guard = h.malloc(16);
    for (const p of blocks) h.free(p);
    const footprint = h.footprint();
    const big = h.malloc(8000);
    expect(big).toBeLessThan(guard);
    expect(h.footprint()).toBe(footprint);
    h.check();
  });
});

describe('mallinfo', () => {
  it('adds up: used + free = arena, footprint = arena + mmapped', () => {
    const host = new TestHost();
    const h = new UserAllocator(host);
    const blocks = [h.malloc(100), h.malloc(3000), h.malloc(300 * KiB), h.malloc(50)];
    h.free(blocks[1]!);
    const info = h.mallinfo();
    expect(info.uordblks + info.fordblks).toBe(info.arena);
    expect(info.ordblks).toBe(2);
    expect(info.hblks).toBe(1);
    expect(h.footprint()).toBe(info.arena + info.hblkhd);
    expect(info.arena).toBe(host.brk - BRK_START);
  });
});

describe('fork', () => {
  it('a copy of the memory with a forked allocator carries on independently', () => {
    const parent = createFlatHeap(256 * KiB);
    const blocks = [parent.malloc(100), parent.malloc(2000), parent.malloc(40)];
    parent.free(blocks[2]!);
    const copy = new FlatMemory(parent.memory.buffer.slice(0));
    const child = parent.fork({
      memory: copy,
      sbrk: (n) => parent.host.sbrk(n),
      mmap: () => -1,
      munmap: () => -1,
      abort: (message) => parent.host.abort(message),
    });
    child.check();
    child.free(blocks[0]!);
    child.check();
    parent.check();
    expect(parent.usableSize(blocks[0]!)).toBeGreaterThanOrEqual(100);
  });
});

describe('FlatMemory', () => {
  it('is little-endian, handles unaligned words and faults outside the buffer', () => {
    const m = new FlatMemory(new ArrayBuffer(16));
    m.store32(0, 0x11223344);
    expect(m.load8(0)).toBe(0x44);
    m.store32(5, 0xaabbccdd);
    expect(m.load32(5)).toBe(0xaabbccdd);
    expect(m.load16(5)).toBe(0xccdd);
    m.store16(10, 0x12345);
    expect(m.load16(10)).toBe(0x2345);
    expect(() => m.load32(13)).toThrow(FlatMemoryFaultError);
    expect(() => m.store32(-4, 1)).toThrow(FlatMemoryFaultError);
    expect(() => m.store8(16, 1)).toThrow(FlatMemoryFaultError);
    expect(() => m.fill(8, 9, 0)).toThrow(FlatMemoryFaultError);
  });

  it('reads and writes bytes and 32-bit words as a DataView would, at any address, or faults', () => {
    const BYTES = 64;
    // Addresses of every kind: aligned, unaligned, at and past the end, negative, fractional.
    const address = fc.oneof(
      fc.integer({ min: -8, max: BYTES + 8 }),
      fc.integer({ min: 0, max: BYTES / 4 }).map((word) => word * 4),
      // (A negative address whose quarter rounds to -0 reads address 0: tested apart, below.)
      fc.double({ min: -8, max: BYTES + 8, noNaN: true }).filter((a) => a >= 0 || a / 4 !== 0),
    );
    const op = fc.record({
      store: fc.boolean(),
      bytes: fc.constantFrom(1, 4),
      address,
      value: fc.nat({ max: 0xffffffff }),
    });
    fc.assert(
      fc.property(fc.array(op, { maxLength: 40 }), (ops) => {
        const m = new FlatMemory(new ArrayBuffer(BYTES));
        const model = new DataView(new ArrayBuffer(BYTES));
        for (const { store, bytes, address: a, value } of ops) {
          // The model: any address whose bytes lie inside, truncated as DataView does.
          const inside = a >= 0 && a + bytes <= BYTES;
          const at = Math.trunc(a);
          if (!inside) {
            const access = () =>
              bytes === 1
                ? store
                  ? m.store8(a, value)
                  : m.load8(a)
                : store
                  ? m.store32(a, value)
                  : m.load32(a);
            expect(access).toThrow(FlatMemoryFaultError);
          } else if (store && bytes === 1) {
            m.store8(a, value);
            model.setUint8(at, value);
          } else if (store) {
            m.store32(a, value);
            model.setUint32(at, value, true);
          } else if (bytes === 1) {
            expect(m.load8(a)).toBe(model.getUint8(at));
          } else {
            expect(m.load32(a)).toBe(model.getUint32(at, true));
          }
        }
        for (let a = 0; a < BYTES; a += 4) expect(m.load32(a)).toBe(model.getUint32(a, true));
      }),
    );
  });

  it('reads address 0 at a negative address whose quarter rounds to -0, as documented', () => {
    const m = new FlatMemory(new ArrayBuffer(16));
    m.store32(0, 0xcafe);
    expect(m.load32(-Number.MIN_VALUE)).toBe(0xcafe);
    expect(() => m.load32(-1e-300)).toThrow(FlatMemoryFaultError);
  });
});
