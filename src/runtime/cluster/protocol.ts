/**
 * What the director, the agents and `swarmlet run --redis` say to each other through Redis: key
 * names and message shapes, validated with zod wherever they are read (Redis is an edge).
 *
 * Keys (prefix P, default `swarmlet`):
 * - `P:q:<taskType>:…`   micro-task queues (BullmqBroker, prefix `P:q`); payload = `TaskPayload`.
 * - `P:log`              ONE stream, in order: jobs (from clients), results, faults and bundle refusals
 *                        (from agents), the director's verdict on a bundle every live agent refused, and
 *                        cancellations (from the director's HTTP API). The
 *                        director applies it in stream order, so a restarted director that replays
 *                        it from the start rebuilds exactly the same state (same micro-task ids).
 * - `P:node:<id>`        the agent's heartbeat: its advertisement + status, with a TTL. A node whose
 *                        key expired is dead; BullMQ's stalled check hands its leases to others.
 * - `P:desired:<id>`     the swarmlets the director wants on that node (level-based: the agent
 *                        reconciles toward it, idempotently, like a Kubernetes controller).
 * - `P:module:<type>`    a task type's compiled bundle, so agents need no copy of the job's code.
 * - `P:state:<type>`     a stateful type's latest state (`snapshot()`), written by the agent whose
 *                        swarmlet left the type, read by the next to serve it: last writer wins.
 *                        One that does not parse is moved to `P:state:<type>:unreadable`.
 * - `P:job:<key>`        a finished (or refused) job's outcome, kept 24 h: a job key submitted
 *                        again within that time gets this outcome instead of running twice.
 *                        `P:progress:<key>` is its progress while it runs.
 * - `P:nodes`            the set of node ids that have beaten; an id whose heartbeat key expired
 *                        is dropped by the director.
 * - `P:director`         the director's lease (one director at a time); `P:director:epoch` counts
 *                        its takings, so a paused holder knows whether it may take it back.
 * - `P:decisions`        the latest placement auctions with every node's verdict and reason.
 * - `P:node-states`      each node's lifecycle state (alive, suspect, draining, dead), since when and why.
 * - `P:refused`          log entry ids of jobs refused by admission control, so a replay skips them.
 * - `P:tasklog:s:<swarmletId>`  the last lines a swarmlet's tasks printed (a list of `TaskLogLineRecord`, oldest
 *                        first, trimmed and expiring: task-log-shipper.ts); `P:tasklog:t:<jobKey>:<label>` the
 *                        same per micro-task. Written by agents, read by the director's API.
 */
import { z } from 'zod';
import { MODE_JOIN, MODE_RUN } from '../local/wire.js';

export const DEFAULT_PREFIX = 'swarmlet';

export const keys = (prefix: string) => ({
  queuePrefix: `${prefix}:q`,
  log: `${prefix}:log`,
  node: (nodeId: string) => `${prefix}:node:${nodeId}`,
  /** The ids of nodes that have beaten: the director reads these keys instead of scanning the keyspace. */
  nodes: `${prefix}:nodes`,
  desired: (nodeId: string) => `${prefix}:desired:${nodeId}`,
  desiredChanged: `${prefix}:desired-changed`,
  module: (taskType: string) => `${prefix}:module:${taskType}`,
  /** A stateful task type's latest saved state (`TaskStateRecord`). */
  state: (taskType: string) => `${prefix}:state:${taskType}`,
  job: (jobKey: string) => `${prefix}:job:${jobKey}`,
  jobDone: `${prefix}:job-done`,
  progress: (jobKey: string) => `${prefix}:progress:${jobKey}`,
  director: `${prefix}:director`,
  /** Where the log now starts after trimming, and the id counters at that point. */
  logBase: `${prefix}:log-base`,
  /** The latest placement auctions (newest first), each node's verdict with its reason. */
  decisions: `${prefix}:decisions`,
  /** Each node's lifecycle state as the director last saw it (hash: node id → `NodeStateRecord`). */
  nodeStates: `${prefix}:node-states`,
  /** Log entry ids of jobs admission control refused (sorted by entry time): a replay skips them. */
  refused: `${prefix}:refused`,
  /** The last lines a swarmlet printed (a list, oldest first, trimmed and expiring). */
  taskLogOfSwarmlet: (swarmletId: string) => `${prefix}:tasklog:s:${swarmletId}`,
  /** The last lines a micro-task printed, by its id `<jobKey>:<label>`. */
  taskLogOfMicroTask: (microTaskId: string) => `${prefix}:tasklog:t:${microTaskId}`,
});
export type ClusterKeys = ReturnType<typeof keys>;

/** The log's start after a trim: replay from `minId` with the tracker's counters set to these. */
export const logBaseSchema = z.object({
  minId: z.string().regex(/^\d+-\d+$/),
  nextJobId: z.number().int().min(1),
  nextTaskId: z.number().int().min(1),
});
export type LogBase = z.infer<typeof logBaseSchema>;

export const nodeStateRecordSchema = z.object({
  state: z.enum(['alive', 'suspect', 'draining', 'dead']),
  sinceMs: z.number(),
  reason: z.string(),
});
export type NodeStateRecord = z.infer<typeof nodeStateRecordSchema>;

export const placementDecisionSchema = z.object({
  atMs: z.number(),
  taskType: z.string(),
  claim: z.string().optional(),
  reasons: z.array(z.string()),
});
export type PlacementDecisionRecord = z.infer<typeof placementDecisionSchema>;

/** A micro-task as it travels in the queue: everything the agent needs to build the wire task. */
export const taskPayloadSchema = z.object({
  mode: z.union([z.literal(MODE_RUN), z.literal(MODE_JOIN)]),
  input: z.unknown(),
  depth: z.number().int().min(0),
  deps: z.record(z.string(), z.unknown()).nullable(),
  label: z.string(),
  /** Its job's key: what its printed lines are filed under (`<jobKey>:<label>`). Absent from older directors. */
  jobKey: z.string().optional(),
});
export type TaskPayload = z.infer<typeof taskPayloadSchema>;

/** One line a task printed, as an agent stores it in `P:tasklog:…` (already cut to 4096 chars by the host). */
export const taskLogLineRecordSchema = z.object({
  atMs: z.number(),
  swarmletId: z.string(),
  microTaskId: z.string().optional(),
  line: z.string(),
});
export type TaskLogLineRecord = z.infer<typeof taskLogLineRecordSchema>;

/** One result an agent reports: ok output, a split's children, or a failure that used its last attempt. */
export const clusterResultSchema = z.object({
  id: z.number().int(),
  status: z.enum(['ok', 'split', 'dead']),
  value: z.unknown(),
  durationUs: z.number().min(0),
  attempt: z.number().int().min(1),
});
export type ClusterResult = z.infer<typeof clusterResultSchema>;

/** A fault entry names at most this many micro-tasks (a swarmlet holds a few at a time) and this much of a reason. */
export const MAX_FAULT_IDS = 1_000;
export const MAX_FAULT_CHARS = 2_000;

/** Entries of `P:log`. */
export const logEntrySchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('job'), jobKey: z.string().min(1), job: z.unknown(), modules: z.array(z.string()) }),
  z.object({ kind: z.literal('results'), nodeId: z.string(), results: z.array(clusterResultSchema) }),
  /**
   * An agent refused a task type's bundle (unsigned, unknown key, code not matching its hash): the director places
   * the type elsewhere (bundle-refusals.ts).
   */
  z.object({
    kind: z.literal('refusal'),
    nodeId: z.string(),
    taskType: z.string(),
    hash: z.string(),
    reason: z.string(),
  }),
  /** Written by the director once every live agent refused a bundle: the jobs needing its type fail. */
  z.object({
    kind: z.literal('unrunnable'),
    taskType: z.string(),
    hash: z.string(),
    refusals: z.array(z.object({ nodeId: z.string(), reason: z.string() })).min(1),
  }),
  /**
   * An agent's swarmlet exited with micro-tasks in flight that went back to the queue (attempts left): their jobs hear
   * why. `capBreak`: it was stopped for breaking the node's consent caps; the director then keeps the type off that
   * node for a while and places it elsewhere (cap-breaks.ts).
   */
  z.object({
    kind: z.literal('fault'),
    nodeId: z.string(),
    taskType: z.string(),
    ids: z.array(z.number().int()).max(MAX_FAULT_IDS),
    reason: z.string().max(MAX_FAULT_CHARS),
    capBreak: z.boolean().default(false),
  }),
  /**
   * A job cancelled (the director's HTTP API writes it): applying it ends the job as `cancelled`, its waiting
   * micro-tasks leave the queues and results of its running ones are ignored. In the log, so a replay cancels it too.
   */
  z.object({ kind: z.literal('cancel'), jobKey: z.string().min(1), reason: z.string().max(MAX_FAULT_CHARS) }),
]);
export type LogEntry = z.infer<typeof logEntrySchema>;

/** A swarmlet as its agent reports it. */
export const swarmletStatusSchema = z.object({
  id: z.string(),
  taskType: z.string(),
  state: z.enum(['starting', 'warming', 'idle', 'busy', 'draining', 'stopped']),
  inFlight: z.number().int().min(0),
  rssMb: z.number().optional(),
  cpuPercent: z.number().optional(),
  tasksDone: z.number().int().min(0),
  /**
   * How long its oldest micro-task in flight has run, by the agent's clock (a duration: clocks need not agree): what
   * the policy knows of a long type before the first one ends.
   */
  busyForMs: z.number().min(0).optional(),
});
export type SwarmletStatus = z.infer<typeof swarmletStatusSchema>;

/** The heartbeat value at `P:node:<id>`: the raw advertisement (parsed by place/node-probe) and status. */
export const heartbeatSchema = z.object({
  advertisement: z.unknown(),
  atMs: z.number(),
  /** The machine is idle enough for idle-only consent (load below the threshold). */
  idle: z.boolean(),
  swarmlets: z.array(swarmletStatusSchema),
  completed: z.number().int().min(0),
  failed: z.number().int().min(0),
  /**
   * The agent's last measured round trip to Redis (the path every micro-task travels): the director's latency probe.
   */
  rttMs: z.number().min(0).optional(),
});
export type Heartbeat = z.infer<typeof heartbeatSchema>;

export const desiredSwarmletSchema = z.object({ id: z.string().min(1), taskType: z.string().min(1) });
export const desiredStateSchema = z.object({
  version: z.number().int().min(0),
  swarmlets: z.array(desiredSwarmletSchema),
  /** Why each swarmlet is there (the auction's reason), for `agent` logs and the API. */
  reasons: z.record(z.string(), z.string()).default({}),
});
export type DesiredState = z.infer<typeof desiredStateSchema>;

export const moduleRecordSchema = z.object({
  taskType: z.string(),
  hash: z.string(),
  code: z.string(),
  hintDurationMs: z.number().optional(),
  /**
   * The type's declared needs per swarmlet (`resources.cpu`, `resources.memoryMb`): its claim on a node until measured.
   */
  hintCpu: z.number().positive().optional(),
  hintMemoryMb: z.number().positive().optional(),
  /** The type joins its split children's outputs (the director schedules a join micro-task). */
  hasJoin: z.boolean().default(false),
  /** What the type asks to be allowed in its sandbox (signed with the rest of the manifest: bundle-signing.ts). */
  permissions: z.array(z.string()).default([]),
  /** The client's Ed25519 signature of the bundle's manifest (absent: unsigned; agents refuse it by default). */
  signature: z.object({ keyId: z.string(), value: z.string() }).optional(),
});
export type ModuleRecord = z.infer<typeof moduleRecordSchema>;

/** The value at `P:state:<type>`: a stateful type's latest snapshot and where it came from. */
export const taskStateRecordSchema = z.object({
  taskType: z.string(),
  /** The module version whose snapshot() wrote it (for diagnosis: a newer version still restores it). */
  hash: z.string(),
  /** When it was saved (the writing agent's wall clock). */
  atMs: z.number(),
  nodeId: z.string(),
  swarmletId: z.string(),
  /** What snapshot() returned: JSON data within MAX_STATE_BYTES. */
  state: z.unknown(),
});
export type TaskStateRecord = z.infer<typeof taskStateRecordSchema>;

export const jobOutcomeSchema = z.object({
  /**
   * `refused`: admission control turned the job away before it ran (nothing of it was queued). `cancelled`: someone
   * cancelled it (POST /api/jobs/{id}/cancel); `error` says who and why.
   */
  status: z.enum(['done', 'failed', 'refused', 'cancelled']),
  output: z.unknown().optional(),
  error: z.string().optional(),
  /** A refused job: when the predicted backlog should be back under its class limit. */
  retryAfterMs: z.number().min(0).optional(),
  wallMs: z.number(),
  microTasks: z.number().int(),
  /** Results that arrived for micro-tasks already recorded (a re-run after failover): ignored. */
  duplicateResults: z.number().int(),
  /** What went wrong on the way and was retried (a swarmlet that crashed or broke a node's caps), oldest first. */
  faults: z.array(z.string()).optional(),
});
export type JobOutcome = z.infer<typeof jobOutcomeSchema>;

export const progressSchema = z.object({
  atMs: z.number(),
  taskTypes: z.array(z.object({ taskType: z.string(), done: z.number(), total: z.number(), swarmlets: z.number() })),
  /** The job's faults so far (as in its outcome). */
  faults: z.array(z.string()).optional(),
});
export type ClusterProgress = z.infer<typeof progressSchema>;

/** A job key a user may choose (`run --job-key`): safe in a Redis key and in a log line. */
export const jobKeySchema = z.string().regex(/^[\w.:-]{1,128}$/, 'use 1 to 128 letters, digits, or . _ : -');

/** JSON in a Redis value, checked: a bad value names the key instead of throwing somewhere deep. */
export function parseStored<T>(
  schema: z.ZodType<T>,
  raw: string | null,
  key: string,
  fast?: (value: unknown) => value is T,
): T | undefined {
  if (raw === null) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    throw new Error(`${key}: not JSON (${raw.slice(0, 60)})`);
  }
  if (fast?.(value)) return value;
  const parsed = schema.safeParse(value);
  if (!parsed.success)
    throw new Error(`${key}: ${parsed.error.issues[0]?.path.join('.')}: ${parsed.error.issues[0]?.message}`);
  return parsed.data;
}
