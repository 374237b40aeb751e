import type { Action } from '../../core/actions.js';
import type { Policy } from '../policy.js';
import { liveSwarmlets } from '../snapshot.js';

/**
 * Baseline: a fixed number of swarmlets per task type, started at once and never reshaped
 * (one deployment per function with fixed replicas, as a static Knative/KEDA setup would be).
 */
export function staticPolicy(split: Readonly<Record<string, number>>): Policy<null> {
  return {
    name: `static(${Object.entries(split)
      .map(([type, count]) => `${type}=${count}`)
      .join(',')})`,
    initialState: () => null,
    decide(state, snapshot) {
      const live = liveSwarmlets(snapshot);
      const actions: Action[] = [];
      for (const [taskType, count] of Object.entries(split)) {
        const have = live.filter((s) => s.taskType === taskType).length;
        for (let i = have; i < count; i++)
          actions.push({ kind: 'replicate', taskType, reason: `static split holds ${count} for ${taskType}` });
      }
      return { state, decision: { actions, unplaced: [] } };
    },
  };
}
