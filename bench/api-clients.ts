/**
 * The HTTP clients of a served swarm in the api benches: what an open dashboard and a Prometheus server do, in a
 * process of their own (bench/fixtures/dashboard-clients.mjs) as a browser and Prometheus are, so that the bench
 * process's CPU and event loop carry the server's work only.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { ROOT } from './util.js';

const CLIENTS = join(ROOT, 'bench', 'fixtures', 'dashboard-clients.mjs');

export interface ClientOptions {
  readonly scrapeEveryMs: number;
  /** Paths read over and over, each at its own period (the dashboard's lists). */
  readonly polls?: readonly { readonly path: string; readonly everyMs: number }[];
}

export interface ClientCounts {
  readonly events: number;
  readonly scrapes: number;
  readonly polls: number;
}

/** A live event stream read to its end, a /metrics scraper and pollers, open once this resolves. */
export async function clients(url: string, options: ClientOptions): Promise<{ stop: () => Promise<ClientCounts> }> {
  const child = spawn(process.execPath, [CLIENTS, url, JSON.stringify(options)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout.setEncoding('utf8');
  const ready = new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (chunk: string) => {
      out += chunk;
      if (out.startsWith('ready\n')) resolve();
    });
    child.once('exit', (code) =>
      reject(new Error(`the bench's API clients exited (${code}) before the stream opened`)),
    );
  });
  await ready;
  let stopped: Promise<ClientCounts> | undefined;
  const stop = async (): Promise<ClientCounts> => {
    const exited = once(child, 'exit');
    child.kill('SIGTERM');
    await exited;
    return JSON.parse(out.slice('ready\n'.length)) as ClientCounts;
  };
  return { stop: () => (stopped ??= stop()) };
}
