import { z } from 'zod';
import { jobSchema as jobInputSchema } from '../core/job.js';
import type { Operations } from './operations.js';
import * as s from './schemas.js';

/** One route of the API: the table drives the server, the OpenAPI document and the contract tests. */
export interface Route {
  readonly method: 'GET' | 'POST';
  /** fastify's path form (`:id`). */
  readonly path: string;
  readonly summary: string;
  readonly params?: z.ZodType;
  readonly query?: z.ZodType;
  readonly body?: z.ZodType;
  /** Changes something: always needs the token. */
  readonly mutates?: boolean;
  readonly ok: { readonly status: number; readonly schema: z.ZodType };
  /** The errors it documents besides 400 (bad input) and 401 (token). */
  readonly errors?: readonly number[];
  handle(ops: Operations, input: { params: unknown; query: unknown; body: unknown }): Promise<unknown> | unknown;
}

type Spec<P extends z.ZodType, Q extends z.ZodType> = Omit<Route, 'params' | 'query' | 'handle'> & {
  readonly params?: P;
  readonly query?: Q;
  handle(
    ops: Operations,
    input: { params: z.output<P>; query: z.output<Q>; body: unknown },
  ): Promise<unknown> | unknown;
};

/** A route whose handler sees its parameters as their schemas give them (the server parses them first). */
function route<P extends z.ZodType = z.ZodObject, Q extends z.ZodType = z.ZodObject>(spec: Spec<P, Q>): Route {
  return spec as Route;
}

export class NotFound extends Error {
  constructor(
    readonly field: string,
    message: string,
    readonly fix: string,
  ) {
    super(message);
  }
}

/** Documents the body; `Operations.submit` checks it (naming the field, as the CLI does). */
const jobBody = z
  .union([jobInputSchema, z.object({ jobFile: z.string().describe('cluster: a job file on the director') })])
  .describe('a job: { type, input } or { tasks: [{ id, type, input, deps }] } (README); cluster also { jobFile }');

export const ROUTES: readonly Route[] = [
  route({
    method: 'GET',
    path: '/api/status',
    summary: 'The swarm at a glance: mode, policy, jobs, throughput, swarmlets by type and state',
    query: s.emptyQuery,
    ok: { status: 200, schema: s.statusSchema },
    handle: (ops) => ops.status(),
  }),
  route({
    method: 'GET',
    path: '/api/jobs',
    summary: 'Running and recent jobs, newest first, with progress per task type',
    query: s.listQuery,
    ok: { status: 200, schema: s.jobsSchema },
    handle: (ops, { query }) => ({
      jobs: ops
        .jobs()
        .filter((job) => query.state === undefined || job.state === query.state)
        .slice(0, query.limit),
    }),
  }),
  route({
    method: 'POST',
    path: '/api/jobs',
    summary: 'Submit a job; answers its id at once (follow it with GET /api/jobs/{id})',
    body: jobBody,
    mutates: true,
    ok: { status: 201, schema: s.submittedSchema },
    errors: [429],
    handle: (ops, { body }) => ops.submit(body),
  }),
  route({
    method: 'GET',
    path: '/api/jobs/:id',
    summary: "One job: its DAG's progress per task type, deadline, outcome",
    params: s.jobIdParams,
    query: s.emptyQuery,
    ok: { status: 200, schema: s.jobSchema },
    errors: [404],
    handle: (ops, { params }) => {
      const job = ops.jobs().find((j) => j.id === params.id);
      if (!job) throw noSuchJob(params.id);
      return job;
    },
  }),
  route({
    method: 'POST',
    path: '/api/jobs/:id/cancel',
    summary: 'Cancel a running job: its waiting micro-tasks are removed; no other job is affected',
    params: s.jobIdParams,
    mutates: true,
    ok: { status: 200, schema: s.cancelledSchema },
    errors: [404],
    handle: async (ops, { params }) => {
      const state = await ops.cancel(params.id);
      if (state === undefined) throw noSuchJob(params.id);
      return { jobId: params.id, state };
    },
  }),
  route({
    method: 'GET',
    path: '/api/swarmlets',
    summary: 'Swarmlets: state, type, warm types, CPU, RSS, event-loop p99, tasks, the types served over time, morphs',
    query: s.swarmletsQuery,
    ok: { status: 200, schema: s.swarmletsSchema },
    handle: (ops, { query }) => {
      const all = ops.swarmlets().filter((w) => query.taskType === undefined || w.taskType === query.taskType);
      return { swarmlets: all.slice(-query.limit), total: all.length };
    },
  }),
  route({
    method: 'GET',
    path: '/api/nodes',
    summary: 'Nodes (cluster): probe, lifecycle state, price, measured reliability and latency, last auction verdicts',
    query: s.emptyQuery,
    ok: { status: 200, schema: s.nodesSchema },
    handle: (ops) => ({ nodes: ops.nodes() }),
  }),
  route({
    method: 'GET',
    path: '/api/decisions',
    summary: 'Morphing actions with their reasons, oldest first, paged by sequence number',
    query: s.decisionsQuery,
    ok: { status: 200, schema: s.decisionsSchema },
    handle: (ops, { query }) => {
      // A kind filter pages through the unfiltered log: ask for more, keep the kind.
      const page = ops.decisions(query.after, query.kind ? 10_000 : query.limit);
      const decisions = page.filter((d) => query.kind === undefined || d.kind === query.kind).slice(0, query.limit);
      const last = query.kind ? decisions[decisions.length - 1] : page[page.length - 1];
      return last === undefined ? { decisions } : { decisions, next: last.seq };
    },
  }),
  route({
    method: 'GET',
    path: '/api/anomalies',
    summary: 'Micro-tasks that ran far above their predicted duration (robust statistics)',
    query: s.emptyQuery,
    ok: { status: 200, schema: s.anomaliesSchema },
    handle: (ops) => ({ anomalies: ops.anomalies() }),
  }),
  route({
    method: 'GET',
    path: '/api/forecasts',
    summary: 'Per task type: predicted against measured duration, CPU and memory, and the recent trail',
    query: s.emptyQuery,
    ok: { status: 200, schema: s.forecastsSchema },
    handle: (ops) => ({ forecasts: ops.forecasts() }),
  }),
  route({
    method: 'GET',
    path: '/api/logs',
    summary: 'What tasks printed, by swarmlet or by micro-task (bounded: the last lines)',
    query: s.logsQuery,
    ok: { status: 200, schema: s.logsSchema },
    handle: async (ops, { query }) => ({
      lines: await ops.logs(
        query.swarmlet !== undefined ? { swarmletId: query.swarmlet } : { microTaskId: query.microTask! },
      ),
    }),
  }),
];

function noSuchJob(id: string): NotFound {
  return new NotFound('id', `no job ${id} is running or recently ended`, 'use an id from GET /api/jobs');
}
