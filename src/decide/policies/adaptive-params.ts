/** The adaptive policy's knobs, with the defaults we measured them at. */
export interface AdaptiveParams {
  /** Duration assumed for a type with no hint and no measurement yet. */
  readonly defaultDurationMs: number;
  /** Weight of the newest window in the duration estimate. */
  readonly durationAlpha: number;
  /** Do not start a process for less queued work per swarmlet than this (a cold start costs ~80 ms). */
  readonly replicateAboveMs: number;
  /**
   * A type with no swarmlet takes one from a type that still has work only once it has queued this
   * much work (one switch then flushes a batch) or has waited `maxWaitMs`: no ping-pong per task.
   */
  readonly batchMs: number;
  /** …and never waits longer than this (no starvation). */
  readonly maxWaitMs: number;
  /** Move a swarmlet only if the receiving type's drain time beats the donor's by this factor (hysteresis). */
  readonly moveMargin: number;
  /** A swarmlet is not reshaped again within this long of its last start or morph (anti-flap). */
  readonly cooldownMs: number;
  /**
   * Keep-alive, and the price of a cold start as idle time: before a task type has history, an idle
   * swarmlet with no work for its type is stopped after this; with history the adaptive keep-alive
   * policy (the simulator's) may stop it sooner and pre-warm before the type's next predicted burst.
   */
  readonly keepAliveMs: number;
  /**
   * What starting a swarmlet takes (a fork and a module load: ~80–100 ms measured). A keep-alive plan's shadow is
   * started this long plus one tick before its pre-warm window opens, so it is loaded when the window says.
   */
  readonly startMs: number;
  /** Pre-warm this long before a job's predicted first demand for a type (from its history). */
  readonly lookaheadMs: number;
  /** Reclaim a shadow that got no work this long after its predicted demand. */
  readonly reclaimAfterMs: number;
  /** Consolidate a type's swarmlets when their mean utilisation stays under this… */
  readonly consolidateBelowUtilization: number;
  /** …for this many consecutive ticks. */
  readonly consolidateAfterTicks: number;
}

export const ADAPTIVE_DEFAULTS: AdaptiveParams = {
  defaultDurationMs: 10,
  durationAlpha: 0.3,
  replicateAboveMs: 150,
  batchMs: 300,
  maxWaitMs: 2_000,
  moveMargin: 0.5,
  cooldownMs: 500,
  keepAliveMs: 2_000,
  startMs: 100,
  lookaheadMs: 30_000,
  reclaimAfterMs: 5_000,
  consolidateBelowUtilization: 0.3,
  consolidateAfterTicks: 5,
};
