import { describe, expect, it } from 'vitest';
import type { Action } from '../src/core/actions.js';
import { prewarmActions } from '../src/decide/policies/prewarm-plan.js';
import type { JobProfileView } from '../src/decide/snapshot.js';
import { busy, load, snapshot, swarmlet } from './support/snapshots.js';

const params = { lookaheadMs: 30_000, reclaimAfterMs: 5_000 };
/** A job that started at t=10 s and, by its history, needs `compress` 20 s in. */
const profile = (offsetMs = 20_000): JobProfileView => ({
  jobKey: 'alice/pipeline',
  startedAtMs: 10_000,
  runs: 2,
  types: [{ taskType: 'compress', firstDemandOffsetMs: offsetMs, peakSwarmlets: 2 }],
});
const describeActions = (actions: Action[]) =>
  actions.map(
    (a) => `${a.kind}:${'swarmletId' in a && a.swarmletId ? a.swarmletId : '-'}:${'taskType' in a ? a.taskType : ''}`,
  );

describe('prewarm plan: shadow swarmlets from job history', () => {
  it.each([
    {
      name: 'demand beyond the lookahead: wait',
      offsetMs: 45_000,
      limit: 4,
      swarmlets: [busy('h1', 'hash')],
      expected: [],
    },
    {
      name: 'a free slot: start a shadow swarmlet',
      offsetMs: 20_000,
      limit: 4,
      swarmlets: [busy('h1', 'hash')],
      expected: ['prewarm:-:compress'],
    },
    {
      name: 'no free slot: preload into every running swarmlet',
      offsetMs: 20_000,
      limit: 2,
      swarmlets: [busy('h1', 'hash'), swarmlet('h2', 'hash')],
      expected: ['prewarm:h1:compress', 'prewarm:h2:compress'],
    },
    {
      name: 'already warm somewhere and no free slot: preload only where it is missing',
      offsetMs: 20_000,
      limit: 2,
      swarmlets: [busy('h1', 'hash', { warmTypes: ['hash', 'compress'] }), busy('h2', 'hash')],
      expected: ['prewarm:h2:compress'],
    },
    {
      name: 'draining or stopped swarmlets get nothing',
      offsetMs: 20_000,
      limit: 2,
      swarmlets: [swarmlet('h1', 'hash', { state: 'draining' }), swarmlet('h2', 'hash', { state: 'stopped' })],
      expected: ['prewarm:-:compress'],
    },
  ])('$name', ({ offsetMs, limit, swarmlets, expected }) => {
    const snap = snapshot({
      nowMs: 10_000,
      limits: { maxSwarmlets: limit },
      swarmlets,
      load: [load('hash', { ready: 50 }), load('compress')],
      jobProfiles: [profile(offsetMs)],
    });
    const actions = prewarmActions(snap, new Set(), params);
    expect(describeActions(actions)).toEqual(expected);
    for (const action of actions)
      expect(action.reason).toMatch(/job alice\/pipeline \(2 earlier runs\) needs compress in ~20\.0 s/);
  });

  it('leaves a type that already has work to the rebalancer', () => {
    const snap = snapshot({
      nowMs: 10_000,
      limits: { maxSwarmlets: 4 },
      swarmlets: [busy('h1', 'hash')],
      load: [load('compress', { ready: 3 })],
      jobProfiles: [profile()],
    });
    expect(prewarmActions(snap, new Set(), params)).toEqual([]);
  });

  it.each([
    { nowMs: 34_000, expected: [] }, // predicted at 30 s; 4 s later it may still come
    { nowMs: 35_000, expected: ['reclaim:c1:'] }, // 5 s past the prediction with no work: reclaim
  ])('reclaims an unused shadow once its prediction expired (now $nowMs)', ({ nowMs, expected }) => {
    const shadow = swarmlet('c1', 'compress', { shadow: true, startedAtMs: 11_000 });
    const snap = snapshot({
      nowMs,
      limits: { maxSwarmlets: 2 },
      swarmlets: [shadow],
      load: [load('compress')],
      jobProfiles: [profile()],
    });
    const actions = prewarmActions(snap, new Set(), { ...params, lookaheadMs: 0 });
    expect(describeActions(actions)).toEqual(expected);
  });

  it("keeps a shadow while its type's keep-alive plan wants it loaded (the plan's pre-warm window)", () => {
    // No job expects it: it would go 5 s after its start, before the window it was started for has closed.
    const shadow = swarmlet('c1', 'compress', { shadow: true, startedAtMs: 11_000 });
    const snap = snapshot({
      nowMs: 40_000,
      limits: { maxSwarmlets: 2 },
      swarmlets: [shadow],
      load: [load('compress')],
    });
    expect(describeActions(prewarmActions(snap, new Set(), params))).toEqual(['reclaim:c1:']);
    expect(prewarmActions(snap, new Set(), params, (type) => type === 'compress')).toEqual([]);
  });
});
