import { afterEach, describe, expect, it } from 'vitest';
import { TaskFailedError, TaskModuleError } from '../src/core/errors.js';
import { Swarm } from '../src/swarm.js';

// Failures no micro-task can be charged for (loads that crash or hang), and failures one task
// could otherwise pass on to another (a late throw, an output JSON cannot carry).
const fixture = (name: string) => `test/fixtures/${name}.task.ts`;
let swarm: Swarm | undefined;
afterEach(async () => {
  await swarm?.stop();
  swarm = undefined;
});

const oks = (count: number) =>
  Array.from({ length: count }, (_, i) => ({ id: `ok${i}`, type: 'runaway', input: { mode: 'ok', value: i } }));

describe('a type whose loads keep failing fails the jobs that need it (it used to be retried for ever)', () => {
  it.each([
    ['its warmup kills the swarmlet', 'warmup-crash', {}, /keep dying while loading it \(last: killed by SIGKILL\)/],
    [
      'its warmup never finishes',
      'warmup-hang',
      { moduleLoadTimeoutMs: 300 },
      /did not finish loading warmup-hang within 300 ms/,
    ],
  ])('%s; a healthy job beside it completes', async (_, type, options, message) => {
    swarm = await Swarm.start({ tasks: [fixture('runaway'), fixture(type)], maxSwarmlets: 2, ...options });
    const broken = swarm.run({ type, input: 1 }).catch((error: unknown) => error);
    const healthy = await swarm.run({ tasks: oks(200) });
    expect(Object.keys(healthy as object)).toHaveLength(200);
    const failure = await broken;
    expect(failure).toBeInstanceOf(TaskModuleError);
    expect((failure as Error).message).toMatch(message);
  });

  it('a memory limit below what a bare swarmlet holds fails the job clearly', async () => {
    swarm = await Swarm.start({ tasks: [fixture('runaway')], maxSwarmlets: 1, swarmletMemoryLimitMb: 5 });
    const failure = await swarm.run({ type: 'runaway', input: { mode: 'ok' } }).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(TaskModuleError);
    expect((failure as Error).message).toMatch(/memory limit of 5 MB/);
  });
});

describe('one task’s stray failure is not charged to another', () => {
  it('a throw from a timer after its task returned does not kill the swarmlet or fail the next job', async () => {
    swarm = await Swarm.start({ tasks: [fixture('runaway')], maxSwarmlets: 1, maxAttempts: 1 });
    await expect(swarm.run({ type: 'runaway', input: { mode: 'late-throw', afterMs: 50, value: 1 } })).resolves.toBe(1);
    const slow = Array.from({ length: 5 }, (_, i) => ({
      id: `v${i}`,
      type: 'runaway',
      input: { mode: 'ok', value: i, afterMs: 40 },
    }));
    await expect(swarm.run({ tasks: slow })).resolves.toEqual({ v0: 0, v1: 1, v2: 2, v3: 3, v4: 4 });
    expect(swarm.summary().faults).toEqual([]);
  });

  it('an output JSON cannot carry fails its own micro-task, clearly; the jobs around it complete', async () => {
    swarm = await Swarm.start({ tasks: [fixture('runaway')], maxSwarmlets: 1, maxAttempts: 1 });
    await swarm.run({ tasks: oks(50) }); // measured tiny: many travel together
    const before = swarm.run({ tasks: oks(300) });
    const bad = swarm.run({ type: 'runaway', input: { mode: 'bigint' } }).catch((error: unknown) => error);
    const after = swarm.run({ tasks: oks(300) });
    expect(Object.keys((await before) as object)).toHaveLength(300);
    expect(Object.keys((await after) as object)).toHaveLength(300);
    const failure = await bad;
    expect(failure).toBeInstanceOf(TaskFailedError);
    expect((failure as Error).message).toMatch(
      /its output cannot be sent to the director \(.*BigInt.*\): return JSON data/,
    );
  });
});

describe('a saved state its type cannot restore', () => {
  it('is discarded with a fault, instead of failing every later job of the type', async () => {
    swarm = await Swarm.start({
      tasks: [fixture('runaway'), fixture('stateful-poison')],
      maxSwarmlets: 1,
    });
    await expect(swarm.run({ type: 'poisonable', input: 'poison' })).resolves.toBe('poisoned');
    await swarm.run({ tasks: oks(20) }); // the one swarmlet moves to runaway: poisonable's state is saved
    // Back to poisonable: its restore refuses the saved state; the job still runs, afresh.
    await expect(swarm.run({ type: 'poisonable', input: 'ok' })).resolves.toBe('clean');
    expect(swarm.summary().faults.map((fault) => fault.detail)).toContainEqual(
      expect.stringMatching(
        /^saved state of poisonable discarded \(restore\(state\) failed: refusing a poisoned state\)/,
      ),
    );
  });
});
