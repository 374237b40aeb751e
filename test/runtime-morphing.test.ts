import { afterEach, describe, expect, it, vi } from 'vitest';
import { adaptivePolicy } from '../src/decide/policies/adaptive.js';
import type { Policy } from '../src/decide/policy.js';
import { Swarm } from '../src/swarm.js';

// The runtime carries out each morphing action on real processes. The policy's rules themselves
// are tested over snapshots (adaptive-policy.test.ts); here we check the actions take effect.
const tasks = ['test/fixtures/noop.task.ts', 'test/fixtures/busy.task.ts'];
let swarm: Swarm | undefined;
afterEach(async () => {
  await swarm?.stop();
  swarm = undefined;
});

const live = (s: Swarm) => s.swarmlets().filter((x) => x.state !== 'stopped');
const busyJob = (count: number, ms: number) => ({
  tasks: Array.from({ length: count }, (_, i) => ({ id: `b${i}`, type: 'busy', input: { ms } })),
});

describe('morphing in a real embedded swarm', () => {
  it('replicates a bottleneck type up to the limit and deprovisions idle swarmlets after the keep-alive', async () => {
    swarm = await Swarm.start({
      tasks,
      maxSwarmlets: 2,
      tickMs: 20,
      policy: adaptivePolicy({ keepAliveMs: 100, consolidateAfterTicks: 1_000 }) as Policy,
    });
    await swarm.run(busyJob(40, 20));
    const busy = swarm.summary().taskTypes.find((t) => t.taskType === 'busy')!;
    expect(busy.peakSwarmlets).toBe(2);
    await vi.waitFor(() => expect(live(swarm!)).toHaveLength(0), { timeout: 5_000, interval: 20 });
    const actions = swarm.summary().actions;
    expect(actions.replicate?.reduce((n, a) => n + a.count, 0)).toBe(2);
    expect(actions.deprovision?.reduce((n, a) => n + a.count, 0)).toBe(2);
    expect(actions.deprovision![0]!.reason).toMatch(/keep-alive/);
  });

  it('specializes an idle swarmlet to the type that needs it instead of starting a process', async () => {
    swarm = await Swarm.start({
      tasks,
      maxSwarmlets: 1,
      tickMs: 20,
      policy: adaptivePolicy({ keepAliveMs: 60_000, cooldownMs: 0 }) as Policy,
    });
    await swarm.run({ type: 'noop', input: 1 });
    const [first] = swarm.swarmlets();
    await swarm.run(busyJob(10, 30));
    const after = swarm.swarmlets();
    expect(after).toHaveLength(1); // the same process, now serving busy
    expect(after[0]!.id).toBe(first!.id);
    expect(after[0]!.taskType).toBe('busy');
    const specialize = swarm.summary().actions.specialize!;
    expect(specialize[0]!.reason).toMatch(/^noop → busy: busy has/);
  });

  it('consolidates under-used swarmlets of a type once the queue is gone', async () => {
    swarm = await Swarm.start({
      tasks,
      maxSwarmlets: 2,
      tickMs: 20,
      policy: adaptivePolicy({ keepAliveMs: 60_000, consolidateAfterTicks: 3 }) as Policy,
    });
    await swarm.run(busyJob(30, 20));
    expect(live(swarm)).toHaveLength(2);
    await vi.waitFor(() => expect(live(swarm!)).toHaveLength(1), { timeout: 5_000, interval: 20 });
    const consolidate = swarm.summary().actions.consolidate!;
    expect(consolidate.reduce((n, a) => n + a.count, 0)).toBe(1);
    expect(consolidate[0]!.reason).toMatch(/mean utilisation.*no queue: 1 can carry it/);
  });
});
