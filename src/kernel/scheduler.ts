/**
 * The scheduler: which task runs next, on which CPU, and what a switch does.
 *
 * ```
 *   CPU 0 run queue: [pid 1] [tid 3] ◄─ round-robin by tid, from the last one it ran
 *   CPU 1 run queue: [pid 2]
 *        │
 *        ▼  runNextTask: each CPU takes one turn per round, in an order the seed draws
 *           (round: [1, 0] [0, 1] [0, 1] …); a CPU with nothing to run goes idle
 *   step(task, cpu) ─► enterCpu ─► kswapd (lazy TLB) ─► dispatch (CR3, MMU, tcache) ─► resume
 *        ◄─ the task yields, blocks for good or ends ─ the previous task and CPU come back
 * ```
 *
 * Tasks (each process's leader and its threads) run on the machine's simulated CPUs, one
 * CPU's code at a time. Each CPU has a run queue (a task joins the least loaded one when it is
 * created, the lowest-numbered on a tie; an idle CPU steals the last task of a CPU with two or
 * more) served round-robin. The CPUs take turns in rounds: in each round every CPU gets one
 * turn, so a CPU with work gets a slice every round, and the order of the turns is a
 * permutation drawn from the scheduler's own generator, seeded from the machine's seed. One
 * seed gives one interleaving; another seed, another — the way a real SMP machine's timing
 * decides which CPU reaches a lock or a page first. With one CPU there is nothing to permute
 * and nothing is drawn.
 *
 * A slice ends only where the program gives control back, since JavaScript cannot suspend a
 * plain function in the middle of a call. A generator program is preempted at each `yield` and
 * at each preemptible system call, `yield* ctx.sys.…`, which yields at the call's entry (see
 * preemptible-syscalls.ts); a plain function runs until it blocks (`wait`, `join`) or returns.
 * A switch loads the next task's CR3 unless its CPU has that address space loaded already
 * (threads of one process), and a CPU left without work keeps its tables in lazy TLB mode and
 * gives its per-CPU pages back. kswapd, once an allocation woke it, runs at the switch as a
 * kernel thread on the tables the CPU has loaded, lazily too.
 *
 * A generator blocked in `yield* ctx.sys.wait(…)` or `ctx.sys.join(…)` sleeps (`sleep`): it
 * is marked waiting, takes no turns, and wakes at the first turn where what it waits for has
 * ended. A plain function cannot give its slice back, so its `wait` and `join` nest instead:
 * the task is marked waiting and runs the scheduler itself (`block`) until what it waits for
 * ends. Each `step` saves the running task and CPU and restores them when its slice is over,
 * so the blocked task gets its own CPU back. A nested wait holds every task it runs until it
 * returns, which is why generators sleep: a leader joining a thread that sleeps in `wait`
 * would otherwise sit on top of that wait, and the join could never end.
 */
import { USER_CPL } from '../hw/cpu.js';
import type { Mulberry32 } from '../random.js';
import { ProcessTermination } from './errors.js';
import type { Machine } from './machine.js';
import { type Task, Thread } from './thread.js';

export class Scheduler {
  /** The task each CPU ran last (its tid), where its round-robin goes on. */
  private readonly lastScheduled: number[];
  /** The order in which the CPUs take their turns this round. */
  private readonly round: number[];
  /** How many turns of `round` have been taken. */
  private turnsTaken: number;
  /** CPUs found without work since they last ran a task. */
  private readonly idle: boolean[];
  /** Generator tasks asleep in a blocking call, each with the test of what wakes it. */
  private readonly sleepers = new Map<Task, () => boolean>();
  /** Waits in progress that run the scheduler nested in their task's slice (`block`). */
  private nestedWaits = 0;

  constructor(
    private readonly machine: Machine,
    cpus: number,
    /** Where the order of each round's turns comes from (its own stream of the seed). */
    private readonly random: Mulberry32,
  ) {
    this.lastScheduled = new Array<number>(cpus).fill(0);
    this.idle = new Array<boolean>(cpus).fill(false);
    this.round = Array.from({ length: cpus }, (_, cpu) => cpu);
    this.turnsTaken = cpus; // the first turn starts a round of its own
  }

  /** The CPU whose run queue holds the fewest live tasks (the lowest-numbered on a tie). */
  leastLoadedCpu(): number {
    const load = new Array<number>(this.machine.cpuCount).fill(0);
    for (const task of this.machine.liveTasks()) load[task.cpu]!++;
    return load.indexOf(Math.min(...load));
  }

  /** Runs every process to its end. */
  run(): void {
    this.schedule(() => false);
  }

  /**
   * Runs runnable tasks until `done()` holds or none can run. Sleepers left when none can are
   * deadlocked only outside every nested wait (inside one, they may yet wake once it returns):
   * there they all wake, and each call finds for itself that what it waits for can never end
   * (EDEADLK, ECHILD), as a nested wait does.
   */
  schedule(done: () => boolean): void {
    while (!done()) {
      if (this.runNextTask()) continue;
      if (this.nestedWaits > 0 || !this.wakeSleepers(() => true)) return;
    }
  }

  /**
   * Gives one time slice to the next CPU, in turn, that has a runnable task; the CPUs passed
   * over go idle. False when no task can run anywhere.
   */
  private runNextTask(): boolean {
    const runnable = this.runnableTasks();
    if (runnable.length === 0) return false;
    // Any 2·N − 1 turns in a row hold a whole round, so every CPU's: one of them runs a task.
    for (let turn = 0; turn < 2 * this.round.length - 1; turn++) {
      const cpu = this.nextTurn();
      const task = this.pickNext(cpu, runnable);
      if (task === undefined) {
        this.goIdle(cpu);
        continue;
      }
      this.step(task, cpu);
      return true;
    }
    return false;
  }

  /** The tasks that can run, sleepers whose wait is over woken first. */
  private runnableTasks(): Task[] {
    if (this.sleepers.size > 0) this.wakeSleepers((task, woken) => task.process.dying || woken());
    return this.machine.liveTasks().filter((task) => task.state === 'runnable');
  }

  /** Wakes the sleepers `wakes` picks: runnable again, at their next turn. True if any woke. */
  private wakeSleepers(wakes: (task: Task, woken: () => boolean) => boolean): boolean {
    let any = false;
    for (const [task, woken] of this.sleepers) {
      if (!wakes(task, woken)) continue;
      this.sleepers.delete(task);
      if (task.state === 'waiting') task.state = 'runnable';
      any = true;
    }
    return any;
  }

  /** The CPU whose turn it is; after the round's last turn, a new round in a new order. */
  private nextTurn(): number {
    if (this.turnsTaken === this.round.length) {
      this.shuffleRound();
      this.turnsTaken = 0;
    }
    return this.round[this.turnsTaken++]!;
  }

  /** Fisher–Yates: the round's order becomes a uniformly drawn permutation (no draw on 1 CPU). */
  private shuffleRound(): void {
    const round = this.round;
    for (let last = round.length - 1; last > 0; last--) {
      const pick = Math.floor(this.random.next() * (last + 1));
      [round[last], round[pick]] = [round[pick]!, round[last]!];
    }
  }

  /** The next task of `cpu`'s run queue, round-robin by tid, or one taken from a busier CPU. */
  private pickNext(cpu: number, runnable: readonly Task[]): Task | undefined {
    const queue = runnable.filter((task) => task.cpu === cpu);
    const next = nextByTid(queue, this.lastScheduled[cpu]!) ?? this.steal(cpu, runnable);
    if (next !== undefined) this.lastScheduled[cpu] = next.tid;
    return next;
  }

  /**
   * Idle balancing: the last runnable task of the lowest-numbered CPU that has two or more
   * moves to `cpu`.
   */
  private steal(cpu: number, runnable: readonly Task[]): Task | undefined {
    for (let from = 0; from < this.machine.cpuCount; from++) {
      const queue = runnable.filter((task) => task.cpu === from);
      if (queue.length < 2) continue;
      const task = queue[queue.length - 1]!;
      task.cpu = cpu;
      return task;
    }
    return undefined;
  }

  /**
   * `cpu` has nothing to run: it keeps its tables lazily and gives back its per-CPU pages and
   * slab objects.
   */
  private goIdle(cpu: number): void {
    if (this.idle[cpu] === true) return;
    this.idle[cpu] = true;
    const running = this.machine.vm.cpus.current.id;
    this.enterCpu(cpu);
    this.machine.vm.cpus.enterLazy();
    this.machine.frames.drainThisCpu();
    this.machine.slab.drainThisCpu();
    this.enterCpu(running);
  }

  /**
   * kswapd, when woken, is a kernel thread the CPU switches to: it borrows the tables the CPU
   * has loaded (lazy TLB mode, Linux's `enter_lazy_tlb`), so shootdowns of that space while it
   * reclaims skip this CPU's IPI until the next task's `switch_mm` flushes what it owes.
   */
  private runKswapd(): void {
    const reclaim = this.machine.vm.reclaim;
    if (reclaim === null || !reclaim.kswapdWoken) return;
    this.machine.vm.cpus.enterLazy();
    reclaim.runKswapd();
  }

  /** The simulator runs CPU `cpu`'s code from now on. */
  private enterCpu(cpu: number): void {
    this.machine.vm.cpus.runOn(cpu);
    this.machine.frames.useCpu(cpu);
    this.machine.slab.useCpu(cpu);
  }

  /**
   * Puts `task` on the running CPU: its address space loaded (nothing to do between threads
   * of one process), its memory reached through this CPU's MMU.
   */
  private dispatch(task: Task | null): void {
    this.machine.currentTask = task;
    this.machine.current = task?.process ?? null;
    if (task === null || task.process.ended) return;
    this.machine.vm.switchTo(task.process.space);
    this.machine.memoryOf(task.process).runOn(this.machine.mmu);
    this.machine.useThreadCacheOf(task);
  }

  /**
   * Runs `task` on `cpu` until it yields, blocks for good or ends; the task that was running
   * (a `wait` or `join` in progress) then gets its own CPU back. `cpu` keeps the task's tables
   * loaded: a task that yielded is still its CPU's work until another task or idleness
   * replaces it, so shootdowns keep reaching that CPU.
   */
  private step(task: Task, cpu: number): void {
    const previousTask = this.machine.currentTask;
    const previousCpu = this.machine.vm.cpus.current.id;
    this.enterCpu(cpu);
    this.runKswapd();
    this.dispatch(task);
    this.idle[cpu] = false;
    const registers = this.machine.cpu;
    task.state = 'running';
    registers.cpl = USER_CPL;
    try {
      const result = this.resume(task);
      if (result.done === true) {
        // A thread's return runs glibc's tcache shutdown in user mode: its cached chunks freed.
        if (task instanceof Thread) task.process.heap?.releaseThreadCache(task.tid);
        this.machine.enterKernel(() => this.taskReturned(task, result.value));
      }
    } catch (error) {
      if (!(error instanceof ProcessTermination)) this.machine.programThrew(task.process, error);
    } finally {
      registers.cpl = 0;
      if (task.state === 'running') task.state = 'runnable';
      this.enterCpu(previousCpu);
      this.dispatch(previousTask);
    }
  }

  private resume(task: Task): IteratorResult<unknown> {
    if (task.process.oomVictim && !task.process.ended) this.machine.killOomVictims();
    if (task.process.ended || task.state === 'dead') return { done: true, value: undefined };
    if (task.started) return task.iterator!.next();
    task.started = true;
    const result = task.program(this.machine.contextOf(task));
    if (!isIterator(result)) return { done: true, value: result };
    task.iterator = result;
    return result.next();
  }

  /** A task's program returned `value`: the task ends (the process, if it was the last). */
  private taskReturned(task: Task, value: unknown): void {
    this.machine.endTask(task, exitCodeOf(value));
  }

  /**
   * The running generator task `task` sleeps until `woken()` holds: it is waiting from its
   * next yield on, and takes no turn until then (nor once its process has ended).
   */
  sleep(task: Task, woken: () => boolean): void {
    task.state = 'waiting';
    this.sleepers.set(task, woken);
  }

  /** Runs the other tasks while `caller` waits for `done()` (or until nothing can run). */
  block(caller: Task, done: () => boolean): void {
    caller.state = 'waiting';
    this.nestedWaits++;
    try {
      this.schedule(done);
    } finally {
      this.nestedWaits--;
      if (caller.state === 'waiting') caller.state = 'running';
    }
  }
}

/**
 * Round-robin by tid: the task of `queue` with the lowest tid above `last`, else the lowest
 * tid of all. By tid, not by place in the queue: tasks are listed by process, so a thread of
 * an early process comes before a later process's leader with a lower tid (a forked child),
 * and the first one above `last` in that order could pass the child over on every turn.
 */
function nextByTid(queue: readonly Task[], last: number): Task | undefined {
  let next: Task | undefined;
  let lowest: Task | undefined;
  for (const task of queue) {
    if (lowest === undefined || task.tid < lowest.tid) lowest = task;
    if (task.tid > last && (next === undefined || task.tid < next.tid)) next = task;
  }
  return next ?? lowest;
}

function isIterator(value: unknown): value is Iterator<unknown> {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { next?: unknown }).next === 'function'
  );
}

/** A program's return value as an exit code: an integer 0..255, else 0. */
function exitCodeOf(value: unknown): number {
  return typeof value === 'number' && Number.isInteger(value) ? value & 0xff : 0;
}
