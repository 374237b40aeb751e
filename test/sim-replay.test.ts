import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { adaptiveWarmPolicy } from '../src/decide/warm/adaptive-warm.js';
import { warmPolicyByName } from '../src/decide/warm/registry.js';
import type { WarmPlan, WarmPolicy } from '../src/decide/warm/warm-policy.js';
import { checkAccounting, InvariantViolation } from '../src/sim/invariants.js';
import { replayTrace, type AppOutcome, type ReplayOptions } from '../src/sim/replay.js';
import { runSimulation } from '../src/sim/run-sim.js';
import { loadAzureFunctions } from '../src/sim/traces/azure-functions.js';
import { app, fixedPolicy, MINUTE, recording, SECOND, trace } from './support/sim-traces.js';

const OPTIONS: ReplayOptions = { coldStartMs: 0, check: true, seed: 7 };
const keepAlive = (minutes: number) => fixedPolicy(`fixed-${minutes}m`, { keepAliveMs: minutes * MINUTE });

/** Replays one app and returns its outcome. */
function one(
  policy: WarmPolicy,
  endMs: number,
  calls: readonly (readonly [number, number])[],
  memoryMb = 1,
  options: Partial<ReplayOptions> = {},
): AppOutcome {
  const [outcome] = replayTrace(trace(endMs, [app('a', memoryMb, calls)]), policy, { ...OPTIONS, ...options });
  return outcome!;
}

describe('replay: cold starts and idle memory counted by hand', () => {
  it('fixed keep-alive: idle gaps are loaded up to the keep-alive, longer gaps are cold and truncated, the tail stops at the trace end', () => {
    // Calls of 1 min at 0, 5, 20, 21 min; keep-alive 10 min; trace ends at 60 min.
    // idle 1→5: 4 min (warm) · idle 6→20: 14 min > 10 (cold, 10 loaded) · 21 arrives as the 20-min call ends: gap 0
    // (warm)
    // · after 22: 38 min to the end, 10 loaded. Loaded: 4 + 10 + 0 + 10 = 24 min.
    const outcome = one(
      keepAlive(10),
      60 * MINUTE,
      [
        [0, MINUTE],
        [5 * MINUTE, MINUTE],
        [20 * MINUTE, MINUTE],
        [21 * MINUTE, MINUTE],
      ],
      100,
    );
    expect(outcome).toEqual({ appId: 'a', calls: 4, coldStarts: 2, wastedMbMs: 24 * MINUTE * 100 });
  });

  it('a gap exactly equal to the keep-alive is warm; one millisecond more is cold', () => {
    expect(
      one(keepAlive(1), 10 * MINUTE, [
        [0, 0],
        [MINUTE, 0],
      ]).coldStarts,
    ).toBe(1);
    expect(
      one(keepAlive(1), 10 * MINUTE, [
        [0, 0],
        [MINUTE + 1, 0],
      ]).coldStarts,
    ).toBe(2);
  });

  it('the first call is always cold, even under never-unload; an app with no call costs nothing', () => {
    const outcomes = replayTrace(
      trace(10 * SECOND, [
        app('busy', 3, [
          [1000, 500],
          [2000, 500],
        ]),
        app('silent', 512, []),
      ]),
      warmPolicyByName('never-unload'),
      OPTIONS,
    );
    // never-unload: idle 1500→2000 and 2500→10000 = 8000 ms.
    expect(outcomes).toEqual([
      { appId: 'busy', calls: 2, coldStarts: 1, wastedMbMs: 8000 * 3 },
      { appId: 'silent', calls: 0, coldStarts: 0, wastedMbMs: 0 },
    ]);
  });

  it('pre-warm windows: warm inside [after, after + keep] (edges included), loaded time = keep-alive part + pre-warmed part up to the arrival', () => {
    const plan: WarmPlan = { keepAliveMs: 1000, prewarmAfterMs: 10_000, prewarmKeepMs: 5000 };
    // Calls of 0 ms. Gaps: 500 (warm, 500 loaded) · 3000 (cold: after the keep-alive, before the pre-warm; 1000 loaded)
    // · 12000 (warm in the window; 1000 + 2000) · 24500 (cold, after the window; 1000 + 5000)
    // · trace end 12000 after the last call (1000 + 2000).
    const calls = [
      [0, 0],
      [500, 0],
      [3500, 0],
      [15_500, 0],
      [40_000, 0],
    ] as const;
    const outcome = one(fixedPolicy('window', plan), 52_000, calls, 2);
    expect(outcome.coldStarts).toBe(3);
    expect(outcome.wastedMbMs).toBe((500 + 1000 + 3000 + 6000 + 3000) * 2);
    // Gaps landing exactly on the window's edges are warm and hold exactly the pre-warmed time.
    const edges = one(
      fixedPolicy('window', plan),
      30_000,
      [
        [0, 0],
        [10_000, 0],
        [25_000, 0],
      ],
      1,
    );
    expect(edges.coldStarts).toBe(1);
    expect(edges.wastedMbMs).toBe(1000 + (1000 + 5000) + 1000);
  });

  it('pre-warm after the trace end holds nothing; a pre-warm cut by the end holds only the part before it', () => {
    const plan: WarmPlan = { keepAliveMs: 0, prewarmAfterMs: 10_000, prewarmKeepMs: 10_000 };
    expect(one(fixedPolicy('late', plan), 5000, [[0, 1000]]).wastedMbMs).toBe(0);
    expect(one(fixedPolicy('late', plan), 14_000, [[0, 1000]]).wastedMbMs).toBe(3000);
    expect(one(fixedPolicy('late', plan), 100_000, [[0, 1000]]).wastedMbMs).toBe(10_000);
  });

  it('calls arriving while an earlier one still runs find the environment loaded (warm), and no idle time passes meanwhile', () => {
    // 0..5000 runs; calls at 1000 and 2000 overlap it (and end before it). Idle from 5000 only.
    const calls = [
      [0, 5000],
      [1000, 500],
      [2000, 500],
    ] as const;
    expect(one(fixedPolicy('unload', { keepAliveMs: 0 }), 10_000, calls)).toMatchObject({
      coldStarts: 1,
      wastedMbMs: 0,
    });
    expect(one(keepAlive(10), 10_000, calls)).toMatchObject({ coldStarts: 1, wastedMbMs: 5000 });
    // A later overlapping call that outlasts the first moves the idle start to its own end.
    expect(
      one(keepAlive(10), 10_000, [
        [0, 5000],
        [1000, 6000],
      ]),
    ).toMatchObject({ coldStarts: 1, wastedMbMs: 3000 });
    // A call arriving exactly as the previous one ends: gap 0, warm even when unloading at once.
    expect(
      one(fixedPolicy('unload', { keepAliveMs: 0 }), 10_000, [
        [0, 1000],
        [1000, 1000],
      ]),
    ).toMatchObject({ coldStarts: 1, wastedMbMs: 0 });
  });

  it('the cold-start time keeps the environment busy (not idle) and can make the next call overlap', () => {
    // coldStartMs 2000: the first call runs 0..3000, so the call at 2500 overlaps it (warm) and idle starts at 3500.
    const outcome = one(
      keepAlive(10),
      10_000,
      [
        [0, 1000],
        [2500, 1000],
      ],
      1,
      { coldStartMs: 2000 },
    );
    expect(outcome).toMatchObject({ coldStarts: 1, wastedMbMs: 6500 });
    // Without it the second call comes 1500 ms after idle: still warm, but idle 1500 + 6500.
    expect(
      one(keepAlive(10), 10_000, [
        [0, 1000],
        [2500, 1000],
      ]),
    ).toMatchObject({ coldStarts: 1, wastedMbMs: 8000 });
  });

  it('a call still running at the trace end adds no idle time', () => {
    expect(
      one(warmPolicyByName('never-unload'), 30_000, [
        [0, 1000],
        [10_000, 50_000],
      ]),
    ).toMatchObject({ coldStarts: 1, wastedMbMs: 9000 });
  });

  it('the oracle: one cold start per app, zero idle memory, even with overlaps and simultaneous calls', () => {
    const outcomes = replayTrace(
      trace(MINUTE, [
        app('x', 64, [
          [0, 100],
          [50, 10],
          [5000, 0],
          [5000, 0],
          [40_000, 3],
        ]),
        app('y', 8, [[10, 10]]),
      ]),
      warmPolicyByName('oracle'),
      OPTIONS,
    );
    expect(outcomes.map((o) => [o.coldStarts, o.wastedMbMs])).toEqual([
      [1, 0],
      [1, 0],
    ]);
  });

  it('hands the policy the true next arrival (undefined after the last call) and the idle start time', () => {
    const { policy, seen } = recording(keepAlive(1));
    const nows: number[] = [];
    const watched: WarmPolicy<null> = {
      ...policy,
      onIdle: (state, nowMs, context) => (nows.push(nowMs), policy.onIdle(state, nowMs, context)),
    };
    one(watched, MINUTE, [
      [0, 100],
      [50, 100],
      [1000, 10],
      [2000, 0],
    ]);
    expect(nows).toEqual([150, 1010, 2000]);
    expect(seen.contexts.map((c) => c.nextArrivalMs)).toEqual([1000, 2000, undefined]);
  });

  it('the registry keepalive-10m matches the hand-written fixed keep-alive', () => {
    const calls = [
      [0, 10],
      [MINUTE, 10],
      [15 * MINUTE, 10],
      [16 * MINUTE, 10],
      [40 * MINUTE, 10],
    ] as const;
    expect(one(warmPolicyByName('keepalive-10m'), 50 * MINUTE, calls, 128)).toEqual(
      one(keepAlive(10), 50 * MINUTE, calls, 128),
    );
    expect(one(keepAlive(10), 50 * MINUTE, calls, 128)).toMatchObject({
      coldStarts: 3,
      wastedMbMs: 128 * (MINUTE - 10 + 10 * MINUTE + MINUTE - 10 + 10 * MINUTE + 10 * MINUTE - 10),
    });
  });
});

describe('invariants', () => {
  it('checkAccounting passes a consistent replay and names the mismatch otherwise', () => {
    const good = [
      { calls: 3, coldStarts: 1 },
      { calls: 0, coldStarts: 0 },
    ];
    expect(() => checkAccounting('p', 1, 3, good)).not.toThrow();
    expect(() => checkAccounting('p', 5, 4, good)).toThrow(/3 invocations accounted, the trace has 4/);
    expect(() => checkAccounting('p', 5, 4, good)).toThrow(InvariantViolation);
    expect(() => checkAccounting('p', 1, 3, [{ calls: 3, coldStarts: 4 }])).toThrow(/4 cold starts for 3 calls/);
    expect(() => checkAccounting('p', 1, 3, [{ calls: 3, coldStarts: 0 }])).toThrow(/0 cold starts for 3 calls/);
  });

  it.each<[string, WarmPlan]>([
    ['negative keep-alive', { keepAliveMs: -1 }],
    ['NaN keep-alive', { keepAliveMs: Number.NaN }],
    ['negative pre-warm', { keepAliveMs: 0, prewarmAfterMs: -5, prewarmKeepMs: 10 }],
    ['NaN pre-warm keep', { keepAliveMs: 0, prewarmAfterMs: 5, prewarmKeepMs: Number.NaN }],
  ])('a policy returning a %s throws InvariantViolation naming the policy, app and seed', (_label, plan) => {
    const bad = fixedPolicy('bad-policy', plan);
    const run = () =>
      replayTrace(
        trace(MINUTE, [
          app('app-9', 1, [
            [0, 10],
            [100, 10],
          ]),
        ]),
        bad,
        { coldStartMs: 0, check: true, seed: 1234 },
      );
    expect(run).toThrow(InvariantViolation);
    expect(run).toThrow(/policy bad-policy, app app-9, event 0, seed 1234/);
    expect(run).toThrow(/--seeds 1234 --policy bad-policy/);
    // Without the checkers nothing stops it (which is why they are on by default).
    expect(() =>
      replayTrace(
        trace(MINUTE, [
          app('app-9', 1, [
            [0, 10],
            [100, 10],
          ]),
        ]),
        bad,
        { coldStartMs: 0, check: false, seed: 1234 },
      ),
    ).not.toThrow();
  });

  it('arrivals out of order are caught with the event index', () => {
    const run = () =>
      replayTrace(
        trace(MINUTE, [
          app('z', 1, [
            [0, 10],
            [500, 10],
            [400, 10],
          ]),
        ]),
        keepAlive(1),
        OPTIONS,
      );
    expect(run).toThrow(/app z, event 2, seed 7\): arrival 400 ms before the previous one at 500 ms/);
  });

  it('runSimulation surfaces a violation with the failing seed', async () => {
    const tiny = trace(MINUTE, [
      app('a', 1, [
        [0, 10],
        [100, 10],
      ]),
    ]);
    const run = runSimulation([{ label: 'neg', make: () => fixedPolicy('neg', { keepAliveMs: -3 }) }], {
      seeds: [3, 8],
      coldStartMs: 0,
      check: true,
      traceFor: async () => tiny,
    });
    await expect(run).rejects.toThrow(/seed 3\)/);
  });
});

describe('checking does not change the outcome', () => {
  it('check:true and check:false give identical outcomes for every policy on the fixture trace', async () => {
    const dir = resolve(import.meta.dirname, 'fixtures/traces/azure-functions-2019');
    const { trace: fixture } = await loadAzureFunctions(dir, { arrivals: 'poisson', durations: 'sampled', seed: 5 });
    const makers: (() => WarmPolicy)[] = [
      ...[
        'keepalive-10m',
        'keepalive-20m',
        'never-unload',
        'hybrid-histogram',
        'hpa',
        'kpa',
        'openwhisk',
        'oracle',
      ].map((name) => () => warmPolicyByName(name)),
      () => adaptiveWarmPolicy(),
      () => adaptiveWarmPolicy({ coldPriceS: 600 }),
    ];
    for (const make of makers) {
      const checked = replayTrace(fixture, make(), { coldStartMs: 250, check: true, seed: 5 });
      const unchecked = replayTrace(fixture, make(), { coldStartMs: 250, check: false, seed: 5 });
      expect(unchecked).toEqual(checked);
      expect(checked.reduce((sum, o) => sum + o.calls, 0)).toBe(
        fixture.apps.reduce((sum, a) => sum + a.arrivalsMs.length, 0),
      );
    }
  });
});
