import { describe, expect, it } from 'vitest';
import { PAGE_SIZE } from '../../src/hw/constants.js';
import { Machine } from '../../src/kernel/machine.js';
import type { UserContext } from '../../src/kernel/user-context.js';
import { MAP_ANONYMOUS, MAP_PRIVATE, PROT_READ, PROT_WRITE } from '../../src/linux-abi.js';
import { expectClean, finish } from './helpers.js';

const RW = PROT_READ | PROT_WRITE;
const ANON = MAP_PRIVATE | MAP_ANONYMOUS;

/**
 * The scenario the shootdowns exist for. A reader thread on CPU 1 caches the translation of a
 * page; its process's main thread, on CPU 0, unmaps the page; another process, on CPU 0 too,
 * touches a fresh page and gets the freed frame (the hottest one of CPU 0's page lists). Then
 * the reader loads from the unmapped address again.
 */
function staleReadScenario(shootdowns: boolean) {
  const machine = Machine.boot({ memory: '64M', cpus: 2 });
  machine.vm.cpus.shootdownsEnabled = shootdowns;
  let stage = 0;
  let buffer = 0;
  let readerCpu = -1;
  let leaked: number | undefined;
  const main = machine.spawn(function* main(ctx: UserContext) {
    buffer = ctx.mmap(0, 2 * PAGE_SIZE, RW, ANON);
    // Two pages, so unmapping the second leaves the page table in use: only the data frame
    // goes back to the allocator.
    ctx.store32(buffer, 1);
    ctx.store32(buffer + PAGE_SIZE, 0x1111);
    const tid = ctx.thread(function* reader(thread: UserContext) {
      readerCpu = machine.vm.cpus.current.id;
      expect(thread.load32(buffer + PAGE_SIZE)).toBe(0x1111);
      stage = 1;
      while (stage < 3) yield;
      leaked = thread.load32(buffer + PAGE_SIZE);
    });
    while (stage < 1) yield;
    ctx.munmap(buffer + PAGE_SIZE, PAGE_SIZE);
    stage = 2;
    while (stage < 3) yield;
    ctx.join(tid);
  });
  machine.schedule(() => stage >= 1);
  const frame = machine.mmus[1]!.tlb.entries().find((e) => e.virtualPage === buffer + PAGE_SIZE);
  const thief = machine.spawn(function* thief(ctx: UserContext) {
    const page = ctx.mmap(0, 2 * PAGE_SIZE, RW, ANON);
    ctx.store32(page, 7); // its page tables exist now: the next touch takes one frame only
    while (stage < 2) yield;
    ctx.store32(page + PAGE_SIZE, 0xdeadbeef);
    stage = 3;
  });
  machine.run();
  return { machine, main, thief, readerCpu, frame, leaked };
}

describe('TLB shootdowns', () => {
  it('without them, a thread on another CPU reads a frame that now belongs to another process', () => {
    const { machine, main, thief, readerCpu, frame, leaked } = staleReadScenario(false);
    expect(readerCpu).toBe(1);
    expect(frame).toBeDefined();
    expect(leaked).toBe(0xdeadbeef);
    expect(main.exitCode).toBe(0);
    expect(thief.exitCode).toBe(0);
    expect(machine.procfs.read('/proc/interrupts')).toMatch(/TLB:\s+0\s+0\s+TLB shootdowns/);
  });

  it('with them, the unmap reaches CPU 1 before the frame is reused, and the read faults', () => {
    const { machine, main, thief, readerCpu, leaked } = staleReadScenario(true);
    expect(readerCpu).toBe(1);
    expect(leaked).toBeUndefined();
    expect(main.signal).toBe(11);
    expect(main.fault?.kind).toBe('SEGV_MAPERR');
    expect(thief.exitCode).toBe(0);
    const interrupts = machine.procfs.read('/proc/interrupts');
    const tlb = /TLB:\s+(\d+)\s+(\d+)\s+TLB shootdowns/.exec(interrupts);
    expect(Number(tlb?.[2])).toBeGreaterThanOrEqual(1);
    finish(machine);
  });

  it('batches: unmapping 512 pages sends one IPI to each other CPU of the space, not 512', () => {
    const machine = Machine.boot({ memory: '64M', cpus: 4 });
    const pages = 512;
    let ipis = -1;
    let received: number[] = [];
    let stage = 0;
    machine.spawn(function* main(ctx: UserContext) {
      const buffer = ctx.mmap(0, pages * PAGE_SIZE, RW, ANON);
      for (let i = 0; i < pages; i++) ctx.store8(buffer + i * PAGE_SIZE, 1);
      const tids = [1, 2, 3].map(() =>
        ctx.thread(function* spinner(thread: UserContext) {
          thread.load8(buffer);
          stage++;
          while (stage < 4) yield;
        }),
      );
      while (stage < 3) yield;
      const before = machine.vm.cpus.ipisSent;
      const counts = machine.vm.cpus.all.map((cpu) => cpu.shootdownsReceived);
      ctx.munmap(buffer, pages * PAGE_SIZE);
      ipis = machine.vm.cpus.ipisSent - before;
      received = machine.vm.cpus.all.map((cpu, i) => cpu.shootdownsReceived - counts[i]!);
      stage = 4;
      for (const tid of tids) ctx.join(tid);
    });
    finish(machine);
    expect(ipis).toBe(3);
    expect(received).toEqual([0, 1, 1, 1]);
  });

  it('kswapd runs as a kernel thread on the tables the CPU has, lazily, until the next switch', () => {
    const machine = Machine.boot({ memory: '16M', swap: '32M' });
    const reclaim = machine.vm.reclaim!;
    const cpu = machine.vm.cpus.all[0]!;
    const lazyWhileReclaiming: boolean[] = [];
    const runKswapd = reclaim.runKswapd.bind(reclaim);
    reclaim.runKswapd = () => {
      lazyWhileReclaiming.push(cpu.lazy && cpu.loadedSpace !== null);
      runKswapd();
    };
    let lazyInUserMode = false;
    const handle = machine.spawn(function* filler(ctx: UserContext) {
      const pages = machine.frames.managedFrames;
      const buffer = ctx.mmap(0, pages * PAGE_SIZE, RW, ANON);
      for (let i = 0; i < pages; i++) {
        ctx.store32(buffer + i * PAGE_SIZE, i);
        if (i % 256 !== 0) continue;
        yield; // a scheduling point: kswapd runs here once woken
        lazyInUserMode ||= cpu.lazy;
      }
      for (let i = 0; i < pages; i++) if (ctx.load32(buffer + i * PAGE_SIZE) !== i) return 1;
      return 0;
    });
    finish(machine);
    expectClean(handle);
    expect(reclaim.events.kswapdRuns).toBeGreaterThan(0);
    expect(lazyWhileReclaiming).toEqual(Array(reclaim.events.kswapdRuns).fill(true));
    expect(lazyInUserMode).toBe(false);
  });

  it('a lazy CPU is spared the IPI and flushes when it runs the space again', () => {
    const machine = Machine.boot({ memory: '64M', cpus: 2 });
    const cpu1 = machine.vm.cpus.all[1]!;
    let page = 0;
    let staleKept = false;
    let entryBack = true;
    const handle = machine.spawn(function* main(ctx: UserContext) {
      const buffer = ctx.mmap(0, 2 * PAGE_SIZE, RW, ANON);
      page = buffer + PAGE_SIZE;
      ctx.store32(buffer, 5);
      ctx.store32(page, 6);
      ctx.thread((thread: UserContext) => thread.load32(page)); // runs on CPU 1, then ends
      for (let i = 0; i < 3; i++) yield; // CPU 1 goes idle: lazy, the space still loaded
      const received = cpu1.shootdownsReceived;
      ctx.munmap(page, PAGE_SIZE);
      expect(cpu1.lazy).toBe(true);
      expect(cpu1.shootdownsReceived).toBe(received);
      expect(cpu1.flushWhenBack).toBe(true);
      staleKept = cpu1.mmu.tlb.entries().some((e) => e.virtualPage === page);
      machine.check(); // the stale entry is allowed: CPU 1 cannot use it before flushing
      ctx.thread((thread: UserContext) => {
        entryBack = cpu1.mmu.tlb.entries().some((e) => e.virtualPage === page);
        thread.load32(page);
      });
      for (;;) yield;
    });
    machine.run();
    expect(staleKept).toBe(true);
    expect(entryBack).toBe(false);
    expect(handle.signal).toBe(11);
    finish(machine);
  });
});

describe('TLB shootdowns of weaker rights and COW breaks', () => {
  /**
   * A writer thread on CPU 1 stores through a writable translation, then its process's main
   * thread (CPU 0) makes the page read-only; the writer stores again.
   */
  function protectScenario(shootdowns: boolean) {
    const machine = Machine.boot({ memory: '64M', cpus: 2 });
    machine.vm.cpus.shootdownsEnabled = shootdowns;
    let stage = 0;
    let page = 0;
    const handle = machine.spawn(function* main(ctx: UserContext) {
      page = ctx.mmap(0, PAGE_SIZE, RW, ANON);
      const tid = ctx.thread(function* writer(thread: UserContext) {
        thread.store32(page, 1);
        stage = 1;
        while (stage < 2) yield;
        thread.store32(page, 2); // after mprotect(PROT_READ)
        stage = 3;
      });
      while (stage < 1) yield;
      ctx.mprotect(page, PAGE_SIZE, PROT_READ);
      stage = 2;
      ctx.join(tid);
      return ctx.load32(page);
    });
    machine.run();
    return { machine, handle, stage };
  }

  it('mprotect: without them the write goes through a stale writable entry', () => {
    const { handle, stage } = protectScenario(false);
    expect(stage).toBe(3);
    expect(handle.exitCode).toBe(2); // the read-only page was written
  });

  it('mprotect: with them the write faults (SEGV_ACCERR) and kills the process', () => {
    const { machine, handle, stage } = protectScenario(true);
    expect(stage).toBe(2);
    expect(handle.signal).toBe(11);
    expect(handle.fault?.kind).toBe('SEGV_ACCERR');
    finish(machine);
  });

  /**
   * A reader thread on CPU 1 caches the translation of a page its process shares copy-on-write
   * with a forked child; the main thread (CPU 0) writes the page (a COW break: its own copy);
   * the child, alone on the old frame now, writes it in place; the reader reads again.
   */
  function cowScenario(shootdowns: boolean) {
    const machine = Machine.boot({ memory: '64M', cpus: 2 });
    machine.vm.cpus.shootdownsEnabled = shootdowns;
    let stage = 0;
    let seen = -1;
    machine.spawn(function* main(ctx: UserContext) {
      const page = ctx.mmap(0, PAGE_SIZE, RW, ANON);
      ctx.store32(page, 1);
      const tid = ctx.thread(function* reader(thread: UserContext) {
        thread.load32(page);
        stage = 1;
        while (stage < 3) yield;
        seen = thread.load32(page);
      });
      while (stage < 1) yield;
      const child = ctx.fork(function* child(c: UserContext) {
        while (stage < 2) yield;
        c.store32(page, 0xc41d); // the frame is the child's alone: written in place
        stage = 3;
      });
      ctx.store32(page, 2); // COW break on CPU 0
      stage = 2;
      ctx.join(tid);
      ctx.wait(child);
    });
    machine.run();
    return { machine, seen };
  }

  it('COW break: without them the reader sees the child’s write through the old frame', () => {
    expect(cowScenario(false).seen).toBe(0xc41d);
  });

  it('COW break: with them the reader sees its own process’s copy', () => {
    const { machine, seen } = cowScenario(true);
    expect(seen).toBe(2);
    finish(machine);
  });
});

describe('CPUs', () => {
  it('boots with 1 CPU by default and up to 64, rejecting anything else', () => {
    expect(Machine.boot({ memory: '16M' }).cpuCount).toBe(1);
    expect(Machine.boot({ memory: '16M', cpus: 64 }).cpuCount).toBe(64);
    for (const cpus of [0, 65, 1.5, -1, Number.NaN]) {
      expect(() => Machine.boot({ memory: '16M', cpus })).toThrow(/cpus must be an integer/);
    }
  });

  it('lists each CPU in /proc/cpuinfo and has a TLB column for each in /proc/interrupts', () => {
    const machine = Machine.boot({ memory: '16M', cpus: 3 });
    const cpuinfo = machine.procfs.read('/proc/cpuinfo');
    expect(cpuinfo.match(/^processor\t: \d+$/gm)).toEqual([
      'processor\t: 0',
      'processor\t: 1',
      'processor\t: 2',
    ]);
    expect(cpuinfo).toMatch(/^flags\t\t: .*\bnx\b.*\bsmep smap$/m);
    const interrupts = machine.procfs.read('/proc/interrupts').split('\n');
    expect(interrupts[0]).toBe(`${' '.repeat(11)}CPU0       CPU1       CPU2       `);
    expect(interrupts[1]).toBe('TLB:          0          0          0   TLB shootdowns');
  });

  it('lets a process run on every CPU: Cpus_allowed in /proc/PID/status', () => {
    for (const [cpus, mask, list] of [
      [1, '1', '0'],
      [4, 'f', '0-3'],
      [40, 'ff,ffffffff', '0-39'],
    ] as const) {
      const machine = Machine.boot({ memory: '16M', cpus });
      const { pid } = machine.spawn(() => 0);
      const status = machine.procfs.read(`/proc/${pid}/status`);
      expect(status).toContain(`\nCpus_allowed:\t${mask}\nCpus_allowed_list:\t${list}\n`);
    }
  });

  it('places tasks on the least loaded CPU and each CPU keeps its own CR3 and TLB', () => {
    const machine = Machine.boot({ memory: '64M', cpus: 2 });
    const seen: Record<string, number> = {};
    const program = (name: string) =>
      function* (ctx: UserContext) {
        const page = ctx.mmap(0, PAGE_SIZE, RW, ANON);
        ctx.store32(page, 1);
        seen[name] = machine.vm.cpus.current.id;
        while (Object.keys(seen).length < 3) yield; // each keeps its space loaded meanwhile
        expect(machine.vm.cpus.current.id).toBe(seen[name]);
      };
    machine.spawn(program('a'));
    machine.spawn(program('b'));
    machine.spawn(program('c'));
    machine.schedule(() => Object.keys(seen).length === 3);
    expect(seen).toEqual({ a: 0, b: 1, c: 0 });
    const [cpu0, cpu1] = machine.mmus;
    expect(cpu0!.cpu.cr3).not.toBe(cpu1!.cpu.cr3);
    expect(cpu1!.tlb.entries().some((e) => e.user)).toBe(true);
    finish(machine);
  });

  it('drains an idle CPU’s page lists back to the buddy lists', () => {
    const machine = Machine.boot({ memory: '64M', cpus: 2 });
    let busySteps = 0;
    let freed = false;
    machine.spawn(function* busy() {
      while (busySteps < 6) {
        busySteps++;
        yield;
      }
    });
    machine.spawn(function* freer(ctx: UserContext) {
      const buffer = ctx.mmap(0, 8 * PAGE_SIZE, RW, ANON);
      for (let i = 0; i < 8; i++) ctx.store8(buffer + i * PAGE_SIZE, 1);
      ctx.munmap(buffer, 8 * PAGE_SIZE);
      freed = true;
      yield;
    });
    machine.schedule(() => freed);
    expect(machine.frames.perCpuFrames(1)).toBeGreaterThan(0);
    const steps = busySteps;
    machine.schedule(() => busySteps === steps + 3);
    expect(machine.frames.perCpuFrames(1)).toBe(0);
    finish(machine);
  });
});

describe('threads', () => {
  it('share the address space and the heap, and join returns their exit value', () => {
    const machine = Machine.boot({ memory: '64M', cpus: 2 });
    const handle = machine.spawn((ctx: UserContext) => {
      const shared = ctx.malloc(64);
      ctx.store32(shared, 41);
      const tid = ctx.thread((thread: UserContext) => {
        const value = thread.load32(shared);
        const block = thread.malloc(100);
        thread.store32(block, value + 1);
        thread.store32(shared + 4, block);
        return 7;
      });
      expect(tid).not.toBe(ctx.getpid());
      expect(ctx.join(tid)).toBe(7);
      const block = ctx.load32(shared + 4);
      expect(ctx.load32(block)).toBe(42);
      ctx.free(block);
      ctx.free(shared);
      return 3;
    });
    finish(machine);
    expect(handle.exitCode).toBe(3);
  });

  it('share one malloc heap, interleaved at every yield, with every block intact', () => {
    const machine = Machine.boot({ memory: '64M', cpus: 4 });
    const corrupted: string[] = [];
    const handle = machine.spawn(function* main(ctx: UserContext) {
      const worker = (seed: number) =>
        function* churn(thread: UserContext) {
          const held: { block: number; size: number; byte: number }[] = [];
          for (let step = 0; step < 60; step++) {
            const size = 1 + ((seed * 7919 + step * 104729) % 3000);
            const byte = (seed * 31 + step) & 0xff;
            const block = thread.malloc(size);
            thread.fill(block, size, byte);
            held.push({ block, size, byte });
            yield;
            if (step % 3 === 2) {
              const {
                block: old,
                size: bytes,
                byte: value,
              } = held.splice(step % held.length, 1)[0]!;
              const seen = thread.readBytes(old, bytes);
              if (seen.some((b) => b !== value)) corrupted.push(`thread ${seed}: block ${old}`);
              thread.free(old);
            }
          }
          for (const { block } of held) thread.free(block);
        };
      const tids = [1, 2, 3, 4].map((seed) => ctx.thread(worker(seed)));
      for (const tid of tids) ctx.join(tid);
      machine.heapOf(machine.process(ctx.getpid())!).check();
    });
    finish(machine);
    expect(corrupted).toEqual([]);
    expect(handle.exitCode).toBe(0);
  });

  it('each have their own malloc caches (a tcache), given back when they end', () => {
    const machine = Machine.boot({ memory: '64M', cpus: 2 });
    let stage = 0;
    const blocks: Record<string, number> = {};
    machine.spawn((ctx: UserContext) => {
      const first = ctx.thread(function* a(thread: UserContext) {
        blocks.a = thread.malloc(48);
        thread.free(blocks.a); // into a's cache
        stage = 1;
        while (stage < 2) yield;
        blocks.again = thread.malloc(48); // a's cache gives it back
        thread.free(blocks.again);
      });
      const second = ctx.thread(function* b(thread: UserContext) {
        while (stage < 1) yield;
        blocks.b = thread.malloc(48); // b's cache is empty: another chunk
        thread.free(blocks.b);
        stage = 2;
      });
      ctx.join(first);
      ctx.join(second);
      machine.heapOf(machine.process(ctx.getpid())!).check();
    });
    finish(machine);
    expect(blocks.b).not.toBe(blocks.a);
    expect(blocks.again).toBe(blocks.a);
  });

  it('a child forked by a thread takes that thread’s caches; its heap checks out', () => {
    const machine = Machine.boot({ memory: '64M', cpus: 2 });
    const seen: Record<string, number> = {};
    const handle = machine.spawn((ctx: UserContext) => {
      const tid = ctx.thread((thread: UserContext) => {
        seen.cached = thread.malloc(48);
        thread.free(seen.cached);
        const pid = thread.fork((child: UserContext) => {
          seen.child = child.malloc(48); // from the forking thread's cache
          machine.heapOf(machine.process(child.getpid())!).check();
          child.free(seen.child);
        });
        return thread.wait(pid).exitCode ?? 1;
      });
      expect(ctx.join(tid)).toBe(0);
    });
    finish(machine);
    expectClean(handle);
    expect(seen.child).toBe(seen.cached);
  });

  it('each get a stack mapping with a guard page, and Threads: counts them', () => {
    const machine = Machine.boot({ memory: '64M', cpus: 2 });
    let maps = '';
    let status = '';
    let gettid = 0;
    let tid = 0;
    const handle = machine.spawn(function* main(ctx: UserContext) {
      tid = ctx.thread(function* worker(thread: UserContext) {
        gettid = thread.gettid();
        while (status === '') yield;
      });
      while (gettid === 0) yield;
      maps = machine.procfs.read('/proc/self/maps');
      status = machine.procfs.read('/proc/self/status');
      ctx.join(tid);
      expect(machine.procfs.read('/proc/self/status')).toMatch(/^Threads:\t1$/m);
    });
    finish(machine);
    expectClean(handle);
    expect(gettid).toBe(tid);
    expect(status).toMatch(/^Threads:\t2$/m);
    const lines = maps.split('\n');
    const stack = lines.findIndex((line) => / rw-p /.test(line) && lineSize(line) === 8 << 20);
    expect(stack).toBeGreaterThan(0);
    expect(lines[stack - 1]).toMatch(/ ---p /);
    expect(lineSize(lines[stack - 1]!)).toBe(PAGE_SIZE);
  });

  it('a fault in one thread kills the whole process with SIGSEGV', () => {
    const machine = Machine.boot({ memory: '64M', cpus: 2 });
    let survived = false;
    const handle = machine.spawn(function* main(ctx: UserContext) {
      ctx.thread(function* crasher(thread: UserContext) {
        yield;
        thread.store32(0x10, 1);
      });
      for (let i = 0; i < 5; i++) yield;
      survived = true;
    });
    finish(machine);
    expect(handle.signal).toBe(11);
    expect(survived).toBe(false);
  });

  it('exit in any thread ends all of them; a returning leader waits for the last thread', () => {
    const machine = Machine.boot({ memory: '64M', cpus: 2 });
    const killed = machine.spawn(function* main(ctx: UserContext) {
      ctx.thread((thread: UserContext) => thread.exit(9));
      for (;;) yield;
    });
    let lastRan = false;
    const waited = machine.spawn((ctx: UserContext) => {
      ctx.thread(function* late() {
        for (let i = 0; i < 4; i++) yield;
        lastRan = true;
      });
      return 4;
    });
    finish(machine);
    expect(killed.exitCode).toBe(9);
    expect(lastRan).toBe(true);
    expect(waited.exitCode).toBe(4);
  });

  it('two joins of one thread: the first to return gets its value, the other ESRCH, other threads untouched', () => {
    const machine = Machine.boot({ memory: '64M' });
    const joins: string[] = [];
    let bystanderDone = false;
    const joinOf = (ctx: UserContext, tid: number, who: string) => {
      try {
        joins.push(`${who}: ${ctx.join(tid)}`);
      } catch (error) {
        joins.push(`${who}: ${(error as { code: string }).code}`);
      }
    };
    const leader = machine.spawn((ctx) => {
      const target = ctx.thread(function* target() {
        for (let slice = 0; slice < 3; slice++) yield;
        return 5;
      });
      ctx.thread((thread) => joinOf(thread, target, 'thread'));
      const bystander = ctx.thread(function* bystander() {
        for (let slice = 0; slice < 8; slice++) yield;
        bystanderDone = true;
      });
      joinOf(ctx, target, 'leader');
      ctx.join(bystander);
    });
    finish(machine);
    expectClean(leader);
    expect(joins).toEqual(['thread: 5', 'leader: ESRCH']);
    expect(bystanderDone).toBe(true);
  });

  it('reject bad calls with Linux errnos', () => {
    const machine = Machine.boot({ memory: '64M' });
    const handle = machine.spawn((ctx: UserContext) => {
      expect(ctx.syscall('clone', 42, 0)).toBe(-22);
      expect(ctx.syscall('clone', () => 0, 0)).toBe(-22);
      expect(() => ctx.join(999)).toThrow(expect.objectContaining({ code: 'ESRCH' }));
      const tid = ctx.thread(() => 0);
      expect(ctx.join(tid)).toBe(0);
      expect(() => ctx.join(tid)).toThrow(expect.objectContaining({ code: 'ESRCH' }));
    });
    finish(machine);
    expectClean(handle);
  });
});

/** Bytes a /proc/PID/maps line covers. */
function lineSize(line: string): number {
  const [start, end] = line.split(' ')[0]!.split('-');
  return Number.parseInt(end!, 16) - Number.parseInt(start!, 16);
}
