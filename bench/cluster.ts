/**
 * Section 5: cluster throughput. No-op micro-tasks through Swarmlet's cluster mode (director in
 * this process, one agent process with its swarmlets, BullMQ on a real redis-server) against raw BullMQ on the same
 * Redis in the same run: jobs added in bulk, one Worker at concurrency 50 with a no-op processor.
 * Both are timed from the first add to the last completion. Swarmlet runs twice: as it ships
 * (lease batches: many tiny micro-tasks per BullMQ job) and with one BullMQ job per micro-task, the
 * like-for-like comparison of everything else. Bundles are signed as the README's quick start does; a third cluster
 * runs unsigned bundles (its agent --allow-unsigned) for the cost of signing and verifying.
 */
import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { spawn } from 'node:child_process';
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runOnCluster } from '../src/runtime/cluster/cluster-client.js';
import { ClusterDirector } from '../src/runtime/cluster/director.js';
import { startRedisServer } from '../test/support/redis-server.js';
import type { Detail, Row, SectionResult } from './table.js';
import { CACHE_DIR, NOOP_TASK, ROOT, fmt, log, median, now } from './util.js';

const SECTION = 'cluster';
const TASKS = 20_000;
const REPS = 5;

async function rawBullmq(url: string, rep: number): Promise<number> {
  const connection = new Redis(url, { maxRetriesPerRequest: null });
  const name = `raw-${rep}`;
  const queue = new Queue(name, { connection, prefix: 'bench' });
  let done = 0;
  let resolve!: () => void;
  const finished = new Promise<void>((r) => (resolve = r));
  const started = now();
  for (let i = 0; i < TASKS; i += 1_000) {
    await queue.addBulk(
      Array.from({ length: Math.min(1_000, TASKS - i) }, (_, j) => ({
        name: 'noop',
        data: i + j,
        opts: { removeOnComplete: true },
      })),
    );
  }
  const workerConnection = new Redis(url, { maxRetriesPerRequest: null });
  const worker = new Worker(name, async () => null, { connection: workerConnection, prefix: 'bench', concurrency: 50 });
  worker.on('completed', () => ++done === TASKS && resolve());
  await finished;
  const elapsedMs = now() - started;
  await worker.close();
  await queue.close();
  await connection.quit(); // BullMQ never closes connections it was given
  await workerConnection.quit();
  return (TASKS * 1000) / elapsedMs;
}

function noopJob(count: number) {
  return { tasks: Array.from({ length: count }, (_, i) => ({ id: `t${i}`, type: 'noop', input: i })) };
}

/** A key pair for this run: the client signs with the private key, the agents trust the public one. */
export function benchKeys(): { signKey: KeyObject; publicKeyPath: string } {
  const pair = generateKeyPairSync('ed25519');
  const publicKeyPath = join(mkdtempSync(join(tmpdir(), 'swarmlet-bench-keys-')), 'bench.pub');
  writeFileSync(publicKeyPath, pair.publicKey.export({ type: 'spki', format: 'pem' }));
  return { signKey: pair.privateKey, publicKeyPath };
}

/**
 * A director (in this process) and one agent process on its own prefix; `batchMax` 1: one BullMQ job per micro-task;
 * `keys` undefined: unsigned bundles.
 */
export async function startCluster(
  url: string,
  prefix: string,
  batchMax: number,
  keys: ReturnType<typeof benchKeys> | undefined,
) {
  const director = await ClusterDirector.start({ redisUrl: url, prefix, tickMs: 100, batchMax });
  // The agent is its own process, as on a real node; the director and the client share this one.
  const agent = spawn(
    process.execPath,
    [
      join(ROOT, 'dist', 'cli.js'),
      'agent',
      '--redis',
      url,
      '--prefix',
      prefix,
      '--node-id',
      'bench',
      '--cache-dir',
      CACHE_DIR,
      '--heartbeat-ms',
      '250',
      '--ttl-ms',
      '3000',
      ...(keys ? ['--trust', keys.publicKeyPath] : ['--allow-unsigned']),
    ],
    { stdio: 'ignore' },
  );
  const agentExited = new Promise((resolve) => agent.once('exit', resolve));
  const run = async (count: number): Promise<number> => {
    const started = now();
    const { outcome } = await runOnCluster([NOOP_TASK], noopJob(count), {
      redisUrl: url,
      prefix,
      cacheDir: CACHE_DIR,
      progressEveryMs: 50,
      ...(keys && { signKey: keys.signKey }),
    });
    if (outcome.status !== 'done') throw new Error(`cluster bench job failed: ${outcome.error}`);
    return (count * 1000) / (now() - started);
  };
  return {
    director,
    run,
    async stop() {
      agent.kill('SIGTERM');
      await agentExited;
      await director.stop();
    },
  };
}

export async function runCluster(): Promise<SectionResult> {
  const server = await startRedisServer();
  const keys = benchKeys();
  const batched = await startCluster(server.url, 'bench-cluster', 64, keys);
  const single = await startCluster(server.url, 'bench-single', 1, keys);
  const unsigned = await startCluster(server.url, 'bench-unsigned', 64, undefined);
  try {
    await batched.run(2_000); // swarmlets up, modules loaded, the type measured
    await single.run(2_000);
    await unsigned.run(2_000);
    const raw: number[] = [];
    const ours: number[] = [];
    const alone: number[] = [];
    const plain: number[] = [];
    for (let rep = 0; rep < REPS; rep++) {
      raw.push(await rawBullmq(server.url, rep));
      // Signed and unsigned alternate which goes first, so neither always meets a warmer Redis.
      const pair = rep % 2 === 0 ? [batched, unsigned] : [unsigned, batched];
      for (const cluster of pair) (cluster === batched ? ours : plain).push(await cluster.run(TASKS));
      alone.push(await single.run(TASKS));
      log(
        `cluster rep ${rep + 1}: raw BullMQ ${fmt(raw[rep]!)}/s, Swarmlet cluster ${fmt(ours[rep]!)}/s (unsigned ${fmt(plain[rep]!)}/s), one job per micro-task ${fmt(alone[rep]!)}/s`,
      );
    }
    const baseline = median(raw);
    const baselineName = 'raw BullMQ worker, concurrency 50';
    const rows: Row[] = [
      {
        section: SECTION,
        metric: `no-op micro-tasks/s, ${fmt(TASKS)}-task job, submit → outcome`,
        unit: 'tasks/s',
        swarmlet: median(ours),
        baseline,
        baselineName,
        ratio: median(ours) / baseline,
        goal: 'higher',
        target: 0.9,
      },
      {
        section: SECTION,
        metric: 'same, one BullMQ job per micro-task (serve --batch-max 1)',
        unit: 'tasks/s',
        swarmlet: median(alone),
        baseline,
        baselineName,
        ratio: median(alone) / baseline,
        goal: 'info',
      },
      {
        section: SECTION,
        metric: 'signed bundles (agent --trust) vs unsigned (--allow-unsigned), same job',
        unit: 'tasks/s',
        swarmlet: median(ours),
        baseline: median(plain),
        baselineName: 'the same cluster, unsigned bundles',
        ratio: median(ours) / median(plain),
        goal: 'higher',
        target: 0.95,
      },
    ];
    const details: Detail[] = [
      {
        section: SECTION,
        name: 'cluster runs',
        value: median(ours),
        unit: 'tasks/s',
        note: ours.map((v) => fmt(v)).join(', '),
      },
      {
        section: SECTION,
        name: 'cluster runs, --batch-max 1',
        value: median(alone),
        unit: 'tasks/s',
        note: alone.map((v) => fmt(v)).join(', '),
      },
      {
        section: SECTION,
        name: 'raw BullMQ runs',
        value: baseline,
        unit: 'tasks/s',
        note: raw.map((v) => fmt(v)).join(', '),
      },
    ];
    return { rows, details };
  } finally {
    await batched.stop();
    await single.stop();
    await unsigned.stop();
    await server.stop();
  }
}
