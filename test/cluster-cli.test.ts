/**
 * The cluster from the command line, on heterogeneous agents: `swarmlet run --redis` shows the
 * auctions' reasons, consent caps hold, and revoking consent moves a personal machine's work.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { runOnCluster } from '../src/runtime/cluster/cluster-client.js';
import { desiredStateSchema } from '../src/runtime/cluster/protocol.js';
import { Redis } from 'ioredis';
import { realCluster, spawnCli, startAgent, startDirector, waitFor } from './support/cluster.js';
import { startRedisServer } from './support/redis-server.js';
import { TEST_SIGN_KEY, SIGN_ARGS } from './support/signing.js';

const TTL_MS = 1_500;
const cluster = realCluster();
const spawned = cluster.spawned;

/** A server (dear, reliable), an edge box (cheaper) and a personal machine (cheapest; consent, half its cores). */
function heterogeneousCluster(): void {
  spawned(startDirector(cluster.server().url, TTL_MS));
  spawned(startAgent(cluster.server().url, 'server', TTL_MS, ['--kind', 'server', '--price', '0.0001']));
  spawned(startAgent(cluster.server().url, 'edge', TTL_MS, ['--kind', 'edge', '--price', '0.00004']));
  spawned(
    startAgent(cluster.server().url, 'laptop', TTL_MS, [
      '--personal',
      '--consent',
      '--max-cpu',
      '50%',
      '--price',
      '0.00002',
    ]),
  );
}

async function desiredCount(nodeId: string): Promise<number> {
  const raw = await cluster.redis().get(`swarmlet:desired:${nodeId}`);
  return raw === null ? 0 : desiredStateSchema.parse(JSON.parse(raw)).swarmlets.length;
}

it("swarmlet run --redis runs a split/join job on the cluster and prints each node's auction verdict", async () => {
  heterogeneousCluster();
  await waitFor('three agents', async () =>
    (await cluster.redis().keys('swarmlet:node:*')).length === 3 ? true : undefined,
  );
  const run = spawnSync(
    process.execPath,
    [
      'dist/cli.js',
      'run',
      'examples/merge-sort',
      '--set',
      'length=200000',
      '--set',
      'leaf=20000',
      '--redis',
      cluster.server().url,
      ...SIGN_ARGS,
      '--no-progress',
    ],
    { encoding: 'utf8', timeout: 60_000 },
  );
  expect(run.stderr).toBe('');
  expect(run.status).toBe(0);
  expect(run.stdout).toMatch(/^merge-sort \(cluster job [0-9a-f-]+\): done, \d+ micro-tasks in [\d.]+ s/);
  expect(run.stdout).toMatch(/latest placement auctions/);
  expect(run.stdout).toMatch(/laptop: won 1 slot/); // the cheapest node is filled first
  expect(run.stdout).toMatch(/output: \{"count":200000,.*"sorted":true\}/);
  expect(await desiredCount('laptop')).toBeLessThanOrEqual(1); // its consent cap: half of 2 cores
}, 60_000);

it("revoking a personal machine's consent (SIGUSR2) drains it at once: its work runs elsewhere and the job completes", async () => {
  heterogeneousCluster();
  const laptop = cluster.children()[3]!;
  const log = join(mkdtempSync(join(tmpdir(), 'swarmlet-revoke-')), 'work.log');
  const job = {
    tasks: Array.from({ length: 24 }, (_, i) => ({ id: `w${i}`, type: 'cluster-work', input: { ms: 150, log } })),
  };
  const running = runOnCluster(['test/fixtures/cluster-work.task.ts'], job, {
    redisUrl: cluster.server().url,
    cacheDir: '.swarmlet/cache',
    signKey: TEST_SIGN_KEY,
  });
  await waitFor('the laptop to get a swarmlet', async () => ((await desiredCount('laptop')) > 0 ? true : undefined));
  laptop.process.kill('SIGUSR2');
  await waitFor(
    "the director to take the laptop's swarmlets away",
    async () => ((await desiredCount('laptop')) === 0 ? true : undefined),
    5 * TTL_MS,
  );
  const { outcome } = await running;
  expect(outcome.status).toBe('done');
  expect(Object.keys(outcome.output as object)).toHaveLength(24);
  expect(laptop.output()).toMatch(/consent revoked/i);
}, 60_000);

it('a personal machine without --consent is refused with what to add', () => {
  const agent = spawnSync(process.execPath, ['dist/cli.js', 'agent', '--redis', cluster.server().url, '--personal'], {
    encoding: 'utf8',
    timeout: 20_000,
  });
  expect(agent.status).toBe(2);
  expect(agent.stderr).toMatch(/personal machines join only with explicit consent: add --consent/);
  expect(agent.stderr).not.toMatch(/\n\s+at /); // no stack trace
});

it('serve refuses a bad flag with the field and the fix', () => {
  const serve = spawnCli(['serve', '--redis', cluster.server().url, '--tick-ms', 'soon']);
  spawned(serve);
  return waitFor('serve to exit', () => (serve.process.exitCode !== null ? serve.process.exitCode : undefined)).then(
    (code) => {
      expect(code).toBe(2);
      expect(serve.output()).toMatch(/--tick-ms: "soon" is not a positive number/);
    },
  );
});

it('run --redis and serve with no Redis behind the URL: one clear line, exit 2, no hang', () => {
  for (const args of [
    ['run', 'examples/merge-sort', '--redis', 'redis://127.0.0.1:1'],
    ['serve', '--redis', 'redis://127.0.0.1:1'],
  ]) {
    const result = spawnSync(process.execPath, ['dist/cli.js', ...args], { encoding: 'utf8', timeout: 20_000 });
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(
      /^swarmlet: --redis: cannot reach Redis at redis:\/\/127\.0\.0\.1:1 \(.*\)\. Fix: start redis-server/,
    );
  }
});

it('an agent told to leave after its Redis died exits within the bound, saying why, instead of waiting forever', async () => {
  const own = await startRedisServer();
  const agent = spawned(startAgent(own.url, 'orphan', TTL_MS));
  const redis = new Redis(own.url);
  await waitFor('the agent to join', async () =>
    (await redis.exists('swarmlet:node:orphan')) === 1 ? true : undefined,
  );
  await redis.quit();
  await own.stop();
  const exited = new Promise<number | null>((resolve) => agent.process.once('exit', (code) => resolve(code)));
  agent.process.kill('SIGTERM');
  expect(await exited).toBe(1);
  expect(agent.output()).toMatch(/could not leave gracefully within 10000 ms \(is Redis reachable\?\): exiting/);
}, 30_000);
