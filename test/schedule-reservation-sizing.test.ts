import { describe, expect, it } from 'vitest';
import { InputError } from '../src/core/errors.js';
import { desiredSwarmlets, planResize, predictedLoad } from '../src/schedule/pool-sizing.js';
import { ReservationLedger } from '../src/schedule/reservation-ledger.js';

const PER_SWARMLET = { cpu: 2, memoryMb: 1024 };

describe('pool sizing follows predicted load', () => {
  it('load is concurrency: count × duration / horizon, a task longer than the horizon counted once', () => {
    const load = predictedLoad(
      [
        { resources: { cpu: 1, memoryMb: 256 }, durationMs: 2_000, count: 30 }, // 30 × 2 s over 60 s = 1 running
        { resources: { cpu: 0.5, memoryMb: 512 }, durationMs: 120_000, count: 2 }, // longer than the horizon: 2 running
      ],
      60_000,
    );
    expect(load).toEqual({ cpu: 2, memoryMb: 1280 });
    expect(predictedLoad([], 60_000)).toEqual({ cpu: 0, memoryMb: 0 });
    expect(() => predictedLoad([], 0)).toThrow(InputError);
  });

  it.each([
    // 2000 × 1.2 / 1024 = 2.34
    { name: 'memory-bound', load: { cpu: 1, memoryMb: 2000 }, options: {}, count: 3, boundBy: 'memory' },
    { name: 'cpu-bound', load: { cpu: 5, memoryMb: 100 }, options: {}, count: 3, boundBy: 'cpu' }, // 5 × 1.2 / 2 = 3
    {
      name: 'exact fit without headroom',
      load: { cpu: 0.6, memoryMb: 0 },
      options: { headroom: 0 },
      count: 1,
      boundBy: 'cpu',
    },
    {
      name: 'float noise does not add a swarmlet',
      load: { cpu: 0.6, memoryMb: 0 },
      options: { headroom: 0 },
      per: { cpu: 0.2, memoryMb: 1 },
      count: 3,
      boundBy: 'cpu',
    },
    {
      name: 'no load, kept at the minimum',
      load: { cpu: 0, memoryMb: 0 },
      options: { minSwarmlets: 1 },
      count: 1,
      boundBy: 'min',
    },
    {
      name: 'capped at the maximum',
      load: { cpu: 100, memoryMb: 0 },
      options: { maxSwarmlets: 8 },
      count: 8,
      boundBy: 'max',
    },
  ])('$name', ({ load, options, count, boundBy, per }) => {
    const size = desiredSwarmlets(load, per ?? PER_SWARMLET, options);
    expect(size).toMatchObject({ count, boundBy });
    expect(size.reason).toMatch(/^load .* cpu \+ .* MB with \d+% headroom needs \d+ by cpu, \d+ by memory/);
  });

  it('names the reason in full', () => {
    expect(desiredSwarmlets({ cpu: 1, memoryMb: 2000 }, PER_SWARMLET).reason).toBe(
      'load 1 cpu + 2000 MB with 20% headroom needs 1 by cpu, 3 by memory → 3',
    );
  });

  it.each([
    { per: { cpu: 0, memoryMb: 1024 }, options: {}, field: 'perSwarmlet' },
    { per: PER_SWARMLET, options: { headroom: -0.1 }, field: 'headroom' },
    { per: PER_SWARMLET, options: { minSwarmlets: 3, maxSwarmlets: 2 }, field: 'minSwarmlets/maxSwarmlets' },
  ])('refuses bad $field', ({ per, options, field }) => {
    expect(() => desiredSwarmlets({ cpu: 1, memoryMb: 1 }, per, options)).toThrow(new RegExp(`^${field}: `));
  });

  it('plans growth, and shrinks only idle swarmlets, smallest first', () => {
    const ledger = new ReservationLedger();
    for (const capacity of [
      { id: 'a', cpu: 2, memoryMb: 2048 },
      { id: 'b', cpu: 2, memoryMb: 1024 },
      { id: 'c', cpu: 1, memoryMb: 1024 },
      { id: 'd', cpu: 1, memoryMb: 512 },
    ])
      ledger.register(capacity);
    expect(
      ledger.claim({
        taskId: 't',
        resources: { cpu: 0.5, memoryMb: 400 },
        predictedDurationMs: 1_000,
        nowMs: 0,
        placeOn: 'd',
      }),
    ).toMatchObject({ ok: true });
    expect(planResize(ledger.swarmlets(), 6)).toEqual({ add: 2, remove: [], reason: 'pool has 4, wants 6: start 2' });
    expect(planResize(ledger.swarmlets(), 4)).toEqual({
      add: 0,
      remove: [],
      reason: 'pool is at its desired 4 swarmlets',
    });
    expect(planResize(ledger.swarmlets(), 2)).toEqual({
      add: 0,
      remove: ['c', 'b'],
      reason: 'pool has 4, wants 2: remove 2 idle',
    });
    expect(planResize(ledger.swarmlets(), 0)).toEqual({
      add: 0,
      remove: ['c', 'b', 'a'],
      reason: 'pool has 4, wants 0: remove 3 idle; 1 more hold claims and stay until they end',
    });
  });
});
