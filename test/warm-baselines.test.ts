import { describe, expect, it } from 'vitest';
import { hpaDesiredReplicas, hpaPolicy } from '../src/decide/warm/hpa.js';
import { keepAlivePolicy } from '../src/decide/warm/keepalive.js';
import { kpaPolicy } from '../src/decide/warm/kpa.js';
import { neverUnloadPolicy } from '../src/decide/warm/never-unload.js';
import { openWhiskPolicy } from '../src/decide/warm/openwhisk.js';
import { oraclePolicy } from '../src/decide/warm/oracle.js';
import { idleLoadedMs, isWarmAfter, type WarmPlan, type WarmPolicy } from '../src/decide/warm/warm-policy.js';

const MINUTE = 60_000;

/**
 * One app, calls that never overlap: [arrivalMs, durationMs]. Replays them the way the simulator
 * does (onArrival, then onIdle at the end of the execution with the true next arrival) and returns
 * the plan after each call, which calls were cold and the idle loaded time between calls.
 */
function replay(
  policy: WarmPolicy,
  calls: readonly (readonly [number, number])[],
): { plans: WarmPlan[]; cold: boolean[]; idleLoadedMs: number } {
  const state = policy.newApp({ appId: 'app', memoryMb: 128 });
  const plans: WarmPlan[] = [];
  const cold: boolean[] = [];
  let loadedMs = 0;
  let idleAtMs = Number.NaN;
  calls.forEach(([arrivalMs, durationMs], i) => {
    const plan = plans.at(-1);
    const isCold = plan === undefined || !isWarmAfter(plan, arrivalMs - idleAtMs);
    if (plan !== undefined) loadedMs += idleLoadedMs(plan, arrivalMs - idleAtMs);
    cold.push(isCold);
    policy.onArrival(state, arrivalMs, isCold);
    idleAtMs = arrivalMs + durationMs;
    plans.push(policy.onIdle(state, idleAtMs, { nextArrivalMs: calls[i + 1]?.[0] }));
  });
  return { plans, cold, idleLoadedMs: loadedMs };
}

describe('fixed keep-alive', () => {
  it.each([
    // minutes, idle gaps (min) after a 1-minute call, expected cold flags (first call always cold), idle loaded (min)
    { minutes: 10, gaps: [9, 11], cold: [true, false, true], loadedMin: 9 + 10 },
    // exactly at the end of the keep-alive: still loaded
    { minutes: 10, gaps: [10], cold: [true, false], loadedMin: 10 },
    { minutes: 20, gaps: [19, 21, 5], cold: [true, false, true, false], loadedMin: 19 + 20 + 5 },
    { minutes: 0, gaps: [1, 0.5], cold: [true, true, true], loadedMin: 0 },
  ])('keepalive-$minutes m: gaps $gaps → cold $cold', ({ minutes, gaps, cold, loadedMin }) => {
    const policy = keepAlivePolicy(minutes);
    expect(policy.name).toBe(`keepalive-${minutes}m`);
    let t = 0;
    const calls: [number, number][] = [[0, MINUTE]];
    for (const gap of gaps) {
      t += MINUTE + gap * MINUTE;
      calls.push([t, MINUTE]);
    }
    const run = replay(policy, calls);
    expect(run.cold).toEqual(cold);
    expect(run.idleLoadedMs).toBeCloseTo(loadedMin * MINUTE, 6);
    for (const plan of run.plans) expect(plan).toEqual({ keepAliveMs: minutes * MINUTE });
    expect(new Set(run.plans).size).toBe(1); // one constant plan object, no allocation per call
  });

  it('rejects a negative or non-numeric keep-alive', () => {
    expect(() => keepAlivePolicy(-1)).toThrow(/keepalive/);
    expect(() => keepAlivePolicy(Number.NaN)).toThrow(/keepalive/);
  });
});

describe('never-unload and openwhisk', () => {
  it('never-unload: every call after the first is warm and every idle millisecond is loaded', () => {
    const run = replay(neverUnloadPolicy(), [
      [0, 1_000],
      [5 * MINUTE, 1_000],
      [10 * 60 * MINUTE, 1_000],
    ]);
    expect(run.cold).toEqual([true, false, false]);
    expect(run.idleLoadedMs).toBe(5 * MINUTE - 1_000 + (10 * 60 * MINUTE - (5 * MINUTE + 1_000)));
  });

  it('openwhisk: 10-minute idle-container timeout (a paused container still holds its memory)', () => {
    const policy = openWhiskPolicy();
    expect(policy.params.idleContainerMs).toBe(10 * MINUTE);
    const run = replay(policy, [
      [0, 0],
      [9 * MINUTE, 0],
      [20 * MINUTE + 1, 0],
    ]);
    expect(run.cold).toEqual([true, false, true]);
    expect(run.idleLoadedMs).toBe(9 * MINUTE + 10 * MINUTE);
  });
});

describe('hpa (scale to zero as KEDA: cooldown 300 s, on 15 s sync ticks aligned to absolute time)', () => {
  it.each([
    // idle start (ms) → unload at the first tick ≥ idle + 300 s
    { idleAtMs: 0, unloadAtMs: 300_000 },
    { idleAtMs: 1_000, unloadAtMs: 315_000 },
    { idleAtMs: 15_000, unloadAtMs: 315_000 },
    { idleAtMs: 15_001, unloadAtMs: 330_000 },
    { idleAtMs: 3_600_000 + 7_500, unloadAtMs: 3_600_000 + 315_000 },
  ])('idle at $idleAtMs ms → unloaded at $unloadAtMs ms', ({ idleAtMs, unloadAtMs }) => {
    const policy = hpaPolicy();
    const state = policy.newApp({ appId: 'a', memoryMb: 1 });
    policy.onArrival(state, idleAtMs, true);
    const plan = policy.onIdle(state, idleAtMs, { nextArrivalMs: undefined });
    expect(plan).toEqual({ keepAliveMs: unloadAtMs - idleAtMs });
    expect(isWarmAfter(plan, unloadAtMs - idleAtMs)).toBe(true);
    expect(isWarmAfter(plan, unloadAtMs - idleAtMs + 1)).toBe(false);
    expect(idleLoadedMs(plan, 24 * 60 * MINUTE)).toBe(unloadAtMs - idleAtMs);
  });

  it("KEDA's own 30 s polling interval as the check period", () => {
    const policy = hpaPolicy({ checkPeriodMs: 30_000 });
    const state = policy.newApp({ appId: 'a', memoryMb: 1 });
    expect(policy.onIdle(state, 1_000, { nextArrivalMs: undefined })).toEqual({ keepAliveMs: 330_000 - 1_000 });
  });

  it('replays a sequence: warm within the cooldown, cold after the tick', () => {
    // call 1 ends at 1 s → unload at 315 s; call 2 at 314 s (warm) ends at 316 s → unload at 630 s; call 3 at 631 s:
    // cold
    const run = replay(hpaPolicy(), [
      [0, 1_000],
      [314_000, 2_000],
      [631_000, 0],
    ]);
    expect(run.cold).toEqual([true, false, true]);
    expect(run.idleLoadedMs).toBe(313_000 + 314_000);
  });

  it.each([
    { current: 2, metric: 150, target: 100, desired: 3 },
    { current: 2, metric: 109, target: 100, desired: 2 }, // within the 10% tolerance: no change
    { current: 4, metric: 50, target: 100, desired: 2 },
    { current: 3, metric: 120, target: 100, desired: 4 }, // ceil(3.6)
  ])('HPA formula: ceil($current × $metric / $target) = $desired', ({ current, metric, target, desired }) => {
    expect(hpaDesiredReplicas(current, metric, target)).toBe(desired);
  });
});

describe('kpa (stable window 60 s on 2 s ticks, then the 30 s scale-to-zero grace)', () => {
  it.each([
    { idleAtMs: 0, unloadAtMs: 90_000 },
    { idleAtMs: 1_000, unloadAtMs: 92_000 },
    { idleAtMs: 1_999, unloadAtMs: 92_000 },
    { idleAtMs: 2_000, unloadAtMs: 92_000 },
    { idleAtMs: 2_001, unloadAtMs: 94_000 },
  ])('idle at $idleAtMs ms → unloaded at $unloadAtMs ms', ({ idleAtMs, unloadAtMs }) => {
    const policy = kpaPolicy();
    const state = policy.newApp({ appId: 'a', memoryMb: 1 });
    const plan = policy.onIdle(state, idleAtMs, { nextArrivalMs: undefined });
    expect(plan).toEqual({ keepAliveMs: unloadAtMs - idleAtMs });
    expect(isWarmAfter(plan, unloadAtMs - idleAtMs)).toBe(true);
    expect(isWarmAfter(plan, unloadAtMs - idleAtMs + 1)).toBe(false);
  });

  it('reuses the plan object when the offset to the tick repeats', () => {
    const policy = kpaPolicy();
    const state = policy.newApp({ appId: 'a', memoryMb: 1 });
    const first = policy.onIdle(state, 10_000, { nextArrivalMs: undefined });
    expect(policy.onIdle(state, 50_000, { nextArrivalMs: undefined })).toBe(first);
  });
});

describe('oracle', () => {
  it('unloads at once, pre-warms exactly at the next arrival: no cold start but the first, zero idle memory', () => {
    const policy = oraclePolicy();
    expect(policy.clairvoyant).toBe(true);
    const calls: [number, number][] = [
      [0, 1_000],
      [5 * MINUTE, 0],
      [5 * MINUTE, 2_000],
      [3 * 60 * MINUTE, 500],
    ];
    const run = replay(policy, calls);
    expect(run.cold).toEqual([true, false, false, false]);
    expect(run.idleLoadedMs).toBe(0);
    expect(run.plans[0]).toEqual({ keepAliveMs: 0, prewarmAfterMs: 5 * MINUTE - 1_000, prewarmKeepMs: 0 });
    expect(run.plans[1]).toEqual({ keepAliveMs: 0 }); // next call at the same instant: 0 ≤ keepAlive 0 is warm
    expect(run.plans[3]).toEqual({ keepAliveMs: 0 }); // no next call: unloaded for the rest of the trace
    expect(idleLoadedMs(run.plans[3]!, 60 * MINUTE)).toBe(0);
  });
});
