/**
 * Debug mode's byte patterns (the values of Linux's `include/linux/poison.h`) and the checks
 * on them. Only debug caches call these; a cache without debug pays one branch per operation.
 *
 * ```
 *  allocated:  cc cc cc cc cc cc cc cc │ object (5a 5a … when fresh) │ cc cc cc cc cc cc cc cc
 *  free:       bb bb bb bb bb bb bb bb │ 6b 6b 6b … 6b 6b 6b 6b a5   │ bb bb bb bb bb bb bb bb
 *              └──── left red zone ────┘                             └──── right red zone ───┘
 * ```
 *
 * The red zones tell an object's state (that is how a double free is caught); the poison tells
 * whether anything wrote to a free object. Constructed objects are not poisoned: their state must
 * survive while free.
 */
import type { MemoryAccess } from '../hw/memory-access.js';
import { RED_ZONE_BYTES, type SlabGeometry } from './geometry.js';

/** Red-zone byte of an allocated object (SLUB_RED_ACTIVE). */
export const RED_ACTIVE = 0xcc;
/** Red-zone byte of a free object (SLUB_RED_INACTIVE). */
export const RED_INACTIVE = 0xbb;
/** Poison of a free object (POISON_FREE). */
export const POISON_FREE = 0x6b;
/** Poison of a freshly allocated, uninitialised object (POISON_INUSE). */
export const POISON_INUSE = 0x5a;
/** Last byte of a free object's poison (POISON_END). */
export const POISON_END = 0xa5;

/** What an object's red zones say. */
export const RedZoneState = { Active: 0, Inactive: 1, Damaged: 2 } as const;
/** One of the {@link RedZoneState} values. */
export type RedZoneState = (typeof RedZoneState)[keyof typeof RedZoneState];

/** Reads both red zones of the slot at `slot`. */
export function redZoneState(memory: MemoryAccess, slot: number, g: SlabGeometry): RedZoneState {
  const left = memory.readBytes(slot, g.objectOffset);
  const right = memory.readBytes(slot + g.objectOffset + g.objectSize, RED_ZONE_BYTES);
  const first = left[0]!;
  if (first !== RED_ACTIVE && first !== RED_INACTIVE) return RedZoneState.Damaged;
  if (!allEqual(left, first) || !allEqual(right, first)) return RedZoneState.Damaged;
  return first === RED_ACTIVE ? RedZoneState.Active : RedZoneState.Inactive;
}

/** True when the free object at `object` still carries its poison, end marker included. */
export function poisonIntact(memory: MemoryAccess, object: number, size: number): boolean {
  const bytes = memory.readBytes(object, size);
  return allEqual(bytes.subarray(0, size - 1), POISON_FREE) && bytes[size - 1] === POISON_END;
}

/** Sets both red zones of the slot at `slot` to `byte`. */
export function paintRedZones(
  memory: MemoryAccess,
  slot: number,
  g: SlabGeometry,
  byte: number,
): void {
  memory.fill(slot, g.objectOffset, byte);
  memory.fill(slot + g.objectOffset + g.objectSize, RED_ZONE_BYTES, byte);
}

/** Poisons a free object: 0x6b throughout, 0xa5 in its last byte. */
export function poisonFree(memory: MemoryAccess, object: number, size: number): void {
  memory.fill(object, size - 1, POISON_FREE);
  memory.store8(object + size - 1, POISON_END);
}

function allEqual(bytes: Uint8Array, byte: number): boolean {
  for (let i = 0; i < bytes.length; i++) if (bytes[i] !== byte) return false;
  return true;
}
