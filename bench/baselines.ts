/**
 * The baselines every Swarmlet number is divided by, measured in the same run: Piscina (worker
 * threads) and a bare `child_process.fork` pool with JSON IPC, both running the same no-op.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { Piscina } from 'piscina';
import { FORK_CHILD, PISCINA_WORKER, now } from './util.js';

export const WORKERS = 2;

/**
 * `concurrentTasksPerWorker` > 1 lets a thread take several queued calls per wake-up (Piscina's fastest setting for
 * tiny tasks).
 */
export function piscinaPool(concurrentTasksPerWorker = 1): Piscina {
  return new Piscina({
    filename: PISCINA_WORKER,
    minThreads: WORKERS,
    maxThreads: WORKERS,
    idleTimeout: 60_000,
    concurrentTasksPerWorker,
  });
}

/** Tasks/s with `inFlight` calls outstanding at all times (1 = strictly sequential). */
export async function piscinaThroughput(pool: Piscina, inFlight: number, count: number): Promise<number> {
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < count) await pool.run(next++);
  };
  const start = now();
  await Promise.all(Array.from({ length: inFlight }, lane));
  return (count * 1000) / (now() - start);
}

/** Per-call round trip (µs) of sequential `pool.run()` calls. */
export async function piscinaLatenciesUs(pool: Piscina, count: number): Promise<number[]> {
  const latencies: number[] = [];
  for (let i = 0; i < count; i++) {
    const start = now();
    await pool.run(i);
    latencies.push((now() - start) * 1000);
  }
  return latencies;
}

interface BatchReply {
  readonly b: number;
  readonly y: unknown[];
}

function isBatchReply(value: unknown): value is BatchReply {
  return typeof value === 'object' && value !== null && 'b' in value && 'y' in value && Array.isArray(value.y);
}

/** A bare pool: N forked children, JSON IPC, no validation, no bookkeeping beyond reply routing. */
export class ForkPool {
  readonly children: ChildProcess[];
  private readonly waiting = new Map<number, (outputs: unknown[]) => void>();
  private nextBatch = 0;

  private constructor(children: ChildProcess[]) {
    this.children = children;
    for (const child of children) {
      child.on('message', (message: unknown) => {
        if (!isBatchReply(message)) return;
        const resolve = this.waiting.get(message.b);
        this.waiting.delete(message.b);
        resolve?.(message.y);
      });
    }
  }

  static async start(size = WORKERS): Promise<ForkPool> {
    const children = Array.from({ length: size }, () => spawnChild());
    const pool = new ForkPool(children);
    await Promise.all(children.map((_, i) => pool.send(i, [0])));
    return pool;
  }

  send(childIndex: number, inputs: unknown[]): Promise<unknown[]> {
    const b = this.nextBatch++;
    return new Promise((resolve) => {
      this.waiting.set(b, resolve);
      this.children[childIndex]!.send({ b, x: inputs });
    });
  }

  /** Runs `count` no-ops in batches of `batch`, keeping `depth` batches in flight per child; tasks/s. */
  async throughput(count: number, batch: number, depth: number): Promise<number> {
    let next = 0;
    const lane = async (childIndex: number): Promise<void> => {
      while (next < count) {
        const from = next;
        next = Math.min(count, next + batch);
        const inputs: number[] = [];
        for (let i = from; i < next; i++) inputs.push(i);
        await this.send(childIndex, inputs);
      }
    };
    const lanes: Promise<void>[] = [];
    const start = now();
    for (let d = 0; d < depth; d++) this.children.forEach((_, i) => lanes.push(lane(i)));
    await Promise.all(lanes);
    return (count * 1000) / (now() - start);
  }

  /** Round trip (µs) of one single-task message at a time, alternating children. */
  async latenciesUs(count: number): Promise<number[]> {
    const latencies: number[] = [];
    for (let i = 0; i < count; i++) {
      const start = now();
      await this.send(i % this.children.length, [i]);
      latencies.push((now() - start) * 1000);
    }
    return latencies;
  }

  async stop(): Promise<void> {
    await Promise.all(this.children.map((child) => stopChild(child)));
  }
}

function spawnChild(): ChildProcess {
  // execArgv: [] as the Swarmlet provider does, so both pay the same bare `node` start.
  return fork(FORK_CHILD, [], { execArgv: [], serialization: 'json', stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
}

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGKILL');
  });
}

/** ms from `fork()` until a fresh tiny ESM child answers one IPC message. */
export async function bareForkColdStartMs(): Promise<number> {
  const start = now();
  const child = spawnChild();
  await new Promise<void>((resolve, reject) => {
    child.once('message', () => resolve());
    child.once('error', reject);
    child.send({ ping: 1 });
  });
  const elapsed = now() - start;
  await stopChild(child);
  return elapsed;
}
