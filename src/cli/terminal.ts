/**
 * Output for people: colour (only on a TTY, never with NO_COLOR), aligned tables (cli-table3)
 * and progress bars (cli-progress, on stderr, only on a TTY and only once a task has run for a
 * second, so quick commands and piped output stay clean).
 */
import { Presets, SingleBar } from 'cli-progress';
import Table from 'cli-table3';
import { SIGABRT, SIGKILL, SIGSEGV } from '../linux-abi.js';

/** Colour codes used for emphasis; nothing else is coloured. */
const ANSI = { bold: 1, red: 31, green: 32, yellow: 33, cyan: 36, dim: 2 } as const;
type Colour = keyof typeof ANSI;

/** A task must run this long before its progress bar appears. */
const PROGRESS_DELAY_MS = 1000;

/** Whether text written to `stream` may be coloured. */
export function colourAllowed(stream: NodeJS.WriteStream): boolean {
  return stream.isTTY === true && process.env.NO_COLOR === undefined;
}

/** Paints text for stdout when stdout allows colour, else returns it unchanged. */
export class Painter {
  constructor(readonly enabled: boolean = colourAllowed(process.stdout)) {}

  /** `text` in `colour` (unchanged when colour is off). */
  paint(colour: Colour, text: string): string {
    return this.enabled ? `\x1b[${ANSI[colour]}m${text}\x1b[0m` : text;
  }

  /** A section heading. */
  heading(text: string): string {
    return this.paint('bold', `== ${text} ==`);
  }
}

/** Which columns are numbers (right-aligned). */
export type Alignment = ('left' | 'right')[];

/** An aligned table with a header row, as text. */
export function formatTable(
  painter: Painter,
  head: string[],
  rows: (string | number)[][],
  align: Alignment = [],
): string {
  const table = new Table({
    head,
    colAligns: align,
    // compact: no rule between rows, only under the header.
    style: {
      head: painter.enabled ? ['cyan'] : [],
      border: painter.enabled ? ['grey'] : [],
      compact: true,
    },
  });
  for (const row of rows) table.push(row.map(String));
  return table.toString();
}

const SIGNAL_NAMES: Record<number, string> = {
  [SIGABRT]: 'SIGABRT',
  [SIGKILL]: 'SIGKILL',
  [SIGSEGV]: 'SIGSEGV',
};

/** A signal number by its name (`SIGSEGV`), as a shell reports how a process died. */
export function signalName(signal: number): string {
  return SIGNAL_NAMES[signal] ?? `signal ${signal}`;
}

/** A number with thousands separators, as people read counts. */
export function formatCount(n: number): string {
  return n.toLocaleString('en-US');
}

/**
 * Progress of a task of `total` units on stderr. Nothing is drawn unless stderr is a TTY and
 * the task is still going after {@link PROGRESS_DELAY_MS}; `update` is cheap when hidden.
 */
export class Progress {
  private bar: SingleBar | null = null;
  private readonly started = performance.now();
  private readonly enabled = process.stderr.isTTY === true;

  constructor(
    private readonly label: string,
    private total: number,
  ) {}

  /** Reports `done` units finished; `total` changes the goal (for tasks that discover work). */
  update(done: number, total = this.total): void {
    this.total = total;
    if (!this.enabled) return;
    if (this.bar === null) {
      if (performance.now() - this.started < PROGRESS_DELAY_MS) return;
      this.bar = new SingleBar(
        {
          format: `${this.label} [{bar}] {percentage}% | {value}/{total}`,
          stream: process.stderr,
          hideCursor: true,
          clearOnComplete: true,
        },
        Presets.shades_classic,
      );
      this.bar.start(this.total, done);
    }
    this.bar.setTotal(total);
    this.bar.update(done);
  }

  /** Removes the bar, if it was drawn. */
  stop(): void {
    this.bar?.stop();
    this.bar = null;
  }
}
