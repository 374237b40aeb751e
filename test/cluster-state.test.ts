/**
 * Stateful task types in cluster mode, against a real redis-server and real swarmlet processes:
 * a swarmlet leaving a stateful type saves its state to `P:state:<type>`, and the next swarmlet
 * serving the type (on this node or another) restores it. The director's side is played by hand as
 * in cluster-agent.test.ts. Waits poll with a bound; nothing sleeps for timing.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi, type MockInstance } from 'vitest';
import type { BrokerTask } from '../src/runtime/brokers/broker.js';
import { BullmqBroker } from '../src/runtime/brokers/bullmq-broker.js';
import { ClusterAgent, type ClusterAgentOptions } from '../src/runtime/cluster/agent.js';
import { keys, taskStateRecordSchema } from '../src/runtime/cluster/protocol.js';
import { ProcessProvider } from '../src/runtime/local/process-provider.js';
import { lineLogger } from './support/recording-logger.js';
import { compiledModules, loggedResults, servingExactly, waitFor } from './support/cluster.js';
import { startRedisServer, type RedisServer } from './support/redis-server.js';
import { TRUSTED } from './support/signing.js';

let server: RedisServer;
let redis: Redis;
let cacheDir: string;
const modules = new Map<string, { taskType: string; hash: string; code: string }>();

beforeAll(async () => {
  server = await startRedisServer();
  redis = new Redis(server.url, { maxRetriesPerRequest: null });
  cacheDir = await mkdtemp(join(tmpdir(), 'swarmlet-cluster-state-test-'));
  for (const [name, module] of await compiledModules(['stateful-counter', 'noop'], cacheDir)) modules.set(name, module);
});

afterAll(async () => {
  await redis?.quit();
  await server?.stop();
  if (cacheDir) await rm(cacheDir, { recursive: true, force: true });
});

const cleanups: (() => Promise<unknown>)[] = [];
let snapshots: MockInstance<ProcessProvider['snapshot']>;
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
  snapshots?.mockRestore();
});

let prefixes = 0;
async function fresh() {
  const prefix = `state-test-${process.pid}-${++prefixes}`;
  for (const module of modules.values()) await redis.set(keys(prefix).module(module.taskType), JSON.stringify(module));
  snapshots = vi.spyOn(ProcessProvider.prototype, 'snapshot');
  const broker = new BullmqBroker({ url: server.url, prefix: keys(prefix).queuePrefix, lockDurationMs: 1_000 });
  cleanups.push(() => broker.close());
  return { prefix, k: keys(prefix), broker };
}

async function startAgent(prefix: string, nodeId: string, options: Partial<ClusterAgentOptions> = {}) {
  const lines: string[] = [];
  const agent = await ClusterAgent.start({
    ...TRUSTED,
    redisUrl: server.url,
    prefix,
    nodeId,
    heartbeatMs: 100,
    ttlMs: 1_000,
    cacheDir,
    cpu: 4,
    logger: lineLogger(lines),
    ...options,
  });
  cleanups.push(() => agent.stop());
  return { agent, lines };
}

async function desire(prefix: string, nodeId: string, swarmlets: [string, string][], version: number): Promise<void> {
  await redis.set(
    keys(prefix).desired(nodeId),
    JSON.stringify({ version, swarmlets: swarmlets.map(([id, taskType]) => ({ id, taskType })), reasons: {} }),
  );
  await redis.publish(keys(prefix).desiredChanged, nodeId);
}

const counterTask = (id: number): BrokerTask => ({
  id,
  taskType: 'counter',
  priority: 1,
  attempt: 1,
  maxAttempts: 3,
  payload: { mode: 0, input: null, depth: 0, deps: null, label: `t${id}` },
});

/** Runs counter tasks `ids` one batch at a time and returns the counts they answered, by id. */
async function runCounters(prefix: string, broker: BullmqBroker, ids: number[]): Promise<number[]> {
  await broker.enqueue(ids.map(counterTask));
  const all = await waitFor(`results of ${ids.join(',')}`, async () => {
    const byId = new Map((await loggedResults(redis, prefix)).map((r) => [r.id, r]));
    return ids.every((id) => byId.has(id)) ? byId : undefined;
  });
  return ids.map((id) => all.get(id)!.value as number);
}

async function savedState(prefix: string) {
  const raw = await redis.get(keys(prefix).state('counter'));
  return raw === null ? undefined : taskStateRecordSchema.parse(JSON.parse(raw));
}

describe('stateful task types in cluster mode', () => {
  it('a swarmlet no longer desired saves its count to Redis; the one started in its place restores it', async () => {
    const { prefix, broker } = await fresh();
    await desire(prefix, 'n1', [['s1', 'counter']], 1);
    const { agent, lines } = await startAgent(prefix, 'n1');
    await waitFor('s1 serving counter', servingExactly(agent, { s1: 'counter' }));
    expect((await runCounters(prefix, broker, [1, 2, 3])).sort()).toEqual([1, 2, 3]);

    await desire(prefix, 'n1', [['s2', 'counter']], 2);
    await waitFor('s2 serving counter in place of s1', servingExactly(agent, { s2: 'counter' }));
    expect(await savedState(prefix)).toMatchObject({
      taskType: 'counter',
      hash: modules.get('counter')!.hash,
      nodeId: 'n1',
      swarmletId: 's1',
      state: { count: 3, pad: '' },
    });
    expect(lines).toContain(
      `s2: started (${modules.get('counter')!.hash}) for counter with its saved state: desired (version 2)`,
    );
    expect(await runCounters(prefix, broker, [4])).toEqual([4]); // continues from Redis, not from 0
  });

  it('a serving stateful swarmlet checkpoints its state while it works, only when it ran something new', async () => {
    const { prefix, broker } = await fresh();
    await desire(prefix, 'n1', [['s1', 'counter']], 1);
    const { agent } = await startAgent(prefix, 'n1', { checkpointMs: 50 });
    await waitFor('s1 serving counter', servingExactly(agent, { s1: 'counter' }));
    expect((await runCounters(prefix, broker, [1, 2, 3])).sort()).toEqual([1, 2, 3]);
    await waitFor(
      'a checkpoint of count 3',
      async () => ((await savedState(prefix))?.state as { count?: number } | undefined)?.count === 3,
    );
    expect(await runCounters(prefix, broker, [4])).toEqual([4]);
    await waitFor(
      'a checkpoint of count 4',
      async () => ((await savedState(prefix))?.state as { count?: number } | undefined)?.count === 4,
    );
    // The same swarmlet kept serving throughout: a checkpoint is not a handover.
    expect(agent.status().swarmlets.map((s) => [s.id, s.taskType, s.state])).toEqual([['s1', 'counter', 'idle']]);
    const [asked, beats] = [snapshots.mock.calls.length, agent.beats];
    // 100 ms beats: ≥ 4 periods of 50 ms
    await waitFor('several idle checkpoint periods', () => (agent.beats >= beats + 3 ? true : undefined));
    expect(snapshots.mock.calls.length).toBe(asked); // nothing new ran: nothing asked
    expect(await runCounters(prefix, broker, [5])).toEqual([5]); // the count is the live one, not reset
  });

  it('state moves with a migrated swarmlet: a gracefully stopped agent saves it, another node restores it', async () => {
    const { prefix, broker } = await fresh();
    await desire(prefix, 'n1', [['s1', 'counter']], 1);
    const first = await startAgent(prefix, 'n1');
    await waitFor('s1 serving counter on n1', servingExactly(first.agent, { s1: 'counter' }));
    expect((await runCounters(prefix, broker, [1, 2])).sort()).toEqual([1, 2]);
    await first.agent.stop();
    expect(first.agent.statesSaved).toBe(1);
    expect(await savedState(prefix)).toMatchObject({ nodeId: 'n1', state: { count: 2 } });

    await desire(prefix, 'n2', [['s1', 'counter']], 1);
    const second = await startAgent(prefix, 'n2');
    await waitFor('s1 serving counter on n2', servingExactly(second.agent, { s1: 'counter' }));
    expect(await runCounters(prefix, broker, [3])).toEqual([3]);
  });

  it('specialized away and back in the same process, the count continues; a stateless type never gets a snapshot request', async () => {
    const { prefix, k, broker } = await fresh();
    await desire(prefix, 'n1', [['s1', 'counter']], 1);
    const { agent } = await startAgent(prefix, 'n1');
    await waitFor('s1 serving counter', servingExactly(agent, { s1: 'counter' }));
    expect((await runCounters(prefix, broker, [1, 2])).sort()).toEqual([1, 2]);

    await desire(prefix, 'n1', [['s1', 'noop']], 2);
    await waitFor('s1 serving noop', servingExactly(agent, { s1: 'noop' }));
    await desire(prefix, 'n1', [['s1', 'counter']], 3);
    await waitFor('s1 serving counter again', servingExactly(agent, { s1: 'counter' }));
    expect(await runCounters(prefix, broker, [3])).toEqual([3]);
    expect(snapshots.mock.calls.map(([, taskType]) => taskType)).toEqual(['counter']);
    expect(await redis.exists(k.state('noop'))).toBe(0);
  });

  it('revoking consent saves the state before the swarmlets are killed', async () => {
    const { prefix, broker } = await fresh();
    await desire(prefix, 'n1', [['s1', 'counter']], 1);
    const { agent } = await startAgent(prefix, 'n1');
    await waitFor('s1 serving counter', servingExactly(agent, { s1: 'counter' }));
    expect((await runCounters(prefix, broker, [1, 2, 3, 4])).sort()).toEqual([1, 2, 3, 4]);
    await agent.revokeConsent();
    expect(await savedState(prefix)).toMatchObject({ swarmletId: 's1', state: { count: 4 } });
    await waitFor('no swarmlet left', () => agent.status().swarmlets.length === 0);
  });
});
