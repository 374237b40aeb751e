/** Hand-built traces and tiny policies for the simulator tests. */
import type { IdleContext, WarmPlan, WarmPolicy } from '../../src/decide/warm/warm-policy.js';
import type { Trace, TraceApp } from '../../src/sim/trace.js';

export const SECOND = 1_000;
export const MINUTE = 60_000;

/** One app from `[arrivalMs, durationMs]` pairs (arrivals ascending). */
export function app(appId: string, memoryMb: number, calls: readonly (readonly [number, number])[]): TraceApp {
  return {
    appId,
    ownerId: `owner-${appId}`,
    memoryMb,
    arrivalsMs: Float64Array.from(calls.map(([arrivalMs]) => arrivalMs)),
    durationsMs: Float64Array.from(calls.map(([, durationMs]) => durationMs)),
  };
}

export function trace(endMs: number, apps: readonly TraceApp[]): Trace {
  return { name: 'hand-built', startMs: 0, endMs, apps };
}

/** A policy that answers every idle period with the same plan (no state). */
export function fixedPolicy(name: string, plan: WarmPlan): WarmPolicy<null> {
  return { name, params: {}, newApp: () => null, onArrival: () => undefined, onIdle: () => plan };
}

/** Strictly periodic calls: `count` arrivals every `periodMs` from `startMs`, each running `durationMs`. */
export function periodicCalls(count: number, periodMs: number, durationMs: number, startMs = 0): [number, number][] {
  return Array.from({ length: count }, (_, i) => [startMs + i * periodMs, durationMs]);
}

export interface Recorded {
  readonly plans: WarmPlan[];
  readonly contexts: IdleContext[];
}

/** Wraps a policy so every plan it returns (copied) and every context it is given are kept. */
export function recording<S>(policy: WarmPolicy<S>): { policy: WarmPolicy<S>; seen: Recorded } {
  const seen: Recorded = { plans: [], contexts: [] };
  return {
    seen,
    policy: {
      ...policy,
      onIdle(state, nowMs, context) {
        const plan = policy.onIdle(state, nowMs, context);
        seen.plans.push({ ...plan });
        seen.contexts.push(context);
        return plan;
      },
    },
  };
}

/** The result rows of a run without their timing (the only part that may differ between runs). */
export function withoutTimings<T extends { replayMs: number }>(results: readonly T[]): Omit<T, 'replayMs'>[] {
  return results.map(({ replayMs: _replayMs, ...rest }) => rest);
}
