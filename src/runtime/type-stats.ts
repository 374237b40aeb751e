import type { CountedSet } from '../core/counted-set.js';
import type { TaskTypeLoad } from '../decide/snapshot.js';
import type { TaskTypeReport } from './run-report.js';

/** Upper bounds of the duration histogram's buckets, 1 ms to 5 min (Prometheus' `le`, in ms). */
export const DURATION_BUCKETS_MS: readonly number[] = [
  1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1_000, 2_500, 5_000, 10_000, 30_000, 60_000, 300_000,
];

/**
 * Measurements per task type: the window the loop reads each tick, and totals for the summary. A micro-task's
 * predicted duration is not here: the usage model's (usage-tracker.ts `predictedDurationMs`) is the one estimate.
 */
export class TypeStats {
  readonly report: TaskTypeReport;
  /** Completed micro-tasks per duration bucket (DURATION_BUCKETS_MS upper bounds, then +Inf): /metrics' histogram. */
  readonly durationBuckets = new Array<number>(DURATION_BUCKETS_MS.length + 1).fill(0);
  /** Micro-tasks that failed for good (no attempt left, or a failure no retry changes): /metrics outcome "failed". */
  failed = 0;
  private windowCount = 0;
  private windowDurationMs = 0;
  /** The successors as the last load gave them, and the set's change count then (copied only once it changed). */
  private successors:
    { readonly from: CountedSet<string>; readonly changes: number; readonly view: string[] } | undefined;

  constructor(
    readonly taskType: string,
    readonly hintDurationMs: number | undefined,
  ) {
    this.report = {
      taskType,
      total: 0,
      done: 0,
      retries: 0,
      coldStarts: 0,
      coldStartMsTotal: 0,
      prewarms: 0,
      peakSwarmlets: 0,
      durationMsTotal: 0,
    };
  }

  completed(durationMs: number): void {
    let bucket = 0;
    while (bucket < DURATION_BUCKETS_MS.length && durationMs > DURATION_BUCKETS_MS[bucket]!) bucket++;
    this.durationBuckets[bucket]! += 1;
    this.windowCount += 1;
    this.windowDurationMs += durationMs;
    this.report.durationMsTotal += durationMs;
  }

  /** Closes the window into the loop's view of this type's load. */
  closeWindow(
    ready: number,
    inFlight: number,
    blocked: number,
    runningForMs = 0,
    predictedDurationMs?: number,
    successors?: CountedSet<string>,
    durationErrorRatio?: number,
  ): TaskTypeLoad {
    const load: TaskTypeLoad = {
      taskType: this.taskType,
      ready,
      inFlight,
      blocked,
      completedInWindow: this.windowCount,
      meanDurationMsInWindow: this.windowCount > 0 ? this.windowDurationMs / this.windowCount : undefined,
      hintDurationMs: this.hintDurationMs,
      runningForMs,
      // One shape, whatever is known (undefined: not yet): the loop builds these every tick.
      predictedDurationMs,
      successors: this.successorsView(successors),
      durationErrorRatio,
    };
    this.windowCount = 0;
    this.windowDurationMs = 0;
    return load;
  }

  /** The types that wait on this one, as an array (undefined: none known). */
  private successorsView(successors: CountedSet<string> | undefined): string[] | undefined {
    if (successors === undefined || successors.size === 0) return undefined;
    let seen = this.successors;
    if (seen?.from !== successors || seen.changes !== successors.changes)
      this.successors = seen = { from: successors, changes: successors.changes, view: [...successors] };
    return seen.view;
  }
}

/**
 * How many micro-tasks to keep in flight on one swarmlet, from the type's predicted duration (the usage model's
 * `predictedDurationMs`; undefined: none yet): enough to cover ~2 ms of work so tiny tasks travel in big batches, and 1
 * for long tasks so queued work is never stranded behind a busy swarmlet while another sits idle.
 */
export function prefetchFor(durationMs: number | undefined): number {
  if (durationMs === undefined || durationMs >= 20) return 1;
  // Two in flight hide the IPC round trip behind the work.
  return Math.max(2, Math.min(1024, Math.floor(2 / Math.max(durationMs, 0.001))));
}
