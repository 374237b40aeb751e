import { InputError } from '../../core/errors.js';
import type { WarmPlan, WarmPolicy } from './warm-policy.js';

/**
 * Fixed keep-alive: after every execution the environment stays loaded for the same time, then
 * is unloaded; no pre-warming. The policy of the commercial platforms that Shahrad et al.,
 * "Serverless in the Wild" (USENIX ATC 2020, §4) compare against: 10 minutes (AWS Lambda as
 * measured at the time) and 20 minutes (Azure Functions). `keepalive-10m` is also the
 * normalisation baseline of the paper's wasted memory-time (= 100%).
 */
export function keepAlivePolicy(minutes: number): WarmPolicy<null> {
  if (!Number.isFinite(minutes) || minutes < 0) {
    throw new InputError(
      'keepalive minutes',
      `${minutes} is not a non-negative number of minutes`,
      'write e.g. keepalive-10m',
    );
  }
  const keepAliveMs = minutes * 60_000;
  // One plan for every idle period: no allocation per call.
  const plan: WarmPlan = { keepAliveMs };
  return {
    name: `keepalive-${minutes}m`,
    params: {
      keepAliveMinutes: minutes,
      keepAliveMs,
      prewarm: false,
      source: 'Shahrad et al., ATC 2020, §4 (fixed keep-alive)',
    },
    newApp: () => null,
    onArrival: () => undefined,
    onIdle: () => plan,
  };
}
