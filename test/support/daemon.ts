import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';

/** A server a test starts (redis-server, prometheus): its process, and its exit as an error saying why. */
export interface Daemon {
  readonly child: ChildProcess;
  /** Settles only if it exits (or cannot start): an error with the last of what it printed. */
  readonly exited: Promise<Error>;
}

/**
 * Starts `binary` with `args`, keeping the last 4,000 characters it prints for the error that says why it exited.
 * `notFound` is the message when the binary is missing (with how to install it).
 */
export function spawnDaemon(binary: string, args: readonly string[], notFound: string, before: string): Daemon {
  const child = spawn(binary, [...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const keep = (chunk: Buffer): void => {
    output = (output + chunk.toString()).slice(-4_000);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const exited = new Promise<Error>((resolve) => {
    child.once('error', (error: NodeJS.ErrnoException) =>
      resolve(error.code === 'ENOENT' ? new Error(notFound) : error),
    );
    child.once('exit', (code, signal) =>
      resolve(new Error(`${binary} exited (code ${code}, signal ${signal}) ${before}:\n${output}`)),
    );
  });
  return { child, exited };
}

/** A port the OS just handed out on loopback (listen on 0, read it, close). */
export function freePort(): Promise<number> {
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
