/**
 * The one contract every Broker implementation passes (STYLE.md §7). Implementation-agnostic:
 * only the Broker interface, everything awaited, a fresh broker per test.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Broker, BrokerTask } from '../src/runtime/brokers/broker.js';

function task(id: number, taskType = 'hash', priority = 1, overrides: Partial<BrokerTask> = {}): BrokerTask {
  return { id, taskType, priority, attempt: 1, maxAttempts: 3, payload: { id }, ...overrides };
}

const ids = (tasks: readonly BrokerTask[]): number[] => tasks.map((t) => t.id);

async function depthOf(broker: Broker, taskType: string): Promise<number> {
  return (await broker.depths()).get(taskType) ?? 0;
}

export function brokerContract(name: string, make: () => Promise<Broker> | Broker): void {
  describe(`broker contract: ${name}`, () => {
    let broker: Broker;
    beforeEach(async () => {
      broker = await make();
    });
    afterEach(async () => {
      await broker.close();
    });

    describe('ordering', () => {
      it('takes higher priority first', async () => {
        await broker.enqueue([task(1, 'hash', 0), task(2, 'hash', 2), task(3, 'hash', 1), task(4, 'hash', 2)]);
        expect(ids(await broker.take('hash', 10))).toEqual([2, 4, 3, 1]);
      });

      it('is FIFO within a priority, across several enqueue calls', async () => {
        await broker.enqueue([task(1, 'hash', 1), task(2, 'hash', 0), task(3, 'hash', 1)]);
        await broker.enqueue([task(4, 'hash', 0), task(5, 'hash', 1)]);
        expect(ids(await broker.take('hash', 10))).toEqual([1, 3, 5, 2, 4]);
      });

      it('a later high-priority task overtakes earlier normal ones still queued', async () => {
        await broker.enqueue([task(1), task(2), task(3)]);
        expect(ids(await broker.take('hash', 1))).toEqual([1]);
        await broker.enqueue([task(9, 'hash', 2)]);
        expect(ids(await broker.take('hash', 10))).toEqual([9, 2, 3]);
      });

      it('returns tasks with their payload, priority and attempt intact', async () => {
        const original = task(7, 'hash', 2, { payload: { words: ['a', 'b'] }, maxAttempts: 5 });
        await broker.enqueue([original]);
        expect(await broker.take('hash', 1)).toEqual([original]);
      });
    });

    describe('cancel', () => {
      it('removes waiting tasks of an ended job; a leased one is left to its lease; unknown ids are ignored', async () => {
        await broker.enqueue([task(1), task(2), task(3), task(4, 'compress')]);
        expect(ids(await broker.take('hash', 1))).toEqual([1]);
        const removed = await broker.cancel([
          { id: 1, taskType: 'hash' },
          { id: 2, taskType: 'hash' },
          { id: 4, taskType: 'compress' },
          { id: 99, taskType: 'hash' },
        ]);
        expect(removed.sort()).toEqual([2, 4]);
        expect(await depthOf(broker, 'hash')).toBe(1);
        expect(await depthOf(broker, 'compress')).toBe(0);
        expect(ids(await broker.take('hash', 10))).toEqual([3]);
        expect(await broker.complete([1])).toEqual([1]); // the leased one still ends normally
      });
    });

    describe('take', () => {
      it('leases at most max tasks, in batches', async () => {
        await broker.enqueue([1, 2, 3, 4, 5, 6, 7].map((id) => task(id)));
        expect(ids(await broker.take('hash', 3))).toEqual([1, 2, 3]);
        expect(ids(await broker.take('hash', 3))).toEqual([4, 5, 6]);
        expect(ids(await broker.take('hash', 3))).toEqual([7]);
        expect(await broker.take('hash', 3)).toEqual([]);
      });

      it('takes nothing for max 0', async () => {
        await broker.enqueue([task(1)]);
        expect(await broker.take('hash', 0)).toEqual([]);
        expect(await depthOf(broker, 'hash')).toBe(1);
        expect(await broker.leased()).toBe(0);
      });

      it('only takes tasks of the asked type', async () => {
        await broker.enqueue([task(1, 'hash'), task(2, 'compress'), task(3, 'hash'), task(4, 'compress', 2)]);
        const hashes = await broker.take('hash', 10);
        expect(ids(hashes)).toEqual([1, 3]);
        expect(hashes.every((t) => t.taskType === 'hash')).toBe(true);
        expect(ids(await broker.take('compress', 10))).toEqual([4, 2]);
        expect(await broker.take('resize', 10)).toEqual([]);
      });

      it('never hands the same lease out twice', async () => {
        await broker.enqueue([task(1), task(2)]);
        const first = await broker.take('hash', 1);
        const second = await broker.take('hash', 5);
        expect(ids(first)).toEqual([1]);
        expect(ids(second)).toEqual([2]);
      });
    });

    describe('complete', () => {
      it('returns each leased id once; a duplicate completion returns []', async () => {
        await broker.enqueue([task(1), task(2), task(3)]);
        await broker.take('hash', 3);
        expect((await broker.complete([1, 3])).sort()).toEqual([1, 3]);
        expect(await broker.complete([1, 3])).toEqual([]);
        expect(await broker.complete([2, 2])).toEqual([2]);
        expect(await broker.leased()).toBe(0);
      });

      it('ignores ids it never leased (unknown or still queued)', async () => {
        await broker.enqueue([task(1), task(2)]);
        await broker.take('hash', 1);
        expect(await broker.complete([999, 2])).toEqual([]);
        expect(await depthOf(broker, 'hash')).toBe(1);
        expect(await broker.complete([1])).toEqual([1]);
      });
    });

    describe('fail', () => {
      it('requeues with attempt + 1 until maxAttempts, then dead', async () => {
        await broker.enqueue([task(1, 'hash', 1, { maxAttempts: 3, payload: 'data' })]);
        const seen: number[] = [];
        for (let expected = 1; expected <= 3; expected++) {
          const [leased] = await broker.take('hash', 1);
          expect(leased?.id).toBe(1);
          expect(leased?.attempt).toBe(expected);
          expect(leased?.payload).toBe('data');
          seen.push(leased!.attempt);
          const [outcome] = await broker.fail([1], `boom ${expected}`);
          if (expected < 3) expect(outcome).toEqual({ id: 1, outcome: 'retry', attempt: expected + 1 });
          else expect(outcome).toEqual({ id: 1, outcome: 'dead', attempt: 3 });
        }
        expect(seen).toEqual([1, 2, 3]);
        expect(await broker.take('hash', 1)).toEqual([]);
        expect(await depthOf(broker, 'hash')).toBe(0);
        expect(await broker.leased()).toBe(0);
      });

      it('maxAttempts 1 means no retry', async () => {
        await broker.enqueue([task(1, 'hash', 1, { maxAttempts: 1 })]);
        await broker.take('hash', 1);
        expect(await broker.fail([1], 'boom')).toEqual([{ id: 1, outcome: 'dead', attempt: 1 }]);
      });

      it('a retried task keeps its priority', async () => {
        await broker.enqueue([task(1, 'hash', 2), task(2, 'hash', 0)]);
        await broker.take('hash', 1);
        await broker.fail([1], 'flaky');
        expect(ids(await broker.take('hash', 2))).toEqual([1, 2]);
      });

      it('reports unknown for ids not leased, and a failed lease cannot be completed', async () => {
        await broker.enqueue([task(1), task(2)]);
        await broker.take('hash', 1);
        const outcomes = await broker.fail([1, 42, 2], 'boom');
        expect(outcomes.map((o) => [o.id, o.outcome])).toEqual([
          [1, 'retry'],
          [42, 'unknown'],
          [2, 'unknown'],
        ]);
        expect(await broker.complete([1])).toEqual([]);
        expect((await broker.fail([1], 'again'))[0]?.outcome).toBe('unknown');
      });

      it('a completed lease cannot fail afterwards', async () => {
        await broker.enqueue([task(1)]);
        await broker.take('hash', 1);
        await broker.complete([1]);
        expect((await broker.fail([1], 'late'))[0]?.outcome).toBe('unknown');
        expect(await depthOf(broker, 'hash')).toBe(0);
      });
    });

    describe('counts', () => {
      it('depths count ready tasks per type; leased counts leases', async () => {
        expect(await broker.leased()).toBe(0);
        expect(await depthOf(broker, 'hash')).toBe(0);
        await broker.enqueue([task(1, 'hash'), task(2, 'hash'), task(3, 'compress'), task(4, 'hash')]);
        expect(await depthOf(broker, 'hash')).toBe(3);
        expect(await depthOf(broker, 'compress')).toBe(1);
        await broker.take('hash', 2);
        expect(await depthOf(broker, 'hash')).toBe(1);
        expect(await broker.leased()).toBe(2);
        await broker.fail([1], 'retry me');
        expect(await depthOf(broker, 'hash')).toBe(2);
        expect(await broker.leased()).toBe(1);
        await broker.complete([2]);
        expect(await broker.leased()).toBe(0);
        expect(await depthOf(broker, 'compress')).toBe(1);
      });
    });

    it('requeue ends leases without counting an attempt: the tasks come back as they were', async () => {
      await broker.enqueue([task(1), task(2), task(3, 'compress')]);
      const taken = [...(await broker.take('hash', 10)), ...(await broker.take('compress', 10))];
      await broker.requeue([1, 3, 99]); // 99 was never leased: ignored
      expect(await broker.leased()).toBe(1);
      expect(await depthOf(broker, 'hash')).toBe(1);
      expect(await depthOf(broker, 'compress')).toBe(1);
      const again = await broker.take('hash', 10);
      expect(again.map((t) => [t.id, t.attempt])).toEqual([[1, 1]]);
      expect(await broker.complete([2])).toEqual([2]);
      expect(taken).toHaveLength(3);
    });

    it('round-trips 10k tasks across types and priorities, each completed exactly once', async () => {
      const total = 10_000;
      const types = ['hash', 'compress'];
      const all = Array.from({ length: total }, (_, i) => task(i + 1, types[i % 2], i % 3));
      for (let i = 0; i < total; i += 1000) await broker.enqueue(all.slice(i, i + 1000));
      expect(await depthOf(broker, 'hash')).toBe(total / 2);
      const completed: number[] = [];
      const wrongType: number[] = [];
      const outOfOrder: number[] = [];
      for (const type of types) {
        let lastPriority = Number.POSITIVE_INFINITY;
        for (let round = 0; round < total; round++) {
          const batch = await broker.take(type, 512);
          if (batch.length === 0) break;
          for (const t of batch) {
            if (t.taskType !== type) wrongType.push(t.id);
            if (t.priority > lastPriority) outOfOrder.push(t.id);
            lastPriority = t.priority;
          }
          completed.push(...(await broker.complete(ids(batch))));
        }
      }
      expect(wrongType).toEqual([]);
      expect(outOfOrder).toEqual([]);
      expect(new Set(completed).size).toBe(completed.length);
      expect(completed.length).toBe(total);
      expect(await broker.leased()).toBe(0);
      for (const type of types) expect(await depthOf(broker, type)).toBe(0);
    });
  });
}
