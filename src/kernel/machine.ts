/**
 * The machine: boots the layers in order and runs processes on them.
 *
 * ```
 *  Machine.boot ─► memory map ─► PhysicalMemory (RAM) ─► PhysicalAllocator (buddy)
 *              ─► VirtualMemory (kernel page tables, direct map) ─► SlabAllocator
 *              ─► kernel object caches (task_struct, mm_struct, vm_area_struct) ─► ready
 * ```
 *
 * The machine owns the process table (spawn, fork's createProcess, clone's createThread; exit
 * and reap hand over to {@link ProcessExit}, exit.ts), kernel entry (`enterKernel`, oopses),
 * the OOM and signal paths, and user faults (handed to {@link UserFaults}, user-fault.ts).
 * Tasks (each process's leader and its threads) run on `cpus` simulated CPUs under the
 * {@link Scheduler} (scheduler.ts): per-CPU run queues served round-robin, the CPUs taking
 * turns in an order the seed draws each round; `run`, `schedule` and `block` (a task in `wait`
 * or `join`) hand over to it.
 */
import { InvalidArgumentError } from '../errors.js';
import { PAGE_SIZE } from '../hw/constants.js';
import { Cpu, USER_CPL } from '../hw/cpu.js';
import {
  formatE820,
  generateMemoryMap,
  type MemoryRegion,
  memoryMapFromRegions,
} from '../hw/memory-map.js';
import { Mmu } from '../hw/mmu.js';
import { PhysicalMemory } from '../hw/ram.js';
import { formatSize, pagesToKb, parseSize } from '../hw/size.js';
import { SlabAllocator } from '../kernel-alloc/index.js';
import {
  ERRNO,
  MAP_ANONYMOUS,
  MAP_PRIVATE,
  PROT_NONE,
  PROT_READ,
  PROT_WRITE,
  SIGABRT,
  SIGKILL,
} from '../linux-abi.js';
import { FrameUse, PhysicalAllocator, ZONE_NAMES } from '../physical/index.js';
import type { KernelView } from '../procfs/kernel-view.js';
import { ProcFs } from '../procfs/procfs.js';
import { Mulberry32 } from '../random.js';
import { RECLAIM_POLICY_NAMES, type ReclaimPolicyName } from '../replacement/policy.js';
import { createReclaimPolicy, isReclaimPolicyName } from '../replacement/reclaim-policies.js';
import { UserAllocator } from '../user-alloc/index.js';
import type { AddressSpace } from '../virtual/address-space.js';
import { RANDOMIZE_LEVELS, type RandomizeLevel, randomizeLayout } from '../virtual/aslr.js';
import { Reclaim, SWAP_CLUSTER_MAX } from '../virtual/reclaim/reclaim.js';
import { Watermarks } from '../virtual/reclaim/watermarks.js';
import { MAX_CPUS } from '../virtual/smp/cpus.js';
import { RunningCpuMemory } from '../virtual/smp/running-cpu-memory.js';
import { SwapCache } from '../virtual/swap/swap-cache.js';
import { SWAP_PRIORITY, SwapDevice } from '../virtual/swap/swap-device.js';
import { VirtualMemory } from '../virtual/virtual-memory.js';
import { checkMachine } from './check.js';
import { KernelOops, ProcessTermination, SyscallError } from './errors.js';
import { ProcessExit } from './exit.js';
import { FdTable } from './files/fd-table.js';
import { InputFile, OutputFile, type StandardFiles } from './files/open-file.js';
import { KERNEL_STACK_SIZE, KernelObjects, mmFieldsOf, unwrittenMm } from './kernel-objects.js';
import {
  OOM_SCORE_ADJ_MAX,
  OOM_SCORE_ADJ_MIN,
  oomKillMessage,
  reapAddressSpace,
  selectOomVictim,
} from './oom-killer.js';
import { Process, ProcessHandle, type Program } from './process.js';
import { ProcessHeapHost } from './process-heap-host.js';
import { Scheduler } from './scheduler.js';
import { type Task, Thread } from './thread.js';
import { UserContext } from './user-context.js';
import { UserFaults } from './user-fault.js';
import { UserMemory } from './user-memory.js';

export interface BootOptions {
  /** RAM size: bytes or a string with a K/M/G suffix (default 256M). */
  memory?: string | number;
  /**
   * Seed for everything random in the machine: its workloads, heap secrets, ASLR, and the
   * order in which the CPUs take their turns.
   */
  seed?: number;
  /** A firmware memory map to use instead of the generated PC layout. */
  memoryMap?: readonly MemoryRegion[];
  /** Debug mode: poison free frames and red-zone and poison every slab object. */
  debug?: boolean;
  /** Size of the swap device: bytes or a string with a K/M/G suffix (default: no swap). */
  swap?: string | number;
  /** The page-replacement policy of reclaim (default `linux`: active/inactive lists). */
  reclaim?: ReclaimPolicyName;
  /** CPUs (default 1, at most 64): each with its own registers, TLB and per-CPU lists. */
  cpus?: number;
  /**
   * Linux's `randomize_va_space` (default 2): 0 a fixed layout, 1 a random stack top and mmap
   * base for each new program, 2 a random heap start too. Drawn from the seed: one seed, one
   * layout.
   */
  aslr?: RandomizeLevel;
}

export interface SpawnOptions {
  name?: string;
  /** What the process reads from fd 0. */
  stdin?: string | Uint8Array;
  /** Its oom_score_adj, -1000..1000 (default 0); -1000: the OOM killer never picks it. */
  oomScoreAdj?: number;
  /**
   * A position-independent executable (`gcc -pie`, ELF type ET_DYN): its image is loaded at
   * ELF_ET_DYN_BASE (0x555555554000) plus 28 random bits of pages when ASLR is on, and its
   * heap starts above it. Default false: a non-PIE image at 0x400000 (ET_EXEC).
   */
  pie?: boolean;
}

/** Spreads pids over 32 bits before they are mixed into a heap's secret (the golden ratio). */
const HEAP_SECRET_MIX = 0x9e3779b1;
/** A thread's stack: glibc's default, RLIMIT_STACK's 8 MiB. */
export const THREAD_STACK_SIZE = 8 * 1024 * 1024;
/** The guard page glibc leaves below each thread stack (PROT_NONE). */
export const THREAD_GUARD_SIZE = PAGE_SIZE;
/** Mixed into the seed for ASLR's generator, so its draws differ from the workloads'. */
const ASLR_SEED_MIX = 0x5bd1e995;
/** Mixed into the seed for the scheduler's generator (the order of the CPUs' turns). */
const SCHEDULER_SEED_MIX = 0x27d4eb2f;

export class Machine implements KernelView {
  readonly ram: PhysicalMemory;
  /** Each CPU's MMU (its registers in `mmu.cpu`, its TLB in `mmu.tlb`), by CPU number. */
  readonly mmus: readonly Mmu[];
  readonly frames: PhysicalAllocator;
  readonly vm: VirtualMemory;
  readonly slab: SlabAllocator;
  readonly objects: KernelObjects;
  readonly procfs: ProcFs;
  readonly seed: number;
  /** `randomize_va_space`: how much of each new program's layout ASLR moves. */
  readonly randomizeVaSpace: RandomizeLevel;
  /** The kernel's boot messages, like `dmesg`. */
  readonly bootLog: string[] = [];
  /** Kernel bugs caught while running; always empty unless the kernel is broken. */
  readonly oopses: KernelOops[] = [];
  /** Free frames right after boot: what all memory comes back to. */
  readonly bootFreeFrames: number;
  /** Processes the OOM killer killed (vmstat's oom_kill). */
  oomKills = 0;
  /** Zone watermarks (min, low, high), derived from memory size as Linux does. */
  readonly watermarks: Watermarks;
  /** The process of the running task, or null while the kernel runs on its own. */
  current: Process | null = null;
  /** The running task (a process's leader or one of its threads), or null. */
  currentTask: Task | null = null;
  /** OOM victims of kernel allocations that have not died yet (see {@link killOomVictims}). */
  private oomVictimsPending = 0;
  private readonly processes = new Map<number, Process>();
  private nextPid = 1;
  /** Run queues and time slices: which task runs next, on which CPU. */
  private readonly scheduler: Scheduler;
  /** How tasks and processes end and are reaped. */
  private readonly exits = new ProcessExit(this, this.processes);
  /** What a fault in user mode leads to: handled, the OOM path, or SIGSEGV. */
  private readonly userFaults = new UserFaults(
    this,
    (error) => this.enterKernel(() => this.oops(error)),
    (reclaimFirst) => this.outOfMemory(reclaimFirst),
  );
  /** What {@link syncMm} writes, gathered in one object it keeps (no allocation per call). */
  private readonly mmFields = unwrittenMm();
  /** Where ASLR's random bits come from (Linux's get_random_long), seeded from `seed`. */
  private readonly aslrRandom: Mulberry32;

  private constructor(options: BootOptions) {
    const bytes = parseSize(options.memory ?? '256M');
    this.seed = options.seed ?? 0;
    this.randomizeVaSpace = options.aslr ?? 2;
    if (!RANDOMIZE_LEVELS.includes(this.randomizeVaSpace)) {
      throw new InvalidArgumentError(`aslr ${String(options.aslr)} is not 0, 1 or 2`);
    }
    this.aslrRandom = new Mulberry32(this.seed ^ ASLR_SEED_MIX);
    const map = options.memoryMap
      ? memoryMapFromRegions(options.memoryMap)
      : generateMemoryMap(bytes);
    this.log(
      `wallos-memory: booting with ${formatSize(map.installed.reduce((s, r) => s + r.length, 0))} of RAM`,
    );
    for (const line of formatE820(map)) this.log(line);
    this.ram = new PhysicalMemory(map.installed);
    const cpus = cpuCount(options.cpus);
    this.mmus = Array.from({ length: cpus }, () => new Mmu(this.ram, new Cpu()));
    this.scheduler = new Scheduler(this, cpus, new Mulberry32(this.seed ^ SCHEDULER_SEED_MIX));
    this.log(`smp: Bringing up ${cpus} CPU${cpus === 1 ? '' : 's'}`);
    this.frames = new PhysicalAllocator(this.ram, map, { debug: options.debug ?? false, cpus });
    this.logZones();
    this.vm = new VirtualMemory(this.ram, this.mmus, this.frames, map);
    this.log(
      `paging: 4-level, NX SMEP SMAP on; kernel page tables: ${this.vm.kernelTablePages} pages; ` +
        `direct map ${formatSize(this.vm.directMap.huge)} in 1G, ${formatSize(this.vm.directMap.large)} in 2M, ` +
        `${formatSize(this.vm.directMap.small)} in 4k pages`,
    );
    // Kernel objects are reached through the MMU of whichever CPU runs the kernel code.
    const kernelMemory = new RunningCpuMemory(this.vm.cpus);
    this.slab = new SlabAllocator(this.vm, kernelMemory, {
      debug: options.debug ?? false,
      bootDescriptor: this.vm.kernelData,
      cpus,
    });
    this.objects = new KernelObjects(this.slab, kernelMemory);
    this.vm.useRecordStore(this.objects);
    this.vm.registerShrinker(() => this.slab.shrinkAll());
    this.watermarks = new Watermarks(this.frames.stats().zones.map((z) => z.managedFrames));
    const policy = options.reclaim ?? 'linux';
    if (!isReclaimPolicyName(policy)) {
      throw new RangeError(
        `reclaim policy ${policy}: not one of ${RECLAIM_POLICY_NAMES.join(', ')}`,
      );
    }
    if (options.swap !== undefined) this.swapOn(parseSize(options.swap), policy);
    this.vm.onKernelOutOfMemory = () => this.kernelOutOfMemory();
    this.procfs = new ProcFs(this);
    this.bootFreeFrames = this.frames.freeFrames;
    this.log(
      `Memory: ${pagesToKb(this.frames.freeFrames)}K/${pagesToKb(this.frames.managedFrames)}K available`,
    );
  }

  /** Boots a machine: memory map → buddy allocator → kernel page tables → slab caches. */
  static boot(options: BootOptions = {}): Machine {
    return new Machine(options);
  }

  /** The MMU of the CPU running now. */
  get mmu(): Mmu {
    return this.vm.mmu;
  }

  /** The registers of the CPU running now. */
  get cpu(): Cpu {
    return this.vm.cpu;
  }

  /** How many CPUs the machine has. */
  get cpuCount(): number {
    return this.mmus.length;
  }

  private log(line: string): void {
    this.bootLog.push(line);
  }

  /** Adds a swap device of `bytes` and starts reclaim with the policy named `policy`. */
  private swapOn(bytes: number, policy: ReclaimPolicyName): void {
    const device = new SwapDevice(bytes);
    const cache = new SwapCache(device, this.frames);
    const lru = createReclaimPolicy(policy, this.frames.spannedFrames);
    this.vm.reclaim = new Reclaim(this.vm, device, cache, lru, this.watermarks);
    this.log(
      `Adding ${pagesToKb(device.usableSlots)}k swap on ${device.path}.  ` +
        `Priority:${SWAP_PRIORITY} extents:1 across:` +
        `${pagesToKb(device.usableSlots)}k`,
    );
  }

  private logZones(): void {
    const stats = this.frames.stats();
    for (let zone = 0; zone < ZONE_NAMES.length; zone++) {
      const free = stats.zones[zone]?.freeFrames ?? 0;
      this.log(`zone ${ZONE_NAMES[zone]}: ${free} free pages`);
    }
  }

  // ─── processes ──────────────────────────────────────────────────────────────────────────

  /**
   * Starts `program` in a new process; it runs when the machine runs (`run`, or a `wait`).
   * @throws SyscallError (code `ENOMEM`) when kernel memory for the process runs out; nothing
   *   stays allocated then.
   */
  spawn(program: Program, options: SpawnOptions = {}): ProcessHandle {
    if (typeof program !== 'function') throw new TypeError('spawn: program must be a function');
    const name = options.name ?? (program.name || 'program');
    const stdin =
      typeof options.stdin === 'string'
        ? new TextEncoder().encode(options.stdin)
        : (options.stdin ?? new Uint8Array(0));
    const standard = {
      stdin: new InputFile(stdin),
      stdout: new OutputFile(),
      stderr: new OutputFile(),
    };
    const adj = options.oomScoreAdj ?? 0;
    if (!Number.isInteger(adj) || adj < OOM_SCORE_ADJ_MIN || adj > OOM_SCORE_ADJ_MAX) {
      throw new SyscallError('spawn', 'EINVAL');
    }
    const pie = options.pie ?? false;
    if (typeof pie !== 'boolean') throw new SyscallError('spawn', 'EINVAL');
    const layout = randomizeLayout(this.randomizeVaSpace, (bits) => this.randomBits(bits), pie);
    const space = this.vm.createAddressSpace(name, layout);
    if (space === undefined) throw new SyscallError('spawn', 'ENOMEM');
    const process = this.createProcess(space, null, name, program, standard);
    if (process === undefined) {
      space.destroy();
      throw new SyscallError('spawn', 'ENOMEM');
    }
    process.oomScoreAdj = adj;
    return new ProcessHandle(process);
  }

  /** `bits` (1..32) random bits from ASLR's generator: the top bits of its 32-bit output. */
  private randomBits(bits: number): number {
    return Math.floor(this.aslrRandom.next() * 2 ** bits);
  }

  /** The process with `pid`, if it has not been reaped. */
  process(pid: number): Process | undefined {
    return this.processes.get(pid);
  }

  /** Every process not yet reaped, by pid. */
  get processList(): Process[] {
    return [...this.processes.values()];
  }

  /**
   * Builds a process around `space`: task_struct, mm_struct, kernel stack, user context, and
   * fds 0-2 over `standard` — or, for a child of `parent` (fork), a copy of the parent's fd
   * table. Undefined (with nothing allocated) when kernel memory is exhausted.
   */
  createProcess(
    space: AddressSpace,
    parent: Process | null,
    name: string,
    program: Program,
    standard: StandardFiles,
  ): Process | undefined {
    const task = this.objects.tasks.alloc();
    const mm = this.objects.mms.alloc();
    const stack = this.vm.vmalloc(KERNEL_STACK_SIZE, FrameUse.KERNEL_STACK);
    if (task === 0 || mm === 0 || stack === 0) {
      if (task !== 0) this.objects.tasks.free(task);
      if (mm !== 0) this.objects.mms.free(mm);
      if (stack !== 0) this.vm.vfree(stack);
      return undefined;
    }
    const pid = this.nextPid++;
    const files = parent === null ? FdTable.standard(standard) : parent.files.fork();
    const process = new Process(
      pid,
      parent,
      name,
      program,
      space,
      task,
      mm,
      stack,
      standard,
      files,
    );
    this.objects.writeTask(task, { pid, ppid: process.ppid, state: 0, exit: 0, mm, stack, name });
    this.syncMm(process);
    process.cpu = this.scheduler.leastLoadedCpu();
    this.processes.set(pid, process);
    parent?.children.add(process);
    if (parent !== null) process.oomScoreAdj = parent.oomScoreAdj;
    return process;
  }

  /**
   * clone(CLONE_VM | CLONE_THREAD …): a new task of `process` running `program`, with a
   * task_struct, a kernel stack, and a stack of its own in the address space (glibc's
   * allocate_stack: a mapping with a PROT_NONE guard page at its low end, struct pthread at
   * its top). Its tid, or a negative errno.
   */
  createThread(process: Process, program: Program): number {
    const space = process.space;
    const length = THREAD_STACK_SIZE + THREAD_GUARD_SIZE;
    const base = space.mmap(0, length, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS);
    if (base < 0) return base;
    const task = this.objects.tasks.alloc();
    const kernelStack = this.vm.vmalloc(KERNEL_STACK_SIZE, FrameUse.KERNEL_STACK);
    if (task === 0 || kernelStack === 0 || space.mprotect(base, THREAD_GUARD_SIZE, PROT_NONE) < 0) {
      if (task !== 0) this.objects.tasks.free(task);
      if (kernelStack !== 0) this.vm.vfree(kernelStack);
      space.munmap(base, length);
      return -ERRNO.ENOMEM;
    }
    const tid = this.nextPid++;
    const thread = new Thread(tid, process, program, base, length, task, kernelStack);
    this.objects.writeTask(task, {
      pid: tid,
      ppid: process.ppid,
      state: 0,
      exit: 0,
      mm: process.mmRecord,
      stack: kernelStack,
      name: process.name,
    });
    const status = this.vm.copyToUser(
      space,
      thread.descriptorAddress,
      new Uint8Array(new Uint32Array([tid]).buffer),
    );
    if (status < 0) {
      this.exits.releaseThread(thread);
      return status;
    }
    thread.cpu = this.scheduler.leastLoadedCpu();
    process.threads.push(thread);
    this.syncMm(process);
    return tid;
  }

  /** Every task not yet ended, leaders before their threads, in pid order. */
  liveTasks(): Task[] {
    const tasks: Task[] = [];
    for (const process of this.processes.values()) {
      if (process.ended) continue;
      if (process.leaderExitCode === null) tasks.push(process);
      for (const thread of process.threads) if (!thread.ended) tasks.push(thread);
    }
    return tasks;
  }

  /** Writes the address-space summary into the process's mm_struct. */
  syncMm(process: Process): void {
    process.peakVmSize = Math.max(process.peakVmSize, process.space.mappedBytes);
    const fields = mmFieldsOf(process.space, this.mmFields);
    this.objects.writeMm(process.mmRecord, fields, process.mmWritten);
  }

  /** The user context of `task` (a process's leader, or a thread), made on first use. */
  contextOf(task: Task): UserContext {
    task.context ??= new UserContext(this, task.process, this.memoryOf(task.process), task);
    return task.context;
  }

  /** The process's memory as its code reaches it (one view for all its threads). */
  memoryOf(process: Process): UserMemory {
    process.memory ??= new UserMemory(this, process);
    return process.memory;
  }

  /**
   * The process's malloc heap, created on its first use (or inherited through fork). Its header
   * secret comes from the machine's seed and the pid, so a run is reproducible from its seed.
   */
  heapOf(process: Process): UserAllocator {
    const seed = this.seed ^ Math.imul(process.pid, HEAP_SECRET_MIX);
    if (process.heap === null) {
      process.heap = new UserAllocator(this.heapHostOf(process), { seed });
      if (this.currentTask?.process === process) this.useThreadCacheOf(this.currentTask);
    }
    return process.heap;
  }

  /** The process's malloc serves `task` from its own caches (each thread has a tcache). */
  useThreadCacheOf(task: Task): void {
    if (task instanceof Thread) task.process.heap?.useThreadCache(task.tid, task.cacheHeads);
    else task.heap?.useThreadCache(0, 0);
  }

  /** The system-call interface a heap in `process` grows through. */
  heapHostOf(process: Process): ProcessHeapHost {
    return new ProcessHeapHost(this, process);
  }

  // ─── the scheduler ──────────────────────────────────────────────────────────────────────

  /** Runs every process to its end. */
  run(): void {
    this.scheduler.run();
  }

  /** Runs runnable tasks until `done()` holds or none can run. */
  schedule(done: () => boolean): void {
    this.scheduler.schedule(done);
  }

  /** Runs the other tasks while `caller` waits for `done()` (or until nothing can run). */
  block(caller: Task, done: () => boolean): void {
    this.scheduler.block(caller, done);
  }

  /** The running generator task sleeps from its next yield until `woken()` holds. */
  sleep(task: Task, woken: () => boolean): void {
    this.scheduler.sleep(task, woken);
  }

  /** Ends one task with `code`; the last task to end ends the process (exit.ts). */
  endTask(task: Task, code: number): void {
    this.exits.endTask(task, code);
  }

  /** pthread_join: thread `tid`'s exit value, or a negative errno (exit.ts). */
  joinThread(caller: Task, tid: number): number {
    return this.exits.joinThread(caller, tid);
  }

  /** A program threw something of its own: it dies like an uncaught exception (exit code 1). */
  programThrew(process: Process, error: unknown): void {
    if (process.ended) return;
    const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    process.error = message;
    this.writeStream(process.stderr, `${process.name}: uncaught ${message}\n`);
    this.enterKernel(() => this.exit(process, 1, null));
  }

  // ─── kernel entry, faults and termination ───────────────────────────────────────────────

  /**
   * Runs kernel code at CPL 0. A fault or error escaping it is a kernel bug: an oops is
   * recorded and the current process killed, as Linux does. On the way back to user mode the
   * OOM victims of kernel allocations die (the current process unwinds if it is one), as a
   * pending SIGKILL is delivered on Linux's exit to user mode: not at the end of the outermost
   * entry, which a task running while another waits in the kernel never reaches.
   */
  enterKernel<T>(work: () => T): T {
    const registers = this.cpu;
    const saved = registers.cpl;
    registers.cpl = 0;
    let result: T;
    try {
      result = work();
    } catch (error) {
      if (error instanceof ProcessTermination) throw error;
      throw this.oops(error);
    } finally {
      registers.cpl = saved;
    }
    if (saved === USER_CPL && this.oomVictimsPending > 0) this.killOomVictims();
    return result;
  }

  private oops(error: unknown): Error {
    const message = error instanceof Error ? error.message : String(error);
    const oops = new KernelOops(message, error);
    this.oopses.push(oops);
    const victim = this.current;
    if (victim === null || victim.ended) return oops;
    this.exit(victim, null, SIGKILL);
    return new ProcessTermination(victim.pid);
  }

  /** A user-mode fault: resolved (the access is retried) or the process dies (user-fault.ts). */
  userFault(process: Process, error: unknown, faults: number): void {
    this.userFaults.userFault(process, error, faults);
  }

  /** A page fault in user mode at `cr2`, the `faults`th of its access (user-fault.ts). */
  userPageFault(process: Process, cr2: number, errorCode: number, faults: number): void {
    this.userFaults.userPageFault(process, cr2, errorCode, faults);
  }

  /**
   * A user-mode fault found no memory: reclaim directly (when `reclaimFirst`), else kill the
   * process with the highest badness (Linux's out_of_memory). True when memory was freed and the
   * fault is worth retrying; the current process is unwound instead when it is the victim (or
   * none may be killed).
   */
  private outOfMemory(reclaimFirst: boolean): boolean {
    const freed = reclaimFirst
      ? this.enterKernel(() => this.vm.tryToFreePages(SWAP_CLUSTER_MAX))
      : 0;
    if (freed > 0) return true;
    const victim = selectOomVictim(this.processList, this.totalPages);
    const current = this.current;
    if (victim === undefined) {
      if (current === null) return false;
      return this.kill(current, SIGKILL, 'out of memory');
    }
    this.log(oomKillMessage(victim));
    this.oomKills++;
    if (victim === current) this.kill(victim, SIGKILL, 'out of memory');
    victim.error ??= 'out of memory';
    this.enterKernel(() => this.exit(victim, null, SIGKILL));
    return true;
  }

  /**
   * A kernel allocation found no memory even after reclaim (Linux's __alloc_pages_may_oom):
   * the process with the highest badness is chosen. Another process has its user memory
   * reaped at once (the OOM reaper) and dies at the next return to user mode, so nothing
   * the allocating code holds changes under it; true then, and the allocation is retried. The
   * current process (or none left to choose, or one already chosen allocating again) makes the
   * allocation fail: its system call fails, cleanly, and it dies on the way back to user mode.
   */
  private kernelOutOfMemory(): boolean {
    const current = this.current;
    if (current?.oomVictim === true) return false;
    const victim = selectOomVictim(this.processList, this.totalPages);
    if (victim === undefined) return false;
    this.log(oomKillMessage(victim));
    this.oomKills++;
    victim.oomVictim = true;
    victim.error ??= 'out of memory';
    this.oomVictimsPending++;
    if (victim === current) return false;
    reapAddressSpace(victim.space);
    return true;
  }

  /**
   * The OOM victims of kernel allocations exit (SIGKILL), at a return to user mode or when the
   * scheduler would run one; the current process, if it is one, unwinds.
   */
  killOomVictims(): void {
    this.oomVictimsPending = 0;
    const victims = this.processList.filter((process) => process.oomVictim && !process.ended);
    for (const victim of victims) this.enterKernel(() => this.exit(victim, null, SIGKILL));
    const current = this.current;
    if (current !== null && victims.includes(current)) throw new ProcessTermination(current.pid);
  }

  /** RAM and swap pages: what oom_score is a share of (Linux's totalram + total_swap pages). */
  get totalPages(): number {
    return this.frames.managedFrames + (this.vm.reclaim?.device.usableSlots ?? 0);
  }

  /** Ends `process` by signal `signal` and unwinds it. */
  kill(process: Process, signal: number, message?: string): never {
    if (message !== undefined && process.error === null) process.error = message;
    this.enterKernel(() => this.exit(process, null, signal));
    throw new ProcessTermination(process.pid);
  }

  /** exit(2): ends `process` normally with `code` and unwinds it. */
  terminate(process: Process, code: number): never {
    this.enterKernel(() => this.exit(process, Number.isInteger(code) ? code & 0xff : 0, null));
    throw new ProcessTermination(process.pid);
  }

  /** glibc's abort(): the message on stderr, then SIGABRT. */
  abort(process: Process, message: string): never {
    this.writeStream(process.stderr, `${message}\n`);
    return this.kill(process, SIGABRT, message);
  }

  /** Ends a process and every thread of it (exit_group), leaving a zombie (exit.ts). */
  exit(process: Process, exitCode: number | null, signal: number | null): void {
    this.exits.exit(process, exitCode, signal);
  }

  /** Frees a zombie's descriptor: it is gone from the process table. */
  reap(process: Process): void {
    this.exits.reap(process);
  }

  /** Appends UTF-8 text to an output file of a process. */
  writeStream(file: OutputFile, text: string): void {
    file.append(new TextEncoder().encode(text));
  }

  // ─── checks ─────────────────────────────────────────────────────────────────────────────

  /**
   * Cross-checks every layer against the others (frame owners, reference counts, RSS, page
   * tables, slab consistency) and throws an {@link InvariantError} listing what disagrees.
   */
  check(): void {
    this.atCpl0(() => checkMachine(this));
  }

  /** Frees cached kernel memory (empty slabs), as `echo 3 > drop_caches` would. */
  dropCaches(): number {
    return this.atCpl0(() => this.slab.shrinkAll());
  }

  /**
   * Runs kernel work requested from outside any system call (a check, a /proc read, dropping
   * caches) at CPL 0 — also when called from inside a running program — and restores the
   * CPL after. Unlike {@link enterKernel}, errors are the caller's, not oopses.
   */
  atCpl0<T>(work: () => T): T {
    const registers = this.cpu;
    const saved = registers.cpl;
    registers.cpl = 0;
    try {
      return work();
    } finally {
      registers.cpl = saved;
    }
  }
}

/** The `cpus` boot option, checked: an integer from 1 to {@link MAX_CPUS}. */
function cpuCount(cpus: number | undefined): number {
  if (cpus === undefined) return 1;
  if (!Number.isInteger(cpus) || cpus < 1 || cpus > MAX_CPUS) {
    throw new InvalidArgumentError(
      `cpus must be an integer from 1 to ${MAX_CPUS}, got ${String(cpus)}`,
    );
  }
  return cpus;
}
