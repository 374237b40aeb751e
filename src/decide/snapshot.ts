import type { SwarmletState } from '../core/swarmlet-lifecycle.js';

/** One swarmlet as the loop sees it at a tick. */
export interface SwarmletView {
  readonly id: string;
  /** The task type it serves, or is warming toward. */
  readonly taskType: string;
  readonly state: SwarmletState;
  readonly startedAtMs: number;
  /** Last time it held a micro-task (its start time if never). */
  readonly lastBusyAtMs: number;
  /** Last time it was started, specialized or reshaped: the cooldown runs from here. */
  readonly lastMorphAtMs: number;
  readonly inFlight: number;
  /**
   * How long the micro-task it is running has run (0 or undefined: none, or unknown where the environment cannot
   * tell): with its type's predicted duration, how soon it will be free.
   */
  readonly busyForMs?: number;
  /** Busy fraction over the last window, 0..1. */
  readonly utilization: number;
  /** Resident memory from its monitor; undefined until the first sample. */
  readonly rssMb: number | undefined;
  /** Set when a specialization waits for it to finish its current micro-tasks. */
  readonly pendingTaskType: string | undefined;
  /** Task types loaded and warmed in it, or being preloaded (specializing to one of them is instant). */
  readonly warmTypes: readonly string[];
  /** Started ahead of predicted demand (a shadow) and not yet given work. */
  readonly shadow: boolean;
}

/** What history says a running job will need: each task type, when (from the job's start) and how much. */
export interface JobProfileView {
  readonly jobKey: string;
  readonly startedAtMs: number;
  readonly runs: number;
  readonly types: readonly {
    readonly taskType: string;
    readonly firstDemandOffsetMs: number;
    readonly peakSwarmlets: number;
  }[];
}

/** Demand for one task type at a tick. */
export interface TaskTypeLoad {
  readonly taskType: string;
  /** Queued with all dependencies met. */
  readonly ready: number;
  readonly inFlight: number;
  /** Waiting on dependencies: known future demand. */
  readonly blocked: number;
  readonly completedInWindow: number;
  /** Mean micro-task duration in the window; undefined when nothing completed (no data yet). */
  readonly meanDurationMsInWindow: number | undefined;
  /** Declared hint from the task definition, used until measurements exist. */
  readonly hintDurationMs: number | undefined;
  /**
   * How long the longest-running micro-task of the type in flight has run (0: none): a lower bound on its duration,
   * known before any completes (a censored measurement). Undefined where the environment cannot tell.
   */
  readonly runningForMs?: number;
  /**
   * The usage model's prediction of one micro-task's duration (predict/usage-model.ts: what completed, by size where
   * a size is known; the hint until then): the one estimate admission, reservations and dispatch read too, embedded
   * and in the cluster (the director's job book holds one). Undefined: none yet.
   */
  readonly predictedDurationMs?: number;
  /**
   * Task types with micro-tasks that wait on this type's in the jobs' DAGs (a split's join on its children too): what
   * its work leads to. Undefined where the environment does not tell.
   */
  readonly successors?: readonly string[];
  /**
   * How far off `predictedDurationMs` has been lately: the median of |actual − predicted| ÷ actual (0.1: 10 %).
   * Undefined until completions were scored, or where the environment does not tell.
   */
  readonly durationErrorRatio?: number;
}

export interface PoolLimits {
  readonly maxSwarmlets: number;
  readonly maxMemoryMb: number;
  /** Memory a swarmlet is assumed to hold before its monitor reports. */
  readonly swarmletMemoryMb: number;
}

export interface Snapshot {
  readonly nowMs: number;
  readonly windowMs: number;
  readonly limits: PoolLimits;
  readonly swarmlets: readonly SwarmletView[];
  readonly load: readonly TaskTypeLoad[];
  /** Profiles of the running jobs, from earlier runs (empty when there is no history). */
  readonly jobProfiles: readonly JobProfileView[];
}

/** Swarmlets that count against the pool (everything not on its way out). */
export function liveSwarmlets(snapshot: Snapshot): SwarmletView[] {
  return snapshot.swarmlets.filter((s) => s.state !== 'stopped' && s.state !== 'draining');
}

/** `live`: the snapshot's live swarmlets, where the caller has them already. */
export function memoryInUseMb(snapshot: Snapshot, live: readonly SwarmletView[] = liveSwarmlets(snapshot)): number {
  return live.reduce((sum, s) => sum + (s.rssMb ?? snapshot.limits.swarmletMemoryMb), 0);
}
