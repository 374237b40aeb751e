import type { Workflow } from './load.js';

/**
 * The physical limits of any schedule of a workflow on identical one-core slots: no schedule beats
 * its critical path (the longest chain of dependent runtimes) nor its total work spread evenly over
 * the slots. Cold starts are not in the bound: they are a cost of the schedule, not of the work.
 */
export interface WorkflowBounds {
  readonly criticalPathMs: number;
  readonly totalWorkMs: number;
  /** Per task: the longest path from its start to the workflow's end, own runtime included (HEFT's upward rank). */
  readonly upwardRankMs: Float64Array;
}

export function workflowBounds(workflow: Workflow): WorkflowBounds {
  const { tasks, order } = workflow;
  const upwardRankMs = new Float64Array(tasks.length);
  let criticalPathMs = 0;
  let totalWorkMs = 0;
  // Children come after their parents in `order`, so walking it backwards sees every child first.
  for (let k = order.length - 1; k >= 0; k--) {
    const i = order[k]!;
    const task = tasks[i]!;
    let longestAfter = 0;
    for (const child of task.children) longestAfter = Math.max(longestAfter, upwardRankMs[child]!);
    upwardRankMs[i] = task.runtimeMs + longestAfter;
    criticalPathMs = Math.max(criticalPathMs, upwardRankMs[i]!);
    totalWorkMs += task.runtimeMs;
  }
  return { criticalPathMs, totalWorkMs, upwardRankMs };
}

/** max(critical path, total work ÷ slots): what no schedule on `slots` one-core slots can beat. */
export function lowerBoundMs(bounds: WorkflowBounds, slots: number): number {
  if (!(Number.isInteger(slots) && slots >= 1)) throw new RangeError(`slots = ${slots}: use a whole number ≥ 1`);
  return Math.max(bounds.criticalPathMs, bounds.totalWorkMs / slots);
}
