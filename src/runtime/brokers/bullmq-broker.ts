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
 * While Redis is unreachable, calls wait for the reconnect (BullMQ's maxRetriesPerRequest: null).
 */
import { randomUUID } from 'node:crypto';
import { Job, Queue, Worker, type JobJson } from 'bullmq';
import { Redis, type RedisOptions } from 'ioredis';
import type { Broker, BrokerTask, FailOutcome } from './broker.js';
import { FetchedAhead } from './bullmq-ahead.js';
import { isLeaseLost, jobIdOf, jobOptions, queueNameOf, RANKS_SERVED, readyCount, removeWaiting, validateOptions, validateTask, validateTaskType, withinMs } from './bullmq-jobs.js';

export interface BullmqBrokerOptions {
  /** `redis://host:port/db`; or give `connection`. */
  readonly url?: string;
  /** ioredis options (host, port, db, password…). The broker creates and owns its connection. */
  readonly connection?: RedisOptions;
  /** Key prefix; queues live at `<prefix>:<taskType>:…`. Default `swarmlet`. */
  readonly prefix?: string;
  /** How long a lease survives without renewal (renewed every half of it). Default 30 000. */
  readonly lockDurationMs?: number;
  /**
   * Ready tasks completions may fetch ahead per type (0: none), or a function of the type: an agent
   * gives how many its serving swarmlets take at a time, so nothing is held that they will not run
   * soon. Default 256.
   */
  readonly prefetch?: number | ((taskType: string) => number);
  /** Dead tasks kept per type in BullMQ's failed set. Default 10 000. */
  readonly keepDead?: number;
  /** Errors of background work (lock renewal, stalled checks); both retry on their next tick. */
  readonly onBackgroundError?: (error: Error) => void;
}

interface Lease {
  readonly job: Job<BrokerTask>;
  readonly task: BrokerTask;
}

/** Stalls are the holder's fault (it died), not the task's: never fail a task for stalling. */
const MAX_STALLED_COUNT = 1_000_000;
const CLOSE_REQUEUE_BOUND_MS = 5_000;

export class BullmqBroker implements Broker {
  readonly name = 'bullmq';
  private readonly redis: Redis;
  private readonly prefix: string;
  private readonly lockDurationMs: number;
  private readonly keepDead: number;
  private readonly onBackgroundError: (error: Error) => void;
  /** Per queue, leases fetched by completions and not yet handed out by `take`, oldest first. */
  private readonly ahead = new FetchedAhead();
  /** Per type, the highest class rank with ready work at the last count: completions of a lower class fetch nothing ahead. */
  private readonly topReadyRank = new Map<string, number>();
  private readonly prefetch: (taskType: string) => number;
  /** The lock value of every lease this instance holds. */
  private readonly token = randomUUID();
  private readonly queues = new Map<string, Queue<BrokerTask>>();
  private readonly workers = new Map<string, Worker<BrokerTask>>();
  private readonly registered = new Set<string>();
  private readonly leases = new Map<number, Lease>();
  private readonly renewal: NodeJS.Timeout;
  private renewing = false;
  private closed = false;

  constructor(options: BullmqBrokerOptions) {
    this.prefix = options.prefix ?? 'swarmlet';
    this.lockDurationMs = options.lockDurationMs ?? 30_000;
    const prefetch = options.prefetch ?? 256;
    if (typeof prefetch === 'number' && (!Number.isInteger(prefetch) || prefetch < 0)) throw new RangeError(`BullmqBroker: prefetch = ${prefetch}, must be an integer ≥ 0 (default 256)`);
    this.prefetch = typeof prefetch === 'number' ? () => prefetch : prefetch;
    this.keepDead = options.keepDead ?? 10_000;
    this.onBackgroundError = options.onBackgroundError ?? (() => {});
    validateOptions(Boolean(options.url) || Boolean(options.connection), this.prefix, this.lockDurationMs, this.keepDead);
    // BullMQ workers need maxRetriesPerRequest null (commands wait out a reconnect instead of failing).
    const redisOptions: RedisOptions = { ...options.connection, maxRetriesPerRequest: null };
    this.redis = options.url ? new Redis(options.url, redisOptions) : new Redis(redisOptions);
    this.redis.on('error', (error: Error) => this.onBackgroundError(error));
    this.renewal = setInterval(() => void this.renewLocks(), Math.max(1, Math.floor(this.lockDurationMs / 2)));
    this.renewal.unref();
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
    if (fresh.length > 0) writes.push(this.redis.sadd(this.typesKey(), ...fresh).then(() => fresh.forEach((type) => this.registered.add(type))));
    for (const [name, list] of byQueue) {
      // addBulk: one pipeline of addStandardJob scripts per queue.
      writes.push(this.queueOf(name).addBulk(list.map((task) => ({ name: task.taskType, data: task, opts: jobOptions(task) }))));
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
    // Class first: per class, the tasks fetched ahead, then that queue's ready ones (one pipeline).
    const slots: Promise<BrokerTask | undefined>[] = [];
    names.forEach((name, index) => {
      // An id whose lease is gone (its lock was lost meanwhile) is skipped.
      slots.push(...this.ahead.take(name, max - slots.length).map((id) => Promise.resolve(this.leases.get(id)?.task)));
      const count = Math.min(max - slots.length, ready[index]!);
      if (count > 0) slots.push(...this.fetchNext(name, count).map((job) => job.then((got) => (got ? this.lease(got) : undefined))));
    });
    const taken: BrokerTask[] = [];
    let failure: unknown;
    for (const result of await Promise.allSettled(slots)) {
      if (result.status === 'rejected') failure ??= result.reason;
      else if (result.value) taken.push(result.value); // undefined: another instance took it between our count and our pop
    }
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
    const held = this.release(ids);
    const room = new Map<string, number>();
    const fetchNext = held.map(({ task }) => {
      if (task.priority < (this.topReadyRank.get(task.taskType) ?? 0)) return false; // a higher class waits: take serves it
      const left = room.get(task.taskType) ?? this.prefetch(task.taskType) - this.ahead.countOf(task.taskType);
      room.set(task.taskType, left - 1);
      return left > 0;
    });
    const results = await Promise.allSettled(held.map(({ job }, index) => job.moveToCompleted(null, this.token, fetchNext[index])));
    this.rethrowUnlessLeaseLost(held, results);
    results.forEach((result, index) => {
      if (result.status === 'fulfilled' && Array.isArray(result.value)) this.keepPrefetched(held[index]!.task, result.value);
    });
    return held.filter((_, index) => results[index]!.status === 'fulfilled').map(({ task }) => task.id);
  }

  async fail(ids: readonly number[], reason: string): Promise<FailOutcome[]> {
    this.assertOpen();
    // Each id's lease, if held; a repeated id finds it gone, as after any ended lease.
    const leases = ids.map((id) => {
      const lease = this.leases.get(id);
      this.leases.delete(id);
      return lease;
    });
    const held = leases.filter((lease): lease is Lease => lease !== undefined);
    const error = new Error(reason);
    const results = await Promise.allSettled(held.map(({ job }) => job.moveToFailed(error, this.token, false)));
    this.rethrowUnlessLeaseLost(held, results);
    const ended = new Set(held.filter((_, index) => results[index]!.status === 'fulfilled'));
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
    await this.requeueLeases(this.release(ids));
  }

  async cancel(tasks: readonly { readonly id: number; readonly taskType: string }[]): Promise<number[]> {
    this.assertOpen();
    const mine = tasks.filter(({ id }) => !this.leases.has(id)); // leased or fetched ahead here: left alone
    // The caller does not say the class: the job is looked for in each class queue of its type.
    const removed = await Promise.all(mine.map(({ id, taskType }) => Promise.all(RANKS_SERVED.map((rank) => removeWaiting(this.queueOf(queueNameOf(taskType, rank)), jobIdOf(id))))));
    return mine.filter((_, index) => removed[index]!.includes(true)).map(({ id }) => id);
  }

  async depths(): Promise<Map<string, number>> {
    this.assertOpen();
    const types = (await this.redis.smembers(this.typesKey())).sort();
    const counts = await Promise.all(types.map(async (type) => (await this.readyPerClass(type)).reduce((sum, count) => sum + count, 0)));
    // Tasks this instance fetched ahead are ready as far as its caller can tell: the next take gets them.
    return new Map(types.map((type, index) => [type, counts[index]! + this.ahead.countOf(type)]));
  }

  /** Gives back (no attempt counted) the tasks fetched ahead of types nobody here will take now. */
  async returnAhead(wanted: (taskType: string) => boolean): Promise<number> {
    this.assertOpen();
    const ids = this.ahead.takeUnwanted(wanted);
    if (ids.length > 0) await this.requeueLeases(this.release(ids));
    return ids.length;
  }

  /** Leases held by this instance (another director's leases are its own). */
  async leased(): Promise<number> {
    return this.leases.size - this.ahead.total;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.renewal);
    const errors: unknown[] = [];
    const attempt = async (step: () => Promise<unknown>): Promise<void> => {
      await step().catch((error: unknown) => errors.push(error));
    };
    // Commands wait out a Redis outage (maxRetriesPerRequest null): bound the hand-back so close
    // always ends; leases it could not hand back return by lock expiry and the stalled check.
    const boundMs = Math.min(this.lockDurationMs, CLOSE_REQUEUE_BOUND_MS);
    await attempt(() => withinMs(this.requeueLeases(this.release([...this.leases.keys()])), boundMs, 'requeue of held leases'));
    await Promise.all([...this.workers.values()].map((worker) => attempt(() => worker.close(true))));
    await Promise.all([...this.queues.values()].map((queue) => attempt(() => queue.close())));
    await attempt(() => withinMs(this.redis.quit(), boundMs, 'quit').catch((error: unknown) => {
      this.redis.disconnect();
      throw error;
    }));
    this.workers.clear();
    this.queues.clear();
    if (errors.length > 0) throw new AggregateError(errors, `BullmqBroker.close: ${errors.length} step(s) failed`);
  }

  /** Takes the held leases among `ids` (each once) out of the table before any await. */
  private lease(job: Job<BrokerTask>): BrokerTask {
    const attemptsMade = job.attemptsMade ?? 0;
    const task = attemptsMade === 0 ? job.data : { ...job.data, attempt: job.data.attempt + attemptsMade };
    this.leases.set(task.id, { job, task });
    return task;
  }

  /** Ready tasks of a type per class queue, in RANKS_SERVED order (high first), counted in one pipeline. */
  private readyPerClass(taskType: string): Promise<number[]> {
    return Promise.all(RANKS_SERVED.map((rank) => readyCount(this.queueOf(queueNameOf(taskType, rank)))));
  }

  /** `count` moveToActive scripts on one queue, sent together (one pipeline, run in order). */
  private fetchNext(queueName: string, count: number): Promise<Job<BrokerTask> | undefined>[] {
    const worker = this.workerOf(queueName);
    return Array.from({ length: count }, () => worker.getNextJob(this.token, { block: false }));
  }

  /** A task fetched by a completion (from the completed task's queue): [job json, job id, …] from BullMQ's moveToFinished script. */
  private keepPrefetched(completed: BrokerTask, next: unknown[]): void {
    const [json, jobId] = next as [JobJson | null | undefined, string | undefined];
    if (!json || jobId === undefined) return;
    const name = queueNameOf(completed.taskType, completed.priority);
    const job = Job.fromJSON(this.workerOf(name), json, jobId) as Job<BrokerTask>;
    job.token = this.token;
    this.ahead.add(name, this.lease(job).id);
  }

  private release(ids: readonly number[]): Lease[] {
    const held: Lease[] = [];
    for (const id of ids) {
      const lease = this.leases.get(id);
      if (!lease) continue;
      this.leases.delete(id);
      held.push(lease);
    }
    return held;
  }

  private async requeueLeases(held: readonly Lease[]): Promise<void> {
    const nowMs = Date.now();
    const results = await Promise.allSettled(held.map(({ job }) => job.moveToDelayed(nowMs, this.token)));
    this.rethrowUnlessLeaseLost(held, results);
  }

  /**
   * A BullMQ script error with a negative code (no job, no lock, lock of another holder, not active)
   * means the lease had already been lost: the caller sees "not leased". Anything else (Redis down)
   * restores the leases it could not end, so a retry of the same call is safe, and rejects.
   */
  private rethrowUnlessLeaseLost(held: readonly Lease[], results: readonly PromiseSettledResult<unknown>[]): void {
    let failure: unknown;
    results.forEach((result, index) => {
      if (result.status === 'fulfilled' || isLeaseLost(result.reason)) return;
      const lease = held[index]!;
      this.leases.set(lease.task.id, lease);
      failure ??= result.reason;
    });
    if (failure !== undefined) throw failure;
  }

  private async renewLocks(): Promise<void> {
    if (this.renewing || this.closed || this.leases.size === 0) return;
    this.renewing = true;
    try {
      const byQueue = new Map<string, string[]>();
      for (const { task } of this.leases.values()) {
        const name = queueNameOf(task.taskType, task.priority);
        let jobIds = byQueue.get(name);
        if (!jobIds) byQueue.set(name, (jobIds = []));
        jobIds.push(jobIdOf(task.id));
      }
      await Promise.all(
        [...byQueue].map(async ([name, jobIds]) => {
          const lost = await this.workerOf(name).extendJobLocks(jobIds, jobIds.map(() => this.token), this.lockDurationMs);
          for (const jobId of lost) this.leases.delete(Number(jobId.slice(1)));
        }),
      );
    } catch (error) {
      this.onBackgroundError(error as Error);
    } finally {
      this.renewing = false;
    }
  }

  private queueOf(name: string): Queue<BrokerTask> {
    let queue = this.queues.get(name);
    if (!queue) {
      queue = new Queue<BrokerTask>(name, {
        connection: this.redis,
        prefix: this.prefix,
        defaultJobOptions: { removeOnComplete: true, removeOnFail: { count: this.keepDead }, stackTraceLimit: 0 },
      });
      queue.on('error', (error: Error) => this.onBackgroundError(error));
      this.queues.set(name, queue);
    }
    return queue;
  }

  /** A worker that never runs by itself (autorun off): it fetches when `take` asks. */
  private workerOf(name: string): Worker<BrokerTask> {
    let worker = this.workers.get(name);
    if (!worker) {
      worker = new Worker<BrokerTask>(name, null, {
        connection: this.redis,
        prefix: this.prefix,
        autorun: false,
        lockDuration: this.lockDurationMs,
        // A dead holder's lease is back within lockDuration + this: checking four times per lock
        // period bounds failover at 1.25 × lockDuration (the check is one small script per type).
        stalledInterval: Math.max(10, Math.floor(this.lockDurationMs / 4)),
        maxStalledCount: MAX_STALLED_COUNT,
      });
      worker.on('error', (error: Error) => this.onBackgroundError(error));
      void worker.startStalledCheckTimer();
      this.workers.set(name, worker);
    }
    return worker;
  }

  private typesKey(): string {
    return `${this.prefix}:task-types`;
  }

  private assertOpen(): void {
    if (this.closed) throw new Error('BullmqBroker is closed: create a new one to reconnect');
  }
}
