import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ProcessProvider } from '../src/runtime/local/process-provider.js';
import { wallEnvironment } from '../src/runtime/local/wall-environment.js';
import { compileTaskModule } from '../src/runtime/local/task-compiler.js';
import type { WireTask } from '../src/runtime/local/wire.js';
import type { Provider, ProviderEvents } from '../src/runtime/provider.js';
import { SimProvider } from '../src/sim/environment/sim-provider.js';
import { VirtualEnvironment } from '../src/sim/environment/virtual-environment.js';

// One contract, every environment the orchestrator runs in (issue 13): swarmlets as real processes on the wall clock,
// and simulated ones on a virtual clock, answer the same calls with the same events in the same order.
type Event =
  | { kind: 'up'; id: string }
  | { kind: 'ready'; id: string; taskType: string; activated: boolean }
  | { kind: 'results'; id: string; taskIds: number[] }
  | { kind: 'exited'; id: string; detail: string; lastStarted: number | null | undefined };

interface Harness {
  readonly provider: Provider;
  readonly events: Event[];
  /** Lets time pass until `check` holds (the wall clock: polls; the virtual one: steps). */
  until(what: string, check: () => boolean): Promise<void>;
  close(): Promise<void>;
}

function recorder(events: Event[]): ProviderEvents {
  return {
    up: (id) => void events.push({ kind: 'up', id }),
    ready: (id, taskType, _atMs, _loadMs, activated) => void events.push({ kind: 'ready', id, taskType, activated }),
    loadFailed: (id, taskType, _atMs, message) => {
      throw new Error(`${id} failed to load ${taskType}: ${message}`);
    },
    results: (id, results) => void events.push({ kind: 'results', id, taskIds: results.map((r) => r[0]) }),
    sample: () => undefined,
    state: () => undefined,
    stateFailed: () => undefined,
    exited: (id, _atMs, detail, lastStarted) => void events.push({ kind: 'exited', id, detail, lastStarted }),
  };
}

const modules = new Map<string, string>();
beforeAll(async () => {
  const cacheDir = join(await mkdtemp(join(tmpdir(), 'swarmlet-contract-')), 'cache');
  for (const type of ['a', 'b'])
    modules.set(
      `contract-${type}`,
      (await compileTaskModule(`test/fixtures/contract-${type}.task.ts`, cacheDir)).modulePath,
    );
});

const environments: Record<string, () => Harness> = {
  process: () => {
    const events: Event[] = [];
    const provider = new ProcessProvider(recorder(events), wallEnvironment, {
      monitorIntervalMs: 60_000,
      spares: 0,
    });
    return {
      provider,
      events,
      async until(what, check) {
        for (const deadline = performance.now() + 20_000; !check(); await new Promise((r) => setImmediate(r)))
          if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      },
      close: () => provider.stopAll(),
    };
  },
  simulated: () => {
    const events: Event[] = [];
    const environment = new VirtualEnvironment();
    const work = (input: unknown) => ({ ms: (input as { ms: number }).ms, cpuCores: 1, memoryMb: 0 });
    const provider = new SimProvider(recorder(events), environment, { coldStartMs: 80, loadMs: 20, stopMs: 5 }, work);
    return {
      provider,
      events,
      async until(what, check) {
        while (!check()) if (!environment.step()) throw new Error(`nothing left to happen, waiting for ${what}`);
      },
      close: () => provider.stopAll(),
    };
  },
};

let harness: Harness | undefined;
afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

let nextId = 1;
const task = (ms: number): WireTask => {
  const id = nextId++;
  return [id, 0, { ms, value: id }, 0, 1, null, `t${id}`];
};
const of = <K extends Event['kind']>(events: Event[], kind: K) =>
  events.filter((e): e is Extract<Event, { kind: K }> => e.kind === kind);

describe.each(Object.keys(environments))('provider contract: %s', (name) => {
  const open = () => (harness = environments[name]!());
  const startReady = async (h: Harness, id: string, type = 'contract-a') => {
    h.provider.start(id, type, modules.get(type)!);
    await h.until(`${id} ready`, () => of(h.events, 'ready').some((e) => e.id === id));
  };

  it('start: up, then ready for its type, activated', async () => {
    const h = open();
    await startReady(h, 's1');
    const mine = h.events.filter((e) => e.id === 's1');
    expect(mine.map((e) => e.kind)).toEqual(['up', 'ready']);
    expect(mine[1]).toMatchObject({ taskType: 'contract-a', activated: true });
  });

  it('dispatch: every micro-task answered once, in order', async () => {
    const h = open();
    await startReady(h, 's1');
    const tasks = [task(5), task(5), task(5)];
    h.provider.dispatch('s1', tasks);
    const answered = () => of(h.events, 'results').flatMap((e) => e.taskIds);
    await h.until('3 results', () => answered().length >= 3);
    expect(answered()).toEqual(tasks.map((t) => t[0]));
  });

  it('load with activate: ready for the new type, which it then serves', async () => {
    const h = open();
    await startReady(h, 's1');
    h.provider.load('s1', 'contract-b', modules.get('contract-b')!, true);
    await h.until('contract-b ready', () => of(h.events, 'ready').some((e) => e.taskType === 'contract-b'));
    expect(of(h.events, 'ready').at(-1)).toMatchObject({ id: 's1', taskType: 'contract-b', activated: true });
    const one = task(1);
    h.provider.dispatch('s1', [one]);
    await h.until('its result', () => of(h.events, 'results').some((e) => e.taskIds.includes(one[0])));
  });

  it('drop: queued micro-tasks it was told to skip are never answered', async () => {
    const h = open();
    await startReady(h, 's1');
    const [running, skipped, kept] = [task(200), task(5), task(5)];
    h.provider.dispatch('s1', [running, skipped, kept]);
    h.provider.drop('s1', [skipped[0]]);
    const answered = () => of(h.events, 'results').flatMap((e) => e.taskIds);
    await h.until('the kept one', () => answered().includes(kept[0]));
    expect(answered()).toEqual([running[0], kept[0]]);
  });

  it('kill while running: exited with the reason, naming the micro-task it was running', async () => {
    const h = open();
    await startReady(h, 's1');
    const long = task(60_000);
    h.provider.dispatch('s1', [long]);
    await h.until('it runs', () => h.provider.lastStarted?.('s1') === long[0]);
    h.provider.kill('s1', 'was stopped by the contract');
    await h.until('exited', () => of(h.events, 'exited').length > 0);
    expect(of(h.events, 'exited')[0]).toMatchObject({ id: 's1', lastStarted: long[0] });
    expect(of(h.events, 'exited')[0]!.detail).toContain('was stopped by the contract');
    expect(of(h.events, 'results')).toEqual([]);
  });

  it('stop, and stopAll: every swarmlet exits once', async () => {
    const h = open();
    await startReady(h, 's1');
    await startReady(h, 's2');
    h.provider.stop('s1');
    await h.until('s1 exited', () => of(h.events, 'exited').some((e) => e.id === 's1'));
    await h.provider.stopAll();
    await h.until('s2 exited', () => of(h.events, 'exited').some((e) => e.id === 's2'));
    expect(
      of(h.events, 'exited')
        .map((e) => e.id)
        .sort(),
    ).toEqual(['s1', 's2']);
  });
});
