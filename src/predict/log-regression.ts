/**
 * Online robust regression of y = log(value) on u = log(1 + sizeBytes) with exponential forgetting:
 * value ≈ exp(level) × (1 + size)^slope, the power law most costs follow (sorting, parsing, hashing, model
 * tokens). Per observation O(1), allocation-free.
 *
 * Why exponentially weighted sufficient statistics rather than recursive least squares: with forgetting,
 * RLS's covariance grows without bound along a direction the data never excites (a type whose inputs all
 * have the same size), and capping it stops the level from forgetting too. Here the level (weighted mean
 * of y) always forgets, and the slope is a ridge estimate cov(u, y) / (var(u) + ridge) shrunk towards
 * `priorSlope` when sizes barely vary, so it cannot blow up.
 *
 * Robust: after warm-up, a residual beyond `clipSigmas` standard deviations is clipped (Huber) before it
 * updates the fit, so one runaway micro-task (the anomaly detector's business) barely moves the model. A lasting
 * shift wins: `shiftAfter` clipped residuals in a row on the same side move the level to where they lie and forget
 * the past down to them. Through the clip alone a shift by a large factor took ~100 observations (each moves the level
 * by at most clipSigmas σ ÷ memory), where dispatch, which sizes batches on this estimate, needs it within a few: a
 * type that went from 10 µs to 50 ms would keep receiving batches of ~200 meanwhile.
 *
 * It also remembers the range of log sizes it has seen, so a caller can tell an interpolation from an
 * extrapolation (`extrapolationLog`): a power law fitted on small inputs says little about one 100× larger.
 */
import { foldSquaredError } from './forecast.js';

export interface LogRegressionOptions {
  /** Weight kept by the past at each observation, 0 < forgetting ≤ 1; memory ≈ 1 / (1 − forgetting) observations. */
  readonly forgetting: number;
  /** Slope (log-log) believed before sizes vary: 0 = "size does not matter". */
  readonly priorSlope: number;
  /** How many unit-variance observations of log size the prior is worth. */
  readonly ridge: number;
  /** Huber clip, in residual standard deviations. */
  readonly clipSigmas: number;
  /** Observations before clipping starts (the residual scale needs a few points first). */
  readonly clipAfter: number;
  /** Clipped residuals in a row, all above or all below the fit, taken as a shift in level (not runaways). */
  readonly shiftAfter: number;
}

export interface LogRegressionState {
  /** Sum of decayed weights (→ 1 / (1 − forgetting)). */
  weight: number;
  meanLogSize: number;
  meanLogValue: number;
  /** Decayed co-moments Σ w (u − ū)², Σ w (u − ū)(y − ȳ). */
  coMomentSize: number;
  coMomentSizeValue: number;
  samples: number;
  /** Mean squared one-step log residual (running mean, then EWMA with weight 1 − forgetting). */
  residualMeanSquared: number;
  residuals: number;
  /** Smallest and largest log size observed (NaN before the first observation with a size). */
  minLogSize: number;
  maxLogSize: number;
  /** Clipped residuals in a row on one side (the sign: above or below) and the sum of their unclipped values. */
  clippedRun: number;
  clippedRunSum: number;
}

export function initLogRegression(): LogRegressionState {
  return {
    weight: 0,
    meanLogSize: 0,
    meanLogValue: 0,
    coMomentSize: 0,
    coMomentSizeValue: 0,
    samples: 0,
    residualMeanSquared: 0,
    residuals: 0,
    minLogSize: Number.NaN,
    maxLogSize: Number.NaN,
    clippedRun: 0,
    clippedRunSum: 0,
  };
}

export function logSize(sizeBytes: number): number {
  return Math.log1p(sizeBytes);
}

/** Fitted log value at log size `u`; NaN = unknown size (predicts the weighted mean level). NaN with no samples. */
export function predictLog(state: LogRegressionState, options: LogRegressionOptions, u: number): number {
  if (state.samples === 0) return Number.NaN;
  if (Number.isNaN(u)) return state.meanLogValue;
  return state.meanLogValue + slopeOf(state, options) * (u - state.meanLogSize);
}

export function slopeOf(state: LogRegressionState, options: LogRegressionOptions): number {
  return (state.coMomentSizeValue + options.ridge * options.priorSlope) / (state.coMomentSize + options.ridge);
}

/** Standard deviation of one-step log residuals; NaN before two residuals. */
export function residualSpread(state: LogRegressionState): number {
  return state.residuals >= 2 ? Math.sqrt(state.residualMeanSquared) : Number.NaN;
}

/**
 * How much higher (in log value) the cost at log size `u` may plausibly be than `predictLog` says, because `u`
 * lies outside the sizes seen: 0 inside the range or without a size. Above the largest size seen, cost may
 * grow up to linearly (slope 1, or the fitted slope if steeper): most costs grow at most in proportion to
 * their input. Below the smallest, cost may stay flat (slope 0): fixed overheads do not shrink with input.
 */
export function extrapolationLog(state: LogRegressionState, options: LogRegressionOptions, u: number): number {
  if (Number.isNaN(u) || Number.isNaN(state.maxLogSize)) return 0;
  const slope = slopeOf(state, options);
  if (u > state.maxLogSize) return (Math.max(1, slope) - slope) * (u - state.maxLogSize);
  if (u < state.minLogSize) return Math.max(0, slope) * (state.minLogSize - u);
  return 0;
}

/**
 * Folds in one observation: `u` = log size (NaN = no size feature: the observation teaches the level only,
 * as if its size were the current mean), `y` = log value. Returns the one-step residual y − ŷ before the
 * update (NaN for the first sample).
 */
export function observeLog(state: LogRegressionState, options: LogRegressionOptions, u: number, y: number): number {
  const x = Number.isNaN(u) ? (state.samples === 0 ? 0 : state.meanLogSize) : u;
  if (!Number.isNaN(u)) widenSizeRange(state, u);
  let target = y;
  let residual = Number.NaN;
  if (state.samples > 0) {
    let fitted = predictLog(state, options, x);
    residual = y - fitted;
    const spread = residualSpread(state);
    const limit = state.samples >= options.clipAfter && spread > 0 ? options.clipSigmas * spread : Infinity;
    const side = residual > limit ? 1 : residual < -limit ? -1 : 0;
    if (side !== 0 && extendRun(state, side, residual) >= options.shiftAfter) {
      shiftLevel(state, options.shiftAfter);
      fitted = predictLog(state, options, x); // this one lies where the shifted level says
    } else if (side !== 0) {
      target = fitted + side * limit;
    } else {
      state.clippedRun = 0;
      state.clippedRunSum = 0;
    }
    // The scale learns from the clipped residual too: one huge outlier must not widen every interval.
    state.residualMeanSquared = foldSquaredError(
      state.residualMeanSquared,
      state.residuals,
      target - fitted,
      1 - options.forgetting,
    );
    state.residuals += 1;
  }
  const lambda = options.forgetting;
  state.weight = lambda * state.weight + 1;
  const deltaSize = x - state.meanLogSize;
  state.meanLogSize += deltaSize / state.weight;
  const deltaValue = target - state.meanLogValue;
  state.meanLogValue += deltaValue / state.weight;
  // West's weighted update: the old deviation times the new one keeps the co-moments exact under decay.
  state.coMomentSize = lambda * state.coMomentSize + deltaSize * (x - state.meanLogSize);
  state.coMomentSizeValue = lambda * state.coMomentSizeValue + deltaSize * (target - state.meanLogValue);
  state.samples += 1;
  return residual;
}

/** One more clipped residual on `side` (±1); returns the length of the run it belongs to. */
function extendRun(state: LogRegressionState, side: number, residual: number): number {
  if (Math.sign(state.clippedRun) !== side) {
    state.clippedRun = 0;
    state.clippedRunSum = 0;
  }
  state.clippedRun += side;
  state.clippedRunSum += residual;
  return Math.abs(state.clippedRun);
}

/**
 * A level shift: the level moves by the run's mean residual and keeps only the run's weight, so what follows refines
 * the new level quickly. The slope (how cost grows with size) is kept: a shift moves every size alike.
 */
function shiftLevel(state: LogRegressionState, runLength: number): void {
  state.meanLogValue += state.clippedRunSum / Math.abs(state.clippedRun);
  state.weight = Math.min(state.weight, runLength - 1); // this observation adds the run's last 1
  state.clippedRun = 0;
  state.clippedRunSum = 0;
}

function widenSizeRange(state: LogRegressionState, u: number): void {
  state.minLogSize = Number.isNaN(state.minLogSize) ? u : Math.min(state.minLogSize, u);
  state.maxLogSize = Number.isNaN(state.maxLogSize) ? u : Math.max(state.maxLogSize, u);
}
