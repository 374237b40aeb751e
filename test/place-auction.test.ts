import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { runAuction, type AuctionResult } from '../src/place/auction.js';
import { cheapestFeasiblePlacement, cheapestPlacement } from '../src/place/cheapest-placement.js';
import {
  DEFAULT_HEALTH_OPTIONS,
  NEW_NODE_HEALTH,
  recordHeartbeat,
  recordOutcome,
  recordRoundTrip,
  type NodeHealth,
} from '../src/place/node-health.js';
import { parseNodeAdvertisement } from '../src/place/node-probe.js';
import { screenNodes, type AuctionNode, type AuctionRequest } from '../src/place/offers.js';

/** 2025-01-15 22:00 UTC: 23:00 for the personal machine at UTC+1, inside its 22–7 consent window. */
const NOW = Date.UTC(2025, 0, 15, 22, 0);
const HEALTH = DEFAULT_HEALTH_OPTIONS; // ttl 5 s, suspect after 2.5 s

interface NodeSpec {
  readonly id: string;
  readonly kind: 'server' | 'edge' | 'personal';
  readonly cpu: number;
  readonly memoryMb: number;
  readonly price: number;
  readonly consent?: {
    granted: boolean;
    maxCpuShare?: number;
    maxMemoryMb?: number;
    hours?: { from: number; to: number }[];
    idleOnly?: boolean;
  };
  readonly idle?: boolean;
  readonly utcOffsetMinutes?: number;
  readonly inUse?: { cpu: number; memoryMb: number };
  readonly labels?: Record<string, string>;
  readonly warm?: readonly string[];
  readonly heartbeatAgoMs?: number;
  readonly successes?: number;
  readonly failures?: number;
  readonly latencyMs?: number;
}

function auctionNode(spec: NodeSpec, nowMs = NOW): AuctionNode {
  const parsed = parseNodeAdvertisement({
    nodeId: spec.id,
    kind: spec.kind,
    capacity: { cpu: spec.cpu, memoryMb: spec.memoryMb },
    pricePerCoreSecond: spec.price,
    consent: spec.consent,
    idle: spec.idle,
    utcOffsetMinutes: spec.utcOffsetMinutes,
    inUse: spec.inUse,
    labels: spec.labels,
    warmTaskTypes: spec.warm,
  });
  if (!parsed.ok) throw parsed.error;
  let health: NodeHealth = recordHeartbeat(NEW_NODE_HEALTH, nowMs - (spec.heartbeatAgoMs ?? 0));
  for (let index = 0; index < (spec.successes ?? 0); index++) health = recordOutcome(health, true, nowMs);
  for (let index = 0; index < (spec.failures ?? 0); index++) health = recordOutcome(health, false, nowMs);
  if (spec.latencyMs !== undefined) health = recordRoundTrip(health, spec.latencyMs);
  return { advertisement: parsed.value, health };
}

// The heterogeneous 3-node setup: a dear reliable server, a cheap edge box, the cheapest personal machine
// behind consent caps.
const server: NodeSpec = {
  id: 'server',
  kind: 'server',
  cpu: 16,
  memoryMb: 65_536,
  price: 0.0001,
  successes: 200,
  failures: 1,
  latencyMs: 5,
  warm: ['render'],
};
const edge: NodeSpec = {
  id: 'edge',
  kind: 'edge',
  cpu: 4,
  memoryMb: 8_192,
  price: 0.00004,
  successes: 95,
  failures: 5,
  latencyMs: 30,
};
const personal: NodeSpec = {
  id: 'personal',
  kind: 'personal',
  cpu: 8,
  memoryMb: 16_384,
  price: 0.00002,
  consent: { granted: true, maxCpuShare: 0.5, maxMemoryMb: 4_096, hours: [{ from: 22, to: 7 }], idleOnly: true },
  idle: true,
  utcOffsetMinutes: 60,
  latencyMs: 60,
};
const render = (swarmlets: number, extra: Partial<AuctionRequest> = {}): AuctionRequest => ({
  swarmlets,
  demand: { cpu: 1, memoryMb: 1_024 },
  taskType: 'render',
  expectedDurationMs: 60_000,
  coldStartMs: 2_000,
  ...extra,
});

const countOn = (result: AuctionResult, nodeId: string) =>
  result.placements.find((placement) => placement.nodeId === nodeId)?.count ?? 0;
const decisionOf = (result: AuctionResult, nodeId: string) =>
  result.decisions.find((decision) => decision.nodeId === nodeId);

describe('auction: the heterogeneous 3-node target', () => {
  const nodes = [server, edge, personal].map((spec) => auctionNode(spec));
  it.each([1, 2, 4, 6, 8, 12, 20, 24])(
    '%i swarmlets: placement cost within 10 %% of the cheapest feasible, consent caps honoured',
    (swarmlets) => {
      const result = runAuction(render(swarmlets), nodes, NOW);
      const cheapest = cheapestFeasiblePlacement(render(swarmlets), nodes, NOW, 'bid-cost');
      expect(cheapest.kind).toBe('feasible');
      if (cheapest.kind !== 'feasible') return;
      expect(result.unplaced).toBe(0);
      expect(result.totalBidCost).toBeLessThanOrEqual(1.1 * cheapest.totalCost);
      expect(result.totalBidCost).toBeCloseTo(cheapest.totalCost, 12); // here it is exactly the cheapest
      // caps, checked against the raw numbers: half of 8 cores and 4096 MB on the personal machine
      expect(countOn(result, 'personal') * 1).toBeLessThanOrEqual(0.5 * 8);
      expect(countOn(result, 'personal') * 1_024).toBeLessThanOrEqual(4_096);
      expect(countOn(result, 'edge')).toBeLessThanOrEqual(4);
      expect(countOn(result, 'server')).toBeLessThanOrEqual(16);
      // second-price payments cover every winner's bid (no one is paid below its price)
      for (const placement of result.placements) {
        const bid = [server, edge, personal].find((spec) => spec.id === placement.nodeId)?.price as number;
        for (const price of placement.slotPricesPerCoreSecond) expect(price).toBeGreaterThanOrEqual(bid);
      }
    },
  );

  it.each([1, 2, 4, 6, 8, 12, 20, 24])(
    '%i swarmlets, pay as bid: the total paid is within 10 %% of the cheapest feasible placement, caps honoured',
    (swarmlets) => {
      const asBid = runAuction(render(swarmlets), nodes, NOW, { payment: 'bid' });
      const cheapest = cheapestFeasiblePlacement(render(swarmlets), nodes, NOW, 'bid-cost');
      if (cheapest.kind !== 'feasible') throw new Error('the 3-node setup is feasible');
      expect(asBid.totalPaid).toBeLessThanOrEqual(1.1 * cheapest.totalCost);
      expect(asBid.totalPaid).toBeCloseTo(asBid.totalBidCost, 12);
      expect(countOn(asBid, 'personal')).toBeLessThanOrEqual(4);
      // The same placement as critical value: only the payments differ, and they never exceed them.
      const critical = runAuction(render(swarmlets), nodes, NOW);
      expect(asBid.placements.map((p) => [p.nodeId, p.count])).toEqual(
        critical.placements.map((p) => [p.nodeId, p.count]),
      );
      expect(asBid.totalPaid).toBeLessThanOrEqual(critical.totalPaid + 1e-12);
    },
  );

  it('pay as bid is not truthful: a winner that raises its bid (and still wins) is paid more — critical value pays it the same', () => {
    const raised = [server, edge, { ...personal, price: personal.price * 1.5 }].map((spec) => auctionNode(spec));
    const paidTo = (result: ReturnType<typeof runAuction>) =>
      result.placements.find((p) => p.nodeId === 'personal')!.pricePaid;
    expect(paidTo(runAuction(render(2), raised, NOW, { payment: 'bid' }))).toBeGreaterThan(
      paidTo(runAuction(render(2), nodes, NOW, { payment: 'bid' })),
    );
    expect(paidTo(runAuction(render(2), raised, NOW))).toBeCloseTo(paidTo(runAuction(render(2), nodes, NOW)), 12);
  });

  it('fills the cheapest first: personal (up to its cap), then edge, then server', () => {
    const result = runAuction(render(10), nodes, NOW);
    expect(result.placements.map((placement) => [placement.nodeId, placement.count])).toEqual([
      ['personal', 4],
      ['edge', 4],
      ['server', 2],
    ]);
    expect(decisionOf(result, 'personal')?.reasons[0]).toMatch(/^won 4 slot\(s\): effective cost [\d.e-]+ lowest$/);
    expect(decisionOf(result, 'server')?.reasons[0]).toMatch(
      /^won 2 slot\(s\) of 10 offered: effective cost [\d.e-]+ ranked 3 of 3$/,
    );
    expect(decisionOf(result, 'personal')?.reasons.join('\n')).toMatch(/reliability 0.9 \(prior, no outcomes yet\)/);
    expect(decisionOf(result, 'server')?.reasons.join('\n')).toMatch(/warm: render already loaded/);
  });

  it('payments: the server sets the margin, so cheap winners are paid near its price (the information rent)', () => {
    const result = runAuction(render(8), nodes, NOW);
    const cheapest = cheapestFeasiblePlacement(render(8), nodes, NOW, 'bid-cost');
    if (cheapest.kind !== 'feasible') throw new Error('infeasible');
    const rent = result.totalPaid / cheapest.totalCost;
    expect(rent).toBeGreaterThan(1.1); // honest: the truthful price exceeds the cheapest bids here
    // A reserve price bounds it: the server (0.0001) is above it, and payments are capped at it.
    const reserved = runAuction(render(8, { reservePricePerCoreSecond: 0.00005 }), nodes, NOW);
    expect(decisionOf(reserved, 'server')?.reasons[0]).toMatch(
      /filtered: price 0.0001 per core-second above the reserve 0.00005/,
    );
    expect(reserved.totalPaid).toBeLessThan(result.totalPaid);
    for (const placement of reserved.placements)
      for (const price of placement.slotPricesPerCoreSecond) expect(price).toBeLessThanOrEqual(0.00005);
  });

  it('more swarmlets than fit: the rest is reported unplaced', () => {
    const result = runAuction(render(30), nodes, NOW);
    expect(result.unplaced).toBe(30 - 4 - 4 - 16);
    expect(result.reasons).toEqual([
      'placed 24 of 30 swarmlet(s) on 3 feasible node(s) offering 24 slot(s); 0 node(s) filtered',
      '6 unplaced: feasible nodes offer only 24 slot(s)',
    ]);
  });
});

describe('auction: filters record why', () => {
  const good: NodeSpec = {
    id: 'good',
    kind: 'server',
    cpu: 8,
    memoryMb: 8_192,
    price: 0.0001,
    labels: { region: 'eu' },
    latencyMs: 10,
  };
  const cases: { name: string; node: Partial<NodeSpec>; request?: Partial<AuctionRequest>; reason: RegExp }[] = [
    { name: 'dead', node: { heartbeatAgoMs: 9_100 }, reason: /^filtered: dead, no heartbeat for 9.1 s > ttl 5 s$/ },
    { name: 'suspect', node: { heartbeatAgoMs: 3_000 }, reason: /^filtered: suspect, no heartbeat for 3 s/ },
    { name: 'personal without consent', node: { kind: 'personal' }, reason: /^filtered: no consent/ },
    {
      name: 'consent revoked',
      node: { kind: 'personal', consent: { granted: false } },
      reason: /^filtered: no consent/,
    },
    {
      name: 'outside consent hours',
      node: { kind: 'personal', consent: { granted: true, hours: [{ from: 8, to: 18 }] } },
      reason: /^filtered: outside consent hours 8–18 \(local hour 22\)/,
    },
    {
      name: 'owner at the keyboard',
      node: { kind: 'personal', consent: { granted: true, idleOnly: true }, idle: false },
      reason: /^filtered: consent is idle-only/,
    },
    {
      name: 'no room left',
      node: { cpu: 4, inUse: { cpu: 3.5, memoryMb: 0 } },
      reason: /^filtered: capacity: needs 1.5 cores, 0.5 of 4 free$/,
    },
    {
      name: 'too little memory',
      node: { memoryMb: 512 },
      reason: /^filtered: capacity: needs 1024 MB, 512 of 512 MB free$/,
    },
    {
      name: 'CPU share cap',
      node: { cpu: 2, kind: 'personal', consent: { granted: true, maxCpuShare: 0.5 } },
      reason: /^filtered: consent cap maxCpuShare 0.5 exceeded \(needs 1.5 of 2 cores, cap 1\)$/,
    },
    {
      name: 'memory cap',
      node: { kind: 'personal', consent: { granted: true, maxMemoryMb: 512 } },
      reason: /^filtered: consent cap maxMemoryMb 512 exceeded \(needs 1024 MB\)$/,
    },
    {
      name: 'wrong label',
      node: { labels: { region: 'us' } },
      reason: /^filtered: label region=eu required, node has region=us$/,
    },
    { name: 'missing label', node: { labels: {} }, reason: /^filtered: label region=eu required, node has none$/ },
    {
      name: 'above the reserve',
      node: {},
      request: { reservePricePerCoreSecond: 0.00005 },
      reason: /^filtered: price 0.0001 per core-second above the reserve 0.00005$/,
    },
    {
      name: 'too slow',
      node: { latencyMs: 300 },
      request: { maxLatencyMs: 100 },
      reason: /^filtered: latency 300 ms .* above the limit 100 ms$/,
    },
  ];
  it.each(cases)('$name', ({ node, request, reason }) => {
    const subject = auctionNode({ ...good, id: 'subject', ...node });
    const result = runAuction(
      render(1, { demand: { cpu: 1.5, memoryMb: 1_024 }, requiredLabels: { region: 'eu' }, ...request }),
      [auctionNode({ ...good, price: 0.00001 }), subject],
      NOW,
    );
    const decision = decisionOf(result, 'subject');
    expect(decision?.outcome).toBe('filtered');
    expect(decision?.reasons[0]).toMatch(reason);
    expect(countOn(result, 'good')).toBe(1);
  });

  it('a feasible node that is outbid says it lost, and to whom', () => {
    const result = runAuction(
      render(1),
      [auctionNode({ ...good, id: 'cheap', price: 0.00001 }), auctionNode({ ...good, id: 'dear' })],
      NOW,
    );
    expect(decisionOf(result, 'dear')).toMatchObject({ outcome: 'lost', slots: 0 });
    expect(decisionOf(result, 'dear')?.reasons[0]).toMatch(
      /^lost: effective cost [\d.e-]+ above the last winner cheap at [\d.e-]+; cheaper slots covered the request$/,
    );
  });
});

describe('auction: second-price payments', () => {
  const twin = (id: string, price: number, extra: Partial<NodeSpec> = {}): AuctionNode =>
    auctionNode({ id, kind: 'server', cpu: 4, memoryMb: 8_192, price, latencyMs: 10, successes: 40, ...extra });
  const single = render(1, { coldStartMs: 0 });

  it('one slot: the winner is paid the runner-up price, whatever it bid', () => {
    const result = runAuction(single, [twin('a', 0.00003), twin('b', 0.00005), twin('c', 0.00008)], NOW);
    expect(result.placements).toHaveLength(1);
    expect(result.placements[0]?.nodeId).toBe('a');
    expect(result.placements[0]?.slotPricesPerCoreSecond[0]).toBeCloseTo(0.00005, 12);
    expect(decisionOf(result, 'a')?.reasons[1]).toMatch(
      /slot 1: paid 0.00005 per core-second .*second price: the competing slot on b/,
    );
  });

  // Table: the winner's true price is 0.00003; the runner-up bids 0.00005.
  const lies = [0, 0.00001, 0.000029, 0.00003, 0.000031, 0.000049, 0.000051, 0.00009];
  it.each(lies)('a lying bid (%f) never gets paid more per slot than the truthful one', (lie) => {
    const truthful = runAuction(single, [twin('a', 0.00003), twin('b', 0.00005)], NOW);
    const lying = runAuction(single, [twin('a', lie), twin('b', 0.00005)], NOW);
    const truthfulPrice = truthful.placements.find((placement) => placement.nodeId === 'a')
      ?.slotPricesPerCoreSecond[0] as number;
    const lyingPrice = lying.placements.find((placement) => placement.nodeId === 'a')?.slotPricesPerCoreSecond[0];
    if (lyingPrice !== undefined) expect(lyingPrice).toBeLessThanOrEqual(truthfulPrice + 1e-15);
    else expect(lie).toBeGreaterThan(0.00005); // it only loses by bidding above the competing price
  });

  it('underbidding to steal a slot pays below cost: b (true price 0.00005) wins at a, paid 0.00003', () => {
    const result = runAuction(single, [twin('a', 0.00003), twin('b', 0.00001)], NOW);
    expect(result.placements[0]?.nodeId).toBe('b');
    expect(result.placements[0]?.slotPricesPerCoreSecond[0]).toBeCloseTo(0.00003, 12);
  });

  it('measured reliability scales pay: a flaky winner is paid the competing effective cost × its reliability', () => {
    const result = runAuction(
      single,
      [twin('flaky', 0.00001, { successes: 0, failures: 10 }), twin('steady', 0.00005)],
      NOW,
    );
    const flaky = result.decisions.find((decision) => decision.nodeId === 'flaky')?.offer;
    const steady = result.decisions.find((decision) => decision.nodeId === 'steady')?.offer;
    if (flaky === undefined || steady === undefined) throw new Error('missing offers');
    expect(flaky.reliability).toBeCloseTo(0.45, 6);
    expect(result.placements[0]?.pricePaid).toBeCloseTo(steady.effectiveCost * flaky.reliability, 12);
  });

  it('no competitor: paid the reserve, or, without one, its own bid (the reason says so)', () => {
    const alone = [twin('a', 0.00003)];
    const withReserve = runAuction(render(1, { reservePricePerCoreSecond: 0.00004 }), alone, NOW);
    expect(withReserve.placements[0]?.slotPricesPerCoreSecond).toEqual([0.00004]);
    const without = runAuction(render(1), alone, NOW);
    expect(without.placements[0]?.slotPricesPerCoreSecond).toEqual([0.00003]);
    expect(decisionOf(without, 'a')?.reasons[1]).toMatch(/no competing slot and no reserve: paid its own bid/);
  });
});

// ---------------------------------------------------------------- properties over random small instances

const RESERVE = 0.00012;
const hourWindow = fc
  .record({ from: fc.integer({ min: 0, max: 23 }), to: fc.integer({ min: 0, max: 24 }) })
  .filter((window) => window.from !== window.to);
const nodeSpec = (id: string) =>
  fc.record({
    id: fc.constant(id),
    kind: fc.constantFrom('server' as const, 'edge' as const, 'personal' as const),
    cpu: fc.integer({ min: 1, max: 16 }),
    memoryMb: fc.integer({ min: 1, max: 32 }).map((gb) => gb * 1_024),
    price: fc.integer({ min: 0, max: 100 }).map((micro) => micro / 1e6),
    consent: fc.option(
      fc.record({
        granted: fc.constantFrom(true, true, true, false),
        maxCpuShare: fc.integer({ min: 0, max: 10 }).map((tenths) => tenths / 10),
        maxMemoryMb: fc.option(
          fc.integer({ min: 1, max: 16 }).map((gb) => gb * 1_024),
          { nil: undefined },
        ),
        hours: fc.option(fc.array(hourWindow, { minLength: 1, maxLength: 2 }), { nil: undefined }),
        idleOnly: fc.boolean(),
      }),
      { nil: undefined },
    ),
    idle: fc.boolean(),
    utcOffsetMinutes: fc.integer({ min: -28, max: 28 }).map((halfHours) => halfHours * 30),
    inUse: fc.record({
      cpu: fc.integer({ min: 0, max: 4 }).map((halves) => halves / 2),
      memoryMb: fc.integer({ min: 0, max: 4 }).map((gb) => gb * 512),
    }),
    labels: fc.constantFrom({ region: 'eu' }, { region: 'us' }),
    warm: fc.constantFrom([], ['render']),
    heartbeatAgoMs: fc.oneof(
      { weight: 4, arbitrary: fc.integer({ min: 0, max: 2_000 }) },
      { weight: 1, arbitrary: fc.integer({ min: 0, max: 9_000 }) },
    ),
    successes: fc.integer({ min: 0, max: 40 }),
    failures: fc.integer({ min: 0, max: 10 }),
    latencyMs: fc.option(fc.integer({ min: 1, max: 300 }), { nil: undefined }),
  });
const instance = fc.record({
  specs: fc
    .integer({ min: 1, max: 5 })
    .chain((count) => fc.tuple(...Array.from({ length: count }, (_, index) => nodeSpec(`n${index}`)))),
  request: fc.record<AuctionRequest>({
    swarmlets: fc.integer({ min: 1, max: 10 }),
    demand: fc.record({ cpu: fc.constantFrom(0.5, 1, 2), memoryMb: fc.constantFrom(256, 512, 1_024, 2_048) }),
    taskType: fc.constant('render'),
    expectedDurationMs: fc.integer({ min: 1, max: 120 }).map((seconds) => seconds * 1_000),
    coldStartMs: fc.integer({ min: 0, max: 5_000 }),
    requiredLabels: fc.constantFrom<Record<string, string>>({}, { region: 'eu' }),
    reservePricePerCoreSecond: fc.constantFrom(undefined, 0.00005, RESERVE),
  }),
  nowMs: fc.integer({ min: 0, max: 48 * 60 }).map((minutes) => NOW + minutes * 60_000),
});

/** An independent model of "how many swarmlets may this node take", from the raw spec (uses Date for local hours). */
function modelSlots(spec: NodeSpec, request: AuctionRequest, nowMs: number): number {
  const consent = spec.consent ?? { granted: spec.kind !== 'personal' };
  if ((spec.heartbeatAgoMs ?? 0) > HEALTH.suspectAfterMs || !consent.granted) return 0;
  if (consent.idleOnly === true && spec.idle !== true) return 0;
  if (request.reservePricePerCoreSecond !== undefined && spec.price > request.reservePricePerCoreSecond) return 0;
  for (const [key, value] of Object.entries(request.requiredLabels ?? {})) if (spec.labels?.[key] !== value) return 0;
  if (consent.hours !== undefined) {
    const open = (atMs: number) => {
      const hour = new Date(atMs + (spec.utcOffsetMinutes ?? 0) * 60_000).getUTCHours();
      return consent.hours?.some((window) =>
        window.from < window.to ? hour >= window.from && hour < window.to : hour >= window.from || hour < window.to,
      );
    };
    for (let atMs = nowMs; atMs < nowMs + request.expectedDurationMs; atMs += 30_000) if (!open(atMs)) return 0;
    if (!open(nowMs + request.expectedDurationMs - 1)) return 0;
  }
  const cpu = Math.min(spec.cpu, spec.cpu * (consent.maxCpuShare ?? 1)) - (spec.inUse?.cpu ?? 0);
  const memoryMb = Math.min(spec.memoryMb, consent.maxMemoryMb ?? Infinity) - (spec.inUse?.memoryMb ?? 0);
  let slots = 0;
  while (
    slots < request.swarmlets &&
    (slots + 1) * request.demand.cpu <= cpu + 1e-9 &&
    (slots + 1) * request.demand.memoryMb <= memoryMb + 1e-9
  )
    slots++;
  return slots;
}

describe('auction: properties over random small instances', () => {
  it('never breaks capacity or consent caps, places all that fit, is the cheapest in effective cost, and within r_max/r_min of the cheapest bids', () => {
    const ratios: number[] = [];
    const paidRatios: number[] = [];
    fc.assert(
      fc.property(instance, ({ specs, request, nowMs }) => {
        const nodes = specs.map((spec) => auctionNode(spec, nowMs));
        const result = runAuction(request, nodes, nowMs);
        let fits = 0;
        for (const spec of specs) {
          const allowed = modelSlots(spec, request, nowMs);
          fits += allowed;
          expect(countOn(result, spec.id), `${spec.id} over its caps`).toBeLessThanOrEqual(allowed);
        }
        const placed = result.placements.reduce((sum, placement) => sum + placement.count, 0);
        expect(placed).toBe(Math.min(request.swarmlets, fits));
        expect(result.unplaced).toBe(request.swarmlets - placed);
        expect(new Set(result.decisions.map((decision) => decision.nodeId)).size).toBe(specs.length);
        for (const decision of result.decisions) expect(decision.reasons.length).toBeGreaterThan(0);

        const { offers } = screenNodes(request, nodes, nowMs);
        const byEffective = cheapestPlacement(
          placed,
          offers.map((offer) => ({
            nodeId: offer.nodeId,
            maxCount: offer.slots,
            costFor: (count) => count * offer.effectiveCost,
          })),
        );
        const byBid = cheapestPlacement(
          placed,
          offers.map((offer) => ({
            nodeId: offer.nodeId,
            maxCount: offer.slots,
            costFor: (count) => count * offer.bidCost,
          })),
        );
        if (byEffective.kind !== 'feasible' || byBid.kind !== 'feasible')
          throw new Error('the placed count must be feasible');
        expect(result.totalExpectedCost).toBeLessThanOrEqual(byEffective.totalCost * (1 + 1e-9) + 1e-15);
        const reliabilities = offers.map((offer) => offer.reliability);
        const bound = reliabilities.length === 0 ? 1 : Math.max(...reliabilities) / Math.min(...reliabilities);
        expect(result.totalBidCost).toBeLessThanOrEqual(bound * byBid.totalCost * (1 + 1e-9) + 1e-15);
        for (const placement of result.placements) {
          const bid = specs.find((spec) => spec.id === placement.nodeId)?.price as number;
          for (const price of placement.slotPricesPerCoreSecond)
            expect(price).toBeGreaterThanOrEqual(bid * (1 - 1e-12)); // paid at least its bid
        }
        if (byBid.totalCost > 0) {
          ratios.push(result.totalBidCost / byBid.totalCost);
          paidRatios.push(result.totalPaid / byBid.totalCost);
        }
      }),
      { numRuns: 1_500 },
    );
    const sorted = (values: number[]) => [...values].sort((a, b) => a - b);
    const quantile = (values: number[], q: number) =>
      sorted(values)[Math.min(values.length - 1, Math.floor(q * values.length))] ?? NaN;
    expect(ratios.length, 'the generator should mostly make instances with something to place').toBeGreaterThan(150);
    const within10 = ratios.filter((ratio) => ratio <= 1.1 + 1e-12).length / ratios.length;
    console.log(
      `auction vs cheapest feasible (bid cost), ${ratios.length} instances: within 10 % ${(100 * within10).toFixed(1)} %, ` +
        `exact ${((100 * ratios.filter((ratio) => ratio <= 1 + 1e-9).length) / ratios.length).toFixed(1)} %, p50 ${quantile(ratios, 0.5).toFixed(3)}, p99 ${quantile(ratios, 0.99).toFixed(3)}, max ${Math.max(...ratios).toFixed(3)}; ` +
        `total paid / cheapest: p50 ${quantile(paidRatios, 0.5).toFixed(2)}, p90 ${quantile(paidRatios, 0.9).toFixed(2)}, max ${Math.max(...paidRatios).toFixed(2)}`,
    );
  });

  it('equal reliabilities: the placement is exactly the cheapest at the bids (the 10 % target holds with room to spare)', () => {
    fc.assert(
      fc.property(instance, ({ specs, request, nowMs }) => {
        const sameHealth = specs.map((spec) => ({ ...spec, successes: 20, failures: 1, latencyMs: 20, warm: [] }));
        const nodes = sameHealth.map((spec) => auctionNode(spec, nowMs));
        const result = runAuction(request, nodes, nowMs);
        const placed = request.swarmlets - result.unplaced;
        const { offers } = screenNodes(request, nodes, nowMs);
        const cheapest = cheapestPlacement(
          placed,
          offers.map((offer) => ({
            nodeId: offer.nodeId,
            maxCount: offer.slots,
            costFor: (count) => count * offer.bidCost,
          })),
        );
        if (cheapest.kind !== 'feasible') throw new Error('the placed count must be feasible');
        expect(result.totalBidCost).toBeLessThanOrEqual(cheapest.totalCost * (1 + 1e-9) + 1e-15);
      }),
      { numRuns: 500 },
    );
  });

  it('truthful bidding is a dominant strategy (with a reserve): no lie raises a node its profit', () => {
    fc.assert(
      fc.property(instance, fc.nat(), fc.integer({ min: 0, max: 150 }), ({ specs, request, nowMs }, pick, lieMicro) => {
        const withReserve = { ...request, reservePricePerCoreSecond: RESERVE };
        const index = pick % specs.length;
        const liar = specs[index] as NodeSpec;
        const truthful = runAuction(
          withReserve,
          specs.map((spec) => auctionNode(spec, nowMs)),
          nowMs,
        );
        const lying = runAuction(
          withReserve,
          specs.map((spec, at) => auctionNode(at === index ? { ...spec, price: lieMicro / 1e6 } : spec, nowMs)),
          nowMs,
        );
        const profit = (result: AuctionResult) => {
          const placement = result.placements.find((candidate) => candidate.nodeId === liar.id);
          const held = result.decisions.find((decision) => decision.nodeId === liar.id)?.offer?.heldCoreSeconds ?? 0;
          return (placement?.pricePaid ?? 0) - (placement?.count ?? 0) * liar.price * held; // paid minus its true cost
        };
        expect(profit(lying)).toBeLessThanOrEqual(profit(truthful) + 1e-12);
      }),
      { numRuns: 1_500 },
    );
  });
});
