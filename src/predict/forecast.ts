/**
 * The common shape of every forecaster (EWMA, Holt-Winters, the selector).
 *
 * A forecaster is a bundle of pure functions over a small state the caller owns: the simulator keeps one
 * state per series (owner × task type) and calls `observe` once a step, millions of times a run. So:
 * - `observe` mutates the state IN PLACE, in O(1) (amortised) time and without allocating. Do not share a
 *   state between series, and copy it (`structuredClone`) if you need a snapshot.
 * - `forecastValue` is the allocation-free point forecast (NaN when not ready) for hot loops
 * (`forecastInto` writes it into a Float64Array, for combinators); `forecast` builds the full result with an interval,
 * a confidence and the reason when not ready.
 * - one `observe` per step, empty steps included: a per-minute arrival count of 0 is an observation.
 */
import { InputError } from '../core/errors.js';

/** "No data yet" is a value, not an error (STYLE.md §3): the caller simply does not act on it. */
export interface ForecastNotReady {
  readonly ready: false;
  readonly reason: string;
}

export interface ForecastReady {
  readonly ready: true;
  /** Point forecast for the step `horizonSteps` ahead. */
  readonly value: number;
  /** Prediction interval (z × standard error around `value`, clamped at 0 for counts). */
  readonly low: number;
  readonly high: number;
  /** 0..1: how far to trust `value` (narrow interval relative to the value, and enough history). */
  readonly confidence: number;
  /** Which model produced it ('ewma', 'holt', 'holt-winters'): decisions quote it in their reasons. */
  readonly model: string;
}

export type Forecast = ForecastNotReady | ForecastReady;

export interface Forecaster<S> {
  readonly name: string;
  /** A fresh state for one series. */
  init(): S;
  /** Feed the next value of the series. Mutates `state` in place; O(1), allocation-free. */
  observe(state: S, value: number): void;
  /** Point forecast `horizonSteps` (≥ 1) after the last observed value; NaN when not ready. Allocation-free. */
  forecastValue(state: S, horizonSteps: number): number;
  /** `out[index] = forecastValue(state, horizonSteps)`. For combinators: a double returned from a call the JIT
   *  does not inline (a polymorphic one) is boxed, one allocation a call; a double written to a typed array is not. */
  forecastInto(state: S, horizonSteps: number, out: Float64Array, index: number): void;
  forecast(state: S, horizonSteps: number): Forecast;
}

/** Options every forecaster shares for turning a point forecast and its error into a `Forecast`. */
export interface IntervalOptions {
  /** z of the prediction interval. 1.96 ≈ 95 % under normal errors. */
  readonly z: number;
  /** Clamp value and interval at 0: arrival counts and durations cannot be negative. */
  readonly nonNegative: boolean;
  /** Below this |value| the interval is compared with this instead (1 = one arrival for counts), so a
   *  forecast of 0 ± 0.01 is confident, not a division by zero. */
  readonly confidenceScale: number;
}

export const DEFAULT_INTERVAL: IntervalOptions = { z: 1.96, nonNegative: true, confidenceScale: 1 };

export function notReady(reason: string): ForecastNotReady {
  return { ready: false, reason };
}

/**
 * Builds a ready forecast. confidence = precision × maturity, where
 * precision = 1 / (1 + standardError / max(|value|, confidenceScale)) (1 for a perfect fit, ½ when the error
 * is as large as the value) and maturity = samples / (samples + minPoints) (½ just after warm-up, → 1).
 */
export function readyForecast(
  model: string,
  value: number,
  standardError: number,
  samples: number,
  minPoints: number,
  options: IntervalOptions,
): ForecastReady {
  const point = options.nonNegative ? Math.max(0, value) : value;
  const halfWidth = options.z * standardError;
  const low = options.nonNegative ? Math.max(0, point - halfWidth) : point - halfWidth;
  const precision = 1 / (1 + standardError / Math.max(Math.abs(point), options.confidenceScale));
  const maturity = samples / (samples + Math.max(1, minPoints));
  return { ready: true, value: point, low, high: point + halfWidth, confidence: precision * maturity, model };
}

/** Broken caller invariant (a bug, not data): crash loudly. */
export function checkHorizon(horizonSteps: number): void {
  if (!Number.isInteger(horizonSteps) || horizonSteps < 1) {
    throw new RangeError(`horizonSteps must be an integer ≥ 1, got ${horizonSteps}`);
  }
}

/** A NaN or ±Infinity would poison the state for good: refuse it where it enters. */
export function checkObservation(value: number): void {
  if (!Number.isFinite(value)) throw new RangeError(`observed value must be finite, got ${value}`);
}

/** Validates a smoothing parameter at construction (the edge where options come in). */
export function checkUnitInterval(field: string, value: number, allowZero: boolean): void {
  const ok = Number.isFinite(value) && value <= 1 && (allowZero ? value >= 0 : value > 0);
  if (!ok)
    throw new InputError(
      field,
      `${value} is out of range`,
      allowZero ? 'use a value in [0, 1]' : 'use a value in (0, 1]',
    );
}

export function checkPositiveInteger(field: string, value: number): void {
  if (!Number.isInteger(value) || value < 1)
    throw new InputError(field, `${value} is not a positive integer`, 'use an integer ≥ 1');
}

/**
 * Running mean of squared one-step errors until `1 / alpha` samples, then an EWMA of them: unbiased early,
 * adaptive later. Returns the new mean; `count` is the number of errors already folded in.
 */
export function foldSquaredError(meanSquared: number, count: number, error: number, alpha: number): number {
  const weight = Math.max(alpha, 1 / (count + 1));
  return meanSquared + weight * (error * error - meanSquared);
}
