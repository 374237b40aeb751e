/**
 * The HTTP API of `swarmlet serve`: a real redis-server, the built CLI's director with --http and an agent as child
 * processes. Jobs come in through the existing client path; one is cancelled over the API while the other runs on.
 */
import { chmodSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { runOnCluster } from '../src/runtime/cluster/cluster-client.js';
import { realCluster, spawnCli, startAgent, waitFor, type Child } from './support/cluster.js';
import { TEST_SIGN_KEY } from './support/signing.js';

const TTL_MS = 1_500;
const TASK = 'test/fixtures/cluster-work.task.ts';
const dir = mkdtempSync(join(tmpdir(), 'swarmlet-cluster-api-'));
const TOKEN = 'a-test-token-for-the-cluster-api';
const tokenFile = join(dir, 'token');
writeFileSync(tokenFile, `${TOKEN}\n`, { mode: 0o600 });
const cluster = realCluster();

const workJob = (count: number, ms: number, log: string) => ({
  tasks: Array.from({ length: count }, (_, i) => ({ id: `w${i}`, type: 'cluster-work', input: { ms, log } })),
});

function startServe(): Child {
  return cluster.spawned(
    spawnCli([
      'serve',
      '--redis',
      cluster.server().url,
      '--tick-ms',
      '100',
      '--node-ttl-ms',
      String(TTL_MS),
      '--http',
      '127.0.0.1:0',
      '--http-token-file',
      tokenFile,
    ]),
  );
}

const apiUrl = (serve: Child) =>
  waitFor('the API URL', () => /HTTP API and dashboard on (http:\/\/[^\s";]+)/.exec(serve.output())?.[1]);

interface Answer {
  state: string;
  jobs: { id: string; state: string; done: number; total: number; byType: { taskType: string; running: number }[] }[];
  nodes: { id: string; kind: string; state: string; capacity: number; verdicts: { verdict: string }[] }[];
  decisions: { seq: number; reason: string }[];
  next: number;
  swarmlets: { node: string; taskType: string }[];
  error: { field: string; message: string; fix: string };
}

async function call(url: string, path: string, init: RequestInit & { token?: string } = {}) {
  const headers: Record<string, string> = {};
  if (init.token) headers.authorization = `Bearer ${init.token}`;
  const response = await fetch(`${url}${path}`, { ...init, headers });
  return { status: response.status, body: (await response.json()) as Answer };
}

/** Micro-tasks waiting in the cluster's BullMQ queues (waiting and prioritized jobs). */
async function waitingInQueues(): Promise<number> {
  const redis = cluster.redis();
  let waiting = 0;
  for (const key of await redis.keys('swarmlet:q:*:wait')) waiting += await redis.llen(key);
  for (const key of await redis.keys('swarmlet:q:*:prioritized')) waiting += await redis.zcard(key);
  return waiting;
}

const starts = (log: string) => {
  try {
    return readFileSync(log, 'utf8')
      .split('\n')
      .filter((line) => line.includes(' start ')).length;
  } catch {
    return 0;
  }
};

it('lists cluster jobs with progress, cancels one over the API (others unaffected, its queue emptied, its client told), shows nodes and decisions, and a restarted director keeps the cancellation', async () => {
  let serve = startServe();
  const url = await apiUrl(serve);
  cluster.spawned(startAgent(cluster.server().url, 'a1', TTL_MS, ['--kind', 'server', '--price', '0.0001']));
  const longLog = join(dir, 'long.log');
  const shortLog = join(dir, 'short.log');
  const client = { redisUrl: cluster.server().url, cacheDir: '.swarmlet/cache', signKey: TEST_SIGN_KEY };
  const long = runOnCluster([TASK], workJob(60, 150, longLog), { ...client, jobKey: 'long-job' });
  await waitFor('the long job to run', () => starts(longLog) > 0);
  const short = runOnCluster([TASK], workJob(6, 20, shortLog), { ...client, jobKey: 'short-job' });

  const listed = await waitFor('both jobs in the list', async () => {
    const { body } = await call(url, '/api/jobs');
    return body.jobs.length === 2 ? body.jobs : undefined;
  });
  const longView = listed.find((j) => j.id === 'long-job')!;
  expect(longView).toMatchObject({ state: 'running', total: 60 });
  expect(longView.byType[0]).toMatchObject({ taskType: 'cluster-work', total: 60 });

  expect(await waitingInQueues()).toBeGreaterThanOrEqual(40); // most of the long job waits in BullMQ
  const refused = await call(url, '/api/jobs/long-job/cancel', { method: 'POST' });
  expect(refused.status).toBe(401);
  expect(refused.body.error.field).toBe('authorization');
  const cancelled = await call(url, '/api/jobs/long-job/cancel', { method: 'POST', token: TOKEN });
  expect(cancelled).toEqual({ status: 200, body: { jobId: 'long-job', state: 'cancelled' } });
  const startsAtCancel = starts(longLog);

  const longOutcome = (await long).outcome;
  expect(longOutcome.status).toBe('cancelled');
  expect(longOutcome.error).toMatch(/^cancelled: POST \/api\/jobs\/long-job\/cancel/);
  const shortOutcome = (await short).outcome;
  expect(shortOutcome.status).toBe('done');
  expect(shortOutcome.output).toEqual(Object.fromEntries(Array.from({ length: 6 }, (_, i) => [`w${i}`, `w${i}`])));
  // Its waiting micro-tasks left the queues; at most what agents had already leased still ran.
  await waitFor('the queues to empty', async () => (await waitingInQueues()) === 0);
  expect(starts(longLog)).toBeLessThan(60);
  expect(starts(longLog) - startsAtCancel).toBeLessThanOrEqual(8);
  const again = await call(url, '/api/jobs/long-job/cancel', { method: 'POST', token: TOKEN });
  expect(again.body.state).toBe('cancelled');
  expect((await call(url, '/api/jobs/nope/cancel', { method: 'POST', token: TOKEN })).status).toBe(404);

  const { body: nodes } = await call(url, '/api/nodes');
  const a1 = nodes.nodes.find((n) => n.id === 'a1')!;
  expect(a1).toMatchObject({ kind: 'server', state: 'alive' });
  expect(a1.capacity).toBeGreaterThan(0);
  expect(a1.verdicts.some((v) => /won/.test(v.verdict))).toBe(true);
  expect((await call(url, '/api/swarmlets')).body.swarmlets.some((s) => s.node === 'a1')).toBe(true);

  const first = await call(url, '/api/decisions?limit=1');
  expect(first.body.decisions).toHaveLength(1);
  expect(first.body.decisions[0]!.reason).toMatch(/→/);
  const second = await call(url, `/api/decisions?after=${first.body.next}&limit=1`);
  expect(second.body.decisions[0]!.seq).toBeGreaterThan(first.body.decisions[0]!.seq);

  // A new director replays the log: the cancellation is in it.
  await serve.stop('SIGKILL');
  serve = startServe();
  const restartedUrl = await apiUrl(serve);
  const job = await waitFor('the restarted director to know the job', async () => {
    const answer = await call(restartedUrl, '/api/jobs/long-job');
    return answer.status === 200 ? answer.body : undefined;
  });
  expect(job.state).toBe('cancelled');
  expect((await call(restartedUrl, '/api/jobs/short-job')).body.state).toBe('done');
}, 60_000);

it('submits over the API a job of a registered type, and refuses an unregistered one naming the field and the fix', async () => {
  const serve = startServe();
  const url = await apiUrl(serve);
  cluster.spawned(startAgent(cluster.server().url, 'b1', TTL_MS));
  const log = join(dir, 'registered.log');
  const client = { redisUrl: cluster.server().url, cacheDir: '.swarmlet/cache', signKey: TEST_SIGN_KEY };
  await runOnCluster([TASK], workJob(1, 1, log), client); // registers the bundle
  const unknown = await fetch(`${url}/api/jobs`, {
    method: 'POST',
    body: JSON.stringify({ type: 'never-registered', input: {} }),
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
  });
  expect(unknown.status).toBe(400);
  const error = ((await unknown.json()) as Answer).error;
  expect(error.field).toBe('job.type');
  expect(error.fix).toMatch(/swarmlet run --redis/);
  const submitted = await fetch(`${url}/api/jobs`, {
    method: 'POST',
    body: JSON.stringify(workJob(3, 5, log)),
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
  });
  expect(submitted.status).toBe(201);
  const { jobId } = (await submitted.json()) as { jobId: string };
  await waitFor('the submitted job to end', async () => {
    const answer = await call(url, `/api/jobs/${jobId}`);
    return answer.body.state === 'done' ? true : undefined;
  });
}, 60_000);

it('serve refuses a token file readable by everyone, naming the flag', async () => {
  const open = join(dir, 'open-token');
  writeFileSync(open, TOKEN);
  chmodSync(open, 0o644);
  const serve = cluster.spawned(
    spawnCli(['serve', '--redis', cluster.server().url, '--http', '0.0.0.0:0', '--http-token-file', open]),
  );
  const code = await waitFor('serve to exit', () => serve.process.exitCode ?? undefined);
  expect(code).toBe(2);
  expect(serve.output()).toMatch(/--http-token-file: .*readable by every user.*chmod 600/s);
});
