import { describe, expect, it } from 'vitest';
import { loadWorkflows } from '../src/sim/workflow/load.js';
import { checkRuns } from '../src/sim/workflow/check-runs.js';
import { replayThroughOrchestrator } from '../src/sim/workflow/orchestrator-replay.js';

// The real orchestrator (embedded runtime's loop, dispatcher, pool and adaptive policy) on a virtual clock with
// simulated swarmlets, over workflow fixtures cut from ../shared/traces/wfcommons.
const FIXTURES = 'test/fixtures/wfcommons';
const model = { coldStartMs: 100, loadMs: 20, stopMs: 5 };

describe('a workflow through the orchestrator in virtual time', async () => {
  const workflows = await loadWorkflows(FIXTURES);

  it.each(workflows.map((workflow) => [workflow.name, workflow] as const))(
    '%s: every task once, for its runtime, after its parents, within the slots',
    async (_name, workflow) => {
      for (const slots of [4, 16]) {
        const result = await replayThroughOrchestrator(workflow, { slots, policy: 'adaptive', model });
        expect(checkRuns(workflow, result.ran, slots)).toEqual([]);
        expect(result.makespanMs).toBeGreaterThanOrEqual(result.lowerBoundMs);
        expect(result.coldStarts).toBeGreaterThan(0);
      }
    },
  );

  it('is deterministic: the same workflow and options give the same schedule, bill and actions', async () => {
    // Every result but the wall time, twice in one process: nothing a replay leaves behind (a cache, a counter) may
    // change the next one. bench/sim-digest.ts compares the same fields across code changes.
    const workflow = workflows.find((w) => w.family === 'srasearch')!;
    const split = Object.fromEntries(workflow.types.map((type) => [type, 2]));
    for (const policy of ['adaptive', { static: split }] as const) {
      const replay = async () => {
        const { wallMs: _wallMs, ...result } = await replayThroughOrchestrator(workflow, { slots: 8, policy, model });
        return result;
      };
      const [a, b] = [await replay(), await replay()];
      expect(a.ran.length).toBe(workflow.tasks.length);
      expect(b).toEqual(a);
    }
  });

  it('runs a fixed split as given', async () => {
    const workflow = workflows.find((w) => w.family === 'srasearch')!;
    const split = Object.fromEntries(workflow.types.map((type) => [type, 1]));
    const result = await replayThroughOrchestrator(workflow, {
      slots: workflow.types.length,
      policy: { static: split },
      model,
    });
    expect(checkRuns(workflow, result.ran, workflow.types.length)).toEqual([]);
    expect(result.coldStarts).toBe(workflow.types.length);
  });
});
