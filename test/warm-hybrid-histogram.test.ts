import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { addAr1Value, forecastAr1, newAr1Forecast } from '../src/decide/warm/ar1-forecast.js';
import { hybridHistogramPolicy, type HybridHistogramState } from '../src/decide/warm/hybrid-histogram.js';
import { isWarmAfter, type WarmPlan, type WarmPolicy } from '../src/decide/warm/warm-policy.js';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const STANDARD_KEEP_ALIVE: WarmPlan = { keepAliveMs: 4 * HOUR };

/**
 * Feeds one app a sequence of idle times (instant executions: each call ends where it starts) and
 * returns the state and the plan made after each call (plans[0]: after the first call, no history).
 */
function feed(
  idleTimesMs: readonly number[],
  policy: WarmPolicy<HybridHistogramState> = hybridHistogramPolicy(),
): { state: HybridHistogramState; plans: WarmPlan[] } {
  const state = policy.newApp({ appId: 'app', memoryMb: 128 });
  let t = 0;
  policy.onArrival(state, t, true);
  const plans = [policy.onIdle(state, t, { nextArrivalMs: undefined })];
  for (const idleMs of idleTimesMs) {
    t += idleMs;
    policy.onArrival(state, t, !isWarmAfter(plans.at(-1)!, idleMs));
    plans.push(policy.onIdle(state, t, { nextArrivalMs: undefined }));
  }
  return { state, plans };
}

/** One idle time in the middle of each of `bins` distinct 1-minute bins, 4 minutes apart (≤ 60 fit in range). */
function spread(bins: number, spacingMin = 4): number[] {
  return Array.from({ length: bins }, (_, i) => (i * spacingMin + 0.5) * MINUTE);
}

describe('hybrid histogram: regimes', () => {
  it('no idle time yet → standard keep-alive of 4 hours, no pre-warm', () => {
    expect(feed([]).plans[0]).toEqual(STANDARD_KEEP_ALIVE);
  });

  it('all idle times in the 30–31 min bin: pre-warm at 27 min (30 × 0.9), loaded until 34.1 min (31 × 1.1)', () => {
    const { state, plans } = feed(Array.from({ length: 12 }, () => 30.5 * MINUTE));
    // 9 idle times are too few (< 10): still the standard keep-alive; the 10th makes the histogram representative.
    expect(plans[9]).toEqual(STANDARD_KEEP_ALIVE);
    const plan = plans[10]!;
    expect(state.regime).toBe('histogram');
    expect(plan.keepAliveMs).toBe(0);
    expect(plan.prewarmAfterMs).toBeCloseTo(27 * MINUTE, 6);
    expect(plan.prewarmAfterMs! + plan.prewarmKeepMs!).toBeCloseTo(34.1 * MINUTE, 6);
    expect(plans[12]).toBe(plan); // unchanged percentiles: the same plan object
    expect(isWarmAfter(plan, 30 * MINUTE)).toBe(true);
    expect(isWarmAfter(plan, 27 * MINUTE)).toBe(true);
    expect(isWarmAfter(plan, 34 * MINUTE)).toBe(true);
    expect(isWarmAfter(plan, 10 * MINUTE)).toBe(false); // arrived before the pre-warm
    expect(isWarmAfter(plan, 35 * MINUTE)).toBe(false); // after the keep-alive window
  });

  it('head and tail from the 5th and 99th percentile bins (first bin reaching p% of the in-range idle times)', () => {
    // 100 idle times: 5 in bin 2 (2.5 min), 90 in bin 10, 4 in bin 20, 1 in bin 40.
    // cumulative: bin 2 → 5 (= 5%: head bin 2); bin 10 → 95; bin 20 → 99 (= 99%: tail bin 20).
    const idle = [
      ...Array(5).fill(2.5 * MINUTE),
      ...Array(90).fill(10.5 * MINUTE),
      ...Array(4).fill(20.5 * MINUTE),
      40.5 * MINUTE,
    ];
    const { state, plans } = feed(idle);
    expect(state.head.bin).toBe(2);
    expect(state.tail.bin).toBe(20);
    const plan = plans.at(-1)!;
    expect(plan.prewarmAfterMs).toBeCloseTo(2 * MINUTE * 0.9, 6); // 108 s
    expect(plan.prewarmAfterMs! + plan.prewarmKeepMs!).toBeCloseTo(21 * MINUTE * 1.1, 6); // 23.1 min
    expect(isWarmAfter(plan, 40.5 * MINUTE)).toBe(false); // the top 1% is left out
  });

  it('a head of 0 (idle times under a minute) means no unloading: keep alive until 1.1 × tail', () => {
    const { plans } = feed(Array.from({ length: 10 }, () => 20_000));
    expect(plans.at(-1)).toEqual({ keepAliveMs: 1.1 * MINUTE });
    expect(isWarmAfter(plans.at(-1)!, 20_000)).toBe(true);
  });

  it.each([
    // idle times one per distinct bin: CV = sqrt(240/k − 1) (population σ) → CV ≥ 2 ⇔ k ≤ 48
    { distinctBins: 40, representative: true }, // CV = √5 ≈ 2.24
    { distinctBins: 48, representative: true }, // CV = 2 exactly
    { distinctBins: 49, representative: false }, // CV ≈ 1.98
    { distinctBins: 60, representative: false }, // CV = √3 ≈ 1.73
  ])(
    'CV threshold 2: $distinctBins equally filled bins → representative $representative',
    ({ distinctBins, representative }) => {
      const { state, plans } = feed(spread(distinctBins));
      expect(state.regime).toBe(representative ? 'histogram' : 'keep-alive');
      if (!representative) expect(plans.at(-1)).toEqual(STANDARD_KEEP_ALIVE);
    },
  );

  it('a flat histogram (every bin once, CV 0) → standard keep-alive 4 h: any idle time under 4 h is warm', () => {
    const { plans } = feed(spread(240, 1));
    const plan = plans.at(-1)!;
    expect(plan).toEqual(STANDARD_KEEP_ALIVE);
    expect(isWarmAfter(plan, 239 * MINUTE)).toBe(true);
    expect(isWarmAfter(plan, 241 * MINUTE)).toBe(false);
  });

  it('most idle times beyond 4 h → time series: pre-warm at 0.85 × forecast, loaded until 1.15 × forecast', () => {
    // one idle time of 5 h: OOB 1/1 > 50%; the forecast of a one-value series is that value
    const one = feed([5 * HOUR]);
    expect(one.state.regime).toBe('time-series');
    const plan = one.plans[1]!;
    expect(plan.keepAliveMs).toBe(0);
    expect(plan.prewarmAfterMs).toBeCloseTo(0.85 * 5 * HOUR, 6); // 4 h 15 min
    expect(plan.prewarmKeepMs).toBeCloseTo(0.3 * 5 * HOUR, 6); // until 5 h 45 min
    expect(isWarmAfter(plan, 5 * HOUR)).toBe(true);
    expect(isWarmAfter(plan, 4 * HOUR)).toBe(false);
    expect(isWarmAfter(plan, 6 * HOUR)).toBe(false);
    // 5 h, 6 h and one 10-minute idle time: 2 of 3 OOB; < 3 pairs, so the forecast is the mean
    const mixed = feed([5 * HOUR, 6 * HOUR, 10 * MINUTE]);
    const meanMs = (11 * HOUR + 10 * MINUTE) / 3;
    expect(mixed.plans[3]!.prewarmAfterMs).toBeCloseTo(0.85 * meanMs, 6);
    expect(mixed.plans[3]!.prewarmKeepMs).toBeCloseTo(0.3 * meanMs, 6);
  });

  it('exactly half out of bounds is not "most": the histogram rules (here too few samples → keep-alive)', () => {
    const { state, plans } = feed([5 * HOUR, 10 * MINUTE]);
    expect(state.regime).toBe('keep-alive');
    expect(plans[2]).toEqual(STANDARD_KEEP_ALIVE);
  });

  it('arrivals while the app still runs make no idle time', () => {
    const policy = hybridHistogramPolicy();
    const state = policy.newApp({ appId: 'a', memoryMb: 1 });
    policy.onArrival(state, 0, true);
    policy.onArrival(state, 100, false); // overlapping call
    policy.onIdle(state, 1_000, { nextArrivalMs: 31 * MINUTE });
    policy.onArrival(state, 31 * MINUTE + 1_000, false);
    policy.onArrival(state, 31 * MINUTE + 2_000, false); // overlapping again
    expect(state.inRange).toBe(1);
    expect(state.counts[31]).toBe(1); // idle time = arrival − end of the previous execution = 31 min
  });
});

describe('hybrid histogram: incremental percentiles match a full scan', () => {
  function scan(counts: Uint32Array, total: number, percent: number): number {
    let cumulative = 0;
    for (let bin = 0; bin < counts.length; bin++) {
      cumulative += counts[bin]!;
      if (cumulative * 100 >= percent * total) return bin;
    }
    return counts.length - 1;
  }

  it('after every idle time', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 300 * MINUTE }), { minLength: 1, maxLength: 200 }),
        (idleTimesMs) => {
          const policy = hybridHistogramPolicy();
          const state = policy.newApp({ appId: 'a', memoryMb: 1 });
          let t = 0;
          policy.onArrival(state, t, true);
          policy.onIdle(state, t, { nextArrivalMs: undefined });
          for (const idleMs of idleTimesMs) {
            t += idleMs;
            policy.onArrival(state, t, false);
            policy.onIdle(state, t, { nextArrivalMs: undefined });
            if (state.inRange === 0) continue;
            expect(state.head.bin).toBe(scan(state.counts, state.inRange, 5));
            expect(state.tail.bin).toBe(scan(state.counts, state.inRange, 99));
            expect(state.sumSquares).toBe(state.counts.reduce((sum, c) => sum + c * c, 0));
          }
        },
      ),
    );
  });
});

describe('AR(1) forecast (the time-series substitute for ARIMA)', () => {
  it.each([
    { series: [], forecast: undefined }, // no data is not zero
    { series: [7], forecast: 7 },
    { series: [10, 20], forecast: 15 }, // < 3 pairs: the mean
    { series: [5, 5, 5, 5], forecast: 5 }, // constant: the mean
    { series: [1, 2, 3, 4, 5], forecast: 5 }, // φ = 1, not stationary: the last value
    // pairs (10,20) (20,16) (16,18) (18,17): x̄ = 16, ȳ = 17.75, Σdx·dy = −22, Σdx² = 56 → φ = −11/28;
    // forecast = ȳ + φ(17 − x̄) = 17.75 − 11/28 = 486/28
    { series: [10, 20, 16, 18, 17], forecast: 486 / 28 },
  ])('$series → $forecast', ({ series, forecast }) => {
    const model = newAr1Forecast();
    for (const value of series) addAr1Value(model, value);
    if (forecast === undefined) expect(forecastAr1(model)).toBeUndefined();
    else expect(forecastAr1(model)).toBeCloseTo(forecast, 9);
  });
});
