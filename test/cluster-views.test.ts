import { describe, expect, it } from 'vitest';
import { clusterSwarmletStates, clusterSwarmlets } from '../src/api/cluster-views.js';
import { seededRng } from '../src/core/clock.js';
import type { ClusterDirector } from '../src/runtime/cluster/director.js';
import { DirectorRecords } from '../src/runtime/cluster/director-records.js';
import { DEFAULT_NODE_MIX, mixNodes, parseNodeMix } from '../src/sim/cluster/node-mix.js';
import { simulateCluster, type SimTick } from '../src/sim/cluster/sim-cluster.js';
import { loadWorkflowFile } from '../src/sim/workflow/load.js';

// The director's views as the API reads them, on the simulated cluster's real DirectorLoop (placements, heartbeats of
// swarmlets starting, serving, morphing and retiring, nodes leaving) at every tick of a run.
const workflow = await loadWorkflowFile('test/fixtures/wfcommons/montage-chameleon-2mass-02d-001-cut.json');

/** What the views read of a director, from one tick of the simulated one. */
function directorAt({ loop, live, depths }: SimTick): ClusterDirector {
  const director = {
    jobBook: loop.book,
    clusterPool: loop.pool,
    records: new DirectorRecords(),
    lastNodes: live,
    lastDepths: depths,
  } satisfies Partial<ClusterDirector>;
  return director as unknown as ClusterDirector;
}

describe('cluster swarmlet states (what /api/status and /metrics count)', () => {
  it('are the swarmlet views’ types and states, at every tick of a run with nodes leaving', () => {
    const seen = { ticks: 0, starting: 0, unwanted: 0 };
    simulateCluster(workflow, {
      nodes: mixNodes(30, parseNodeMix(DEFAULT_NODE_MIX), seededRng(3)),
      seed: 3,
      nodeFailures: 0.5,
      onTick: (tick) => {
        const director = directorAt(tick);
        const views = clusterSwarmlets(director);
        expect(clusterSwarmletStates(director)).toEqual(views.map(({ taskType, state }) => ({ taskType, state })));
        seen.ticks += 1;
        seen.starting += views.filter((v) => v.state === 'starting').length;
        seen.unwanted += views.length - tick.loop.pool.placements().size;
      },
    });
    expect(seen.ticks).toBeGreaterThan(10);
    expect(seen.starting).toBeGreaterThan(0); // wanted, its agent not reporting it serving yet
  });

  it('count a swarmlet reported on another type or stopped as starting, and one no longer wanted as reported', () => {
    let director: ClusterDirector | undefined;
    simulateCluster(workflow, {
      nodes: mixNodes(30, parseNodeMix(DEFAULT_NODE_MIX), seededRng(3)),
      seed: 3,
      nodeFailures: 0,
      maxVirtualMs: 10_000,
      onTick: (tick) => {
        const [first, second] = [...tick.loop.pool.placements().keys()];
        if (director || second === undefined) return;
        // Agents lag the director: one reports a swarmlet as its old type, one as stopped, one it no longer wants.
        const [nodeId, node] = [...tick.live][0]!;
        const status = { inFlight: 0, tasksDone: 0 };
        const swarmlets = [
          ...node.heartbeat.swarmlets.filter((s) => s.id !== first && s.id !== second),
          { ...status, id: first!, taskType: 'an-old-type', state: 'idle' as const },
          {
            ...status,
            id: second,
            taskType: tick.loop.pool.placements().get(second)!.taskType,
            state: 'stopped' as const,
          },
          { ...status, id: 'retired-1', taskType: 'an-old-type', state: 'draining' as const },
        ];
        const live = new Map(tick.live).set(nodeId, { ...node, heartbeat: { ...node.heartbeat, swarmlets } });
        director = directorAt({ ...tick, live });
      },
    });
    const views = clusterSwarmlets(director!);
    expect(clusterSwarmletStates(director!)).toEqual(views.map(({ taskType, state }) => ({ taskType, state })));
    expect(views.filter((v) => v.state === 'starting').length).toBeGreaterThanOrEqual(2);
    expect(views.at(-1)).toMatchObject({ id: 'retired-1', taskType: 'an-old-type', state: 'draining' });
  });
});
