import { describe, expect, it } from 'vitest';
import { InputError } from '../src/core/errors.js';
import type { Resources } from '../src/core/resources.js';
import { ReservationLedger, type ClaimRequest, type LedgerOptions } from '../src/schedule/reservation-ledger.js';

/** s1 small-ish, s2 big, s3 tiny: enough to tell best fit from first fit. */
const POOL = [
  { id: 's1', cpu: 2, memoryMb: 1024 },
  { id: 's2', cpu: 4, memoryMb: 2048 },
  { id: 's3', cpu: 1, memoryMb: 512 },
];

function ledgerWith(pool = POOL, options: Partial<LedgerOptions> = {}): ReservationLedger {
  const ledger = new ReservationLedger(options);
  for (const capacity of pool) expect(ledger.register(capacity)).toEqual({ ok: true });
  return ledger;
}

const ask = (taskId: string, cpu: number, memoryMb: number, extra: Partial<ClaimRequest> = {}): ClaimRequest => ({
  taskId,
  resources: { cpu, memoryMb },
  predictedDurationMs: 1_000,
  nowMs: 0,
  ...extra,
});
const freeOf = (ledger: ReservationLedger): Record<string, Resources> =>
  Object.fromEntries(ledger.swarmlets().map((view) => [view.id, view.free]));

type Step =
  | { claim: ClaimRequest; placed?: string; refused?: RegExp }
  | { release: string; nowMs: number; released: boolean }
  | { expire: number; expired: string[] };

function run(ledger: ReservationLedger, steps: readonly Step[]): void {
  for (const step of steps) {
    if ('claim' in step) {
      const result = ledger.claim(step.claim);
      if (step.placed !== undefined)
        expect(result, step.claim.taskId).toMatchObject({ ok: true, swarmletId: step.placed });
      if (step.refused !== undefined) {
        expect(result.ok, step.claim.taskId).toBe(false);
        if (!result.ok) expect(result.reason).toMatch(step.refused);
      }
    } else if ('release' in step) {
      expect(ledger.release(step.release, step.nowMs) !== undefined, `release ${step.release}`).toBe(step.released);
    } else {
      expect(ledger.expire(step.expire).map((claim) => claim.taskId)).toEqual(step.expired);
    }
  }
}

describe('reservation ledger: claim / release / expire sequences', () => {
  it.each<{ name: string; steps: Step[]; free: Record<string, Resources> }>([
    {
      name: 'best fit: tightest memory first, then the next tightest that still fits',
      steps: [
        { claim: ask('a', 0.5, 400), placed: 's3' }, // all fit; s3 leaves 112 MB
        { claim: ask('b', 0.5, 200), placed: 's1' }, // s3 has 112 MB left; s1 (1024) is tighter than s2 (2048)
        { claim: ask('c', 1, 1500), placed: 's2' }, // only s2 can hold it
      ],
      free: { s1: { cpu: 1.5, memoryMb: 824 }, s2: { cpu: 3, memoryMb: 548 }, s3: { cpu: 0.5, memoryMb: 112 } },
    },
    {
      name: 'release frees exactly the claim, and a second release is a no-op',
      steps: [
        { claim: ask('a', 1, 600), placed: 's1' },
        { claim: ask('b', 1, 300), placed: 's1' }, // s1 has 424 MB left: tighter than s3's 512
        { release: 'a', nowMs: 500, released: true },
        { release: 'a', nowMs: 600, released: false },
        { release: 'never-claimed', nowMs: 600, released: false },
      ],
      free: { s1: { cpu: 1, memoryMb: 724 }, s2: { cpu: 4, memoryMb: 2048 }, s3: { cpu: 1, memoryMb: 512 } },
    },
    {
      name: 'expiry (2× slack) returns exactly the claims due, in expiry order',
      steps: [
        { claim: ask('slow', 0.5, 100, { predictedDurationMs: 5_000 }), placed: 's3' }, // expires at 10 000
        { claim: ask('fast', 0.25, 100, { predictedDurationMs: 1_000 }), placed: 's3' }, // expires at 2 000
        // expires at 5 000
        { claim: ask('mid', 0.25, 100, { predictedDurationMs: 2_000, nowMs: 1_000 }), placed: 's3' },
        { expire: 1_999, expired: [] },
        { expire: 5_000, expired: ['fast', 'mid'] }, // due at exactly its expiry
        { expire: 5_000, expired: [] },
        { release: 'fast', nowMs: 6_000, released: false }, // already ended by expiry
      ],
      free: { s1: { cpu: 2, memoryMb: 1024 }, s2: { cpu: 4, memoryMb: 2048 }, s3: { cpu: 0.5, memoryMb: 412 } },
    },
    {
      name: 'refusals name the blocking resource and the amounts',
      steps: [
        { claim: ask('big', 1, 1500), placed: 's2' },
        { claim: ask('mid', 0.5, 900), placed: 's1' },
        { claim: ask('more', 0.5, 600), refused: /^task more needs 600 MB, largest free is 548 MB on s2$/ },
        {
          claim: ask('huge', 1, 4096),
          refused: /needs 4096 MB, the largest capacity is 2048 MB on s2; it can never fit/,
        },
        { claim: ask('cores', 8, 10), refused: /needs 8 cpu, the largest claimable is 4 cpu on s2; it can never fit/ },
        { claim: ask('busy-cpu', 3.5, 10), refused: /needs 3.5 cpu, largest free is 3 cpu on s2$/ },
      ],
      free: { s1: { cpu: 1.5, memoryMb: 124 }, s2: { cpu: 3, memoryMb: 548 }, s3: { cpu: 1, memoryMb: 512 } },
    },
    {
      name: 'a zero-duration prediction still holds for minHoldMs (1 s)',
      steps: [
        { claim: ask('unknown', 0.5, 100, { predictedDurationMs: 0, nowMs: 100 }), placed: 's3' },
        { expire: 1_099, expired: [] },
        { expire: 1_100, expired: ['unknown'] },
      ],
      free: { s1: { cpu: 2, memoryMb: 1024 }, s2: { cpu: 4, memoryMb: 2048 }, s3: { cpu: 1, memoryMb: 512 } },
    },
  ])('$name', ({ steps, free }) => {
    const ledger = ledgerWith();
    run(ledger, steps);
    expect(freeOf(ledger)).toEqual(free);
  });

  it('reports the refusal code admission control branches on', () => {
    const ledger = ledgerWith();
    expect(ledger.claim(ask('a', 1, 2000))).toMatchObject({ ok: true, swarmletId: 's2' });
    expect(ledger.claim(ask('b', 1, 2000))).toMatchObject({ ok: false, code: 'insufficient-free' });
    expect(ledger.claim(ask('c', 1, 3000))).toMatchObject({ ok: false, code: 'exceeds-capacity' });
    expect(ledger.claim(ask('a', 1, 10))).toMatchObject({
      ok: false,
      code: 'duplicate',
      reason: 'task a already holds a claim on s2',
    });
    expect(ledger.claim(ask('d', -1, 10))).toMatchObject({
      ok: false,
      code: 'invalid',
      reason: 'task d: resources.cpu must be finite and ≥ 0 (got -1)',
    });
    expect(ledger.claim(ask('e', 1, Number.NaN))).toMatchObject({ ok: false, code: 'invalid' });
    expect(new ReservationLedger().claim(ask('f', 1, 10))).toEqual({
      ok: false,
      code: 'exceeds-capacity',
      reason: 'task f needs 1 cpu + 10 MB; no swarmlets are registered',
    });
  });

  it('says when each resource fits somewhere but no swarmlet has both', () => {
    const skewed = ledgerWith([
      { id: 'cpu-rich', cpu: 8, memoryMb: 256 },
      { id: 'memory-rich', cpu: 1, memoryMb: 4096 },
    ]);
    const never = skewed.claim(ask('t', 4, 1024));
    expect(never).toMatchObject({ ok: false, code: 'exceeds-capacity' });
    if (!never.ok)
      expect(never.reason).toBe(
        'task t needs 4 cpu + 1024 MB, no swarmlet has that much of both; it can never fit there',
      );
    const ledger = ledgerWith([
      { id: 'a', cpu: 4, memoryMb: 1000 },
      { id: 'b', cpu: 4, memoryMb: 1000 },
    ]);
    run(ledger, [
      { claim: ask('x', 3, 100, { placeOn: 'a' }), placed: 'a' },
      { claim: ask('y', 1, 900, { placeOn: 'b' }), placed: 'b' },
    ]);
    const busy = ledger.claim(ask('z', 2, 500)); // a has 900 MB but 1 cpu free, b has 3 cpu but 100 MB free
    expect(busy).toMatchObject({ ok: false, code: 'insufficient-free' });
    if (!busy.ok)
      expect(busy.reason).toBe(
        'task z needs 2 cpu + 500 MB, no swarmlet has both free (most free memory: 900 MB with 1 cpu on a)',
      );
  });
});

describe('reservation ledger: placeOn', () => {
  it.each([
    {
      name: 'honoured even when another swarmlet fits better',
      placeOn: 's2',
      need: [0.5, 100] as const,
      expected: { ok: true, swarmletId: 's2' },
    },
    {
      name: 'refused when the pinned swarmlet is full; never moved elsewhere',
      placeOn: 's3',
      need: [0.5, 600] as const,
      expected: {
        ok: false,
        code: 'exceeds-capacity',
        reason: 'task t (placeOn s3) needs 600 MB, the largest capacity is 512 MB on s3; it can never fit there',
      },
    },
    {
      name: 'refused with the free amount when the pinned swarmlet is busy',
      placeOn: 's1',
      need: [0.5, 800] as const,
      expected: {
        ok: false,
        code: 'insufficient-free',
        reason: 'task t (placeOn s1) needs 800 MB, largest free is 524 MB on s1',
      },
    },
    {
      name: 'refused for an unknown swarmlet',
      placeOn: 'nope',
      need: [0.5, 10] as const,
      expected: { ok: false, code: 'unknown-swarmlet', reason: 'task t: placeOn swarmlet nope is not registered' },
    },
  ])('$name', ({ placeOn, need, expected }) => {
    const ledger = ledgerWith();
    expect(ledger.claim(ask('pre', 0.5, 500, { placeOn: 's1' }))).toMatchObject({ ok: true, swarmletId: 's1' });
    expect(ledger.claim(ask('t', need[0], need[1], { placeOn }))).toEqual(
      expected.ok ? { ...expected, expiresAtMs: 2_000 } : expected,
    );
  });
});

describe('reservation ledger: remove, extend, queries, options', () => {
  it('removing a swarmlet returns its claims (oldest first) for requeue and frees nothing else', () => {
    const ledger = ledgerWith();
    run(ledger, [
      { claim: ask('a', 0.5, 900, { placeOn: 's2' }), placed: 's2' },
      { claim: ask('b', 0.5, 400), placed: 's3' },
      { claim: ask('c', 0.5, 700, { placeOn: 's2' }), placed: 's2' },
      { claim: ask('d', 0.5, 100, { placeOn: 's1' }), placed: 's1' },
    ]);
    expect(ledger.remove('s2').map((claim) => claim.taskId)).toEqual(['a', 'c']);
    expect(ledger.remove('s2')).toEqual([]);
    expect(freeOf(ledger)).toEqual({ s1: { cpu: 1.5, memoryMb: 924 }, s3: { cpu: 0.5, memoryMb: 112 } });
    expect(ledger.claims().map((claim) => claim.taskId)).toEqual(['b', 'd']);
    expect(ledger.release('a', 10)).toBeUndefined(); // ended by the removal
    expect(ledger.expire(1_000_000).map((claim) => claim.taskId)).toEqual(['b', 'd']); // a and c do not come back
  });

  it('extend moves the expiry later, never earlier, and only for live claims', () => {
    const ledger = ledgerWith();
    expect(ledger.claim(ask('a', 0.5, 100))).toMatchObject({ ok: true, expiresAtMs: 2_000 });
    expect(ledger.extend('a', 1_500)).toEqual({
      ok: false,
      reason: 'task a: untilMs 1500 is before its current expiry 2000; extend never shortens',
    });
    expect(ledger.extend('a', 5_000)).toMatchObject({ ok: true, claim: { taskId: 'a', expiresAtMs: 5_000 } });
    expect(ledger.expire(4_999)).toEqual([]);
    expect(ledger.expire(5_000).map((claim) => [claim.taskId, claim.expiresAtMs])).toEqual([['a', 5_000]]);
    expect(ledger.extend('a', 9_000)).toEqual({
      ok: false,
      reason: 'task a holds no live claim (released, expired or removed)',
    });
  });

  it('a task id may claim again after its claim ended', () => {
    const ledger = ledgerWith();
    expect(ledger.claim(ask('a', 0.5, 100))).toMatchObject({ ok: true });
    expect(ledger.release('a', 100)).toMatchObject({ claim: { taskId: 'a' }, heldMs: 100 });
    expect(ledger.claim(ask('a', 0.5, 100, { nowMs: 3_000 }))).toMatchObject({ ok: true, expiresAtMs: 5_000 });
    expect(ledger.expire(2_000)).toEqual([]); // the first claim's stale expiry does not end the second
    expect(ledger.expire(5_000).map((claim) => claim.claimedAtMs)).toEqual([3_000]);
  });

  it('totals and utilisation', () => {
    const ledger = ledgerWith();
    run(ledger, [
      { claim: ask('a', 1, 1024), placed: 's1' },
      { claim: ask('b', 0.75, 512), placed: 's3' },
    ]);
    expect(ledger.totalCapacity()).toEqual({ cpu: 7, memoryMb: 3584 });
    expect(ledger.totalReserved()).toEqual({ cpu: 1.75, memoryMb: 1536 });
    expect(ledger.utilisation()).toEqual({ cpu: 0.25, memory: 1536 / 3584 });
    expect(ledger.swarmlet('s1')).toEqual({
      id: 's1',
      capacity: { cpu: 2, memoryMb: 1024 },
      reserved: { cpu: 1, memoryMb: 1024 },
      free: { cpu: 1, memoryMb: 0 },
      claimCount: 1,
    });
    expect(ledger.free('gone')).toBeUndefined();
    expect(new ReservationLedger().utilisation()).toEqual({ cpu: 0, memory: 0 });
  });

  it('CPU overcommit lets CPU claims exceed capacity by the factor; memory never', () => {
    const ledger = ledgerWith([{ id: 'n', cpu: 2, memoryMb: 1000 }], { cpuOvercommit: 1.5 });
    run(ledger, [
      { claim: ask('a', 2, 100), placed: 'n' },
      { claim: ask('b', 1, 100), placed: 'n' },
      { claim: ask('c', 0.5, 100), refused: /needs 0.5 cpu, largest free is 0 cpu on n/ },
      { claim: ask('d', 0, 801), refused: /needs 801 MB, largest free is 800 MB on n/ },
    ]);
    expect(ledger.utilisation().cpu).toBe(1.5);
  });

  it('fractions of a core and of a megabyte add up without drift', () => {
    const ledger = ledgerWith([{ id: 'n', cpu: 0.3, memoryMb: 0.3 }]);
    run(ledger, [
      { claim: ask('a', 0.1, 0.1), placed: 'n' },
      { claim: ask('b', 0.2, 0.2), placed: 'n' },
    ]);
    expect(ledger.free('n')).toEqual({ cpu: 0, memoryMb: 0 });
  });

  it('register refuses duplicates, bad capacity and going over maxSwarmlets; claims stop at maxClaims', () => {
    const ledger = ledgerWith([{ id: 's1', cpu: 1, memoryMb: 100 }], { maxSwarmlets: 2, maxClaims: 1 });
    expect(ledger.register({ id: 's1', cpu: 1, memoryMb: 100 })).toEqual({
      ok: false,
      reason: 'swarmlet s1 is already registered',
    });
    expect(ledger.register({ id: 'bad', cpu: -1, memoryMb: 100 })).toMatchObject({ ok: false });
    expect(ledger.register({ id: 's2', cpu: 1, memoryMb: 100 })).toEqual({ ok: true });
    expect(ledger.register({ id: 's3', cpu: 1, memoryMb: 100 })).toEqual({
      ok: false,
      reason: 'swarmlet s3: the ledger already holds 2 swarmlets (maxSwarmlets)',
    });
    expect(ledger.claim(ask('a', 0.1, 10))).toMatchObject({ ok: true });
    expect(ledger.claim(ask('b', 0.1, 10))).toEqual({
      ok: false,
      code: 'limit',
      reason: 'task b: 1 live claims already (maxClaims)',
    });
  });

  it.each([
    { options: { expirySlack: 0.5 }, field: 'expirySlack' },
    { options: { cpuOvercommit: 0.9 }, field: 'cpuOvercommit' },
    { options: { minHoldMs: -1 }, field: 'minHoldMs' },
    { options: { maxClaims: 0 }, field: 'maxClaims' },
  ])('bad option $field is named at the edge', ({ options, field }) => {
    expect(() => new ReservationLedger(options)).toThrow(InputError);
    expect(() => new ReservationLedger(options)).toThrow(new RegExp(`^${field}: is `));
  });
});
