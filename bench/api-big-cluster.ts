/**
 * Section api, large cluster rows: what /metrics and /api/status cost a director holding 1,000 nodes. The director's
 * state is the simulated cluster's (src/sim/cluster: the real DirectorLoop, its job book and pool, over 1,000 nodes of
 * the default mix running a WfCommons workflow), stopped mid-run, and served by the cluster
 * Operations over HTTP as `swarmlet serve --http` serves a director.
 */
import { join } from 'node:path';
import { clusterOperations } from '../src/api/cluster-operations.js';
import { prometheusMetrics } from '../src/api/metrics.js';
import { startApiServer } from '../src/api/server.js';
import { seededRng } from '../src/core/clock.js';
import type { ClusterDirector } from '../src/runtime/cluster/director.js';
import { DirectorRecords } from '../src/runtime/cluster/director-records.js';
import { epochEnvironment } from '../src/runtime/local/wall-environment.js';
import { DEFAULT_NODE_MIX, mixNodes, parseNodeMix } from '../src/sim/cluster/node-mix.js';
import { simulateCluster, type SimTick } from '../src/sim/cluster/sim-cluster.js';
import { loadWorkflowFile } from '../src/sim/workflow/load.js';
import type { Detail, Row } from './table.js';
import { ROOT, fmt, log, median, now, percentile } from './util.js';

const SECTION = 'api';
const NODES = 1_000;
const WORKFLOW = join(ROOT, '..', 'shared', 'traces', 'wfcommons', 'montage', 'montage-chameleon-dss-125d-001.json');
/** Two virtual minutes in: the workflow's first wide stage runs on the most swarmlets it gets (75). */
const STOP_AT_MS = 120_000;
const REQUESTS = 100;
const BUDGET_MS = 20;
const PATHS = ['/metrics', '/api/status', '/api/swarmlets', '/api/nodes', '/api/jobs'] as const;

/** What the API reads of a director, taken from the simulated one STOP_AT_MS into the run. */
async function bigDirector(): Promise<{ director: ClusterDirector; nowMs: number; swarmlets: number }> {
  const workflow = await loadWorkflowFile(WORKFLOW);
  const records = new DirectorRecords();
  let last: SimTick | undefined;
  simulateCluster(workflow, {
    nodes: mixNodes(NODES, parseNodeMix(DEFAULT_NODE_MIX), seededRng(1)),
    seed: 1,
    nodeFailures: 0.1,
    maxVirtualMs: STOP_AT_MS,
    onTick: (tick) => {
      last = tick;
      for (const { action, outcome } of tick.outcomes) records.morph(tick.nowMs, action, outcome);
      records.auctions(tick.decisions);
    },
  });
  const { loop, live, depths, nowMs } = last!;
  const director = {
    jobBook: loop.book,
    clusterPool: loop.pool,
    records,
    lastNodes: live,
    lastDepths: depths,
    startedAtMs: 0,
    policyName: 'adaptive',
    leading: true,
  } satisfies Partial<ClusterDirector>;
  return { director: director as unknown as ClusterDirector, nowMs, swarmlets: loop.pool.placements().size };
}

/** Answer times of each path, requests in turn after a warm-up; and each answer's size. */
async function answerTimes(url: string): Promise<Map<string, { times: number[]; bytes: number }>> {
  const byPath = new Map<string, { times: number[]; bytes: number }>();
  for (const path of PATHS) {
    let bytes = 0;
    for (let i = 0; i < 10; i++) bytes = (await (await fetch(`${url}${path}`)).text()).length;
    byPath.set(path, { times: [], bytes });
  }
  // Paths take turns, so drift in the machine's speed falls on all alike.
  for (let i = 0; i < REQUESTS; i++)
    for (const path of PATHS) {
      const start = now();
      await (await fetch(`${url}${path}`)).text();
      byPath.get(path)!.times.push(now() - start);
    }
  return byPath;
}

export async function bigClusterAnswers(): Promise<{ rows: Row[]; details: Detail[]; extra: Record<string, unknown> }> {
  log(
    `api: a director holding ${NODES.toLocaleString('en')} simulated nodes, ${REQUESTS} requests of ${PATHS.join(', ')}`,
  );
  const { director, nowMs, swarmlets } = await bigDirector();
  const operations = clusterOperations({ director: () => director, clock: { nowMs: () => nowMs } });
  const server = await startApiServer({
    operations,
    environment: epochEnvironment,
    host: '127.0.0.1',
    port: 0,
    metrics: prometheusMetrics(operations).scrape,
  });
  let byPath: Map<string, { times: number[]; bytes: number }>;
  try {
    byPath = await answerTimes(server.url);
  } finally {
    await server.close();
  }
  const scope = `${NODES.toLocaleString('en')} nodes, ${swarmlets} swarmlets`;
  const row = (path: string): Row => {
    const p99 = percentile(byPath.get(path)!.times, 99);
    return {
      section: SECTION,
      metric: `cluster ${path} answer p99, ${scope} (simulated director)`,
      unit: 'ms',
      swarmlet: p99,
      baseline: BUDGET_MS,
      baselineName: `the ${BUDGET_MS} ms budget`,
      ratio: p99 / BUDGET_MS,
      goal: 'lower',
      target: 1,
    };
  };
  const details: Detail[] = PATHS.map((path) => {
    const { times, bytes } = byPath.get(path)!;
    return {
      section: SECTION,
      name: `cluster ${path} answer median, ${NODES.toLocaleString('en')} nodes`,
      value: median(times),
      unit: 'ms',
      note: `p99 ${fmt(percentile(times, 99))} ms; ${fmt(bytes)} bytes per answer`,
    };
  });
  const extra = Object.fromEntries(PATHS.map((path) => [`bigCluster ${path} ms`, byPath.get(path)!.times]));
  return { rows: [row('/metrics'), row('/api/status')], details, extra };
}
