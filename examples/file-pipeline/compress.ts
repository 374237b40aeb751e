import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { brotliCompressSync, constants } from 'node:zlib';
import { defineTask } from 'swarmlet';

export interface CompressInput {
  readonly path: string;
  /** Brotli quality, 0–11. Cost grows with the file's size and steeply with quality. */
  readonly quality?: number;
  /**
   * When set, the compressed bytes are kept as `<store>/<sha256>.br` (content-addressed: duplicates are stored once).
   */
  readonly store?: string;
  /** The file's size when the job was planned: the usage model's size feature. */
  readonly bytes?: number;
}

export interface CompressOutput {
  readonly path: string;
  readonly bytes: number;
  readonly compressedBytes: number;
  readonly sha256: string;
  readonly stored?: string;
}

export const DEFAULT_QUALITY = 9;

/**
 * Stage 2: brotli-compresses the file. Its cost is proportional to size, so it becomes the
 * bottleneck once the size-sorted job reaches the big files. The sha256 comes from this
 * file's `hash` micro-task, through `ctx.deps`.
 */
export default defineTask<CompressInput, CompressOutput>({
  name: 'compress',
  size: (input) => input.bytes ?? 0,
  resources: { durationMs: 20 },
  run(input, ctx) {
    const quality = input.quality ?? DEFAULT_QUALITY;
    if (!Number.isInteger(quality) || quality < 0 || quality > 11)
      throw new Error(`compress: quality = ${quality} must be an integer from 0 to 11`);
    const hashed = hashOf(input.path, ctx.deps);
    const content = readFileSync(input.path);
    // The hash stage saw other bytes: the file changed mid-run, and its sha256 would be a lie.
    if (content.length !== hashed.bytes)
      throw new Error(
        `compress: ${input.path} changed size since it was hashed (${hashed.bytes} → ${content.length} bytes)`,
      );
    const compressed = brotliCompressSync(content, {
      params: { [constants.BROTLI_PARAM_QUALITY]: quality, [constants.BROTLI_PARAM_SIZE_HINT]: content.length },
    });
    const output: CompressOutput = {
      path: input.path,
      bytes: content.length,
      compressedBytes: compressed.length,
      sha256: hashed.sha256,
    };
    if (input.store === undefined) return output;
    return { ...output, stored: storeBlob(input.store, hashed.sha256, compressed) };
  },
});

/** The one dependency's output; any id works, so the task also runs in hand-built DAGs. */
function hashOf(path: string, deps: Readonly<Record<string, unknown>>): { sha256: string; bytes: number } {
  for (const value of Object.values(deps)) {
    const candidate = value as { path?: unknown; sha256?: unknown; bytes?: unknown } | null;
    if (candidate?.path === path && typeof candidate.sha256 === 'string' && typeof candidate.bytes === 'number') {
      return { sha256: candidate.sha256, bytes: candidate.bytes };
    }
  }
  throw new Error(
    `compress: no hash output for ${path} among its dependencies (${Object.keys(deps).join(', ') || 'none'}); make it depend on the file's hash micro-task`,
  );
}

/** Write-then-rename, so a retry or a duplicate file racing on the same name never leaves a torn blob. */
function storeBlob(store: string, sha256: string, compressed: Buffer): string {
  mkdirSync(store, { recursive: true });
  const target = join(store, `${sha256}.br`);
  const temporary = `${target}.${process.pid}.tmp`;
  writeFileSync(temporary, compressed);
  renameSync(temporary, target);
  return target;
}
