import { describe, expect, it } from 'vitest';
import { cheapestFeasiblePlacement } from '../src/place/cheapest-placement.js';
import { DEFAULT_HEALTH_OPTIONS, NEW_NODE_HEALTH, recordHeartbeat } from '../src/place/node-health.js';
import { parseNodeAdvertisement, type NodeAdvertisementInput } from '../src/place/node-probe.js';
import { ClusterPool, type LiveNode } from '../src/runtime/cluster/cluster-pool.js';

const NOW = 1_000_000;
const OPTIONS = { swarmletCpu: 1, swarmletMemoryMb: 60, slotLifeMs: 60_000, health: DEFAULT_HEALTH_OPTIONS };

function node(input: Omit<NodeAdvertisementInput, 'capacity'> & { capacity?: NodeAdvertisementInput['capacity'] }): [string, LiveNode] {
  const parsed = parseNodeAdvertisement({ capacity: { cpu: 4, memoryMb: 8_192 }, ...input });
  if (!parsed.ok) throw parsed.error;
  return [parsed.value.nodeId, { advertisement: parsed.value, heartbeat: { advertisement: input, atMs: NOW, idle: true, swarmlets: [], completed: 0, failed: 0 } }];
}

// The heterogeneous 3-node setup: a dear server, a cheaper edge box, the cheapest personal machine behind consent caps.
const nodes = new Map([
  node({ nodeId: 'server', kind: 'server', pricePerCoreSecond: 0.0001 }),
  node({ nodeId: 'edge', kind: 'edge', pricePerCoreSecond: 0.00004, capacity: { cpu: 2, memoryMb: 4_096 } }),
  node({ nodeId: 'laptop', kind: 'personal', pricePerCoreSecond: 0.00002, consent: { granted: true, maxCpuShare: 0.5, maxMemoryMb: 200 } }),
]);
const placedOn = (pool: ClusterPool) => {
  const counts: Record<string, number> = {};
  for (const { nodeId, state } of pool.takeChanged()) counts[nodeId] = state.swarmlets.length;
  return counts;
};

describe('cluster pool: policy actions on desired state, placed by auction', () => {
  it.each([1, 2, 3, 4, 5, 6, 7, 8])('%i replicas: consent caps hold and the placement costs what the cheapest feasible one does (within 10%)', (count) => {
    const pool = new ClusterPool(OPTIONS);
    pool.observe(nodes, NOW); // heartbeats first, as each director tick does
    for (let i = 0; i < count; i++) pool.act({ kind: 'replicate', taskType: 'hash', reason: 'test' }, nodes, NOW);
    const counts = placedOn(pool);
    // laptop: 2 of 4 cores by its 50% share, and 200 MB holds 3 swarmlets of 60 MB: the cap is 2.
    expect(counts.laptop ?? 0).toBeLessThanOrEqual(2);
    expect(counts.edge ?? 0).toBeLessThanOrEqual(2);
    const placed = Object.values(counts).reduce((a, b) => a + b, 0);
    expect(placed).toBe(count);
    const priceOf = (nodeId: string) => nodes.get(nodeId)!.advertisement.pricePerCoreSecond;
    const ours = Object.entries(counts).reduce((sum, [nodeId, n]) => sum + n * priceOf(nodeId), 0);
    const bidders = [...nodes.values()].map(({ advertisement }) => ({ advertisement, health: recordHeartbeat(NEW_NODE_HEALTH, NOW) }));
    const best = cheapestFeasiblePlacement({ swarmlets: count, demand: { cpu: 1, memoryMb: 60 }, taskType: 'hash', expectedDurationMs: 60_000, coldStartMs: 100 }, bidders, NOW, 'bid-cost');
    expect(best.kind).toBe('feasible');
    if (best.kind !== 'feasible') return;
    const cheapest = best.placements.reduce((sum, p) => sum + p.count * priceOf(p.nodeId), 0);
    expect(ours).toBeLessThanOrEqual(cheapest * 1.1);
  });

  it('keeps each auction\'s verdicts, and a node that stops heart-beating loses its swarmlets', () => {
    const pool = new ClusterPool(OPTIONS);
    pool.observe(nodes, NOW); // heartbeats first, as each director tick does
    pool.act({ kind: 'replicate', taskType: 'hash', reason: 'test' }, nodes, NOW);
    const [decision] = pool.takeDecisions();
    expect(decision!.reasons).toEqual(expect.arrayContaining([expect.stringMatching(/^laptop: won 1 slot/), expect.stringMatching(/^edge: lost: /), expect.stringMatching(/^server: lost: /)]));
    expect(placedOn(pool)).toEqual({ laptop: 1 });
    const withoutLaptop = new Map([...nodes].filter(([id]) => id !== 'laptop'));
    expect(pool.observe(withoutLaptop, NOW + 5_000)).toEqual(['laptop']);
    expect(pool.views(withoutLaptop, NOW + 5_000)).toEqual([]);
    expect(pool.takeChanged()).toEqual([{ nodeId: 'laptop', state: { version: 2, swarmlets: [], reasons: {} } }]);
  });

  it('a specialization and a deprovision change only the desired state of the swarmlet\'s node, with the reason', () => {
    const pool = new ClusterPool(OPTIONS);
    pool.observe(nodes, NOW); // heartbeats first, as each director tick does
    pool.act({ kind: 'replicate', taskType: 'hash', reason: 'test' }, nodes, NOW);
    pool.takeChanged();
    pool.act({ kind: 'specialize', swarmletId: 's1', fromTaskType: 'hash', toTaskType: 'compress', reason: 'compress is the bottleneck' }, nodes, NOW);
    expect(pool.takeChanged()).toEqual([{ nodeId: 'laptop', state: { version: 2, swarmlets: [{ id: 's1', taskType: 'compress' }], reasons: { s1: 'specialized: compress is the bottleneck' } } }]);
    pool.act({ kind: 'deprovision', swarmletId: 's1', reason: 'idle' }, nodes, NOW);
    expect(pool.takeChanged()).toEqual([{ nodeId: 'laptop', state: { version: 3, swarmlets: [], reasons: {} } }]);
  });
});

describe('cluster pool: measured health feeds the auction', () => {
  const twins = new Map([
    node({ nodeId: 'a', kind: 'server', pricePerCoreSecond: 0.0001 }),
    node({ nodeId: 'b', kind: 'server', pricePerCoreSecond: 0.0001 }),
  ]);

  it('equal bids: the node that reported dead micro-tasks loses to the one that delivered', () => {
    const pool = new ClusterPool(OPTIONS);
    pool.observe(twins, NOW);
    for (let i = 0; i < 20; i++) pool.recordResults('b', 0, NOW);
    pool.recordResults('a', 10, NOW);
    pool.act({ kind: 'replicate', taskType: 'hash', reason: 'test' }, twins, NOW);
    expect(placedOn(pool)).toEqual({ b: 1 });
    const [decision] = pool.takeDecisions();
    expect(decision!.reasons.find((r) => r.startsWith('a:'))).toMatch(/^a: lost: /);
  });

  it('the round trip an agent measures becomes the node\'s latency', () => {
    const pool = new ClusterPool(OPTIONS);
    const slow = new Map([...twins].map(([id, live]) => [id, { ...live, heartbeat: { ...live.heartbeat, rttMs: id === 'a' ? 80 : 2 } }]));
    pool.observe(slow, NOW);
    expect(pool.healthOf('a')!.latency).not.toEqual(pool.healthOf('b')!.latency);
    pool.act({ kind: 'replicate', taskType: 'hash', reason: 'test' }, slow, NOW);
    expect(placedOn(pool)).toEqual({ b: 1 });
  });
});
