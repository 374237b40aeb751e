import { describe, expect, it } from 'vitest';
import { cheapestFeasiblePlacement } from '../src/place/cheapest-placement.js';
import { DEFAULT_HEALTH_OPTIONS, NEW_NODE_HEALTH, recordHeartbeat } from '../src/place/node-health.js';
import { parseNodeAdvertisement, type NodeAdvertisementInput } from '../src/place/node-probe.js';
import { ClusterPool, type LiveNode } from '../src/runtime/cluster/cluster-pool.js';

const NOW = 1_000_000;
const OPTIONS = { swarmletCpu: 1, swarmletMemoryMb: 60, slotLifeMs: 60_000, health: DEFAULT_HEALTH_OPTIONS };

function node(
  input: Omit<NodeAdvertisementInput, 'capacity'> & { capacity?: NodeAdvertisementInput['capacity'] },
): [string, LiveNode] {
  const parsed = parseNodeAdvertisement({ capacity: { cpu: 4, memoryMb: 8_192 }, ...input });
  if (!parsed.ok) throw parsed.error;
  return [
    parsed.value.nodeId,
    {
      advertisement: parsed.value,
      heartbeat: { advertisement: input, atMs: NOW, idle: true, swarmlets: [], completed: 0, failed: 0 },
    },
  ];
}

// The heterogeneous 3-node setup: a dear server, a cheaper edge box, the cheapest personal machine behind
// consent caps.
const nodes = new Map([
  node({ nodeId: 'server', kind: 'server', pricePerCoreSecond: 0.0001 }),
  node({ nodeId: 'edge', kind: 'edge', pricePerCoreSecond: 0.00004, capacity: { cpu: 2, memoryMb: 4_096 } }),
  node({
    nodeId: 'laptop',
    kind: 'personal',
    pricePerCoreSecond: 0.00002,
    consent: { granted: true, maxCpuShare: 0.5, maxMemoryMb: 200 },
  }),
]);
const placedOn = (pool: ClusterPool) => {
  const counts: Record<string, number> = {};
  for (const { nodeId, state } of pool.takeChanged()) counts[nodeId] = state.swarmlets.length;
  return counts;
};

describe('cluster pool: policy actions on desired state, placed by auction', () => {
  it.each([1, 2, 3, 4, 5, 6, 7, 8])(
    '%i replicas: consent caps hold and the placement costs what the cheapest feasible one does (within 10%)',
    (count) => {
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
      const bidders = [...nodes.values()].map(({ advertisement }) => ({
        advertisement,
        health: recordHeartbeat(NEW_NODE_HEALTH, NOW),
      }));
      const best = cheapestFeasiblePlacement(
        {
          swarmlets: count,
          demand: { cpu: 1, memoryMb: 60 },
          taskType: 'hash',
          expectedDurationMs: 60_000,
          coldStartMs: 100,
        },
        bidders,
        NOW,
        'bid-cost',
      );
      expect(best.kind).toBe('feasible');
      if (best.kind !== 'feasible') return;
      const cheapest = best.placements.reduce((sum, p) => sum + p.count * priceOf(p.nodeId), 0);
      expect(ours).toBeLessThanOrEqual(cheapest * 1.1);
    },
  );

  it("keeps each auction's verdicts, and a node that stops heart-beating loses its swarmlets", () => {
    const pool = new ClusterPool(OPTIONS);
    pool.observe(nodes, NOW); // heartbeats first, as each director tick does
    pool.act({ kind: 'replicate', taskType: 'hash', reason: 'test' }, nodes, NOW);
    const [decision] = pool.takeDecisions();
    expect(decision!.reasons).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^laptop: won 1 slot/),
        expect.stringMatching(/^edge: lost: /),
        expect.stringMatching(/^server: lost: /),
      ]),
    );
    expect(placedOn(pool)).toEqual({ laptop: 1 });
    const withoutLaptop = new Map([...nodes].filter(([id]) => id !== 'laptop'));
    expect(pool.observe(withoutLaptop, NOW + 5_000)).toEqual(['laptop']);
    expect(pool.views(withoutLaptop, NOW + 5_000)).toEqual([]);
    expect(pool.takeChanged()).toEqual([{ nodeId: 'laptop', state: { version: 2, swarmlets: [], reasons: {} } }]);
  });

  it("a specialization and a deprovision change only the desired state of the swarmlet's node, with the reason", () => {
    const pool = new ClusterPool(OPTIONS);
    pool.observe(nodes, NOW); // heartbeats first, as each director tick does
    pool.act({ kind: 'replicate', taskType: 'hash', reason: 'test' }, nodes, NOW);
    pool.takeChanged();
    pool.act(
      {
        kind: 'specialize',
        swarmletId: 's1',
        fromTaskType: 'hash',
        toTaskType: 'compress',
        reason: 'compress is the bottleneck',
      },
      nodes,
      NOW,
    );
    expect(pool.takeChanged()).toEqual([
      {
        nodeId: 'laptop',
        state: {
          version: 2,
          swarmlets: [{ id: 's1', taskType: 'compress' }],
          reasons: { s1: 'specialized: compress is the bottleneck' },
        },
      },
    ]);
    pool.act({ kind: 'deprovision', swarmletId: 's1', reason: 'idle' }, nodes, NOW);
    expect(pool.takeChanged()).toEqual([{ nodeId: 'laptop', state: { version: 3, swarmlets: [], reasons: {} } }]);
  });

  it('an auction among many nodes keeps the winner and the next cheapest verdicts, and counts the rest', () => {
    const many = new Map(
      Array.from({ length: 40 }, (_, i) =>
        node({
          nodeId: `n${i}`,
          kind: 'server',
          pricePerCoreSecond: 0.0001 + i * 1e-6,
          capacity: { cpu: 1, memoryMb: i < 35 ? 8_192 : 10 },
        }),
      ),
    );
    const pool = new ClusterPool(OPTIONS);
    pool.observe(many, NOW);
    pool.act({ kind: 'replicate', taskType: 'hash', reason: 'test' }, many, NOW);
    const [decision] = pool.takeDecisions();
    expect(decision!.reasons).toHaveLength(11);
    expect(decision!.reasons[0]).toMatch(/^n0: won 1 slot/);
    expect(decision!.reasons.slice(1, 10).every((reason, i) => reason.startsWith(`n${i + 1}: lost`))).toBe(true);
    // 35 fit, 5 have 10 MB: 25 more lost and the 5 filtered, counted.
    expect(decision!.reasons[10]).toBe('25 lost (dearer), 5 filtered: 30 more node(s) not listed');
  });

  it('several replicates of a type in one tick are one auction, with the same caps and one outcome per swarmlet', () => {
    const pool = new ClusterPool(OPTIONS);
    pool.observe(nodes, NOW);
    const outcomes = pool.replicate('hash', 9, nodes, NOW);
    expect(outcomes).toHaveLength(9);
    expect(pool.takeDecisions()).toHaveLength(1);
    const counts = placedOn(pool);
    // laptop: 2 by consent; edge: 2 cores; server: 4 cores. 8 fit; the 9th says why not.
    expect(counts).toEqual({ laptop: 2, edge: 2, server: 4 });
    expect(outcomes.filter((o) => o.includes(' placed on '))).toHaveLength(8);
    expect(outcomes[8]).toMatch(/^no node can take a hash swarmlet: /);
    expect(new Set(outcomes.slice(0, 8).map((o) => o.split(' ')[0])).size).toBe(8);
  });
});

describe('cluster pool: shadows', () => {
  it("a tick's shadows of a type are one auction; they are shadows (not consolidated) until their agent reports them busy", () => {
    const pool = new ClusterPool(OPTIONS);
    pool.observe(nodes, NOW);
    const outcomes = pool.replicate('cat', 3, nodes, NOW, true);
    expect(outcomes.filter((o) => o.includes(' placed on '))).toHaveLength(3);
    expect(pool.takeDecisions()).toHaveLength(1);
    const [first] = pool.views(nodes, NOW);
    expect(pool.views(nodes, NOW).map((v) => v.shadow)).toEqual([true, true, true]);
    // Its agent reports it busy once: no longer a shadow; the other two still are.
    const nodeId = pool.takeChanged().find(({ state }) => state.swarmlets.some((x) => x.id === first!.id))!.nodeId;
    const live = nodes.get(nodeId)!;
    const busyNode = new Map(nodes);
    busyNode.set(nodeId, {
      ...live,
      heartbeat: {
        ...live.heartbeat,
        swarmlets: [{ id: first!.id, taskType: 'cat', state: 'busy', inFlight: 1, tasksDone: 0, busyForMs: 50 }],
      },
    });
    const after = pool.views(busyNode, NOW + 1_000);
    expect(after.find((v) => v.id === first!.id)).toMatchObject({ shadow: false, busyForMs: 50 });
    expect(after.filter((v) => v.shadow)).toHaveLength(2);
    expect(pool.views(nodes, NOW + 2_000).find((v) => v.id === first!.id)?.shadow).toBe(false);
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

  it("the round trip an agent measures becomes the node's latency", () => {
    const pool = new ClusterPool(OPTIONS);
    const slow = new Map(
      [...twins].map(([id, live]) => [id, { ...live, heartbeat: { ...live.heartbeat, rttMs: id === 'a' ? 80 : 2 } }]),
    );
    pool.observe(slow, NOW);
    expect(pool.healthOf('a')!.latency).not.toEqual(pool.healthOf('b')!.latency);
    pool.act({ kind: 'replicate', taskType: 'hash', reason: 'test' }, slow, NOW);
    expect(placedOn(pool)).toEqual({ b: 1 });
  });
});

describe('cluster pool: the node lifecycle (place/node-lifecycle.ts)', () => {
  /** The same nodes heart-beating again at `atMs` (a new beat is a new agent timestamp). */
  const beatAt = (live: ReadonlyMap<string, LiveNode>, atMs: number) =>
    new Map([...live].map(([id, n]) => [id, { ...n, heartbeat: { ...n.heartbeat, atMs } }]));
  const without = (live: ReadonlyMap<string, LiveNode>, gone: string) =>
    new Map([...live].filter(([id]) => id !== gone));
  const edges = (pool: ClusterPool) =>
    pool.takeTransitions().map(({ nodeId, from, to, atMs }) => `${nodeId} ${from ?? 'unseen'}→${to} @${atMs - NOW}`);

  it('join → alive, late → suspect (swarmlets stay), beat again → alive; oldest first, and taking clears', () => {
    const pool = new ClusterPool(OPTIONS);
    expect(pool.observe(nodes, NOW)).toEqual([]);
    const joins = pool.takeTransitions();
    expect(joins.map((t) => [t.nodeId, t.from, t.to])).toEqual([
      ['server', undefined, 'alive'],
      ['edge', undefined, 'alive'],
      ['laptop', undefined, 'alive'],
    ]);
    expect(joins[0]!.reason).toMatch(/^first heartbeat/);
    expect(pool.takeTransitions()).toEqual([]);
    pool.act({ kind: 'replicate', taskType: 'hash', reason: 'test' }, nodes, NOW);
    pool.takeChanged();

    expect(pool.observe(nodes, NOW + 3_000)).toEqual([]); // the same beats: 3 s of silence
    const late = pool.takeTransitions();
    expect(late.map((t) => t.to)).toEqual(['suspect', 'suspect', 'suspect']);
    expect(late[2]).toEqual({
      nodeId: 'laptop',
      from: 'alive',
      to: 'suspect',
      reason: 'heartbeat late: no new placements — no heartbeat for 3 s (dead after ttl 5 s)',
      atMs: NOW + 3_000,
    });
    expect(pool.views(nodes, NOW + 3_000)).toHaveLength(1); // a suspect node keeps what it runs until its TTL

    pool.observe(beatAt(nodes, NOW + 3_500), NOW + 3_500);
    expect(edges(pool)).toEqual([
      'server suspect→alive @3500',
      'edge suspect→alive @3500',
      'laptop suspect→alive @3500',
    ]);
    expect(pool.nodeStates()).toEqual(
      new Map([
        ['server', 'alive'],
        ['edge', 'alive'],
        ['laptop', 'alive'],
      ]),
    );
  });

  it('gone → dead with its swarmlets dropped and one failure counted; back → alive keeping its reliability', () => {
    const pool = new ClusterPool(OPTIONS);
    pool.observe(nodes, NOW);
    pool.act({ kind: 'replicate', taskType: 'hash', reason: 'test' }, nodes, NOW);
    expect(placedOn(pool)).toEqual({ laptop: 1 });
    pool.recordResults('laptop', 3, NOW);
    pool.takeTransitions();
    const before = pool.healthOf('laptop')!.reliability;

    expect(pool.observe(without(nodes, 'laptop'), NOW + 1_000)).toEqual(['laptop']);
    const [gone] = pool.takeTransitions();
    expect(gone).toMatchObject({ nodeId: 'laptop', from: 'alive', to: 'dead', atMs: NOW + 1_000 });
    expect(gone!.reason).toMatch(
      /^heartbeat key expired or the node left: its swarmlets are placed elsewhere.* — heartbeat key gone, last heartbeat 1 s ago$/,
    );
    expect(placedOn(pool)).toEqual({ laptop: 0 });
    const dead = pool.healthOf('laptop')!.reliability;
    expect(dead.failures).toBeGreaterThan(before.failures); // dropping out counts against it
    expect(pool.observe(without(beatAt(nodes, NOW + 60_000), 'laptop'), NOW + 60_000)).toEqual([]);
    expect(pool.takeTransitions()).toEqual([]); // dead stays dead, quietly (the others beat on)

    pool.observe(beatAt(nodes, NOW + 61_000), NOW + 61_000);
    const back = pool.takeTransitions().find((t) => t.nodeId === 'laptop');
    expect(back).toMatchObject({ from: 'dead', to: 'alive' });
    expect(back!.reason).toMatch(/reliability kept/);
    expect(pool.healthOf('laptop')!.reliability).toEqual(dead); // a heartbeat does not wipe the record
    expect(pool.nodeStates().get('laptop')).toBe('alive');
  });

  it('a node whose key is still there but whose beats stopped past the TTL is dead too', () => {
    const pool = new ClusterPool(OPTIONS);
    pool.observe(nodes, NOW);
    pool.act({ kind: 'replicate', taskType: 'hash', reason: 'test' }, nodes, NOW);
    pool.takeTransitions();
    const fresh = new Map(
      [...beatAt(nodes, NOW + 5_100)].map(([id, n]) => [id, id === 'laptop' ? nodes.get('laptop')! : n]),
    );
    expect(pool.observe(fresh, NOW + 5_100)).toEqual(['laptop']);
    expect(edges(pool)).toEqual(['laptop alive→dead @5100']);
  });

  it('consent revoked → draining: its swarmlets leave, no failure counted; granted again → alive', () => {
    const revoked = new Map([
      ...nodes,
      node({
        nodeId: 'laptop',
        kind: 'personal',
        pricePerCoreSecond: 0.00002,
        consent: { granted: false, maxCpuShare: 0.5, maxMemoryMb: 200 },
      }),
    ]);
    const pool = new ClusterPool(OPTIONS);
    pool.observe(nodes, NOW);
    pool.act({ kind: 'replicate', taskType: 'hash', reason: 'test' }, nodes, NOW);
    pool.takeChanged();
    pool.takeTransitions();
    const before = pool.healthOf('laptop')!.reliability;

    expect(pool.observe(beatAt(revoked, NOW + 1_000), NOW + 1_000)).toEqual(['laptop']);
    const [drain] = pool.takeTransitions();
    expect(drain).toMatchObject({ nodeId: 'laptop', from: 'alive', to: 'draining' });
    expect(drain!.reason).toMatch(
      /^consent revoked: its swarmlets leave now and its micro-tasks are reassigned — consent revoked, heartbeat 0 ms ago$/,
    );
    expect(pool.takeChanged()).toEqual([{ nodeId: 'laptop', state: { version: 2, swarmlets: [], reasons: {} } }]);
    expect(pool.healthOf('laptop')!.reliability).toEqual(before);

    pool.observe(beatAt(nodes, NOW + 2_000), NOW + 2_000);
    expect(edges(pool)).toEqual(['laptop draining→alive @2000']);
  });

  it('keeps only the last 200 transitions', () => {
    const pool = new ClusterPool(OPTIONS);
    const one = new Map([nodes.get('server')!].map((n) => ['server', n]));
    for (let i = 0; i < 150; i++) {
      pool.observe(beatAt(one, NOW + i * 10_000), NOW + i * 10_000); // join or back: alive
      pool.observe(new Map(), NOW + i * 10_000 + 1); // gone: dead
    }
    const kept = pool.takeTransitions();
    expect(kept).toHaveLength(200);
    expect(kept[0]).toMatchObject({ from: 'dead', to: 'alive', atMs: NOW + 50 * 10_000 });
    expect(kept.at(-1)).toMatchObject({ from: 'alive', to: 'dead', atMs: NOW + 149 * 10_000 + 1 });
  });
});

describe("cluster pool: each swarmlet claims its type's footprint on a node", () => {
  const claimedOn = (pool: ClusterPool) =>
    Object.fromEntries(pool.takeChanged().map(({ nodeId, state }) => [nodeId, state.swarmlets.length]));

  it('a memory hint keeps swarmlets off nodes without room: claims on a node never add up past its capacity or caps', () => {
    const pool = new ClusterPool(OPTIONS);
    pool.observe(nodes, NOW);
    pool.learnType('big', { cpu: 0.5, memoryMb: 1_500 });
    for (let i = 0; i < 3; i++) pool.act({ kind: 'replicate', taskType: 'big', reason: 'test' }, nodes, NOW);
    const decisions = pool.takeDecisions();
    expect(decisions[0]!.claim).toBe('0.5 core(s) (hint), 1500 MB (hint)');
    // laptop: 200 MB under consent; edge: 4096 MB holds two of 1500; the third goes to the dear server.
    expect(decisions[0]!.reasons).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^laptop: filtered: .*1500 MB/),
        expect.stringMatching(/^edge: won 1 slot/),
      ]),
    );
    expect(decisions[2]!.reasons).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^edge: filtered: capacity: needs 1500 MB, 1096 of 4096 MB free/),
        expect.stringMatching(/^server: won 1 slot/),
      ]),
    );
    expect(claimedOn(pool)).toEqual({ edge: 2, server: 1 });
  });

  it("measured resident memory raises a type's claim above its hint; a type never hinted nor measured claims the default", () => {
    const pool = new ClusterPool(OPTIONS);
    pool.learnType('grows', { memoryMb: 100 });
    const server = nodes.get('server')!;
    const beating = new Map(nodes);
    beating.set('server', {
      ...server,
      heartbeat: {
        ...server.heartbeat,
        atMs: NOW + 1,
        swarmlets: [{ id: 's9', taskType: 'grows', state: 'busy', inFlight: 1, rssMb: 3_000, tasksDone: 4 }],
      },
    });
    pool.observe(beating, NOW);
    pool.act({ kind: 'replicate', taskType: 'grows', reason: 'test' }, beating, NOW);
    pool.act({ kind: 'replicate', taskType: 'small', reason: 'test' }, beating, NOW);
    const [grows, small] = pool.takeDecisions();
    expect(grows!.claim).toBe('1 core(s) (default), 3000 MB (measured, 1 sample(s))');
    // 3000 MB fits the edge, not the laptop
    expect(grows!.reasons).toEqual(expect.arrayContaining([expect.stringMatching(/^edge: won 1 slot/)]));
    expect(small!.claim).toBe('1 core(s) (default), 60 MB (default)');
  });

  it('a node that refused the bundle of a type gets none of it: withdrawn, filtered with the reason, never specialized to it', () => {
    const refused = new Map([['laptop', 'it is unsigned. Fix: sign it']]);
    const pool = new ClusterPool({ ...OPTIONS, refusedBy: (taskType) => (taskType === 'hash' ? refused : new Map()) });
    pool.observe(nodes, NOW);
    pool.act({ kind: 'replicate', taskType: 'other', reason: 'test' }, nodes, NOW); // the cheapest node: laptop
    expect(placedOn(pool)).toEqual({ laptop: 1 });
    expect(
      pool.act(
        { kind: 'specialize', swarmletId: 's1', fromTaskType: 'other', toTaskType: 'hash', reason: 'test' },
        nodes,
        NOW,
      ),
    ).toBe('s1 stays: laptop refused the bundle of hash: it is unsigned. Fix: sign it');
    pool.takeDecisions();
    for (let i = 0; i < 3; i++) pool.act({ kind: 'replicate', taskType: 'hash', reason: 'test' }, nodes, NOW);
    expect(placedOn(pool)).toEqual({ edge: 2, server: 1 });
    expect(pool.takeDecisions()[0]!.reasons).toContain(
      'laptop: filtered: refused the bundle of hash: it is unsigned. Fix: sign it',
    );
    expect(pool.withdraw('edge', 'hash')).toEqual(['s2', 's3']);
    expect(pool.withdraw('edge', 'hash')).toEqual([]);
    expect(placedOn(pool)).toEqual({ edge: 0 });
  });

  it('a node where a type broke the consent caps lately gets none of it, with the reason', () => {
    const broke = new Map([
      ['laptop', "the node's consent cap maxMemoryMb 256 MB was exceeded (300 MB held) (2 s ago)"],
    ]);
    const pool = new ClusterPool({ ...OPTIONS, capBreaksOf: (taskType) => (taskType === 'hog' ? broke : new Map()) });
    pool.observe(nodes, NOW);
    pool.act({ kind: 'replicate', taskType: 'other', reason: 'test' }, nodes, NOW); // the cheapest node: laptop
    expect(
      pool.act(
        { kind: 'specialize', swarmletId: 's1', fromTaskType: 'other', toTaskType: 'hog', reason: 'test' },
        nodes,
        NOW,
      ),
    ).toBe(
      "s1 stays: laptop broke its consent caps running hog: the node's consent cap maxMemoryMb 256 MB was exceeded (300 MB held) (2 s ago)",
    );
    pool.takeDecisions();
    pool.act({ kind: 'replicate', taskType: 'hog', reason: 'test' }, nodes, NOW);
    expect(placedOn(pool)).toEqual({ laptop: 1, edge: 1 });
    expect(pool.takeDecisions()[0]!.reasons).toContain(
      "laptop: filtered: broke its consent caps running hog: the node's consent cap maxMemoryMb 256 MB was exceeded (300 MB held) (2 s ago)",
    );
  });
});
