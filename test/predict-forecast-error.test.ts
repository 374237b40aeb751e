import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  initMase,
  mase,
  maseOf,
  medianAbsolutePercentageError,
  observeMase,
  type ErrorResult,
} from '../src/predict/forecast-error.js';

function value(result: ErrorResult): number {
  if (!result.ready) throw new Error(`expected a value, got: ${result.reason}`);
  return result.value;
}

describe('MASE: hand-computed', () => {
  const N = Number.NaN;
  it.each([
    // errors 0,1,0,1 → 0.5; naive scale |2−1|,|3−2|,|4−3| → 1.
    { name: 'naive scale', actual: [1, 2, 3, 4], predicted: [1, 3, 3, 5], season: 1, expected: 0.5 },
    // errors 1,1 (first point unscored) → 1; naive scale |4−2|, |8−4| → 3.
    { name: 'first point without a forecast', actual: [2, 4, 8], predicted: [N, 5, 7], season: 1, expected: 1 / 3 },
    // errors 0,1,1,0,0,2 → 4/6; seasonal scale (m = 2) |2−1|,|6−5|,|3−2|,|7−6| → 1.
    { name: 'season 2', actual: [1, 5, 2, 6, 3, 7], predicted: [1, 4, 3, 6, 3, 9], season: 2, expected: 4 / 6 },
    // the seasonal-naive forecast itself: errors are the scale's own differences.
    {
      name: 'seasonal-naive itself',
      actual: [1, 5, 2, 6, 3, 8],
      predicted: [N, N, 1, 5, 2, 6],
      season: 2,
      expected: 1,
    },
    { name: 'season 0 means naive', actual: [1, 2, 3, 4], predicted: [1, 3, 3, 5], season: 0, expected: 0.5 },
  ])('$name → $expected', ({ actual, predicted, season, expected }) => {
    expect(value(mase(actual, predicted, season))).toBeCloseTo(expected, 12);
  });

  it('the online accumulator gives the same value and counts scored points', () => {
    const state = initMase(2);
    const actual = [1, 5, 2, 6, 3, 7];
    const predicted = [1, 4, 3, 6, 3, 9];
    actual.forEach((a, i) => observeMase(state, a, predicted[i]!));
    expect(maseOf(state)).toEqual({ ready: true, value: 4 / 6, points: 6 });
  });
});

describe('MASE: no data yet', () => {
  it.each([
    { name: 'nothing', actual: [], predicted: [], season: 1, reason: /0 of 2/ },
    { name: 'one forecast', actual: [1, 2], predicted: [Number.NaN, 2], season: 1, reason: /1 of 2/ },
    {
      name: 'shorter than a season',
      actual: [1, 2, 3],
      predicted: [1, 2, 3],
      season: 24,
      reason: /no value one season/,
    },
    {
      name: 'constant series: scale 0',
      actual: [5, 5, 5, 5],
      predicted: [5, 4, 5, 6],
      season: 1,
      reason: /scale is 0/,
    },
    {
      name: 'exactly periodic: seasonal scale 0',
      actual: [1, 9, 1, 9],
      predicted: [1, 9, 2, 9],
      season: 2,
      reason: /scale is 0/,
    },
  ])('$name → ready: false', ({ actual, predicted, season, reason }) => {
    const result = mase(actual, predicted, season);
    expect(result.ready).toBe(false);
    if (!result.ready) expect(result.reason).toMatch(reason);
  });

  it('arrays of different lengths are a bug', () => {
    expect(() => mase([1, 2], [1])).toThrow(RangeError);
  });
});

describe('property: MASE of the seasonal-naive forecast is 1', () => {
  it('on any non-constant series and season', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 12 }),
        fc.array(fc.integer({ min: 0, max: 100 }), { minLength: 30, maxLength: 80 }),
        (season, actual) => {
          const predicted = actual.map((_, t) => (t < season ? Number.NaN : actual[t - season]!));
          const result = mase(actual, predicted, season);
          if (result.ready) expect(result.value).toBeCloseTo(1, 9);
          else expect(result.reason).toMatch(/scale is 0/);
        },
      ),
    );
  });
});

describe('median absolute percentage error', () => {
  it.each([
    // ratios 0.1, 0.25, (actual 0 skipped), 0 → median of [0, 0.1, 0.25]
    { name: 'odd count, zero actual skipped', actual: [100, 200, 0, 50], predicted: [110, 150, 5, 50], expected: 0.1 },
    // ratios 0.5, 0.1, 0.2, 1 → median (0.2 + 0.5) / 2
    { name: 'even count', actual: [10, 10, 10, 10], predicted: [15, 9, 12, 0], expected: 0.35 },
    { name: 'missing forecasts skipped', actual: [10, 20], predicted: [Number.NaN, 25], expected: 0.25 },
  ])('$name → $expected', ({ actual, predicted, expected }) => {
    expect(value(medianAbsolutePercentageError(actual, predicted))).toBeCloseTo(expected, 12);
  });

  it('no usable point → ready: false', () => {
    const result = medianAbsolutePercentageError([0, 0], [1, 2]);
    expect(result.ready).toBe(false);
  });
});
