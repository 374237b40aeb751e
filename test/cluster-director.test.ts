/** The cluster as a library: director and agent in this process (no log callbacks), a real redis-server. */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ClusterAgent } from '../src/runtime/cluster/agent.js';
import { runOnCluster } from '../src/runtime/cluster/cluster-client.js';
import type { JobInput } from '../src/core/job.js';
import { ClusterDirector, type DirectorOptions } from '../src/runtime/cluster/director.js';
import { DirectorLease } from '../src/runtime/cluster/director-lease.js';
import { Redis } from 'ioredis';
import { logBaseSchema } from '../src/runtime/cluster/protocol.js';
import { lineLogger } from './support/recording-logger.js';
import { loggedResults, waitFor } from './support/cluster.js';
import { startRedisServer, type RedisServer } from './support/redis-server.js';
import { commandsAfterQuit, endsWithin, holdNextCall } from './support/stop-races.js';
import { TEST_SIGN_KEY, TRUSTED } from './support/signing.js';

let server: RedisServer;
beforeAll(async () => {
  server = await startRedisServer();
});
afterAll(async () => {
  await server.stop();
});

const SQUARE = ['test/fixtures/square.task.ts'];

/** A director and one agent in this process on `prefix`, and a way to run a job on them. */
async function libraryCluster(prefix: string, director: Partial<DirectorOptions> = {}) {
  const options = { redisUrl: server.url, prefix, cacheDir: '.swarmlet/cache', signKey: TEST_SIGN_KEY };
  const started = await ClusterDirector.start({ redisUrl: server.url, prefix, tickMs: 50, ...director });
  const agent = await ClusterAgent.start({
    ...TRUSTED,
    redisUrl: server.url,
    prefix,
    nodeId: 'lib',
    heartbeatMs: 100,
    ttlMs: 1_000,
  });
  return {
    director: started,
    run: (job: JobInput) => runOnCluster(SQUARE, job, options),
    async stop() {
      await agent.stop();
      await started.stop().catch(() => undefined);
    },
  };
}

it('a director and an agent started from code run a split/join job to its output, with no log callbacks given', async () => {
  const cluster = await libraryCluster('swarmlet');
  try {
    // Splits into halves down to ranges of ≤ 100 (16 leaves), joins back up: split and join across the cluster.
    const { outcome } = await cluster.run({ type: 'square-sum', input: { from: 0, to: 1_000 } });
    expect(outcome.error).toBeUndefined();
    expect(outcome.status).toBe('done');
    expect(outcome.output).toBe(332_833_500); // Σ i² for i < 1000
    expect(outcome.microTasks).toBe(31 + 15); // 15 splits + 16 leaves, then 15 joins
  } finally {
    await cluster.stop();
  }
}, 30_000);

it('the log is trimmed once jobs finish; a restarted director starts from the trimmed log with the same id counters', async () => {
  const redis = new Redis(server.url);
  const cluster = await libraryCluster('trim', { logRetentionMs: 0 });
  const job = { type: 'square-sum', input: { from: 0, to: 400 } };
  try {
    const first = await cluster.run(job);
    expect(first.outcome.output).toBe(21_253_400); // Σ i² for i < 400
    await waitFor('the finished job to be trimmed from the log', async () =>
      (await redis.xlen('trim:log')) === 0 ? true : undefined,
    );
    const base = logBaseSchema.parse(JSON.parse((await redis.get('trim:log-base'))!));
    expect(base.nextTaskId).toBe(8); // 7 ids were used: the root, 2 halves, 4 quarters (a join reuses its parent's id)
    await cluster.director.stop();
    const restarted = await ClusterDirector.start({
      redisUrl: server.url,
      prefix: 'trim',
      tickMs: 50,
      logRetentionMs: 0,
    });
    try {
      const second = await cluster.run(job);
      expect(second.outcome.output).toBe(21_253_400);
      expect(second.outcome.duplicateResults).toBe(0);
      // The new job's micro-tasks were numbered after the trimmed ones: no id was reused.
      const ids = (await loggedResults(redis, 'trim')).map((r) => r.id);
      expect(Math.min(...ids)).toBeGreaterThanOrEqual(base.nextTaskId);
    } finally {
      await restarted.stop();
    }
  } finally {
    await cluster.stop();
    await redis.quit();
  }
}, 30_000);

it('one director per prefix: a second one waits for the lease, takes over at a graceful stop, and gives up clearly while the first lives', async () => {
  const first = await ClusterDirector.start({ redisUrl: server.url, prefix: 'lease', tickMs: 50 });
  await expect(
    ClusterDirector.start({ redisUrl: server.url, prefix: 'lease', tickMs: 50, leaseWaitMs: 300 }),
  ).rejects.toThrow(
    /^--prefix: another director \([0-9a-f-]+\) is running on this Redis with this prefix\. Fix: stop it first/,
  );
  const lines: string[] = [];
  const waiting = ClusterDirector.start({
    redisUrl: server.url,
    prefix: 'lease',
    tickMs: 50,
    leaseWaitMs: 10_000,
    logger: lineLogger(lines),
  });
  await waitFor('the second director to wait', () =>
    lines.some((l) => l.startsWith('waiting for the lease of director')) ? true : undefined,
  );
  await first.stop(); // hands the lease over at once
  const second = await waiting;
  await second.stop();
}, 30_000);

it('a director that loses its lease to another steps down: done settles, and it stops acting', async () => {
  const redis = new Redis(server.url);
  const lines: string[] = [];
  const director = await ClusterDirector.start({
    redisUrl: server.url,
    prefix: 'usurp',
    tickMs: 50,
    logger: lineLogger(lines),
  });
  try {
    // Another director took the prefix (it counts its taking in the epoch; garbage without that is repaired instead).
    await redis.multi().set('usurp:director', randomUUID(), 'PX', 60_000).incr('usurp:director:epoch').exec();
    await director.done;
    expect(lines).toContainEqual(
      expect.stringMatching(/^lost the director lease \(another director took the prefix, .*\): stepping down$/),
    );
  } finally {
    await director.stop();
    await redis.quit();
  }
}, 30_000);

it('a stop waits for the tick under way: nothing is sent on any connection after its QUIT', async () => {
  const cluster = await libraryCluster('held');
  const sent = commandsAfterQuit();
  const tick = holdNextCall(DirectorLease.prototype, 'renew'); // a tick's first step
  try {
    await tick.held; // a tick is under way (with the agent's node to read after it)
    const stopping = cluster.director.stop();
    const endedFirst = await endsWithin(stopping, 300);
    tick.release();
    await stopping;
    expect(sent.late).toEqual([]);
    expect(endedFirst).toBe(false);
  } finally {
    tick.release();
    tick.restore();
    sent.restore();
    await cluster.stop();
  }
}, 30_000);

it('finished jobs stay in the log for the retention time before they are trimmed', async () => {
  const redis = new Redis(server.url);
  const cluster = await libraryCluster('keep', { logRetentionMs: 60_000 });
  try {
    await cluster.run({ type: 'square-sum', input: { from: 0, to: 50 } });
    const before = await redis.xlen('keep:log');
    await new Promise((resolve) => setTimeout(resolve, 300)); // several ticks: within the retention nothing goes
    expect(before).toBeGreaterThan(0);
    expect(await redis.xlen('keep:log')).toBe(before);
    expect(await redis.exists('keep:log-base')).toBe(0);
  } finally {
    await cluster.stop();
    await redis.quit();
  }
}, 30_000);

it('many tiny micro-tasks travel in lease batches once their type is measured: far fewer BullMQ scripts than tasks, every output there', async () => {
  const redis = new Redis(server.url);
  const options = { redisUrl: server.url, prefix: 'batch', cacheDir: '.swarmlet/cache', signKey: TEST_SIGN_KEY };
  const director = await ClusterDirector.start({ redisUrl: server.url, prefix: 'batch', tickMs: 50 });
  const agent = await ClusterAgent.start({
    ...TRUSTED,
    redisUrl: server.url,
    prefix: 'batch',
    nodeId: 'b',
    heartbeatMs: 100,
    ttlMs: 1_000,
  });
  const noopJob = (count: number) => ({
    tasks: Array.from({ length: count }, (_, i) => ({ id: `n${i}`, type: 'noop', input: i })),
  });
  const scripts = async () => Number(/cmdstat_evalsha:calls=(\d+)/.exec(await redis.info('commandstats'))?.[1] ?? 0);
  try {
    await runOnCluster(['test/fixtures/noop.task.ts'], noopJob(200), options); // measures the type: tiny
    const before = await scripts();
    const { outcome } = await runOnCluster(['test/fixtures/noop.task.ts'], noopJob(3_000), options);
    expect(outcome.status).toBe('done');
    expect(Object.keys(outcome.output as object)).toHaveLength(3_000);
    expect((outcome.output as Record<string, number>).n2999).toBe(2_999);
    // One job per micro-task costs at least an add and a completion each (6,000 scripts).
    expect((await scripts()) - before).toBeLessThan(1_500);
  } finally {
    await agent.stop();
    await director.stop();
    await redis.quit();
  }
}, 30_000);
