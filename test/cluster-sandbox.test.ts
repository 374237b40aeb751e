/**
 * A hostile task type on a real cluster (issue 12): a real redis-server that wants a password, a director and a
 * personal agent (consent granted, sandbox left to its default: auto) started as the CLI is, and a signed client
 * that submits the attack fixture's micro-tasks one job each. Each attack is refused or contained, and the client's
 * job says why. The same attacks run on an agent with `--sandbox process`, and on one with `--sandbox none
 * --allow-unsandboxed` (what the owner accepts by that flag is written down as it is).
 */
import { running } from './support/processes.js';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { runOnCluster } from '../src/runtime/cluster/cluster-client.js';
import { readLiveNodes } from '../src/runtime/cluster/live-nodes.js';
import { keys, type JobOutcome } from '../src/runtime/cluster/protocol.js';
import { bwrapAvailable, type SandboxKind } from '../src/runtime/local/sandbox.js';
import { SWARMLET_ENV_PASSED } from '../src/runtime/local/swarmlet-process.js';
import { spawnCli, waitFor, type Child } from './support/cluster.js';
import { startRedisServer, type RedisServer } from './support/redis-server.js';
import { TEST_PUBLIC_KEY_PATH, TEST_SIGN_KEY } from './support/signing.js';

const PASSWORD = 'pw-sandbox-9d41c7-requirepass';
/** In the agent's own environment only: a swarmlet that can read it has read the agent's environment. */
const AGENT_SECRET = 'agent-env-secret-3be02f';
const TTL_MS = 1_500;
const ATTACK = 'test/fixtures/attack.task.ts';
const DENIED = /ERR_ACCESS_DENIED.*refused by the swarmlet's sandbox/;
const k = keys('swarmlet');

let server: RedisServer;
let url: string;
let redis: Redis;
let tcp: Server;
let port = 0;
let connections = 0;
let children: Child[] = [];
const work = mkdtempSync(join(tmpdir(), 'swarmlet-cluster-sandbox-'));
/** The agent's HOME, holding a file only its owner should read. */
const home = join(work, 'home');

beforeAll(async () => {
  server = await startRedisServer({ args: ['--requirepass', PASSWORD] });
  url = server.url.replace('://', `://:${PASSWORD}@`);
  redis = new Redis(url);
  tcp = createServer((socket) => (connections++, socket.destroy()));
  await new Promise<void>((resolve) => tcp.listen(0, '127.0.0.1', resolve));
  port = (tcp.address() as { port: number }).port;
  mkdirSync(home);
  writeFileSync(join(home, 'private.txt'), 'the owner only');
});
afterEach(async () => {
  await Promise.all(children.map((child) => child.stop('SIGKILL')));
  children = [];
  await redis.flushall();
});
afterAll(async () => {
  await redis.quit();
  await new Promise((resolve) => tcp.close(resolve));
  await server.stop();
});

/** What a child logged, one message a line (its stdout is pino's JSON: one event a line). */
function messages(output: string): string {
  return output
    .split('\n')
    .flatMap((line) => {
      try {
        return [(JSON.parse(line) as { msg: string }).msg];
      } catch {
        return [line];
      }
    })
    .join('\n');
}

/** The URL (with its password) only in the environment: never on a command line. */
function cli(args: string[], extraEnv: Record<string, string> = {}): Child {
  const child = spawnCli(args, { PATH: process.env.PATH ?? '', SWARMLET_REDIS_URL: url, ...extraEnv });
  children.push(child);
  return child;
}

/** A director and one personal agent with consent, `sandboxFlags` as given (none: the default). */
async function startCluster(sandboxFlags: string[]) {
  const director = cli(['serve', '--tick-ms', '100', '--node-ttl-ms', String(TTL_MS)]);
  const agent = cli(
    [
      'agent',
      ...['--node-id', 'laptop', '--personal', '--consent', '--trust', TEST_PUBLIC_KEY_PATH],
      ...['--ttl-ms', String(TTL_MS), '--heartbeat-ms', String(TTL_MS / 4)],
      ...['--cache-dir', mkdtempSync(join(work, 'agent-cache-'))],
      ...sandboxFlags,
    ],
    { HOME: home, AGENT_TOKEN: AGENT_SECRET },
  );
  await waitFor(
    'the director and the agent',
    () => /director up/.test(director.output()) && /joined/.test(agent.output()),
  );
  return { director, agent };
}

/** One attack, one job: its outcome as the client sees it. */
async function attack(input: object): Promise<JobOutcome> {
  const { outcome } = await runOnCluster(
    [ATTACK],
    { type: 'attack', input },
    { redisUrl: url, cacheDir: '.swarmlet/cache', signKey: TEST_SIGN_KEY, jobKey: randomUUID() },
  );
  return outcome;
}

const refusedBySandbox = (outcome: JobOutcome, what: string) => {
  expect(outcome.status, `${what}: ${JSON.stringify(outcome)}`).toBe('failed');
  expect(outcome.error, what).toMatch(DENIED);
  // The same call is refused on every attempt: the first refusal is final (default: 3 attempts).
  expect(outcome.error, what).toMatch(/after 1 attempt\(s\)/);
};

/** What the swarmlet found in its own environment: nothing of the agent's, and no secret. */
function expectCleanEnvironment(outcome: JobOutcome, kind: SandboxKind): void {
  expect(outcome.status).toBe('done');
  const env = outcome.output as Record<string, string>;
  const text = JSON.stringify(env);
  expect(text).not.toContain(PASSWORD);
  expect(text).not.toContain(AGENT_SECRET);
  expect(text).not.toContain(home);
  const { PWD, ...passed } = env;
  for (const name of Object.keys(passed)) expect(SWARMLET_ENV_PASSED as readonly string[]).toContain(name);
  expect(PWD).toBe(kind === 'bwrap' ? '/tmp' : undefined);
}

const auto: SandboxKind = bwrapAvailable() ? 'bwrap' : 'process';
const kinds: [string, string[], SandboxKind][] = [
  [`default (auto: ${auto} here)`, [], auto],
  ...(auto === 'bwrap'
    ? [['--sandbox process', ['--sandbox', 'process'], 'process'] as [string, string[], SandboxKind]]
    : []),
];

describe.each(kinds)('a personal agent, sandbox %s, on a password-protected Redis', (_, flags, kind) => {
  it('advertises its sandbox (what the director reads) and says it on joining', async () => {
    const { agent } = await startCluster(flags);
    expect(messages(agent.output())).toMatch(
      new RegExp(`^agent laptop joined redis://:\\*\\*\\*@127\\.0\\.0\\.1:\\d+ .*personal.*, sandbox ${kind}\\b`, 'm'),
    );
    // The director's own read of the heartbeat; the first one is written just after the line above.
    const advertised = await waitFor('the first heartbeat', async () => {
      const nodes = await readLiveNodes(redis, k, (message) => {
        throw new Error(message);
      });
      return nodes.get('laptop')?.advertisement;
    });
    expect(advertised.sandbox).toBe(kind);
    expect(advertised.kind).toBe('personal');
  });

  it('refuses reads of $HOME, /etc/shadow and the agent process, writes, sh, a detached busy loop and bindings, telling the client', async () => {
    const { director, agent } = await startCluster(flags);
    const agentPid = children[1]!.process.pid!;
    const marker = join(tmpdir(), `swarmlet-cluster-attack-${randomUUID()}`);
    const attacks: [string, object][] = [
      ['list $HOME', { attack: 'list-home' }],
      ["read the agent's HOME", { attack: 'read', path: join(home, 'private.txt') }],
      ['read /etc/shadow', { attack: 'read', path: '/etc/shadow' }],
      ["read the agent's environment", { attack: 'read', path: `/proc/${agentPid}/environ` }],
      ["read the agent's command line", { attack: 'read', path: `/proc/${agentPid}/cmdline` }],
      ['write a file', { attack: 'write', path: marker }],
      ['spawn sh', { attack: 'spawn-sh' }],
      ['leave a detached busy loop', { attack: 'spin-and-leave', marker: `cluster-${randomUUID()}` }],
      ['process.binding', { attack: 'binding' }],
    ];
    const outcomes = await Promise.all(attacks.map(([, input]) => attack(input)));
    attacks.forEach(([what], i) => refusedBySandbox(outcomes[i]!, what));
    // The client is told what was refused.
    expect(outcomes[2]!.error).toContain(
      'ERR_ACCESS_DENIED: Access to this API has been restricted: FileSystemRead of /etc/shadow (',
    );
    expect(outcomes[3]!.error).toContain(`FileSystemRead of /proc/${agentPid}/environ (`);
    expect(outcomes[5]!.error).toContain(`FileSystemWrite of ${marker} (`);
    expect(outcomes[6]!.error).toContain('Access to this API has been restricted: ChildProcess (');
    expect(existsSync(marker)).toBe(false);
    // Honest work still runs on the same agent.
    expect(await attack({ attack: 'ok' })).toMatchObject({ status: 'done', output: 'ok' });
    for (const output of [director.output(), agent.output()]) expect(output).not.toContain(PASSWORD);
  }, 120_000);

  it(`sees no secret in its environment, and ${kind === 'bwrap' ? 'has no network' : 'may reach the network (Node 20 has no network rule)'}`, async () => {
    await startCluster(flags);
    expectCleanEnvironment(await attack({ attack: 'env' }), kind);
    const before = connections;
    const connected = await attack({ attack: 'connect', port });
    if (kind === 'bwrap') {
      expect(connected.status).toBe('failed');
      expect(connected.error).toMatch(
        /ECONNREFUSED .*\(refused by the swarmlet's sandbox: it has no network; a task type that needs one declares permissions: \['network'\]\)$/,
      );
      expect(connections).toBe(before);
    } else {
      expect(connected).toMatchObject({ status: 'done', output: 'connected' });
      expect(connections).toBe(before + 1);
    }
  }, 60_000);
});

describe('a personal agent where bubblewrap cannot run (no bwrap on its PATH)', () => {
  it('auto picks process and says so; --sandbox bwrap is refused naming --sandbox, and its fix (process) joins', async () => {
    const noBwrap = { PATH: '/nonexistent' };
    const base = ['agent', '--node-id', 'laptop', '--personal', '--consent', '--trust', TEST_PUBLIC_KEY_PATH];
    const refused = cli([...base, '--sandbox', 'bwrap'], noBwrap);
    await new Promise((resolve) => refused.process.once('exit', resolve));
    expect(refused.process.exitCode).toBe(2);
    expect(refused.output()).toMatch(
      /^swarmlet: --sandbox: is bwrap, but bubblewrap cannot run here \(not installed: apt-get install bubblewrap; or user namespaces are off\)\. Fix: --sandbox process\n$/,
    );
    for (const flags of [['--sandbox', 'process'], []]) {
      const agent = cli([...base, ...flags], noBwrap);
      await waitFor('the agent to join', () => /joined/.test(agent.output()));
      expect(messages(agent.output())).toMatch(/^agent laptop joined .*personal.*, sandbox process\b/m);
      await agent.stop('SIGTERM');
    }
  });
});

describe('a personal agent with --sandbox none --allow-unsandboxed (the owner accepts task code with their rights)', () => {
  it("advertises none; task code reads what the agent user reads (the agent's environment too), its own environment holds no secret, and what it leaves running dies with the agent", async () => {
    const { agent } = await startCluster(['--sandbox', 'none', '--allow-unsandboxed']);
    expect(messages(agent.output())).toMatch(/^agent laptop joined .*personal.*, sandbox none\b/m);
    expect(await attack({ attack: 'read', path: join(home, 'private.txt') })).toMatchObject({
      status: 'done',
      output: 'the owner only'.length,
    });
    // …the agent's own environment too, where the Redis URL and its password are: why personal machines refuse none.
    const environ = await attack({ attack: 'read', path: `/proc/${children[1]!.process.pid!}/environ` });
    expect(environ).toMatchObject({ status: 'done', output: expect.any(Number) });
    expectCleanEnvironment(await attack({ attack: 'env' }), 'none');
    const left = await attack({ attack: 'spin-and-leave', marker: `cluster-${randomUUID()}` });
    expect(left.status).toBe('done');
    const pid = left.output as number;
    expect(running(pid)).toBe(true);
    await children[1]!.stop('SIGTERM');
    await waitFor('the busy loop to die with the agent', () => !running(pid), 5_000);
  }, 60_000);
});
