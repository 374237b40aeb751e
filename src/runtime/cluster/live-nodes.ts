import type { Redis } from 'ioredis';
import { parseNodeAdvertisement } from '../../place/node-probe.js';
import type { LiveNode } from './cluster-pool.js';
import { heartbeatSchema, parseStored, type keys } from './protocol.js';
import { withTypeRepair } from './redis-repair.js';

/** Drops from the node set each id whose heartbeat key is gone, atomically (a node that beat again meanwhile stays). */
const FORGET_EXPIRED = `
local forgotten = 0
for i, id in ipairs(ARGV) do
  if redis.call('EXISTS', KEYS[2] .. id) == 0 then forgotten = forgotten + redis.call('SREM', KEYS[1], id) end
end
return forgotten`;

/**
 * The nodes whose heartbeat key still exists (it expires at the agent's TTL: a silent node drops
 * out by itself). Read from the node set, never by scanning: the keyspace holds every queued
 * micro-task. A heartbeat or advertisement that does not parse is reported and the node left out:
 * a broken agent gets no work rather than breaking the director.
 */
export async function readLiveNodes(
  redis: Redis,
  k: ReturnType<typeof keys>,
  /** `topic` is the node's key: the same bad key read every tick is one topic (rate-limited by the caller). */
  warn: (message: string, topic: string) => void,
): Promise<Map<string, LiveNode>> {
  const ids = (
    await withTypeRepair(
      redis,
      k.nodes,
      'set',
      'agents add themselves again at their next heartbeat',
      (topic, line) => warn(line, topic),
      () => redis.smembers(k.nodes),
    )
  ).sort();
  const nodes = new Map<string, LiveNode>();
  if (ids.length === 0) return nodes;
  const names = ids.map((id) => k.node(id));
  const values = await redis.mget(...names);
  const expired = ids.filter((_, i) => values[i] === null);
  if (expired.length > 0) await redis.eval(FORGET_EXPIRED, 2, k.nodes, k.node(''), ...expired);
  ids.forEach((id, i) => {
    const name = names[i]!;
    try {
      const heartbeat = parseStored(heartbeatSchema, values[i] ?? null, name);
      if (!heartbeat) return; // its TTL ran out: dead
      const parsed = parseNodeAdvertisement(heartbeat.advertisement);
      if (!parsed.ok) throw new Error(`${name}: advertisement: ${parsed.error.message}`);
      nodes.set(parsed.value.nodeId, { advertisement: { ...parsed.value, idle: heartbeat.idle }, heartbeat });
    } catch (error) {
      warn(
        `ignoring node ${id}: ${(error as Error).message}; it gets no work meanwhile. Fix: restart its agent (it rewrites the key every heartbeat) or delete the key`,
        name,
      );
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
