/**
 * How many passes `replay` times, and when it stops: exact counts when the user gives them
 * (`--warmup N`, `--passes N`), else a time budget.
 *
 * ```
 *  budget ──────────────────────────────────────────────────────────────────────────────►
 *  warm-up passes, untimed, until the last three agree ──► timed passes (median reported)
 *  (V8 still compiling: each faster than the one before)    up to TIMED_RUNS, while time is left
 *  at most WARM_UP_SHARE of the budget                      at least one, however slow
 * ```
 *
 * V8 compiles a function once it has run enough; until the page-fault, brk and TLB-miss paths
 * have all been compiled, each pass is faster than the last. Warm-up ends when three passes in
 * a row agree within {@link STABLE_TOLERANCE} and none beats the best before them by more: the
 * compiled code is stable. A trace whose single pass outlasts the budget gets one warm-up and
 * one timed pass, so every trace gives its answer.
 */

/** Timed passes when the user sets no count: the glibc reference replayer's 7. */
export const TIMED_RUNS = 7;
/** Milliseconds of warm-up and timing when the user sets no counts. */
export const DEFAULT_BUDGET_MS = 5000;
/** Share of the budget warm-up may take, leaving the rest for the timed passes. */
export const WARM_UP_SHARE = 0.6;
/** Passes whose times must agree before warm-up counts as done. */
const STABLE_WINDOW = 3;
/** How close (relative) passes must be to count as agreeing. */
const STABLE_TOLERANCE = 0.05;
/** Warm-up passes never exceed this, stable or not (the old fixed count). */
export const MAX_WARM_UP_RUNS = 40;

/** The user's choice: exact counts, or (for what is left unset) the budget. */
export interface PassCounts {
  /** Exact warm-up passes (0 allowed); undefined: until stable, within the budget. */
  readonly warmUp?: number;
  /** Exact timed passes (at least 1); undefined: up to {@link TIMED_RUNS} within the budget. */
  readonly passes?: number;
  /** Milliseconds for the budgeted part; {@link DEFAULT_BUDGET_MS} by default. */
  readonly budgetMs?: number;
}

/** What the next pass is. */
export type PassKind = 'warm-up' | 'timed' | 'done';

/** Decides pass after pass what comes next, from the times of the passes so far. */
export class PassSchedule {
  private readonly warmUpTimes: number[] = [];
  private readonly timedTimes: number[] = [];
  private elapsedMs = 0;
  private readonly budgetMs: number;
  /** Whether warm-up ended because the times agreed (not for lack of time or a count). */
  stable = false;

  constructor(private readonly counts: PassCounts = {}) {
    this.budgetMs = counts.budgetMs ?? DEFAULT_BUDGET_MS;
  }

  /** The kind of the next pass. */
  next(): PassKind {
    if (this.timedTimes.length === 0 && this.warmingUp()) return 'warm-up';
    return this.moreTimed() ? 'timed' : 'done';
  }

  /** Records the time of the pass {@link next} asked for. */
  record(kind: Exclude<PassKind, 'done'>, ms: number): void {
    (kind === 'warm-up' ? this.warmUpTimes : this.timedTimes).push(ms);
    this.elapsedMs += ms;
  }

  /** Milliseconds of the passes so far, and the budget (for progress). */
  get progress(): { elapsedMs: number; budgetMs: number } {
    return { elapsedMs: this.elapsedMs, budgetMs: this.budgetMs };
  }

  get warmUps(): number {
    return this.warmUpTimes.length;
  }

  /** The timed passes' times, in the order they ran. */
  get times(): readonly number[] {
    return this.timedTimes;
  }

  /** The median of the timed passes (the upper one of an even count). */
  medianMs(): number {
    const sorted = [...this.timedTimes].sort((a, b) => a - b);
    return sorted[sorted.length >> 1] ?? 0;
  }

  private warmingUp(): boolean {
    const exact = this.counts.warmUp;
    if (exact !== undefined) return this.warmUpTimes.length < exact;
    if (this.warmUpTimes.length >= MAX_WARM_UP_RUNS) return false;
    if (this.isStable()) {
      this.stable = true;
      return false;
    }
    // Room for one more warm-up pass and at least one timed pass of the same length?
    const last = this.warmUpTimes[this.warmUpTimes.length - 1] ?? 0;
    return this.elapsedMs + last <= this.budgetMs * WARM_UP_SHARE;
  }

  private moreTimed(): boolean {
    const done = this.timedTimes.length;
    const exact = this.counts.passes;
    if (exact !== undefined) return done < exact;
    if (done === 0) return true;
    if (done >= TIMED_RUNS) return false;
    const last = this.timedTimes[done - 1]!;
    return this.elapsedMs + last <= this.budgetMs;
  }

  /** The last {@link STABLE_WINDOW} warm-up passes agree and do not beat the best before them. */
  private isStable(): boolean {
    const times = this.warmUpTimes;
    if (times.length < STABLE_WINDOW) return false;
    const window = times.slice(-STABLE_WINDOW);
    const low = Math.min(...window);
    if (Math.max(...window) > low * (1 + STABLE_TOLERANCE)) return false;
    const before = times.slice(0, -STABLE_WINDOW);
    return before.length === 0 || low >= Math.min(...before) * (1 - STABLE_TOLERANCE);
  }
}
