import { afterEach, expect, it } from 'vitest';
import { TaskFailedError } from '../src/core/errors.js';
import { Swarm } from '../src/swarm.js';

// Hard limits with real processes: the swarmlet that breaks one is killed, only its running
// micro-task pays a retry, and the job fails clearly once retries run out; other work goes on.
let swarm: Swarm | undefined;
afterEach(async () => {
  await swarm?.stop();
  swarm = undefined;
});
const tasks = ['test/fixtures/busy.task.ts', 'test/fixtures/noop.task.ts', 'test/fixtures/hog.task.ts'];

it('stops a micro-task past its time limit, retries it, fails its job clearly, and other jobs still complete', async () => {
  swarm = await Swarm.start({ tasks, maxSwarmlets: 2, tickMs: 20, maxAttempts: 2, taskTimeoutMs: 300 });
  const runaway = swarm.run({ type: 'busy', input: { ms: 5_000 } }).catch((error: unknown) => error);
  const fine = swarm.run({ tasks: Array.from({ length: 50 }, (_, i) => ({ id: `n${i}`, type: 'noop', input: i })) });
  await expect(fine).resolves.toHaveProperty('n49', 49);
  const failure = await runaway;
  expect(failure).toBeInstanceOf(TaskFailedError);
  expect((failure as Error).message).toMatch(/micro-task root ran \d+ ms, past its time limit of 300 ms/);
  expect((failure as TaskFailedError).attempts).toBe(2);
  const kills = swarm.summary().faults.filter((fault) => fault.detail.includes('time limit'));
  expect(kills).toHaveLength(2);
});

it('micro-tasks queued behind a runaway on the killed swarmlet are requeued without losing an attempt', async () => {
  swarm = await Swarm.start({ tasks, maxSwarmlets: 1, tickMs: 20, maxAttempts: 1, taskTimeoutMs: 300 });
  // Teach the swarm that busy micro-tasks are short, so it keeps two in flight per swarmlet.
  await swarm.run({ tasks: Array.from({ length: 20 }, (_, i) => ({ id: `w${i}`, type: 'busy', input: { ms: 1 } })) });
  const runaway = swarm.run({ type: 'busy', input: { ms: 5_000 } }).catch((error: unknown) => error);
  // q0 is dispatched behind the runaway on the same swarmlet; with one attempt allowed, it must not be charged for the
  // kill.
  const quick = swarm.run({
    tasks: Array.from({ length: 5 }, (_, i) => ({ id: `q${i}`, type: 'busy', input: { ms: 1 } })),
  });
  await expect(quick).resolves.toHaveProperty('q4');
  expect(await runaway).toBeInstanceOf(TaskFailedError); // the culprit, with one attempt, fails
  expect(swarm.summary().faults.filter((fault) => fault.detail.includes('time limit'))).toHaveLength(1);
});

it('stops a swarmlet over its memory limit and fails the micro-task that grew it', async () => {
  swarm = await Swarm.start({
    tasks,
    maxSwarmlets: 1,
    tickMs: 20,
    monitorIntervalMs: 20,
    maxAttempts: 1,
    swarmletMemoryLimitMb: 200,
  });
  const failure = await swarm.run({ type: 'hog', input: { mb: 300, holdMs: 3_000 } }).catch((error: unknown) => error);
  expect(failure).toBeInstanceOf(TaskFailedError);
  expect((failure as Error).message).toMatch(
    /held \d+ MB, at or over its memory limit of 200 MB|reached its memory limit of 200 MB/,
  );
  // The swarm goes on serving: a new swarmlet takes the next job.
  await expect(swarm.run({ type: 'noop', input: 7 })).resolves.toBe(7);
});
