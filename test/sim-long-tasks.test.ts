import { describe, expect, it } from 'vitest';
import { checkRuns } from '../src/sim/workflow/check-runs.js';
import { parseWorkflow, type Workflow } from '../src/sim/workflow/load.js';
import { replayThroughOrchestrator, type OrchestratorReplayResult } from '../src/sim/workflow/orchestrator-replay.js';

// Long micro-tasks through the real orchestrator on virtual time, no hints: the traps the shared workflows showed
// (issue 13). A swarmlet switching type while it runs a long micro-task serves the new type only when that ends.
const model = { coldStartMs: 100, loadMs: 20, stopMs: 5 };

interface Spec {
  readonly id: string;
  readonly seconds: number;
  readonly parents?: readonly string[];
}

/** A DAG in WfFormat 1.5, parsed as the shared traces are: a task's type is its id up to `_ID`. */
function dag(name: string, tasks: readonly Spec[]): Workflow {
  return parseWorkflow(
    {
      schemaVersion: '1.5',
      workflow: {
        specification: { tasks: tasks.map((t) => ({ id: t.id, name: t.id, parents: [...(t.parents ?? [])] })) },
        execution: { tasks: tasks.map((t) => ({ id: t.id, runtimeInSeconds: t.seconds })) },
      },
    },
    `${name}.json`,
  );
}

function runOf(result: OrchestratorReplayResult, label: string) {
  const run = result.ran.find((r) => r.label === label);
  if (!run) throw new Error(`${label} did not run`);
  return run;
}

describe('long micro-tasks, no hints', () => {
  it('a new type takes the swarmlet that frees up first, not the one that has just begun a long micro-task', async () => {
    // 2 slots. long 1 (10 s) and long 2 (20 s) start first; when long 1 ends, its swarmlet takes long 3 (100 s) and
    // short 1 becomes ready with both swarmlets busy. Choosing the least used one picked the swarmlet that had just
    // begun long 3, and short 1 (1 s) waited until 110 s; the one running long 2 is free at 20 s.
    const workflow = dag('long-then-short', [
      { id: 'long_ID1', seconds: 10 },
      { id: 'long_ID2', seconds: 20 },
      { id: 'long_ID3', seconds: 100 },
      { id: 'short_ID1', seconds: 1, parents: ['long_ID1'] },
      { id: 'short_ID2', seconds: 1, parents: ['long_ID2'] },
      { id: 'short_ID3', seconds: 1, parents: ['long_ID3'] },
    ]);
    const result = await replayThroughOrchestrator(workflow, { slots: 2, policy: 'adaptive', model });
    expect(checkRuns(workflow, result.ran, 2)).toEqual([]);
    const longTwo = runOf(result, 'long_ID2');
    expect(runOf(result, 'short_ID1').startMs).toBeLessThan(longTwo.endMs + 1_000);
    expect(runOf(result, 'short_ID2').startMs).toBeLessThan(longTwo.endMs + 2_500);
  });

  it('idle swarmlets of a type whose work is all running serve a queued type at once', async () => {
    // 8 slots, 8 project tasks: two end at 30 s, six run for 100 s. 20 diff tasks (1.5 s each) wait on the two. The
    // project type has nothing queued, so its two idle swarmlets cost it nothing; counting its six running micro-tasks
    // as work it would miss (~26 s per swarmlet) left one of them idle while diff drained on the other (until 60 s).
    const tasks: Spec[] = [
      { id: 'project_ID1', seconds: 30 },
      { id: 'project_ID2', seconds: 30 },
      ...Array.from({ length: 6 }, (_, i) => ({ id: `project_ID${i + 3}`, seconds: 100 })),
      ...Array.from({ length: 20 }, (_, i) => ({
        id: `diff_ID${i + 1}`,
        seconds: 1.5,
        parents: [`project_ID${1 + (i % 2)}`],
      })),
    ];
    const workflow = dag('idle-beside-long', tasks);
    const result = await replayThroughOrchestrator(workflow, { slots: 8, policy: 'adaptive', model });
    expect(checkRuns(workflow, result.ran, 8)).toEqual([]);
    const diffs = result.ran.filter((r) => r.label.startsWith('diff_ID'));
    const lastDiffEndMs = Math.max(...diffs.map((r) => r.endMs));
    expect(new Set(diffs.map((r) => r.swarmletId)).size).toBeGreaterThanOrEqual(2);
    expect(lastDiffEndMs).toBeLessThan(50_000);
  });

  it('a type waiting behind a switch that outlives its prediction takes the swarmlet that goes idle', async () => {
    // 2 slots. a 1 (10 s) and a 3 (300 s) start; when a 1 ends, its swarmlet takes a 2 (20 s) and b 1 becomes ready.
    // At 10 s a is predicted at 10 s, so the swarmlet running a 3 looks due and is asked to switch, but runs 290 s
    // more. When a 2 ends at 30 s its swarmlet goes idle: b 1 must not wait for a 3 (counting the pending switch as
    // b's swarmlet, it waited until 300 s).
    const workflow = dag('switch-behind-long', [
      { id: 'a_ID1', seconds: 10 },
      { id: 'a_ID3', seconds: 300 },
      { id: 'a_ID2', seconds: 20, parents: ['a_ID1'] },
      { id: 'b_ID1', seconds: 1, parents: ['a_ID1'] },
      { id: 'b_ID3', seconds: 1, parents: ['a_ID3'] },
    ]);
    const result = await replayThroughOrchestrator(workflow, { slots: 2, policy: 'adaptive', model });
    expect(checkRuns(workflow, result.ran, 2)).toEqual([]);
    expect(runOf(result, 'b_ID1').startMs).toBeLessThan(runOf(result, 'a_ID2').endMs + 1_000);
  });

  it('the type a join waits on is warm when the last micro-task ahead of it ends', async () => {
    // split → four work tasks (5–5.6 s) → join. Started when the join became ready, its swarmlet cost a tick and a
    // cold start after the last work task (200 ms of a 6.4 s run); started while that one runs, none.
    const workflow = dag('join-after-work', [
      { id: 'split_ID1', seconds: 0.1 },
      ...[5, 5.2, 5.4, 5.6].map((seconds, i) => ({ id: `work_ID${i + 1}`, seconds, parents: ['split_ID1'] })),
      { id: 'join_ID1', seconds: 0.1, parents: ['work_ID1', 'work_ID2', 'work_ID3', 'work_ID4'] },
    ]);
    const result = await replayThroughOrchestrator(workflow, { slots: 8, policy: 'adaptive', model });
    expect(checkRuns(workflow, result.ran, 8)).toEqual([]);
    const lastWorkEndMs = Math.max(...result.ran.filter((r) => r.label.startsWith('work_')).map((r) => r.endMs));
    expect(runOf(result, 'join_ID1').startMs - lastWorkEndMs).toBeLessThan(50);
    expect(result.actions.prewarm).toBe(1);
  });
});
