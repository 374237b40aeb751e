/**
 * The cluster agent against a real redis-server and real swarmlet processes (dist/swarmlet-host.js:
 * `npm run build` first). The director's side is played by hand: module records and desired states
 * are SET directly, micro-tasks enqueued with a BullmqBroker on the same prefix, results read back
 * from the log stream. Waits poll for a condition with a bound; nothing sleeps for timing.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { InputError } from '../src/core/errors.js';
import { agentOptionsFromFlags, runAgent } from '../src/cli/agent.js';
import { parseNodeAdvertisement } from '../src/place/node-probe.js';
import type { BrokerTask } from '../src/runtime/brokers/broker.js';
import { BullmqBroker } from '../src/runtime/brokers/bullmq-broker.js';
import { ClusterAgent, type ClusterAgentOptions } from '../src/runtime/cluster/agent.js';
import { PERSONAL_WITHOUT_CONSENT } from '../src/runtime/cluster/agent-config.js';
import { heartbeatSchema, keys, type Heartbeat } from '../src/runtime/cluster/protocol.js';
import { silentLogger } from '../src/core/logger.js';
import { lineLogger } from './support/recording-logger.js';
import { compiledModules, loggedResults, servingExactly, waitFor } from './support/cluster.js';
import { commandsAfterQuit, endsWithin, holdNextCall } from './support/stop-races.js';
import { startRedisServer, type RedisServer } from './support/redis-server.js';
import { TEST_PRIVATE_KEY_PATH, TRUSTED } from './support/signing.js';

let server: RedisServer;
let redis: Redis;
let cacheDir: string;
/** Task type → its published module record (compiled once for the file). */
const modules = new Map<string, { taskType: string; hash: string; code: string }>();
const FIXTURES = ['noop', 'square', 'flaky', 'crashy', 'cluster-sleep'];

beforeAll(async () => {
  server = await startRedisServer();
  redis = new Redis(server.url, { maxRetriesPerRequest: null });
  cacheDir = await mkdtemp(join(tmpdir(), 'swarmlet-agent-test-'));
  for (const [name, module] of await compiledModules(FIXTURES, cacheDir)) modules.set(name, module);
});

afterAll(async () => {
  await redis?.quit();
  await server?.stop();
  if (cacheDir) await rm(cacheDir, { recursive: true, force: true });
});

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
});

let prefixes = 0;
/** A fresh prefix and node per test: nothing leaks between them. */
function fresh() {
  const prefix = `agent-test-${process.pid}-${++prefixes}`;
  return { prefix, nodeId: `node-${prefixes}`, k: keys(prefix) };
}

async function startAgent(
  options: Partial<ClusterAgentOptions> & { prefix: string; nodeId: string },
): Promise<{ agent: ClusterAgent; lines: string[] }> {
  const lines: string[] = [];
  const agent = await ClusterAgent.start({
    ...TRUSTED,
    redisUrl: server.url,
    heartbeatMs: 100,
    ttlMs: 1_000,
    cacheDir,
    logger: lineLogger(lines),
    ...options,
  });
  cleanups.push(() => agent.stop());
  return { agent, lines };
}

function clientBroker(prefix: string): BullmqBroker {
  const broker = new BullmqBroker({ url: server.url, prefix: keys(prefix).queuePrefix, lockDurationMs: 1_000 });
  cleanups.push(() => broker.close());
  return broker;
}

async function publish(prefix: string, ...taskTypes: string[]): Promise<void> {
  for (const taskType of taskTypes)
    await redis.set(keys(prefix).module(taskType), JSON.stringify(modules.get(taskType)!));
}

async function desire(prefix: string, nodeId: string, swarmlets: [string, string][], version = 1): Promise<void> {
  const reasons = Object.fromEntries(swarmlets.map(([id, taskType]) => [id, `reason for ${id} (${taskType})`]));
  await redis.set(
    keys(prefix).desired(nodeId),
    JSON.stringify({ version, swarmlets: swarmlets.map(([id, taskType]) => ({ id, taskType })), reasons }),
  );
  await redis.publish(keys(prefix).desiredChanged, nodeId);
}

function task(id: number, taskType: string, input: unknown, maxAttempts = 3, payload?: unknown): BrokerTask {
  return {
    id,
    taskType,
    priority: 1,
    attempt: 1,
    maxAttempts,
    payload: payload ?? { mode: 0, input, depth: 0, deps: null, label: `t${id}` },
  };
}

describe('cluster agent', () => {
  it('starts the desired swarmlets, runs their micro-tasks and logs each result exactly once; heartbeats with a TTL', async () => {
    const { prefix, nodeId, k } = fresh();
    await publish(prefix, 'noop', 'square-sum', 'flaky');
    await desire(prefix, nodeId, [
      ['s1', 'noop'],
      ['s2', 'square-sum'],
      ['s3', 'flaky'],
    ]);
    const { agent, lines } = await startAgent({
      prefix,
      nodeId,
      cpu: 4,
      labels: { zone: 'a' },
      pricePerCoreSecond: 0.02,
    });
    await waitFor('three idle swarmlets', servingExactly(agent, { s1: 'noop', s2: 'square-sum', s3: 'flaky' }));
    expect(lines).toContain(`s1: started (${modules.get('noop')!.hash}) for noop: reason for s1 (noop)`);

    const broker = clientBroker(prefix);
    const noops = Array.from({ length: 40 }, (_, index) => task(index + 1, 'noop', { n: index + 1 }));
    await broker.enqueue([
      ...noops,
      task(100, 'square-sum', { from: 0, to: 1_000 }), // splits
      task(101, 'square-sum', { from: 0, to: 10 }), // runs: 0² + … + 9² = 285
      task(200, 'flaky', { succeedOnAttempt: 'never' }, 2), // dead on its second attempt
      task(201, 'flaky', { succeedOnAttempt: 2 }, 3), // ok on its second attempt
      task(300, 'noop', null, 1, { mode: 7, input: 1 }), // not a TaskPayload: dead with the reason
    ]);
    const expectedIds = [...noops.map((t) => t.id), 100, 101, 200, 201, 300];
    await waitFor(
      'every result',
      async () => new Set((await loggedResults(redis, prefix)).map((r) => r.id)).size === expectedIds.length,
    );
    const all = await loggedResults(redis, prefix);
    expect(all.map((r) => r.id).sort((a, b) => a - b)).toEqual(expectedIds.sort((a, b) => a - b)); // each exactly once
    const byId = new Map(all.map((r) => [r.id, r]));
    for (const noop of noops)
      expect(byId.get(noop.id)).toMatchObject({ status: 'ok', value: { n: noop.id }, attempt: 1 });
    expect(byId.get(100)).toMatchObject({
      status: 'split',
      value: [{ input: { from: 0, to: 500 } }, { input: { from: 500, to: 1_000 } }],
    });
    expect(byId.get(101)).toMatchObject({ status: 'ok', value: 285 });
    expect(byId.get(200)).toMatchObject({ status: 'dead', attempt: 2, value: { message: 'flaky refused attempt 2' } });
    expect((byId.get(200)!.value as { stack: string }).stack).toContain('flaky refused');
    expect(byId.get(201)).toMatchObject({ status: 'ok', attempt: 2, value: 'ok on attempt 2' });
    expect(byId.get(300)).toMatchObject({ status: 'dead', attempt: 1 });
    expect((byId.get(300)!.value as { message: string }).message).toMatch(
      /invalid payload: mode: .*Fix: enqueue payloads/,
    );
    // Every lease ended: nothing waits, nothing is held.
    await waitFor('empty queues', async () => [...(await broker.depths()).values()].every((depth) => depth === 0));

    const pttlMs = await redis.pttl(k.node(nodeId));
    expect(pttlMs).toBeGreaterThan(0);
    expect(pttlMs).toBeLessThanOrEqual(1_000);
    const heartbeat = await waitFor('a heartbeat with the counters', async () => {
      const beat = heartbeatSchema.parse(JSON.parse((await redis.get(k.node(nodeId)))!));
      return beat.completed >= 43 ? beat : undefined;
    });
    expect(heartbeat.failed).toBe(4); // task 200 twice, task 201 once (then ok), the bad payload once
    expect(heartbeat.swarmlets.map((s) => s.id).sort()).toEqual(['s1', 's2', 's3']);
    const advertisement = parseNodeAdvertisement(heartbeat.advertisement);
    expect(advertisement.ok && advertisement.value).toMatchObject({
      nodeId,
      kind: 'server',
      labels: { zone: 'a' },
      pricePerCoreSecond: 0.02,
      warmTaskTypes: ['flaky', 'noop', 'square-sum'],
      consent: { granted: true },
    });
  });

  it('reconciles a changed desired state: stops what is no longer desired, specializes a swarmlet in place', async () => {
    const { prefix, nodeId } = fresh();
    await publish(prefix, 'noop', 'square-sum');
    await desire(prefix, nodeId, [
      ['s1', 'noop'],
      ['s2', 'noop'],
    ]);
    // A heartbeat far away: every change below arrives by the desired-changed message.
    const { agent, lines } = await startAgent({ prefix, nodeId, heartbeatMs: 60_000, ttlMs: 120_000 });
    await waitFor('two noop swarmlets', servingExactly(agent, { s1: 'noop', s2: 'noop' }));

    await desire(prefix, nodeId, [['s1', 'square-sum']], 2);
    await waitFor('s1 specialized, s2 gone', servingExactly(agent, { s1: 'square-sum' }));
    expect(lines).toContain('s2: stopping (no longer desired)');
    expect(lines).toContain('s2: stopped (no longer desired)');
    expect(lines).toContain(
      `s1: specialized (${modules.get('square-sum')!.hash}) from noop to square-sum: reason for s1 (square-sum)`,
    );
    expect(lines.filter((line) => line.startsWith('s1: started'))).toHaveLength(1); // the same process, not a restart

    await clientBroker(prefix).enqueue([task(1, 'square-sum', { from: 0, to: 4 })]);
    await waitFor('the result', async () => (await loggedResults(redis, prefix)).length === 1);
    expect(await loggedResults(redis, prefix)).toMatchObject([{ id: 1, status: 'ok', value: 14 }]);
    // Level-based and idempotent: the same desired state again changes nothing.
    const before = lines.length;
    const reconciles = agent.reconciles;
    await desire(prefix, nodeId, [['s1', 'square-sum']], 2);
    await waitFor('a reconcile', () => agent.reconciles >= reconciles + 1);
    await redis.publish(keys(prefix).desiredChanged, '*'); // every node
    await waitFor('another reconcile', () => agent.reconciles >= reconciles + 2);
    expect(lines.slice(before)).toEqual([]);
    expect(agent.beats).toBe(1);
  });

  it('a stopped swarmlet finishes its work in flight; past the drain timeout the rest is requeued without an attempt', async () => {
    const { prefix, nodeId } = fresh();
    await publish(prefix, 'cluster-sleep');
    await desire(prefix, nodeId, [
      ['s1', 'cluster-sleep'],
      ['s2', 'cluster-sleep'],
    ]);
    const { agent, lines } = await startAgent({ prefix, nodeId, cpu: 2, drainTimeoutMs: 500 });
    await waitFor('two swarmlets', servingExactly(agent, { s1: 'cluster-sleep', s2: 'cluster-sleep' }));
    const broker = clientBroker(prefix);
    await broker.enqueue([
      task(1, 'cluster-sleep', { ms: 150, value: 'short' }),
      task(2, 'cluster-sleep', { ms: 30_000 }),
    ]);
    await waitFor('both leased', () => agent.status().swarmlets.every((s) => s.inFlight === 1));

    await desire(prefix, nodeId, [], 2);
    await waitFor('both gone', () => agent.status().swarmlets.length === 0);
    expect(
      lines.filter((line) => line.includes('stopping (no longer desired) after its 1 micro-task(s) in flight')),
    ).toHaveLength(2);
    expect(
      lines.filter((line) => line.includes('waited 500 ms for its work in flight: requeued 1 micro-task(s)')),
    ).toHaveLength(1);
    expect(await loggedResults(redis, prefix)).toMatchObject([{ id: 1, status: 'ok', value: 'short' }]);
    expect(await broker.take('cluster-sleep', 10)).toMatchObject([{ id: 2, attempt: 1 }]);
  });

  it('runs nothing outside its consent (idle-only on a busy machine, outside the hours) and starts once allowed', async () => {
    const { prefix, nodeId } = fresh();
    await publish(prefix, 'noop');
    await desire(prefix, nodeId, [['s1', 'noop']]);
    let loadPerCore = 0.9;
    const { agent, lines } = await startAgent({
      prefix,
      nodeId,
      kind: 'personal',
      consent: { granted: true, idleOnly: true },
      loadPerCore: () => loadPerCore,
    });
    const beats = agent.beats;
    await waitFor('two more heartbeats', () => agent.beats >= beats + 2);
    expect(agent.status()).toMatchObject({ idle: false, swarmlets: [] });
    expect(lines).toContain('consent: not working now: consent is idle-only and the owner is using the machine');
    loadPerCore = 0.1;
    await waitFor('s1 once idle', servingExactly(agent, { s1: 'noop' }));
    expect(lines).toContain('consent: work allowed again');
    loadPerCore = 0.9; // the owner is back: everything stops at once
    await waitFor('nothing running', () => agent.status().swarmlets.length === 0);

    const hour = new Date().getHours();
    const closed = { from: (hour + 2) % 24, to: (hour + 3) % 24 };
    const { prefix: prefix2, nodeId: node2 } = fresh();
    await publish(prefix2, 'noop');
    await desire(prefix2, node2, [['s1', 'noop']]);
    const night = await startAgent({
      prefix: prefix2,
      nodeId: node2,
      kind: 'personal',
      consent: { granted: true, hours: [closed] },
    });
    expect(night.agent.status().swarmlets).toEqual([]);
    expect(night.lines).toContain(
      `consent: not working now: outside consent hours ${closed.from}–${closed.to} (local hour ${hour})`,
    );
  });

  it('enforces the consent cap whatever the director asks: 4 desired, a 50% share of 2 cores runs 1', async () => {
    const { prefix, nodeId } = fresh();
    await publish(prefix, 'noop');
    await desire(prefix, nodeId, [
      ['s1', 'noop'],
      ['s2', 'noop'],
      ['s3', 'noop'],
      ['s4', 'noop'],
    ]);
    const { agent, lines } = await startAgent({
      prefix,
      nodeId,
      kind: 'personal',
      cpu: 2,
      consent: { granted: true, maxCpuShare: 0.5 },
    });
    await waitFor('one swarmlet', servingExactly(agent, { s1: 'noop' }));
    const beats = agent.beats;
    await waitFor('three more heartbeats', () => agent.beats >= beats + 3);
    expect(agent.status().swarmlets.map((s) => s.id)).toEqual(['s1']);
    expect(lines.filter((line) => line.includes('not run: over the consent cap'))).toEqual([
      's2, s3, s4: not run: over the consent cap of 1 (CPU cap 0.5 of 2 cores)',
    ]);

    await clientBroker(prefix).enqueue(Array.from({ length: 20 }, (_, index) => task(index + 1, 'noop', index)));
    await waitFor('20 results on the one swarmlet', async () => (await loggedResults(redis, prefix)).length === 20);
    expect(agent.status().swarmlets).toMatchObject([{ id: 's1', tasksDone: 20 }]);
  });

  it('refuses a personal machine without consent, and bad flags, naming the flag and the fix', async () => {
    await expect(ClusterAgent.start({ redisUrl: server.url, kind: 'personal' })).rejects.toThrow(
      PERSONAL_WITHOUT_CONSENT,
    );
    const personal = agentOptionsFromFlags({ redis: server.url, personal: true, maxCpu: '50%' }, silentLogger);
    await expect(ClusterAgent.start(personal)).rejects.toThrow(
      'personal machines join only with explicit consent: add --consent (and caps such as --max-cpu 50%)',
    );
    expect(
      agentOptionsFromFlags(
        { redis: server.url, personal: true, consent: true, maxCpu: '50%', hours: '22-7', idleOnly: true },
        silentLogger,
      ).consent,
    ).toEqual({
      granted: true,
      maxCpuShare: 0.5,
      hours: [{ from: 22, to: 7 }],
      idleOnly: true,
    });
    const flagError = (flags: Parameters<typeof agentOptionsFromFlags>[0]) => {
      try {
        agentOptionsFromFlags(flags, silentLogger);
      } catch (error) {
        return error;
      }
      return undefined;
    };
    for (const [flags, field, fix] of [
      [{ redis: server.url, maxCpu: '150%' }, '--max-cpu', /e\.g\. 50% or 0\.5/],
      [{ redis: server.url, hours: '22:00-7' }, '--hours', /22-7/],
      [{ redis: server.url, labels: 'gpu' }, '--labels', /gpu=false,zone=a/],
      [{ redis: server.url, price: 'cheap' }, '--price', /0\.02/],
      [{ redis: server.url, kind: 'laptop' }, '--kind', /server, edge or personal/],
    ] as const) {
      const error = flagError(flags);
      expect(error).toBeInstanceOf(InputError);
      expect((error as InputError).field).toBe(field);
      expect((error as InputError).fix).toMatch(fix);
    }
    // Secure by default: no key to trust is refused at start, naming --trust; its fix (--allow-unsigned) is accepted.
    await expect(runAgent({ redis: 'redis://127.0.0.1:1', nodeId: 'n' })).rejects.toThrow(
      /^--trust: gives no public key: .* Fix: add --trust <public key file> .*, or --allow-unsigned /,
    );
    await expect(runAgent({ redis: 'redis://127.0.0.1:1', nodeId: 'n', allowUnsigned: true })).rejects.toThrow(
      /^--redis: cannot reach Redis/,
    );
    await expect(runAgent({ redis: server.url, trust: [TEST_PRIVATE_KEY_PATH] })).rejects.toThrow(
      /^--trust: ".*" is a private key\. Fix: give its public key file/,
    );
    await expect(runAgent({ redis: server.url, trust: ['/nonexistent.pub'] })).rejects.toThrow(
      /^--trust: "\/nonexistent\.pub" cannot be read \(ENOENT\)\. Fix: give the path of an Ed25519 public key file/,
    );
    // Advertisement fields come back named by their flag.
    await expect(runAgent({ redis: server.url, nodeId: 'my laptop', ...TRUSTED })).rejects.toThrow(
      /^--node-id: has characters outside .* Fix: use a stable id/,
    );
    await expect(runAgent({ redis: server.url, heartbeatMs: '1000', ttlMs: '500', ...TRUSTED })).rejects.toThrow(
      /^--ttl-ms: /,
    );
    await expect(runAgent({ redis: 'redis://127.0.0.1:1', nodeId: 'n', ...TRUSTED })).rejects.toThrow(
      /^--redis: cannot reach Redis at redis:\/\/127\.0\.0\.1:1/,
    );
  });

  it('a personal agent refuses --sandbox none unless --allow-unsandboxed, and each sandbox refusal has a fix that is accepted', async () => {
    // Accepted means it gets as far as Redis (this one is not there): every flag passed.
    const unreachable = /^--redis: cannot reach Redis at redis:\/\/127\.0\.0\.1:1/;
    const base = { redis: 'redis://127.0.0.1:1', nodeId: 'n', personal: true, consent: true, allowUnsigned: true };
    await expect(runAgent({ ...base, sandbox: 'none' })).rejects.toThrow(
      /^--sandbox: is none on a personal machine: task code would run with the owner's rights\. Fix: --sandbox auto \(or add --allow-unsandboxed if the owner accepts that\)$/,
    );
    await expect(runAgent({ ...base, sandbox: 'auto' })).rejects.toThrow(unreachable); // the fix
    await expect(runAgent({ ...base, sandbox: 'none', allowUnsandboxed: true })).rejects.toThrow(unreachable); // its other
    await expect(runAgent({ ...base })).rejects.toThrow(unreachable); // personal: auto by default
    await expect(runAgent({ ...base, sandbox: 'nope' })).rejects.toThrow(
      /^--sandbox: = "nope", must be one of auto, bwrap, process, none\. Fix: --sandbox auto$/,
    );
    // The same refusals from code carry the fix as a value, and it is accepted.
    const options: ClusterAgentOptions = {
      redisUrl: 'redis://127.0.0.1:1',
      kind: 'personal',
      consent: { granted: true },
      allowUnsigned: true,
    };
    for (const sandbox of ['none', 'nope'] as const) {
      const error = await ClusterAgent.start({ ...options, sandbox: sandbox as 'none' }).then(
        () => undefined,
        (failure: unknown) => failure,
      );
      expect(error).toBeInstanceOf(InputError);
      expect((error as InputError).field).toBe('sandbox');
      expect((error as InputError).fixValue).toEqual({ value: 'auto' });
      const fixed = (error as InputError).fixValue as { value: 'auto' };
      await expect(ClusterAgent.start({ ...options, sandbox: fixed.value })).rejects.toThrow(/cannot reach Redis/);
    }
  });

  it('revokeConsent requeues every lease at once (another broker takes them), stops the swarmlets and advertises no consent', async () => {
    const { prefix, nodeId, k } = fresh();
    await publish(prefix, 'cluster-sleep');
    await desire(prefix, nodeId, [['s1', 'cluster-sleep']]);
    const { agent, lines } = await startAgent({ prefix, nodeId, kind: 'personal', consent: { granted: true } });
    await waitFor('s1', servingExactly(agent, { s1: 'cluster-sleep' }));
    const broker = clientBroker(prefix);
    await broker.enqueue([task(1, 'cluster-sleep', { ms: 30_000 }), task(2, 'cluster-sleep', { ms: 30_000 })]);
    await waitFor('a lease held by s1', () => agent.status().swarmlets[0]?.inFlight === 1);

    await agent.revokeConsent();
    const taken = await broker.take('cluster-sleep', 10);
    expect(taken.map((t) => t.id).sort()).toEqual([1, 2]);
    expect(taken.every((t) => t.attempt === 1)).toBe(true); // requeued, no attempt counted
    const heartbeat = heartbeatSchema.parse(JSON.parse((await redis.get(k.node(nodeId)))!)) as Heartbeat;
    const advertisement = parseNodeAdvertisement(heartbeat.advertisement);
    expect(advertisement.ok && advertisement.value.consent.granted).toBe(false);
    await waitFor('no swarmlets', () => agent.status().swarmlets.length === 0);
    expect(lines).toContain('stopped 1 swarmlet(s) and requeued 1 micro-task(s): consent revoked by the owner');
    // It takes no more work: requeue them and the agent leaves them alone.
    await broker.requeue([1, 2]);
    const beats = agent.beats;
    await waitFor('two more heartbeats', () => agent.beats >= beats + 2);
    expect((await broker.depths()).get('cluster-sleep')).toBe(2);
    expect(await loggedResults(redis, prefix)).toEqual([]);
  });

  it('a swarmlet that dies mid-task: the micro-task fails once, the swarmlet is restarted, the retry succeeds', async () => {
    const { prefix, nodeId } = fresh();
    await publish(prefix, 'crashy');
    await desire(prefix, nodeId, [['s1', 'crashy']]);
    const { agent, lines } = await startAgent({ prefix, nodeId });
    await waitFor('s1', servingExactly(agent, { s1: 'crashy' }));
    await clientBroker(prefix).enqueue([task(7, 'crashy', { index: 0, every: 1 }, 3)]);
    await waitFor('the result', async () => (await loggedResults(redis, prefix)).length === 1);
    expect(await loggedResults(redis, prefix)).toMatchObject([{ id: 7, status: 'ok', value: 0, attempt: 2 }]);
    expect(lines).toContain('s1: exited unexpectedly (killed by SIGKILL): 1 micro-task(s) failed');
    expect(lines.filter((line) => line.startsWith('s1: started'))).toHaveLength(2);
    expect(agent.status().failed).toBe(1);
  });

  it('stop() requeues its leases, deletes the node key and closes', async () => {
    const { prefix, nodeId, k } = fresh();
    await publish(prefix, 'cluster-sleep');
    await desire(prefix, nodeId, [['s1', 'cluster-sleep']]);
    const { agent } = await startAgent({ prefix, nodeId });
    await waitFor('s1', servingExactly(agent, { s1: 'cluster-sleep' }));
    const broker = clientBroker(prefix);
    await broker.enqueue([task(1, 'cluster-sleep', { ms: 30_000 })]);
    await waitFor('a lease held by s1', () => agent.status().swarmlets[0]?.inFlight === 1);
    await agent.stop();
    expect(await redis.exists(k.node(nodeId))).toBe(0);
    expect((await broker.take('cluster-sleep', 10)).map((t) => t.id)).toEqual([1]);
  });

  it('stop() waits for the heartbeat under way: nothing is sent after its QUIT, the node key stays deleted', async () => {
    const { prefix, nodeId, k } = fresh();
    const { agent } = await startAgent({ prefix, nodeId });
    const sent = commandsAfterQuit();
    const beat = holdNextCall(Redis.prototype, 'ping'); // a heartbeat's first step (nothing else here pings)
    try {
      await beat.held;
      const stopping = agent.stop();
      const endedFirst = await endsWithin(stopping, 300);
      beat.release();
      await stopping;
      expect(sent.late).toEqual([]);
      expect(endedFirst).toBe(false);
      expect(await redis.exists(k.node(nodeId))).toBe(0);
      expect(await redis.sismember(k.nodes, nodeId)).toBe(0);
    } finally {
      beat.release();
      beat.restore();
      sent.restore();
    }
  });
});
