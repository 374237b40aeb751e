import { tickAtOrAfter, unloadAtPolicy } from './ticks.js';
import type { WarmPlan, WarmPolicy } from './warm-policy.js';

/**
 * Knative Pod Autoscaler with the defaults of Knative Serving's `config-autoscaler`
 * (knative.dev/docs, "Additional autoscaling configuration for Knative Pod Autoscaler"):
 * the autoscaler decides every `tick-interval` = 2 s on the average concurrency of the last
 * `stable-window` = 60 s; it enters panic mode when the `panic-window` average (10% of the
 * stable window = 6 s) reaches `panic-threshold-percentage` = 200% of what the current pods
 * serve; scale to zero is enabled, and once the desired scale is 0 the revision is put behind the
 * activator and the last pod is removed after `scale-to-zero-grace-period` = 30 s
 * (pkg/reconciler/autoscaling/kpa/scaler.go: the PA must have been inactive / proxied by the
 * activator for the grace period; `scale-to-zero-pod-retention-period` = 0 s adds nothing).
 *
 * In this basic model (loaded or not): the stable-window average is 0 once a whole window has
 * passed with no execution running, i.e. at the first 2 s tick at or after idle start + 60 s
 * (ticks aligned to absolute time, multiples of 2 s of `nowMs`); the environment is unloaded
 * 30 s later (the grace period is a multiple of the tick, so this is also a tick). An arrival up
 * to then is warm. Panic mode only raises the replica count during bursts; it also blocks scaling
 * down while it lasts, but it ends one stable window after the last burst at the latest, i.e. no
 * later than the stable average reaches 0 here. So this loaded/unloaded model cannot see it (the
 * panic parameters are listed, not used); the per-second bucketing of concurrency (< 1 s) is
 * ignored too.
 */
export interface KpaParams {
  readonly tickMs: number;
  readonly stableWindowMs: number;
  readonly panicWindowMs: number;
  readonly panicThresholdPercent: number;
  readonly scaleToZeroGraceMs: number;
}

export const KPA_DEFAULTS: KpaParams = {
  tickMs: 2_000,
  stableWindowMs: 60_000,
  panicWindowMs: 6_000,
  panicThresholdPercent: 200,
  scaleToZeroGraceMs: 30_000,
};

export function kpaPolicy(overrides: Partial<KpaParams> = {}): WarmPolicy<{ plan: WarmPlan }> {
  const params: KpaParams = { ...KPA_DEFAULTS, ...overrides };
  return unloadAtPolicy(
    'kpa',
    {
      ...params,
      scaleToZero: 'first tick at or after idle + stable window, then the grace period',
      source: 'Knative Serving config-autoscaler defaults',
    },
    (idleAtMs) => tickAtOrAfter(idleAtMs + params.stableWindowMs, params.tickMs) + params.scaleToZeroGraceMs,
  );
}
