/**
 * `yield* ctx.sys.…`: the system calls of a generator program as preemption points. Tasks that
 * give control back only at their system calls interleave there, in the order the seed draws;
 * a race at syscall granularity (a touch on one CPU, an munmap on another) runs the way the
 * seed says and the TLB shootdown decides its outcome; the preemptible calls give the same
 * results and errors as the wrappers; a plain-function program still runs to its end.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PAGE_SIZE } from '../../src/hw/constants.js';
import { SyscallError } from '../../src/kernel/errors.js';
import { Machine } from '../../src/kernel/machine.js';
import { PREEMPTIBLE_SYSCALLS } from '../../src/kernel/preemptible-syscalls.js';
import { SYSCALL_TABLE } from '../../src/kernel/syscalls/table.js';
import type { UserContext } from '../../src/kernel/user-context.js';
import {
  ERRNO,
  MADV_DONTNEED,
  MAP_ANONYMOUS,
  MAP_PRIVATE,
  PROT_NONE,
  PROT_READ,
  PROT_WRITE,
} from '../../src/linux-abi.js';
import { expectClean, finish } from './helpers.js';

const RW = PROT_READ | PROT_WRITE;
const ANON = MAP_PRIVATE | MAP_ANONYMOUS;

// ─── interleaving at syscall granularity ────────────────────────────────────────────────────

/** A writer's words: `w1.0 w1.1 …`, one per slice of its loop. */
const wordsOf = (writer: number, words: number) =>
  Array.from({ length: words }, (_, word) => `w${writer}.${word}`);

/**
 * One process whose leader starts `writers` threads, lets them go and joins them. Each thread
 * waits for the start (a getpid per look, as a spin with sched_yield), then maps a page,
 * writes its next word from it to the shared stdout and unmaps the page, `words` times, making
 * every call through `ctx.sys` and never yielding otherwise. Its words, as stdout shows them.
 *
 * Every round gives each CPU with work one turn, so from the start on, the writers make their
 * calls in step: one word needs three turns, and a writer alone on its CPU is at most a turn
 * ahead of another's. Their words must interleave; run to completion, they could not.
 */
function writersRun(seed: number, cpus: number, writers: number, words: number): string[] {
  const machine = Machine.boot({ memory: '64M', cpus, seed });
  let started = false;
  const writer = (index: number) =>
    function* write(ctx: UserContext) {
      while (!started) yield* ctx.sys.getpid();
      for (const word of wordsOf(index, words)) {
        const text = new TextEncoder().encode(`${word} `);
        const page = yield* ctx.sys.mmap(0, PAGE_SIZE, RW, ANON);
        ctx.writeBytes(page, text);
        yield* ctx.sys.write(1, page, text.length);
        yield* ctx.sys.munmap(page, PAGE_SIZE);
      }
    };
  const handle = machine.spawn(function* leader(ctx: UserContext) {
    const tids: number[] = [];
    for (let i = 1; i <= writers; i++) tids.push(yield* ctx.sys.thread(writer(i)));
    started = true;
    for (const tid of tids) yield* ctx.sys.join(tid);
  });
  finish(machine);
  expectClean(handle);
  return handle.stdout.trim().split(' ');
}

/** How many runs of consecutive words from one writer `output` is made of. */
function runsOf(output: readonly string[]): number {
  const writerOf = (word: string) => word.split('.')[0];
  return output.filter((word, i) => writerOf(word) !== writerOf(output[i - 1] ?? '')).length;
}

describe('generator programs are preempted at each yield* ctx.sys call', () => {
  it('threads that only make system calls interleave at them, each in its own program order', () => {
    const run = fc.record({
      seed: fc.integer({ min: 0, max: 0xffff_ffff }),
      cpus: fc.integer({ min: 2, max: 4 }),
      writers: fc.integer({ min: 2, max: 4 }),
      words: fc.integer({ min: 2, max: 5 }),
    });
    fc.assert(
      fc.property(run, ({ seed, cpus, writers, words }) => {
        const output = writersRun(seed, cpus, writers, words);
        for (let writer = 1; writer <= writers; writer++) {
          const own = output.filter((word) => word.startsWith(`w${writer}.`));
          expect(own).toEqual(wordsOf(writer, words));
        }
        expect(output).toHaveLength(writers * words);
        // Run to completion, each writer would be one run; preempted, their words alternate.
        expect(runsOf(output)).toBeGreaterThan(writers);
        expect(writersRun(seed, cpus, writers, words)).toEqual(output);
      }),
      { numRuns: 20 },
    );
  });

  it('one seed gives one interleaving; different seeds, different ones', () => {
    const runs = [1, 2, 3, 4, 5, 6].map((seed) => writersRun(seed, 4, 4, 4));
    for (const output of runs) expect(runsOf(output)).toBeGreaterThan(4);
    const outputs = runs.map((output) => output.join(' '));
    expect(new Set(outputs).size).toBeGreaterThanOrEqual(2);
    expect(writersRun(3, 4, 4, 4).join(' ')).toBe(outputs[2]);
  });

  it('a plain-function thread runs until it returns: its words stay together between preempted ones', () => {
    const machine = Machine.boot({ memory: '64M', cpus: 2, seed: 9 });
    const say = (ctx: UserContext, buffer: number, word: string) => {
      const text = new TextEncoder().encode(`${word} `);
      ctx.writeBytes(buffer, text);
      return ctx.write(1, buffer, text.length);
    };
    const handle = machine.spawn(function* leader(ctx: UserContext) {
      const buffer = ctx.mmap(0, 2 * PAGE_SIZE, RW, ANON);
      const plain = ctx.thread((thread: UserContext) => {
        for (const word of wordsOf(2, 4)) say(thread, buffer + PAGE_SIZE, word);
        return thread.getpid() === ctx.pid ? 7 : 1;
      });
      for (const word of wordsOf(1, 4)) {
        const text = new TextEncoder().encode(`${word} `);
        ctx.writeBytes(buffer, text);
        yield* ctx.sys.write(1, buffer, text.length);
      }
      const joined = yield* ctx.sys.join(plain);
      yield* ctx.sys.munmap(buffer, 2 * PAGE_SIZE);
      return joined === 7 ? 0 : 1;
    });
    finish(machine);
    expectClean(handle);
    const output = handle.stdout.trim().split(' ');
    const plainStart = output.indexOf('w2.0');
    expect(output.slice(plainStart, plainStart + 4)).toEqual(wordsOf(2, 4));
    expect(output.filter((word) => word.startsWith('w1.'))).toEqual(wordsOf(1, 4));
    // The leader's preemption points let the thread run before the leader's last write.
    expect(plainStart).toBeLessThan(output.indexOf('w1.3'));
  });
});

// ─── the TLB shootdown race, at syscall granularity ─────────────────────────────────────────

const VALUE = 0x5a5a_1234;

/** What happened, in order: the touch, the munmap, the return of the getpid before the re-read. */
type RaceEvent = 'touch' | 'munmap' | 'getpid' | 'reread';

/**
 * Thread A touches a page, makes a `yield* sys.getpid()` and reads the page again; thread B,
 * started right after it (so on another CPU), unmaps the page with `yield* sys.munmap`.
 * Neither yields otherwise: the seed alone decides where B's munmap falls among A's steps.
 */
function raceRun(seed: number, shootdowns: boolean) {
  const machine = Machine.boot({ memory: '64M', cpus: 3, seed });
  machine.vm.cpus.shootdownsEnabled = shootdowns;
  const events: RaceEvent[] = [];
  const cpuOf: Partial<Record<RaceEvent, number>> = {};
  const log = (event: RaceEvent) => {
    events.push(event);
    cpuOf[event] = machine.vm.cpus.current.id;
  };
  let page = 0;
  let reread: number | undefined;
  let entryOnCpuA: boolean | undefined; // A's CPU still translates the page after the munmap
  const handle = machine.spawn(function* race(ctx: UserContext) {
    const buffer = yield* ctx.sys.mmap(0, 2 * PAGE_SIZE, RW, ANON);
    page = buffer + PAGE_SIZE; // its neighbour keeps the page table in use
    ctx.store32(buffer, 1);
    ctx.store32(page, VALUE);
    const a = yield* ctx.sys.thread(function* toucher(thread: UserContext) {
      thread.load32(page);
      log('touch');
      yield* thread.sys.getpid();
      log('getpid');
      reread = thread.load32(page);
      log('reread');
    });
    const b = yield* ctx.sys.thread(function* unmapper(thread: UserContext) {
      yield* thread.sys.munmap(page, PAGE_SIZE);
      log('munmap');
      const cpuA = cpuOf.touch;
      if (cpuA === undefined) return;
      entryOnCpuA = machine.mmus[cpuA]!.tlb.entries().some((e) => e.virtualPage === page);
    });
    yield* ctx.sys.join(a);
    yield* ctx.sys.join(b);
  });
  machine.run();
  return { machine, handle, events, cpuOf, page, reread, entryOnCpuA };
}

const RACE_SEEDS = Array.from({ length: 48 }, (_, seed) => seed);

describe('the TLB shootdown race, written with preemptible system calls only', () => {
  it('every seed runs one interleaving, and its outcome is the one that interleaving must have', () => {
    const seen = new Set<string>();
    for (const seed of RACE_SEEDS) {
      const run = raceRun(seed, true);
      finish(run.machine); // no oops, every layer consistent, memory back at boot
      const order = run.events.join(' ');
      seen.add(order);
      if (order === 'touch getpid reread munmap') {
        expectClean(run.handle);
        expect(run.reread).toBe(VALUE);
        continue;
      }
      // B's munmap came before A's touch or between A's touch and its re-read: A faults.
      expect(['munmap', 'touch munmap getpid']).toContain(order);
      expect(run.reread).toBeUndefined();
      expect(run.handle.signal).toBe(11);
      expect(run.handle.fault?.kind).toBe('SEGV_MAPERR');
      expect(run.handle.fault?.address).toBe(run.page);
    }
    expect(seen).toContain('touch getpid reread munmap');
    expect(seen).toContain('touch munmap getpid');
  });

  it('when the munmap falls between the touch and the re-read, the shootdown makes the re-read fault', () => {
    const seed = RACE_SEEDS.find(
      (s) => raceRun(s, true).events.join(' ') === 'touch munmap getpid',
    );
    expect(seed).toBeDefined();
    const run = raceRun(seed!, true);
    expect(run.cpuOf.munmap).not.toBe(run.cpuOf.touch); // the two threads ran on two CPUs
    expect(run.entryOnCpuA).toBe(false); // the IPI reached A's CPU before munmap returned
    expect(run.reread).toBeUndefined();
    expect(run.handle.signal).toBe(11);
    expect(run.handle.fault?.address).toBe(run.page);
    const interrupts = run.machine.procfs.read('/proc/interrupts');
    const received = /TLB:((?:\s+\d+)+)\s+TLB shootdowns/.exec(interrupts)![1]!.trim().split(/\s+/);
    expect(Number(received[run.cpuOf.touch!])).toBeGreaterThanOrEqual(1);
    finish(run.machine);

    // The same interleaving without shootdowns: A's CPU keeps the stale entry and reads on.
    const stale = raceRun(seed!, false);
    expect(stale.events).toEqual(['touch', 'munmap', 'getpid', 'reread']);
    expect(stale.entryOnCpuA).toBe(true);
    expect(stale.handle.signal).toBeNull();
  });
});

// ─── the same calls, the same results ───────────────────────────────────────────────────────

/** One call of a random script: a slot is the index of an earlier successful mmap. */
type ScriptOp =
  | { kind: 'mmap'; pages: number; prot: number }
  | { kind: 'munmap'; slot: number; misaligned: boolean }
  | { kind: 'mprotect'; slot: number; prot: number }
  | { kind: 'madvise'; slot: number }
  | { kind: 'mincore'; slot: number }
  | { kind: 'write'; slot: number; fd: number }
  | { kind: 'sbrk'; pages: number }
  | { kind: 'ids' }
  | { kind: 'raw'; name: string };

/** What a call did: its value, or the errno name its wrapper threw. */
type Outcome = { value: unknown } | { error: string };

interface Call {
  name: (typeof PREEMPTIBLE_SYSCALLS)[number];
  args: unknown[];
}

/**
 * The script as a generator of calls, so that one script runs through either form: the
 * driver makes each call and sends back its outcome. It returns every outcome it saw.
 */
function* script(ops: readonly ScriptOp[]): Generator<Call, Outcome[], Outcome> {
  const outcomes: Outcome[] = [];
  const slots: number[] = [];
  const call = function* (
    name: Call['name'],
    ...args: unknown[]
  ): Generator<Call, Outcome, Outcome> {
    const outcome = yield { name, args };
    outcomes.push(outcome);
    return outcome;
  };
  const at = (slot: number) => slots[slot % Math.max(slots.length, 1)] ?? PAGE_SIZE;
  for (const op of ops) {
    if (op.kind === 'mmap') {
      const outcome = yield* call('mmap', 0, op.pages * PAGE_SIZE, op.prot, ANON);
      if ('value' in outcome) slots.push(outcome.value as number);
    } else if (op.kind === 'munmap') {
      yield* call('munmap', at(op.slot) + (op.misaligned ? 1 : 0), PAGE_SIZE);
    } else if (op.kind === 'mprotect') {
      yield* call('mprotect', at(op.slot), PAGE_SIZE, op.prot);
    } else if (op.kind === 'madvise') {
      yield* call('madvise', at(op.slot), PAGE_SIZE, MADV_DONTNEED);
    } else if (op.kind === 'mincore') {
      yield* call('mincore', at(op.slot), 2 * PAGE_SIZE);
    } else if (op.kind === 'write') {
      yield* call('write', op.fd, at(op.slot), 8);
    } else if (op.kind === 'sbrk') {
      yield* call('sbrk', op.pages * PAGE_SIZE);
    } else if (op.kind === 'ids') {
      yield* call('getpid');
      yield* call('gettid');
      yield* call('getppid');
      yield* call('brk', 0);
    } else {
      yield* call('syscall', op.name, at(0) + 1, PAGE_SIZE);
    }
  }
  return outcomes;
}

function outcomeOf(make: () => unknown): Outcome {
  try {
    const value = make();
    return { value: value instanceof Uint8Array ? [...value] : value };
  } catch (error) {
    if (error instanceof SyscallError) return { error: error.code };
    throw error;
  }
}

/** Both runs' process has one name: /proc/PID/maps names it. */
const SCRIPT = { name: 'script' };
type Wrapper = (...args: unknown[]) => unknown;
type PreemptibleWrapper = (...args: unknown[]) => Generator<undefined, unknown, unknown>;

/** Runs `ops` in a fresh machine through the wrappers or through `ctx.sys`: outcomes and maps. */
function scriptRun(ops: readonly ScriptOp[], preemptible: boolean) {
  const machine = Machine.boot({ memory: '64M', seed: 5 });
  let outcomes: Outcome[] = [];
  let maps = '';
  const mapsOf = (ctx: UserContext) => machine.procfs.read(`/proc/${ctx.pid}/maps`);
  const handle = preemptible
    ? machine.spawn(function* preempted(ctx: UserContext) {
        const calls = script(ops);
        for (let next = calls.next(); ; ) {
          if (next.done === true) {
            outcomes = next.value;
            break;
          }
          const { name, args } = next.value;
          let outcome: Outcome;
          try {
            const value = yield* (ctx.sys[name] as PreemptibleWrapper)(...args);
            outcome = outcomeOf(() => value);
          } catch (error) {
            outcome = outcomeOf(() => {
              throw error;
            });
          }
          next = calls.next(outcome);
        }
        maps = mapsOf(ctx);
      }, SCRIPT)
    : machine.spawn(function plain(ctx: UserContext) {
        const calls = script(ops);
        let next = calls.next();
        while (next.done !== true) {
          const { name, args } = next.value;
          next = calls.next(outcomeOf(() => (ctx[name] as Wrapper)(...args)));
        }
        outcomes = next.value;
        maps = mapsOf(ctx);
      }, SCRIPT);
  finish(machine);
  expectClean(handle);
  return { outcomes, maps, stdout: handle.stdout };
}

const slot = fc.nat({ max: 7 });
const scriptOp: fc.Arbitrary<ScriptOp> = fc.oneof(
  fc.record({
    kind: fc.constant('mmap' as const),
    pages: fc.integer({ min: 0, max: 3 }),
    prot: fc.constantFrom(PROT_NONE, PROT_READ, RW),
  }),
  fc.record({ kind: fc.constant('munmap' as const), slot, misaligned: fc.boolean() }),
  fc.record({
    kind: fc.constant('mprotect' as const),
    slot,
    prot: fc.constantFrom(PROT_NONE, PROT_READ, RW, 0x80),
  }),
  fc.record({ kind: fc.constant('madvise' as const), slot }),
  fc.record({ kind: fc.constant('mincore' as const), slot }),
  fc.record({ kind: fc.constant('write' as const), slot, fd: fc.constantFrom(1, 2, 9) }),
  fc.record({ kind: fc.constant('sbrk' as const), pages: fc.integer({ min: -1, max: 2 }) }),
  fc.constant({ kind: 'ids' as const }),
  fc.record({ kind: fc.constant('raw' as const), name: fc.constantFrom('munmap', 'nonsense') }),
);

describe('ctx.sys.X gives what ctx.X gives', () => {
  it('the same values and the same errno names, call for call, and the same address space after', () => {
    fc.assert(
      fc.property(fc.array(scriptOp, { minLength: 1, maxLength: 30 }), (ops) => {
        const plain = scriptRun(ops, false);
        expect(scriptRun(ops, true)).toEqual(plain);
      }),
      { numRuns: 40 },
    );
  });

  it('EINVAL from a bad munmap through both forms, -EINVAL through both raw forms', () => {
    const machine = Machine.boot({ memory: '16M' });
    const thrown: unknown[] = [];
    const raw: number[] = [];
    const handle = machine.spawn(function* both(ctx: UserContext) {
      try {
        ctx.munmap(PAGE_SIZE + 1, PAGE_SIZE);
      } catch (error) {
        thrown.push(error);
      }
      try {
        yield* ctx.sys.munmap(PAGE_SIZE + 1, PAGE_SIZE);
      } catch (error) {
        thrown.push(error);
      }
      raw.push(ctx.syscall('munmap', PAGE_SIZE + 1, PAGE_SIZE));
      raw.push(yield* ctx.sys.syscall('munmap', PAGE_SIZE + 1, PAGE_SIZE));
    });
    finish(machine);
    expectClean(handle);
    expect(thrown).toHaveLength(2);
    for (const error of thrown) {
      expect(error).toBeInstanceOf(SyscallError);
      expect(error).toMatchObject({ code: 'EINVAL', errno: ERRNO.EINVAL, syscall: 'munmap' });
    }
    expect(raw).toEqual([-ERRNO.EINVAL, -ERRNO.EINVAL]);
  });

  it('has a preemptible form of each wrapper the context has for a call in the table', () => {
    const machine = Machine.boot({ memory: '16M' });
    let sys: object = {};
    let missing: string[] = [];
    let builtOnce = false;
    machine.spawn((ctx: UserContext) => {
      sys = ctx.sys;
      builtOnce = ctx.sys === sys;
      const wrappers = [...SYSCALL_TABLE.keys(), 'thread', 'join', 'syscall'].filter(
        (name) => typeof (ctx as unknown as Record<string, unknown>)[name] === 'function',
      );
      missing = wrappers.filter((name) => !(name in ctx.sys));
    });
    finish(machine);
    expect(missing).toEqual([]);
    expect(builtOnce).toBe(true);
    expect(Object.keys(sys).sort()).toEqual([...PREEMPTIBLE_SYSCALLS].sort());
    expect(Object.isFrozen(sys)).toBe(true);
  });
});

// ─── blocking calls: wait and join sleep instead of nesting ─────────────────────────────────

/** `yield* ctx.sys.join(tid)`: the thread's value, or the errno name the join failed with. */
function* joinOutcome(ctx: UserContext, tid: number): Generator<undefined, number | string> {
  try {
    return yield* ctx.sys.join(tid);
  } catch (error) {
    return error instanceof SyscallError ? error.code : String(error);
  }
}

/**
 * A leader whose thread waits for a child it forked, and which joins that thread once the
 * thread is blocked in its wait. `leaderYields` slices of the leader come first, so that the
 * thread has forked and blocked by the time the join comes. The join's value (the child's exit
 * code, passed on by the thread) or the join's errno name.
 */
function joinWaitingThread(seed: number, cpus: number, leaderYields: number): number | string {
  const machine = Machine.boot({ memory: '32M', cpus, seed });
  let joined: number | string = 'never joined';
  const handle = machine.spawn(function* leader(ctx: UserContext) {
    const tid = yield* ctx.sys.thread(function* waiter(thread: UserContext) {
      const pid = yield* thread.sys.fork(function* child(c: UserContext) {
        for (let slice = 0; slice < 4; slice++) yield* c.sys.getpid();
        return 7;
      });
      const status = yield* thread.sys.wait(pid);
      return status.exitCode;
    });
    for (let slice = 0; slice < leaderYields; slice++) yield;
    joined = yield* joinOutcome(ctx, tid);
  });
  finish(machine);
  expectClean(handle);
  return joined;
}

describe('a generator blocked in ctx.sys.wait or ctx.sys.join sleeps: no scheduler nests in its slice', () => {
  it('a join of a thread blocked in wait returns once the child ends, whoever blocked first (not EDEADLK)', () => {
    for (const cpus of [1, 2, 3]) {
      for (let seed = 1; seed <= 6; seed++) {
        for (let leaderYields = 0; leaderYields <= 6; leaderYields++) {
          expect({
            cpus,
            seed,
            leaderYields,
            joined: joinWaitingThread(seed, cpus, leaderYields),
          }).toEqual({ cpus, seed, leaderYields, joined: 7 });
        }
      }
    }
  });
});

describe('a deadlock of sleeping joins', () => {
  it('two threads that join each other do not hang the machine: the first join to look fails with EDEADLK, the other then returns', () => {
    const machine = Machine.boot({ memory: '32M' });
    const failures: string[] = [];
    const tids: number[] = [];
    const joiner = (other: number) =>
      function* join(thread: UserContext) {
        while (tids.length < 2) yield;
        try {
          yield* thread.sys.join(tids[other]!);
        } catch (error) {
          failures.push(error instanceof SyscallError ? error.code : String(error));
        }
      };
    const handle = machine.spawn(function* leader(ctx: UserContext) {
      tids.push(yield* ctx.sys.thread(joiner(1)), yield* ctx.sys.thread(joiner(0)));
    });
    finish(machine);
    expectClean(handle);
    expect(failures).toEqual(['EDEADLK']);
  });
});

describe('sleepers and nested waits', () => {
  it('a sleeper is not woken early when nothing can run inside a nested wait: it wakes once that wait returns', () => {
    const machine = Machine.boot({ memory: '32M' });
    let joined: number | string = 'never joined';
    const handle = machine.spawn(function* leader(ctx: UserContext) {
      const child = ctx.fork(function* child() {
        yield;
        yield;
      });
      // A plain wait nests the scheduler in the waiter's slice, and a plain join of the
      // waiter made inside that nest can never see it end: nothing runs there any more.
      const waiter = ctx.thread((thread: UserContext) => {
        thread.wait(child);
        return 3;
      });
      ctx.thread((thread: UserContext) => {
        try {
          thread.join(waiter);
        } catch {
          // the nested join's own dead end; not what this test is about
        }
      });
      joined = yield* joinOutcome(ctx, waiter);
    });
    finish(machine);
    expectClean(handle);
    expect(joined).toBe(3);
  });
});
