import { formatAmount } from './format.js';
import { DEFAULT_HEALTH_OPTIONS, type HealthOptions } from './node-health.js';
import { screenNodes, type AuctionNode, type AuctionRequest, type Offer } from './offers.js';

/**
 * The auction: filters → scorer (offers.ts) → winner determination → payments. Pure: the request,
 * the nodes' advertisements and measured health, and `nowMs` in; placements and reasons out.
 *
 * Winners. Every swarmlet of a request has the same shape, so a node's slots all cost the same and
 * taking the cheapest slots one at a time (lowest effective cost first, ties by node id) is exactly
 * the cheapest placement in effective cost; cheapest-placement.ts checks that independently.
 *
 * Payments: critical value, the multi-slot form of the second price (Vickrey, Myerson). A node's
 * score is its bid times a weight it cannot set (held core-seconds ÷ measured reliability). It wins
 * its j-th slot exactly when its effective cost is at most the (n − j + 1)-th cheapest slot the
 * *other* nodes offer; its payment for that slot is the bid at which it would stop winning it:
 * that competing cost ÷ its weight, per core-second, capped at the request's reserve price.
 *
 * Why lying about the price gains nothing. The payment for a slot depends only on the other bids,
 * never on the node's own; its own bid only decides *whether* it wins the slot. Bidding below its
 * true cost can only add slots whose payment is below that cost (a loss); bidding above can only
 * drop slots that paid more than the cost (a lost profit). So the truthful bid is a dominant
 * strategy, for one slot (the classic second price) and for many (each slot has its own threshold,
 * and the thresholds fall as j grows). What it cannot fake it does not advertise: reliability and
 * latency are measured (node-health.ts), and overclaiming capacity or warm modules shows up as failed
 * outcomes, which lower the reliability that divides its score and scales its pay (a winner is paid
 * the competing effective cost × its own reliability).
 *
 * Why the score is linear in the bid: cold start and round-trip waiting are priced as held
 * core-seconds at the node's own price, so the whole score is bid × weight and the node has one
 * number to choose. That keeps the threshold well defined and the mechanism truthful.
 *
 * The price of truthfulness: payments exceed the winners' bids by an information rent up to the
 * competing price. When a dear node sets the margin, cheap winners are paid near its price. These
 * are VCG payments (the cheapest placement plus payments set by others' bids), and VCG pays the
 * least of all mechanisms that are truthful, individually rational and choose the cheapest
 * placement, so the rent is not ours to remove without giving up one of those; a reserve price
 * bounds it. Both `totalBidCost` (the chosen placement at the bids: the allocation's quality) and
 * `totalPaid` (what the director pays) are reported. With no competitor and no reserve there is no
 * bid-free price: the node is paid its own bid (not truthful there), and the reason says so.
 */

export interface Placement {
  readonly nodeId: string;
  readonly count: number;
  /** Money for all of its slots: Σ slot price × held core-seconds. */
  readonly pricePaid: number;
  /** Critical-value price per core-second of each won slot, first slot first (non-increasing). */
  readonly slotPricesPerCoreSecond: readonly number[];
}

export type DecisionOutcome = 'won' | 'lost' | 'filtered';

export interface NodeDecision {
  readonly nodeId: string;
  readonly outcome: DecisionOutcome;
  readonly slots: number;
  /** First reason: the verdict ("won 2 slots: …", "lost: …", "filtered: …"); then the evidence. */
  readonly reasons: readonly string[];
  readonly offer?: Offer;
}

export interface AuctionResult {
  readonly placements: readonly Placement[];
  /** What the director pays: Σ pricePaid. */
  readonly totalPaid: number;
  /** The chosen placement at the winners' own bids: what it costs if everyone bid truthfully. */
  readonly totalBidCost: number;
  /** Σ effective cost of the won slots: the bid cost with expected retries. */
  readonly totalExpectedCost: number;
  /** Swarmlets no feasible node could take (STYLE.md §2: what could not be placed is part of the answer). */
  readonly unplaced: number;
  readonly decisions: readonly NodeDecision[];
  readonly reasons: readonly string[];
}

/**
 * How winners are paid. `critical-value` (default): the second-price payments above; truthful, but
 * the director pays an information rent. `bid`: each winner is paid its own bid, so the total paid
 * is the cheapest placement at the bids; a node that wins can then gain by bidding up to just below
 * its competitor, and what restrains it is the competition it meets and its measured reliability
 * (reputation), not the rule.
 */
export type PaymentRule = 'critical-value' | 'bid';

export interface AuctionOptions {
  readonly health?: HealthOptions;
  readonly payment?: PaymentRule;
}

export function runAuction(
  request: AuctionRequest,
  nodes: readonly AuctionNode[],
  nowMs: number,
  options: AuctionOptions = {},
): AuctionResult {
  const { offers, rejections } = screenNodes(request, nodes, nowMs, options.health ?? DEFAULT_HEALTH_OPTIONS);
  const won = chooseWinners(offers, request.swarmlets);
  const placements: Placement[] = [];
  const decisions: NodeDecision[] = [];
  let marginal: Offer | undefined;
  offers.forEach((offer) => {
    const count = won.get(offer.nodeId) ?? 0;
    if (count > 0) marginal = offer;
  });
  offers.forEach((offer, rank) => {
    const count = won.get(offer.nodeId) ?? 0;
    if (count === 0) {
      decisions.push({
        nodeId: offer.nodeId,
        outcome: 'lost',
        slots: 0,
        reasons: [lostReason(offer, marginal), ...offer.reasons],
        offer,
      });
      return;
    }
    const payment = options.payment === 'bid' ? payAsBid(offer, count) : pay(offer, count, offers, request);
    placements.push({
      nodeId: offer.nodeId,
      count,
      pricePaid: payment.pricePaid,
      slotPricesPerCoreSecond: payment.slotPrices,
    });
    const verdict = `won ${count} slot(s)${count < offer.slots ? ` of ${offer.slots} offered` : ''}: effective cost ${formatAmount(offer.effectiveCost)} ${rank === 0 ? 'lowest' : `ranked ${rank + 1} of ${offers.length}`}`;
    decisions.push({
      nodeId: offer.nodeId,
      outcome: 'won',
      slots: count,
      reasons: [verdict, ...payment.reasons, ...offer.reasons],
      offer,
    });
  });
  for (const rejection of rejections)
    decisions.push({
      nodeId: rejection.nodeId,
      outcome: 'filtered',
      slots: 0,
      reasons: [`filtered: ${rejection.reason}`],
    });
  const placed = placements.reduce((sum, placement) => sum + placement.count, 0);
  const slotCost = (pick: (offer: Offer) => number) =>
    offers.reduce((sum, offer) => sum + pick(offer) * (won.get(offer.nodeId) ?? 0), 0);
  return {
    placements,
    totalPaid: placements.reduce((sum, placement) => sum + placement.pricePaid, 0),
    totalBidCost: slotCost((offer) => offer.bidCost),
    totalExpectedCost: slotCost((offer) => offer.effectiveCost),
    unplaced: request.swarmlets - placed,
    decisions,
    reasons: summary(request.swarmlets, placed, offers, rejections.length),
  };
}

/** Cheapest slots first; a node's slots all cost the same, so it fills up before the next node starts. */
function chooseWinners(offers: readonly Offer[], swarmlets: number): Map<string, number> {
  const won = new Map<string, number>();
  let remaining = swarmlets;
  for (const offer of offers) {
    if (remaining === 0) break;
    const count = Math.min(offer.slots, remaining);
    if (count > 0) won.set(offer.nodeId, count);
    remaining -= count;
  }
  return won;
}

interface Payment {
  readonly pricePaid: number;
  readonly slotPrices: number[];
  readonly reasons: string[];
}

/** Pay-as-bid: every won slot at the node's own price. */
function payAsBid(offer: Offer, count: number): Payment {
  const slotPrices = Array.from({ length: count }, () => offer.bidPricePerCoreSecond);
  const reason = `paid its own bid ${formatAmount(offer.bidPricePerCoreSecond)} per core-second × ${formatAmount(offer.heldCoreSeconds)} core-seconds per slot (pay as bid)`;
  return { pricePaid: count * offer.bidPricePerCoreSecond * offer.heldCoreSeconds, slotPrices, reasons: [reason] };
}

/**
 * Critical value per slot j: the (n − j + 1)-th cheapest slot among the other nodes' offers, as a price for this node.
 */
function pay(offer: Offer, count: number, offers: readonly Offer[], request: AuctionRequest): Payment {
  const reserve = request.reservePricePerCoreSecond;
  const slotPrices: number[] = [];
  const reasons: string[] = [];
  for (let slot = 1; slot <= count; slot++) {
    const competitor = kthOtherSlot(offers, offer.nodeId, request.swarmlets - slot + 1);
    let price: number;
    let why: string;
    if (offer.weight === 0) {
      price = offer.bidPricePerCoreSecond;
      why = 'holds no core-seconds, nothing to pay';
    } else if (competitor !== undefined && (reserve === undefined || competitor.cost / offer.weight <= reserve)) {
      price = competitor.cost / offer.weight;
      why = `second price: the competing slot on ${competitor.nodeId} costs ${formatAmount(competitor.cost)} effective`;
    } else if (reserve !== undefined) {
      price = reserve;
      why = competitor === undefined ? 'no competing slot: the reserve price' : 'capped at the reserve price';
    } else {
      price = offer.bidPricePerCoreSecond;
      why =
        'no competing slot and no reserve: paid its own bid (set reservePricePerCoreSecond to keep payments bid-free)';
    }
    slotPrices.push(price);
    reasons.push(
      `slot ${slot}: paid ${formatAmount(price)} per core-second × ${formatAmount(offer.heldCoreSeconds)} core-seconds (${why})`,
    );
  }
  const pricePaid = slotPrices.reduce((sum, price) => sum + price * offer.heldCoreSeconds, 0);
  return { pricePaid, slotPrices, reasons };
}

/** The k-th cheapest slot (1-based) among offers other than `excludeId`; undefined when they have fewer than k. */
function kthOtherSlot(
  offers: readonly Offer[],
  excludeId: string,
  k: number,
): { cost: number; nodeId: string } | undefined {
  let seen = 0;
  for (const other of offers) {
    if (other.nodeId === excludeId) continue;
    seen += other.slots;
    if (seen >= k) return { cost: other.effectiveCost, nodeId: other.nodeId };
  }
  return undefined;
}

function lostReason(offer: Offer, marginal: Offer | undefined): string {
  if (marginal === undefined) return `lost: effective cost ${formatAmount(offer.effectiveCost)}, nothing to place`;
  return `lost: effective cost ${formatAmount(offer.effectiveCost)} above the last winner ${marginal.nodeId} at ${formatAmount(marginal.effectiveCost)}; cheaper slots covered the request`;
}

function summary(swarmlets: number, placed: number, offers: readonly Offer[], filtered: number): string[] {
  const offered = offers.reduce((sum, offer) => sum + offer.slots, 0);
  const head = `placed ${placed} of ${swarmlets} swarmlet(s) on ${offers.length} feasible node(s) offering ${offered} slot(s); ${filtered} node(s) filtered`;
  if (placed === swarmlets) return [head];
  return [head, `${swarmlets - placed} unplaced: feasible nodes offer only ${offered} slot(s)`];
}
