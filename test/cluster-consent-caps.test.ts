/**
 * A personal node's consent caps on a real cluster (issue 12): a real redis-server, director and agent processes, a
 * signed client. A micro-task that allocates past the node's memory cap is stopped there, goes back to the queue and
 * runs on another node, and the client hears why; with no other node, its attempts run out and the job fails naming
 * the cap. Busy loops on several threads of a capped node's swarmlet are held to its CPU share, measured from outside.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { describe, expect, it } from 'vitest';
import type { JobInput } from '../src/core/job.js';
import { runOnCluster } from '../src/runtime/cluster/cluster-client.js';
import { keys, logEntrySchema, type LogEntry } from '../src/runtime/cluster/protocol.js';
import { realCluster, startAgent, startDirector, waitFor } from './support/cluster.js';
import { TEST_SIGN_KEY } from './support/signing.js';

const TTL_MS = 1_500;
const CAP_ATTACK = ['test/fixtures/cap-attack.task.ts'];
const cluster = realCluster();
const LAPTOP = ['--personal', '--consent', '--max-cpu', '50%', '--max-memory', '256', '--price', '0'];
const CAP = /the node's consent cap maxMemoryMb 256 MB was exceeded \(\d+ MB held/;

/** A job of one micro-task that takes 400 MB and ten that return at once. */
const HOG_JOB: JobInput = {
  tasks: [
    { id: 'hog', type: 'cap-attack', input: { mode: 'alloc', mb: 400, ms: 200 } },
    ...Array.from({ length: 10 }, (_, value) => ({
      id: `ok${value}`,
      type: 'cap-attack',
      input: { mode: 'ok', value },
    })),
  ],
};

const submit = (job: JobInput) =>
  runOnCluster(CAP_ATTACK, job, {
    redisUrl: cluster.server().url,
    cacheDir: '.swarmlet/cache',
    signKey: TEST_SIGN_KEY,
  });

async function logEntries(): Promise<LogEntry[]> {
  const entries = await cluster.redis().xrange(keys('swarmlet').log, '-', '+');
  return entries.map(([, fields]) => logEntrySchema.parse(JSON.parse(fields[fields.indexOf('e') + 1]!)));
}

/** The laptop's agent, its caps held by the kernel or (SWARMLET_NO_CGROUPS=1 in its environment) from outside. */
function startLaptop(enforcement: string, extra: string[] = []) {
  if (enforcement === 'outside') process.env.SWARMLET_NO_CGROUPS = '1';
  try {
    return cluster.spawned(startAgent(cluster.server().url, 'laptop', TTL_MS, [...LAPTOP, ...extra]));
  } finally {
    delete process.env.SWARMLET_NO_CGROUPS;
  }
}

describe.each(['kernel', 'outside'])('consent caps on a real cluster, held %s', (enforcement) => {
  it('a micro-task past the memory cap of a personal node is stopped there and runs on another node; the client hears why', async () => {
    const url = cluster.server().url;
    const director = cluster.spawned(startDirector(url, TTL_MS));
    const laptop = startLaptop(enforcement);
    cluster.spawned(startAgent(url, 'server', TTL_MS, ['--price', '0.01']));
    const capCores = availableParallelism() / 2;
    await waitFor('the laptop to say how its caps are held', () =>
      new RegExp(`consent caps held on what swarmlets use: cpu ${capCores} cores by .*, memory 256 MB by `).test(
        laptop.output(),
      ),
    );
    expect(laptop.output()).toContain(enforcement === 'kernel' ? 'by the kernel' : 'measuring /proc');
    const { outcome } = await submit(HOG_JOB);
    expect(outcome.status).toBe('done');
    expect((outcome.output as Record<string, number>).hog).toBe(50); // 400 MB in 8 MB buffers
    expect(Object.keys(outcome.output as object)).toHaveLength(11);
    const faults = outcome.faults ?? [];
    console.log(`${enforcement}: faults the client heard: ${faults.join(' | ')}`);
    expect(faults[0]).toMatch(/^micro-task \d+ \(cap-attack\) on laptop: swarmlet s\d+ /);
    expect(faults[0]).toMatch(CAP);
    // The hog's result came from the server: the director kept the type off the laptop and placed it there.
    const hogResults = (await logEntries()).flatMap((entry) =>
      entry.kind === 'results' ? entry.results.filter((r) => r.value === 50).map(() => entry.nodeId) : [],
    );
    expect(hogResults).toEqual(['server']);
    expect(director.output()).toMatch(/cap-attack broke the consent caps of laptop \(.*\): .*placed elsewhere/);
    expect(laptop.output()).toMatch(CAP);
  }, 90_000);

  it.runIf(enforcement === 'kernel')(
    'with no other node, its attempts run out on the capped node and the job fails naming the cap',
    async () => {
      const url = cluster.server().url;
      cluster.spawned(startDirector(url, TTL_MS));
      startLaptop(enforcement);
      const { outcome } = await submit(HOG_JOB);
      expect(outcome.status).toBe('failed');
      expect(outcome.error).toMatch(CAP);
      expect(outcome.faults?.length).toBeGreaterThanOrEqual(1);
      for (const fault of outcome.faults ?? []) expect(fault).toMatch(CAP);
      // The other micro-tasks were not held up by it: each ran and was recorded.
      const okValues = (await logEntries()).flatMap((entry) =>
        entry.kind === 'results' ? entry.results.filter((r) => r.status === 'ok').map((r) => r.value) : [],
      );
      expect(new Set(okValues)).toEqual(new Set(Array.from({ length: 10 }, (_, value) => value)));
    },
    90_000,
  );

  it('busy loops on 3 threads of a swarmlet on a node with --max-cpu 50% use at most the cap + 10 % over 5 s', async () => {
    const url = cluster.server().url;
    cluster.spawned(startDirector(url, TTL_MS));
    const laptop = startLaptop(enforcement, ['--sandbox', 'none', '--allow-unsandboxed']);
    const running = submit({ type: 'cap-attack', input: { mode: 'threads', count: 3, ms: 9_000 } });
    const agentPid = laptop.process.pid!;
    await waitFor('the swarmlet to spin', () => spinning(agentPid), 30_000);
    const before = cpuOfChildren(agentPid);
    await new Promise((resolve) => setTimeout(resolve, 5_000));
    const after = cpuOfChildren(agentPid);
    let usedMs = 0;
    for (const [pid, cpuMs] of after) usedMs += cpuMs - (before.get(pid) ?? 0);
    const cores = usedMs / 5_000;
    const capCores = availableParallelism() / 2;
    console.log(
      `cluster CPU ${enforcement}: ${cores.toFixed(3)} cores used by the agent's swarmlets over 5 s under a cap of ${capCores}`,
    );
    expect(cores).toBeLessThanOrEqual(capCores * 1.1);
    expect((await running).outcome.status).toBe('done');
  }, 90_000);
});

/** CPU time of every process below `pid` (not itself), by pid. */
function cpuOfChildren(pid: number): Map<number, number> {
  const stats = new Map<number, { ppid: number; cpuMs: number }>();
  for (const name of readdirSync('/proc').filter((entry) => /^\d+$/.test(entry))) {
    try {
      const line = readFileSync(`/proc/${name}/stat`, 'utf8');
      const fields = line.slice(line.lastIndexOf(')') + 2).split(' ');
      stats.set(Number(name), { ppid: Number(fields[1]), cpuMs: (Number(fields[11]) + Number(fields[12])) * 10 });
    } catch {
      // gone
    }
  }
  const below = new Set([pid]);
  for (let grew = true; grew;) {
    grew = false;
    for (const [child, stat] of stats) if (!below.has(child) && below.has(stat.ppid)) grew = below.add(child).size > 0;
  }
  below.delete(pid);
  return new Map([...below].map((child) => [child, stats.get(child)!.cpuMs]));
}

/**
 * The processes below the agent used a fifth of a core or more over the last 500 ms: the attack runs. (Half a core was
 * not always reached beside a full test run and two CPU hogs: the capped group then shares the cores with all of them.)
 */
async function spinning(pid: number): Promise<boolean> {
  const before = cpuOfChildren(pid);
  await new Promise((resolve) => setTimeout(resolve, 500));
  let usedMs = 0;
  for (const [child, cpuMs] of cpuOfChildren(pid)) usedMs += cpuMs - (before.get(child) ?? cpuMs);
  return usedMs >= 100;
}
