/**
 * What every shell command is: a usage line (which `help` lists and a wrong call quotes), a
 * help line, and one small handler. The families of commands (processes, memory, reclaim,
 * the session) each export a table of these; `Shell.execute` looks the first word up there.
 */
import { parseAddress } from '../hw/address.js';
import { parseSize } from '../hw/size.js';
import type { Machine } from '../kernel/machine.js';
import type { Residents } from './shell-residents.js';
import type { Painter } from './terminal.js';

/** A bad command: its message is printed and the shell goes on. */
export class ShellError extends Error {}

/** What a command's handler sees of the shell. */
export interface ShellSession {
  /** The machine the shell drives (`boot` replaces it). */
  readonly machine: Machine;
  readonly painter: Painter;
  /** The machine's resident processes, the ones commands can act inside. */
  readonly residents: Residents;
  /** The CPU whose TLB `tlb` shows. */
  cpu: number;
  /** The command lines so far, oldest first. */
  readonly history: readonly string[];
  /** Reboots a fresh machine with `memory` bytes (the current size unless given); its log. */
  boot(memory?: number): string;
  /** Ends the session. */
  end(): void;
}

/** One command of the shell. */
export interface ShellCommand {
  /**
   * The command's name and its arguments: `NAME` is required, `[NAME]` optional. The call is
   * checked against it before the handler runs (`usage: …` when the count is wrong).
   */
  readonly usage: string;
  /** What it does, in a line. */
  readonly help: string;
  /** Other names it answers to. */
  readonly aliases?: readonly string[];
  /** Takes no arguments and ignores any words after it (`exit 0` works, as in sh). */
  readonly ignoresArguments?: true;
  /** Runs it on the words after its name; returns what to print. @throws ShellError */
  run(session: ShellSession, args: string[]): string;
}

/** The name a command is called by: the first word of its usage. */
export function commandName(command: ShellCommand): string {
  return command.usage.split(' ')[0]!;
}

/** @throws ShellError `usage: …` unless `args` has as many words as `command`'s usage allows. */
export function checkArguments(command: ShellCommand, args: string[]): void {
  if (command.ignoresArguments) return;
  const parameters = command.usage.split(' ').slice(1);
  const required = parameters.filter((p) => !p.startsWith('[')).length;
  if (args.length < required || args.length > parameters.length) {
    throw new ShellError(`usage: ${command.usage}`);
  }
}

/** `help`: one line per command, usages in a column. */
export function formatHelp(commands: readonly ShellCommand[], footer: string): string {
  const width = Math.max(...commands.map((c) => c.usage.length)) + 2;
  const lines = commands.map((c) => `  ${c.usage.padEnd(width)}${c.help}`);
  return `commands:\n${lines.join('\n')}\n\n${footer}`;
}

export function pidArg(text: string): number {
  if (!/^\d+$/.test(text)) throw new ShellError(`'${text}' is not a pid`);
  return Number(text);
}

export function countArg(text: string): number {
  if (!/^\d+$/.test(text)) throw new ShellError(`'${text}' is not a count`);
  return Number(text);
}

export function sizeArg(text: string): number {
  return asShellError(() => parseSize(text));
}

export function addressArg(text: string): number {
  return asShellError(() => parseAddress(text));
}

/** `action`'s result; a library error it throws becomes a ShellError with the same message. */
export function asShellError<T>(action: () => T): T {
  try {
    return action();
  } catch (error) {
    throw new ShellError((error as Error).message);
  }
}
