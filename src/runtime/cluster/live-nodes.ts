import type { Redis } from 'ioredis';
import { parseNodeAdvertisement } from '../../place/node-probe.js';
import type { LiveNode } from './cluster-pool.js';
import { heartbeatSchema, parseStored, type keys } from './protocol.js';

/**
 * The nodes whose heartbeat key still exists (it expires at the agent's TTL: a silent node drops
 * out by itself). A heartbeat or advertisement that does not parse is reported and the node left
 * out: a broken agent gets no work rather than breaking the director.
 */
export async function readLiveNodes(redis: Redis, k: ReturnType<typeof keys>, warn: (message: string) => void): Promise<Map<string, LiveNode>> {
  const names = await scanKeys(redis, k.nodePattern);
  const nodes = new Map<string, LiveNode>();
  if (names.length === 0) return nodes;
  const values = await redis.mget(...names);
  names.forEach((name, i) => {
    try {
      const heartbeat = parseStored(heartbeatSchema, values[i] ?? null, name);
      if (!heartbeat) return; // expired between SCAN and MGET
      const parsed = parseNodeAdvertisement(heartbeat.advertisement);
      if (!parsed.ok) throw new Error(parsed.error.message);
      nodes.set(parsed.value.nodeId, { advertisement: { ...parsed.value, idle: heartbeat.idle }, heartbeat });
    } catch (error) {
      warn(`ignoring node ${name}: ${(error as Error).message}`);
    }
  });
  return nodes;
}

/** Every key matching `pattern`, by SCAN (never KEYS: it blocks Redis on a big keyspace). */
export async function scanKeys(redis: Redis, pattern: string): Promise<string[]> {
  const names = new Set<string>(); // SCAN may return a key twice
  let cursor = '0';
  do {
    const [next, batch] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1_000);
    for (const name of batch) names.add(name);
    cursor = next;
  } while (cursor !== '0');
  return [...names];
}
