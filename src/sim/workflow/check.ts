import { lowerBoundMs, workflowBounds } from './bounds.js';
import type { Workflow } from './load.js';
import type { ReplayResult } from './replay.js';

/**
 * Invariant checkers for a workflow replay, kept apart from the replay (as a VOPR keeps its
 * checkers apart from the code under test): they read only the workflow and the per-task record.
 * Returns what is violated (empty: none), at most `limit` lines.
 *
 * - every task ran exactly once, for its runtime;
 * - no task started before all its parents ended;
 * - never more than `slots` tasks busy at once, and never two at once on one slot;
 * - the makespan is the last end and is ≥ the lower bound max(critical path, work ÷ slots);
 * - the cost adds up: held = busy + idle + starting, busy = the total work, held ≤ slots × makespan.
 */
export function checkReplay(workflow: Workflow, result: ReplayResult, limit = 10): string[] {
  const violations: string[] = [];
  const report = (message: string): boolean => violations.push(message) >= limit;
  const { tasks } = workflow;
  const { taskStartMs: start, taskEndMs: end, taskSlot: slotOf } = result;
  const slack = 1e-9 * Math.max(1, result.makespanMs) + 1e-6;
  let lastEndMs = 0;
  for (let i = 0; i < tasks.length; i++) {
    const task = tasks[i]!;
    if (result.taskRuns[i] !== 1 && report(`task ${task.id} ran ${result.taskRuns[i]} times`)) return violations;
    if (!(Number.isFinite(start[i]) && Number.isFinite(end[i]) && slotOf[i]! >= 0 && slotOf[i]! < result.slots)) {
      if (report(`task ${task.id} has no start, end or slot`)) return violations;
      continue;
    }
    if (
      Math.abs(end[i]! - start[i]! - task.runtimeMs) > slack &&
      report(`task ${task.id} ran ${end[i]! - start[i]!} ms, not ${task.runtimeMs} ms`)
    )
      return violations;
    for (const parent of task.parents) {
      if (
        start[i]! < end[parent]! &&
        report(
          `task ${task.id} started at ${start[i]} ms, before its parent ${tasks[parent]!.id} ended at ${end[parent]} ms`,
        )
      )
        return violations;
    }
    lastEndMs = Math.max(lastEndMs, end[i]!);
  }
  if (violations.length > 0) return violations;
  const concurrency = checkConcurrency(workflow, result);
  if (concurrency) report(concurrency);
  if (result.makespanMs !== lastEndMs) report(`makespan ${result.makespanMs} ms is not the last end, ${lastEndMs} ms`);
  const bounds = workflowBounds(workflow);
  const bound = lowerBoundMs(bounds, result.slots);
  if (result.makespanMs < bound - slack)
    report(`makespan ${result.makespanMs} ms is below the lower bound ${bound} ms`);
  const parts = result.busyMs + result.idleMs + result.startingMs;
  if (Math.abs(result.heldMs - parts) > slack)
    report(`held ${result.heldMs} ms ≠ busy + idle + starting = ${parts} ms`);
  if (Math.abs(result.busyMs - bounds.totalWorkMs) > slack * tasks.length)
    report(`busy ${result.busyMs} ms ≠ the total work ${bounds.totalWorkMs} ms`);
  if (result.heldMs > result.slots * result.makespanMs + slack)
    report(`held ${result.heldMs} ms > slots × makespan = ${result.slots * result.makespanMs} ms`);
  if (result.idleMs < -slack || result.startingMs < -slack) report('negative idle or starting time');
  return violations;
}

/** A sweep over starts and ends (an end before a start at the same instant); '' when fine. */
function checkConcurrency(workflow: Workflow, result: ReplayResult): string {
  const n = workflow.tasks.length;
  const { taskStartMs: start, taskEndMs: end, taskSlot: slotOf } = result;
  // Ties by end: a zero-runtime task that started with another on one slot ran before it.
  const byStart = Array.from({ length: n }, (_, i) => i).sort((a, b) => start[a]! - start[b]! || end[a]! - end[b]!);
  // Tasks of zero runtime hold no slot for any time: left out of the count (their end would precede their start).
  const lasting = byStart.filter((i) => end[i]! > start[i]!);
  const byEnd = [...lasting].sort((a, b) => end[a]! - end[b]! || a - b);
  let busy = 0;
  let e = 0;
  for (const i of lasting) {
    while (e < byEnd.length && end[byEnd[e]!]! <= start[i]!) {
      busy--;
      e++;
    }
    busy++;
    if (busy > result.slots) return `${busy} tasks busy at ${start[i]} ms on ${result.slots} slots`;
  }
  const lastEndOnSlot = new Float64Array(result.slots).fill(Number.NEGATIVE_INFINITY);
  const lastTaskOnSlot = new Int32Array(result.slots).fill(-1);
  for (const i of byStart) {
    const slot = slotOf[i]!;
    if (start[i]! < lastEndOnSlot[slot]!)
      return `tasks ${workflow.tasks[lastTaskOnSlot[slot]!]!.id} and ${workflow.tasks[i]!.id} overlap on slot ${slot}`;
    lastEndOnSlot[slot] = end[i]!;
    lastTaskOnSlot[slot] = i;
  }
  return '';
}
