/** The director's view of live nodes on a real redis-server: read from the node set, never by scanning the keyspace. */
import { expect, it } from 'vitest';
import { ClusterAgent } from '../src/runtime/cluster/agent.js';
import { readLiveNodes } from '../src/runtime/cluster/live-nodes.js';
import { keys } from '../src/runtime/cluster/protocol.js';
import { realCluster } from './support/cluster.js';
import { TRUSTED } from './support/signing.js';

const cluster = realCluster();

const scanCalls = async (): Promise<number> =>
  Number(/cmdstat_scan:calls=(\d+)/.exec(await cluster.redis().info('commandstats'))?.[1] ?? 0);

it('lists a beating agent, drops ids whose heartbeat expired, skips a broken heartbeat, and forgets an agent that left', async () => {
  const [k, redis] = [keys('ln'), cluster.redis()];
  const agent = await ClusterAgent.start({
    ...TRUSTED,
    redisUrl: cluster.server().url,
    prefix: 'ln',
    nodeId: 'alive',
    heartbeatMs: 100,
    ttlMs: 1_000,
  });
  try {
    await redis.sadd(k.nodes, 'ghost', 'broken'); // ghost: its key expired long ago
    await redis.set(k.node('broken'), '{"not":"a heartbeat"}', 'PX', 60_000);
    await redis.mset(Object.fromEntries(Array.from({ length: 2_000 }, (_, i) => [`ln:q:noise:${i}`, 'x']))); // a keyspace full of other keys
    await redis.config('RESETSTAT');
    const warnings: string[] = [];
    const nodes = await readLiveNodes(redis, k, (message) => warnings.push(message));
    expect([...nodes.keys()]).toEqual(['alive']);
    expect(nodes.get('alive')?.heartbeat.swarmlets).toEqual([]);
    expect(warnings).toEqual([
      expect.stringMatching(/^ignoring node broken: ln:node:broken: advertisement: .* Fix: restart its agent/),
    ]);
    // ghost forgotten, broken still beating
    expect((await redis.smembers(k.nodes)).sort()).toEqual(['alive', 'broken']);
    expect(await scanCalls()).toBe(0);
  } finally {
    await agent.stop();
  }
  expect(await redis.sismember(k.nodes, 'alive')).toBe(0);
  expect((await readLiveNodes(redis, k, () => undefined)).size).toBe(0);
});
