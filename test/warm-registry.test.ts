import { describe, expect, it } from 'vitest';
import { InputError } from '../src/core/errors.js';
import { hybridHistogramPolicy, type HybridRegime } from '../src/decide/warm/hybrid-histogram.js';
import { WARM_POLICY_NAMES, warmPolicyByName } from '../src/decide/warm/registry.js';
import type { IdleContext, WarmPlan } from '../src/decide/warm/warm-policy.js';

const MINUTE = 60_000;
const NAMES = [
  'keepalive-10m',
  'keepalive-20m',
  'never-unload',
  'hybrid-histogram',
  'hpa',
  'kpa',
  'openwhisk',
  'oracle',
];

describe('warmPolicyByName', () => {
  it.each(NAMES)('%s: named as asked, with its published parameters', (name) => {
    const policy = warmPolicyByName(name);
    expect(policy.name).toBe(name);
    expect(Object.keys(policy.params).length).toBeGreaterThan(0);
    expect(policy.clairvoyant === true).toBe(name === 'oracle');
    expect(warmPolicyByName(name)).not.toBe(policy); // a fresh policy per call
  });

  it.each([
    { name: 'keepalive-15m', keepAliveMs: 15 * MINUTE },
    { name: 'keepalive-2.5m', keepAliveMs: 2.5 * MINUTE },
    { name: 'keepalive-0m', keepAliveMs: 0 },
  ])('parses $name', ({ name, keepAliveMs }) => {
    const policy = warmPolicyByName(name);
    expect(policy.name).toBe(name);
    expect(policy.onIdle(policy.newApp({ appId: 'a', memoryMb: 1 }), 0, { nextArrivalMs: undefined })).toEqual({
      keepAliveMs,
    });
  });

  it.each(['lru', 'keepalive-m', 'keepalive-10', 'keepalive--1m', 'Oracle', 'toString', 'constructor', ''])(
    'rejects %j, naming it and listing the valid ones',
    (name) => {
      let error: unknown;
      try {
        warmPolicyByName(name);
      } catch (caught) {
        error = caught;
      }
      expect(error).toBeInstanceOf(InputError);
      const message = (error as InputError).message;
      expect(message).toContain(`"${name}"`);
      for (const valid of ['keepalive-10m', 'never-unload', 'hybrid-histogram', 'hpa', 'kpa', 'openwhisk', 'oracle'])
        expect(message).toContain(valid);
      expect(WARM_POLICY_NAMES.length).toBe(7);
    },
  );
});

describe('no policy but the oracle reads the future', () => {
  // A call pattern that walks every policy through its regimes: short gaps, a regular 30-minute
  // rhythm (hybrid: histogram), then gaps beyond 4 hours (hybrid: time series).
  const arrivalsMs: number[] = [];
  let t = 0;
  for (const gapMs of [
    ...Array(5).fill(20_000),
    ...Array(15).fill(30.5 * MINUTE),
    ...Array(30).fill(5 * 60 * MINUTE),
    7 * MINUTE,
  ]) {
    t += gapMs;
    arrivalsMs.push(t + 123);
  }
  const lies: ((trueNextMs: number | undefined) => IdleContext)[] = [
    () => ({ nextArrivalMs: undefined }),
    () => ({ nextArrivalMs: 0 }),
    (next) => ({ nextArrivalMs: next === undefined ? 1 : next + 3 * 60 * MINUTE }),
    (next) => ({ nextArrivalMs: next === undefined ? undefined : next - 1 }),
  ];

  function plansWith(name: string, context: (trueNextMs: number | undefined) => IdleContext): WarmPlan[] {
    const policy = warmPolicyByName(name);
    const state = policy.newApp({ appId: 'app', memoryMb: 256 });
    const plans: WarmPlan[] = [];
    arrivalsMs.forEach((arrivalMs, i) => {
      policy.onArrival(state, arrivalMs, i === 0);
      plans.push({ ...policy.onIdle(state, arrivalMs + 700, context(arrivalsMs[i + 1])) });
    });
    return plans;
  }

  it.each(NAMES.filter((name) => name !== 'oracle'))(
    '%s returns the same plans whatever nextArrivalMs says',
    (name) => {
      const truth = plansWith(name, (next) => ({ nextArrivalMs: next }));
      for (const lie of lies) expect(plansWith(name, lie)).toEqual(truth);
    },
  );

  it('the call pattern takes hybrid-histogram through all three regimes', () => {
    const policy = hybridHistogramPolicy();
    const state = policy.newApp({ appId: 'app', memoryMb: 256 });
    const seen = new Set<HybridRegime>();
    arrivalsMs.forEach((arrivalMs, i) => {
      policy.onArrival(state, arrivalMs, i === 0);
      policy.onIdle(state, arrivalMs + 700, { nextArrivalMs: undefined });
      seen.add(state.regime);
    });
    expect([...seen].sort()).toEqual(['histogram', 'keep-alive', 'time-series']);
  });

  it('the oracle does read it (the check above would catch a peeking policy)', () => {
    const truth = plansWith('oracle', (next) => ({ nextArrivalMs: next }));
    expect(plansWith('oracle', lies[2]!)).not.toEqual(truth);
  });
});
