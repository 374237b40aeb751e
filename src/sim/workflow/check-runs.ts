import type { SimRun } from '../environment/sim-provider.js';
import type { Workflow } from './load.js';

/**
 * Invariants of a workflow run through the orchestrator, checked apart from the code under test (as a VOPR keeps its
 * checkers apart): every task recorded exactly once and for its runtime, none before its parents ended, never more
 * than `slots` running at once, never two at once on one swarmlet. Returns the violations (empty: none), at most
 * `limit`.
 */
export function checkRuns(workflow: Workflow, runs: readonly SimRun[], slots: number, limit = 10): string[] {
  const violations: string[] = [];
  const report = (message: string): boolean => violations.push(message) >= limit;
  const byLabel = new Map<string, SimRun[]>();
  for (const run of runs) byLabel.set(run.label, [...(byLabel.get(run.label) ?? []), run]);
  const slack = 1e-6;
  for (const task of workflow.tasks) {
    const got = byLabel.get(task.id) ?? [];
    if (got.length !== 1) {
      if (report(`task ${task.id} ran ${got.length} times`)) return violations;
      continue;
    }
    const run = got[0]!;
    if (Math.abs(run.endMs - run.startMs - task.runtimeMs) > slack && report(`task ${task.id} ran for the wrong time`))
      return violations;
    for (const parent of task.parents) {
      const parentRun = byLabel.get(workflow.tasks[parent]!.id)?.[0];
      if (parentRun && run.startMs < parentRun.endMs - slack && report(`task ${task.id} started before its parent`))
        return violations;
    }
  }
  return [...violations, ...checkOverlaps(runs, slots, limit - violations.length)];
}

/** At most `slots` runs at any instant, and none overlapping on one swarmlet. */
function checkOverlaps(runs: readonly SimRun[], slots: number, limit: number): string[] {
  const violations: string[] = [];
  // Ends before starts at one instant: a swarmlet freed at t may start its next task at t.
  // Zero-length runs (tasks measured at 0 ms) hold nothing.
  const edges = runs
    .filter((run) => run.endMs > run.startMs)
    .flatMap((run) => [
      { atMs: run.startMs, delta: 1, run },
      { atMs: run.endMs, delta: -1, run },
    ]);
  edges.sort((a, b) => a.atMs - b.atMs || a.delta - b.delta);
  let running = 0;
  const busy = new Set<string>();
  for (const edge of edges) {
    running += edge.delta;
    if (edge.delta < 0) {
      busy.delete(edge.run.swarmletId);
      continue;
    }
    if (busy.has(edge.run.swarmletId)) violations.push(`swarmlet ${edge.run.swarmletId} ran two tasks at once`);
    busy.add(edge.run.swarmletId);
    if (running > slots) violations.push(`${running} tasks running at ${edge.atMs} ms with ${slots} slots`);
    if (violations.length >= limit) break;
  }
  return violations;
}
