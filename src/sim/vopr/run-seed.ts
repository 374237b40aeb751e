import { seededRng, type Rng } from '../../core/clock.js';
import type { SimFaults, SimProvider } from '../environment/sim-provider.js';
import type { VirtualEnvironment } from '../environment/virtual-environment.js';
import { lowerBoundMs, workflowBounds } from '../workflow/bounds.js';
import { checkRuns } from '../workflow/check-runs.js';
import type { Workflow } from '../workflow/load.js';
import { runThroughOrchestrator, type OrchestratorRun } from '../workflow/orchestrator-replay.js';
import { randomWorkflow } from './random-workflow.js';

/**
 * Deterministic simulation testing in the style of TigerBeetle's VOPR and FoundationDB's simulator: one seed makes a
 * workload (a random DAG), a pool size, a policy and a schedule of faults (swarmlets killed at random times, results
 * that come back late); the real orchestrator runs it on virtual time; separate checkers judge what happened. The same
 * seed replays the same run, so a failure is reproduced by its seed alone.
 */
export interface SeedVerdict {
  readonly seed: number;
  /** What the seed made (for the report of a failure). */
  readonly scenario: string;
  readonly violations: readonly string[];
  readonly kills: number;
  readonly events: number;
}

const MAX_ATTEMPTS = 25;
const MODEL = { coldStartMs: 100, loadMs: 20, stopMs: 5 };

export async function runSeed(seed: number, maxTasks = 80): Promise<SeedVerdict> {
  const rng = seededRng(seed);
  const workflow = randomWorkflow(rng, `vopr-${seed}`, maxTasks);
  const slots = 1 + Math.floor(rng.next() * 8);
  // A fixed split needs a slot per type (Swarm.start refuses one that does not fit).
  const fixed = rng.next() < 0.2 && slots >= workflow.types.length;
  const policy = fixed ? { static: equalSplit(workflow.types, slots) } : ('adaptive' as const);
  // Each serving swarmlet is killed at random, often, but not so often that a long micro-task could never finish (it
  // would die on every attempt: correct, and not what a seed should test): it lives ≥ 3 × the longest runtime on
  // average.
  const longestMs = Math.max(...workflow.tasks.map((task) => task.runtimeMs));
  const killEveryMs = rng.next() < 0.3 ? 0 : Math.max(200 + rng.next() * 5_000, 3 * longestMs);
  const lateResults = rng.next() < 0.5;
  let kills = 0;
  const bounds = workflowBounds(workflow);
  // Liveness: generous, yet far below forever (a stuck loop shows as the job still pending).
  const maxVirtualMs = 20 * lowerBoundMs(bounds, slots) + 120_000;
  const run = await runThroughOrchestrator(workflow, {
    slots,
    policy,
    model: MODEL,
    maxAttempts: MAX_ATTEMPTS,
    maxVirtualMs,
    faults: ({ environment, provider }) => {
      if (killEveryMs > 0) scheduleKills(environment, provider, seededRng(seed ^ 0x5eed), killEveryMs, () => kills++);
      return lateResults ? lateFaults(seededRng(seed ^ 0x1a7e)) : {};
    },
  });
  const scenario = `${workflow.tasks.length} tasks of ${workflow.types.length} types, ${slots} slots, ${typeof policy === 'string' ? policy : 'static equal'}, kills ${killEveryMs > 0 ? `each swarmlet every ~${Math.round(killEveryMs)} ms` : 'none'}, late results ${lateResults ? 'yes' : 'no'}`;
  return {
    seed,
    scenario,
    violations: checkRun(workflow, run, slots),
    kills,
    events: run.environment.fired,
  };
}

/** Every checker over one run; each reads only the workflow and what the run recorded. */
export function checkRun(workflow: Workflow, run: OrchestratorRun, slots: number): string[] {
  if (run.outcome === 'pending') return [`the job did not finish by ${Math.round(run.endMs)} ms (virtual)`];
  if (run.outcome instanceof Error) return [`the job failed: ${run.outcome.message}`];
  const violations = [...checkOutputs(workflow, run.output), ...run.provider.violations];
  if (run.provider.maxServing > slots)
    violations.push(`${run.provider.maxServing} swarmlets served at once with ${slots} slots`);
  const done = run.summary.taskTypes.reduce((sum, type) => sum + type.done, 0);
  if (done !== workflow.tasks.length) violations.push(`${done} micro-tasks recorded done, of ${workflow.tasks.length}`);
  // Killed runs never end; the runs that ended are the ones checked for order and overlap.
  const lastRuns = new Map(run.provider.ran.map((r) => [r.label, r]));
  violations.push(...checkRuns(workflow, [...lastRuns.values()], slots));
  return violations;
}

/** The job's output is each sink's (a task nothing depends on) own output, once, and nothing else. */
function checkOutputs(workflow: Workflow, output: unknown): string[] {
  const violations: string[] = [];
  const record = (output ?? {}) as Record<string, unknown>;
  const sinks = workflow.tasks.filter((task) => task.children.length === 0);
  const keys = Object.keys(record);
  if (keys.length !== sinks.length) violations.push(`the output has ${keys.length} entries for ${sinks.length} sinks`);
  for (const task of sinks)
    if (record[task.id] !== task.id) violations.push(`sink ${task.id}'s output is ${JSON.stringify(record[task.id])}`);
  return violations.slice(0, 10);
}

function equalSplit(types: readonly string[], slots: number): Record<string, number> {
  return Object.fromEntries(
    types.map((type, i) => [type, Math.max(1, Math.floor(slots / types.length) + (i < slots % types.length ? 1 : 0))]),
  );
}

/** Kills serving swarmlets at random, each at exponential intervals around `meanMs` (a Poisson process each). */
function scheduleKills(
  environment: VirtualEnvironment,
  provider: SimProvider,
  rng: Rng,
  meanMs: number,
  counted: () => void,
): void {
  // The next kill of any of n swarmlets comes n times as soon; re-drawn after each (memoryless).
  const next = () =>
    environment.timers.after((-Math.log(1 - rng.next()) * meanMs) / Math.max(1, provider.serving().length), () => {
      const serving = provider.serving();
      if (serving.length > 0) {
        provider.kill(serving[Math.floor(rng.next() * serving.length)]!, 'killed by the VOPR');
        counted();
      }
      next();
    });
  next();
}

function lateFaults(rng: Rng): SimFaults {
  return { resultDelayMs: () => (rng.next() < 0.2 ? rng.next() * 300 : 0) };
}
