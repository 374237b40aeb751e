import { describe, expect, it } from 'vitest';
import type { Action, Decision } from '../src/core/actions.js';
import { adaptivePolicy, ADAPTIVE_DEFAULTS, type AdaptiveParams } from '../src/decide/policies/adaptive.js';
import { chainTailsMs, demandByType } from '../src/decide/demand.js';
import type { Snapshot, SwarmletView, TaskTypeLoad } from '../src/decide/snapshot.js';
import { initialLoopState, step } from '../src/decide/step.js';
import { applyDecision, busy, busyGroup, kinds, load, snapshot, swarmlet } from './support/snapshots.js';

/** One tick of the loop from a fresh policy state. */
function decideOnce(snap: Snapshot, params: Partial<AdaptiveParams> = {}): Decision {
  const policy = adaptivePolicy(params);
  return step(policy, initialLoopState(policy), snap).decision;
}

function expectReasons(decision: Decision): void {
  for (const action of decision.actions) expect(action.reason.trim(), `${action.kind} has a reason`).not.toBe('');
  for (const entry of decision.unplaced)
    expect(entry.reason.trim(), `unplaced ${entry.taskType} has a reason`).not.toBe('');
}

const of = <K extends Action['kind']>(decision: Decision, kind: K): Extract<Action, { kind: K }>[] =>
  decision.actions.filter((action): action is Extract<Action, { kind: K }> => action.kind === kind);

describe('adaptive: replicate', () => {
  it('(a) empty pool, 100 ready hash tasks of 50 ms → replicates up to maxSwarmlets, then says why it stopped', () => {
    const decision = decideOnce(
      snapshot({ limits: { maxSwarmlets: 8 }, load: [load('hash', { ready: 100, hintDurationMs: 50 })] }),
    );
    expectReasons(decision);
    expect(kinds(decision)).toEqual(Array(8).fill('replicate'));
    expect(of(decision, 'replicate').every((action) => action.taskType === 'hash')).toBe(true);
    expect(decision.unplaced.map((u) => u.taskType)).toContain('hash');
  });

  it('uses a measured duration over the hint', () => {
    // 10 tasks: with the 1000 ms hint, 8 swarmlets are worth it; measured at 1 ms, one swarmlet drains it in 10 ms
    const decision = decideOnce(
      snapshot({
        load: [load('hash', { ready: 10, hintDurationMs: 1000, meanDurationMsInWindow: 1, completedInWindow: 5 })],
      }),
    );
    expect(kinds(decision)).toEqual(['replicate']);
  });

  it('without a hint or a completion, takes a type for at least as long as its micro-task in flight has run', () => {
    // One swarmlet runs a micro-task of an unknown type; 10 more wait. At the default 10 ms a second swarmlet is not
    // worth a cold start; once the running one has been at it for 5 s, every waiting one is worth a swarmlet.
    const waiting = (runningForMs: number) =>
      snapshot({
        limits: { maxSwarmlets: 8 },
        swarmlets: [busy('s1', 'fetch')],
        load: [load('fetch', { ready: 10, inFlight: 1, runningForMs })],
      });
    expect(kinds(decideOnce(waiting(0)))).toEqual([]);
    expect(kinds(decideOnce(waiting(5_000)))).toEqual(Array(7).fill('replicate'));
    // A measurement, once there is one, is what counts (a straggler does not inflate it).
    const measured = snapshot({
      limits: { maxSwarmlets: 8 },
      swarmlets: [busy('s1', 'fetch')],
      load: [
        load('fetch', { ready: 10, inFlight: 1, runningForMs: 5_000, meanDurationMsInWindow: 1, completedInWindow: 3 }),
      ],
    });
    expect(kinds(decideOnce(measured))).toEqual([]);
  });

  it.each([
    {
      name: 'little queued work: one swarmlet, a second cold start is not worth it',
      ready: 3,
      durationMs: 50,
      expected: 1,
    },
    { name: 'more swarmlets than tasks cannot help', ready: 2, durationMs: 10_000, expected: 2 },
    { name: 'nothing queued: nothing started', ready: 0, durationMs: 50, expected: 0 },
  ])('$name', ({ ready, durationMs, expected }) => {
    const decision = decideOnce(snapshot({ load: [load('hash', { ready, hintDurationMs: durationMs })] }), {
      replicateAboveMs: 150,
    });
    expect(kinds(decision)).toEqual(Array(expected).fill('replicate'));
  });

  it('splits a fresh pool between two types in proportion to their work', () => {
    const decision = decideOnce(
      snapshot({
        limits: { maxSwarmlets: 8 },
        load: [
          load('hash', { ready: 300, hintDurationMs: 100 }),
          load('compress', { ready: 100, hintDurationMs: 100 }),
        ],
      }),
    );
    const replicas = of(decision, 'replicate');
    expect(replicas).toHaveLength(8);
    expect(replicas.filter((a) => a.taskType === 'hash')).toHaveLength(6);
    expect(replicas.filter((a) => a.taskType === 'compress')).toHaveLength(2);
  });

  it('(f) refuses to replicate past the memory limit, with an unplaced entry that says memory', () => {
    const fresh = decideOnce(
      snapshot({
        limits: { maxSwarmlets: 8, maxMemoryMb: 250, swarmletMemoryMb: 100 },
        load: [load('hash', { ready: 100, hintDurationMs: 50 })],
      }),
    );
    expect(kinds(fresh)).toEqual(['replicate', 'replicate']);
    expect(fresh.unplaced).toHaveLength(1);
    expect(fresh.unplaced[0]!.reason).toMatch(/memory/);

    // measured RSS counts instead of the assumed 100 MB
    const measured = decideOnce(
      snapshot({
        limits: { maxSwarmlets: 8, maxMemoryMb: 250, swarmletMemoryMb: 100 },
        swarmlets: [busy('s1', 'hash', { rssMb: 200 })],
        load: [load('hash', { ready: 100, inFlight: 1, hintDurationMs: 50 })],
      }),
    );
    expect(measured.actions).toEqual([]);
    expect(measured.unplaced.map((u) => [u.taskType, /memory/.test(u.reason)])).toEqual([['hash', true]]);
  });

  it('with memory full, reshapes a spare swarmlet instead (memory-neutral); what stays unplaced blames memory', () => {
    const decision = decideOnce(
      snapshot({
        limits: { maxSwarmlets: 8, maxMemoryMb: 200, swarmletMemoryMb: 100 },
        swarmlets: [swarmlet('h1', 'hash', { lastBusyAtMs: 9_900 }), busy('c1', 'compress')],
        load: [load('hash'), load('compress', { ready: 20, inFlight: 1, hintDurationMs: 50 })],
      }),
    );
    expect(decision.actions).toMatchObject([{ kind: 'specialize', swarmletId: 'h1', toTaskType: 'compress' }]);
    expect(decision.unplaced.every((u) => /memory/.test(u.reason))).toBe(true);
  });
});

describe('adaptive: specialize', () => {
  const atLimit = (hashSwarmlet: SwarmletView): Snapshot =>
    snapshot({
      nowMs: 10_000,
      limits: { maxSwarmlets: 2 },
      swarmlets: [hashSwarmlet, busy('c1', 'compress')],
      load: [load('hash', { hintDurationMs: 50 }), load('compress', { ready: 200, inFlight: 1, hintDurationMs: 50 })],
    });

  it('(b) at the limit, moves the idle hash swarmlet to the compress backlog, with a reason', () => {
    const decision = decideOnce(atLimit(swarmlet('h1', 'hash', { lastBusyAtMs: 9_900 })));
    expectReasons(decision);
    expect(decision.actions).toHaveLength(1);
    expect(decision.actions[0]).toMatchObject({
      kind: 'specialize',
      swarmletId: 'h1',
      fromTaskType: 'hash',
      toTaskType: 'compress',
    });
    expect(decision.actions[0]!.reason).toMatch(/compress/);
  });

  // Two busy hash swarmlets (their type still has work) and a compress backlog, at the limit of 3.
  const busyHashPair = (lastMorphAtMs: number) =>
    snapshot({
      nowMs: 10_000,
      limits: { maxSwarmlets: 3 },
      swarmlets: [busy('h1', 'hash', { lastMorphAtMs }), busy('h2', 'hash', { lastMorphAtMs }), busy('c1', 'compress')],
      load: [
        load('hash', { ready: 2, inFlight: 2, hintDurationMs: 50 }),
        load('compress', { ready: 200, inFlight: 1, hintDurationMs: 50 }),
      ],
    });

  it('(c) does not reshape a swarmlet whose type still has work inside its cooldown', () => {
    const cooldownMs = ADAPTIVE_DEFAULTS.cooldownMs;
    const decision = decideOnce(busyHashPair(10_000 - cooldownMs / 2));
    expect(decision.actions).toEqual([]);
    expect(decision.unplaced.map((u) => u.taskType)).toEqual(['compress']);
    expect(decision.unplaced[0]!.reason).toMatch(/limit/);
    // …and does once the cooldown has passed
    const later = decideOnce(busyHashPair(10_000 - cooldownMs));
    expect(kinds(later)).toEqual(['specialize']);
  });

  it('(c) an idle swarmlet with nothing of its type queued may move inside its cooldown: nothing to lose', () => {
    const decision = decideOnce(
      atLimit(
        swarmlet('h1', 'hash', { lastBusyAtMs: 9_900, lastMorphAtMs: 10_000 - ADAPTIVE_DEFAULTS.cooldownMs / 2 }),
      ),
    );
    expect(kinds(decision)).toEqual(['specialize']);
  });

  it('does not move a swarmlet already waiting on a specialization', () => {
    const decision = decideOnce(
      atLimit(swarmlet('h1', 'hash', { pendingTaskType: 'compress', state: 'busy', inFlight: 1 })),
    );
    expect(of(decision, 'specialize')).toEqual([]);
  });

  // hash: 4 swarmlets, 80 × 50 ms (1000 ms each, 1333 ms with one fewer); compress: 2 swarmlets, 68 × 50 ms (1700 ms
  // each)
  const uneven = snapshot({
    limits: { maxSwarmlets: 6 },
    swarmlets: [...busyGroup('h', 'hash', 4), ...busyGroup('c', 'compress', 2)],
    load: [
      load('hash', { ready: 76, inFlight: 4, hintDurationMs: 50 }),
      load('compress', { ready: 66, inFlight: 2, hintDurationMs: 50 }),
    ],
  });
  it.each([
    { moveMargin: 0.5, moves: 0, why: 'a move that helps by less than the margin is not made' },
    { moveMargin: 0, moves: 1, why: 'without the margin the same pool would move one swarmlet' },
  ])('hysteresis: moveMargin $moveMargin → $moves moves ($why)', ({ moveMargin, moves }) => {
    expect(of(decideOnce(uneven, { moveMargin }), 'specialize')).toHaveLength(moves);
  });
});

describe('adaptive: no flapping under small fluctuations', () => {
  /** Two types alternating ±10% around the same work; every tick one second apart (past the cooldown). */
  function run(params: Partial<AdaptiveParams>, ticks: number): Decision[] {
    const policy = adaptivePolicy(params);
    let state = initialLoopState(policy);
    let pool: SwarmletView[] = [];
    let next = 0;
    const decisions: Decision[] = [];
    for (let tick = 0; tick < ticks; tick++) {
      const nowMs = 1_000 * (tick + 1);
      const swing = tick % 2 === 0 ? 100 : -100;
      const inFlight = (type: string): number => pool.filter((s) => s.taskType === type).length;
      const loads: TaskTypeLoad[] = [
        load('hash', {
          ready: 1000 + swing,
          inFlight: inFlight('hash'),
          meanDurationMsInWindow: tick % 2 === 0 ? 49 : 51,
          completedInWindow: 20,
        }),
        load('compress', {
          ready: 1000 - swing,
          inFlight: inFlight('compress'),
          meanDurationMsInWindow: 50,
          completedInWindow: 20,
        }),
      ];
      const result = step(
        policy,
        state,
        snapshot({ nowMs, limits: { maxSwarmlets: 20 }, swarmlets: pool, load: loads }),
      );
      state = result.state;
      decisions.push(result.decision);
      pool = applyDecision(pool, result.decision, nowMs, () => `s${next++}`);
    }
    return decisions;
  }

  it('places once, then takes no action while demand only wobbles', () => {
    const [first, ...rest] = run({}, 12);
    expect(of(first!, 'replicate')).toHaveLength(20);
    expect(rest.map((decision) => decision.actions.length)).toEqual(Array(11).fill(0));
  });

  it('the same wobble does make a pool without hysteresis flap (so the test above can fail)', () => {
    const [, ...rest] = run({ moveMargin: 0, cooldownMs: 0 }, 12);
    const later = rest.flatMap((decision) => kinds(decision));
    expect(later.length).toBeGreaterThan(0);
    expect(new Set(later)).toEqual(new Set(['specialize']));
  });
});

describe('adaptive: consolidate', () => {
  const params = { consolidateAfterTicks: 4, consolidateBelowUtilization: 0.3, keepAliveMs: 60_000 };
  /**
   * 3 hash swarmlets at 10% utilisation, recently busy (so keep-alive does not stop them), nothing queued unless told.
   */
  const quiet = (nowMs: number, ready = 0): Snapshot =>
    snapshot({
      nowMs,
      swarmlets: ['a', 'b', 'c'].map((id, i) =>
        swarmlet(id, 'hash', { utilization: 0.1 + i * 0.01, lastBusyAtMs: nowMs - 10 }),
      ),
      load: [load('hash', { ready, hintDurationMs: 5 })],
    });

  function ticks(readyAt: (tick: number) => number, count: number): Decision[] {
    const policy = adaptivePolicy(params);
    let state = initialLoopState(policy);
    return Array.from({ length: count }, (_, tick) => {
      const result = step(policy, state, quiet(1_000 + tick * 100, readyAt(tick)));
      state = result.state;
      return result.decision;
    });
  }

  it(`(d) drains all but one after consolidateAfterTicks low-use ticks, not before`, () => {
    const decisions = ticks(() => 0, params.consolidateAfterTicks);
    for (const early of decisions.slice(0, -1)) expect(early.actions).toEqual([]);
    const last = decisions[decisions.length - 1]!;
    expectReasons(last);
    const drained = of(last, 'consolidate');
    expect(drained).toHaveLength(2);
    expect(drained.map((a) => a.swarmletId).sort()).toEqual(['a', 'b']); // the least used go, c stays
    expect(drained.every((a) => a.taskType === 'hash' && /utilisation/.test(a.reason))).toBe(true);
  });

  it('a queue in between resets the count', () => {
    const decisions = ticks((tick) => (tick === 2 ? 1 : 0), params.consolidateAfterTicks + 3);
    const firstConsolidation = decisions.findIndex((d) => of(d, 'consolidate').length > 0);
    expect(firstConsolidation).toBe(2 + params.consolidateAfterTicks);
  });

  it('shadows waiting for blocked work are not consolidated (they are reclaimed on their own terms)', () => {
    const policy = adaptivePolicy(params);
    let state = initialLoopState(policy);
    for (let tick = 0; tick < params.consolidateAfterTicks + 2; tick++) {
      const nowMs = 1_000 + tick * 100;
      const result = step(
        policy,
        state,
        snapshot({
          nowMs,
          swarmlets: ['a', 'b', 'c'].map((id) => swarmlet(id, 'hash', { shadow: true, startedAtMs: 900 })),
          load: [load('hash', { blocked: 3, hintDurationMs: 5 })],
        }),
      );
      state = result.state;
      expect(of(result.decision, 'consolidate')).toEqual([]);
    }
  });

  it('busy groups are not consolidated however long they run', () => {
    const policy = adaptivePolicy(params);
    let state = initialLoopState(policy);
    for (let tick = 0; tick < 10; tick++) {
      const result = step(
        policy,
        state,
        snapshot({
          nowMs: 1_000 + tick * 100,
          swarmlets: busyGroup('h', 'hash', 3, { utilization: 0.9 }),
          load: [load('hash', { inFlight: 3, hintDurationMs: 5 })],
        }),
      );
      state = result.state;
      expect(of(result.decision, 'consolidate')).toEqual([]);
    }
  });
});

describe('adaptive: deprovision', () => {
  const keepAliveMs = ADAPTIVE_DEFAULTS.keepAliveMs;
  const idleFor = (idleMs: number, hashLoad: Partial<TaskTypeLoad>): Snapshot =>
    snapshot({
      nowMs: 100_000,
      swarmlets: [swarmlet('s1', 'hash', { lastBusyAtMs: 100_000 - idleMs })],
      load: [load('hash', hashLoad)],
    });

  it.each([
    { name: 'idle past keep-alive, nothing queued or blocked', idleMs: keepAliveMs + 1, hashLoad: {}, stopped: true },
    {
      name: 'idle past keep-alive but blocked work is coming',
      idleMs: keepAliveMs + 1,
      hashLoad: { blocked: 3 },
      stopped: false,
    },
    { name: 'idle less than the keep-alive', idleMs: keepAliveMs - 1, hashLoad: {}, stopped: false },
    {
      name: 'idle past keep-alive, nothing queued, others of its type still running micro-tasks',
      idleMs: keepAliveMs + 1,
      hashLoad: { inFlight: 2 },
      stopped: true,
    },
  ])('(e) $name → deprovisioned: $stopped', ({ idleMs, hashLoad, stopped }) => {
    const decision = decideOnce(idleFor(idleMs, hashLoad));
    expectReasons(decision);
    expect(decision.actions).toEqual(
      stopped
        ? [
            expect.objectContaining({
              kind: 'deprovision',
              swarmletId: 's1',
              reason: expect.stringMatching(/keep-alive/),
            }),
          ]
        : [],
    );
  });

  it('stops an idle swarmlet of a type that has no load entry at all', () => {
    const decision = decideOnce(
      snapshot({ nowMs: 100_000, swarmlets: [swarmlet('s1', 'resize', { lastBusyAtMs: 0 })], load: [] }),
    );
    expect(decision.actions).toMatchObject([{ kind: 'deprovision', swarmletId: 's1' }]);
  });

  it('never stops a busy, warming or draining swarmlet for idleness', () => {
    const swarmlets = [
      busy('b', 'hash', { lastBusyAtMs: 0 }),
      swarmlet('w', 'hash', { state: 'warming' }),
      swarmlet('d', 'hash', { state: 'draining' }),
    ];
    expect(decideOnce(snapshot({ nowMs: 100_000, swarmlets, load: [load('hash')] })).actions).toEqual([]);
  });
});

describe('adaptive: batching a type that has no swarmlet (no ping-pong per micro-task)', () => {
  // Both swarmlets busy on a long hash backlog; compress has a few small tasks and no swarmlet.
  const tick = (nowMs: number, compressReady: number) =>
    snapshot({
      nowMs,
      limits: { maxSwarmlets: 2 },
      swarmlets: busyGroup('h', 'hash', 2),
      load: [
        load('hash', { ready: 300, inFlight: 2, hintDurationMs: 50 }),
        load('compress', { ready: compressReady, hintDurationMs: 10 }),
      ],
    });

  it.each([
    { compressReady: 5, nowMs: 1_000, expected: [], why: '50 ms of compress work waits for a batch' },
    { compressReady: 40, nowMs: 1_000, expected: ['specialize'], why: '400 ms of compress work is a batch (≥ 300 ms)' },
  ])('$why', ({ compressReady, nowMs, expected }) => {
    expect(kinds(decideOnce(tick(nowMs, compressReady)))).toEqual(expected);
  });

  it('serves a small queue once it has waited maxWaitMs, so nothing starves', () => {
    const policy = adaptivePolicy();
    let state = initialLoopState(policy);
    const actionsAt: number[] = [];
    for (let nowMs = 0; nowMs <= 3_000; nowMs += 100) {
      const result = step(policy, state, tick(nowMs, 5));
      state = result.state;
      if (result.decision.actions.length > 0) actionsAt.push(nowMs);
    }
    expect(actionsAt[0]).toBe(ADAPTIVE_DEFAULTS.maxWaitMs);
  });
});

describe('adaptive: long micro-tasks, no hints', () => {
  // Measured once: a type that took `ms` per micro-task in the last window.
  const measured = (ms: number): Partial<TaskTypeLoad> => ({ meanDurationMsInWindow: ms, completedInWindow: 1 });

  it('switches the busy swarmlet closest to the end of its micro-task, not the least used one', () => {
    // Both fetch swarmlets are busy on 10 s micro-tasks: f1 began its own a moment ago, f2 nine seconds ago.
    const decision = decideOnce(
      snapshot({
        limits: { maxSwarmlets: 2 },
        swarmlets: [busy('f1', 'fetch', { busyForMs: 100 }), busy('f2', 'fetch', { busyForMs: 9_000 })],
        load: [
          load('fetch', { ready: 5, inFlight: 2, ...measured(10_000) }),
          load('render', { ready: 1, ...measured(1_000) }),
        ],
      }),
    );
    expect(of(decision, 'specialize')).toMatchObject([{ swarmletId: 'f2', toTaskType: 'render' }]);
  });

  it('a type with nothing queued gives its idle swarmlets to a queued type while its own micro-tasks still run', () => {
    // 6 project swarmlets run 30 s micro-tasks, 2 sit idle, nothing of project is queued; diff has 20 × 1.5 s queued
    // on one swarmlet. Counted as work project would miss (6 × 30 s on 7 swarmlets, ×1.5 margin: 38 s against diff's
    // 31.5 s), the running micro-tasks kept both idle ones from diff. The busy ones are not switched: predicted free in
    // 30 s, after diff's queue drains on three (10.5 s).
    const decision = decideOnce(
      snapshot({
        limits: { maxSwarmlets: 9 },
        swarmlets: [
          ...busyGroup('p', 'project', 6),
          swarmlet('p-idle-1', 'project'),
          swarmlet('p-idle-2', 'project'),
          busy('d1', 'diff'),
        ],
        load: [
          load('project', { inFlight: 6, ...measured(30_000) }),
          load('diff', { ready: 20, inFlight: 1, ...measured(1_500) }),
        ],
      }),
    );
    expectReasons(decision);
    expect(of(decision, 'specialize').map((a) => [a.swarmletId, a.toTaskType])).toEqual([
      ['p-idle-1', 'diff'],
      ['p-idle-2', 'diff'],
    ]);
  });

  // b's one swarmlet is a switch still running a long micro-task of a; a2 sits idle, nothing of a queued.
  const behindWork = (lastMorphAtMs: number, idle: boolean) =>
    snapshot({
      nowMs: 10_000,
      windowMs: 100,
      limits: { maxSwarmlets: 2 },
      swarmlets: [
        busy('a1', 'a', { pendingTaskType: 'b', lastMorphAtMs, busyForMs: 9_000 }),
        idle ? swarmlet('a2', 'a') : busy('a2', 'a', { busyForMs: 1_000 }),
      ],
      load: [load('a', { inFlight: idle ? 1 : 2, ...measured(5_000) }), load('b', { ready: 1, ...measured(1_000) })],
    });

  it("a type whose only swarmlet still runs another type's micro-task a tick after the switch takes an idle one", () => {
    expect(of(decideOnce(behindWork(5_000, true)), 'specialize')).toMatchObject([
      { swarmletId: 'a2', toTaskType: 'b' },
    ]);
  });

  it('…but not within the tick of the switch, and never a second busy one to wait behind', () => {
    expect(of(decideOnce(behindWork(9_950, true)), 'specialize')).toEqual([]);
    const decision = decideOnce(behindWork(5_000, false));
    expect(of(decision, 'specialize')).toEqual([]);
    expect(decision.unplaced.map((u) => u.taskType)).toEqual(['b']);
  });

  it('serves first the type whose work leads to more work (its chain), not only the longest drain', () => {
    // One free slot. a-sink: 10 s queued on one swarmlet; b-head: 9 s queued on one, and then a 5 s `next` micro-task
    // waits on it. By drain alone a-sink (10 s) would get it; counting the chain b-head finishes last (14 s).
    const decision = decideOnce(
      snapshot({
        limits: { maxSwarmlets: 3 },
        swarmlets: [busy('s1', 'a-sink'), busy('h1', 'b-head')],
        load: [
          load('a-sink', { ready: 9, inFlight: 1, ...measured(1_000) }),
          load('b-head', { ready: 8, inFlight: 1, ...measured(1_000), successors: ['next'] }),
          load('next', { blocked: 4, ...measured(5_000) }),
        ],
      }),
    );
    expect(of(decision, 'replicate').map((a) => a.taskType)).toEqual(['b-head']);
  });

  it('chain tails: the longest path of predicted durations through types still waiting, cycles cut', () => {
    const demands = demandByType(
      snapshot({
        load: [
          load('a', { ready: 1, successors: ['b', 'c'] }),
          load('b', { blocked: 1, hintDurationMs: 10, successors: ['d'] }),
          load('c', { blocked: 1, hintDurationMs: 50 }),
          load('d', { blocked: 1, hintDurationMs: 100, successors: ['d'] }),
          load('e', { ready: 1, successors: ['f'] }),
          load('f', { hintDurationMs: 1_000 }), // nothing of it waits any more
        ],
      }),
      (l) => l.hintDurationMs ?? 1,
    );
    // d waits on d (a join on its split): one more d after a d, and there the cycle is cut.
    expect(Object.fromEntries(chainTailsMs(demands))).toEqual({ a: 210, b: 200, c: 0, d: 100, e: 0, f: 0 });
  });

  describe('shadows ahead of a chain (work only waiting on what runs now)', () => {
    // cat (and big, 30 micro-tasks of 1 s) wait on blastall; blastall has nothing queued or blocked, two micro-tasks
    // running, measured at 9.5 s and predicted within 5 % lately.
    const ahead = (blastall: Partial<TaskTypeLoad>, busyForMs: number, maxSwarmlets = 8) =>
      snapshot({
        limits: { maxSwarmlets },
        swarmlets: [busy('b1', 'blastall', { busyForMs }), busy('b2', 'blastall', { busyForMs: 9_000 })],
        load: [
          load('blastall', {
            inFlight: 2,
            ...measured(9_500),
            successors: ['cat', 'big'],
            durationErrorRatio: 0.05,
            ...blastall,
          }),
          load('cat', { blocked: 1 }),
          load('big', { blocked: 30, ...measured(1_000) }),
        ],
      });

    it('starts what the released work keeps busy for a keep-alive when the work ahead is predicted done within it', () => {
      const decision = decideOnce(ahead({}, 8_500, 20));
      expectReasons(decision);
      // cat: its one micro-task; big: 30 × 1 s keeps 15 busy for the 2 s keep-alive (not 30).
      expect(
        of(decision, 'prewarm')
          .map((a) => a.taskType)
          .sort(),
      ).toEqual([...Array(15).fill('big'), 'cat']);
      expect(decision.actions.every((a) => a.kind === 'prewarm' && a.swarmletId === undefined)).toBe(true);
    });

    it.each([
      { why: 'predicted done later than the keep-alive', blastall: {}, busyForMs: 1_000, slots: 20 },
      {
        why: 'a micro-task ahead has overrun its prediction by more than the keep-alive',
        blastall: {},
        busyForMs: 12_000,
        slots: 20,
      },
      {
        why: 'the predictions ahead are off by more than the keep-alive',
        blastall: { durationErrorRatio: 0.3 },
        busyForMs: 9_000,
        slots: 20,
      },
      {
        why: 'how good the predictions ahead are is not known',
        blastall: { durationErrorRatio: undefined },
        busyForMs: 9_000,
        slots: 20,
      },
      { why: 'work ahead still queued', blastall: { ready: 3 }, busyForMs: 9_000, slots: 20 },
      { why: 'work ahead still blocked', blastall: { blocked: 3 }, busyForMs: 9_000, slots: 20 },
      { why: 'no free slot', blastall: {}, busyForMs: 9_000, slots: 2 },
    ])('none when $why', ({ blastall, busyForMs, slots }) => {
      expect(of(decideOnce(ahead(blastall, busyForMs, slots)), 'prewarm')).toEqual([]);
    });
  });
});
