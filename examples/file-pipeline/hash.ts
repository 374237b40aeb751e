import { createHash, pbkdf2Sync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { defineTask } from 'swarmlet';

export interface HashInput {
  readonly path: string;
  /** PBKDF2 rounds for the fingerprint: a fixed cost per file, whatever its size. */
  readonly iterations?: number;
  /** The file's size when the job was planned: the usage model's size feature. */
  readonly bytes?: number;
}

export interface HashOutput {
  readonly path: string;
  readonly bytes: number;
  readonly sha256: string;
  readonly fingerprint: string;
}

export const DEFAULT_ITERATIONS = 60_000;
const FINGERPRINT_SALT = 'swarmlet-file-pipeline';

/**
 * Stage 1: the content's sha256, plus a key-stretched fingerprint of it (PBKDF2). The
 * fingerprint stands in for per-item work that does not scale with size (an API call, a
 * signature, a malware-scan lookup): it makes this stage the bottleneck while files are small.
 */
export default defineTask<HashInput, HashOutput>({
  name: 'hash',
  resources: { durationMs: 20 },
  size: (input) => input.bytes ?? 0,
  run(input) {
    const iterations = input.iterations ?? DEFAULT_ITERATIONS;
    if (!Number.isInteger(iterations) || iterations < 1)
      throw new Error(`hash: iterations = ${iterations} must be a positive integer`);
    const content = readFileSync(input.path);
    const digest = createHash('sha256').update(content).digest();
    const fingerprint = pbkdf2Sync(digest, FINGERPRINT_SALT, iterations, 32, 'sha256');
    return {
      path: input.path,
      bytes: content.length,
      sha256: digest.toString('hex'),
      fingerprint: fingerprint.toString('hex'),
    };
  },
});
