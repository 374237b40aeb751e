/**
 * Pick per series by recent error: runs several forecasters side by side on the same series, scores each
 * one's one-step forecast against the value that then arrives (an EWMA of the absolute error), and
 * forecasts with the one that has been best lately. The adaptive policy keeps one selector per task
 * type, so a bursty type gets EWMA while a type with a daily rhythm gets Holt-Winters, and the forecast's
 * `model` plus `selectionReport` say which and why.
 */
import { InputError } from '../core/errors.js';
import {
  checkHorizon,
  checkObservation,
  checkUnitInterval,
  notReady,
  type Forecast,
  type Forecaster,
} from './forecast.js';

export interface SelectorOptions {
  /** Weight of the newest absolute error. 0.05 ≈ the last ~40 steps: long enough to cover a burst and its
   *  aftermath, short enough to notice within the hour (per-minute steps) that the pattern changed. */
  readonly errorAlpha: number;
  /** Scored one-step forecasts before a candidate can be chosen. 5: one lucky guess does not win. */
  readonly minScored: number;
  /** Switch only when the challenger's error is this much lower (0.1 = 10 %), so near-ties do not flap. */
  readonly switchMargin: number;
}

export const DEFAULT_SELECTOR: SelectorOptions = { errorAlpha: 0.05, minScored: 5, switchMargin: 0.1 };

/** Mutable. `states[i]` belongs to candidate i. */
export interface SelectorState {
  readonly states: unknown[];
  /** Recent mean absolute one-step error per candidate. */
  readonly recentError: Float64Array;
  readonly scored: Float64Array;
  /** Scratch: each candidate's one-step forecast before the value arrives. */
  readonly predictions: Float64Array;
  /** Index of the chosen candidate, −1 while none has enough scored forecasts. */
  chosen: number;
}

export interface CandidateReport {
  readonly name: string;
  readonly recentAbsoluteError: number | undefined;
  readonly scored: number;
  readonly chosen: boolean;
}

export type SelectingForecaster = Forecaster<SelectorState> & {
  readonly candidates: readonly Forecaster<unknown>[];
  /** Name of the candidate forecasts come from now (the first ready one while none is chosen). */
  using(state: SelectorState): string | undefined;
  selectionReport(state: SelectorState): CandidateReport[];
};

export function selectByRecentError(
  candidates: readonly Forecaster<unknown>[],
  overrides: Partial<SelectorOptions> = {},
): SelectingForecaster {
  const options: SelectorOptions = { ...DEFAULT_SELECTOR, ...overrides };
  if (candidates.length === 0)
    throw new InputError('selectByRecentError.candidates', 'is empty', 'pass at least one forecaster');
  checkUnitInterval('selectByRecentError.errorAlpha', options.errorAlpha, false);
  checkUnitInterval('selectByRecentError.switchMargin', options.switchMargin, true);
  const count = candidates.length;

  function observe(state: SelectorState, value: number): void {
    checkObservation(value);
    const predictions = state.predictions;
    for (let i = 0; i < count; i += 1) {
      const candidate = candidates[i]!;
      const candidateState = state.states[i];
      candidate.forecastInto(candidateState, 1, predictions, i);
      const predicted = predictions[i] ?? Number.NaN;
      if (Number.isFinite(predicted)) scoreCandidate(state, i, Math.abs(value - predicted), options.errorAlpha);
      candidate.observe(candidateState, value);
    }
    state.chosen = choose(state, options);
  }

  /** The chosen candidate, else the first that is ready, else −1. */
  function source(state: SelectorState): number {
    if (state.chosen >= 0) return state.chosen;
    for (let i = 0; i < count; i += 1) if (Number.isFinite(candidates[i]!.forecastValue(state.states[i], 1))) return i;
    return -1;
  }

  function forecastValue(state: SelectorState, horizonSteps: number): number {
    checkHorizon(horizonSteps);
    const i = source(state);
    return i < 0 ? Number.NaN : candidates[i]!.forecastValue(state.states[i], horizonSteps);
  }

  function forecast(state: SelectorState, horizonSteps: number): Forecast {
    checkHorizon(horizonSteps);
    const i = source(state);
    if (i < 0) return notReady(`no candidate ready yet (${candidates.map((c) => c.name).join(', ')})`);
    return candidates[i]!.forecast(state.states[i], horizonSteps);
  }

  return {
    name: `select(${candidates.map((c) => c.name).join(',')})`,
    candidates,
    init: () => ({
      states: candidates.map((c) => c.init()),
      recentError: new Float64Array(count),
      scored: new Float64Array(count),
      predictions: new Float64Array(count),
      chosen: -1,
    }),
    observe,
    forecastValue,
    forecastInto(state, horizonSteps, out, index) {
      checkHorizon(horizonSteps);
      const i = source(state);
      if (i < 0) out[index] = Number.NaN;
      else candidates[i]!.forecastInto(state.states[i], horizonSteps, out, index);
    },
    forecast,
    using(state) {
      const i = source(state);
      return i < 0 ? undefined : candidates[i]!.name;
    },
    selectionReport: (state) =>
      candidates.map((c, i) => ({
        name: c.name,
        recentAbsoluteError: (state.scored[i] ?? 0) > 0 ? state.recentError[i] : undefined,
        scored: state.scored[i] ?? 0,
        chosen: i === state.chosen,
      })),
  };
}

/** Running mean until 1 / alpha errors, then an EWMA: candidates that started scoring late compare fairly. */
function scoreCandidate(state: SelectorState, i: number, absoluteError: number, alpha: number): void {
  const scored = state.scored[i] ?? 0;
  const previous = state.recentError[i] ?? 0;
  state.recentError[i] = previous + Math.max(alpha, 1 / (scored + 1)) * (absoluteError - previous);
  state.scored[i] = scored + 1;
}

/** Lowest recent error among candidates with enough scored forecasts; the incumbent keeps near-ties. */
function choose(state: SelectorState, options: SelectorOptions): number {
  let best = -1;
  for (let i = 0; i < state.recentError.length; i += 1) {
    if ((state.scored[i] ?? 0) < options.minScored) continue;
    if (best < 0 || (state.recentError[i] ?? 0) < (state.recentError[best] ?? 0)) best = i;
  }
  const current = state.chosen;
  if (current < 0 || best < 0 || best === current) return best < 0 ? current : best;
  const challenger = state.recentError[best] ?? 0;
  const incumbent = state.recentError[current] ?? 0;
  return challenger < incumbent * (1 - options.switchMargin) ? best : current;
}
