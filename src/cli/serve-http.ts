import { readFileSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { clusterOperations } from '../api/cluster-operations.js';
import { isLoopback } from '../api/auth.js';
import { prometheusMetrics } from '../api/metrics.js';
import { HTTP_FILE, writeHttpFile } from './http-file.js';
import { listenError, startApiServer, type ApiServer } from '../api/server.js';
import { InputError } from '../core/errors.js';
import type { ClusterDirector } from '../runtime/cluster/director.js';
import { readSigningKey } from '../runtime/cluster/signing-keys.js';
import { epochEnvironment } from '../runtime/local/wall-environment.js';
import { findJobFile, loadJob } from './load-job.js';

export interface HttpFlags {
  /** `--http host:port` (port 0: any free one). */
  readonly http?: string;
  readonly httpTokenFile?: string;
  /** Signs bundles of job files submitted over the API (`{ jobFile }`). */
  readonly signKey?: string;
  readonly cacheDir?: string;
}

/** The checked flags: refused before the director starts, naming the flag. */
export interface HttpPlan {
  readonly host: string;
  readonly port: number;
  readonly token: string | undefined;
  readonly signKey: ReturnType<typeof readSigningKey> | undefined;
  readonly cacheDir: string;
}

/** `--http` and its companions, checked; undefined without `--http`. */
export function httpPlan(flags: HttpFlags): HttpPlan | undefined {
  if (flags.http === undefined) {
    for (const [value, flag] of [
      [flags.httpTokenFile, '--http-token-file'],
      [flags.signKey, '--sign-key'],
    ] as const)
      if (value !== undefined) throw new InputError(flag, 'is only used with --http', 'add --http 127.0.0.1:8080');
    return undefined;
  }
  const { host, port } = address(flags.http);
  const token = flags.httpTokenFile === undefined ? undefined : readToken(flags.httpTokenFile);
  if (token === undefined && !isLoopback(host))
    throw new InputError(
      '--http-token-file',
      `--http ${flags.http} is reachable from other machines and no token was given`,
      'give --http-token-file FILE (a file, mode 0600, holding a secret), or listen on 127.0.0.1',
    );
  const signKey = flags.signKey === undefined ? undefined : readSigningKey(flags.signKey, '--sign-key');
  return { host, port, token, signKey, cacheDir: flags.cacheDir ?? '.swarmlet/cache' };
}

function address(text: string): { host: string; port: number } {
  const match = /^(\[[^\]]+\]|[^:]+):(\d{1,5})$/.exec(text);
  const port = Number(match?.[2]);
  if (!match || port > 65_535)
    throw new InputError('--http', `"${text}" is not host:port`, 'write --http 127.0.0.1:8080 (port 0: any free port)');
  return { host: match[1]!.replace(/^\[|\]$/g, ''), port };
}

/** The token file: present, not empty, not readable by every user of the machine. */
function readToken(path: string): string {
  let text: string;
  try {
    const mode = statSync(path).mode;
    if ((mode & 0o004) !== 0)
      throw new InputError(
        '--http-token-file',
        `${path} is readable by every user of this machine`,
        `chmod 600 ${path} (it holds the API's secret)`,
      );
    text = readFileSync(path, 'utf8').trim();
  } catch (error) {
    if (error instanceof InputError) throw error;
    throw new InputError(
      '--http-token-file',
      `cannot read ${path}: ${(error as Error).message}`,
      'give a file holding the token, e.g. head -c 32 /dev/urandom | base64 > token && chmod 600 token',
    );
  }
  if (text === '') throw new InputError('--http-token-file', `${path} is empty`, 'write the token into it (one line)');
  return text;
}

/**
 * Serves the HTTP API and dashboard for `swarmlet serve` (api/cluster-operations.ts) from before the director holds
 * its lease (answering 503 until then) to the end of the process; says the URL through `log`.
 */
export async function serveHttp(
  plan: HttpPlan,
  director: () => ClusterDirector | undefined,
  log: (line: string) => void,
): Promise<ApiServer> {
  const operations = clusterOperations({
    director,
    clock: epochEnvironment.clock, // the director's clock: job times are log entry times (epoch ms)
    loadJobFile: async (path) => {
      const { definition, taskPaths } = await loadJob(findJobFile(resolve(path)), plan.cacheDir);
      return { taskPaths, job: { name: definition.name, ...(await definition.build({})) } };
    },
    submit: { cacheDir: plan.cacheDir, ...(plan.signKey && { signKey: plan.signKey }) },
  });
  let server: ApiServer;
  try {
    server = await startApiServer({
      operations,
      environment: epochEnvironment,
      host: plan.host,
      port: plan.port,
      ...(plan.token !== undefined && { token: plan.token }),
      metrics: prometheusMetrics(operations).scrape,
    });
  } catch (error) {
    throw listenError(error, plan);
  }
  // Secrets stay out of logs: a token made here goes to a file only its owner reads, where `swarmlet jobs` looks.
  if (plan.token !== undefined) log(`HTTP API and dashboard on ${server.url}`);
  else {
    writeHttpFile({ url: server.url, token: server.token });
    log(`HTTP API and dashboard on ${server.url} (the token changes need is in ${HTTP_FILE}, mode 0600)`);
  }
  return server;
}
