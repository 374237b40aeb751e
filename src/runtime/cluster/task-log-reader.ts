/**
 * The director's read of what agents shipped (task-log-shipper.ts): a swarmlet's or a micro-task's last lines from
 * `P:tasklog:…`, oldest first. Redis is an edge: each entry is checked (taskLogLineRecordSchema) and one that is not a
 * line some agent wrote is left out; a key of another Redis type reads as no lines (the next flush of an agent repairs
 * it). At most the lines an agent keeps are read, whatever a Redis user pushed there.
 */
import type { Redis } from 'ioredis';
import type { TaskLogLine, TaskLogQuery } from '../task-log-book.js';
import { taskLogLineRecordSchema, type ClusterKeys } from './protocol.js';
import { DEFAULT_TASK_LOG_SHIPPING } from './task-log-shipper.js';

export async function readTaskLogs(redis: Redis, keys: ClusterKeys, query: TaskLogQuery): Promise<TaskLogLine[]> {
  const [key, most] =
    'swarmletId' in query
      ? [keys.taskLogOfSwarmlet(query.swarmletId), DEFAULT_TASK_LOG_SHIPPING.linesPerSwarmlet]
      : [keys.taskLogOfMicroTask(query.microTaskId), DEFAULT_TASK_LOG_SHIPPING.linesPerMicroTask];
  let records: string[];
  try {
    records = await redis.lrange(key, -most, -1);
  } catch (error) {
    if (error instanceof Error && /WRONGTYPE/.test(error.message)) return [];
    throw error;
  }
  return records.flatMap((record) => {
    const line = parseLine(record);
    return line === undefined ? [] : [line];
  });
}

function parseLine(record: string): TaskLogLine | undefined {
  let value: unknown;
  try {
    value = JSON.parse(record);
  } catch {
    return undefined;
  }
  const parsed = taskLogLineRecordSchema.safeParse(value);
  if (!parsed.success) return undefined;
  const { atMs, swarmletId, microTaskId, line } = parsed.data;
  return microTaskId === undefined ? { atMs, swarmletId, line } : { atMs, swarmletId, microTaskId, line };
}
