import { describe, expect, it } from 'vitest';
import { seededRng } from '../src/core/clock.js';
import { randomWorkflow } from '../src/sim/vopr/random-workflow.js';
import { runSeed } from '../src/sim/vopr/run-seed.js';
import { checkRuns } from '../src/sim/workflow/check-runs.js';

// Deterministic simulation testing (src/sim/vopr): each seed is a random DAG, pool, policy and fault schedule run
// through the real orchestrator on virtual time. `npm run vopr -- --seeds 10000` runs many more.
const SEEDS = 300;

describe('VOPR', () => {
  it(`${SEEDS} seeds: every sink's output once, every micro-task done once, DAG order, slots, loaded types`, async () => {
    const failed: string[] = [];
    let kills = 0;
    for (let seed = 1; seed <= SEEDS; seed++) {
      const verdict = await runSeed(seed);
      kills += verdict.kills;
      if (verdict.violations.length > 0)
        failed.push(`seed ${seed} (${verdict.scenario}): ${verdict.violations.slice(0, 3).join('; ')}`);
    }
    expect(failed).toEqual([]);
    expect(kills).toBeGreaterThan(SEEDS); // the fault schedule did run
  });

  it('replays a seed exactly', async () => {
    const [a, b] = [await runSeed(42), await runSeed(42)];
    expect(b).toEqual(a);
    expect((await runSeed(43)).scenario).not.toBe(a.scenario);
  });

  it('its checkers see a task started before its parent ended, and more running than slots', () => {
    const workflow = randomWorkflow(seededRng(7), 'checked', 30);
    const child = workflow.tasks.find((task) => task.parents.some((p) => workflow.tasks[p]!.runtimeMs > 0))!;
    // Every task from 0 on its own swarmlet: the child overlaps its parent, and all overlap each other.
    const runs = workflow.tasks.map((task, i) => ({
      label: task.id,
      swarmletId: `s${i}`,
      startMs: 0,
      endMs: task.runtimeMs,
    }));
    const violations = checkRuns(workflow, runs, 1, 100);
    expect(violations).toContain(`task ${child.id} started before its parent`);
    expect(violations.some((v) => / tasks running at 0 ms with 1 slots$/.test(v))).toBe(true);
  });
});
