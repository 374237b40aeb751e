import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROUTES, type Route } from '../src/api/routes.js';
import { errorSchema } from '../src/api/schemas.js';
import { Swarm } from '../src/swarm.js';
import { clusterOperations } from '../src/api/cluster-operations.js';
import { startApiServer, type ApiServer } from '../src/api/server.js';
import { wallEnvironment } from '../src/runtime/local/wall-environment.js';
import { schemaProblems } from './support/json-schema-check.js';

// The API against its own document: /openapi.json from a running embedded swarm lists every route of the table, each
// route called with valid input answers what the document says (checked against the document's JSON schema and the
// zod schema it was made from), and every error status the document lists is provoked and answers the error shape.
const tasks = ['test/fixtures/noop.task.ts', 'test/fixtures/busy.task.ts'];
const TOKEN = 'contract-test-token-0123456789';
let swarm: Swarm;
/** The same API off loopback (reads need the token there too): where a read's 401 is provoked. */
let guarded: Swarm;
let leaderless: ApiServer;
let doc: { paths: Record<string, Record<string, Operation>> };
interface Operation {
  responses: Record<string, { content: { 'application/json': { schema: Record<string, unknown> } } }>;
}

interface Call {
  readonly method?: string;
  readonly path: string;
  readonly body?: unknown;
  readonly token?: boolean;
  /** Off loopback: the server that needs the token for reads. */
  readonly guarded?: boolean;
  /** A cluster process whose director does not hold the lease: where 503 is provoked. */
  readonly leaderless?: boolean;
}

async function send(call: Call): Promise<{ status: number; body: unknown }> {
  const server = call.leaderless ? leaderless : call.guarded ? guarded.http! : swarm.http!;
  const headers: Record<string, string> = {};
  if (call.body !== undefined) headers['content-type'] = 'application/json';
  if (call.token) headers.authorization = `Bearer ${server.token}`;
  const url = server.url.replace('0.0.0.0', '127.0.0.1');
  const response = await fetch(`${url}${call.path}`, {
    method: call.method ?? 'GET',
    headers,
    ...(call.body !== undefined && { body: JSON.stringify(call.body) }),
  });
  return { status: response.status, body: await response.json() };
}

const keyOf = (route: Route) => `${route.method} ${route.path}`;
const busy = (count: number, ms: number, priority: 'low' | 'normal' | 'high' = 'normal') => ({
  priority,
  tasks: Array.from({ length: count }, (_, i) => ({ id: `b${i}`, type: 'busy', input: { ms } })),
});

/** What a job id is for the calls below: one that ended, one still running (cancelled by its call). */
const ids = { ended: '', running: '' };

/** A valid call of each route (a route added without one fails the test: its contract is unchecked). */
const VALID: Record<string, () => Call> = {
  'GET /api/status': () => ({ path: '/api/status' }),
  'GET /api/jobs': () => ({ path: '/api/jobs?state=done&limit=5' }),
  'POST /api/jobs': () => ({ method: 'POST', path: '/api/jobs', body: { type: 'noop', input: 1 }, token: true }),
  'GET /api/jobs/:id': () => ({ path: `/api/jobs/${ids.ended}` }),
  'POST /api/jobs/:id/cancel': () => ({ method: 'POST', path: `/api/jobs/${ids.running}/cancel`, token: true }),
  'GET /api/swarmlets': () => ({ path: '/api/swarmlets?limit=10&taskType=busy' }),
  'GET /api/nodes': () => ({ path: '/api/nodes' }),
  'GET /api/decisions': () => ({ path: '/api/decisions?after=-1&limit=5' }),
  'GET /api/anomalies': () => ({ path: '/api/anomalies' }),
  'GET /api/forecasts': () => ({ path: '/api/forecasts' }),
  'GET /api/logs': () => ({ path: '/api/logs?swarmlet=s1' }),
};

/** A call that provokes each documented error of each route. */
const PROVOKE: Record<string, () => Call> = {
  'GET /api/status 400': () => ({ path: '/api/status?verbose=1' }),
  'GET /api/jobs 400': () => ({ path: '/api/jobs?limit=0' }),
  'POST /api/jobs 400': () => ({ method: 'POST', path: '/api/jobs', body: { type: 'nope' }, token: true }),
  'POST /api/jobs 429': () => ({
    method: 'POST',
    path: '/api/jobs',
    body: { type: 'noop', input: 0, priority: 'low' },
    token: true,
  }),
  'GET /api/jobs/:id 400': () => ({ path: '/api/jobs/a%20b' }),
  'GET /api/jobs/:id 404': () => ({ path: '/api/jobs/999999' }),
  'POST /api/jobs/:id/cancel 400': () => ({ method: 'POST', path: '/api/jobs/a%20b/cancel', token: true }),
  'POST /api/jobs/:id/cancel 404': () => ({ method: 'POST', path: '/api/jobs/999999/cancel', token: true }),
  'GET /api/swarmlets 400': () => ({ path: '/api/swarmlets?limit=-1' }),
  'GET /api/nodes 400': () => ({ path: '/api/nodes?x=1' }),
  'GET /api/decisions 400': () => ({ path: '/api/decisions?kind=explode' }),
  'GET /api/anomalies 400': () => ({ path: '/api/anomalies?after=1' }),
  'GET /api/forecasts 400': () => ({ path: '/api/forecasts?taskType=busy' }),
  'GET /api/logs 400': () => ({ path: '/api/logs' }),
};

/** 401: a change without the token anywhere; a read without it off loopback. */
function unauthorized(route: Route): Call {
  const call = VALID[keyOf(route)]!();
  return { ...call, token: false, guarded: !route.mutates };
}

beforeAll(async () => {
  swarm = await Swarm.start({
    tasks,
    maxSwarmlets: 1,
    tickMs: 20,
    admission: { low: 200, normal: 600_000, high: 600_000 },
    http: { port: 0 },
  });
  guarded = await Swarm.start({ tasks, maxSwarmlets: 1, http: { port: 0, host: '0.0.0.0', token: TOKEN } });
  leaderless = await startApiServer({
    operations: clusterOperations({ director: () => undefined, clock: wallEnvironment.clock }),
    environment: wallEnvironment,
    host: '127.0.0.1',
    port: 0,
  });
  await swarm.run(busy(5, 20)); // the usage model learns busy's duration: admission can then predict a backlog
  doc = (await send({ path: '/openapi.json' })).body as typeof doc;
}, 60_000);
afterAll(async () => {
  await swarm?.stop();
  await guarded?.stop();
  await leaderless?.close();
});

const pathOf = (route: Route) => route.path.replace(/:(\w+)/g, '{$1}');
const operationOf = (route: Route) => doc.paths[pathOf(route)]?.[route.method.toLowerCase()];

describe('/openapi.json', () => {
  it('documents every route of the table, and nothing else', () => {
    const documented = Object.entries(doc.paths).flatMap(([path, methods]) =>
      Object.keys(methods).map((method) => `${method.toUpperCase()} ${path}`),
    );
    expect(documented.sort()).toEqual(ROUTES.map((r) => `${r.method} ${pathOf(r)}`).sort());
    expect(Object.keys(VALID).sort()).toEqual(ROUTES.map(keyOf).sort());
  });
});

describe('every route with valid input answers its documented schema', () => {
  it('the document check is not vacuous: it refuses a wrong answer', async () => {
    const jobs = operationOf(ROUTES.find((r) => keyOf(r) === 'GET /api/jobs')!)!.responses['200']!.content[
      'application/json'
    ].schema;
    const answer = (await send({ path: '/api/jobs' })).body as { jobs: object[] };
    expect(schemaProblems(jobs, answer)).toEqual([]);
    expect(schemaProblems(jobs, {})).toEqual(['$: missing jobs']);
    expect(schemaProblems(jobs, { jobs: [{ ...answer.jobs[0], state: 'exploded', done: 1.5 }] })).toEqual([
      '$.jobs[0].state: not one of ["running","done","failed","cancelled"]',
      '$.jobs[0].done: not integer: 1.5',
    ]);
  });

  it.each(ROUTES.map((route) => [keyOf(route), route] as const))('%s', async (_key, route) => {
    const jobs = (await send({ path: '/api/jobs?state=done' })).body as { jobs: { id: string }[] };
    ids.ended = jobs.jobs[0]!.id;
    if (route.path.endsWith('/cancel'))
      ids.running = (
        (await send({ method: 'POST', path: '/api/jobs', body: busy(50, 20), token: true })).body as { jobId: string }
      ).jobId;
    const answer = await send(VALID[keyOf(route)]!());
    expect(answer.status).toBe(route.ok.status);
    const documented = operationOf(route)!.responses[String(route.ok.status)]!.content['application/json'].schema;
    expect(schemaProblems(documented, answer.body)).toEqual([]);
    expect(route.ok.schema.safeParse(answer.body).error?.issues ?? []).toEqual([]);
    if (route.path.endsWith('/cancel')) expect(answer.body).toEqual({ jobId: ids.running, state: 'cancelled' });
  });
});

describe('every documented error is provoked and answers the error schema', () => {
  const cases = ROUTES.flatMap((route) =>
    [400, 401, ...(route.errors ?? []), 503].map((status) => [`${keyOf(route)} ${status}`, route, status] as const),
  );

  it('the document lists exactly these errors per route', () => {
    for (const [, route, status] of cases) expect(Object.keys(operationOf(route)!.responses)).toContain(String(status));
    for (const route of ROUTES)
      expect(Object.keys(operationOf(route)!.responses).length).toBe(1 + 2 + (route.errors?.length ?? 0) + 1);
  });

  it.each(cases)('%s', async (key, route, status) => {
    if (status === 429) await send({ method: 'POST', path: '/api/jobs', body: busy(100, 20), token: true }); // a backlog
    const provoke =
      status === 401
        ? () => unauthorized(route)
        : status === 503
          ? () => ({ ...VALID[keyOf(route)]!(), leaderless: true })
          : PROVOKE[key];
    expect(provoke, `no request provokes ${key}`).toBeDefined();
    const answer = await send(provoke!());
    expect(answer.status).toBe(status);
    const documented = operationOf(route)!.responses[String(status)]!.content['application/json'].schema;
    expect(schemaProblems(documented, answer.body)).toEqual([]);
    const error = errorSchema.parse(answer.body).error;
    expect(error.field).not.toBe('');
    expect(error.fix).not.toBe('');
  });
});
