/**
 * Garbage in Redis, written by a raw ioredis client as any Redis user could: the director and the
 * agents validate what they read back, skip or repair a bad value with a rate-limited warning, and
 * keep serving; a client gets its result or a clear error within a bound, never silence.
 */
import { expect, it } from 'vitest';
import type { JobInput } from '../src/core/job.js';
import { ClusterAgent, type ClusterAgentOptions } from '../src/runtime/cluster/agent.js';
import { latestDecisions, runOnCluster, type ClusterRunOptions } from '../src/runtime/cluster/cluster-client.js';
import { ClusterDirector, type DirectorOptions } from '../src/runtime/cluster/director.js';
import { DirectorSupervisor } from '../src/runtime/cluster/director-supervisor.js';
import { keys, type JobOutcome } from '../src/runtime/cluster/protocol.js';
import { seededRng } from '../src/core/clock.js';
import { VirtualEnvironment } from '../src/sim/environment/virtual-environment.js';
import { lineLogger } from './support/recording-logger.js';
import { realCluster, waitFor } from './support/cluster.js';
import { TEST_SIGN_KEY, TRUSTED } from './support/signing.js';

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
async function libraryCluster(
  prefix: string,
  options: {
    director?: Partial<DirectorOptions>;
    agent?: boolean | Partial<ClusterAgentOptions>;
    tasks?: string[];
  } = {},
) {
  const url = cluster.server().url;
  const lines: string[] = [];
  const supervisor = await DirectorSupervisor.start({
    redisUrl: url,
    prefix,
    tickMs: 50,
    logger: lineLogger(lines),
    ...options.director,
  });
  const agentLines: string[] = [];
  const agent =
    options.agent === false
      ? undefined
      : await ClusterAgent.start({
          ...TRUSTED,
          redisUrl: url,
          prefix,
          nodeId: 'n1',
          heartbeatMs: 100,
          ttlMs: 1_000,
          logger: lineLogger(agentLines),
          ...(typeof options.agent === 'object' && options.agent),
        });
  return {
    /** The director acting now (a step-down starts another, as `serve` does). */
    get director() {
      return supervisor.director;
    },
    supervisor,
    agent,
    lines,
    agentLines,
    k: keys(prefix),
    run: (job: JobInput = JOB, extra: Partial<ClusterRunOptions> = {}) =>
      within(
        BOUND_MS,
        `job on ${prefix}`,
        runOnCluster(options.tasks ?? SQUARE, job, {
          redisUrl: url,
          prefix,
          cacheDir: '.swarmlet/cache',
          signKey: TEST_SIGN_KEY,
          ...extra,
        }),
      ),
    async stop() {
      await agent?.stop();
      await supervisor.stop().catch(() => undefined);
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

/** Appends a job entry as a client would, without storing modules (so a test can garble them first). */
async function appendJob(prefix: string, jobKey: string, modules = ['square-sum']): Promise<void> {
  const entry = { kind: 'job', jobKey, job: JOB, modules };
  await cluster.redis().xadd(keys(prefix).log, '*', 'e', JSON.stringify(entry));
}

async function outcomeOf(prefix: string, jobKey: string): Promise<JobOutcome> {
  const key = keys(prefix).job(jobKey);
  const raw = await waitFor(
    `the outcome of ${jobKey}`,
    async () => (await cluster.redis().get(key)) ?? undefined,
    BOUND_MS,
  );
  return JSON.parse(raw) as JobOutcome;
}

it('a garbled module record fails only its job, with an error naming the key and the fix; the next job runs', async () => {
  const c = await libraryCluster('bad-module');
  try {
    // Cut short before the director ever read a good copy (one it read is put back: see below).
    await cluster.redis().set(c.k.module('square-sum'), '{"taskType":"square-sum"');
    await appendJob('bad-module', 'garbled');
    const outcome = await outcomeOf('bad-module', 'garbled');
    expect(outcome.status).toBe('failed');
    expect(outcome.error).toMatch(/bad-module:module:square-sum: not JSON .* Fix: submit the job again/);
    expectDone((await c.run()).outcome); // run --redis stores the module again
  } finally {
    await c.stop();
  }
});

it('garbage in the log (not JSON, no entry field, bad shapes, results for no micro-task) is skipped; jobs still run', async () => {
  let nowMs = 0; // the warning limiter's clock: virtual, advanced by hand
  const c = await libraryCluster('bad-log', { director: { clock: { nowMs: () => nowMs } } });
  try {
    const log = c.k.log;
    await cluster.redis().xadd(log, '*', 'e', 'garbage');
    await cluster.redis().xadd(log, '*', 'x', 'no entry field');
    await cluster.redis().xadd(log, '*', 'e', JSON.stringify({ kind: 'results', nodeId: 'n9', results: 'many' }));
    await cluster.redis().xadd(log, '*', 'e', JSON.stringify({ kind: 'job', jobKey: '', job: null, modules: 3 }));
    const ghost = { id: 999_999, status: 'split', value: 'not children', durationUs: 1, attempt: 1 };
    await cluster.redis().xadd(log, '*', 'e', JSON.stringify({ kind: 'results', nodeId: 'n9', results: [ghost] }));
    expectDone((await c.run()).outcome);
    const skipped = () => c.lines.filter((l) => l.startsWith('skipped a bad log entry'));
    expect(skipped()).toEqual([
      expect.stringMatching(/^skipped a bad log entry: bad-log:log \d+-\d+: not JSON \(garbage\)$/),
    ]);
    nowMs += 30_000; // one warning interval later, the next tick says how many were held back
    await waitFor('the count of skipped entries', () => skipped().length === 2);
    expect(skipped()[1]).toMatch(/: not JSON \(garbage\) \(3 repeat\(s\) in the last 30 s not shown\)$/);
  } finally {
    await c.stop();
  }
});

it('keys of the wrong type (node set, decisions, node states, refusals) are repaired; placement and jobs go on', async () => {
  const redis = cluster.redis();
  const k = keys('wrong-type');
  await redis.set(k.nodes, 'a string, not a set');
  await redis.set(k.decisions, 'a string, not a list');
  await redis.set(k.nodeStates, 'a string, not a hash');
  await redis.set(k.refused, 'a string, not a sorted set');
  const c = await libraryCluster('wrong-type', {
    director: { admission: { maxBacklogMs: { low: 1e9, normal: 1e9, high: 1e9 } } },
  });
  try {
    expectDone((await c.run()).outcome);
    expect(await redis.type(k.nodes)).toBe('set');
    expect(await redis.type(k.decisions)).toBe('list');
    expect(await redis.type(k.nodeStates)).toBe('hash');
    for (const key of [k.nodes, k.decisions, k.nodeStates, k.refused])
      expect(c.lines.filter((l) => l.startsWith(`${key} held a string`))).toHaveLength(1);
  } finally {
    await c.stop();
  }
});

it('a garbled desired state does not stop a director from starting: it is replaced, and the agent serves', async () => {
  await cluster.redis().set(keys('bad-desired').desired('n1'), '[1,2,3]');
  await cluster.redis().set(keys('bad-desired').desired('gone'), 'not JSON');
  const c = await libraryCluster('bad-desired');
  try {
    expectDone((await c.run()).outcome);
    expect(c.lines).toContainEqual(expect.stringMatching(/^bad-desired:desired:gone: not JSON .*: deleted\. Fix: /));
  } finally {
    await c.stop();
  }
});

it('a garbled log base stops a director from starting with one line naming the key, the value and the fix', async () => {
  await cluster.redis().set(keys('bad-base').logBase, '{"minId":7}');
  await expect(
    ClusterDirector.start({ redisUrl: cluster.server().url, prefix: 'bad-base', tickMs: 50 }),
  ).rejects.toThrow(
    /^bad-base:log-base: minId: .*; replaying the log from an unknown start could number micro-tasks twice\. Fix: /,
  );
  expect(await cluster.redis().exists('bad-base:director')).toBe(0); // the lease is handed back
});

it("garbage at a job key's outcome or progress before the job runs: the client still gets its result, with a warning", async () => {
  const c = await libraryCluster('bad-outcome');
  const warnings: string[] = [];
  try {
    await cluster.redis().set(c.k.job('nightly'), 'garbage');
    await cluster.redis().set(c.k.progress('nightly'), '{"atMs":"soon"}');
    const { outcome } = await c.run(JOB, { jobKey: 'nightly', onWarning: (line) => warnings.push(line) });
    expectDone(outcome);
    expect(warnings).toContainEqual(
      expect.stringMatching(/^bad-outcome:job:nightly held "garbage", not a job's outcome: replaced by this submit/),
    );
    expect(warnings).toContainEqual(
      expect.stringMatching(/^bad-outcome:progress:nightly: atMs: .*: progress not shown/),
    );
  } finally {
    await c.stop();
  }
});

/** PTTL calls so far: only a waiting client's look at the director's lease sends one here. */
const pttlCalls = async (): Promise<number> =>
  Number(/cmdstat_pttl:calls=(\d+)/.exec(await cluster.redis().info('commandstats'))?.[1] ?? 0);

it('a client whose director goes away while it waits says so at once, and ends with a clear error past its bound', async () => {
  const c = await libraryCluster('gone', { agent: false }); // no agent: the job cannot finish
  let nowMs = 0; // the client's clock for its bound: virtual
  const told: string[] = [];
  const waiting = runOnCluster(SQUARE, JOB, {
    redisUrl: cluster.server().url,
    prefix: 'gone',
    cacheDir: '.swarmlet/cache',
    signKey: TEST_SIGN_KEY,
    onNoDirector: (reason) => told.push(reason),
    noDirectorTimeoutMs: 10_000,
    clock: { nowMs: () => nowMs },
  });
  const settled = waiting.then(
    () => 'resolved',
    (error: Error) => error.message,
  );
  try {
    await waitFor('the job in the log', async () => (await cluster.redis().xlen(c.k.log)) === 1);
    await c.supervisor.stop(); // a graceful stop frees the lease at once
    await waitFor('the client to say the director is gone', () => told.length === 1, 5_000);
    expect(told).toEqual(['the director stopped (gone:director is free)']);
    await cluster.redis().set(c.k.director, 'garbage'); // no director wrote this: still none, and not said twice
    nowMs += 9_999;
    const polls = await pttlCalls();
    await waitFor('three more polls of the lease', async () => (await pttlCalls()) >= polls + 3); // not past the bound
    expect(told).toHaveLength(1);
    nowMs += 1;
    expect(await within(BOUND_MS, 'the client past its bound', settled)).toMatch(
      /^no director is running on this Redis \(prefix gone\) after 10000 ms: gone:director holds "garbage", not a director's lease\. Fix: start one/,
    );
  } finally {
    await c.stop();
  }
});

it("a client with no director ends past its bound on its environment's clock, looking once every progressEveryMs", async () => {
  const environment = new VirtualEnvironment(); // its timers fire only when stepped: no wall-clock wait here
  const told: string[] = [];
  let error: string | undefined;
  void runOnCluster(SQUARE, JOB, {
    redisUrl: cluster.server().url,
    prefix: 'virtual-wait',
    cacheDir: '.swarmlet/cache',
    signKey: TEST_SIGN_KEY,
    onNoDirector: (reason) => told.push(reason),
    noDirectorTimeoutMs: 10_000,
    progressEveryMs: 1_000,
    environment,
  }).then(
    () => (error = 'resolved'),
    (thrown: Error) => (error = thrown.message),
  );
  // Submitted (its connect bounds were set and cancelled on the virtual clock, never fired): none is running.
  await waitFor('the client to say no director runs', () => told.length === 1);
  expect(told[0]).toMatch(/^no director is running on this Redis yet \(/);
  let looks = 0;
  // Each step fires the client's next look (none is set while it reads Redis: then the step finds nothing).
  await waitFor('the client past its bound', () => {
    if (error === undefined && environment.step()) looks++;
    return error;
  });
  expect(error).toMatch(/^no director is running on this Redis \(prefix virtual-wait\) after 10000 ms: /);
  expect(environment.nowMs).toBe(10_000);
  expect(looks).toBe(10);
  expect(told).toHaveLength(1);
});

it('a garbled saved state of a stateful type is moved aside with a warning; the type starts afresh and its job runs', async () => {
  const c = await libraryCluster('bad-state', { tasks: ['test/fixtures/stateful-counter.task.ts'] });
  try {
    await cluster.redis().set(c.k.state('counter'), '{"count":');
    const { outcome } = await c.run({ type: 'counter', input: null });
    expect(outcome.error).toBeUndefined();
    expect(outcome.output).toBe(1); // no state restored: the count starts at 0
    expect(await cluster.redis().get(`${c.k.state('counter')}:unreadable`)).toBe('{"count":');
    expect(c.agentLines).toContainEqual(
      expect.stringMatching(
        /^warning: bad-state:state:counter: not JSON .*: moved to bad-state:state:counter:unreadable/,
      ),
    );
  } finally {
    await c.stop();
  }
});

it("an agent's repeated warning (a garbled desired state, read every heartbeat) is one line per interval, then the count", async () => {
  let nowMs = 0; // the agent's warning clock: virtual
  const c = await libraryCluster('agent-warn', { agent: { clock: { nowMs: () => nowMs } } });
  try {
    await c.supervisor.stop(); // nobody rewrites the desired state
    await cluster.redis().set(c.k.desired('n1'), 'garbage');
    const warned = () => c.agentLines.filter((l) => l.includes('agent-warn:desired:n1'));
    const beats = c.agent!.beats;
    await waitFor('ten heartbeats', () => c.agent!.beats >= beats + 10);
    expect(warned()).toEqual([expect.stringMatching(/^warning: agent-warn:desired:n1: not JSON \(garbage\): keeping/)]);
    nowMs += 30_000;
    await waitFor('the count of repeats', () => warned().length === 2);
    expect(warned()[1]).toMatch(/\(\d+ repeat\(s\) in the last 30 s not shown\)$/);
    const now = c.agent!.beats;
    await waitFor('ten more heartbeats', () => c.agent!.beats >= now + 10);
    expect(warned()).toHaveLength(2); // the warning goes on: still one line per interval
  } finally {
    await c.stop();
  }
});

it('a desired state garbled while the director runs is written again (said once) and the node keeps serving', async () => {
  const c = await libraryCluster('desired-live');
  try {
    expectDone((await c.run()).outcome);
    const good = await cluster.redis().get(c.k.desired('n1'));
    await cluster.redis().set(c.k.desired('n1'), '{"version":"x"}');
    await waitFor(
      'the desired state written again',
      async () => (await cluster.redis().get(c.k.desired('n1'))) === good,
    );
    expectDone((await c.run()).outcome);
    expect(c.lines.filter((l) => l.includes('desired-live:desired:n1'))).toEqual([
      expect.stringMatching(
        /^desired-live:desired:n1 held "\{\\"version\\":\\"x\\"\}", not what this director wrote: written again\. Fix: /,
      ),
    ]);
  } finally {
    await c.stop();
  }
});

it('a log key of the wrong type: the director refuses to start and the client to submit, each naming the key and the fix', async () => {
  await cluster.redis().set('no-log:log', 'a string, not a stream');
  await expect(ClusterDirector.start({ redisUrl: cluster.server().url, prefix: 'no-log', tickMs: 50 })).rejects.toThrow(
    /^no-log:log holds a string, not the cluster's log stream\. Fix: /,
  );
  await expect(
    runOnCluster(SQUARE, JOB, { redisUrl: cluster.server().url, prefix: 'no-log', cacheDir: '.swarmlet/cache' }),
  ).rejects.toThrow(/^no-log:log holds a string, not the cluster's log stream: the job cannot be submitted\. Fix: /);
});

it('placement reports of the wrong type or garbled are left out of what the client shows, never its failure', async () => {
  const k = keys('bad-report');
  await cluster.redis().set(k.decisions, 'a string, not a list');
  expect(await latestDecisions(cluster.redis(), k, 5)).toEqual([]);
  await cluster.redis().del(k.decisions);
  await cluster.redis().lpush(k.decisions, 'garbage', JSON.stringify({ atMs: 1, taskType: 't', reasons: ['r'] }));
  expect(await latestDecisions(cluster.redis(), k, 5)).toEqual([{ atMs: 1, taskType: 't', reasons: ['r'] }]);
});

it('a module record garbled after its job was accepted is put back by the director (said once): agents can still load it', async () => {
  const c = await libraryCluster('module-later');
  try {
    expectDone((await c.run()).outcome);
    const key = c.k.module('square-sum');
    const good = await cluster.redis().get(key);
    await cluster.redis().set(key, 'garbage');
    await waitFor('the record put back', async () => (await cluster.redis().get(key)) === good);
    expect(c.lines.filter((l) => l.includes(key))).toEqual([
      expect.stringMatching(
        /^module-later:module:square-sum: not JSON \(garbage\): put back the record this director read/,
      ),
    ]);
    expectDone((await c.run()).outcome);
  } finally {
    await c.stop();
  }
});

/** Seeded garbage of every kind a Redis user could leave: not JSON, JSON of another shape, another Redis type. */
async function garble(key: string, kind: number): Promise<string> {
  const redis = cluster.redis();
  await redis.del(key);
  switch (kind) {
    case 0:
      await redis.set(key, 'garbage');
      return 'not JSON';
    case 1:
      await redis.set(key, JSON.stringify({ version: -1, status: 7, swarmlets: 'none', atMs: 'now' }));
      return 'JSON of another shape';
    case 2:
      await redis.rpush(key, 'a', 'b');
      return 'a list';
    default:
      await redis.hset(key, 'field', 'value');
      return 'a hash';
  }
}

it('seeded garbage in every key the director, the agents and clients read back: each job still gets its answer within the bound', async () => {
  const seed = Number(process.env.SWARMLET_GARBAGE_SEED ?? 11);
  const rng = seededRng(seed);
  const c = await libraryCluster('fuzz');
  const attacked: string[] = [];
  try {
    expectDone((await c.run()).outcome);
    const targets = [
      c.k.director,
      `${c.k.director}:epoch`,
      c.k.nodes,
      c.k.desired('n1'),
      c.k.module('square-sum'),
      c.k.decisions,
      c.k.nodeStates,
      c.k.refused,
      c.k.job('fuzzed-0'),
      c.k.progress('fuzzed-0'),
      c.k.node('n2'),
    ];
    for (let round = 0; round < 6; round++) {
      for (const key of targets)
        if (rng.next() < 0.5) attacked.push(`${key}: ${await garble(key, Math.floor(rng.next() * 4))}`);
      await cluster
        .redis()
        .sadd(c.k.nodes, 'n2')
        .catch(() => undefined);
      await cluster
        .redis()
        .xadd(c.k.log, '*', 'e', JSON.stringify({ kind: 'results', nodeId: 'n2', results: [{ id: round }] }));
      // A key per round; each round's garbage lands on this round's outcome and progress keys.
      const jobKey = `fuzzed-${round}`;
      targets[8] = c.k.job(`fuzzed-${round + 1}`);
      targets[9] = c.k.progress(`fuzzed-${round + 1}`);
      const { outcome } = await c.run(JOB, { jobKey });
      if (outcome.status === 'failed')
        expect(outcome.error).toMatch(/fuzz:module:square-sum: .* Fix: /); // garbled before it was read
      else expectDone(outcome);
    }
    // Stepping down is right only when the lease and its epoch were both garbled (then it starts again from the log).
    if (c.supervisor.restarts > 0) expect(attacked.join(' ')).toMatch(/fuzz:director:epoch/);
  } catch (error) {
    if (process.env.SWARMLET_GARBAGE_DEBUG) console.log([...c.lines, '--- agent', ...c.agentLines].join('\n'));
    throw new Error(
      `seed ${seed} (SWARMLET_GARBAGE_SEED=${seed} reproduces it); garbled: ${attacked.join('; ')}: ${(error as Error).message}`,
    );
  } finally {
    await c.stop();
  }
}, 120_000);
