/**
 * Lease batches on a real redis-server: several consecutive micro-tasks in one BullMQ job, each
 * task's lease the batch's lock (the broker contract itself runs with batches in bullmq-broker.test.ts).
 */
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { BrokerTask } from '../src/runtime/brokers/broker.js';
import { consecutiveRuns, idsOfJobId } from '../src/runtime/brokers/bullmq-batches.js';
import { BullmqBroker, type BullmqBrokerOptions } from '../src/runtime/brokers/bullmq-broker.js';
import { leaseBatchSize } from '../src/schedule/lease-batch.js';
import { startRedisServer, type RedisServer } from './support/redis-server.js';

let server: RedisServer;
let admin: Redis;
let prefixes = 0;
const opened: BullmqBroker[] = [];
const queues: Queue[] = [];

beforeAll(async () => {
  server = await startRedisServer();
  admin = new Redis(server.url, { maxRetriesPerRequest: null });
});
afterEach(async () => {
  await Promise.all(opened.splice(0).map((broker) => broker.close()));
  await Promise.all(queues.splice(0).map((queue) => queue.close()));
});
afterAll(async () => {
  await admin.quit();
  await server.stop();
});

const task = (id: number, fields: Partial<BrokerTask> = {}): BrokerTask => ({
  id,
  taskType: 'hash',
  priority: 1,
  attempt: 1,
  maxAttempts: 3,
  payload: { id },
  ...fields,
});
const ids = (tasks: readonly BrokerTask[]): number[] => tasks.map((t) => t.id);

function open(prefix: string, options: Partial<BullmqBrokerOptions> = {}): BullmqBroker {
  const broker = new BullmqBroker({ url: server.url, prefix, batch: () => 3, ...options });
  opened.push(broker);
  return broker;
}

/** The normal class queue's waiting job ids, oldest first. */
async function waitingJobIds(prefix: string): Promise<string[]> {
  return (await admin.lrange(`${prefix}:hash:wait`, 0, -1)).reverse();
}

describe('lease batches (pure parts)', () => {
  it('runs of consecutive ids, cut to the size; a gap starts a new run', () => {
    expect(
      consecutiveRuns(
        [1, 2, 3, 4, 5, 7, 8, 10].map((id) => task(id)),
        3,
      ).map(ids),
    ).toEqual([[1, 2, 3], [4, 5], [7, 8], [10]]);
    expect(idsOfJobId('t7+3')).toEqual({ first: 7, count: 3 });
    expect(idsOfJobId('t7')).toEqual({ first: 7, count: 1 });
    expect(idsOfJobId('repeat:x')).toBeUndefined();
  });

  it('batch size: one per job for a few ready, growing with the queue, spread over serving swarmlets, never more than one swarmlet takes, capped', () => {
    const size = (ready: number, servingSwarmlets: number, perSwarmlet = 1_024, max = 64) =>
      leaseBatchSize({ ready, servingSwarmlets, perSwarmlet, max });
    expect(size(3, 2)).toBe(1);
    expect(size(80, 2)).toBe(10); // 80 ÷ (4 batches × 2 swarmlets)
    expect(size(80, 0)).toBe(20); // nobody serving yet counts as one
    expect(size(20_000, 2)).toBe(64);
    expect(size(20_000, 2, 5)).toBe(5); // ~2 ms of 0.4 ms micro-tasks: a batch strands no more than one swarmlet holds
    expect(size(20_000, 2, 1)).toBe(1); // long or unmeasured micro-tasks travel alone
    expect(size(20_000, 2, 1_024, 1)).toBe(1); // batching off
  });
});

describe('lease batches on BullMQ', () => {
  it('a run travels as one job t<first>+<count>; depths count tasks, not jobs', async () => {
    const prefix = `batches-${++prefixes}`;
    const broker = open(prefix);
    await broker.enqueue([1, 2, 3, 4, 5, 6, 7, 10, 11].map((id) => task(id)));
    expect(await waitingJobIds(prefix)).toEqual(['t1+3', 't4+3', 't7', 't10+2']);
    expect(await broker.depths()).toEqual(new Map([['hash', 9]]));
    expect(ids(await broker.take('hash', 4))).toEqual([1, 2, 3, 4]); // two jobs leased, 5 and 6 held ahead
    expect(await broker.depths()).toEqual(new Map([['hash', 5]]));
    expect(await broker.leased()).toBe(4);
  });

  it('a task failed alone is retried as a job of its own; the batch completes once its last task ends', async () => {
    const prefix = `batches-${++prefixes}`;
    const broker = open(prefix);
    await broker.enqueue([task(1), task(2), task(3)]);
    expect(ids(await broker.take('hash', 3))).toEqual([1, 2, 3]);
    expect(await broker.fail([2], 'boom')).toEqual([{ id: 2, outcome: 'retry', attempt: 2 }]);
    expect(await waitingJobIds(prefix)).toEqual(['t2']);
    expect(await admin.exists(`${prefix}:hash:t1+3`)).toBe(1); // still leased: 1 and 3 run on
    expect(await broker.complete([1, 3])).toEqual([1, 3]);
    expect(await admin.exists(`${prefix}:hash:t1+3`)).toBe(0);
    expect(await broker.take('hash', 10)).toEqual([{ ...task(2), attempt: 2 }]);
    expect(await broker.fail([2], 'boom')).toEqual([{ id: 2, outcome: 'retry', attempt: 3 }]);
  });

  it('the last attempt of a batch task is dead: reported, not queued again', async () => {
    const prefix = `batches-${++prefixes}`;
    const broker = open(prefix);
    await broker.enqueue([task(1, { attempt: 3 }), task(2, { attempt: 3 })]);
    await broker.take('hash', 2);
    expect(await broker.fail([1, 2], 'boom')).toEqual([
      { id: 1, outcome: 'dead', attempt: 3 },
      { id: 2, outcome: 'dead', attempt: 3 },
    ]);
    expect(await broker.depths()).toEqual(new Map([['hash', 0]]));
    expect(await admin.exists(`${prefix}:hash:t1+2`)).toBe(0);
  });

  it('requeue: an untouched batch goes back whole as it came; part of a batch goes back alone', async () => {
    const prefix = `batches-${++prefixes}`;
    const broker = open(prefix);
    await broker.enqueue([task(1), task(2), task(3), task(4), task(5), task(6)]);
    await broker.take('hash', 6);
    await broker.requeue([1, 2, 3]);
    expect(await waitingJobIds(prefix)).toEqual([]);
    expect(await admin.zrange(`${prefix}:hash:delayed`, '0', '-1')).toEqual(['t1+3']); // moveToDelayed(now): ready again
    await broker.complete([4]);
    await broker.requeue([5, 6]);
    expect(await waitingJobIds(prefix)).toEqual(['t5', 't6']);
    expect(await admin.exists(`${prefix}:hash:t4+3`)).toBe(0);
    expect(ids(await broker.take('hash', 10)).sort()).toEqual([1, 2, 3, 5, 6]);
  });

  it('a holder that dies loses the whole batch: once its lock is gone, another instance takes all of it', async () => {
    const prefix = `batches-${++prefixes}`;
    const dying = open(prefix, { lockDurationMs: 300 });
    await dying.enqueue([task(1), task(2), task(3)]);
    expect(ids(await dying.take('hash', 1))).toEqual([1]);
    await dying.complete([1]); // ended here, but the batch's job is still active: it completes with its last task
    await admin.del(`${prefix}:hash:t1+3:lock`); // the holder died: its lock expired
    const survivor = open(prefix, { lockDurationMs: 300 }); // a stalled check (every 75 ms) returns the batch
    let taken: BrokerTask[] = [];
    for (let tries = 0; taken.length === 0 && tries < 100; tries++) {
      taken = await survivor.take('hash', 10);
      if (taken.length === 0) await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(ids(taken)).toEqual([1, 2, 3]); // at-least-once: 1 runs again; its caller records it once
  });

  it('cancel removes a waiting batch whose every task is cancelled, and leaves one with a task still wanted', async () => {
    const prefix = `batches-${++prefixes}`;
    const broker = open(prefix);
    await broker.enqueue([1, 2, 3, 4, 5, 6].map((id) => task(id)));
    const removed = await broker.cancel([1, 2, 3, 4, 5].map((id) => ({ id, taskType: 'hash' })));
    expect(removed.sort()).toEqual([1, 2, 3]);
    expect(await waitingJobIds(prefix)).toEqual(['t4+3']);
  });

  it('a task enqueued twice (a single and inside a batch, as after a director resume) is leased once', async () => {
    const prefix = `batches-${++prefixes}`;
    const single = open(prefix, { batch: () => 1 });
    await single.enqueue([task(2)]);
    const broker = open(prefix);
    await broker.enqueue([task(1), task(2), task(3)]);
    const taken = await broker.take('hash', 10);
    expect(ids(taken).sort()).toEqual([1, 2, 3]);
    expect(await broker.complete(ids(taken))).toHaveLength(3);
    expect(await broker.depths()).toEqual(new Map([['hash', 0]]));
    expect(await broker.leased()).toBe(0);
  });
});
