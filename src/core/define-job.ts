import { InputError } from './errors.js';
import type { JobInput } from './job.js';

/**
 * A runnable job for `swarmlet run <dir>`: the task modules it needs and how to build its input
 * from `--set key=value` options. Lives in `<dir>/job.ts`.
 */
export interface JobDefinition {
  readonly name: string;
  readonly description?: string;
  /** Task-type module paths, relative to the job file. */
  readonly tasks: readonly string[];
  /** Builds the job; may read the file system. `options` come from `--set key=value`. */
  build(options: Readonly<Record<string, string>>): JobInput | Promise<JobInput>;
}

export function defineJob(definition: JobDefinition): JobDefinition {
  if (typeof definition?.name !== 'string' || definition.name.length === 0)
    throw new InputError('defineJob.name', 'is missing', 'give the job a name');
  if (!Array.isArray(definition.tasks) || definition.tasks.length === 0)
    throw new InputError(
      `defineJob(${definition.name}).tasks`,
      'lists no task modules',
      'list the paths of its task modules, e.g. ["./hash.ts"]',
    );
  if (typeof definition.build !== 'function')
    throw new InputError(
      `defineJob(${definition.name}).build`,
      'is missing',
      'give build(options) returning { type, input } or { tasks }',
    );
  return Object.freeze(definition);
}
