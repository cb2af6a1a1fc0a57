/**
 * `wallos-mem shell`: a terminal on a live machine, in the spirit of WallOS's.
 *
 * Processes here live until killed: each is resident (shell-residents.ts), running the jobs a
 * command queues inside it. The commands come in families, each a table of small handlers:
 * processes (shell-process-commands.ts), looking at memory (shell-memory-commands.ts), reclaim
 * (shell-reclaim-commands.ts), and the session's own, below. `help` is made from the tables.
 */
import { createInterface, type Interface } from 'node:readline';
import { PAGE_SIZE } from '../hw/constants.js';
import { formatBytes } from '../hw/size.js';
import { Machine } from '../kernel/machine.js';
import {
  asShellError,
  checkArguments,
  commandName,
  formatHelp,
  type ShellCommand,
  ShellError,
  type ShellSession,
  sizeArg,
} from './shell-command.js';
import { MEMORY_COMMANDS } from './shell-memory-commands.js';
import { PROCESS_COMMANDS } from './shell-process-commands.js';
import { RECLAIM_COMMANDS } from './shell-reclaim-commands.js';
import { Residents } from './shell-residents.js';
import { Painter } from './terminal.js';

const HISTORY_SIZE = 1000;

const SESSION_COMMANDS: readonly ShellCommand[] = [
  {
    usage: 'boot [SIZE]',
    help: 'reboot a fresh machine',
    run: (session, [size]) => session.boot(size === undefined ? undefined : sizeArg(size)),
  },
  {
    usage: 'history',
    help: 'the commands so far',
    ignoresArguments: true,
    run: (session) =>
      session.history.map((entry, i) => `${String(i + 1).padStart(4)}  ${entry}`).join('\n'),
  },
  { usage: 'help', help: 'this text', ignoresArguments: true, run: () => HELP },
  {
    usage: 'exit',
    help: 'leave (or quit, or Ctrl-D; Ctrl-C clears the line)',
    aliases: ['quit'],
    ignoresArguments: true,
    run: (session) => {
      session.end();
      return '';
    },
  },
];

/** Every command, in the order `help` lists them. */
export const SHELL_COMMANDS: readonly ShellCommand[] = [
  ...PROCESS_COMMANDS,
  ...MEMORY_COMMANDS,
  ...RECLAIM_COMMANDS,
  ...SESSION_COMMANDS,
];

const HELP = formatHelp(
  SHELL_COMMANDS,
  'A script piped in runs to its end; the shell then exits 1 if any command failed.',
);

/** Each command under its name and its aliases. */
const COMMANDS_BY_NAME = new Map<string, ShellCommand>(
  SHELL_COMMANDS.flatMap((command) =>
    [commandName(command), ...(command.aliases ?? [])].map((name) => [name, command] as const),
  ),
);

/** The shell's state: the machine, its resident processes, the command history. */
export class Shell implements ShellSession {
  private readonly lines: string[] = [];
  private ended = false;
  private currentMachine: Machine;
  private currentResidents: Residents;
  cpu = 0;

  /** A shell on `machine`, which has `memoryBytes` of RAM (what `boot` reboots with). */
  constructor(
    machine: Machine,
    private memoryBytes: number,
    readonly painter = new Painter(),
  ) {
    this.currentMachine = machine;
    this.currentResidents = new Residents(machine);
  }

  get machine(): Machine {
    return this.currentMachine;
  }

  get residents(): Residents {
    return this.currentResidents;
  }

  get history(): readonly string[] {
    return this.lines;
  }

  /** True once `exit` (or `quit`) has been run. */
  get done(): boolean {
    return this.ended;
  }

  end(): void {
    this.ended = true;
  }

  /** Runs one command line; returns what to print. @throws ShellError for a bad command. */
  execute(line: string): string {
    const words = line
      .trim()
      .split(/\s+/)
      .filter((w) => w !== '');
    if (words.length === 0) return '';
    this.lines.push(line.trim());
    const [name, ...args] = words as [string, ...string[]];
    const command = COMMANDS_BY_NAME.get(name);
    if (command === undefined) throw new ShellError(`unknown command '${name}' (try 'help')`);
    checkArguments(command, args);
    return command.run(this, args);
  }

  boot(memory = this.memoryBytes): string {
    // The new machine keeps the old one's CPUs and swap device.
    const swapSlots = this.machine.vm.reclaim?.device.slots ?? 0;
    const swap = swapSlots > 0 ? { swap: swapSlots * PAGE_SIZE } : {};
    this.currentMachine = asShellError(() =>
      Machine.boot({ memory, cpus: this.machine.cpuCount, ...swap }),
    );
    this.currentResidents = new Residents(this.currentMachine);
    this.memoryBytes = memory;
    this.cpu = 0;
    return this.machine.bootLog.join('\n');
  }
}

/**
 * Runs the shell on stdin/stdout until `exit` or the end of input (Ctrl-D). Prompts and history
 * only on a TTY, where Ctrl-C clears the line being typed instead of quitting (the machine is
 * kept). Piped, it reads one command a line, so scripts and tests can drive it; after a failed
 * command the script goes on, and the shell exits 1 at the end, as `sh` does with `false`.
 */
export async function runShell(machine: Machine, memoryBytes: number): Promise<void> {
  const interactive = process.stdin.isTTY === true;
  const shell = new Shell(machine, memoryBytes);
  const lines = createInterface({
    input: process.stdin,
    output: interactive ? process.stdout : undefined,
    terminal: interactive,
    historySize: HISTORY_SIZE,
    prompt: PROMPT,
  });
  if (interactive) {
    process.stdout.write(
      `wallos-mem shell on ${formatBytes(memoryBytes)} of RAM; 'help' lists commands\n`,
    );
    lines.on('SIGINT', () => clearLine(lines));
    lines.prompt();
  }
  let failed = false;
  for await (const line of lines) {
    try {
      const output = shell.execute(line);
      if (output !== '') process.stdout.write(`${output}\n`);
    } catch (error) {
      if (!(error instanceof ShellError)) throw error;
      process.stderr.write(`error: ${error.message}\n`);
      failed = true;
    }
    if (shell.done) break;
    if (interactive) lines.prompt();
  }
  lines.close();
  if (failed && !interactive) process.exitCode = SCRIPT_FAILED;
}

const PROMPT = 'wallos> ';
/** Exit status of a piped script in which a command failed. */
const SCRIPT_FAILED = 1;

/** Ctrl-C at the prompt: drop what was typed and prompt again on a new line, as bash does. */
function clearLine(lines: Interface): void {
  // `line` and `cursor` are plain fields of Node's Interface (typed read-only): resetting them
  // works on every terminal, a dumb one included, where readline's own editing keys do not.
  Object.assign(lines, { line: '', cursor: 0 });
  process.stdout.write('^C\n');
  lines.prompt();
}
