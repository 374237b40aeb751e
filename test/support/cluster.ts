/**
 * A real cluster on loopback for end-to-end tests: the built CLI's `serve` and `agent` as child
 * processes against a real redis-server (test/support/redis-server.ts). Stopped by PID.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll } from 'vitest';
import { startRedisServer, type RedisServer } from './redis-server.js';
import type { ClusterAgent } from '../../src/runtime/cluster/agent.js';
import { compileTaskModule } from '../../src/runtime/local/task-compiler.js';
import { keys, logEntrySchema, type ClusterResult } from '../../src/runtime/cluster/protocol.js';
import { signedRecord, TRUST_ARGS } from './signing.js';

export interface Child {
  readonly process: ChildProcess;
  readonly output: () => string;
  /** SIGKILL (a crash) or SIGTERM (graceful); resolves once it exited. */
  stop(signal?: NodeJS.Signals): Promise<void>;
}

const CLI = 'dist/cli.js';

/** `env`: the process's whole environment (default: this one's). */
export function spawnCli(args: string[], env?: NodeJS.ProcessEnv): Child {
  const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'], ...(env && { env }) });
  let text = '';
  child.stdout!.on('data', (chunk: Buffer) => (text += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (text += chunk.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    process: child,
    output: () => text,
    async stop(signal: NodeJS.Signals = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      await exited;
    },
  };
}

export const startDirector = (url: string, ttlMs: number): Child =>
  spawnCli(['serve', '--redis', url, '--tick-ms', '100', '--node-ttl-ms', String(ttlMs)]);

export const startAgent = (url: string, nodeId: string, ttlMs: number, extra: string[] = []): Child =>
  spawnCli([
    'agent',
    '--redis',
    url,
    '--node-id',
    nodeId,
    '--ttl-ms',
    String(ttlMs),
    '--heartbeat-ms',
    String(Math.round(ttlMs / 4)),
    ...TRUST_ARGS,
    ...extra,
  ]);

/** Polls `check` until it returns a value (neither undefined nor false) or the bound passes. */
export async function waitFor<T>(
  what: string,
  check: () => Promise<T | undefined | false> | T | undefined | false,
  timeoutMs = 20_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** Every result agents wrote to the log, in order. */
export async function loggedResults(redis: Redis, prefix = 'swarmlet'): Promise<ClusterResult[]> {
  const entries = await redis.xrange(keys(prefix).log, '-', '+');
  return entries.flatMap(([, fields]) => {
    const entry = logEntrySchema.parse(JSON.parse(fields[fields.indexOf('e') + 1]!));
    return entry.kind === 'results' ? entry.results : [];
  });
}

/** A probe for waitFor: the agent runs exactly these swarmlets (id → task type), all idle. */
export const servingExactly = (agent: ClusterAgent, expected: Record<string, string>) => (): boolean => {
  const swarmlets = agent.status().swarmlets;
  return (
    swarmlets.length === Object.keys(expected).length &&
    swarmlets.every((s) => expected[s.id] === s.taskType && s.state === 'idle')
  );
};

/** Node ids with a live heartbeat. */
export async function liveNodes(redis: Redis, prefix = 'swarmlet'): Promise<string[]> {
  const keys = await redis.keys(`${prefix}:node:*`);
  return keys.map((key) => key.slice(`${prefix}:node:`.length)).sort();
}

/**
 * One real redis-server for a test file, flushed after each test, and the CLI processes a test
 * starts (killed after it). Call at the top level of the file.
 */
export function realCluster(): {
  readonly server: () => RedisServer;
  readonly redis: () => Redis;
  readonly spawned: (child: Child) => Child;
  readonly children: () => readonly Child[];
} {
  let server: RedisServer;
  let redis: Redis;
  let children: Child[] = [];
  beforeAll(async () => {
    server = await startRedisServer();
    redis = new Redis(server.url);
  });
  afterEach(async () => {
    await Promise.all(children.map((child) => child.stop('SIGKILL')));
    children = [];
    await redis.flushall();
  });
  afterAll(async () => {
    await redis.quit();
    await server.stop();
  });
  return {
    server: () => server,
    redis: () => redis,
    spawned: (child) => (children.push(child), child),
    children: () => children,
  };
}

/** Task modules as the cluster stores them (`<prefix>:module:<type>`), compiled from test fixtures and signed. */
export async function compiledModules(
  fixtures: readonly string[],
  cacheDir: string,
): Promise<Map<string, { taskType: string; hash: string; code: string }>> {
  const modules = new Map<string, { taskType: string; hash: string; code: string }>();
  for (const fixture of fixtures) {
    const info = await compileTaskModule(`test/fixtures/${fixture}.task.ts`, join(cacheDir, 'compiled'));
    const hash = /-([0-9a-f]+)\.mjs$/.exec(basename(info.modulePath))![1]!;
    modules.set(info.name, signedRecord({ taskType: info.name, hash, code: await readFile(info.modulePath, 'utf8') }));
  }
  return modules;
}
