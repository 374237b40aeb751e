import type { WarmPlan, WarmPolicy } from './warm-policy.js';

/**
 * Controllers that act on a periodic tick (Kubernetes HPA sync, Knative autoscaler tick) only
 * change anything at tick times. We align ticks to absolute time zero (`nowMs` multiples of the
 * period): a real controller's phase is arbitrary, and any fixed phase gives the same average.
 */

/** The first tick (a multiple of `periodMs`) at or after `atMs`. */
export function tickAtOrAfter(atMs: number, periodMs: number): number {
  return Math.ceil(atMs / periodMs) * periodMs;
}

/**
 * A tick-driven controller as a keep-alive policy: after each idle start it unloads at
 * `unloadAtMs(idleAtMs)` (a tick-aligned time). The plan object is reused while its offset
 * from the idle start stays the same, so replays allocate nothing per call.
 */
export function unloadAtPolicy(
  name: string,
  params: WarmPolicy['params'],
  unloadAtMs: (idleAtMs: number) => number,
): WarmPolicy<{ plan: WarmPlan }> {
  return {
    name,
    params,
    newApp: () => ({ plan: { keepAliveMs: 0 } }),
    onArrival: () => undefined,
    onIdle(state, nowMs) {
      const keepAliveMs = unloadAtMs(nowMs) - nowMs;
      if (keepAliveMs !== state.plan.keepAliveMs) state.plan = { keepAliveMs };
      return state.plan;
    },
  };
}
