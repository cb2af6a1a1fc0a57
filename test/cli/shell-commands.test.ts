/** The shell's command table: `help` is made from it, and calls are checked against it. */
import { describe, expect, it } from 'vitest';
import { SHELL_COMMANDS, Shell } from '../../src/cli/shell.js';
import { commandName, ShellError } from '../../src/cli/shell-command.js';
import { Machine } from '../../src/kernel/machine.js';

function freshShell(): Shell {
  return new Shell(Machine.boot({ memory: '32M' }), 32 * 1024 * 1024);
}

/** The error `line` gives in a fresh shell (fails the test when it gives none). */
function errorOf(line: string): Error {
  try {
    freshShell().execute(line);
  } catch (error) {
    return error as Error;
  }
  throw new Error(`'${line}' did not fail`);
}

describe('shell command table', () => {
  it('help lists every command, with its usage line and help line', () => {
    const help = freshShell().execute('help');
    const lines = help.split('\n');
    for (const command of SHELL_COMMANDS) {
      const line = lines.find((l) => l.trimStart().startsWith(`${command.usage} `));
      expect(line, command.usage).toBeDefined();
      expect(line!.endsWith(command.help)).toBe(true);
      for (const alias of command.aliases ?? []) expect(line).toContain(alias);
    }
    expect(lines.filter((l) => l.startsWith('  '))).toHaveLength(SHELL_COMMANDS.length);
  });

  it('names each command once', () => {
    const names = SHELL_COMMANDS.flatMap((c) => [commandName(c), ...(c.aliases ?? [])]);
    expect(new Set(names).size).toBe(names.length);
  });

  it('an unknown command is a clear error that points at help', () => {
    const error = errorOf('frobnicate 1 2');
    expect(error).toBeInstanceOf(ShellError);
    expect(error.message).toBe("unknown command 'frobnicate' (try 'help')");
  });

  it('a call with too many or too few arguments quotes the usage line', () => {
    for (const command of SHELL_COMMANDS) {
      if (command.ignoresArguments) continue;
      const name = commandName(command);
      const parameters = command.usage.split(' ').slice(1);
      const required = parameters.filter((p) => !p.startsWith('[')).length;
      const tooMany = [name, ...parameters.map(() => '1'), '1'].join(' ');
      expect(errorOf(tooMany).message).toBe(`usage: ${command.usage}`);
      if (required > 0) {
        const tooFew = [name, ...Array(required - 1).fill('1')].join(' ');
        expect(errorOf(tooFew).message).toBe(`usage: ${command.usage}`);
      }
    }
  });

  it('exit and its alias quit end the session, whatever follows them', () => {
    for (const line of ['exit', 'quit', 'exit 0']) {
      const shell = freshShell();
      expect(shell.execute(line)).toBe('');
      expect(shell.done).toBe(true);
    }
  });
});
