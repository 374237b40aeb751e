import { UNLOAD_AT_ONCE, type WarmPolicy } from './warm-policy.js';

/**
 * Clairvoyant lower bound (simulator only): it reads the next arrival from the trace, unloads as
 * soon as the app goes idle and loads the environment again exactly when the next call arrives
 * (a pre-warm window of zero length at the arrival instant). With loading taken as instant, as in
 * this model, that is the bound on both axes at once: zero idle memory-time and no cold start
 * but each app's first call. (With a real load time L it would have to load L earlier and hold
 * L × memory per idle period; the model has no load time, so the bound is exact here.)
 */
export function oraclePolicy(): WarmPolicy<null> {
  return {
    name: 'oracle',
    params: { reads: 'IdleContext.nextArrivalMs', loadTimeMs: 0 },
    clairvoyant: true,
    newApp: () => null,
    onArrival: () => undefined,
    onIdle(_state, nowMs, context) {
      const next = context.nextArrivalMs;
      // no next call, or one right now (0 ≤ keepAlive 0: warm)
      if (next === undefined || next <= nowMs) return UNLOAD_AT_ONCE;
      return { keepAliveMs: 0, prewarmAfterMs: next - nowMs, prewarmKeepMs: 0 };
    },
  };
}
