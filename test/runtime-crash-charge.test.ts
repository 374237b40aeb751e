import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { getPriority } from 'node:os';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { SwarmletBugError, TaskFailedError, TaskModuleError } from '../src/core/errors.js';
import type { Policy } from '../src/decide/policy.js';
import { staticPolicy } from '../src/decide/policies/static.js';
import type { JobTracker } from '../src/runtime/jobs/job-tracker.js';
import { Swarm } from '../src/swarm.js';

// Real swarmlet processes that crash: only the micro-task that was running pays for a crash.
const fixture = (name: string) => `test/fixtures/${name}.task.ts`;
let swarm: Swarm | undefined;
afterEach(async () => {
  await swarm?.stop();
  swarm = undefined;
});

const asRoot = process.getuid?.() === 0;
const oks = (count: number, from = 0) =>
  Array.from({ length: count }, (_, i) => ({
    id: `ok${from + i}`,
    type: 'runaway',
    input: { mode: 'ok', value: from + i },
  }));

describe('a crash charges only the micro-task that was running', () => {
  it('micro-tasks queued behind a crasher on its swarmlet go back free (maxAttempts 1)', async () => {
    swarm = await Swarm.start({ tasks: [fixture('runaway')], maxSwarmlets: 1, maxAttempts: 1 });
    await swarm.run({ tasks: oks(200) }); // measured as tiny: its swarmlet takes many at a time
    // The crasher is dispatched first, the healthy job's 500 micro-tasks behind it on the same swarmlet.
    const crasher = swarm
      .run({ type: 'runaway', input: { mode: 'kill', afterMs: 300 } })
      .catch((error: unknown) => error);
    const healthy = swarm.run({ tasks: oks(500) }) as Promise<Record<string, number>>;
    const output = await healthy;
    expect(Object.keys(output)).toHaveLength(500);
    for (let i = 0; i < 500; i++) expect(output[`ok${i}`]).toBe(i);
    const failure = await crasher;
    expect(failure).toBeInstanceOf(TaskFailedError);
    expect((failure as Error).message).toMatch(/killed by SIGKILL while running it/);
    const fault = swarm.summary().faults[0]!;
    expect(fault.requeued).toBeGreaterThan(1); // the healthy job's micro-tasks were held by the dead swarmlet
    expect(fault.charged).toBe('root');
  });

  it('a micro-task that keeps crashing its swarmlets fails its job after its attempts; the others complete', async () => {
    swarm = await Swarm.start({ tasks: [fixture('runaway')], maxSwarmlets: 2, maxAttempts: 3 });
    const crasher = swarm
      .run({ tasks: [...oks(50), { id: 'bad', type: 'runaway', input: { mode: 'exit' } }, ...oks(50, 50)] })
      .catch((error: unknown) => error);
    const healthy = await Promise.all([swarm.run({ tasks: oks(300) }), swarm.run({ tasks: oks(300, 300) })]);
    expect(healthy.map((output) => Object.keys(output as object).length)).toEqual([300, 300]);
    const failure = await crasher;
    expect(failure).toBeInstanceOf(TaskFailedError);
    expect((failure as TaskFailedError).attempts).toBe(3);
    expect((failure as Error).message).toMatch(/bad .*exited with code 3 while running it/);
    const summary = swarm.summary();
    expect(summary.faults.filter((fault) => fault.charged === 'bad')).toHaveLength(3);
    expect(summary.taskTypes[0]!.retries).toBe(2); // the crasher's two retries: nobody else paid
  });

  it('an idle swarmlet killed from outside charges nobody', async () => {
    swarm = await Swarm.start({ tasks: [fixture('runaway')], maxSwarmlets: 1, maxAttempts: 1 });
    await swarm.run({ tasks: oks(20) });
    const [live] = swarm.swarmlets().filter((s) => s.state !== 'stopped');
    process.kill(live!.pid!, 'SIGKILL');
    await expect(swarm.run({ tasks: oks(20) })).resolves.toBeDefined();
    const fault = swarm.summary().faults.find((f) => f.swarmletId === live!.id);
    expect(fault?.charged).toBeUndefined();
  });
});

describe('a failure is charged to the job that caused it', () => {
  it('a type that cannot load in swarmlets fails only the jobs that need it', async () => {
    swarm = await Swarm.start({ tasks: [fixture('runaway'), fixture('bad-warmup')], maxSwarmlets: 2 });
    const healthy = Array.from({ length: 6 }, () => swarm!.run({ tasks: oks(100) }));
    const bombs = Array.from({ length: 50 }, (_, i) => ({ id: `b${i}`, type: 'bad-warmup', input: null }));
    const broken = swarm.run({ tasks: bombs }).catch((error: unknown) => error);
    const outputs = await Promise.all(healthy);
    expect(outputs.every((output) => Object.keys(output as object).length === 100)).toBe(true);
    expect(await broken).toBeInstanceOf(TaskModuleError);
    // A job submitted right after still runs.
    await expect(swarm.run({ type: 'runaway', input: { mode: 'ok', value: 7 } })).resolves.toBe(7);
    // The failed job's waiting micro-tasks were cancelled: nothing keeps starting swarmlets for them.
    await swarm.run({
      tasks: Array.from({ length: 20 }, (_, i) => ({ ...oks(1, i)[0]!, deps: i > 0 ? [`ok${i - 1}`] : [] })),
    });
    expect(swarm.swarmlets().filter((s) => s.taskType === 'bad-warmup').length).toBeLessThanOrEqual(2);
  });
});

describe('a bug in Swarmlet is reported as one, charged to the job it happened in', () => {
  it('a throw while recording one job’s results fails that job alone, naming it; the others complete', async () => {
    const { JobTracker } = await import('../src/runtime/jobs/job-tracker.js');
    const completed = JobTracker.prototype.completed;
    const spy = vi.spyOn(JobTracker.prototype, 'completed').mockImplementation(function (this: JobTracker, id, output) {
      if (output === 666) throw new TypeError('boom inside the tracker');
      return completed.call(this, id, output);
    });
    try {
      swarm = await Swarm.start({ tasks: [fixture('runaway')], maxSwarmlets: 2 });
      const victim = swarm.run({
        tasks: [...oks(20), { id: 'x', type: 'runaway', input: { mode: 'ok', value: 666 } }],
      });
      const others = [swarm.run({ tasks: oks(200) }), swarm.run({ tasks: oks(200, 200) })];
      const failure = await victim.catch((error: unknown) => error);
      expect(failure).toBeInstanceOf(SwarmletBugError);
      expect((failure as Error).message).toMatch(
        /internal error in Swarmlet while running job \d+: boom inside the tracker/,
      );
      const outputs = await Promise.all(others);
      expect(outputs.map((output) => Object.keys(output as object).length)).toEqual([200, 200]);
      expect(swarm.summary().faults.some((fault) => /internal error in job \d+/.test(fault.detail))).toBe(true);
    } finally {
      spy.mockRestore();
    }
  });

  it('a control loop that throws now and then is reported and goes on; one that always throws fails the jobs', async () => {
    let ticks = 0;
    const flaky: Policy = {
      name: 'flaky',
      initialState: () => null,
      decide: (state, snapshot) => {
        if (++ticks % 2 === 0) throw new Error('policy bug');
        return staticPolicy({ runaway: 2 }).decide(state as never, snapshot);
      },
    };
    swarm = await Swarm.start({ tasks: [fixture('runaway')], maxSwarmlets: 2, policy: flaky, tickMs: 5 });
    await expect(swarm.run({ tasks: oks(100) })).resolves.toBeDefined();
    expect(swarm.summary().faults.some((fault) => fault.detail === 'internal error: policy bug')).toBe(true);
    await swarm.stop();

    const broken: Policy = {
      name: 'broken',
      initialState: () => null,
      decide: () => {
        throw new Error('policy always fails');
      },
    };
    swarm = await Swarm.start({ tasks: [fixture('runaway')], maxSwarmlets: 2, policy: broken, tickMs: 5 });
    const failure = await swarm.run({ tasks: oks(10) }).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(SwarmletBugError);
    expect((failure as Error).message).toMatch(/policy always fails/);
  });
});

describe('a crashed swarmlet is replaced at once', () => {
  it('from a spare process forked ahead, logged as a replicate with its reason', async () => {
    swarm = await Swarm.start({ tasks: [fixture('runaway')], maxSwarmlets: 1, maxAttempts: 3 });
    await swarm.run({ tasks: oks(10) });
    // One swarmlet and two spare processes (no type yet) are children of this process.
    const hosts = () =>
      execFileSync('pgrep', ['-P', String(process.pid), '-f', 'swarmlet-host'], { encoding: 'utf8' })
        .trim()
        .split('\n');
    expect(hosts()).toHaveLength(3);
    // As root, spares boot at the lowest priority, and a swarmlet taken from them has its priority back.
    const priorities = () =>
      asRoot
        ? hosts()
            .map((pid) => getPriority(Number(pid)))
            .sort()
        : [0, 19, 19];
    expect(priorities()).toEqual([0, 19, 19]);
    const output = await swarm.run({
      tasks: [{ id: 'crash', type: 'runaway', input: { mode: 'kill', onAttempts: 1 } }, ...oks(100)],
    });
    expect(Object.keys(output as object)).toHaveLength(101);
    const replicas = swarm.summary().actions.replicate ?? [];
    expect(replicas.some((group) => /^runaway: replaces s1 \(killed by SIGKILL\)$/.test(group.reason))).toBe(true);
    // The replacement came from a spare: it runs at normal priority, and a new spare waits at the lowest.
    expect(priorities()).toEqual([0, 19, 19]);
  });
});

describe('what a swarmlet killed with -9 leaves behind', () => {
  it('box folders of processes that are gone are swept when a swarm starts', async () => {
    const gone = spawnSync('true').pid!; // a process id that has exited
    const stale = join('/dev/shm', `swarmlet-${gone}`);
    mkdirSync(stale, { recursive: true });
    writeFileSync(join(stale, 'p1.box'), Buffer.alloc(8));
    swarm = await Swarm.start({ tasks: [fixture('runaway')], maxSwarmlets: 1 });
    expect(existsSync(stale)).toBe(false);
  });
});
