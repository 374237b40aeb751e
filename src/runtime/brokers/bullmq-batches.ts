/**
 * Micro-tasks carried several to a BullMQ job (bullmq-broker.ts): the job layout and the
 * bookkeeping of a leased batch. A job without `batch` in its data is one task.
 *
 * `enqueue` (option `batch`, off by default) may carry a run of consecutive task ids in one job,
 * id `t<first>+<count>`, data `{ batch }`. A director handing out thousands of ready micro-tasks then costs BullMQ one
 * add, one move to active and one completion
 * per batch instead of per task. The lease of every task in a batch is the batch job's lock; the
 * job completes once all of its tasks ended here. A task of a batch that is failed (with attempts
 * left) or requeued alone leaves as a one-task job of its own (at the back of its class), while the
 * rest of the batch goes on; a batch requeued whole goes back as it came. A holder that dies loses
 * the whole batch, which runs again elsewhere (at-least-once, as for one task). A dead task of a
 * batch is not kept in the failed set (its failure is its caller's record). `cancel` removes a
 * waiting batch when every task in it is cancelled. `depths` counts tasks, batch sizes included.
 */
import type { Job, Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { BrokerTask } from './broker.js';
import { jobOptions, removeWaiting } from './bullmq-jobs.js';

/** A batch job's data: its tasks, in enqueue order. */
export interface BatchData {
  readonly batch: readonly BrokerTask[];
}

export const isBatch = (data: unknown): data is BatchData =>
  typeof data === 'object' && data !== null && Array.isArray((data as Partial<BatchData>).batch);

/** A batch's job id names its tasks: `t<first>+<count>` holds ids first … first + count − 1. */
export const batchJobId = (first: number, count: number): string => `t${first}+${count}`;

/** The task ids a job id stands for: `t7` is task 7, `t7+3` tasks 7, 8 and 9; undefined for another id. */
export function idsOfJobId(jobId: string): { readonly first: number; readonly count: number } | undefined {
  const match = /^t(\d+)(?:\+(\d+))?$/.exec(jobId);
  return match ? { first: Number(match[1]), count: match[2] === undefined ? 1 : Number(match[2]) } : undefined;
}

/**
 * Splits one queue's tasks (in enqueue order) into runs of consecutive ids cut to at most `size`:
 * a batch is always a whole id range, so its job id says exactly which tasks it holds.
 */
export function consecutiveRuns(tasks: readonly BrokerTask[], size: number): BrokerTask[][] {
  const runs: BrokerTask[][] = [];
  let run: BrokerTask[] = [];
  for (const task of tasks) {
    const last = run.at(-1);
    if (run.length > 0 && (run.length >= size || task.id !== last!.id + 1)) {
      runs.push(run);
      run = [];
    }
    run.push(task);
  }
  if (run.length > 0) runs.push(run);
  return runs;
}

/**
 * The BullMQ job for a run of tasks: the task itself alone, else a batch (one attempt: a task's retry leaves the
 * batch).
 */
export function jobOf(run: readonly BrokerTask[]): {
  name: string;
  data: BrokerTask | BatchData;
  opts: { jobId: string; attempts: number };
} {
  const first = run[0]!;
  if (run.length === 1) return { name: first.taskType, data: first, opts: jobOptions(first) };
  return { name: first.taskType, data: { batch: run }, opts: { jobId: batchJobId(first.id, run.length), attempts: 1 } };
}

/**
 * Ready jobs of a queue (waiting, or requeued: delayed by 0 ms) by id, oldest first as far as order matters to nobody
 * here.
 */
export async function readyJobIds(redis: Redis, queue: Queue): Promise<string[]> {
  const [waiting, delayed] = await Promise.all([
    redis.lrange(queue.keys.wait!, 0, -1),
    redis.zrange(queue.keys.delayed!, '0', '-1'),
  ]);
  return [...waiting, ...delayed];
}

/** Tasks in those jobs: a batch counts its size. */
export const tasksIn = (jobIds: readonly string[]): number =>
  jobIds.reduce((sum, jobId) => sum + (idsOfJobId(jobId)?.count ?? 1), 0);

/** A leased batch: one BullMQ job, ended in Redis once every task it carries has ended here. */
export interface HeldBatch {
  readonly job: Job;
  readonly size: number;
  /** Tasks of the batch still leased here. */
  open: number;
}

/** A batch whose every task is still open was not touched: it can go back whole, as it came. */
export const untouched = (batch: HeldBatch): boolean => batch.open === batch.size;

/**
 * Removes waiting batches whose every task is cancelled; returns their task ids. A batch with a task still wanted
 * stays.
 */
export async function removeCancelledBatches(
  redis: Redis,
  queues: readonly Queue[],
  cancelled: ReadonlySet<number>,
): Promise<number[]> {
  const removed: number[] = [];
  for (const queue of queues) {
    for (const jobId of await readyJobIds(redis, queue)) {
      const ids = idsOfJobId(jobId);
      if (!ids || ids.count < 2) continue;
      const all = Array.from({ length: ids.count }, (_, i) => ids.first + i);
      if (all.every((id) => cancelled.has(id)) && (await removeWaiting(queue, jobId))) removed.push(...all);
    }
  }
  return removed;
}
