import { mkdirSync, readFileSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { z } from 'zod';

/** Where `swarmlet run --dashboard` says where it listens, so `jobs`, `cancel`, `status` and `logs` find it. */
export const HTTP_FILE = '.swarmlet/http.json';

const httpFileSchema = z.object({ url: z.string().min(1), token: z.string().min(1) });
export type HttpFile = z.infer<typeof httpFileSchema>;

/**
 * Writes the file readable by its owner only (it holds the token that cancels jobs) and returns what removes it. The
 * removal also runs on process exit, and leaves the file alone once another run has written its own.
 */
export function writeHttpFile(served: HttpFile, path = resolve(HTTP_FILE)): () => void {
  mkdirSync(dirname(path), { recursive: true });
  const partial = `${path}.${process.pid}`;
  writeFileSync(partial, `${JSON.stringify(served)}\n`, { mode: 0o600 });
  renameSync(partial, path); // whole or absent: a reader never sees half a file
  const remove = (): void => {
    process.off('exit', remove);
    if (readHttpFile(path)?.url !== served.url) return;
    try {
      unlinkSync(path);
    } catch {
      // already gone
    }
  };
  process.on('exit', remove);
  return remove;
}

/** The running swarm this directory's last `swarmlet run --dashboard` wrote; undefined when none (or unreadable). */
export function readHttpFile(path = resolve(HTTP_FILE)): HttpFile | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
  try {
    const parsed = httpFileSchema.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}
