import { afterEach, expect, it } from 'vitest';
import { AdmissionError } from '../src/core/errors.js';
import { Swarm } from '../src/swarm.js';

let swarm: Swarm | undefined;
afterEach(async () => {
  await swarm?.stop();
  swarm = undefined;
});
const tasks = ['test/fixtures/heavy.task.ts', 'test/fixtures/noop.task.ts'];
const heavyJob = (count: number) => ({
  tasks: Array.from({ length: count }, (_, i) => ({ id: `h${i}`, type: 'heavy', input: { ms: 15 } })),
});

it.each([
  { limits: { maxMemoryMb: 50, swarmletMemoryMb: 40 }, names: /more than the memory budget \(maxMemoryMb\) 50 MB/ },
  { limits: { swarmletMemoryLimitMb: 40 }, names: /more than swarmletMemoryLimitMb 40 MB/ },
])(
  'a type predicted to need more memory than a swarmlet may hold is refused before it runs ($limits)',
  async ({ limits, names }) => {
    swarm = await Swarm.start({ tasks, maxSwarmlets: 2, ...limits });
    const refused = await swarm.run(heavyJob(3)).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(AdmissionError);
    expect((refused as Error).message).toMatch(/task type heavy is predicted to need 60 MB per swarmlet/);
    expect((refused as Error).message).toMatch(names);
    expect((refused as Error).message).toMatch(/raise that limit or lower the task's memory/);
    await expect(swarm.run({ type: 'noop', input: 7 })).resolves.toBe(7); // other work goes on
    expect(swarm.summary().taskTypes.find((t) => t.taskType === 'heavy')!.done).toBe(0);
  },
);

it('busy swarmlets never claim more predicted memory than the budget: the rest of the work waits its turn', async () => {
  // Four swarmlets (static policy), but 130 MB holds only two busy 60 MB claims.
  swarm = await Swarm.start({ tasks, maxSwarmlets: 4, maxMemoryMb: 130, policy: { static: { heavy: 4 } } });
  const outputs = (await swarm.run(heavyJob(40))) as Record<string, number>;
  expect(Object.keys(outputs)).toHaveLength(40); // nothing lost
  const { reservations } = swarm.summary();
  expect(reservations.peakBusySwarmlets).toBe(2);
  expect(reservations.peakReservedMemoryMb).toBeLessThanOrEqual(130);
  expect(reservations.deferred).toBeGreaterThan(0);
  expect(reservations.lastDeferral).toMatch(
    /^s\d+ \(heavy\) waits: task s\d+ \(placeOn node\) needs [\d.]+ MB, largest free is [\d.]+ MB on node$/,
  );
  expect(reservations.reservedMemoryMb).toBe(0); // every claim ended with its work
});

it('with room in the budget the same job runs on all four swarmlets at once', async () => {
  swarm = await Swarm.start({ tasks, maxSwarmlets: 4, maxMemoryMb: 1_000, policy: { static: { heavy: 4 } } });
  await swarm.run(heavyJob(40));
  const { reservations } = swarm.summary();
  expect(reservations.peakBusySwarmlets).toBeGreaterThanOrEqual(3);
  // Memory never held anyone back. CPU claims follow measured usage, and four spinning swarmlets
  // on this 2-core machine may measure a little over the 2× overcommit: a CPU wait is allowed here.
  expect(reservations.lastDeferral ?? '').not.toMatch(/MB/);
});

it('refuses a memory budget that could not hold even one swarmlet, naming both fields', async () => {
  await expect(Swarm.start({ tasks, maxMemoryMb: 50, swarmletMemoryMb: 60 })).rejects.toThrow(
    /Swarm options\.maxMemoryMb: 50 MB is less than one swarmlet \(swarmletMemoryMb 60 MB\).*give maxMemoryMb ≥ 60, or lower swarmletMemoryMb/,
  );
});
