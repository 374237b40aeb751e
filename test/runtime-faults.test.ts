import { afterEach, describe, expect, it } from 'vitest';
import { InputError, TaskFailedError, TaskModuleError } from '../src/core/errors.js';
import { Swarm } from '../src/swarm.js';

// Real swarmlet processes: these tests fork children and kill them.
const fixture = (name: string) => `test/fixtures/${name}.task.ts`;
let swarm: Swarm | undefined;
afterEach(async () => {
  await swarm?.stop();
  swarm = undefined;
});

describe('faults in a real embedded swarm', () => {
  it('retries micro-tasks of a killed swarmlet elsewhere: nothing lost, nothing recorded twice', async () => {
    swarm = await Swarm.start({ tasks: [fixture('crashy')], maxSwarmlets: 2, maxAttempts: 3 });
    const count = 200;
    const tasks = Array.from({ length: count }, (_, index) => ({
      id: `t${index}`,
      type: 'crashy',
      input: { index, every: 50 },
    }));
    const output = (await swarm.run({ tasks })) as Record<string, number>;
    expect(Object.keys(output)).toHaveLength(count);
    for (let index = 0; index < count; index++) expect(output[`t${index}`]).toBe(index * 2);
    const summary = swarm.summary();
    const crashy = summary.taskTypes.find((t) => t.taskType === 'crashy')!;
    expect(crashy.done).toBe(count); // each micro-task counted once, even the retried ones
    // Input 0 kills its swarmlet on attempt 1; later crash inputs may already be on attempt 2
    // because they were in flight on a killed swarmlet and were requeued.
    expect(summary.faults.length).toBeGreaterThanOrEqual(1);
    expect(summary.faults.every((fault) => fault.detail.includes('SIGKILL'))).toBe(true);
    // Each crash charged only the micro-task that was running; those queued behind it went back free.
    expect(crashy.retries).toBe(summary.faults.filter((fault) => fault.charged !== undefined).length);
    expect(summary.faults.reduce((sum, fault) => sum + fault.requeued, 0)).toBeGreaterThan(crashy.retries);
  });

  it('retries a throwing micro-task up to the limit and then succeeds', async () => {
    swarm = await Swarm.start({ tasks: [fixture('flaky')], maxSwarmlets: 1, maxAttempts: 3 });
    await expect(swarm.run({ type: 'flaky', input: { succeedOnAttempt: 3 } })).resolves.toBe('ok on attempt 3');
    expect(swarm.summary().taskTypes[0]!.retries).toBe(2);
  });

  it("fails the job with the task's own error once retries are exhausted", async () => {
    swarm = await Swarm.start({ tasks: [fixture('flaky')], maxSwarmlets: 1, maxAttempts: 2 });
    const failure = await swarm
      .run({ type: 'flaky', input: { succeedOnAttempt: 'never' } })
      .catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(TaskFailedError);
    expect((failure as TaskFailedError).message).toContain('flaky refused attempt 2');
    expect((failure as TaskFailedError).attempts).toBe(2);
    expect((failure as TaskFailedError).taskStack).toContain('flaky refused');
    // The swarm still serves other jobs after a failed one.
    await expect(swarm.run({ type: 'flaky', input: { succeedOnAttempt: 1 } })).resolves.toBe('ok on attempt 1');
  });

  it('a task that writes to the IPC channel fails clearly after the retries; its swarmlet lives on', async () => {
    swarm = await Swarm.start({ tasks: [fixture('chatty')], maxSwarmlets: 1, maxAttempts: 2 });
    const failure = await swarm.run({ type: 'chatty', input: null }).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(TaskFailedError);
    expect((failure as Error).message).toMatch(/called process.send: the swarmlet's IPC channel is reserved/);
    expect(swarm.summary().faults).toEqual([]);
  });

  it('rejects a task module with a syntax error before anything runs, naming the file', async () => {
    const failure = await Swarm.start({ tasks: [fixture('broken-syntax')] }).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(TaskModuleError);
    expect((failure as Error).message).toMatch(/broken-syntax\.task\.ts/);
  });

  it('rejects a task module that throws on import, with its message', async () => {
    const failure = await Swarm.start({ tasks: [fixture('throws-on-import')] }).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(TaskModuleError);
    expect((failure as Error).message).toContain('database URL not configured');
  });

  it('fails the job clearly when a swarmlet cannot warm the task type', async () => {
    swarm = await Swarm.start({ tasks: [fixture('bad-warmup')], maxSwarmlets: 1 });
    const failure = await swarm.run({ type: 'bad-warmup', input: null }).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(TaskModuleError);
    expect((failure as Error).message).toContain('model weights missing');
  });

  it('rejects bad jobs before anything runs, naming the field', async () => {
    swarm = await Swarm.start({ tasks: [fixture('flaky')], maxSwarmlets: 1 });
    const cases: [unknown, RegExp][] = [
      [{ type: 'nope', input: 1 }, /unknown task type "nope"/],
      [
        { tasks: [{ id: 'a', type: 'flaky', input: {}, deps: ['b'] }] },
        /job\.tasks\[0\]\.deps\[0\].*missing micro-task "b"/,
      ],
      [
        {
          tasks: [
            { id: 'a', type: 'flaky', deps: ['b'] },
            { id: 'b', type: 'flaky', deps: ['a'] },
          ],
        },
        /cycle/,
      ],
      [{ tasks: 'all of them' }, /job\.tasks/],
    ];
    for (const [job, message] of cases) {
      const failure = await swarm.run(job as never).catch((error: unknown) => error);
      expect(failure).toBeInstanceOf(InputError);
      expect((failure as Error).message).toMatch(message);
    }
    expect(swarm.summary().microTasks).toBe(0);
  });
});
