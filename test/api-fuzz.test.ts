import { Agent, request as httpRequest } from 'node:http';
import fc from 'fast-check';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ROUTES } from '../src/api/routes.js';
import { errorSchema } from '../src/api/schemas.js';
import { Swarm } from '../src/swarm.js';

// 5,000 generated requests against a real embedded swarm's API: random methods, paths (documented, mutated, unknown,
// traversal, very long), query strings, bodies and content types, with and without the token. Every answer is bounded
// in time, none is a 5xx, every refusal is the JSON error shape naming a field, no body carries a stack, and the swarm
// still runs a job correctly afterwards. SWARMLET_FUZZ_SEED=n replays a run; failures print the seed and the request.
const SEED = Number(process.env.SWARMLET_FUZZ_SEED ?? 1_405_2026);
const RUNS = Number(process.env.SWARMLET_FUZZ_RUNS ?? 5_000);
const CONCURRENCY = 16;
const TIMEOUT_MS = 5_000;
const tasks = ['test/fixtures/noop.task.ts', 'test/fixtures/busy.task.ts'];
let swarm: Swarm;
const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY });

beforeAll(async () => {
  swarm = await Swarm.start({ tasks, maxSwarmlets: 2, tickMs: 20, http: { port: 0 } });
});
afterAll(async () => {
  agent.destroy();
  await swarm?.stop();
});

interface FuzzRequest {
  readonly method: string;
  readonly path: string;
  readonly headers: Record<string, string>;
  readonly body?: string;
}

const documented = ROUTES.map((route) => route.path);
const unicode = fc.string({ unit: 'grapheme', maxLength: 12 });
const anyId = fc.oneof(fc.constantFrom('1', '2', '0', '-1', '999999', '1e3', '__proto__', 's1'), unicode);

/** Percent-encodes what a request line cannot carry raw, and leaves dots, slashes and `%` as generated. */
const raw = (text: string) => text.replace(/[^\x21-\x7e]/gu, (c) => encodeURIComponent(c));

const paths = fc.oneof(
  fc.tuple(fc.constantFrom(...documented), anyId).map(([path, id]) => path.replace(':id', encodeURIComponent(id))),
  fc
    .tuple(
      fc.constantFrom(...documented, '/openapi.json', '/metrics', '/', '/dashboard/index.html'),
      fc.nat(5),
      unicode,
    )
    .map(([path, how, extra]) =>
      [
        `${path}/`,
        path.toUpperCase(),
        path.replace('/api', '/api//'),
        `${path}/${extra}`,
        `${path}${extra}`,
        `/${extra}${path}`,
      ][how]!.replace(':id', '1'),
    ),
  fc.array(unicode, { minLength: 1, maxLength: 5 }).map((parts) => `/${parts.join('/')}`),
  fc.constantFrom(
    '/dashboard/../../etc/passwd',
    '/dashboard/%2e%2e/%2e%2e/etc/passwd',
    '/dashboard/..%2f..%2f..%2fetc%2fpasswd',
    '/vendor/../../package.json',
    '/dashboard/..\\..\\etc\\passwd',
    '//etc/passwd',
    '/dashboard/index.html%00.js',
    '/dashboard/%00',
    '/api/jobs/..%2f..%2fetc%2fpasswd',
    '/api/jobs/%2e%2e/cancel',
    '/%',
    '/api/%zz',
    '*',
  ),
  fc.integer({ min: 100, max: 40_000 }).map((length) => `/api/${'a'.repeat(length)}`),
  fc.integer({ min: 100, max: 2_000 }).map((depth) => `/api/jobs${'/x'.repeat(depth)}`),
);

const queryKey = fc.oneof(
  fc.constantFrom('state', 'limit', 'after', 'kind', 'taskType', 'swarmlet', 'microTask', 'token', '__proto__'),
  unicode,
  fc.constantFrom('limit[]', 'state[0]', 'a.b', ''),
);
const queryValue = fc.oneof(
  fc.integer().map(String),
  fc.constantFrom('1e400', '9'.repeat(400), '-0', 'NaN', 'Infinity', '0x10', '1.5', '', 'running', 'done', 'replicate'),
  unicode,
  fc.constantFrom('%', '%zz', '%00', '%ff%fe'),
);
const queries = fc.oneof(
  fc.constant(''),
  fc
    .array(fc.tuple(queryKey, queryValue), { maxLength: 6 })
    .map((pairs) => (pairs.length === 0 ? '' : `?${pairs.map(([k, v]) => `${raw(k)}=${raw(v)}`).join('&')}`)),
);

const jobShaped = fc.oneof(
  fc
    .record({ type: fc.constantFrom('noop', 'busy', 'nope'), input: fc.jsonValue({ maxDepth: 3 }) })
    .map((job) => (job.type === 'busy' ? { type: 'busy', input: { ms: 2 } } : job)),
  fc.record({
    tasks: fc.array(
      fc.record({
        id: fc.constantFrom('a', 'b', 'c', ''),
        type: fc.constantFrom('noop', 'nope', '__proto__'),
        input: fc.jsonValue({ maxDepth: 2 }),
        deps: fc.array(fc.constantFrom('a', 'b', 'c', 'z'), { maxLength: 3 }),
      }),
      { maxLength: 5 },
    ),
    priority: fc.constantFrom('low', 'normal', 'high', 'urgent'),
  }),
  fc.record({ jobFile: unicode }),
);
const bodies = fc.oneof(
  { arbitrary: fc.constant(undefined), weight: 3 },
  { arbitrary: jobShaped.map((job) => JSON.stringify(job)), weight: 3 },
  { arbitrary: fc.jsonValue({ maxDepth: 4 }).map((value) => JSON.stringify(value)), weight: 2 },
  { arbitrary: fc.string({ maxLength: 200 }), weight: 1 },
  {
    arbitrary: fc
      .integer({ min: 10_000, max: 1_000_000 })
      .map((n) => JSON.stringify({ type: 'noop', input: 'x'.repeat(n) })),
    weight: 1,
  },
  { arbitrary: fc.integer({ min: 1_000, max: 200_000 }).map((d) => `${'['.repeat(d)}${']'.repeat(d)}`), weight: 1 },
  {
    arbitrary: fc.integer({ min: 1_000, max: 100_000 }).map((d) => `${'{"input":'.repeat(d)}1${'}'.repeat(d)}`),
    weight: 1,
  },
  {
    arbitrary: fc.constantFrom(
      '{"__proto__":{"type":"noop","polluted":true},"input":1}',
      '{"type":"noop","input":{"__proto__":{"polluted":true}}}',
      '{"constructor":{"prototype":{"polluted":true}},"type":"noop"}',
      '{"tasks":{"length":1e9}}',
      '{"type":"noop","input":1,"type":"nope"}',
      'null',
      '"',
      '\u0000',
    ),
    weight: 1,
  },
);
const contentTypes = fc.constantFrom(
  'application/json',
  'application/json',
  'application/json; charset=utf-8',
  'application/json; charset=latin1',
  'text/plain',
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=x',
  'application/xml',
  '*/*',
  '',
  undefined,
);
const auth = fc.constantFrom('none', 'bearer', 'wrong', 'query', 'basic');

const anyMethod = fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'HEAD');
/** Most requests reach a route (its method and path) so the handlers see the generated input, not the 404. */
const routed = fc
  .tuple(fc.constantFrom(...ROUTES), anyId)
  .map(([route, id]) => ({ method: route.method as string, path: route.path.replace(':id', encodeURIComponent(id)) }));
const requests = fc
  .record({
    target: fc.oneof(
      { arbitrary: routed, weight: 3 },
      { arbitrary: fc.record({ method: anyMethod, path: paths }), weight: 2 },
    ),
    query: queries,
    body: bodies,
    contentType: contentTypes,
    auth,
  })
  .map(({ target, ...rest }) => ({ ...target, ...rest }))
  .map(({ method, path, query, body, contentType, auth: how }): FuzzRequest => {
    const token = swarm.http!.token;
    const headers: Record<string, string> = {};
    if (contentType !== undefined) headers['content-type'] = contentType;
    if (how === 'bearer') headers.authorization = `Bearer ${token}`;
    if (how === 'wrong') headers.authorization = `Bearer ${token.slice(1)}x`;
    if (how === 'basic') headers.authorization = 'Basic dXNlcjpwYXNz';
    const withToken = how === 'query' ? `${query === '' ? '?' : `${query}&`}token=${token}` : query;
    return { method, path: `${raw(path)}${withToken}`, headers, ...(body !== undefined && { body }) };
  });

interface Answer {
  readonly status: number;
  readonly contentType: string;
  readonly body: string;
}

/** One request over a raw socket (fetch would normalize `..` away); an event stream is read up to its headers. */
function send(req: FuzzRequest): Promise<Answer> {
  const { hostname, port } = new URL(swarm.http!.url);
  return new Promise((resolve, reject) => {
    // A body is framed by its length whatever the method (node sends a DELETE's body unframed otherwise).
    const headers =
      req.body === undefined ? req.headers : { ...req.headers, 'content-length': String(Buffer.byteLength(req.body)) };
    const outgoing = httpRequest(
      { agent, hostname, port, method: req.method, path: req.path, headers, timeout: TIMEOUT_MS },
      (response) => {
        const contentType = String(response.headers['content-type'] ?? '');
        if (contentType.startsWith('text/event-stream')) {
          response.destroy();
          return resolve({ status: response.statusCode!, contentType, body: '' });
        }
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () =>
          resolve({ status: response.statusCode!, contentType, body: Buffer.concat(chunks).toString('utf8') }),
        );
        response.on('error', reject);
      },
    );
    outgoing.on('timeout', () => outgoing.destroy(new Error(`no answer within ${TIMEOUT_MS} ms`)));
    outgoing.on('error', reject);
    outgoing.end(req.body);
  });
}

const STACK = /\n\s+at |node:internal|\.[jt]s:\d+:\d+/;

/** What is wrong with an answer, if anything. */
export function answerProblem(req: FuzzRequest, answer: Answer): string | undefined {
  if (answer.status >= 500) return `status ${answer.status}: ${answer.body.slice(0, 300)}`;
  if (answer.body.includes('root:x:0:0')) return 'served /etc/passwd';
  const json = answer.contentType.startsWith('application/json');
  if (json && STACK.test(answer.body)) return `a stack in the body: ${answer.body.slice(0, 300)}`;
  if (answer.status < 300 || req.method === 'HEAD') return undefined;
  if (!json)
    return `status ${answer.status} with ${answer.contentType || 'no content type'}: ${answer.body.slice(0, 200)}`;
  let parsed: unknown;
  try {
    parsed = JSON.parse(answer.body);
  } catch {
    return `status ${answer.status}, body not JSON: ${answer.body.slice(0, 200)}`;
  }
  const error = errorSchema.safeParse(parsed);
  if (!error.success) return `status ${answer.status}, not the error shape: ${answer.body.slice(0, 200)}`;
  if (error.data.error.field === '') return `status ${answer.status} with an empty field: ${answer.body.slice(0, 200)}`;
  return undefined;
}

const describeRequest = (req: FuzzRequest) =>
  JSON.stringify({ ...req, path: req.path.slice(0, 200), body: req.body?.slice(0, 200) });

it(`${RUNS} generated requests: bounded, no 5xx, refusals in the error shape, no stacks; the swarm runs on`, async () => {
  console.log(`api fuzz: seed ${SEED} (replay: SWARMLET_FUZZ_SEED=${SEED}), ${RUNS} requests`);
  const generated = fc.sample(requests, { seed: SEED, numRuns: RUNS });
  const problems: string[] = [];
  const statuses = new Map<number, number>();
  let next = 0;
  const startedMs = performance.now();
  const worker = async () => {
    while (next < generated.length) {
      const index = next++;
      const req = generated[index]!;
      try {
        const answer = await send(req);
        statuses.set(answer.status, (statuses.get(answer.status) ?? 0) + 1);
        const problem = answerProblem(req, answer);
        if (problem) problems.push(`#${index} ${problem}\n  request: ${describeRequest(req)}`);
      } catch (error) {
        // Headers over 16 KB are refused before the method is known: a HEAD's 431 then carries a body.
        if (req.method === 'HEAD' && req.path.length > 16_000 && /Data after `Connection: close`/.test(String(error)))
          continue;
        problems.push(`#${index} ${(error as Error).message}\n  request: ${describeRequest(req)}`);
      }
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  const elapsedMs = performance.now() - startedMs;
  console.log(
    `api fuzz: ${RUNS} requests in ${(elapsedMs / 1000).toFixed(1)} s; statuses ${JSON.stringify(Object.fromEntries([...statuses].sort()))}`,
  );
  expect(problems.slice(0, 10), `seed ${SEED}: ${problems.length} problems`).toEqual([]);
  // Still serving, and still running jobs right.
  const status = await send({ method: 'GET', path: '/api/status', headers: {} });
  expect(status.status).toBe(200);
  await expect(
    swarm.run({ tasks: Array.from({ length: 10 }, (_, i) => ({ id: `n${i}`, type: 'noop', input: i })) }),
  ).resolves.toEqual({ n0: 0, n1: 1, n2: 2, n3: 3, n4: 4, n5: 5, n6: 6, n7: 7, n8: 8, n9: 9 });
}, 120_000);

it('a body over the limit is refused as JSON naming the body', async () => {
  const answer = await send({
    method: 'POST',
    path: '/api/jobs',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${swarm.http!.token}` },
    body: JSON.stringify({ type: 'noop', input: 'x'.repeat(9 * 2 ** 20) }),
  });
  expect(answer.status).toBe(413);
  expect(errorSchema.parse(JSON.parse(answer.body)).error.field).toBe('body');
});

it.each([
  ['an array nested 200,000 deep', `${'['.repeat(200_000)}${']'.repeat(200_000)}`],
  ['a job input nested 100,000 deep', `{"type":"noop","input":${'['.repeat(100_000)}${']'.repeat(100_000)}}`],
  ['__proto__ at the top', '{"__proto__":{"type":"noop","polluted":true},"input":1}'],
  ['constructor.prototype', '{"constructor":{"prototype":{"polluted":true}},"type":"noop","input":1}'],
  ['a DAG with a cycle', '{"tasks":[{"id":"a","type":"noop","deps":["b"]},{"id":"b","type":"noop","deps":["a"]}]}'],
])('POST /api/jobs with the token and %s: no 5xx, nothing polluted', async (_name, body) => {
  const answer = await send({
    method: 'POST',
    path: '/api/jobs',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${swarm.http!.token}` },
    body,
  });
  expect(answerProblem({ method: 'POST', path: '/api/jobs', headers: {} }, answer)).toBeUndefined();
  expect(({} as { polluted?: unknown }).polluted).toBeUndefined();
});
