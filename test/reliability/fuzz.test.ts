/**
 * Fuzzing with fast-check: every input a user or program can hand the library's edges — trace
 * text, size and address strings, command-line values, system-call arguments of any JS type —
 * gets either a valid result or the documented typed error, never anything else.
 */
import { InvalidArgumentError as CommanderArgumentError } from 'commander';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { integerArgument, sizeArgument } from '../../src/cli/arguments.js';
import { InvalidArgumentError } from '../../src/errors.js';
import { formatAddress, isCanonical, parseAddress, USER_TOP } from '../../src/hw/address.js';
import { PAGE_SIZE } from '../../src/hw/constants.js';
import { formatSize, parseSize } from '../../src/hw/size.js';
import { ProcessTermination } from '../../src/kernel/errors.js';
import { Machine } from '../../src/kernel/machine.js';
import { parseTrace, type Trace, TraceFormatError } from '../../src/trace/parse.js';
import {
  DIRECT_MAP_BASE,
  KERNEL_IMAGE_VA,
  STACK_TOP,
  VMALLOC_BASE,
} from '../../src/virtual/layout.js';
import { EXAMPLE_TRACE } from '../example-trace.js';

/** What a parser may do with any input: return, or throw exactly `errorClass`. */
function outcome<T>(
  parse: () => T,
  errorClass: abstract new (...args: never[]) => Error,
): T | Error {
  try {
    return parse();
  } catch (error) {
    expect(error).toBeInstanceOf(errorClass);
    return error as Error;
  }
}

/** Text near a valid trace: lines dropped, duplicated, or spliced with random text. */
const nearTrace = fc
  .tuple(fc.nat({ max: 12 }), fc.nat({ max: 12 }), fc.string({ maxLength: 12 }), fc.boolean())
  .map(([at, drop, insert, keepNewline]) => {
    const lines = EXAMPLE_TRACE.split('\n');
    lines.splice(at, drop % 2, insert);
    const text = lines.join('\n');
    return keepNewline || text.endsWith('\n') ? text : `${text}\n`;
  });

describe('the trace parser', () => {
  it('arbitrary text: a Trace or a TraceFormatError, nothing else', () => {
    const text = fc.oneof(
      fc.string({ unit: 'binary', maxLength: 200 }),
      fc.string({ unit: 'grapheme-ascii', maxLength: 200 }),
      nearTrace,
    );
    fc.assert(
      fc.property(text, (input) => {
        const result = outcome(() => parseTrace(input), TraceFormatError);
        if (result instanceof TraceFormatError) {
          expect(result.code).toBe('TRACE_FORMAT');
          expect(Number.isInteger(result.line) && result.line >= 1).toBe(true);
          return;
        }
        const trace = result as Trace;
        expect(trace.kinds.length).toBe(trace.ops);
      }),
      { numRuns: 3000 },
    );
  });
});

describe('sizes and addresses', () => {
  const sizeText = fc.oneof(
    fc.string({ maxLength: 16 }),
    fc
      .tuple(
        fc.oneof(fc.nat(), fc.double({ min: 0, max: 1e6, noNaN: true })),
        fc.constantFrom('', 'K', 'M', 'G', 'T', 'k', 'KB', 'KiB', 'x', ' M', 'MiB '),
      )
      .map(([n, unit]) => `${n}${unit}`),
  );

  it('parseSize: a safe, non-negative integer or an InvalidArgumentError', () => {
    fc.assert(
      fc.property(fc.oneof(sizeText, fc.double(), fc.integer()), (input) => {
        const result = outcome(() => parseSize(input), InvalidArgumentError);
        if (typeof result === 'number') {
          expect(Number.isSafeInteger(result) && result >= 0).toBe(true);
        }
      }),
      { numRuns: 3000 },
    );
  });

  it('parseSize reads back what formatSize writes', () => {
    fc.assert(
      fc.property(fc.nat({ max: 8191 }), fc.constantFrom(0, 10, 20, 30, 40), (n, shift) => {
        const bytes = n * 2 ** shift;
        expect(parseSize(formatSize(bytes))).toBe(bytes);
      }),
    );
  });

  it('parseAddress: a canonical address or an InvalidArgumentError', () => {
    const input = fc.oneof(
      fc.string({ maxLength: 24 }),
      fc.bigInt({ min: -(2n ** 64n), max: 2n ** 65n }).map((n) => `0x${n.toString(16)}`),
      fc.bigInt({ min: -(2n ** 63n), max: 2n ** 64n - 1n }),
      fc.double(),
      fc.integer(),
    );
    fc.assert(
      fc.property(input, (value) => {
        let result: number | Error;
        try {
          result = parseAddress(value);
        } catch (error) {
          // bigints outside 64 bits are documented to be rejected as well
          expect(error).toBeInstanceOf(InvalidArgumentError);
          return;
        }
        expect(isCanonical(result)).toBe(true);
      }),
      { numRuns: 3000 },
    );
  });

  it('parseAddress reads back what formatAddress writes', () => {
    const canonical = fc.oneof(
      fc.integer({ min: 0, max: USER_TOP - 1 }),
      fc.integer({ min: -USER_TOP, max: -1 }),
    );
    fc.assert(
      fc.property(canonical, (va) => {
        expect(parseAddress(formatAddress(va))).toBe(va);
      }),
    );
  });

  it("the CLI's --memory and integer options: a value or commander's usage error", () => {
    fc.assert(
      fc.property(fc.oneof(sizeText, fc.string({ maxLength: 12 })), (text) => {
        for (const parse of [sizeArgument, integerArgument]) {
          const result = outcome(() => parse(text), CommanderArgumentError);
          if (typeof result === 'number') expect(Number.isSafeInteger(result)).toBe(true);
        }
      }),
      { numRuns: 2000 },
    );
  });
});

describe('the system-call interface', () => {
  const NAMES = [
    'getpid',
    'getppid',
    'brk',
    'sbrk',
    'mmap',
    'munmap',
    'mprotect',
    'mremap',
    'write',
    'read',
    'wait',
    'waitpid',
    'wait4',
    'fork',
    'exit',
  ];
  const interesting = fc.constantFrom(
    0,
    -1,
    1,
    3,
    0x22,
    PAGE_SIZE,
    PAGE_SIZE + 1,
    0x400000,
    0x10000,
    STACK_TOP - 8,
    USER_TOP - 4,
    USER_TOP,
    2 ** 32,
    2 ** 40,
    2 ** 53,
    -(2 ** 53),
    DIRECT_MAP_BASE,
    VMALLOC_BASE,
    KERNEL_IMAGE_VA,
    Number.NaN,
    Number.POSITIVE_INFINITY,
    -0,
    0.5,
  );
  const argument = fc.oneof(
    { weight: 4, arbitrary: interesting },
    { weight: 2, arbitrary: fc.integer() },
    { weight: 1, arbitrary: fc.double() },
    { weight: 1, arbitrary: fc.bigInt() },
    { weight: 1, arbitrary: fc.anything() },
  );
  const call = fc.tuple(
    fc.oneof({ weight: 9, arbitrary: fc.constantFrom(...NAMES) }, fc.string({ maxLength: 8 })),
    fc.array(argument, { maxLength: 6 }),
  );

  it('arbitrary arguments of any JS type: always a number, never an oops, check() holds', () => {
    const machine = Machine.boot({ memory: '16M' });
    fc.assert(
      fc.property(fc.array(call, { minLength: 1, maxLength: 8 }), (calls) => {
        const results: unknown[] = [];
        /** Calls that threw, other than exit: kept here, as an assertion failing after exit
         * would go unseen (the process has ended). */
        const thrown: string[] = [];
        const oopsesBefore = machine.oopses.length;
        machine.spawn((ctx) => {
          const mapped = ctx.mmap(0, PAGE_SIZE, 3, 0x22);
          ctx.store32(mapped, 1);
          for (const [name, args] of calls) {
            try {
              results.push(ctx.syscall(name, ...args));
            } catch (error) {
              // exit ends the process: that is the one call that does not return
              if (!(error instanceof ProcessTermination) || name !== 'exit')
                thrown.push(`${name}: ${String(error)}`);
              return;
            }
          }
        });
        machine.run();
        expect(thrown).toEqual([]);
        expect(machine.oopses.slice(oopsesBefore).map((o) => o.message)).toEqual([]);
        for (const result of results) expect(Number.isInteger(result)).toBe(true);
        machine.check();
        machine.dropCaches();
        expect(machine.frames.freeFrames).toBe(machine.bootFreeFrames);
      }),
      { numRuns: 5000 },
    );
  });
});
