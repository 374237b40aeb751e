/**
 * Exponentially weighted moving average. `undefined` means no data yet (STYLE.md §3):
 * callers fall back to a hint instead of treating zero as a measurement.
 */
export interface Ewma {
  readonly value: number | undefined;
  readonly samples: number;
}

export const EMPTY_EWMA: Ewma = { value: undefined, samples: 0 };

/** `alpha` is the weight of the new observation, 0 < alpha ≤ 1. */
export function updateEwma(current: Ewma, observation: number, alpha: number): Ewma {
  if (current.value === undefined) return { value: observation, samples: 1 };
  return { value: current.value + alpha * (observation - current.value), samples: current.samples + 1 };
}
