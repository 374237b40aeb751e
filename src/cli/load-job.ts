import { existsSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { JobDefinition } from '../core/define-job.js';
import { InputError } from '../core/errors.js';
import { compileModule } from '../runtime/local/task-compiler.js';

export interface LoadedJob {
  readonly definition: JobDefinition;
  /** Task module paths, resolved against the job file. */
  readonly taskPaths: string[];
}

/** `swarmlet run <target>`: a job file, or a directory holding job.ts / job.js. */
export async function loadJob(target: string, cacheDir: string): Promise<LoadedJob> {
  const file = findJobFile(target);
  const compiled = await compileModule(file, cacheDir);
  const module = (await import(pathToFileURL(compiled).href)) as { default?: JobDefinition };
  const definition = module.default;
  if (!definition || typeof definition.build !== 'function' || !Array.isArray(definition.tasks)) {
    throw new InputError(
      file,
      'has no default export made with defineJob({ name, tasks, build })',
      'export default defineJob({ ... }) from the job file',
    );
  }
  return { definition, taskPaths: definition.tasks.map((path) => resolve(dirname(file), path)) };
}

function findJobFile(target: string): string {
  const absolute = resolve(target);
  if (!existsSync(absolute))
    throw new InputError(
      'job',
      `${target} does not exist`,
      'pass a job directory (with job.ts) or a job file, e.g. examples/file-pipeline',
    );
  if (!statSync(absolute).isDirectory()) return absolute;
  for (const name of ['job.ts', 'job.js', 'job.mjs']) {
    const candidate = join(absolute, name);
    if (existsSync(candidate)) return candidate;
  }
  throw new InputError(
    'job',
    `${target} has no job.ts or job.js`,
    'add a job.ts that exports defineJob({ name, tasks, build })',
  );
}

/** `--set key=value` pairs into an options record. */
export function parseSetOptions(pairs: readonly string[]): Record<string, string> {
  const options: Record<string, string> = {};
  for (const pair of pairs) {
    const at = pair.indexOf('=');
    if (at <= 0) throw new InputError('--set', `"${pair}" is not key=value`, 'write --set dir=./data');
    options[pair.slice(0, at)] = pair.slice(at + 1);
  }
  return options;
}
