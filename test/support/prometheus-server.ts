/**
 * A real Prometheus for tests: a child process on a free loopback port, scraping the given targets every second,
 * its data in a temporary directory removed on stop. Tests that need it fail (never skip) when the binary is missing.
 */
import type { ChildProcess } from 'node:child_process';
import { freePort, spawnDaemon } from './daemon.js';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface PrometheusServer {
  readonly url: string;
  readonly pid: number;
  /** An instant query's result vector (`/api/v1/query`). */
  query(promql: string): Promise<{ metric: Record<string, string>; value: number }[]>;
  /** Kills the server by PID, resolves once it has exited, removes its data. Safe to call twice. */
  stop(): Promise<void>;
}

const BINARY = '/usr/bin/prometheus';
const NOT_FOUND = `${BINARY} not found: apt-get install -y prometheus`;
const POLL_INTERVAL_MS = 50;

/** Starts Prometheus scraping `targets` (host:port, path /metrics) every second; resolves once /-/ready answers. */
export async function startPrometheus(targets: readonly string[], readyTimeoutMs = 30_000): Promise<PrometheusServer> {
  const dir = mkdtempSync(join(tmpdir(), 'swarmlet-prometheus-'));
  const config = join(dir, 'prometheus.yml');
  writeFileSync(
    config,
    [
      'global:',
      '  scrape_interval: 1s',
      '  scrape_timeout: 1s',
      '  evaluation_interval: 1s',
      'scrape_configs:',
      '  - job_name: swarmlet',
      '    static_configs:',
      `      - targets: [${targets.map((t) => `'${t}'`).join(', ')}]`,
      '',
    ].join('\n'),
  );
  const port = await freePort();
  const { child, exited } = spawnDaemon(
    BINARY,
    [
      `--config.file=${config}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--log.level=warn',
    ],
    NOT_FOUND,
    'before it was ready',
  );
  const stopOnExit = (): void => void child.kill('SIGKILL');
  process.once('exit', stopOnExit);
  const url = `http://127.0.0.1:${port}`;
  const stop = async () => {
    process.off('exit', stopOnExit);
    await kill(child);
    rmSync(dir, { recursive: true, force: true });
  };
  const ready = await Promise.race([waitReady(url, readyTimeoutMs).then(() => undefined), exited]);
  if (ready instanceof Error) {
    await stop();
    throw ready;
  }
  return { url, pid: child.pid!, query: (promql) => query(url, promql), stop };
}

async function query(url: string, promql: string): Promise<{ metric: Record<string, string>; value: number }[]> {
  const response = await fetch(`${url}/api/v1/query?query=${encodeURIComponent(promql)}`);
  const body = (await response.json()) as {
    status: string;
    error?: string;
    data?: { resultType: string; result: { metric: Record<string, string>; value: [number, string] }[] };
  };
  if (body.status !== 'success' || body.data?.resultType !== 'vector')
    throw new Error(`query ${promql} failed: ${body.error ?? JSON.stringify(body)}`);
  return body.data.result.map((r) => ({ metric: r.metric, value: Number(r.value[1]) }));
}

async function waitReady(url: string, timeoutMs: number): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const ok = await fetch(`${url}/-/ready`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) return;
    if (performance.now() >= deadline) throw new Error(`prometheus at ${url} not ready within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, POLL_INTERVAL_MS));
  }
}

function kill(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    process.kill(child.pid!, 'SIGTERM');
    // A TSDB flush normally takes milliseconds: never wait for ever.
    setTimeout(() => child.exitCode === null && child.signalCode === null && child.kill('SIGKILL'), 5_000).unref();
  });
}
