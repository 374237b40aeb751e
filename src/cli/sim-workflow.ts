import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { InputError } from '../core/errors.js';
import { comparisonSvg } from '../sim/workflow/compare-plot.js';
import { comparisonCsv, instanceTables, summarize, summaryTable } from '../sim/workflow/compare-report.js';
import {
  compareWorkflows,
  DEFAULT_WORKFLOW_POLICIES,
  WORKFLOW_POLICIES,
  type InstanceProgress,
  type WorkflowPolicy,
} from '../sim/workflow/compare.js';
import { loadWorkflows, type Workflow } from '../sim/workflow/load.js';
import { RUNTIME_NOISE_SIGMA } from '../sim/workflow/perturb.js';
import { DEFAULT_COLD_START_MS } from '../sim/workflow/replay.js';

export interface SimWorkflowOptions {
  readonly workflow: string;
  readonly slots: string;
  /** Undefined: every workflow policy. */
  readonly policy?: string;
  readonly seeds: string;
  readonly coldStartMs: string;
  /** Undefined: `DEFAULT_WORKFLOW_OUT`. */
  readonly out?: string;
  readonly check: boolean;
  readonly json: boolean;
  readonly progress: boolean;
}

export const DEFAULT_WORKFLOW_SLOTS = '8,32,128';
export const DEFAULT_WORKFLOW_OUT = 'sim-results/workflow';
/** Bounds on what one command may ask for (DESIGN.md: a limit on everything). */
const MAX_SLOTS = 10_000;
const MAX_SEEDS = 1_000;
const MAX_COLD_START_MS = 3_600_000;
const FILES = ['results.json', 'results.csv', 'makespan-vs-cost.svg'] as const;

/**
 * `swarmlet sim --workflow`: replays WfCommons workflows under adaptive (the real orchestrator, virtual clock) and the
 * baselines, at each slot count and seed; prints a table per instance and slot count and a summary per family; writes
 * results.json (deterministic: same flags, same bytes), results.csv and a plot. Every flag is checked before any file
 * is read, and nothing is written when one is bad.
 */
export async function simWorkflow(options: SimWorkflowOptions): Promise<void> {
  const slots = parseSlots(options.slots);
  const policies = parsePolicies(options.policy);
  const seeds = parseWorkflowSeeds(options.seeds);
  const coldStartMs = parseColdStart(options.coldStartMs);
  const out = options.out ?? DEFAULT_WORKFLOW_OUT;
  const workflows = await loadWorkflows(options.workflow).catch((error: unknown) => {
    if (error instanceof InputError && error.field === 'workflow')
      throw new InputError(
        '--workflow',
        error.message.replace(/^workflow: /, '').replace(/\. Fix: .*$/, ''),
        error.fix,
      );
    throw error;
  });
  const startedMs = performance.now();
  const result = await compareWorkflows(workflows, {
    slots,
    policies,
    seeds,
    coldStartMs,
    check: options.check,
    onInstance: options.progress ? (progress) => process.stderr.write(progressText(progress, slots, seeds)) : undefined,
  });
  const wallMs = performance.now() - startedMs;
  const summary = summarize(result.rows);
  const report = {
    workflow: options.workflow,
    instances: workflows.map(describe),
    slots,
    seeds,
    policies: result.policies,
    coldStartMs,
    swarmletModel: { coldStartMs, loadMs: coldStartMs, stopMs: 0 },
    runtimeNoise: { seed0: 'the trace as recorded', distribution: 'lognormal, mean 1', sigma: RUNTIME_NOISE_SIGMA },
    summary,
    rows: result.rows,
  };
  await mkdir(resolve(out), { recursive: true });
  await writeFile(join(out, FILES[0]), `${JSON.stringify(report, null, 2)}\n`);
  await writeFile(join(out, FILES[1]), comparisonCsv(result.rows));
  await writeFile(join(out, FILES[2]), comparisonSvg(result.rows, result.policies));
  const runs = result.rows.length;
  process.stderr.write(
    `${workflows.length} instance(s), ${runs} replays in ${seconds(wallMs)} s (adaptive through the orchestrator: ${seconds(result.adaptiveWallMs)} s, ${result.adaptiveEvents.toLocaleString('en-US')} virtual-time events)\n`,
  );
  reportViolations(result.rows);
  if (options.json) return void process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  process.stdout.write(
    `${instanceTables(result.rows, result.policies)}\n\n${summaryTable(summary)}\n\nwritten: ${FILES.map((file) => join(out, file)).join(', ')}\n`,
  );
}

function describe(workflow: Workflow) {
  return { name: workflow.name, family: workflow.family, file: workflow.file, tasks: workflow.tasks.length };
}

function progressText(progress: InstanceProgress, slots: readonly number[], seeds: readonly number[]): string {
  const { index, total, workflow } = progress;
  if (progress.phase === 'start')
    return `[${index}/${total}] ${workflow.name}: ${workflow.tasks.length} tasks × ${slots.length} slot count(s) × ${seeds.length} seed(s) …`;
  return ` ${seconds(progress.wallMs!)} s (adaptive ${seconds(progress.adaptiveWallMs!)} s, ${progress.adaptiveEvents!.toLocaleString('en-US')} events)\n`;
}

/** A broken invariant is a bug in Swarmlet: say which run shows it (its seed reproduces it) and fail the command. */
function reportViolations(rows: Awaited<ReturnType<typeof compareWorkflows>>['rows']): void {
  const broken = rows.filter((row) => row.violations.length > 0);
  for (const row of broken.slice(0, 20))
    process.stderr.write(
      `invariant violated: ${row.instance} at ${row.slots} slots, ${row.policy}, seed ${row.seed}: ${row.violations[0]}\n`,
    );
  if (broken.length > 0) process.exitCode = 1;
}

export function parseSlots(text: string): number[] {
  const values = text.split(',').map((part) => part.trim());
  const slots: number[] = [];
  for (const value of values) {
    const n = Number(value);
    if (value === '' || !Number.isInteger(n) || n < 1 || n > MAX_SLOTS)
      throw new InputError(
        '--slots',
        `"${value}" is not a whole number of slots from 1 to ${MAX_SLOTS} (in "${text}")`,
        `write --slots ${DEFAULT_WORKFLOW_SLOTS}`,
      );
    if (slots.includes(n))
      throw new InputError('--slots', `${n} is listed twice (in "${text}")`, `list each slot count once`);
    slots.push(n);
  }
  return slots;
}

export function parsePolicies(text: string | undefined): WorkflowPolicy[] {
  if (text === undefined) return [...DEFAULT_WORKFLOW_POLICIES];
  const known: readonly string[] = WORKFLOW_POLICIES;
  const policies: WorkflowPolicy[] = [];
  for (const name of text.split(',').map((part) => part.trim())) {
    if (!known.includes(name))
      throw new InputError(
        '--policy',
        `"${name}" is not a workflow policy`,
        `use any of ${DEFAULT_WORKFLOW_POLICIES.join(', ')}, e.g. --policy adaptive,list`,
      );
    if (policies.includes(name as WorkflowPolicy))
      throw new InputError('--policy', `${name} is listed twice (in "${text}")`, 'list each policy once');
    policies.push(name as WorkflowPolicy);
  }
  return policies;
}

/** `N`: seeds 0 … N−1 (seed 0 is the trace as recorded); a list such as `0,4,9`: those seeds. */
export function parseWorkflowSeeds(text: string): number[] {
  const fix = 'write --seeds 3 (seeds 0, 1, 2) or a list of seeds ≥ 0 such as --seeds 0,4,9';
  if (/^\s*\d+\s*$/.test(text)) {
    const count = Number(text);
    if (count < 1 || count > MAX_SEEDS)
      throw new InputError('--seeds', `${count} seeds: give from 1 to ${MAX_SEEDS}`, fix);
    return Array.from({ length: count }, (_, seed) => seed);
  }
  const seeds: number[] = [];
  for (const value of text.split(',').map((part) => part.trim())) {
    const seed = Number(value);
    if (value === '' || !Number.isSafeInteger(seed) || seed < 0)
      throw new InputError('--seeds', `"${value}" is not a seed (a whole number ≥ 0; in "${text}")`, fix);
    if (seeds.includes(seed)) throw new InputError('--seeds', `${seed} is listed twice (in "${text}")`, fix);
    seeds.push(seed);
  }
  if (seeds.length > MAX_SEEDS)
    throw new InputError('--seeds', `${seeds.length} seeds: give at most ${MAX_SEEDS}`, fix);
  return seeds;
}

export function parseColdStart(text: string): number {
  const value = Number(text);
  if (text.trim() === '' || !Number.isFinite(value) || value < 0 || value > MAX_COLD_START_MS)
    throw new InputError(
      '--cold-start-ms',
      `"${text}" is not a duration in ms from 0 to ${MAX_COLD_START_MS}`,
      `write --cold-start-ms ${DEFAULT_COLD_START_MS}`,
    );
  return value;
}

function seconds(ms: number): string {
  return (ms / 1000).toFixed(1);
}
