import { describe, expect, it } from 'vitest';
import { parseWorkflow, type Workflow } from '../src/sim/workflow/load.js';
import { checkRuns } from '../src/sim/workflow/check-runs.js';
import { replayThroughOrchestrator, type OrchestratorReplayResult } from '../src/sim/workflow/orchestrator-replay.js';
import { ADAPTIVE_DEFAULTS } from '../src/decide/policies/adaptive.js';

// The morphing cases a new user met with no hints (issue 13), replayed through the real orchestrator on virtual time.
const model = { coldStartMs: 100, loadMs: 20, stopMs: 5 };

interface Stage {
  readonly type: string;
  readonly count: number;
  readonly ms: number;
  /** Each task of this stage depends on this many of the previous stage's (consecutive). */
  readonly fanIn: number;
}

/** A staged DAG in WfFormat 1.5, parsed as the shared traces are. */
function staged(name: string, stages: readonly Stage[]): Workflow {
  const spec: { id: string; name: string; parents: string[] }[] = [];
  const exec: { id: string; runtimeInSeconds: number }[] = [];
  let previous: string[] = [];
  for (const stage of stages) {
    const ids = Array.from(
      { length: stage.count },
      (_, i) => `${stage.type}_ID${String(spec.length + i).padStart(7, '0')}`,
    );
    ids.forEach((id, i) => {
      const parents = stage.fanIn === 0 ? [] : previous.slice(i * stage.fanIn, (i + 1) * stage.fanIn);
      spec.push({ id, name: id, parents });
      exec.push({ id, runtimeInSeconds: stage.ms / 1000 });
    });
    previous = ids;
  }
  return parseWorkflow(
    { schemaVersion: '1.5', workflow: { specification: { tasks: spec }, execution: { tasks: exec } } },
    `${name}.json`,
  );
}

/** Swarmlets that went back to a type they left within the cooldown (a swap for no net change). */
function reversals(result: OrchestratorReplayResult): number {
  const bySwarmlet = new Map<string, { taskType: string; atMs: number }[]>();
  for (const entry of result.served)
    bySwarmlet.set(entry.swarmletId, [...(bySwarmlet.get(entry.swarmletId) ?? []), entry]);
  let count = 0;
  for (const history of bySwarmlet.values())
    for (let i = 2; i < history.length; i++)
      if (
        history[i]!.taskType === history[i - 2]!.taskType &&
        history[i]!.atMs - history[i - 1]!.atMs < ADAPTIVE_DEFAULTS.cooldownMs
      )
        count++;
  return count;
}

/** Every split of `slots` among `types` with at least one each. */
function splits(types: readonly string[], slots: number): Record<string, number>[] {
  if (types.length === 1) return [{ [types[0]!]: slots }];
  const [first, ...rest] = types;
  const all: Record<string, number>[] = [];
  for (let n = 1; n <= slots - rest.length; n++)
    for (const split of splits(rest, slots - n)) all.push({ [first!]: n, ...split });
  return all;
}

describe('fetch → parse → render, 6 swarmlets, no hints', () => {
  const workflow = staged('fetch-parse-render', [
    { type: 'fetch', count: 24, ms: 100, fanIn: 0 },
    { type: 'parse', count: 24, ms: 150, fanIn: 1 },
    { type: 'render', count: 4, ms: 2_500, fanIn: 6 },
  ]);

  it('adaptive is within 1.1× the best static split, with no reversal', async () => {
    const adaptive = await replayThroughOrchestrator(workflow, { slots: 6, policy: 'adaptive', model });
    expect(checkRuns(workflow, adaptive.ran, 6)).toEqual([]);
    let best = Number.POSITIVE_INFINITY;
    for (const split of splits(workflow.types, 6)) {
      const fixed = await replayThroughOrchestrator(workflow, { slots: 6, policy: { static: split }, model });
      best = Math.min(best, fixed.makespanMs);
    }
    console.log(
      `fetch → parse → render: adaptive ${Math.round(adaptive.makespanMs)} ms, best static ${Math.round(best)} ms (${(adaptive.makespanMs / best).toFixed(2)}×), actions ${JSON.stringify(adaptive.actions)}, reversals ${reversals(adaptive)}`,
    );
    expect(adaptive.makespanMs).toBeLessThanOrEqual(1.1 * best);
    expect(reversals(adaptive)).toBe(0);
  });

  it('a new long type waits no longer than a cold start and two ticks once it is ready', async () => {
    const adaptive = await replayThroughOrchestrator(workflow, { slots: 6, policy: 'adaptive', model });
    const endOf = new Map(adaptive.ran.map((run) => [run.label, run.endMs]));
    const waits = adaptive.ran
      .filter((run) => run.label.startsWith('render'))
      .map((run) => {
        const task = workflow.tasks.find((t) => t.id === run.label)!;
        return run.startMs - Math.max(...task.parents.map((parent) => endOf.get(workflow.tasks[parent]!.id)!));
      });
    console.log(`render waits after ready: ${waits.map((ms) => Math.round(ms)).join(', ')} ms`);
    for (const waitMs of waits) expect(waitMs).toBeLessThanOrEqual(model.coldStartMs + 2 * 100);
  });
});
