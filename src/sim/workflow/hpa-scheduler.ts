import type { Workflow } from './load.js';
import { SlotState, type Replay, type ReplayScheduler } from './replay.js';

/**
 * `hpa`: one Kubernetes HorizontalPodAutoscaler per task type, with the defaults of
 * kube-controller-manager and of `autoscaling/v2` behavior
 * (https://kubernetes.io/docs/tasks/run-application/horizontal-pod-autoscale/):
 *
 *     desiredReplicas = ceil(currentReplicas × currentMetricValue / desiredMetricValue)
 *
 * evaluated every 15 s (--horizontal-pod-autoscaler-sync-period), skipped while the ratio is within
 * 10 % of 1 (tolerance). The metric is a type's demand per replica — tasks running plus tasks
 * queued, ÷ current replicas (an external queue metric, as with KEDA) — with a target of one task
 * per replica. Scale-down is stabilised: the highest recommendation of the last 300 s wins
 * (stabilizationWindowSeconds). Scale-up is immediate but at most max(+100 %, +4 pods) per 15 s
 * (the default scaleUp policies, selectPolicy Max). minReplicas 0: a type with demand and no
 * replica asks for ceil(demand ÷ target) at once (scale from zero, as KEDA's activation does).
 *
 * Replicas beyond the `slots` the cluster has wait as Pending, first come first served, until a
 * slot frees. A new replica cold-starts; scale-down removes pending replicas first, then starting
 * ones, then idle ones; a busy one finishes its task first (graceful termination). Each type's
 * tasks wait in a FIFO queue served by that type's ready replicas.
 */
export interface HpaOptions {
  readonly periodMs: number;
  readonly scaleDownStabilizationMs: number;
  readonly tolerance: number;
  /** The metric's target: tasks (running + queued) per replica. */
  readonly targetPerReplica: number;
}

export const HPA_DEFAULTS: HpaOptions = {
  periodMs: 15_000,
  scaleDownStabilizationMs: 300_000,
  tolerance: 0.1,
  targetPerReplica: 1,
};

interface TypeState {
  readonly queue: number[];
  head: number;
  pending: number;
  /** Recommendations of the stabilisation window: times and replica counts, oldest first. */
  readonly windowAtMs: number[];
  readonly windowReplicas: number[];
}

export function hpaScheduler(workflow: Workflow, options: HpaOptions = HPA_DEFAULTS): ReplayScheduler {
  const types: TypeState[] = workflow.types.map(() => ({
    queue: [],
    head: 0,
    pending: 0,
    windowAtMs: [],
    windowReplicas: [],
  }));
  /** Pending replicas by type, in request order (an entry whose type has no pending replica left is skipped). */
  const pendingOrder: number[] = [];
  let pendingHead = 0;
  let draining = new Uint8Array(0);
  let started = false;

  function tick(replay: Replay): void {
    const active = new Int32Array(types.length);
    const busy = new Int32Array(types.length);
    for (let slot = 0; slot < replay.slots; slot++) {
      const state = replay.slotState[slot];
      if (state === SlotState.stopped || draining[slot]) continue;
      active[replay.slotType[slot]!]!++;
      if (state === SlotState.busy) busy[replay.slotType[slot]!]!++;
    }
    types.forEach((type, t) => {
      const current = active[t]! + type.pending;
      const demand = busy[t]! + type.queue.length - type.head;
      const wanted = recommend(replay, type, current, demand);
      if (wanted > current) scaleUp(replay, t, wanted - current);
      else if (wanted < current) scaleDown(replay, t, current - wanted);
    });
  }

  /** The HPA formula, tolerance, stabilisation window and scale-up rate limit for one type. */
  function recommend(replay: Replay, type: TypeState, current: number, demand: number): number {
    const target = options.targetPerReplica;
    let desired: number;
    if (current === 0) desired = Math.ceil(demand / target);
    else {
      const ratio = demand / current / target;
      desired = Math.abs(ratio - 1) <= options.tolerance ? current : Math.ceil(current * ratio);
    }
    desired = Math.min(desired, replay.slots);
    type.windowAtMs.push(replay.nowMs);
    type.windowReplicas.push(desired);
    while (type.windowAtMs[0]! <= replay.nowMs - options.scaleDownStabilizationMs) {
      type.windowAtMs.shift();
      type.windowReplicas.shift();
    }
    if (desired > current) return Math.min(desired, Math.max(2 * current, current + 4));
    return Math.min(current, Math.max(...type.windowReplicas));
  }

  function scaleUp(replay: Replay, t: number, count: number): void {
    types[t]!.pending += count;
    for (let k = 0; k < count; k++) pendingOrder.push(t);
    launchPending(replay);
  }

  function scaleDown(replay: Replay, t: number, count: number): void {
    const type = types[t]!;
    const cancelled = Math.min(count, type.pending);
    type.pending -= cancelled;
    let left = count - cancelled;
    // Not ready first, then idle, then busy ones (they drain: stop once their task ends).
    for (const wanted of [SlotState.starting, SlotState.idle, SlotState.busy]) {
      for (let slot = 0; slot < replay.slots && left > 0; slot++) {
        if (replay.slotState[slot] !== wanted || replay.slotType[slot] !== t || draining[slot]) continue;
        if (wanted === SlotState.busy) draining[slot] = 1;
        else replay.stop(slot);
        left--;
      }
    }
  }

  function launchPending(replay: Replay): void {
    while (pendingHead < pendingOrder.length && replay.heldSlots < replay.slots) {
      const t = pendingOrder[pendingHead++]!;
      if (types[t]!.pending === 0) continue;
      types[t]!.pending--;
      replay.launch(t);
    }
  }

  return {
    name: 'hpa',
    onReady(_replay, task) {
      types[workflow.tasks[task]!.typeIndex]!.queue.push(task);
    },
    onTimer(replay) {
      tick(replay);
      replay.setTimer(replay.nowMs + options.periodMs, 0);
    },
    dispatch(replay: Replay) {
      if (!started) {
        started = true;
        draining = new Uint8Array(replay.slots);
        replay.setTimer(0, 0);
      }
      for (const slot of [...replay.idleSlots]) {
        if (!draining[slot]) continue;
        draining[slot] = 0;
        replay.stop(slot);
      }
      launchPending(replay);
      types.forEach((type, t) => {
        while (type.head < type.queue.length) {
          const slot = replay.idleSlotOfType(t);
          if (slot < 0) break;
          replay.assign(slot, type.queue[type.head++]!);
        }
      });
    },
  };
}
