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
  const names: string[] = [];
  let cursor = '0';
  do {
    const [next, batch] = await redis.scan(cursor, 'MATCH', k.nodePattern, 'COUNT', 1_000);
    names.push(...batch);
    cursor = next;
  } while (cursor !== '0');
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
