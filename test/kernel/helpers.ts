import { expect } from 'vitest';
import { type BootOptions, Machine, type SpawnOptions } from '../../src/kernel/machine.js';
import type { UserContext } from '../../src/kernel/user-context.js';

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
