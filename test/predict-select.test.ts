import { describe, expect, it } from 'vitest';
import { seededRng } from '../src/core/clock.js';
import { ewmaForecaster } from '../src/predict/ewma-forecaster.js';
import { holtWinters } from '../src/predict/holt-winters.js';
import { selectByRecentError } from '../src/predict/select.js';

function noisySine(length: number, seed: number): number[] {
  const rng = seededRng(seed);
  return Array.from({ length }, (_, t) =>
    Math.round(20 + 10 * Math.sin((2 * Math.PI * t) / 24) + 2 * (rng.next() - 0.5)),
  );
}

describe('selectByRecentError', () => {
  it('switches from EWMA to Holt-Winters on a seasonal series and says so', () => {
    const selector = selectByRecentError([ewmaForecaster(), holtWinters({ seasonLength: 24 })]);
    const state = selector.init();
    const usedAt: (string | undefined)[] = [];
    for (const v of noisySine(24 * 8, 3)) {
      selector.observe(state, v);
      usedAt.push(selector.using(state));
    }
    expect(usedAt[0]).toBeUndefined(); // one value: nobody is ready
    expect(usedAt[1]).toBe('ewma'); // the first ready candidate while none has enough scored forecasts
    const switchedAt = usedAt.indexOf('holt-winters');
    console.log(`selector switched to holt-winters after ${switchedAt + 1} values`);
    expect(switchedAt).toBeGreaterThanOrEqual(24 * 2 - 1); // won by the season fitted after two seasons…
    expect(switchedAt).toBeLessThan(24 * 3); // …within the next season
    expect(usedAt.slice(switchedAt).every((name) => name === 'holt-winters')).toBe(true);
    const f = selector.forecast(state, 1);
    expect(f.ready && f.model).toBe('holt-winters');
    const report = selector.selectionReport(state);
    expect(report.map((r) => [r.name, r.chosen])).toEqual([
      ['ewma', false],
      ['holt-winters', true],
    ]);
    expect(report[1]!.recentAbsoluteError!).toBeLessThan(report[0]!.recentAbsoluteError! / 2);
    expect(selector.forecastValue(state, 3)).toBe(
      holtWinters({ seasonLength: 24 }).forecastValue(state.states[1] as never, 3),
    );
  });

  it('picks the naive forecast (EWMA α = 1) on a random walk', () => {
    const naive = { ...ewmaForecaster({ alpha: 1 }), name: 'naive' };
    const smooth = { ...ewmaForecaster({ alpha: 0.1 }), name: 'smooth' };
    const selector = selectByRecentError([smooth, naive]);
    const state = selector.init();
    const rng = seededRng(11);
    let walk = 100;
    for (let t = 0; t < 500; t += 1) {
      walk = Math.max(0, walk + (rng.next() - 0.5) * 10);
      selector.observe(state, walk);
    }
    expect(selector.using(state)).toBe('naive');
  });

  it('keeps the incumbent on near-ties (switch margin), takes the challenger when clearly better', () => {
    const a = { ...ewmaForecaster({ alpha: 0.5 }), name: 'a' };
    const b = { ...ewmaForecaster({ alpha: 0.5 }), name: 'b' };
    const selector = selectByRecentError([a, b], { minScored: 1 });
    const state = selector.init();
    for (const v of [1, 2, 1, 2, 1]) selector.observe(state, v);
    expect(selector.using(state)).toBe('a'); // identical errors: the first stays
    state.recentError[1] = state.recentError[0]! * 0.95; // 5 % better: inside the 10 % margin
    selector.observe(state, 2);
    expect(selector.using(state)).toBe('a');
    state.recentError[1] = state.recentError[0]! * 0.5;
    selector.observe(state, 1);
    expect(selector.using(state)).toBe('b');
  });
});
