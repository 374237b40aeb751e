import { lowerBound, upperBound } from '../../core/sorted-search.js';
import type { WarmPlan } from './warm-policy.js';

/**
 * The cost-optimal warm window for an empirical distribution of idle times.
 *
 * A plan keeps the app loaded for `keep` after it goes idle, unloads, pre-warms at `pre` and keeps
 * it until `end` (keep = end, no pre-warm: a plain keep-alive). An idle time g then costs, in
 * milliseconds of memory held per MB, plus the cold-start price when it finds the app unloaded:
 *   g ≤ keep          → g
 *   keep < g < pre    → keep + price             (cold)
 *   pre ≤ g ≤ end     → keep + (g − pre)
 *   g > end           → keep + (end − pre) + price (cold)
 * Edges sit on observed idle times (widened by a margin); prefix sums make each candidate O(log n),
 * and the best keep for a given pre does not depend on end, so the search is O(n²).
 */
export interface WindowChoice {
  readonly plan: WarmPlan;
  /** Mean cost per idle period of the chosen plan on the samples (seconds of memory per MB). */
  readonly meanCostS: number;
}

export function cheapestWindow(
  sortedGapsMs: Float64Array,
  count: number,
  coldPriceS: number,
  marginFraction: number,
  marginMs: number,
): WindowChoice {
  const prefix = new Float64Array(count + 1);
  for (let i = 0; i < count; i++) prefix[i + 1] = prefix[i]! + sortedGapsMs[i]!;
  const priceMs = coldPriceS * 1000;
  if (count === 0) return { plan: { keepAliveMs: 0 }, meanCostS: coldPriceS };
  const widen = (gapMs: number) => gapMs * (1 + marginFraction) + marginMs;
  // Baseline: unload at once, every arrival cold.
  let bestCostMs = priceMs * count;
  let best: WarmPlan = { keepAliveMs: 0 };
  // Keep alive from the start until `end`.
  for (let b = 0; b < count; b++) {
    const endMs = widen(sortedGapsMs[b]!);
    const hi = upperBound(sortedGapsMs, count, endMs);
    const costMs = prefix[hi]! + (count - hi) * (priceMs + endMs);
    if (costMs < bestCostMs) [bestCostMs, best] = [costMs, { keepAliveMs: endMs }];
    if (hi === count) break;
  }
  // Unload (after an optional short keep-alive that catches bursts), pre-warm at `pre`, keep until `end`.
  let firstEnd = 0; // ends widened from samples below the pre-warm's own sample may still lie above it
  for (let a = 0; a < count; a++) {
    const preMs = Math.max(0, sortedGapsMs[a]! * (1 - marginFraction) - marginMs);
    const lo = lowerBound(sortedGapsMs, count, preMs);
    const keep = cheapestKeepBefore(sortedGapsMs, prefix, count, lo, preMs, priceMs, widen);
    while (widen(sortedGapsMs[firstEnd]!) < preMs) firstEnd += 1;
    for (let b = firstEnd; b < count; b++) {
      const endMs = widen(sortedGapsMs[b]!);
      const hi = upperBound(sortedGapsMs, count, endMs);
      const costMs =
        keep.costMs + (prefix[hi]! - prefix[lo]! - (hi - lo) * preMs) + (count - hi) * (priceMs + endMs - preMs);
      if (costMs < bestCostMs)
        [bestCostMs, best] = [
          costMs,
          { keepAliveMs: keep.keepMs, prewarmAfterMs: preMs, prewarmKeepMs: endMs - preMs },
        ];
      if (hi === count) break; // wider windows only add idle time
    }
  }
  return { plan: best, meanCostS: bestCostMs / 1000 / count };
}

/**
 * The keep-alive k (0 or an observed idle time, below `pre`) that is cheapest for everything before
 * the pre-warm: idle times ≤ k are warm (held for g), longer ones hold k and then — if they come
 * before the pre-warm — are cold.
 */
function cheapestKeepBefore(
  sorted: Float64Array,
  prefix: Float64Array,
  count: number,
  lo: number,
  preMs: number,
  priceMs: number,
  widen: (gapMs: number) => number,
): { keepMs: number; costMs: number } {
  let best = { keepMs: 0, costMs: priceMs * lo };
  for (let j = 0; j < lo; j++) {
    const keepMs = Math.min(widen(sorted[j]!), preMs);
    const hiK = upperBound(sorted, count, keepMs);
    const costMs = prefix[hiK]! + (count - hiK) * keepMs + priceMs * Math.max(0, lo - hiK);
    if (costMs < best.costMs) best = { keepMs, costMs };
  }
  return best;
}
