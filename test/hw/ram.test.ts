import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { GiB, KiB } from '../../src/hw/constants.js';
import { generateMemoryMap, PCI_HOLE_END, PCI_HOLE_START } from '../../src/hw/memory-map.js';
import { MachineCheckError, PhysicalMemory, RAM_CHUNK_SIZE } from '../../src/hw/ram.js';

/** Two RAM modules with a hole between them: [0, 256K) and [384K, 512K). */
const LOW = { base: 0, length: 256 * KiB };
const HIGH = { base: 384 * KiB, length: 128 * KiB };
const TOP = HIGH.base + HIGH.length;

/** The reference: a flat byte array plus "is this byte installed". */
class Model {
  readonly bytes = new Uint8Array(TOP);
  installed(address: number, length: number): boolean {
    if (!Number.isSafeInteger(address) || address < 0) return false;
    for (let a = address; a < address + length; a++) {
      const inLow = a >= LOW.base && a < LOW.base + LOW.length;
      const inHigh = a >= HIGH.base && a < HIGH.base + HIGH.length;
      if (!inLow && !inHigh) return false;
    }
    return true;
  }
  load(address: number, size: number): number {
    let value = 0;
    for (let i = size - 1; i >= 0; i--) value = value * 256 + this.bytes[address + i]!;
    return value;
  }
  store(address: number, size: number, value: number): void {
    for (let i = 0; i < size; i++) this.bytes[address + i] = Math.floor(value / 256 ** i) % 256;
  }
}

type Op =
  | { kind: 'load'; address: number; size: 1 | 2 | 4 | 8 }
  | { kind: 'store'; address: number; size: 1 | 2 | 4 | 8; value: number }
  | { kind: 'read'; address: number; length: number }
  | { kind: 'write'; address: number; data: Uint8Array }
  | { kind: 'fill'; address: number; length: number; byte: number }
  | { kind: 'copy'; destination: number; source: number; length: number }
  | { kind: 'isZero'; address: number; length: number };

/** Addresses that like chunk edges, the hole's edges and the ends of RAM. */
const address = fc.oneof(
  fc.integer({ min: -16, max: TOP + 16 }),
  fc
    .tuple(fc.integer({ min: 0, max: TOP / RAM_CHUNK_SIZE }), fc.integer({ min: -9, max: 9 }))
    .map(([chunk, delta]) => chunk * RAM_CHUNK_SIZE + delta),
);
const length = fc.oneof(fc.integer({ min: 0, max: 16 }), fc.integer({ min: 0, max: 70_000 }));
const size = fc.constantFrom<1 | 2 | 4 | 8>(1, 2, 4, 8);
const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ kind: fc.constant('load' as const), address, size }),
  fc.record({
    kind: fc.constant('store' as const),
    address,
    size,
    value: fc.integer({ min: 0, max: 2 ** 32 - 1 }),
  }),
  fc.record({ kind: fc.constant('read' as const), address, length }),
  fc.record({
    kind: fc.constant('write' as const),
    address,
    data: fc.uint8Array({ minLength: 0, maxLength: 300 }),
  }),
  fc.record({
    kind: fc.constant('fill' as const),
    address,
    length,
    byte: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 255 })),
  }),
  fc.record({ kind: fc.constant('copy' as const), destination: address, source: address, length }),
  fc.record({ kind: fc.constant('isZero' as const), address, length }),
);

/** Compares byte arrays quickly (deep equality of large arrays is slow): first difference. */
function expectSameBytes(actual: Uint8Array, expected: Uint8Array): void {
  expect(actual.length).toBe(expected.length);
  const differsAt = actual.findIndex((b, i) => b !== expected[i]);
  expect(differsAt).toBe(-1);
}

function load(ram: PhysicalMemory, address: number, size: number): number {
  if (size === 1) return ram.load8(address);
  if (size === 2) return ram.load16(address);
  if (size === 4) return ram.load32(address);
  return ram.load64(address);
}

function store(ram: PhysicalMemory, address: number, size: number, value: number): void {
  if (size === 1) ram.store8(address, value);
  else if (size === 2) ram.store16(address, value);
  else if (size === 4) ram.store32(address, value);
  else ram.store64(address, value);
}

/** Applies `o` to both RAM and the model, checking what RAM reads back. */
function apply(ram: PhysicalMemory, model: Model, o: Op): void {
  switch (o.kind) {
    case 'load':
      if (
        o.size === 8 &&
        model.installed(o.address, 8) &&
        model.load(o.address + 4, 4) >= 2 ** 21
      ) {
        expect(() => ram.load64(o.address)).toThrow(RangeError);
      } else {
        expect(load(ram, o.address, o.size)).toBe(model.load(o.address, o.size));
      }
      return;
    case 'store': {
      // 64-bit values must be safe integers: widen the drawn 32 bits to 48.
      const value = o.size === 8 ? o.value * 2 ** 16 + 0x1234 : o.value;
      store(ram, o.address, o.size, value);
      model.store(o.address, o.size, value);
      return;
    }
    case 'read':
      expectSameBytes(
        ram.readBytes(o.address, o.length),
        model.bytes.subarray(o.address, o.address + o.length),
      );
      return;
    case 'write':
      ram.writeBytes(o.address, o.data);
      if (o.data.length > 0) model.bytes.set(o.data, o.address); // an empty write may name any address
      return;
    case 'fill':
      ram.fill(o.address, o.length, o.byte);
      model.bytes.fill(o.byte, o.address, o.address + o.length);
      return;
    case 'copy':
      ram.copy(o.destination, o.source, o.length);
      model.bytes.copyWithin(o.destination, o.source, o.source + o.length);
      return;
    case 'isZero':
      expect(ram.isZero(o.address, o.length)).toBe(
        model.bytes.subarray(o.address, o.address + o.length).every((b) => b === 0),
      );
  }
}

function inRange(o: Op, model: Model): boolean {
  switch (o.kind) {
    case 'load':
    case 'store':
      return model.installed(o.address, o.size);
    case 'write':
      return model.installed(o.address, o.data.length);
    case 'copy':
      return model.installed(o.source, o.length) && model.installed(o.destination, o.length);
    default:
      return model.installed(o.address, o.length);
  }
}

describe('PhysicalMemory against a flat reference model', () => {
  it('random loads, stores, fills and copies of all widths agree; faults change nothing', () => {
    fc.assert(
      fc.property(fc.array(op, { minLength: 1, maxLength: 40 }), (ops) => {
        const ram = new PhysicalMemory([LOW, HIGH]);
        const model = new Model();
        for (const o of ops) {
          if (inRange(o, model)) {
            apply(ram, model, o);
          } else {
            expect(() => apply(ram, model, o)).toThrow(MachineCheckError);
          }
        }
        expectSameBytes(ram.readBytes(LOW.base, LOW.length), model.bytes.subarray(0, LOW.length));
        expectSameBytes(ram.readBytes(HIGH.base, HIGH.length), model.bytes.subarray(HIGH.base));
      }),
      { numRuns: 150 },
    );
  });

  it('copies within and between chunks agree with copyWithin, for every alignment and size', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 3 * RAM_CHUNK_SIZE - 1 }),
        fc.integer({ min: 0, max: 3 * RAM_CHUNK_SIZE - 1 }),
        fc.constantFrom(1, 3, 8, 64, 256, 1020, 1024, 1028, 4096, 5000),
        (source, destination, length) => {
          fc.pre(
            source + length <= 3 * RAM_CHUNK_SIZE && destination + length <= 3 * RAM_CHUNK_SIZE,
          );
          const ram = PhysicalMemory.flat(3 * RAM_CHUNK_SIZE);
          const model = Uint8Array.from(
            { length: 3 * RAM_CHUNK_SIZE },
            (_, i) => (i * 13 + 5) & 0xff,
          );
          ram.writeBytes(0, model);
          ram.copy(destination, source, length);
          model.copyWithin(destination, source, source + length);
          expectSameBytes(ram.readBytes(0, model.length), model);
        },
      ),
      { numRuns: 60 },
    );
  });

  it('a 64-bit load outside RAM is a machine check, whatever the word inside RAM holds', () => {
    const ram = new PhysicalMemory([LOW, HIGH]);
    ram.writeBytes(3, Uint8Array.from([0, 0, 32])); // the word at 3 is 2^21: too big for load64
    expect(() => ram.load64(-1)).toThrow(MachineCheckError);
    ram.writeBytes(11, Uint8Array.from([0, 0, 32]));
    expect(() => ram.load64(7)).toThrow(RangeError); // in RAM, the high word too big
  });

  it('stores that would straddle the hole are all-or-nothing', () => {
    const ram = new PhysicalMemory([LOW, HIGH]);
    for (const size of [2, 4, 8]) {
      expect(() => store(ram, LOW.length - 1, size, 0xffff)).toThrow(MachineCheckError);
      expect(ram.load8(LOW.length - 1)).toBe(0);
    }
  });

  it('reads untouched memory as zeros without host memory, and gives it back on zero-fill', () => {
    const ram = PhysicalMemory.flat(64 * GiB);
    expect(ram.load32(63 * GiB)).toBe(0);
    expect(ram.hostBytes).toBe(0);
    ram.store8(63 * GiB, 1);
    expect(ram.hostBytes).toBe(RAM_CHUNK_SIZE);
    ram.fill(63 * GiB, RAM_CHUNK_SIZE, 0);
    expect(ram.hostBytes).toBe(0);
    expect(ram.load8(63 * GiB)).toBe(0);
  });

  it('raises a machine check in the PCI hole and above the top of RAM', () => {
    const map = generateMemoryMap(8 * GiB);
    const ram = new PhysicalMemory(map.installed);
    expect(ram.installedBytes).toBe(8 * GiB);
    for (const a of [PCI_HOLE_START, PCI_HOLE_END - 4, ram.top, -4]) {
      expect(() => ram.load32(a)).toThrow(MachineCheckError);
      expect(() => ram.store8(a, 1)).toThrow(MachineCheckError);
    }
    expect(() => ram.readBytes(PCI_HOLE_START - 2, 4)).toThrow(/machine check/);
    ram.store32(PCI_HOLE_END, 5);
    expect(ram.load32(PCI_HOLE_END)).toBe(5);
  });

  it('rejects fractional addresses instead of rounding them', () => {
    const ram = PhysicalMemory.flat(RAM_CHUNK_SIZE);
    expect(() => ram.load8(1.5)).toThrow(MachineCheckError);
    expect(() => ram.load32(4.5)).toThrow(MachineCheckError);
    expect(() => ram.store32(8.25, 1)).toThrow(MachineCheckError);
  });

  it('64-bit values: halves, the 2^53 limit and bad values', () => {
    const ram = PhysicalMemory.flat(RAM_CHUNK_SIZE);
    ram.store64(8, 2 ** 52 + 3);
    expect(ram.load32(8)).toBe(3);
    expect(ram.load32(12)).toBe(2 ** 20);
    expect(ram.load64(8)).toBe(2 ** 52 + 3);
    ram.store32(20, 2 ** 21);
    expect(() => ram.load64(16)).toThrow(RangeError);
    expect(() => ram.store64(0, -1)).toThrow(/not a non-negative safe integer/);
    expect(() => ram.store64(0, 2 ** 53)).toThrow(/not a non-negative safe integer/);
  });

  it('rejects unaligned and overlapping module ranges', () => {
    expect(() => new PhysicalMemory([{ base: 4096, length: RAM_CHUNK_SIZE }])).toThrow(/aligned/);
    expect(
      () =>
        new PhysicalMemory([
          { base: 0, length: 2 * RAM_CHUNK_SIZE },
          { base: RAM_CHUNK_SIZE, length: RAM_CHUNK_SIZE },
        ]),
    ).toThrow(/overlaps/);
  });
});

describe('pageWordsAt', () => {
  const PAGE = 4 * KiB;

  it('is a view of the 1024 words of a page, kept until its chunk is released', () => {
    const ram = PhysicalMemory.flat(2 * RAM_CHUNK_SIZE);
    const released: [number, number][] = [];
    ram.addBackingObserver({ backingReleased: (base, length) => released.push([base, length]) });
    const page = RAM_CHUNK_SIZE + 3 * PAGE;
    expect(ram.pageWordsAt(page)).toBeUndefined(); // never written: no host memory yet
    ram.store32(page + 8, 0xdeadbeef);
    ram.store32(8, 1); // another chunk gets host memory: no view was taken from it, none goes
    expect(released).toEqual([]);
    const words = ram.pageWordsAt(page + 100);
    expect(words).toHaveLength(PAGE / 4);
    expect(words![2]! >>> 0).toBe(0xdeadbeef);
    words![3] = 7; // writes through to RAM
    expect(ram.load32(page + 12)).toBe(7);
    expect(ram.pageWordsAt(page + PAGE - 1)).toBe(words); // the same view, not a new one
    expect(ram.pageWordsAt(page + PAGE)).not.toBe(words);
    ram.fill(RAM_CHUNK_SIZE, RAM_CHUNK_SIZE, 0); // the whole chunk zero: host memory released
    expect(released).toEqual([[RAM_CHUNK_SIZE, RAM_CHUNK_SIZE]]);
    expect(ram.pageWordsAt(page)).toBeUndefined();
    ram.store32(page, 1);
    expect(ram.pageWordsAt(page)).not.toBe(words);
    expect(ram.pageWordsAt(page)![0]).toBe(1);
  });
});
