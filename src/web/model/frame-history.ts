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

/** The three per-frame arrays of a {@link FrameSnapshot}, run-length encoded. */
export interface FrameKey {
  readonly codes: Runs;
  readonly owners: Runs;
  readonly blockOrder: Runs;
}

/** The frames that changed since the previous kept step, with their new values. */
export interface FrameDiff {
  readonly frames: Uint32Array;
  readonly codes: Uint8Array;
  readonly owners: Int32Array;
  readonly blockOrder: Int8Array;
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
  return {
    codes: encodeRuns(snapshot.codes),
    owners: encodeRuns(snapshot.owners),
    blockOrder: encodeRuns(snapshot.blockOrder),
  };
}

/** Overwrites `into` with the picture of `key`. */
export function applyKey(key: FrameKey, into: FrameSnapshot): void {
  decodeRuns(key.codes, into.codes);
  decodeRuns(key.owners, into.owners);
  decodeRuns(key.blockOrder, into.blockOrder);
}

/** The frames whose code, owner or block order differ between `before` and `after`. */
export function diffOf(before: FrameSnapshot, after: FrameSnapshot): FrameDiff {
  const changed: number[] = [];
  for (let pfn = 0; pfn < after.frames; pfn++) {
    if (
      before.codes[pfn] !== after.codes[pfn] ||
      before.owners[pfn] !== after.owners[pfn] ||
      before.blockOrder[pfn] !== after.blockOrder[pfn]
    ) {
      changed.push(pfn);
    }
  }
  const frames = Uint32Array.from(changed);
  return {
    frames,
    codes: Uint8Array.from(frames, (pfn) => after.codes[pfn]!),
    owners: Int32Array.from(frames, (pfn) => after.owners[pfn]!),
    blockOrder: Int8Array.from(frames, (pfn) => after.blockOrder[pfn]!),
  };
}

/** Applies `diff` to `into`. */
export function applyDiff(diff: FrameDiff, into: FrameSnapshot): void {
  for (let i = 0; i < diff.frames.length; i++) {
    const pfn = diff.frames[i]!;
    into.codes[pfn] = diff.codes[i]!;
    into.owners[pfn] = diff.owners[i]!;
    into.blockOrder[pfn] = diff.blockOrder[i]!;
  }
}

/** One diff doing what `first` then `second` do (the later value of a frame wins). */
export function mergeDiffs(first: FrameDiff, second: FrameDiff): FrameDiff {
  const entries = new Map<number, [number, number, number]>();
  for (const diff of [first, second]) {
    for (let i = 0; i < diff.frames.length; i++) {
      entries.set(diff.frames[i]!, [diff.codes[i]!, diff.owners[i]!, diff.blockOrder[i]!]);
    }
  }
  const frames = Uint32Array.from([...entries.keys()].sort((a, b) => a - b));
  return {
    frames,
    codes: Uint8Array.from(frames, (pfn) => entries.get(pfn)![0]),
    owners: Int32Array.from(frames, (pfn) => entries.get(pfn)![1]),
    blockOrder: Int8Array.from(frames, (pfn) => entries.get(pfn)![2]),
  };
}

/** A fresh snapshot of `frames` frames holding a copy of `source`. */
export function copyOf(source: FrameSnapshot): FrameSnapshot {
  const copy = new FrameSnapshot(source.frames);
  copy.codes.set(source.codes);
  copy.owners.set(source.owners);
  copy.blockOrder.set(source.blockOrder);
  return copy;
}
