/**
 * The frame snapshots of a whole run, kept small: a step changes a handful of frames, so each
 * step keeps only the frames that changed since the step before (a {@link FrameDiff}), and now
 * and then the whole picture run-length encoded (a {@link FrameKey}). Any step is rebuilt from
 * the key at or before it plus the diffs after the key.
 *
 * ```
 *  step     0     1     2   …   64    65 …
 *  kept    key  diff  diff     key  diff      rebuild(2) = decode(key 0) + diff 1 + diff 2
 * ```
 *
 * A 4 GiB machine has a million frames: a key is a few thousand runs, a diff a few entries.
 */
import { FrameSnapshot } from './frame-snapshot.js';

/** The per-frame arrays of a {@link FrameSnapshot} (its `arrays`), run-length encoded. */
export type FrameKey = readonly Runs[];

/** The frames that changed since the previous kept step, with their new value in each array. */
export interface FrameDiff {
  readonly frames: Uint32Array;
  /** Per array of the snapshot, the new values of the changed frames. */
  readonly values: readonly Int32Array[];
}

/** A typed array as runs of equal values: run k covers [starts[k], starts[k+1]). */
export interface Runs {
  readonly length: number;
  readonly starts: Uint32Array;
  readonly values: Int32Array;
}

type NumberArray = Uint8Array | Int8Array | Int32Array;

/** `array` as runs of equal values. */
export function encodeRuns(array: NumberArray): Runs {
  const starts: number[] = [];
  const values: number[] = [];
  for (let i = 0; i < array.length; i++) {
    if (i === 0 || array[i] !== array[i - 1]) {
      starts.push(i);
      values.push(array[i]!);
    }
  }
  return {
    length: array.length,
    starts: Uint32Array.from(starts),
    values: Int32Array.from(values),
  };
}

/** Writes `runs` back into `into` (of the same length). */
export function decodeRuns(runs: Runs, into: NumberArray): void {
  for (let k = 0; k < runs.starts.length; k++) {
    const end = k + 1 < runs.starts.length ? runs.starts[k + 1]! : runs.length;
    into.fill(runs.values[k]!, runs.starts[k]!, end);
  }
}

/** The whole picture of `snapshot`, encoded. */
export function keyOf(snapshot: FrameSnapshot): FrameKey {
  return snapshot.arrays.map(encodeRuns);
}

/** Overwrites `into` with the picture of `key`. */
export function applyKey(key: FrameKey, into: FrameSnapshot): void {
  into.arrays.forEach((array, i) => {
    decodeRuns(key[i]!, array);
  });
}

/** The frames where any array of `before` and `after` differs. */
export function diffOf(before: FrameSnapshot, after: FrameSnapshot): FrameDiff {
  const [codes0, owners0, orders0, lru0] = before.arrays;
  const now = after.arrays;
  const [codes1, owners1, orders1, lru1] = now;
  const changed: number[] = [];
  // Written out: a million frames a step on a 4 GiB machine, nearly all unchanged.
  for (let pfn = 0; pfn < after.frames; pfn++) {
    if (
      codes0[pfn] !== codes1[pfn] ||
      owners0[pfn] !== owners1[pfn] ||
      orders0[pfn] !== orders1[pfn] ||
      lru0[pfn] !== lru1[pfn]
    ) {
      changed.push(pfn);
    }
  }
  const frames = Uint32Array.from(changed);
  return { frames, values: now.map((array) => Int32Array.from(frames, (pfn) => array[pfn]!)) };
}

/** Applies `diff` to `into`. */
export function applyDiff(diff: FrameDiff, into: FrameSnapshot): void {
  into.arrays.forEach((array, i) => {
    const values = diff.values[i]!;
    for (let k = 0; k < diff.frames.length; k++) array[diff.frames[k]!] = values[k]!;
  });
}

/** One diff doing what `first` then `second` do (the later value of a frame wins). */
export function mergeDiffs(first: FrameDiff, second: FrameDiff): FrameDiff {
  const entries = new Map<number, number[]>();
  for (const diff of [first, second]) {
    for (let k = 0; k < diff.frames.length; k++) {
      entries.set(
        diff.frames[k]!,
        diff.values.map((values) => values[k]!),
      );
    }
  }
  const frames = Uint32Array.from([...entries.keys()].sort((a, b) => a - b));
  const arrays = first.values.length;
  return {
    frames,
    values: Array.from({ length: arrays }, (_, i) =>
      Int32Array.from(frames, (pfn) => entries.get(pfn)![i]!),
    ),
  };
}

/** A fresh snapshot holding a copy of `source`. */
export function copyOf(source: FrameSnapshot): FrameSnapshot {
  const copy = new FrameSnapshot(source.frames);
  copy.arrays.forEach((array, i) => {
    array.set(source.arrays[i]!);
  });
  return copy;
}
