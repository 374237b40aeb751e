import { invariant } from '../core/errors.js';
import type { Resources } from '../core/resources.js';
import { consentAllowsWork, consentCapReason, consentLimits, EPSILON } from './consent.js';
import { formatAmount, formatSeconds } from './format.js';
import {
  DEFAULT_HEALTH_OPTIONS,
  healthView,
  type HealthOptions,
  type HealthView,
  type NodeHealth,
} from './node-health.js';
import type { NodeAdvertisement } from './node-probe.js';

/**
 * The auction's first two stages (STYLE.md §4, after Nomad's feasibility stack): small filters,
 * each either passing a node or naming why not, then one scorer that prices a slot (one swarmlet)
 * on each node that passed, with every term written into the reasons.
 */

export const AUCTION_LIMITS = { maxSwarmlets: 1_000, maxNodes: 10_000 } as const;

/** What the director wants placed: `swarmlets` copies of one swarmlet shape. */
export interface AuctionRequest {
  readonly swarmlets: number;
  /** Per swarmlet. */
  readonly demand: Resources;
  readonly taskType: string;
  /** Every one must match the node's label exactly. */
  readonly requiredLabels?: Readonly<Record<string, string>>;
  readonly expectedDurationMs: number;
  /** Loading the task type's modules and warm-up on a node that has not: paid in held cores (default 0). */
  readonly coldStartMs?: number;
  /** Dispatch round trips over a swarmlet's life; each leaves its cores waiting one latency (default 1). */
  readonly roundTripsPerSwarmlet?: number;
  /** Filter: nodes measured slower than this get no work. */
  readonly maxLatencyMs?: number;
  /** The most the director pays per core-second: dearer bids are filtered and payments are capped here. */
  readonly reservePricePerCoreSecond?: number;
}

export interface AuctionNode {
  readonly advertisement: NodeAdvertisement;
  readonly health: NodeHealth;
}

/** One node's priced offer: `slots` swarmlets, each at the same cost. */
export interface Offer {
  readonly nodeId: string;
  readonly slots: number;
  readonly bidPricePerCoreSecond: number;
  /** Core-seconds one swarmlet holds here: work + cold start (unless warm) + waiting on round trips. */
  readonly heldCoreSeconds: number;
  readonly reliability: number;
  readonly latencyMs: number;
  readonly warm: boolean;
  /** What one slot costs at the bid: bid × held core-seconds. */
  readonly bidCost: number;
  /** The score: bidCost ÷ reliability, the expected cost counting retries. Lower wins. */
  readonly effectiveCost: number;
  /** effectiveCost per unit of bid (held ÷ reliability): the only part of the score the node cannot set. */
  readonly weight: number;
  readonly reasons: readonly string[];
}

export interface Rejection {
  readonly nodeId: string;
  readonly reason: string;
}

export interface Screening {
  /** Sorted cheapest first (effective cost, then node id): the order winners are drawn in. */
  readonly offers: readonly Offer[];
  readonly rejections: readonly Rejection[];
}

interface FilterContext {
  readonly request: AuctionRequest;
  readonly advertisement: NodeAdvertisement;
  readonly health: HealthView;
  readonly nowMs: number;
}

type Filter = (context: FilterContext) => string | undefined;

/** In order: cheap and decisive first; capacity before consent caps so a reason names the real limit. */
const FILTERS: readonly Filter[] = [
  ({ health }) => (health.liveness.state === 'alive' ? undefined : health.liveness.reason),
  ({ advertisement, nowMs, request }) => {
    const verdict = consentAllowsWork(advertisement, nowMs, request.expectedDurationMs);
    return verdict.ok ? undefined : verdict.reason;
  },
  ({ advertisement, request }) => {
    for (const [key, value] of Object.entries(request.requiredLabels ?? {})) {
      const has = advertisement.labels[key];
      if (has !== value)
        return `label ${key}=${value} required, node has ${has === undefined ? 'none' : `${key}=${has}`}`;
    }
    return undefined;
  },
  ({ advertisement, request }) => {
    const reserve = request.reservePricePerCoreSecond;
    if (reserve === undefined || advertisement.pricePerCoreSecond <= reserve) return undefined;
    return `price ${formatAmount(advertisement.pricePerCoreSecond)} per core-second above the reserve ${formatAmount(reserve)}`;
  },
  ({ health, request }) => {
    const max = request.maxLatencyMs;
    if (max === undefined || health.latency.valueMs <= max) return undefined;
    return `${health.latency.reason} above the limit ${formatSeconds(max)}`;
  },
  ({ advertisement, request }) => {
    const { capacity, inUse } = advertisement;
    const { demand } = request;
    if (inUse.cpu + demand.cpu > capacity.cpu + EPSILON)
      return `capacity: needs ${formatAmount(demand.cpu)} cores, ${formatAmount(Math.max(0, capacity.cpu - inUse.cpu))} of ${formatAmount(capacity.cpu)} free`;
    if (inUse.memoryMb + demand.memoryMb > capacity.memoryMb + EPSILON) {
      return `capacity: needs ${formatAmount(demand.memoryMb)} MB, ${formatAmount(Math.max(0, capacity.memoryMb - inUse.memoryMb))} of ${formatAmount(capacity.memoryMb)} MB free`;
    }
    return undefined;
  },
  ({ advertisement, request }) => consentCapReason(advertisement, request.demand),
];

/** Runs every node through the filters and prices the survivors. */
export function screenNodes(
  request: AuctionRequest,
  nodes: readonly AuctionNode[],
  nowMs: number,
  healthOptions: HealthOptions = DEFAULT_HEALTH_OPTIONS,
): Screening {
  checkRequest(request, nodes.length);
  const offers: Offer[] = [];
  const rejections: Rejection[] = [];
  for (const node of nodes) {
    const context: FilterContext = {
      request,
      advertisement: node.advertisement,
      health: healthView(node.health, nowMs, healthOptions),
      nowMs,
    };
    const reason = firstReason(context);
    if (reason === undefined) offers.push(priceOffer(context));
    else rejections.push({ nodeId: node.advertisement.nodeId, reason });
  }
  offers.sort(compareOffers);
  return { offers, rejections };
}

export function compareOffers(a: Offer, b: Offer): number {
  return a.effectiveCost - b.effectiveCost || (a.nodeId < b.nodeId ? -1 : a.nodeId > b.nodeId ? 1 : 0);
}

/** How many swarmlets of `demand` fit next to what is in use, under both capacity and consent caps. */
export function freeSlots(advertisement: NodeAdvertisement, demand: Resources, most: number): number {
  const limits = consentLimits(advertisement);
  const { capacity, inUse } = advertisement;
  const freeCpu = Math.min(capacity.cpu, limits.cpu) - inUse.cpu;
  const freeMemoryMb = Math.min(capacity.memoryMb, limits.memoryMb) - inUse.memoryMb;
  const byCpu = demand.cpu > 0 ? Math.floor((freeCpu + EPSILON) / demand.cpu) : most;
  const byMemory = demand.memoryMb > 0 ? Math.floor((freeMemoryMb + EPSILON) / demand.memoryMb) : most;
  return Math.max(0, Math.min(most, byCpu, byMemory));
}

function firstReason(context: FilterContext): string | undefined {
  for (const filter of FILTERS) {
    const reason = filter(context);
    if (reason !== undefined) return reason;
  }
  return undefined;
}

/**
 * The scorer. Everything is priced in held core-seconds at the node's own bid, because that is what
 * a price per core-second buys: cores held while working, while loading modules on a cold node, and
 * while waiting on dispatch round trips. A warm node skips the cold start (the warm-module bonus);
 * a slow link adds waiting (the latency penalty). Dividing by measured reliability turns one
 * attempt's cost into the expected cost with retries (a geometric number of attempts, mean 1/r).
 */
function priceOffer({ request, advertisement, health }: FilterContext): Offer {
  const price = advertisement.pricePerCoreSecond;
  const cpu = request.demand.cpu;
  const warm = advertisement.warmTaskTypes.includes(request.taskType);
  const coldStartMs = request.coldStartMs ?? 0;
  const waitMs = (request.roundTripsPerSwarmlet ?? 1) * health.latency.valueMs;
  const heldCoreSeconds = (cpu * (request.expectedDurationMs + (warm ? 0 : coldStartMs) + waitMs)) / 1000;
  const reliability = health.reliability.value;
  const weight = heldCoreSeconds / reliability;
  const work = (price * cpu * request.expectedDurationMs) / 1000;
  const coldStart = (price * cpu * coldStartMs) / 1000;
  const latency = (price * cpu * waitMs) / 1000;
  const effectiveCost = price * weight;
  const slots = freeSlots(advertisement, request.demand, request.swarmlets);
  const formula =
    `effective cost ${formatAmount(effectiveCost)} = (work ${formatAmount(work)} + cold start ${formatAmount(coldStart)} + latency ${formatAmount(latency)}` +
    ` − warm bonus ${formatAmount(warm ? coldStart : 0)}) ÷ reliability ${formatAmount(reliability)}`;
  return {
    nodeId: advertisement.nodeId,
    slots,
    bidPricePerCoreSecond: price,
    heldCoreSeconds,
    reliability,
    latencyMs: health.latency.valueMs,
    warm,
    bidCost: price * heldCoreSeconds,
    effectiveCost,
    weight,
    reasons: [
      health.liveness.reason,
      health.reliability.reason,
      health.latency.reason,
      warm ? `warm: ${request.taskType} already loaded` : `cold: ${request.taskType} not loaded`,
      `fits ${slots} swarmlet(s) of ${formatAmount(cpu)} cores, ${formatAmount(request.demand.memoryMb)} MB under capacity and consent caps`,
      `bid ${formatAmount(price)} per core-second; ${formula}`,
    ],
  };
}

function checkRequest(request: AuctionRequest, nodeCount: number): void {
  const { swarmlets, demand, expectedDurationMs } = request;
  invariant(
    Number.isInteger(swarmlets) && swarmlets >= 0 && swarmlets <= AUCTION_LIMITS.maxSwarmlets,
    `auction: swarmlets must be an integer in 0..${AUCTION_LIMITS.maxSwarmlets}, got ${swarmlets}`,
  );
  invariant(
    nodeCount <= AUCTION_LIMITS.maxNodes,
    `auction: at most ${AUCTION_LIMITS.maxNodes} nodes, got ${nodeCount}`,
  );
  invariant(
    isAmount(demand.cpu) && isAmount(demand.memoryMb),
    `auction: demand must be finite and ≥ 0, got ${demand.cpu} cores, ${demand.memoryMb} MB`,
  );
  invariant(
    isAmount(expectedDurationMs) && isAmount(request.coldStartMs ?? 0) && isAmount(request.roundTripsPerSwarmlet ?? 1),
    'auction: durations and round trips must be finite and ≥ 0',
  );
}

function isAmount(value: number): boolean {
  return Number.isFinite(value) && value >= 0;
}
