import { cheapestWindow } from './idle-window.js';
import { idleLoadedMs, isWarmAfter, type WarmPlan, type WarmPolicy } from './warm-policy.js';

/**
 * Ours: per app, several experts each propose a plan for the coming idle period, and the app
 * follows the one whose plans would have cost least on the idle periods seen so far (every
 * expert is scored counterfactually on every idle period: the cost of a plan on a known idle
 * time is exact). Cost is one currency: a cold start is priced as `coldPriceS` seconds of the
 * app's memory held idle — the one knob.
 *
 * Experts:
 * - `break-even`: keep alive for coldPriceS (ski rental: never pays more than twice the best
 *   fixed choice; the prior while there is no history);
 * - `window`: the cheapest pre-warm/keep window on the empirical idle-time distribution
 *   (recent idle times, see idle-window.ts) — periodic apps get a tight pre-warm window;
 * - `forecast`: a pre-warm window around an EWMA forecast of the next idle time in log space,
 *   ± z standard deviations (forecast confidence widens or narrows it).
 */
export interface AdaptiveWarmParams {
  /** Price of one cold start, in seconds of the app's memory held idle. */
  readonly coldPriceS: number;
  /** Keep-alive of the break-even expert, as a fraction of the price (1 = ski rental). */
  readonly breakEvenFraction: number;
  /**
   * Apps with more calls than this pay proportionally less per cold start: one cold start moves a
   * busy app's cold-start rate less (the objective is each app's rate, as the literature scores it).
   */
  readonly rateReferenceCalls: number;
  /** Recent idle times kept per app. */
  readonly historySize: number;
  /** Recompute the window after this many new idle times (and always while history is short). */
  readonly recomputeEvery: number;
  /** Relative and absolute margin around observed idle times (arrival jitter). */
  readonly marginFraction: number;
  readonly marginMs: number;
  /**
   * The window expert prices cold starts this many times higher when it fits its window: a window
   * fitted to a few recent idle times underestimates how often the next one falls outside (hedging).
   */
  readonly windowRiskFactor: number;
  /** Weight of the newest idle period in each expert's running cost. */
  readonly scoreAlpha: number;
  /** EWMA weight and interval width (standard deviations) of the forecast expert. */
  readonly forecastAlpha: number;
  readonly forecastZ: number;
}

export const ADAPTIVE_WARM_DEFAULTS: AdaptiveWarmParams = {
  coldPriceS: 14_400,
  breakEvenFraction: 1,
  rateReferenceCalls: 50,
  historySize: 32,
  recomputeEvery: 8,
  marginFraction: 0.1,
  marginMs: 1_000,
  windowRiskFactor: 1,
  scoreAlpha: 0.02,
  forecastAlpha: 0.3,
  forecastZ: 2,
};

const EXPERTS = ['break-even', 'window', 'forecast'] as const;

interface AppState {
  calls: number;
  /** History size at which the window is next recomputed early (2, 4, 8, …). */
  nextDoubling: number;
  breakEven: WarmPlan;
  readonly gapsMs: Float64Array;
  readonly sorted: Float64Array;
  gapCount: number;
  nextGap: number;
  sinceRecompute: number;
  lastIdleAtMs: number;
  windowPlan: WarmPlan;
  logMean: number;
  logVariance: number;
  forecasts: number;
  readonly scores: Float64Array;
  readonly lastPlans: WarmPlan[];
  chosen: number;
}

export function adaptiveWarmPolicy(
  overrides: Partial<AdaptiveWarmParams> = {},
): WarmPolicy<AppState> & { readonly expertUse: Map<string, number> } {
  const params = { ...ADAPTIVE_WARM_DEFAULTS, ...overrides };
  const firstBreakEven: WarmPlan = { keepAliveMs: params.coldPriceS * params.breakEvenFraction * 1000 };
  const expertUse = new Map<string, number>(EXPERTS.map((name) => [name, 0]));
  return {
    name: `adaptive(${params.coldPriceS}s)`,
    params: { ...params },
    expertUse,
    newApp: () => ({
      calls: 0,
      nextDoubling: 2,
      breakEven: firstBreakEven,
      gapsMs: new Float64Array(params.historySize),
      sorted: new Float64Array(params.historySize),
      gapCount: 0,
      nextGap: 0,
      sinceRecompute: 0,
      lastIdleAtMs: Number.NaN,
      windowPlan: firstBreakEven,
      logMean: 0,
      logVariance: 0,
      forecasts: 0,
      scores: new Float64Array(EXPERTS.length),
      lastPlans: [firstBreakEven, firstBreakEven, firstBreakEven],
      chosen: 0,
    }),
    onArrival(state, nowMs) {
      state.calls += 1;
      if (Number.isNaN(state.lastIdleAtMs) || nowMs < state.lastIdleAtMs) return;
      const gapMs = nowMs - state.lastIdleAtMs;
      state.lastIdleAtMs = Number.NaN;
      score(state, gapMs, params);
      remember(state, gapMs, params);
    },
    onIdle(state, nowMs) {
      state.lastIdleAtMs = nowMs;
      // Recompute as history doubles while it is short, then less often as calls pile up (busy apps' windows barely
      // move).
      const every = Math.min(256, Math.max(params.recomputeEvery, state.calls >> 4));
      const doubled = state.gapCount >= state.nextDoubling;
      if (state.sinceRecompute >= every || doubled) {
        if (doubled) state.nextDoubling *= 2;
        const priceS = coldPrice(state, params);
        state.breakEven =
          priceS === params.coldPriceS ? firstBreakEven : { keepAliveMs: priceS * params.breakEvenFraction * 1000 };
        state.windowPlan = recomputeWindow(state, params, priceS);
      }
      state.lastPlans[0] = state.breakEven;
      state.lastPlans[1] = state.windowPlan;
      state.lastPlans[2] = forecastPlan(state, params, state.breakEven);
      state.chosen = state.gapCount < 2 ? 0 : argMin(state.scores);
      expertUse.set(EXPERTS[state.chosen]!, expertUse.get(EXPERTS[state.chosen]!)! + 1);
      return state.lastPlans[state.chosen]!;
    },
  };
}

/** Scores what each expert proposed for the idle period that just ended. */
function score(state: AppState, gapMs: number, params: AdaptiveWarmParams): void {
  for (let e = 0; e < EXPERTS.length; e++) {
    const plan = state.lastPlans[e]!;
    const costS = (isWarmAfter(plan, gapMs) ? 0 : coldPrice(state, params)) + idleLoadedMs(plan, gapMs) / 1000;
    state.scores[e] = state.gapCount === 0 ? costS : state.scores[e]! + params.scoreAlpha * (costS - state.scores[e]!);
  }
}

function remember(state: AppState, gapMs: number, params: AdaptiveWarmParams): void {
  if (state.gapCount === params.historySize) removeSorted(state, state.gapsMs[state.nextGap]!);
  state.gapCount += 1;
  insertSorted(state, gapMs);
  state.gapsMs[state.nextGap] = gapMs;
  state.nextGap = (state.nextGap + 1) % params.historySize;
  state.sinceRecompute += 1;
  const logGap = Math.log(Math.max(gapMs, 1));
  if (state.forecasts === 0) state.logMean = logGap;
  const error = logGap - state.logMean;
  state.logMean += params.forecastAlpha * error;
  state.logVariance = (1 - params.forecastAlpha) * (state.logVariance + params.forecastAlpha * error * error);
  state.forecasts += 1;
}

/** `sorted` holds the ring's idle times in order (kept incrementally: no sort per recompute). */
function insertSorted(state: AppState, gapMs: number): void {
  const used = state.gapCount - 1; // entries already in `sorted`
  let at = used;
  while (at > 0 && state.sorted[at - 1]! > gapMs) at -= 1;
  state.sorted.copyWithin(at + 1, at, used);
  state.sorted[at] = gapMs;
}

function removeSorted(state: AppState, gapMs: number): void {
  const count = state.gapCount;
  let at = 0;
  while (at < count && state.sorted[at] !== gapMs) at += 1;
  state.sorted.copyWithin(at, at + 1, count);
  state.gapCount -= 1;
}

/** This app's price of a cold start: the knob, scaled down for apps with many calls. */
function coldPrice(state: AppState, params: AdaptiveWarmParams): number {
  return state.calls <= params.rateReferenceCalls
    ? params.coldPriceS
    : (params.coldPriceS * params.rateReferenceCalls) / state.calls;
}

function recomputeWindow(state: AppState, params: AdaptiveWarmParams, priceS: number): WarmPlan {
  state.sinceRecompute = 0;
  return cheapestWindow(
    state.sorted,
    state.gapCount,
    priceS * params.windowRiskFactor,
    params.marginFraction,
    params.marginMs,
  ).plan;
}

/** Pre-warm around the forecast next idle time, ± z σ in log space; the break-even plan until it has data. */
function forecastPlan(state: AppState, params: AdaptiveWarmParams, fallback: WarmPlan): WarmPlan {
  if (state.forecasts < 2) return fallback;
  const spread = params.forecastZ * Math.sqrt(state.logVariance);
  const fromMs = Math.exp(state.logMean - spread) * (1 - params.marginFraction) - params.marginMs;
  const toMs = Math.exp(state.logMean + spread) * (1 + params.marginFraction) + params.marginMs;
  return fromMs <= 0 ? { keepAliveMs: toMs } : { keepAliveMs: 0, prewarmAfterMs: fromMs, prewarmKeepMs: toMs - fromMs };
}

function argMin(values: Float64Array): number {
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i]! < values[best]!) best = i;
  return best;
}
