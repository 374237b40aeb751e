import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ReservationLedger, type Claim } from '../src/schedule/reservation-ledger.js';

/**
 * Random sequences over small id spaces (starting from a pool of s0..s2; s3, s4 come and go), so ids collide:
 * re-registering, re-claiming, double releases and stale expiries happen often.
 */
const swarmletId = fc.constantFrom('s0', 's1', 's2', 's3', 's4');
const taskId = fc.constantFrom(...Array.from({ length: 6 }, (_, index) => `t${index}`));
const cpuTenths = (max: number) => fc.integer({ min: 0, max }).map((tenths) => tenths / 10);
const op = fc.oneof(
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('register' as const),
      id: swarmletId,
      cpu: cpuTenths(40),
      memoryMb: fc.integer({ min: 0, max: 4096 }),
    }),
  },
  {
    weight: 6,
    arbitrary: fc.record({
      kind: fc.constant('claim' as const),
      taskId,
      cpu: cpuTenths(20),
      memoryMb: fc.integer({ min: 0, max: 2048 }),
      durationMs: fc.integer({ min: 0, max: 3_000 }),
      placeOn: fc.oneof({ weight: 3, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: swarmletId }),
    }),
  },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('release' as const), taskId }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('expire' as const) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('remove' as const), id: swarmletId }) },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('extend' as const),
      taskId,
      byMs: fc.integer({ min: -1_000, max: 5_000 }),
    }),
  },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('tick' as const), ms: fc.integer({ min: 0, max: 1_500 }) }) },
);

const milli = (value: number): number => Math.round(value * 1000);

interface Model {
  capacity: Map<string, { cpu: number; memoryMb: number }>;
  /** Claims the model believes are live, keyed by task id. */
  live: Map<string, Claim>;
  /** How many times each claim instance (task id @ claimedAtMs # n) ended: must be exactly 1 by the end. */
  endings: Map<string, number>;
  instanceOf: Map<string, string>;
}

function end(model: Model, claim: Claim, how: string): void {
  const instance = model.instanceOf.get(claim.taskId);
  expect(instance, `${how} ${claim.taskId}: ended a claim the model does not hold`).toBeDefined();
  expect(model.live.get(claim.taskId)?.swarmletId, how).toBe(claim.swarmletId);
  model.live.delete(claim.taskId);
  model.instanceOf.delete(claim.taskId);
  model.endings.set(instance as string, (model.endings.get(instance as string) ?? 0) + 1);
}

function checkInvariants(ledger: ReservationLedger, model: Model, cpuOvercommit: number): void {
  const claims = ledger.claims();
  expect(new Set(claims.map((claim) => claim.taskId))).toEqual(new Set(model.live.keys()));
  let totalCpu = 0;
  let totalMemory = 0;
  for (const view of ledger.swarmlets()) {
    const mine = claims.filter((claim) => claim.swarmletId === view.id);
    const memoryMb = mine.reduce((sum, claim) => sum + claim.resources.memoryMb, 0);
    const cpuMilli = mine.reduce((sum, claim) => sum + milli(claim.resources.cpu), 0);
    const capacity = model.capacity.get(view.id) as { cpu: number; memoryMb: number };
    expect(memoryMb, `memory on ${view.id}`).toBeLessThanOrEqual(capacity.memoryMb); // never overcommit memory
    expect(cpuMilli, `cpu on ${view.id}`).toBeLessThanOrEqual(Math.floor(milli(capacity.cpu) * cpuOvercommit));
    expect(view.reserved).toEqual({ cpu: cpuMilli / 1000, memoryMb });
    expect(view.claimCount).toBe(mine.length);
    totalCpu += cpuMilli;
    totalMemory += memoryMb;
  }
  expect(claims.every((claim) => model.capacity.has(claim.swarmletId))).toBe(true);
  expect(ledger.totalReserved()).toEqual({ cpu: totalCpu / 1000, memoryMb: totalMemory });
}

/** What the model says is free on a swarmlet right now. */
function modelFree(model: Model, id: string, cpuOvercommit: number): { cpuMilli: number; memoryMb: number } {
  const capacity = model.capacity.get(id) as { cpu: number; memoryMb: number };
  const mine = [...model.live.values()].filter((claim) => claim.swarmletId === id);
  return {
    cpuMilli:
      Math.floor(milli(capacity.cpu) * cpuOvercommit) -
      mine.reduce((sum, claim) => sum + milli(claim.resources.cpu), 0),
    memoryMb: capacity.memoryMb - mine.reduce((sum, claim) => sum + claim.resources.memoryMb, 0),
  };
}

describe('reservation ledger properties', () => {
  it('never overcommits memory, totals match live claims, and every claim ends exactly once', () => {
    fc.assert(
      fc.property(fc.array(op, { minLength: 20, maxLength: 150 }), fc.constantFrom(1, 1.5), (ops, cpuOvercommit) => {
        const ledger = new ReservationLedger({ cpuOvercommit });
        const model: Model = { capacity: new Map(), live: new Map(), endings: new Map(), instanceOf: new Map() };
        let nowMs = 0;
        let instances = 0;
        for (const id of ['s0', 's1', 's2']) {
          const capacity = { cpu: 2 + Number(id[1]), memoryMb: 1024 * (1 + Number(id[1])) };
          ledger.register({ id, ...capacity });
          model.capacity.set(id, capacity);
        }
        for (const step of ops) {
          switch (step.kind) {
            case 'register': {
              const result = ledger.register(step);
              expect(result.ok).toBe(!model.capacity.has(step.id));
              if (result.ok) model.capacity.set(step.id, { cpu: step.cpu, memoryMb: step.memoryMb });
              break;
            }
            case 'claim': {
              const need = { cpuMilli: milli(step.cpu), memoryMb: step.memoryMb };
              const candidates =
                step.placeOn === undefined
                  ? [...model.capacity.keys()]
                  : model.capacity.has(step.placeOn)
                    ? [step.placeOn]
                    : [];
              const fitting = candidates.filter((id) => {
                const free = modelFree(model, id, cpuOvercommit);
                return need.cpuMilli <= free.cpuMilli && need.memoryMb <= free.memoryMb;
              });
              const result = ledger.claim({
                taskId: step.taskId,
                resources: { cpu: step.cpu, memoryMb: step.memoryMb },
                predictedDurationMs: step.durationMs,
                nowMs,
                placeOn: step.placeOn,
              });
              if (model.live.has(step.taskId)) {
                expect(result).toMatchObject({ ok: false, code: 'duplicate' });
              } else if (fitting.length > 0) {
                // Complete: if any allowed swarmlet has room, the claim lands on one of them.
                expect(result.ok).toBe(true);
                if (result.ok) expect(fitting).toContain(result.swarmletId);
              } else {
                expect(result.ok).toBe(false);
              }
              if (result.ok) {
                const claim = ledger.claimOf(step.taskId) as Claim;
                expect(claim.expiresAtMs).toBe(nowMs + Math.max(1_000, 2 * step.durationMs));
                model.live.set(step.taskId, claim);
                const instance = `${step.taskId}#${instances++}`;
                model.instanceOf.set(step.taskId, instance);
                model.endings.set(instance, 0);
              }
              break;
            }
            case 'release': {
              const released = ledger.release(step.taskId, nowMs);
              expect(released !== undefined).toBe(model.live.has(step.taskId));
              if (released) end(model, released.claim, 'release');
              break;
            }
            case 'expire': {
              const due = [...model.live.values()]
                .filter((claim) => claim.expiresAtMs <= nowMs)
                .map((claim) => claim.taskId);
              const expired = ledger.expire(nowMs);
              expect(new Set(expired.map((claim) => claim.taskId))).toEqual(new Set(due)); // exactly the due ones
              for (const claim of expired) end(model, claim, 'expire');
              break;
            }
            case 'remove': {
              const returned = ledger.remove(step.id);
              const expected = [...model.live.values()]
                .filter((claim) => claim.swarmletId === step.id)
                .map((claim) => claim.taskId);
              expect(new Set(returned.map((claim) => claim.taskId))).toEqual(new Set(expected));
              for (const claim of returned) end(model, claim, 'remove');
              model.capacity.delete(step.id);
              break;
            }
            case 'extend': {
              const current = model.live.get(step.taskId);
              const result = ledger.extend(step.taskId, (current?.expiresAtMs ?? nowMs) + step.byMs);
              expect(result.ok).toBe(current !== undefined && step.byMs >= 0);
              if (result.ok) model.live.set(step.taskId, result.claim);
              break;
            }
            case 'tick':
              nowMs += step.ms;
              break;
          }
          checkInvariants(ledger, model, cpuOvercommit);
        }
        // Drain: everything still live ends by expiry, then every claim instance ended exactly once.
        for (const claim of ledger.expire(Number.MAX_SAFE_INTEGER)) end(model, claim, 'drain');
        expect(ledger.claimCount).toBe(0);
        expect(ledger.totalReserved()).toEqual({ cpu: 0, memoryMb: 0 });
        for (const [instance, count] of model.endings) expect(count, instance).toBe(1);
      }),
      { numRuns: 250 },
    );
  }, 30_000);

  it('keeps the expiry heap bounded under churn (release-heavy load)', () => {
    const ledger = new ReservationLedger();
    ledger.register({ id: 'n', cpu: 1_000, memoryMb: 1_000_000 });
    for (let index = 0; index < 20_000; index += 1) {
      expect(
        ledger.claim({
          taskId: `t${index}`,
          resources: { cpu: 0.01, memoryMb: 1 },
          predictedDurationMs: 1_000,
          nowMs: index,
        }),
      ).toMatchObject({ ok: true });
      if (index >= 10) ledger.release(`t${index - 10}`, index);
    }
    expect(ledger.claimCount).toBe(10);
    // Only the 10 live claims come back, however many stale heap entries the releases left.
    expect(ledger.expire(Number.MAX_SAFE_INTEGER).map((claim) => claim.taskId)).toEqual(
      Array.from({ length: 10 }, (_, index) => `t${19_990 + index}`),
    );
    expect((ledger as unknown as { heap: unknown[] }).heap.length).toBe(0);
  });
});
