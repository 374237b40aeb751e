import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { Swarm } from '../src/swarm.js';

// Shadow swarmlets from history, with real processes: a job's second run pre-warms the task
// types its first run needed, before their first micro-task is ready.
const tasks = ['test/fixtures/busy.task.ts', 'test/fixtures/noop.task.ts', 'test/fixtures/flaky.task.ts'];
let swarm: Swarm | undefined;
afterEach(async () => {
  await swarm?.stop();
  swarm = undefined;
});

/** Three stages, each ready only after the one before: task types needed one after another. */
const threeStageJob = {
  name: 'three-stage',
  tasks: [
    ...Array.from({ length: 6 }, (_, i) => ({ id: `busy-${i}`, type: 'busy', input: { ms: 30 } })),
    ...Array.from({ length: 6 }, (_, i) => ({ id: `noop-${i}`, type: 'noop', input: i, deps: [`busy-${i}`] })),
    {
      id: 'last',
      type: 'flaky',
      input: { succeedOnAttempt: 1 },
      deps: Array.from({ length: 6 }, (_, i) => `noop-${i}`),
    },
  ],
};

// One swarmlet: every later stage needs a specialization, cold unless history preloaded its type.
async function runOnce(historyFile: string) {
  swarm = await Swarm.start({ tasks, maxSwarmlets: 1, tickMs: 20, historyFile });
  await swarm.run(threeStageJob);
  const summary = swarm.summary();
  await swarm.stop();
  swarm = undefined;
  return summary;
}

it('the second run of a job has at least 50% fewer cold starts than the first, thanks to its history', async () => {
  const historyFile = join(mkdtempSync(join(tmpdir(), 'swarmlet-prewarm-')), 'history.json');
  const first = await runOnce(historyFile);
  const second = await runOnce(historyFile);
  expect(first.coldStarts).toBe(3); // busy at the start, then noop and flaky as their micro-tasks become ready
  expect(second.coldStarts).toBeLessThanOrEqual(first.coldStarts / 2);
  for (const type of ['noop', 'flaky']) {
    const report = second.taskTypes.find((t) => t.taskType === type)!;
    expect(report.coldStarts).toBe(0);
    expect(report.prewarms).toBe(1);
  }
  expect(second.actions.prewarm?.[0]?.reason).toMatch(
    /job default\/three-stage \(1 earlier run\) needs (noop|flaky) in ~\d+ ms: preload/,
  );
});

it('without history nothing is pre-warmed, and a corrupt history file does not stop the run', async () => {
  const historyFile = join(mkdtempSync(join(tmpdir(), 'swarmlet-prewarm-')), 'history.json');
  writeFileSync(historyFile, 'not json');
  const summary = await runOnce(historyFile);
  expect(summary.actions.prewarm).toBeUndefined();
  expect(summary.taskTypes.every((t) => t.prewarms === 0)).toBe(true);
});

it('a failed preload is a fault, not a failed job: the swarmlet keeps serving its own type', async () => {
  const historyFile = join(mkdtempSync(join(tmpdir(), 'swarmlet-prewarm-')), 'history.json');
  // History says this job also needs `bad-warmup` soon; its warmup throws in every swarmlet.
  writeFileSync(
    historyFile,
    JSON.stringify({
      version: 1,
      jobs: {
        'default/only-noop': {
          runs: 1,
          types: [
            { taskType: 'noop', firstDemandOffsetMs: 0, peakSwarmlets: 1 },
            { taskType: 'bad-warmup', firstDemandOffsetMs: 50, peakSwarmlets: 1 },
          ],
        },
      },
    }),
  );
  swarm = await Swarm.start({
    tasks: [...tasks, 'test/fixtures/bad-warmup.task.ts'],
    maxSwarmlets: 1,
    tickMs: 20,
    historyFile,
  });
  const output = await swarm.run({
    name: 'only-noop',
    tasks: Array.from({ length: 20 }, (_, i) => ({ id: `n${i}`, type: 'noop', input: i })),
  });
  expect(Object.keys(output as object)).toHaveLength(20);
  const summary = swarm.summary();
  expect(summary.faults.some((fault) => /preload of bad-warmup failed: model weights missing/.test(fault.detail))).toBe(
    true,
  );
});
