import { describe, expect, it } from 'vitest';
import type { BrokerTask } from '../src/runtime/brokers/broker.js';
import { MemoryBroker } from '../src/runtime/brokers/memory-broker.js';
import { brokerContract } from './broker.contract.js';

brokerContract('memory', () => new MemoryBroker({ clock: { nowMs: () => 0 } }));

describe('memory broker: SLA order (schedule/sla-queue) per task type', () => {
  const at = { ms: 0 };
  const make = (): MemoryBroker => new MemoryBroker({ clock: { nowMs: () => at.ms } });
  const task = (id: number, fields: Partial<BrokerTask> = {}): BrokerTask => ({
    id,
    taskType: 'hash',
    priority: 1,
    attempt: 1,
    maxAttempts: 3,
    payload: null,
    ...fields,
  });
  const takeIds = async (broker: MemoryBroker, max = 100): Promise<number[]> =>
    (await broker.take('hash', max)).map((t) => t.id);

  it('within a class, the earliest deadline goes first; work without a deadline keeps its FIFO place among itself', async () => {
    at.ms = 0;
    const broker = make();
    await broker.enqueue([task(1), task(2, { deadlineAtMs: 9_000 }), task(3), task(4, { deadlineAtMs: 3_000 })]);
    expect(await takeIds(broker)).toEqual([4, 2, 1, 3]);
  });

  it('one owner flooding a class gets its share, not the class: owners alternate', async () => {
    at.ms = 0;
    const broker = make();
    const flood = Array.from({ length: 6 }, (_, i) => task(i + 1, { owner: 'alice', costMs: 10 }));
    await broker.enqueue([...flood, task(101, { owner: 'bob', costMs: 10 }), task(102, { owner: 'bob', costMs: 10 })]);
    expect(await takeIds(broker, 4)).toEqual([1, 101, 2, 102]);
  });

  it('aging: low work that has waited long enough is served before fresh normal work (nothing starves)', async () => {
    at.ms = 0;
    const broker = make();
    await broker.enqueue([task(1, { priority: 0, enqueuedAtMs: 0 })]);
    at.ms = 1_000;
    await broker.enqueue([task(2, { priority: 1, enqueuedAtMs: 1_000 })]);
    expect(await takeIds(broker, 1)).toEqual([2]); // 1 s old low work is still below normal
    at.ms = 20_000; // low has aged above the normal class; fresh normal arrives now
    await broker.enqueue([task(3, { priority: 1, enqueuedAtMs: 20_000 })]);
    expect(await takeIds(broker)).toEqual([1, 3]);
  });

  it('returns to the FIFO fast path once empty, and keeps strict FIFO there', async () => {
    at.ms = 0;
    const broker = make();
    await broker.enqueue([task(1, { priority: 2 }), task(2, { priority: 0 })]);
    expect(await takeIds(broker)).toEqual([1, 2]);
    await broker.enqueue([task(3), task(4), task(5)]);
    expect(await takeIds(broker)).toEqual([3, 4, 5]);
  });

  it('a deadline arriving behind FIFO work moves the whole lane into SLA order without losing anything', async () => {
    at.ms = 0;
    const broker = make();
    await broker.enqueue([task(1), task(2), task(3)]);
    await broker.enqueue([task(4, { deadlineAtMs: 100 })]);
    expect(await takeIds(broker)).toEqual([4, 1, 2, 3]);
    expect(await broker.leased()).toBe(4);
  });

  it('cancelling waiting tasks keeps a FIFO lane FIFO: a retried task still rejoins at the back', async () => {
    at.ms = 0;
    const broker = make();
    await broker.enqueue([task(1, { enqueuedAtMs: 0 })]);
    expect(await takeIds(broker, 1)).toEqual([1]);
    at.ms = 5;
    await broker.enqueue([2, 3, 4].map((id) => task(id, { enqueuedAtMs: 5 })));
    expect(await broker.cancel([{ id: 3, taskType: 'hash' }])).toEqual([3]);
    await broker.fail([1], 'boom'); // by age it would go first; in the FIFO lane it goes last
    expect(await takeIds(broker)).toEqual([2, 4, 1]);
  });

  it('cancels a failed job’s many waiting tasks in one call, leaving the others in order', async () => {
    at.ms = 0;
    const broker = make();
    const waiting = Array.from({ length: 30_000 }, (_, i) => task(i + 1, { enqueuedAtMs: 0 }));
    await broker.enqueue(waiting);
    const ended = waiting.filter((t) => t.id % 2 === 0).map(({ id }) => ({ id, taskType: 'hash' }));
    expect(await broker.cancel(ended)).toHaveLength(15_000);
    expect(await broker.depths()).toEqual(new Map([['hash', 15_000]]));
    expect(await takeIds(broker, 3)).toEqual([1, 3, 5]);
  });

  it('a lane whose tasks share one deadline (a job with a deadline) stays FIFO: a retried task rejoins at the back', async () => {
    at.ms = 0;
    const broker = make();
    await broker.enqueue([task(1, { enqueuedAtMs: 0, deadlineAtMs: 50 })]);
    expect(await takeIds(broker, 1)).toEqual([1]);
    at.ms = 5;
    await broker.enqueue([2, 3].map((id) => task(id, { enqueuedAtMs: 5, deadlineAtMs: 50 })));
    await broker.fail([1], 'boom'); // by age it would go first; in the FIFO lane it goes last
    expect(await takeIds(broker)).toEqual([2, 3, 1]);
    // A different deadline still moves the lane into SLA order.
    await broker.enqueue([task(4, { deadlineAtMs: 50 }), task(5, { deadlineAtMs: 10 })]);
    expect(await takeIds(broker)).toEqual([5, 4]);
  });

  it('serving a lane that shares one deadline costs about what a lane without deadlines does (same run)', async () => {
    at.ms = 0;
    const drainMs = async (deadlineAtMs: number | undefined): Promise<number> => {
      const broker = make();
      const waiting = Array.from({ length: 100_000 }, (_, i) => task(i + 1, { enqueuedAtMs: i / 100, deadlineAtMs }));
      const startMs = performance.now();
      for (let i = 0; i < waiting.length; i += 1_000) {
        await broker.enqueue(waiting.slice(i, i + 1_000));
        await broker.take('hash', 500);
      }
      while ((await broker.take('hash', 1_024)).length > 0);
      return performance.now() - startMs;
    };
    const plain: number[] = [];
    const withDeadline: number[] = [];
    for (let round = 0; round < 3; round++) {
      plain.push(await drainMs(undefined));
      withDeadline.push(await drainMs(60_000));
    }
    // Best of three each, so a burst of load elsewhere does not decide it. Was ~13× (the SLA heaps).
    expect(Math.min(...withDeadline)).toBeLessThan(4 * Math.max(Math.min(...plain), 5));
  });
});
