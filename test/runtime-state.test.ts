/**
 * Stateful task types (snapshot/restore) in a real embedded swarm: the state moves with a swarmlet
 * that is specialized away and back, or stopped and started again; stateless types get no message.
 * A scripted policy forces the morphs; waits poll with a bound.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi, type MockInstance } from 'vitest';
import type { Action } from '../src/core/actions.js';
import { defineTask } from '../src/core/define-task.js';
import { InputError } from '../src/core/errors.js';
import type { Policy } from '../src/decide/policy.js';
import type { Snapshot, SwarmletView } from '../src/decide/snapshot.js';
import { ProcessProvider } from '../src/runtime/local/process-provider.js';
import { wallEnvironment } from '../src/runtime/local/wall-environment.js';
import { compileTaskModule } from '../src/runtime/local/task-compiler.js';
import type { WireTask } from '../src/runtime/local/wire.js';
import type { ProviderEvents } from '../src/runtime/provider.js';
import { MAX_STATE_BYTES, stateProblem } from '../src/runtime/local/wire.js';
import { Swarm } from '../src/swarm.js';

const COUNTER = 'test/fixtures/stateful-counter.task.ts';
const NOOP = 'test/fixtures/noop.task.ts';
const BROKEN = 'test/fixtures/stateful-broken.task.ts';

/**
 * One swarmlet for a type with work waiting and none serving it (room permitting), plus actions the
 * test asks for: `force` returns once the policy has emitted them.
 */
function scriptedPolicy() {
  let script: ((snapshot: Snapshot) => Action[]) | undefined;
  const policy: Policy<null> = {
    name: 'scripted',
    initialState: () => null,
    decide(state, snapshot) {
      const live = snapshot.swarmlets.filter((s) => s.state !== 'stopped' && s.state !== 'draining');
      const actions: Action[] = [];
      for (const load of snapshot.load) {
        if (
          load.ready > 0 &&
          !live.some((s) => s.taskType === load.taskType) &&
          live.length + actions.length < snapshot.limits.maxSwarmlets
        ) {
          actions.push({ kind: 'replicate', taskType: load.taskType, reason: `scripted: ${load.taskType} has work` });
        }
      }
      if (script) actions.push(...script(snapshot));
      script = undefined;
      return { state, decision: { actions, unplaced: [] } };
    },
  };
  return {
    policy: policy as Policy,
    force: (next: (swarmlets: readonly SwarmletView[]) => Action[]) =>
      void (script = (snapshot) => next(snapshot.swarmlets)),
  };
}

const live = (swarm: Swarm) => swarm.swarmlets().filter((s) => s.state !== 'stopped');
/** Bounded polling: every 10 ms, 10 s at most. */
const until = (check: () => void) => vi.waitFor(check, { timeout: 10_000, interval: 10 });

let swarm: Swarm | undefined;
let dir: string;
let snapshots: MockInstance<ProcessProvider['snapshot']>;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'swarmlet-state-test-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});
afterEach(async () => {
  await stopSwarm();
  snapshots.mockRestore();
});

async function stopSwarm(): Promise<void> {
  await swarm?.stop();
  swarm = undefined;
}

async function start(tasks: string[], maxSwarmlets = 1) {
  snapshots = vi.spyOn(ProcessProvider.prototype, 'snapshot');
  const script = scriptedPolicy();
  swarm = await Swarm.start({ tasks, maxSwarmlets, tickMs: 20, policy: script.policy });
  return { swarm, force: script.force };
}

const counter = (s: Swarm, input: unknown = null) => s.run({ type: 'counter', input }) as Promise<number>;
const typesAsked = () => snapshots.mock.calls.map(([, taskType]) => taskType);

describe('stateful task types in the embedded runtime', () => {
  it('a swarmlet specialized away from a stateful type and back restores its count', async () => {
    const { swarm, force } = await start([COUNTER, NOOP]);
    for (const expected of [1, 2, 3]) expect(await counter(swarm)).toBe(expected);
    const [first] = live(swarm);
    force((swarmlets) =>
      swarmlets.map((s) => ({
        kind: 'specialize',
        swarmletId: s.id,
        fromTaskType: 'counter',
        toTaskType: 'noop',
        reason: 'test: away',
      })),
    );
    await until(() => expect(live(swarm)).toMatchObject([{ id: first!.id, taskType: 'noop', state: 'idle' }]));
    expect(await swarm.run({ type: 'noop', input: 'n' })).toBe('n');
    force((swarmlets) =>
      swarmlets.map((s) => ({
        kind: 'specialize',
        swarmletId: s.id,
        fromTaskType: 'noop',
        toTaskType: 'counter',
        reason: 'test: back',
      })),
    );
    await until(() => expect(live(swarm)).toMatchObject([{ id: first!.id, taskType: 'counter', state: 'idle' }]));
    expect(await counter(swarm)).toBe(4); // continues from the snapshot, not from 0
    expect(typesAsked()).toEqual(['counter']); // once, when it left counter; never for noop
    expect(swarm.summary().faults).toEqual([]);
  });

  it('last writer wins per type: a swarmlet specialized back to a type it kept warm restores the latest state, not its own', async () => {
    const { swarm, force } = await start([COUNTER, NOOP], 2);
    for (const expected of [1, 2, 3]) expect(await counter(swarm)).toBe(expected);
    const [first] = live(swarm);
    force(() => [
      { kind: 'specialize', swarmletId: first!.id, fromTaskType: 'counter', toTaskType: 'noop', reason: 'test: away' },
    ]);
    await until(() => expect(live(swarm)).toMatchObject([{ id: first!.id, taskType: 'noop', state: 'idle' }]));
    // A second swarmlet starts for counter with the saved 3, counts on, and is stopped: it saves 5.
    for (const expected of [4, 5]) expect(await counter(swarm)).toBe(expected);
    const second = live(swarm).find((s) => s.taskType === 'counter')!;
    force(() => [{ kind: 'deprovision', swarmletId: second.id, reason: 'test: stop it' }]);
    await until(() => expect(live(swarm).map((s) => s.id)).toEqual([first!.id]));
    // The first still holds 3 in its warm counter module; it restores the latest, 5.
    force(() => [
      { kind: 'specialize', swarmletId: first!.id, fromTaskType: 'noop', toTaskType: 'counter', reason: 'test: back' },
    ]);
    await until(() => expect(live(swarm)).toMatchObject([{ id: first!.id, taskType: 'counter', state: 'idle' }]));
    expect(await counter(swarm)).toBe(6);
  });

  it('a stopped swarmlet hands its state to the next one started for the type, also a big state', async () => {
    const { swarm, force } = await start([COUNTER]);
    expect(await counter(swarm, { pad: 100_000 })).toBe(1); // a state too big for the fork's environment
    expect(await counter(swarm)).toBe(2);
    const [first] = live(swarm);
    force((swarmlets) => swarmlets.map((s) => ({ kind: 'deprovision', swarmletId: s.id, reason: 'test: stop it' })));
    await until(() => expect(live(swarm)).toEqual([]));
    expect(await counter(swarm)).toBe(3);
    const [second] = live(swarm);
    expect(second!.id).not.toBe(first!.id); // a new process restored the count
    expect(typesAsked()).toEqual(['counter']);
  });

  it('swarm.stop() takes a snapshot of each stateful swarmlet that ran work', async () => {
    const log = join(dir, 'stop.log');
    const { swarm } = await start([COUNTER]);
    for (const expected of [1, 2]) expect(await counter(swarm, { log })).toBe(expected);
    expect(typesAsked()).toEqual([]);
    await stopSwarm();
    expect(typesAsked()).toEqual(['counter']);
    expect(await readFile(log, 'utf8')).toBe('2\n'); // the swarmlet answered with its count before it was stopped
  });

  it('stateless types never get a snapshot request, whatever happens to their swarmlets', async () => {
    const { swarm, force } = await start([NOOP], 2);
    await Promise.all(Array.from({ length: 50 }, (_, i) => swarm.run({ type: 'noop', input: i })));
    force((swarmlets) => swarmlets.map((s) => ({ kind: 'deprovision', swarmletId: s.id, reason: 'test: stop it' })));
    await until(() => expect(live(swarm)).toEqual([]));
    expect(await swarm.run({ type: 'noop', input: 'again' })).toBe('again');
    await stopSwarm();
    expect(snapshots).not.toHaveBeenCalled();
  });

  it('a snapshot that is not JSON is reported as a fault; the swarmlet still stops and the next starts without state', async () => {
    const { swarm, force } = await start([BROKEN]);
    expect(await swarm.run({ type: 'broken-state', input: null })).toBe(1);
    force((swarmlets) => swarmlets.map((s) => ({ kind: 'deprovision', swarmletId: s.id, reason: 'test: stop it' })));
    await until(() => expect(live(swarm)).toEqual([]));
    const [fault] = swarm.summary().faults;
    expect(fault!.detail).toMatch(
      /^state of broken-state not saved: snapshot\(\) returned data that is not JSON-serializable \(.*circular.*\)\. Fix: /i,
    );
    expect(await swarm.run({ type: 'broken-state', input: null })).toBe(1);
  });
});

describe('stateProblem (checked in the swarmlet before a state is sent)', () => {
  it('accepts JSON data within the limit and names what is wrong otherwise', () => {
    expect(stateProblem({ count: 3, seen: ['a'] })).toBeUndefined();
    expect(stateProblem(null)).toBeUndefined();
    expect(stateProblem(undefined)).toMatch(/returned undefined\. Fix: return the state as JSON data/);
    expect(stateProblem(() => 1)).toMatch(/returned a function/);
    expect(stateProblem({ big: 10n })).toMatch(/not JSON-serializable \(.*BigInt.*\)/);
    expect(stateProblem({ text: 'x'.repeat(100) }, 64)).toMatch(
      /returned 111 bytes of JSON, over the limit of 64\. Fix: keep the state small/,
    );
    expect(MAX_STATE_BYTES).toBe(16 * 1024 * 1024);
  });
});

describe('defineTask with snapshot/restore', () => {
  const run = () => 1;
  it('accepts both hooks, and rejects one without the other, naming the missing field and the fix', () => {
    expect(defineTask({ name: 'kept', run, snapshot: () => ({}), restore: () => undefined }).snapshot).toBeTypeOf(
      'function',
    );
    expect(() => defineTask({ name: 'half', run, snapshot: () => ({}) })).toThrow(InputError);
    expect(() => defineTask({ name: 'half', run, snapshot: () => ({}) })).toThrow(
      'defineTask(half).restore: is missing while snapshot is given. Fix: add restore(state)',
    );
    expect(() => defineTask({ name: 'half', run, restore: () => undefined })).toThrow(
      'defineTask(half).snapshot: is missing while restore is given. Fix: add snapshot()',
    );
    expect(() => defineTask({ name: 'odd', run, snapshot: 3, restore: () => undefined } as never)).toThrow(
      'defineTask(odd).snapshot: must be a function',
    );
  });
});

describe('the swarmlet host protocol for state', () => {
  /** A provider whose events are recorded in arrival order. */
  function recordingProvider() {
    const events: [string, ...unknown[]][] = [];
    const note =
      (name: string) =>
      (...args: unknown[]) =>
        void events.push([name, ...args]);
    const sink = {
      up: note('up'),
      ready: note('ready'),
      loadFailed: note('loadFailed'),
      results: note('results'),
      sample: () => undefined,
      state: note('state'),
      stateFailed: note('stateFailed'),
      exited: note('exited'),
    } as ProviderEvents;
    return {
      events,
      provider: new ProcessProvider(sink, wallEnvironment, { monitorIntervalMs: 60_000 }),
    };
  }
  const tasks = (from: number, count: number): WireTask[] =>
    Array.from({ length: count }, (_, i) => [from + i, 0, null, 0, 1, null, `t${from + i}`]);

  it('restores a given state before ready, says the type is stateful, and answers a snapshot after the micro-tasks sent before it', async () => {
    const { modulePath } = await compileTaskModule(COUNTER, join(dir, 'cache'));
    const { events, provider } = recordingProvider();
    try {
      provider.start('s1', 'counter', modulePath, { count: 10, pad: '' });
      await until(() =>
        expect(events.find(([name]) => name === 'ready')).toMatchObject([
          'ready',
          's1',
          'counter',
          expect.any(Number),
          expect.any(Number),
          true,
          true,
        ]),
      );
      provider.dispatch('s1', tasks(1, 40));
      provider.snapshot('s1', 'counter'); // queued behind the 40
      provider.dispatch('s1', tasks(41, 5)); // not in the snapshot
      await until(() =>
        expect(
          events.filter(([name]) => name === 'results').flatMap(([, , results]) => results as unknown[]),
        ).toHaveLength(45),
      );
      const stateAt = events.findIndex(([name]) => name === 'state');
      expect(events[stateAt]).toEqual(['state', 's1', 'counter', expect.any(Number), { count: 50, pad: '' }]);
      const before = events
        .slice(0, stateAt)
        .filter(([name]) => name === 'results')
        .flatMap(([, , results]) => results as [number, number, unknown][]);
      // every result before it arrived first
      expect(before.map(([id]) => id)).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
      expect(before.at(-1)![2]).toBe(50);

      provider.load('s1', 'counter', modulePath, true, { count: 100, pad: '' }); // a load of a warm type restores too
      await until(() => expect(events.filter(([name]) => name === 'ready')).toHaveLength(2));
      provider.dispatch('s1', tasks(46, 1));
      await until(() =>
        expect(
          events
            .filter(([name]) => name === 'results')
            .flatMap(([, , results]) => results as [number, number, unknown][])
            .at(-1)
            ?.slice(0, 3),
        ).toEqual([46, 0, 101]),
      );
    } finally {
      await provider.stopAll();
    }
  });

  it('a restore that throws fails the load with its message', async () => {
    const { modulePath } = await compileTaskModule(COUNTER, join(dir, 'cache'));
    const { events, provider } = recordingProvider();
    try {
      provider.start('s1', 'counter', modulePath, null); // restore destructures null: throws
      await until(() =>
        expect(events.find(([name]) => name === 'loadFailed')).toEqual([
          'loadFailed',
          's1',
          'counter',
          expect.any(Number),
          expect.stringMatching(/^restore\(state\) failed: /),
        ]),
      );
    } finally {
      await provider.stopAll();
    }
  });
});
