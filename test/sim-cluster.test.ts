import { describe, expect, it } from 'vitest';
import { seededRng } from '../src/core/clock.js';
import { InputError } from '../src/core/errors.js';
import { mixNodes, parseNodeMix, DEFAULT_NODE_MIX } from '../src/sim/cluster/node-mix.js';
import { simulateCluster } from '../src/sim/cluster/sim-cluster.js';
import { loadWorkflowFile } from '../src/sim/workflow/load.js';

// The director's decisions (DirectorLoop: policy, auction, node lifecycle, failover) on a simulated cluster, on a
// small real workflows (WfCommons runs and cuts of them, test/fixtures/wfcommons/README.md).
const workflow = await loadWorkflowFile('test/fixtures/wfcommons/montage-chameleon-2mass-02d-001-cut.json');
/** 22 tasks, 7,000 s of work: long enough for nodes to leave with micro-tasks in flight. */
const long = await loadWorkflowFile('test/fixtures/wfcommons/srasearch-chameleon-10a-001.json');
const mix = parseNodeMix(DEFAULT_NODE_MIX);
const cluster = (count: number, seed: number, nodeFailures: number, nodeMix = mix, instance = workflow) =>
  simulateCluster(instance, { nodes: mixNodes(count, nodeMix, seededRng(seed)), seed, nodeFailures });
/** Everything but the wall-clock tick times, which are the only numbers not on the virtual clock. */
const virtual = (result: ReturnType<typeof simulateCluster>) => ({ ...result, tick: result.tick.count });

describe('a simulated cluster', () => {
  it('runs every micro-task exactly once, in DAG order, and places on the cheapest nodes that can take them', () => {
    const result = cluster(30, 1, 0);
    expect(result.violations).toEqual([]);
    expect(result.makespanMs).toBeGreaterThanOrEqual(result.lowerBoundMs);
    expect(result.auctions).toBeGreaterThan(0);
    // 10 personal nodes × 4 consented cores each hold more than this job's swarmlets: all go to the cheapest kind.
    expect(result.byKind.personal!.heldMs).toBe(result.heldMs);
    expect(result.cost).toBeCloseTo(result.cheapestCost, 12);
  });

  it('without personal nodes, places on the cheaper of the rest', () => {
    const result = cluster(30, 1, 0, parseNodeMix('server:0.0001,edge:0.00004'));
    expect(result.violations).toEqual([]);
    expect(result.byKind.edge!.heldMs).toBeGreaterThan(0.9 * result.heldMs);
  });

  it('loses nothing when nodes leave mid-run: their micro-tasks fail over by lock expiry and run elsewhere', () => {
    let failedOver = 0;
    let seenDead = 0;
    for (let seed = 1; seed <= 5; seed++) {
      const result = cluster(12, seed, 1, mix, long);
      expect(result.violations, `seed ${seed}`).toEqual([]);
      const left = Object.values(result.byKind).reduce((sum, kind) => sum + kind.left, 0);
      expect(left, `seed ${seed}`).toBeGreaterThan(0);
      // A node that leaves near the end (or before its first heartbeat) may never be seen dead.
      seenDead += result.transitions.dead ?? 0;
      failedOver += result.failovers;
    }
    expect(seenDead).toBeGreaterThan(0);
    expect(failedOver).toBeGreaterThan(0);
  });

  it('is deterministic: one seed, one run (but for the wall-clock tick times)', () => {
    expect(virtual(cluster(20, 7, 0.5))).toEqual(virtual(cluster(20, 7, 0.5)));
    expect(virtual(cluster(20, 7, 0.5))).not.toEqual(virtual(cluster(20, 8, 0.5)));
  });

  it("shows each tick's loop and decisions to onTick without changing the run (the API bench reads it)", () => {
    const ticks: { nowMs: number; auctions: number; swarmlets: number }[] = [];
    const nodes = mixNodes(20, mix, seededRng(7));
    const watched = simulateCluster(workflow, {
      nodes,
      seed: 7,
      nodeFailures: 0.5,
      onTick: ({ loop, decisions, nowMs }) =>
        ticks.push({ nowMs, auctions: decisions.length, swarmlets: loop.pool.placements().size }),
    });
    expect(virtual(watched)).toEqual(virtual(cluster(20, 7, 0.5)));
    expect(ticks).toHaveLength(watched.tick.count);
    expect(ticks.reduce((sum, t) => sum + t.auctions, 0)).toBe(watched.auctions);
    expect(Math.max(...ticks.map((t) => t.swarmlets))).toBeGreaterThan(0);
    expect(ticks.map((t) => t.nowMs)).toEqual([...ticks.map((t) => t.nowMs)].sort((a, b) => a - b));
  });
});

describe('--node-mix', () => {
  it('splits nodes by share, largest remainder, kinds shuffled by the seed', () => {
    const nodes = mixNodes(10, parseNodeMix('server:0.1:0.5,edge:0.05,personal:0.01'), seededRng(3));
    const count = (kind: string) => nodes.filter((n) => n.kind === kind).length;
    expect([count('server'), count('edge'), count('personal')]).toEqual([5, 3, 2]);
    expect(new Set(nodes.map((n) => n.nodeId)).size).toBe(10);
    expect(nodes.filter((n) => n.kind === 'personal').every((n) => n.consent.granted)).toBe(true);
  });

  it.each([
    ['server:0.1,cloud:0.2', '"cloud" is not a node kind'],
    ['server:0.1,server:0.2', 'server is listed twice'],
    ['server:abc', 'is not a price per core-second'],
    ['server', 'is not a price per core-second'],
    ['server:0.1:0.7,edge:0.1:0.7', 'the shares sum to 1.4'],
    ['server:0.1:0.5,edge:0.1:0.4', 'the shares sum to 0.9'],
    ['server:0.1:0', 'has a bad share'],
    ['server:0.1:0.5:9', 'has a bad share'],
  ])('refuses %s, naming the flag and the fix', (text, problem) => {
    let error: unknown;
    try {
      parseNodeMix(text);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(InputError);
    expect((error as InputError).field).toBe('--node-mix');
    expect((error as Error).message).toContain(problem);
    // The fix it gives is accepted.
    expect(() => parseNodeMix(DEFAULT_NODE_MIX)).not.toThrow();
    expect((error as InputError).fix).toContain(DEFAULT_NODE_MIX);
  });
});
