import { describe, expect, it } from 'vitest';
import { TaskFailedError, TaskModuleError } from '../../src/core/errors.js';
import { MemoryCgroups } from '../../src/runtime/local/cgroup.js';
import { Swarm } from '../../src/swarm.js';
import { CHAOS_RUNS, chaosSize, report } from '../support/chaos.js';

// R6: runaway handlers next to healthy jobs. Each is contained by its own limit on every attempt,
// soon after it crosses it, and the healthy jobs all complete. Two swarms side by side: one holds a
// memory limit (allocations, process.exit, IPC junk, an import bomb), one a task time limit (a spin,
// a promise that never settles), so on a busy machine a slow allocation is never stopped by time.
const LIMIT_MB = 300;
const TIMEOUT_MS = 1_000;
const MONITOR_MS = 250;
const ATTEMPTS = 2;
const HEALTHY_JOBS = chaosSize(2, 5); // per swarm

const runaways = {
  memory: {
    'alloc-sync': { mode: 'alloc-sync', mb: 4_000 },
    'alloc-async': { mode: 'alloc-async', mb: 4_000 },
    exit: { mode: 'exit' },
    junk: { mode: 'junk' },
  },
  time: { spin: { mode: 'spin' }, never: { mode: 'never' } },
} as const;

const kernel = MemoryCgroups.open() !== undefined;
const enforcements = [...(kernel ? ['kernel'] : []), 'outside'] as const;

async function runSwarm(limit: keyof typeof runaways) {
  const swarm = await Swarm.start({
    tasks: ['test/fixtures/runaway.task.ts', 'test/fixtures/import-bomb.task.ts'],
    maxSwarmlets: 3,
    maxAttempts: ATTEMPTS,
    monitorIntervalMs: MONITOR_MS,
    ...(limit === 'memory' ? { swarmletMemoryLimitMb: LIMIT_MB } : { taskTimeoutMs: TIMEOUT_MS }),
  });
  try {
    const bad = Object.entries(runaways[limit]).map(([name, input]) =>
      swarm.run({ tasks: [{ id: name, type: 'runaway', input }] }).then(
        () => ({ name, error: undefined as unknown }),
        (error: unknown) => ({ name, error }),
      ),
    );
    const bomb = swarm.run({ type: 'import-bomb', input: null }).catch((error: unknown) => error);
    const healthy = Array.from({ length: HEALTHY_JOBS }, (_, j) =>
      swarm.run({
        tasks: Array.from({ length: 500 }, (_, i) => ({
          id: `h${i}`,
          type: 'runaway',
          input: { mode: 'ok', value: j * 1000 + i },
        })),
      }),
    );
    const outputs = (await Promise.all(healthy)) as Record<string, number>[];
    const outcomes = await Promise.all(bad);
    return { outputs, outcomes, bombs: [await bomb], faults: swarm.summary().faults };
  } finally {
    await swarm.stop();
  }
}

async function runOnce(enforcement: (typeof enforcements)[number]) {
  if (enforcement === 'outside') process.env.SWARMLET_NO_CGROUPS = '1';
  try {
    const [memory, time] = await Promise.all([runSwarm('memory'), runSwarm('time')]);
    return {
      outputs: [...memory.outputs, ...time.outputs],
      outcomes: [...memory.outcomes, ...time.outcomes],
      bombs: [...memory.bombs, ...time.bombs],
      summary: { faults: [...memory.faults, ...time.faults] },
    };
  } finally {
    delete process.env.SWARMLET_NO_CGROUPS;
  }
}

describe.each(enforcements)('R6: runaways beside healthy jobs (memory held %s)', (enforcement) => {
  it('every runaway is contained on every attempt; every healthy job completes', async () => {
    for (let run = 0; run < CHAOS_RUNS; run++) {
      const { outputs, outcomes, bombs, summary } = await runOnce(enforcement);
      // Healthy jobs: every output there and right.
      outputs.forEach((output, j) => {
        const job = j % HEALTHY_JOBS;
        for (let i = 0; i < 500; i++) expect(output[`h${i}`]).toBe(job * 1000 + i);
      });
      for (const bomb of bombs) expect(bomb).toBeInstanceOf(TaskModuleError);
      for (const { name, error } of outcomes) {
        expect(error, name).toBeInstanceOf(TaskFailedError);
        if (name === 'junk') expect((error as Error).message).toMatch(/IPC channel is reserved/);
        else expect((error as TaskFailedError).attempts, name).toBe(ATTEMPTS);
      }
      const charged = (name: string) => summary.faults.filter((fault) => fault.charged === name);
      const allocations = [...charged('alloc-sync'), ...charged('alloc-async')];
      for (const fault of allocations) expect(fault.detail).toMatch(/memory limit of 300 MB/);
      const peaks = allocations.map((fault) => Number(/peak (\d+) MB/.exec(fault.detail)?.[1]));
      const timeouts = [...charged('spin'), ...charged('never')];
      for (const fault of timeouts) expect(fault.detail).toMatch(/ran \d+ ms, past its time limit of 1000 ms/);
      const overruns = timeouts.map(
        (fault) => Number(/ran (\d+) ms, past its time limit/.exec(fault.detail)?.[1]) - TIMEOUT_MS,
      );
      report(`R6 ${enforcement}`, {
        run: run + 1,
        healthyJobs: outputs.length,
        contained: outcomes.length + bombs.length,
        peakMb: Math.max(...peaks),
        limitMb: LIMIT_MB,
        worstTimeOverrunMs: Math.max(...overruns),
        monitorMs: MONITOR_MS,
      });
      // Every attempt of each runaway was stopped (none ran on unchecked).
      for (const name of ['alloc-sync', 'alloc-async', 'spin', 'never', 'exit'])
        expect(charged(name), name).toHaveLength(ATTEMPTS);
      for (const peak of peaks) expect(peak).toBeLessThanOrEqual((enforcement === 'kernel' ? 1.1 : 1.25) * LIMIT_MB);
      for (const overrun of overruns) expect(overrun).toBeLessThanOrEqual(2 * MONITOR_MS);
    }
  }, 300_000);
});
