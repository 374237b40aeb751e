/**
 * The BullMQ queues and workers of one broker instance (bullmq-broker.ts), one of each per class
 * queue, made on first use on the broker's own connection.
 */
import { Queue, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import { closedError, queueNameOf, RANKS_SERVED } from './bullmq-jobs.js';

/** Stalls are the holder's fault (it died), not the task's: never fail a task for stalling. */
const MAX_STALLED_COUNT = 1_000_000;

export interface QueueSetOptions {
  readonly redis: Redis;
  readonly prefix: string;
  readonly lockDurationMs: number;
  readonly keepDead: number;
  readonly onBackgroundError: (error: Error) => void;
}

export class QueueSet {
  private readonly queues = new Map<string, Queue>();
  private readonly workers = new Map<string, Worker>();
  private closed = false;

  constructor(private readonly options: QueueSetOptions) {}

  /**
   * Throws once closed: a call under way that gets here after close would otherwise open a queue on a connection that
   * is quitting (its version check written behind QUIT) and a worker with a new blocking connection nobody closes.
   */
  queue(name: string): Queue {
    if (this.closed) throw closedError();
    let queue = this.queues.get(name);
    if (!queue) {
      const { redis, prefix, keepDead, onBackgroundError } = this.options;
      queue = new Queue(name, {
        connection: redis,
        prefix,
        defaultJobOptions: { removeOnComplete: true, removeOnFail: { count: keepDead }, stackTraceLimit: 0 },
      });
      queue.on('error', onBackgroundError);
      this.queues.set(name, queue);
    }
    return queue;
  }

  /** A task type's class queues, in the order `take` serves them (high, normal, low). */
  classQueues(taskType: string): Queue[] {
    return RANKS_SERVED.map((rank) => this.queue(queueNameOf(taskType, rank)));
  }

  /** A worker that never runs by itself (autorun off): it fetches when `take` asks. */
  worker(name: string): Worker {
    if (this.closed) throw closedError();
    let worker = this.workers.get(name);
    if (!worker) {
      const { redis, prefix, lockDurationMs, onBackgroundError } = this.options;
      worker = new Worker(name, null, {
        connection: redis,
        prefix,
        autorun: false,
        lockDuration: lockDurationMs,
        // A dead holder's lease is back within lockDuration + this: checking four times per lock
        // period bounds failover at 1.25 × lockDuration (the check is one small script per type).
        stalledInterval: Math.max(10, Math.floor(lockDurationMs / 4)),
        maxStalledCount: MAX_STALLED_COUNT,
      });
      worker.on('error', onBackgroundError);
      void worker.startStalledCheckTimer();
      this.workers.set(name, worker);
    }
    return worker;
  }

  /** Closes every worker, then every queue; each failure is collected, none stops the rest. */
  async close(attempt: (step: () => Promise<unknown>) => Promise<void>): Promise<void> {
    this.closed = true;
    await Promise.all([...this.workers.values()].map((worker) => attempt(() => worker.close(true))));
    await Promise.all([...this.queues.values()].map((queue) => attempt(() => queue.close())));
    this.workers.clear();
    this.queues.clear();
  }
}
