/**
 * A real redis-server for tests: a child process on a free loopback port, no persistence.
 * Tests that need Redis fail (never skip) when the binary is missing: the error says what to install.
 */
import type { ChildProcess } from 'node:child_process';
import net from 'node:net';
import { freePort, spawnDaemon } from './daemon.js';
import { readFileSync } from 'node:fs';
import tls from 'node:tls';

export interface RedisServer {
  /** `redis://127.0.0.1:<port>`, or `rediss://…` with TLS; never with credentials (the test adds its own). */
  readonly url: string;
  readonly port: number;
  readonly pid: number;
  /** Kills the server by PID and resolves once it has exited. Safe to call twice. */
  stop(): Promise<void>;
}

export interface RedisServerOptions {
  readonly binary?: string;
  /** Bound on the wait for the first PONG (it normally takes ~12 ms). */
  readonly readyTimeoutMs?: number;
  /** More arguments for redis-server, e.g. `['--requirepass', 'secret']` or ACL `--user` lines. */
  readonly args?: readonly string[];
  /**
   * Serve TLS only (the plain port closed), with these PEM files; clients must show a certificate the CA signed
   * (redis-server's default `tls-auth-clients yes`).
   */
  readonly tls?: TlsFiles;
}

/** PEM files: the server's certificate and key, the CA, and a client certificate the readiness check shows. */
export interface TlsFiles {
  readonly certFile: string;
  readonly keyFile: string;
  readonly caFile: string;
  readonly clientCertFile: string;
  readonly clientKeyFile: string;
}

const NOT_FOUND = 'redis-server not found: apt-get install -y redis-server';
const POLL_INTERVAL_MS = 5;
/** Another process can take the free port between our probe and redis binding it: try a new one. */
const PORT_ATTEMPTS = 3;

export async function startRedisServer(options: RedisServerOptions = {}): Promise<RedisServer> {
  let lastError: Error | undefined;
  for (let attempt = 0; attempt < PORT_ATTEMPTS; attempt++) {
    try {
      return await startOnce(await freePort(), options);
    } catch (error) {
      lastError = error as Error;
      if (lastError.message === NOT_FOUND || !lastError.message.includes('Address already in use')) throw lastError;
    }
  }
  throw lastError!;
}

async function startOnce(port: number, options: RedisServerOptions): Promise<RedisServer> {
  const binary = options.binary ?? 'redis-server';
  const readyTimeoutMs = options.readyTimeoutMs ?? 5_000;
  const tlsFiles = options.tls;
  const listen = tlsFiles
    ? ['--port', '0', '--tls-port', String(port), '--tls-cert-file', tlsFiles.certFile]
    : ['--port', String(port)];
  const tlsArgs = tlsFiles ? ['--tls-key-file', tlsFiles.keyFile, '--tls-ca-cert-file', tlsFiles.caFile] : [];
  const { child, exited } = spawnDaemon(
    binary,
    [
      ...listen,
      ...tlsArgs,
      ...['--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--daemonize', 'no'],
      ...(options.args ?? []),
    ],
    NOT_FOUND,
    `before answering PING on port ${port}`,
  );
  const ready = await Promise.race([waitForPong(port, readyTimeoutMs, tlsFiles).then(() => undefined), exited]);
  if (ready instanceof Error) {
    await kill(child);
    throw ready;
  }
  const stopOnExit = (): void => {
    child.kill('SIGKILL');
  };
  process.once('exit', stopOnExit);
  return {
    url: `${tlsFiles ? 'rediss' : 'redis'}://127.0.0.1:${port}`,
    port,
    pid: child.pid!,
    stop: async () => {
      process.off('exit', stopOnExit);
      await kill(child);
    },
  };
}

async function waitForPong(port: number, timeoutMs: number, tlsFiles: TlsFiles | undefined): Promise<void> {
  const deadlineMs = Date.now() + timeoutMs;
  for (;;) {
    if (await ping(port, tlsFiles)) return;
    if (Date.now() >= deadlineMs)
      throw new Error(`redis-server on port ${port} did not answer PING within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, POLL_INTERVAL_MS));
  }
}

/**
 * One RESP PING over a raw socket (TLS without checking the server: only readiness is asked): true on +PONG, or on
 * NOAUTH from a server that wants a password (it is up); false on refusal or anything else.
 */
function ping(port: number, tlsFiles: TlsFiles | undefined): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = tlsFiles
      ? tls.connect({
          port,
          host: '127.0.0.1',
          rejectUnauthorized: false,
          cert: readFileSync(tlsFiles.clientCertFile),
          key: readFileSync(tlsFiles.clientKeyFile),
        })
      : net.connect({ port, host: '127.0.0.1' });
    let reply = '';
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(500, () => done(false));
    socket.once('error', () => done(false));
    socket.once(tlsFiles ? 'secureConnect' : 'connect', () => socket.write('PING\r\n'));
    socket.on('data', (chunk) => {
      reply += chunk.toString();
      if (reply.includes('\r\n')) done(reply.startsWith('+PONG') || reply.startsWith('-NOAUTH'));
    });
  });
}

/** SIGTERM by PID, SIGKILL if it lingers; resolves when the process is gone. */
async function kill(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
  const pid = child.pid;
  const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  signal(pid, 'SIGTERM');
  const timer = setTimeout(() => signal(pid, 'SIGKILL'), 2_000);
  await gone;
  clearTimeout(timer);
}

function signal(pid: number, name: NodeJS.Signals): void {
  try {
    process.kill(pid, name);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error; // already gone
  }
}
