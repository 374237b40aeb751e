import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

let cached: string | undefined;

/** The swarmlet package's directory, found by walking up (this code runs from src/ in tests and from dist/ bundles). */
export function packageRoot(): string {
  if (cached) return cached;
  let directory = dirname(fileURLToPath(import.meta.url));
  for (let depth = 0; depth < 8; depth++) {
    const manifest = join(directory, 'package.json');
    if (existsSync(manifest) && (JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string }).name === 'swarmlet')
      return (cached = directory);
    directory = dirname(directory);
  }
  throw new Error('swarmlet: cannot find the package root (package.json named "swarmlet")');
}
