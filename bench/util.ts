import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../src/runtime/local/package-root.js';

export const ROOT = packageRoot();
export const CACHE_DIR = join(ROOT, '.swarmlet', 'cache');
export const NOOP_TASK = join(ROOT, 'test', 'fixtures', 'noop.task.ts');
export const PISCINA_WORKER = join(ROOT, 'bench', 'fixtures', 'piscina-noop.mjs');
export const FORK_CHILD = join(ROOT, 'bench', 'fixtures', 'fork-child.mjs');
export const FILE_PIPELINE = join(ROOT, 'examples', 'file-pipeline');

export const now = (): number => performance.now();

/** The middle value (mean of the two middle ones for an even count). */
export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Nearest-rank percentile (p in 0..100) of an unsorted sample. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))]!;
}

/** Progress goes to stderr so stdout holds only the table. */
export function log(message: string): void {
  process.stderr.write(`[bench] ${message}\n`);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Lets child processes and timers from the previous measurement settle. */
export async function settle(): Promise<void> {
  await sleep(150);
  if (typeof globalThis.gc === 'function') globalThis.gc();
}

export function fmt(value: number, digits = 3): string {
  if (!Number.isFinite(value)) return '—';
  const abs = Math.abs(value);
  if (abs >= 1e6) return `${(value / 1e6).toPrecision(digits)}M`;
  if (abs >= 1e4) return `${(value / 1e3).toPrecision(digits)}k`;
  if (abs >= 100) return value.toFixed(0);
  return value.toPrecision(digits);
}

/**
 * CPU ms used by this process's reaped children (Linux /proc: cutime + cstime, 10 ms ticks), so a
 * delta across a swarm's life (after stop) is what its swarmlets burned. NaN where /proc is missing.
 */
export function reapedChildrenCpuMs(): number {
  try {
    const stat = readFileSync('/proc/self/stat', 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // After the command name: field 3 is state (index 0); cutime and cstime are fields 16 and 17.
    return (Number(fields[13]) + Number(fields[14])) * 10;
  } catch {
    return Number.NaN;
  }
}
