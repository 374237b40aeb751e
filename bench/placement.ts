/**
 * Section 8: the director's placement at scale, on the simulated cluster (src/sim/cluster): one real workflow as one
 * job over 10, 100 and 1,000 simulated nodes of the default mix, personal nodes leaving as in `sim --nodes`. Rows:
 * how the director's tick grows from 10 to 1,000 nodes (median and p99), and what the placement cost against the
 * same swarmlet time at the cheapest price asked. Interleaved over reps; medians.
 */
import { join } from 'node:path';
import { seededRng } from '../src/core/clock.js';
import type { SimClusterResult } from '../src/sim/cluster/cluster-tally.js';
import { DEFAULT_NODE_MIX, mixNodes, parseNodeMix } from '../src/sim/cluster/node-mix.js';
import { simulateCluster } from '../src/sim/cluster/sim-cluster.js';
import { loadWorkflowFile } from '../src/sim/workflow/load.js';
import type { Detail, Row, SectionResult } from './table.js';
import { ROOT, fmt, log, median } from './util.js';

const SECTION = 'placement';
const WORKFLOW = join(ROOT, '..', 'shared', 'traces', 'wfcommons', 'montage', 'montage-chameleon-dss-125d-001.json');
const COUNTS = [10, 100, 1_000] as const;
const REPS = 3;

export async function runPlacement(): Promise<SectionResult> {
  const workflow = await loadWorkflowFile(WORKFLOW);
  const mix = parseNodeMix(DEFAULT_NODE_MIX);
  const runs = new Map<number, SimClusterResult[]>(COUNTS.map((n) => [n, []]));
  for (let rep = 0; rep < REPS; rep++)
    for (const nodes of COUNTS) {
      log(`placement: ${workflow.name} (${workflow.tasks.length} tasks) on ${nodes} nodes, rep ${rep + 1}/${REPS}`);
      const result = simulateCluster(workflow, {
        nodes: mixNodes(nodes, mix, seededRng(rep)),
        seed: rep,
        nodeFailures: 0.1,
      });
      if (result.violations.length > 0) throw new Error(`placement bench: ${result.violations[0]}`);
      runs.get(nodes)!.push(result);
    }
  const of = (nodes: number, pick: (r: SimClusterResult) => number) => median(runs.get(nodes)!.map(pick));
  const [small, , large] = COUNTS;
  const rows: Row[] = [
    {
      section: SECTION,
      metric: `director tick, median, ${large} nodes (simulated cluster, ${workflow.name})`,
      unit: 'ms',
      swarmlet: of(large, (r) => r.tick.p50Ms),
      baseline: of(small, (r) => r.tick.p50Ms),
      baselineName: `the same with ${small} nodes`,
      ratio: of(large, (r) => r.tick.p50Ms) / of(small, (r) => r.tick.p50Ms),
      goal: 'lower',
      target: 100, // linear growth: 100× the nodes, at most 100× the time
    },
    {
      section: SECTION,
      metric: `placement cost at ${large} nodes, against the same swarmlet time at the cheapest price asked`,
      unit: 'cost',
      swarmlet: of(large, (r) => r.cost),
      baseline: of(large, (r) => r.cheapestCost),
      baselineName: 'every core-second at the lowest price',
      ratio: of(large, (r) => r.cost / r.cheapestCost),
      goal: 'info',
    },
  ];
  const details: Detail[] = COUNTS.flatMap((nodes) => [
    {
      section: SECTION,
      name: `tick p50 / p99 / max, ${nodes} nodes`,
      value: of(nodes, (r) => r.tick.p50Ms),
      unit: 'ms',
      note: `p99 ${fmt(of(nodes, (r) => r.tick.p99Ms))} ms, max ${fmt(of(nodes, (r) => r.tick.maxMs))} ms`,
    },
    {
      section: SECTION,
      name: `makespan ÷ bound, ${nodes} nodes`,
      value: of(nodes, (r) => r.makespanMs / r.lowerBoundMs),
      unit: '×',
      note: `failovers ${of(nodes, (r) => r.failovers)}, auctions ${of(nodes, (r) => r.auctions)}`,
    },
  ]);
  return { rows, details };
}
