import { describe, expect, it } from 'vitest';
import {
  SWARMLET_STATES,
  canTransition,
  transitionReason,
  type SwarmletState,
} from '../src/core/swarmlet-lifecycle.js';

/** DESIGN.md: starting → warming → idle ⇄ busy → draining → stopped, plus the exits and the morph (idle → warming). */
const LEGAL: readonly [SwarmletState, SwarmletState][] = [
  ['starting', 'warming'],
  ['starting', 'stopped'],
  ['warming', 'idle'],
  ['warming', 'stopped'],
  ['idle', 'busy'],
  ['idle', 'warming'],
  ['idle', 'draining'],
  ['idle', 'stopped'],
  ['busy', 'idle'],
  ['busy', 'draining'],
  ['busy', 'stopped'],
  ['draining', 'stopped'],
];

const ILLEGAL: readonly [SwarmletState, SwarmletState][] = [
  ['stopped', 'idle'],
  ['stopped', 'starting'],
  ['starting', 'busy'],
  ['starting', 'idle'],
  ['warming', 'busy'],
  ['draining', 'idle'],
  ['draining', 'busy'],
  ['busy', 'warming'],
  ['idle', 'starting'],
  ['idle', 'idle'],
];

const isLegal = (from: SwarmletState, to: SwarmletState): boolean => LEGAL.some(([f, t]) => f === from && t === to);

describe('swarmlet lifecycle', () => {
  it('knows exactly the six states', () => {
    expect([...SWARMLET_STATES].sort()).toEqual(['busy', 'draining', 'idle', 'starting', 'stopped', 'warming']);
  });

  it.each(LEGAL)('%s → %s is allowed, with a reason', (from, to) => {
    expect(canTransition(from, to)).toBe(true);
    expect(transitionReason(from, to).trim().length).toBeGreaterThan(0);
  });

  it.each(ILLEGAL)('%s → %s throws naming both states', (from, to) => {
    expect(canTransition(from, to)).toBe(false);
    expect(() => transitionReason(from, to)).toThrow(`${from} → ${to}`);
  });

  it('allows nothing else: every pair of states agrees with the table above', () => {
    for (const from of SWARMLET_STATES) {
      for (const to of SWARMLET_STATES) {
        expect(canTransition(from, to), `${from} → ${to}`).toBe(isLegal(from, to));
        if (!isLegal(from, to)) expect(() => transitionReason(from, to)).toThrow(/illegal/);
      }
    }
  });

  it('stopped is terminal and every state can reach it', () => {
    expect(SWARMLET_STATES.filter((to) => canTransition('stopped', to))).toEqual([]);
    const reachesStopped = (state: SwarmletState, seen: Set<SwarmletState> = new Set()): boolean =>
      state === 'stopped' ||
      (!seen.has(state) &&
        SWARMLET_STATES.some((to) => canTransition(state, to) && reachesStopped(to, new Set([...seen, state]))));
    for (const state of SWARMLET_STATES) expect(reachesStopped(state), state).toBe(true);
  });
});
