import { describe, expect, it } from 'vitest';
import { Swarm } from '../../src/swarm.js';
import { CHAOS_FULL, CHAOS_RUNS, chaosSize, report } from '../support/chaos.js';

// R1: kill -9 a random swarmlet every 250 ms while a big job of checkable micro-tasks runs, with
// default options. Nothing may be lost, wrong or recorded twice; the run may be only a little slower.
const MICRO_TASKS = chaosSize(20_000, 100_000);
const KILL_EVERY_MS = 250;

interface Outcome {
  wallMs: number;
  kills: number;
  lost: number;
  wrong: number;
  recordedTwice: number;
}

async function runJob(kill: boolean): Promise<Outcome> {
  const swarm = await Swarm.start({ tasks: ['test/fixtures/runaway.task.ts'] });
  let kills = 0;
  const killer = kill
    ? setInterval(() => {
        const live = swarm.swarmlets().filter((s) => s.pid !== undefined && s.state !== 'stopped');
        const victim = live[Math.floor(Math.random() * live.length)];
        if (victim === undefined) return;
        try {
          process.kill(victim.pid!, 'SIGKILL');
          kills += 1;
        } catch {
          // exited on its own meanwhile
        }
      }, KILL_EVERY_MS)
    : undefined;
  try {
    const tasks = Array.from({ length: MICRO_TASKS }, (_, i) => ({
      id: `t${i}`,
      type: 'runaway',
      input: { mode: 'ok', value: i * 3 },
    }));
    const startedAt = performance.now();
    const output = (await swarm.run({ tasks })) as Record<string, number>;
    const wallMs = performance.now() - startedAt;
    let lost = 0;
    let wrong = 0;
    for (let i = 0; i < MICRO_TASKS; i++) {
      const value = output[`t${i}`];
      if (value === undefined) lost += 1;
      else if (value !== i * 3) wrong += 1;
    }
    const done = swarm.summary().taskTypes.find((t) => t.taskType === 'runaway')!.done;
    return { wallMs, kills, lost, wrong, recordedTwice: Math.max(0, done - MICRO_TASKS) };
  } finally {
    if (killer) clearInterval(killer);
    await swarm.stop();
  }
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

describe('R1: swarmlets killed at random during a big job (embedded, default options)', () => {
  it(`${MICRO_TASKS} micro-tasks, a kill -9 every ${KILL_EVERY_MS} ms: 0 lost, 0 wrong, 0 recorded twice`, async () => {
    const faultFree: number[] = [];
    const chaos: Outcome[] = [];
    // Interleaved: the baseline is measured in the same run, beside the same noise.
    for (let run = 0; run < CHAOS_RUNS; run++) {
      faultFree.push((await runJob(false)).wallMs);
      chaos.push(await runJob(true));
    }
    const ratio = median(chaos.map((o) => o.wallMs)) / median(faultFree);
    report('R1', {
      microTasks: MICRO_TASKS,
      runs: CHAOS_RUNS,
      kills: chaos.map((o) => o.kills).join('/'),
      lost: chaos.reduce((sum, o) => sum + o.lost, 0),
      wrong: chaos.reduce((sum, o) => sum + o.wrong, 0),
      recordedTwice: chaos.reduce((sum, o) => sum + o.recordedTwice, 0),
      faultFreeMs: median(faultFree).toFixed(0),
      chaosMs: median(chaos.map((o) => o.wallMs)).toFixed(0),
      ratio: ratio.toFixed(2),
    });
    for (const outcome of chaos) {
      expect(outcome).toMatchObject({ lost: 0, wrong: 0, recordedTwice: 0 });
      expect(outcome.kills).toBeGreaterThan(0);
    }
    // The speed target is checked at full size only (a 20k job lasts a few kills: too noisy to judge).
    if (CHAOS_FULL) expect(ratio).toBeLessThanOrEqual(1.3);
  }, 600_000);
});
