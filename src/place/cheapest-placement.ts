import { DEFAULT_HEALTH_OPTIONS, type HealthOptions } from './node-health.js';
import { screenNodes, type AuctionNode, type AuctionRequest, type Offer } from './offers.js';

/**
 * The exact cheapest feasible placement, as a yardstick for the auction (tests, bench): dynamic
 * programming over nodes × swarmlets placed so far, O(nodes × n × slots). It shares nothing with the
 * auction's greedy winner determination, only the filters that say which slots are feasible.
 */

export interface PlacementCandidate {
  readonly nodeId: string;
  /** At most this many swarmlets fit on the node. */
  readonly maxCount: number;
  /** What placing `count` swarmlets there costs; linear costs pass `(count) => count * unit`. */
  readonly costFor: (count: number) => number;
}

export type CheapestPlacement =
  | {
      readonly kind: 'feasible';
      readonly placements: readonly { readonly nodeId: string; readonly count: number }[];
      readonly totalCost: number;
    }
  | { readonly kind: 'infeasible'; readonly reason: string }
  | { readonly kind: 'too-large'; readonly reason: string };

/** Work budget: nodes × (n + 1) × (slots + 1) cost evaluations. */
export const MAX_CHEAPEST_STEPS = 20_000_000;

/** The minimum total cost of placing exactly `count` swarmlets, each candidate taking 0..maxCount. */
export function cheapestPlacement(
  count: number,
  candidates: readonly PlacementCandidate[],
  maxSteps = MAX_CHEAPEST_STEPS,
): CheapestPlacement {
  const steps = candidates.reduce((sum, candidate) => sum + (count + 1) * (Math.min(candidate.maxCount, count) + 1), 0);
  if (steps > maxSteps) return { kind: 'too-large', reason: `${steps} steps > the budget ${maxSteps}` };
  // best[k]: the cheapest cost of k swarmlets on the candidates seen so far; choice[i][k]: how many candidate i took.
  let best: number[] = Array.from({ length: count + 1 }, (_, placed) => (placed === 0 ? 0 : Infinity));
  const choice: number[][] = [];
  for (const candidate of candidates) {
    const most = Math.max(0, Math.min(candidate.maxCount, count));
    const costs = Array.from({ length: most + 1 }, (_, take) => (take === 0 ? 0 : candidate.costFor(take)));
    const next = best.slice();
    const taken = new Array<number>(count + 1).fill(0);
    for (let placed = 0; placed <= count; placed++) {
      for (let take = 1; take <= Math.min(most, placed); take++) {
        const cost = (best[placed - take] as number) + (costs[take] as number);
        if (cost < (next[placed] as number)) {
          next[placed] = cost;
          taken[placed] = take;
        }
      }
    }
    best = next;
    choice.push(taken);
  }
  const totalCost = best[count] as number;
  if (!Number.isFinite(totalCost)) {
    const offered = candidates.reduce((sum, candidate) => sum + Math.max(0, candidate.maxCount), 0);
    return { kind: 'infeasible', reason: `${count} swarmlet(s) requested, feasible nodes fit ${offered}` };
  }
  const placements: { nodeId: string; count: number }[] = [];
  let remaining = count;
  for (let index = candidates.length - 1; index >= 0; index--) {
    const take = (choice[index] as number[])[remaining] as number;
    if (take > 0) placements.unshift({ nodeId: (candidates[index] as PlacementCandidate).nodeId, count: take });
    remaining -= take;
  }
  return { kind: 'feasible', placements, totalCost };
}

/** What a placement is measured in: the bids at face value, or the auction's score (bids with expected retries). */
export type PlacementObjective = 'bid-cost' | 'effective-cost';

/** The cheapest feasible placement of a request: the same filters as the auction, then the exact search. */
export function cheapestFeasiblePlacement(
  request: AuctionRequest,
  nodes: readonly AuctionNode[],
  nowMs: number,
  objective: PlacementObjective,
  health: HealthOptions = DEFAULT_HEALTH_OPTIONS,
): CheapestPlacement {
  const { offers } = screenNodes(request, nodes, nowMs, health);
  const unit = (offer: Offer) => (objective === 'bid-cost' ? offer.bidCost : offer.effectiveCost);
  return cheapestPlacement(
    request.swarmlets,
    offers.map((offer) => ({
      nodeId: offer.nodeId,
      maxCount: offer.slots,
      costFor: (count: number) => count * unit(offer),
    })),
  );
}
