/**
 * Admission control and job keys in cluster mode, on a real redis-server: refusals survive a director restart, keys
 * never run twice.
 */
import { expect, it } from 'vitest';
import { tasksIn } from '../src/runtime/brokers/bullmq-batches.js';
import { ClusterAgent } from '../src/runtime/cluster/agent.js';
import { runOnCluster } from '../src/runtime/cluster/cluster-client.js';
import { ClusterDirector, type DirectorOptions } from '../src/runtime/cluster/director.js';
import type { JobInput } from '../src/core/job.js';
import { loggedResults, realCluster, spawnCli, waitFor } from './support/cluster.js';
import { TEST_SIGN_KEY, TRUSTED, SIGN_ARGS } from './support/signing.js';

const cluster = realCluster();
const HINTED = ['test/fixtures/hinted.task.ts'];
const LIMITS = { maxBacklogMs: { low: 5_000, normal: 60_000, high: 120_000 } };

/** `count` micro-tasks of a type predicted at 1 s each; inputs tagged so the log shows whose they were. */
const hintedJob = (priority: 'low' | 'normal' | 'high', count: number, tag: string): JobInput => ({
  priority,
  tasks: Array.from({ length: count }, (_, i) => ({ id: `t${i}`, type: 'hinted', input: `${tag}-${i}` })),
});

function client(prefix: string) {
  const options = { redisUrl: cluster.server().url, prefix, cacheDir: '.swarmlet/cache', signKey: TEST_SIGN_KEY };
  return (job: JobInput, jobKey: string) => runOnCluster(HINTED, job, { ...options, jobKey, progressEveryMs: 20 });
}

const director = (prefix: string, extra: Partial<DirectorOptions> = {}) =>
  ClusterDirector.start({ redisUrl: cluster.server().url, prefix, tickMs: 50, ...extra });
const agent = (prefix: string) =>
  ClusterAgent.start({
    ...TRUSTED,
    redisUrl: cluster.server().url,
    prefix,
    nodeId: 'a',
    heartbeatMs: 100,
    ttlMs: 1_000,
  });
/** Micro-tasks waiting in a class queue: a job may carry several (`t<first>+<count>`). */
const waiting = async (queue: string) => tasksIn(await cluster.redis().lrange(`adm:q:${queue}:wait`, 0, -1));

it('refuses a low job over its backlog limit with the reason and when to retry; a restarted director never runs it; the same key later is decided afresh', async () => {
  const run = client('adm');
  const first = await director('adm', { admission: LIMITS });
  let second: ClusterDirector | undefined;
  let worker: ClusterAgent | undefined;
  try {
    // No agent yet: 20 queued micro-tasks predicted at 1 s each are a 20 s backlog for one swarmlet.
    const normal = run(hintedJob('normal', 20, 'normal'), 'normal-job');
    await waitFor('the normal job to be queued', async () => (await waiting('hinted')) === 20);
    const low = await run(hintedJob('low', 1, 'low'), 'low-job');
    expect(low.outcome.status).toBe('refused');
    expect(low.outcome.error).toBe('low: predicted backlog 20 s > low limit 5 s (20 s of queued work on 1 worker(s))');
    expect(low.outcome.retryAfterMs).toBe(15_000);
    // The CLI says the same, with admission control's exit code.
    const cli = spawnCli([
      'run',
      'examples/merge-sort',
      '--redis',
      cluster.server().url,
      '--prefix',
      'adm',
      '--priority',
      'low',
      ...SIGN_ARGS,
      '--no-progress',
    ]);
    await new Promise((resolve) => cli.process.once('exit', resolve));
    expect(cli.process.exitCode).toBe(3);
    expect(cli.output()).toMatch(
      /^swarmlet: job refused by admission control: low: predicted backlog 20 s > low limit 5 s \(20 s of queued work on 1 worker\(s\)\) \(cluster job [\w-]+\); retry in 15 s$/m,
    );
    const high = run(hintedJob('high', 1, 'high'), 'high-job'); // under the high limit: admitted
    await waitFor('the high job to be queued', async () => (await waiting('hinted#high')) === 1);
    expect(await waiting('hinted#low')).toBe(0);

    // The restarted director replays the log without deciding again: the refused entry stays skipped.
    await first.stop();
    second = await director('adm', { admission: LIMITS });
    expect([await waiting('hinted'), await waiting('hinted#high'), await waiting('hinted#low')]).toEqual([20, 1, 0]);
    worker = await agent('adm');
    expect((await normal).outcome.status).toBe('done');
    expect((await high).outcome.output).toEqual({ t0: 'high-0' });
    const tags = (await loggedResults(cluster.redis(), 'adm')).map((r) => String(r.value).split('-')[0]);
    expect(tags.filter((tag) => tag === 'low')).toEqual([]);
    expect(tags.length).toBe(21);
    // The module's resource hint reached the director: its swarmlets were placed claiming 120 MB.
    const placed = (await cluster.redis().lrange('adm:decisions', 0, -1)).map(
      (raw) => JSON.parse(raw) as { taskType: string; claim?: string },
    );
    expect(placed.filter((d) => d.taskType === 'hinted').map((d) => d.claim)).toContain(
      '1 core(s) (default), 120 MB (hint)',
    );

    // The backlog is gone: the same key submitted again is a new entry, admitted and run.
    const retried = await run(hintedJob('low', 1, 'low'), 'low-job');
    expect(retried.outcome).toMatchObject({ status: 'done', output: { t0: 'low-0' } });
  } finally {
    await worker?.stop();
    await second?.stop();
    await first.stop();
  }
}, 60_000);

it('a job key runs once: concurrent submits share one run, and a submit after the log was trimmed and the director restarted gets the first outcome', async () => {
  const run = client('keys');
  const first = await director('keys', { logRetentionMs: 0 });
  const worker = await agent('keys');
  let second: ClusterDirector | undefined;
  try {
    const [a, b] = await Promise.all([
      run(hintedJob('normal', 5, 'k1'), 'k1'),
      run(hintedJob('normal', 5, 'k1'), 'k1'),
    ]);
    expect(a.outcome).toEqual(b.outcome);
    expect(a.outcome.output).toEqual({ t0: 'k1-0', t1: 'k1-1', t2: 'k1-2', t3: 'k1-3', t4: 'k1-4' });
    expect(worker.status().completed).toBe(5); // one run, not two (the log itself is trimmed at once here)

    await waitFor(
      'the finished job to be trimmed from the log',
      async () => (await cluster.redis().xlen('keys:log')) === 0,
    );
    await first.stop();
    second = await director('keys', { logRetentionMs: 0 }); // knows nothing of k1 from the log
    const again = await run(hintedJob('normal', 5, 'k1'), 'k1');
    expect(again.outcome).toEqual(a.outcome);
    expect(await cluster.redis().xlen('keys:log')).toBe(0); // nothing was appended: it did not run again
    expect(worker.status().completed).toBe(5);
    const fresh = await run(hintedJob('normal', 2, 'k2'), 'k2');
    expect(fresh.outcome.output).toEqual({ t0: 'k2-0', t1: 'k2-1' });
  } finally {
    await worker.stop();
    await second?.stop();
    await first.stop();
  }
}, 60_000);

it('bad admission limits, batch sizes and job keys are refused at the edge, naming the flag and the fix', async () => {
  const runs = [
    spawnCli(['serve', '--redis', cluster.server().url, '--admission', 'urgent=5s']),
    spawnCli(['serve', '--redis', cluster.server().url, '--admission', 'low=soon']),
    spawnCli(['run', 'examples/merge-sort', '--job-key', 'k1']),
    spawnCli(['run', 'examples/merge-sort', '--redis', cluster.server().url, '--job-key', 'has space']),
    spawnCli(['serve', '--redis', cluster.server().url, '--batch-max', '2.5']),
  ];
  await Promise.all(runs.map((child) => new Promise((resolve) => child.process.once('exit', resolve))));
  expect(runs.map((child) => child.process.exitCode)).toEqual([2, 2, 2, 2, 2]);
  expect(runs[0]!.output()).toContain(
    'swarmlet: --admission: "urgent" is not a priority class. Fix: write --admission low=10s,normal=30s,high=2m',
  );
  expect(runs[1]!.output()).toContain('swarmlet: --admission low: "soon" is not a duration');
  expect(runs[2]!.output()).toContain(
    'swarmlet: --job-key: names a cluster job, and this run is on this machine. Fix: remove --job-key (or add --redis <url>)',
  );
  expect(runs[3]!.output()).toContain(
    'swarmlet: --job-key: "has space" is not a job key. Fix: use 1 to 128 letters, digits, or . _ : -',
  );
  expect(runs[4]!.output()).toContain('swarmlet: --batch-max: "2.5" is not a whole number. Fix: write --batch-max 64');
}, 30_000);
