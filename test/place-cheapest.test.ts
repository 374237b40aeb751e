import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { cheapestPlacement, type PlacementCandidate } from '../src/place/cheapest-placement.js';

/** Every vector of counts, the dumbest exact answer. */
function enumerate(count: number, candidates: readonly PlacementCandidate[]): number {
  let best = Infinity;
  const walk = (index: number, left: number, cost: number): void => {
    if (index === candidates.length) {
      if (left === 0) best = Math.min(best, cost);
      return;
    }
    const candidate = candidates[index] as PlacementCandidate;
    for (let take = 0; take <= Math.min(left, candidate.maxCount); take++)
      walk(index + 1, left - take, cost + (take === 0 ? 0 : candidate.costFor(take)));
  };
  walk(0, count, 0);
  return best;
}

const linear = (nodeId: string, maxCount: number, unit: number): PlacementCandidate => ({
  nodeId,
  maxCount,
  costFor: (count) => count * unit,
});

describe('cheapest placement (exact DP)', () => {
  const cases: {
    name: string;
    count: number;
    candidates: PlacementCandidate[];
    total: number | undefined;
    placements?: [string, number][];
  }[] = [
    { name: 'nothing to place', count: 0, candidates: [linear('a', 3, 1)], total: 0, placements: [] },
    {
      name: 'cheapest fills first',
      count: 5,
      candidates: [linear('dear', 10, 5), linear('cheap', 3, 1), linear('mid', 4, 2)],
      total: 3 + 4,
      placements: [
        ['cheap', 3],
        ['mid', 2],
      ],
    },
    { name: 'not enough room', count: 8, candidates: [linear('a', 3, 1), linear('b', 4, 2)], total: undefined },
    // a fixed start-up cost per node makes greedy-by-unit-price wrong; the DP still finds the optimum
    {
      name: 'a fixed fee per node',
      count: 4,
      candidates: [{ nodeId: 'fee', maxCount: 4, costFor: (count) => 10 + count }, linear('flat', 4, 3)],
      total: 12,
      placements: [['flat', 4]],
    },
  ];
  it.each(cases)('$name', ({ count, candidates, total, placements }) => {
    const result = cheapestPlacement(count, candidates);
    if (total === undefined) {
      expect(result.kind).toBe('infeasible');
      return;
    }
    expect(result.kind).toBe('feasible');
    if (result.kind !== 'feasible') return;
    expect(result.totalCost).toBe(total);
    if (placements !== undefined)
      expect(result.placements.map((placement) => [placement.nodeId, placement.count])).toEqual(placements);
  });

  it('refuses instances above its work budget instead of running for ever', () => {
    const many = Array.from({ length: 100 }, (_, index) => linear(`n${index}`, 1_000, 1));
    expect(cheapestPlacement(1_000, many).kind).toBe('too-large');
  });

  it('matches brute-force enumeration on random small instances, with any per-node cost curve', () => {
    const candidate = fc.record({
      maxCount: fc.integer({ min: 0, max: 5 }),
      costs: fc.array(fc.integer({ min: 0, max: 100 }), { minLength: 5, maxLength: 5 }),
    });
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 8 }), fc.array(candidate, { maxLength: 5 }), (count, raw) => {
        const candidates = raw.map((spec, index) => ({
          nodeId: `n${index}`,
          maxCount: spec.maxCount,
          costFor: (take: number) => spec.costs[take - 1] as number,
        }));
        const expected = enumerate(count, candidates);
        const result = cheapestPlacement(count, candidates);
        if (!Number.isFinite(expected)) {
          expect(result.kind).toBe('infeasible');
          return;
        }
        expect(result.kind).toBe('feasible');
        if (result.kind !== 'feasible') return;
        expect(result.totalCost).toBe(expected);
        // the placements it returns add up to the count and the cost it claims
        expect(result.placements.reduce((sum, placement) => sum + placement.count, 0)).toBe(count);
        const recomputed = result.placements.reduce(
          (sum, placement) =>
            sum +
            (candidates.find((c) => c.nodeId === placement.nodeId) as PlacementCandidate).costFor(placement.count),
          0,
        );
        expect(recomputed).toBe(expected);
      }),
      { numRuns: 500 },
    );
  });
});
