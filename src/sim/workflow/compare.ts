import { runBaseline, WORKFLOW_BASELINES, type WorkflowBaseline } from './baselines.js';
import { lowerBoundMs, workflowBounds } from './bounds.js';
import { checkReplay } from './check.js';
import { checkRuns } from './check-runs.js';
import type { Workflow } from './load.js';
import { replayThroughOrchestrator } from './orchestrator-replay.js';
import { perturbRuntimes } from './perturb.js';

/**
 * `swarmlet sim --workflow`'s engine: every instance × slot count × seed × policy, with `adaptive` through the real
 * orchestrator on a virtual clock and the baselines through their pure replays, on the same perturbed workflow per
 * seed. Each row carries its ratios to the lower bound and to `list` (the clairvoyant yardstick, always run).
 */
export const WORKFLOW_POLICIES = ['adaptive', ...WORKFLOW_BASELINES] as const;
export type WorkflowPolicy = (typeof WORKFLOW_POLICIES)[number];
export const DEFAULT_WORKFLOW_POLICIES: readonly WorkflowPolicy[] = [
  'adaptive',
  'static-equal',
  'static-by-work',
  'hpa',
  'ray',
  'list',
];
/** Morphing actions in the order tables and CSV columns list them; kinds outside it follow in name order. */
export const ACTION_KINDS = ['replicate', 'specialize', 'consolidate', 'deprovision', 'prewarm', 'reclaim'] as const;

export interface CompareOptions {
  readonly slots: readonly number[];
  /** `list` is added when missing: every ratio to list needs it. */
  readonly policies: readonly WorkflowPolicy[];
  readonly seeds: readonly number[];
  /** A swarmlet's start, and a change of type, cost this much for every policy. */
  readonly coldStartMs: number;
  /** Run the invariant checkers on every replay (a violation is reported in its row). */
  readonly check: boolean;
  readonly onInstance?: (progress: InstanceProgress) => void;
}

export interface InstanceProgress {
  readonly phase: 'start' | 'done';
  /** 1-based. */
  readonly index: number;
  readonly total: number;
  readonly workflow: Workflow;
  /** Wall time this instance took (every slot count, seed and policy), and the adaptive replays' share; on `done`. */
  readonly wallMs?: number;
  readonly adaptiveWallMs?: number;
  /** Timers the adaptive replays fired in virtual time. */
  readonly adaptiveEvents?: number;
}

export interface ComparisonRow {
  readonly instance: string;
  readonly family: string;
  readonly tasks: number;
  readonly slots: number;
  readonly seed: number;
  readonly policy: WorkflowPolicy;
  readonly makespanMs: number;
  /** max(critical path, total work ÷ slots) of this seed's workflow. */
  readonly lowerBoundMs: number;
  readonly makespanOverLowerBound: number;
  readonly makespanOverList: number;
  /** Swarmlet time held (busy + idle + starting), ms: the cost. */
  readonly heldMs: number;
  readonly heldOverList: number;
  readonly coldStarts: number;
  /** Morphing actions by kind (adaptive; empty for the baselines, which do not morph through actions). */
  readonly actions: Readonly<Record<string, number>>;
  /** What the invariant checkers found (empty: none, or not checked). */
  readonly violations: readonly string[];
}

export interface ComparisonResult {
  readonly rows: readonly ComparisonRow[];
  readonly policies: readonly WorkflowPolicy[];
  /** Wall time of every adaptive replay together, and the timers they fired. */
  readonly adaptiveWallMs: number;
  readonly adaptiveEvents: number;
}

type Measured = Omit<ComparisonRow, 'makespanOverLowerBound' | 'makespanOverList' | 'heldOverList'>;

export async function compareWorkflows(
  workflows: readonly Workflow[],
  options: CompareOptions,
): Promise<ComparisonResult> {
  const policies = options.policies.includes('list') ? [...options.policies] : [...options.policies, 'list' as const];
  const rows: ComparisonRow[] = [];
  let adaptiveWallMs = 0;
  let adaptiveEvents = 0;
  for (const [k, recorded] of workflows.entries()) {
    const progress = { index: k + 1, total: workflows.length, workflow: recorded };
    options.onInstance?.({ ...progress, phase: 'start' });
    const startedMs = performance.now();
    let instanceAdaptiveMs = 0;
    let instanceEvents = 0;
    for (const seed of options.seeds) {
      const workflow = perturbRuntimes(recorded, seed);
      const bounds = workflowBounds(workflow);
      for (const slots of options.slots) {
        const measured: Measured[] = [];
        for (const policy of policies) {
          const base = { instance: recorded.name, family: recorded.family, tasks: recorded.tasks.length, slots, seed };
          const boundMs = lowerBoundMs(bounds, slots);
          if (policy !== 'adaptive') {
            measured.push({ ...base, ...baselineRun(policy, workflow, slots, options), lowerBoundMs: boundMs });
            continue;
          }
          const run = await adaptiveRun(workflow, slots, options);
          instanceAdaptiveMs += run.wallMs;
          instanceEvents += run.events;
          measured.push({ ...base, ...run.row, lowerBoundMs: boundMs });
        }
        rows.push(...withRatios(measured));
      }
    }
    adaptiveWallMs += instanceAdaptiveMs;
    adaptiveEvents += instanceEvents;
    options.onInstance?.({
      ...progress,
      phase: 'done',
      wallMs: performance.now() - startedMs,
      adaptiveWallMs: instanceAdaptiveMs,
      adaptiveEvents: instanceEvents,
    });
  }
  return { rows, policies, adaptiveWallMs, adaptiveEvents };
}

type RunFields = Pick<Measured, 'policy' | 'makespanMs' | 'heldMs' | 'coldStarts' | 'actions' | 'violations'>;

function baselineRun(name: WorkflowBaseline, workflow: Workflow, slots: number, options: CompareOptions): RunFields {
  const result = runBaseline(name, workflow, { slots, coldStartMs: options.coldStartMs });
  return {
    policy: name,
    makespanMs: result.makespanMs,
    heldMs: result.heldMs,
    coldStarts: result.coldStarts,
    actions: {},
    violations: options.check ? checkReplay(workflow, result) : [],
  };
}

async function adaptiveRun(workflow: Workflow, slots: number, options: CompareOptions) {
  // The same price as the baselines pay: a start and a change of type each cost one cold start.
  const model = { coldStartMs: options.coldStartMs, loadMs: options.coldStartMs, stopMs: 0 };
  const result = await replayThroughOrchestrator(workflow, { slots, policy: 'adaptive', model });
  const row: RunFields = {
    policy: 'adaptive',
    makespanMs: result.makespanMs,
    heldMs: result.heldMs,
    coldStarts: result.coldStarts,
    actions: orderedActions(result.actions),
    violations: options.check ? checkRuns(workflow, result.ran, slots) : [],
  };
  return { row, wallMs: result.wallMs, events: result.events };
}

function withRatios(measured: readonly Measured[]): ComparisonRow[] {
  const list = measured.find((row) => row.policy === 'list')!;
  return measured.map((row) => ({
    ...row,
    makespanOverLowerBound: ratio(row.makespanMs, row.lowerBoundMs),
    makespanOverList: ratio(row.makespanMs, list.makespanMs),
    heldOverList: ratio(row.heldMs, list.heldMs),
  }));
}

/** A workflow of measured zeros has a zero bound and a zero makespan: 0 ÷ 0 is read as 1 (no worse). */
function ratio(top: number, bottom: number): number {
  if (bottom === 0) return top === 0 ? 1 : Number.POSITIVE_INFINITY;
  return top / bottom;
}

function orderedActions(actions: Readonly<Record<string, number>>): Record<string, number> {
  const known: readonly string[] = ACTION_KINDS;
  const kinds = Object.keys(actions)
    .filter((kind) => (actions[kind] ?? 0) > 0)
    .sort((a, b) => rank(known, a) - rank(known, b) || (a < b ? -1 : a > b ? 1 : 0));
  return Object.fromEntries(kinds.map((kind) => [kind, actions[kind]!]));
}

function rank(known: readonly string[], kind: string): number {
  const at = known.indexOf(kind);
  return at < 0 ? known.length : at;
}
