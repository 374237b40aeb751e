import type { WarmPlan, WarmPolicy } from './warm-policy.js';

/**
 * Never unload: loaded from the first call to the end of the trace. The other end of the
 * trade-off from the oracle: no cold start but the first, at the most idle memory any policy can
 * hold (every idle millisecond after the first call, to the trace's end, is counted).
 */
const FOREVER: WarmPlan = { keepAliveMs: Number.POSITIVE_INFINITY };

export function neverUnloadPolicy(): WarmPolicy<null> {
  return {
    name: 'never-unload',
    params: { keepAliveMs: 'infinite', prewarm: false },
    newApp: () => null,
    onArrival: () => undefined,
    onIdle: () => FOREVER,
  };
}
