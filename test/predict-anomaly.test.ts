import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { seededRng, type Rng } from '../src/core/clock.js';
import {
  DEFAULT_ANOMALY,
  checkRunning,
  createAnomalyDetector,
  observeCompleted,
  observeCompletedUsage,
  ratioStatistics,
  runawayThresholdMs,
} from '../src/predict/anomaly.js';
import {
  initRollingWindow,
  pushRolling,
  rollingMedian,
  rollingMedianAbsoluteDeviation,
} from '../src/predict/rolling-median.js';
import { createUsageModel, observeUsage, predictUsage, predictUsageValue } from '../src/predict/usage-model.js';

function gaussian(rng: Rng): number {
  const u = Math.max(rng.next(), 1e-12);
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rng.next());
}

function windowOf(values: readonly number[], capacity = values.length) {
  const window = initRollingWindow(capacity);
  for (const v of values) pushRolling(window, v);
  return window;
}

function bruteMedian(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const m = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[m]! : (sorted[m - 1]! + sorted[m]!) / 2;
}

describe('rolling median and MAD: hand cases', () => {
  it.each([
    { values: [3], median: 3, mad: 0 },
    { values: [1, 2, 3, 4, 100], median: 3, mad: 1 }, // deviations 2 1 0 1 97
    { values: [8, 1, 4, 2], median: 3, mad: 1.5 }, // deviations 5 2 1 1 → 1 1 2 5
    { values: [5, 5, 5, 5], median: 5, mad: 0 },
    { values: [-2, 0, 0, 10], median: 0, mad: 1 }, // deviations 2 0 0 10 → 0 0 2 10
  ])('$values → median $median, MAD $mad', ({ values, median, mad }) => {
    const window = windowOf(values);
    expect(rollingMedian(window)).toBe(median);
    expect(rollingMedianAbsoluteDeviation(window, median)).toBe(mad);
  });

  it('evicts the oldest: capacity 3 after 1, 2, 3, 10 holds 2, 3, 10', () => {
    const window = windowOf([1, 2, 3, 10], 3);
    expect(Array.from(window.sorted.subarray(0, window.size))).toEqual([2, 3, 10]);
    expect(rollingMedian(window)).toBe(3);
    expect(rollingMedianAbsoluteDeviation(window, 3)).toBe(1); // deviations 1 0 7
  });

  it('empty window: NaN, not a number that looks like data', () => {
    const window = initRollingWindow(4);
    expect(rollingMedian(window)).toBeNaN();
    expect(rollingMedianAbsoluteDeviation(window, 0)).toBeNaN();
  });

  it('matches brute force on the last `capacity` values (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 12 }),
        fc.array(fc.integer({ min: -50, max: 50 }), { minLength: 1, maxLength: 60 }),
        (capacity, values) => {
          const window = windowOf(values, capacity);
          const kept = values.slice(-capacity);
          const median = bruteMedian(kept);
          expect(rollingMedian(window)).toBe(median);
          expect(rollingMedianAbsoluteDeviation(window, median)).toBe(
            bruteMedian(kept.map((v) => Math.abs(v - median))),
          );
        },
      ),
    );
  });
});

/** A usage model + detector pipeline over `count` micro-tasks of a power-law type with lognormal(σ) noise. */
function simulate(seed: number, count: number, sigma: number, runawayRate: number) {
  const rng = seededRng(seed);
  const model = createUsageModel();
  const detector = createAnomalyDetector();
  let normal = 0;
  let falsePositives = 0;
  let runaways = 0;
  let detected = 0;
  for (let i = 0; i < count; i += 1) {
    const sizeBytes = Math.round(Math.exp(Math.log(1e3) + rng.next() * Math.log(1e4)));
    const runaway = i >= 100 && rng.next() < runawayRate; // runaways after the warm-up
    const durationMs = 0.05 * sizeBytes ** 0.8 * Math.exp(sigma * gaussian(rng)) * (runaway ? 10 : 1);
    const predicted = predictUsageValue(model, 'parse', 'duration', sizeBytes);
    const event = observeCompleted(detector, 'parse', 'duration', durationMs, predicted);
    observeUsage(model, 'parse', { sizeBytes }, { durationMs });
    if (runaway) {
      runaways += 1;
      if (event !== undefined) detected += 1;
    } else {
      normal += 1;
      if (event !== undefined) falsePositives += 1;
    }
  }
  return {
    falsePositiveRate: falsePositives / normal,
    falsePositives,
    recall: runaways === 0 ? Number.NaN : detected / runaways,
    runaways,
    detected,
  };
}

describe('anomaly detection on synthetic runs', () => {
  it('normal runs (10k tasks, lognormal σ = 0.3): false positive rate ≤ 1 %', () => {
    const rates: number[] = [];
    for (const seed of [1, 2, 3]) {
      const result = simulate(seed, 10_000, 0.3, 0);
      rates.push(result.falsePositiveRate);
      expect(result.falsePositiveRate, `seed ${seed}`).toBeLessThanOrEqual(0.01);
    }
    console.log(
      `normal runs: false positive rate per seed ${rates.map((r) => (100 * r).toFixed(3) + ' %').join(', ')}`,
    );
  });

  it('injected runaways (10× the prediction, 2 % of 10k tasks): recall ≥ 95 %, false positives still ≤ 1 %', () => {
    const lines: string[] = [];
    for (const seed of [4, 5, 6]) {
      const result = simulate(seed, 10_000, 0.3, 0.02);
      lines.push(
        `seed ${seed}: ${result.detected}/${result.runaways} = ${(100 * result.recall).toFixed(1)} % recall, FP ${(100 * result.falsePositiveRate).toFixed(3)} %`,
      );
      expect(result.recall, `seed ${seed}`).toBeGreaterThanOrEqual(0.95);
      expect(result.falsePositiveRate, `seed ${seed}`).toBeLessThanOrEqual(0.01);
    }
    console.log(`runaways: ${lines.join('; ')}`);
  });

  it('a regular task jittering 2.8× is not an anomaly (minimum factor 3), 4× is', () => {
    const detector = createAnomalyDetector();
    for (let i = 0; i < 100; i += 1) observeCompleted(detector, 'tiny', 'duration', 10, 10); // MAD 0 → floor
    expect(observeCompleted(detector, 'tiny', 'duration', 28, 10)).toBeUndefined();
    const event = observeCompleted(detector, 'tiny', 'duration', 40, 10);
    expect(event).toMatchObject({ kind: 'duration', taskType: 'tiny', phase: 'completed', ratio: 4 });
    expect(event!.zScore).toBeCloseTo(Math.log(4) / (1.4826 * DEFAULT_ANOMALY.madFloor), 6);
  });

  it('a task of a few ms that waited one time slice or a GC is not an anomaly (minimum excess 20 ms)', () => {
    const detector = createAnomalyDetector();
    for (let i = 0; i < 100; i += 1) observeCompleted(detector, 'small', 'duration', 1, 1);
    expect(observeCompleted(detector, 'small', 'duration', 19, 1)).toBeUndefined(); // 19×, but 18 ms over
    expect(observeCompleted(detector, 'small', 'duration', 25, 1)).toMatchObject({ ratio: 25 });
  });

  it('before minSamples only the cold factor (10×) alerts, with zScore NaN and a reason saying so', () => {
    const detector = createAnomalyDetector();
    expect(observeCompleted(detector, 'new', 'memory', 900, 100)).toBeUndefined();
    const event = observeCompleted(detector, 'new', 'memory', 1200, 100);
    expect(event).toMatchObject({ kind: 'memory', ratio: 12 });
    expect(event!.zScore).toBeNaN();
    expect(event!.reason).toMatch(/only 1 of 20 completions/);
    // no prediction: nothing to compare
    expect(observeCompleted(detector, 'new', 'cpu', 4, Number.NaN)).toBeUndefined();
  });

  it('observeCompletedUsage checks every reported measure against a UsagePrediction', () => {
    const model = createUsageModel();
    const detector = createAnomalyDetector();
    const rng = seededRng(3);
    for (let i = 0; i < 100; i += 1) {
      const actual = { durationMs: 100 * Math.exp(0.2 * gaussian(rng)), memoryMb: 50 * Math.exp(0.2 * gaussian(rng)) };
      expect(observeCompletedUsage(detector, predictUsage(model, 'job'), actual)).toHaveLength(0);
      observeUsage(model, 'job', {}, actual);
    }
    const events = observeCompletedUsage(detector, predictUsage(model, 'job'), { durationMs: 110, memoryMb: 800 });
    expect(events.map((e) => e.kind)).toEqual(['memory']);
    expect(events[0]!.reason).toMatch(/job used 800 MB, 1\d\.\d× its predicted \d+\.\d MB \(typical ratio .*robust z/);
  });
});

describe('checkRunning: in-flight runaways', () => {
  function warmDetector(sigma: number) {
    const detector = createAnomalyDetector();
    const rng = seededRng(8);
    for (let i = 0; i < 256; i += 1)
      observeCompleted(detector, 'parse', 'duration', 100 * Math.exp(sigma * gaussian(rng)), 100);
    return detector;
  }

  it('flags a task already at 10× its prediction, not one at 1.5×', () => {
    const detector = warmDetector(0.3);
    const event = checkRunning(detector, 'parse', 2000, 200);
    expect(event).toMatchObject({ kind: 'duration', phase: 'running', ratio: 10 });
    expect(event!.reason).toMatch(/parse still running after 2000 ms, 10\.0× its predicted 200 ms/);
    expect(checkRunning(detector, 'parse', 300, 200)).toBeUndefined();
    expect(checkRunning(detector, 'parse', 0, 200)).toBeUndefined();
    // Checking does not learn: the statistics are unchanged.
    expect(ratioStatistics(detector, 'parse', 'duration').samples).toBe(256);
  });

  it('an unknown type uses the cold factor', () => {
    const detector = createAnomalyDetector();
    expect(checkRunning(detector, 'new', 500, 100)).toBeUndefined();
    expect(checkRunning(detector, 'new', 1000, 100)?.zScore).toBeNaN();
    expect(runawayThresholdMs(detector, 'new', 100)).toBe(1000);
  });

  it('a runaway is flagged at the first monitor tick past runawayThresholdMs (within one interval)', () => {
    const detector = warmDetector(0.3);
    const predictedMs = 200;
    const thresholdMs = runawayThresholdMs(detector, 'parse', predictedMs);
    const stats = ratioStatistics(detector, 'parse', 'duration');
    console.log(
      `σ=0.3: median log ratio ${stats.medianLogRatio.toFixed(3)}, MAD ${stats.madLogRatio.toFixed(3)}, runaway threshold ${(thresholdMs / predictedMs).toFixed(2)}× the prediction`,
    );
    expect(thresholdMs / predictedMs).toBeGreaterThan(2);
    expect(thresholdMs / predictedMs).toBeLessThan(10);
    const intervalMs = 250;
    let flaggedAtMs = -1;
    for (let elapsedMs = intervalMs; elapsedMs <= 100 * predictedMs; elapsedMs += intervalMs) {
      if (checkRunning(detector, 'parse', elapsedMs, predictedMs) !== undefined) {
        flaggedAtMs = elapsedMs;
        break;
      }
    }
    expect(flaggedAtMs).toBeGreaterThan(thresholdMs);
    expect(flaggedAtMs - thresholdMs).toBeLessThanOrEqual(intervalMs);
  });
});

describe('anomaly options: validation', () => {
  it.each([
    [{ zThreshold: 0 }, /anomaly.zThreshold/],
    [{ minFactor: 0.5 }, /anomaly.minFactor/],
    [{ window: 10, minSamples: 20 }, /anomaly.minSamples/],
    [{ window: 1.5 }, /anomaly.window/],
  ])('rejects %o', (overrides, message) => {
    expect(() => createAnomalyDetector(overrides)).toThrow(message);
  });
});
