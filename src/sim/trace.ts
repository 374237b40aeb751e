/**
 * A workload trace as the simulator replays it: per app, invocation arrival times (ms from the
 * trace start, sorted) with their execution time, and the app's memory.
 */
export interface TraceApp {
  readonly appId: string;
  readonly ownerId: string;
  readonly memoryMb: number;
  /** Arrival times in ms from the trace start, ascending. */
  readonly arrivalsMs: Float64Array;
  /** Execution time of each invocation, ms (same length as arrivalsMs). */
  readonly durationsMs: Float64Array;
}

export interface Trace {
  readonly name: string;
  /** Replay window [startMs, endMs): idle memory is counted up to endMs. */
  readonly startMs: number;
  readonly endMs: number;
  readonly apps: readonly TraceApp[];
}

/** How invocations counted per minute are placed inside their minute. */
export type ArrivalPattern = 'even' | 'uniform' | 'poisson';

/** A problem with one row of an input file, reported instead of crashing. */
export interface RowIssue {
  readonly file: string;
  readonly line: number;
  readonly message: string;
}
