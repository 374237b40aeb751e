import { afterEach, describe, expect, it } from 'vitest';
import { TaskFailedError } from '../src/core/errors.js';
import { MemoryCgroups } from '../src/runtime/local/cgroup.js';
import { Swarm } from '../src/swarm.js';

// Memory limits are measured from outside the swarmlet (the kernel's cgroup, or /proc read by the
// parent): a task that never yields, or that lies about its memory, is still stopped.
const runaway = 'test/fixtures/runaway.task.ts';
const LIMIT_MB = 300;
let swarm: Swarm | undefined;
afterEach(async () => {
  await swarm?.stop();
  swarm = undefined;
  delete process.env.SWARMLET_NO_CGROUPS;
});

const kernel = MemoryCgroups.open() !== undefined;
const enforcements = [...(kernel ? ['kernel'] : []), 'outside'] as const;

describe.each(enforcements)('memory limit held %s', (enforcement) => {
  const start = () => {
    if (enforcement === 'outside') process.env.SWARMLET_NO_CGROUPS = '1';
    return Swarm.start({ tasks: [runaway], maxSwarmlets: 2, maxAttempts: 2, swarmletMemoryLimitMb: LIMIT_MB });
  };

  it('stops a task that allocates without yielding, on every attempt; a healthy job beside it completes', async () => {
    swarm = await start();
    const hog = swarm
      .run({ type: 'runaway', input: { mode: 'alloc-sync', mb: 2000 } })
      .catch((error: unknown) => error);
    const healthy = swarm.run({
      tasks: Array.from({ length: 200 }, (_, i) => ({ id: `t${i}`, type: 'runaway', input: { mode: 'ok', value: i } })),
    });
    expect(Object.keys((await healthy) as object)).toHaveLength(200);
    const failure = await hog;
    expect(failure).toBeInstanceOf(TaskFailedError);
    expect((failure as TaskFailedError).attempts).toBe(2);
    expect((failure as Error).message).toMatch(/memory limit of 300 MB/);
    const faults = swarm.summary().faults.filter((fault) => fault.charged === 'root');
    expect(faults).toHaveLength(2);
    const peaks = faults.map((fault) => Number(/peak (\d+) MB/.exec(fault.detail)?.[1]));
    console.log(`memory ${enforcement}: peaks ${peaks.join(', ')} MB under a ${LIMIT_MB} MB limit`);
    // The kernel never lets it pass the limit; from outside, sampled every 50 ms, it may overshoot a little.
    for (const peak of peaks)
      expect(peak).toBeLessThanOrEqual(kernel && enforcement === 'kernel' ? LIMIT_MB : 2 * LIMIT_MB);
    expect(swarm.summary().limits.memoryEnforcement).toBe(enforcement === 'kernel' ? 'cgroup-v1' : 'proc-sampling');
  });

  it('does not believe a swarmlet that reports less memory than it holds', async () => {
    swarm = await start();
    const failure = await swarm
      .run({ type: 'runaway', input: { mode: 'forge', mb: 2 * LIMIT_MB } })
      .catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(TaskFailedError);
    expect((failure as Error).message).toMatch(/memory limit of 300 MB/);
  });
});

describe('default memory limit', () => {
  it('is set from the machine memory when none is given, and the summary says how it is held', async () => {
    swarm = await Swarm.start({ tasks: [runaway], maxSwarmlets: 2 });
    await swarm.run({ type: 'runaway', input: { mode: 'ok' } });
    const limits = swarm.summary().limits;
    expect(limits.swarmletMemoryLimitMb).toBeGreaterThanOrEqual(256);
    expect(['cgroup-v1', 'cgroup-v2', 'proc-sampling']).toContain(limits.memoryEnforcement);
  });
});

describe('two swarms in one process', () => {
  it('stop in any order: the one stopped last finds the shared parent group gone (its stop threw ENOENT)', async () => {
    // Found by the API contract test, which runs a second swarm beside the first.
    const first = await Swarm.start({ tasks: [runaway], maxSwarmlets: 1 });
    const idle = await Swarm.start({ tasks: [runaway], maxSwarmlets: 1 });
    try {
      await first.run({ type: 'runaway', input: { mode: 'ok' } });
    } finally {
      await first.stop();
    }
    await expect(idle.stop()).resolves.toBeUndefined();
  });
});
