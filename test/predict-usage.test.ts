import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { seededRng, type Rng } from '../src/core/clock.js';
import { medianAbsolutePercentageError, type ErrorResult } from '../src/predict/forecast-error.js';
import { initLogRegression, observeLog, slopeOf, type LogRegressionOptions } from '../src/predict/log-regression.js';
import {
  DEFAULT_USAGE_MODEL,
  createUsageModel,
  observeUsage,
  predictUsage,
  predictUsageValue,
  usageError,
  type UsageEstimate,
} from '../src/predict/usage-model.js';

/** Standard normal from a seeded Rng (Box-Muller). */
function gaussian(rng: Rng): number {
  const u = Math.max(rng.next(), 1e-12);
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rng.next());
}

function value(result: ErrorResult): number {
  if (!result.ready) throw new Error(`expected a value, got: ${result.reason}`);
  return result.value;
}

function ready(estimate: UsageEstimate): Exclude<UsageEstimate, { basis: 'none' }> {
  if (estimate.basis === 'none') throw new Error(`expected an estimate, got: ${estimate.reason}`);
  return estimate;
}

/** duration = a · size^b × lognormal(σ); sizes log-uniform over [1 KB, 10 MB]. */
function powerLawTask(rng: Rng, a: number, b: number, sigma: number): { sizeBytes: number; durationMs: number } {
  const sizeBytes = Math.round(Math.exp(Math.log(1e3) + rng.next() * Math.log(1e4)));
  return { sizeBytes, durationMs: a * sizeBytes ** b * Math.exp(sigma * gaussian(rng)) };
}

describe('usage model: accuracy on synthetic task types', () => {
  it('power law a·size^b × lognormal(σ = 0.3): MdAPE ≤ 25 % after 200 completions', () => {
    const results: number[] = [];
    for (const seed of [1, 2, 3, 4, 5]) {
      const rng = seededRng(seed);
      const model = createUsageModel();
      const actual: number[] = [];
      const predicted: number[] = [];
      for (let i = 0; i < 400; i += 1) {
        const task = powerLawTask(rng, 0.05, 0.8, 0.3);
        if (i >= 200) {
          actual.push(task.durationMs);
          predicted.push(predictUsageValue(model, 'parse', 'duration', task.sizeBytes));
        }
        observeUsage(model, 'parse', { sizeBytes: task.sizeBytes }, { durationMs: task.durationMs });
      }
      const mdape = value(medianAbsolutePercentageError(actual, predicted));
      // The online tracker scored the same 200 predictions (its window is the last 200).
      expect(value(usageError(model, 'parse', 'duration').medianAbsolutePercentageError)).toBeCloseTo(mdape, 12);
      results.push(mdape);
      expect(mdape, `seed ${seed}`).toBeLessThanOrEqual(0.25);
    }
    console.log(
      `power law σ=0.3: MdAPE of completions 201..400 per seed ${results.map((r) => r.toFixed(3)).join(', ')}`,
    );
  });

  it('the tracker over the first 200 completions (cold start included) is also ≤ 25 %', () => {
    const rng = seededRng(42);
    const model = createUsageModel();
    for (let i = 0; i < 200; i += 1) {
      const task = powerLawTask(rng, 0.05, 0.8, 0.3);
      observeUsage(model, 'parse', { sizeBytes: task.sizeBytes }, { durationMs: task.durationMs });
    }
    const report = usageError(model, 'parse', 'duration');
    console.log(
      `power law σ=0.3: tracker MdAPE at completion 200 = ${value(report.medianAbsolutePercentageError).toFixed(3)}`,
    );
    expect(report.observations).toBe(200);
    expect(report.scored).toBe(199); // the first completion had no prediction (no hint)
    expect(value(report.medianAbsolutePercentageError)).toBeLessThanOrEqual(0.25);
  });

  it('constant cost (no size feature, σ = 0.05): MdAPE ≤ 10 % after 200 completions', () => {
    const rng = seededRng(7);
    const model = createUsageModel();
    for (let i = 0; i < 400; i += 1) {
      observeUsage(
        model,
        'ping',
        {},
        { durationMs: 40 * Math.exp(0.05 * gaussian(rng)), cpu: 0.5, memoryMb: 64 * Math.exp(0.05 * gaussian(rng)) },
      );
    }
    const duration = value(usageError(model, 'ping', 'duration').medianAbsolutePercentageError);
    const memory = value(usageError(model, 'ping', 'memory').medianAbsolutePercentageError);
    console.log(`constant cost σ=0.05: duration MdAPE ${duration.toFixed(3)}, memory MdAPE ${memory.toFixed(3)}`);
    expect(duration).toBeLessThanOrEqual(0.1);
    expect(memory).toBeLessThanOrEqual(0.1);
    expect(value(usageError(model, 'ping', 'cpu').medianAbsolutePercentageError)).toBeLessThan(1e-9);
    const prediction = predictUsage(model, 'ping');
    expect(ready(prediction.duration).value).toBeGreaterThan(38);
    expect(ready(prediction.duration).value).toBeLessThan(42);
  });

  it('learns the exponent of the power law', () => {
    const rng = seededRng(9);
    const model = createUsageModel();
    for (let i = 0; i < 300; i += 1) {
      const task = powerLawTask(rng, 0.05, 0.8, 0.3);
      observeUsage(model, 'parse', { sizeBytes: task.sizeBytes }, { durationMs: task.durationMs });
    }
    const state = model.types.get('parse')!.duration.fit;
    expect(slopeOf(state, model.options)).toBeGreaterThan(0.7);
    expect(slopeOf(state, model.options)).toBeLessThan(0.9);
  });
});

describe('usage model: hints and no data yet', () => {
  it("a new type with hints predicts from them (basis 'hint') and says it has no data", () => {
    const model = createUsageModel();
    const prediction = predictUsage(model, 'resize', { sizeBytes: 1000, hints: { durationMs: 200, memoryMb: 128 } });
    expect(prediction.hasData).toBe(false);
    expect(ready(prediction.duration)).toMatchObject({
      basis: 'hint',
      value: 200,
      low: 200 / 3,
      high: 600,
      samples: 0,
      confidence: 0.2,
    });
    expect(ready(prediction.memory)).toMatchObject({ basis: 'hint', value: 128 });
    expect(prediction.cpu.basis).toBe('none');
    expect(prediction.cpu.reason).toMatch(/no data yet/);
  });

  it("a new type without hints: basis 'none' and NaN from the hot-path value", () => {
    const model = createUsageModel();
    const prediction = predictUsage(model, 'unknown');
    expect(prediction.hasData).toBe(false);
    expect(prediction.duration.basis).toBe('none');
    expect(predictUsageValue(model, 'unknown', 'duration')).toBeNaN();
    expect(usageError(model, 'unknown', 'duration').medianAbsolutePercentageError.ready).toBe(false);
  });

  it(`the hint is used until ${DEFAULT_USAGE_MODEL.minHistory} completions, then history; hints are remembered per type`, () => {
    const model = createUsageModel();
    const hints = { durationMs: 1000 };
    for (let i = 0; i < DEFAULT_USAGE_MODEL.minHistory; i += 1) {
      // hints given below, from the 1st observe
      expect(predictUsage(model, 'render').duration.basis).toBe(i === 0 ? 'none' : 'hint');
      observeUsage(model, 'render', { hints }, { durationMs: 100 });
    }
    const after = ready(predictUsage(model, 'render').duration);
    expect(after.basis).toBe('history');
    expect(after.value).toBeCloseTo(100, 9);
    expect(after.samples).toBe(3);
    // Scored: 3 completions against the hint 1000 → |100 − 1000| / 100 = 9 each.
    expect(value(usageError(model, 'render', 'duration').medianAbsolutePercentageError)).toBeCloseTo(9, 12);
  });

  it('without a hint, history is used from the first completion, with a low confidence that grows', () => {
    const model = createUsageModel();
    observeUsage(model, 'count', {}, { durationMs: 50 });
    const first = ready(predictUsage(model, 'count').duration);
    expect(first).toMatchObject({ basis: 'history', samples: 1 });
    expect(first.value).toBeCloseTo(50, 9);
    for (let i = 0; i < 50; i += 1) observeUsage(model, 'count', {}, { durationMs: 50 });
    expect(ready(predictUsage(model, 'count').duration).confidence).toBeGreaterThan(first.confidence);
  });

  it('the interval covers ~95 % of lognormal outcomes once warm', () => {
    const rng = seededRng(11);
    const model = createUsageModel();
    let inside = 0;
    for (let i = 0; i < 2000; i += 1) {
      const task = powerLawTask(rng, 0.05, 0.8, 0.3);
      if (i >= 200) {
        const estimate = ready(predictUsage(model, 'parse', { sizeBytes: task.sizeBytes }).duration);
        if (task.durationMs >= estimate.low && task.durationMs <= estimate.high) inside += 1;
      }
      observeUsage(model, 'parse', { sizeBytes: task.sizeBytes }, { durationMs: task.durationMs });
    }
    expect(inside / 1800).toBeGreaterThan(0.9);
    expect(inside / 1800).toBeLessThan(0.99);
  });
});

describe('usage model: adapts to a shift', () => {
  const ADAPT_WITHIN = 60;
  it(`after the cost doubles, the prediction is within 15 % of the new level within ${ADAPT_WITHIN} completions`, () => {
    const rng = seededRng(5);
    const model = createUsageModel();
    for (let i = 0; i < 300; i += 1) {
      const task = powerLawTask(rng, 0.05, 0.8, 0.3);
      observeUsage(model, 'parse', { sizeBytes: task.sizeBytes }, { durationMs: task.durationMs });
    }
    let adaptedAt = -1;
    for (let i = 1; i <= 200; i += 1) {
      const task = powerLawTask(rng, 0.1, 0.8, 0.3);
      observeUsage(model, 'parse', { sizeBytes: task.sizeBytes }, { durationMs: task.durationMs });
      const ratio = predictUsageValue(model, 'parse', 'duration', 1e5) / (0.1 * 1e5 ** 0.8);
      if (adaptedAt < 0 && Math.abs(ratio - 1) <= 0.15) adaptedAt = i;
      if (i >= ADAPT_WITHIN) expect(Math.abs(ratio - 1), `completion ${i} after the shift`).toBeLessThanOrEqual(0.15);
    }
    console.log(`cost doubled: prediction within 15 % after ${adaptedAt} completions`);
    expect(adaptedAt).toBeGreaterThan(0);
  });

  const { shiftAfter } = DEFAULT_USAGE_MODEL;
  it(`a lasting change by a large factor (×5000, up then down) is learned within ${shiftAfter} completions`, () => {
    // Through the clip alone this took ~100 completions (each moves the level by at most 3σ ÷ its memory); dispatch
    // sizes its batches on this estimate, so a type that turned slow kept receiving batches of ~200 meanwhile.
    const rng = seededRng(9);
    const model = createUsageModel();
    const observe = (ms: number) => observeUsage(model, 'flip', {}, { durationMs: ms * Math.exp(0.2 * gaussian(rng)) });
    const ratio = (ms: number) => predictUsageValue(model, 'flip', 'duration') / ms;
    for (let i = 0; i < 200; i += 1) observe(0.01);
    for (let i = 1; i < shiftAfter; i += 1) observe(50);
    expect(ratio(0.01), `${shiftAfter - 1} slow completions: runaways still`).toBeLessThan(1.5);
    observe(50);
    expect(ratio(50)).toBeGreaterThan(0.7);
    expect(ratio(50)).toBeLessThan(1.4);
    for (let i = 0; i < 30; i += 1) observe(50);
    for (let i = 0; i < shiftAfter; i += 1) observe(0.01);
    expect(ratio(0.01)).toBeGreaterThan(0.7);
    expect(ratio(0.01)).toBeLessThan(1.4);
  });

  it(`runaways fewer than ${shiftAfter} in a row, or not in a row, are not a shift`, () => {
    const feed = (model: ReturnType<typeof createUsageModel>) => {
      const observe = (ms: number) => observeUsage(model, 'flat', {}, { durationMs: ms });
      for (let i = 0; i < 100; i += 1) observe(100 * (i % 2 === 0 ? 1.1 : 0.9));
      for (let burst = 0; burst < 3; burst += 1) {
        for (let i = 1; i < shiftAfter; i += 1) observe(2000);
        observe(100);
      }
      return predictUsageValue(model, 'flat', 'duration');
    };
    const predicted = feed(createUsageModel());
    // Exactly what the model without shifts predicts (only the clip moved it), far from the runaways' 20×.
    expect(predicted).toBe(feed(createUsageModel({ shiftAfter: Number.MAX_SAFE_INTEGER })));
    expect(predicted / 100).toBeLessThan(1.5);
  });

  it('one runaway completion (20×) barely moves the prediction (Huber clip)', () => {
    const model = createUsageModel();
    for (let i = 0; i < 100; i += 1) observeUsage(model, 'flat', {}, { durationMs: 100 * (i % 2 === 0 ? 1.1 : 0.9) });
    const before = predictUsageValue(model, 'flat', 'duration');
    observeUsage(model, 'flat', {}, { durationMs: 2000 });
    const after = predictUsageValue(model, 'flat', 'duration');
    expect(after / before).toBeLessThan(1.05);
  });
});

describe('usage model: error tracker', () => {
  it('equals a hand-computed MdAPE on a small example', () => {
    // No hint: completion 1 is unscored; then each prediction is the geometric-mean level learned so far.
    // With forgetting 1 and no size, the level is the plain mean of logs: predictions 10, √(10·40) = 20, ∛(10·40·160) =
    // 40.
    const model = createUsageModel({ forgetting: 1 });
    const actual = [10, 40, 160, 40];
    for (const durationMs of actual) observeUsage(model, 'hand', {}, { durationMs });
    // |40 − 10| / 40 = 0.75, |160 − 20| / 160 = 0.875, |40 − 40| / 40 = 0 → median 0.75.
    const report = usageError(model, 'hand', 'duration');
    expect(value(report.medianAbsolutePercentageError)).toBeCloseTo(0.75, 12);
    expect(report.medianAbsolutePercentageError.ready && report.medianAbsolutePercentageError.points).toBe(3);
    expect(report.observations).toBe(4);
    expect(value(medianAbsolutePercentageError([40, 160, 40], [10, 20, 40]))).toBeCloseTo(0.75, 12);
  });

  it('keeps only the last errorWindow scores', () => {
    const model = createUsageModel({ errorWindow: 2, forgetting: 1 });
    for (const durationMs of [10, 40, 160, 40]) observeUsage(model, 'hand', {}, { durationMs });
    // last two scores 0.875 and 0 → median 0.4375
    expect(value(usageError(model, 'hand', 'duration').medianAbsolutePercentageError)).toBeCloseTo(0.4375, 12);
    expect(usageError(model, 'hand', 'duration').scored).toBe(3);
  });
});

describe('log regression: decayed statistics match brute force', () => {
  const options: LogRegressionOptions = {
    forgetting: 0.9,
    priorSlope: 0,
    ridge: 1e-12,
    clipSigmas: 1e9,
    clipAfter: 1e9,
    shiftAfter: 1e9,
  };
  it('weighted means and co-moments equal the direct weighted sums', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.double({ min: 0, max: 20, noNaN: true }), fc.double({ min: -5, max: 5, noNaN: true })), {
          minLength: 2,
          maxLength: 40,
        }),
        (points) => {
          const state = initLogRegression();
          for (const [u, y] of points) observeLog(state, options, u, y);
          const n = points.length;
          const weights = points.map((_, i) => options.forgetting ** (n - 1 - i));
          const total = weights.reduce((s, w) => s + w, 0);
          const mu = points.reduce((s, [u], i) => s + weights[i]! * u, 0) / total;
          const my = points.reduce((s, [, y], i) => s + weights[i]! * y, 0) / total;
          const cuu = points.reduce((s, [u], i) => s + weights[i]! * (u - mu) ** 2, 0);
          const cuy = points.reduce((s, [u, y], i) => s + weights[i]! * (u - mu) * (y - my), 0);
          expect(state.weight).toBeCloseTo(total, 9);
          expect(state.meanLogSize).toBeCloseTo(mu, 9);
          expect(state.meanLogValue).toBeCloseTo(my, 9);
          expect(state.coMomentSize).toBeCloseTo(cuu, 6);
          expect(state.coMomentSizeValue).toBeCloseTo(cuy, 6);
        },
      ),
    );
  });

  it('constant sizes: the slope stays at the prior, nothing blows up over 100k observations', () => {
    const state = initLogRegression();
    const opts = { ...options, ridge: 1, priorSlope: 0.5 };
    for (let i = 0; i < 100_000; i += 1) observeLog(state, opts, 7, Math.log(30));
    expect(slopeOf(state, opts)).toBeCloseTo(0.5, 9);
    expect(state.meanLogValue).toBeCloseTo(Math.log(30), 9);
  });
});

describe('usage model: validation', () => {
  it.each([
    [{ forgetting: 0 }, /usage.forgetting/],
    [{ errorWindow: 0 }, /usage.errorWindow/],
    [{ ridge: -1 }, /usage.ridge/],
    [{ hintSpreadFactor: 0.5 }, /usage.hintSpreadFactor/],
    [{ shiftAfter: 1 }, /usage.shiftAfter/],
  ])('rejects %o', (overrides, message) => {
    expect(() => createUsageModel(overrides)).toThrow(message);
  });

  it('refuses a negative size or a NaN measurement', () => {
    const model = createUsageModel();
    expect(() => observeUsage(model, 't', { sizeBytes: -1 }, { durationMs: 1 })).toThrow(RangeError);
    expect(() => observeUsage(model, 't', {}, { durationMs: Number.NaN })).toThrow(RangeError);
  });
});
