import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { seededRng } from '../src/core/clock.js';
import { InputError } from '../src/core/errors.js';
import { ewmaForecaster } from '../src/predict/ewma-forecaster.js';
import type { Forecast, Forecaster, ForecastReady } from '../src/predict/forecast.js';
import { mase } from '../src/predict/forecast-error.js';
import { holtWinters, horizonVarianceFactor } from '../src/predict/holt-winters.js';
import { selectByRecentError } from '../src/predict/select.js';

function feed<S>(forecaster: Forecaster<S>, values: readonly number[]): S {
  const state = forecaster.init();
  for (const v of values) forecaster.observe(state, v);
  return state;
}

function ready(forecast: Forecast): ForecastReady {
  if (!forecast.ready) throw new Error(`expected a ready forecast, got: ${forecast.reason}`);
  return forecast;
}

/** 10 + 0.05·t + 3·sin(2πt/24) + N(0, noise²) via Box-Muller on a seeded Rng. */
function seasonalSeries(length: number, noise: number, seed = 7): number[] {
  const rng = seededRng(seed);
  return Array.from({ length }, (_, t) => {
    const gaussian = Math.sqrt(-2 * Math.log(1 - rng.next())) * Math.cos(2 * Math.PI * rng.next());
    return 10 + 0.05 * t + 3 * Math.sin((2 * Math.PI * t) / 24) + noise * gaussian;
  });
}

/** One-step forecasts made before each value arrives (NaN while not ready). */
function oneStepForecasts<S>(forecaster: Forecaster<S>, values: readonly number[]): number[] {
  const state = forecaster.init();
  return values.map((v) => {
    const predicted = forecaster.forecastValue(state, 1);
    forecaster.observe(state, v);
    return predicted;
  });
}

describe('EWMA forecaster: hand-computed', () => {
  // alpha 0.5 on [2, 4, 4, 8]. Errors (value − previous level): 2, 1, 4.5.
  // Mean squared error: running mean while fewer than 1/errorAlpha errors: 4, (4+1)/2, (4+1+20.25)/3.
  const steps = [
    { value: 2, level: 2, meanSquaredError: 0 },
    { value: 4, level: 3, meanSquaredError: 4 },
    { value: 4, level: 3.5, meanSquaredError: 2.5 },
    { value: 8, level: 5.75, meanSquaredError: 101 / 12 },
  ];
  it('level and error variance after each value', () => {
    const forecaster = ewmaForecaster({ alpha: 0.5 });
    const state = forecaster.init();
    for (const step of steps) {
      forecaster.observe(state, step.value);
      expect(state.level).toBeCloseTo(step.level, 12);
      expect(state.meanSquaredError).toBeCloseTo(step.meanSquaredError, 12);
    }
  });

  it.each([
    // h-step variance σ²(1 + (h − 1)α²): h = 1 → 101/12, h = 3 → 101/12 · 1.5.
    { horizon: 1, standardError: Math.sqrt(101 / 12) },
    { horizon: 3, standardError: Math.sqrt((101 / 12) * 1.5) },
  ])('forecast at horizon $horizon: flat value, interval ± 1.96 se', ({ horizon, standardError }) => {
    const forecaster = ewmaForecaster({ alpha: 0.5 });
    const f = ready(forecaster.forecast(feed(forecaster, [2, 4, 4, 8]), horizon));
    expect(f.value).toBeCloseTo(5.75, 12);
    expect(f.high).toBeCloseTo(5.75 + 1.96 * standardError, 12);
    expect(f.low).toBeCloseTo(Math.max(0, 5.75 - 1.96 * standardError), 12);
    // precision 1 / (1 + se / 5.75) × maturity 4 / (4 + 2)
    expect(f.confidence).toBeCloseTo((1 / (1 + standardError / 5.75)) * (4 / 6), 12);
    expect(f.model).toBe('ewma');
  });
});

describe('too little data is a value, not an error', () => {
  const cases: { name: string; forecaster: Forecaster<unknown>; values: number[]; reason: RegExp }[] = [
    { name: 'ewma, nothing', forecaster: ewmaForecaster(), values: [], reason: /no observations yet/ },
    { name: 'ewma, 1 of 2', forecaster: ewmaForecaster(), values: [3], reason: /1 of 2/ },
    {
      name: 'holt-winters, nothing',
      forecaster: holtWinters({ seasonLength: 24 }),
      values: [],
      reason: /no observations yet/,
    },
    { name: 'holt-winters, 2 of 3', forecaster: holtWinters({ seasonLength: 24 }), values: [1, 2], reason: /2 of 3/ },
    {
      name: 'holt-winters, minPoints 10',
      forecaster: holtWinters({ seasonLength: 4, minPoints: 10 }),
      values: [1, 2, 3, 4, 5],
      reason: /5 of 10/,
    },
    {
      name: 'selector, nothing',
      forecaster: selectByRecentError([ewmaForecaster(), holtWinters({ seasonLength: 4 })]),
      values: [],
      reason: /no candidate ready/,
    },
  ];
  it.each(cases)('$name → ready: false with a reason', ({ forecaster, values, reason }) => {
    const state = feed(forecaster, values);
    const f = forecaster.forecast(state, 1);
    expect(f.ready).toBe(false);
    if (!f.ready) expect(f.reason).toMatch(reason);
    expect(forecaster.forecastValue(state, 1)).toBeNaN();
  });
});

describe('constant series → forecast = constant, narrow interval, high confidence', () => {
  const forecasters: { name: string; forecaster: Forecaster<unknown> }[] = [
    { name: 'ewma', forecaster: ewmaForecaster() },
    { name: 'holt (warming up)', forecaster: holtWinters({ seasonLength: 1440 }) },
    { name: 'holt-winters', forecaster: holtWinters({ seasonLength: 12 }) },
    { name: 'holt, no season', forecaster: holtWinters({ seasonLength: 0 }) },
    { name: 'selector', forecaster: selectByRecentError([ewmaForecaster(), holtWinters({ seasonLength: 12 })]) },
  ];
  it.each(forecasters)('$name', ({ forecaster }) => {
    const state = feed(
      forecaster,
      Array.from({ length: 100 }, () => 7),
    );
    for (const horizon of [1, 5, 30]) {
      const f = ready(forecaster.forecast(state, horizon));
      expect(f.value).toBeCloseTo(7, 9);
      expect(f.high - f.low).toBeLessThan(1e-6);
      expect(f.confidence).toBeGreaterThan(0.9);
    }
  });
});

describe('Holt-Winters', () => {
  it('is Holt until two full seasons, then fits the season exactly on a clean trend + sine', () => {
    const forecaster = holtWinters({ seasonLength: 24 });
    const series = seasonalSeries(24 * 3, 0);
    const state = feed(forecaster, series.slice(0, 47));
    expect(ready(forecaster.forecast(state, 1)).model).toBe('holt');
    forecaster.observe(state, series[47]!);
    expect(ready(forecaster.forecast(state, 1)).model).toBe('holt-winters');
    for (let h = 1; h <= 24; h += 1) expect(forecaster.forecastValue(state, h)).toBeCloseTo(series[47 + h]!, 9);
    expect(state.meanSquaredError).toBeCloseTo(0, 12);
  });

  it('recovers a noisy seasonal pattern with small error and beats EWMA', () => {
    const series = seasonalSeries(24 * 12, 0.2);
    const scored = (predicted: number[]): number[] => predicted.map((p, t) => (t < 24 * 4 ? Number.NaN : p));
    const hw = mase(series, scored(oneStepForecasts(holtWinters({ seasonLength: 24 }), series)), 24);
    const ewma = mase(series, scored(oneStepForecasts(ewmaForecaster(), series)), 24);
    if (!hw.ready || !ewma.ready) throw new Error('expected MASE to be ready');
    // Seasonal-naive pays the trend (0.05 × 24 a season) on every step; EWMA lags the sine.
    expect(hw.value).toBeLessThan(0.3);
    expect(hw.value).toBeLessThan(ewma.value / 4);
    // Day-ahead (24 steps) forecast of the clean signal stays within 2 noise σ (0.2).
    const forecaster = holtWinters({ seasonLength: 24 });
    const state = feed(forecaster, series.slice(0, 24 * 10));
    const clean = seasonalSeries(24 * 11, 0);
    for (let h = 1; h <= 24; h += 1)
      expect(Math.abs(forecaster.forecastValue(state, h) - clean[24 * 10 - 1 + h]!)).toBeLessThan(0.4);
    const f = ready(forecaster.forecast(state, 1));
    expect(f.high - f.low).toBeLessThan(2 * 1.96 * 0.2 * 1.5); // one-step se within 1.5 × the noise σ
  });

  it('clamps count forecasts at 0 (a falling trend cannot forecast negative arrivals)', () => {
    const forecaster = holtWinters({ seasonLength: 0, beta: 0.5 });
    const state = feed(forecaster, [10, 8, 6, 4, 2, 1, 0]);
    const f = ready(forecaster.forecast(state, 20));
    expect(f.value).toBe(0);
    expect(f.low).toBe(0);
    expect(forecaster.forecastValue(state, 20)).toBe(0);
  });

  it.each([
    // α = 0.2, β = 0.02 → c_j = 0.2 + 0.004 j; seasonal jump γ(1 − α) = 0.08 when j is a multiple of m.
    { horizon: 1, gamma: 0.1, seasonLength: 2, factor: 1 },
    { horizon: 3, gamma: 0, seasonLength: 0, factor: 1 + 0.204 ** 2 + 0.208 ** 2 },
    { horizon: 3, gamma: 0.1, seasonLength: 2, factor: 1 + 0.204 ** 2 + 0.288 ** 2 },
  ])('h-step variance factor, h = $horizon, m = $seasonLength', ({ horizon, gamma, seasonLength, factor }) => {
    expect(horizonVarianceFactor(horizon, 0.2, 0.02, gamma, seasonLength)).toBeCloseTo(factor, 12);
  });

  it('closed-form variance factor equals the direct sum', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 200 }), fc.integer({ min: 2, max: 30 }), (horizon, m) => {
        let sum = 1;
        for (let j = 1; j < horizon; j += 1) sum += (0.2 + 0.2 * 0.02 * j + (j % m === 0 ? 0.1 * 0.8 : 0)) ** 2;
        expect(horizonVarianceFactor(horizon, 0.2, 0.02, 0.1, m)).toBeCloseTo(sum, 9);
      }),
    );
  });
});

describe('options and inputs are checked where they come in', () => {
  it.each([
    { name: 'ewma alpha 0', make: () => ewmaForecaster({ alpha: 0 }), field: 'ewma.alpha' },
    { name: 'hw season 1', make: () => holtWinters({ seasonLength: 1 }), field: 'holtWinters.seasonLength' },
    { name: 'hw gamma 2', make: () => holtWinters({ seasonLength: 4, gamma: 2 }), field: 'holtWinters.gamma' },
    { name: 'selector empty', make: () => selectByRecentError([]), field: 'selectByRecentError.candidates' },
  ])('$name → InputError naming $field', ({ make, field }) => {
    expect(make).toThrow(InputError);
    expect(make).toThrow(field);
  });

  it('a NaN observation or a horizon of 0 is a bug and throws', () => {
    const forecaster = ewmaForecaster();
    const state = forecaster.init();
    expect(() => forecaster.observe(state, Number.NaN)).toThrow(RangeError);
    expect(() => forecaster.forecast(state, 0)).toThrow(RangeError);
  });
});

describe('property: forecasts are finite and non-negative for non-negative inputs', () => {
  const forecasters: Forecaster<unknown>[] = [
    ewmaForecaster(),
    holtWinters({ seasonLength: 5 }),
    holtWinters({ seasonLength: 0, beta: 0.3 }),
    selectByRecentError([ewmaForecaster(), holtWinters({ seasonLength: 3 })], { minScored: 1 }),
  ];
  it('for every forecaster, horizon and series', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...forecasters),
        fc.array(fc.oneof(fc.integer({ min: 0, max: 1000 }), fc.double({ min: 0, max: 1e6, noNaN: true })), {
          maxLength: 60,
        }),
        fc.integer({ min: 1, max: 500 }),
        (forecaster, values, horizon) => {
          const state = feed(forecaster, values);
          const f = forecaster.forecast(state, horizon);
          if (!f.ready) return;
          for (const x of [f.value, f.low, f.high, f.confidence]) expect(Number.isFinite(x) && x >= 0).toBe(true);
          expect(f.low).toBeLessThanOrEqual(f.value);
          expect(f.high).toBeGreaterThanOrEqual(f.value);
          expect(f.confidence).toBeLessThanOrEqual(1);
          expect(forecaster.forecastValue(state, horizon)).toBeCloseTo(f.value, 6);
        },
      ),
      { numRuns: 300 },
    );
  });
});
