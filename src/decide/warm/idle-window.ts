import type { WarmPlan } from './warm-policy.js';

/**
 * The cost-optimal warm window for an empirical distribution of idle times.
 *
 * For a plan "unload, pre-warm at `pre`, keep loaded until `end`" (pre = 0: keep alive from the
 * start), an idle time g costs, in seconds of memory held per MB:
 *   g < pre        → coldPriceS              (arrived before the pre-warm: cold)
 *   pre ≤ g ≤ end  → (g − pre) / 1000         (warm; loaded and idle meanwhile)
 *   g > end        → coldPriceS + (end − pre) / 1000
 * We try every window whose edges sit on observed idle times (widened by a margin) and keep
 * the cheapest on average, with prefix sums: O(n²) for n samples.
 */
export interface WindowChoice {
  readonly plan: WarmPlan;
  /** Mean cost per idle period of the chosen plan on the samples (seconds of memory per MB). */
  readonly meanCostS: number;
}

export function cheapestWindow(sortedGapsMs: Float64Array, count: number, coldPriceS: number, marginFraction: number, marginMs: number): WindowChoice {
  const prefix = new Float64Array(count + 1);
  for (let i = 0; i < count; i++) prefix[i + 1] = prefix[i]! + sortedGapsMs[i]!;
  // Baseline: unload at once, every arrival cold.
  let best: WindowChoice = { plan: { keepAliveMs: 0 }, meanCostS: coldPriceS };
  for (let a = -1; a < count; a++) {
    const preMs = a < 0 ? 0 : Math.max(0, sortedGapsMs[a]! * (1 - marginFraction) - marginMs);
    const lo = a < 0 ? 0 : lowerBound(sortedGapsMs, count, preMs);
    for (let b = Math.max(a, 0); b < count; b++) {
      const endMs = sortedGapsMs[b]! * (1 + marginFraction) + marginMs;
      const hi = upperBound(sortedGapsMs, count, endMs);
      const warm = hi - lo;
      const above = count - hi;
      const idleMs = prefix[hi]! - prefix[lo]! - warm * preMs + above * (endMs - preMs);
      const costS = (coldPriceS * (lo + above) + idleMs / 1000) / count;
      if (costS < best.meanCostS) best = { plan: planFor(preMs, endMs), meanCostS: costS };
      if (hi === count) break; // wider windows only add idle time
    }
  }
  return best;
}

function planFor(preMs: number, endMs: number): WarmPlan {
  return preMs <= 0 ? { keepAliveMs: endMs } : { keepAliveMs: 0, prewarmAfterMs: preMs, prewarmKeepMs: endMs - preMs };
}

/** First index with value ≥ x. */
function lowerBound(sorted: Float64Array, count: number, x: number): number {
  let low = 0;
  let high = count;
  while (low < high) {
    const middle = (low + high) >> 1;
    if (sorted[middle]! < x) low = middle + 1;
    else high = middle;
  }
  return low;
}

/** First index with value > x. */
function upperBound(sorted: Float64Array, count: number, x: number): number {
  let low = 0;
  let high = count;
  while (low < high) {
    const middle = (low + high) >> 1;
    if (sorted[middle]! <= x) low = middle + 1;
    else high = middle;
  }
  return low;
}
