import type { Redis } from 'ioredis';

export type RedisType = 'set' | 'list' | 'hash' | 'zset';

/**
 * Runs `step` on `key`; if Redis refuses because the key holds another type (some Redis user wrote
 * a string where the cluster keeps a set, say), the key is deleted, said through `warn` with the key
 * as its topic, and the step runs once more. Only for keys the cluster can rebuild or does without
 * (`loses` says what is lost): a node set the agents fill again, a report.
 */
export async function withTypeRepair<T>(
  redis: Redis,
  key: string,
  expected: RedisType,
  loses: string,
  warn: (topic: string, line: string) => void,
  step: () => Promise<T>,
): Promise<T> {
  try {
    return await step();
  } catch (error) {
    if (!(error instanceof Error) || !error.message.startsWith('WRONGTYPE')) throw error;
    const found = await redis.type(key);
    await redis.del(key);
    warn(
      key,
      `${key} held a ${found}, not a ${expected}: deleted (${loses}). Fix: leave the cluster's keys to swarmlet; stop whatever writes ${key}`,
    );
    return step();
  }
}
