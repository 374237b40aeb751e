import { existsSync, statSync } from 'node:fs';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { JobDefinition } from '../core/define-job.js';
import { InputError, TaskModuleError } from '../core/errors.js';
import { MODULE_LOAD_TIMEOUT_MS, moduleLoadProblem } from '../runtime/local/module-check.js';
import { compileModule, LOAD_FIX } from '../runtime/local/task-compiler.js';

export interface LoadedJob {
  readonly definition: JobDefinition;
  /** Task module paths, resolved against the job file. */
  readonly taskPaths: string[];
}

/**
 * Loads a job file (found by `findJobFile`). It is loaded first in a worker, bounded in time, like task modules: a
 * job file that throws, loops or exits at its top level is refused naming the file, and this process goes on.
 */
export async function loadJob(file: string, cacheDir: string): Promise<LoadedJob> {
  const name = relative(process.cwd(), file) || file;
  let compiled: string;
  try {
    compiled = await compileModule(file, cacheDir);
  } catch (error) {
    throw error instanceof TaskModuleError ? jobFileError(name, error.message.split(': ').slice(1).join(': ')) : error;
  }
  const problem = await moduleLoadProblem(compiled, MODULE_LOAD_TIMEOUT_MS, basename(file));
  if (problem !== undefined) throw jobFileError(name, problem);
  let module: { default?: JobDefinition };
  try {
    module = (await import(pathToFileURL(compiled).href)) as { default?: JobDefinition };
  } catch (error) {
    throw jobFileError(name, `it throws while loading: ${error instanceof Error ? error.message : String(error)}`);
  }
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

function jobFileError(name: string, problem: string): InputError {
  const [what, fix] = problem.split('. Fix: ');
  return InputError.preformatted('job', `job file ${name}: ${what!.split('\n')[0]}. Fix: ${fix ?? LOAD_FIX}`);
}

/** `swarmlet run <target>`: a job file, or a directory holding job.ts / job.js. */
export function findJobFile(target: string): string {
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
