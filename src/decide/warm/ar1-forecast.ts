/**
 * One-step forecast of the next value of a series with an AR(1) model, x[t] = c + φ·x[t−1],
 * fitted by least squares on all consecutive pairs seen so far. A documented substitute for the
 * ARIMA model of Shahrad et al. (ATC 2020, §4.2), which fits ARIMA per app on its idle times:
 * the simplest autoregressive member of that family, updated in O(1) memory and time per value
 * (running means and co-moments with Welford's updates, numerically stable) where refitting
 * ARIMA at every call would cost O(history).
 *
 * - fewer than `MIN_PAIRS` pairs, or a constant predecessor: the mean of all values (what ARIMA
 *   reduces to on a series too short to fit);
 * - |φ| ≥ 1 (not stationary: ARIMA would difference it): the last value (random walk);
 * - a forecast ≤ 0 (strong negative φ after a large value): the mean.
 *
 * Mutable, owned by one app's state (the simulator's speed needs no allocation per value).
 */
export interface Ar1Forecast {
  /** Values seen. */
  count: number;
  mean: number;
  last: number;
  /** Pairs (x[t−1], x[t]) fitted: count − 1. */
  pairs: number;
  meanPrevious: number;
  meanNext: number;
  /** Σ (x[t−1] − meanPrevious)². */
  squaresPrevious: number;
  /** Σ (x[t−1] − meanPrevious)(x[t] − meanNext). */
  coMoment: number;
}

const MIN_PAIRS = 3;

export function newAr1Forecast(): Ar1Forecast {
  return { count: 0, mean: 0, last: 0, pairs: 0, meanPrevious: 0, meanNext: 0, squaresPrevious: 0, coMoment: 0 };
}

export function addAr1Value(model: Ar1Forecast, value: number): void {
  if (model.count > 0) {
    const previous = model.last;
    model.pairs += 1;
    const deltaPrevious = previous - model.meanPrevious;
    model.meanPrevious += deltaPrevious / model.pairs;
    model.meanNext += (value - model.meanNext) / model.pairs;
    model.coMoment += deltaPrevious * (value - model.meanNext);
    model.squaresPrevious += deltaPrevious * (previous - model.meanPrevious);
  }
  model.count += 1;
  model.mean += (value - model.mean) / model.count;
  model.last = value;
}

/** The forecast of the next value; `undefined` before any value (no data is not zero). */
export function forecastAr1(model: Ar1Forecast): number | undefined {
  if (model.count === 0) return undefined;
  if (model.pairs < MIN_PAIRS || !(model.squaresPrevious > 0)) return model.mean;
  const phi = model.coMoment / model.squaresPrevious;
  if (Math.abs(phi) >= 1) return model.last;
  const forecast = model.meanNext - phi * model.meanPrevious + phi * model.last;
  return forecast > 0 ? forecast : model.mean;
}
