import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_HEALTH_OPTIONS,
  NEW_NODE_HEALTH,
  estimateLatency,
  estimateReliability,
  healthView,
  liveness,
  recordHeartbeat,
  recordOutcome,
  recordRoundTrip,
  type NodeHealth,
} from '../src/place/node-health.js';

const options = { ...DEFAULT_HEALTH_OPTIONS, ttlMs: 5_000, suspectAfterMs: 2_500 };
const HOUR_MS = 3_600_000;

describe('heartbeat liveness', () => {
  const cases: { name: string; lastMs: number | undefined; nowMs: number; state: string; reason: RegExp }[] = [
    { name: 'never heard', lastMs: undefined, nowMs: 10_000, state: 'dead', reason: /no heartbeat yet/ },
    { name: 'fresh', lastMs: 9_000, nowMs: 10_000, state: 'alive', reason: /heartbeat 1 s ago/ },
    { name: 'half the ttl exactly', lastMs: 7_500, nowMs: 10_000, state: 'alive', reason: /alive/ },
    {
      name: 'missed a beat',
      lastMs: 7_000,
      nowMs: 10_000,
      state: 'suspect',
      reason: /no heartbeat for 3 s \(dead after ttl 5 s\)/,
    },
    { name: 'the ttl exactly', lastMs: 5_000, nowMs: 10_000, state: 'suspect', reason: /suspect/ },
    {
      name: 'past the ttl',
      lastMs: 900,
      nowMs: 10_000,
      state: 'dead',
      reason: /dead, no heartbeat for 9.1 s > ttl 5 s/,
    },
    {
      name: 'heartbeat stamped after now (reordering)',
      lastMs: 10_500,
      nowMs: 10_000,
      state: 'alive',
      reason: /0 ms ago/,
    },
  ];
  it.each(cases)('$name → $state', ({ lastMs, nowMs, state, reason }) => {
    const view = liveness(lastMs, nowMs, options);
    expect(view.state).toBe(state);
    expect(view.reason).toMatch(reason);
  });

  it('dead exactly when silent longer than the ttl (the bounded failover time), whatever the heartbeat pattern', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 60_000 }), { minLength: 1, maxLength: 20 }),
        fc.integer({ min: 0, max: 60_000 }),
        (beats, nowMs) => {
          const health = beats.reduce<NodeHealth>((state, atMs) => recordHeartbeat(state, atMs), NEW_NODE_HEALTH);
          const newest = Math.max(...beats);
          expect(health.lastHeartbeatMs).toBe(newest);
          const { state } = liveness(health.lastHeartbeatMs, nowMs, options);
          expect(state === 'dead').toBe(nowMs - newest > options.ttlMs);
        },
      ),
    );
  });
});

describe('measured reliability', () => {
  const after = (outcomes: readonly boolean[], spacingMs = 1_000): NodeHealth =>
    outcomes.reduce<NodeHealth>(
      (health, ok, index) => recordOutcome(health, ok, index * spacingMs, options),
      NEW_NODE_HEALTH,
    );

  const cases: { name: string; outcomes: boolean[]; expected: number }[] = [
    { name: 'new node: the prior, 9 in 10', outcomes: [], expected: 0.9 },
    { name: 'one early failure does not sink it', outcomes: [false], expected: 9 / 11 },
    { name: '10 failures in a row', outcomes: Array<boolean>(10).fill(false), expected: 9 / 20 },
    { name: '90 successes', outcomes: Array<boolean>(90).fill(true), expected: 99 / 100 },
  ];
  it.each(cases)('$name', ({ outcomes, expected }) => {
    const lastMs = Math.max(0, outcomes.length - 1) * 1_000;
    // a few seconds against a 6 h half-life: decay is negligible here
    expect(estimateReliability(after(outcomes).reliability, lastMs, options).value).toBeCloseTo(expected, 3);
  });

  it('old outcomes fade with the half-life: failures are forgiven', () => {
    const failedLongAgo = after(Array<boolean>(10).fill(false));
    const fresh = estimateReliability(failedLongAgo.reliability, 9_000, options).value;
    const oneHalfLife = estimateReliability(failedLongAgo.reliability, 9_000 + options.reliabilityHalfLifeMs, options);
    expect(oneHalfLife.value).toBeCloseTo(9 / 15, 3);
    expect(oneHalfLife.value).toBeGreaterThan(fresh);
    expect(
      estimateReliability(failedLongAgo.reliability, 100 * options.reliabilityHalfLifeMs, options).value,
    ).toBeCloseTo(0.9, 3);
    expect(oneHalfLife.reason).toMatch(/5 failures in 5 recent outcomes/);
  });

  it('stays within [minReliability, 1] and the reason says when it is the prior alone', () => {
    const harsh = { ...options, priorSuccesses: 0, priorFailures: 1 };
    expect(estimateReliability(after(Array<boolean>(50).fill(false)).reliability, 49_000, harsh).value).toBe(
      options.minReliability,
    );
    expect(estimateReliability(NEW_NODE_HEALTH.reliability, 0, options).reason).toMatch(/prior, no outcomes yet/);
  });

  it('a property: more failures never raise the estimate', () => {
    fc.assert(
      fc.property(fc.array(fc.boolean(), { maxLength: 40 }), (outcomes) => {
        const end = outcomes.length * 1_000;
        const base = estimateReliability(after(outcomes).reliability, end, options).value;
        const worse = estimateReliability(
          recordOutcome(after(outcomes), false, end, options).reliability,
          end,
          options,
        ).value;
        const better = estimateReliability(
          recordOutcome(after(outcomes), true, end, options).reliability,
          end,
          options,
        ).value;
        expect(worse).toBeLessThanOrEqual(base + 1e-12);
        expect(better).toBeGreaterThanOrEqual(base - 1e-12);
      }),
    );
  });
});

describe('measured latency', () => {
  it('EWMA of round trips; unmeasured nodes get the pessimistic default', () => {
    expect(estimateLatency(NEW_NODE_HEALTH.latency, options)).toMatchObject({ valueMs: 200, measured: false });
    let health = recordRoundTrip(NEW_NODE_HEALTH, 100, options);
    expect(estimateLatency(health.latency).valueMs).toBe(100);
    health = recordRoundTrip(health, 50, options);
    expect(estimateLatency(health.latency).valueMs).toBeCloseTo(90, 9);
    expect(recordRoundTrip(health, Number.NaN, options)).toBe(health);
    expect(estimateLatency(recordRoundTrip(health, -5, options).latency).valueMs).toBeCloseTo(72, 9);
  });

  it('healthView joins the three with reasons', () => {
    const health = recordRoundTrip(recordHeartbeat(NEW_NODE_HEALTH, 1_000), 40, options);
    const view = healthView(health, 2_000 + HOUR_MS, options);
    expect(view.liveness.state).toBe('dead');
    expect(view.reliability.value).toBeCloseTo(0.9);
    expect(view.latency.reason).toMatch(/latency 40 ms \(EWMA of 1 round trips\)/);
  });
});
