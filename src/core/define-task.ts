import { InputError } from './errors.js';
import type { TaskDefinition } from './task-type.js';

const NAME = /^[a-z][a-z0-9._-]{0,63}$/i;

/**
 * Declares a task type. Bundled into every task module, so it stays dependency-free (no zod
 * here: each swarmlet cold start would pay for loading it).
 */
export function defineTask<I = unknown, O = unknown>(definition: TaskDefinition<I, O>): TaskDefinition<I, O> {
  if (typeof definition !== 'object' || definition === null)
    throw new InputError('defineTask', 'expects an object', 'call defineTask({ name, run })');
  if (typeof definition.name !== 'string' || !NAME.test(definition.name)) {
    throw new InputError(
      'defineTask.name',
      `"${String(definition.name)}" is not a valid task type name`,
      'use 1-64 letters, digits, ".", "_" or "-", starting with a letter',
    );
  }
  if (typeof definition.run !== 'function')
    throw new InputError(`defineTask(${definition.name}).run`, 'is missing', 'give a function run(input, context)');
  for (const hook of ['split', 'join', 'warmup', 'size', 'snapshot', 'restore'] as const) {
    if (definition[hook] !== undefined && typeof definition[hook] !== 'function') {
      throw new InputError(
        `defineTask(${definition.name}).${hook}`,
        'must be a function',
        `remove ${hook} or make it a function`,
      );
    }
  }
  // A state that is saved but never put back (or the reverse) would be lost without a word.
  if (definition.snapshot === undefined && definition.restore !== undefined) {
    throw new InputError(
      `defineTask(${definition.name}).snapshot`,
      'is missing while restore is given',
      'add snapshot() returning the state as JSON data (restore gets it back), or remove restore',
    );
  }
  if (definition.snapshot !== undefined && definition.restore === undefined) {
    throw new InputError(
      `defineTask(${definition.name}).restore`,
      'is missing while snapshot is given',
      'add restore(state) that puts back what snapshot() returned, or remove snapshot',
    );
  }
  const duration = definition.resources?.durationMs;
  if (duration !== undefined && !(duration > 0))
    throw new InputError(
      `defineTask(${definition.name}).resources.durationMs`,
      `${duration} is not positive`,
      'give the expected duration in milliseconds, e.g. 5',
    );
  return Object.freeze(definition);
}
