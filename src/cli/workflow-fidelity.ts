import { availableParallelism } from 'node:os';
import type { RunSummary } from '../runtime/run-report.js';
import type { Workflow } from '../sim/workflow/load.js';
import { replayThroughOrchestrator } from '../sim/workflow/orchestrator-replay.js';
import type { RunPlan } from './run-options.js';

/** The simulator's makespan for what `run --workflow` just ran: same policy, same slots, the cold start measured. */
export interface SimulatedRun {
  readonly realMs: number;
  readonly simulatedMs: number;
  /** Real ÷ simulated. */
  readonly ratio: number;
  readonly coldStartMs: number;
  readonly slots: number;
}

/** Replays the scaled workflow in virtual time with the cold start this run measured. */
export async function simulateLikeRun(workflow: Workflow, plan: RunPlan, summary: RunSummary): Promise<SimulatedRun> {
  const timeScale = plan.workflow!.timeScale;
  const scaled: Workflow = {
    ...workflow,
    tasks: workflow.tasks.map((t) => ({ ...t, runtimeMs: t.runtimeMs * timeScale })),
  };
  const starts = summary.taskTypes.filter((type) => type.coldStarts > 0);
  const coldStartMs =
    starts.length === 0 ? 100 : starts.reduce((sum, type) => sum + type.meanColdStartMs, 0) / starts.length;
  const slots = plan.swarm.maxSwarmlets ?? availableParallelism();
  const policy = plan.swarm.policy === undefined || plan.swarm.policy === 'adaptive' ? 'adaptive' : plan.swarm.policy;
  const replay = await replayThroughOrchestrator(scaled, {
    slots,
    policy: policy as 'adaptive' | { static: Record<string, number> },
    model: { coldStartMs, loadMs: coldStartMs / 4, stopMs: 5 },
  });
  const realMs = summary.jobs.at(-1)?.wallMs ?? summary.wallMs; // submit → outcome, as the simulator measures
  return { realMs, simulatedMs: replay.makespanMs, ratio: realMs / replay.makespanMs, coldStartMs, slots };
}

export function simulatedLine(run: SimulatedRun): string {
  return `simulated: ${(run.simulatedMs / 1000).toFixed(2)} s on ${run.slots} slots with the ${Math.round(run.coldStartMs)} ms cold start measured here; real ÷ simulated ${run.ratio.toFixed(2)}×`;
}
