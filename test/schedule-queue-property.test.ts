import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PRIORITIES } from '../src/core/limits.js';
import { SlaQueue, type SlaItem } from '../src/schedule/sla-queue.js';

// Random push / pop / remove sequences against a model (the set of accepted, not yet taken ids):
// a push is accepted iff there is room; every pop returns a queued id exactly once; remove says
// true iff the id is queued; draining at the end returns everything left. With aging off, each
// pop is of the highest class queued, and EDF-then-FIFO among the same owner's items of that class.

type Op =
  | {
      kind: 'push';
      priorityClass: SlaItem['priorityClass'];
      owner: string;
      deadlineInMs: number | undefined;
      costMs: number;
    }
  | { kind: 'pop' }
  | { kind: 'remove'; pick: number };

const opArbitrary: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('push' as const),
      priorityClass: fc.constantFrom('high' as const, 'normal' as const, 'low' as const),
      owner: fc.constantFrom('a', 'b', 'c'),
      deadlineInMs: fc.option(fc.integer({ min: -1_000, max: 20_000 }), { nil: undefined }),
      costMs: fc.integer({ min: 0, max: 500 }),
    }),
  },
  { weight: 2, arbitrary: fc.constant({ kind: 'pop' as const }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('remove' as const), pick: fc.nat() }) },
);

const scenario = fc.record({
  capacity: fc.integer({ min: 1, max: 12 }),
  ops: fc.array(fc.tuple(opArbitrary, fc.integer({ min: 0, max: 3_000 })), { maxLength: 150 }),
});

/**
 * Due time with aging off (agingMs = Infinity): deadline clamped to enqueue; no deadline: high is due at enqueue +
 * slack, others never.
 */
function dueWithoutAging(it: SlaItem): number {
  if (it.deadlineAtMs !== undefined) return Math.max(it.deadlineAtMs, it.enqueuedAtMs);
  return it.priorityClass === 'high' ? it.enqueuedAtMs + 10_000 : Infinity;
}

function run(capacity: number, ops: [Op, number][], agingMs: number): void {
  const queue = new SlaQueue({ capacity, agingMs });
  const model = new Map<number, SlaItem>();
  const popped = new Set<number>();
  let nowMs = 0;
  let nextId = 0;
  const checkPopped = (it: SlaItem | undefined): void => {
    if (model.size === 0) return void expect(it).toBeUndefined();
    expect(it).toBeDefined();
    expect(model.has(it!.id)).toBe(true);
    expect(popped.has(it!.id)).toBe(false);
    if (agingMs === Infinity) {
      const others = [...model.values()];
      expect(PRIORITIES[it!.priorityClass]).toBe(Math.max(...others.map((o) => PRIORITIES[o.priorityClass])));
      for (const o of others) {
        if (o.owner !== it!.owner || o.priorityClass !== it!.priorityClass) continue;
        const [d1, d2] = [dueWithoutAging(it!), dueWithoutAging(o)];
        expect(d1 < d2 || (d1 === d2 && it!.enqueuedAtMs <= o.enqueuedAtMs)).toBe(true);
      }
    }
    model.delete(it!.id);
    popped.add(it!.id);
  };
  for (const [op, advanceMs] of ops) {
    nowMs += advanceMs;
    if (op.kind === 'push') {
      const it: SlaItem = {
        id: nextId++,
        owner: op.owner,
        priorityClass: op.priorityClass,
        enqueuedAtMs: nowMs,
        costMs: op.costMs,
      };
      if (op.deadlineInMs !== undefined) it.deadlineAtMs = nowMs + op.deadlineInMs;
      const result = queue.push(it);
      expect(result.accepted).toBe(model.size < capacity);
      if (!result.accepted) expect(result.reason).toBe('full');
      if (result.accepted) model.set(it.id, it);
    } else if (op.kind === 'pop') {
      const peeked = queue.peek(nowMs);
      const it = queue.pop(nowMs);
      expect(peeked).toBe(it);
      checkPopped(it);
    } else {
      const ids = [...model.keys(), ...popped]; // sometimes an id already taken
      const id = ids.length === 0 ? 0 : ids[op.pick % ids.length]!;
      expect(queue.remove(id)).toBe(model.has(id));
      model.delete(id);
    }
    expect(queue.size).toBe(model.size);
    const costMs = [...model.values()].reduce((sum, it) => sum + it.costMs, 0);
    expect(queue.stats().backlogCostMs).toBeCloseTo(costMs, 6);
  }
  while (model.size > 0) checkPopped(queue.pop(nowMs));
  expect(queue.pop(nowMs)).toBeUndefined();
}

describe('SlaQueue properties', () => {
  it('aging off: no loss, no duplicate, bounded, class order and per-owner EDF/FIFO hold', () => {
    fc.assert(
      fc.property(scenario, ({ capacity, ops }) => run(capacity, ops, Infinity)),
      { numRuns: 300 },
    );
  });

  it('aging on (2 s and 50 ms): no loss, no duplicate, bounded', () => {
    fc.assert(
      fc.property(scenario, fc.constantFrom(2_000, 50), ({ capacity, ops }, agingMs) => run(capacity, ops, agingMs)),
      { numRuns: 300 },
    );
  });
});
