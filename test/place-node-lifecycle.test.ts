import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  NODE_STATES,
  canNodeTransition,
  nodeTransitionReason,
  observeNode,
  type NodeSighting,
  type NodeState,
} from '../src/place/node-lifecycle.js';

const OPTIONS = { ttlMs: 5_000, suspectAfterMs: 2_500 };
type From = NodeState | undefined;

/** The mission's edges, plus the two this module adds (join with consent withheld, consent back while late). */
const LEGAL: readonly [From, NodeState][] = [
  [undefined, 'alive'],
  [undefined, 'draining'],
  ['alive', 'suspect'],
  ['alive', 'draining'],
  ['alive', 'dead'],
  ['suspect', 'alive'],
  ['suspect', 'draining'],
  ['suspect', 'dead'],
  ['draining', 'alive'],
  ['draining', 'suspect'],
  ['draining', 'dead'],
  ['dead', 'alive'],
  ['dead', 'draining'],
];
const isLegal = (from: From, to: NodeState): boolean => LEGAL.some(([f, t]) => f === from && t === to);
const ALL_PAIRS: [From, NodeState][] = [undefined, ...NODE_STATES].flatMap((from) =>
  NODE_STATES.map((to): [From, NodeState] => [from, to]),
);

const present = (silentMs: number | undefined, consentGranted = true): NodeSighting => ({
  present: true,
  consentGranted,
  silentMs,
});
const absent = (silentMs: number | undefined): NodeSighting => ({ present: false, consentGranted: true, silentMs });

describe('node lifecycle table', () => {
  it('knows exactly the four states', () => {
    expect([...NODE_STATES].sort()).toEqual(['alive', 'dead', 'draining', 'suspect']);
  });

  it.each(LEGAL)('%s → %s is allowed, with a reason', (from, to) => {
    expect(canNodeTransition(from, to)).toBe(true);
    expect(nodeTransitionReason(from, to).trim().length).toBeGreaterThan(10);
  });

  it.each(ALL_PAIRS.filter(([from, to]) => !isLegal(from, to)))('%s → %s throws naming both states', (from, to) => {
    expect(canNodeTransition(from, to)).toBe(false);
    expect(() => nodeTransitionReason(from, to)).toThrow(`illegal node transition ${from ?? 'unseen'} → ${to}`);
  });

  it("the edges carry the mission's reasons", () => {
    expect(nodeTransitionReason('alive', 'suspect')).toMatch(/no new placements/);
    expect(nodeTransitionReason('alive', 'draining')).toMatch(/consent revoked.*reassigned/);
    expect(nodeTransitionReason('suspect', 'dead')).toMatch(/placed elsewhere.*lock expiry/);
    expect(nodeTransitionReason('dead', 'alive')).toMatch(/reliability kept/);
  });
});

describe('observeNode: one sighting, one step, by the time rules of node-health', () => {
  it.each<[From, NodeSighting, NodeState | undefined, RegExp]>([
    [undefined, present(0), 'alive', /^first heartbeat.* — heartbeat 0 ms ago$/],
    [undefined, present(0, false), 'draining', /consent withheld.* — consent revoked, heartbeat 0 ms ago$/],
    [
      'alive',
      present(2_600),
      'suspect',
      /^heartbeat late: no new placements — no heartbeat for 2.6 s \(dead after ttl 5 s\)$/,
    ],
    ['suspect', present(100), 'alive', /^beat again.* — heartbeat 100 ms ago$/],
    ['alive', present(0, false), 'draining', /^consent revoked: .* — consent revoked, heartbeat 0 ms ago$/],
    ['suspect', present(3_000, false), 'draining', /^consent revoked: .* — consent revoked, no heartbeat for 3 s/],
    ['draining', present(0), 'alive', /^consent granted again: .* — consent granted, heartbeat 0 ms ago$/],
    ['draining', present(3_000), 'suspect', /heartbeat late.* — consent granted, no heartbeat for 3 s/],
    [
      'alive',
      absent(1_000),
      'dead',
      /^heartbeat key expired or the node left: .* — heartbeat key gone, last heartbeat 1 s ago$/,
    ],
    ['suspect', absent(undefined), 'dead', /heartbeat key gone, never timed$/],
    ['draining', absent(0), 'dead', /placed elsewhere/],
    ['alive', present(5_200), 'dead', /no heartbeat for 5.2 s > ttl 5 s$/],
    ['dead', present(0), 'alive', /^it came back: .*reliability kept — heartbeat 0 ms ago$/],
    ['dead', present(0, false), 'draining', /^it came back with consent revoked/],
  ])('%s + %o → %s', (from, seen, to, reason) => {
    const step = observeNode(from, seen, OPTIONS);
    expect(step?.state).toBe(to);
    expect(step?.reason).toMatch(reason);
  });

  it("the boundaries are node-health's: suspect only above suspectAfterMs, dead only above ttlMs", () => {
    expect(observeNode('alive', present(2_500), OPTIONS)?.state).toBe('alive');
    expect(observeNode('alive', present(2_501), OPTIONS)?.state).toBe('suspect');
    expect(observeNode('alive', present(5_000), OPTIONS)?.state).toBe('suspect');
    expect(observeNode('alive', present(5_001), OPTIONS)?.state).toBe('dead');
  });

  it('a node never seen joins only on a timely heartbeat, and a dead one comes back only on one', () => {
    expect(observeNode(undefined, absent(undefined), OPTIONS)).toBeUndefined();
    expect(observeNode(undefined, present(undefined), OPTIONS)).toBeUndefined();
    expect(observeNode(undefined, present(3_000), OPTIONS)).toBeUndefined();
    expect(observeNode('dead', present(3_000), OPTIONS)).toEqual({
      state: 'dead',
      reason: 'present, but no fresh heartbeat: no heartbeat for 3 s (dead after ttl 5 s)',
    });
    expect(observeNode('dead', absent(60_000), OPTIONS)?.state).toBe('dead');
  });

  it('staying put says why', () => {
    expect(observeNode('alive', present(400), OPTIONS)).toEqual({ state: 'alive', reason: 'heartbeat 400 ms ago' });
    expect(observeNode('draining', present(0, false), OPTIONS)).toEqual({
      state: 'draining',
      reason: 'consent revoked, heartbeat 0 ms ago',
    });
  });
});

describe('observeNode over random sightings', () => {
  const sighting = fc.record({
    present: fc.boolean(),
    consentGranted: fc.constantFrom(true, true, false),
    silentMs: fc.option(fc.integer({ min: 0, max: 12_000 }), { nil: undefined }),
  });
  const options = fc.integer({ min: 1, max: 5_000 }).chain((suspectAfterMs) =>
    fc.record({
      suspectAfterMs: fc.constant(suspectAfterMs),
      ttlMs: fc.integer({ min: suspectAfterMs + 1, max: 10_000 }),
    }),
  );

  it('never takes an illegal edge, never kills a node before its TTL, and its state agrees with the sighting', () => {
    fc.assert(
      fc.property(options, fc.array(sighting, { maxLength: 40 }), (opts, sightings) => {
        let state: NodeState | undefined;
        for (const seen of sightings) {
          // builds its reason through the table: an illegal edge throws here
          const step = observeNode(state, seen, opts);
          if (step === undefined) {
            expect(state).toBeUndefined();
            continue;
          }
          if (step.state !== state) expect(canNodeTransition(state, step.state)).toBe(true);
          const pastTtl = !seen.present || seen.silentMs === undefined || seen.silentMs > opts.ttlMs;
          if (step.state === 'dead' && state !== 'dead') expect(pastTtl).toBe(true);
          if (step.state === 'alive')
            expect(
              seen.present &&
                seen.consentGranted &&
                seen.silentMs !== undefined &&
                seen.silentMs <= opts.suspectAfterMs,
            ).toBe(true);
          if (step.state === 'draining') expect(seen.present && !seen.consentGranted).toBe(true);
          state = step.state;
        }
      }),
      { numRuns: 500, seed: 20_240_611 },
    );
  });
});
