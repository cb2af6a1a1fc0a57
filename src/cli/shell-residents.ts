/**
 * The shell's resident processes. Each runs a *resident* program, a generator that loops
 * forever taking jobs from its own queue, one per `yield`. A command that acts inside a
 * process queues a job there and runs the scheduler until the job is done or the process is
 * dead — so the work really happens in user mode, in that process's address space, and a bad
 * `touch` gets the process killed by SIGSEGV.
 *
 * ```
 *  shell ──queue──► resident(pid 2) ── ctx.malloc / ctx.store8 / ctx.fork … ──► kernel
 *        ◄─result──       (reaps its exited children each time round, like a SIGCHLD handler)
 * ```
 */
import { ProcessTermination } from '../kernel/errors.js';
import type { Machine } from '../kernel/machine.js';
import type { Process } from '../kernel/process.js';
import type { UserContext } from '../kernel/user-context.js';
import { SIGKILL } from '../linux-abi.js';
import { pidArg, ShellError } from './shell-command.js';
import { signalName } from './terminal.js';

/** Work queued for a resident process; `run` executes inside it. */
interface Job {
  run(ctx: UserContext): string;
  done: boolean;
  result: string;
}

/** The queue of one resident process, and the children it has forked (to reap). */
class Resident {
  readonly jobs: Job[] = [];
  readonly children: number[] = [];
}

/** The resident processes of one machine, by pid. */
export class Residents {
  private readonly byPid = new Map<number, Resident>();

  constructor(private readonly machine: Machine) {}

  /** Starts a resident process named `name`; its pid. */
  spawn(name: string): number {
    const resident = new Resident();
    const handle = this.machine.spawn(this.program(resident), { name });
    this.byPid.set(handle.pid, resident);
    return handle.pid;
  }

  /** From inside a job of a resident process: forks it; the child is resident too. */
  fork(ctx: UserContext): number {
    const child = new Resident();
    const pid = ctx.fork(this.program(child));
    this.byPid.set(pid, child);
    this.byPid.get(ctx.pid)!.children.push(pid);
    return pid;
  }

  /** Sends SIGKILL to resident `pidText`; the process killed. */
  kill(pidText: string): Process {
    const process = this.get(pidText);
    try {
      this.machine.kill(process, SIGKILL);
    } catch (error) {
      if (!(error instanceof ProcessTermination)) throw error;
    }
    this.byPid.delete(process.pid);
    return process;
  }

  /** Runs `work` inside resident `pidText` and waits for it; reports a death instead. */
  run(pidText: string, work: (ctx: UserContext) => string): string {
    const process = this.get(pidText);
    const job: Job = { run: work, done: false, result: '' };
    this.byPid.get(process.pid)!.jobs.push(job);
    this.machine.schedule(() => job.done || process.ended);
    if (job.done) return job.result;
    this.byPid.delete(process.pid);
    throw new ShellError(`[${process.pid}] ${process.name} died: ${deathOf(process)}`);
  }

  /** The live resident process `pidText`. @throws ShellError for any other pid. */
  get(pidText: string): Process {
    const pid = pidArg(pidText);
    const process = this.machine.process(pid);
    if (process === undefined || process.ended) throw new ShellError(`no process ${pid}`);
    if (!this.byPid.has(pid)) throw new ShellError(`process ${pid} is not resident`);
    return process;
  }

  /** The program of a resident process: run queued jobs, reap exited children, yield. */
  private program(resident: Resident) {
    const machine = this.machine;
    return function* residentLoop(ctx: UserContext) {
      for (;;) {
        reapChildren(ctx, machine, resident);
        const job = resident.jobs.shift();
        if (job !== undefined) {
          job.result = runJob(job, ctx);
          job.done = true;
        }
        yield;
      }
    };
  }
}

/** Runs a job inside its process; errors of the call (not deaths) become its result. */
function runJob(job: Job, ctx: UserContext): string {
  try {
    return job.run(ctx);
  } catch (error) {
    if (error instanceof ProcessTermination) throw error;
    const code = (error as { code?: unknown }).code;
    return `error: ${typeof code === 'string' ? `${code}: ` : ''}${(error as Error).message}`;
  }
}

/** Waits for every child of `resident` that has exited, as a SIGCHLD handler would. */
function reapChildren(ctx: UserContext, machine: Machine, resident: Resident): void {
  for (let i = resident.children.length - 1; i >= 0; i--) {
    const child = machine.process(resident.children[i]!);
    if (child === undefined || child.ended) {
      if (child !== undefined) ctx.wait(child.pid);
      resident.children.splice(i, 1);
    }
  }
}

function deathOf(process: Process): string {
  if (process.fault !== null) return process.fault.message;
  if (process.signal !== null) {
    return `${signalName(process.signal)}${process.error ? ` (${process.error})` : ''}`;
  }
  return `exit ${process.exitCode}`;
}
