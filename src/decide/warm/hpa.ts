import { tickAtOrAfter, unloadAtPolicy } from './ticks.js';
import type { WarmPlan, WarmPolicy } from './warm-policy.js';

/**
 * Kubernetes Horizontal Pod Autoscaler with scale-to-zero as KEDA adds it.
 *
 * HPA (kubernetes.io, "Horizontal Pod Autoscaling"; kube-controller-manager defaults): every
 * `--horizontal-pod-autoscaler-sync-period` = 15 s it computes
 * desiredReplicas = ceil(currentReplicas × currentMetric / targetMetric), skips changes while the
 * ratio is within the 10% tolerance, and scales down only to the highest recommendation of the
 * last 300 s (`--horizontal-pod-autoscaler-downscale-stabilization`). HPA alone never goes below
 * one replica; KEDA (keda.sh, ScaledObject spec) takes the last replica away once no trigger has
 * been active for `cooldownPeriod` = 300 s (pkg/scaling/executor/scale_scaledobjects.go:
 * scale to zero when lastActiveTime + cooldownPeriod is before now).
 *
 * In this basic model (an app's environment is loaded or not, never counted in replicas) only the
 * last step is visible: the app counts as active until its last execution ends (idle start), and
 * is unloaded at the first 15 s sync tick at or after idle start + 300 s, ticks aligned to
 * absolute time (multiples of 15 s of `nowMs`). An arrival before that is warm, after it cold; no
 * pre-warming. The formula, tolerance and stabilization only shape replica counts ≥ 1, which this
 * model does not see (`hpaDesiredReplicas` below keeps the formula for a replica-level model).
 *
 * Modelling choices to know: KEDA itself runs its 1 → 0 check every `pollingInterval` (default
 * 30 s), not on the HPA's 15 s sync (pass `checkPeriodMs: 30_000` for that reading); and KEDA's
 * trigger reports activity only when polled, so with executions shorter than the poll interval a
 * real cluster may see the last activity earlier than the idle start — we take the idle start.
 */
export interface HpaParams {
  readonly syncPeriodMs: number;
  readonly tolerance: number;
  readonly downscaleStabilizationMs: number;
  /** KEDA cooldownPeriod: time after the last activity before scaling to zero. */
  readonly cooldownMs: number;
  /** Period of the ticks on which the scale-to-zero check runs. */
  readonly checkPeriodMs: number;
}

export const HPA_DEFAULTS: HpaParams = {
  syncPeriodMs: 15_000,
  tolerance: 0.1,
  downscaleStabilizationMs: 300_000,
  cooldownMs: 300_000,
  checkPeriodMs: 15_000,
};

/** HPA's replica formula: ceil(current × metric / target), unchanged within the tolerance. */
export function hpaDesiredReplicas(
  currentReplicas: number,
  currentMetric: number,
  targetMetric: number,
  tolerance = HPA_DEFAULTS.tolerance,
): number {
  const ratio = currentMetric / targetMetric;
  if (Math.abs(ratio - 1) <= tolerance) return currentReplicas;
  return Math.ceil(currentReplicas * ratio);
}

export function hpaPolicy(overrides: Partial<HpaParams> = {}): WarmPolicy<{ plan: WarmPlan }> {
  const params: HpaParams = { ...HPA_DEFAULTS, ...overrides };
  return unloadAtPolicy(
    'hpa',
    {
      ...params,
      scaleToZero: 'KEDA cooldownPeriod after the last execution ends, on the next check tick',
      source: 'Kubernetes HPA defaults + KEDA ScaledObject defaults',
    },
    (idleAtMs) => tickAtOrAfter(idleAtMs + params.cooldownMs, params.checkPeriodMs),
  );
}
