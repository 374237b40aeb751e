import { z } from 'zod';

/**
 * The API's shapes, once: handlers validate requests with them, the OpenAPI document is generated from them and the
 * contract tests check every answer against them.
 */

const id = z.string().min(1).max(200);
const ms = z.number();

export const errorSchema = z.object({
  error: z.object({
    field: z.string().describe('what was wrong: a path, a query parameter or a body field'),
    message: z.string(),
    fix: z.string().describe('what to send instead'),
  }),
});

export const typeProgressSchema = z.object({
  taskType: z.string(),
  total: z.number().int(),
  done: z.number().int(),
  running: z.number().int(),
});

export const jobSchema = z.object({
  id,
  label: z.string(),
  name: z.string().optional(),
  priority: z.enum(['low', 'normal', 'high']),
  state: z.enum(['running', 'done', 'failed', 'cancelled']),
  submittedAtMs: ms,
  endedAtMs: ms.optional(),
  wallMs: ms,
  deadlineMs: ms.optional(),
  deadlineMet: z.boolean().optional(),
  done: z.number().int(),
  total: z.number().int(),
  byType: z.array(typeProgressSchema),
  error: z.string().optional(),
});

export const jobsSchema = z.object({ jobs: z.array(jobSchema) });

export const submittedSchema = z.object({ jobId: id });

export const cancelledSchema = z.object({ jobId: id, state: z.enum(['cancelled', 'done', 'failed']) });

export const morphSchema = z.object({ atMs: ms, kind: z.string(), reason: z.string() });

export const swarmletSchema = z.object({
  id,
  node: z.string().optional(),
  state: z.string(),
  taskType: z.string(),
  warmTypes: z.array(z.string()),
  startedAtMs: ms,
  cpuPercent: z.number().optional(),
  rssMb: z.number().optional(),
  eventLoopP99Ms: z.number().optional(),
  tasksDone: z.number().int().optional(),
  inFlight: z.number().int(),
  served: z.array(z.object({ taskType: z.string(), fromMs: ms })).describe('the timeline: type served from when'),
  morphs: z.array(morphSchema),
});
export const swarmletsSchema = z.object({ swarmlets: z.array(swarmletSchema), total: z.number().int() });

export const nodeSchema = z.object({
  id,
  kind: z.string(),
  labels: z.record(z.string(), z.string()).optional().describe("the node's probe labels (cluster)"),
  state: z.string(),
  price: z.number(),
  reliability: z.number().optional(),
  latencyMs: z.number().optional(),
  swarmlets: z.number().int(),
  capacity: z.number().int(),
  verdicts: z.array(z.object({ atMs: ms, taskType: z.string(), verdict: z.string() })),
});
export const nodesSchema = z.object({ nodes: z.array(nodeSchema) });

export const decisionSchema = z.object({
  seq: z.number().int().describe('increasing: ask for `after` the last one you saw'),
  atMs: ms,
  kind: z.string(),
  taskType: z.string().optional(),
  swarmletId: z.string().optional(),
  reason: z.string(),
});
export const decisionsSchema = z.object({
  decisions: z.array(decisionSchema),
  next: z.number().int().optional().describe('pass as `after` for the next page'),
});

export const anomalySchema = z.object({
  atMs: ms,
  taskType: z.string(),
  microTask: z.string(),
  ratio: z.number(),
  phase: z.string(),
  reason: z.string(),
});
export const anomaliesSchema = z.object({ anomalies: z.array(anomalySchema) });

export const forecastSchema = z.object({
  taskType: z.string(),
  predictedDurationMs: z.number().optional(),
  meanDurationMs: z.number().optional(),
  durationErrorPercent: z.number().optional(),
  predictedCpu: z.number().optional(),
  actualCpu: z.number().optional(),
  predictedMemoryMb: z.number().optional(),
  actualMemoryMb: z.number().optional(),
  trail: z.array(z.object({ atMs: ms, predictedMs: z.number().optional(), actualMs: z.number() })),
});
export const forecastsSchema = z.object({ forecasts: z.array(forecastSchema) });

export const logLineSchema = z.object({
  atMs: ms,
  swarmletId: z.string(),
  microTaskId: z.string().optional(),
  line: z.string(),
});
export const logsSchema = z.object({ lines: z.array(logLineSchema) });

export const statusSchema = z.object({
  mode: z.enum(['embedded', 'cluster']),
  policy: z.string(),
  uptimeMs: ms,
  nowMs: ms.describe("the runtime clock's now, the clock of every atMs here: a client maps those times onto its own"),
  jobs: z.object({ running: z.number().int(), done: z.number().int(), failed: z.number().int() }),
  microTasksDone: z.number().int(),
  throughputPerSec: z.number(),
  swarmlets: z.array(z.object({ taskType: z.string(), state: z.string(), count: z.number().int() })),
});

// ── requests ────────────────────────────────────────────────────────────────

// `.` too: a cluster job's id is its job key (`run --job-key`), which may hold one.
export const jobIdParams = z.object({
  id: z.string().regex(/^[A-Za-z0-9.:_-]{1,200}$/, 'a job id from GET /api/jobs'),
});

export const listQuery = z
  .object({
    state: z.enum(['running', 'done', 'failed', 'cancelled']).optional(),
    limit: z.coerce.number().int().min(1).max(1000).default(100),
  })
  .strict();

export const decisionsQuery = z
  .object({
    after: z.coerce.number().int().min(-1).default(-1),
    limit: z.coerce.number().int().min(1).max(1000).default(200),
    kind: z.enum(['replicate', 'specialize', 'consolidate', 'deprovision', 'prewarm', 'reclaim']).optional(),
  })
  .strict();

export const swarmletsQuery = z
  .object({
    limit: z.coerce.number().int().min(1).max(10_000).default(1000),
    taskType: z.string().min(1).max(200).optional(),
  })
  .strict();

export const logsQuery = z
  .object({
    swarmlet: z.string().min(1).max(200).optional(),
    microTask: z.string().min(1).max(500).optional(),
  })
  .strict()
  .refine((q) => (q.swarmlet === undefined) !== (q.microTask === undefined), {
    message: 'give exactly one of swarmlet or microTask',
    path: ['swarmlet'],
  });

export const emptyQuery = z.object({}).strict();

export type JobView = z.infer<typeof jobSchema>;
export type SwarmletView = z.infer<typeof swarmletSchema>;
export type NodeView = z.infer<typeof nodeSchema>;
export type DecisionView = z.infer<typeof decisionSchema>;
export type AnomalyView = z.infer<typeof anomalySchema>;
export type ForecastView = z.infer<typeof forecastSchema>;
export type LogLineView = z.infer<typeof logLineSchema>;
export type StatusView = z.infer<typeof statusSchema>;
