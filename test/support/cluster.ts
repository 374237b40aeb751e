/**
 * A real cluster on loopback for end-to-end tests: the built CLI's `serve` and `agent` as child
 * processes against a real redis-server (test/support/redis-server.ts). Stopped by PID.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { Redis } from 'ioredis';

export interface Child {
  readonly process: ChildProcess;
  readonly output: () => string;
  /** SIGKILL (a crash) or SIGTERM (graceful); resolves once it exited. */
  stop(signal?: NodeJS.Signals): Promise<void>;
}

const CLI = 'dist/cli.js';

export function spawnCli(args: string[]): Child {
  const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
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

export const startDirector = (url: string, ttlMs: number): Child => spawnCli(['serve', '--redis', url, '--tick-ms', '100', '--node-ttl-ms', String(ttlMs)]);

export const startAgent = (url: string, nodeId: string, ttlMs: number, extra: string[] = []): Child =>
  spawnCli(['agent', '--redis', url, '--node-id', nodeId, '--ttl-ms', String(ttlMs), '--heartbeat-ms', String(Math.round(ttlMs / 4)), ...extra]);

/** Polls `check` until it returns a value (not undefined) or the bound passes. */
export async function waitFor<T>(what: string, check: () => Promise<T | undefined> | T | undefined, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** Node ids with a live heartbeat. */
export async function liveNodes(redis: Redis, prefix = 'swarmlet'): Promise<string[]> {
  const keys = await redis.keys(`${prefix}:node:*`);
  return keys.map((key) => key.slice(`${prefix}:node:`.length)).sort();
}
