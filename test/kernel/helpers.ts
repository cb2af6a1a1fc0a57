import { expect } from 'vitest';
import type { Machine } from '../../src/kernel/machine.js';

/** Runs everything, then asserts no oops, consistent layers and memory back at its boot value. */
export function finish(machine: Machine): void {
  machine.run();
  expect(machine.oopses.map((o) => o.message)).toEqual([]);
  machine.check();
  machine.dropCaches();
  expect(machine.frames.freeFrames).toBe(machine.bootFreeFrames);
}
