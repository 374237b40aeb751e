/** The cluster as a library: director and agent in this process (no log callbacks), a real redis-server. */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ClusterAgent } from '../src/runtime/cluster/agent.js';
import { runOnCluster } from '../src/runtime/cluster/cluster-client.js';
import { ClusterDirector } from '../src/runtime/cluster/director.js';
import { startRedisServer, type RedisServer } from './support/redis-server.js';

let server: RedisServer;
beforeAll(async () => {
  server = await startRedisServer();
});
afterAll(async () => {
  await server.stop();
});

it('a director and an agent started from code run a split/join job to its output, with no log callbacks given', async () => {
  const director = await ClusterDirector.start({ redisUrl: server.url, tickMs: 50 });
  const agent = await ClusterAgent.start({ redisUrl: server.url, nodeId: 'lib', heartbeatMs: 100, ttlMs: 1_000 });
  try {
    // Splits into halves down to ranges of ≤ 100 (16 leaves), joins back up: split and join across the cluster.
    const { outcome } = await runOnCluster(['test/fixtures/square.task.ts'], { type: 'square-sum', input: { from: 0, to: 1_000 } }, { redisUrl: server.url, cacheDir: '.swarmlet/cache' });
    expect(outcome.error).toBeUndefined();
    expect(outcome.status).toBe('done');
    expect(outcome.output).toBe(332_833_500); // Σ i² for i < 1000
    expect(outcome.microTasks).toBe(31 + 15); // 15 splits + 16 leaves, then 15 joins
  } finally {
    await agent.stop();
    await director.stop();
  }
}, 30_000);
