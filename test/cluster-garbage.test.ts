/**
 * Garbage in Redis, written by a raw ioredis client as any Redis user could: the director and the
 * agents validate what they read back, skip or repair a bad value with a rate-limited warning, and
 * keep serving; a client gets its result or a clear error within a bound, never silence.
 */
import { expect, it } from 'vitest';
import type { JobInput } from '../src/core/job.js';
import { ClusterAgent } from '../src/runtime/cluster/agent.js';
import { runOnCluster, type ClusterRunOptions } from '../src/runtime/cluster/cluster-client.js';
import { ClusterDirector, type DirectorOptions } from '../src/runtime/cluster/director.js';
import { keys, type JobOutcome } from '../src/runtime/cluster/protocol.js';
import { realCluster, waitFor } from './support/cluster.js';

const cluster = realCluster();
const SQUARE = ['test/fixtures/square.task.ts'];
const JOB: JobInput = { type: 'square-sum', input: { from: 0, to: 300 } };
const SUM = 8_955_050; // Σ i² for i < 300
/** How long a client may wait for its answer here: far above a healthy run (~0.3 s), far below "forever". */
const BOUND_MS = 15_000;

/** Rejects if `promise` has not settled within `ms`: a hang is a failure with a name, not a test timeout. */
function within<T>(ms: number, what: string, promise: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms: ${what}`)), ms);
  });
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

/** A director (its log kept) and, unless `agent: false`, one agent, in this process on `prefix`. */
async function libraryCluster(prefix: string, options: { director?: Partial<DirectorOptions>; agent?: boolean } = {}) {
  const url = cluster.server().url;
  const lines: string[] = [];
  const director = await ClusterDirector.start({
    redisUrl: url,
    prefix,
    tickMs: 50,
    log: (line) => lines.push(line),
    ...options.director,
  });
  const agentLines: string[] = [];
  const agent =
    options.agent === false
      ? undefined
      : await ClusterAgent.start({
          redisUrl: url,
          prefix,
          nodeId: 'n1',
          heartbeatMs: 100,
          ttlMs: 1_000,
          log: (line) => agentLines.push(line),
        });
  return {
    director,
    agent,
    lines,
    agentLines,
    k: keys(prefix),
    run: (job: JobInput = JOB, extra: Partial<ClusterRunOptions> = {}) =>
      within(
        BOUND_MS,
        `job on ${prefix}`,
        runOnCluster(SQUARE, job, { redisUrl: url, prefix, cacheDir: '.swarmlet/cache', ...extra }),
      ),
    async stop() {
      await agent?.stop();
      await director.stop().catch(() => undefined);
    },
  };
}

const expectDone = (outcome: JobOutcome): void => {
  expect(outcome.error).toBeUndefined();
  expect(outcome.output).toBe(SUM);
};

it('garbage in the lease key: the director takes its lease back with one warning and keeps serving jobs', async () => {
  const c = await libraryCluster('lease');
  try {
    expectDone((await c.run()).outcome);
    await cluster.redis().set(c.k.director, 'garbage'); // no TTL: it would never expire by itself
    await waitFor('the lease repaired', async () => (await cluster.redis().pttl(c.k.director)) > 0);
    expectDone((await c.run()).outcome);
    expect(c.lines.filter((l) => l.includes('stepping down'))).toEqual([]);
    expect(c.lines.filter((l) => l.includes(c.k.director))).toEqual([
      expect.stringMatching(/^lease:director held "garbage", not this director's lease .* taken back\. Fix: /),
    ]);
  } finally {
    await c.stop();
  }
});

it('garbage in the lease and its epoch before a director starts: it takes the prefix at once and serves', async () => {
  await cluster.redis().set('fresh:director', 'garbage'); // no TTL, not a director's id
  await cluster.redis().set('fresh:director:epoch', 'not a number');
  const c = await libraryCluster('fresh', { director: { leaseWaitMs: 60_000 } });
  try {
    expectDone((await c.run()).outcome);
    expect(c.lines).toContainEqual(expect.stringMatching(/^fresh:director held "garbage", not a director's lease/));
    expect(c.lines).toContainEqual(expect.stringMatching(/^fresh:director:epoch held "not a number"/));
  } finally {
    await c.stop();
  }
});

it('a bad node: key is one warning line however many ticks read it, and jobs are still served', async () => {
  const c = await libraryCluster('bad-node');
  try {
    await cluster.redis().sadd(c.k.nodes, 'broken');
    await cluster.redis().set(c.k.node('broken'), '{"not":"a heartbeat"', 'PX', 60_000);
    const from = c.director.ticks;
    await waitFor('30 ticks', () => c.director.ticks >= from + 30);
    expectDone((await c.run()).outcome);
    expect(c.lines.filter((l) => l.includes('bad-node:node:broken'))).toEqual([
      expect.stringMatching(/^ignoring node broken: bad-node:node:broken: not JSON \(\{"not":"a heartbeat"\).* Fix: /),
    ]);
  } finally {
    await c.stop();
  }
});
