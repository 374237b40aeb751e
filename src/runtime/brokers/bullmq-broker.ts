/**
 * The cluster broker: the Broker contract (broker.ts, test/broker.contract.ts) on BullMQ and Redis.
 *
 * Layout: one plain BullMQ queue per task type and class (bullmq-jobs.ts `queueNameOf`): `<type>`
 * for normal, `<type>#high`, `<type>#low`; keys `<prefix>:<queue>:…`. A Redis set
 * `<prefix>:task-types` names the types so any instance on the prefix sees every queue (a
 * restarted director picks up where the last one stopped: the data lives in Redis, not here).
 * A job is one BrokerTask: id `t<task.id>` (BullMQ refuses integer custom ids), data = the task as
 * enqueued (every field, known or not, round-trips through JSON).
 *
 * Priority: class first, FIFO within a class. `take` serves the high queue, then normal, then low.
 * Queues per class rather than BullMQ priorities: a plain queue is a Redis list (LPUSH, RPOPLPUSH),
 * where BullMQ's prioritized set costs a ZADD, a counter and a ZPOPMIN per job (~18% of raw
 * throughput measured here), and nearly all work is of one class.
 *
 * Leases: `take` is BullMQ's documented manual processing, batched: `Worker.getNextJob(token)` with
 * autorun off, issued `n` times at once on one connection, so the n moveToActive scripts travel
 * as one pipeline and run in order (n = min(max, ready): an empty queue costs one count, no pops).
 * A lease is the active job, locked with this instance's token; the instance keeps job and token
 * per id. Only the instance that took a lease can end it; ending it twice finds no lease here.
 * Locks last `lockDurationMs` and are renewed every half of it in one extendLocks call per type,
 * so a running task never loses its lease in the normal case. If the holder dies, the locks
 * expire and BullMQ's stalled check (every instance runs it) puts the tasks back at the head of
 * their class queue, as the oldest work, without counting an attempt.
 *
 * Retry: BullMQ's own attempts. A task enqueued at attempt a of m is a job with `attempts:
 * m - a + 1`; `fail` is `job.moveToFailed`, one Lua script that either re-queues the job at the
 * back of its class (attemptsMade + 1) or moves it to the failed set (dead, kept for inspection:
 * the newest `keepDead` per queue). `take` reports attempt = data.attempt + attemptsMade. Chosen over
 * remove-and-re-add because it is atomic (a crash between the two would lose or duplicate the
 * task) and keeps BullMQ's failure bookkeeping (failedReason, attemptsMade, failed set) intact.
 *
 * Requeue: `job.moveToDelayed(now)` without counting an attempt, i.e. delay 0; the next
 * moveToActive promotes it to the back of its class, in requeue order — as the memory broker does.
 * Depths count wait + delayed: nothing here is delayed for any other reason.
 *
 * Close ends this instance: its remaining leases are requeued (so another instance can take them
 * at once instead of after lock expiry), then workers, queues and the connection are closed.
 * Enqueue is idempotent by task id while the job exists (queued, leased or dead): BullMQ ignores
 * an id it already holds, so a failed enqueue can be retried whole — and task ids must be unique
 * per prefix (a new run with ids from 1 wants a new prefix, or its tasks would be taken as dupes).
 *
 * Batches (option `batch`, off by default): a run of consecutive task ids may travel in one job,
 * each task's lease the job's lock (bullmq-batches.ts says how every operation treats them).
 *
 * While Redis is unreachable, calls wait for the reconnect (BullMQ's maxRetriesPerRequest: null).
 */
import { randomUUID } from 'node:crypto';
import { Job, type JobJson } from 'bullmq';
import { Redis, type RedisOptions } from 'ioredis';
import type { Environment } from '../../core/environment.js';
import { epochEnvironment } from '../local/wall-environment.js';
import type { Broker, BrokerTask, FailOutcome } from './broker.js';
import { consecutiveRuns, jobOf, readyJobIds, removeCancelledBatches, tasksIn } from './bullmq-batches.js';
import { QueueSet } from './bullmq-queues.js';
import { LeaseTable, type Ending, type Lease } from './bullmq-leases.js';
import {
  closedError,
  isLeaseLost,
  jobIdOf,
  queueNameOf,
  RANKS_SERVED,
  readyCount,
  removeWaiting,
  validateOptions,
  validateTask,
  validateTaskType,
  withinMs,
  type BullmqBrokerOptions,
} from './bullmq-jobs.js';

export type { BullmqBrokerOptions } from './bullmq-jobs.js';

const CLOSE_REQUEUE_BOUND_MS = 5_000;

export class BullmqBroker implements Broker {
  readonly name = 'bullmq';
  private readonly redis: Redis;
  private readonly prefix: string;
  private readonly lockDurationMs: number;
  private readonly keepDead: number;
  private readonly onBackgroundError: (error: Error) => void;
  /** Every lease this instance holds, handed out or held ahead. */
  private readonly leases = new LeaseTable();
  /**
   * Per type, the highest class rank with ready work at the last count: completions of a lower class fetch nothing
   * ahead.
   */
  private readonly topReadyRank = new Map<string, number>();
  private readonly prefetch: (taskType: string) => number;
  private readonly batchSize: ((taskType: string, ready: number) => number) | undefined;
  /** The lock value of every lease this instance holds. */
  private readonly token = randomUUID();
  private readonly bull: QueueSet;
  private readonly registered = new Set<string>();
  private readonly environment: Environment;
  private readonly cancelRenewal: () => void;
  private renewing = false;
  /** Lock renewals and ends of copied leases under way: close waits for them, so none is written behind its QUIT. */
  private readonly background = new Set<Promise<void>>();
  private closed = false;

  constructor(options: BullmqBrokerOptions) {
    this.prefix = options.prefix ?? 'swarmlet';
    this.lockDurationMs = options.lockDurationMs ?? 30_000;
    const prefetch = options.prefetch ?? 256;
    if (typeof prefetch === 'number' && (!Number.isInteger(prefetch) || prefetch < 0))
      throw new RangeError(`BullmqBroker: prefetch = ${prefetch}, must be an integer ≥ 0 (default 256)`);
    this.prefetch = typeof prefetch === 'number' ? () => prefetch : prefetch;
    this.keepDead = options.keepDead ?? 10_000;
    this.batchSize = options.batch;
    this.onBackgroundError = options.onBackgroundError ?? (() => {});
    this.environment = options.environment ?? epochEnvironment;
    validateOptions(
      Boolean(options.url) || Boolean(options.connection),
      this.prefix,
      this.lockDurationMs,
      this.keepDead,
    );
    // BullMQ workers need maxRetriesPerRequest null (commands wait out a reconnect instead of failing).
    const redisOptions: RedisOptions = { ...options.connection, maxRetriesPerRequest: null };
    this.redis = options.url ? new Redis(options.url, redisOptions) : new Redis(redisOptions);
    this.redis.on('error', (error: Error) => this.onBackgroundError(error));
    this.bull = new QueueSet({
      redis: this.redis,
      prefix: this.prefix,
      lockDurationMs: this.lockDurationMs,
      keepDead: this.keepDead,
      onBackgroundError: (error) => this.onBackgroundError(error),
    });
    this.cancelRenewal = this.environment.timers.every(Math.max(1, Math.floor(this.lockDurationMs / 2)), () =>
      this.inBackground(this.renewLocks()),
    );
  }

  async enqueue(tasks: readonly BrokerTask[]): Promise<void> {
    this.assertOpen();
    const byQueue = new Map<string, BrokerTask[]>();
    const types = new Set<string>();
    for (const task of tasks) {
      validateTask(task);
      types.add(task.taskType);
      const name = queueNameOf(task.taskType, task.priority);
      let list = byQueue.get(name);
      if (!list) byQueue.set(name, (list = []));
      list.push(task);
    }
    const writes: Promise<unknown>[] = [];
    const fresh = [...types].filter((type) => !this.registered.has(type));
    if (fresh.length > 0)
      writes.push(
        this.redis.sadd(this.typesKey(), ...fresh).then(() => fresh.forEach((type) => this.registered.add(type))),
      );
    for (const [name, list] of byQueue) {
      // addBulk: one pipeline of addStandardJob scripts per queue.
      const size = Math.max(1, Math.floor(this.batchSize?.(list[0]!.taskType, list.length) ?? 1));
      writes.push(this.bull.queue(name).addBulk(consecutiveRuns(list, size).map(jobOf)));
    }
    await Promise.all(writes);
  }

  async take(taskType: string, max: number): Promise<BrokerTask[]> {
    this.assertOpen();
    if (max <= 0) return [];
    validateTaskType(taskType);
    const names = RANKS_SERVED.map((rank) => queueNameOf(taskType, rank));
    // Counted on every take, even with tasks fetched ahead: those are of the class of the tasks
    // whose completion fetched them, and a higher class that arrived since goes first.
    const ready = await this.readyPerClass(taskType);
    this.topReadyRank.set(taskType, RANKS_SERVED[ready.findIndex((count) => count > 0)] ?? 0);
    // Class first: per class, the tasks fetched ahead, then that queue's ready jobs. Every class's
    // fetch is sent before any is awaited (one pipeline); a job may carry several tasks.
    let wanted = max;
    const perClass = names.map((name, index) => {
      const ahead = this.leases.ahead.take(name, wanted);
      wanted -= ahead.length;
      const perJob = this.leases.perJob(name);
      const jobs = Math.min(ready[index]!, Math.ceil(wanted / perJob));
      wanted -= jobs * perJob; // expected: a batch may carry fewer or more
      return { name, ahead, fetching: jobs > 0 ? this.fetchNext(name, jobs) : [] };
    });
    const handed: number[] = [];
    let failure: unknown;
    for (const { name, ahead, fetching } of perClass) {
      const room = max - handed.length;
      handed.push(...ahead.slice(0, room));
      this.leases.ahead.putBack(name, ahead.slice(room)); // a higher class's batches filled the take
      for (const result of await Promise.allSettled(fetching)) {
        if (result.status === 'rejected') failure ??= result.reason;
        // undefined: another instance took it between our count and our pop
        else if (result.value) this.hold(name, result.value);
      }
      if (fetching.length > 0) handed.push(...this.leases.ahead.take(name, max - handed.length));
    }
    // An id whose lease is gone (its lock was lost meanwhile) is skipped.
    const taken = handed.flatMap((id) => this.leases.taskOf(id) ?? []);
    // Leases already taken are handed out (the error will show again on the next call).
    if (taken.length === 0 && failure !== undefined) throw failure;
    return taken;
  }

  /**
   * Ends leases. Like a BullMQ worker, each completion also fetches the next ready task of its type
   * in the same script (one round trip per task instead of two), from the completed task's class
   * queue, up to `prefetch` per queue; those are held as leases and served by the next `take` within
   * their class. Completions fetch nothing while a higher class had ready work at the last count.
   */
  async complete(ids: readonly number[]): Promise<number[]> {
    this.assertOpen();
    const held = this.leases.release(ids);
    const { endings, settled } = this.leases.endingsOf(held);
    const room = new Map<string, number>();
    const fetchNext = endings.map((ending) => {
      const { task } = ending.leases[0]!; // a batch's tasks share type and class
      // a higher class waits: take serves it
      if (task.priority < (this.topReadyRank.get(task.taskType) ?? 0)) return false;
      const left = room.get(task.taskType) ?? this.prefetch(task.taskType) - this.leases.ahead.countOf(task.taskType);
      room.set(task.taskType, left - 1);
      return left > 0;
    });
    const results = await Promise.allSettled(
      endings.map(({ job }, index) => job.moveToCompleted(null, this.token, fetchNext[index])),
    );
    this.rethrowUnlessLeaseLost(endings, results);
    const done = new Set(settled.map(({ task }) => task.id));
    results.forEach((result, index) => {
      if (result.status !== 'fulfilled') return;
      const { leases } = endings[index]!;
      for (const { task } of leases) done.add(task.id);
      if (Array.isArray(result.value)) this.keepPrefetched(leases[0]!.task, result.value);
    });
    return held.filter(({ task }) => done.has(task.id)).map(({ task }) => task.id);
  }

  async fail(ids: readonly number[], reason: string): Promise<FailOutcome[]> {
    this.assertOpen();
    // Each id's lease, if held; a repeated id finds it gone, as after any ended lease.
    const leases = ids.map((id) => this.leases.release([id])[0]);
    const held = leases.filter((lease): lease is Lease => lease !== undefined);
    const alone = held.filter((lease) => lease.batch === undefined);
    const error = new Error(reason);
    const results = await Promise.allSettled(alone.map(({ job }) => job.moveToFailed(error, this.token, false)));
    this.rethrowUnlessLeaseLost(
      alone.map((lease) => ({ job: lease.job, leases: [lease] })),
      results,
    );
    const ended = new Set(alone.filter((_, index) => results[index]!.status === 'fulfilled'));
    // A task of a batch with attempts left is retried as a one-task job of its own; the batch goes on.
    const batched = held.filter((lease) => lease.batch !== undefined);
    await this.leaveBatches(
      batched,
      batched.flatMap(({ task }) => (task.attempt < task.maxAttempts ? [{ ...task, attempt: task.attempt + 1 }] : [])),
    );
    for (const lease of batched) ended.add(lease);
    return ids.map((id, index): FailOutcome => {
      const lease = leases[index];
      if (!lease || !ended.has(lease)) return { id, outcome: 'unknown', attempt: 0 };
      const { attempt, maxAttempts } = lease.task;
      // The rule BullMQ applied inside moveToFailed: retry while attemptsMade + 1 < attempts.
      return attempt < maxAttempts ? { id, outcome: 'retry', attempt: attempt + 1 } : { id, outcome: 'dead', attempt };
    });
  }

  async requeue(ids: readonly number[]): Promise<void> {
    this.assertOpen();
    await this.requeueLeases(this.leases.release(ids));
  }

  async cancel(tasks: readonly { readonly id: number; readonly taskType: string }[]): Promise<number[]> {
    this.assertOpen();
    const ahead = await this.cancelAhead(tasks.filter(({ id }) => this.leases.ahead.has(id)));
    const mine = tasks.filter(({ id }) => !this.leases.has(id)); // leased here: left to its lease
    // The caller does not say the class: the job is looked for in each class queue of its type.
    const removed = await Promise.all(
      mine.map(({ id, taskType }) =>
        Promise.all(this.bull.classQueues(taskType).map((queue) => removeWaiting(queue, jobIdOf(id)))),
      ),
    );
    const cancelled = mine.filter((_, index) => removed[index]!.includes(true)).map(({ id }) => id);
    if (this.batchSize) {
      const queues = [...new Set(mine.map(({ taskType }) => taskType))].flatMap((type) => this.bull.classQueues(type));
      cancelled.push(...(await removeCancelledBatches(this.redis, queues, new Set(mine.map(({ id }) => id)))));
    }
    return [...ahead, ...cancelled];
  }

  async depths(): Promise<Map<string, number>> {
    this.assertOpen();
    const types = (await this.redis.smembers(this.typesKey())).sort();
    const count = async (type: string): Promise<number> => {
      const queues = this.bull.classQueues(type);
      // Without batches a job is a task: counting jobs is enough (and O(1)).
      if (!this.batchSize) return (await Promise.all(queues.map(readyCount))).reduce((sum, n) => sum + n, 0);
      return tasksIn((await Promise.all(queues.map((queue) => readyJobIds(this.redis, queue)))).flat());
    };
    const counts = await Promise.all(types.map(count));
    // Tasks this instance fetched ahead are ready as far as its caller can tell: the next take gets them.
    return new Map(types.map((type, index) => [type, counts[index]! + this.leases.ahead.countOf(type)]));
  }

  /** Gives back (no attempt counted) the tasks fetched ahead of types nobody here will take now. */
  async returnAhead(wanted: (taskType: string) => boolean): Promise<number> {
    this.assertOpen();
    const ids = this.leases.ahead.takeUnwanted(wanted);
    if (ids.length > 0) await this.requeueLeases(this.leases.release(ids));
    return ids.length;
  }

  /** Leases held by this instance (another director's leases are its own). */
  async leased(): Promise<number> {
    return this.leases.size - this.leases.ahead.total;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.cancelRenewal();
    const errors: unknown[] = [];
    const attempt = async (step: () => Promise<unknown>): Promise<void> => {
      await step().catch((error: unknown) => errors.push(error));
    };
    // Commands wait out a Redis outage (maxRetriesPerRequest null): bound the hand-back so close
    // always ends; leases it could not hand back return by lock expiry and the stalled check.
    const boundMs = Math.min(this.lockDurationMs, CLOSE_REQUEUE_BOUND_MS);
    await attempt(() =>
      withinMs(
        this.environment.timers,
        Promise.all([this.requeueLeases(this.leases.release(this.leases.ids(), true)), ...this.background]),
        boundMs,
        'requeue of held leases',
      ),
    );
    await this.bull.close(attempt);
    await attempt(() =>
      withinMs(this.environment.timers, this.redis.quit(), boundMs, 'quit').catch((error: unknown) => {
        this.redis.disconnect();
        throw error;
      }),
    );
    if (errors.length > 0) throw new AggregateError(errors, `BullmqBroker.close: ${errors.length} step(s) failed`);
  }

  /**
   * Leases a fetched job's tasks, held ahead until a take hands them out; a copy of tasks already held ends at once.
   */
  private hold(queueName: string, job: Job): void {
    const copy = this.leases.hold(queueName, job);
    if (copy)
      this.inBackground(
        copy.moveToCompleted(null, this.token, false).then(
          () => undefined,
          (error: unknown) => this.onBackgroundError(error as Error),
        ),
      );
  }

  /** Work nobody awaits (it never rejects), kept until it settles so close can wait for it. */
  private inBackground(work: Promise<void>): void {
    this.background.add(work);
    void work.finally(() => this.background.delete(work));
  }

  /** Ready jobs of a type per class queue, in RANKS_SERVED order (high first), counted in one pipeline. */
  private readyPerClass(taskType: string): Promise<number[]> {
    return Promise.all(this.bull.classQueues(taskType).map(readyCount));
  }

  /** `count` moveToActive scripts on one queue, sent together (one pipeline, run in order). */
  private fetchNext(queueName: string, count: number): Promise<Job | undefined>[] {
    const worker = this.bull.worker(queueName);
    return Array.from({ length: count }, () => worker.getNextJob(this.token, { block: false }));
  }

  /**
   * A job fetched by a completion (from the completed task's queue): [job json, job id, …] from BullMQ's moveToFinished
   * script.
   */
  private keepPrefetched(completed: BrokerTask, next: unknown[]): void {
    const [json, jobId] = next as [JobJson | null | undefined, string | undefined];
    if (!json || jobId === undefined) return;
    const name = queueNameOf(completed.taskType, completed.priority);
    const job = Job.fromJSON(this.bull.worker(name), json, jobId);
    job.token = this.token;
    this.hold(name, job);
  }

  /**
   * Back to the queue without an attempt: one-task jobs and untouched batches as they came, other batch tasks alone.
   */
  private async requeueLeases(held: readonly Lease[]): Promise<void> {
    const { whole, parts } = this.leases.splitForRequeue(held);
    const nowMs = this.environment.clock.nowMs();
    const [results] = await Promise.all([
      Promise.allSettled(whole.map(({ job }) => job.moveToDelayed(nowMs, this.token))),
      this.leaveBatches(
        parts,
        parts.map(({ task }) => task),
      ),
    ]);
    this.rethrowUnlessLeaseLost(whole, results);
  }

  /**
   * Tasks leave their batches: `alone` go back to their queues as one-task jobs first (at the back
   * of their class), then each batch whose last task this was completes. A crash in between only
   * runs tasks again (the batch comes back whole): nothing is lost.
   */
  private async leaveBatches(leases: readonly Lease[], alone: readonly BrokerTask[]): Promise<void> {
    if (leases.length === 0) return;
    const byQueue = new Map<string, BrokerTask[]>();
    for (const task of alone) {
      const name = queueNameOf(task.taskType, task.priority);
      byQueue.set(name, [...(byQueue.get(name) ?? []), task]);
    }
    try {
      await Promise.all(
        [...byQueue].map(([name, tasks]) => this.bull.queue(name).addBulk(tasks.map((task) => jobOf([task])))),
      );
    } catch (error) {
      this.leases.putBack(leases); // nothing ended: a retry of the call is safe
      throw error;
    }
    const { endings } = this.leases.endingsOf(leases);
    const results = await Promise.allSettled(endings.map(({ job }) => job.moveToCompleted(null, this.token, false)));
    this.rethrowUnlessLeaseLost(endings, results);
  }

  /** Tasks held ahead (still waiting to the caller) are dropped: their jobs end, a batch once its last task is gone. */
  private async cancelAhead(tasks: readonly { readonly id: number }[]): Promise<number[]> {
    if (tasks.length === 0) return [];
    const ids = new Set(tasks.map(({ id }) => id));
    this.leases.ahead.remove(ids);
    const { endings } = this.leases.endingsOf(this.leases.release([...ids]));
    const results = await Promise.allSettled(endings.map(({ job }) => job.moveToCompleted(null, this.token, false)));
    this.rethrowUnlessLeaseLost(endings, results);
    return [...ids];
  }

  /**
   * A BullMQ script error with a negative code (no job, no lock, lock of another holder, not active)
   * means the lease had already been lost: the caller sees "not leased". Anything else (Redis down)
   * restores the leases it could not end, so a retry of the same call is safe, and rejects.
   */
  private rethrowUnlessLeaseLost(endings: readonly Ending[], results: readonly PromiseSettledResult<unknown>[]): void {
    let failure: unknown;
    results.forEach((result, index) => {
      if (result.status === 'fulfilled' || isLeaseLost(result.reason)) return;
      this.leases.restore(endings[index]!);
      failure ??= result.reason;
    });
    if (failure !== undefined) throw failure;
  }

  /** One extendLocks call per queue over the distinct jobs held (a batch's lock is all its tasks' lease). */
  private async renewLocks(): Promise<void> {
    if (this.renewing || this.closed || this.leases.size === 0) return;
    this.renewing = true;
    try {
      await Promise.all(
        [...this.leases.jobsByQueue()].map(async ([name, jobIds]) => {
          const lost = await this.bull.worker(name).extendJobLocks(
            jobIds,
            jobIds.map(() => this.token),
            this.lockDurationMs,
          );
          this.leases.dropJobs(new Set(lost));
        }),
      );
    } catch (error) {
      this.onBackgroundError(error as Error);
    } finally {
      this.renewing = false;
    }
  }

  private typesKey(): string {
    return `${this.prefix}:task-types`;
  }

  private assertOpen(): void {
    if (this.closed) throw closedError();
  }
}
