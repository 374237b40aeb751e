/**
 * Additive Holt-Winters (level + trend + season) for per-app arrival counts, e.g. season 60 for an
 * hourly pattern on per-minute counts, 1440 for a daily one.
 *
 * Until it has seen two full seasons it forecasts with Holt's linear trend (no season) and says so
 * (`model: 'holt'`). During those two seasons it stores no history beyond the `seasonLength` numbers it
 * needs anyway: the first season raw, then the sum of both seasons per phase. At the end of the second
 * season it fits level, trend and seasonal indices in closed form, which recover a linear trend plus a
 * periodic pattern exactly, and estimates the residual variance from the season-over-season differences.
 */
import {
  DEFAULT_INTERVAL,
  checkHorizon,
  checkObservation,
  checkUnitInterval,
  foldSquaredError,
  notReady,
  readyForecast,
  type Forecast,
  type Forecaster,
  type IntervalOptions,
} from './forecast.js';
import { InputError } from '../core/errors.js';

export interface HoltWintersOptions {
  /** Steps in one season; 0 = no season (Holt's linear trend only). */
  readonly seasonLength: number;
  /** Level smoothing. 0.2: averages Poisson noise over ~10 steps, still follows a shift within minutes. */
  readonly alpha: number;
  /** Trend smoothing (of level changes). 0.02: trends in demand are slow; a larger value chases bursts and
   *  extrapolates them. */
  readonly beta: number;
  /** Season smoothing. 0.1: each index is updated once a season, so it takes ~10 seasons to forget a one-off
   *  (e.g. a holiday) but still adapts to a changed daily pattern within days. */
  readonly gamma: number;
  /** Weight of the newest squared one-step error in the variance (~40-step window). */
  readonly errorAlpha: number;
  /** Observations before `forecast` is ready. 3: level from the first, a trend from the next, one measured error. */
  readonly minPoints: number;
  readonly interval: IntervalOptions;
}

export const DEFAULT_HOLT_WINTERS: Omit<HoltWintersOptions, 'seasonLength'> = {
  alpha: 0.2,
  beta: 0.02,
  gamma: 0.1,
  errorAlpha: 0.05,
  minPoints: 3,
  interval: DEFAULT_INTERVAL,
};

/** Mutable; O(seasonLength) memory, nothing else grows. */
export interface HoltWintersState {
  level: number;
  trend: number;
  meanSquaredError: number;
  samples: number;
  errors: number;
  /** Index in `season` of the next observation (time mod seasonLength). */
  phase: number;
  /** True once two seasons have been seen and `season` holds seasonal indices. */
  seasonal: boolean;
  /** Warm-up sums: of the first season, and of the season-over-season differences and their squares. */
  firstSeasonSum: number;
  differenceSum: number;
  differenceSquares: number;
  /** Warm-up: first season raw, then per-phase sums of both; afterwards the seasonal indices. */
  readonly season: Float64Array;
}

export type HoltWintersForecaster = Forecaster<HoltWintersState> & { readonly options: HoltWintersOptions };

export function holtWinters(
  overrides: Partial<HoltWintersOptions> & Pick<HoltWintersOptions, 'seasonLength'>,
): HoltWintersForecaster {
  const options: HoltWintersOptions = { ...DEFAULT_HOLT_WINTERS, ...overrides };
  validate(options);
  const { seasonLength, alpha, beta, gamma, errorAlpha, minPoints } = options;

  function holtStep(state: HoltWintersState, value: number): void {
    if (state.samples === 0) {
      state.level = value;
      return;
    }
    recordError(state, value - (state.level + state.trend));
    const level = alpha * value + (1 - alpha) * (state.level + state.trend);
    state.trend = beta * (level - state.level) + (1 - beta) * state.trend;
    state.level = level;
  }

  function seasonalStep(state: HoltWintersState, value: number): void {
    const phase = state.phase;
    const index = state.season[phase] ?? 0;
    recordError(state, value - (state.level + state.trend + index));
    const level = alpha * (value - index) + (1 - alpha) * (state.level + state.trend);
    state.trend = beta * (level - state.level) + (1 - beta) * state.trend;
    state.season[phase] = gamma * (value - level) + (1 - gamma) * index;
    state.level = level;
  }

  function recordError(state: HoltWintersState, error: number): void {
    state.meanSquaredError = foldSquaredError(state.meanSquaredError, state.errors, error, errorAlpha);
    state.errors += 1;
  }

  function observe(state: HoltWintersState, value: number): void {
    checkObservation(value);
    if (state.seasonal) seasonalStep(state, value);
    else {
      holtStep(state, value);
      if (seasonLength > 0) accumulateWarmUp(state, value, seasonLength);
    }
    state.samples += 1;
    state.phase = state.phase + 1 === seasonLength ? 0 : state.phase + 1;
    if (!state.seasonal && seasonLength > 0 && state.samples === 2 * seasonLength) fitSeason(state, seasonLength);
  }

  function forecastValue(state: HoltWintersState, horizonSteps: number): number {
    checkHorizon(horizonSteps);
    if (state.samples < minPoints) return Number.NaN;
    const value = rawForecast(state, horizonSteps, seasonLength);
    return options.interval.nonNegative ? Math.max(0, value) : value;
  }

  function forecast(state: HoltWintersState, horizonSteps: number): Forecast {
    checkHorizon(horizonSteps);
    if (state.samples === 0) return notReady('no observations yet');
    if (state.samples < minPoints) return notReady(`${state.samples} of ${minPoints} observations needed`);
    const value = rawForecast(state, horizonSteps, seasonLength);
    const factor = horizonVarianceFactor(horizonSteps, alpha, beta, state.seasonal ? gamma : 0, seasonLength);
    const standardError = Math.sqrt(state.meanSquaredError * factor);
    return readyForecast(
      state.seasonal ? 'holt-winters' : 'holt',
      value,
      standardError,
      state.samples,
      minPoints,
      options.interval,
    );
  }

  return {
    name: seasonLength > 0 ? 'holt-winters' : 'holt',
    options,
    init: () => ({
      level: 0,
      trend: 0,
      meanSquaredError: 0,
      samples: 0,
      errors: 0,
      phase: 0,
      seasonal: false,
      firstSeasonSum: 0,
      differenceSum: 0,
      differenceSquares: 0,
      season: new Float64Array(seasonLength),
    }),
    observe,
    forecastValue,
    forecastInto: (state, horizonSteps, out, index) => {
      out[index] = forecastValue(state, horizonSteps);
    },
    forecast,
  };
}

/** level + h·trend + the seasonal index of the forecast step (none before the season is fitted). */
function rawForecast(state: HoltWintersState, horizonSteps: number, seasonLength: number): number {
  const index = state.seasonal ? (state.season[(state.phase + horizonSteps - 1) % seasonLength] ?? 0) : 0;
  return state.level + horizonSteps * state.trend + index;
}

function validate(options: HoltWintersOptions): void {
  const { seasonLength, minPoints } = options;
  if (!Number.isInteger(seasonLength) || seasonLength < 0 || seasonLength === 1) {
    throw new InputError(
      'holtWinters.seasonLength',
      `${seasonLength} is not a season length`,
      'use an integer ≥ 2 (steps per season), or 0 for no season',
    );
  }
  checkUnitInterval('holtWinters.alpha', options.alpha, false);
  checkUnitInterval('holtWinters.beta', options.beta, true);
  checkUnitInterval('holtWinters.gamma', options.gamma, true);
  checkUnitInterval('holtWinters.errorAlpha', options.errorAlpha, false);
  if (!Number.isInteger(minPoints) || minPoints < 2)
    throw new InputError('holtWinters.minPoints', `${minPoints} is too small`, 'use an integer ≥ 2');
}

/** First season: keep the raw values. Second: keep the per-phase sum and the season-over-season differences. */
function accumulateWarmUp(state: HoltWintersState, value: number, seasonLength: number): void {
  const phase = state.phase;
  if (state.samples < seasonLength) {
    state.season[phase] = value;
    state.firstSeasonSum += value;
    return;
  }
  const first = state.season[phase] ?? 0;
  const difference = value - first;
  state.differenceSum += difference;
  state.differenceSquares += difference * difference;
  state.season[phase] = first + value;
}

/**
 * Closed-form fit of x(t) = a + b·t + s(t mod m) + noise on the two seasons seen (t = 0 … 2m − 1):
 * b = (mean₂ − mean₁) / m; s_i = (x₁ᵢ + x₂ᵢ)/2 − (mean₁ + mean₂)/2 − b·(i − (m − 1)/2) (sums to 0);
 * level at the last point = mean₂ + b·(m − 1)/2. Residuals are ±(dᵢ − d̄)/2 with dᵢ = x₂ᵢ − x₁ᵢ, so
 * σ² = ½ Σ(dᵢ − d̄)² / (m − 1) (2m points, m + 1 parameters).
 */
function fitSeason(state: HoltWintersState, m: number): void {
  const firstMean = state.firstSeasonSum / m;
  const meanDifference = state.differenceSum / m;
  const secondMean = firstMean + meanDifference;
  const trend = meanDifference / m;
  const centre = (m - 1) / 2;
  const overallMean = (firstMean + secondMean) / 2;
  for (let i = 0; i < m; i += 1) state.season[i] = (state.season[i] ?? 0) / 2 - overallMean - trend * (i - centre);
  const spread = Math.max(0, state.differenceSquares - m * meanDifference * meanDifference);
  state.level = secondMean + trend * centre;
  state.trend = trend;
  state.meanSquaredError = spread / 2 / (m - 1);
  state.errors = m - 1;
  state.seasonal = true;
}

/**
 * Var(h-step error) / σ² for additive Holt-Winters in its error-correction (ETS(A,A,A)) form:
 * 1 + Σ_{j=1}^{h−1} c_j², c_j = α + αβ·j + γ(1 − α)·[j mod m = 0] (Hyndman et al., 2008, table 6.1).
 * Closed form, O(1) in h.
 */
export function horizonVarianceFactor(
  horizonSteps: number,
  alpha: number,
  beta: number,
  gamma: number,
  seasonLength: number,
): number {
  const n = horizonSteps - 1;
  const a = alpha;
  const b = alpha * beta;
  let sum = n * a * a + a * b * n * (n + 1) + (b * b * n * (n + 1) * (2 * n + 1)) / 6;
  if (gamma > 0 && seasonLength > 0) {
    const g = gamma * (1 - alpha);
    const k = Math.floor(n / seasonLength);
    sum += k * (2 * g * a + g * g) + g * b * seasonLength * k * (k + 1);
  }
  return 1 + sum;
}
