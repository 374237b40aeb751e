import { EMPTY_EWMA, updateEwma, type Ewma } from '../../predict/ewma.js';
import { demandByType, type TypeDemand } from '../demand.js';
import type { Policy } from '../policy.js';
import type { Snapshot, TaskTypeLoad } from '../snapshot.js';
import { TickPlan } from './adaptive-plan.js';
import { prewarmActions } from './prewarm-plan.js';
import { KeepWarm } from './keep-warm.js';
import { adaptiveWarmPolicy } from '../warm/adaptive-warm.js';
import { ADAPTIVE_DEFAULTS, type AdaptiveParams } from './adaptive-params.js';

export { ADAPTIVE_DEFAULTS, type AdaptiveParams };

export interface AdaptiveState {
  readonly durations: ReadonlyMap<string, Ewma>;
  /** Consecutive ticks each type has been under-used (consolidation hysteresis). */
  readonly lowUseTicks: ReadonlyMap<string, number>;
  /** Since when each type has had queued work and no swarmlet. */
  readonly waitingSinceMs: ReadonlyMap<string, number>;
  /** Per task type keep-alive/pre-warm plans (the simulator's adaptive policy); mutable, owned here. */
  readonly keepWarm: KeepWarm;
}

/**
 * Ours: keeps every type's backlog draining at the same pace by replicating, specializing, consolidating and
 * deprovisioning.
 */
export function adaptivePolicy(overrides: Partial<AdaptiveParams> = {}): Policy<AdaptiveState> {
  const params = { ...ADAPTIVE_DEFAULTS, ...overrides };
  return {
    name: 'adaptive',
    initialState: () => ({
      durations: new Map(),
      lowUseTicks: new Map(),
      waitingSinceMs: new Map(),
      // A cold start is priced at keepAliveMs of an idle swarmlet: with no history that is how long one is kept.
      keepWarm: new KeepWarm(adaptiveWarmPolicy({ coldPriceS: params.keepAliveMs / 1000 }), params.startMs),
    }),
    decide(state, snapshot) {
      state.keepWarm.observe(snapshot);
      const durations = learnDurations(state.durations, snapshot, params.durationAlpha);
      const demands = demandByType(snapshot, (load) => estimateDurationMs(load, durations, params));
      const waitingSinceMs = trackWaiting(state.waitingSinceMs, demands, snapshot.nowMs);
      const unmeasured = new Set<string>();
      for (const load of snapshot.load)
        if (!durations.has(load.taskType) && load.hintDurationMs === undefined) unmeasured.add(load.taskType);
      const plan = new TickPlan(snapshot, params, waitingSinceMs, state.keepWarm, unmeasured);
      plan.rebalance(demands);
      const lowUseTicks = plan.consolidate(demands, state.lowUseTicks);
      plan.deprovisionIdle(demands);
      plan.prewarmAhead(demands);
      plan.add(
        prewarmActions(
          snapshot,
          plan.usedSwarmlets(),
          params,
          (taskType) => state.keepWarm.wantsLoaded(taskType, snapshot.nowMs) === true,
          plan.liveSwarmlets,
        ),
      );
      plan.add(state.keepWarm.prewarms(snapshot, plan.usedSwarmlets(), plan.liveSwarmlets));
      return {
        state: { durations, lowUseTicks, waitingSinceMs, keepWarm: state.keepWarm },
        decision: { actions: plan.actions, unplaced: plan.unplaced },
      };
    },
  };
}

/**
 * A type's duration as the policy sees it. Once one has completed: the usage model's prediction, the one estimate
 * admission, reservations and dispatch read too, embedded and in the cluster (this policy's own average of the loop's
 * windows only where a snapshot carries none, as a hand-built one in a test). Before: its hint, else the default, and
 * at least as long as its longest-running micro-task has run (a 400 s task is not taken for a 10 ms one while it
 * runs; in the cluster, from the agents' heartbeats).
 */
function estimateDurationMs(load: TaskTypeLoad, durations: ReadonlyMap<string, Ewma>, params: AdaptiveParams): number {
  const measured = durations.get(load.taskType)?.value;
  if (measured !== undefined) return load.predictedDurationMs ?? measured;
  return Math.max(load.hintDurationMs ?? params.defaultDurationMs, load.runningForMs ?? 0);
}

function trackWaiting(
  previous: ReadonlyMap<string, number>,
  demands: Map<string, TypeDemand>,
  nowMs: number,
): Map<string, number> {
  const waiting = new Map<string, number>();
  for (const demand of demands.values()) {
    if (demand.backlog > 0 && demand.swarmlets.length === 0)
      waiting.set(demand.taskType, previous.get(demand.taskType) ?? nowMs);
  }
  return waiting;
}

function learnDurations(
  previous: ReadonlyMap<string, Ewma>,
  snapshot: Snapshot,
  alpha: number,
): ReadonlyMap<string, Ewma> {
  // Most ticks complete nothing: the previous map (never changed once made) serves as it is.
  if (snapshot.load.every((load) => load.meanDurationMsInWindow === undefined)) return previous;
  const next = new Map(previous);
  for (const load of snapshot.load) {
    if (load.meanDurationMsInWindow === undefined) continue;
    next.set(load.taskType, updateEwma(next.get(load.taskType) ?? EMPTY_EWMA, load.meanDurationMsInWindow, alpha));
  }
  return next;
}
