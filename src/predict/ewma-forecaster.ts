/**
 * EWMA (simple exponential smoothing) forecaster with an error estimate: a flat forecast at the smoothed
 * level, and an interval from an EWMA of the squared one-step errors. Good for series without trend or
 * season, and the baseline the seasonal models must beat.
 */
import { ewmaStep } from './ewma.js';
import {
  DEFAULT_INTERVAL,
  checkHorizon,
  checkObservation,
  checkPositiveInteger,
  checkUnitInterval,
  foldSquaredError,
  notReady,
  readyForecast,
  type Forecast,
  type Forecaster,
  type IntervalOptions,
} from './forecast.js';

export interface EwmaForecasterOptions {
  /** Weight of the newest value in the level. 0.3 ≈ an effective window of ~6 steps: follows bursts within minutes. */
  readonly alpha: number;
  /** Weight of the newest squared error in the variance. 0.05 ≈ a ~40-step window: steadier than the level. */
  readonly errorAlpha: number;
  /** Observations before `forecast` is ready. 2: the level plus one measured error for the interval. */
  readonly minPoints: number;
  readonly interval: IntervalOptions;
}

export const DEFAULT_EWMA_FORECASTER: EwmaForecasterOptions = {
  alpha: 0.3,
  errorAlpha: 0.05,
  minPoints: 2,
  interval: DEFAULT_INTERVAL,
};

/** Mutable, four numbers. */
export interface EwmaForecastState {
  level: number;
  meanSquaredError: number;
  samples: number;
  errors: number;
}

export type EwmaForecaster = Forecaster<EwmaForecastState> & { readonly options: EwmaForecasterOptions };

export function ewmaForecaster(overrides: Partial<EwmaForecasterOptions> = {}): EwmaForecaster {
  const options: EwmaForecasterOptions = { ...DEFAULT_EWMA_FORECASTER, ...overrides };
  checkUnitInterval('ewma.alpha', options.alpha, false);
  checkUnitInterval('ewma.errorAlpha', options.errorAlpha, false);
  checkPositiveInteger('ewma.minPoints', options.minPoints);
  const { alpha, errorAlpha, minPoints } = options;

  function observe(state: EwmaForecastState, value: number): void {
    checkObservation(value);
    if (state.samples === 0) {
      state.level = value;
    } else {
      state.meanSquaredError = foldSquaredError(state.meanSquaredError, state.errors, value - state.level, errorAlpha);
      state.errors += 1;
      state.level = ewmaStep(state.level, value, alpha);
    }
    state.samples += 1;
  }

  function forecastValue(state: EwmaForecastState, horizonSteps: number): number {
    checkHorizon(horizonSteps);
    if (state.samples < minPoints) return Number.NaN;
    return options.interval.nonNegative ? Math.max(0, state.level) : state.level;
  }

  function forecast(state: EwmaForecastState, horizonSteps: number): Forecast {
    checkHorizon(horizonSteps);
    if (state.samples === 0) return notReady('no observations yet');
    if (state.samples < minPoints) return notReady(`${state.samples} of ${minPoints} observations needed`);
    // h-step error variance of simple exponential smoothing: σ² (1 + (h − 1) α²).
    const variance = state.meanSquaredError * (1 + (horizonSteps - 1) * alpha * alpha);
    return readyForecast('ewma', state.level, Math.sqrt(variance), state.samples, minPoints, options.interval);
  }

  return {
    name: 'ewma',
    options,
    init: () => ({ level: 0, meanSquaredError: 0, samples: 0, errors: 0 }),
    observe,
    forecastValue,
    forecastInto: (state, horizonSteps, out, index) => {
      out[index] = forecastValue(state, horizonSteps);
    },
    forecast,
  };
}
