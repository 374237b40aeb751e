import { execFile } from 'node:child_process';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';

// The built CLI (the test command runs `npm run build` first), run as a user would, from the repository's root.
const run = promisify(execFile);
export const ROOT = resolve(import.meta.dirname, '..', '..');
const bin = join(ROOT, 'bin', 'swarmlet.js');

export const swarmlet = (args: string[]) =>
  run(process.execPath, [bin, ...args], { cwd: ROOT, maxBuffer: 64 * 2 ** 20 });

/** A command that must fail: its exit code and output. */
export const failing = (args: string[]) =>
  swarmlet(args).then(
    () => {
      throw new Error(`expected ${args.join(' ')} to fail`);
    },
    (error: { code: number; stdout: string; stderr: string }) => error,
  );
