import { resolve } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { seededRng } from '../src/core/clock.js';
import { ADAPTIVE_WARM_DEFAULTS, adaptiveWarmPolicy } from '../src/decide/warm/adaptive-warm.js';
import { cheapestWindow } from '../src/decide/warm/idle-window.js';
import { warmPolicyByName } from '../src/decide/warm/registry.js';
import {
  idleLoadedMs,
  isWarmAfter,
  type IdleContext,
  type WarmPlan,
  type WarmPolicy,
} from '../src/decide/warm/warm-policy.js';
import { replayTrace } from '../src/sim/replay.js';
import { runSimulation } from '../src/sim/run-sim.js';
import { loadAzureFunctions } from '../src/sim/traces/azure-functions.js';
import { app, MINUTE, periodicCalls, recording, SECOND, trace } from './support/sim-traces.js';

const HOUR = 60 * MINUTE;
const REPLAY = { coldStartMs: 0, check: true, seed: 1 } as const;

/** cheapestWindow on unsorted samples (sorted here), default margins unless given. */
function window(samplesMs: readonly number[], coldPriceS: number, marginFraction = 0.1, marginMs = 1000) {
  const sorted = Float64Array.from(samplesMs).sort();
  return cheapestWindow(sorted, sorted.length, coldPriceS, marginFraction, marginMs);
}

/** The mean cost (s per MB) of a plan on idle times, with the replay's own warm/loaded rules. */
function costOf(plan: WarmPlan, samplesMs: readonly number[], coldPriceS: number): number {
  const total = samplesMs.reduce(
    (sum, g) => sum + (isWarmAfter(plan, g) ? 0 : coldPriceS) + idleLoadedMs(plan, g) / 1000,
    0,
  );
  return total / samplesMs.length;
}

describe('cheapestWindow', () => {
  it('idle times all ≈ 60 min, a cold start priced at 1 h: a tight pre-warm window around them, far cheaper than keeping alive', () => {
    const samples = [59 * MINUTE, 60 * MINUTE, 61 * MINUTE];
    const choice = window(samples, 3600);
    // Cheapest: pre-warm at 61 min × 0.9 − 1 s = 3293 s (the margin reaches below 59 min), loaded past 61 min
    // (to a widened sample: at most 61 min × 1.1 + 1 s = 4027 s; once all are warm, the end costs nothing more).
    expect(choice.plan.keepAliveMs).toBe(0);
    expect(choice.plan.prewarmAfterMs).toBe(3_293_000);
    const endMs = choice.plan.prewarmAfterMs! + choice.plan.prewarmKeepMs!;
    expect(endMs).toBeGreaterThanOrEqual(61 * MINUTE);
    expect(endMs).toBeLessThanOrEqual(4_027_000 + 1e-6);
    expect(choice.meanCostS).toBeCloseTo((247 + 307 + 367) / 3, 9);
    expect(choice.meanCostS).toBeCloseTo(costOf(choice.plan, samples, 3600), 9);
    expect(choice.meanCostS).toBeLessThan(costOf({ keepAliveMs: 62 * MINUTE }, samples, 3600) / 10);
    expect(choice.meanCostS).toBeLessThan(3600); // cheaper than unloading at once
  });

  it.each<[string, number[], number, WarmPlan, number]>([
    [
      '1-s idle times, high price: a keep-alive just covering them (1 s × 1.1 + 1 s)',
      [1000, 1000, 1000],
      3600,
      { keepAliveMs: 2100 },
      1,
    ],
    ['price tiny: unload at once', [MINUTE, 2 * MINUTE], 0.001, { keepAliveMs: 0 }, 0.001],
    // Half 1 s, half 1 h, price 5 min: keep alive 2.1 s for the short ones, pay the cold start for the long ones
    // ((5 × 1 s + 5 × (300 + 2.1 s)) / 10 = 151.55 s; pre-warming for the hour would hold 361 s > 300 s each).
    [
      'bimodal, low price: cover the short gaps, let the long ones go cold',
      [...Array<number>(5).fill(1000), ...Array<number>(5).fill(HOUR)],
      300,
      { keepAliveMs: 2100 },
      151.55,
    ],
  ])('%s', (_label, samples, priceS, plan, meanCostS) => {
    const choice = window(samples, priceS);
    expect(choice.plan).toEqual(plan);
    expect(choice.meanCostS).toBeCloseTo(meanCostS, 9);
  });

  it('bimodal, price 10 min: the short gaps stay warm and it costs no more than keep-alive 2.1 s alone (301.55 s)', () => {
    const samples = [...Array<number>(5).fill(1000), ...Array<number>(5).fill(HOUR)];
    const choice = window(samples, 600);
    expect(isWarmAfter(choice.plan, 1000)).toBe(true);
    expect(choice.meanCostS).toBeCloseTo(costOf(choice.plan, samples, 600), 9);
    expect(choice.meanCostS).toBeLessThanOrEqual(301.55 + 1e-9);
  });

  it('no samples: unload at once', () => {
    expect(cheapestWindow(new Float64Array(0), 0, 50, 0.1, 1000).plan).toEqual({ keepAliveMs: 0 });
  });

  it('uses only the first `count` samples', () => {
    const sorted = Float64Array.of(1000, 1000, HOUR, HOUR, HOUR);
    expect(cheapestWindow(sorted, 2, 3600, 0.1, 1000).plan).toEqual({ keepAliveMs: 2100 });
  });

  /** Mean cost of the cheapest plain keep-alive or plain pre-warm window with edges on the (widened) samples. */
  function bruteForce(
    samples: readonly number[],
    priceS: number,
    marginFraction: number,
    marginMs: number,
    endsFromBelowPre: boolean,
  ): number {
    const sorted = [...samples].sort((x, y) => x - y);
    const pre = (s: number) => Math.max(0, s * (1 - marginFraction) - marginMs);
    const end = (s: number) => s * (1 + marginFraction) + marginMs;
    let best = priceS;
    for (let a = -1; a < sorted.length; a++) {
      const preMs = a < 0 ? 0 : pre(sorted[a]!);
      for (let b = endsFromBelowPre || a < 0 ? 0 : a; b < sorted.length; b++) {
        const endMs = end(sorted[b]!);
        if (endMs < preMs) continue;
        best = Math.min(
          best,
          costOf(
            preMs <= 0
              ? { keepAliveMs: endMs }
              : { keepAliveMs: 0, prewarmAfterMs: preMs, prewarmKeepMs: endMs - preMs },
            samples,
            priceS,
          ),
        );
      }
    }
    return best;
  }

  it('property: its cost is the replay cost of its plan, and no window from a sample to a higher sample is cheaper', () => {
    // (a gap of exactly 0 is warm even when unloading at once; the window's cost model counts it cold)
    const sample = fc.integer({ min: 1, max: 4 * 3_600_000 });
    fc.assert(
      fc.property(
        fc.array(sample, { minLength: 1, maxLength: 14 }),
        fc.double({ min: 0.001, max: 20_000, noNaN: true }),
        fc.double({ min: 0, max: 0.5, noNaN: true }),
        fc.integer({ min: 1, max: 5000 }),
        (samples, priceS, marginFraction, marginMs) => {
          const sorted = Float64Array.from(samples).sort();
          const choice = cheapestWindow(sorted, sorted.length, priceS, marginFraction, marginMs);
          const tolerance = 1e-9 * Math.max(1, priceS, ...samples.map((g) => g / 1000));
          expect(Math.abs(choice.meanCostS - costOf(choice.plan, samples, priceS))).toBeLessThan(tolerance);
          expect(choice.meanCostS).toBeLessThanOrEqual(
            bruteForce(samples, priceS, marginFraction, marginMs, true) + tolerance,
          );
        },
      ),
      { numRuns: 300, seed: 42 },
    );
  });

  // Regression: the margin can put a pre-warm from a higher sample below a lower one: [pre(119.8 s),
  // end(109.1 s)] = [106.9 s, 121.0 s] covers 109.1, 113.9 and 119.8 s; the search once missed it (12.6 % over
  // the optimum at a busy app's scaled price).
  it('finds the window whose end comes from a sample below the pre-warm sample', () => {
    const samples = [70_577, 83_460, 109_122, 113_915, 119_838, 149_691, 185_727];
    const priceS = 34.1452956199646;
    const choice = window(samples, priceS);
    const optimum = bruteForce(samples, priceS, 0.1, 1000, true);
    expect(optimum).toBeCloseTo(26.7505117828, 8);
    expect(choice.meanCostS).toBeLessThanOrEqual(optimum + 1e-9);
  });
});

/** Drives one policy over several apps' calls (non-overlapping per app) in global time order; plans per app. */
function drive(
  policy: WarmPolicy,
  apps: readonly (readonly (readonly [number, number])[])[],
  context: (trueNextMs: number | undefined) => IdleContext = (next) => ({ nextArrivalMs: next }),
): WarmPlan[][] {
  const states = apps.map((_, a) => policy.newApp({ appId: `app-${a}`, memoryMb: 128 }));
  const events = apps.flatMap((calls, a) =>
    calls.flatMap(([arrivalMs, durationMs], i) => [
      { a, i, atMs: arrivalMs, idle: false },
      { a, i, atMs: arrivalMs + durationMs, idle: true },
    ]),
  );
  events.sort((x, y) => x.atMs - y.atMs || x.a - y.a || x.i - y.i || Number(x.idle) - Number(y.idle));
  const plans: WarmPlan[][] = apps.map(() => []);
  for (const { a, i, atMs, idle } of events) {
    const last = plans[a]!.at(-1);
    const calls = apps[a]!;
    if (!idle)
      policy.onArrival(
        states[a],
        atMs,
        last === undefined || !isWarmAfter(last, atMs - (calls[i - 1]![0] + calls[i - 1]![1])),
      );
    else plans[a]!.push({ ...policy.onIdle(states[a], atMs, context(calls[i + 1]?.[0])) });
  }
  return plans;
}

/** A call pattern that moves the experts around: short gaps, a 30-min rhythm, then long random gaps. */
function mixedCalls(seed: number): [number, number][] {
  const rng = seededRng(seed);
  const gaps = [
    ...Array<number>(10).fill(2 * SECOND),
    ...Array<number>(40).fill(30 * MINUTE),
    ...Array.from({ length: 50 }, () => rng.next() * 6 * HOUR),
  ];
  let t = 0;
  return gaps.map((gap) => {
    t += gap + 200;
    return [t, 200] as [number, number];
  });
}

describe('adaptiveWarmPolicy', () => {
  it('starts with the break-even keep-alive (ski rental: keep alive for the price of a cold start)', () => {
    const [plans] = drive(adaptiveWarmPolicy({ coldPriceS: 900 }), [
      [
        [0, 10],
        [20 * MINUTE, 10],
      ],
    ]);
    expect(plans![0]).toEqual({ keepAliveMs: 900_000 });
  });

  describe('a strictly periodic app (a call every 30 min exactly, 40 calls)', () => {
    const calls = periodicCalls(40, 30 * MINUTE, 0);
    const periodic = trace(40 * 30 * MINUTE, [app('cron', 100, calls)]);
    const outcome = (policy: WarmPolicy) => replayTrace(periodic, policy, REPLAY)[0]!;

    /** Idle periods before the first pre-warm plan (the break-even keep-alive holds them in full). */
    const warmUp = (plans: readonly WarmPlan[]) => plans.findIndex((plan) => plan.prewarmAfterMs !== undefined);

    it('reaches a tight pre-warm plan around the period within a few idle periods, then keeps it', () => {
      const { policy, seen } = recording(adaptiveWarmPolicy());
      replayTrace(periodic, policy, REPLAY);
      expect(seen.plans).toHaveLength(40);
      const k = warmUp(seen.plans);
      expect(k).toBeGreaterThanOrEqual(1); // it has to see an idle period first
      expect(k).toBeLessThanOrEqual(4);
      for (const plan of seen.plans.slice(0, k))
        expect(plan).toEqual({ keepAliveMs: ADAPTIVE_WARM_DEFAULTS.coldPriceS * 1000 });
      for (const plan of seen.plans.slice(k)) {
        // 30 min × (1 ∓ 0.1) ∓ 1 s: pre-warm at 1 619 s, loaded to 1 981 s, no keep-alive before it.
        expect(plan.keepAliveMs).toBe(0);
        expect(plan.prewarmAfterMs).toBeCloseTo(1_619_000, 6);
        expect(plan.prewarmAfterMs! + plan.prewarmKeepMs!).toBeCloseTo(1_981_000, 6);
      }
    });

    it('no cold start after the first, at a fraction of the idle memory of never-unload / keepalive-60m', () => {
      const { policy, seen } = recording(adaptiveWarmPolicy());
      const ours = replayTrace(periodic, policy, REPLAY)[0]!;
      // k idle periods under the 4-h break-even keep-alive (1 800 s held each), then 40 − k (the tail included)
      // pre-warmed at 1 619 s for an arrival at 1 800 s (181 s held each).
      const k = warmUp(seen.plans);
      expect(ours.coldStarts).toBe(1);
      expect(ours.wastedMbMs).toBeCloseTo(100 * (k * 1_800_000 + (40 - k) * 181_000), 0);
      for (const name of ['never-unload', 'keepalive-60m']) {
        const theirs = outcome(warmPolicyByName(name));
        expect(theirs.coldStarts, name).toBe(1);
        expect(theirs.wastedMbMs, name).toBe(100 * 40 * 1_800_000);
        expect(ours.wastedMbMs).toBeLessThan(theirs.wastedMbMs / 4);
      }
      // keepalive-10m unloads before every call: all cold (why it is not the comparison here).
      expect(outcome(warmPolicyByName('keepalive-10m')).coldStarts).toBe(40);
    });

    it('tolerates arrival jitter inside the margin (±5 s): still no cold start after the first', () => {
      const rng = seededRng(3);
      const jittered = calls.map(
        ([t, d], i) => [i === 0 ? t : t + (rng.next() - 0.5) * 10 * SECOND, d] as [number, number],
      );
      const ours = replayTrace(trace(40 * 30 * MINUTE, [app('cron', 100, jittered)]), adaptiveWarmPolicy(), REPLAY)[0]!;
      expect(ours.coldStarts).toBe(1);
      expect(ours.wastedMbMs).toBeLessThan((100 * 40 * 1_800_000) / 4);
    });
  });

  it('the knob is monotone on the fixture trace: a higher cold price → no more cold starts, no less idle memory', async () => {
    const prices = [3600, 14_400, 57_600];
    for (const arrivals of ['uniform', 'poisson'] as const) {
      const { results } = await runSimulation(
        prices.map((price) => ({ label: String(price), make: () => adaptiveWarmPolicy({ coldPriceS: price }) })),
        {
          seeds: [1, 2],
          coldStartMs: 0,
          check: true,
          traceFor: async (seed) =>
            (
              await loadAzureFunctions(resolve(import.meta.dirname, 'fixtures/traces/azure-functions-2019'), {
                arrivals,
                durations: 'sampled',
                seed,
              })
            ).trace,
        },
      );
      for (const seed of [1, 2]) {
        const runs = prices.map((price) => results.find((r) => r.seed === seed && r.policy === String(price))!);
        for (let k = 1; k < runs.length; k++) {
          expect(runs[k]!.coldStarts, `${arrivals} seed ${seed} λ=${prices[k]}`).toBeLessThanOrEqual(
            runs[k - 1]!.coldStarts,
          );
          expect(runs[k]!.wastedGbSeconds, `${arrivals} seed ${seed} λ=${prices[k]}`).toBeGreaterThanOrEqual(
            runs[k - 1]!.wastedGbSeconds,
          );
        }
        expect(runs[0]!.coldStarts).toBeGreaterThan(runs[2]!.coldStarts); // and the knob does move something
      }
    }
  });

  it('never reads IdleContext.nextArrivalMs: the same plans whatever it says (and reading it would throw)', () => {
    const calls = mixedCalls(9);
    const truth = drive(adaptiveWarmPolicy(), [calls]);
    const lies: ((next: number | undefined) => IdleContext)[] = [
      () => ({ nextArrivalMs: undefined }),
      () => ({ nextArrivalMs: 0 }),
      (next) => ({ nextArrivalMs: next === undefined ? 1 : next + 5 * HOUR }),
      () => ({
        get nextArrivalMs(): number {
          throw new Error('adaptive peeked at the future');
        },
      }),
    ];
    for (const lie of lies) expect(drive(adaptiveWarmPolicy(), [calls], lie)).toEqual(truth);
    // the pattern does move the plans
    expect(new Set(truth[0]!.map((plan) => JSON.stringify(plan))).size).toBeGreaterThan(3);
    expect(adaptiveWarmPolicy().clairvoyant).toBeFalsy();
  });

  it('per-app state is independent: apps interleaved on one policy get the plans they get alone', () => {
    const apps = [mixedCalls(1), periodicCalls(60, 7 * MINUTE, 3 * SECOND, 11), mixedCalls(2)];
    const together = drive(adaptiveWarmPolicy({ coldPriceS: 3600 }), apps);
    const alone = apps.map((calls) => drive(adaptiveWarmPolicy({ coldPriceS: 3600 }), [calls])[0]!);
    expect(together).toEqual(alone);
    expect(together[0]).not.toEqual(together[2]); // different apps, different plans: the comparison has teeth
  });

  it('counts which expert it followed, once per idle period', () => {
    const policy = adaptiveWarmPolicy();
    const plans = drive(policy, [mixedCalls(4), periodicCalls(30, 30 * MINUTE, 0)]);
    const used = [...policy.expertUse.values()].reduce((a, b) => a + b, 0);
    expect(used).toBe(plans[0]!.length + plans[1]!.length);
    expect(policy.expertUse.get('window')).toBeGreaterThan(0);
  });
});
