import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PageTraceError, parsePageTrace } from '../../src/replacement/page-trace.js';

describe('parsePageTrace', () => {
  it('takes the first number of each line, skipping comments and blank lines', () => {
    const trace = parsePageTrace(
      '# a comment\n1006\n\n  1007 17 0.25\r\n\t# indented comment\n1006\n1008,3,R\n',
    );
    expect([...trace.pages]).toEqual([0, 1, 0, 2]);
    expect(trace.distinct).toBe(3);
  });

  it('skips a UTF-8 byte-order mark', () => {
    expect(parsePageTrace('\uFEFF7\n8\n')).toEqual(parsePageTrace('7\n8\n'));
  });

  it('reads bytes as it reads text', () => {
    const text = '5\n9\n5\n';
    expect(parsePageTrace(new TextEncoder().encode(text))).toEqual(parsePageTrace(text));
  });

  it('renumbers pages densely in order of first reference, keeping the reference pattern', () => {
    fc.assert(
      fc.property(fc.array(fc.nat({ max: Number.MAX_SAFE_INTEGER })), (pages) => {
        const trace = parsePageTrace(pages.join('\n'));
        expect(trace.pages.length).toBe(pages.length);
        expect(trace.distinct).toBe(new Set(pages).size);
        const first = new Map<number, number>();
        pages.forEach((page, t) => {
          if (!first.has(page)) first.set(page, first.size);
          expect(trace.pages[t]).toBe(first.get(page));
        });
      }),
    );
  });

  it.each([
    ['12\nabc\n', 2, '"abc" is not a page number'],
    ['1\n2\n-3\n', 3, '"-3" is not a page number'],
    ['7x 1\n', 1, '"7x 1" is not a page number'],
    ['0x10\n', 1, '"0x10" is not a page number'],
    ['1\n\n99999999999999999999\n', 3, 'page number "99999999999999999999" is too large'],
  ])('rejects %j at line %i', (text, line, reason) => {
    let error: unknown;
    try {
      parsePageTrace(text);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(PageTraceError);
    expect((error as PageTraceError).line).toBe(line);
    expect((error as PageTraceError).message).toBe(`line ${line}: ${reason}`);
  });

  it('accepts an empty trace', () => {
    expect(parsePageTrace('# nothing\n\n')).toEqual({ pages: new Int32Array(0), distinct: 0 });
  });
});
