/**
 * The reported cluster-edge failures with real processes (the built CLI's serve, agent and run):
 * garbage in the director's lease no longer makes `serve` step down and exit, and a client whose
 * director goes away says so instead of waiting silently. Run `npm run build` first.
 */
import { expect, it } from 'vitest';
import { realCluster, spawnCli, startAgent, startDirector, waitFor } from './support/cluster.js';
import { SIGN_ARGS } from './support/signing.js';

const TTL_MS = 1_500;
const cluster = realCluster();
const runJob = (url: string) =>
  spawnCli([
    'run',
    'examples/merge-sort',
    '--set',
    'length=20000',
    '--set',
    'leaf=5000',
    '--redis',
    url,
    ...SIGN_ARGS,
    '--no-progress',
  ]);

it('garbage in the lease key: serve repairs it, says so once, keeps running, and the next client gets its result', async () => {
  const url = cluster.server().url;
  const director = cluster.spawned(startDirector(url, TTL_MS));
  cluster.spawned(startAgent(url, 'a1', TTL_MS));
  await waitFor(
    'the director and its agent',
    async () => director.output().includes('director up') && (await cluster.redis().exists('swarmlet:node:a1')) === 1,
  );
  await cluster.redis().set('swarmlet:director', 'garbage');
  const client = cluster.spawned(runJob(url));
  await waitFor('the client to end', () => client.process.exitCode !== null, 30_000);
  expect(client.output()).toMatch(/^merge-sort \(cluster job [0-9a-f-]+\): done/);
  expect(client.process.exitCode).toBe(0);
  expect(director.process.exitCode).toBeNull(); // still serving
  expect(director.output()).not.toMatch(/stepping down/);
  expect(director.output().match(/swarmlet:director held \\?"garbage\\?"/g)).toHaveLength(1);
}, 60_000);

it('run --redis says when its director goes away while it waits, naming why', async () => {
  const url = cluster.server().url;
  const director = cluster.spawned(startDirector(url, TTL_MS)); // no agent: the job waits
  await waitFor('the director', () => director.output().includes('director up'));
  const client = cluster.spawned(runJob(url));
  await waitFor('the job in the log', async () => (await cluster.redis().xlen('swarmlet:log')) === 1);
  await director.stop('SIGKILL'); // its lease expires within 10 ticks (1 s)
  await waitFor('the client to say so', () => client.output().includes('the director stopped'), 10_000);
  expect(client.output()).toMatch(
    /^swarmlet: the director stopped \(swarmlet:director is free\); the job waits in the log until `swarmlet serve --redis …` starts$/m,
  );
}, 60_000);

it('the lease and its epoch both garbled: serve steps down and starts again from the log, and jobs are still served', async () => {
  const url = cluster.server().url;
  const director = cluster.spawned(startDirector(url, TTL_MS));
  cluster.spawned(startAgent(url, 'a1', TTL_MS));
  await waitFor(
    'the director and its agent',
    async () => director.output().includes('director up') && (await cluster.redis().exists('swarmlet:node:a1')) === 1,
  );
  await cluster
    .redis()
    .multi()
    .del('swarmlet:director')
    .rpush('swarmlet:director', 'x')
    .set('swarmlet:director:epoch', 'y')
    .exec();
  await waitFor('the director to start again', () =>
    director.output().includes('stepped down: starting again from the log'),
  );
  const client = cluster.spawned(runJob(url));
  await waitFor('the client to end', () => client.process.exitCode !== null, 30_000);
  expect(client.output()).toMatch(/^merge-sort \(cluster job [0-9a-f-]+\): done/);
  expect(director.process.exitCode).toBeNull();
}, 60_000);
