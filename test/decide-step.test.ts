import { describe, expect, it } from 'vitest';
import type { Action, Decision } from '../src/core/actions.js';
import { adaptivePolicy } from '../src/decide/policies/adaptive.js';
import { staticPolicy } from '../src/decide/policies/static.js';
import type { Policy } from '../src/decide/policy.js';
import type { Snapshot } from '../src/decide/snapshot.js';
import { initialLoopState, step } from '../src/decide/step.js';
import { applyDecision, busy, busyGroup, deepFreeze, kinds, load, snapshot, swarmlet } from './support/snapshots.js';

/** A policy that asks for whatever it is told, every tick: step must still keep the pool's limits. */
function scriptedPolicy(actions: Action[]): Policy<number> {
  return {
    name: 'scripted',
    initialState: () => 0,
    decide: (calls) => ({ state: calls + 1, decision: { actions, unplaced: [] } }),
  };
}

const greedy = (count: number, taskType = 'hash'): Action[] =>
  Array.from({ length: count }, () => ({ kind: 'replicate' as const, taskType, reason: 'greedy wants more' }));

describe('step: hard limits for any policy', () => {
  it('(g) caps a greedy policy at maxSwarmlets; the rest become unplaced with the limit as reason', () => {
    const policy = scriptedPolicy(greedy(10));
    const snap = snapshot({ limits: { maxSwarmlets: 3 }, swarmlets: [busy('s1', 'hash')] });
    const { decision } = step(policy, initialLoopState(policy), snap);
    expect(kinds(decision)).toEqual(['replicate', 'replicate']);
    expect(decision.unplaced).toHaveLength(8);
    for (const entry of decision.unplaced)
      expect(entry).toEqual({ taskType: 'hash', wanted: 1, reason: expect.stringContaining('limit of 3') });
  });

  it('counts prewarms against the limit too, and does not count draining or stopped swarmlets', () => {
    const prewarm: Action = { kind: 'prewarm', taskType: 'compress', reason: 'forecast' };
    const policy = scriptedPolicy([prewarm, ...greedy(2)]);
    const snap = snapshot({
      limits: { maxSwarmlets: 2 },
      swarmlets: [
        swarmlet('d', 'hash', { state: 'draining' }),
        swarmlet('x', 'hash', { state: 'stopped' }),
        busy('b', 'hash'),
      ],
    });
    const { decision } = step(policy, initialLoopState(policy), snap);
    expect(kinds(decision)).toEqual(['prewarm']);
    expect(decision.unplaced).toHaveLength(2);
  });

  it('drops actions on unknown, stopped or draining swarmlets and a second action on the same swarmlet', () => {
    const actions: Action[] = [
      { kind: 'deprovision', swarmletId: 'ghost', reason: 'r' },
      { kind: 'deprovision', swarmletId: 'gone', reason: 'r' },
      { kind: 'consolidate', swarmletId: 'leaving', taskType: 'hash', reason: 'r' },
      { kind: 'specialize', swarmletId: 'a', fromTaskType: 'hash', toTaskType: 'compress', reason: 'first' },
      { kind: 'deprovision', swarmletId: 'a', reason: 'second' },
      { kind: 'deprovision', swarmletId: 'b', reason: 'r' },
    ];
    const policy = scriptedPolicy(actions);
    const snap = snapshot({
      swarmlets: [
        swarmlet('a', 'hash'),
        swarmlet('b', 'hash'),
        swarmlet('gone', 'hash', { state: 'stopped' }),
        swarmlet('leaving', 'hash', { state: 'draining' }),
      ],
    });
    const { decision } = step(policy, initialLoopState(policy), snap);
    expect(decision.actions.map((a) => [a.kind, 'swarmletId' in a ? a.swarmletId : '', a.reason])).toEqual([
      ['specialize', 'a', 'first'],
      ['deprovision', 'b', 'r'],
    ]);
  });

  it('keeps the unplaced entries the policy reported', () => {
    const policy: Policy<null> = {
      name: 'p',
      initialState: () => null,
      decide: (state) => ({
        state,
        decision: { actions: [], unplaced: [{ taskType: 'hash', wanted: 2, reason: 'no node fits' }] },
      }),
    };
    expect(step(policy, initialLoopState(policy), snapshot()).decision.unplaced).toEqual([
      { taskType: 'hash', wanted: 2, reason: 'no node fits' },
    ]);
  });

  it('threads the policy state and counts ticks', () => {
    const policy = scriptedPolicy([]);
    let state = initialLoopState(policy);
    for (let i = 0; i < 3; i++) state = step(policy, state, snapshot()).state;
    expect(state).toEqual({ policyState: 3, tick: 3 });
  });
});

describe('staticPolicy', () => {
  const policy = staticPolicy({ hash: 2, compress: 1 });

  it('names its split', () => {
    expect(policy.name).toBe('static(hash=2,compress=1)');
  });

  it('fills its split from an empty pool, with reasons', () => {
    const { decision } = step(
      policy,
      initialLoopState(policy),
      snapshot({ load: [load('hash', { ready: 1000, hintDurationMs: 50 })] }),
    );
    expect(decision.actions.map((a) => (a.kind === 'replicate' ? a.taskType : a.kind)).sort()).toEqual([
      'compress',
      'hash',
      'hash',
    ]);
    for (const action of decision.actions) expect(action.reason).toMatch(/static/);
  });

  it('tops up only what is missing, replacing stopped swarmlets', () => {
    const snap = snapshot({
      swarmlets: [busy('h1', 'hash'), swarmlet('h2', 'hash', { state: 'stopped' }), busy('c1', 'compress')],
    });
    expect(step(policy, initialLoopState(policy), snap).decision.actions).toMatchObject([
      { kind: 'replicate', taskType: 'hash' },
    ]);
  });

  it('never morphs: no specialize, consolidate or deprovision however skewed or idle the pool', () => {
    const pools: Snapshot[] = [
      snapshot({
        nowMs: 1e9,
        swarmlets: [swarmlet('h1', 'hash'), swarmlet('h2', 'hash'), swarmlet('c1', 'compress')],
        load: [load('compress', { ready: 10_000, hintDurationMs: 500 })],
      }),
      snapshot({
        nowMs: 1e9,
        swarmlets: [...busyGroup('h', 'hash', 2, { utilization: 0.01 }), swarmlet('c1', 'compress')],
        load: [],
      }),
    ];
    let state = initialLoopState(policy);
    for (let tick = 0; tick < 10; tick++) {
      const result = step(policy, state, pools[tick % 2]!);
      state = result.state;
      expect(result.decision.actions).toEqual([]);
    }
  });
});

describe('determinism', () => {
  /** A scripted run: a burst of hash, then compress, then silence; the pool follows the decisions. */
  function replay(policy: Policy<unknown>): Decision[] {
    let state = initialLoopState(policy);
    let pool = [busy('seed', 'hash')];
    let next = 0;
    const decisions: Decision[] = [];
    for (let tick = 0; tick < 40; tick++) {
      const nowMs = tick * 250;
      const hashReady = tick < 10 ? 400 - tick * 30 : 0;
      const compressReady = tick >= 8 && tick < 20 ? 300 : 0;
      const snap = deepFreeze(
        snapshot({
          nowMs,
          limits: { maxSwarmlets: 6 },
          swarmlets: pool.map((s) => ({
            ...s,
            state: s.taskType === 'hash' ? (hashReady > 0 ? 'busy' : 'idle') : compressReady > 0 ? 'busy' : 'idle',
            utilization: 0.05,
            lastBusyAtMs: tick < 20 ? nowMs : 5_000,
          })),
          load: [
            load('hash', {
              ready: hashReady,
              meanDurationMsInWindow: hashReady > 0 ? 20 + (tick % 3) : undefined,
              completedInWindow: 10,
            }),
            load('compress', { ready: compressReady, blocked: tick < 8 ? 50 : 0, hintDurationMs: 80 }),
          ],
        }),
      );
      const result = step(policy, state, snap); // a policy that mutates its (frozen) input throws here
      state = result.state;
      decisions.push(result.decision);
      pool = applyDecision(pool, result.decision, nowMs, () => `s${next++}`);
    }
    return decisions;
  }

  it('the same snapshot sequence gives deep-equal decisions', () => {
    const first = replay(adaptivePolicy() as Policy<unknown>);
    const second = replay(adaptivePolicy() as Policy<unknown>);
    expect(second).toEqual(first);
    // the run exercises every rule: scale up for hash, reshape toward compress, then shrink in the silence
    expect(new Set(first.flatMap((decision) => kinds(decision)))).toEqual(
      new Set(['replicate', 'specialize', 'consolidate', 'deprovision']),
    );
  });

  it('(h) every action in that run carries a non-empty reason', () => {
    const decisions = replay(adaptivePolicy() as Policy<unknown>);
    const actions = decisions.flatMap((decision) => decision.actions);
    expect(actions.length).toBeGreaterThan(0);
    for (const action of actions) expect(action.reason.trim(), action.kind).not.toBe('');
    for (const entry of decisions.flatMap((decision) => decision.unplaced)) expect(entry.reason.trim()).not.toBe('');
  });
});
