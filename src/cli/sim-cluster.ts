import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { seededRng } from '../core/clock.js';
import { InputError } from '../core/errors.js';
import { NODE_KINDS } from '../place/node-probe.js';
import type { SimClusterResult } from '../sim/cluster/cluster-tally.js';
import { mixNodes, parseNodeMix } from '../sim/cluster/node-mix.js';
import { simulateCluster } from '../sim/cluster/sim-cluster.js';
import { loadWorkflows, type Workflow } from '../sim/workflow/load.js';

export interface SimClusterCommandOptions {
  readonly workflow: string;
  readonly nodes: string;
  readonly nodeMix: string;
  readonly nodeFailures: string;
  readonly seeds: readonly number[];
  readonly out?: string;
  readonly json: boolean;
  readonly progress: boolean;
}

export const DEFAULT_NODE_FAILURES = '0.1';
export const DEFAULT_CLUSTER_OUT = 'sim-results/cluster';
const MAX_NODES = 100_000;

/**
 * `swarmlet sim --workflow … --nodes 10,100,1000`: each workflow as one job on a simulated cluster of each size — the
 * director's real decisions (policy, auction, node lifecycle, failover) over simulated agents — printing what the
 * placement cost, where it went, what failed over and how the director's tick time grows with nodes.
 */
export async function simCluster(options: SimClusterCommandOptions): Promise<void> {
  const counts = parseNodeCounts(options.nodes);
  const mix = parseNodeMix(options.nodeMix);
  const failures = parseFailures(options.nodeFailures);
  const workflows = await loadWorkflows(options.workflow);
  const rows: (SimClusterResult & { instance: string; seed: number; wallMs: number })[] = [];
  for (const workflow of workflows)
    for (const nodes of counts)
      for (const seed of options.seeds) {
        if (options.progress) process.stderr.write(`${workflow.name}: ${nodes} nodes, seed ${seed} …`);
        const started = performance.now();
        const result = simulateCluster(workflow, {
          nodes: mixNodes(nodes, mix, seededRng(seed)),
          seed,
          nodeFailures: failures,
        });
        const wallMs = performance.now() - started;
        if (options.progress) process.stderr.write(` ${(wallMs / 1000).toFixed(1)} s\n`);
        rows.push({ instance: workflow.name, seed, wallMs, ...result });
        for (const violation of result.violations.slice(0, 5))
          process.stderr.write(`invariant violated: ${workflow.name}, ${nodes} nodes, seed ${seed}: ${violation}\n`);
        if (result.violations.length > 0) process.exitCode = 1;
      }
  const out = options.out ?? DEFAULT_CLUSTER_OUT;
  const report = { workflow: options.workflow, instances: workflows.map(describe), mix, nodeFailures: failures, rows };
  await mkdir(resolve(out), { recursive: true });
  await writeFile(join(out, 'results.json'), `${JSON.stringify(report, null, 2)}\n`);
  if (options.json) return void process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  process.stdout.write(`${clusterTable(rows)}\n\nwritten: ${join(out, 'results.json')}\n`);
}

/** One line per instance, node count and seed. */
export function clusterTable(rows: readonly (SimClusterResult & { instance: string; seed: number })[]): string {
  const head = [
    'instance',
    'nodes',
    'seed',
    'makespan s',
    '÷ bound',
    'cost',
    '÷ cheapest',
    ...NODE_KINDS.map((kind) => `${kind} %`),
    'left',
    'failovers',
    'auctions',
    'tick p50/p99/max ms',
  ];
  const lines = rows.map((row) => [
    row.instance,
    String(row.nodes),
    String(row.seed),
    (row.makespanMs / 1000).toFixed(1),
    (row.makespanMs / row.lowerBoundMs).toFixed(2),
    row.cost.toPrecision(3),
    (row.cost / row.cheapestCost).toFixed(2),
    ...NODE_KINDS.map((kind) => ((100 * (row.byKind[kind]?.heldMs ?? 0)) / Math.max(1, row.heldMs)).toFixed(0)),
    String(NODE_KINDS.reduce((sum, kind) => sum + (row.byKind[kind]?.left ?? 0), 0)),
    String(row.failovers),
    String(row.auctions),
    [row.tick.p50Ms, row.tick.p99Ms, row.tick.maxMs].map((ms) => ms.toFixed(ms < 10 ? 2 : 0)).join('/'),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...lines.map((line) => line[i]!.length)));
  const format = (cells: readonly string[]) => cells.map((cell, i) => cell.padStart(widths[i]!)).join('  ');
  return [format(head), ...lines.map(format)].join('\n');
}

function describe(workflow: Workflow) {
  return { name: workflow.name, family: workflow.family, file: workflow.file, tasks: workflow.tasks.length };
}

export function parseNodeCounts(text: string): number[] {
  const counts: number[] = [];
  for (const value of text.split(',').map((part) => part.trim())) {
    const n = Number(value);
    if (value === '' || !Number.isInteger(n) || n < 1 || n > MAX_NODES)
      throw new InputError(
        '--nodes',
        `"${value}" is not a whole number of nodes from 1 to ${MAX_NODES} (in "${text}")`,
        'write --nodes 10,100,1000',
      );
    if (counts.includes(n)) throw new InputError('--nodes', `${n} is listed twice (in "${text}")`, 'list each once');
    counts.push(n);
  }
  return counts;
}

function parseFailures(text: string): number {
  const value = Number(text);
  if (text.trim() === '' || !Number.isFinite(value) || value < 0 || value > 1)
    throw new InputError(
      '--node-failures',
      `"${text}" is not a probability from 0 to 1`,
      `write --node-failures ${DEFAULT_NODE_FAILURES} (each personal node leaves with that probability during the run; edge half as often, servers a tenth)`,
    );
  return value;
}
