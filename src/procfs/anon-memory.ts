/**
 * Anonymous memory as the LRU lists and the swap device see it, in pages: the numbers
 * meminfo, vmstat and zoneinfo share.
 *
 * Without swap Linux never ages anonymous pages (there is nowhere to put them), so they stay
 * where new ones start since 5.9: on the inactive list. Locked pages are unevictable.
 */
import { FrameUse } from '../physical/index.js';
import type { AddressSpace } from '../virtual/address-space.js';
import { mlockedFrames } from '../virtual/mlock.js';
import type { KernelView } from './kernel-view.js';

export interface AnonMemory {
  readonly anon: number;
  readonly active: number;
  readonly inactive: number;
  readonly unevictable: number;
  readonly swapTotal: number;
  readonly swapFree: number;
  readonly swapCached: number;
}

export function anonMemory(machine: KernelView): AnonMemory {
  const anon = machine.frames.framesByUse(FrameUse.USER);
  const unevictable = mlockedFrames(liveSpaces(machine));
  const reclaim = machine.vm.reclaim;
  const active = reclaim === null ? 0 : reclaim.policy.activeSize;
  return {
    anon,
    active,
    inactive: Math.max(0, anon - active - unevictable),
    unevictable,
    swapTotal: reclaim?.device.usableSlots ?? 0,
    swapFree: reclaim?.device.freeSlots ?? 0,
    swapCached: reclaim?.cache.size ?? 0,
  };
}

export function* liveSpaces(machine: KernelView): Generator<AddressSpace> {
  for (const process of machine.processList) if (!process.ended) yield process.space;
}
