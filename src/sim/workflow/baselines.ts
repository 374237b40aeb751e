import { InputError } from '../../core/errors.js';
import { hpaScheduler } from './hpa-scheduler.js';
import { listScheduler } from './list-scheduler.js';
import type { Workflow } from './load.js';
import { rayScheduler } from './ray-scheduler.js';
import { DEFAULT_COLD_START_MS, Replay, type ReplayResult, type ReplayScheduler } from './replay.js';
import { byWorkSplit, equalSplit, staticScheduler } from './static-schedulers.js';

/** The baselines an adaptive policy is compared with on a workflow; each file states its published rule. */
export const WORKFLOW_BASELINES = ['list', 'static-equal', 'static-by-work', 'hpa', 'ray'] as const;
export type WorkflowBaseline = (typeof WORKFLOW_BASELINES)[number];

export interface BaselineOptions {
  readonly slots: number;
  readonly coldStartMs?: number;
}

export function baselineScheduler(name: WorkflowBaseline, workflow: Workflow, slots: number): ReplayScheduler {
  switch (name) {
    case 'list':
      return listScheduler(workflow);
    case 'static-equal':
      return staticScheduler(workflow, name, equalSplit(workflow, slots));
    case 'static-by-work':
      return staticScheduler(workflow, name, byWorkSplit(workflow, slots));
    case 'hpa':
      return hpaScheduler(workflow);
    case 'ray':
      return rayScheduler(workflow);
    default:
      throw new InputError(
        'policy',
        `${JSON.stringify(name)} is not a workflow baseline`,
        `use one of ${WORKFLOW_BASELINES.join(', ')}`,
      );
  }
}

/** One replay of `workflow` under a baseline, on a fresh virtual clock. */
export function runBaseline(name: WorkflowBaseline, workflow: Workflow, options: BaselineOptions): ReplayResult {
  const replay = new Replay(workflow, {
    slots: options.slots,
    coldStartMs: options.coldStartMs ?? DEFAULT_COLD_START_MS,
  });
  return replay.run(baselineScheduler(name, workflow, options.slots));
}
