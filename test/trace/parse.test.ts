import { describe, expect, it } from 'vitest';
import { OP_CALLOC, OP_MEMALIGN, parseTrace, TraceFormatError } from '../../src/trace/parse.js';

const EXAMPLE = `# wallos-trace v1
# program: example (v=1)
# ops: 6
# peak_live_bytes: 4264
# threads: 1
# some_future_key: ignored
a 1 100
c 2 4 16
m 3 64 4000
r 1 200
f 2
f 1
`;

/** The example with `from` replaced by `to`. */
function variant(from: string, to: string): string {
  expect(EXAMPLE).toContain(from);
  return EXAMPLE.replace(from, to);
}

function expectRejected(text: string, line: number, reason: RegExp): void {
  try {
    parseTrace(text);
  } catch (error) {
    expect(error).toBeInstanceOf(TraceFormatError);
    expect((error as TraceFormatError).line).toBe(line);
    expect((error as Error).message).toMatch(reason);
    return;
  }
  throw new Error('the trace was accepted');
}

describe('parseTrace', () => {
  it('reads the example of docs/trace-format.md: header keys and ops', () => {
    const trace = parseTrace(EXAMPLE);
    expect(trace.program).toBe('example (v=1)');
    expect(trace.ops).toBe(6);
    expect(trace.peakLiveBytes).toBe(4264);
    expect(trace.threads).toBe(1);
    expect(trace.objects).toBe(3);
    expect(trace.header.get('some_future_key')).toBe('ignored');
    expect(trace.kinds[1]).toBe(OP_CALLOC);
    expect([trace.arg1[1], trace.arg2[1]]).toEqual([4, 16]);
    expect(trace.kinds[2]).toBe(OP_MEMALIGN);
    expect([trace.ids[2], trace.arg1[2], trace.arg2[2]]).toEqual([3, 64, 4000]);
    expect([trace.ids[3], trace.arg1[3]]).toEqual([1, 200]);
  });

  it('accepts header keys in any order after the first line', () => {
    const reordered = variant(
      '# program: example (v=1)\n# ops: 6\n',
      '# ops: 6\n# program: example (v=1)\n',
    );
    expect(parseTrace(reordered).ops).toBe(6);
  });

  it('accepts several note lines (joined) but not a second value of a required key', () => {
    const notes = variant('# threads: 1\n', '# threads: 1\n# note: first\n# note: second\n');
    expect(parseTrace(notes).header.get('note')).toBe('first\nsecond');
    expectRejected(variant('# threads: 1\n', '# threads: 1\n# ops: 6\n'), 6, /appears twice/);
  });

  it.each([
    ['a wrong first line', variant('# wallos-trace v1', '# wallos-trace v2'), 1, /first line/],
    ['a missing final newline', EXAMPLE.slice(0, -1), 12, /end with/],
    ['a carriage return', variant('f 2\n', 'f 2\r\n'), 11, /\\r/],
    ['a tab', variant('a 1 100', 'a 1\t100'), 7, /control/],
    ['non-ASCII', variant('example', 'exämple'), 2, /ASCII/],
    ['a blank line', variant('f 2\n', 'f 2\n\n'), 12, /blank/],
    ['a header after the ops', variant('f 2\n', 'f 2\n# late: 1\n'), 12, /header line after/],
    ['a malformed header line', variant('# threads: 1', '#threads: 1'), 5, /KEY: VALUE/],
    ['a missing key', variant('# threads: 1\n', ''), 5, /threads/],
    ['a non-decimal ops', variant('# ops: 6', '# ops: six'), 1, /ops must be a decimal/],
    ['a wrong op count', variant('# ops: 6', '# ops: 7'), 12, /ops: 7/],
    ['a wrong peak', variant('# peak_live_bytes: 4264', '# peak_live_bytes: 4265'), 12, /peak/],
    ['an unknown op', variant('f 2', 'x 2'), 11, /unknown op/],
    ['an uppercase op', variant('f 2', 'F 2'), 11, /lowercase/],
    ['a leading zero', variant('a 1 100', 'a 1 0100'), 7, /leading zeros/],
    ['a sign', variant('a 1 100', 'a 1 +100'), 7, /decimal/],
    ['two spaces', variant('a 1 100', 'a 1  100'), 7, /decimal/],
    ['a trailing space', variant('f 1\n', 'f 1 \n'), 12, /decimal/],
    ['a missing field', variant('c 2 4 16', 'c 2 4'), 8, /3 fields/],
    ['an extra field', variant('f 2', 'f 2 3'), 11, /1 fields/],
    ['a skipped id', variant('c 2 4 16', 'c 3 4 16'), 8, /expected 2/],
    ['a reused id', variant('m 3 64 4000', 'm 2 64 4000'), 9, /expected 3/],
    ['a free of a dead id', variant('f 1\n', 'f 2\n'), 12, /not live/],
    ['a realloc of an unknown id', variant('r 1 200', 'r 9 200'), 10, /not live/],
    ['realloc to zero', variant('r 1 200', 'r 1 0'), 10, /written as f/],
    ['an alignment not a power of two', variant('m 3 64 4000', 'm 3 48 4000'), 9, /power of two/],
    ['a number beyond 2^53', variant('a 1 100', 'a 1 99999999999999999'), 7, /decimal/],
  ])('rejects %s with its line number', (_what, text, line, reason) => {
    expectRejected(text, line, reason);
  });

  it('checks the objects header when present', () => {
    const text = variant('# threads: 1\n', '# threads: 1\n# objects: 4\n');
    expectRejected(text, 13, /objects/);
  });
});
