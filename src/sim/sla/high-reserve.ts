import { ewmaStep } from '../../predict/ewma.js';

/**
 * How many servers to hold for high-priority work, sized from a forecast of high demand.
 *
 * High demand is measured as busy servers: work arriving per ms (Little's law: arrival rate ×
 * cost = servers busy with it). Each estimate is a continuous-time EWMA of that rate,
 *     rate(t) = rate(t₀) · e^(−(t−t₀)/window) + costMs / window   (per arrival),
 * i.e. the arrivals' work spread over an exponentially weighted window. It needs no bins, reacts
 * at the first arrival of a burst, and decays while nothing arrives — recomputed at any `nowMs`.
 * Two windows: a short one follows bursts (on the LLM trace high demand swings from 0 to ~10
 * servers between minutes), a long one remembers the usual level so the reserve is in place
 * *before* the next burst — servers are not preemptive, so a reserve made when the burst is
 * already here is late. The forecast is the larger of the two.
 */
export interface HighReserveOptions {
  readonly fastWindowMs: number;
  readonly slowWindowMs: number;
  /** Reserve = ceil(forecast busy servers × headroom): room for the forecast's error. */
  readonly headroom: number;
  /** Never fewer (a reserve for the first high arrivals before anything is known). */
  readonly minServers: number;
}

/**
 * Measured on the LLM trace at 1.5× (seeds 1–30): high misses ≤ 0.23% on every seed. Headroom 2
 * completes ~5 points less of the work for no gain on high; 1 triples the misses of admitted
 * normal work (admission counts on servers that high bursts then take) and lets high reach 0.8%.
 */
export const HIGH_RESERVE_DEFAULTS: HighReserveOptions = {
  fastWindowMs: 30_000,
  slowWindowMs: 600_000,
  headroom: 1.5,
  minServers: 1,
};

interface DecayedRate {
  value: number;
  atMs: number;
}

export class HighReserve {
  private readonly fast: DecayedRate = { value: 0, atMs: 0 };
  private readonly slow: DecayedRate = { value: 0, atMs: 0 };

  constructor(readonly options: HighReserveOptions = HIGH_RESERVE_DEFAULTS) {
    checkOptions(options);
  }

  /** One high-priority arrival; calls come in time order. */
  observe(arrivalMs: number, costMs: number): void {
    add(this.fast, arrivalMs, costMs, this.options.fastWindowMs);
    add(this.slow, arrivalMs, costMs, this.options.slowWindowMs);
  }

  /** Forecast servers busy with high work at `nowMs` (no arrival yet: 0). */
  busyServersAt(nowMs: number): number {
    return Math.max(
      decayed(this.fast, nowMs, this.options.fastWindowMs),
      decayed(this.slow, nowMs, this.options.slowWindowMs),
    );
  }

  /**
   * Servers held for high work at `nowMs`: busy with it or kept for it (lower work may borrow them
   * only briefly, see schedulers.ts). At most all but one, so the reserve never starves lower classes.
   */
  serversAt(nowMs: number, totalServers: number): number {
    const { headroom, minServers } = this.options;
    // Less a rounding hair: a forecast of exactly 5 servers that float sums leave at 5.000000001 is 5, not 6.
    const servers = Math.ceil(this.busyServersAt(nowMs) * headroom - 1e-9);
    return Math.min(totalServers - 1, Math.max(minServers, servers));
  }
}

function decayed(rate: DecayedRate, nowMs: number, windowMs: number): number {
  const elapsedMs = Math.max(0, nowMs - rate.atMs);
  // An EWMA step toward 0 (nothing arrived) with the weight that much elapsed time earns.
  return ewmaStep(rate.value, 0, 1 - Math.exp(-elapsedMs / windowMs));
}

function add(rate: DecayedRate, nowMs: number, costMs: number, windowMs: number): void {
  rate.value = decayed(rate, nowMs, windowMs) + costMs / windowMs;
  rate.atMs = Math.max(rate.atMs, nowMs);
}

function checkOptions(options: HighReserveOptions): void {
  const bad = (field: string, value: number, fix: string): never => {
    throw new RangeError(`high reserve ${field} = ${value}: ${fix}`);
  };
  if (!(options.fastWindowMs > 0)) bad('fastWindowMs', options.fastWindowMs, 'use a window > 0 ms');
  if (!(options.slowWindowMs > 0)) bad('slowWindowMs', options.slowWindowMs, 'use a window > 0 ms');
  if (!(options.headroom >= 1)) bad('headroom', options.headroom, 'use a factor ≥ 1 (1 = exactly the forecast)');
  if (!Number.isSafeInteger(options.minServers) || options.minServers < 0)
    bad('minServers', options.minServers, 'use a whole number ≥ 0');
}
