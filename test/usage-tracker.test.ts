import { describe, expect, it } from 'vitest';
import { UsageTracker } from '../src/runtime/usage-tracker.js';

// The one duration estimate per type (issue 13): what the policy, admission, reservations and dispatch read, in the
// embedded runtime, the director and each agent.
describe('UsageTracker: the duration estimate', () => {
  it('has an estimate from the first completion, however tiny (the dispatch batch is sized on it)', () => {
    const usage = new UsageTracker(new Map());
    expect(usage.predictedDurationMs('tiny')).toBeUndefined();
    usage.completed('tiny', 1, 't1', 0.01, 0, null);
    expect(usage.predictedDurationMs('tiny')).toBeCloseTo(0.01, 6);
  });

  it.each([
    [0.01, 64],
    [0.25, 4],
    [0.6, 1],
    [2, 1],
  ])('a type predicted at %f ms is observed 1 in %i once it has history (~one per ms of its work)', (ms, every) => {
    const usage = new UsageTracker(new Map());
    const completions = 6_400;
    for (let id = 1; id <= completions; id += 1) usage.completed('t', id, `t${id}`, ms, id, null);
    const { observations } = usage.view('t');
    // The first few (before any history) are all observed.
    expect(observations).toBeGreaterThanOrEqual(completions / every);
    expect(observations).toBeLessThanOrEqual(completions / every + 4);
  });

  it('a type that turns tiny is learned within a few completions, not after 64 × as many', () => {
    const usage = new UsageTracker(new Map());
    let id = 0;
    for (let i = 0; i < 100; i += 1) usage.completed('t', ++id, 'x', 50 * (i % 2 === 0 ? 1.1 : 0.9), id, null);
    for (let i = 0; i < 8; i += 1) usage.completed('t', ++id, 'x', 0.01, id, null);
    expect(usage.predictedDurationMs('t')).toBeLessThan(0.02);
  });

  it('`completedDuration` (director and agents: duration only, no anomaly watch) learns exactly as `completed`', () => {
    const embedded = new UsageTracker(new Map([['t', { durationMs: 30 }]]));
    const agent = new UsageTracker(new Map([['t', { durationMs: 30 }]]));
    expect(agent.predictedDurationMs('t')).toBe(30); // the hint until history
    const durations = [5, 0.02, 7, 0.5, 40, 0.01, 3, 3, 3, 0.2, 9, 12];
    durations.forEach((ms, i) => {
      for (let k = 0; k < 20; k += 1) {
        embedded.completed('t', i * 20 + k, 'x', ms, i, null);
        agent.completedDuration('t', ms);
      }
      // A split and a join are learned apart: they do not move the run's estimate.
      embedded.completed('t', 10_000 + i, 'x', 1_000, i, null, undefined, 'join');
      agent.completedDuration('t', 1_000, 'join');
      expect(agent.predictedDurationMs('t')).toBe(embedded.predictedDurationMs('t'));
    });
    expect(agent.predictedDurationMs('t')).toBeLessThan(100);
  });

  it('a duration off the wire that is not a number ≥ 0 teaches nothing (the director must not stop on it)', () => {
    const usage = new UsageTracker(new Map());
    for (const bad of [Number.NaN, -1, Number.POSITIVE_INFINITY]) usage.completedDuration('t', bad);
    expect(usage.predictedDurationMs('t')).toBeUndefined();
  });
});
