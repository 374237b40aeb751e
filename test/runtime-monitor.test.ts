import { afterEach, expect, it, vi } from 'vitest';
import { Swarm } from '../src/swarm.js';

let swarm: Swarm | undefined;
afterEach(async () => {
  await swarm?.stop();
  swarm = undefined;
});

it("each swarmlet's monitor reports CPU, memory, event-loop delay and task counts from inside the process", async () => {
  swarm = await Swarm.start({ tasks: ['test/fixtures/busy.task.ts'], maxSwarmlets: 1, monitorIntervalMs: 20 });
  // One 200 ms CPU-bound task: the samples taken right after it see the busy CPU and the blocked loop.
  await swarm.run({ type: 'busy', input: { ms: 200 } });
  await vi.waitFor(() => expect(swarm!.summary().swarmlets[0]?.monitor?.tasksDone).toBe(1), {
    timeout: 2_000,
    interval: 10,
  });
  const monitor = swarm.summary().swarmlets[0]!.monitor!;
  expect(monitor.rssMb).toBeGreaterThan(10);
  expect(monitor.heapUsedMb).toBeGreaterThan(0);
  expect(monitor.heapUsedMb).toBeLessThan(monitor.rssMb);
  expect(monitor.latencyMsMean).toBeGreaterThanOrEqual(200);
  expect(monitor.errors).toBe(0);
  expect(monitor.cpuPercent).toBeGreaterThanOrEqual(0);
});
