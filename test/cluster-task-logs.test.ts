/**
 * What tasks print in the cluster, read through the director's HTTP API: a real redis-server, a director and an agent
 * (real swarmlet processes) in this process, jobs submitted by the client path. Agents ship the lines to Redis
 * (task-log-shipper.ts), bounded per swarmlet and per micro-task; the director's API reads them back.
 */
import { expect, it } from 'vitest';
import type { JobInput } from '../src/core/job.js';
import { clusterOperations } from '../src/api/cluster-operations.js';
import { startApiServer } from '../src/api/server.js';
import { ClusterAgent } from '../src/runtime/cluster/agent.js';
import { runOnCluster } from '../src/runtime/cluster/cluster-client.js';
import { DirectorSupervisor } from '../src/runtime/cluster/director-supervisor.js';
import { keys } from '../src/runtime/cluster/protocol.js';
import { epochEnvironment } from '../src/runtime/local/wall-environment.js';
import { realCluster, waitFor } from './support/cluster.js';
import { lineLogger } from './support/recording-logger.js';
import { TEST_SIGN_KEY, TRUSTED } from './support/signing.js';

const cluster = realCluster();
const TASKS = ['test/fixtures/printer.task.ts', 'test/fixtures/slow-printer.task.ts'];

interface Line {
  atMs: number;
  swarmletId: string;
  microTaskId?: string;
  line: string;
}

/** A director with the HTTP API, and one agent (its leases held `ttlMs`), on `prefix`. */
async function apiCluster(prefix: string, ttlMs = 1_000) {
  const url = cluster.server().url;
  const supervisor = await DirectorSupervisor.start({ redisUrl: url, prefix, tickMs: 50, logger: lineLogger([]) });
  const agentLines: string[] = [];
  const agent = await ClusterAgent.start({
    ...TRUSTED,
    redisUrl: url,
    prefix,
    nodeId: 'n1',
    heartbeatMs: 100,
    ttlMs,
    logger: lineLogger(agentLines),
  });
  const operations = clusterOperations({ director: () => supervisor.director, clock: epochEnvironment.clock });
  const api = await startApiServer({ operations, environment: epochEnvironment, host: '127.0.0.1', port: 0 });
  const get = async (path: string) => {
    const response = await fetch(`${api.url}${path}`);
    return { status: response.status, body: (await response.json()) as { lines: Line[]; swarmlets: { id: string }[] } };
  };
  return {
    agent,
    agentLines,
    k: keys(prefix),
    logs: async (query: string) => {
      const answer = await get(`/api/logs?${query}`);
      expect(answer.status).toBe(200);
      return answer.body.lines;
    },
    swarmletIds: async () => (await get('/api/swarmlets')).body.swarmlets.map((s) => s.id),
    run: (job: JobInput, jobKey: string) =>
      runOnCluster(TASKS, job, { redisUrl: url, prefix, cacheDir: '.swarmlet/cache', signKey: TEST_SIGN_KEY, jobKey }),
    async stop() {
      await api.close();
      await agent.stop();
      await supervisor.stop().catch(() => undefined);
    },
  };
}

const numbered = (label: string, from: number, to: number) =>
  Array.from({ length: to - from }, (_, i) => `${label} line ${from + i}`);

it('GET /api/logs on the director: a micro-task by <jobKey>:<label>, a swarmlet by id, each line attributed', async () => {
  const c = await apiCluster('logs');
  try {
    const { outcome } = await c.run(
      {
        tasks: [
          { id: 'first', type: 'printer', input: { lines: 3 } },
          { id: 'second', type: 'printer', input: { lines: 120 }, deps: ['first'] },
        ],
      },
      'print-job',
    );
    expect(outcome.status).toBe('done');
    const second = await waitFor('the last line shipped', async () => {
      const lines = await c.logs('microTask=print-job:second');
      return lines.at(-1)?.line === 'second line 119' && lines;
    });
    expect(second.map((l) => l.line)).toEqual(numbered('second', 70, 120)); // the last 50
    expect(second.every((l) => l.microTaskId === 'print-job:second')).toBe(true);
    const first = await c.logs('microTask=print-job:first');
    expect(first.map((l) => l.line)).toEqual(numbered('first', 0, 3));
    expect(first.every((l) => l.microTaskId === 'print-job:first' && Math.abs(l.atMs - Date.now()) < 60_000)).toBe(
      true,
    );

    const swarmletId = first[0]!.swarmletId;
    expect(await c.swarmletIds()).toContain(swarmletId);
    const ofSwarmlet = await c.logs(`swarmlet=${swarmletId}`);
    // Both micro-tasks usually ran there (123 lines); the second may have gone to another swarmlet of the type.
    expect(ofSwarmlet.filter((l) => l.microTaskId === 'print-job:first').map((l) => l.line)).toEqual(
      numbered('first', 0, 3),
    );
    expect([3, 123]).toContain(ofSwarmlet.length);
    for (const line of ofSwarmlet) {
      expect(line.swarmletId).toBe(swarmletId);
      expect(line.line.startsWith(`${line.microTaskId!.slice('print-job:'.length)} line `)).toBe(true);
    }
    // The agent still keeps its own book, with the same ids.
    expect(c.agent.taskLogs.lines({ microTaskId: 'print-job:first' }).map((l) => l.line)).toEqual(
      numbered('first', 0, 3),
    );
    expect(await c.logs('microTask=no-such-job:first')).toEqual([]);
    expect(await c.logs('swarmlet=s999')).toEqual([]);
  } finally {
    await c.stop();
  }
});

it('two jobs with one label keep their lines apart (the job key is part of the id)', async () => {
  const c = await apiCluster('apart');
  try {
    const job = { tasks: [{ id: 'same', type: 'printer', input: { lines: 30 } }] };
    await Promise.all([c.run(job, 'job-a'), c.run(job, 'job-b')]);
    for (const jobKey of ['job-a', 'job-b']) {
      const lines = await waitFor(`${jobKey}'s lines`, async () => {
        const found = await c.logs(`microTask=${jobKey}:same`);
        return found.length === 30 && found;
      });
      expect(lines.map((l) => l.line)).toEqual(numbered('same', 0, 30));
    }
    expect(await c.logs('microTask=same')).toEqual([]);
  } finally {
    await c.stop();
  }
});

it('bounded: a task printing 10,000 lines leaves its swarmlet 200 and its micro-task 50 in Redis, expiring', async () => {
  const c = await apiCluster('bound');
  try {
    const { outcome } = await c.run({ tasks: [{ id: 'big', type: 'printer', input: { lines: 10_000 } }] }, 'loud');
    expect(outcome.status).toBe('done');
    const ofTask = await waitFor('the last line shipped', async () => {
      const lines = await c.logs('microTask=loud:big');
      return lines.at(-1)?.line === 'big line 9999' && lines;
    });
    expect(ofTask.map((l) => l.line)).toEqual(numbered('big', 9_950, 10_000));
    const swarmletKey = c.k.taskLogOfSwarmlet(ofTask[0]!.swarmletId);
    const redis = cluster.redis();
    expect(await redis.llen(swarmletKey)).toBe(200);
    expect(await redis.llen(c.k.taskLogOfMicroTask('loud:big'))).toBe(50);
    const ofSwarmlet = await c.logs(`swarmlet=${ofTask[0]!.swarmletId}`);
    expect(ofSwarmlet.map((l) => l.line)).toEqual(numbered('big', 9_800, 10_000));
    for (const key of [swarmletKey, c.k.taskLogOfMicroTask('loud:big')]) {
      const ttl = await redis.pttl(key);
      expect(ttl).toBeGreaterThan(0);
      expect(ttl).toBeLessThanOrEqual(3_600_000);
    }
    // Nothing else is shipped: only these two keys hold task logs.
    expect((await redis.keys('bound:tasklog:*')).sort()).toEqual([swarmletKey, 'bound:tasklog:t:loud:big'].sort());
    // Lines the buffer dropped (if the task outran the flushes) are one warning line per interval, not one per line.
    expect(c.agentLines.filter((l) => l.includes('task logs')).length).toBeLessThanOrEqual(1);
  } finally {
    await c.stop();
  }
});

it('Redis stopped mid-run: the task prints on, the agent buffers at most 1,000 lines, and ships the last once back', async () => {
  const c = await apiCluster('paused', 10_000); // its lease outlives the pause: the micro-task runs once
  const pid = cluster.server().pid;
  const label = (n: number) => c.agent.taskLogs.lines({ microTaskId: 'slow:talk' }).at(-1)?.line === `talk line ${n}`;
  let stopped = false;
  try {
    const running = c.run(
      { tasks: [{ id: 'talk', type: 'slow-printer', input: { lines: 3_000, everyMs: 0.2 } }] },
      'slow',
    );
    await waitFor('the task printing', () =>
      c.agent.taskLogs.lines({ microTaskId: 'slow:talk' }).some((l) => l.line.startsWith('talk line')),
    );
    process.kill(pid, 'SIGSTOP');
    stopped = true;
    // The micro-task runs to its end while Redis answers nothing: printing never waits for Redis.
    await waitFor('the task printing its last line with Redis stopped', () => label(2_999));
    expect(c.agent.shipper.buffered).toBeLessThanOrEqual(1_000);
    expect(c.agent.shipper.dropped).toBeGreaterThan(0);
    process.kill(pid, 'SIGCONT');
    stopped = false;
    expect((await running).outcome.status).toBe('done');
    const lines = await waitFor('the last lines shipped', async () => {
      const found = await c.logs('microTask=slow:talk');
      return found.at(-1)?.line === 'talk line 2999' && found;
    });
    expect(lines.map((l) => l.line)).toEqual(numbered('talk', 2_950, 3_000));
    expect(c.agentLines).toContainEqual(expect.stringMatching(/task logs: printed lines not shipped to Redis/));
  } finally {
    if (stopped) process.kill(pid, 'SIGCONT');
    await c.stop();
  }
});

it('garbage: a task log key of another Redis type reads as no lines, is deleted by the next flush, others unharmed', async () => {
  const c = await apiCluster('junk');
  try {
    const redis = cluster.redis();
    await c.run({ tasks: [{ id: 'one', type: 'printer', input: { lines: 2 } }] }, 'j1');
    const kept = await waitFor('j1 shipped', async () => {
      const lines = await c.logs('microTask=j1:one');
      return lines.length === 2 && lines;
    });
    await redis.rpush(c.k.taskLogOfMicroTask('j1:one'), 'not json', JSON.stringify({ line: 7 }));
    expect((await c.logs('microTask=j1:one')).map((l) => l.line)).toEqual(kept.map((l) => l.line)); // bad ones left out

    const key = c.k.taskLogOfMicroTask('j2:one');
    await redis.set(key, 'garbage');
    expect(await c.logs('microTask=j2:one')).toEqual([]);
    await c.run({ tasks: [{ id: 'one', type: 'printer', input: { lines: 2 } }] }, 'j2');
    await waitFor('the key deleted by the flush', async () => (await redis.type(key)) === 'none');
    expect(c.agentLines).toContainEqual(
      expect.stringMatching(/task logs: 1 key\(s\) refused printed lines \(junk:tasklog:t:j2:one: WRONGTYPE/),
    );
    // The same flush still filed the lines under their swarmlet.
    const ofSwarmlet = await c.logs(`swarmlet=${kept[0]!.swarmletId}`);
    expect(ofSwarmlet.filter((l) => l.microTaskId === 'j2:one').map((l) => l.line)).toEqual(numbered('one', 0, 2));
  } finally {
    await c.stop();
  }
});
