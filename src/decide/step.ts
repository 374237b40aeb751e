import type { Action, Decision, Unplaced } from '../core/actions.js';
import type { Policy } from './policy.js';
import { liveSwarmlets, type Snapshot } from './snapshot.js';

export interface LoopState<S = unknown> {
  readonly policyState: S;
  readonly tick: number;
}

export function initialLoopState<S>(policy: Policy<S>): LoopState<S> {
  return { policyState: policy.initialState(), tick: 0 };
}

/**
 * The loop's one pure step: runs the policy, then enforces the pool's hard limits on what it
 * asked for, so no policy (ours or a baseline) can exceed them. Dropped actions become
 * `unplaced` with the reason.
 */
export function step<S>(
  policy: Policy<S>,
  state: LoopState<S>,
  snapshot: Snapshot,
): { state: LoopState<S>; decision: Decision } {
  const { state: policyState, decision } = policy.decide(state.policyState, snapshot);
  const enforced = enforceLimits(decision, snapshot);
  return { state: { policyState, tick: state.tick + 1 }, decision: enforced };
}

function enforceLimits(decision: Decision, snapshot: Snapshot): Decision {
  // Most ticks ask for nothing: no index of the pool to build then.
  if (decision.actions.length === 0) return { actions: [], unplaced: [...decision.unplaced] };
  const byId = new Map(snapshot.swarmlets.map((s) => [s.id, s]));
  const touched = new Set<string>();
  let live = liveSwarmlets(snapshot).length;
  const actions: Action[] = [];
  const unplaced: Unplaced[] = [...decision.unplaced];
  for (const action of decision.actions) {
    if (action.kind === 'prewarm' && action.swarmletId !== undefined) {
      // A preload takes no slot; several may go to one swarmlet.
      const target = byId.get(action.swarmletId);
      if (target && target.state !== 'stopped' && target.state !== 'draining') actions.push(action);
      continue;
    }
    if (action.kind === 'replicate' || action.kind === 'prewarm') {
      if (live >= snapshot.limits.maxSwarmlets) {
        unplaced.push({
          taskType: action.taskType,
          wanted: 1,
          reason: `at the limit of ${snapshot.limits.maxSwarmlets} swarmlets`,
        });
        continue;
      }
      live += 1;
      actions.push(action);
      continue;
    }
    const target = byId.get(action.swarmletId);
    if (!target || target.state === 'stopped' || target.state === 'draining' || touched.has(action.swarmletId))
      continue;
    touched.add(action.swarmletId);
    actions.push(action);
  }
  return { actions, unplaced };
}
