/**
 * How good are the forecasts? Scale-free error measures so series of very different sizes (an app with
 * 1 call an hour, one with 1,000 a minute) can be compared and averaged.
 *
 * MASE (Hyndman & Koehler, 2006) = mean |actual − predicted| / mean |actual(t) − actual(t − m)|: the
 * forecast's mean absolute error divided by that of the seasonal-naive forecast ("same as one season ago";
 * with no season, m = 1, "same as last step") on the same series. Below 1 beats seasonal-naive, 1 ties it.
 * The scale is measured on every point that has a value one season back; the error on every point that
 * has a forecast, so points before the forecaster is ready are passed with `predicted = NaN`.
 */
import { notReady, type ForecastNotReady } from './forecast.js';

export interface ErrorMeasure {
  readonly ready: true;
  readonly value: number;
  /** Points that entered the numerator (scored forecasts). */
  readonly points: number;
}

export type ErrorResult = ForecastNotReady | ErrorMeasure;

/** Mutable accumulator; memory O(seasonLength) for the ring of recent actual values. */
export interface MaseState {
  readonly seasonLength: number;
  /** The last `seasonLength` actual values, oldest at `next` once full. */
  readonly recent: Float64Array;
  next: number;
  seen: number;
  absoluteErrorSum: number;
  scored: number;
  scaleSum: number;
  scaleCount: number;
}

/** Points with a forecast before MASE is reported: 2, so one lucky hit is not a score. */
export const DEFAULT_MASE_MIN_POINTS = 2;

/** `seasonLength` 0 or 1 = the naive (previous step) scale. */
export function initMase(seasonLength: number): MaseState {
  const m = Math.max(1, seasonLength);
  if (!Number.isInteger(m)) throw new RangeError(`seasonLength must be an integer, got ${seasonLength}`);
  return {
    seasonLength: m,
    recent: new Float64Array(m),
    next: 0,
    seen: 0,
    absoluteErrorSum: 0,
    scored: 0,
    scaleSum: 0,
    scaleCount: 0,
  };
}

/** O(1), allocation-free. `predicted` NaN = no forecast for this point (only the scale learns from it). */
export function observeMase(state: MaseState, actual: number, predicted: number): void {
  if (!Number.isFinite(actual)) throw new RangeError(`actual value must be finite, got ${actual}`);
  if (state.seen >= state.seasonLength) {
    state.scaleSum += Math.abs(actual - (state.recent[state.next] ?? 0));
    state.scaleCount += 1;
  }
  state.recent[state.next] = actual;
  state.next = state.next + 1 === state.seasonLength ? 0 : state.next + 1;
  state.seen += 1;
  if (Number.isFinite(predicted)) {
    state.absoluteErrorSum += Math.abs(actual - predicted);
    state.scored += 1;
  }
}

export function maseOf(state: MaseState, minPoints: number = DEFAULT_MASE_MIN_POINTS): ErrorResult {
  if (state.scored < minPoints) return notReady(`${state.scored} of ${minPoints} forecast points needed`);
  if (state.scaleCount === 0) return notReady(`no value one season (${state.seasonLength} steps) back yet: no scale`);
  if (state.scaleSum === 0)
    return notReady(`the series repeats exactly every ${state.seasonLength} steps: the naive scale is 0`);
  const meanError = state.absoluteErrorSum / state.scored;
  const meanScale = state.scaleSum / state.scaleCount;
  return { ready: true, value: meanError / meanScale, points: state.scored };
}

/** MASE over whole arrays; `predicted[i]` NaN = no forecast for point i. */
export function mase(
  actual: ArrayLike<number>,
  predicted: ArrayLike<number>,
  seasonLength = 1,
  minPoints: number = DEFAULT_MASE_MIN_POINTS,
): ErrorResult {
  checkSameLength(actual, predicted);
  const state = initMase(seasonLength);
  for (let i = 0; i < actual.length; i += 1) observeMase(state, actual[i] ?? Number.NaN, predicted[i] ?? Number.NaN);
  return maseOf(state, minPoints);
}

/**
 * Median of |actual − predicted| / |actual| as a fraction (0.1 = 10 %), over points with a non-zero actual
 * and a forecast. The median, not the mean, so a few near-zero actual values (a 1 ms task) cannot dominate.
 * Meant for duration predictions, where actual values are never 0.
 */
export function medianAbsolutePercentageError(actual: ArrayLike<number>, predicted: ArrayLike<number>): ErrorResult {
  checkSameLength(actual, predicted);
  const ratios: number[] = [];
  for (let i = 0; i < actual.length; i += 1) {
    const a = actual[i] ?? Number.NaN;
    const p = predicted[i] ?? Number.NaN;
    if (a !== 0 && Number.isFinite(a) && Number.isFinite(p)) ratios.push(Math.abs(a - p) / Math.abs(a));
  }
  if (ratios.length === 0) return notReady('no point with both a non-zero actual value and a forecast');
  return { ready: true, value: median(ratios), points: ratios.length };
}

/** Sorts `values` in place. */
function median(values: number[]): number {
  values.sort((x, y) => x - y);
  const middle = values.length >> 1;
  const upper = values[middle] ?? Number.NaN;
  return values.length % 2 === 1 ? upper : ((values[middle - 1] ?? Number.NaN) + upper) / 2;
}

function checkSameLength(actual: ArrayLike<number>, predicted: ArrayLike<number>): void {
  if (actual.length !== predicted.length) {
    throw new RangeError(
      `actual and predicted must have the same length, got ${actual.length} and ${predicted.length}`,
    );
  }
}
