// Throughput of observe(), printed and never asserted (timing in tests is flaky): the simulator calls it
// once per series per step, so this is its budget. One loop per forecaster on purpose: a loop shared by all
// of them would make its call site megamorphic and measure V8's generic calls (and the boxing of doubles
// they force) instead of the forecasters.
import { performance } from 'node:perf_hooks';
import { describe, expect, it } from 'vitest';
import { ewmaForecaster } from '../src/predict/ewma-forecaster.js';
import { initMase, maseOf, observeMase } from '../src/predict/forecast-error.js';
import { holtWinters } from '../src/predict/holt-winters.js';
import { selectByRecentError } from '../src/predict/select.js';

const CALLS = 5_000_000;
const WARM_UP = 200_000;

/** Per-minute arrival counts with a daily rhythm, precomputed so the loops time observe() only. */
const SERIES = Float64Array.from({ length: 4096 }, (_, t) =>
  Math.round(5 + 4 * Math.sin((2 * Math.PI * t) / 1440) + ((t * 7919) % 5)),
);

function millionsPerSecond(loop: (calls: number) => void): number {
  loop(WARM_UP);
  const start = performance.now();
  loop(CALLS);
  return CALLS / ((performance.now() - start) / 1000) / 1e6;
}

describe('observe() throughput (printed, not asserted)', () => {
  it('measures each forecaster', () => {
    const ewma = ewmaForecaster();
    const ewmaState = ewma.init();
    const hourly = holtWinters({ seasonLength: 60 });
    const hourlyState = hourly.init();
    const daily = holtWinters({ seasonLength: 1440 });
    const dailyState = daily.init();
    const selector = selectByRecentError([ewmaForecaster(), holtWinters({ seasonLength: 1440 })]);
    const selectorState = selector.init();
    const mase = initMase(1440);
    const rates: Record<string, number> = {
      ewma: millionsPerSecond((n) => {
        for (let i = 0; i < n; i += 1) ewma.observe(ewmaState, SERIES[i & 4095]!);
      }),
      'holt-winters m=60': millionsPerSecond((n) => {
        for (let i = 0; i < n; i += 1) hourly.observe(hourlyState, SERIES[i & 4095]!);
      }),
      'holt-winters m=1440': millionsPerSecond((n) => {
        for (let i = 0; i < n; i += 1) daily.observe(dailyState, SERIES[i & 4095]!);
      }),
      'select(ewma, holt-winters m=1440)': millionsPerSecond((n) => {
        for (let i = 0; i < n; i += 1) selector.observe(selectorState, SERIES[i & 4095]!);
      }),
      'mase m=1440': millionsPerSecond((n) => {
        for (let i = 0; i < n; i += 1) observeMase(mase, SERIES[i & 4095]!, 5);
      }),
    };
    for (const [name, rate] of Object.entries(rates)) console.log(`${name.padEnd(36)} ${rate.toFixed(1)} M observe/s`);
    expect(
      ewma.forecast(ewmaState, 1).ready &&
        daily.forecast(dailyState, 1).ready &&
        selector.forecast(selectorState, 1).ready,
    ).toBe(true);
    expect(maseOf(mase).ready).toBe(true);
  });
});
