import { ewmaForecaster } from '../predict/ewma-forecaster.js';
import { initMase, maseOf, observeMase } from '../predict/forecast-error.js';
import { holtWinters } from '../predict/holt-winters.js';
import { selectByRecentError } from '../predict/select.js';
import { percentile } from './metrics.js';
import type { Trace } from './trace.js';

const MINUTE_MS = 60_000;
/** Hourly seasonality on per-minute counts (one day of history cannot show a daily one). */
const SEASON_MINUTES = 60;

/** How well the forecasters predicted each app's next-minute arrivals, as MASE against seasonal-naive. */
export interface ForecastErrorReport {
  readonly seasonMinutes: number;
  /** Apps with enough history for a MASE (at least a season, and some variation). */
  readonly apps: number;
  /** MASE of the one-step forecast, median and 75th percentile over those apps (< 1: better than seasonal-naive). */
  readonly medianMase: number;
  readonly p75Mase: number;
  /** Share of apps whose selector ended on each model. */
  readonly modelShare: Readonly<Record<string, number>>;
}

/**
 * Replays each app's per-minute arrival counts through the forecaster selector (EWMA and
 * Holt-Winters, picked per app by recent error), forecasting each minute before seeing it.
 */
export function forecastErrors(trace: Trace): ForecastErrorReport {
  const minutes = Math.ceil((trace.endMs - trace.startMs) / MINUTE_MS);
  const counts = new Float64Array(minutes);
  const selector = selectByRecentError([ewmaForecaster(), holtWinters({ seasonLength: SEASON_MINUTES })]);
  const scores: number[] = [];
  const chosen = new Map<string, number>();
  const prediction = new Float64Array(1);
  for (const app of trace.apps) {
    counts.fill(0);
    for (const arrivalMs of app.arrivalsMs)
      counts[Math.min(minutes - 1, Math.floor((arrivalMs - trace.startMs) / MINUTE_MS))]! += 1;
    const state = selector.init();
    const error = initMase(SEASON_MINUTES);
    for (let minute = 0; minute < minutes; minute++) {
      selector.forecastInto(state, 1, prediction, 0);
      observeMase(error, counts[minute]!, prediction[0]!);
      selector.observe(state, counts[minute]!);
    }
    const result = maseOf(error, SEASON_MINUTES);
    if (!result.ready) continue;
    scores.push(result.value);
    const model = selector.forecast(state, 1);
    const name = model.ready ? model.model : 'none';
    chosen.set(name, (chosen.get(name) ?? 0) + 1);
  }
  scores.sort((a, b) => a - b);
  return {
    seasonMinutes: SEASON_MINUTES,
    apps: scores.length,
    medianMase: percentile(scores, 50),
    p75Mase: percentile(scores, 75),
    modelShare: Object.fromEntries([...chosen].map(([name, count]) => [name, count / Math.max(1, scores.length)])),
  };
}
