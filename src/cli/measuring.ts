/**
 * How `bench` and `replay` start the processes they time in.
 */
import { existsSync, readFileSync } from 'node:fs';

/**
 * V8's flags for a measuring process. `--no-concurrent-recompilation` makes the optimising
 * compiler run on the main thread, when a function gets hot, instead of on a background thread
 * while the interpreter goes on: the type feedback a function is compiled with then no longer
 * depends on how far the loop ran during the compile, which otherwise leaves 30–60% between two
 * processes of the same build (dependency bail-outs, code thrown away mid-run); sqlite3-small's
 * replay ran at 87–88 ns/op in four processes with it, 96–127 without. The compiler and its
 * optimisations are the same; only its timing is fixed. Setting the flag from inside a running
 * process (`v8.setFlagsFromString`) does not take effect, hence a process of its own.
 */
export const MEASURING_V8_FLAGS: readonly string[] = ['--no-concurrent-recompilation'];

/** Where Linux keeps `taskset` (util-linux); absent elsewhere, and then nothing is pinned. */
const TASKSET = ['/usr/bin/taskset', '/bin/taskset'].find((path) => existsSync(path));

/**
 * A measuring process's command line, `[file, args]`: `command args`, pinned to one CPU with
 * `taskset` where there is one. Left to the scheduler, a process on this 2-vCPU machine ran some
 * replays ~50% slower (python-compileall in a process: 225 ns/op against 134–153, one run in
 * six), never once pinned in eighteen. `bench` pins our processes and the native reference's
 * alike, to the same CPU.
 */
export function measuringCommand(command: string, args: readonly string[]): [string, string[]] {
  const cpu = TASKSET === undefined ? undefined : lastAllowedCpu();
  if (TASKSET === undefined || cpu === undefined) return [command, [...args]];
  return [TASKSET, ['-c', String(cpu), command, ...args]];
}

/** {@link measuringCommand} of a Node process with {@link MEASURING_V8_FLAGS}, running `args`. */
export function measuringNodeCommand(args: readonly string[]): [string, string[]] {
  return measuringCommand(process.execPath, [...MEASURING_V8_FLAGS, ...args]);
}

/** The highest CPU this process may run on (`Cpus_allowed_list` of /proc/self/status). */
function lastAllowedCpu(): number | undefined {
  try {
    const status = readFileSync('/proc/self/status', 'utf8');
    const list = /^Cpus_allowed_list:\s*(.+)$/m.exec(status)?.[1];
    const last = list?.split(/[,-]/).pop();
    return last === undefined || !/^\d+$/.test(last.trim()) ? undefined : Number(last.trim());
  } catch {
    return undefined;
  }
}
