/**
 * How many micro-tasks travel in one broker job when `ready` of a type are handed out at once.
 * A broker job has a fixed cost (BullMQ: an add, a move to active and a completion, each a Lua
 * script); carrying many tiny micro-tasks per job spreads it. But a batch is leased whole by one
 * agent, and what it holds no other agent can run, so a batch is bounded twice:
 * - by the spread: every serving swarmlet can get several batches, as it would task by task;
 * - by what one swarmlet takes at a time (`perSwarmlet`, the agents' prefetch rule: ~2 ms of tiny
 *   micro-tasks, or one long or unmeasured one), so a batch never strands more than that much work.
 * Few ready tasks (a DAG step), long ones and types never measured travel one per job.
 */

/** Batches each serving swarmlet should be able to get: enough to keep the spread even. */
export const BATCHES_PER_SWARMLET = 4;

export interface LeaseBatchInput {
  readonly ready: number;
  readonly servingSwarmlets: number;
  /** Micro-tasks one swarmlet of the type takes at a time (`prefetchFor` its measured duration). */
  readonly perSwarmlet: number;
  /** The operator's cap (`serve --batch-max`); 1 turns batching off. */
  readonly max: number;
}

export function leaseBatchSize({ ready, servingSwarmlets, perSwarmlet, max }: LeaseBatchInput): number {
  const spread = Math.floor(ready / (BATCHES_PER_SWARMLET * Math.max(1, servingSwarmlets)));
  return Math.max(1, Math.min(max, perSwarmlet, spread));
}
