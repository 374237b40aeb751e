import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import cliProgress from 'cli-progress';
import type { Command } from 'commander';
import { InputError } from '../core/errors.js';
import { ADAPTIVE_WARM_DEFAULTS, adaptiveWarmPolicy } from '../decide/warm/adaptive-warm.js';
import { warmPolicyByName } from '../decide/warm/registry.js';
import { forecastErrors, type ForecastErrorReport } from '../sim/forecast-report.js';
import { llmTraceFile, simSla } from './sim-sla.js';
import { parseColdStart, parseWorkflowSeeds, simWorkflow } from './sim-workflow.js';
import { simCluster } from './sim-cluster.js';
import { paretoSvg } from '../sim/pareto-plot.js';
import { buildRows, renderTable, toCsv } from '../sim/report.js';
import { runSimulation, type PolicyEntry } from '../sim/run-sim.js';
import { loadAzureFunctions } from '../sim/traces/azure-functions.js';
import { replayTraceThroughOrchestrator, type OrchestratorTraceDetails } from '../sim/orchestrator-trace.js';

export interface SimCommandOptions {
  readonly trace?: string;
  readonly workflow?: string;
  readonly policy?: string;
  readonly seeds: string;
  readonly slots: string;
  readonly coldStartMs: string;
  readonly nodes?: string;
  readonly nodeMix: string;
  readonly nodeFailures: string;
  readonly functions?: string;
  readonly hours?: string;
  readonly arrivals: string;
  readonly durations: string;
  readonly coldPrice: string;
  readonly sweep: string;
  readonly out?: string;
  readonly check: boolean;
  readonly json: boolean;
  readonly progress: boolean;
}

export const ALL_POLICIES =
  'adaptive,hybrid-histogram,keepalive-10m,keepalive-20m,never-unload,hpa,kpa,openwhisk,oracle';
const BASELINE = 'keepalive-10m';
/** The trace as a workload of the real orchestrator (opt-in: it simulates every 100 ms tick, so it is slow). */
export const ORCHESTRATOR_POLICY = 'orchestrator';

/** Flags of one kind of replay only, by commander's attribute name. */
const TRACE_ONLY = {
  functions: '--functions',
  hours: '--hours',
  arrivals: '--arrivals',
  durations: '--durations',
  coldPrice: '--cold-price',
  sweep: '--sweep',
};
const WORKFLOW_ONLY = { slots: '--slots', coldStartMs: '--cold-start-ms' };
/** Flags of the simulated cluster (`--nodes`) only. */
const CLUSTER_ONLY = { nodeMix: '--node-mix', nodeFailures: '--node-failures' };

/** `swarmlet sim`: replays a trace, or workflows, under several policies and seeds; prints and writes a comparison. */
export async function simCommand(options: SimCommandOptions, command?: Command): Promise<void> {
  const given = (flags: Record<string, string>) =>
    Object.entries(flags).find(([name]) => command?.getOptionValueSource(name) === 'cli')?.[1];
  if (options.workflow !== undefined) {
    if (options.trace !== undefined)
      throw new InputError('--workflow', 'is given with --trace', 'replay one at a time: keep --trace or --workflow');
    const traceFlag = given(TRACE_ONLY);
    if (traceFlag)
      throw new InputError(
        traceFlag,
        'applies to --trace replays only',
        `remove ${traceFlag} (--workflow takes --slots, --policy, --seeds, --cold-start-ms)`,
      );
    if (options.nodes !== undefined)
      return clusterReplay({ ...options, workflow: options.workflow, nodes: options.nodes }, given);
    const clusterFlag = given(CLUSTER_ONLY);
    if (clusterFlag)
      throw new InputError(
        clusterFlag,
        'applies to a simulated cluster only',
        `add --nodes 10,100,1000 or remove ${clusterFlag}`,
      );
    return simWorkflow({ ...options, workflow: options.workflow });
  }
  if (options.trace === undefined)
    throw new InputError(
      '--trace',
      'is missing',
      'give --trace <dir> (e.g. ../shared/traces/azure-functions-2019) or --workflow <file|dir> (e.g. ../shared/traces/wfcommons)',
    );
  const orchestrator = (options.policy ?? '')
    .split(',')
    .map((name) => name.trim())
    .includes(ORCHESTRATOR_POLICY);
  if (!orchestrator && given({ coldStartMs: '--cold-start-ms' }))
    throw new InputError(
      '--cold-start-ms',
      'applies to --workflow replays and to the orchestrator entry of --trace replays only',
      `add ${ORCHESTRATOR_POLICY} to --policy (e.g. --policy keepalive-10m,hybrid-histogram,${ORCHESTRATOR_POLICY}) or remove --cold-start-ms`,
    );
  const workflowFlag = given({ slots: '--slots', ...CLUSTER_ONLY, nodes: '--nodes' });
  if (workflowFlag)
    throw new InputError(
      workflowFlag,
      'applies to --workflow replays only',
      `remove ${workflowFlag}, or replay workflows with --workflow`,
    );
  return simTrace({
    ...options,
    trace: options.trace,
    policy: options.policy ?? ALL_POLICIES,
    out: options.out ?? 'sim-results',
  });
}

/** `--workflow … --nodes`: the director's decisions on a simulated cluster; the policy is the director's (adaptive). */
function clusterReplay(
  options: SimCommandOptions & { workflow: string; nodes: string },
  given: (flags: Record<string, string>) => string | undefined,
): Promise<void> {
  const embeddedFlag = given(WORKFLOW_ONLY);
  if (embeddedFlag)
    throw new InputError(
      embeddedFlag,
      'sizes the embedded replay; a simulated cluster has its nodes (--nodes, --node-mix) and their start times',
      `remove ${embeddedFlag}`,
    );
  if (options.policy !== undefined && options.policy !== 'adaptive')
    throw new InputError(
      '--policy',
      `"${options.policy}": a simulated cluster runs the director's policy (adaptive) only`,
      'remove --policy, or compare policies without --nodes',
    );
  return simCluster({ ...options, seeds: parseWorkflowSeeds(options.seeds) });
}

async function simTrace(options: SimCommandOptions & { trace: string; policy: string; out: string }): Promise<void> {
  const seeds = parseSeeds(options.seeds);
  const llmFile = llmTraceFile(resolve(options.trace));
  if (llmFile) return simSla(llmFile, seeds, options.json); // a request trace: compare schedulers on SLAs
  const loadOptions = {
    arrivals: oneOf('--arrivals', options.arrivals, ['even', 'uniform', 'poisson'] as const),
    durations: oneOf('--durations', options.durations, ['average', 'sampled'] as const),
    ...(options.functions !== undefined && { functions: wholeNumber('--functions', options.functions) }),
    ...(options.hours !== undefined && { hours: parseHours(options.hours) }),
  };
  const policies = policyEntries(
    options.policy,
    positive('--cold-price', options.coldPrice),
    options.sweep,
    parseColdStart(options.coldStartMs),
  );
  const bar = options.progress
    ? new cliProgress.SingleBar(
        { stream: process.stderr, format: ' replay |{bar}| {value}/{total} · {label}', hideCursor: true },
        cliProgress.Presets.shades_classic,
      )
    : undefined;
  bar?.start(policies.length * seeds.length, 0, { label: 'loading trace' });
  const issuesSeen: string[] = [];
  const forecasts: ForecastErrorReport[] = [];
  const run = await runSimulation(policies, {
    seeds,
    coldStartMs: 0,
    check: options.check,
    traceFor: async (seed) => {
      const { trace, issues } = await loadAzureFunctions(resolve(options.trace), { ...loadOptions, seed });
      if (issuesSeen.length === 0)
        for (const issue of issues.slice(0, 20)) issuesSeen.push(`${issue.file}:${issue.line}: ${issue.message}`);
      forecasts.push(forecastErrors(trace));
      return trace;
    },
    onProgress: (done, _total, label) => bar?.update(done, { label }),
  });
  bar?.stop();
  const families = new Map(policies.filter((p) => p.family).map((p) => [p.label, p.family!]));
  const rows = buildRows(run.results, BASELINE, families);
  const details = run.results.flatMap((r) => (r.details ? [{ policy: r.policy, seed: r.seed, ...r.details }] : []));
  const report = {
    trace: resolve(options.trace),
    seeds,
    options: loadOptions,
    baseline: BASELINE,
    invocationsPerSeed: run.invocationsPerSeed,
    rows: rows.map(({ invocationsPerSecond: _speed, ...row }) => row),
    ...(details.length > 0 && { orchestrator: details }),
    forecastError: forecasts,
  };
  await writeOutputs(resolve(options.out), report, run.results, rows);
  if (options.json) return void process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  for (const issue of issuesSeen) process.stderr.write(`skipped row: ${issue}\n`);
  process.stdout.write(
    `seeds ${seeds.join(', ')} · ${run.invocationsPerSeed[0]} invocations per seed · arrivals ${loadOptions.arrivals} · durations ${loadOptions.durations}\n\n`,
  );
  process.stdout.write(
    `${renderTable(rows, true)}\n\n${describeOrchestrator(details)}${describeOracleGap(rows)}${describeForecasts(forecasts)}\nwritten: ${join(options.out, 'report.json')}, results.csv, pareto.svg\n`,
  );
}

async function writeOutputs(
  dir: string,
  report: object,
  results: Parameters<typeof toCsv>[0],
  rows: ReturnType<typeof buildRows>,
): Promise<void> {
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'report.json'), `${JSON.stringify(report, null, 2)}\n`);
  await writeFile(join(dir, 'results.csv'), toCsv(results));
  await writeFile(join(dir, 'pareto.svg'), paretoSvg(rows, 'Keep-alive policies: cold starts vs wasted memory'));
}

/**
 * Baselines by name; `adaptive` adds its default point and a sweep of its one knob (the frontier); `orchestrator` the
 * trace through the real orchestrator (adaptive policy, simulated swarmlets with `coldStartMs` starts).
 */
function policyEntries(list: string, coldPriceS: number, sweep: string, coldStartMs: number): PolicyEntry[] {
  const names = list
    .split(',')
    .map((name) => name.trim())
    .filter(Boolean);
  if (!names.includes(BASELINE)) names.push(BASELINE); // waste is normalised to it
  const entries: PolicyEntry[] = [];
  for (const name of names) {
    if (name === ORCHESTRATOR_POLICY) {
      const model = { coldStartMs, loadMs: coldStartMs, stopMs: 0 };
      // The adaptive policy prices a cold start as its keep-alive of idle time: the same knob as adaptive's here.
      const policy = { keepAliveMs: coldPriceS * 1000 };
      entries.push({
        label: name,
        replay: (trace, run) => replayTraceThroughOrchestrator(trace, { ...run, model, policy }),
      });
      continue;
    }
    if (name !== 'adaptive') {
      checkPolicyName(name); // unknown names fail here, before any replay
      entries.push({ label: name, make: () => warmPolicyByName(name) });
      continue;
    }
    entries.push({ label: `adaptive`, make: () => adaptiveWarmPolicy({ coldPriceS }) });
    for (const price of sweep
      .split(',')
      .filter(Boolean)
      .map((value) => positive('--sweep', value))) {
      entries.push({
        label: `adaptive λ=${price}s`,
        family: 'adaptive',
        make: () => adaptiveWarmPolicy({ coldPriceS: price }),
      });
    }
  }
  return entries;
}

/** What the orchestrator did per seed besides the table's measures: its pool, actions and the latency it added. */
function describeOrchestrator(details: readonly object[]): string {
  return details
    .map((entry) => {
      const d = entry as unknown as OrchestratorTraceDetails & { seed: number };
      const actions = Object.entries(d.actions)
        .map(([kind, count]) => `${kind} ${count}`)
        .join(', ');
      return `${ORCHESTRATOR_POLICY}, seed ${d.seed}: ${d.swarmletStarts} swarmlet starts, at most ${d.peakSwarmlets} swarmlets at once (limit ${d.poolLimit}${d.unplacedTicks > 0 ? `, demand left unplaced in ${d.unplacedTicks} ticks` : ', never reached'}); actions: ${actions || 'none'}; ${d.ticks} ticks; wait arrival → start: mean ${d.waitMs.mean.toFixed(1)} ms, p99 ${d.waitMs.p99.toFixed(1)} ms, max ${d.waitMs.max.toFixed(1)} ms (${d.waited} invocations waited)\n`;
    })
    .join('');
}

/** How far our default point is from the clairvoyant bound, and where it stands against hybrid. */
function describeOracleGap(rows: ReturnType<typeof buildRows>): string {
  const find = (name: string) => rows.find((row) => row.policy === name);
  const [ours, oracle, hybrid] = [find('adaptive'), find('oracle'), find('hybrid-histogram')];
  if (!ours) return '';
  const lines: string[] = [];
  if (oracle) {
    lines.push(
      `adaptive vs oracle (the lower bound): +${(ours.p75AppColdPercent.mean - oracle.p75AppColdPercent.mean).toFixed(2)} points of p75 app cold-start %, +${(ours.wastedPercentOfBaseline.mean - oracle.wastedPercentOfBaseline.mean).toFixed(1)} points of wasted memory-time`,
    );
  }
  if (hybrid) {
    const cold = ours.p75AppColdPercent.mean / hybrid.p75AppColdPercent.mean;
    const waste = ours.wastedPercentOfBaseline.mean / hybrid.wastedPercentOfBaseline.mean;
    lines.push(
      `adaptive vs hybrid-histogram: ${cold.toFixed(2)}× its p75 app cold-start %, ${waste.toFixed(2)}× its wasted memory-time (goal: ≤ 0.5× and ≤ 0.6×)`,
    );
  }
  return lines.map((line) => `${line}\n`).join('');
}

function describeForecasts(reports: readonly ForecastErrorReport[]): string {
  const mean = (pick: (r: ForecastErrorReport) => number) =>
    (reports.reduce((sum, r) => sum + pick(r), 0) / reports.length).toFixed(2);
  const share = Object.entries(reports[0]?.modelShare ?? {})
    .map(([model, value]) => `${model} ${Math.round(value * 100)}%`)
    .join(', ');
  return `forecast error, next-minute arrivals per app (MASE vs seasonal-naive, m=${reports[0]?.seasonMinutes}): median ${mean((r) => r.medianMase)}, p75 ${mean((r) => r.p75Mase)} over ${reports[0]?.apps} apps; model picked by recent error: ${share}\n`;
}

function checkPolicyName(name: string): void {
  try {
    warmPolicyByName(name);
  } catch (error) {
    if (error instanceof InputError)
      throw InputError.preformatted(
        '--policy',
        error.message
          .replace(/^policy: /, '')
          .replace('use one of: ', 'use one of: adaptive, ')
          .replace(/oracle(?=[^,]*$)/, `oracle, ${ORCHESTRATOR_POLICY} (the real orchestrator; opt-in, slow)`),
      );
    throw error;
  }
}

function parseSeeds(text: string): number[] {
  if (/^\d+$/.test(text)) return Array.from({ length: wholeNumber('--seeds', text) }, (_, i) => i + 1);
  const seeds = text.split(',').map((value) => wholeNumber('--seeds', value));
  return seeds;
}

function parseHours(text: string): [number, number] {
  const match = /^(\d+(?:\.\d+)?)-(\d+(?:\.\d+)?)$/.exec(text);
  const from = Number(match?.[1]);
  const to = Number(match?.[2]);
  if (!match || !(from < to) || to > 24)
    throw new InputError('--hours', `"${text}" is not a range A-B within 0-24`, 'write --hours 8-12');
  return [from, to];
}

function oneOf<T extends string>(field: string, value: string, allowed: readonly T[]): T {
  if ((allowed as readonly string[]).includes(value)) return value as T;
  throw new InputError(field, `"${value}" is not one of ${allowed.join(', ')}`, `write ${field} ${allowed[0]}`);
}

function wholeNumber(field: string, text: string): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1)
    throw new InputError(field, `"${text}" is not a positive whole number`, `write ${field} 3`);
  return value;
}

function positive(field: string, text: string): number {
  const value = Number(text);
  if (!(value > 0))
    throw new InputError(
      field,
      `"${text}" is not a positive number`,
      `write ${field} ${ADAPTIVE_WARM_DEFAULTS.coldPriceS}`,
    );
  return value;
}
