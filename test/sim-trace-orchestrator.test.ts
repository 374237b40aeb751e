import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { warmPolicyByName } from '../src/decide/warm/registry.js';
import { LoadedTally } from '../src/sim/environment/loaded-tally.js';
import {
  poolBound,
  replayTraceThroughOrchestrator,
  type OrchestratorTraceDetails,
  type OrchestratorTraceOptions,
} from '../src/sim/orchestrator-trace.js';
import { replayTrace } from '../src/sim/replay.js';
import { runSimulation, type PolicyEntry } from '../src/sim/run-sim.js';
import { loadAzureFunctions } from '../src/sim/traces/azure-functions.js';
import { app, MINUTE, periodicCalls, SECOND, trace } from './support/sim-traces.js';
import { withoutTimings } from './support/sim-traces.js';

// The keep-alive trace as a workload of the real orchestrator (adaptive policy, 100 ms ticks) on a virtual clock, over
// simulated swarmlets with a 100 ms cold start: the same two measures as the per-app keep-alive replay.
const OPTIONS: OrchestratorTraceOptions = { seed: 1, check: true };
const TICK_MS = 100;

/**
 * A function called every minute (62 ms each) for 30 minutes, one-offs, and two calls arriving together. `fresh`
 * arrives with minutely's 11th call and comes first in the trace: its submission (a type nobody serves) ticks the loop
 * at once, while minutely's job, submitted in the same instant, is not queued yet.
 */
const WORKLOAD = trace(40 * MINUTE, [
  app('fresh', 10, [[10 * MINUTE + SECOND, 100]]),
  app('minutely', 100, periodicCalls(30, MINUTE, 62, SECOND)),
  app('once', 200, [[5 * SECOND, 300]]),
  app('pair', 50, [
    [7 * SECOND, 400],
    [7 * SECOND, 400],
  ]),
]);

const byApp = <T extends { appId: string }>(outcomes: readonly T[]) =>
  new Map(outcomes.map((outcome) => [outcome.appId, outcome]));

describe('the keep-alive trace through the orchestrator', () => {
  it('a function called every minute is warm after its first call; a one-off is unloaded after the keep-alive', async () => {
    // A cold start priced at 10 minutes of idle memory (the policy's keep-alive before it has history).
    const { outcomes, details } = await replayTraceThroughOrchestrator(WORKLOAD, {
      ...OPTIONS,
      policy: { keepAliveMs: 10 * MINUTE },
    });
    const apps = byApp(outcomes);
    expect(apps.get('minutely')).toMatchObject({ calls: 30, coldStarts: 1 });
    // Unloaded once its 10 minutes ran out (within two ticks: one to see it idle, one to act past the keep-alive), not
    // held to the trace's end 39.9 minutes later.
    const once = apps.get('once')!;
    expect(once.coldStarts).toBe(1);
    expect(once.wastedMbMs).toBeGreaterThanOrEqual(200 * 10 * MINUTE);
    expect(once.wastedMbMs).toBeLessThanOrEqual(200 * (10 * MINUTE + 2 * TICK_MS));
    // Two calls arriving together: the second rides the first one's start (the per-app replay's app is busy then).
    expect(apps.get('pair')).toMatchObject({ calls: 2, coldStarts: 1 });
    expect(details.actions.deprovision).toBeGreaterThanOrEqual(2);
    expect(details.unplacedTicks).toBe(0);
    expect(details.peakSwarmlets).toBeLessThanOrEqual(details.poolLimit);
    // Nothing preloaded into another type's swarmlet (a tick between a job's submission and its queueing did).
    expect(details.actions.preload).toBeUndefined();
  });

  it('the minutely function learns its period: unloaded between calls, a shadow pre-warmed before each', async () => {
    const { outcomes, details } = await replayTraceThroughOrchestrator(WORKLOAD, {
      ...OPTIONS,
      policy: { keepAliveMs: 60 * SECOND },
    });
    const minutely = byApp(outcomes).get('minutely')!;
    expect(minutely.coldStarts).toBe(1);
    // Held far less than the 29 minutes between its first and last calls: only around each expected call.
    expect(minutely.wastedMbMs).toBeLessThan(100 * 10 * MINUTE);
    // One shadow per learned gap: none reclaimed before its window closes and started again.
    expect(details.actions.prewarm).toBeGreaterThan(15);
    expect(details.actions.prewarm).toBeLessThanOrEqual(29);
    expect(details.actions.reclaim ?? 0).toBeLessThanOrEqual(1);
  });

  it("with the runtime's default keep-alive (2 s) every call a minute apart is cold", async () => {
    const { outcomes, details } = await replayTraceThroughOrchestrator(WORKLOAD, OPTIONS);
    expect(byApp(outcomes).get('minutely')).toMatchObject({ calls: 30, coldStarts: 30 });
    // Most waited for their swarmlet's cold start (100 ms), no more: the loop acts at once for a type nobody serves.
    expect(details.waitMs.p50).toBeCloseTo(100, 6);
  });

  it('measures what the per-app replay measures: a lone call kept 10 minutes costs what keepalive-10m charges', async () => {
    const lone = trace(30 * MINUTE, [app('lone', 128, [[MINUTE, 2 * SECOND]])]);
    const [analytic] = replayTrace(lone, warmPolicyByName('keepalive-10m'), { coldStartMs: 0, check: true, seed: 1 });
    const { outcomes } = await replayTraceThroughOrchestrator(lone, {
      ...OPTIONS,
      policy: { keepAliveMs: 10 * MINUTE },
    });
    expect(outcomes[0]!.coldStarts).toBe(analytic!.coldStarts);
    // The orchestrator sees the call end at a tick and unloads at its first tick past the keep-alive: ≤ 2 ticks more.
    expect(outcomes[0]!.wastedMbMs).toBeGreaterThanOrEqual(analytic!.wastedMbMs);
    expect(outcomes[0]!.wastedMbMs - analytic!.wastedMbMs).toBeLessThanOrEqual(128 * 2 * TICK_MS);
  });

  it('a pool that binds shows as unplaced demand and waits, and every call still runs once', async () => {
    const busy = trace(5 * MINUTE, [
      app('a', 100, periodicCalls(20, 5 * SECOND, 4 * SECOND)),
      app('b', 100, periodicCalls(20, 5 * SECOND, 4 * SECOND, 2 * SECOND)),
    ]);
    const roomy = await replayTraceThroughOrchestrator(busy, OPTIONS);
    expect(roomy.details.unplacedTicks).toBe(0);
    const tight = await replayTraceThroughOrchestrator(busy, { ...OPTIONS, maxSwarmlets: 1 });
    expect(tight.details.peakSwarmlets).toBe(1);
    expect(tight.details.unplacedTicks).toBeGreaterThan(0);
    expect(tight.details.waitMs.max).toBeGreaterThan(roomy.details.waitMs.max);
    expect(tight.outcomes.map((o) => o.calls)).toEqual([20, 20]);
  });

  it('sizes the pool from the trace: twice the most calls running at once plus one swarmlet per app', () => {
    expect(poolBound(WORKLOAD)).toBe(2 * (2 + 4)); // at most two run at once (the pair; fresh with minutely)
    expect(poolBound(trace(MINUTE, []))).toBe(1);
  });
});

describe('the orchestrator entry beside the keep-alive policies (trace fixture)', () => {
  const FIXTURE = resolve(import.meta.dirname, 'fixtures/traces/azure-functions-2019');
  const entries: PolicyEntry[] = [
    { label: 'keepalive-10m', make: () => warmPolicyByName('keepalive-10m') },
    {
      label: 'orchestrator',
      replay: (t, run) => replayTraceThroughOrchestrator(t, { ...run, policy: { keepAliveMs: 10 * MINUTE } }),
    },
  ];
  const simulate = () =>
    runSimulation(entries, {
      seeds: [3],
      coldStartMs: 0,
      check: true,
      traceFor: async (seed) =>
        (await loadAzureFunctions(FIXTURE, { arrivals: 'uniform', durations: 'sampled', seed, hours: [8, 9] })).trace,
    });

  it('accounts every invocation once, in the same rows, deterministically', async () => {
    const first = await simulate();
    const [keepalive, orchestrator] = first.results;
    expect(orchestrator!.calls).toBe(keepalive!.calls);
    expect(orchestrator!.calls).toBeGreaterThan(100);
    expect(orchestrator!.apps).toBe(keepalive!.apps);
    // The same keep-alive before any history: about the same cold starts (the orchestrator may replicate for
    // overlapping calls the per-app replay serves with one environment, and acts on 100 ms ticks).
    expect(orchestrator!.coldStarts).toBeGreaterThanOrEqual(keepalive!.coldStarts * 0.5);
    expect(orchestrator!.coldStarts).toBeLessThanOrEqual(keepalive!.coldStarts * 2);
    const details = orchestrator!.details as OrchestratorTraceDetails;
    expect(details.unplacedTicks).toBe(0);
    expect(details.ticks).toBeGreaterThanOrEqual(36_000); // an hour of 100 ms ticks
    const second = await simulate();
    expect(withoutTimings(second.results)).toEqual(withoutTimings(first.results));
  });
});

describe('LoadedTally: warm swarmlets and idle memory-time', () => {
  it('counts loaded time not running, by the type held, up to a given time', () => {
    const tally = new LoadedTally((type) => (type === 'a' ? 100 : 10));
    tally.started('s1');
    expect(tally.isWarm('a')).toBe(false); // starting is not warm, and not idle
    tally.activated('s1', 'a', 100);
    expect(tally.isWarm('a')).toBe(true);
    tally.busy('s1', 150);
    tally.free('s1', 450); // idle 100→150 and from 450
    expect(tally.idleMbMsUntil(1_000).get('a')).toBe(100 * (50 + 550));
    tally.leaving('s1'); // asked to stop: not warm, still holds its memory until it exits
    expect(tally.isWarm('a')).toBe(false);
    tally.exited('s1', 2_000);
    expect(tally.idleMbMsUntil(5_000).get('a')).toBe(100 * (50 + 1_550));
  });

  it('a swarmlet that changes type holds the new type from its load on', () => {
    const tally = new LoadedTally((type) => (type === 'a' ? 100 : 10));
    tally.started('s1');
    tally.activated('s1', 'a', 0);
    tally.leaving('s1'); // specialize to b
    tally.activated('s1', 'b', 200);
    expect(tally.isWarm('a')).toBe(false);
    expect(tally.warmCount('b')).toBe(1);
    expect(Object.fromEntries(tally.idleMbMsUntil(300))).toEqual({ a: 100 * 200, b: 10 * 100 });
  });
});
