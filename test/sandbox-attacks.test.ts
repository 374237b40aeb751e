import { running } from './support/processes.js';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer, type Server } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { TaskFailedError } from '../src/core/errors.js';
import { isAlive } from '../src/runtime/local/black-box.js';
import { ProcessProvider } from '../src/runtime/local/process-provider.js';
import { wallEnvironment } from '../src/runtime/local/wall-environment.js';
import { bwrapAvailable, nodeModulesAbove, type SandboxKind } from '../src/runtime/local/sandbox.js';
import { compileTaskModule } from '../src/runtime/local/task-compiler.js';
import type { WireResult } from '../src/runtime/local/wire.js';
import type { ProviderEvents } from '../src/runtime/provider.js';
import { SWARMLET_ENV_PASSED } from '../src/runtime/local/swarmlet-process.js';
import { Swarm } from '../src/swarm.js';

// A hostile task against each sandbox this machine runs: one contract, every kind. CI installs bubblewrap and sets
// SWARMLET_REQUIRE_BWRAP=1, so the bwrap half can never be skipped there unnoticed.
const attack = 'test/fixtures/attack.task.ts';
const network = 'test/fixtures/network.task.ts';
const SECRET = 'swarmlet-test-secret-7f3a';

const sandboxed: SandboxKind[] = ['process', ...(bwrapAvailable() ? (['bwrap'] as const) : [])];
let swarm: Swarm | undefined;
let server: Server;
let port = 0;
let connections = 0;

beforeAll(async () => {
  server = createServer((socket) => (connections++, socket.destroy()));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as { port: number }).port;
  process.env.SWARMLET_TEST_TOKEN = SECRET;
});
afterAll(async () => {
  delete process.env.SWARMLET_TEST_TOKEN;
  await new Promise((resolve) => server.close(resolve));
});
afterEach(async () => {
  await swarm?.stop();
  swarm = undefined;
});

const start = (sandbox: SandboxKind | 'auto', tasks = [attack]) =>
  Swarm.start({ tasks, sandbox, maxSwarmlets: 2, maxAttempts: 1, swarmletMemoryLimitMb: 300 });

/** What a micro-task of the attack type got: its output, or the message the client was told. */
async function tryAttack(input: object): Promise<{ ok: true; value: unknown } | { ok: false; message: string }> {
  try {
    return { ok: true, value: await swarm!.run({ type: 'attack', input }) };
  } catch (error) {
    expect(error).toBeInstanceOf(TaskFailedError);
    return { ok: false, message: (error as Error).message };
  }
}

const DENIED = /ERR_ACCESS_DENIED|Access to this API has been restricted/;

it('runs bwrap where this machine has it (CI requires it)', () => {
  if (process.env.SWARMLET_REQUIRE_BWRAP === '1') expect(bwrapAvailable()).toBe(true);
  expect(sandboxed).toContain('process');
});

describe.each(sandboxed)('sandbox %s holds a hostile task in', (kind) => {
  it('and still runs honest work', async () => {
    swarm = await start(kind);
    expect(
      await swarm.run({ tasks: [1, 2, 3].map((i) => ({ id: `t${i}`, type: 'attack', input: { attack: 'ok' } })) }),
    ).toEqual({ t1: 'ok', t2: 'ok', t3: 'ok' });
    expect(swarm.summary().limits.sandbox).toBe(kind);
  });

  it('refuses reads of the home folder and /etc/shadow, and writes outside its black box', async () => {
    swarm = await start(kind);
    for (const input of [
      { attack: 'list-home' },
      { attack: 'read', path: '/etc/shadow' },
      { attack: 'read', path: '/etc/passwd' },
      { attack: 'write', path: '/tmp/swarmlet-attack-was-here' },
    ]) {
      const got = await tryAttack(input);
      expect(got, JSON.stringify(input)).toMatchObject({ ok: false, message: expect.stringMatching(DENIED) });
    }
  });

  it('refuses child processes (sh, a detached busy loop), native bindings; the reason reaches the client', async () => {
    swarm = await start(kind);
    for (const input of [
      { attack: 'spawn-sh' },
      { attack: 'spin-and-leave', marker: 'never' },
      { attack: 'binding' },
    ]) {
      const got = await tryAttack(input);
      expect(got, JSON.stringify(input)).toMatchObject({ ok: false, message: expect.stringMatching(DENIED) });
    }
  });

  it('fails a refused micro-task at once: the same call is refused on every attempt', async () => {
    swarm = await Swarm.start({ tasks: [attack], sandbox: kind, maxSwarmlets: 2, maxAttempts: 3 });
    const got = await tryAttack({ attack: 'read', path: '/etc/shadow' });
    expect(got).toMatchObject({ ok: false, message: expect.stringMatching(/failed after 1 attempt\(s\)/) });
    expect(swarm.summary().taskTypes.find((type) => type.taskType === 'attack')?.retries).toBe(0);
  });

  it('sees no secret in its environment', async () => {
    swarm = await start(kind);
    const got = await tryAttack({ attack: 'env' });
    if (!got.ok) throw new Error(got.message);
    const env = got.value as Record<string, string>;
    expect(JSON.stringify(env)).not.toContain(SECRET);
    const { PWD, ...passed } = env;
    for (const name of Object.keys(passed)) expect(SWARMLET_ENV_PASSED as readonly string[]).toContain(name);
    expect(PWD).toBe(kind === 'bwrap' ? '/tmp' : undefined); // bwrap says where it put the swarmlet
  });

  it('is stopped when it allocates past its memory limit, with the reason', async () => {
    swarm = await start(kind);
    const got = await tryAttack({ attack: 'allocate', mb: 1200 });
    expect(got).toMatchObject({ ok: false, message: expect.stringMatching(/memory limit of 300 MB/) });
    expect(await swarm.run({ type: 'attack', input: { attack: 'ok' } })).toBe('ok');
  });

  it(`${kind === 'bwrap' ? 'has no network' : 'may reach the network (Node 20 has no network rule)'} unless its type declares it`, async () => {
    swarm = await start(kind, [attack, network]);
    const before = connections;
    const got = await tryAttack({ attack: 'connect', port });
    if (kind === 'bwrap') {
      expect(got).toMatchObject({ ok: false });
      expect(connections).toBe(before);
    } else expect(got).toEqual({ ok: true, value: 'connected' });
    // The declared type connects, also in a swarmlet that served the other type first (it is replaced, with network).
    const declared = await swarm.run({
      tasks: Array.from({ length: 6 }, (_, i) => ({ id: `n${i}`, type: 'network', input: { port } })),
    });
    expect(Object.values(declared as object)).toEqual(Array(6).fill('connected'));
    expect(await swarm.run({ type: 'attack', input: { attack: 'ok' } })).toBe('ok');
  });
});

describe('without a sandbox', () => {
  it('what a task leaves running (a detached busy loop) dies with its swarm', async () => {
    swarm = await start('none');
    const got = await tryAttack({ attack: 'spin-and-leave', marker: 'orphan-check' });
    if (!got.ok) throw new Error(got.message);
    const pid = got.value as number;
    expect(isAlive(pid)).toBe(true);
    await swarm.stop();
    swarm = undefined;
    for (let i = 0; i < 50 && running(pid); i++) await new Promise((resolve) => setTimeout(resolve, 20));
    expect(running(pid)).toBe(false);
  });
});

describe.runIf(bwrapAvailable())('a swarmlet without network asked to serve a type that declares it', () => {
  it('is replaced under the same id, with network, and its other type still loaded', async () => {
    const cacheDir = join(await mkdtemp(join(tmpdir(), 'swarmlet-network-')), 'cache');
    const [attackModule, networkModule] = await Promise.all(
      [attack, network].map(async (path) => (await compileTaskModule(path, cacheDir)).modulePath),
    );
    const events: string[] = [];
    const answers = new Map<number, unknown>();
    const sink = {
      up: (id: string) => void events.push(`up ${id}`),
      ready: (id: string, type: string) => void events.push(`ready ${id} ${type}`),
      loadFailed: (id: string, type: string, _at: number, message: string) =>
        void events.push(`failed ${type}: ${message}`),
      results: (_id: string, results: WireResult[]) => {
        for (const [taskId, , value] of results) answers.set(taskId, value);
      },
      sample: () => undefined,
      state: () => undefined,
      stateFailed: () => undefined,
      exited: (id: string, _at: number, detail: string) => void events.push(`exited ${id}: ${detail}`),
    } as ProviderEvents;
    const provider = new ProcessProvider(sink, wallEnvironment, {
      monitorIntervalMs: 60_000,
      spares: 0,
      sandbox: { kind: 'bwrap', readPaths: [cacheDir, ...nodeModulesAbove(cacheDir)] },
      permissionsOf: (type) => (type === 'network' ? ['network'] : []),
    });
    const until = async (check: () => boolean) => {
      for (const deadline = performance.now() + 20_000; !check(); await new Promise((r) => setTimeout(r, 10)))
        if (performance.now() > deadline) throw new Error(`timed out; events: ${events.join(' | ')}`);
    };
    try {
      provider.start('s1', 'attack', attackModule!);
      await until(() => events.includes('ready s1 attack'));
      const firstPid = provider.pidOf('s1');
      provider.load('s1', 'network', networkModule!, true);
      await until(() => events.includes('ready s1 network'));
      expect(provider.pidOf('s1')).not.toBe(firstPid); // a new process took its place
      provider.dispatch('s1', [[1, 0, { port }, 0, 1, null, 'n1']]);
      await until(() => answers.has(1));
      expect(answers.get(1)).toBe('connected');
      expect(events.filter((e) => e.startsWith('exited') || e.startsWith('failed'))).toEqual([]); // replaced silently
    } finally {
      await provider.stopAll();
    }
  });
});
