/**
 * Exponentially weighted moving average. `undefined` means no data yet (STYLE.md §3):
 * callers fall back to a hint instead of treating zero as a measurement.
 * For a per-series forecaster with an interval (mutable, allocation-free) see ewma-forecaster.ts.
 */
export interface Ewma {
  readonly value: number | undefined;
  readonly samples: number;
}

export const EMPTY_EWMA: Ewma = { value: undefined, samples: 0 };

/** One smoothing step: `alpha` is the weight of the new observation, 0 < alpha ≤ 1. */
export function ewmaStep(previous: number, observation: number, alpha: number): number {
  return previous + alpha * (observation - previous);
}

/** `alpha` is the weight of the new observation, 0 < alpha ≤ 1. */
export function updateEwma(current: Ewma, observation: number, alpha: number): Ewma {
  if (current.value === undefined) return { value: observation, samples: 1 };
  return { value: ewmaStep(current.value, observation, alpha), samples: current.samples + 1 };
}
