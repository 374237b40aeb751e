/**
 * The BullMQ broker against a real redis-server (a child process on a free port): the shared
 * broker contract, then what only a Redis-backed broker has — durability across instances,
 * leases owned by one instance, BullMQ's own bookkeeping. Fails (never skips) without redis-server.
 */
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { BrokerTask } from '../src/runtime/brokers/broker.js';
import { BullmqBroker, type BullmqBrokerOptions } from '../src/runtime/brokers/bullmq-broker.js';
import { brokerContract } from './broker.contract.js';
import { startRedisServer, type RedisServer } from './support/redis-server.js';

let redis: RedisServer;
let prefixes = 0;
const freshPrefix = (): string => `swarmlet-test-${++prefixes}`;

beforeAll(async () => {
  redis = await startRedisServer();
});

afterAll(async () => {
  await redis?.stop();
});

brokerContract('bullmq', () => new BullmqBroker({ url: redis.url, prefix: freshPrefix() }));
// Several consecutive tasks to a job: every rule of the contract holds for the tasks inside.
brokerContract(
  'bullmq, batches of up to 3',
  () => new BullmqBroker({ url: redis.url, prefix: freshPrefix(), batch: () => 3 }),
);

describe('bullmq broker: what Redis adds', () => {
  const task = (id: number, fields: Partial<BrokerTask> = {}): BrokerTask => ({
    id,
    taskType: 'hash',
    priority: 1,
    attempt: 1,
    maxAttempts: 3,
    payload: { id },
    ...fields,
  });
  const opened: BullmqBroker[] = [];
  const cleanups: (() => Promise<unknown>)[] = [];
  const open = (prefix: string, options: Partial<BullmqBrokerOptions> = {}): BullmqBroker => {
    const broker = new BullmqBroker({ url: redis.url, prefix, ...options });
    opened.push(broker);
    return broker;
  };
  /** A plain BullMQ queue on the same keys, to look at what the broker stored. */
  const inspect = (prefix: string, type = 'hash'): Queue => {
    const connection = new Redis(redis.url, { maxRetriesPerRequest: null });
    const queue = new Queue(type, { connection, prefix });
    cleanups.push(async () => {
      await queue.close();
      await connection.quit();
    });
    return queue;
  };

  afterEach(async () => {
    await Promise.all(opened.splice(0).map((broker) => broker.close()));
    for (const cleanup of cleanups.splice(0)) await cleanup();
  });

  it('durability: tasks one instance enqueued are seen and taken by the next one on the prefix', async () => {
    const prefix = freshPrefix();
    const first = open(prefix);
    await first.enqueue([task(1), task(2, { priority: 2 }), task(3, { taskType: 'compress' })]);
    await first.close();
    const second = open(prefix);
    expect(await second.depths()).toEqual(
      new Map([
        ['compress', 1],
        ['hash', 2],
      ]),
    );
    expect((await second.take('hash', 10)).map((t) => t.id)).toEqual([2, 1]);
    expect((await second.take('compress', 10)).map((t) => t.id)).toEqual([3]);
  });

  it('a completion fetches the next ready task in the same script; take serves it first; another instance sees it as taken', async () => {
    const prefix = freshPrefix();
    const broker = open(prefix);
    await broker.enqueue([task(1), task(2), task(3)]);
    expect((await broker.take('hash', 1)).map((t) => t.id)).toEqual([1]);
    expect(await broker.complete([1])).toEqual([1]);
    // Task 2 is now held ahead: still ready to this instance's caller, not a lease it handed out…
    expect(await broker.depths()).toEqual(new Map([['hash', 2]]));
    expect(await broker.leased()).toBe(0);
    // …but active in BullMQ, so another instance cannot take it twice.
    const other = open(prefix);
    expect((await other.take('hash', 10)).map((t) => t.id)).toEqual([3]);
    expect((await broker.take('hash', 10)).map((t) => t.id)).toEqual([2]);
    expect(await broker.leased()).toBe(1);
    // With prefetch 0 nothing is fetched ahead.
    const plainPrefix = freshPrefix();
    const plain = open(plainPrefix, { prefetch: 0 });
    await plain.enqueue([task(7), task(8)]);
    await plain.complete((await plain.take('hash', 1)).map((t) => t.id));
    expect(await plain.leased()).toBe(0);
    expect((await inspect(plainPrefix).getJobCounts('active')).active).toBe(0);
  });

  it('fetches ahead at most what prefetch(type) allows, and gives back a type nobody here wants at once', async () => {
    const prefix = freshPrefix();
    let depth = 2;
    const broker = open(prefix, { prefetch: (taskType) => (taskType === 'hash' ? depth : 0) });
    await broker.enqueue([1, 2, 3, 4, 5, 6].map((id) => task(id)));
    await broker.complete((await broker.take('hash', 3)).map((t) => t.id)); // three completions, room for two ahead
    expect(await broker.depths()).toEqual(new Map([['hash', 3]])); // 4, 5 held ahead + 6 queued
    const other = open(prefix);
    expect((await other.take('hash', 10)).map((t) => t.id)).toEqual([6]);
    expect(await broker.returnAhead((taskType) => taskType !== 'hash')).toBe(2);
    depth = 0;
    expect((await other.take('hash', 10)).map((t) => [t.id, t.attempt])).toEqual([
      [4, 1],
      [5, 1],
    ]);
    expect(await broker.returnAhead(() => false)).toBe(0);
  });

  it('close hands held leases back (no attempt counted), behind what was still queued', async () => {
    const prefix = freshPrefix();
    const first = open(prefix);
    await first.enqueue([task(1), task(2), task(3)]);
    await first.take('hash', 2);
    await first.close();
    const second = open(prefix);
    const again = await second.take('hash', 10);
    expect(again.map((t) => [t.id, t.attempt])).toEqual([
      [3, 1],
      [1, 1],
      [2, 1],
    ]);
  });

  it('a lease belongs to the instance that took it', async () => {
    const prefix = freshPrefix();
    const [holder, other] = [open(prefix), open(prefix)];
    await holder.enqueue([task(1), task(2)]);
    await holder.take('hash', 1);
    expect(await other.complete([1])).toEqual([]);
    expect(await other.fail([1], 'not mine')).toEqual([{ id: 1, outcome: 'unknown', attempt: 0 }]);
    expect((await other.take('hash', 10)).map((t) => t.id)).toEqual([2]);
    expect(await holder.complete([1])).toEqual([1]);
  });

  it('every field round-trips, including SLA fields and ones this broker does not know', async () => {
    const broker = open(freshPrefix());
    const original = {
      ...task(7, {
        owner: 'alice',
        deadlineAtMs: 1_234,
        enqueuedAtMs: 1_000,
        costMs: 12.5,
        payload: { nested: [1, 'two', null] },
      }),
      extra: 'kept',
    };
    await broker.enqueue([original]);
    expect(await broker.take('hash', 1)).toEqual([original]);
  });

  it('keeps each class in its own plain BullMQ queue, and the dead in the failed set with the reason', async () => {
    const prefix = freshPrefix();
    const broker = open(prefix);
    const [low, normal, high] = [inspect(prefix, 'hash#low'), inspect(prefix), inspect(prefix, 'hash#high')];
    await broker.enqueue([
      task(1, { priority: 0 }),
      task(2, { priority: 1 }),
      task(3, { priority: 2, maxAttempts: 2 }),
    ]);
    const waiting = async (queue: Queue): Promise<(string | undefined)[]> =>
      (await queue.getWaiting()).map((job) => job.id);
    expect([await waiting(low), await waiting(normal), await waiting(high)]).toEqual([['t1'], ['t2'], ['t3']]);
    expect((await high.getJob('t3'))?.priority).toBe(0); // plain lists, not BullMQ's prioritized set
    for (let attempt = 1; attempt <= 2; attempt++) {
      expect((await broker.take('hash', 1)).map((t) => [t.id, t.attempt])).toEqual([[3, attempt]]);
      await broker.fail([3], `boom ${attempt}`);
    }
    const [dead] = await high.getFailed();
    expect({ id: dead?.id, reason: dead?.failedReason, attemptsMade: dead?.attemptsMade }).toEqual({
      id: 't3',
      reason: 'boom 2',
      attemptsMade: 2,
    });
    expect(await high.getJobCounts('completed', 'active')).toEqual({ completed: 0, active: 0 });
  });

  it('a high task enqueued after normal ones were fetched ahead is taken before them', async () => {
    const prefix = freshPrefix();
    const broker = open(prefix);
    await broker.enqueue([task(1), task(2), task(3)]);
    await broker.complete((await broker.take('hash', 1)).map((t) => t.id)); // fetches 2 ahead
    await broker.enqueue([task(9, { priority: 2 })]);
    expect((await broker.take('hash', 1)).map((t) => t.id)).toEqual([9]);
    // While the high class had ready work, a normal completion fetched nothing ahead of it.
    await broker.complete([9]);
    expect((await broker.take('hash', 10)).map((t) => t.id)).toEqual([2, 3]);
  });

  it('completed tasks leave Redis; enqueue is idempotent by task id while the job exists', async () => {
    const prefix = freshPrefix();
    const broker = open(prefix);
    const queue = inspect(prefix);
    await broker.enqueue([task(1), task(1, { payload: 'duplicate' })]);
    expect(await broker.depths()).toEqual(new Map([['hash', 1]]));
    const [taken] = await broker.take('hash', 10);
    expect(taken?.payload).toEqual({ id: 1 });
    await broker.complete([1]);
    expect(await queue.getJob('t1')).toBeUndefined();
    await broker.enqueue([task(1, { payload: 'second run' })]);
    expect((await broker.take('hash', 1))[0]?.payload).toBe('second run');
  });

  it('renews the locks of held leases', async () => {
    const prefix = freshPrefix();
    const broker = open(prefix, { lockDurationMs: 60_000 });
    const admin = new Redis(redis.url);
    cleanups.push(() => admin.quit());
    await broker.enqueue([task(1)]);
    await broker.take('hash', 1);
    const lockKey = `${prefix}:hash:t1:lock`;
    await admin.pexpire(lockKey, 1_000);
    // The timer calls this every lockDurationMs / 2; call it now instead of waiting 30 s.
    await (broker as unknown as { renewLocks(): Promise<void> }).renewLocks();
    expect(await admin.pttl(lockKey)).toBeGreaterThan(50_000);
    expect(await broker.complete([1])).toEqual([1]);
  });

  it('a call under way when close begins sends nothing after QUIT: it fails as closed, and close ends cleanly', async () => {
    // A command written behind QUIT makes Redis reset the connection, which can drop QUIT's own reply (close then
    // failed with "Connection is closed." when a director stopped in the middle of a tick's depth count).
    const broker = open(freshPrefix(), { batch: () => 2 });
    await broker.enqueue([task(1), task(2), task(3)]);
    const counting = broker.depths(); // its first reply is still on its way…
    const closing = broker.close(); // …when close sends QUIT behind it
    await expect(counting).rejects.toThrow(/^BullmqBroker is closed/);
    await expect(closing).resolves.toBeUndefined();
  });

  it('refuses what BullMQ cannot hold, naming the field and the fix', async () => {
    const broker = open(freshPrefix());
    await expect(broker.enqueue([task(1, { priority: 5 })])).rejects.toThrow(
      /priority 5 of task 1 must be a class rank: 0 low, 1 normal, 2 high/,
    );
    await expect(broker.enqueue([task(1, { taskType: 'a:b' })])).rejects.toThrow(/without ':' or '#'/);
    await expect(broker.enqueue([task(1, { taskType: 'a#high' })])).rejects.toThrow(/without ':' or '#'/);
    expect(() => new BullmqBroker({ prefix: 'x' })).toThrow(/give url/);
    expect(await broker.depths()).toEqual(new Map());
  });
});
