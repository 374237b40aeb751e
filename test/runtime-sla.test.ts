import { afterEach, expect, it } from 'vitest';
import { AdmissionError } from '../src/core/errors.js';
import { Swarm } from '../src/swarm.js';

let swarm: Swarm | undefined;
afterEach(async () => {
  await swarm?.stop();
  swarm = undefined;
});
const tasks = ['test/fixtures/busy.task.ts', 'test/fixtures/noop.task.ts'];
const busyJob = (count: number, ms: number, priority: 'low' | 'normal' | 'high') => ({
  priority,
  tasks: Array.from({ length: count }, (_, i) => ({ id: `b${i}`, type: 'busy', input: { ms } })),
});
/** Lets queued work reach the broker (the orchestrator enqueues on its next turn). */
const settle = () => new Promise((resolve) => setImmediate(resolve));

it('under overload, admission control refuses a low-priority job with the class, the backlog and the limit, and still admits high', async () => {
  swarm = await Swarm.start({ tasks, maxSwarmlets: 1, admission: { low: 200, normal: 60_000, high: 600_000 } });
  await swarm.run(busyJob(5, 20, 'normal')); // the usage model learns that busy micro-tasks take ~20 ms
  const big = swarm.run(busyJob(60, 20, 'normal')); // ~1.2 s of work for one swarmlet
  await settle();
  const refused = await swarm.run({ type: 'noop', input: 1, priority: 'low' }).catch((error: unknown) => error);
  expect(refused).toBeInstanceOf(AdmissionError);
  expect((refused as AdmissionError).message).toMatch(
    /^job refused by admission control: low: predicted backlog [\d.]+ s > low limit 200 ms \([\d.]+ s of queued work on 1 worker\(s\)\); retry in \d+ s$/,
  );
  expect((refused as AdmissionError).retryAfterMs).toBeGreaterThan(0);
  await expect(swarm.run({ type: 'noop', input: 2, priority: 'high' })).resolves.toBe(2);
  await expect(big).resolves.toBeDefined(); // accepted work is never lost
  // backlog drained: admitted again
  await expect(swarm.run({ type: 'noop', input: 3, priority: 'low' })).resolves.toBe(3);
});

it('reports each job against its deadline', async () => {
  swarm = await Swarm.start({ tasks, maxSwarmlets: 1 });
  await swarm.run({ type: 'busy', input: { ms: 50 }, deadlineMs: 10_000, name: 'relaxed' });
  await swarm.run({ type: 'busy', input: { ms: 50 }, deadlineMs: 1, name: 'impossible' });
  await swarm.run({ type: 'noop', input: 0 });
  const jobs = swarm.summary().jobs;
  expect(jobs.map((j) => [j.name, j.deadlineMet])).toEqual([
    ['relaxed', true],
    ['impossible', false],
    [undefined, undefined],
  ]);
  expect(jobs[1]!.wallMs).toBeGreaterThanOrEqual(50);
});

/** Which of the given job promises settle first, by label. */
async function finishOrder(jobs: Record<string, Promise<unknown>>): Promise<string[]> {
  const order: string[] = [];
  await Promise.all(Object.entries(jobs).map(([label, job]) => job.then(() => order.push(label))));
  return order;
}

it('dispatch follows the SLA order: a deadline job overtakes earlier work of its class already queued', async () => {
  swarm = await Swarm.start({ tasks, maxSwarmlets: 1 });
  await swarm.run(busyJob(2, 20, 'normal')); // the swarmlet is up and the type's duration known
  const backlog = swarm.run(busyJob(25, 20, 'normal')); // ~0.5 s queued on one swarmlet
  await settle();
  const urgent = swarm.run({ ...busyJob(3, 20, 'normal'), deadlineMs: 5_000 });
  expect(await finishOrder({ backlog, urgent })).toEqual(['urgent', 'backlog']);
});

it('dispatch shares a class between owners: a small job of a second owner is not stuck behind a flood', async () => {
  swarm = await Swarm.start({ tasks, maxSwarmlets: 1 });
  await swarm.run(busyJob(2, 20, 'normal'));
  const flood = swarm.run({ ...busyJob(30, 20, 'normal'), owner: 'alice' });
  await settle();
  const small = swarm.run({ ...busyJob(3, 20, 'normal'), owner: 'bob' });
  expect(await finishOrder({ flood, small })).toEqual(['small', 'flood']);
});
