import { spawn } from 'node:child_process';
import fc from 'fast-check';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { integerArgument, positiveIntegerArgument, sizeArgument } from '../../src/cli/arguments.js';
import { formatBench } from '../../src/cli/bench.js';
import { parseThenCommands } from '../../src/cli/run.js';
import { colourAllowed, formatTable, Painter } from '../../src/cli/terminal.js';
import { BINARY, ensureBuilt, ROOT } from './helpers.js';

const tty = { isTTY: true } as NodeJS.WriteStream;
const pipe = { isTTY: false } as NodeJS.WriteStream;
const savedNoColor = process.env.NO_COLOR;

afterEach(() => {
  if (savedNoColor === undefined) delete process.env.NO_COLOR;
  else process.env.NO_COLOR = savedNoColor;
});

describe('colour', () => {
  it('only on a TTY, and never with NO_COLOR (whatever its value)', () => {
    delete process.env.NO_COLOR;
    expect([colourAllowed(tty), colourAllowed(pipe)]).toEqual([true, false]);
    process.env.NO_COLOR = '';
    expect(colourAllowed(tty)).toBe(false);
  });

  it('a painter without colour leaves text and tables free of escape codes', () => {
    const painter = new Painter(false);
    expect(painter.paint('red', 'x')).toBe('x');
    expect(formatTable(painter, ['A', 'B'], [[1, 'two']])).not.toContain('\x1b');
    expect(new Painter(true).paint('red', 'x')).toBe('\x1b[31mx\x1b[0m');
  });
});

describe('option values', () => {
  it('integers: exactly the decimal digit strings of safe integers', () => {
    fc.assert(
      fc.property(fc.string(), (text) => {
        const valid = /^\d+$/.test(text) && Number.isSafeInteger(Number(text));
        if (valid) expect(integerArgument(text)).toBe(Number(text));
        else expect(() => integerArgument(text)).toThrow();
      }),
    );
    expect(() => positiveIntegerArgument('0')).toThrow(/at least 1/);
  });

  it('sizes take K/M/G suffixes and reject the rest', () => {
    expect(sizeArgument('256M')).toBe(256 * 2 ** 20);
    expect(() => sizeArgument('12Q')).toThrow(/12Q/);
  });

  it('--then takes only proc commands', () => {
    expect(
      parseThenCommands(['proc /proc/buddyinfo', '  proc  /proc/1/maps ', 'proc meminfo']),
    ).toEqual(['/proc/buddyinfo', '/proc/1/maps', 'meminfo']);
    for (const bad of ['ls /', 'proc', 'cat meminfo', 'proc /proc/a /proc/b']) {
      expect(() => parseThenCommands([bad])).toThrow(/expected 'proc/);
    }
  });
});

describe('the bench table', () => {
  it('puts each row beside the native reference, and each in-process row beside our flat row', () => {
    const row = (workload: string, implementation: string, nsPerOp: number) => ({
      workload,
      implementation,
      nsPerOp,
      opsPerSec: 1e9 / nsPerOp,
    });
    const table = formatBench(
      [
        row('H1', 'wallos-memory', 40),
        row('H1', 'wallos-memory/process', 100),
        row('H1', 'native-ref', 20),
        row('S1', 'wallos-memory', 30),
      ],
      new Painter(false),
      { native: true },
    );
    const line = (implementation: string) =>
      table.split('\n').find((l) => l.includes(`│ ${implementation} `))!;
    expect(line('wallos-memory')).toMatch(/│ +2\.00× │ +│$/);
    expect(line('wallos-memory/process')).toMatch(/│ +5\.00× │ +2\.50× │$/);
    expect(line('native-ref')).toMatch(/│ +1\.00× │ +│$/);
    expect(table).toMatch(/│ S1 +│ wallos-memory +│ +30\.0 │ +33,333,333 │ +│ +│/);
  });

  it('says in one line that the native reference is absent when no row of it was measured', () => {
    const rows = [
      { workload: 'S1', implementation: 'wallos-memory', nsPerOp: 30, opsPerSec: 1e9 / 30 },
    ];
    const absent = formatBench(rows, new Painter(false), { native: true })
      .split('\n')
      .filter((line) => line.includes('native-ref'));
    expect(absent).toEqual([expect.stringMatching(/^native-ref absent: .*WALLOS_NATIVE_REF/)]);
    const native = { ...rows[0]!, implementation: 'native-ref', nsPerOp: 10 };
    const present = formatBench([...rows, native], new Painter(false), { native: true });
    expect(present).not.toContain('absent');
  });

  it('sets VM-fault against the native pagefault, and says so in one line when it is missing', () => {
    const row = (implementation: string, nsPerOp: number) => ({
      workload: 'VM-fault',
      implementation,
      nsPerOp,
      opsPerSec: 1e9 / nsPerOp,
    });
    const ours = row('wallos-memory', 3000);
    const withFault = formatBench([ours, row('native-ref', 1500)], new Painter(false), {
      native: true,
    });
    const line = withFault.split('\n').find((l) => l.includes('│ wallos-memory '))!;
    expect(line).toMatch(/│ +2\.00× │ +│$/);
    const s1 = { workload: 'S1', implementation: 'native-ref', nsPerOp: 10, opsPerSec: 1e8 };
    const missing = formatBench([ours, s1], new Painter(false), { native: true })
      .split('\n')
      .filter((l) => l.includes('pagefault'));
    expect(missing).toEqual(['native-ref has no pagefault: VM-fault has no native row.']);
  });
});

describe('the shell under a terminal', () => {
  beforeAll(() => {
    ensureBuilt();
  });

  /**
   * `wallos-mem shell` on a pseudo-terminal, made by util-linux `script` (stdin is a TTY, so
   * the shell prompts and reads keys as a person types them).
   */
  function terminal() {
    const command = `${JSON.stringify(process.execPath)} ${JSON.stringify(BINARY)} shell --memory 32M`;
    const child = spawn('script', ['-qec', command, '/dev/null'], {
      cwd: ROOT,
      env: { ...process.env, NO_COLOR: '1', TERM: 'dumb' },
    });
    let screen = '';
    child.stdout.on('data', (chunk: Buffer) => {
      screen += chunk.toString();
    });
    const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
    /** Waits until the output after `from` matches `pattern`; returns the end of the match. */
    const waitFor = async (pattern: RegExp, from = 0): Promise<number> => {
      for (;;) {
        const match = pattern.exec(screen.slice(from));
        if (match !== null) return from + match.index + match[0].length;
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    };
    return {
      type: (keys: string) => child.stdin.write(keys),
      waitFor,
      exited,
      screen: () => screen,
    };
  }

  it('Ctrl-C clears the line and keeps the machine; Ctrl-D leaves', async () => {
    const tty = terminal();
    let seen = await tty.waitFor(/wallos> /);
    tty.type('spawn a\r');
    seen = await tty.waitFor(/\[1\] a/, seen);
    tty.type('alloc 1 1');
    await tty.waitFor(/alloc 1 1/, seen);
    tty.type('\x03');
    seen = await tty.waitFor(/\^C[\s\S]*wallos> /, seen);
    // Had the line been kept, this would run `alloc 1 1ps`.
    tty.type('ps\r');
    seen = await tty.waitFor(/│ +1 │ +0 │ a +│ runnable/, seen);
    tty.type('history\r');
    const history = await tty.waitFor(/2 {2}ps/, seen);
    expect(tty.screen().slice(seen, history)).not.toContain('alloc');
    tty.type('\x04');
    expect(await tty.exited).toBe(0);
    expect(tty.screen()).not.toMatch(/error:/);
  });
});
