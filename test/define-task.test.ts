import { describe, expect, it } from 'vitest';
import { defineTask } from '../src/core/define-task.js';
import { InputError } from '../src/core/errors.js';
import type { TaskDefinition } from '../src/core/task-type.js';

const run = (input: unknown): unknown => input;

function rejected(definition: unknown): InputError {
  try {
    defineTask(definition as TaskDefinition);
  } catch (error) {
    expect(error).toBeInstanceOf(InputError);
    return error as InputError;
  }
  throw new Error('expected defineTask to throw');
}

describe('defineTask', () => {
  it.each(['hash', 'a', 'Resize.v2', 'image_resize-2', `a${'b'.repeat(63)}`])(
    'accepts the name %j and returns a frozen definition',
    (name) => {
      const definition = defineTask({ name, run });
      expect(definition.name).toBe(name);
      expect(Object.isFrozen(definition)).toBe(true);
      expect(definition.run(7, { id: 'root', depth: 0, attempt: 1, deps: {} })).toBe(7);
    },
  );

  it('accepts the optional hooks and resources when they are well formed', () => {
    const split = (): [] => [];
    const definition = defineTask({
      name: 'sort',
      run,
      split,
      join: (outputs) => outputs,
      warmup: () => undefined,
      resources: { durationMs: 5, memoryMb: 64 },
    });
    expect(definition.split).toBe(split);
  });

  const badNames: [string, unknown][] = [
    ['empty', ''],
    ['starts with a digit', '1hash'],
    ['starts with a dot', '.hash'],
    ['contains a space', 'my task'],
    ['contains a slash', 'a/b'],
    ['65 characters', `a${'b'.repeat(64)}`],
    ['not a string', 42],
    ['missing', undefined],
  ];
  it.each(badNames)('rejects a name that is %s, naming defineTask.name', (_, name) => {
    const error = rejected({ name, run });
    expect(error.field).toBe('defineTask.name');
    expect(error.message).toContain(`"${String(name)}"`);
    expect(error.fix).toMatch(/letter/);
  });

  it.each([null, 'hash', 3])('rejects a non-object definition (%j)', (definition) => {
    expect(rejected(definition).field).toBe('defineTask');
  });

  it.each([
    ['missing run', { name: 'hash' }, 'defineTask(hash).run'],
    ['run not a function', { name: 'hash', run: 'go' }, 'defineTask(hash).run'],
    ['split not a function', { name: 'sort', run, split: [1, 2] }, 'defineTask(sort).split'],
    ['join not a function', { name: 'sort', run, join: 'concat' }, 'defineTask(sort).join'],
    ['warmup not a function', { name: 'sort', run, warmup: true }, 'defineTask(sort).warmup'],
    [
      'zero duration hint',
      { name: 'hash', run, resources: { durationMs: 0 } },
      'defineTask(hash).resources.durationMs',
    ],
    [
      'negative duration hint',
      { name: 'hash', run, resources: { durationMs: -5 } },
      'defineTask(hash).resources.durationMs',
    ],
    [
      'NaN duration hint',
      { name: 'hash', run, resources: { durationMs: Number.NaN } },
      'defineTask(hash).resources.durationMs',
    ],
  ])('%s → InputError on %s', (_, definition, field) => {
    const error = rejected(definition);
    expect(error.field).toBe(field);
    expect(error.message.startsWith(`${field}: `)).toBe(true);
    expect(error.fix.length).toBeGreaterThan(0);
  });
});
