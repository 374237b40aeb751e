import { z } from 'zod';

/**
 * Typed messages between the director and a swarmlet (STYLE.md §12): a discriminated union,
 * validated where it crosses the process boundary. Micro-tasks travel in batches as compact
 * tuples so a message carries many of them and dispatch costs stay far below the work.
 */

export {
  MODE_JOIN,
  MODE_RUN,
  RESULT_ERROR,
  RESULT_OK,
  RESULT_SPLIT,
  isWireResult,
  type WireResult,
  type WireTask,
} from './wire.js';

const wireTask = z.tuple([
  z.number(),
  z.union([z.literal(0), z.literal(1)]),
  z.unknown(),
  z.number(),
  z.number(),
  z.record(z.string(), z.unknown()).nullable(),
  z.string(),
]);

export const toSwarmletSchema = z.discriminatedUnion('t', [
  // `state` (stateful types only): the type's latest snapshot, given to its `restore` after warmup, before `ready`.
  z.object({
    t: z.literal('load'),
    taskType: z.string(),
    modulePath: z.string(),
    activate: z.boolean(),
    state: z.unknown().optional(),
  }),
  z.object({ t: z.literal('run'), tasks: z.array(wireTask) }),
  z.object({ t: z.literal('stop') }),
  // Queued micro-tasks the director moved elsewhere: skip them (an isolated runaway's prefetch).
  z.object({ t: z.literal('drop'), ids: z.array(z.number()) }),
  // The type's state, answered with `state` or `state-failed` once the micro-tasks sent before it have run.
  z.object({ t: z.literal('snapshot'), taskType: z.string() }),
]);
export type ToSwarmlet = z.infer<typeof toSwarmletSchema>;

export const monitorSampleSchema = z.object({
  cpuPercent: z.number(),
  rssMb: z.number(),
  heapUsedMb: z.number(),
  eventLoopDelayMsP99: z.number(),
  tasksDone: z.number(),
  errors: z.number(),
  latencyMsMean: z.number(),
  latencyMsMax: z.number(),
});
export type MonitorSample = z.infer<typeof monitorSampleSchema>;

export const fromSwarmletSchema = z.discriminatedUnion('t', [
  z.object({ t: z.literal('hello'), pid: z.number() }),
  // `stateful`: the type has snapshot/restore (sent only then), so its state is saved before the swarmlet leaves it.
  z.object({
    t: z.literal('ready'),
    taskType: z.string(),
    activated: z.boolean(),
    loadMs: z.number(),
    warmupMs: z.number(),
    stateful: z.boolean().optional(),
  }),
  z.object({ t: z.literal('load-failed'), taskType: z.string(), message: z.string() }),
  // Results are the hot path: the envelope is checked here, each tuple by `isWireResult`.
  z.object({ t: z.literal('results'), results: z.array(z.unknown()) }),
  z.object({ t: z.literal('sample'), sample: monitorSampleSchema }),
  // The answer to `snapshot`: JSON data within MAX_STATE_BYTES (the swarmlet checked it), or why not.
  z.object({ t: z.literal('state'), taskType: z.string(), state: z.unknown() }),
  z.object({ t: z.literal('state-failed'), taskType: z.string(), message: z.string() }),
]);
export type FromSwarmlet = z.infer<typeof fromSwarmletSchema>;
