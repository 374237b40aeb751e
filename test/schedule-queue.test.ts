import { describe, expect, it } from 'vitest';
import { SlaQueue, type SlaItem, type SlaQueueOptions } from '../src/schedule/sla-queue.js';

// Defaults: agingMs 2 000, S = 4 steps per class, no-deadline slack 10 000.
// So a normal item ties fresh high work after 8 000 ms, a low item after 16 000 ms.
const NO_AGING: SlaQueueOptions = { agingMs: Infinity };

function item(
  id: number,
  priorityClass: SlaItem['priorityClass'],
  enqueuedAtMs: number,
  extra: Partial<SlaItem> = {},
): SlaItem {
  return { id, owner: 'o', priorityClass, enqueuedAtMs, costMs: 100, ...extra };
}

interface AgingRow {
  old: SlaItem['priorityClass'];
  fresh: SlaItem['priorityClass'];
  nowMs: number;
  winner: 'old' | 'fresh';
  freshDeadlineInMs?: number;
}

function pushAll(queue: SlaQueue, items: SlaItem[]): void {
  for (const it of items) expect(queue.push(it)).toEqual({ accepted: true });
}

function drain(queue: SlaQueue, nowMs: number): number[] {
  const ids: number[] = [];
  for (let next = queue.pop(nowMs); next !== undefined; next = queue.pop(nowMs)) ids.push(next.id);
  return ids;
}

describe('SlaQueue order', () => {
  it.each([
    {
      name: 'strict class order without aging, FIFO inside a class',
      items: [item(1, 'low', 0), item(2, 'normal', 1), item(3, 'high', 2), item(4, 'low', 3), item(5, 'high', 4)],
      nowMs: 1_000_000,
      expected: [3, 5, 2, 1, 4],
    },
    {
      name: 'EDF inside a class; an item without deadline after deadlines before its implicit due time',
      items: [
        item(1, 'normal', 0),
        item(2, 'normal', 0, { deadlineAtMs: 300 }),
        item(3, 'normal', 0, { deadlineAtMs: 100 }),
        item(4, 'normal', 0, { deadlineAtMs: 200 }),
      ],
      nowMs: 0,
      expected: [3, 4, 2, 1],
    },
    {
      name: 'EDF across owners of one class whose turn it equally is',
      items: [
        item(1, 'normal', 0, { owner: 'a', deadlineAtMs: 900 }),
        item(2, 'normal', 0, { owner: 'b', deadlineAtMs: 100 }),
      ],
      nowMs: 0,
      expected: [2, 1],
    },
    {
      name: 'FIFO tie-break: equal deadlines go by enqueue time, then by push order',
      items: [
        item(1, 'high', 20, { deadlineAtMs: 500 }),
        item(2, 'high', 10, { deadlineAtMs: 500 }),
        item(3, 'high', 10, { deadlineAtMs: 500 }),
        item(4, 'high', 5),
      ],
      nowMs: 20,
      expected: [2, 3, 1, 4], // 4 is due at 5 + 10 000 (high needs no aging to reach the top)
    },
    {
      name: 'a deadline missed before enqueue counts as due at enqueue: it cannot jump older work',
      items: [item(1, 'low', 100, { deadlineAtMs: 150 }), item(2, 'low', 200, { deadlineAtMs: -5_000 })],
      nowMs: 200,
      expected: [1, 2],
    },
  ])('$name', ({ items, nowMs, expected }) => {
    const queue = new SlaQueue(NO_AGING);
    pushAll(queue, items);
    expect(drain(queue, nowMs)).toEqual(expected);
  });

  // An old item enqueued at 0 against a fresh competitor enqueued at nowMs: who is served first?
  // Levels (steps): low 0, normal 4, high 8, +1 per full 2 000 ms of the class's oldest wait, cap 8.
  // Ties: due time (no deadline: enqueue + (8 − base)·2 000 + 10 000), then enqueue time.
  it.each([
    { old: 'low', fresh: 'normal', nowMs: 7_999, winner: 'fresh' }, // low at step 3 < 4
    { old: 'low', fresh: 'normal', nowMs: 8_000, winner: 'old' }, // step 4 = 4; due 26 000 = 26 000; older enqueue
    { old: 'low', fresh: 'high', nowMs: 15_999, winner: 'fresh' }, // step 7 < 8
    { old: 'low', fresh: 'high', nowMs: 16_000, winner: 'old' }, // step 8 = 8; due 26 000 = 26 000; older
    { old: 'normal', fresh: 'high', nowMs: 7_999, winner: 'fresh' }, // 4 + 3 < 8
    { old: 'normal', fresh: 'high', nowMs: 8_000, winner: 'old' }, // 4 + 4 = 8; due 18 000 = 18 000; older
    // fresh high with a deadline 500 ms out: due nowMs + 500 against the low item's 26 000
    { old: 'low', fresh: 'high', freshDeadlineInMs: 500, nowMs: 25_499, winner: 'fresh' },
    { old: 'low', fresh: 'high', freshDeadlineInMs: 500, nowMs: 25_500, winner: 'old' },
  ] satisfies AgingRow[])('aging: $old enqueued at 0 vs fresh $fresh at $nowMs ms → $winner', (row) => {
    const queue = new SlaQueue();
    const deadline = row.freshDeadlineInMs === undefined ? {} : { deadlineAtMs: row.nowMs + row.freshDeadlineInMs };
    pushAll(queue, [item(1, row.old, 0), item(2, row.fresh, row.nowMs, { owner: 'other', ...deadline })]);
    expect(queue.peek(row.nowMs)?.id).toBe(row.winner === 'old' ? 1 : 2);
    expect(queue.pop(row.nowMs)?.id).toBe(row.winner === 'old' ? 1 : 2);
  });

  it('reports the class level it used, in classes', () => {
    const queue = new SlaQueue();
    pushAll(queue, [item(1, 'low', 0)]);
    expect([0, 2_000, 9_999, 16_000, 90_000].map((t) => queue.levelOf('low', t))).toEqual([0, 0.25, 1, 2, 2]);
    expect(queue.levelOf('high', 0)).toBeUndefined(); // nothing queued: no data
  });
});

describe('SlaQueue starvation', () => {
  // One worker pops every 100 ms (virtual). Before each pop one fresh high item arrives, so high
  // work never runs out. The low item, enqueued at 0, must come out at the first pop with
  // wait ≥ 2S·agingMs (= 16 000 ms, pop #160) — or, if the high items carry a deadline d ms out,
  // wait ≥ 16 000 + 10 000 − d (d = 500: 25 500 ms, pop #255). Without aging it never does.
  it.each([
    { options: {}, highDeadlineInMs: undefined, lowOutAtPop: 160 },
    { options: {}, highDeadlineInMs: 500, lowOutAtPop: 255 },
    { options: { agingMs: 1_000 }, highDeadlineInMs: undefined, lowOutAtPop: 80 },
    { options: NO_AGING, highDeadlineInMs: undefined, lowOutAtPop: undefined },
  ])(
    'low item under a stream of high work (aging $options.agingMs, deadline $highDeadlineInMs) → pop $lowOutAtPop',
    ({ options, highDeadlineInMs, lowOutAtPop }) => {
      const queue = new SlaQueue(options);
      pushAll(queue, [item(0, 'low', 0)]);
      let lowOutAt: number | undefined;
      for (let pop = 0; pop < 1_000 && lowOutAt === undefined; pop += 1) {
        const nowMs = pop * 100;
        const deadline = highDeadlineInMs === undefined ? {} : { deadlineAtMs: nowMs + highDeadlineInMs };
        pushAll(queue, [item(pop + 1, 'high', nowMs, { owner: 'flood', ...deadline })]);
        if (queue.pop(nowMs)?.id === 0) lowOutAt = pop;
      }
      expect(lowOutAt).toBe(lowOutAtPop);
    },
  );
});

describe('SlaQueue per-owner fairness (start-time fair queuing)', () => {
  // Owner A queues 1 000 items at 0; 5 are served; then B queues 10 at 1 000 ms (same class).
  // Equal costs: B's tag starts at V, one cost below A's, so B and A alternate and B's k-th item
  // is served at pop 2k − 1: all 10 within 19 pops, not after A's 995 others.
  // B half A's cost: B, B, A, … → B's 10th at pop 14. B twice A's cost: B, A, A, … → pop 28.
  it.each([
    { costA: 100, costB: 100, lastBPop: 19, bPops: [1, 3, 5, 7, 9, 11, 13, 15, 17, 19] },
    { costA: 100, costB: 50, lastBPop: 14, bPops: [1, 2, 4, 5, 7, 8, 10, 11, 13, 14] },
    { costA: 100, costB: 200, lastBPop: 28, bPops: [1, 4, 7, 10, 13, 16, 19, 22, 25, 28] },
  ])(
    'A floods 1 000 (cost $costA), B adds 10 (cost $costB): B done by pop $lastBPop',
    ({ costA, costB, lastBPop, bPops }) => {
      const queue = new SlaQueue();
      pushAll(
        queue,
        Array.from({ length: 1_000 }, (_, i) => item(i, 'normal', 0, { owner: 'A', costMs: costA })),
      );
      expect(drain5(queue)).toEqual([0, 1, 2, 3, 4]);
      pushAll(
        queue,
        Array.from({ length: 10 }, (_, i) => item(10_000 + i, 'normal', 1_000, { owner: 'B', costMs: costB })),
      );
      const served: number[] = [];
      for (let pop = 1; pop <= 40; pop += 1) if ((queue.pop(1_000)?.id ?? -1) >= 10_000) served.push(pop);
      expect(served).toEqual(bPops);
      expect(Math.max(...served)).toBe(lastBPop);
    },
  );

  it('an owner that empties and refills at once keeps its debt (no banked credit by re-queuing)', () => {
    const queue = new SlaQueue();
    pushAll(
      queue,
      Array.from({ length: 20 }, (_, i) => item(i, 'normal', 0, { owner: 'B' })),
    );
    // A pushes one item right after each of its items is served: it must still only get every other turn.
    let nextA = 1_000;
    pushAll(queue, [item(nextA, 'normal', 0, { owner: 'A' })]);
    const owners: string[] = [];
    for (let pop = 0; pop < 20; pop += 1) {
      const served = queue.pop(0)!;
      owners.push(served.owner);
      if (served.owner === 'A') pushAll(queue, [item(++nextA, 'normal', 0, { owner: 'A' })]);
    }
    expect(owners.filter((o) => o === 'A')).toHaveLength(10);
    expect(owners.filter((o) => o === 'B')).toHaveLength(10);
  });
});

function drain5(queue: SlaQueue): number[] {
  return Array.from({ length: 5 }, () => queue.pop(0)!.id);
}

describe('SlaQueue capacity, refusals and remove', () => {
  it('refuses past capacity with a reason and keeps what it accepted', () => {
    const queue = new SlaQueue({ capacity: 3 });
    pushAll(queue, [item(1, 'low', 0), item(2, 'high', 0), item(3, 'normal', 0)]);
    const refused = queue.push(item(4, 'high', 0));
    expect(refused).toEqual({
      accepted: false,
      reason: 'full',
      message: 'queue full: 3/3 items; item 4 (high) not queued',
    });
    expect(queue.size).toBe(3);
    expect(drain(queue, 0)).toEqual([2, 3, 1]);
    expect(queue.push(item(4, 'high', 0)).accepted).toBe(true); // room again
  });

  it.each([
    { bad: item(1, 'high', 0), reason: 'duplicate-id', message: 'id 1 is already queued' },
    {
      bad: item(2, 'high', 0, { costMs: -1 }),
      reason: 'invalid-item',
      message: 'costMs = -1: must be a finite number ≥ 0 (the predicted duration)',
    },
    {
      bad: item(3, 'high', Number.NaN),
      reason: 'invalid-item',
      message: 'enqueuedAtMs = NaN: must be a finite number',
    },
    {
      bad: item(4, 'urgent' as never, 0),
      reason: 'invalid-item',
      message: 'priorityClass = urgent: must be high, normal or low',
    },
  ])('refuses $reason: $message', ({ bad, reason, message }) => {
    const queue = new SlaQueue();
    pushAll(queue, [item(1, 'high', 0)]);
    expect(queue.push(bad)).toEqual({ accepted: false, reason, message });
    expect(queue.size).toBe(1);
  });

  it('remove drops a queued item, keeps order of the rest, and says false for unknown ids', () => {
    const queue = new SlaQueue(NO_AGING);
    pushAll(queue, [
      item(1, 'normal', 0, { owner: 'a' }),
      item(2, 'normal', 1, { owner: 'a' }),
      item(3, 'normal', 2, { owner: 'b' }),
      item(4, 'high', 3),
    ]);
    expect(queue.remove(4)).toBe(true);
    expect(queue.remove(1)).toBe(true);
    expect(queue.remove(1)).toBe(false);
    expect(queue.remove(99)).toBe(false);
    expect(queue.stats()).toEqual({
      size: 2,
      capacity: 100_000,
      backlogCostMs: 200,
      byClass: { high: { count: 0, costMs: 0 }, normal: { count: 2, costMs: 200 }, low: { count: 0, costMs: 0 } },
    });
    expect(drain(queue, 10)).toEqual([2, 3]);
    expect(queue.peek(10)).toBeUndefined();
  });

  it.each([
    [{ capacity: 0 }, 'SlaQueue capacity = 0: use a whole number ≥ 1'],
    [{ agingMs: 0 }, 'SlaQueue agingMs = 0: use a wait > 0 ms, or Infinity to disable aging'],
    [{ agingStepsPerClass: 1.5 }, 'SlaQueue agingStepsPerClass = 1.5: use a whole number ≥ 1'],
  ])('rejects bad options %o', (options, message) => {
    expect(() => new SlaQueue(options)).toThrow(message);
  });
});

describe('SlaQueue at scale', () => {
  it('pushes and pops 100 000 items across classes and 100 owners quickly, each exactly once', () => {
    const queue = new SlaQueue({ capacity: 100_000 });
    const classes = ['high', 'normal', 'low'] as const;
    let seed = 7;
    const next = (): number => (seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648);
    const items = Array.from({ length: 100_000 }, (_, i) => {
      const r = next();
      const deadline = r % 3 === 0 ? { deadlineAtMs: i + (r % 5_000) } : {};
      return item(i, classes[r % 3]!, i, { owner: `o${r % 100}`, costMs: 1 + (r % 300), ...deadline });
    });
    const started = performance.now();
    const refused = items.filter((it) => !queue.push(it).accepted);
    const seen = new Set<number>();
    for (let t = 100_000; queue.size > 0; t += 1) seen.add(queue.pop(t)!.id);
    const elapsedMs = performance.now() - started;
    console.log(`100 000 pushes + pops in ${elapsedMs.toFixed(0)} ms`);
    expect(refused).toEqual([]);
    expect(seen.size).toBe(100_000);
    expect(elapsedMs).toBeLessThan(3_000); // ~0.7 s here; generous for slow CI
  });
});

describe('SlaQueue agingBelowHigh: old lower-class work never ties fresh high work', () => {
  const item = (id: number, priorityClass: 'high' | 'normal' | 'low', enqueuedAtMs: number) => ({
    id,
    owner: 'o',
    priorityClass,
    enqueuedAtMs,
    costMs: 1,
  });

  it.each([
    {
      agingBelowHigh: false,
      first: 1,
      why: 'capped at high: a low item that waited 100 s ties, and goes first as the older one',
    },
    { agingBelowHigh: true, first: 2, why: 'capped below high: the fresh high item goes first' },
  ])('$why', ({ agingBelowHigh, first }) => {
    const queue = new SlaQueue({ agingBelowHigh });
    queue.push(item(1, 'low', 0));
    queue.push(item(2, 'high', 100_000));
    expect(queue.pop(100_000)?.id).toBe(first);
  });

  it('still lifts old low work above fresh normal work', () => {
    const queue = new SlaQueue({ agingBelowHigh: true });
    queue.push(item(1, 'low', 0));
    queue.push(item(2, 'normal', 100_000));
    expect(queue.pop(100_000)?.id).toBe(1);
  });
});

describe('SLA queue: classes without fair shares', () => {
  it('a class left out of fairShareClasses is served in deadline order whoever owns the work', () => {
    const item = (id: number, owner: string, deadlineAtMs: number) => ({
      id,
      owner,
      priorityClass: 'high' as const,
      enqueuedAtMs: 0,
      deadlineAtMs,
      costMs: 10,
    });
    // alice queued two urgent items, bob one later deadline.
    const items = [item(1, 'alice', 100), item(2, 'alice', 200), item(3, 'bob', 900)];
    const fair = new SlaQueue();
    const edf = new SlaQueue({ fairShareClasses: ['normal', 'low'] });
    for (const it of items) {
      fair.push(it);
      edf.push(it);
    }
    const order = (q: InstanceType<typeof SlaQueue>) => [q.pop(0)!.id, q.pop(0)!.id, q.pop(0)!.id];
    expect(order(fair)).toEqual([1, 3, 2]); // owners alternate: alice's second urgent item waits for bob
    expect(order(edf)).toEqual([1, 2, 3]); // pure EDF
  });
});
