import type { Redis } from 'ioredis';
import { logBaseSchema, parseStored, type ClusterKeys, type LogBase } from './protocol.js';

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
    if (!isWrongType(error)) throw error;
    const found = await redis.type(key);
    await redis.del(key);
    warn(
      key,
      `${key} held a ${found}, not a ${expected}: deleted (${loses}). Fix: leave the cluster's keys to swarmlet; stop whatever writes ${key}`,
    );
    return step();
  }
}

/** A MULTI's first failed command, thrown (ioredis resolves EXEC with each command's error instead). */
export function failedStep(replies: [Error | null, unknown][] | null): void {
  const failed = replies?.find(([error]) => error !== null)?.[0];
  if (failed) throw failed;
}

/** Where the trimmed log starts. Unreadable, it is not guessed: wrong counters would number micro-tasks twice. */
export async function readLogBase(redis: Redis, k: ClusterKeys): Promise<LogBase | undefined> {
  try {
    return parseStored(logBaseSchema, await redis.get(k.logBase), k.logBase);
  } catch (error) {
    throw new Error(
      `${(error as Error).message}; replaying the log from an unknown start could number micro-tasks twice. Fix: ` +
        `put back the value the director wrote ({"minId":"<ms>-<seq>","nextJobId":n,"nextTaskId":n}), or, if no job is ` +
        `running, delete ${k.logBase} and ${k.log} (unfinished jobs are then lost)`,
    );
  }
}

/** Redis refused a command because the key holds another type. */
export const isWrongType = (error: unknown): boolean => error instanceof Error && error.message.startsWith('WRONGTYPE');

/** Why the log cannot be used when Redis refused it as the wrong type (nobody can rebuild it: said, not repaired). */
export async function wrongLogType(redis: Redis, k: ClusterKeys): Promise<string> {
  return `${k.log} holds a ${await redis.type(k.log)}, not the cluster's log stream`;
}
