import { expect } from 'vitest';
import { PAGE_SIZE } from '../../src/hw/constants.js';
import { type BootOptions, Machine, type SpawnOptions } from '../../src/kernel/machine.js';
import type { UserContext } from '../../src/kernel/user-context.js';
import { MAP_ANONYMOUS, MAP_PRIVATE, PROT_READ, PROT_WRITE } from '../../src/linux-abi.js';
import { FrameUse } from '../../src/physical/index.js';

/** Runs everything, then asserts no oops, consistent layers and memory back at its boot value. */
export function finish(machine: Machine): void {
  machine.run();
  expect(machine.oopses.map((o) => o.message)).toEqual([]);
  machine.check();
  machine.dropCaches();
  expect(machine.frames.freeFrames).toBe(machine.bootFreeFrames);
}

/** The process ended normally: no error, no signal, exit code 0. */
export function expectClean(handle: {
  exitCode: number | null;
  signal: number | null;
  error: string | null;
}): void {
  expect({ error: handle.error, signal: handle.signal, exitCode: handle.exitCode }).toEqual({
    error: null,
    signal: null,
    exitCode: 0,
  });
}

/**
 * Boots a machine, runs `body` in its one process (spawned with `spawnOptions`), then
 * finish(). An error thrown inside the process (a failed assertion) is thrown again here as it
 * was; otherwise the process must have ended normally.
 */
export function inProcess(
  body: (ctx: UserContext, machine: Machine) => void,
  options: BootOptions = { memory: '64M' },
  spawnOptions: SpawnOptions = {},
): Machine {
  const machine = Machine.boot(options);
  let failure: unknown = null;
  const handle = machine.spawn((ctx) => {
    try {
      body(ctx, machine);
    } catch (error) {
      failure = error;
    }
  }, spawnOptions);
  finish(machine);
  if (failure !== null) throw failure;
  expectClean(handle);
  return machine;
}

/** Touches `pages` pages of a fresh private mapping, writing each one's index + 1 in it; the base. */
export function touchPages(ctx: UserContext, pages: number): number {
  const flags = MAP_PRIVATE | MAP_ANONYMOUS;
  const base = ctx.mmap(0, pages * PAGE_SIZE, PROT_READ | PROT_WRITE, flags);
  for (let i = 0; i < pages; i++) ctx.store32(base + i * PAGE_SIZE, i + 1);
  return base;
}

/** Takes every free frame, as the kernel (CPL 0); {@link releaseFrames} gives them back. */
export function holdEveryFrame(machine: Machine): number[] {
  return machine.atCpl0(() => {
    const held: number[] = [];
    for (let pa = 0; pa >= 0; ) {
      pa = machine.frames.tryAllocPages(0, FrameUse.KERNEL);
      if (pa >= 0) held.push(pa);
    }
    return held;
  });
}

/** Gives back the frames {@link holdEveryFrame} took. */
export function releaseFrames(machine: Machine, held: readonly number[]): void {
  machine.atCpl0(() => {
    for (const pa of held) machine.frames.freePages(pa, 0);
  });
}
