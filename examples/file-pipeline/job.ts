import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { defineJob } from 'swarmlet';

/** Stop walking huge trees: a job of this shape is meant for hundreds of files, not a whole disk. */
const MAX_FILES_SCANNED = 200_000;
const DEFAULT_LIMIT = 600;
const KNOWN_OPTIONS = ['dir', 'limit', 'iterations', 'quality', 'out', 'store'] as const;

interface PlannedTask {
  readonly id: string;
  readonly type: 'hash' | 'compress' | 'index';
  readonly input: object;
  readonly deps?: string[];
}

interface FoundFile {
  readonly path: string;
  readonly bytes: number;
}

/**
 * hash → compress for every file, then one index over all of them. Files go in size order, so
 * the bottleneck moves during the run: first many small files (hash's fixed cost dominates),
 * then few big ones (compress's per-byte cost dominates).
 */
export default defineJob({
  name: 'file-pipeline',
  description:
    'sha256 + fingerprint, brotli and a duplicate index over real files, smallest first; the bottleneck moves from hash to compress',
  tasks: ['./hash.ts', './compress.ts', './index.ts'],
  build(options) {
    const unknown = Object.keys(options).filter((key) => !(KNOWN_OPTIONS as readonly string[]).includes(key));
    if (unknown.length > 0)
      throw new Error(`--set ${unknown[0]}: unknown option. Fix: use one of ${KNOWN_OPTIONS.join(', ')}`);
    const dir = resolve(options.dir ?? defaultDir());
    const limit = integerOption(options, 'limit', 1, 100_000) ?? DEFAULT_LIMIT;
    const iterations = integerOption(options, 'iterations', 1, 10_000_000);
    const quality = integerOption(options, 'quality', 0, 11);
    const store = options.store === undefined ? undefined : resolve(options.store);
    const out = options.out === undefined ? undefined : resolve(options.out);

    const files = sample(listFiles(dir).sort(bySize), limit);
    if (files.length === 0)
      throw new Error(`--set dir=${dir}: no regular files there. Fix: point dir at a directory with files`);
    const tasks = files.flatMap((file, i): PlannedTask[] => [
      {
        id: `hash-${i}`,
        type: 'hash',
        input: { path: file.path, bytes: file.bytes, ...(iterations === undefined ? {} : { iterations }) },
      },
      {
        id: `compress-${i}`,
        type: 'compress',
        deps: [`hash-${i}`],
        input: {
          path: file.path,
          bytes: file.bytes,
          ...(quality === undefined ? {} : { quality }),
          ...(store === undefined ? {} : { store }),
        },
      },
    ]);
    tasks.push({
      id: 'index',
      type: 'index',
      deps: files.map((_, i) => `compress-${i}`),
      input: out === undefined ? {} : { out },
    });
    return { tasks };
  },
});

/** TypeScript's package: ~140 files from 100 bytes to 9 MB, present wherever this repo is installed. */
function defaultDir(): string {
  const typescript = join(process.cwd(), 'node_modules', 'typescript');
  return existsSync(typescript) ? typescript : join(process.cwd(), 'node_modules');
}

function integerOption(
  options: Readonly<Record<string, string>>,
  key: string,
  min: number,
  max: number,
): number | undefined {
  const raw = options[key];
  if (raw === undefined) return undefined;
  const value = Number(raw.replace(/_/g, ''));
  if (!Number.isInteger(value) || value < min || value > max)
    throw new Error(
      `--set ${key}=${raw}: not an integer from ${min} to ${max}. Fix: e.g. --set ${key}=${Math.min(max, Math.max(min, 10))}`,
    );
  return value;
}

/** Every regular file below `root`, symlinks skipped (they could loop or leave the tree). */
function listFiles(root: string): FoundFile[] {
  if (!existsSync(root) || !statSync(root).isDirectory())
    throw new Error(`--set dir=${root}: not a directory. Fix: give an existing directory`);
  const found: FoundFile[] = [];
  const pending = [root];
  while (pending.length > 0) {
    const dir = pending.pop()!;
    const entries = readdirSync(dir, { withFileTypes: true }).sort((a, b) =>
      a.name < b.name ? -1 : a.name > b.name ? 1 : 0,
    );
    for (const entry of entries) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) pending.push(path);
      else if (entry.isFile()) found.push({ path, bytes: statSync(path).size });
      if (found.length > MAX_FILES_SCANNED)
        throw new Error(`--set dir=${root}: more than ${MAX_FILES_SCANNED} files. Fix: point dir at a smaller tree`);
    }
  }
  return found;
}

function bySize(a: FoundFile, b: FoundFile): number {
  return a.bytes - b.bytes || (a.path < b.path ? -1 : a.path > b.path ? 1 : 0);
}

/** At most `limit` files, picked evenly along the size order so a big tree keeps its mix of small and large files. */
function sample(sorted: readonly FoundFile[], limit: number): FoundFile[] {
  if (sorted.length <= limit) return [...sorted];
  return Array.from({ length: limit }, (_, i) => sorted[Math.floor((i * sorted.length) / limit)]!);
}
