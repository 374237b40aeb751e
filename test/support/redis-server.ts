/**
 * A real redis-server for tests: a child process on a free loopback port, no persistence.
 * Tests that need Redis fail (never skip) when the binary is missing: the error says what to install.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';

export interface RedisServer {
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
  const child = spawn(
    binary,
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--daemonize', 'no'],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let output = '';
  const keep = (chunk: Buffer): void => {
    output = (output + chunk.toString()).slice(-4_000);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const exited = new Promise<Error>((resolve) => {
    child.once('error', (error: NodeJS.ErrnoException) =>
      resolve(error.code === 'ENOENT' ? new Error(NOT_FOUND) : error),
    );
    child.once('exit', (code, signal) =>
      resolve(
        new Error(
          `redis-server exited (code ${code}, signal ${signal}) before answering PING on port ${port}:\n${output}`,
        ),
      ),
    );
  });
  const ready = await Promise.race([waitForPong(port, readyTimeoutMs).then(() => undefined), exited]);
  if (ready instanceof Error) {
    await kill(child);
    throw ready;
  }
  const stopOnExit = (): void => {
    child.kill('SIGKILL');
  };
  process.once('exit', stopOnExit);
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    pid: child.pid!,
    stop: async () => {
      process.off('exit', stopOnExit);
      await kill(child);
    },
  };
}

/** A port the OS just handed out on loopback (listen on 0, read it, close). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

async function waitForPong(port: number, timeoutMs: number): Promise<void> {
  const deadlineMs = Date.now() + timeoutMs;
  for (;;) {
    if (await ping(port)) return;
    if (Date.now() >= deadlineMs)
      throw new Error(`redis-server on port ${port} did not answer PING within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, POLL_INTERVAL_MS));
  }
}

/** One RESP PING over a raw socket: true on +PONG, false on refusal or anything else. */
function ping(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ port, host: '127.0.0.1' });
    let reply = '';
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(500, () => done(false));
    socket.once('error', () => done(false));
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.on('data', (chunk) => {
      reply += chunk.toString();
      if (reply.includes('\r\n')) done(reply.startsWith('+PONG'));
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
