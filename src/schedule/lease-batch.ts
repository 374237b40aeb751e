/**
 * How many micro-tasks travel in one broker job when `ready` of a type are handed out at once.
 * A broker job has a fixed cost (BullMQ: an add, a move to active and a completion, each a Lua
 * script); carrying many tiny micro-tasks per job spreads it. But a batch is leased whole by one
 * agent, so batches stay small enough that every serving swarmlet can get several: the load
 * spreads as it would task by task. Few ready tasks (a DAG step) travel one per job.
 */

/** Batches each serving swarmlet should be able to get: enough to keep the spread even. */
export const BATCHES_PER_SWARMLET = 4;

export function leaseBatchSize(ready: number, servingSwarmlets: number, max: number): number {
  const spread = Math.floor(ready / (BATCHES_PER_SWARMLET * Math.max(1, servingSwarmlets)));
  return Math.max(1, Math.min(max, spread));
}
