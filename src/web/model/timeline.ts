/**
 * Every moment of a run, so a learner can go back to the step where a copy-on-write break or an
 * OOM kill happened. Bounded: when full, every other moment is dropped (the first and the last
 * are kept), so a long run stays covered end to end, more coarsely the longer it gets.
 *
 * ```
 *  entries   [0]        [1]        [2]   …  [64]       [65]
 *            moment     moment     moment   moment     moment
 *            frame key  frame diff diff     frame key  diff       (frame-history.ts)
 * ```
 */
import type { CounterSample } from './counters.js';
import {
  applyDiff,
  applyKey,
  copyOf,
  diffOf,
  type FrameDiff,
  type FrameKey,
  keyOf,
  mergeDiffs,
} from './frame-history.js';
import { FrameSnapshot } from './frame-snapshot.js';
import type { Moment } from './moment.js';

/** A whole picture is kept every this many entries (the rest are diffs). */
const KEY_INTERVAL = 64;

interface Entry {
  readonly moment: Moment;
  /** The whole picture, or the change since the previous entry (exactly one of them). */
  readonly key?: FrameKey;
  readonly diff?: FrameDiff;
}

/** The moments of one run, with their frames, oldest first. */
export class Timeline {
  private entries: Entry[] = [];
  /** A copy of the last recorded frames, to diff the next ones against. */
  private last: FrameSnapshot | null = null;
  private sinceKey = 0;

  constructor(readonly capacity: number) {}

  /** Moments kept. */
  get length(): number {
    return this.entries.length;
  }

  /** Records `moment` and the frames `snapshot` holds now (copied). */
  record(moment: Moment, snapshot: FrameSnapshot): void {
    if (this.last === null || this.sinceKey + 1 >= KEY_INTERVAL) {
      this.entries.push({ moment, key: keyOf(snapshot) });
      this.sinceKey = 0;
    } else {
      this.entries.push({ moment, diff: diffOf(this.last, snapshot) });
      this.sinceKey++;
    }
    this.last = copyOf(snapshot);
    if (this.entries.length > this.capacity) this.thin();
  }

  /** The moment at `index` (0 the oldest kept). */
  moment(index: number): Moment {
    return this.entries[index]!.moment;
  }

  /** Index of the kept moment with the largest step at most `step` (0 if none). */
  indexOfStep(step: number): number {
    let found = 0;
    for (let i = 0; i < this.entries.length && this.entries[i]!.moment.step <= step; i++) found = i;
    return found;
  }

  /** Writes the frames of moment `index` into `into` (sized for the machine). */
  framesAt(index: number, into: FrameSnapshot): void {
    let first = index;
    while (this.entries[first]!.key === undefined) first--;
    applyKey(this.entries[first]!.key!, into);
    for (let i = first + 1; i <= index; i++) applyDiff(this.entries[i]!.diff!, into);
  }

  /** The counters of every moment up to `index`, oldest first. */
  countersUpTo(index: number): CounterSample[] {
    return this.entries.slice(0, index + 1).map((entry) => entry.moment.counters);
  }

  /**
   * Keeps every other entry and the last; a dropped diff is merged into the next kept entry,
   * and a kept entry whose chain lost its key gets a key of its own.
   */
  private thin(): void {
    const entries = this.entries;
    const kept: Entry[] = [];
    let carried: FrameDiff | null = null;
    let lostKey = false;
    for (let i = 0; i < entries.length; i++) {
      const entry = entries[i]!;
      if (i % 2 === 1 && i !== entries.length - 1) {
        if (entry.key !== undefined) lostKey = true;
        else carried = carried === null ? entry.diff! : mergeDiffs(carried, entry.diff!);
        continue;
      }
      if (entry.key === undefined && lostKey) {
        const frames = new FrameSnapshot(this.last!.frames);
        this.framesAt(i, frames);
        kept.push({ moment: entry.moment, key: keyOf(frames) });
      } else if (entry.key === undefined && carried !== null) {
        kept.push({ moment: entry.moment, diff: mergeDiffs(carried, entry.diff!) });
      } else {
        kept.push(entry);
      }
      carried = null;
      lostKey = false;
    }
    this.entries = kept;
    this.sinceKey = 0;
    for (let i = kept.length - 1; kept[i]!.key === undefined; i--) this.sinceKey++;
  }
}
